#include "compute/aot/module_facts.h"

#include <algorithm>
#include <string>
#include <string_view>

namespace elastos::compute::aot {
namespace {

constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";

constexpr std::uint8_t kSectionType = 1;
constexpr std::uint8_t kSectionImport = 2;
constexpr std::uint8_t kSectionFunction = 3;
constexpr std::uint8_t kSectionMemory = 5;
constexpr std::uint8_t kSectionExport = 7;

constexpr std::uint8_t kExternFunc = 0;
constexpr std::uint8_t kExternTable = 1;
constexpr std::uint8_t kExternMemory = 2;
constexpr std::uint8_t kExternGlobal = 3;

constexpr std::uint8_t kI32 = 0x7f;
constexpr std::uint8_t kI64 = 0x7e;

// Every import name ends up in a log line or an error message: keep it printable and short so
// a hostile module cannot inject terminal escapes or flood the log.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

// wasm2c 1.0.32 copies every export name verbatim into a C comment (`/* export: 'NAME' */`) in
// guest.c and guest.h. A name containing "*/" closes that comment and the rest of it becomes C
// source compiled into native code that runs in the worker: a complete escape from WASM isolation.
// Control characters (newlines) have no business in a name either. Import names need no such
// check: only the fixed WASI names get through the import gate.
Status CheckExportName(std::string_view name) {
  const bool control = std::any_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (control || name.find("*/") != std::string_view::npos) {
    return InvalidArgument("module_invalid",
                           "export name \"" + Printable(name) +
                               "\" contains \"*/\" or a control character, which the wasm2c "
                               "translator would copy unescaped into C source");
  }
  return OkStatus();
}

Status Malformed(std::string what) {
  return InvalidArgument("module_invalid", "malformed WASM module: " + std::move(what));
}

// A bounds-checked cursor over one span of the module. Every read fails cleanly at the end of
// its span: the input is untrusted and parsed in the runtime process.
class Reader {
 public:
  explicit Reader(ByteView bytes) : bytes_(bytes) {}

  bool done() const { return pos_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - pos_; }

  Result<std::uint8_t> Byte() {
    if (pos_ >= bytes_.size()) return Malformed("unexpected end");
    return bytes_[pos_++];
  }

  // Unsigned LEB128, at most 5 bytes, with no bits beyond 32 (as the spec requires).
  Result<std::uint32_t> U32() {
    std::uint32_t value = 0;
    for (int i = 0; i < 5; ++i) {
      ELASTOS_ASSIGN_OR_RETURN(const std::uint8_t b, Byte());
      if (i == 4 && (b & 0xf0) != 0) return Malformed("integer too large");
      value |= static_cast<std::uint32_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return value;
    }
    return Malformed("integer too long");
  }

  Result<ByteView> Bytes(std::size_t n) {
    if (n > remaining()) return Malformed("length past the end");
    ByteView out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  Result<std::string_view> Name() {
    ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, U32());
    ELASTOS_ASSIGN_OR_RETURN(const ByteView b, Bytes(n));
    return AsChars(b);
  }

  // A vector length, checked against what is left so a forged count cannot make us reserve or
  // loop far beyond the input (each element takes at least `min_element_size` bytes).
  Result<std::uint32_t> Count(std::size_t min_element_size = 1) {
    ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, U32());
    if (static_cast<std::uint64_t>(n) * min_element_size > remaining()) {
      return Malformed("count past the end");
    }
    return n;
  }

 private:
  ByteView bytes_;
  std::size_t pos_ = 0;
};

struct FuncType {
  std::string params;  // one byte per value type
  std::string results;
};

struct Limits {
  std::uint32_t min = 0;
  std::optional<std::uint32_t> max;
};

Result<Limits> ReadLimits(Reader& r, std::string_view what) {
  ELASTOS_ASSIGN_OR_RETURN(const std::uint8_t flags, r.Byte());
  // 0/1 are the MVP forms; shared (threads) and 64-bit (memory64) limits are not compiled.
  if (flags > 1)
    return InvalidArgument("module_invalid", "unsupported " + std::string(what) + " kind");
  Limits l;
  ELASTOS_ASSIGN_OR_RETURN(l.min, r.U32());
  if (flags == 1) {
    ELASTOS_ASSIGN_OR_RETURN(l.max, r.U32());
  }
  return l;
}

std::string Describe(const FuncType& t) {
  auto list = [](const std::string& types) {
    std::string out = "(";
    for (std::size_t i = 0; i < types.size(); ++i) {
      if (i) out += ", ";
      switch (static_cast<std::uint8_t>(types[i])) {
        case 0x7f:
          out += "i32";
          break;
        case 0x7e:
          out += "i64";
          break;
        case 0x7d:
          out += "f32";
          break;
        case 0x7c:
          out += "f64";
          break;
        case 0x7b:
          out += "v128";
          break;
        case 0x70:
          out += "funcref";
          break;
        case 0x6f:
          out += "externref";
          break;
        default:
          out += "?";
          break;
      }
    }
    return out + ")";
  };
  return list(t.params) + " -> " + list(t.results);
}

FuncType WasiType(const wasi::FunctionInfo& info) {
  FuncType t;
  for (char c : info.params) t.params += static_cast<char>(c == 'I' ? kI64 : kI32);
  if (info.returns_errno) t.results += static_cast<char>(kI32);
  return t;
}

struct Import {
  std::string_view name;
  const wasi::FunctionInfo* info;
  std::uint32_t type_index;
};

}  // namespace

Result<ModuleFacts> InspectModule(ByteView wasm) {
  static constexpr std::uint8_t kHeader[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  if (wasm.size() < sizeof kHeader || !std::equal(kHeader, kHeader + 8, wasm.begin())) {
    return InvalidArgument("module_invalid", "not a WASM binary module (version 1)");
  }
  Reader module(wasm.subspan(8));

  std::vector<FuncType> types;
  std::vector<Import> imports;
  std::vector<std::uint32_t> function_types;  // of functions defined in the module
  ModuleFacts facts;
  std::optional<std::uint32_t> start_index;
  std::uint32_t seen_sections = 0;

  while (!module.done()) {
    ELASTOS_ASSIGN_OR_RETURN(const std::uint8_t id, module.Byte());
    ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t size, module.U32());
    ELASTOS_ASSIGN_OR_RETURN(const ByteView payload, module.Bytes(size));
    if (id == 0 || id > 31) continue;  // custom sections (and ids wasm2c will judge itself)
    // A second copy of a section we read could disagree with the one wasm2c reads; refuse.
    if (seen_sections & (1u << id)) return Malformed("duplicate section " + std::to_string(id));
    seen_sections |= 1u << id;
    Reader r(payload);

    switch (id) {
      case kSectionType: {
        ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, r.Count(3));
        types.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) {
          ELASTOS_ASSIGN_OR_RETURN(const std::uint8_t form, r.Byte());
          if (form != 0x60) return InvalidArgument("module_invalid", "unsupported type form");
          FuncType t;
          for (std::string* list : {&t.params, &t.results}) {
            ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t count, r.Count());
            ELASTOS_ASSIGN_OR_RETURN(const ByteView vt, r.Bytes(count));
            list->assign(AsChars(vt));
          }
          types.push_back(std::move(t));
        }
        break;
      }
      case kSectionImport: {
        ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, r.Count(4));
        for (std::uint32_t i = 0; i < n; ++i) {
          ELASTOS_ASSIGN_OR_RETURN(const std::string_view mod, r.Name());
          ELASTOS_ASSIGN_OR_RETURN(const std::string_view name, r.Name());
          ELASTOS_ASSIGN_OR_RETURN(const std::uint8_t kind, r.Byte());
          const std::string full = Printable(mod) + "." + Printable(name);
          if (kind != kExternFunc) {
            const char* what = kind == kExternMemory   ? "a memory"
                               : kind == kExternTable  ? "a table"
                               : kind == kExternGlobal ? "a global"
                                                       : "a non-function";
            return InvalidArgument("unknown_import",
                                   "the module imports " + std::string(what) + " (" + full +
                                       "); only WASI preview1 functions can be imported");
          }
          ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t type_index, r.U32());
          const wasi::FunctionInfo* info = mod == kWasiModule ? wasi::Lookup(name) : nullptr;
          if (info == nullptr) {
            return InvalidArgument("unknown_import",
                                   "import " + full + " is not a wasi_snapshot_preview1 function");
          }
          imports.push_back({name, info, type_index});
        }
        break;
      }
      case kSectionFunction: {
        ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, r.Count());
        function_types.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) {
          ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t t, r.U32());
          function_types.push_back(t);
        }
        break;
      }
      case kSectionMemory: {
        ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, r.Count(2));
        // The shim caps one memory; multi-memory is not enabled in wasm2c anyway.
        if (n > 1) return InvalidArgument("module_invalid", "more than one memory");
        if (n == 1) {
          ELASTOS_ASSIGN_OR_RETURN(const Limits l, ReadLimits(r, "memory"));
          if (l.min > 65536 || (l.max && (*l.max > 65536 || *l.max < l.min))) {
            return InvalidArgument("module_invalid", "memory limits out of range");
          }
          facts.has_memory = true;
          facts.memory_initial_pages = l.min;
          facts.memory_max_pages = l.max;
        }
        break;
      }
      case kSectionExport: {
        ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t n, r.Count(3));
        for (std::uint32_t i = 0; i < n; ++i) {
          ELASTOS_ASSIGN_OR_RETURN(const std::string_view name, r.Name());
          ELASTOS_ASSIGN_OR_RETURN(const std::uint8_t kind, r.Byte());
          ELASTOS_ASSIGN_OR_RETURN(const std::uint32_t index, r.U32());
          ELASTOS_RETURN_IF_ERROR(CheckExportName(name));
          if (name == "_start" && kind == kExternFunc) start_index = index;
        }
        break;
      }
      default:
        continue;  // not needed for the gate; wasm2c validates it
    }
    if (!r.done()) return Malformed("section " + std::to_string(id) + " has trailing bytes");
  }

  // Signatures, now that the type section is known whatever the section order was.
  for (const Import& imp : imports) {
    const FuncType expected = WasiType(*imp.info);
    if (imp.type_index >= types.size()) return Malformed("import type index out of range");
    const FuncType& actual = types[imp.type_index];
    if (actual.params != expected.params || actual.results != expected.results) {
      return InvalidArgument("import_signature", "import wasi_snapshot_preview1." +
                                                     std::string(imp.info->name) + " has type " +
                                                     Describe(actual) + "; WASI preview1 defines " +
                                                     Describe(expected));
    }
    if (std::find(facts.imports.begin(), facts.imports.end(), imp.info) == facts.imports.end()) {
      facts.imports.push_back(imp.info);
    }
  }

  if (!start_index) return InvalidArgument("no_start", "the module exports no `_start` function");
  std::uint32_t start_type;
  if (*start_index < imports.size()) {
    start_type = imports[*start_index].type_index;
  } else if (*start_index - imports.size() < function_types.size()) {
    start_type = function_types[*start_index - imports.size()];
  } else {
    return Malformed("`_start` function index out of range");
  }
  if (start_type >= types.size()) return Malformed("function type index out of range");
  if (!types[start_type].params.empty() || !types[start_type].results.empty()) {
    return InvalidArgument("no_start", "`_start` has type " + Describe(types[start_type]) +
                                           "; a WASI command's `_start` takes and returns nothing");
  }
  return facts;
}

}  // namespace elastos::compute::aot
