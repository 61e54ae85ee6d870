// CapsuleBridge: the runtime's answer to one capsule instance's carrier requests
// (docs/protocol.md §5) — the capsule-side twin of the HTTP API, over the same Runtime.
//
// A bridge is bound to one instance's session when the instance starts; the caller of every
// request is that session, whatever the request says. Requests are read strictly: a member the
// request type does not define is `unknown_field`, a missing or mistyped one `bad_field`.
// Shell-only requests from anyone else are `permission_denied`/`shell_only` (Runtime enforces it;
// the bridge never decides authority itself).
//
// Requests that need parts not wired yet (content, messaging, delegation, lifecycle) answer
// `unavailable`/`not_available` naming what is missing.
//
// Thread-safety: one bridge serves one carrier, whose requests arrive strictly in order.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <string>

#include "compute/carrier.h"
#include "runtime/runtime.h"
#include "server/namespace_service.h"

namespace elastos::server {

class CapsuleBridge final : public compute::RequestHandler {
 public:
  // `ns` may be null (resource requests then answer provider_unavailable).
  CapsuleBridge(runtime::Runtime& rt, runtime::Caller caller, NamespaceService* ns = nullptr);

  boost::json::object Handle(const boost::json::object& request) override;
  // The instance is gone: a request blocked in a long wait (next_decision, ask_user) returns at
  // once. Safe from any thread.
  void Close();

 private:
  std::atomic<bool> closed_{false};
  runtime::Runtime& rt_;
  runtime::Caller caller_;
  NamespaceService* ns_;
};

}  // namespace elastos::server
