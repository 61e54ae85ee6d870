// Ed25519 keys, signatures and domain-separated signing, through libsodium.
//
// Domain separation: every signature ElastOS makes is over SHA-256(domain || 0x00 || message),
// so a signature made for one purpose (a capsule, a token, an audit checkpoint) can never be
// replayed as another. The domain strings are listed in docs/formats/.
//
// Thread-safety: keys are immutable values; all functions are safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos::crypto {

using Ed25519Signature = std::array<std::uint8_t, 64>;

class Ed25519PublicKey {
 public:
  static constexpr std::size_t kSize = 32;
  static Result<Ed25519PublicKey> FromBytes(ByteView bytes);

  const std::array<std::uint8_t, kSize>& bytes() const { return bytes_; }
  bool Verify(ByteView message, ByteView signature) const;
  bool operator==(const Ed25519PublicKey&) const = default;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

// A private key, held as its 32-byte seed (the form written to key files). The memory is wiped
// when the key is destroyed.
class Ed25519PrivateKey {
 public:
  static constexpr std::size_t kSeedSize = 32;
  static Ed25519PrivateKey Generate();
  static Result<Ed25519PrivateKey> FromSeed(ByteView seed);

  Ed25519PrivateKey(const Ed25519PrivateKey&);
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&);
  ~Ed25519PrivateKey();

  const Ed25519PublicKey& public_key() const { return public_key_; }
  ByteView seed() const { return {secret_.data(), kSeedSize}; }
  Ed25519Signature Sign(ByteView message) const;

 private:
  Ed25519PrivateKey() = default;
  std::array<std::uint8_t, 64> secret_{};  // libsodium's expanded form: seed || public key
  Ed25519PublicKey public_key_;
};

// SHA-256(domain || 0x00 || message): what domain-separated signatures are made over.
std::array<std::uint8_t, 32> DomainDigest(std::string_view domain, ByteView message);
Ed25519Signature SignWithDomain(const Ed25519PrivateKey& key, std::string_view domain,
                                ByteView message);
bool VerifyWithDomain(const Ed25519PublicKey& key, std::string_view domain, ByteView message,
                      ByteView signature);

// Cryptographically secure random bytes.
void RandomBytes(std::span<std::uint8_t> out);

}  // namespace elastos::crypto
