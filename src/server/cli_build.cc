// `elastos capsule build DIR`: compiles a C/C++ capsule to its wasm32-wasi entry module
// (compute/toolchain/guest_toolchain.h does the work; this file is the command line).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "compute/toolchain/guest_toolchain.h"
#include "server/cli.h"

namespace elastos::cli {
namespace {

struct BuildArgs {
  std::string dir;
  std::vector<std::string> sources;
  bool release = false;
  bool debug = false;
  unsigned jobs = 0;
};

int CapsuleBuild(const BuildArgs& args) {
  compute::toolchain::BuildOptions options;
  options.debug = args.debug;
  options.jobs = args.jobs;
  options.sources = args.sources;
  options.progress = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    // Compiler diagnostics go to stderr straight from the child; flushing keeps the two streams
    // in order on a terminal.
    std::fflush(stdout);
  };
  auto result = compute::toolchain::BuildCapsule(args.dir, options);
  if (!result.ok()) return Fail(result.status());
  std::printf("built %s %s: %s (%llu bytes, %zu source%s, %s)\n", result->manifest.name.c_str(),
              result->manifest.version.c_str(), result->output.c_str(),
              static_cast<unsigned long long>(result->size), result->sources,
              result->sources == 1 ? "" : "s", args.debug ? "debug" : "release");
  return kExitOk;
}

}  // namespace

void AddCapsuleBuildCommand(CLI::App& capsule, const GlobalOptions& /*global*/, int& exit_code) {
  auto args = std::make_shared<BuildArgs>();
  CLI::App* build = capsule.add_subcommand("build",
                                           "Compile a C/C++ capsule (DIR/*.c|cc|cpp and DIR/src/…) "
                                           "to its wasm32-wasi entry with clang-19");
  build
      ->add_option("dir", args->dir,
                   "Capsule directory (holds capsule.json; the entry is written there)")
      ->required();
  // One value per --source, so `--source a.c DIR` cannot swallow DIR as a second source.
  build
      ->add_option("--source", args->sources,
                   "A source file to compile, relative to DIR (repeatable; default: every *.c, "
                   "*.cc, *.cpp in DIR "
                   "and DIR/src)")
      ->allow_extra_args(false);
  CLI::Option* release =
      build->add_flag("--release", args->release, "Optimise (-O2) and strip (the default)");
  CLI::Option* debug =
      build->add_flag("--debug", args->debug, "No optimisation, keep names and debug info");
  release->excludes(debug);
  build->add_option("--jobs,-j", args->jobs, "Parallel compiles (default: one per CPU)")
      ->check(CLI::Range(0u, 256u));
  build->callback([args, &exit_code] { exit_code = CapsuleBuild(*args); });
}

}  // namespace elastos::cli
