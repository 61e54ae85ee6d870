#include "runtime/audit/signing_chain.h"

#include "common/encoding.h"
#include "identity/did_key.h"

namespace elastos::audit {
namespace {

Status BadRecord(std::string message) {
  return InvalidArgument("audit_record_invalid", std::move(message));
}

Result<std::string> DetailString(const AuditRecord& r, std::string_view key) {
  const boost::json::value* v = r.details.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return BadRecord(std::string(r.type) + " record has no string details." + std::string(key));
  }
  return std::string(v->get_string());
}

Result<crypto::Ed25519PublicKey> DetailKey(const AuditRecord& r, std::string_view key) {
  ELASTOS_ASSIGN_OR_RETURN(std::string did, DetailString(r, key));
  auto decoded = identity::DidKeyDecode(did);
  if (!decoded.ok()) {
    return BadRecord(r.type + " record details." + std::string(key) + ": " +
                     decoded.status().message());
  }
  return *decoded;
}

}  // namespace

std::string OriginForKey(const crypto::Ed25519PublicKey& genesis_key) {
  return "elastos.audit/" + HexEncode(genesis_key.bytes()).substr(0, 16);
}

AuditRecord MakeInitRecord(const crypto::Ed25519PublicKey& key, std::int64_t time_unix) {
  AuditRecord r;
  r.type = std::string(kTypeLogInit);
  r.time_unix = time_unix;
  r.details["key"] = identity::DidKeyEncode(key);
  r.details["origin"] = OriginForKey(key);
  return r;
}

Result<Genesis> ParseInitRecord(const AuditRecord& record) {
  if (record.type != kTypeLogInit) {
    return BadRecord("the first record is of type '" + record.type + "', not log_init");
  }
  ELASTOS_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key, DetailKey(record, "key"));
  ELASTOS_ASSIGN_OR_RETURN(std::string origin, DetailString(record, "origin"));
  if (origin != OriginForKey(key)) {
    return BadRecord("log_init origin '" + origin + "' does not belong to its key (expected " +
                     OriginForKey(key) + ")");
  }
  return Genesis{key, std::move(origin)};
}

std::string RotationMessage(std::string_view origin, std::uint64_t tree_size, const Hash& root,
                            const crypto::Ed25519PublicKey& new_key) {
  return std::string(origin) + "\n" + std::to_string(tree_size) + "\n" + Base64Encode(root) + "\n" +
         Base64Encode(new_key.bytes()) + "\n";
}

AuditRecord MakeRotationRecord(std::string_view origin, std::uint64_t tree_size, const Hash& root,
                               const crypto::Ed25519PrivateKey& old_key,
                               const crypto::Ed25519PublicKey& new_key, std::int64_t time_unix,
                               std::uint64_t time_seq) {
  const std::string message = RotationMessage(origin, tree_size, root, new_key);
  const crypto::Ed25519Signature sig =
      crypto::SignWithDomain(old_key, kRotationDomain, AsBytes(message));
  AuditRecord r;
  r.type = std::string(kTypeKeyRotation);
  r.time_unix = time_unix;
  r.time_seq = time_seq;
  r.details["old_key"] = identity::DidKeyEncode(old_key.public_key());
  r.details["new_key"] = identity::DidKeyEncode(new_key);
  r.details["tree_size"] = tree_size;
  r.details["root"] = Base64Encode(root);
  r.details["signature"] = Base64UrlEncode(sig);
  return r;
}

Result<Rotation> ParseRotationRecord(const AuditRecord& record) {
  Rotation rot;
  ELASTOS_ASSIGN_OR_RETURN(rot.old_key, DetailKey(record, "old_key"));
  ELASTOS_ASSIGN_OR_RETURN(rot.new_key, DetailKey(record, "new_key"));
  const boost::json::value* size = record.details.if_contains("tree_size");
  if (size == nullptr || !(size->is_int64() || size->is_uint64()) ||
      (size->is_int64() && size->get_int64() < 0)) {
    return BadRecord("key_rotation record has no details.tree_size");
  }
  rot.tree_size =
      size->is_int64() ? static_cast<std::uint64_t>(size->get_int64()) : size->get_uint64();
  ELASTOS_ASSIGN_OR_RETURN(std::string root, DetailString(record, "root"));
  auto root_bytes = Base64Decode(root);
  if (!root_bytes.ok() || root_bytes->size() != rot.root.size()) {
    return BadRecord("key_rotation details.root is not base64 of 32 bytes");
  }
  std::copy(root_bytes->begin(), root_bytes->end(), rot.root.begin());
  ELASTOS_ASSIGN_OR_RETURN(std::string sig, DetailString(record, "signature"));
  auto sig_bytes = Base64UrlDecode(sig);
  if (!sig_bytes.ok()) return BadRecord("key_rotation details.signature is not base64url");
  rot.signature = std::move(*sig_bytes);
  return rot;
}

Status CheckRotation(const Rotation& rotation, std::string_view origin, std::uint64_t index,
                     const Hash& root, const crypto::Ed25519PublicKey& in_force) {
  if (rotation.old_key != in_force) {
    return Unauthenticated("rotation_wrong_key", "key_rotation names old key " +
                                                     identity::DidKeyEncode(rotation.old_key) +
                                                     " but the key in force is " +
                                                     identity::DidKeyEncode(in_force));
  }
  if (rotation.tree_size != index) {
    return Unauthenticated("rotation_wrong_size", "key_rotation says tree size " +
                                                      std::to_string(rotation.tree_size) +
                                                      " but is leaf " + std::to_string(index));
  }
  if (rotation.root != root) {
    return Unauthenticated(
        "rotation_wrong_root",
        "key_rotation's root does not match the tree before it: records before it were altered");
  }
  if (rotation.new_key == rotation.old_key) {
    return Unauthenticated("rotation_same_key", "key_rotation rotates to the same key");
  }
  if (!crypto::VerifyWithDomain(in_force, kRotationDomain,
                                AsBytes(RotationMessage(origin, index, root, rotation.new_key)),
                                rotation.signature)) {
    return Unauthenticated("rotation_signature", "key_rotation is not signed by the old key " +
                                                     identity::DidKeyEncode(in_force));
  }
  return OkStatus();
}

const crypto::Ed25519PublicKey& KeyChain::InForce(std::uint64_t tree_size) const {
  for (std::size_t i = epochs_.size(); i-- > 1;) {
    if (epochs_[i].from_size <= tree_size) return epochs_[i].key;
  }
  return epochs_[0].key;
}

std::optional<KeyEpoch> KeyChain::Find(const crypto::Ed25519PublicKey& key) const {
  for (const KeyEpoch& e : epochs_) {
    if (e.key == key) return e;
  }
  return std::nullopt;
}

std::string MakeCheckpointNote(const Checkpoint& checkpoint, const crypto::Ed25519PrivateKey& key) {
  return SignNote(checkpoint.Body(), checkpoint.origin, key);
}

Result<Checkpoint> CheckCheckpoint(std::string_view note, std::string_view origin,
                                   std::uint64_t expected_size, const Hash& expected_root,
                                   const KeyChain& chain, SignatureCheck signature) {
  auto parsed = ParseSignedNote(note);
  if (!parsed.ok()) return InvalidArgument("checkpoint_malformed", parsed.status().message());
  auto cp = ParseCheckpointBody(parsed->text);
  if (!cp.ok()) return InvalidArgument("checkpoint_malformed", cp.status().message());
  if (cp->origin != origin) {
    return Unauthenticated("checkpoint_origin", "checkpoint is for log '" + cp->origin +
                                                    "', not '" + std::string(origin) + "'");
  }
  const crypto::Ed25519PublicKey& key = chain.InForce(cp->size);
  if (Status s = signature == SignatureCheck::kVerify ? VerifyNote(*parsed, origin, key)
                                                       : OkStatus();
      !s.ok()) {
    return Unauthenticated("checkpoint_signature",
                           "checkpoint of size " + std::to_string(cp->size) +
                               " is not validly signed by the key in force at that size (" +
                               identity::DidKeyEncode(key) + "): " + s.message());
  }
  if (cp->size != expected_size) {
    return Unauthenticated("checkpoint_size", "checkpoint claims " + std::to_string(cp->size) +
                                                  " records but follows " +
                                                  std::to_string(expected_size) +
                                                  ": records were removed or inserted before it");
  }
  if (cp->root != expected_root) {
    return Unauthenticated("checkpoint_root",
                           "checkpoint root does not match the " + std::to_string(expected_size) +
                               " records before it: a record was altered, removed or reordered");
  }
  return *cp;
}

}  // namespace elastos::audit
