// Signed notes (https://c2sp.org/signed-note) and transparency-log checkpoints
// (https://c2sp.org/tlog-checkpoint), Ed25519 only.
//
//   <origin>\n<tree size, decimal>\n<base64 root hash>\n      ← the checkpoint body (the note text)
//   \n
//   — <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the text)>\n
//
// key id = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[0:4]. The signature is plain
// Ed25519 over the note text, as the spec requires, so standard verifiers and witnesses (Go's
// golang.org/x/mod/sumdb/note, Sigstore, …) accept our checkpoints. That is domain-separated by
// construction: a note text starts with the log's origin line and ends in a newline, which no
// SHA-256 digest made by crypto::SignWithDomain can be.
//
// Thread-safety: values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/ed25519.h"
#include "runtime/audit/merkle.h"

namespace elastos::audit {

using KeyId = std::array<std::uint8_t, 4>;

KeyId NoteKeyId(std::string_view key_name, const crypto::Ed25519PublicKey& key);
// The verifier-key text `<name>+<hex key id>+<base64(0x01 || public key)>` that note tools take.
std::string NoteVerifierKey(std::string_view key_name, const crypto::Ed25519PublicKey& key);

struct NoteSignature {
  std::string key_name;
  KeyId key_id{};
  Bytes signature;  // what follows the key id; 64 bytes for Ed25519
};

struct SignedNote {
  std::string text;  // includes its final newline
  std::vector<NoteSignature> signatures;
};

// Returns text + "\n" + one signature line by `key` under `key_name`. `text` must be non-empty,
// end in a newline and contain no blank line or control character.
std::string SignNote(std::string_view text, std::string_view key_name,
                     const crypto::Ed25519PrivateKey& key);

// Splits a note into text and signature lines, checking the syntax the spec requires (UTF-8
// without control characters other than newline, well-formed signature lines, at most 100).
// Signatures are not checked here.
Result<SignedNote> ParseSignedNote(std::string_view note);

// OK iff the note carries a signature line from (key_name, key) and it verifies. Other lines
// (a witness's cosignature, say) are ignored, as the spec allows; a line that claims to be from
// this key but does not verify is an error.
[[nodiscard]] Status VerifyNote(const SignedNote& note, std::string_view key_name,
                                const crypto::Ed25519PublicKey& key);

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
  // The body (the note text): origin, size and root, each ending in a newline.
  std::string Body() const;
  bool operator==(const Checkpoint&) const = default;
};

// Parses a checkpoint body. Extension lines after the root are accepted and ignored; the size
// must be canonical decimal (no sign, no leading zeros) so one checkpoint has one spelling.
Result<Checkpoint> ParseCheckpointBody(std::string_view text);

}  // namespace elastos::audit
