#include "server/capsule_bridge.h"

#include <boost/json.hpp>
#include <chrono>
#include <initializer_list>
#include <optional>

#include "common/encoding.h"
#include "common/version.h"

namespace elastos::server {
namespace json = boost::json;
using compute::ErrorResponse;

namespace {

constexpr std::uint64_t kDecisionTimeoutMs = 30000;

// The members of one request, read strictly (docs/protocol.md §2 and §3).
class Members {
 public:
  Members(const json::object& o, std::string type) : o_(o), type_(std::move(type)) {}

  // Every member other than "type" must be in `allowed`.
  Status Only(std::initializer_list<std::string_view> allowed) const {
    for (const auto& kv : o_) {
      if (kv.key() == "type") continue;
      bool known = false;
      for (std::string_view a : allowed) known = known || kv.key() == a;
      if (!known) {
        return InvalidArgument("unknown_field", "'" + type_ + "' has no member '" +
                                                    std::string(kv.key()) + "'");
      }
    }
    return OkStatus();
  }
  Result<std::optional<std::string>> OptString(std::string_view key, std::size_t max = 4096) const {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string() || v->as_string().size() > max) {
      return Bad(key, "a string of at most " + std::to_string(max) + " bytes");
    }
    return std::optional<std::string>(std::string(v->as_string()));
  }
  Result<std::string> String(std::string_view key, std::size_t max = 4096) const {
    ELASTOS_ASSIGN_OR_RETURN(std::optional<std::string> s, OptString(key, max));
    if (!s) return Bad(key, "present (it is required)");
    return *s;
  }
  Result<std::optional<std::uint64_t>> OptUint(std::string_view key, std::uint64_t lo,
                                               std::uint64_t hi) const {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) return std::optional<std::uint64_t>();
    std::uint64_t n = 0;
    if (v->is_uint64()) {
      n = v->as_uint64();
    } else if (v->is_int64() && v->as_int64() >= 0) {
      n = static_cast<std::uint64_t>(v->as_int64());
    } else {
      return Bad(key, "an integer");
    }
    if (n < lo || n > hi) {
      return Bad(key, "between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return std::optional<std::uint64_t>(n);
  }
  const json::value* Get(std::string_view key) const { return o_.if_contains(key); }
  Status Bad(std::string_view key, const std::string& what) const {
    return InvalidArgument("bad_field", "'" + type_ + "." + std::string(key) + "' must be " + what);
  }

 private:
  const json::object& o_;
  std::string type_;
};

Result<Action> ActionMember(const Members& m, std::string_view key) {
  ELASTOS_ASSIGN_OR_RETURN(std::string name, m.String(key, 16));
  Result<Action> a = ParseAction(name);
  if (!a.ok()) {
    return InvalidArgument("unknown_action", "action must be read, write, execute, message, "
                                             "delete or admin, not '" + name + "'");
  }
  return a;
}


}  // namespace

json::object GrantedTokenJson(const runtime::GrantedToken& g) {
  json::object o;
  o["token"] = g.token;
  o["token_id"] = g.token_id;
  o["resource"] = g.resource;
  o["action"] = std::string(ActionName(g.action));
  o["delegatable"] = g.delegatable;
  if (g.expires_at) o["expires_at"] = *g.expires_at;
  if (g.max_uses) o["max_uses"] = *g.max_uses;
  return o;
}

Result<runtime::GrantConstraints> ParseCapabilityConstraints(const json::value* v) {
  runtime::GrantConstraints c;
  if (v == nullptr) return c;
  if (!v->is_object()) return InvalidArgument("bad_field", "'constraints' must be an object");
  Members inner(v->as_object(), "constraints");
  for (const auto& kv : v->as_object()) {
    const std::string_view k = kv.key();
    if (k != "max_uses" && k != "expires_in_s" && k != "expiry_secs" && k != "delegatable" &&
        k != "max_classification") {
      return InvalidArgument("unknown_field", "constraints has no member '" + std::string(k) + "'");
    }
  }
  ELASTOS_ASSIGN_OR_RETURN(auto uses, inner.OptUint("max_uses", 1, UINT32_MAX));
  ELASTOS_ASSIGN_OR_RETURN(auto expires, inner.OptUint("expires_in_s", 1, 10ull * 365 * 86400));
  ELASTOS_ASSIGN_OR_RETURN(auto expiry_alias, inner.OptUint("expiry_secs", 1, 10ull * 365 * 86400));
  ELASTOS_ASSIGN_OR_RETURN(auto level, inner.OptUint("max_classification", 0, 3));
  if (expires && expiry_alias) {
    return inner.Bad("expires_in_s", "given once (not also as expiry_secs)");
  }
  if (uses) c.max_uses = static_cast<std::uint32_t>(*uses);
  c.expires_in_s = expires ? expires : expiry_alias;
  if (level) c.max_classification = static_cast<runtime::Classification>(*level);
  if (const json::value* d = inner.Get("delegatable")) {
    if (!d->is_bool()) return inner.Bad("delegatable", "true or false");
    c.delegatable = d->as_bool();
  }
  return c;
}

namespace {

// A bytes member: standard base64, or (the reference's form) an array of integers 0 … 255.
Result<Bytes> BytesMember(const Members& m, std::string_view key) {
  const json::value* v = m.Get(key);
  if (v == nullptr) return m.Bad(key, "present (it is required)");
  if (v->is_string()) {
    Result<Bytes> b = Base64Decode(v->as_string());
    if (!b.ok()) return m.Bad(key, "standard base64");
    return b;
  }
  if (v->is_array()) {
    Bytes out;
    for (const json::value& e : v->as_array()) {
      if (!e.is_int64() || e.as_int64() < 0 || e.as_int64() > 255) {
        return m.Bad(key, "base64, or an array of integers 0 … 255");
      }
      out.push_back(static_cast<std::uint8_t>(e.as_int64()));
    }
    return out;
  }
  return m.Bad(key, "base64");
}

json::object TokenResponse(const std::string& type, const runtime::GrantedToken& g) {
  json::object o = GrantedTokenJson(g);
  o["type"] = type;
  return o;
}

}  // namespace

CapsuleBridge::CapsuleBridge(runtime::Runtime& rt, runtime::Caller caller, NamespaceService* ns,
                             Lifecycle* lifecycle)
    : rt_(rt), caller_(std::move(caller)), ns_(ns), lifecycle_(lifecycle) {}

void CapsuleBridge::Close() {
  closed_.store(true);
  rt_.decisions().WakeAll();
  rt_.prompts().WakeAll();
}

json::object CapsuleBridge::Handle(const json::object& request) {
  const std::string type(request.at("type").as_string());
  const Members m(request, type);
  auto fail = [](const Status& s) { return ErrorResponse(s); };

  if (type == "ping") {
    if (Status s = m.Only({}); !s.ok()) return fail(s);
    return {{"type", "pong"}};
  }
  if (type == "get_runtime_info") {
    if (Status s = m.Only({}); !s.ok()) return fail(s);
    json::object o{{"type", "runtime_info"},
                   {"version", kVersion},
                   {"protocol", kProtocolVersion},
                   {"capsule_id", caller_.session.instance_id},
                   {"capsule_name", caller_.session.owner}};
    return o;
  }
  if (type == "request_capability") {
    if (Status s = m.Only({"resource", "action", "reason"}); !s.ok()) return fail(s);
    Result<std::string> resource = m.String("resource");
    if (!resource.ok()) return fail(resource.status());
    Result<Action> action = ActionMember(m, "action");
    if (!action.ok()) return fail(action.status());
    Result<std::optional<std::string>> reason = m.OptString("reason", 256);
    if (!reason.ok()) return fail(reason.status());
    Result<runtime::PendingRequest> p =
        rt_.RequestCapability(caller_, *resource, *action, reason->value_or(""));
    if (!p.ok()) return fail(p.status());
    Result<runtime::DecisionOutcome> out =
        rt_.RequestStatus(caller_, p->id, std::chrono::milliseconds(kDecisionTimeoutMs));
    if (!out.ok()) return fail(out.status());
    switch (out->state) {
      case runtime::DecisionState::kGranted: {
        Result<runtime::Token> t = runtime::Token::FromWire(out->token);
        if (!t.ok()) return fail(t.status());
        return TokenResponse("capability_token", runtime::GrantedToken::Of(*t));
      }
      case runtime::DecisionState::kDenied:
        return fail(PermissionDenied("denied", "the shell denied " + *resource + ": " + out->reason));
      case runtime::DecisionState::kPending:
      case runtime::DecisionState::kExpired:
        return fail(Unavailable("decision_timeout", "no decision on " + *resource + " within " +
                                                        std::to_string(kDecisionTimeoutMs / 1000) +
                                                        " s"));
      case runtime::DecisionState::kCancelled:
        break;
    }
    return fail(Unavailable("decision_cancelled", out->reason));
  }

  if (type == "resource_request" || type == "storage_read" || type == "storage_write") {
    // The reference's storage_read/storage_write are resource_request spelled differently
    // (docs/protocol.md §7).
    json::object extra;
    std::string op, uri, token;
    const bool legacy = type != "resource_request";
    for (const auto& kv : request) {
      const std::string_view k = kv.key();
      if (k == "type") continue;
      if (k == (legacy ? "path" : "uri") || k == "op" || k == "action" || k == "token") {
        if (!kv.value().is_string() || kv.value().as_string().size() > 4096) {
          return fail(m.Bad(k, "a string of at most 4096 bytes"));
        }
        const std::string v(kv.value().as_string());
        if (k == "token") {
          token = v;
        } else if (k == "op" || (k == "action" && !legacy)) {
          if (!op.empty()) return fail(m.Bad(k, "given once (op, or the reference's action)"));
          op = v;
        } else if (k == "action") {
          return fail(InvalidArgument("unknown_field", "'" + type + "' has no member 'action'"));
        } else {
          uri = v;
        }
      } else if (k == "params" && !legacy && kv.value().is_object()) {
        for (const auto& p : kv.value().as_object()) {
          if (extra.contains(p.key()) || request.contains(p.key())) {
            return fail(m.Bad(p.key(), "given once (at the top level or in params)"));
          }
          extra[p.key()] = p.value();
        }
      } else if (k == "content" || k == "append" || k == "offset" || k == "length" ||
                 k == "recursive" || k == "parents") {
        extra[k] = kv.value();
      } else {
        return fail(InvalidArgument("unknown_field", "'" + type + "' has no member '" +
                                                         std::string(k) + "'"));
      }
    }
    if (legacy) op = type == "storage_read" ? "read" : "write";
    if (uri.empty()) return fail(m.Bad(legacy ? "path" : "uri", "present (it is required)"));
    if (op.empty()) return fail(m.Bad("op", "present (it is required)"));
    // Bytes may come as the reference's arrays of numbers: the provider speaks base64 only.
    if (json::value* c = extra.if_contains("content"); c != nullptr && c->is_array()) {
      std::string bytes;
      for (const json::value& b : c->as_array()) {
        if (!b.is_int64() || b.as_int64() < 0 || b.as_int64() > 255) {
          return fail(m.Bad("content", "base64, or an array of integers 0 … 255"));
        }
        bytes.push_back(static_cast<char>(b.as_int64()));
      }
      *c = json::string(Base64Encode(AsBytes(bytes)));
    }
    if (ns_ == nullptr) {
      return fail(Unavailable("provider_unavailable", "no namespace provider is running"));
    }
    Result<json::object> out = ns_->Perform(caller_, op, uri, token, extra);
    if (!out.ok()) return fail(out.status());
    return *out;
  }

  if (type == "send_message") {
    if (Status s = m.Only({"to", "payload", "reply_to", "token"}); !s.ok()) return fail(s);
    Result<std::string> to = m.String("to", 256);
    Result<std::optional<std::string>> token = m.OptString("token");
    Result<std::optional<std::uint64_t>> reply_to = m.OptUint("reply_to", 1, (1ull << 53) - 1);
    if (!to.ok()) return fail(to.status());
    if (!token.ok()) return fail(token.status());
    if (!reply_to.ok()) return fail(reply_to.status());
    Result<Bytes> payload = BytesMember(m, "payload");
    if (!payload.ok()) return fail(payload.status());
    Result<std::uint64_t> id =
        rt_.SendMessage(caller_, *to, std::move(*payload), *reply_to, token->value_or(""));
    if (!id.ok()) return fail(id.status());
    return {{"type", "message_sent"}, {"message_id", *id}};
  }
  if (type == "receive_messages") {
    if (Status s = m.Only({"max", "wait_ms"}); !s.ok()) return fail(s);
    Result<std::optional<std::uint64_t>> max = m.OptUint("max", 1, 256);
    Result<std::optional<std::uint64_t>> wait = m.OptUint("wait_ms", 0, 30000);
    if (!max.ok()) return fail(max.status());
    if (!wait.ok()) return fail(wait.status());
    Result<std::vector<runtime::Message>> got = rt_.ReceiveMessages(
        caller_, max->value_or(64), std::chrono::milliseconds(wait->value_or(0)));
    if (!got.ok()) return fail(got.status());
    json::array list;
    for (const runtime::Message& msg : *got) {
      json::object o{{"id", msg.id},
                     {"from", msg.from},
                     {"from_name", msg.from_name},
                     {"payload", Base64Encode(msg.payload)},
                     {"timestamp", msg.timestamp}};
      if (msg.reply_to) o["reply_to"] = *msg.reply_to;
      list.push_back(std::move(o));
    }
    return {{"type", "messages"}, {"messages", std::move(list)}};
  }
  if (type == "delegate_capability") {
    if (Status s = m.Only({"token", "to", "resource", "constraints"}); !s.ok()) return fail(s);
    Result<std::string> token = m.String("token");
    Result<std::string> to = m.String("to", 256);
    Result<std::optional<std::string>> resource = m.OptString("resource");
    if (!token.ok()) return fail(token.status());
    if (!to.ok()) return fail(to.status());
    if (!resource.ok()) return fail(resource.status());
    Result<runtime::GrantConstraints> constraints = ParseCapabilityConstraints(m.Get("constraints"));
    if (!constraints.ok()) return fail(constraints.status());
    Result<runtime::GrantedToken> g = rt_.Delegate(caller_, *token, *to, *resource, *constraints);
    if (!g.ok()) return fail(g.status());
    return TokenResponse("capability_token", *g);
  }

  // --- shell only (Runtime checks the session kind; the bridge only parses)
  if (type == "list_capsules" || type == "launch_capsule" || type == "stop_capsule") {
    if (!caller_.is_shell()) {
      return fail(PermissionDenied("shell_only", type + " is reserved for the shell"));
    }
    if (lifecycle_ == nullptr) {
      return fail(Unavailable("not_available", "this runtime does not manage capsules"));
    }
    if (type == "list_capsules") {
      if (Status s = m.Only({}); !s.ok()) return fail(s);
      return lifecycle_->List();
    }
    if (type == "stop_capsule") {
      if (Status s = m.Only({"capsule_id"}); !s.ok()) return fail(s);
      Result<std::string> id = m.String("capsule_id", 256);
      if (!id.ok()) return fail(id.status());
      if (Status s = lifecycle_->Stop(caller_, *id); !s.ok()) return fail(s);
      return {{"type", "ok"}};
    }
    if (Status s = m.Only({"cid", "name", "config"}); !s.ok()) return fail(s);
    Result<std::optional<std::string>> cid = m.OptString("cid", 256);
    Result<std::optional<std::string>> name = m.OptString("name", 256);
    if (!cid.ok()) return fail(cid.status());
    if (!name.ok()) return fail(name.status());
    if (cid->has_value() == name->has_value()) return fail(m.Bad("name", "given, or cid, but not both"));
    std::vector<std::string> args;
    if (const json::value* config = m.Get("config")) {
      if (!config->is_object()) return fail(m.Bad("config", "an object"));
      for (const auto& kv : config->as_object()) {
        if (kv.key() != "args") {
          return fail(Unavailable("not_available", "launch_capsule.config." + std::string(kv.key()) +
                                                       " is not supported by this runtime yet"));
        }
        if (!kv.value().is_array() || kv.value().as_array().size() > 256) {
          return fail(m.Bad("config.args", "an array of at most 256 strings"));
        }
        for (const json::value& a : kv.value().as_array()) {
          if (!a.is_string()) return fail(m.Bad("config.args", "an array of strings"));
          args.emplace_back(a.as_string());
        }
      }
    }
    Result<std::pair<std::string, std::string>> launched =
        lifecycle_->Launch(caller_, *name ? **name : **cid, std::move(args));
    if (!launched.ok()) return fail(launched.status());
    return {{"type", "capsule_launched"}, {"capsule_id", launched->first}, {"name", launched->second}};
  }
  if (type == "next_decision") {
    if (Status s = m.Only({"wait_ms"}); !s.ok()) return fail(s);
    Result<std::optional<std::uint64_t>> wait = m.OptUint("wait_ms", 0, 30000);
    if (!wait.ok()) return fail(wait.status());
    if (!caller_.is_shell()) {
      return fail(PermissionDenied("shell_only", "next_decision is reserved for the shell"));
    }
    std::optional<runtime::PendingRequest> p =
        rt_.decisions().Next(std::chrono::milliseconds(wait->value_or(0)), &closed_);
    if (!p) return {{"type", "no_decision"}};
    json::object o{{"type", "decision"},
                   {"request_id", p->id},
                   {"capsule_id", p->holder},
                   {"capsule_name", p->holder_name},
                   {"actor", p->agent ? "agent" : "human"},
                   {"resource", p->resource},
                   {"action", std::string(ActionName(p->action))},
                   {"requested_at", p->requested_at},
                   {"expires_at", p->expires_at}};
    if (!p->reason.empty()) o["reason"] = p->reason;
    return o;
  }
  if (type == "grant_capability") {
    if (Status s = m.Only({"request_id", "capsule_id", "resource", "action", "duration",
                           "constraints"});
        !s.ok()) {
      return fail(s);
    }
    Result<std::optional<std::string>> id = m.OptString("request_id", 64);
    Result<std::optional<std::string>> duration_name = m.OptString("duration", 16);
    if (!id.ok()) return fail(id.status());
    if (!duration_name.ok()) return fail(duration_name.status());
    Result<runtime::GrantDuration> duration =
        runtime::ParseGrantDuration(duration_name->value_or("session"));
    if (!duration.ok()) return fail(m.Bad("duration", "once, session or always"));
    Result<runtime::GrantConstraints> constraints = ParseCapabilityConstraints(m.Get("constraints"));
    if (!constraints.ok()) return fail(constraints.status());
    const bool direct = m.Get("capsule_id") || m.Get("resource") || m.Get("action");
    if (id->has_value() == direct) {
      return fail(m.Bad("request_id", "given alone, or replaced by capsule_id + resource + action"));
    }
    auto grant = [&]() -> Result<runtime::GrantedToken> {
      if (*id) return rt_.Grant(caller_, **id, *duration, *constraints, "");
      ELASTOS_ASSIGN_OR_RETURN(std::string holder, m.String("capsule_id", 256));
      ELASTOS_ASSIGN_OR_RETURN(std::string resource, m.String("resource"));
      ELASTOS_ASSIGN_OR_RETURN(Action action, ActionMember(m, "action"));
      return rt_.GrantDirect(caller_, holder, resource, action, *duration, *constraints);
    };
    Result<runtime::GrantedToken> g = grant();
    if (!g.ok()) return fail(g.status());
    json::object o{{"type", "capability_granted"}, {"token_id", g->token_id}, {"token", g->token}};
    if (*id) o["request_id"] = **id;
    return o;
  }
  if (type == "deny_capability") {
    if (Status s = m.Only({"request_id", "reason"}); !s.ok()) return fail(s);
    Result<std::string> id = m.String("request_id", 64);
    Result<std::optional<std::string>> reason = m.OptString("reason", 256);
    if (!id.ok()) return fail(id.status());
    if (!reason.ok()) return fail(reason.status());
    if (Status s = rt_.Deny(caller_, *id, reason->value_or("")); !s.ok()) return fail(s);
    return {{"type", "ok"}};
  }
  if (type == "ask_user") {
    if (Status s = m.Only({"request_id", "timeout_ms"}); !s.ok()) return fail(s);
    Result<std::string> id = m.String("request_id", 64);
    Result<std::optional<std::uint64_t>> timeout = m.OptUint("timeout_ms", 1, 120000);
    if (!id.ok()) return fail(id.status());
    if (!timeout.ok()) return fail(timeout.status());
    Result<runtime::PromptAnswer> a =
        rt_.AskUser(caller_, *id, std::chrono::milliseconds(timeout->value_or(60000)), &closed_);
    if (!a.ok()) return fail(a.status());
    return {{"type", "user_answer"},
            {"answer", a->allow ? "allow" : "deny"},
            {"duration", std::string(runtime::GrantDurationName(a->duration))}};
  }
  if (type == "revoke_capability") {
    if (Status s = m.Only({"token_id"}); !s.ok()) return fail(s);
    Result<std::string> id = m.String("token_id", 64);
    if (!id.ok()) return fail(id.status());
    if (!caller_.is_shell()) {
      return fail(PermissionDenied("shell_only", "revoke_capability is reserved for the shell"));
    }
    if (Status s = rt_.Revoke(caller_, *id, "revoked by the shell"); !s.ok()) return fail(s);
    return {{"type", "revoked"}, {"count", 1}};
  }
  if (type == "revoke_all") {
    if (Status s = m.Only({"capsule_id"}); !s.ok()) return fail(s);
    Result<std::optional<std::string>> holder = m.OptString("capsule_id", 256);
    if (!holder.ok()) return fail(holder.status());
    if (!caller_.is_shell()) {
      return fail(PermissionDenied("shell_only", "revoke_all is reserved for the shell"));
    }
    if (*holder) {
      Result<std::size_t> n = rt_.RevokeHolder(caller_, **holder, "revoked by the shell");
      if (!n.ok()) return fail(n.status());
      return {{"type", "revoked"}, {"count", *n}};
    }
    Result<std::uint64_t> epoch = rt_.RevokeAll(caller_, "revoke_all by the shell");
    if (!epoch.ok()) return fail(epoch.status());
    return {{"type", "revoked"}, {"epoch", *epoch}};
  }

  if (type == "fetch_content") {
    if (Status s = m.Only({"uri", "token", "offset", "length"}); !s.ok()) return fail(s);
    Result<std::string> uri = m.String("uri");
    Result<std::optional<std::string>> token = m.OptString("token");
    Result<std::optional<std::uint64_t>> offset = m.OptUint("offset", 0, 1ull << 53);
    Result<std::optional<std::uint64_t>> length = m.OptUint("length", 1, kMaxResourceChunk);
    if (!uri.ok()) return fail(uri.status());
    if (!token.ok()) return fail(token.status());
    if (!offset.ok()) return fail(offset.status());
    if (!length.ok()) return fail(length.status());
    if (ns_ == nullptr) return fail(Unavailable("not_available", "this runtime has no content store"));
    Result<json::object> out = ns_->FetchContent(caller_, *uri, token->value_or(""),
                                                 offset->value_or(0), length->value_or(kMaxResourceChunk));
    if (!out.ok()) return fail(out.status());
    return *out;
  }
  return fail(InvalidArgument("unknown_request", "unknown request type '" + type + "'"));
}

}  // namespace elastos::server
