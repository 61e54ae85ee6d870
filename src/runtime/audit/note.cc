#include "runtime/audit/note.h"

#include <charconv>

#include "common/encoding.h"
#include "crypto/sha256.h"

namespace elastos::audit {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::size_t kMaxNoteSize = 1 << 20;
constexpr std::size_t kMaxSignatures = 100;
constexpr std::uint8_t kAlgEd25519 = 0x01;

// Valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) with no control character
// below U+0020 other than newline: what the signed-note spec allows.
bool IsNoteText(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<std::uint8_t>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\n') return false;
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t j = 1; j < len; ++j) {
      const auto cc = static_cast<std::uint8_t>(s[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool IsKeyName(std::string_view name) {
  return !name.empty() && name.find_first_of(" +\n") == std::string_view::npos;
}

Status Malformed(std::string message) {
  return InvalidArgument("note_malformed", std::move(message));
}

}  // namespace

KeyId NoteKeyId(std::string_view key_name, const crypto::Ed25519PublicKey& key) {
  crypto::Sha256 h;
  h.Update(AsBytes(key_name));
  const std::uint8_t sep[2] = {'\n', kAlgEd25519};
  h.Update(sep);
  h.Update(key.bytes());
  const crypto::Digest256 d = h.Final();
  return {d[0], d[1], d[2], d[3]};
}

std::string NoteVerifierKey(std::string_view key_name, const crypto::Ed25519PublicKey& key) {
  Bytes typed{kAlgEd25519};
  Append(typed, key.bytes());
  return std::string(key_name) + "+" + HexEncode(NoteKeyId(key_name, key)) + "+" +
         Base64Encode(typed);
}

std::string SignNote(std::string_view text, std::string_view key_name,
                     const crypto::Ed25519PrivateKey& key) {
  const crypto::Ed25519Signature sig = key.Sign(AsBytes(text));
  Bytes blob;
  Append(blob, NoteKeyId(key_name, key.public_key()));
  Append(blob, sig);
  std::string out(text);
  out += '\n';
  out += kSigPrefix;
  out += key_name;
  out += ' ';
  out += Base64Encode(blob);
  out += '\n';
  return out;
}

Result<SignedNote> ParseSignedNote(std::string_view note) {
  if (note.size() > kMaxNoteSize) return Malformed("signed note is larger than 1 MiB");
  if (!IsNoteText(note)) {
    return Malformed("signed note is not UTF-8 text without control characters");
  }
  const std::size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Malformed("signed note has no blank line before its signatures");
  }
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return Malformed("signed note has no signature lines");
  while (!sigs.empty()) {
    const std::size_t eol = sigs.find('\n');
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (out.signatures.size() == kMaxSignatures) {
      return Malformed("signed note has more than 100 signatures");
    }
    if (!line.starts_with(kSigPrefix)) {
      return Malformed("signature line does not start with an em dash and a space");
    }
    line.remove_prefix(kSigPrefix.size());
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return Malformed("signature line has no signature");
    NoteSignature sig;
    sig.key_name = std::string(line.substr(0, space));
    if (!IsKeyName(sig.key_name)) return Malformed("signature line has a bad key name");
    auto blob = Base64Decode(line.substr(space + 1));
    if (!blob.ok() || blob->size() < 5) {
      return Malformed("signature line's signature is not base64 of a key id and a signature");
    }
    std::copy(blob->begin(), blob->begin() + 4, sig.key_id.begin());
    sig.signature.assign(blob->begin() + 4, blob->end());
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

Status VerifyNote(const SignedNote& note, std::string_view key_name,
                  const crypto::Ed25519PublicKey& key) {
  const KeyId id = NoteKeyId(key_name, key);
  for (const NoteSignature& sig : note.signatures) {
    if (sig.key_name != key_name || sig.key_id != id) continue;
    if (!key.Verify(AsBytes(note.text), sig.signature)) {
      return Unauthenticated("note_signature_invalid",
                             "the signature of '" + std::string(key_name) + "' does not verify");
    }
    return OkStatus();
  }
  return Unauthenticated("note_not_signed", "no signature by key '" + std::string(key_name) + "+" +
                                                HexEncode(id) + "'");
}

std::string Checkpoint::Body() const {
  return origin + "\n" + std::to_string(size) + "\n" + Base64Encode(root) + "\n";
}

Result<Checkpoint> ParseCheckpointBody(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return Malformed("checkpoint body does not end in a newline");
  }
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 1);
  }
  if (lines.size() < 3) return Malformed("checkpoint body has fewer than three lines");
  Checkpoint cp;
  if (lines[0].empty()) return Malformed("checkpoint origin is empty");
  cp.origin = std::string(lines[0]);
  const std::string_view size = lines[1];
  const bool canonical = !size.empty() && (size == "0" || size[0] != '0');
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), cp.size);
  if (!canonical || ec != std::errc() || end != size.data() + size.size()) {
    return Malformed("checkpoint tree size '" + std::string(size) + "' is not a decimal number");
  }
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != cp.root.size()) {
    return Malformed("checkpoint root is not base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), cp.root.begin());
  return cp;
}

}  // namespace elastos::audit
