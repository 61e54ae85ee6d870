// How an audit log's signing key is established and handed on, and how checkpoints are made
// and checked against it.
//
// The first record of every log (leaf 0, type `log_init`) names the log's genesis key and its
// origin, `elastos.audit/<first 16 hex digits of the genesis public key>`. The origin never
// changes. A `key_rotation` record at leaf index N hands signing on to a new key: it carries
// the new key and an Ed25519 signature by the old key, made with crypto::SignWithDomain under
// kRotationDomain, over
//
//   <origin>\n<N>\n<base64 root of the first N leaves>\n<base64 new public key>\n
//
// Binding the root, not just N, is the lesson of journald's CVE-2023-31439: a later key must not
// be able to re-seal history from before its own rotation. Whoever holds only the new key
// cannot change any record before N without breaking the old key's signature over that root.
//
// The key in force for a checkpoint of tree size S is the key of the last rotation at an index
// below S (the genesis key if none): a checkpoint covers its rotation record only when signed by
// the rotation's new key, and a new key's checkpoint can never stand in for sizes before it.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/ed25519.h"
#include "runtime/audit/merkle.h"
#include "runtime/audit/note.h"
#include "runtime/audit/record.h"

namespace elastos::audit {

inline constexpr std::string_view kRotationDomain = "elastos.audit.rotate.v1";

std::string OriginForKey(const crypto::Ed25519PublicKey& genesis_key);

// The `log_init` record that starts a log signed by `key`.
AuditRecord MakeInitRecord(const crypto::Ed25519PublicKey& key, std::int64_t time_unix);
struct Genesis {
  crypto::Ed25519PublicKey key;
  std::string origin;
};
// Reads and checks leaf 0 (its origin must be OriginForKey(its key)).
Result<Genesis> ParseInitRecord(const AuditRecord& record);

std::string RotationMessage(std::string_view origin, std::uint64_t tree_size, const Hash& root,
                            const crypto::Ed25519PublicKey& new_key);
// The `key_rotation` record appended at leaf index `tree_size`, signed by `old_key`.
AuditRecord MakeRotationRecord(std::string_view origin, std::uint64_t tree_size, const Hash& root,
                               const crypto::Ed25519PrivateKey& old_key,
                               const crypto::Ed25519PublicKey& new_key, std::int64_t time_unix,
                               std::uint64_t time_seq);
struct Rotation {
  crypto::Ed25519PublicKey old_key;
  crypto::Ed25519PublicKey new_key;
  std::uint64_t tree_size = 0;
  Hash root{};
  Bytes signature;
};
Result<Rotation> ParseRotationRecord(const AuditRecord& record);
// Checks a rotation found at leaf `index` when the first `index` leaves have root `root` and
// `in_force` signs: the fields must match and the old key's signature must verify.
[[nodiscard]] Status CheckRotation(const Rotation& rotation, std::string_view origin,
                                   std::uint64_t index, const Hash& root,
                                   const crypto::Ed25519PublicKey& in_force);

struct KeyEpoch {
  crypto::Ed25519PublicKey key;
  std::uint64_t from_size = 0;  // the key signs checkpoints of this size and larger
};

class KeyChain {
 public:
  explicit KeyChain(const crypto::Ed25519PublicKey& genesis) : epochs_{{genesis, 0}} {}
  // A rotation record at leaf index `index` (so it is in force from size index + 1).
  void Rotate(const crypto::Ed25519PublicKey& new_key, std::uint64_t index) {
    epochs_.push_back({new_key, index + 1});
  }
  const crypto::Ed25519PublicKey& InForce(std::uint64_t tree_size) const;
  const crypto::Ed25519PublicKey& current() const { return epochs_.back().key; }
  const std::vector<KeyEpoch>& epochs() const { return epochs_; }
  // The epoch of `key`, if it is in the chain.
  std::optional<KeyEpoch> Find(const crypto::Ed25519PublicKey& key) const;

 private:
  std::vector<KeyEpoch> epochs_;
};

// The signed note of a checkpoint (origin, size, root) by `key`, with key name = origin.
std::string MakeCheckpointNote(const Checkpoint& checkpoint, const crypto::Ed25519PrivateKey& key);
// Whether CheckCheckpoint verifies the note's signature. Recovery defers it: the latest
// checkpoint's signature, over a root that matches every record before it, vouches for all of
// them, so checking each earlier signature again on every open would only cost time
// (`elastos audit verify` checks every one).
enum class SignatureCheck { kVerify, kSkip };

// Parses a checkpoint frame's note and checks it is this log's (origin), of `expected_size`
// with `expected_root`, and (kVerify) signed by the key in force at that size. Reasons:
// checkpoint_malformed, checkpoint_origin, checkpoint_size, checkpoint_root, checkpoint_signature.
Result<Checkpoint> CheckCheckpoint(std::string_view note, std::string_view origin,
                                   std::uint64_t expected_size, const Hash& expected_root,
                                   const KeyChain& chain,
                                   SignatureCheck signature = SignatureCheck::kVerify);

}  // namespace elastos::audit
