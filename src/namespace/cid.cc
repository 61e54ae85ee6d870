#include "namespace/cid.h"

#include <cstring>

namespace elastos::ipld {
namespace {

constexpr std::size_t kV0Size = 2 + kSha256DigestSize;
constexpr std::size_t kV0TextSize = 46;

Status Invalid(std::string message) { return InvalidArgument("cid_invalid", std::move(message)); }
Status Unsupported(std::string message) {
  return InvalidArgument("cid_unsupported", std::move(message));
}

// Reads the sha2-256 multihash that ends every CID we accept.
Result<crypto::Digest256> ReadMultihash(ByteView& in) {
  auto code = ReadVarint(in);
  if (!code.ok()) return Invalid("multihash code: " + code.status().message());
  if (*code != kSha256MultihashCode) {
    return Unsupported("multihash code " + std::to_string(*code) +
                       " is not sha2-256 (18); only sha2-256 CIDs are supported");
  }
  auto length = ReadVarint(in);
  if (!length.ok()) return Invalid("multihash length: " + length.status().message());
  if (*length != kSha256DigestSize) {
    return Invalid("sha2-256 multihash has length " + std::to_string(*length) + ", not 32");
  }
  if (in.size() < kSha256DigestSize) return Invalid("multihash digest is truncated");
  crypto::Digest256 digest;
  std::memcpy(digest.data(), in.data(), digest.size());
  in = in.subspan(digest.size());
  return digest;
}

}  // namespace

Cid Cid::V0(const crypto::Digest256& sha256) { return Cid(0, Codec::kDagPb, sha256); }

Cid Cid::V1(Codec codec, const crypto::Digest256& sha256) { return Cid(1, codec, sha256); }

Cid Cid::ForBlock(int version, Codec codec, ByteView block) {
  const crypto::Digest256 digest = crypto::Sha256::Hash(block);
  return version == 0 && codec == Codec::kDagPb ? V0(digest) : V1(codec, digest);
}

Result<Cid> Cid::ReadPrefix(ByteView& in) {
  ByteView rest = in;
  // CIDv0 is a bare multihash; 0x12 can never start a v1 CID (there is deliberately no CIDv18).
  if (!rest.empty() && rest[0] == kSha256MultihashCode) {
    ELASTOS_ASSIGN_OR_RETURN(crypto::Digest256 digest, ReadMultihash(rest));
    in = rest;
    return V0(digest);
  }
  auto version = ReadVarint(rest);
  if (!version.ok()) return Invalid("CID version: " + version.status().message());
  if (*version != 1) {
    return Unsupported("CID version " + std::to_string(*version) +
                       " is not supported (only 0 and 1)");
  }
  auto codec = ReadVarint(rest);
  if (!codec.ok()) return Invalid("CID codec: " + codec.status().message());
  ELASTOS_ASSIGN_OR_RETURN(crypto::Digest256 digest, ReadMultihash(rest));
  in = rest;
  return V1(static_cast<Codec>(*codec), digest);
}

Result<Cid> Cid::FromBytes(ByteView bytes) {
  ByteView rest = bytes;
  ELASTOS_ASSIGN_OR_RETURN(Cid cid, ReadPrefix(rest));
  if (!rest.empty()) {
    return Invalid(std::to_string(rest.size()) + " unexpected bytes after the CID");
  }
  return cid;
}

Result<Cid> Cid::Parse(std::string_view text) {
  if (text.size() == kV0TextSize && text.starts_with("Qm")) {
    auto bytes = Base58BtcDecode(text);
    if (!bytes.ok()) return Invalid("'" + std::string(text) + "' is not valid base58btc");
    if (bytes->size() != kV0Size) return Invalid("'" + std::string(text) + "' is not a CIDv0");
    auto cid = FromBytes(*bytes);
    if (!cid.ok()) return cid.status().WithContext(std::string(text));
    return cid;
  }
  if (text.empty()) return Invalid("empty CID");
  auto decoded = MultibaseDecode(text);
  if (!decoded.ok()) {
    return Invalid("'" + std::string(text) + "' is neither a CIDv0 (Qm…) nor a multibase CIDv1 (" +
                   decoded.status().message() + ")");
  }
  // The CID spec forbids multibase-encoding a CIDv0; accepting it would give v0 a second
  // spelling.
  if (!decoded->bytes.empty() && decoded->bytes[0] == kSha256MultihashCode) {
    return Invalid("'" + std::string(text) +
                   "' is a multibase-encoded CIDv0, which the CID spec forbids");
  }
  auto cid = FromBytes(decoded->bytes);
  if (!cid.ok()) return cid.status().WithContext(std::string(text));
  return cid;
}

std::size_t Cid::EncodedSize() const {
  const std::size_t multihash = 2 + kSha256DigestSize;
  if (version_ == 0) return multihash;
  return VarintSize(1) + VarintSize(static_cast<std::uint64_t>(codec_)) + multihash;
}

void Cid::AppendBytes(Bytes& out) const {
  if (version_ != 0) {
    AppendVarint(out, 1);
    AppendVarint(out, static_cast<std::uint64_t>(codec_));
  }
  out.push_back(static_cast<std::uint8_t>(kSha256MultihashCode));
  out.push_back(static_cast<std::uint8_t>(kSha256DigestSize));
  out.insert(out.end(), digest_.begin(), digest_.end());
}

Bytes Cid::ToBytes() const {
  Bytes out;
  out.reserve(EncodedSize());
  AppendBytes(out);
  return out;
}

std::string Cid::ToString() const {
  if (version_ == 0) return Base58BtcEncode(ToBytes());
  return MultibaseEncode(Multibase::kBase32, ToBytes());
}

std::string Cid::ToString(Multibase base) const {
  if (version_ == 0) return ToString();
  return MultibaseEncode(base, ToBytes());
}

Status Cid::VerifyBlock(ByteView block) const {
  if (crypto::Sha256::Hash(block) == digest_) return OkStatus();
  return InvalidArgument("block_hash_mismatch", "block of " + std::to_string(block.size()) +
                                                    " bytes does not hash to " + ToString());
}

}  // namespace elastos::ipld

std::size_t std::hash<elastos::ipld::Cid>::operator()(
    const elastos::ipld::Cid& cid) const noexcept {
  // The digest is already uniformly distributed; fold in codec and version so v0/v1 and
  // raw/dag-pb names of one block land in different buckets.
  std::size_t h;
  std::memcpy(&h, cid.digest().data(), sizeof(h));
  return h ^ (static_cast<std::size_t>(cid.codec()) * 0x9E3779B97F4A7C15ull) ^
         static_cast<std::size_t>(cid.version());
}
