// CapabilityStore: the durable half of the capability system — the epoch, revocations, use
// counts, ended sessions and the index of issued tokens, in SQLite (`state.db`, DESIGN.md §6).
//
// The reference runtime kept these in memory (or in files it never used), so `kill -9` un-revoked
// tokens and reset use counts. Here every mutating call commits a SQLite transaction with
// synchronous=FULL before it returns OK, and in-memory caches change only after that commit:
//   * an OK answer means the change survives kill -9 and power loss;
//   * an error answer means memory is unchanged. (On disk the outcome of a failed commit is
//     unknown until the next open — the frames may have reached the file — but every mutation
//     here fails towards "less authority": revoked, epoch higher, use spent, session ended.)
// The validation path reads only memory: epoch() is an atomic, IsRevoked/IsSessionEnded/UseCount
// are hash lookups under a shared lock. Schema, durability argument and memory bounds:
// docs/formats/state.md.
//
// One process owns the database: it is opened with locking_mode=EXCLUSIVE, because the caches
// above would go stale (e.g. miss a revocation) if another writer changed the tables behind us.
// A second Open of the same file fails with unavailable / `state_locked`.
//
// All file writes and syncs go through `env` (runtime/store/env_vfs.h), so FaultInjectionEnv
// reaches SQLite.
//
// Thread-safety: CapabilityStore is thread-safe. Writes are serialised on one connection; reads
// of the caches do not wait for a commit in progress. `env` must outlive the store.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/env.h"
#include "common/manifest.h"
#include "common/status.h"

namespace elastos::runtime {

using TokenId = std::array<std::uint8_t, 16>;

// 32 lowercase hex characters.
std::string TokenIdHex(const TokenId& id);
// Exactly 32 hex characters (either case). Error: invalid_argument / `invalid_token_id`.
Result<TokenId> ParseTokenId(std::string_view hex);

struct TokenIdHash {
  std::size_t operator()(const TokenId& id) const noexcept;
};

// What the store remembers about an issued token: enough to list a holder's or a session's
// tokens and revoke them. The signed token itself is not stored.
struct IssuedToken {
  TokenId id{};
  std::string holder;   // capsule instance id; not empty
  std::string session;  // the session the grant belongs to; empty = none
  std::string resource;
  Action action = Action::kRead;
  std::uint64_t epoch = 0;
  std::optional<std::uint32_t> max_uses;
  std::optional<std::uint64_t> expiry_unix;
  std::optional<TokenId> parent;  // delegation parent
  std::uint64_t issued_unix = 0;
  bool operator==(const IssuedToken&) const = default;
};

struct TokenFilter {
  std::optional<std::string> holder, session;  // both set = both must match
  bool include_revoked = false;
};

class CapabilityStore {
 public:
  // Current schema version (PRAGMA user_version).
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the database. Errors (failed_precondition unless noted):
  //   `state_not_sqlite`     the file is not a SQLite database (or is corrupted);
  //   `state_foreign_db`     a SQLite database, but not an ElastOS one;
  //   `state_schema_too_new` written by a newer runtime — refused, never misread;
  //   `state_corrupt`        SQLite reports corruption, or a value is out of range;
  //   unavailable / `state_locked`  another process has it open;
  //   `io_error`             (internal) a write or sync failed.
  static Result<std::unique_ptr<CapabilityStore>> Open(Env& env,
                                                       const std::filesystem::path& db_path);
  ~CapabilityStore();

  CapabilityStore(const CapabilityStore&) = delete;
  CapabilityStore& operator=(const CapabilityStore&) = delete;

  // The current epoch (0 in a new store). Tokens with an older epoch are revoked (check 3).
  std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  // Mass revocation: durably epoch += 1, then memory. Returns the new epoch.
  Result<std::uint64_t> AdvanceEpoch();

  // Adds a token to the index. Errors: invalid_argument (`invalid_token` for empty holder or
  // resource or out-of-range numbers, `duplicate_token_id`), failed_precondition
  // (`session_ended`: tokens are never issued into an ended session).
  [[nodiscard]] Status RecordIssued(const IssuedToken& token);

  // Revokes one id (known to the index or not). Idempotent: revoking again is OK and keeps the
  // first reason.
  [[nodiscard]] Status Revoke(const TokenId& id, std::string_view reason);
  bool IsRevoked(const TokenId& id) const;

  // Atomically: if UseCount(id) < max_uses, durably increment and return the new count; else
  // resource_exhausted / `use_limit_exceeded`. Never exceeds max_uses under concurrency, and a
  // returned count is committed. The caller consumes a use only after every other check passed.
  Result<std::uint32_t> ConsumeUse(const TokenId& id, std::uint32_t max_uses);
  std::uint32_t UseCount(const TokenId& id) const;

  // Recorded tokens matching `filter`, oldest first (issued_unix, then id).
  Result<std::vector<IssuedToken>> List(const TokenFilter& filter) const;
  // Revokes every recorded, not yet revoked token matching `filter` in one transaction and
  // returns their ids. The filter must name a holder or a session (invalid_argument otherwise:
  // revoking everything is AdvanceEpoch's job).
  Result<std::vector<TokenId>> RevokeWhere(const TokenFilter& filter, std::string_view reason);

  // Ends a session durably and, in the same transaction, revokes its recorded tokens (reason
  // "session_ended"). Idempotent. Error: invalid_argument for an empty session.
  [[nodiscard]] Status EndSession(std::string_view session);
  bool IsSessionEnded(std::string_view session) const;

 private:
  class Db;  // the SQLite connection and its cached statements (capability_store.cc)
  // Transparent, so IsSessionEnded(string_view) looks up without allocating.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };

  explicit CapabilityStore(std::unique_ptr<Db> db);
  [[nodiscard]] Status LoadCaches();

  std::unique_ptr<Db> db_;  // guarded by db_mu_
  mutable std::mutex db_mu_;

  std::atomic<std::uint64_t> epoch_{0};
  // Lock order: db_mu_, then cache_mu_.
  mutable std::shared_mutex cache_mu_;  // guards the three caches below
  std::unordered_set<TokenId, TokenIdHash> revoked_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> ended_sessions_;
  std::unordered_map<TokenId, std::uint32_t, TokenIdHash> use_counts_;
};

}  // namespace elastos::runtime
