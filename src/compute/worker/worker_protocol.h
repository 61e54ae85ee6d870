// The contract between the runtime and `elastos-worker`, the sandbox process that runs one
// capsule instance. The runtime passes a WorkerSpec as argv; the worker writes exactly one
// WorkerReport line (JSON) to the report fd before it exits, and exits with the code that
// `elastos capsule run` uses (the guest's own 0-123, 124 limit, 125 refused, 126 trap).
//
// Worker fd layout when it starts: 0/1/2 = the guest's stdio (set up by the launcher: inherited,
// pipes or files); the other fds it needs are named in the spec. Every other inherited fd is
// closed by the worker before the guest runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "compute/engine.h"

namespace elastos::compute {

struct WorkerSpec {
  std::string module_path;              // the .wasm (always given: the interpreter tier needs it)
  std::optional<std::string> aot_path;  // a verified wasm2c object: run it instead of interpreting
  std::uint32_t max_memory_pages = 65536;
  std::optional<std::uint64_t> wall_ms, cpu_ms, fuel;
  std::uint64_t output_limit_bytes = UINT64_MAX;
  std::uint64_t storage_limit_bytes = UINT64_MAX;
  std::optional<std::string> data_dir;  // host directory preopened as guest /data
  std::vector<std::string> args;        // guest argv, argv[0] included
  std::vector<std::string> env;         // guest environment, KEY=VALUE
  int carrier_in_fd = -1, carrier_out_fd = -1;  // worker fds (guest fds 4 and 5)
  int report_fd = -1;                   // worker fd for the report line
  // Applied by the worker to itself before the guest runs: seccomp allowlist, Landlock, memory
  // limit (cgroup or RLIMIT_AS), rlimits, closing of inherited fds (worker/sandbox.h). Turned off
  // only by tests that measure what the sandbox costs; the time limits apply either way.
  bool sandbox = true;
  // Memory limit in bytes for the cgroup (or the RLIMIT_AS fallback); 0 = derive from pages.
  std::uint64_t memory_limit_bytes = 0;
};

// argv for execv (argv[0] = the worker path) and back. Parse refuses unknown or malformed options
// (reason worker_usage, the message names the option). The syntax:
//   elastos-worker --module PATH [--aot PATH] [--max-memory-pages N] [--memory-limit-bytes N]
//       [--wall-ms N] [--cpu-ms N] [--fuel N] [--output-limit-bytes N] [--storage-limit-bytes N]
//       [--data-dir PATH] [--env KEY=VALUE]... [--carrier-in-fd FD] [--carrier-out-fd FD]
//       [--report-fd FD] [--no-sandbox] [-- ARGV0 ARGS...]
// Numbers are plain decimal; every option but --env may appear once; fds must be >= 3 and
// distinct; everything after "--" is the guest's argv.
std::vector<std::string> ToArgv(const std::string& worker_path, const WorkerSpec& spec);
Result<WorkerSpec> ParseWorkerArgv(int argc, const char* const* argv);

struct WorkerReport {
  Outcome outcome;
  std::string tier;  // "interp" or "aot"
  std::uint64_t memory_pages = 0;
  std::uint64_t output_bytes = 0;
  std::optional<std::uint64_t> fuel_used;  // Engine::fuel_used()
  // How the sandbox was applied: "cgroup" or "rlimit_as" for memory, for the launch log ("none"
  // with --no-sandbox, "" when the worker stopped before applying it).
  std::string memory_enforcement;
  // The cgroup v2 directory the worker created for itself and moved into (memory_enforcement ==
  // "cgroup"). A process cannot remove the cgroup it is in: the launcher rmdirs it after reaping
  // the worker.
  std::string cgroup_path;
  // "landlock" when the filesystem outside /data is out of reach (Linux >= 5.13), "none" on a
  // kernel without Landlock or with --no-sandbox, "" when the worker stopped before the sandbox.
  std::string filesystem_enforcement;
  std::uint64_t wall_us = 0;  // from worker start to the end of the run
};

// One line of JSON, newline-terminated:
// {"outcome":"exited|limit|refused|trap","exit_code":N,"reason":"…","message":"…","tier":"aot",…}
std::string FormatReport(const WorkerReport& report);
Result<WorkerReport> ParseReport(std::string_view line);

// The exit code the worker (and `elastos capsule run`) uses for an outcome.
int ExitCodeFor(const Outcome& outcome);

}  // namespace elastos::compute
