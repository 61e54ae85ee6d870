// Capability tokens, format v1 (docs/formats/token.md).
//
// A token is an immutable, runtime-signed statement "holder H may perform action A on resources
// matching R, under these constraints". Only the runtime signs; a Token object is either decoded
// from wire bytes (and then carries exactly those bytes) or produced by TokenSigner — there is no
// way to change a field of a signed token, so a token's bytes and its fields can never disagree.
//
//   body      = version(1) id(16) issuer(32) holder resource action epoch flags [options…] issued_at
//   token     = body || Ed25519 signature(64) over SHA-256("elastos.capability.v1" || 0x00 || body)
//   wire form = base64url(token), no padding
//
// Thread-safety: Token is an immutable value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/manifest.h"
#include "common/status.h"
#include "crypto/ed25519.h"
#include "runtime/store/capability_store.h"
#include "runtime/time/secure_clock.h"

namespace elastos::runtime {

inline constexpr std::uint8_t kTokenVersion = 1;
inline constexpr std::string_view kTokenDomain = "elastos.capability.v1";
inline constexpr std::size_t kMaxHolderLength = 128;
inline constexpr std::size_t kMaxTokenSize = 4096;

// Data classification of a resource (DESIGN.md §3), stated by the resource's provider.
enum class Classification : std::uint8_t { kPublic = 0, kInternal = 1, kPrivate = 2, kSecret = 3 };

// Everything a token says, before it is signed.
struct TokenFields {
  std::uint8_t version = kTokenVersion;
  TokenId id{};
  crypto::Ed25519PublicKey issuer;
  std::string holder;    // the capsule instance (or session) the token is bound to
  std::string resource;  // canonical pattern (resource.h)
  Action action = Action::kRead;
  std::uint64_t epoch = 0;
  bool delegatable = false;
  std::optional<Classification> max_classification;
  std::optional<std::uint32_t> max_uses;
  SecureTimestamp issued_at;
  std::optional<std::uint64_t> expiry_unix;  // absolute unix seconds
  std::optional<TokenId> parent;             // set on delegated tokens
};

class Token {
 public:
  // Strict decoding: exact length, no unknown flag bits, minimal varints, valid action and
  // classification, canonical resource. Says nothing about the signature (Validate checks it).
  static Result<Token> Decode(ByteView bytes);
  static Result<Token> FromWire(std::string_view base64url);

  // Signs `fields` (issuer must be `key`'s public key). Only the runtime holds a key.
  static Token Sign(const TokenFields& fields, const crypto::Ed25519PrivateKey& key);

  const TokenFields& fields() const { return fields_; }
  const Bytes& bytes() const { return bytes_; }      // body || signature
  ByteView body() const { return ByteView(bytes_).first(bytes_.size() - 64); }
  ByteView signature() const { return ByteView(bytes_).last(64); }
  std::string ToWire() const;
  // Whether the signature verifies under `key` (the domain-separated digest of the body).
  bool SignatureValid(const crypto::Ed25519PublicKey& key) const;

 private:
  TokenFields fields_;
  Bytes bytes_;
};

std::string_view ClassificationName(Classification c);
Result<Classification> ParseClassification(std::string_view name);

// The body encoding of `fields` (exposed for the format test and docs).
Bytes EncodeTokenBody(const TokenFields& fields);

}  // namespace elastos::runtime
