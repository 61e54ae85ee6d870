// carrier-ping: exercises the carrier with the guest SDK — ping, get_runtime_info, and one request
// type no runtime knows — and prints what came back.
//
// Stdout:
//   ping: pong
//   runtime_info: version=<v> protocol=<p> capsule_id=<id> capsule_name=<name>
//   unsupported: error invalid_argument/unknown_request
//   next: pong                       (the carrier still works after the refusal)
// or "<step>: error <code>/<reason>: <message>" for a step that failed.
//
// Exit codes: 0 everything as the protocol says (docs/protocol.md); 1 any step differed;
// 2 no carrier (not running under the runtime).
#include <cstdio>
#include <string>

#include <elastos/sdk.h>

namespace sdk = elastos::sdk;

namespace {

void PrintError(const char* step, const sdk::Error& e) {
  std::printf("%s: error %s/%s: %s\n", step, sdk::ErrorCodeName(e.code), e.reason.c_str(),
              e.message.c_str());
}

}  // namespace

int main() {
  auto client = sdk::RuntimeClient::Connect();
  if (!client.ok()) {
    PrintError("connect", client.error());
    return 2;
  }
  bool ok = true;

  if (auto pong = client->Ping(); pong.ok()) {
    std::printf("ping: pong\n");
  } else {
    PrintError("ping", pong.error());
    ok = false;
  }

  if (auto info = client->GetRuntimeInfo(); info.ok()) {
    std::printf("runtime_info: version=%s protocol=%llu capsule_id=%s capsule_name=%s\n",
                info->version.c_str(), static_cast<unsigned long long>(info->protocol),
                info->capsule_id.c_str(), info->capsule_name.c_str());
    const sdk::CapsuleInfo self = sdk::CapsuleInfo::FromEnvironment();
    if (info->protocol != sdk::kProtocolVersion || info->capsule_id != self.id ||
        info->capsule_name != self.name) {
      std::printf("runtime_info: does not match this capsule's environment\n");
      ok = false;
    }
  } else {
    PrintError("runtime_info", info.error());
    ok = false;
  }

  sdk::json::Object unknown;
  unknown.Set("type", "elastos_test_no_such_request");
  if (auto r = client->CallRaw(unknown); r.ok()) {
    std::printf("unsupported: answered %s (expected an error)\n",
                sdk::json::Value(*r).Serialize().c_str());
    ok = false;
  } else {
    std::printf("unsupported: error %s/%s\n", sdk::ErrorCodeName(r.error().code),
                r.error().reason.c_str());
    if (r.error().code != sdk::ErrorCode::kInvalidArgument || r.error().reason != "unknown_request")
      ok = false;
  }

  if (auto pong = client->Ping(); pong.ok()) {
    std::printf("next: pong\n");
  } else {
    PrintError("next", pong.error());
    ok = false;
  }
  return ok ? 0 : 1;
}
