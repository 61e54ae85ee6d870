// CapsuleBridge: the runtime's answer to one capsule instance's carrier requests
// (docs/protocol.md §5) — the capsule-side twin of the HTTP API, over the same Runtime.
//
// A bridge is bound to one instance's session when the instance starts; the caller of every
// request is that session, whatever the request says. Requests are read strictly: a member the
// request type does not define is `unknown_field`, a missing or mistyped one `bad_field`.
// Shell-only requests from anyone else are `permission_denied`/`shell_only` (Runtime enforces it;
// the bridge never decides authority itself).
//
// Requests that need parts not wired yet (content) answer `unavailable`/`not_available`.
//
// Thread-safety: one bridge serves one carrier, whose requests arrive strictly in order.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <vector>
#include <string>

#include "compute/carrier.h"
#include "runtime/runtime.h"
#include "server/namespace_service.h"

namespace elastos::server {

// What the shell may do to capsules through its carrier: implemented by the daemon over the
// instance manager and the catalog.
class Lifecycle {
 public:
  virtual ~Lifecycle() = default;
  // {"type":"capsule_list","capsules":[…]} per docs/protocol.md §5.2.
  virtual boost::json::object List() = 0;
  // Launches an installed capsule (by name or CID) with its dependencies first.
  virtual Result<std::pair<std::string, std::string>> Launch(const runtime::Caller& by,
                                                             std::string_view name_or_cid,
                                                             std::vector<std::string> args) = 0;
  virtual Status Stop(const runtime::Caller& by, std::string_view instance_id) = 0;
};

// A CapabilityConstraints object (docs/protocol.md §5.1; also the HTTP API's `constraints`):
// absent (null) is no constraints. Errors: invalid_argument/`unknown_field`, `bad_field`.
Result<runtime::GrantConstraints> ParseCapabilityConstraints(const boost::json::value* v);

// A granted token as the wire and the API describe it (docs/protocol.md `capability_token`
// members, without `type`).
boost::json::object GrantedTokenJson(const runtime::GrantedToken& g);

class CapsuleBridge final : public compute::RequestHandler {
 public:
  // `ns` may be null (resource requests then answer provider_unavailable); `lifecycle` may be
  // null (the shell's list/launch/stop requests then answer not_available).
  CapsuleBridge(runtime::Runtime& rt, runtime::Caller caller, NamespaceService* ns = nullptr,
                Lifecycle* lifecycle = nullptr);

  boost::json::object Handle(const boost::json::object& request) override;
  // The instance is gone: a request blocked in a long wait (next_decision, ask_user) returns at
  // once. Safe from any thread.
  void Close();

 private:
  std::atomic<bool> closed_{false};
  runtime::Runtime& rt_;
  runtime::Caller caller_;
  NamespaceService* ns_;
  Lifecycle* lifecycle_;
};

}  // namespace elastos::server
