#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace elastos::crypto {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

namespace {
// OpenSSL fails these calls only on allocation failure or a broken build; a hash that silently
// did not happen would corrupt identities, so stop instead of returning a wrong digest.
void Check(int ok) {
  if (ok != 1) std::abort();
}

// Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up on every init, which
// costs more than hashing a token.
const EVP_MD* Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) std::abort();
    return m;
  }();
  return md;
}
}  // namespace

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (ctx_->md == nullptr) std::abort();
  Check(EVP_DigestInit_ex2(ctx_->md, Md(), nullptr));
}

Sha256::~Sha256() = default;

void Sha256::Update(ByteView data) { Check(EVP_DigestUpdate(ctx_->md, data.data(), data.size())); }

Digest256 Sha256::Final() {
  Digest256 out;
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(ctx_->md, out.data(), &len));
  Check(EVP_DigestInit_ex2(ctx_->md, Md(), nullptr));
  return out;
}

Digest256 Sha256::Hash(ByteView data) {
  // One context per thread, reused: small inputs (tokens, blocks' CIDs) are hashed often.
  thread_local Sha256 hasher;
  hasher.Update(data);
  return hasher.Final();
}

}  // namespace elastos::crypto
