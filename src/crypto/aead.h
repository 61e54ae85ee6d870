// AES-256-GCM (OpenSSL EVP), for sealing data at rest. The runtime seals; capsules and providers
// never see the key (DESIGN.md §7: crypto a capsule needs is asked of the runtime).
//
// Sealed form: "ELSEAL01" (8 bytes) || nonce (12, random per seal) || ciphertext || tag (16).
// `aad` is authenticated but not stored: binding a sealed file to its path means a provider that
// swaps two files (or replays an old one under another name) is caught at open.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos::crypto {

inline constexpr std::size_t kSealOverhead = 8 + 12 + 16;
using AeadKey = std::array<std::uint8_t, 32>;

// Encrypts `plaintext` under `key` with a fresh random nonce.
Result<Bytes> Seal(const AeadKey& key, ByteView plaintext, std::string_view aad);
// Decrypts and authenticates. Errors: failed_precondition/`not_sealed` (no magic: a file written
// before sealing was turned on, or by someone else), permission_denied/`seal_broken` (wrong key,
// wrong `aad`, or any bit changed).
Result<Bytes> Open(const AeadKey& key, ByteView sealed, std::string_view aad);
// Whether `data` starts with the sealed-form magic.
bool LooksSealed(ByteView data);

}  // namespace elastos::crypto
