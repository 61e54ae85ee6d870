// Signed capsule artifacts (DESIGN.md §3 "Capsule artifact", docs/formats/capsule.md).
//
// A capsule is a directory (capsule.json + entry + assets). Its identity is the unixfs-v1-2025
// CID of that directory. A publisher signs the CID, and the distributable `.capsule` file is a
// CAR v1 whose roots are [capsule directory CID, signature envelope CID], carrying the whole
// directory DAG and the envelope as a raw block, so any IPFS node can import it.
//
// VerifyCapsule checks, in this order, and stops at the first failure with a distinct reason:
//   1. every block matches its CID, the file is complete   block_hash_mismatch, car_truncated, …
//   2. a signature envelope is present                     signature_missing
//   3. the envelope names this capsule's CID               cid_mismatch
//   4. the signature verifies for the named signer         signature_invalid
//   5. the signer is in the trust store                    publisher_unknown
//   6. the DAG is complete and holds nothing else          capsule_incomplete, capsule_extra_blocks
//   7. the manifest is valid and its entry is present      manifest_invalid
// Signature and trust are judged before any capsule content is interpreted, so a forged capsule
// never gets its manifest parsed by a consumer that trusts VerifyCapsule's order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/manifest.h"
#include "common/status.h"
#include "crypto/ed25519.h"
#include "namespace/car.h"
#include "namespace/cid.h"
#include "namespace/unixfs.h"
#include "runtime/capsule/trust_store.h"

namespace elastos::capsule {

inline constexpr std::string_view kSignatureDomain = "elastos.capsule.v1";
inline constexpr std::string_view kEnvelopeSchema = "elastos.capsule-signature/v1";
inline constexpr std::string_view kManifestFile = "capsule.json";
inline constexpr std::uint64_t kMaxManifestSize = 1 << 20;

// {"capsule":"<cid>","schema":"elastos.capsule-signature/v1","signature":"<b64url>","signer":"did:key:…"}
struct SignatureEnvelope {
  ipld::Cid capsule;
  std::string signer;  // did:key of the publisher
  crypto::Ed25519Signature signature{};

  static SignatureEnvelope Sign(const ipld::Cid& capsule, const crypto::Ed25519PrivateKey& key);
  // Strict: canonical JSON only, exactly the four fields, known schema. reason signature_invalid.
  static Result<SignatureEnvelope> Parse(ByteView json);
  std::string ToJson() const;  // canonical JSON: the bytes stored in the envelope block
  // OK when `signature` is the signer's signature over this capsule CID; else signature_invalid.
  Status Check() const;
};

// Reads DIR/capsule.json, validates it, and checks the entry names a regular file in DIR.
Result<CapsuleManifest> LoadCapsuleDirectory(const std::filesystem::path& dir);

struct PackOptions {
  // Called with (bytes hashed so far, total bytes to hash) as packing proceeds.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};
struct PackResult {
  ipld::Cid capsule;
  ipld::Cid envelope;
  std::string signer;
  CapsuleManifest manifest;
};
// Validates DIR, signs its CID with `key` and writes the .capsule file atomically to `out`.
Result<PackResult> PackCapsule(const std::filesystem::path& dir, const crypto::Ed25519PrivateKey& key,
                               const std::filesystem::path& out, const PackOptions& options = {});

// A .capsule file whose blocks all match their CIDs (step 1 above). Nothing else is judged yet.
struct CapsuleFile {
  ipld::Cid capsule;
  std::optional<ipld::Cid> envelope_cid;  // absent: the file is an unsigned CAR of the directory
  std::unique_ptr<ipld::CarBlockSource> blocks;

  static Result<CapsuleFile> Open(const std::filesystem::path& path);
  Result<SignatureEnvelope> ReadEnvelope() const;            // step 2 (+ envelope well-formed)
  Status CheckContents() const;                               // step 6
  Result<CapsuleManifest> ReadManifest() const;               // step 7
  Result<std::vector<ipld::DagEntry>> ListFiles() const;
};

struct VerifiedCapsule {
  CapsuleFile file;
  SignatureEnvelope envelope;
  TrustStore::Publisher publisher;
  CapsuleManifest manifest;
};
Result<VerifiedCapsule> VerifyCapsule(const std::filesystem::path& path, const TrustStore& trust);

}  // namespace elastos::capsule
