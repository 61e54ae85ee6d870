// What the AOT compiler must know about a module before it turns it into native code, read from
// the binary by a small reader of our own (no WABT: the runtime side stays free of it).
//
// This is a gate, not a validator: wasm2c validates the whole module afterwards. The gate exists
// because wasm2c binds imports by C symbol name: an import it cannot resolve, or one whose
// signature differs from the function we link in, would be an ABI mismatch in native code rather
// than a clean error. So every import must be a wasi_snapshot_preview1 function with exactly the
// signature of wasi::Functions(), and nothing else may be imported (memories, tables, globals,
// tags). It also refuses export names that wasm2c 1.0.32 would copy into C source unescaped (see
// CheckExportName in module_facts.cc: an export named "*/ ... /*" injects C code).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "compute/wasi/wasi.h"

namespace elastos::compute::aot {

struct ModuleFacts {
  // The distinct WASI functions the module imports, in order of first import.
  std::vector<const wasi::FunctionInfo*> imports;
  bool has_memory = false;
  std::uint32_t memory_initial_pages = 0;
  std::optional<std::uint32_t> memory_max_pages;  // nullopt: no declared maximum
};

// Reads the type, import, function, memory and export sections. Refuses (invalid_argument) with
// reason module_invalid (malformed; a feature we do not compile: shared or 64-bit memory, more
// than one memory; an export name containing "*/" or a control character), unknown_import,
// import_signature (both naming the import), or no_start (no
// `_start` function of type [] -> []).
Result<ModuleFacts> InspectModule(ByteView wasm);

}  // namespace elastos::compute::aot
