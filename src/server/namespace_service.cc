#include "server/namespace_service.h"

#include <boost/json.hpp>

#include "runtime/capability/resource.h"

namespace elastos::server {
namespace json = boost::json;

namespace {

constexpr std::string_view kLocalhost = "localhost://";

struct OpInfo {
  std::string_view name;
  Action action;
  std::initializer_list<std::string_view> members;
};

const OpInfo* FindOp(std::string_view op) {
  static const OpInfo kOps[] = {
      {"read", Action::kRead, {"offset", "length"}},
      {"list", Action::kRead, {}},
      {"stat", Action::kRead, {}},
      {"exists", Action::kRead, {}},
      {"write", Action::kWrite, {"content", "append"}},
      {"mkdir", Action::kWrite, {"parents"}},
      {"delete", Action::kDelete, {"recursive"}},
  };
  for (const OpInfo& o : kOps) {
    if (o.name == op) return &o;
  }
  return nullptr;
}

}  // namespace

NamespaceService::NamespaceService(runtime::Runtime& rt, ProviderPool* localhost)
    : rt_(rt), localhost_(localhost) {}

Result<json::object> NamespaceService::Perform(const runtime::Caller& caller, std::string_view op,
                                               std::string_view uri, std::string_view token,
                                               const json::object& members) {
  const OpInfo* info = FindOp(op);
  if (info == nullptr) {
    return InvalidArgument("bad_field", "op must be read, write, list, stat, delete, mkdir or "
                                        "exists, not '" + std::string(op) + "'");
  }
  for (const auto& kv : members) {
    bool known = false;
    for (std::string_view m : info->members) known = known || kv.key() == m;
    if (!known) {
      return InvalidArgument("bad_field", "'" + std::string(kv.key()) + "' does not apply to " +
                                              std::string(op));
    }
  }
  Result<std::string> canonical = runtime::NormalizeResource(uri);
  if (!canonical.ok()) return InvalidArgument("bad_uri", canonical.status().message());
  if (canonical->rfind(kLocalhost, 0) != 0) {
    return NotFound("no_provider", "no provider serves " + *canonical +
                                       " (this runtime serves localhost:// resources)");
  }
  const std::string path = canonical->substr(kLocalhost.size());
  const std::string root = path.substr(0, path.find('/'));
  const runtime::Classification level =
      root == "Public" ? runtime::Classification::kPublic : runtime::Classification::kPrivate;
  if (token.empty()) {
    return Unauthenticated("missing_token", std::string(op) + " of " + *canonical +
                                                " needs a capability token with action " +
                                                std::string(ActionName(info->action)));
  }
  ELASTOS_RETURN_IF_ERROR(rt_.Access(caller, token, info->action, *canonical, level));
  if (localhost_ == nullptr) {
    return Unavailable("provider_unavailable", "the localhost provider is not running");
  }
  json::object request = members;
  request["type"] = "provider_request";
  request["op"] = std::string(op);
  request["path"] = path;
  ELASTOS_ASSIGN_OR_RETURN(json::object response, localhost_->Call(request));
  const json::value& type = response.at("type");
  if (type == "error") {
    auto word = [&](const char* k) {
      const json::value* v = response.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    // The provider's error, with the canonical code it named (anything else is internal).
    const std::string code = word("code");
    Code c = Code::kInternal;
    for (Code candidate : {Code::kInvalidArgument, Code::kNotFound, Code::kPermissionDenied,
                           Code::kUnauthenticated, Code::kResourceExhausted,
                           Code::kFailedPrecondition, Code::kUnavailable}) {
      if (CodeName(candidate) == code) c = candidate;
    }
    return Status(c, word("reason").empty() ? "provider_error" : word("reason"),
                  "provider: " + word("message"));
  }
  if (type != "resource_response") {
    return Unavailable("provider_unavailable", "the provider answered with an unexpected type");
  }
  return response;
}

}  // namespace elastos::server
