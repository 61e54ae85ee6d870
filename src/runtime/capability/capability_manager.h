// CapabilityManager: issues, validates, delegates and revokes capability tokens. The mechanism
// half of the microkernel split: it never decides *whether* someone should have a token (the
// shell does); it signs what it is told to grant and enforces what it signed, on every access.
//
// Validate performs the 12 checks of DESIGN.md §3, in this order, and stops at the first failure:
//    1 version            token_version           7 action of the operation   wrong_action
//    2 revocation         token_revoked           8 resource matches          wrong_resource
//    3 epoch              epoch_revoked           9 not future-dated          future_dated
//    4 issuer             untrusted_issuer       10 not expired               token_expired
//    5 signature          invalid_signature      11 classification            classification_exceeded
//    6 holder             wrong_holder           12 use count (consumed last) use_limit_exceeded
// Revocation is checked before any cryptography (cheap, and a revoked token must never cost a
// verify). The signature is skipped only for a token whose exact bytes already verified under
// the current key (the verified cache); every other check runs on every call, so a revocation or
// epoch advance takes effect at the next access even for cached tokens. A use is consumed only
// after all other checks pass. Every outcome is audited: refusals and state changes durably
// before returning, plain successes group-committed.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <array>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include <cstring>
#include <functional>

#include "common/env.h"
#include "crypto/sha256.h"
#include "runtime/audit/sink.h"
#include "runtime/capability/token.h"
#include "runtime/store/capability_store.h"
#include "runtime/time/secure_clock.h"

namespace elastos::runtime {

inline constexpr std::int64_t kClockSkewSeconds = 300;

// Who caused an operation, for the audit trail.
struct Actor {
  std::string id;
  audit::ActorKind kind = audit::ActorKind::kRuntime;
};

struct GrantRequest {
  std::string holder;   // capsule instance id the token binds to
  std::string session;  // the session the grant dies with ("" = none)
  std::string resource;  // pattern; normalised before signing
  Action action = Action::kRead;
  bool delegatable = false;
  std::optional<Classification> max_classification;
  std::optional<std::uint32_t> max_uses;
  std::optional<std::uint64_t> ttl_secs;
};

// What the caller is doing right now. The action is the action of the operation performed,
// never the token's own, and the classification is stated by the resource's provider.
struct AccessRequest {
  std::string_view caller;
  Action action = Action::kRead;
  std::string_view resource;
  Classification classification = Classification::kSecret;
  audit::ActorKind actor_kind = audit::ActorKind::kCapsule;  // for the audit record only
};

struct DelegateRequest {
  std::string to_holder;
  std::string session;
  std::string resource;  // must be covered by the parent's pattern
  std::optional<std::uint32_t> max_uses;
  std::optional<std::uint64_t> ttl_secs;
};

class CapabilityManager {
 public:
  struct Deps {
    Env* env;
    CapabilityStore* store;
    SecureClock* clock;
    audit::AuditSink* audit;
  };
  // Loads the runtime signing key from `key_path` (64 hex, 0600), creating it on first use.
  static Result<std::unique_ptr<CapabilityManager>> Open(const Deps& deps, const std::filesystem::path& key_path);

  Result<Token> Grant(const GrantRequest& request, const Actor& decided_by);
  [[nodiscard]] Status Validate(const Token& token, const AccessRequest& access);
  // Decodes a token as presented on the wire (base64url) and validates it. Tokens that do not
  // decode (another version, malformed) are refused and audited like any other failure.
  [[nodiscard]] Status ValidateWire(std::string_view wire, const AccessRequest& access);
  // `delegator` must hold `parent`; the parent is fully validated (without consuming a use).
  Result<Token> Delegate(const Token& parent, std::string_view delegator, const DelegateRequest& request);
  [[nodiscard]] Status Revoke(const TokenId& id, std::string_view reason, const Actor& by);
  // Advances the epoch: every token issued before is invalid from the next access on.
  Result<std::uint64_t> RevokeAll(std::string_view reason, const Actor& by);
  // New signing key; tokens signed by the old one fail the issuer and signature checks.
  [[nodiscard]] Status RotateSigningKey(const Actor& by);

  crypto::Ed25519PublicKey public_key() const;
  std::size_t cached_signatures() const;

 private:
  CapabilityManager(const Deps& deps, std::filesystem::path key_path, crypto::Ed25519PrivateKey key);

  struct Refusal {
    const char* reason;
    std::string message;
  };
  // Checks 1–11 (no use consumed). `resource_ok` performs check 8.
  std::optional<Refusal> Check(const Token& token, std::string_view caller, Action action,
                               const std::function<bool(std::string_view pattern)>& resource_ok,
                               std::optional<Classification> classification);
  // Records `f` as issued, audits `record` durably, and only then signs: a token whose issue
  // could not be audited never leaves (and is revoked in case anything kept its id).
  Result<Token> Issue(TokenFields f, std::string_view session, audit::AuditRecord record);
  bool SignatureCached(const crypto::Digest256& digest);
  void CacheSignature(const crypto::Digest256& digest);
  [[nodiscard]] Status Audit(audit::AuditRecord record, bool durable);
  std::int64_t Now() const;

  Deps deps_;
  std::filesystem::path key_path_;
  mutable std::shared_mutex key_mu_;  // guards key_ and the cache generation
  crypto::Ed25519PrivateKey key_;

  // Digests of token bytes whose signature verified under key_. Sharded to keep lookups cheap
  // under concurrency; cleared on key rotation; bounded (a full shard is simply cleared).
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxPerShard = 4096;
  struct DigestHash {
    std::size_t operator()(const crypto::Digest256& d) const {
      std::size_t h;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_set<crypto::Digest256, DigestHash> digests;
  };
  std::array<Shard, kShards> cache_;
};

}  // namespace elastos::runtime
