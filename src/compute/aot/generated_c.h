// The text transformations between wasm2c's output and the C compiler: our prelude and the
// interrupt polls in guest.c, a check of wasm2c's import declarations in guest.h, and the
// per-module shim source. Split from aot_compiler.cc so each can be tested on plain strings.
//
// Thread-safety: pure functions.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "common/status.h"
#include "compute/aot/aot_compiler.h"
#include "compute/aot/module_facts.h"

namespace elastos::compute::aot {

// Copies wasm2c's guest.c from `in` to `out` (streamed: generated C can be tens of MB), adding
//  - a prelude that routes wasm_rt_allocate_memory / wasm_rt_grow_memory to the shim's capping
//    hooks (always: the memory cap must not depend on the instrumentation), and
//  - for kInterrupt, a poll of `elastos_guest_interrupt` after every loop label (`w2c_L<n>:`,
//    a line of its own in wasm2c 1.0.32 output; every backward branch is a goto to one).
// Fails (internal/aot_instrumentation_failed) when a loop label appears in a form it does not
// recognise: shipping a loop without its poll would silently disable the interrupt.
// `loop_heads`, if given, receives the number of polls inserted.
Status RewriteGuestC(std::istream& in, std::ostream& out, Instrumentation instrumentation,
                     std::size_t* loop_heads = nullptr);

// Checks that guest.h declares every WASI import under the symbol the shim's thunk defines
// (`Z_wasi_snapshot_preview1Z_<name>`), so a wasm2c that mangles differently fails the compile
// instead of leaving an unresolved symbol in native code. (The C compiler then checks each
// thunk's prototype against wasm2c's declaration.)
Status CheckImportDeclarations(std::string_view guest_h, const ModuleFacts& facts);

// The complete shim.c for a module: module facts, the fixed shim (aot_shim.c.in) and one thunk
// per WASI import, with its C signature derived from wasi::Functions().
std::string ShimSource(const ModuleFacts& facts);

// The text of aot_abi.h, written next to shim.c as elastos_aot_abi.h.
std::string_view AbiHeaderSource();

// SHA-256 (hex) of everything of ours that is compiled into an object: the ABI header, the shim
// template and the rewrite rules' version. Part of the toolchain identity.
const std::string& ShimDigestHex();

}  // namespace elastos::compute::aot
