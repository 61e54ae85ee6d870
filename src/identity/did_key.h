// did:key identifiers for Ed25519 public keys (https://w3c-ccg.github.io/did-method-key/):
// "did:key:z" + base58btc(varint(0xed) || 32-byte key), always "did:key:z6Mk…".
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/ed25519.h"

namespace elastos::identity {

std::string DidKeyEncode(const crypto::Ed25519PublicKey& key);

// Accepts only the Ed25519 multicodec (0xed) with a 32-byte key in base58btc; any other
// multicodec, multibase or length is refused with a message saying which.
Result<crypto::Ed25519PublicKey> DidKeyDecode(std::string_view did);

}  // namespace elastos::identity
