#include "compute/aot/generated_c.h"

#include <cctype>
#include <map>
#include <sstream>

#include "common/encoding.h"
#include "compute/aot/aot_embedded.h"
#include "crypto/sha256.h"

namespace elastos::compute::aot {
namespace {

// Bump when the rewrite or the thunk shape below changes (it feeds ShimDigestHex, hence every key).
constexpr std::string_view kRewriteVersion = "elastos-aot-rewrite/1";

// Always first in guest.c, before it includes guest.h (and through it wasm-rt.h), so the
// declarations and every call site of the two runtime functions are renamed to the shim's hooks.
constexpr std::string_view kPrelude =
    "/* ElastOS AOT prelude: memory allocation and growth go through the shim's capping hooks. */\n"
    "#define wasm_rt_allocate_memory elastos_aot_allocate_memory\n"
    "#define wasm_rt_grow_memory elastos_aot_grow_memory\n";

// The loop-head poll. A relaxed atomic load compiles to a plain load, but the compiler may not
// hoist it out of the loop. The trap code is only a vehicle: the engine reads the reason from
// PendingInterrupt().
constexpr std::string_view kInterruptPrelude =
    "extern int elastos_guest_interrupt;\n"
    "#define ELASTOS_AOT_POLL()                                                        \\\n"
    "  do {                                                                            \\\n"
    "    if (__builtin_expect(__atomic_load_n(&elastos_guest_interrupt, __ATOMIC_RELAXED), 0)) \\\n"
    "      wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);                                      \\\n"
    "  } while (0)\n";

constexpr std::string_view kPoll = " ELASTOS_AOT_POLL();";

constexpr std::string_view kLabelPrefix = "w2c_L";

bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// `w2c_L<digits>` followed by ':' (and not '::') at `pos`; returns the length up to the ':'.
std::size_t LabelAt(std::string_view s, std::size_t pos) {
  if (s.compare(pos, kLabelPrefix.size(), kLabelPrefix) != 0) return 0;
  std::size_t i = pos + kLabelPrefix.size();
  const std::size_t digits = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == digits || i >= s.size() || s[i] != ':') return 0;
  if (i + 1 < s.size() && s[i + 1] == ':') return 0;
  return i - pos;
}

// The line is exactly one loop label, as wasm2c 1.0.32 writes it ("  w2c_L3: ").
bool IsLoopLabelLine(std::string_view line) {
  const std::string_view t = Trim(line);
  const std::size_t n = LabelAt(t, 0);
  return n != 0 && n + 1 == t.size();
}

// Counts label definitions on a line outside comments and literals, carrying the comment state
// across lines. wasm2c writes module-controlled text only into comments (export names, which
// module_facts.cc keeps free of "*/"), so labels found here are real C labels.
class LabelScanner {
 public:
  std::size_t Count(std::string_view line) {
    std::size_t labels = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (in_comment_) {
        if (line.compare(i, 2, "*/") == 0) {
          in_comment_ = false;
          ++i;
        }
        continue;
      }
      const char c = line[i];
      if (line.compare(i, 2, "/*") == 0) {
        in_comment_ = true;
        ++i;
      } else if (line.compare(i, 2, "//") == 0) {
        break;
      } else if (c == '"' || c == '\'') {
        for (++i; i < line.size() && line[i] != c; ++i) {
          if (line[i] == '\\') ++i;
        }
      } else if ((i == 0 || !IsIdentChar(line[i - 1])) && LabelAt(line, i) != 0) {
        ++labels;
      }
    }
    return labels;
  }

 private:
  bool in_comment_ = false;
};

std::string CType(char letter) { return letter == 'I' ? "u64" : "u32"; }

void AppendThunk(std::ostringstream& out, const wasi::FunctionInfo& info) {
  const std::string symbol = "Z_wasi_snapshot_preview1Z_" + std::string(info.name);
  const std::size_t n = info.params.size();
  out << (info.returns_errno ? "u32 " : "void ") << symbol
      << "(struct Z_wasi_snapshot_preview1_instance_t* wasi";
  for (std::size_t i = 0; i < n; ++i) out << ", " << CType(info.params[i]) << " a" << i;
  out << ") {\n";
  std::string args = "NULL";
  if (n > 0) {
    out << "  const uint64_t args[" << n << "] = {";
    for (std::size_t i = 0; i < n; ++i) out << (i ? ", a" : "a") << i;
    out << "};\n";
    args = "args";
  }
  const std::string call = "elastos_forward(wasi, " +
                           std::to_string(static_cast<unsigned>(info.function)) + "u, " + args +
                           ", " + std::to_string(n) + "u)";
  if (info.returns_errno) {
    out << "  return " << call << ";\n";
  } else {
    out << "  (void)" << call << ";\n";
  }
  if (info.function == wasi::Function::kProcExit) {
    // proc_exit never returns into the guest, even if a host failed to stop it.
    out << "  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);\n";
  }
  out << "}\n\n";
}

}  // namespace

Status RewriteGuestC(std::istream& in, std::ostream& out, Instrumentation instrumentation,
                     std::size_t* loop_heads) {
  const bool poll = instrumentation == Instrumentation::kInterrupt;
  out << kPrelude;
  if (poll) out << kInterruptPrelude;
  out << "#line 1 \"guest.c\"\n";

  LabelScanner scanner;
  std::size_t labels = 0, polls = 0;
  bool includes_header = false;
  std::string line;
  while (std::getline(in, line)) {
    labels += scanner.Count(line);
    if (Trim(line) == "#include \"guest.h\"") includes_header = true;
    out << line;
    if (poll && IsLoopLabelLine(line)) {
      out << kPoll;
      ++polls;
    }
    out << '\n';
  }
  if (in.bad() || !out) return Internal("aot_compile_failed", "could not rewrite guest.c");
  if (!includes_header) {
    return Internal("aot_instrumentation_failed",
                    "guest.c does not include guest.h; this wasm2c output is not supported");
  }
  if (poll && polls != labels) {
    return Internal("aot_instrumentation_failed",
                    "found " + std::to_string(labels) + " loop labels but only " +
                        std::to_string(polls) +
                        " in the form wasm2c 1.0.32 writes; refusing to build loops that cannot "
                        "be interrupted");
  }
  if (loop_heads) *loop_heads = polls;
  return OkStatus();
}

Status CheckImportDeclarations(std::string_view guest_h, const ModuleFacts& facts) {
  // wasm2c writes each import as:  /* import: 'wasi_snapshot_preview1' 'fd_write' */
  //                                u32 Z_wasi_snapshot_preview1Z_fd_write(struct ...*, u32, ...);
  constexpr std::string_view kMarker = "/* import: 'wasi_snapshot_preview1' '";
  std::map<std::string, std::string, std::less<>> declared;  // WASI name -> C symbol
  std::size_t pos = 0;
  while ((pos = guest_h.find(kMarker, pos)) != std::string_view::npos) {
    pos += kMarker.size();
    const std::size_t name_end = guest_h.find('\'', pos);
    const std::size_t line_end = guest_h.find('\n', pos);
    if (name_end == std::string_view::npos || line_end == std::string_view::npos) break;
    const std::string name(guest_h.substr(pos, name_end - pos));
    const std::size_t decl_end = guest_h.find('(', line_end);
    if (decl_end == std::string_view::npos) break;
    std::size_t start = decl_end;
    while (start > line_end + 1 && IsIdentChar(guest_h[start - 1])) --start;
    declared[name] = std::string(guest_h.substr(start, decl_end - start));
    pos = decl_end;
  }
  for (const wasi::FunctionInfo* info : facts.imports) {
    const std::string expected = "Z_wasi_snapshot_preview1Z_" + std::string(info->name);
    const auto it = declared.find(info->name);
    if (it == declared.end() || it->second != expected) {
      return Internal("aot_compile_failed",
                      "wasm2c did not declare import wasi_snapshot_preview1." +
                          std::string(info->name) + " as " + expected +
                          "; this wasm2c version is not supported");
    }
  }
  return OkStatus();
}

std::string ShimSource(const ModuleFacts& facts) {
  std::ostringstream out;
  out << "/* Generated by ElastOS AotCache (compute/aot/generated_c.cc). */\n"
      << "#include \"guest.h\"\n"
      << "#include \"elastos_aot_abi.h\"\n"
      << "#define ELASTOS_AOT_HAS_IMPORTS " << (facts.imports.empty() ? 0 : 1) << "\n"
      << "#define ELASTOS_AOT_HAS_MEMORY " << (facts.has_memory ? 1 : 0) << "\n"
      << "#define ELASTOS_AOT_MEMORY_INITIAL " << facts.memory_initial_pages << "u\n"
      << "#define ELASTOS_AOT_MEMORY_MAX " << facts.memory_max_pages.value_or(UINT32_MAX) << "u\n"
      << "#line 1 \"aot_shim.c.in\"\n"
      << internal::kShimTemplateText << "\n";
  for (const wasi::FunctionInfo* info : facts.imports) AppendThunk(out, *info);
  return out.str();
}

std::string_view AbiHeaderSource() { return internal::kAbiHeaderText; }

const std::string& ShimDigestHex() {
  static const std::string digest = [] {
    crypto::Sha256 h;
    for (std::string_view part : {kRewriteVersion, kPrelude, kInterruptPrelude, kPoll,
                                  internal::kAbiHeaderText, internal::kShimTemplateText}) {
      const std::string framed = std::to_string(part.size()) + ":";
      h.Update(AsBytes(framed));
      h.Update(AsBytes(part));
    }
    const crypto::Digest256 d = h.Final();
    return HexEncode(d);
  }();
  return digest;
}

}  // namespace elastos::compute::aot
