// The runtime's HTTP API (docs/api.md): routes over Runtime. Every route but `GET /api/health`
// needs a session (`Authorization: Bearer …`, from `POST /api/auth/attach` with the attach
// secret of runtime.json); authority comes from the session's kind, never from the request.
// Bodies are JSON objects read strictly: unknown members, wrong types and oversized values are
// 400s that name the member. Every refusal is a JSON error (`{"error":{code,reason,message}}`).
//
// Thread-safety: the router's handlers run concurrently; everything they share is Runtime's.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "runtime/runtime.h"
#include "server/http/http_server.h"

namespace elastos::server {

class InstanceManager;
class CapsuleCatalog;
class NamespaceService;

struct ApiContext {
  runtime::Runtime* runtime = nullptr;
  InstanceManager* instances = nullptr;  // capsule routes answer not_available without them
  CapsuleCatalog* catalog = nullptr;
  NamespaceService* names = nullptr;  // localhost routes answer provider_unavailable without it
  std::string attach_secret;  // compared in constant time
  std::string version;
  // Counters and gauges for GET /metrics, appended to the server's own (may be empty).
  std::function<std::string()> extra_metrics;
  std::function<http::ServerStats()> server_stats;
  std::shared_ptr<void> routes;  // set by AddApiRoutes: what the handlers refer to
};

// The session `Authorization: Bearer <token>` proves: the only credential a route looks at to
// know who calls. unauthenticated/`missing_session` or `invalid_session` otherwise.
Result<runtime::Caller> AuthenticateRequest(runtime::Runtime& rt, const http::Request& request);

// Adds every API route to `router`. `ctx` must outlive the server.
void AddApiRoutes(http::Router& router, ApiContext& ctx);

}  // namespace elastos::server
