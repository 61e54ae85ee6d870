// Content identifiers (CIDs): the names of blocks.
//
// A CID names a block by the SHA-256 of its bytes plus the codec that says how to interpret them.
// We support exactly what IPFS produces for files and directories:
//
//   CIDv0  = the multihash 0x12 0x20 <32-byte sha2-256 digest>; codec dag-pb implied;
//            text form base58btc without a multibase prefix ("Qm…", 46 characters).
//   CIDv1  = varint(1) varint(codec) 0x12 0x20 <digest>; text form multibase, base32 by default
//            ("bafy…" for dag-pb, "bafk…" for raw).
//
// Other hash functions, digest lengths and CID versions are refused ("cid_unsupported") rather
// than carried opaquely: a CID we cannot verify is a name we cannot trust. Parsing is strict —
// one binary encoding per CID (minimal varints, no trailing bytes) — because CIDs are signed.
// The layout is written down in docs/formats/cid.md.
//
// Thread-safety: a value type; safe to copy and share between threads.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/encoding.h"
#include "common/status.h"
#include "crypto/sha256.h"

namespace elastos::ipld {

// Multicodec codes. Other values parse (the hash is what we verify) but only these three have
// meaning to the rest of ElastOS.
enum class Codec : std::uint64_t { kRaw = 0x55, kDagPb = 0x70, kDagCbor = 0x71 };

// The multihash code of sha2-256 and its digest length: the only hash we accept.
inline constexpr std::uint64_t kSha256MultihashCode = 0x12;
inline constexpr std::size_t kSha256DigestSize = 32;

class Cid {
 public:
  // A placeholder (CIDv1, raw, all-zero digest) so Cid can live in default-constructed structs.
  // It names no block anyone can produce.
  Cid() = default;

  static Cid V0(const crypto::Digest256& sha256);  // dag-pb, sha2-256
  static Cid V1(Codec codec, const crypto::Digest256& sha256);
  // The CID of `block` (hashes it). Version 0 requires codec dag-pb (else it yields V1).
  static Cid ForBlock(int version, Codec codec, ByteView block);

  // "Qm…" (v0) or a multibase string of a v1 CID ('b' base32, 'z' base58btc, 'f', 'u', 'm').
  static Result<Cid> Parse(std::string_view text);
  // The whole buffer must be exactly one binary CID.
  static Result<Cid> FromBytes(ByteView bytes);
  // Reads one binary CID from the front of `in` and advances `in` past it (used by CAR).
  static Result<Cid> ReadPrefix(ByteView& in);

  int version() const { return version_; }
  Codec codec() const { return codec_; }
  const crypto::Digest256& digest() const { return digest_; }

  // v0: the 34-byte multihash; v1: varint(1) varint(codec) multihash.
  Bytes ToBytes() const;
  void AppendBytes(Bytes& out) const;
  std::size_t EncodedSize() const;  // == ToBytes().size()

  // v0: base58btc "Qm…"; v1: base32 "b…".
  std::string ToString() const;
  // v1 in the given multibase. A v0 CID has no multibase form (the CID spec forbids it), so
  // for v0 this returns ToString() whatever `base` says.
  std::string ToString(Multibase base) const;

  // The same digest and codec as a v1 CID (v0 dag-pb becomes v1 dag-pb).
  Cid ToV1() const { return V1(codec_, digest_); }

  // OK iff SHA-256(block) == digest(); else invalid_argument, reason "block_hash_mismatch".
  [[nodiscard]] Status VerifyBlock(ByteView block) const;

  // Orders by version, then codec, then digest: a total order, so Cid is a std::map key.
  friend auto operator<=>(const Cid&, const Cid&) = default;

 private:
  Cid(int version, Codec codec, const crypto::Digest256& digest)
      : version_(version), codec_(codec), digest_(digest) {}

  int version_ = 1;
  Codec codec_ = Codec::kRaw;
  crypto::Digest256 digest_{};
};

// Largest binary CID we produce or accept: varint(1) + 9-byte codec varint + 0x12 0x20 + digest.
inline constexpr std::size_t kMaxCidSize = 1 + 9 + 2 + kSha256DigestSize;

}  // namespace elastos::ipld

template <>
struct std::hash<elastos::ipld::Cid> {
  std::size_t operator()(const elastos::ipld::Cid& cid) const noexcept;
};
