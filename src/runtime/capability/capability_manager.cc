#include "runtime/capability/capability_manager.h"

#include <sodium.h>

#include <cstring>

#include "common/encoding.h"
#include "crypto/sha256.h"
#include "identity/key_file.h"
#include "runtime/capability/resource.h"

namespace elastos::runtime {
namespace {

constexpr std::uint64_t kMaxTtlSecs = 10ull * 365 * 24 * 3600;

Status Refused(const char* reason, std::string message) {
  // Authentication failures (the token itself is bad) vs authorisation failures (a good token
  // used beyond its scope) map to different codes, as they do in HTTP.
  const std::string_view r = reason;
  Code code = Code::kPermissionDenied;
  if (r == "token_version" || r == "untrusted_issuer" || r == "invalid_signature" || r == "token_malformed") {
    code = Code::kUnauthenticated;
  }
  if (r == "use_limit_exceeded") code = Code::kResourceExhausted;
  return Status(code, reason, std::move(message));
}

audit::AuditRecord NewRecord(std::string type, std::string actor, audit::ActorKind kind) {
  audit::AuditRecord record;
  record.type = std::move(type);
  record.actor = std::move(actor);
  record.actor_kind = kind;
  return record;
}

Status CheckHolder(std::string_view holder) {
  if (holder.empty() || holder.size() > kMaxHolderLength) {
    return InvalidArgument("bad_holder", "holder must be 1–" + std::to_string(kMaxHolderLength) + " bytes");
  }
  return OkStatus();
}

TokenId NewTokenId() {
  TokenId id;
  crypto::RandomBytes(id);
  return id;
}

}  // namespace

CapabilityManager::CapabilityManager(const Deps& deps, std::filesystem::path key_path, crypto::Ed25519PrivateKey key)
    : deps_(deps), key_path_(std::move(key_path)), key_(std::move(key)) {}

Result<std::unique_ptr<CapabilityManager>> CapabilityManager::Open(const Deps& deps,
                                                                   const std::filesystem::path& key_path) {
  ELASTOS_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, identity::LoadOrCreatePrivateKey(*deps.env, key_path));
  return std::unique_ptr<CapabilityManager>(new CapabilityManager(deps, key_path, std::move(key)));
}

crypto::Ed25519PublicKey CapabilityManager::public_key() const {
  std::shared_lock lock(key_mu_);
  return key_.public_key();
}

std::size_t CapabilityManager::cached_signatures() const {
  std::size_t n = 0;
  for (auto& shard : const_cast<std::array<Shard, kShards>&>(cache_)) {
    std::lock_guard lock(shard.mu);
    n += shard.digests.size();
  }
  return n;
}

// Never earlier than any timestamp this runtime issued: setting the wall clock back must not
// revive an expired token.
std::int64_t CapabilityManager::Now() const { return deps_.clock->MonotonicUnixSeconds(); }

Status CapabilityManager::Audit(audit::AuditRecord record, bool durable) {
  auto ts = deps_.clock->Now();
  if (!ts.ok()) return ts.status();
  record.time_unix = static_cast<std::int64_t>(ts->unix_secs);
  record.time_seq = ts->seq;
  const Status s = durable ? deps_.audit->Append(record).status() : deps_.audit->AppendAsync(record);
  return s.WithContext("audit log");
}

bool CapabilityManager::SignatureCached(const crypto::Digest256& digest) {
  Shard& shard = cache_[digest[0] % kShards];
  std::lock_guard lock(shard.mu);
  return shard.digests.contains(digest);
}

void CapabilityManager::CacheSignature(const crypto::Digest256& digest) {
  Shard& shard = cache_[digest[0] % kShards];
  std::lock_guard lock(shard.mu);
  if (shard.digests.size() >= kMaxPerShard) shard.digests.clear();
  shard.digests.insert(digest);
}

std::optional<CapabilityManager::Refusal> CapabilityManager::Check(
    const Token& token, std::string_view caller, Action action,
    const std::function<bool(std::string_view)>& resource_ok, std::optional<Classification> classification) {
  const TokenFields& f = token.fields();
  // Messages are built only on refusal: the success path allocates nothing.
  const auto id = [&f] { return TokenIdHex(f.id); };
  // 1. Version (Decode refuses other versions; checked again so a hand-built Token cannot skip it).
  if (f.version != kTokenVersion) return Refusal{"token_version", "token " + id() + " has unsupported version " + std::to_string(f.version)};
  // 2. Revocation, before any cryptography: of the token, of its delegation parent (a session's
  //    end revokes its tokens in the store).
  if (deps_.store->IsRevoked(f.id)) return Refusal{"token_revoked", "token " + id() + " has been revoked"};
  if (f.parent && deps_.store->IsRevoked(*f.parent)) {
    return Refusal{"token_revoked", "token " + id() + " was delegated from " + TokenIdHex(*f.parent) + ", which has been revoked"};
  }
  // 3. Epoch: a token from before the last revoke-all is dead.
  const std::uint64_t epoch = deps_.store->epoch();
  if (f.epoch < epoch) {
    return Refusal{"epoch_revoked", "token " + id() + " is from epoch " + std::to_string(f.epoch) +
                                        "; every token before epoch " + std::to_string(epoch) + " was revoked"};
  }
  {
    std::shared_lock lock(key_mu_);
    // 4. Issuer: only this runtime's current key issues tokens it honours.
    if (!(f.issuer == key_.public_key())) return Refusal{"untrusted_issuer", "token " + id() + " was not issued by this runtime's current key"};
    // 5. Signature, unless these exact bytes already verified under this key.
    const crypto::Digest256 digest = crypto::Sha256::Hash(token.bytes());
    if (!SignatureCached(digest)) {
      if (!token.SignatureValid(key_.public_key())) return Refusal{"invalid_signature", "token " + id() + " has an invalid signature"};
      CacheSignature(digest);
    }
  }
  // 6. Holder: the token is bound to one capsule instance; nobody else may present it.
  if (f.holder != caller) return Refusal{"wrong_holder", "token " + id() + " belongs to " + f.holder + ", not " + std::string(caller)};
  // 7. Action of the operation performed (no hierarchy: admin does not imply read).
  if (f.action != action) {
    return Refusal{"wrong_action", "token " + id() + " allows " + std::string(ActionName(f.action)) + ", not " + std::string(ActionName(action))};
  }
  // 8. Resource.
  if (!resource_ok(f.resource)) return Refusal{"wrong_resource", "token " + id() + " does not cover this resource (it covers " + f.resource + ")"};
  const std::int64_t now = Now();
  // 9. Not issued in the future (beyond clock skew): a forged or mis-clocked issue time.
  if (static_cast<std::int64_t>(f.issued_at.unix_secs) > now + kClockSkewSeconds) {
    return Refusal{"future_dated", "token " + id() + " is dated in the future"};
  }
  // 10. Not expired.
  if (f.expiry_unix && static_cast<std::int64_t>(*f.expiry_unix) <= now) return Refusal{"token_expired", "token " + id() + " has expired"};
  // 11. Classification ceiling, against the level the resource's provider states.
  if (classification && f.max_classification && *classification > *f.max_classification) {
    return Refusal{"classification_exceeded", "token " + id() + " allows data up to " +
                                                  std::string(ClassificationName(*f.max_classification)) + ", the resource is " +
                                                  std::string(ClassificationName(*classification))};
  }
  return std::nullopt;
}

Status CapabilityManager::Validate(const Token& token, const AccessRequest& access) {
  const TokenFields& f = token.fields();
  audit::AuditRecord record = NewRecord("validate", std::string(access.caller), access.actor_kind);
  record.subject = TokenIdHex(f.id);
  record.resource = std::string(access.resource);
  record.action = std::string(ActionName(access.action));

  thread_local std::string canonical;
  std::optional<Refusal> refusal;
  if (Status s = NormalizeResourceInto(access.resource, canonical); !s.ok()) {
    refusal = Refusal{"wrong_resource", s.message()};
  } else {
    refusal = Check(
        token, access.caller, access.action,
        [&](std::string_view pattern) { return PatternMatches(pattern, canonical); }, access.classification);
  }
  // 12. Use count: consumed atomically and durably, and only now that everything else passed.
  std::optional<std::uint32_t> used;
  if (!refusal && f.max_uses) {
    auto n = deps_.store->ConsumeUse(f.id, *f.max_uses);
    if (!n.ok()) {
      if (n.status().reason() != "use_limit_exceeded") {
        record.outcome = "error";
        record.reason = n.status().reason();
        Audit(record, true).IgnoreError();
        return n.status();
      }
      refusal = Refusal{"use_limit_exceeded", "token " + record.subject + " has been used its " + std::to_string(*f.max_uses) + " time(s)"};
    } else {
      used = *n;
    }
  }
  if (refusal) {
    record.outcome = "denied";
    record.reason = refusal->reason;
    ELASTOS_RETURN_IF_ERROR(Audit(record, /*durable=*/true));
    return Refused(refusal->reason, refusal->message);
  }
  record.outcome = "ok";
  if (used) record.details["uses"] = *used;
  // A consumed use changed durable state: its record is durable too. Plain successes are
  // group-committed within milliseconds. Either way, an unwritable log fails the access closed.
  return Audit(record, /*durable=*/used.has_value());
}

Status CapabilityManager::ValidateWire(std::string_view wire, const AccessRequest& access) {
  auto token = Token::FromWire(wire);
  if (token.ok()) return Validate(*token, access);
  audit::AuditRecord record = NewRecord("validate", std::string(access.caller), access.actor_kind);
  record.resource = std::string(access.resource);
  record.action = std::string(ActionName(access.action));
  record.outcome = "denied";
  record.reason = token.status().reason();  // token_version or token_malformed
  ELASTOS_RETURN_IF_ERROR(Audit(record, true));
  return Refused(token.status().reason().c_str(), token.status().message());
}

Result<Token> CapabilityManager::Grant(const GrantRequest& request, const Actor& decided_by) {
  ELASTOS_RETURN_IF_ERROR(CheckHolder(request.holder));
  ELASTOS_ASSIGN_OR_RETURN(std::string pattern, NormalizePattern(request.resource));
  if (request.max_uses && *request.max_uses == 0) return InvalidArgument("bad_max_uses", "max_uses must be at least 1");
  if (request.ttl_secs && (*request.ttl_secs == 0 || *request.ttl_secs > kMaxTtlSecs)) {
    return InvalidArgument("bad_ttl", "ttl must be between 1 second and 10 years");
  }
  ELASTOS_ASSIGN_OR_RETURN(SecureTimestamp issued, deps_.clock->Now());
  TokenFields f;
  f.id = NewTokenId();
  f.holder = request.holder;
  f.resource = pattern;
  f.action = request.action;
  f.epoch = deps_.store->epoch();
  f.delegatable = request.delegatable;
  f.max_classification = request.max_classification;
  f.max_uses = request.max_uses;
  f.issued_at = issued;
  if (request.ttl_secs) f.expiry_unix = issued.unix_secs + *request.ttl_secs;

  audit::AuditRecord record = NewRecord("grant", decided_by.id, decided_by.kind);
  record.subject = TokenIdHex(f.id);
  record.resource = f.resource;
  record.action = std::string(ActionName(f.action));
  record.details["holder"] = f.holder;
  record.details["epoch"] = f.epoch;
  if (!request.session.empty()) record.details["session"] = request.session;
  if (f.max_uses) record.details["max_uses"] = *f.max_uses;
  if (f.expiry_unix) record.details["expiry"] = *f.expiry_unix;
  return Issue(std::move(f), request.session, std::move(record));
}

Result<Token> CapabilityManager::Issue(TokenFields f, std::string_view session, audit::AuditRecord record) {
  const IssuedToken index{f.id,    f.holder,   std::string(session), f.resource, f.action,
                          f.epoch, f.max_uses, f.expiry_unix,         f.parent,   f.issued_at.unix_secs};
  ELASTOS_RETURN_IF_ERROR(deps_.store->RecordIssued(index));
  record.outcome = "ok";
  if (Status s = Audit(record, true); !s.ok()) {
    // Fail closed: the token never leaves, and is revoked in case anything kept its id.
    deps_.store->Revoke(f.id, record.type + " not audited").IgnoreError();
    return s;
  }
  std::shared_lock lock(key_mu_);
  f.issuer = key_.public_key();
  return Token::Sign(f, key_);
}

Result<Token> CapabilityManager::Delegate(const Token& parent, std::string_view delegator, const DelegateRequest& request) {
  const TokenFields& p = parent.fields();
  audit::AuditRecord record = NewRecord("delegate", std::string(delegator), audit::ActorKind::kCapsule);
  record.subject = TokenIdHex(p.id);
  record.resource = request.resource;
  record.action = std::string(ActionName(p.action));
  auto deny = [&](const char* reason, std::string message) -> Status {
    record.outcome = "denied";
    record.reason = reason;
    ELASTOS_RETURN_IF_ERROR(Audit(record, true));
    return Refused(reason, std::move(message));
  };
  auto child_pattern = NormalizePattern(request.resource);
  if (!child_pattern.ok()) return deny("wrong_resource", child_pattern.status().message());
  // The parent must pass every check as if used by its holder, and the child's scope must lie
  // inside the parent's (delegation only narrows).
  if (auto refusal = Check(parent, delegator, p.action,
                           [&](std::string_view pattern) { return PatternCovers(pattern, *child_pattern); }, std::nullopt)) {
    return deny(refusal->reason, refusal->message);
  }
  if (!p.delegatable || p.parent) return deny("not_delegatable", "token " + record.subject + " may not be delegated");
  ELASTOS_RETURN_IF_ERROR(CheckHolder(request.to_holder));
  ELASTOS_ASSIGN_OR_RETURN(SecureTimestamp issued, deps_.clock->Now());
  TokenFields f;
  f.id = NewTokenId();
  f.holder = request.to_holder;
  f.resource = *child_pattern;
  f.action = p.action;
  f.epoch = deps_.store->epoch();
  f.delegatable = false;  // depth 1
  f.max_classification = p.max_classification;
  f.issued_at = issued;
  f.parent = p.id;
  // Uses: never more than the parent has left.
  if (p.max_uses) {
    const std::uint32_t left = *p.max_uses - std::min(*p.max_uses, deps_.store->UseCount(p.id));
    if (left == 0) return deny("use_limit_exceeded", "token " + record.subject + " has no uses left to delegate");
    f.max_uses = request.max_uses ? std::min(*request.max_uses, left) : left;
  } else {
    f.max_uses = request.max_uses;
  }
  // Expiry: never later than the parent's.
  if (request.ttl_secs) f.expiry_unix = issued.unix_secs + std::min(*request.ttl_secs, kMaxTtlSecs);
  if (p.expiry_unix) f.expiry_unix = f.expiry_unix ? std::min(*f.expiry_unix, *p.expiry_unix) : *p.expiry_unix;

  record.details["child"] = TokenIdHex(f.id);
  record.details["holder"] = f.holder;
  return Issue(std::move(f), request.session, std::move(record));
}

Status CapabilityManager::Revoke(const TokenId& id, std::string_view reason, const Actor& by) {
  // Durable in the store first: once this returns OK the revocation survives a crash.
  ELASTOS_RETURN_IF_ERROR(deps_.store->Revoke(id, reason));
  audit::AuditRecord record = NewRecord("revoke", by.id, by.kind);
  record.subject = TokenIdHex(id);
  record.outcome = "ok";
  record.reason = std::string(reason);
  return Audit(record, true);
}

Result<std::uint64_t> CapabilityManager::RevokeAll(std::string_view reason, const Actor& by) {
  const std::uint64_t old_epoch = deps_.store->epoch();
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t epoch, deps_.store->AdvanceEpoch());
  audit::AuditRecord record = NewRecord("epoch_advance", by.id, by.kind);
  record.outcome = "ok";
  record.reason = std::string(reason);
  record.details["old_epoch"] = old_epoch;
  record.details["new_epoch"] = epoch;
  ELASTOS_RETURN_IF_ERROR(Audit(record, true));
  return epoch;
}

Status CapabilityManager::RotateSigningKey(const Actor& by) {
  const auto next = crypto::Ed25519PrivateKey::Generate();
  std::string hex = identity::FormatPrivateKey(next);
  std::unique_lock lock(key_mu_);
  const std::string old_did = HexEncode(key_.public_key().bytes());
  // The new key is durable before it is used; if it cannot be written nothing changes.
  Status written = deps_.env->WriteFileAtomic(key_path_, AsBytes(hex), 0600);
  sodium_memzero(hex.data(), hex.size());
  ELASTOS_RETURN_IF_ERROR(written);
  key_ = next;
  for (Shard& shard : cache_) {
    std::lock_guard shard_lock(shard.mu);
    shard.digests.clear();
  }
  lock.unlock();
  audit::AuditRecord record = NewRecord("signing_key_rotation", by.id, by.kind);
  record.subject = "runtime_signing_key";
  record.outcome = "ok";
  record.details["old_key"] = old_did;
  record.details["new_key"] = HexEncode(next.public_key().bytes());
  return Audit(record, true);
}

}  // namespace elastos::runtime
