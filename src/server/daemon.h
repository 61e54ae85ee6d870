// Daemon: a running runtime — the kernel (Runtime), its HTTP API, and runtime.json, which tells
// local clients where the API is and proves they may attach (DESIGN.md §6).
//
// runtime.json (0600, written atomically once the API listens; removed on shutdown):
//   {"api_url":"http://127.0.0.1:PORT","attach_secret":"<43 base64url chars>","pid":N,
//    "version":"0.1.0","data_dir":"…"}
// Anyone who can read it can act as the local user towards the runtime — which is why it is
// owner-only, and why the API listens on loopback unless told otherwise. A stale file left by a
// killed daemon is harmless: its pid is dead and its port closed; the next daemon overwrites it.
//
// `elastos serve` runs one in the foreground until SIGTERM/SIGINT; `elastos run` starts one
// embedded for its own duration when none is running.
//
// Thread-safety: Start and Shutdown from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <thread>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>
#include <string>

#include "common/status.h"
#include "runtime/runtime.h"
#include "server/api.h"
#include "server/capsule_bridge.h"
#include "server/catalog.h"
#include "server/content_service.h"
#include "server/instances.h"
#include "server/namespace_service.h"
#include "server/provider_pool.h"
#include "server/http/http_server.h"

namespace elastos::server {

struct DaemonOptions {
  std::filesystem::path data_dir;
  std::string host = "127.0.0.1";
  std::uint16_t port = 7420;  // 0: any free port (runtime.json says which)
  unsigned handler_threads = 16;
  // The shell capsule's directory (capsule.json + module). Empty: `capsules/shell` beside the
  // executable's directory (the build tree and the install layout both put it there). Without a
  // shell nobody decides, so every capability request expires unanswered.
  std::filesystem::path shell_dir;
  std::filesystem::path trust_file;  // default DATA_DIR/trust
  // The localhost provider's capsule directory; empty: `capsules/localhost-provider` beside the
  // executable's directory. Without it, localhost:// answers provider_unavailable.
  std::filesystem::path localhost_provider_dir;
  std::size_t provider_instances = 2;
  // localhost:// roots whose files the runtime seals with AES-256-GCM (namespace_service.h);
  // the key is DATA_DIR/keys/storage.key, created on first use.
  std::vector<std::string> sealed_roots;
  // Extra trust anchors (PEM) for https:// fetches, besides the system's.
  std::filesystem::path fetch_ca_file;
};

// What runtime.json says.
struct RuntimeInfoFile {
  std::string api_url;
  std::string attach_secret;
  std::int64_t pid = 0;
  std::string version;
};

// Reads DATA_DIR/runtime.json. not_found/`runtime_not_running` when absent.
Result<RuntimeInfoFile> ReadRuntimeInfo(const std::filesystem::path& data_dir);

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon();  // Shutdown()s

  // Stops the API, ends every session, checkpoints and closes the audit log, removes
  // runtime.json. Idempotent; returns the first failure.
  [[nodiscard]] Status Shutdown();

  const std::string& api_url() const { return api_url_; }
  const std::string& attach_secret() const { return ctx_.attach_secret; }
  runtime::Runtime& runtime() { return *runtime_; }
  InstanceManager& instances() { return *instances_; }
  CapsuleCatalog& catalog() { return *catalog_; }
  // The running shell's instance id ("" when none runs).
  std::string shell_instance() const;
  std::uint16_t port() const { return server_->port(); }

 private:
  Daemon() = default;
  Status LaunchShell();
  Status StartLocalhostProvider();
  void OnInstanceExit(const InstanceInfo& info);

  DaemonOptions options_;
  std::unique_ptr<runtime::Runtime> runtime_;
  std::unique_ptr<InstanceManager> instances_;
  std::unique_ptr<CapsuleCatalog> catalog_;
  std::unique_ptr<ProviderPool> localhost_;
  std::unique_ptr<ContentService> content_;  // before server_: outlives the routes using it
  std::unique_ptr<FetchProvider> fetch_;
  std::unique_ptr<NamespaceService> names_;
  std::unique_ptr<Lifecycle> lifecycle_;
  ApiContext ctx_;
  mutable std::mutex shell_mu_;
  std::string shell_id_;
  std::vector<std::int64_t> shell_restarts_;  // when the shell was restarted (crash loop guard)
  std::unique_ptr<http::HttpServer> server_;
  std::string api_url_;
  std::atomic<bool> down_{false};
  std::thread shell_restarter_;  // guarded by shell_mu_
  std::thread sweeper_;          // ends idle client sessions
  std::mutex sweeper_mu_;
  std::condition_variable sweeper_cv_;
  bool sweeper_stop_ = false;
};

// `elastos serve` in the foreground: Start, print where, wait for SIGTERM/SIGINT, Shutdown.
// Returns the process exit code.
int ServeForeground(const DaemonOptions& options);

}  // namespace elastos::server
