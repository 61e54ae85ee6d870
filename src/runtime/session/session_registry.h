// SessionRegistry: who is talking to the runtime. Every HTTP request (except health) and every
// capsule instance acts within a session: `shell` (the policy capsule), `capsule` (one running
// capsule instance) or `client` (a human or an AI agent through the CLI or the dashboard).
//
// A session is named by its id (public: it appears in audit records and token indexes) and is
// proven by a separate bearer secret (32 random bytes, base64url) that only its holder knows.
// Bearers are looked up by their SHA-256, never compared as strings, so lookup time says nothing
// about how much of a guessed bearer was right. Sessions live in memory only: a restarted runtime
// has none, and it ends the sessions of its previous life in the capability store at boot, so
// every grant tied to them is revoked (the reference kept tokens alive across restarts).
//
// Ending a session (explicitly, when its capsule instance stops, or at shutdown) revokes every
// token granted to it, durably, before End returns.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "runtime/store/capability_store.h"

namespace elastos::runtime {

enum class SessionKind { kShell, kCapsule, kClient };
std::string_view SessionKindName(SessionKind kind);  // "shell", "capsule", "client"
Result<SessionKind> ParseSessionKind(std::string_view name);

struct Session {
  std::string id;  // "s-" + 32 hex characters
  SessionKind kind = SessionKind::kClient;
  std::string instance_id;  // shell/capsule: the capsule instance this session belongs to
  std::string owner;        // who, for people: "cli", "dashboard", a capsule's name
  bool agent = false;       // acting for an AI agent (audited as such)
  std::int64_t created_unix = 0;
  std::int64_t last_active_unix = 0;
};

struct NewSession {
  Session session;
  std::string bearer;  // shown once; the registry keeps only its digest
};

class SessionRegistry {
 public:
  // `now` gives unix seconds (the runtime's clock; tests may pass their own).
  SessionRegistry(CapabilityStore& store, std::function<std::int64_t()> now);

  Result<NewSession> Create(SessionKind kind, std::string instance_id, std::string owner,
                            bool agent);
  // The session `bearer` proves, touched; nullopt if none (unknown, ended, malformed).
  std::optional<Session> Authenticate(std::string_view bearer);
  std::optional<Session> Get(std::string_view id) const;
  std::optional<Session> ForInstance(std::string_view instance_id) const;
  std::vector<Session> List() const;
  // Forgets the session and durably ends it in the store (its tokens are revoked). Idempotent
  // for ids the store already knows as ended; not_found/`no_such_session` for unknown ones.
  [[nodiscard]] Status End(std::string_view id);
  // Client sessions idle for longer than `idle` (shell and capsule sessions end with their
  // instance); the caller ends them through Runtime::EndSession, which audits and cancels.
  std::vector<std::string> IdleClients(std::chrono::seconds idle) const;

 private:
  CapabilityStore& store_;
  std::function<std::int64_t()> now_;
  mutable std::mutex mu_;
  std::map<std::string, Session, std::less<>> by_id_;
  std::unordered_map<std::string, std::string> id_by_bearer_digest_;  // hex SHA-256 → id
};

}  // namespace elastos::runtime
