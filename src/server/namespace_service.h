// NamespaceService: one operation on a namespace resource, for any caller — the path both the
// HTTP API (`/api/localhost/…`) and the capsule bridge (`resource_request`) take, so the checks
// cannot differ between them:
//
//   1. the URI is parsed and normalised (resource.h refuses `..`, encoded separators and dots,
//      backslashes and control characters outright);
//   2. the operation names the action the token must carry — read/list/stat/exists → read,
//      write/mkdir → write, delete → delete — never the token's own action (the reference's
//      provider proxy trusted the token's action);
//   3. the resource's classification comes from its root (`Public` 0, everything else 2), and the
//      token is validated with all 12 checks (a use is consumed only when all pass);
//   4. the provider serving the root gets the normalised path — never the token or the caller.
//
// Routing: `localhost://<root>/…` goes to the localhost provider pool. Other schemes answer
// not_found/`no_provider` for now.
//
// Thread-safety: Perform may be called concurrently.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "runtime/runtime.h"
#include "server/provider_pool.h"

namespace elastos::server {

inline constexpr std::size_t kMaxResourceChunk = 512 << 10;  // docs/protocol.md resource_request

class NamespaceService {
 public:
  NamespaceService(runtime::Runtime& rt, ProviderPool* localhost);

  // `members`: the op's extra members as docs/protocol.md §5.1 defines them (content, append,
  // offset, length, recursive, parents); anything else is unknown_field. Returns the
  // `resource_response` object (type, op and the op's members).
  Result<boost::json::object> Perform(const runtime::Caller& caller, std::string_view op,
                                      std::string_view uri, std::string_view token,
                                      const boost::json::object& members);

 private:
  runtime::Runtime& rt_;
  ProviderPool* localhost_;
};

}  // namespace elastos::server
