// The runtime's version, one spelling for the CLI, the HTTP API and the wire protocol.
#pragma once

#include <string_view>

namespace elastos {

inline constexpr std::string_view kVersion = "0.1.0";
inline constexpr int kProtocolVersion = 1;  // docs/protocol.md

}  // namespace elastos
