// The guest toolchain: builds a C/C++ capsule directory into its wasm32-wasi entry module, the
// engine behind `elastos capsule build DIR`.
//
// It drives Debian's clang-19 + wasi-libc (DESIGN.md §7, research/wasm-engines.md) with fixed
// flags, compiling each source to an object and linking them into DIR/<entry>, which is replaced
// atomically so a failed build never leaves a half-written module where the runtime would load
// it. Compilers run through posix_spawn with an argv vector — never a shell — so a source named
// `$(rm -rf ~).c` is just a file name.
//
// The flags (kept in step with tests/capsules/CMakeLists.txt, which builds the test capsules the
// same way without going through the CLI):
//   --target=wasm32-wasi --sysroot=/usr   Debian's layout (wasm32-wasip1 is not installed)
//   -O2 | -O0 -g                          release (default) | debug
//   -std=c++17 -fno-exceptions            C++ (libc++ for wasm32 has no exception runtime)
//   -I<SDK include dir>                   so `#include <elastos/sdk.h>` works
//   -Wl,--stack-first                     the shadow stack sits below the data, so overflowing
//                                         it traps (address wrap-around) instead of silently
//                                         overwriting globals and the heap
//   -Wl,-z,stack-size=1048576             1 MiB of stack (wasm-ld's default is 64 KiB)
//   -Wl,--strip-all                       release only: Debian's wasi-libc carries DWARF (6x)
//
// Thread-safety: the functions are reentrant; BuildCapsule spawns and reaps only its own
// children (never waitpid(-1)), so it is safe inside a process that has other children.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/manifest.h"
#include "common/status.h"

namespace elastos::compute::toolchain {

// What to install when something is missing (scripts/setup.sh installs all of them).
inline constexpr std::string_view kGuestPackages =
    "clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libc++-19-dev-wasm32 "
    "libc++abi-19-dev-wasm32";

enum class Language { kC, kCxx };

struct SourceFile {
  std::filesystem::path path;  // what the compiler is given
  std::string display;         // relative to the capsule directory when inside it
  Language language = Language::kC;
};

// Where to look for the compilers and wasi-libc. The CLI fills it from the process; tests pass
// a fake PATH or sysroot to check the error a user without the packages sees.
struct ToolchainSearch {
  std::string path_env;  // $PATH
  std::filesystem::path sysroot = "/usr";
};
ToolchainSearch DefaultToolchainSearch();

struct GuestToolchain {
  std::filesystem::path cc;   // clang-19, absolute
  std::filesystem::path cxx;  // clang++-19, absolute; empty when not needed
  std::filesystem::path sysroot;
};

// Checks clang-19 (and clang++-19 + libc++ when `need_cxx`), wasm-ld, the wasm32 compiler
// runtime and wasi-libc. Error: FailedPrecondition / `guest_toolchain_missing`, naming what is
// missing and the packages to install.
Result<GuestToolchain> FindGuestToolchain(const ToolchainSearch& search, bool need_cxx);

// Where the SDK headers (<elastos/sdk.h>) might be, in order of preference.
struct IncludeSearch {
  std::optional<std::string> env;  // $ELASTOS_GUEST_INCLUDE: used if set, and must be right
  std::filesystem::path
      executable;  // the running elastos binary: <dir>/../share/elastos/guest/include
  std::filesystem::path source_tree;  // baked in at configure time: <source>/guest/include
};
IncludeSearch DefaultIncludeSearch();
// The first candidate holding elastos/sdk.h. Error: FailedPrecondition / `sdk_not_found`.
Result<std::filesystem::path> FindSdkIncludeDir(const IncludeSearch& search);

// Every *.c, *.cc and *.cpp directly in `dir` and in `dir/src` (regular files, no dotfiles),
// sorted by relative path so builds are deterministic. Error: NotFound / `no_sources`.
Result<std::vector<SourceFile>> DiscoverSources(const std::filesystem::path& dir);
// Sources named explicitly (`--source`), relative to `dir` unless absolute; each must be an
// existing regular file with a known extension. Order is kept.
Result<std::vector<SourceFile>> ResolveSources(const std::filesystem::path& dir,
                                               const std::vector<std::string>& given);

struct CompileFlags {
  bool debug = false;
  std::filesystem::path sdk_include;
};
// argv of one compile and of the link (exposed so tests can check the flags and the quoting).
std::vector<std::string> CompileCommand(const GuestToolchain& tc, const SourceFile& source,
                                        const std::filesystem::path& object,
                                        const CompileFlags& flags);
std::vector<std::string> LinkCommand(const GuestToolchain& tc,
                                     const std::vector<std::filesystem::path>& objects, bool cxx,
                                     const std::filesystem::path& output,
                                     const CompileFlags& flags);

struct BuildOptions {
  bool debug = false;
  unsigned jobs = 0;                 // parallel compiles; 0 = min(sources, hardware threads)
  std::vector<std::string> sources;  // empty: DiscoverSources
  ToolchainSearch toolchain = DefaultToolchainSearch();
  IncludeSearch include = DefaultIncludeSearch();
  // Called once per source as its compile starts, and once for the link.
  std::function<void(const std::string& line)> progress;
};

struct BuildResult {
  CapsuleManifest manifest;
  std::filesystem::path output;  // DIR/<entry>
  std::uint64_t size = 0;
  std::size_t sources = 0;
};

// Reads DIR/capsule.json (type wasm or agent, entry ending in .wasm), compiles and links, and
// replaces DIR/<entry> atomically. The compilers' own messages go straight to this process's
// stderr. Errors: the manifest's (InvalidArgument / manifest_invalid), InvalidArgument /
// `not_buildable` (wrong type or entry), NotFound / `no_sources`, FailedPrecondition /
// `guest_toolchain_missing` or `sdk_not_found`, InvalidArgument / `compile_failed` or
// `link_failed`, Internal / `spawn_failed`, io_error.
Result<BuildResult> BuildCapsule(const std::filesystem::path& dir, const BuildOptions& options);

}  // namespace elastos::compute::toolchain
