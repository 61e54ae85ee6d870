// elastos/sdk.h — the ElastOS guest SDK: everything a capsule needs to talk to the runtime.
//
//   #include <elastos/sdk.h>
//   namespace sdk = elastos::sdk;
//   auto client = sdk::RuntimeClient::Connect();        // the carrier from ELASTOS_CARRIER_FDS
//   if (client.ok() && client->Ping().ok()) { … }
//
// Header-only C++17 that builds for wasm32-wasi (clang++-19 -fno-exceptions; `elastos capsule
// build` passes the include path) and natively (g++/clang++ -std=c++17). No exceptions, no RTTI,
// no dependencies beyond the C++ standard library and POSIX read/write. Guide: docs/sdk.md;
// wire contract: docs/protocol.md.
//
// The SDK lives in elastos::sdk (not elastos::) so that host code, whose elastos::Result and
// elastos::Status differ, can include it too — e.g. a runtime test driving the request handler
// with the real client.
#pragma once

#include "elastos/bytes.h"
#include "elastos/capsule_info.h"
#include "elastos/client.h"
#include "elastos/error.h"
#include "elastos/json.h"
#include "elastos/protocol.h"

#define ELASTOS_SDK_VERSION "0.1.0"
