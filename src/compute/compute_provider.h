// The compute substrate interface: what the runtime needs from anything that runs capsule
// instances (the WASM worker today, KVM microVMs later), so the lifecycle, audit and carrier code
// above it does not care which substrate is underneath.
//
// An Instance is owned by its launcher: destroying a running Instance kills it (no capsule
// outlives the object that accounts for it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "compute/engine.h"
#include "compute/limits.h"

namespace elastos::compute {

// Where one of the guest's stdio streams goes.
struct Stdio {
  enum class Mode { kInherit, kPipe, kFile, kNull };
  Mode mode = Mode::kInherit;
  std::filesystem::path file;  // kFile: created/truncated for output, read for input

  static Stdio Inherit() { return {}; }
  static Stdio Pipe() { return {Mode::kPipe, {}}; }
  static Stdio Null() { return {Mode::kNull, {}}; }
  static Stdio File(std::filesystem::path p) { return {Mode::kFile, std::move(p)}; }
};

struct LaunchConfig {
  std::string capsule_name;
  std::string instance_id;                       // unique per instance (ELASTOS_CAPSULE_ID)
  std::filesystem::path module;                  // the capsule's .wasm entry
  std::optional<std::filesystem::path> aot_object;  // a verified compiled object: run it natively
  std::vector<std::string> args;                 // guest argv after argv[0] (= capsule_name)
  std::vector<std::string> env;                  // extra KEY=VALUE entries
  std::optional<std::filesystem::path> data_dir;  // host directory preopened as /data
  Limits limits;
  Stdio stdin_stream, stdout_stream, stderr_stream;
  bool carrier = true;  // give the guest the runtime carrier (guest fds 4/5)
};

enum class InstanceState { kLoaded, kRunning, kExited };

struct ResourceUsage {
  std::uint64_t cpu_us = 0;       // user + system time of the worker
  std::uint64_t max_rss_kib = 0;  // peak resident memory of the worker
  std::uint64_t wall_us = 0;      // from Start to exit
};

// How an instance ended, with everything the launcher needs to report and audit it.
struct ExitStatus {
  Outcome outcome;
  int exit_code = 0;  // what `elastos capsule run` exits with (DESIGN.md §6)
  std::string tier;   // "interp" or "aot" ("" when the worker never ran the guest)
  std::string memory_enforcement;  // "cgroup" or "rlimit_as"
  std::string filesystem_enforcement;  // "landlock", or "none" (the kernel has no Landlock)
  std::uint64_t output_bytes = 0;
  std::optional<std::uint64_t> fuel_used;
  ResourceUsage usage;
};

class Instance {
 public:
  virtual ~Instance() = default;
  virtual Status Start() = 0;
  // Kills the instance (SIGKILL); Wait then reports outcome kLimit "stopped".
  virtual void Stop() = 0;
  // Blocks until the instance has exited, enforcing the wall-clock backstop meanwhile.
  virtual Result<ExitStatus> Wait() = 0;
  virtual InstanceState state() const = 0;
  virtual ResourceUsage usage() const = 0;

  // Host ends of the guest's pipes (kPipe stdio and the carrier), -1 when absent. The Instance
  // keeps ownership; a reader may use them until Wait returns.
  virtual int stdin_fd() const = 0;   // write to it; close with CloseStdin
  virtual int stdout_fd() const = 0;
  virtual int stderr_fd() const = 0;
  virtual int requests_fd() const = 0;   // the guest's requests (read)
  virtual int responses_fd() const = 0;  // answers to the guest (write)
  virtual void CloseStdin() = 0;
};

class ComputeProvider {
 public:
  virtual ~ComputeProvider() = default;
  // Checks the config and prepares an instance without running anything of the guest.
  virtual Result<std::unique_ptr<Instance>> Load(const LaunchConfig& config) = 0;
};

}  // namespace elastos::compute
