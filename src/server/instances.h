// InstanceManager: the capsule instances a daemon runs — the shell, providers and ordinary
// capsules — each in its own sandboxed worker, each with its own session and carrier bridge.
//
// Lifecycle of one instance:
//   Launch: audit `capsule_launch` (durably, before anything runs: no capsule runs off the
//           record), start a session for it (its tokens bind to the instance id, never to the
//           capsule's name), start the worker, serve its carrier on a thread.
//   Exit:   (the guest returns, hits a limit, traps, or Stop kills it) end its session — every
//           token it held is revoked and its pending requests cancelled — and audit
//           `capsule_exit` with outcome, exit code and usage.
// Every instance id is the capsule name plus 16 random hex digits: unique per instance, and not
// guessable by a neighbour.
//
// stdout and stderr go to DATA_DIR/logs/<instance>.out and .err (Logs reads them).
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/manifest.h"
#include "common/status.h"
#include "compute/compute_provider.h"
#include "compute/limits.h"
#include "runtime/runtime.h"

namespace elastos::server {

class NamespaceService;
class Lifecycle;

// A capsule ready to launch: verified (or explicitly allowed unsigned), its module on disk.
struct CapsuleSource {
  CapsuleManifest manifest;
  std::filesystem::path module;
  std::string reference;  // the capsule's CID, or its directory when unsigned
  std::string signer;     // did:key of the publisher; empty when unsigned
};

enum class InstanceRole { kShell, kCapsule, kProvider };
std::string_view InstanceRoleName(InstanceRole role);

struct LaunchRequest {
  CapsuleSource source;
  InstanceRole role = InstanceRole::kCapsule;
  std::vector<std::string> args;
  std::string stdin_data;  // written to the guest's stdin, which is then closed
  compute::LimitOverrides overrides;
  // The runtime's own capsules (shell, providers) run as long as the runtime does.
  bool system = false;
  // auto, interp or aot (cli/run_support.h ChooseTier). The runtime's own capsules use aot:
  // compiled once at first boot, native from then on; without a compiler they interpret.
  std::string tier = "auto";
  std::optional<std::filesystem::path> data_dir;  // default DATA_DIR/capsules/<name>/data
  std::vector<std::string> env;                   // extra KEY=VALUE
  // Who talks on the instance's fds 4/5. Unset: a CapsuleBridge serves the capsule's runtime
  // requests (docs/protocol.md). Set (providers, docs/providers.md): called once the worker
  // runs, with the instance, whose requests_fd()/responses_fd() the callee then owns the use of
  // until the instance exits.
  std::function<void(compute::Instance&)> attach;
  std::string launched_by;  // actor for the audit
  audit::ActorKind launched_by_kind = audit::ActorKind::kRuntime;
};

enum class InstanceStatus { kRunning, kExited, kFailed };
std::string_view InstanceStatusName(InstanceStatus status);

struct InstanceInfo {
  std::string id;
  std::string name;
  std::string version;
  std::string type;  // manifest type
  InstanceRole role = InstanceRole::kCapsule;
  InstanceStatus status = InstanceStatus::kRunning;
  std::string reference;
  std::string session_id;
  std::int64_t started_at = 0;
  std::optional<compute::ExitStatus> exit;
  std::filesystem::path stdout_log, stderr_log;
};

class InstanceManager {
 public:
  InstanceManager(runtime::Runtime& rt, std::filesystem::path worker);
  ~InstanceManager();  // StopAll()

  Result<InstanceInfo> Launch(LaunchRequest request);
  // Kills the instance and waits for its exit to be recorded. not_found/`no_such_capsule`.
  [[nodiscard]] Status Stop(std::string_view id, std::string_view by);
  std::vector<InstanceInfo> List() const;
  std::optional<InstanceInfo> Get(std::string_view id) const;
  // Waits until the instance has exited (its exit recorded) or `timeout` passes.
  Result<InstanceInfo> Wait(std::string_view id, std::chrono::milliseconds timeout);
  // Stops every instance (shutdown), providers last.
  void StopAll();
  // What the capsules' bridges use for resource_request and for the shell's lifecycle requests
  // (set once, before ordinary capsules launch; null: those requests answer unavailable).
  void SetServices(NamespaceService* ns, Lifecycle* lifecycle);
  // Called with the info of every instance that exits (after its session ended).
  void OnExit(std::function<void(const InstanceInfo&)> callback);

 private:
  struct Running;
  void Supervise(std::shared_ptr<Running> r);

  runtime::Runtime& rt_;
  std::filesystem::path worker_;
  mutable std::mutex mu_;
  std::condition_variable exited_;
  std::map<std::string, std::shared_ptr<Running>, std::less<>> instances_;
  std::function<void(const InstanceInfo&)> on_exit_;
  NamespaceService* namespace_ = nullptr;
  Lifecycle* lifecycle_ = nullptr;
  bool stopping_ = false;
};

}  // namespace elastos::server
