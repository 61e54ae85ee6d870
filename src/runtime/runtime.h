// Runtime: the trusted kernel assembled from its parts, and the one place the seed's five-step
// capability flow is written down (seed 003):
//
//   1. a capsule or client asks           RequestCapability → DecisionQueue
//   2. existing tokens are validated      (the caller presents them on every access: Access)
//   3. the shell is consulted             DecisionQueue::Next / PromptQueue (the shell's own code)
//   4. a token is issued or denied        Grant / Deny (only a shell session may call them)
//   5. the capsule uses it                Access (12 checks, action of the operation performed)
//
// Runtime owns the durable state of one data directory (DESIGN.md §6) — state.db, the runtime and
// audit keys, the audit log, the secure clock — and holds an exclusive lock on it
// (`runtime.lock`): two runtimes on one data directory would fork the audit log and lose
// revocations. The HTTP API and the capsule request handler are thin adapters over this class;
// every authority decision they need is a method here, so both enforce the same rules.
//
// Who may do what is decided from the Caller (its session), never from what a request claims:
// shell-only operations check the session kind; a token's holder is the caller's instance (or,
// for clients, their session) — the reference bound VM tokens to a name shared by every
// instance.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/manifest.h"
#include "common/status.h"
#include "runtime/audit/audit_log.h"
#include "runtime/capability/capability_manager.h"
#include "runtime/messaging/message_bus.h"
#include "runtime/policy/decision_queue.h"
#include "runtime/policy/prompt_queue.h"
#include "runtime/session/session_registry.h"
#include "runtime/store/capability_store.h"
#include "runtime/time/secure_clock.h"

namespace elastos::runtime {

// The authenticated party behind a request.
struct Caller {
  Session session;
  // The identity tokens bind to: the capsule instance for shell/capsule sessions, the session
  // id for clients.
  std::string holder() const;
  std::string name() const;  // capsule name or client owner, for people and the audit
  audit::ActorKind actor_kind() const;
  bool is_shell() const { return session.kind == SessionKind::kShell; }
  // The shell, or a person's client session (not a capsule, not an agent): who may install and
  // launch capsules, read the audit trail and revoke.
  bool is_shell_or_operator() const {
    return is_shell() || (session.kind == SessionKind::kClient && !session.agent);
  }
};

struct GrantConstraints {
  std::optional<std::uint32_t> max_uses;
  std::optional<std::uint64_t> expires_in_s;
  bool delegatable = false;
  std::optional<Classification> max_classification;
};

struct GrantedToken {
  std::string token;  // wire form
  std::string token_id;
  std::string resource;
  Action action = Action::kRead;
  bool delegatable = false;
  std::optional<std::uint64_t> expires_at;
  std::optional<std::uint32_t> max_uses;

  static GrantedToken Of(const Token& t);
};

struct RuntimeOptions {
  std::filesystem::path data_dir;
  DecisionQueueOptions decisions;
  std::chrono::milliseconds prompt_presence{35000};
};

class Runtime {
 public:
  // Opens (creating if needed) everything under options.data_dir. Errors: unavailable/
  // `runtime_running` when another runtime holds the data directory (the message names its pid
  // from runtime.json when readable), and whatever the durable parts report.
  static Result<std::unique_ptr<Runtime>> Open(const RuntimeOptions& options);
  ~Runtime();  // Close()s

  // Ends every session, cancels waiting requests and prompts, writes the audit checkpoint,
  // closes the log. Idempotent.
  [[nodiscard]] Status Close();

  // --- sessions
  Result<NewSession> StartSession(SessionKind kind, std::string instance_id, std::string owner,
                                  bool agent);
  [[nodiscard]] Status EndSession(std::string_view session_id, std::string_view why);

  // --- the capability flow
  // Step 1: queues a request for the shell. Audited durably. The resource must be a valid
  // pattern (invalid_argument/`bad_resource`).
  Result<PendingRequest> RequestCapability(const Caller& caller, std::string_view resource,
                                           Action action, std::string_view reason);
  // The outcome of the caller's own request (permission_denied/`not_your_request` otherwise).
  Result<DecisionOutcome> RequestStatus(const Caller& caller, std::string_view request_id,
                                        std::chrono::milliseconds wait);
  // Step 4, by the shell: grants a pending request. `once` = max_uses 1; every grant belongs to
  // the holder's session and dies with it (`always` is remembered by the shell's policy, not by
  // the token). Errors: permission_denied/`shell_only`, not_found/`no_such_request`,
  // failed_precondition/`already_decided`.
  Result<GrantedToken> Grant(const Caller& shell, std::string_view request_id,
                             GrantDuration duration, const GrantConstraints& constraints,
                             std::string_view rationale);
  // A grant without a request (the shell handing out a token on its own initiative) to a live
  // session's holder.
  Result<GrantedToken> GrantDirect(const Caller& shell, std::string_view holder,
                                   std::string_view resource, Action action,
                                   GrantDuration duration, const GrantConstraints& constraints);
  [[nodiscard]] Status Deny(const Caller& shell, std::string_view request_id,
                            std::string_view reason);
  // Step 5: validates `token` (wire form) for `action` on `resource` by the caller. Every check
  // of CapabilityManager::Validate; the use is consumed on success.
  [[nodiscard]] Status Access(const Caller& caller, std::string_view token, Action action,
                              std::string_view resource, Classification classification);
  // Tokens the caller holds (not revoked, not expired).
  Result<std::vector<IssuedToken>> Held(const Caller& caller) const;

  // --- revocation (the shell, or a human client session: revoking only removes authority)
  [[nodiscard]] Status Revoke(const Caller& shell, std::string_view token_id,
                              std::string_view reason);
  // Advances the epoch: every token issued so far is dead at its next use.
  Result<std::uint64_t> RevokeAll(const Caller& shell, std::string_view reason);
  // Revokes every token held by `holder`.
  Result<std::size_t> RevokeHolder(const Caller& shell, std::string_view holder,
                                   std::string_view reason);

  // --- delegation and messaging (capsules)
  // Derives a narrower token for another running instance (`to`: an instance id, or a capsule
  // name with one running instance) from `parent`, which the caller holds and which must be
  // delegatable. The child dies with the recipient's session and with its parent.
  Result<GrantedToken> Delegate(const Caller& caller, std::string_view parent, std::string_view to,
                                std::optional<std::string> resource,
                                const GrantConstraints& constraints);
  // Sends to a running instance. Everyone but the shell needs a `message` token on
  // `elastos://message/<recipient name>`.
  Result<std::uint64_t> SendMessage(const Caller& caller, std::string_view to, Bytes payload,
                                    std::optional<std::uint64_t> reply_to, std::string_view token);
  Result<std::vector<Message>> ReceiveMessages(const Caller& caller, std::size_t max,
                                               std::chrono::milliseconds wait);

  // --- prompts (ask_user)
  Result<PromptAnswer> AskUser(const Caller& shell, std::string_view request_id,
                               std::chrono::milliseconds timeout,
                               const std::atomic<bool>* cancelled = nullptr);
  [[nodiscard]] Status AnswerPrompt(const Caller& caller, std::string_view prompt_id,
                                    bool allow, GrantDuration duration);

  // --- parts, for the adapters
  const std::filesystem::path& data_dir() const { return data_dir_; }
  Env& env() { return *env_; }
  SessionRegistry& sessions() { return *sessions_; }
  DecisionQueue& decisions() { return *decisions_; }
  PromptQueue& prompts() { return *prompts_; }
  MessageBus& messages() { return *messages_; }
  CapabilityManager& capabilities() { return *manager_; }
  CapabilityStore& store() { return *store_; }
  audit::AuditLog& audit_log() { return *audit_; }
  SecureClock& clock() { return *clock_; }
  std::int64_t NowUnix() const;

  // Appends a record of the runtime's own (sessions, lifecycle, API refusals). `durable` waits
  // for the disk; otherwise group-committed within milliseconds.
  [[nodiscard]] Status Audit(audit::AuditRecord record, bool durable);

 private:
  Runtime() = default;
  Result<GrantedToken> IssueFor(const Caller& shell, const std::string& holder,
                                const std::string& session, const std::string& resource,
                                Action action, GrantDuration duration,
                                const GrantConstraints& constraints);
  static Status ShellOnly(const Caller& caller, std::string_view what);
  static Status ShellOrOperator(const Caller& caller, std::string_view what);

  std::filesystem::path data_dir_;
  int lock_fd_ = -1;
  std::unique_ptr<Env> env_;
  std::unique_ptr<CapabilityStore> store_;
  std::unique_ptr<SecureClock> clock_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<CapabilityManager> manager_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<DecisionQueue> decisions_;
  std::unique_ptr<PromptQueue> prompts_;
  std::unique_ptr<MessageBus> messages_;
  bool closed_ = false;
};

}  // namespace elastos::runtime
