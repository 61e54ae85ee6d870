#include "runtime/runtime.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <set>

#include "identity/key_file.h"
#include "runtime/capability/resource.h"

namespace elastos::runtime {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxReasonBytes = 256;

audit::AuditRecord Record(std::string type, const Caller* caller) {
  audit::AuditRecord r;
  r.type = std::move(type);
  if (caller != nullptr) {
    r.actor = caller->holder();
    r.actor_kind = caller->actor_kind();
    r.details["session"] = caller->session.id;
  }
  return r;
}

}  // namespace

GrantedToken GrantedToken::Of(const Token& t) {
  GrantedToken out;
  out.token = t.ToWire();
  out.token_id = TokenIdHex(t.fields().id);
  out.resource = t.fields().resource;
  out.action = t.fields().action;
  out.delegatable = t.fields().delegatable;
  out.expires_at = t.fields().expiry_unix;
  out.max_uses = t.fields().max_uses;
  return out;
}

std::string Caller::holder() const {
  return session.kind == SessionKind::kClient ? session.id : session.instance_id;
}

std::string Caller::name() const { return session.owner; }

audit::ActorKind Caller::actor_kind() const {
  if (session.agent) return audit::ActorKind::kAgent;
  return session.kind == SessionKind::kClient ? audit::ActorKind::kHuman
                                              : audit::ActorKind::kCapsule;
}

Result<std::unique_ptr<Runtime>> Runtime::Open(const RuntimeOptions& options) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->data_dir_ = options.data_dir;
  rt->env_ = NewPosixEnv();
  Env& env = *rt->env_;
  ELASTOS_RETURN_IF_ERROR(env.CreateDirectories(options.data_dir, 0700));
  ELASTOS_RETURN_IF_ERROR(env.CreateDirectories(options.data_dir / "keys", 0700));

  // One runtime per data directory. flock, not the PID in runtime.json: the kernel drops the lock
  // when the holder dies, however it dies, so a kill -9 never leaves a stale lock behind.
  const fs::path lock_path = options.data_dir / "runtime.lock";
  rt->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (rt->lock_fd_ < 0) return IoError("open " + lock_path.string(), errno);
  if (::flock(rt->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Unavailable("runtime_running",
                       "another elastos runtime is already using " + options.data_dir.string() +
                           " (see its runtime.json); stop it first or pass another --data-dir");
  }

  ELASTOS_ASSIGN_OR_RETURN(rt->store_, CapabilityStore::Open(env, options.data_dir / "state.db"));
  ELASTOS_ASSIGN_OR_RETURN(rt->clock_, SecureClock::Open(env, options.data_dir / "clock"));
  ELASTOS_ASSIGN_OR_RETURN(
      crypto::Ed25519PrivateKey audit_key,
      identity::LoadOrCreatePrivateKey(env, options.data_dir / "keys" / "audit.key"));
  ELASTOS_ASSIGN_OR_RETURN(rt->audit_,
                           audit::AuditLog::Open(env, options.data_dir / "audit", audit_key));
  ELASTOS_ASSIGN_OR_RETURN(
      rt->manager_,
      CapabilityManager::Open({&env, rt->store_.get(), rt->clock_.get(), rt->audit_.get()},
                              options.data_dir / "keys" / "runtime.key"));
  Runtime* self = rt.get();
  auto now = [self] { return self->NowUnix(); };
  rt->sessions_ = std::make_unique<SessionRegistry>(*rt->store_, now);
  rt->decisions_ = std::make_unique<DecisionQueue>(now, options.decisions);
  rt->prompts_ = std::make_unique<PromptQueue>(now, options.prompt_presence);
  rt->messages_ = std::make_unique<MessageBus>();

  // Sessions do not survive a restart, so neither do grants tied to them: end every session the
  // store still knows as live (a crash skipped the orderly end).
  ELASTOS_ASSIGN_OR_RETURN(std::vector<IssuedToken> live, rt->store_->List(TokenFilter{}));
  std::set<std::string> stale;
  for (const IssuedToken& t : live) {
    if (!t.session.empty() && !rt->store_->IsSessionEnded(t.session)) stale.insert(t.session);
  }
  for (const std::string& s : stale) ELASTOS_RETURN_IF_ERROR(rt->store_->EndSession(s));

  audit::AuditRecord start = Record("runtime_start", nullptr);
  start.details["data_dir"] = options.data_dir.string();
  start.details["epoch"] = rt->store_->epoch();
  start.details["stale_sessions_ended"] = static_cast<std::uint64_t>(stale.size());
  ELASTOS_RETURN_IF_ERROR(rt->Audit(std::move(start), true));
  return rt;
}

Runtime::~Runtime() { Close().IgnoreError(); }

Status Runtime::Close() {
  if (closed_) return OkStatus();
  closed_ = true;
  Status status;
  if (decisions_) decisions_->Close();
  if (prompts_) prompts_->Close();
  if (sessions_) {
    for (const Session& s : sessions_->List()) {
      if (Status e = sessions_->End(s.id); !e.ok() && status.ok()) status = e;
    }
  }
  if (audit_) {
    audit::AuditRecord stop = Record("runtime_stop", nullptr);
    if (Status a = audit_->Append(stop).status(); !a.ok() && status.ok()) status = a;
    if (Status c = audit_->Close(); !c.ok() && status.ok()) status = c;
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  return status;
}

std::int64_t Runtime::NowUnix() const { return clock_->WallUnixSeconds(); }

Status Runtime::Audit(audit::AuditRecord record, bool durable) {
  if (durable) return audit_->Append(record).status();
  return audit_->AppendAsync(record);
}

Status Runtime::ShellOrOperator(const Caller& caller, std::string_view what) {
  // Revocation only ever removes authority, so the person operating the runtime may do it too
  // (a capsule or an agent may not: it could cut off its neighbours).
  if (caller.is_shell_or_operator()) return OkStatus();
  return PermissionDenied("shell_only", std::string(what) +
                                            " is reserved for the shell and the human operator");
}

Status Runtime::ShellOnly(const Caller& caller, std::string_view what) {
  if (caller.is_shell()) return OkStatus();
  return PermissionDenied("shell_only", std::string(what) +
                                            " is reserved for the shell (the policy capsule)");
}

Result<NewSession> Runtime::StartSession(SessionKind kind, std::string instance_id,
                                         std::string owner, bool agent) {
  ELASTOS_ASSIGN_OR_RETURN(NewSession s,
                           sessions_->Create(kind, std::move(instance_id), std::move(owner), agent));
  audit::AuditRecord r = Record("session_start", nullptr);
  r.subject = s.session.id;
  r.actor = s.session.kind == SessionKind::kClient ? s.session.id : s.session.instance_id;
  r.actor_kind = s.session.agent                           ? audit::ActorKind::kAgent
                 : s.session.kind == SessionKind::kClient ? audit::ActorKind::kHuman
                                                          : audit::ActorKind::kCapsule;
  r.details["kind"] = std::string(SessionKindName(kind));
  r.details["owner"] = s.session.owner;
  if (Status a = Audit(std::move(r), true); !a.ok()) {
    sessions_->End(s.session.id).IgnoreError();
    return a;
  }
  if (kind != SessionKind::kClient) messages_->Register(s.session.instance_id, s.session.owner);
  return s;
}

Status Runtime::EndSession(std::string_view session_id, std::string_view why) {
  std::optional<Session> s = sessions_->Get(session_id);
  if (s) decisions_->CancelHolder(s->kind == SessionKind::kClient ? s->id : s->instance_id, why);
  if (s && s->kind != SessionKind::kClient) messages_->Unregister(s->instance_id);
  ELASTOS_RETURN_IF_ERROR(sessions_->End(session_id));
  audit::AuditRecord r = Record("session_end", nullptr);
  r.subject = std::string(session_id);
  r.reason = std::string(why);
  return Audit(std::move(r), true);
}

Result<PendingRequest> Runtime::RequestCapability(const Caller& caller, std::string_view resource,
                                                  Action action, std::string_view reason) {
  audit::AuditRecord r = Record("capability_request", &caller);
  r.resource = std::string(resource.substr(0, 512));
  r.action = std::string(ActionName(action));
  Result<std::string> pattern = NormalizePattern(resource);
  Status refused;
  if (!pattern.ok()) {
    refused = pattern.status();
  } else if (reason.size() > kMaxReasonBytes) {
    refused = InvalidArgument("bad_field", "reason is longer than 256 bytes");
  }
  PendingRequest p;
  if (refused.ok()) {
    p.holder = caller.holder();
    p.holder_name = caller.name();
    p.session = caller.session.id;
    p.agent = caller.session.agent;
    p.resource = *pattern;
    p.action = action;
    p.reason = std::string(reason);
    Result<PendingRequest> queued = decisions_->Submit(std::move(p));
    if (queued.ok()) {
      p = *queued;
    } else {
      refused = queued.status();
    }
  }
  if (!refused.ok()) {
    r.outcome = "denied";
    r.reason = refused.reason();
    ELASTOS_RETURN_IF_ERROR(Audit(std::move(r), true));
    return refused;
  }
  r.subject = p.id;
  r.resource = p.resource;
  if (!p.reason.empty()) r.details["reason"] = p.reason;
  if (Status a = Audit(std::move(r), true); !a.ok()) {
    decisions_->Resolve(p.id, {DecisionState::kCancelled, "", "", "audit log unavailable", ""})
        .IgnoreError();
    return a;
  }
  return p;
}

Result<DecisionOutcome> Runtime::RequestStatus(const Caller& caller, std::string_view request_id,
                                               std::chrono::milliseconds wait) {
  std::optional<PendingRequest> p = decisions_->Get(request_id);
  if (!p) return NotFound("no_such_request", "no capability request " + std::string(request_id));
  if (p->holder != caller.holder() && !caller.is_shell()) {
    return PermissionDenied("not_your_request",
                            "capability request " + std::string(request_id) + " is not yours");
  }
  return decisions_->Wait(request_id, wait);
}

Result<GrantedToken> Runtime::IssueFor(const Caller& shell, const std::string& holder,
                                       const std::string& session, const std::string& resource,
                                       Action action, GrantDuration duration,
                                       const GrantConstraints& constraints) {
  GrantRequest g;
  g.holder = holder;
  g.session = session;
  g.resource = resource;
  g.action = action;
  g.delegatable = constraints.delegatable;
  g.max_classification = constraints.max_classification;
  g.max_uses = constraints.max_uses;
  if (duration == GrantDuration::kOnce) g.max_uses = 1;
  g.ttl_secs = constraints.expires_in_s;
  ELASTOS_ASSIGN_OR_RETURN(Token t,
                           manager_->Grant(g, Actor{shell.holder(), shell.actor_kind()}));
  return GrantedToken::Of(t);
}

Result<GrantedToken> Runtime::Grant(const Caller& shell, std::string_view request_id,
                                    GrantDuration duration, const GrantConstraints& constraints,
                                    std::string_view rationale) {
  ELASTOS_RETURN_IF_ERROR(ShellOnly(shell, "grant_capability"));
  std::optional<PendingRequest> p = decisions_->Get(request_id);
  std::optional<DecisionOutcome> state = decisions_->Outcome(request_id);
  if (!p || !state) {
    return NotFound("no_such_request", "no capability request " + std::string(request_id));
  }
  if (state->state != DecisionState::kPending) {
    return FailedPrecondition("already_decided",
                              "capability request " + std::string(request_id) + " is already " +
                                  std::string(DecisionStateName(state->state)));
  }
  if (p->holder == shell.holder()) {
    return PermissionDenied("self_grant", "the shell cannot grant capabilities to itself");
  }
  Result<GrantedToken> granted =
      IssueFor(shell, p->holder, p->session, p->resource, p->action, duration, constraints);
  audit::AuditRecord r = Record("capability_decision", &shell);
  r.subject = p->id;
  r.resource = p->resource;
  r.action = std::string(ActionName(p->action));
  r.details["holder"] = p->holder;
  r.details["decision"] = "grant";
  r.details["duration"] = std::string(GrantDurationName(duration));
  if (!rationale.empty()) r.details["rationale"] = std::string(rationale.substr(0, kMaxReasonBytes));
  if (!granted.ok()) {
    r.outcome = "error";
    r.reason = granted.status().reason();
    Audit(std::move(r), true).IgnoreError();
    return granted.status();
  }
  r.details["token"] = granted->token_id;
  ELASTOS_RETURN_IF_ERROR(Audit(std::move(r), true));
  DecisionOutcome outcome;
  outcome.state = DecisionState::kGranted;
  outcome.token = granted->token;
  outcome.token_id = granted->token_id;
  outcome.decided_by = shell.holder();
  if (Status s = decisions_->Resolve(request_id, outcome); !s.ok()) {
    // Lost a race with expiry or cancellation: the token must not outlive that.
    manager_->Revoke(*ParseTokenId(granted->token_id), "request no longer pending",
                     Actor{shell.holder(), shell.actor_kind()})
        .IgnoreError();
    return s;
  }
  return granted;
}

Result<GrantedToken> Runtime::GrantDirect(const Caller& shell, std::string_view holder,
                                          std::string_view resource, Action action,
                                          GrantDuration duration,
                                          const GrantConstraints& constraints) {
  ELASTOS_RETURN_IF_ERROR(ShellOnly(shell, "grant_capability"));
  // Policy is not a resource: the shell decides for others and holds no resource tokens
  // itself, so a compromised shell cannot simply read what it guards (it can still grant to an
  // accomplice capsule — that is what deciding policy means; docs/threat-model.md).
  if (holder == shell.holder()) {
    return PermissionDenied("self_grant", "the shell cannot grant capabilities to itself");
  }
  // The holder must be alive: a session to die with.
  std::optional<Session> target = sessions_->ForInstance(holder);
  if (!target) target = sessions_->Get(holder);
  if (!target) {
    return NotFound("no_such_capsule", "no running capsule instance or session " +
                                           std::string(holder) + " to grant to");
  }
  return IssueFor(shell, std::string(holder), target->id, std::string(resource), action,
                  duration, constraints);
}

Status Runtime::Deny(const Caller& shell, std::string_view request_id, std::string_view reason) {
  ELASTOS_RETURN_IF_ERROR(ShellOnly(shell, "deny_capability"));
  std::optional<PendingRequest> p = decisions_->Get(request_id);
  if (!p) return NotFound("no_such_request", "no capability request " + std::string(request_id));
  const std::string why =
      reason.empty() ? std::string("denied by policy") : std::string(reason.substr(0, kMaxReasonBytes));
  audit::AuditRecord r = Record("capability_decision", &shell);
  r.subject = p->id;
  r.resource = p->resource;
  r.action = std::string(ActionName(p->action));
  r.outcome = "denied";
  r.reason = "denied";
  r.details["holder"] = p->holder;
  r.details["decision"] = "deny";
  r.details["message"] = why;
  ELASTOS_RETURN_IF_ERROR(Audit(std::move(r), true));
  return decisions_->Resolve(request_id, {DecisionState::kDenied, "", "", why, shell.holder()});
}

Status Runtime::Access(const Caller& caller, std::string_view token, Action action,
                       std::string_view resource, Classification classification) {
  const std::string holder = caller.holder();
  return manager_->ValidateWire(
      token, AccessRequest{holder, action, resource, classification, caller.actor_kind()});
}

Result<std::vector<IssuedToken>> Runtime::Held(const Caller& caller) const {
  TokenFilter f;
  f.holder = caller.holder();
  ELASTOS_ASSIGN_OR_RETURN(std::vector<IssuedToken> tokens, store_->List(f));
  const std::int64_t now = NowUnix();
  std::vector<IssuedToken> out;
  for (IssuedToken& t : tokens) {
    if (t.epoch < store_->epoch()) continue;
    if (t.expiry_unix && static_cast<std::int64_t>(*t.expiry_unix) <= now) continue;
    if (t.max_uses && store_->UseCount(t.id) >= *t.max_uses) continue;
    out.push_back(std::move(t));
  }
  return out;
}

Status Runtime::Revoke(const Caller& shell, std::string_view token_id, std::string_view reason) {
  ELASTOS_RETURN_IF_ERROR(ShellOrOperator(shell, "revoke_capability"));
  ELASTOS_ASSIGN_OR_RETURN(TokenId id, ParseTokenId(token_id));
  return manager_->Revoke(id, reason.empty() ? "revoked by the shell" : reason,
                          Actor{shell.holder(), shell.actor_kind()});
}

Result<std::uint64_t> Runtime::RevokeAll(const Caller& shell, std::string_view reason) {
  ELASTOS_RETURN_IF_ERROR(ShellOrOperator(shell, "revoke_all"));
  return manager_->RevokeAll(reason.empty() ? "revoke-all by the shell" : reason,
                             Actor{shell.holder(), shell.actor_kind()});
}

Result<std::size_t> Runtime::RevokeHolder(const Caller& shell, std::string_view holder,
                                          std::string_view reason) {
  ELASTOS_RETURN_IF_ERROR(ShellOrOperator(shell, "revoke_all"));
  TokenFilter f;
  f.holder = std::string(holder);
  ELASTOS_ASSIGN_OR_RETURN(std::vector<TokenId> ids,
                           store_->RevokeWhere(f, reason.empty() ? "revoked by the shell" : reason));
  audit::AuditRecord r = Record("revoke", &shell);
  r.subject = std::string(holder);
  r.details["count"] = static_cast<std::uint64_t>(ids.size());
  r.details["scope"] = "holder";
  ELASTOS_RETURN_IF_ERROR(Audit(std::move(r), true));
  return ids.size();
}

Result<GrantedToken> Runtime::Delegate(const Caller& caller, std::string_view parent,
                                       std::string_view to, std::optional<std::string> resource,
                                       const GrantConstraints& constraints) {
  ELASTOS_ASSIGN_OR_RETURN(Token p, Token::FromWire(parent));
  ELASTOS_ASSIGN_OR_RETURN(auto target, messages_->Resolve(to));
  std::optional<Session> session = sessions_->ForInstance(target.first);
  if (!session) return NotFound("no_such_capsule", "capsule instance " + target.first + " is not running");
  // The shell holds no resource tokens (see Grant); delegating to it would be a way around that.
  if (session->kind == SessionKind::kShell) {
    return PermissionDenied("self_grant", "tokens cannot be delegated to the shell");
  }
  DelegateRequest d;
  d.to_holder = target.first;
  d.session = session->id;
  d.resource = resource.value_or(p.fields().resource);
  d.max_uses = constraints.max_uses;
  d.ttl_secs = constraints.expires_in_s;
  ELASTOS_ASSIGN_OR_RETURN(Token child, manager_->Delegate(p, caller.holder(), d));
  return GrantedToken::Of(child);
}

Result<std::uint64_t> Runtime::SendMessage(const Caller& caller, std::string_view to, Bytes payload,
                                           std::optional<std::uint64_t> reply_to,
                                           std::string_view token) {
  ELASTOS_ASSIGN_OR_RETURN(auto target, messages_->Resolve(to));
  if (!caller.is_shell()) {
    if (token.empty()) {
      return Unauthenticated("missing_token", "sending to " + target.second +
                                                  " needs a message token on elastos://message/" +
                                                  target.second);
    }
    ELASTOS_RETURN_IF_ERROR(Access(caller, token, Action::kMessage,
                                   "elastos://message/" + target.second, Classification::kInternal));
  }
  const std::size_t size = payload.size();
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t id,
                           messages_->Send(caller.holder(), caller.name(), target.first,
                                           std::move(payload), reply_to, NowUnix()));
  audit::AuditRecord r = Record("message_sent", &caller);
  r.subject = target.first;
  r.action = "message";
  r.resource = "elastos://message/" + target.second;
  r.details["message_id"] = id;
  r.details["bytes"] = static_cast<std::uint64_t>(size);
  ELASTOS_RETURN_IF_ERROR(Audit(std::move(r), false));
  return id;
}

Result<std::vector<Message>> Runtime::ReceiveMessages(const Caller& caller, std::size_t max,
                                                      std::chrono::milliseconds wait) {
  return messages_->Receive(caller.holder(), max, wait);
}

Result<PromptAnswer> Runtime::AskUser(const Caller& shell, std::string_view request_id,
                                      std::chrono::milliseconds timeout,
                                      const std::atomic<bool>* cancelled) {
  ELASTOS_RETURN_IF_ERROR(ShellOnly(shell, "ask_user"));
  std::optional<PendingRequest> p = decisions_->Get(request_id);
  std::optional<DecisionOutcome> state = decisions_->Outcome(request_id);
  if (!p || !state || state->state != DecisionState::kPending) {
    return NotFound("no_such_request", "no pending capability request " + std::string(request_id));
  }
  Result<PromptAnswer> answer = prompts_->Ask(*p, timeout, cancelled);
  audit::AuditRecord r = Record("prompt", &shell);
  r.subject = p->id;
  r.resource = p->resource;
  r.action = std::string(ActionName(p->action));
  r.details["holder"] = p->holder;
  if (answer.ok()) {
    r.details["answer"] = answer->allow ? "allow" : "deny";
    r.details["duration"] = std::string(GrantDurationName(answer->duration));
    r.details["answered_by"] = answer->answered_by;
  } else {
    r.outcome = "error";
    r.reason = answer.status().reason();
  }
  ELASTOS_RETURN_IF_ERROR(Audit(std::move(r), true));
  return answer;
}

Status Runtime::AnswerPrompt(const Caller& caller, std::string_view prompt_id, bool allow,
                             GrantDuration duration) {
  // People answer prompts; capsules (including the shell) must not answer their own questions.
  if (caller.session.kind != SessionKind::kClient || caller.session.agent) {
    return PermissionDenied("humans_only", "prompts are answered by a person's client session");
  }
  return prompts_->Answer(prompt_id, PromptAnswer{allow, duration, caller.session.id});
}

}  // namespace elastos::runtime
