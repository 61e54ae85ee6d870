#include "server/api.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <initializer_list>
#include <optional>
#include <sstream>

#include "common/encoding.h"
#include "common/file_util.h"
#include "runtime/audit/verify.h"
#include "runtime/capability/resource.h"
#include "server/capsule_bridge.h"
#include "server/catalog.h"
#include "server/instances.h"
#include "server/namespace_service.h"

namespace elastos::server {
namespace json = boost::json;
using http::Request;
using http::Response;
using runtime::Caller;

namespace {

constexpr std::uint64_t kMaxWaitMs = 30000;
constexpr std::size_t kMaxCapsuleUpload = 256 << 20;
constexpr std::uint64_t kMaxLogChunk = 1 << 20;
constexpr std::size_t kMaxString = 4096;

Response JsonOk(const json::value& v, int status = 200) {
  return Response::Json(status, json::serialize(v));
}

Response Fail(const Status& s) { return http::ErrorResponse(s); }

// A request body read strictly: a JSON object whose members are all in `allowed`.
class Body {
 public:
  static Result<Body> Parse(const std::string& text, std::initializer_list<std::string_view> allowed) {
    Body b;
    if (text.empty()) return b;
    json::parse_options opts;
    opts.max_depth = 16;
    std::error_code ec;
    json::value v = json::parse(text, ec, {}, opts);
    if (ec) return InvalidArgument("malformed_json", "the body is not valid JSON: " + ec.message());
    if (!v.is_object()) return InvalidArgument("malformed_json", "the body must be a JSON object");
    b.obj_ = std::move(v.as_object());
    for (const auto& kv : b.obj_) {
      bool known = false;
      for (std::string_view a : allowed) known = known || kv.key() == a;
      if (!known) {
        return InvalidArgument("unknown_field",
                               "unknown member '" + std::string(kv.key()) + "' in the body");
      }
    }
    return b;
  }

  Result<std::optional<std::string>> OptString(std::string_view key, std::size_t max = kMaxString) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string() || v->as_string().size() > max) {
      return InvalidArgument("bad_field", "'" + std::string(key) + "' must be a string of at most " +
                                              std::to_string(max) + " bytes");
    }
    return std::optional<std::string>(std::string(v->as_string()));
  }
  Result<std::string> String(std::string_view key, std::size_t max = kMaxString) const {
    ELASTOS_ASSIGN_OR_RETURN(std::optional<std::string> s, OptString(key, max));
    if (!s) return InvalidArgument("bad_field", "'" + std::string(key) + "' is required");
    return *s;
  }
  Result<std::optional<std::uint64_t>> OptUint(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::optional<std::uint64_t>();
    if (v->is_uint64()) return std::optional<std::uint64_t>(v->as_uint64());
    if (v->is_int64() && v->as_int64() >= 0) {
      return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v->as_int64()));
    }
    return InvalidArgument("bad_field", "'" + std::string(key) + "' must be a non-negative integer");
  }
  Result<std::optional<bool>> OptBool(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return std::optional<bool>();
    if (!v->is_bool()) return InvalidArgument("bad_field", "'" + std::string(key) + "' must be true or false");
    return std::optional<bool>(v->as_bool());
  }
  const json::value* Get(std::string_view key) const { return obj_.if_contains(key); }
  bool Has(std::string_view key) const { return obj_.contains(key); }
  // An optional array of at most `max` strings (absent: empty).
  Result<std::vector<std::string>> StringList(std::string_view key, std::size_t max) const {
    std::vector<std::string> out;
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) return out;
    if (!v->is_array() || v->as_array().size() > max) {
      return InvalidArgument("bad_field", "'" + std::string(key) + "' must be an array of at most " +
                                              std::to_string(max) + " strings");
    }
    for (const json::value& e : v->as_array()) {
      if (!e.is_string() || e.as_string().size() > kMaxString) {
        return InvalidArgument("bad_field", "'" + std::string(key) + "' must hold strings");
      }
      out.emplace_back(e.as_string());
    }
    return out;
  }

 private:
  json::object obj_;
};

Result<Action> ParseActionField(const std::string& name) {
  Result<Action> a = ParseAction(name);
  if (!a.ok()) {
    return InvalidArgument("unknown_action", "action must be read, write, execute, message, "
                                             "delete or admin, not '" + name + "'");
  }
  return a;
}


// Long polls hold a handler thread each. At most kMaxLongPolls wait at once, and at most
// kMaxLongPollsPerSession of one session, so quick requests always find a free thread and one
// client cannot take every slot; the rest are answered at once, as if wait_ms were 0.
constexpr int kMaxLongPolls = 8;
constexpr int kMaxLongPollsPerSession = 2;

class LongPoll {
 public:
  LongPoll(const std::string& session, std::chrono::milliseconds wanted) : session_(session) {
    if (wanted.count() <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    int& mine = per_session_[session_];
    if (total_ < kMaxLongPolls && mine < kMaxLongPollsPerSession) {
      ++total_;
      ++mine;
      held_ = true;
      wait_ = wanted;
    } else if (mine == 0) {
      per_session_.erase(session_);
    }
  }
  ~LongPoll() {
    if (!held_) return;
    std::lock_guard<std::mutex> lock(mu_);
    --total_;
    if (--per_session_[session_] == 0) per_session_.erase(session_);
  }
  std::chrono::milliseconds wait() const { return wait_; }

 private:
  static inline std::mutex mu_;
  static inline int total_ = 0;
  static inline std::map<std::string, int> per_session_;
  std::string session_;
  bool held_ = false;
  std::chrono::milliseconds wait_{0};
};

std::chrono::milliseconds WaitParam(const Request& req) {
  std::optional<std::string> w = req.Query("wait_ms");
  if (!w) return std::chrono::milliseconds(0);
  std::uint64_t ms = 0;
  for (char ch : *w) {
    if (ch < '0' || ch > '9' || ms > kMaxWaitMs) return std::chrono::milliseconds(0);
    ms = ms * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return std::chrono::milliseconds(std::min(ms, kMaxWaitMs));
}

json::object SessionJson(const runtime::Session& s, std::size_t tokens) {
  json::object o;
  o["session_id"] = s.id;
  o["session_type"] = std::string(runtime::SessionKindName(s.kind));
  o["owner"] = s.owner;
  o["agent"] = s.agent;
  if (!s.instance_id.empty()) o["capsule_id"] = s.instance_id;
  o["capabilities_count"] = tokens;
  o["created_at"] = s.created_unix;
  o["last_active"] = s.last_active_unix;
  return o;
}

json::object PendingJson(const runtime::PendingRequest& p) {
  json::object o;
  o["request_id"] = p.id;
  o["holder"] = p.holder;
  o["holder_name"] = p.holder_name;
  o["session_id"] = p.session;
  o["actor"] = p.agent ? "agent" : "human";
  o["resource"] = p.resource;
  o["action"] = std::string(ActionName(p.action));
  if (!p.reason.empty()) o["reason"] = p.reason;
  o["requested_at"] = p.requested_at;
  o["expires_at"] = p.expires_at;
  return o;
}

// The routes, with the authentication step in front of every authenticated one.
class Api {
 public:
  explicit Api(ApiContext& ctx) : ctx_(ctx), rt_(*ctx.runtime) {}

  void Register(http::Router& r) {
    r.Add("GET", "/api/health", [this](Request&) { return Health(); });
    r.Add("POST", "/api/auth/attach", [this](Request& q) { return Attach(q); }, {16 << 10});
    Authed(r, "GET", "/api/session", &Api::GetSession);
    Authed(r, "DELETE", "/api/session", &Api::EndSession);
    Authed(r, "POST", "/api/capability/request", &Api::RequestCapability);
    Authed(r, "GET", "/api/capability/request/{id}", &Api::RequestStatus);
    Authed(r, "GET", "/api/capability/list", &Api::ListCapabilities);
    Authed(r, "GET", "/api/capability/pending", &Api::Pending);
    Authed(r, "POST", "/api/capability/grant", &Api::Grant);
    Authed(r, "POST", "/api/capability/deny", &Api::Deny);
    Authed(r, "POST", "/api/capability/revoke-all", &Api::RevokeAll);
    Authed(r, "DELETE", "/api/capability/{id}", &Api::Revoke);
    Authed(r, "GET", "/api/prompts", &Api::Prompts);
    Authed(r, "POST", "/api/prompts/{id}", &Api::AnswerPrompt);
    Authed(r, "GET", "/api/audit", &Api::AuditTail);
    Authed(r, "GET", "/api/audit/verify", &Api::AuditVerify);
    Authed(r, "GET", "/api/audit/proof/{index}", &Api::AuditProof);
    Authed(r, "GET", "/metrics", &Api::Metrics);
    Authed(r, "GET", "/api/capsules", &Api::ListCapsules);
    Authed(r, "POST", "/api/capsules", &Api::InstallCapsule, {kMaxCapsuleUpload});
    Authed(r, "POST", "/api/capsules/{name}/launch", &Api::LaunchCapsule);
    Authed(r, "GET", "/api/instances", &Api::ListInstances);
    Authed(r, "GET", "/api/instances/{id}", &Api::GetInstance);
    Authed(r, "POST", "/api/instances/{id}/stop", &Api::StopInstance);
    Authed(r, "GET", "/api/instances/{id}/wait", &Api::WaitInstance);
    Authed(r, "GET", "/api/instances/{id}/logs", &Api::InstanceLogs);
    for (const char* verb : {"GET", "HEAD", "PUT", "POST", "DELETE"}) {
      Authed(r, verb, "/api/localhost/{*path}", &Api::Localhost, {kMaxResourceChunk});
    }
  }

 private:
  using Method = Response (Api::*)(const Caller&, Request&);

  void Authed(http::Router& r, std::string_view verb, std::string_view path, Method m,
              http::RouteOptions options = {}) {
    r.Add(verb, path, [this, m](Request& q) {
      Result<Caller> caller = Authenticate(q);
      if (!caller.ok()) return Fail(caller.status());
      return (this->*m)(*caller, q);
    }, options);
  }

  Result<Caller> Authenticate(const Request& q) { return AuthenticateRequest(rt_, q); }

  Response Health() {
    json::object o;
    o["status"] = "ok";
    o["version"] = ctx_.version;
    return JsonOk(o);
  }

  Response Attach(Request& q) {
    Result<Body> body = Body::Parse(q.body, {"secret", "owner", "agent"});
    if (!body.ok()) return Fail(body.status());
    Result<std::string> secret = body->String("secret", 256);
    Result<std::optional<std::string>> owner = body->OptString("owner", 64);
    Result<std::optional<bool>> agent = body->OptBool("agent");
    if (!secret.ok()) return Fail(secret.status());
    if (!owner.ok()) return Fail(owner.status());
    if (!agent.ok()) return Fail(agent.status());
    // Constant time: the comparison must not tell an attacker how many leading bytes were right.
    const bool match = secret->size() == ctx_.attach_secret.size() &&
                       sodium_memcmp(secret->data(), ctx_.attach_secret.data(), secret->size()) == 0;
    if (!match) {
      audit::AuditRecord r;
      r.type = "session_refused";
      r.outcome = "denied";
      r.reason = "bad_attach_secret";
      r.details["peer"] = q.peer;
      rt_.Audit(std::move(r), true).IgnoreError();
      return Fail(PermissionDenied("bad_attach_secret", "the attach secret is wrong (it is in "
                                                        "runtime.json in the data directory)"));
    }
    Result<runtime::NewSession> s = rt_.StartSession(
        runtime::SessionKind::kClient, "", owner->value_or("client"), agent->value_or(false));
    if (!s.ok()) return Fail(s.status());
    json::object o;
    o["token"] = s->bearer;
    o["session_id"] = s->session.id;
    o["session_type"] = "client";
    return JsonOk(o);
  }

  Response GetSession(const Caller& c, Request&) {
    Result<std::vector<runtime::IssuedToken>> held = rt_.Held(c);
    return JsonOk(SessionJson(c.session, held.ok() ? held->size() : 0));
  }

  Response EndSession(const Caller& c, Request&) {
    if (Status s = rt_.EndSession(c.session.id, "ended by its client"); !s.ok()) return Fail(s);
    return JsonOk(json::object{{"ended", true}});
  }

  Response RequestCapability(const Caller& c, Request& q) {
    Result<Body> body = Body::Parse(q.body, {"resource", "action", "reason"});
    if (!body.ok()) return Fail(body.status());
    Result<std::string> resource = body->String("resource");
    Result<std::string> action_name = body->String("action", 16);
    Result<std::optional<std::string>> reason = body->OptString("reason", 256);
    if (!resource.ok()) return Fail(resource.status());
    if (!action_name.ok()) return Fail(action_name.status());
    if (!reason.ok()) return Fail(reason.status());
    Result<Action> action = ParseActionField(*action_name);
    if (!action.ok()) return Fail(action.status());
    Result<runtime::PendingRequest> p =
        rt_.RequestCapability(c, *resource, *action, reason->value_or(""));
    if (!p.ok()) return Fail(p.status());
    json::object o;
    o["status"] = "pending";
    o["request_id"] = p->id;
    o["expires_at"] = p->expires_at;
    return JsonOk(o, 202);
  }

  Response RequestStatus(const Caller& c, Request& q) {
    LongPoll poll(c.session.id, WaitParam(q));
    Result<runtime::DecisionOutcome> out = rt_.RequestStatus(c, q.Param("id"), poll.wait());
    if (!out.ok()) return Fail(out.status());
    json::object o;
    o["request_id"] = std::string(q.Param("id"));
    o["status"] = std::string(runtime::DecisionStateName(out->state));
    if (out->state == runtime::DecisionState::kGranted) {
      o["token"] = out->token;
      o["token_id"] = out->token_id;
    } else if (!out->reason.empty()) {
      o["reason"] = out->reason;
    }
    return JsonOk(o);
  }

  Response ListCapabilities(const Caller& c, Request&) {
    Result<std::vector<runtime::IssuedToken>> held = rt_.Held(c);
    if (!held.ok()) return Fail(held.status());
    json::array list;
    for (const runtime::IssuedToken& t : *held) {
      json::object o;
      o["token_id"] = runtime::TokenIdHex(t.id);
      o["resource"] = t.resource;
      o["action"] = std::string(ActionName(t.action));
      o["issued_at"] = t.issued_unix;
      if (t.expiry_unix) o["expires_at"] = *t.expiry_unix;
      if (t.max_uses) {
        o["max_uses"] = *t.max_uses;
        o["uses"] = rt_.store().UseCount(t.id);
      }
      list.push_back(std::move(o));
    }
    return JsonOk(json::object{{"capabilities", std::move(list)}});
  }

  Response Pending(const Caller& c, Request&) {
    if (!c.is_shell()) return Fail(PermissionDenied("shell_only", "pending requests are the shell's to see"));
    json::array list;
    for (const runtime::PendingRequest& p : rt_.decisions().Pending()) list.push_back(PendingJson(p));
    return JsonOk(json::object{{"requests", std::move(list)}});
  }

  Response Grant(const Caller& c, Request& q) {
    Result<Body> body = Body::Parse(q.body, {"request_id", "duration", "constraints", "rationale"});
    if (!body.ok()) return Fail(body.status());
    Result<std::string> id = body->String("request_id", 64);
    Result<std::optional<std::string>> duration = body->OptString("duration", 16);
    Result<std::optional<std::string>> rationale = body->OptString("rationale", 256);
    if (!id.ok()) return Fail(id.status());
    if (!duration.ok()) return Fail(duration.status());
    if (!rationale.ok()) return Fail(rationale.status());
    Result<runtime::GrantDuration> d = runtime::ParseGrantDuration(duration->value_or("session"));
    if (!d.ok()) return Fail(d.status());
    Result<runtime::GrantConstraints> cons = ParseCapabilityConstraints(body->Get("constraints"));
    if (!cons.ok()) return Fail(cons.status());
    Result<runtime::GrantedToken> g = rt_.Grant(c, *id, *d, *cons, rationale->value_or(""));
    if (!g.ok()) return Fail(g.status());
    json::object o = GrantedTokenJson(*g);
    o["request_id"] = *id;
    return JsonOk(o);
  }

  Response Deny(const Caller& c, Request& q) {
    Result<Body> body = Body::Parse(q.body, {"request_id", "reason"});
    if (!body.ok()) return Fail(body.status());
    Result<std::string> id = body->String("request_id", 64);
    Result<std::optional<std::string>> reason = body->OptString("reason", 256);
    if (!id.ok()) return Fail(id.status());
    if (!reason.ok()) return Fail(reason.status());
    if (Status s = rt_.Deny(c, *id, reason->value_or("")); !s.ok()) return Fail(s);
    return JsonOk(json::object{{"request_id", *id}, {"status", "denied"}});
  }

  Response Revoke(const Caller& c, Request& q) {
    if (Status s = rt_.Revoke(c, q.Param("id"), "revoked through the API"); !s.ok()) return Fail(s);
    return JsonOk(json::object{{"revoked", std::string(q.Param("id"))}});
  }

  Response RevokeAll(const Caller& c, Request& q) {
    Result<Body> body = Body::Parse(q.body, {"reason", "holder"});
    if (!body.ok()) return Fail(body.status());
    Result<std::optional<std::string>> reason = body->OptString("reason", 256);
    Result<std::optional<std::string>> holder = body->OptString("holder", 256);
    if (!reason.ok()) return Fail(reason.status());
    if (!holder.ok()) return Fail(holder.status());
    if (*holder) {
      Result<std::size_t> n = rt_.RevokeHolder(c, **holder, reason->value_or(""));
      if (!n.ok()) return Fail(n.status());
      return JsonOk(json::object{{"holder", **holder}, {"count", *n}});
    }
    Result<std::uint64_t> epoch = rt_.RevokeAll(c, reason->value_or(""));
    if (!epoch.ok()) return Fail(epoch.status());
    return JsonOk(json::object{{"new_epoch", *epoch}});
  }

  Response Prompts(const Caller& c, Request& q) {
    if (c.session.kind != runtime::SessionKind::kClient || c.session.agent) {
      return Fail(PermissionDenied("humans_only", "prompts are for a person's client session"));
    }
    std::vector<std::string> seen;
    if (std::optional<std::string> s = q.Query("seen")) {
      std::stringstream in(*s);
      std::string id;
      while (std::getline(in, id, ',') && seen.size() < 256) seen.push_back(id);
    }
    json::array list;
    LongPoll poll(c.session.id, WaitParam(q));
    for (const runtime::Prompt& p : rt_.prompts().Watch(c.session.id, poll.wait(), seen)) {
      json::object o = PendingJson(p.request);
      o["prompt_id"] = p.id;
      o["asked_at"] = p.asked_at;
      o["prompt_expires_at"] = p.expires_at;
      list.push_back(std::move(o));
    }
    return JsonOk(json::object{{"prompts", std::move(list)}});
  }

  Response AnswerPrompt(const Caller& c, Request& q) {
    Result<Body> body = Body::Parse(q.body, {"answer", "duration"});
    if (!body.ok()) return Fail(body.status());
    Result<std::string> answer = body->String("answer", 16);
    Result<std::optional<std::string>> duration = body->OptString("duration", 16);
    if (!answer.ok()) return Fail(answer.status());
    if (!duration.ok()) return Fail(duration.status());
    if (*answer != "allow" && *answer != "deny") {
      return Fail(InvalidArgument("bad_field", "'answer' must be allow or deny"));
    }
    Result<runtime::GrantDuration> d = runtime::ParseGrantDuration(duration->value_or("session"));
    if (!d.ok()) return Fail(d.status());
    if (Status s = rt_.AnswerPrompt(c, q.Param("id"), *answer == "allow", *d); !s.ok()) return Fail(s);
    return JsonOk(json::object{{"prompt_id", std::string(q.Param("id"))}, {"answer", *answer}});
  }

  // The audit trail is the operator's and the shell's to read (it names every capsule's
  // activity); capsules and agents may not.
  Status AuditReader(const Caller& c) {
    if (c.is_shell_or_operator()) return OkStatus();
    return PermissionDenied("operator_only", "the audit trail is for the shell and the operator");
  }

  Response AuditTail(const Caller& c, Request& q) {
    if (Status s = AuditReader(c); !s.ok()) return Fail(s);
    std::uint64_t limit = 100;
    if (std::optional<std::string> l = q.Query("limit")) {
      limit = 0;
      for (char ch : *l) {
        if (ch < '0' || ch > '9' || limit > 10000) return Fail(InvalidArgument("bad_field", "limit must be 1 … 10000"));
        limit = limit * 10 + static_cast<std::uint64_t>(ch - '0');
      }
      if (limit == 0 || limit > 10000) return Fail(InvalidArgument("bad_field", "limit must be 1 … 10000"));
    }
    const std::optional<std::string> type = q.Query("type");
    if (Status f = rt_.audit_log().Flush(); !f.ok()) return Fail(f);
    Result<audit::TailResult> tail =
        audit::ReadTail(rt_.env(), rt_.data_dir() / "audit", type ? 10000 : limit);
    if (!tail.ok()) return Fail(tail.status());
    json::array records;
    for (const audit::StoredRecord& s : tail->records) {
      std::error_code ec;
      json::value v = json::parse(s.json, ec);
      if (ec || !v.is_object()) continue;
      if (type) {
        const json::value* t = v.as_object().if_contains("type");
        if (t == nullptr || !t->is_string() || t->as_string() != *type) continue;
      }
      v.as_object()["index"] = s.index;
      records.push_back(std::move(v));
    }
    while (records.size() > limit) records.erase(records.begin());
    json::object o;
    o["total"] = tail->total;
    o["records"] = std::move(records);
    return JsonOk(o);
  }

  Response AuditVerify(const Caller& c, Request&) {
    if (Status s = AuditReader(c); !s.ok()) return Fail(s);
    if (Status f = rt_.audit_log().WriteCheckpoint(); !f.ok()) return Fail(f);
    Result<audit::VerifyReport> r = audit::VerifyLog(rt_.env(), rt_.data_dir() / "audit",
                                                     rt_.audit_log().state().key);
    if (!r.ok()) return Fail(r.status());
    json::object o;
    o["ok"] = r->ok();
    o["records"] = r->records;
    o["checkpoints"] = r->checkpoints;
    o["checkpointed"] = r->checkpointed;
    o["uncovered_tail"] = r->uncovered_tail;
    if (r->latest) o["latest_checkpoint"] = r->latest_note;
    if (r->problem) o["problem"] = r->problem->ToString();
    return JsonOk(o);
  }

  Response AuditProof(const Caller& c, Request& q) {
    if (Status s = AuditReader(c); !s.ok()) return Fail(s);
    std::uint64_t index = 0;
    const std::string_view text = q.Param("index");
    if (text.empty() || text.size() > 19) return Fail(InvalidArgument("bad_field", "index must be a record number"));
    for (char ch : text) {
      if (ch < '0' || ch > '9') return Fail(InvalidArgument("bad_field", "index must be a record number"));
      index = index * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    if (Status f = rt_.audit_log().WriteCheckpoint(); !f.ok()) return Fail(f);
    Result<audit::RecordProof> p = rt_.audit_log().Prove(index);
    if (!p.ok()) return Fail(p.status());
    json::object o;
    o["index"] = index;
    o["record"] = p->record;
    o["checkpoint"] = p->checkpoint_note;
    json::array path;
    for (const auto& h : p->proof.path) path.push_back(json::string(Base64Encode(h)));
    o["proof"] = std::move(path);
    o["tree_size"] = p->checkpoint.size;
    return JsonOk(o);
  }

  Response Metrics(const Caller&, Request&) {
    std::string out;
    out += "# HELP elastos_up 1 while the runtime serves.\n# TYPE elastos_up gauge\nelastos_up 1\n";
    const audit::LogState st = rt_.audit_log().state();
    out += "# HELP elastos_audit_records Durable audit records.\n# TYPE elastos_audit_records gauge\n";
    out += "elastos_audit_records " + std::to_string(st.size) + "\n";
    out += "# HELP elastos_capability_epoch Current capability epoch.\n# TYPE elastos_capability_epoch gauge\n";
    out += "elastos_capability_epoch " + std::to_string(rt_.store().epoch()) + "\n";
    out += "# HELP elastos_sessions Live sessions.\n# TYPE elastos_sessions gauge\n";
    out += "elastos_sessions " + std::to_string(rt_.sessions().List().size()) + "\n";
    out += "# HELP elastos_pending_requests Capability requests waiting for a decision.\n"
           "# TYPE elastos_pending_requests gauge\n";
    out += "elastos_pending_requests " + std::to_string(rt_.decisions().Pending().size()) + "\n";
    if (ctx_.server_stats) {
      const http::ServerStats s = ctx_.server_stats();
      out += "# HELP elastos_http_connections_open Open HTTP connections.\n"
             "# TYPE elastos_http_connections_open gauge\n";
      out += "elastos_http_connections_open " + std::to_string(s.connections_open) + "\n";
      out += "# HELP elastos_http_responses_total HTTP responses by route, method and status.\n"
             "# TYPE elastos_http_responses_total counter\n";
      for (const auto& [key, n] : s.responses) {
        const auto& [route, method, status] = key;
        out += "elastos_http_responses_total{route=" + http::JsonQuote(route) + ",method=\"" +
               method + "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
      }
    }
    if (ctx_.extra_metrics) out += ctx_.extra_metrics();
    return Response::Text(200, std::move(out), "text/plain; version=0.0.4");
  }

  // --- capsules: installing and launching is the operator's and the shell's, not capsules'.
  Status Operator(const Caller& c, std::string_view what) {
    if (c.is_shell_or_operator()) return OkStatus();
    return PermissionDenied("operator_only", std::string(what) + " is for the shell and the operator");
  }
  Status Capsules() {
    if (ctx_.instances == nullptr || ctx_.catalog == nullptr) {
      return Unavailable("not_available", "this runtime was started without capsule support");
    }
    return OkStatus();
  }

  static json::object InstanceJson(const InstanceInfo& i) {
    json::object o;
    o["id"] = i.id;
    o["name"] = i.name;
    o["version"] = i.version;
    o["type"] = i.type;
    o["role"] = std::string(InstanceRoleName(i.role));
    o["status"] = std::string(InstanceStatusName(i.status));
    o["reference"] = i.reference;
    o["started_at"] = i.started_at;
    if (i.exit) {
      o["exit_code"] = i.exit->exit_code;
      static constexpr const char* kOutcome[] = {"exited", "limit", "refused", "trap"};
      o["outcome"] = kOutcome[static_cast<int>(i.exit->outcome.kind)];
      if (!i.exit->outcome.reason.empty()) o["reason"] = i.exit->outcome.reason;
    }
    return o;
  }

  Response ListCapsules(const Caller& c, Request&) {
    if (Status s = Capsules(); !s.ok()) return Fail(s);
    json::array installed;
    for (const InstalledCapsule& ic : ctx_.catalog->List()) {
      installed.push_back(json::object{{"name", ic.name},      {"version", ic.version},
                                       {"cid", ic.cid},        {"signer", ic.signer},
                                       {"type", ic.type},      {"installed_at", ic.installed_at}});
    }
    json::array running;
    // Capsules see only themselves: a list of neighbours is information they were not granted.
    for (const InstanceInfo& i : ctx_.instances->List()) {
      if (c.is_shell_or_operator() || i.id == c.session.instance_id) running.push_back(InstanceJson(i));
    }
    return JsonOk(json::object{{"capsules", std::move(installed)}, {"instances", std::move(running)}});
  }

  Response InstallCapsule(const Caller& c, Request& q) {
    if (Status s = Capsules(); !s.ok()) return Fail(s);
    if (Status s = Operator(c, "installing capsules"); !s.ok()) return Fail(s);
    if (q.body.empty()) return Fail(InvalidArgument("empty_body", "send the .capsule file as the body"));
    // The upload goes to a private temporary file: verification reads a file, and nothing of an
    // unverified upload may be kept.
    const std::filesystem::path tmp_dir = rt_.data_dir() / "tmp";
    std::error_code ec;
    std::filesystem::create_directories(tmp_dir, ec);
    std::string tmpl = (tmp_dir / "upload-XXXXXX").string();
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return Fail(IoError("create upload file in " + tmp_dir.string(), errno));
    Status written = WriteAll(fd, AsBytes(q.body), tmpl);
    ::close(fd);
    Result<InstalledCapsule> ic = written.ok() ? ctx_.catalog->Install(tmpl, rt_.NowUnix())
                                               : Result<InstalledCapsule>(written);
    ::unlink(tmpl.c_str());
    audit::AuditRecord r;
    r.type = "capsule_install";
    r.actor = c.holder();
    r.actor_kind = c.actor_kind();
    r.action = "admin";
    if (!ic.ok()) {
      r.outcome = "denied";
      r.reason = ic.status().reason();
      r.details["message"] = ic.status().message();
      if (Status a = rt_.Audit(std::move(r), true); !a.ok()) return Fail(a);
      return Fail(ic.status());
    }
    r.subject = ic->cid;
    r.resource = ic->cid;
    r.details["name"] = ic->name;
    r.details["version"] = ic->version;
    r.details["signer"] = ic->signer;
    if (Status a = rt_.Audit(std::move(r), true); !a.ok()) return Fail(a);
    return JsonOk(json::object{{"name", ic->name}, {"version", ic->version}, {"cid", ic->cid},
                               {"signer", ic->signer}}, 201);
  }

  Response LaunchCapsule(const Caller& c, Request& q) {
    if (Status s = Capsules(); !s.ok()) return Fail(s);
    if (Status s = Operator(c, "launching capsules"); !s.ok()) return Fail(s);
    Result<Body> body = Body::Parse(q.body, {"args"});
    if (!body.ok()) return Fail(body.status());
    Result<std::vector<std::string>> args = body->StringList("args", 256);
    if (!args.ok()) return Fail(args.status());
    Result<std::vector<InstanceInfo>> started =
        LaunchWithDependencies(*ctx_.instances, *ctx_.catalog, q.Param("name"), *args, c);
    if (!started.ok()) return Fail(started.status());
    json::array launched;
    for (const InstanceInfo& i : *started) launched.push_back(InstanceJson(i));
    json::object o = launched.back().as_object();
    o["launched"] = std::move(launched);
    return JsonOk(o, 201);
  }

  Result<InstanceInfo> VisibleInstance(const Caller& c, std::string_view id) {
    ELASTOS_RETURN_IF_ERROR(Capsules());
    std::optional<InstanceInfo> i = ctx_.instances->Get(id);
    if (!i || (!c.is_shell_or_operator() && i->id != c.session.instance_id)) {
      return NotFound("no_such_capsule", "no capsule instance " + std::string(id));
    }
    return *i;
  }

  Response ListInstances(const Caller& c, Request&) {
    if (Status s = Capsules(); !s.ok()) return Fail(s);
    json::array list;
    for (const InstanceInfo& i : ctx_.instances->List()) {
      if (c.is_shell_or_operator() || i.id == c.session.instance_id) list.push_back(InstanceJson(i));
    }
    return JsonOk(json::object{{"instances", std::move(list)}});
  }

  Response GetInstance(const Caller& c, Request& q) {
    Result<InstanceInfo> i = VisibleInstance(c, q.Param("id"));
    if (!i.ok()) return Fail(i.status());
    return JsonOk(InstanceJson(*i));
  }

  Response StopInstance(const Caller& c, Request& q) {
    if (Status s = Operator(c, "stopping capsules"); !s.ok()) return Fail(s);
    Result<InstanceInfo> i = VisibleInstance(c, q.Param("id"));
    if (!i.ok()) return Fail(i.status());
    if (Status s = ctx_.instances->Stop(i->id, c.holder()); !s.ok()) return Fail(s);
    std::optional<InstanceInfo> after = ctx_.instances->Get(i->id);
    return JsonOk(InstanceJson(after ? *after : *i));
  }

  Response WaitInstance(const Caller& c, Request& q) {
    Result<InstanceInfo> i = VisibleInstance(c, q.Param("id"));
    if (!i.ok()) return Fail(i.status());
    LongPoll poll(c.session.id, WaitParam(q));
    Result<InstanceInfo> done = ctx_.instances->Wait(i->id, poll.wait());
    if (!done.ok()) return Fail(done.status());
    return JsonOk(InstanceJson(*done));
  }

  Response InstanceLogs(const Caller& c, Request& q) {
    Result<InstanceInfo> i = VisibleInstance(c, q.Param("id"));
    if (!i.ok()) return Fail(i.status());
    const std::string stream = q.Query("stream").value_or("stdout");
    if (stream != "stdout" && stream != "stderr") {
      return Fail(InvalidArgument("bad_field", "stream must be stdout or stderr"));
    }
    std::uint64_t offset = 0;
    if (std::optional<std::string> o = q.Query("offset")) {
      for (char ch : *o) {
        if (ch < '0' || ch > '9' || offset > (1ull << 50)) return Fail(InvalidArgument("bad_field", "offset must be a byte offset"));
        offset = offset * 10 + static_cast<std::uint64_t>(ch - '0');
      }
    }
    const std::filesystem::path& log = stream == "stdout" ? i->stdout_log : i->stderr_log;
    std::string chunk;
    const int fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      chunk.resize(kMaxLogChunk);
      const ssize_t n = ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset));
      ::close(fd);
      chunk.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    Response r = Response::Text(200, std::move(chunk), "application/octet-stream");
    r.headers.emplace_back("X-Elastos-Offset", std::to_string(offset));
    r.headers.emplace_back("X-Elastos-Status", std::string(InstanceStatusName(i->status)));
    return r;
  }

  // --- localhost:// resources. The token travels in X-Capability-Token; the session says who
  // is calling, the token what they may do — both are needed, for everyone.
  Response Localhost(const Caller& c, Request& q) {
    if (ctx_.names == nullptr) {
      return Fail(Unavailable("provider_unavailable", "the localhost provider is not running"));
    }
    const std::string uri = "localhost://" + std::string(q.Param("path"));
    const std::string token(q.Header("X-Capability-Token").value_or(""));
    json::object members;
    std::string op;
    auto flag = [&](const char* name) { return q.Query(name).value_or("") == "true"; };
    if (q.method == "GET") {
      op = flag("list") ? "list" : flag("stat") ? "stat" : "read";
    } else if (q.method == "HEAD") {
      op = "stat";
    } else if (q.method == "PUT" || (q.method == "POST" && !flag("mkdir"))) {
      op = "write";
      members["content"] = Base64Encode(AsBytes(q.body));
      if (flag("append")) members["append"] = true;
    } else if (q.method == "POST") {
      op = "mkdir";
      if (flag("parents")) members["parents"] = true;
    } else {
      op = "delete";
      if (flag("recursive")) members["recursive"] = true;
    }
    if (op == "read") {
      // Whole files, in provider-sized pieces, up to the chunk cap per response: larger files
      // are read with ?offset= like the wire protocol's read.
      std::uint64_t offset = 0;
      if (std::optional<std::string> o = q.Query("offset")) {
        for (char ch : *o) {
          if (ch < '0' || ch > '9' || offset > (1ull << 50)) return Fail(InvalidArgument("bad_field", "offset must be a byte offset"));
          offset = offset * 10 + static_cast<std::uint64_t>(ch - '0');
        }
        members["offset"] = offset;
      }
    }
    Result<json::object> out = ctx_.names->Perform(c, op, uri, token, members);
    if (!out.ok()) return Fail(out.status());
    if (op == "read") {
      const json::value* data = out->if_contains("data");
      Result<Bytes> bytes = data != nullptr && data->is_string()
                                ? Base64Decode(data->as_string())
                                : Result<Bytes>(InvalidArgument("provider_error", "no data"));
      if (!bytes.ok()) return Fail(Unavailable("provider_unavailable", "the provider's data is not base64"));
      Response r = Response::Text(200, std::string(AsChars(*bytes)), "application/octet-stream");
      if (const json::value* size = out->if_contains("size")) {
        r.headers.emplace_back("X-Elastos-Size", json::serialize(*size));
      }
      if (const json::value* eof = out->if_contains("eof"); eof && eof->is_bool()) {
        r.headers.emplace_back("X-Elastos-Eof", eof->as_bool() ? "true" : "false");
      }
      return r;
    }
    if (q.method == "HEAD") {
      Response r = Response::Text(200, "", "application/json");
      if (const json::value* st = out->if_contains("stat"); st && st->is_object()) {
        const json::object& o = st->as_object();
        if (const json::value* d = o.if_contains("is_dir")) {
          r.headers.emplace_back("X-Entry-Type", d->is_bool() && d->as_bool() ? "directory" : "file");
        }
        if (const json::value* sz = o.if_contains("size")) r.headers.emplace_back("X-Size", json::serialize(*sz));
        if (const json::value* m = o.if_contains("modified")) r.headers.emplace_back("X-Modified", json::serialize(*m));
      }
      return r;
    }
    json::object body = std::move(*out);
    body.erase("type");
    body["uri"] = uri;
    return JsonOk(body);
  }

  ApiContext& ctx_;
  runtime::Runtime& rt_;
};

}  // namespace

Result<runtime::Caller> AuthenticateRequest(runtime::Runtime& rt, const http::Request& q) {
  std::optional<std::string_view> h = q.Header("Authorization");
  if (!h) {
    return Unauthenticated("missing_session", "this route needs a session: send "
                                              "'Authorization: Bearer <token>' (get one with "
                                              "POST /api/auth/attach)");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (h->size() <= kBearer.size() || h->substr(0, kBearer.size()) != kBearer) {
    return Unauthenticated("invalid_session", "the Authorization header must be 'Bearer <token>'");
  }
  std::optional<runtime::Session> s = rt.sessions().Authenticate(h->substr(kBearer.size()));
  if (!s) {
    return Unauthenticated("invalid_session", "the session token is unknown or has ended; "
                                              "attach again");
  }
  return Caller{*s};
}

void AddApiRoutes(http::Router& router, ApiContext& ctx) {
  // The Api object lives as long as the handlers that capture it: owned by a shared_ptr that
  // every route holds.
  auto api = std::make_shared<Api>(ctx);
  api->Register(router);
  ctx.routes = api;  // the handlers point into it
}

}  // namespace elastos::server
