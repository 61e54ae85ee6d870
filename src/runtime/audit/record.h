// One audit record: what happened, when, who did it, to what, and how it ended.
//
// A record is stored as canonical JSON (common/canonical_json.h: sorted keys, no whitespace,
// integers only), so one record has exactly one byte sequence and that is what the Merkle tree
// hashes. Empty strings and an empty `details` are omitted. Version 1 looks like
//
//   {"action":"read","actor":"cap-7f3a","actor_kind":"capsule","details":{"token_id":"…"},
//    "outcome":"denied","reason":"token_expired","resource":"localhost://Users/alice/*",
//    "subject":"tok-5c1e…","time_seq":3,"time_unix":1700000000,"type":"validate","v":1}
//
// Records name token ids, never token bytes: the log is readable by operators and tools, and a
// token is a bearer credential.
//
// Thread-safety: values.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace elastos::audit {

// The record schema this code writes and reads. A newer one is refused, not misread.
inline constexpr std::int64_t kRecordVersion = 1;

// Types the log writes itself; Append refuses them from callers, since a forged key rotation
// would hijack the log's signing chain.
inline constexpr std::string_view kTypeLogInit = "log_init";
inline constexpr std::string_view kTypeKeyRotation = "key_rotation";

enum class ActorKind { kRuntime, kHuman, kAgent, kCapsule };
std::string_view ActorKindName(ActorKind kind);
Result<ActorKind> ParseActorKind(std::string_view name);

struct AuditRecord {
  std::string
      type;  // grant, validate, delegate, revoke, epoch_advance, key_rotation, capsule_verify, …
  std::int64_t time_unix = 0;  // 0: the log stamps it (see AuditLog::Append)
  std::uint64_t time_seq = 0;  // orders records within one second
  std::string actor;  // who: a capsule instance id, a user, an agent id; empty for the runtime
  ActorKind actor_kind = ActorKind::kRuntime;
  std::string subject;          // what was acted on by id: a token id, capsule id, session id
  std::string resource;         // a resource URI
  std::string action;           // read, write, execute, message, delete, admin
  std::string outcome = "ok";   // ok | denied | error
  std::string reason;           // a stable reason word for denied/error (token_expired, …)
  boost::json::object details;  // anything else; integers and strings only (no floats)

  // Checks the fields (type `[a-z][a-z0-9_.]{0,63}`, outcome one of the three words).
  [[nodiscard]] Status Validate() const;
  // The canonical JSON form (validates first).
  Result<std::string> ToCanonicalJson() const;
  // Parses a stored record: canonical JSON, schema version 1, known fields only.
  static Result<AuditRecord> Parse(std::string_view canonical_json);

  bool operator==(const AuditRecord&) const = default;
};

}  // namespace elastos::audit
