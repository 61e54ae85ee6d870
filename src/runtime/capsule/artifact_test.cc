#include "common/testing/temp_dir.h"
#include "runtime/capsule/artifact.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "identity/did_key.h"
#include "namespace/block.h"

namespace elastos::capsule {
namespace {
namespace fs = std::filesystem;

constexpr char kManifest[] = R"({
  "schema": "elastos.capsule/v1",
  "name": "hello",
  "version": "1.0.0",
  "type": "wasm",
  "entry": "hello.wasm"
})";

class ArtifactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    dir_ = root_ / "hello";
    fs::create_directories(dir_ / "assets" / "empty");
    Write(dir_ / "capsule.json", kManifest);
    Write(dir_ / "hello.wasm", std::string("\0asm\1\0\0\0", 8));
    Write(dir_ / "assets" / "readme.txt", std::string(3000, 'r'));
    trust_ = *TrustStore::Parse(identity::DidKeyEncode(publisher_.public_key()) + " root\n" +
                                identity::DidKeyEncode(other_trusted_.public_key()) + " community\n");
  }

  static void Write(const fs::path& p, const std::string& s) {
    ASSERT_TRUE(WriteFileAtomic(p, AsBytes(s)).ok());
  }
  static Bytes ReadAll(const fs::path& p) { return *ReadFileLimited(p, 1 << 30); }
  // A scratch write without fsync: the exhaustive tests below write thousands of variants.
  static void Scribble(const fs::path& p, ByteView data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }

  // The directory's blocks, as pack would produce them.
  ipld::Cid ImportInto(ipld::MemoryBlockstore& store, const fs::path& dir) {
    ipld::ImportOptions options;
    options.sink = &store;
    auto r = ipld::ImportPath(dir, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->cid;
  }

  // Writes a CAR with the given roots holding `store`'s blocks plus an optional envelope.
  fs::path WriteCar(const std::string& name, std::vector<ipld::Cid> roots, const ipld::MemoryBlockstore& store,
                    const std::optional<std::string>& envelope_json, const std::vector<ipld::Cid>& skip = {}) {
    const fs::path out = root_ / name;
    auto writer = ipld::CarWriter::Create(out, std::move(roots));
    EXPECT_TRUE(writer.ok());
    store.ForEach([&](const ipld::Cid& cid, ByteView block) {
      if (std::find(skip.begin(), skip.end(), cid) == skip.end()) {
        EXPECT_TRUE((*writer)->Put(cid, block).ok());
      }
    });
    if (envelope_json) {
      EXPECT_TRUE((*writer)->Put(EnvelopeCid(*envelope_json), AsBytes(*envelope_json)).ok());
    }
    EXPECT_TRUE((*writer)->Finish().ok());
    return out;
  }
  static ipld::Cid EnvelopeCid(const std::string& json) {
    return ipld::Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes(json));
  }

  std::string Reason(const fs::path& file) {
    auto r = VerifyCapsule(file, trust_);
    return r.ok() ? "ok" : r.status().reason();
  }

  ::elastos::testing::TempDir tmp_;
  fs::path root_, dir_;
  crypto::Ed25519PrivateKey publisher_ = crypto::Ed25519PrivateKey::Generate();
  crypto::Ed25519PrivateKey other_trusted_ = crypto::Ed25519PrivateKey::Generate();
  crypto::Ed25519PrivateKey stranger_ = crypto::Ed25519PrivateKey::Generate();
  TrustStore trust_;
};

TEST_F(ArtifactTest, PackThenVerify) {
  auto packed = PackCapsule(dir_, publisher_, root_ / "hello.capsule");
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  auto verified = VerifyCapsule(root_ / "hello.capsule", trust_);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->file.capsule, packed->capsule);
  EXPECT_EQ(verified->manifest.name, "hello");
  EXPECT_EQ(verified->publisher.level, TrustLevel::kRoot);
  EXPECT_EQ(verified->envelope.signer, identity::DidKeyEncode(publisher_.public_key()));

  // The capsule's identity is the unixfs-v1-2025 CID of its directory.
  ipld::ImportOptions options;
  EXPECT_EQ(ipld::ImportPath(dir_, options)->cid, packed->capsule);
  // The files are all there, the empty directory too.
  auto files = verified->file.ListFiles();
  ASSERT_TRUE(files.ok());
  std::vector<std::string> paths;
  for (const auto& f : *files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"", "assets", "assets/empty", "assets/readme.txt", "capsule.json", "hello.wasm"}));
}

TEST_F(ArtifactTest, EnvelopeIsCanonicalJsonWithTheDocumentedFields) {
  const auto cid = ipld::Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes("x"));
  const auto env = SignatureEnvelope::Sign(cid, publisher_);
  const std::string json = env.ToJson();
  EXPECT_EQ(json, "{\"capsule\":\"" + cid.ToString() + "\",\"schema\":\"elastos.capsule-signature/v1\",\"signature\":\"" +
                      Base64UrlEncode(env.signature) + "\",\"signer\":\"" + env.signer + "\"}");
  auto back = SignatureEnvelope::Parse(AsBytes(json));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Check().ok());
  // The signature is over SHA-256("elastos.capsule.v1" || 0x00 || binary CID).
  EXPECT_TRUE(crypto::VerifyWithDomain(publisher_.public_key(), "elastos.capsule.v1", cid.ToBytes(), env.signature));
}

TEST_F(ArtifactTest, EnvelopeParserIsStrict) {
  const auto cid = ipld::Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes("x"));
  const std::string good = SignatureEnvelope::Sign(cid, publisher_).ToJson();
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::string bad[] = {
      replace("{", "{ "),                                              // not canonical
      replace("\"schema\":\"elastos.capsule-signature/v1\"", "\"schema\":\"elastos.capsule-signature/v2\""),
      replace("\"capsule\":\"", "\"capsule\":\"x"),                   // bad CID
      replace("\"signature\":\"", "\"signature\":\"AA"),              // wrong length
      replace("}", ",\"zextra\":\"1\"}"),                              // unknown field
      "[]", "", "null"};
  for (const auto& text : bad) {
    EXPECT_EQ(SignatureEnvelope::Parse(AsBytes(text)).status().reason(), "signature_invalid") << text;
  }
}

TEST_F(ArtifactTest, RefusesUnsignedCapsule) {
  ipld::MemoryBlockstore store;
  const auto cid = ImportInto(store, dir_);
  EXPECT_EQ(Reason(WriteCar("unsigned.capsule", {cid}, store, std::nullopt)), "signature_missing");
  // Two roots, but the envelope block is not in the file.
  const std::string env = SignatureEnvelope::Sign(cid, publisher_).ToJson();
  EXPECT_EQ(Reason(WriteCar("no-env.capsule", {cid, EnvelopeCid(env)}, store, std::nullopt)), "signature_missing");
}

TEST_F(ArtifactTest, RefusesBadSignature) {
  ipld::MemoryBlockstore store;
  const auto cid = ImportInto(store, dir_);
  auto env = SignatureEnvelope::Sign(cid, publisher_);
  env.signature[5] ^= 0x01;
  EXPECT_EQ(Reason(WriteCar("badsig.capsule", {cid, EnvelopeCid(env.ToJson())}, store, env.ToJson())),
            "signature_invalid");
}

TEST_F(ArtifactTest, RefusesSwappedSigner) {
  ipld::MemoryBlockstore store;
  const auto cid = ImportInto(store, dir_);
  auto env = SignatureEnvelope::Sign(cid, stranger_);
  env.signer = identity::DidKeyEncode(publisher_.public_key());  // claim a trusted publisher
  EXPECT_EQ(Reason(WriteCar("swapped.capsule", {cid, EnvelopeCid(env.ToJson())}, store, env.ToJson())),
            "signature_invalid");
}

TEST_F(ArtifactTest, RefusesUnknownPublisher) {
  ASSERT_TRUE(PackCapsule(dir_, stranger_, root_ / "stranger.capsule").ok());
  auto r = VerifyCapsule(root_ / "stranger.capsule", trust_);
  EXPECT_EQ(r.status().reason(), "publisher_unknown");
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find(identity::DidKeyEncode(stranger_.public_key())), std::string::npos);
}

TEST_F(ArtifactTest, RefusesManifestEditedAfterSigning) {
  ipld::MemoryBlockstore before;
  const auto signed_cid = ImportInto(before, dir_);
  const std::string env = SignatureEnvelope::Sign(signed_cid, publisher_).ToJson();
  std::string edited = kManifest;
  edited.replace(edited.find("1.0.0"), 5, "6.6.6");
  Write(dir_ / "capsule.json", edited);
  ipld::MemoryBlockstore after;
  const auto edited_cid = ImportInto(after, dir_);
  ASSERT_NE(edited_cid, signed_cid);
  EXPECT_EQ(Reason(WriteCar("edited.capsule", {edited_cid, EnvelopeCid(env)}, after, env)), "cid_mismatch");
}

TEST_F(ArtifactTest, RefusesSignedButInvalidManifest) {
  Write(dir_ / "capsule.json", R"({"name":"hello","version":"1.0","type":"wasm","entry":"hello.wasm"})");
  ipld::MemoryBlockstore store;
  const auto cid = ImportInto(store, dir_);
  const std::string env = SignatureEnvelope::Sign(cid, publisher_).ToJson();
  auto r = VerifyCapsule(WriteCar("badmanifest.capsule", {cid, EnvelopeCid(env)}, store, env), trust_);
  EXPECT_EQ(r.status().reason(), "manifest_invalid");
  EXPECT_NE(r.status().message().find("version"), std::string::npos) << r.status().message();
  // pack refuses it up front.
  EXPECT_EQ(PackCapsule(dir_, publisher_, root_ / "x.capsule").status().reason(), "manifest_invalid");
  EXPECT_FALSE(fs::exists(root_ / "x.capsule"));
}

TEST_F(ArtifactTest, RefusesMissingEntry) {
  fs::remove(dir_ / "hello.wasm");
  EXPECT_EQ(PackCapsule(dir_, publisher_, root_ / "x.capsule").status().reason(), "manifest_invalid");
  ipld::MemoryBlockstore store;
  const auto cid = ImportInto(store, dir_);
  const std::string env = SignatureEnvelope::Sign(cid, publisher_).ToJson();
  EXPECT_EQ(Reason(WriteCar("noentry.capsule", {cid, EnvelopeCid(env)}, store, env)), "manifest_invalid");
}

TEST_F(ArtifactTest, RefusesIncompleteAndPaddedFiles) {
  ipld::MemoryBlockstore store;
  const auto cid = ImportInto(store, dir_);
  const std::string env = SignatureEnvelope::Sign(cid, publisher_).ToJson();
  const auto readme = ipld::ResolvePath(cid, "assets/readme.txt", store);
  ASSERT_TRUE(readme.ok());
  EXPECT_EQ(Reason(WriteCar("incomplete.capsule", {cid, EnvelopeCid(env)}, store, env, {*readme})),
            "capsule_incomplete");
  ASSERT_TRUE(store.Put(ipld::Cid::ForBlock(1, ipld::Codec::kRaw, AsBytes("stowaway")), AsBytes("stowaway")).ok());
  EXPECT_EQ(Reason(WriteCar("padded.capsule", {cid, EnvelopeCid(env)}, store, env)), "capsule_extra_blocks");
}

TEST_F(ArtifactTest, RefusesSymlinksWhenPacking) {
  fs::create_symlink("/etc/passwd", dir_ / "passwd");
  auto r = PackCapsule(dir_, publisher_, root_ / "x.capsule");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("passwd"), std::string::npos) << r.status().ToString();
}

// No single-byte change anywhere in a capsule file, and no truncation, gets past verification.
TEST_F(ArtifactTest, EveryByteFlipAndTruncationIsRefused) {
  fs::remove_all(dir_ / "assets");  // keep the file small so every offset can be tried
  ASSERT_TRUE(PackCapsule(dir_, publisher_, root_ / "good.capsule").ok());
  const Bytes good = ReadAll(root_ / "good.capsule");
  ASSERT_EQ(Reason(root_ / "good.capsule"), "ok");
  const fs::path bad = root_ / "bad.capsule";
  std::map<std::string, int> reasons;
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes copy = good;
    copy[i] ^= 0x01;
    Scribble(bad, copy);
    const std::string reason = Reason(bad);
    ASSERT_NE(reason, "ok") << "flip at offset " << i << " was accepted";
    ++reasons[reason];
  }
  for (std::size_t len = 0; len < good.size(); ++len) {
    Scribble(bad, ByteView(good).first(len));
    ASSERT_NE(Reason(bad), "ok") << "truncation to " << len << " bytes was accepted";
  }
  // Flips inside block data are reported as tampering, not as something vaguer.
  EXPECT_GT(reasons["block_hash_mismatch"], static_cast<int>(good.size() / 2));
}

TEST_F(ArtifactTest, ChangedDirectoryWhilePackingIsNotSilentlySigned) {
  // Simulated by packing, changing, and checking a re-pack signs the new content.
  auto first = PackCapsule(dir_, publisher_, root_ / "a.capsule");
  Write(dir_ / "assets" / "readme.txt", "changed");
  auto second = PackCapsule(dir_, publisher_, root_ / "b.capsule");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->capsule, second->capsule);
  EXPECT_EQ(Reason(root_ / "b.capsule"), "ok");
}

}  // namespace
}  // namespace elastos::capsule
