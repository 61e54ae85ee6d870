#include "crypto/aead.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "crypto/ed25519.h"

namespace elastos::crypto {
namespace {

constexpr std::string_view kMagic = "ELSEAL01";
constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

Status Failed(const char* what) { return Internal("aead_failed", std::string("AES-256-GCM ") + what + " failed"); }

}  // namespace

bool LooksSealed(ByteView data) {
  return data.size() >= kSealOverhead && std::memcmp(data.data(), kMagic.data(), kMagic.size()) == 0;
}

Result<Bytes> Seal(const AeadKey& key, ByteView plaintext, std::string_view aad) {
  Bytes out(kMagic.size() + kNonce + plaintext.size() + kTag);
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  std::uint8_t* nonce = out.data() + kMagic.size();
  RandomBytes(std::span<std::uint8_t>(nonce, kNonce));
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1) {
    return Failed("init");
  }
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                                        static_cast<int>(aad.size())) != 1) {
    return Failed("aad");
  }
  std::uint8_t* ct = nonce + kNonce;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) {
    return Failed("update");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1) return Failed("final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, ct + plaintext.size()) != 1) {
    return Failed("tag");
  }
  return out;
}

Result<Bytes> Open(const AeadKey& key, ByteView sealed, std::string_view aad) {
  if (!LooksSealed(sealed)) {
    return FailedPrecondition("not_sealed", "the data is not in sealed form");
  }
  const std::uint8_t* nonce = sealed.data() + kMagic.size();
  const std::uint8_t* ct = nonce + kNonce;
  const std::size_t n = sealed.size() - kSealOverhead;
  Bytes tag(ct + n, ct + n + kTag);
  Bytes out(n);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1) {
    return Failed("init");
  }
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                                        static_cast<int>(aad.size())) != 1) {
    return Failed("aad");
  }
  if (n > 0 && EVP_DecryptUpdate(ctx.get(), out.data(), &len, ct, static_cast<int>(n)) != 1) {
    return Failed("update");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1) return Failed("tag");
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &len) != 1) {
    return PermissionDenied("seal_broken", "the sealed data does not authenticate: it was changed, "
                                           "moved to another path, or sealed under another key");
  }
  return out;
}

}  // namespace elastos::crypto
