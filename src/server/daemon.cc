#include "server/daemon.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <thread>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/version.h"
#include "compute/wasm_provider.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "identity/key_file.h"
#include "server/api_content.h"
#include "runtime/capsule/artifact.h"

namespace elastos::server {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// The shell's lifecycle requests, over the daemon's instances and catalog.
class DaemonLifecycle final : public Lifecycle {
 public:
  DaemonLifecycle(InstanceManager& instances, CapsuleCatalog& catalog)
      : instances_(instances), catalog_(catalog) {}

  json::object List() override {
    json::array list;
    for (const InstanceInfo& i : instances_.List()) {
      json::object o{{"id", i.id},
                     {"name", i.name},
                     {"version", i.version},
                     {"type", i.type},
                     {"status", std::string(InstanceStatusName(i.status))}};
      if (i.reference.rfind("baf", 0) == 0 || i.reference.rfind("Qm", 0) == 0) o["cid"] = i.reference;
      list.push_back(std::move(o));
    }
    return {{"type", "capsule_list"}, {"capsules", std::move(list)}};
  }
  Result<std::pair<std::string, std::string>> Launch(const runtime::Caller& by,
                                                     std::string_view name_or_cid,
                                                     std::vector<std::string> args) override {
    std::optional<InstalledCapsule> ic = catalog_.Find(name_or_cid);
    if (!ic) return NotFound("no_such_capsule", "no installed capsule '" + std::string(name_or_cid) + "'");
    ELASTOS_ASSIGN_OR_RETURN(std::vector<InstanceInfo> started,
                             LaunchWithDependencies(instances_, catalog_, ic->name, std::move(args), by));
    return std::pair(started.back().id, started.back().name);
  }
  Status Stop(const runtime::Caller& by, std::string_view id) override {
    std::optional<InstanceInfo> i = instances_.Get(id);
    if (!i || i->role != InstanceRole::kCapsule) {
      // The shell stops capsules, not itself or the runtime's providers.
      return NotFound("no_such_capsule", "no capsule instance " + std::string(id));
    }
    return instances_.Stop(id, by.holder());
  }

 private:
  InstanceManager& instances_;
  CapsuleCatalog& catalog_;
};

}  // namespace

Result<RuntimeInfoFile> ReadRuntimeInfo(const fs::path& data_dir) {
  const fs::path path = data_dir / "runtime.json";
  Result<Bytes> bytes = ReadFileLimited(path, 64 << 10);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound || !fs::exists(path)) {
      return NotFound("runtime_not_running",
                      "no runtime is running on " + data_dir.string() + " (no runtime.json)");
    }
    return bytes.status();
  }
  std::error_code ec;
  json::value v = json::parse(AsChars(*bytes), ec);
  const json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  auto str = [&](const char* k) -> const json::string* {
    const json::value* f = o ? o->if_contains(k) : nullptr;
    return f && f->is_string() ? &f->as_string() : nullptr;
  };
  if (o == nullptr || !str("api_url") || !str("attach_secret") || !o->if_contains("pid") ||
      !o->at("pid").is_int64()) {
    return FailedPrecondition("runtime_json_corrupt",
                              path.string() + " is not a runtime.json this version understands");
  }
  RuntimeInfoFile info;
  info.api_url = std::string(*str("api_url"));
  info.attach_secret = std::string(*str("attach_secret"));
  info.pid = o->at("pid").as_int64();
  if (str("version")) info.version = std::string(*str("version"));
  return info;
}

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->options_ = options;
  runtime::RuntimeOptions ro;
  ro.data_dir = options.data_dir;
  ELASTOS_ASSIGN_OR_RETURN(d->runtime_, runtime::Runtime::Open(ro));

  std::array<std::uint8_t, 32> secret;
  crypto::RandomBytes(secret);
  d->ctx_.runtime = d->runtime_.get();
  d->ctx_.attach_secret = Base64UrlEncode(secret);
  d->ctx_.version = std::string(kVersion);
  Daemon* self = d.get();
  d->ctx_.server_stats = [self] { return self->server_->stats(); };

  d->instances_ = std::make_unique<InstanceManager>(*d->runtime_,
                                                    compute::WasmProvider::DefaultWorkerPath());
  d->instances_->OnExit([self](const InstanceInfo& info) { self->OnInstanceExit(info); });
  d->catalog_ = std::make_unique<CapsuleCatalog>(
      options.data_dir, options.trust_file.empty() ? options.data_dir / "trust" : options.trust_file);
  d->ctx_.instances = d->instances_.get();
  d->ctx_.catalog = d->catalog_.get();
  if (Status s = d->StartLocalhostProvider(); !s.ok()) {
    std::fprintf(stderr, "elastos: warning: no localhost provider: %s\n", s.ToString().c_str());
  }
  Sealing sealing;
  if (!options.sealed_roots.empty()) {
    // A key of its own, domain-separated from anything else the seed could ever be used for.
    ELASTOS_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey seed,
                             identity::LoadOrCreatePrivateKey(d->runtime_->env(),
                                                              options.data_dir / "keys" / "storage.key"));
    crypto::Sha256 h;
    h.Update(AsBytes(std::string_view("elastos.storage-seal.v1\0", 24)));
    h.Update(seed.seed());
    sealing.key = h.Final();
    for (const std::string& r : options.sealed_roots) sealing.roots.insert(r);
  }
  FetchOptions fo;
  fo.ca_file = options.fetch_ca_file;
  d->fetch_ = std::make_unique<FetchProvider>(fo);
  d->names_ = std::make_unique<NamespaceService>(*d->runtime_, d->localhost_.get(), std::move(sealing),
                                                 d->fetch_.get());
  d->lifecycle_ = std::make_unique<DaemonLifecycle>(*d->instances_, *d->catalog_);
  d->instances_->SetServices(d->names_.get(), d->lifecycle_.get());
  d->ctx_.names = d->names_.get();
  if (Status s = d->LaunchShell(); !s.ok()) {
    std::fprintf(stderr, "elastos: warning: no shell: %s; capability requests will expire "
                         "unanswered\n", s.ToString().c_str());
  }

  d->content_ = std::make_unique<ContentService>(options.data_dir);  // DATA_DIR/blocks
  d->names_->SetContent(d->content_.get());
  http::Router router;
  AddApiRoutes(router, d->ctx_);
  AddContentRoutes(router, d->ctx_, *d->content_);
  http::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.handler_threads = options.handler_threads;
  ELASTOS_ASSIGN_OR_RETURN(d->server_, http::HttpServer::Listen(std::move(router), so));
  d->api_url_ = "http://" + UrlHost(options.host) + ":" + std::to_string(d->server_->port());

  json::object info;
  info["api_url"] = d->api_url_;
  info["attach_secret"] = d->ctx_.attach_secret;
  info["pid"] = static_cast<std::int64_t>(::getpid());
  info["version"] = std::string(kVersion);
  info["data_dir"] = options.data_dir.string();
  const std::string text = json::serialize(info) + "\n";
  ELASTOS_RETURN_IF_ERROR(
      WriteFileAtomic(options.data_dir / "runtime.json", AsBytes(text), 0600));
  d->server_->Start();
  // Client sessions nobody uses end after an hour (their grants are revoked with them).
  d->sweeper_ = std::thread([self] {
    std::unique_lock<std::mutex> lock(self->sweeper_mu_);
    while (!self->sweeper_cv_.wait_for(lock, std::chrono::seconds(60),
                                       [self] { return self->sweeper_stop_; })) {
      lock.unlock();
      for (const std::string& id : self->runtime_->sessions().IdleClients(std::chrono::hours(1))) {
        self->runtime_->EndSession(id, "idle for an hour").IgnoreError();
      }
      lock.lock();
    }
  });

  audit::AuditRecord r;
  r.type = "api_listen";
  r.details["url"] = d->api_url_;
  r.details["loopback"] = IsLoopback(options.host) ? "yes" : "no";
  ELASTOS_RETURN_IF_ERROR(d->runtime_->Audit(std::move(r), true));
  return d;
}

Daemon::~Daemon() { Shutdown().IgnoreError(); }

std::string Daemon::shell_instance() const {
  std::lock_guard<std::mutex> lock(shell_mu_);
  return shell_id_;
}

namespace {

// A capsule shipped with the runtime: `capsules/<name>` beside the executable's directory.
fs::path BesideExecutable(const std::string& name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return self.parent_path().parent_path() / "capsules" / name;
}

// One of the runtime's own capsules, run from its directory as shipped (unsigned: it is part of
// the runtime's installation, like the executable itself).
Result<CapsuleSource> SourceFromDirectory(const fs::path& dir) {
  CapsuleSource src;
  ELASTOS_ASSIGN_OR_RETURN(src.manifest, capsule::LoadCapsuleDirectory(dir));
  src.module = fs::absolute(dir / src.manifest.entry);
  src.reference = fs::absolute(dir).lexically_normal().string();
  return src;
}

}  // namespace

Status Daemon::StartLocalhostProvider() {
  const fs::path dir = options_.localhost_provider_dir.empty()
                           ? BesideExecutable("localhost-provider")
                           : options_.localhost_provider_dir;
  if (!fs::exists(dir / "capsule.json")) {
    return NotFound("no_provider", "no localhost provider capsule at " + dir.string());
  }
  ELASTOS_ASSIGN_OR_RETURN(CapsuleSource src, SourceFromDirectory(dir));
  ProviderPoolOptions po;
  po.size = options_.provider_instances;
  po.data_dir = options_.data_dir / "roots";
  ELASTOS_ASSIGN_OR_RETURN(localhost_, ProviderPool::Start(*instances_, std::move(src), po));
  return OkStatus();
}

Status Daemon::LaunchShell() {
  fs::path dir = options_.shell_dir.empty() ? BesideExecutable("shell") : options_.shell_dir;
  if (!fs::exists(dir / "capsule.json")) {
    return NotFound("no_shell", "no shell capsule at " + dir.string() +
                                    " (build it, or pass 'elastos serve --shell DIR')");
  }
  ELASTOS_ASSIGN_OR_RETURN(CapsuleSource src, SourceFromDirectory(dir));

  // The policy goes to the shell on stdin: the shell can read nothing else of ours. No policy
  // file means the safe default: ask, and deny when nobody can answer.
  std::string policy = R"({"default":"ask","rules":[]})";
  const fs::path policy_file = options_.data_dir / "policy.json";
  if (fs::exists(policy_file)) {
    ELASTOS_ASSIGN_OR_RETURN(Bytes text, ReadFileLimited(policy_file, 1 << 20));
    policy.assign(AsChars(text));
  }
  LaunchRequest lr;
  lr.source = std::move(src);
  lr.role = InstanceRole::kShell;
  lr.system = true;
  lr.tier = "aot";
  lr.stdin_data = policy.empty() ? std::string(" ") : policy;
  lr.launched_by = "runtime";
  ELASTOS_ASSIGN_OR_RETURN(InstanceInfo info, instances_->Launch(std::move(lr)));
  {
    std::lock_guard<std::mutex> lock(shell_mu_);
    shell_id_ = info.id;
  }
  // A restarted shell must see the requests its predecessor took but never answered.
  runtime_->decisions().Redeliver();
  return OkStatus();
}

void Daemon::OnInstanceExit(const InstanceInfo& info) {
  if (info.role != InstanceRole::kShell || down_) return;
  {
    std::lock_guard<std::mutex> lock(shell_mu_);
    if (info.id != shell_id_) return;
    shell_id_.clear();
    // A shell that keeps dying is not restarted forever: after 5 restarts within a minute the
    // runtime carries on without one (requests then expire: deny by default).
    const std::int64_t now = runtime_->NowUnix();
    std::erase_if(shell_restarts_, [&](std::int64_t t) { return t < now - 60; });
    if (shell_restarts_.size() >= 5) {
      std::fprintf(stderr, "elastos: the shell keeps exiting; not restarting it again\n");
      return;
    }
    shell_restarts_.push_back(now);
  }
  // Not on this thread: it is the exiting shell's supervisor, which StopAll joins.
  std::thread previous;
  {
    std::lock_guard<std::mutex> lock(shell_mu_);
    previous = std::move(shell_restarter_);
  }
  if (previous.joinable()) previous.join();  // long done: its shell ran and exited since
  std::lock_guard<std::mutex> lock(shell_mu_);
  shell_restarter_ = std::thread([this] {
    if (Status s = LaunchShell(); !s.ok()) {
      std::fprintf(stderr, "elastos: could not restart the shell: %s\n", s.ToString().c_str());
    }
  });
}

Status Daemon::Shutdown() {
  if (down_) return OkStatus();
  down_ = true;
  // Wake every long wait (decisions, prompts) first, so the API's handlers return and Stop does
  // not wait out their timeouts.
  if (runtime_) {
    runtime_->decisions().Close();
    runtime_->prompts().Close();
  }
  std::thread restarter;
  {
    std::lock_guard<std::mutex> lock(shell_mu_);
    restarter = std::move(shell_restarter_);
  }
  if (restarter.joinable()) restarter.join();
  {
    std::lock_guard<std::mutex> lock(sweeper_mu_);
    sweeper_stop_ = true;
  }
  sweeper_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  // Capsules first, then the shell, then the providers they used (InstanceManager's order).
  if (instances_) instances_->StopAll();
  if (localhost_) localhost_->Stop();
  if (server_) server_->Stop();
  std::error_code ec;
  fs::remove(options_.data_dir / "runtime.json", ec);
  return runtime_ ? runtime_->Close() : OkStatus();
}

int ServeForeground(const DaemonOptions& options) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and the
  // signals wait for sigwait below instead of killing the process mid-write.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (!IsLoopback(options.host)) {
    std::fprintf(stderr,
                 "elastos: warning: listening on %s without TLS: anyone who can reach this address "
                 "can try to attach, and sessions travel in clear text. Prefer 127.0.0.1.\n",
                 options.host.c_str());
  }
  Result<std::unique_ptr<Daemon>> d = Daemon::Start(options);
  if (!d.ok()) {
    std::fprintf(stderr, "elastos: error: %s\n", d.status().ToString().c_str());
    return 1;
  }
  std::printf("elastos %s serving %s (data dir %s)\n", std::string(kVersion).c_str(),
              (*d)->api_url().c_str(), options.data_dir.c_str());
  std::printf("attach with the secret in %s\n", (options.data_dir / "runtime.json").c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "elastos: %s received, shutting down\n", strsignal(sig));
  if (Status s = (*d)->Shutdown(); !s.ok()) {
    std::fprintf(stderr, "elastos: error during shutdown: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace elastos::server
