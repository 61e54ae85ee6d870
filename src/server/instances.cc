#include "server/instances.h"

#include <sys/stat.h>

#include <array>

#include "common/encoding.h"
#include "common/file_util.h"
#include "compute/carrier.h"
#include "compute/wasm_provider.h"
#include "crypto/ed25519.h"
#include "server/capsule_bridge.h"
#include "server/run_support.h"

namespace elastos::server {
namespace fs = std::filesystem;

namespace {

// System capsules (shell, providers) live as long as the runtime: ten years is "forever" for
// the worker's timers and still far from overflowing them.
constexpr std::uint64_t kForeverMs = 10ull * 365 * 24 * 3600 * 1000;

std::string NewInstanceId(const std::string& name) {
  std::array<std::uint8_t, 8> r;
  crypto::RandomBytes(r);
  return name + "-" + HexEncode(r);
}

}  // namespace

std::string_view InstanceRoleName(InstanceRole role) {
  switch (role) {
    case InstanceRole::kShell:
      return "shell";
    case InstanceRole::kCapsule:
      return "capsule";
    case InstanceRole::kProvider:
      return "provider";
  }
  return "capsule";
}

std::string_view InstanceStatusName(InstanceStatus status) {
  switch (status) {
    case InstanceStatus::kRunning:
      return "running";
    case InstanceStatus::kExited:
      return "stopped";
    case InstanceStatus::kFailed:
      return "failed";
  }
  return "running";
}

struct InstanceManager::Running {
  InstanceInfo info;
  std::unique_ptr<compute::Instance> instance;
  std::unique_ptr<CapsuleBridge> bridge;
  std::thread carrier;
  std::thread supervisor;
  bool stop_requested = false;
  std::string stopped_by;
};

InstanceManager::InstanceManager(runtime::Runtime& rt, fs::path worker)
    : rt_(rt), worker_(std::move(worker)) {}

InstanceManager::~InstanceManager() { StopAll(); }

void InstanceManager::SetServices(NamespaceService* ns, Lifecycle* lifecycle) {
  std::lock_guard<std::mutex> lock(mu_);
  namespace_ = ns;
  lifecycle_ = lifecycle;
}

void InstanceManager::OnExit(std::function<void(const InstanceInfo&)> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  on_exit_ = std::move(callback);
}

Result<InstanceInfo> InstanceManager::Launch(LaunchRequest request) {
  const CapsuleManifest& m = request.source.manifest;
  const std::string id = NewInstanceId(m.name);
  const bool agent = m.type == CapsuleType::kAgent;

  audit::AuditRecord launch;
  launch.type = "capsule_launch";
  launch.actor = request.launched_by;
  launch.actor_kind = request.launched_by_kind;
  launch.subject = id;
  launch.resource = request.source.reference;
  launch.action = "execute";
  launch.details["capsule"] = m.name;
  launch.details["role"] = std::string(InstanceRoleName(request.role));
  if (agent) launch.details["agent"] = 1;
  if (request.source.signer.empty()) {
    launch.details["unsigned"] = 1;
  } else {
    launch.details["signer"] = request.source.signer;
  }
  auto refuse = [&](const Status& s) -> Status {
    audit::AuditRecord r = launch;
    r.outcome = "denied";
    r.reason = s.reason();
    r.details["message"] = s.message();
    rt_.Audit(std::move(r), true).IgnoreError();
    return s;
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return refuse(Unavailable("runtime_stopping", "the runtime is shutting down"));
  }
  if (m.type != CapsuleType::kWasm && m.type != CapsuleType::kAgent) {
    return refuse(FailedPrecondition("capsule_not_runnable",
                                     m.name + " is a " + std::string(CapsuleTypeName(m.type)) +
                                         " capsule; only wasm and agent capsules run"));
  }
  if (m.microvm) {
    return refuse(FailedPrecondition("microvm_not_available",
                                     m.name + " asks for a microVM; this runtime runs WASM "
                                              "capsules only so far"));
  }

  Result<compute::Limits> resolved = compute::ResolveLimits(m.limits, request.overrides);
  if (!resolved.ok()) return refuse(resolved.status());
  compute::Limits limits = *resolved;
  if (request.system) {
    limits.wall_ms = kForeverMs;
    limits.cpu_ms = kForeverMs;
  }
  launch.details["limits"] = limits.ToString();

  Result<cli::TierChoice> tier = cli::ChooseTier(request.tier, request.source.module, limits,
                                                 rt_.data_dir());
  if (!tier.ok() && request.tier == "aot") {
    tier = cli::ChooseTier("interp", request.source.module, limits, rt_.data_dir());
  }
  if (!tier.ok()) return refuse(tier.status());
  launch.details["tier"] = tier->object ? "aot" : "interp";

  // The runtime's own capsules keep their state apart from installed ones: a capsule that an
  // operator installs under the name "shell" must not get the real shell's /data (where it
  // remembers 'always' answers).
  const fs::path data_dir =
      request.data_dir  ? *request.data_dir
      : request.system  ? rt_.data_dir() / "system" / m.name / "data"
                        : rt_.data_dir() / "capsules" / m.name / "data";
  const fs::path logs = rt_.data_dir() / "logs";
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return refuse(IoError("create " + data_dir.string(), ec.value()));
  ::chmod(data_dir.c_str(), 0700);
  fs::create_directories(logs, ec);
  if (ec) return refuse(IoError("create " + logs.string(), ec.value()));
  ::chmod(logs.c_str(), 0700);

  ELASTOS_RETURN_IF_ERROR(rt_.Audit(launch, true));  // on record before anything runs

  const runtime::SessionKind kind = request.role == InstanceRole::kShell
                                        ? runtime::SessionKind::kShell
                                        : runtime::SessionKind::kCapsule;
  Result<runtime::NewSession> session = rt_.StartSession(kind, id, m.name, agent);
  if (!session.ok()) return refuse(session.status());

  auto r = std::make_shared<Running>();
  r->info.id = id;
  r->info.name = m.name;
  r->info.version = m.version;
  r->info.type = std::string(CapsuleTypeName(m.type));
  r->info.role = request.role;
  r->info.reference = request.source.reference;
  r->info.session_id = session->session.id;
  r->info.started_at = rt_.NowUnix();
  r->info.stdout_log = logs / (id + ".out");
  r->info.stderr_log = logs / (id + ".err");

  compute::LaunchConfig config;
  config.capsule_name = m.name;
  config.instance_id = id;
  config.module = request.source.module;
  config.aot_object = tier->object;
  config.args = request.args;
  config.env = request.env;
  config.data_dir = data_dir;
  config.limits = limits;
  config.stdin_stream = request.stdin_data.empty() ? compute::Stdio::Null() : compute::Stdio::Pipe();
  config.stdout_stream = compute::Stdio::File(r->info.stdout_log);
  config.stderr_stream = compute::Stdio::File(r->info.stderr_log);
  config.carrier = true;

  compute::WasmProvider provider({worker_});
  Result<std::unique_ptr<compute::Instance>> loaded = provider.Load(config);
  Status started = loaded.ok() ? (*loaded)->Start() : loaded.status();
  if (!started.ok()) {
    rt_.EndSession(session->session.id, "launch failed").IgnoreError();
    return refuse(started);
  }
  r->instance = std::move(*loaded);
  compute::Instance& inst = *r->instance;
  if (!request.stdin_data.empty()) {
    // Small (a policy document): the pipe buffer takes it; a guest that never reads cannot
    // block us for long because WriteAll fails once the guest is gone.
    WriteAll(inst.stdin_fd(), AsBytes(request.stdin_data), "stdin of " + id).IgnoreError();
    inst.CloseStdin();
  }
  if (request.attach) {
    request.attach(inst);
  } else {
    NamespaceService* ns;
    Lifecycle* lifecycle;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ns = namespace_;
      lifecycle = lifecycle_;
    }
    r->bridge = std::make_unique<CapsuleBridge>(rt_, runtime::Caller{session->session}, ns, lifecycle);
    r->carrier = std::thread([r] {
      compute::ServeCarrier(r->instance->requests_fd(), r->instance->responses_fd(), *r->bridge)
          .IgnoreError();
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    instances_.emplace(id, r);
  }
  r->supervisor = std::thread([this, r] { Supervise(r); });
  if (tier->compile_after) cli::StartBackgroundCompile(request.source.module, rt_.data_dir());
  return r->info;
}

void InstanceManager::Supervise(std::shared_ptr<Running> r) {
  Result<compute::ExitStatus> exit = r->instance->Wait();
  // End the session first: that cancels its pending requests, and Close wakes a long wait in
  // progress, so the carrier thread (whose guest is gone) returns promptly.
  rt_.EndSession(r->info.session_id, "capsule instance exited").IgnoreError();
  if (r->bridge) r->bridge->Close();
  if (r->carrier.joinable()) r->carrier.join();

  audit::AuditRecord done;
  done.type = "capsule_exit";
  done.actor = r->info.id;
  done.actor_kind = r->info.type == "agent" ? audit::ActorKind::kAgent : audit::ActorKind::kCapsule;
  done.subject = r->info.id;
  done.resource = r->info.reference;
  done.action = "execute";
  std::function<void(const InstanceInfo&)> callback;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (exit.ok()) {
      const compute::Outcome& o = exit->outcome;
      done.outcome = o.kind == compute::OutcomeKind::kExited ? "ok" : "error";
      done.reason = o.kind == compute::OutcomeKind::kExited ? "" : o.reason;
      done.details["exit_code"] = exit->exit_code;
      done.details["cpu_ms"] = exit->usage.cpu_us / 1000;
      done.details["wall_ms"] = exit->usage.wall_us / 1000;
      // What actually confined it, so an operator reading the trail knows (a kernel without
      // Landlock leaves only the WASI host's path checks and the seccomp filter).
      if (!exit->memory_enforcement.empty()) done.details["memory_enforcement"] = exit->memory_enforcement;
      if (!exit->filesystem_enforcement.empty()) {
        done.details["filesystem_enforcement"] = exit->filesystem_enforcement;
      }
      if (r->stop_requested) {
        // Stopped on purpose (by a person, the shell or shutdown): not a failure of the capsule.
        done.outcome = "ok";
        done.reason = "stopped";
        done.details["stopped_by"] = r->stopped_by;
      }
      r->info.exit = *exit;
      r->info.status = o.kind == compute::OutcomeKind::kExited || r->stop_requested
                           ? InstanceStatus::kExited
                           : InstanceStatus::kFailed;
    } else {
      done.outcome = "error";
      done.reason = exit.status().reason();
      r->info.status = InstanceStatus::kFailed;
    }
    callback = on_exit_;
  }
  rt_.Audit(std::move(done), true).IgnoreError();
  InstanceInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    info = r->info;
  }
  if (callback) callback(info);
  {
    std::lock_guard<std::mutex> lock(mu_);
    exited_.notify_all();
  }
}

Status InstanceManager::Stop(std::string_view id, std::string_view by) {
  std::shared_ptr<Running> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) {
      return NotFound("no_such_capsule", "no capsule instance " + std::string(id));
    }
    r = it->second;
    if (r->info.status != InstanceStatus::kRunning) return OkStatus();
    r->stop_requested = true;
    r->stopped_by = std::string(by);
  }
  r->instance->Stop();
  return Wait(id, std::chrono::seconds(30)).status();
}

std::vector<InstanceInfo> InstanceManager::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InstanceInfo> out;
  for (const auto& [_, r] : instances_) out.push_back(r->info);
  return out;
}

std::optional<InstanceInfo> InstanceManager::Get(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end()) return std::nullopt;
  return it->second->info;
}

Result<InstanceInfo> InstanceManager::Wait(std::string_view id, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end()) return NotFound("no_such_capsule", "no capsule instance " + std::string(id));
  std::shared_ptr<Running> r = it->second;
  exited_.wait_for(lock, timeout, [&] { return r->info.status != InstanceStatus::kRunning; });
  return r->info;
}

void InstanceManager::StopAll() {
  std::vector<std::shared_ptr<Running>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [_, r] : instances_) all.push_back(r);
  }
  // Capsules first, then the shell, then providers: nothing should lose a service it is using
  // while it still runs.
  for (InstanceRole role : {InstanceRole::kCapsule, InstanceRole::kShell, InstanceRole::kProvider}) {
    for (auto& r : all) {
      if (r->info.role == role) Stop(r->info.id, "runtime shutdown").IgnoreError();
    }
  }
  for (auto& r : all) {
    if (r->supervisor.joinable()) r->supervisor.join();
  }
}

}  // namespace elastos::server
