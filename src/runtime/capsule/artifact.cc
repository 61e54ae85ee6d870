#include "runtime/capsule/artifact.h"

#include <sys/stat.h>

#include <set>

#include <boost/json.hpp>

#include "common/canonical_json.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "identity/did_key.h"
#include "namespace/dag_pb.h"

namespace elastos::capsule {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxEnvelopeSize = 4096;

Status SignatureInvalid(std::string message) {
  return Unauthenticated("signature_invalid", std::move(message));
}

}  // namespace

SignatureEnvelope SignatureEnvelope::Sign(const ipld::Cid& capsule,
                                          const crypto::Ed25519PrivateKey& key) {
  SignatureEnvelope env{capsule, identity::DidKeyEncode(key.public_key()), {}};
  env.signature = crypto::SignWithDomain(key, kSignatureDomain, capsule.ToBytes());
  return env;
}

std::string SignatureEnvelope::ToJson() const {
  boost::json::object obj;
  obj["capsule"] = capsule.ToString();
  obj["schema"] = kEnvelopeSchema;
  obj["signature"] = Base64UrlEncode(signature);
  obj["signer"] = signer;
  return *CanonicalJson(obj);  // strings only: cannot fail
}

Result<SignatureEnvelope> SignatureEnvelope::Parse(ByteView json) {
  auto value = ParseCanonicalJson(AsChars(json), kMaxEnvelopeSize);
  if (!value.ok()) return SignatureInvalid("signature envelope is malformed: " + value.status().message());
  if (!value->is_object()) return SignatureInvalid("signature envelope is not a JSON object");
  const auto& obj = value->get_object();
  for (const auto& kv : obj) {
    if (kv.key() != "capsule" && kv.key() != "schema" && kv.key() != "signature" && kv.key() != "signer") {
      return SignatureInvalid("signature envelope has unknown field '" + std::string(kv.key()) + "'");
    }
    if (!kv.value().is_string()) {
      return SignatureInvalid("signature envelope field '" + std::string(kv.key()) + "' must be a string");
    }
  }
  for (const char* field : {"capsule", "schema", "signature", "signer"}) {
    if (!obj.contains(field)) return SignatureInvalid(std::string("signature envelope lacks '") + field + "'");
  }
  if (obj.at("schema").get_string() != kEnvelopeSchema) {
    return SignatureInvalid("signature envelope schema '" + std::string(obj.at("schema").get_string()) +
                            "' is not " + std::string(kEnvelopeSchema));
  }
  SignatureEnvelope env;
  auto cid = ipld::Cid::Parse(obj.at("capsule").get_string());
  if (!cid.ok()) return SignatureInvalid("signature envelope 'capsule': " + cid.status().message());
  env.capsule = *cid;
  env.signer = obj.at("signer").get_string();
  auto sig = Base64UrlDecode(obj.at("signature").get_string());
  if (!sig.ok() || sig->size() != env.signature.size()) {
    return SignatureInvalid("signature envelope 'signature' is not a base64url Ed25519 signature");
  }
  std::copy(sig->begin(), sig->end(), env.signature.begin());
  return env;
}

Status SignatureEnvelope::Check() const {
  auto key = identity::DidKeyDecode(signer);
  if (!key.ok()) return SignatureInvalid("signer: " + key.status().message());
  if (!crypto::VerifyWithDomain(*key, kSignatureDomain, capsule.ToBytes(), signature)) {
    return SignatureInvalid("the signature does not verify for signer " + signer +
                            " (the capsule or its signature was altered, or another key signed it)");
  }
  return OkStatus();
}

Result<CapsuleManifest> LoadCapsuleDirectory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgument("not_a_directory", dir.string() + " is not a capsule directory");
  }
  auto text = ReadFileLimited(dir / kManifestFile, kMaxManifestSize);
  if (!text.ok()) return text.status().WithContext("capsule manifest");
  auto manifest = CapsuleManifest::Parse(AsChars(*text));
  if (!manifest.ok()) return manifest.status().WithContext((dir / kManifestFile).string());
  if (!manifest->entry.empty()) {
    struct stat st;
    const fs::path entry = dir / manifest->entry;
    if (::lstat(entry.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return InvalidArgument("manifest_invalid", "entry '" + manifest->entry + "' is not a file in " +
                                                     dir.string() + " (build it before packing)");
    }
  }
  return manifest;
}

Result<PackResult> PackCapsule(const fs::path& dir, const crypto::Ed25519PrivateKey& key,
                               const fs::path& out, const PackOptions& options) {
  ELASTOS_ASSIGN_OR_RETURN(CapsuleManifest manifest, LoadCapsuleDirectory(dir));
  const std::uint64_t total = FileBytesUnder(dir);
  ipld::ImportOptions import;
  import.profile = ipld::UnixFsProfile::V1_2025();
  import.refuse_symlinks = true;
  // Two passes keep memory constant: the CAR header needs the root CID before the first block.
  if (options.progress) import.progress = [&](std::uint64_t done) { options.progress(done, 2 * total); };
  ELASTOS_ASSIGN_OR_RETURN(ipld::ImportResult first, ipld::ImportPath(dir, import));

  const SignatureEnvelope envelope = SignatureEnvelope::Sign(first.cid, key);
  const std::string envelope_json = envelope.ToJson();
  const ipld::Cid envelope_cid = ipld::Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes(envelope_json));

  ELASTOS_ASSIGN_OR_RETURN(auto writer, ipld::CarWriter::Create(out, {first.cid, envelope_cid}));
  import.sink = writer.get();
  if (options.progress) import.progress = [&](std::uint64_t done) { options.progress(total + done, 2 * total); };
  ELASTOS_ASSIGN_OR_RETURN(ipld::ImportResult second, ipld::ImportPath(dir, import));
  if (second.cid != first.cid) {
    return FailedPrecondition("capsule_changed", dir.string() + " changed while it was being packed; pack it again");
  }
  ELASTOS_RETURN_IF_ERROR(writer->Put(envelope_cid, AsBytes(envelope_json)));
  ELASTOS_RETURN_IF_ERROR(writer->Finish());
  return PackResult{first.cid, envelope_cid, envelope.signer, std::move(manifest)};
}

Result<CapsuleFile> CapsuleFile::Open(const fs::path& path) {
  CapsuleFile file;
  auto blocks = ipld::CarBlockSource::Open(path);  // callers name the file in their messages
  if (!blocks.ok()) return blocks.status();
  file.blocks = std::move(blocks).value();
  const auto& roots = file.blocks->roots();
  if (roots.empty() || roots.size() > 2) {
    return InvalidArgument("capsule_bad_roots", path.string() + " has " + std::to_string(roots.size()) +
                                                    " roots; a capsule has [capsule CID, signature CID]");
  }
  file.capsule = roots[0];
  if (roots.size() == 2) file.envelope_cid = roots[1];
  return file;
}

Result<SignatureEnvelope> CapsuleFile::ReadEnvelope() const {
  if (!envelope_cid) {
    return Unauthenticated("signature_missing",
                           "the capsule is not signed (no signature root); sign it with 'elastos capsule pack --key'");
  }
  if (envelope_cid->version() != 1 || envelope_cid->codec() != ipld::Codec::kRaw) {
    return SignatureInvalid("the signature root " + envelope_cid->ToString() + " is not a raw block");
  }
  auto block = blocks->Get(*envelope_cid);
  if (!block.ok()) {
    if (block.status().code() == Code::kNotFound) {
      return Unauthenticated("signature_missing", "the signature block " + envelope_cid->ToString() +
                                                      " named by the capsule is not in the file");
    }
    return block.status();
  }
  return SignatureEnvelope::Parse(*block);
}

Status CapsuleFile::CheckContents() const {
  // Every block reachable from the capsule root must be present (else the capsule cannot be run),
  // and nothing else may ride along: a capsule file is exactly its DAG plus the envelope.
  std::set<ipld::Cid> seen;
  std::vector<ipld::Cid> stack{capsule};
  while (!stack.empty()) {
    const ipld::Cid cid = stack.back();
    stack.pop_back();
    if (!seen.insert(cid).second) continue;
    auto block = blocks->Get(cid);
    if (!block.ok()) {
      if (block.status().code() == Code::kNotFound) {
        return NotFound("capsule_incomplete", "block " + cid.ToString() + " of the capsule is missing from the file");
      }
      return block.status();
    }
    if (cid.codec() == ipld::Codec::kRaw) continue;
    if (cid.codec() != ipld::Codec::kDagPb) {
      return InvalidArgument("capsule_bad_block", "block " + cid.ToString() + " is neither dag-pb nor raw");
    }
    ELASTOS_ASSIGN_OR_RETURN(ipld::PbNode node, ipld::DecodePbNode(*block));
    for (const auto& link : node.links) stack.push_back(link.hash);
  }
  const std::size_t expected = seen.size() + (envelope_cid && !seen.contains(*envelope_cid) ? 1 : 0);
  if (blocks->block_count() != expected) {
    return InvalidArgument("capsule_extra_blocks",
                           "the file carries " + std::to_string(blocks->block_count()) + " blocks but the capsule has " +
                               std::to_string(expected) + "; a capsule file holds only its own DAG and signature");
  }
  return OkStatus();
}

Result<CapsuleManifest> CapsuleFile::ReadManifest() const {
  auto invalid = [](const Status& s) {
    return InvalidArgument("manifest_invalid", s.message());
  };
  auto manifest_cid = ipld::ResolvePath(capsule, kManifestFile, *blocks);
  if (!manifest_cid.ok()) return invalid(manifest_cid.status().WithContext("capsule.json"));
  auto text = ipld::ReadFile(*manifest_cid, *blocks, kMaxManifestSize);
  if (!text.ok()) return invalid(text.status().WithContext("capsule.json"));
  auto manifest = CapsuleManifest::Parse(AsChars(*text));
  if (!manifest.ok()) return invalid(manifest.status().WithContext("capsule.json"));
  if (!manifest->entry.empty()) {
    ELASTOS_ASSIGN_OR_RETURN(auto files, ListFiles());
    bool found = false;
    for (const auto& f : files) found = found || (f.path == manifest->entry && !f.is_directory);
    if (!found) {
      return InvalidArgument("manifest_invalid", "capsule.json: entry '" + manifest->entry + "' is not a file in the capsule");
    }
  }
  return manifest;
}

Result<std::vector<ipld::DagEntry>> CapsuleFile::ListFiles() const {
  return ipld::ListDag(capsule, *blocks);
}

Result<VerifiedCapsule> VerifyCapsule(const fs::path& path, const TrustStore& trust) {
  ELASTOS_ASSIGN_OR_RETURN(CapsuleFile file, CapsuleFile::Open(path));
  ELASTOS_ASSIGN_OR_RETURN(SignatureEnvelope envelope, file.ReadEnvelope());
  if (envelope.capsule != file.capsule) {
    return Unauthenticated("cid_mismatch", "the signature is for capsule " + envelope.capsule.ToString() +
                                               " but the file holds " + file.capsule.ToString());
  }
  ELASTOS_RETURN_IF_ERROR(envelope.Check());
  auto key = identity::DidKeyDecode(envelope.signer);  // Check() succeeded, so this decodes
  auto publisher = trust.Find(*key);
  if (!publisher) {
    return PermissionDenied("publisher_unknown", "publisher " + envelope.signer +
                                                     " is not in the trust store; add it only if you trust them to run code here");
  }
  ELASTOS_RETURN_IF_ERROR(file.CheckContents());
  ELASTOS_ASSIGN_OR_RETURN(CapsuleManifest manifest, file.ReadManifest());
  return VerifiedCapsule{std::move(file), std::move(envelope), *publisher, std::move(manifest)};
}

}  // namespace elastos::capsule
