// Publisher key files (DESIGN.md §3): `private.key` = the 32-byte Ed25519 seed as 64 lowercase hex
// characters and a newline, mode 0600; `public.did` = the did:key and a newline.
#pragma once

#include <filesystem>
#include <string>

#include "common/env.h"
#include "common/status.h"
#include "crypto/ed25519.h"

namespace elastos::identity {

// Writes DIR/private.key (0600) and DIR/public.did, creating DIR (0700) if needed. Refuses to
// replace an existing key: losing a publisher key silently is not recoverable.
[[nodiscard]] Status WriteKeyPair(const std::filesystem::path& dir, const crypto::Ed25519PrivateKey& key);

// The key file's text: 64 lowercase hex characters of the seed and a newline. The caller wipes
// the returned string (sodium_memzero) when done with it.
std::string FormatPrivateKey(const crypto::Ed25519PrivateKey& key);
// Parses that text (the trailing newline is optional). reason: bad_key_file.
Result<crypto::Ed25519PrivateKey> ParsePrivateKey(ByteView text);

// Reads the key file at `path` through `env`, or creates one (0600, durably) with a fresh key
// if there is none: the runtime's own signing and audit keys.
Result<crypto::Ed25519PrivateKey> LoadOrCreatePrivateKey(Env& env, const std::filesystem::path& path);

// A public key as a user types it: a did:key, 64 hex characters, or base64 (standard or url
// alphabet) of the 32 bytes. reason: bad_public_key.
Result<crypto::Ed25519PublicKey> ParsePublicKey(std::string_view text);

// Reads a private.key file. Refuses a file that group or others can read (like ssh does), since
// whoever reads it can publish capsules in the owner's name.
Result<crypto::Ed25519PrivateKey> ReadPrivateKey(const std::filesystem::path& path);

}  // namespace elastos::identity
