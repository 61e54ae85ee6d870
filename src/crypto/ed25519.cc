#include "crypto/ed25519.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "crypto/sha256.h"

namespace elastos::crypto {
namespace {

struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) std::abort();  // no usable randomness source: nothing is safe to do
  }
};
void EnsureSodium() { static SodiumInit init; }

}  // namespace

Result<Ed25519PublicKey> Ed25519PublicKey::FromBytes(ByteView bytes) {
  if (bytes.size() != kSize) {
    return InvalidArgument("bad_public_key", "an Ed25519 public key is 32 bytes, got " +
                                                 std::to_string(bytes.size()));
  }
  Ed25519PublicKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kSize);
  return key;
}

bool Ed25519PublicKey::Verify(ByteView message, ByteView signature) const {
  if (signature.size() != crypto_sign_BYTES) return false;
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     bytes_.data()) == 0;
}

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  std::array<std::uint8_t, kSeedSize> seed;
  RandomBytes(seed);
  Ed25519PrivateKey key = *FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(ByteView seed) {
  if (seed.size() != kSeedSize) {
    return InvalidArgument("bad_private_key", "an Ed25519 private key seed is 32 bytes, got " +
                                                  std::to_string(seed.size()));
  }
  EnsureSodium();
  Ed25519PrivateKey key;
  std::array<std::uint8_t, Ed25519PublicKey::kSize> pk;
  crypto_sign_seed_keypair(pk.data(), key.secret_.data(), seed.data());
  key.public_key_ = *Ed25519PublicKey::FromBytes(pk);
  return key;
}

Ed25519PrivateKey::Ed25519PrivateKey(const Ed25519PrivateKey&) = default;
Ed25519PrivateKey& Ed25519PrivateKey::operator=(const Ed25519PrivateKey&) = default;
Ed25519PrivateKey::~Ed25519PrivateKey() { sodium_memzero(secret_.data(), secret_.size()); }

Ed25519Signature Ed25519PrivateKey::Sign(ByteView message) const {
  EnsureSodium();
  Ed25519Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

std::array<std::uint8_t, 32> DomainDigest(std::string_view domain, ByteView message) {
  thread_local Sha256 h;  // reused: a fresh OpenSSL context per signature check is measurable
  h.Update(AsBytes(domain));
  const std::uint8_t separator = 0;
  h.Update({&separator, 1});
  h.Update(message);
  return h.Final();
}

Ed25519Signature SignWithDomain(const Ed25519PrivateKey& key, std::string_view domain,
                                ByteView message) {
  return key.Sign(DomainDigest(domain, message));
}

bool VerifyWithDomain(const Ed25519PublicKey& key, std::string_view domain, ByteView message,
                      ByteView signature) {
  return key.Verify(DomainDigest(domain, message), signature);
}

void RandomBytes(std::span<std::uint8_t> out) {
  EnsureSodium();
  randombytes_buf(out.data(), out.size());
}

}  // namespace elastos::crypto
