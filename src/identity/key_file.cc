#include "identity/key_file.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/encoding.h"
#include "common/file_util.h"
#include "identity/did_key.h"

namespace elastos::identity {

std::string FormatPrivateKey(const crypto::Ed25519PrivateKey& key) { return HexEncode(key.seed()) + "\n"; }

Result<crypto::Ed25519PrivateKey> ParsePrivateKey(ByteView text) {
  std::string_view body = AsChars(text);
  if (body.ends_with('\n')) body.remove_suffix(1);
  Result<Bytes> seed = InvalidArgument("bad_key_file", "");
  if (body.size() == 64) seed = HexDecode(body);
  if (!seed.ok()) {
    return InvalidArgument("bad_key_file", "a private key file holds 64 hex characters (an Ed25519 seed) and a newline");
  }
  auto key = crypto::Ed25519PrivateKey::FromSeed(*seed);
  sodium_memzero(seed->data(), seed->size());
  return key;
}

Result<crypto::Ed25519PrivateKey> LoadOrCreatePrivateKey(Env& env, const std::filesystem::path& path) {
  if (!env.Exists(path)) {
    const auto key = crypto::Ed25519PrivateKey::Generate();
    std::string hex = FormatPrivateKey(key);
    const Status s = env.WriteFileAtomic(path, AsBytes(hex), 0600);
    sodium_memzero(hex.data(), hex.size());
    ELASTOS_RETURN_IF_ERROR(s);
    return key;
  }
  ELASTOS_ASSIGN_OR_RETURN(Bytes text, env.ReadFile(path, 256));
  auto key = ParsePrivateKey(text);
  sodium_memzero(text.data(), text.size());
  if (!key.ok()) return key.status().WithContext(path.string());
  return key;
}

Result<crypto::Ed25519PublicKey> ParsePublicKey(std::string_view text) {
  if (text.starts_with("did:key:")) return DidKeyDecode(text);
  Result<Bytes> bytes = InvalidArgument("bad_public_key", "");
  if (text.size() == 64) bytes = HexDecode(text);
  if (!bytes.ok()) bytes = Base64Decode(text);
  if (!bytes.ok()) bytes = Base64UrlDecode(text);
  if (!bytes.ok() || bytes->size() != crypto::Ed25519PublicKey::kSize) {
    return InvalidArgument("bad_public_key",
                           "a public key is a did:key:z6Mk…, 64 hex characters, or base64 of 32 bytes");
  }
  return crypto::Ed25519PublicKey::FromBytes(*bytes);
}

Status WriteKeyPair(const std::filesystem::path& dir, const crypto::Ed25519PrivateKey& key) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("create directory " + dir.string(), ec.value());
  const auto private_path = dir / "private.key";
  const auto public_path = dir / "public.did";
  for (const auto& p : {private_path, public_path}) {
    if (std::filesystem::exists(std::filesystem::symlink_status(p))) {
      return FailedPrecondition("already_exists", p.string() +
                                                      " already exists; refusing to overwrite a key (choose another --out directory)");
    }
  }
  std::string hex = FormatPrivateKey(key);
  Status s = WriteFileAtomic(private_path, AsBytes(hex), 0600, Overwrite::kRefuse);
  sodium_memzero(hex.data(), hex.size());
  ELASTOS_RETURN_IF_ERROR(s);
  return WriteFileAtomic(public_path, AsBytes(DidKeyEncode(key.public_key()) + "\n"), 0644,
                         Overwrite::kRefuse);
}

Result<crypto::Ed25519PrivateKey> ReadPrivateKey(const std::filesystem::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return IoError("private key " + path.string(), errno);
  if ((st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return PermissionDenied("key_file_mode", "private key " + path.string() + " is accessible by others (mode " +
                                                 mode + "); run: chmod 600 " + path.string());
  }
  ELASTOS_ASSIGN_OR_RETURN(Bytes text, ReadFileLimited(path, 256));
  auto key = ParsePrivateKey(text);
  sodium_memzero(text.data(), text.size());
  if (!key.ok()) return key.status().WithContext("private key " + path.string());
  return key;
}

}  // namespace elastos::identity
