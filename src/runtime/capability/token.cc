#include "runtime/capability/token.h"

#include <algorithm>
#include <cstring>

#include "common/encoding.h"
#include "runtime/capability/resource.h"

namespace elastos::runtime {
namespace {

// Flag bits: each optional field has an explicit presence tag, so no two sets of fields encode
// to the same bytes (absent ≠ present-and-zero).
constexpr std::uint8_t kDelegatable = 1 << 0;
constexpr std::uint8_t kHasClassification = 1 << 1;
constexpr std::uint8_t kHasMaxUses = 1 << 2;
constexpr std::uint8_t kHasExpiry = 1 << 3;
constexpr std::uint8_t kHasParent = 1 << 4;
constexpr std::uint8_t kKnownFlags = kDelegatable | kHasClassification | kHasMaxUses | kHasExpiry | kHasParent;

void AppendString(Bytes& out, std::string_view s) {
  AppendVarint(out, s.size());
  Append(out, AsBytes(s));
}

Status Malformed(std::string what) { return InvalidArgument("token_malformed", "token is malformed: " + what); }

// A cursor over the body that fails with token_malformed.
struct Reader {
  ByteView in;
  Result<std::uint64_t> Varint(const char* field) {
    auto v = ReadVarint(in);
    if (!v.ok()) return Malformed(std::string(field) + ": " + v.status().message());
    return v;
  }
  Result<ByteView> Fixed(std::size_t n, const char* field) {
    if (in.size() < n) return Malformed(std::string(field) + " is truncated");
    ByteView out = in.first(n);
    in = in.subspan(n);
    return out;
  }
  Result<std::string> String(std::size_t max, const char* field) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t len, Varint(field));
    if (len > max) return Malformed(std::string(field) + " is longer than " + std::to_string(max) + " bytes");
    ELASTOS_ASSIGN_OR_RETURN(ByteView b, Fixed(static_cast<std::size_t>(len), field));
    return std::string(AsChars(b));
  }
  Result<std::uint8_t> Byte(const char* field) {
    ELASTOS_ASSIGN_OR_RETURN(ByteView b, Fixed(1, field));
    return b[0];
  }
};

TokenId ToId(ByteView b) {
  TokenId id;
  std::memcpy(id.data(), b.data(), id.size());
  return id;
}

}  // namespace

std::string_view ClassificationName(Classification c) {
  switch (c) {
    case Classification::kPublic: return "public";
    case Classification::kInternal: return "internal";
    case Classification::kPrivate: return "private";
    case Classification::kSecret: return "secret";
  }
  return "secret";
}

Result<Classification> ParseClassification(std::string_view name) {
  for (auto c : {Classification::kPublic, Classification::kInternal, Classification::kPrivate, Classification::kSecret}) {
    if (name == ClassificationName(c)) return c;
  }
  return InvalidArgument("bad_classification", "classification '" + std::string(name) +
                                                   "' is not public, internal, private or secret");
}

Bytes EncodeTokenBody(const TokenFields& f) {
  Bytes out;
  out.reserve(96 + f.holder.size() + f.resource.size());
  out.push_back(f.version);
  Append(out, f.id);
  Append(out, f.issuer.bytes());
  AppendString(out, f.holder);
  AppendString(out, f.resource);
  out.push_back(static_cast<std::uint8_t>(f.action));
  AppendVarint(out, f.epoch);
  std::uint8_t flags = 0;
  if (f.delegatable) flags |= kDelegatable;
  if (f.max_classification) flags |= kHasClassification;
  if (f.max_uses) flags |= kHasMaxUses;
  if (f.expiry_unix) flags |= kHasExpiry;
  if (f.parent) flags |= kHasParent;
  out.push_back(flags);
  if (f.max_classification) out.push_back(static_cast<std::uint8_t>(*f.max_classification));
  if (f.max_uses) AppendVarint(out, *f.max_uses);
  AppendVarint(out, f.issued_at.unix_secs);
  AppendVarint(out, f.issued_at.seq);
  if (f.expiry_unix) AppendVarint(out, *f.expiry_unix);
  if (f.parent) Append(out, *f.parent);
  return out;
}

Token Token::Sign(const TokenFields& fields, const crypto::Ed25519PrivateKey& key) {
  Token t;
  t.fields_ = fields;
  t.bytes_ = EncodeTokenBody(fields);
  const auto sig = crypto::SignWithDomain(key, kTokenDomain, t.bytes_);
  Append(t.bytes_, sig);
  return t;
}

Result<Token> Token::Decode(ByteView bytes) {
  if (bytes.size() > kMaxTokenSize) return Malformed("larger than " + std::to_string(kMaxTokenSize) + " bytes");
  if (bytes.size() < 1 + 64) return Malformed("too short");
  Token t;
  TokenFields& f = t.fields_;
  Reader r{bytes.first(bytes.size() - 64)};
  ELASTOS_ASSIGN_OR_RETURN(f.version, r.Byte("version"));
  if (f.version != kTokenVersion) {
    // Check (1) of validation reports this with its own reason; decoding a newer format would be
    // misreading it.
    return InvalidArgument("token_version", "token version " + std::to_string(f.version) +
                                                " is not supported (this runtime reads version 1)");
  }
  ELASTOS_ASSIGN_OR_RETURN(ByteView id, r.Fixed(16, "id"));
  f.id = ToId(id);
  ELASTOS_ASSIGN_OR_RETURN(ByteView issuer, r.Fixed(32, "issuer"));
  f.issuer = *crypto::Ed25519PublicKey::FromBytes(issuer);
  ELASTOS_ASSIGN_OR_RETURN(f.holder, r.String(kMaxHolderLength, "holder"));
  if (f.holder.empty()) return Malformed("holder is empty");
  ELASTOS_ASSIGN_OR_RETURN(f.resource, r.String(kMaxResourceLength, "resource"));
  auto canonical = NormalizePattern(f.resource);
  if (!canonical.ok() || *canonical != f.resource) return Malformed("resource is not a canonical pattern");
  ELASTOS_ASSIGN_OR_RETURN(std::uint8_t action, r.Byte("action"));
  if (action > static_cast<std::uint8_t>(Action::kAdmin)) return Malformed("unknown action " + std::to_string(action));
  f.action = static_cast<Action>(action);
  ELASTOS_ASSIGN_OR_RETURN(f.epoch, r.Varint("epoch"));
  ELASTOS_ASSIGN_OR_RETURN(std::uint8_t flags, r.Byte("flags"));
  if ((flags & ~kKnownFlags) != 0) return Malformed("unknown flag bits");
  f.delegatable = (flags & kDelegatable) != 0;
  if (flags & kHasClassification) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint8_t c, r.Byte("max_classification"));
    if (c > static_cast<std::uint8_t>(Classification::kSecret)) return Malformed("unknown classification");
    f.max_classification = static_cast<Classification>(c);
  }
  if (flags & kHasMaxUses) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t uses, r.Varint("max_uses"));
    if (uses == 0 || uses > UINT32_MAX) return Malformed("max_uses out of range");
    f.max_uses = static_cast<std::uint32_t>(uses);
  }
  ELASTOS_ASSIGN_OR_RETURN(f.issued_at.unix_secs, r.Varint("issued_at"));
  ELASTOS_ASSIGN_OR_RETURN(f.issued_at.seq, r.Varint("issued_at.seq"));
  if (flags & kHasExpiry) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t expiry, r.Varint("expiry"));
    f.expiry_unix = expiry;
  }
  if (flags & kHasParent) {
    ELASTOS_ASSIGN_OR_RETURN(ByteView parent, r.Fixed(16, "parent"));
    f.parent = ToId(parent);
  }
  if (!r.in.empty()) return Malformed(std::to_string(r.in.size()) + " trailing bytes");
  t.bytes_.assign(bytes.begin(), bytes.end());
  return t;
}

Result<Token> Token::FromWire(std::string_view text) {
  if (text.size() > kMaxTokenSize * 4 / 3 + 4) return Malformed("wire form too long");
  auto bytes = Base64UrlDecode(text);
  if (!bytes.ok()) return Malformed("not base64url");
  return Decode(*bytes);
}

std::string Token::ToWire() const { return Base64UrlEncode(bytes_); }

bool Token::SignatureValid(const crypto::Ed25519PublicKey& key) const {
  return crypto::VerifyWithDomain(key, kTokenDomain, body(), signature());
}

}  // namespace elastos::runtime
