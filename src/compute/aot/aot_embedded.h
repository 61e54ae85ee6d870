// Our C sources that are compiled into every AOT object, embedded into the runtime at build time
// (CMake generates aot_embedded.cc from aot_abi.h and aot_shim.c.in), so a runtime installation
// needs no source tree to compile modules.
#pragma once

#include <string_view>

namespace elastos::compute::aot::internal {

extern const std::string_view kAbiHeaderText;     // aot_abi.h
extern const std::string_view kShimTemplateText;  // aot_shim.c.in

}  // namespace elastos::compute::aot::internal
