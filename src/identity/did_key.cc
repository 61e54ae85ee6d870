#include "identity/did_key.h"

#include <fmt/format.h>

#include "common/encoding.h"

namespace elastos::identity {
namespace {
constexpr std::string_view kPrefix = "did:key:";
constexpr std::uint64_t kEd25519PubMulticodec = 0xed;
}  // namespace

std::string DidKeyEncode(const crypto::Ed25519PublicKey& key) {
  Bytes bytes;
  AppendVarint(bytes, kEd25519PubMulticodec);
  Append(bytes, key.bytes());
  return std::string(kPrefix) + MultibaseEncode(Multibase::kBase58Btc, bytes);
}

Result<crypto::Ed25519PublicKey> DidKeyDecode(std::string_view did) {
  if (!did.starts_with(kPrefix)) {
    return InvalidArgument("bad_did_key", "'" + std::string(did) + "' is not a did:key (must start with 'did:key:')");
  }
  const std::string_view mb = did.substr(kPrefix.size());
  if (mb.empty() || mb[0] != 'z') {
    return InvalidArgument("bad_did_key", "did:key must use base58btc multibase ('z' prefix)");
  }
  ELASTOS_ASSIGN_OR_RETURN(MultibaseDecoded decoded, MultibaseDecode(mb));
  ByteView rest = decoded.bytes;
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t codec, ReadVarint(rest));
  if (codec != kEd25519PubMulticodec) {
    return InvalidArgument("unsupported_did_key", fmt::format("did:key multicodec {:#x} is not ed25519-pub (0xed); only Ed25519 keys are supported", codec));
  }
  if (rest.size() != crypto::Ed25519PublicKey::kSize) {
    return InvalidArgument("bad_did_key", "did:key Ed25519 key must be 32 bytes, got " + std::to_string(rest.size()));
  }
  return crypto::Ed25519PublicKey::FromBytes(rest);
}

}  // namespace elastos::identity
