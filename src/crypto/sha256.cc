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
}  // namespace

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (ctx_->md == nullptr) std::abort();
  Check(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr));
}

Sha256::~Sha256() = default;

void Sha256::Update(ByteView data) { Check(EVP_DigestUpdate(ctx_->md, data.data(), data.size())); }

Digest256 Sha256::Final() {
  Digest256 out;
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(ctx_->md, out.data(), &len));
  Check(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr));
  return out;
}

Digest256 Sha256::Hash(ByteView data) {
  Digest256 out;
  unsigned int len = 0;
  Check(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr));
  return out;
}

}  // namespace elastos::crypto
