// Drives the real `elastos` binary as a user would and checks output, files and exit codes.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/manifest.h"
#include "common/testing/temp_dir.h"
#include "identity/did_key.h"
#include "runtime/audit/audit_log.h"
#include "runtime/capability/token.h"

namespace elastos {
namespace {
namespace fs = std::filesystem;

struct Outcome {
  int exit_code;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("ELASTOS_BIN");
    ASSERT_NE(bin, nullptr) << "ELASTOS_BIN must point at build/bin (ctest sets it)";
    elastos_ = fs::path(bin) / "elastos";
    dir_ = tmp_.path();
  }

  Outcome Elastos(std::vector<std::string> args) {
    const fs::path out = dir_ / ".stdout", err = dir_ / ".stderr";
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> argv{const_cast<char*>(elastos_.c_str())};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::setenv("ELASTOS_DATA_DIR", (dir_ / "data").c_str(), 1);
      ::execv(elastos_.c_str(), argv.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out), Slurp(err)};
  }
  static std::string Slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  void Write(const fs::path& p, const std::string& s) {
    fs::create_directories(p.parent_path());
    ASSERT_TRUE(WriteFileAtomic(p, AsBytes(s)).ok());
  }
  std::string S(const fs::path& p) { return p.string(); }

  // A publisher key, a trust file trusting it, and a packable wasm capsule.
  void MakePublisherAndCapsule() {
    auto keys = Elastos({"keys", "generate", "--out", S(dir_ / "pub")});
    ASSERT_EQ(keys.exit_code, 0) << keys.err;
    did_ = keys.out.substr(0, keys.out.size() - 1);
    Write(dir_ / "trust", did_ + " root\n");
    ASSERT_EQ(Elastos({"capsule", "new", "app", "--dir", S(dir_)}).exit_code, 0);
    Write(dir_ / "app" / "app.wasm", std::string("\0asm\1\0\0\0", 8));
  }

  ::elastos::testing::TempDir tmp_;
  fs::path elastos_, dir_;
  std::string did_;
};

TEST_F(CliTest, UsageErrorsExitTwoAndHelpWorksEverywhere) {
  EXPECT_EQ(Elastos({}).exit_code, 2);
  EXPECT_EQ(Elastos({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Elastos({"capsule", "pack", S(dir_)}).exit_code, 2);  // --key and --out missing
  EXPECT_EQ(Elastos({"cid", S(dir_), "--profile", "unixfs-v9"}).exit_code, 2);
  const std::vector<std::vector<std::string>> commands = {
      {}, {"cid"}, {"keys"}, {"keys", "generate"}, {"capsule"}, {"capsule", "new"}, {"capsule", "pack"},
      {"capsule", "verify"}, {"capsule", "inspect"}, {"car"}, {"car", "export"}, {"car", "import"}};
  for (auto args : commands) {
    args.push_back("--help");
    Outcome r = Elastos(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
}

TEST_F(CliTest, CidPrintsOnlyTheCid) {
  Write(dir_ / "hello.txt", "hello world\n");
  Outcome v1 = Elastos({"cid", S(dir_ / "hello.txt")});
  EXPECT_EQ(v1.exit_code, 0);
  EXPECT_EQ(v1.out, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4\n");
  Outcome v0 = Elastos({"cid", "--profile", "unixfs-v0-2015", S(dir_ / "hello.txt")});
  EXPECT_EQ(v0.out, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n");
  Outcome missing = Elastos({"cid", S(dir_ / "nope")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty());
}

TEST_F(CliTest, KeysGenerateWritesPrivateKeyAndDid) {
  Outcome r = Elastos({"keys", "generate", "--out", S(dir_ / "k")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("did:key:z6Mk")) << r.out;
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "k" / "private.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Slurp(dir_ / "k" / "public.did"), r.out);
  const std::string key = Slurp(dir_ / "k" / "private.key");
  EXPECT_EQ(key.size(), 65u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), 64u);
  // Never overwrites a key.
  Outcome again = Elastos({"keys", "generate", "--out", S(dir_ / "k")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(Slurp(dir_ / "k" / "private.key"), key);
}

TEST_F(CliTest, CapsuleNewScaffoldsValidManifestsForEveryType) {
  for (std::string type : {"wasm", "vm", "data", "agent"}) {
    const std::string name = "cap-" + type;
    Outcome r = Elastos({"capsule", "new", name, "--type", type, "--dir", S(dir_)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto text = ReadFileLimited(dir_ / name / "capsule.json", 1 << 20);
    ASSERT_TRUE(text.ok());
    auto manifest = CapsuleManifest::Parse(AsChars(*text));
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    EXPECT_EQ(manifest->name, name);
    EXPECT_EQ(CapsuleTypeName(manifest->type), type);
  }
  EXPECT_EQ(Elastos({"capsule", "new", "cap-wasm", "--dir", S(dir_)}).exit_code, 1);  // exists
  Outcome bad = Elastos({"capsule", "new", "Bad Name!", "--dir", S(dir_)});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("capsule name"), std::string::npos) << bad.err;
}

TEST_F(CliTest, PackVerifyInspect) {
  MakePublisherAndCapsule();
  Outcome pack = Elastos({"capsule", "pack", S(dir_ / "app"), "--key", S(dir_ / "pub" / "private.key"), "--out",
                      S(dir_ / "app.capsule")});
  ASSERT_EQ(pack.exit_code, 0) << pack.err;
  const std::string cid = Elastos({"cid", S(dir_ / "app")}).out;
  ASSERT_FALSE(cid.empty());
  EXPECT_NE(pack.out.find(cid.substr(0, cid.size() - 1)), std::string::npos);

  Outcome verify = Elastos({"capsule", "verify", S(dir_ / "app.capsule"), "--trust", S(dir_ / "trust")});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(verify.out.rfind("verified " + cid.substr(0, cid.size() - 1), 0), 0u) << verify.out;
  EXPECT_NE(verify.out.find(did_ + " (root)"), std::string::npos) << verify.out;

  // The default trust store lives in the data dir.
  Write(dir_ / "data" / "trust", did_ + " community\n");
  Outcome verify_default = Elastos({"capsule", "verify", S(dir_ / "app.capsule")});
  EXPECT_EQ(verify_default.exit_code, 0) << verify_default.err;
  EXPECT_NE(verify_default.out.find("(community)"), std::string::npos);

  Outcome inspect = Elastos({"capsule", "inspect", "--json", S(dir_ / "app.capsule")});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto json = boost::json::parse(inspect.out).as_object();
  EXPECT_EQ(json["cid"].as_string(), cid.substr(0, cid.size() - 1));
  EXPECT_EQ(json["signer"].as_string(), did_);
  EXPECT_EQ(json["manifest"].as_object()["name"].as_string(), "app");
  bool saw_entry = false;
  for (auto& f : json["files"].as_array()) saw_entry |= f.as_object()["path"].as_string() == "app.wasm";
  EXPECT_TRUE(saw_entry);
  Outcome text = Elastos({"capsule", "inspect", S(dir_ / "app.capsule")});
  EXPECT_NE(text.out.find("app.wasm"), std::string::npos);
  EXPECT_NE(text.out.find(did_), std::string::npos);
}

TEST_F(CliTest, VerifyRefusalsExitOneWithTheReason) {
  MakePublisherAndCapsule();
  ASSERT_EQ(Elastos({"capsule", "pack", S(dir_ / "app"), "--key", S(dir_ / "pub" / "private.key"), "--out",
                     S(dir_ / "app.capsule")}).exit_code, 0);
  // Untrusted publisher.
  Write(dir_ / "empty-trust", "# nobody\n");
  Outcome untrusted = Elastos({"capsule", "verify", S(dir_ / "app.capsule"), "--trust", S(dir_ / "empty-trust")});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("publisher_unknown"), std::string::npos) << untrusted.err;
  // Tampered data.
  std::string bytes = Slurp(dir_ / "app.capsule");
  bytes[bytes.size() - 300] ^= 0x40;
  Write(dir_ / "tampered.capsule", bytes);
  Outcome tampered = Elastos({"capsule", "verify", S(dir_ / "tampered.capsule"), "--trust", S(dir_ / "trust")});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.err.find("refused"), std::string::npos) << tampered.err;
  // No trust store anywhere: a clear message naming the fix.
  Outcome no_trust = Elastos({"capsule", "verify", S(dir_ / "app.capsule")});
  EXPECT_EQ(no_trust.exit_code, 1);
  EXPECT_NE(no_trust.err.find("--trust"), std::string::npos) << no_trust.err;
  // Missing file.
  EXPECT_EQ(Elastos({"capsule", "verify", S(dir_ / "none.capsule"), "--trust", S(dir_ / "trust")}).exit_code, 1);
  // Readable private key is refused when packing.
  ASSERT_EQ(::chmod((dir_ / "pub" / "private.key").c_str(), 0644), 0);
  Outcome loose = Elastos({"capsule", "pack", S(dir_ / "app"), "--key", S(dir_ / "pub" / "private.key"), "--out",
                       S(dir_ / "x.capsule")});
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_NE(loose.err.find("chmod 600"), std::string::npos) << loose.err;
  EXPECT_FALSE(fs::exists(dir_ / "x.capsule"));
}

TEST_F(CliTest, CarExportImportRoundTrip) {
  Write(dir_ / "tree" / "a.txt", "alpha");
  Write(dir_ / "tree" / "sub" / "b.bin", std::string(3 << 20, 'b'));  // multi-chunk
  fs::create_directories(dir_ / "tree" / "empty");
  Outcome exp = Elastos({"car", "export", S(dir_ / "tree"), "--out", S(dir_ / "tree.car")});
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  EXPECT_EQ(exp.out, Elastos({"cid", S(dir_ / "tree")}).out);
  Outcome imp = Elastos({"car", "import", S(dir_ / "tree.car"), "--out", S(dir_ / "copy")});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_EQ(Slurp(dir_ / "copy" / "a.txt"), "alpha");
  EXPECT_EQ(Slurp(dir_ / "copy" / "sub" / "b.bin"), std::string(3 << 20, 'b'));
  EXPECT_TRUE(fs::is_directory(dir_ / "copy" / "empty"));
  EXPECT_EQ(Elastos({"cid", S(dir_ / "copy")}).out, exp.out);
  // A size cap below the content is refused before anything is written.
  Outcome capped = Elastos({"car", "import", S(dir_ / "tree.car"), "--out", S(dir_ / "capped"), "--max-size", "1000"});
  EXPECT_EQ(capped.exit_code, 1);
  EXPECT_NE(capped.err.find("export_too_large"), std::string::npos) << capped.err;
  EXPECT_FALSE(fs::exists(dir_ / "capped"));
  // A damaged CAR is refused and writes nothing.
  std::string car = Slurp(dir_ / "tree.car");
  car[car.size() / 2] ^= 1;
  Write(dir_ / "bad.car", car);
  Outcome bad = Elastos({"car", "import", S(dir_ / "bad.car"), "--out", S(dir_ / "bad-out")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_ / "bad-out"));
}

TEST_F(CliTest, TokenInspectDecodesAndChecksTheSignature) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  runtime::TokenFields f;
  f.id[0] = 0xab;
  f.issuer = key.public_key();
  f.holder = "notes#1";
  f.resource = "localhost://Users/self/Documents/Notes/*";
  f.action = Action::kWrite;
  f.max_uses = 3;
  f.issued_at = {1795000000, 7};
  const std::string wire = runtime::Token::Sign(f, key).ToWire();

  // Against an explicit key: valid.
  Outcome ok = Elastos({"token", "inspect", wire, "--key", identity::DidKeyEncode(key.public_key()), "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto json = boost::json::parse(ok.out).as_object();
  EXPECT_EQ(json["holder"].as_string(), "notes#1");
  EXPECT_EQ(json["action"].as_string(), "write");
  EXPECT_EQ(json["max_uses"].as_int64(), 3);
  EXPECT_EQ(json["id"].as_string(), "ab000000000000000000000000000000");
  EXPECT_TRUE(std::string(json["signature"].as_string()).starts_with("valid"));
  // Against the data dir's runtime key by default.
  Write(dir_ / "data" / "keys" / "runtime.key", HexEncode(key.seed()) + "\n");
  ASSERT_EQ(::chmod((dir_ / "data" / "keys" / "runtime.key").c_str(), 0600), 0);
  Outcome by_default = Elastos({"token", "inspect", wire});
  EXPECT_EQ(by_default.exit_code, 0) << by_default.err;
  EXPECT_NE(by_default.out.find("localhost://Users/self/Documents/Notes/*"), std::string::npos);
  // Another key: refused, exit 1, but still decoded.
  const auto other = crypto::Ed25519PrivateKey::Generate();
  Outcome wrong = Elastos({"token", "inspect", wire, "--key", HexEncode(other.public_key().bytes())});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.out.find("issuer is not the given runtime key"), std::string::npos) << wrong.out;
  // A tampered token: the signature check names it.
  Bytes bytes = *Base64UrlDecode(wire);
  bytes.back() ^= 1;
  Outcome tampered = Elastos({"token", "inspect", Base64UrlEncode(bytes), "--key", identity::DidKeyEncode(key.public_key())});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.out.find("INVALID"), std::string::npos) << tampered.out;
  // Garbage.
  Outcome garbage = Elastos({"token", "inspect", "not-a-token"});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("token_malformed"), std::string::npos) << garbage.err;
}

TEST_F(CliTest, AuditVerifyTailProof) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  const fs::path data = dir_ / "data";
  Write(data / "keys" / "audit.key", HexEncode(key.seed()) + "\n");
  ASSERT_EQ(::chmod((data / "keys" / "audit.key").c_str(), 0600), 0);
  auto env = NewPosixEnv();
  {
    auto log = audit::AuditLog::Open(*env, data / "audit", key);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (int i = 0; i < 5; ++i) {
      audit::AuditRecord r;
      r.type = "grant";
      r.subject = "token" + std::to_string(i);
      ASSERT_TRUE((*log)->Append(r).ok());
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  Outcome verify = Elastos({"audit", "verify"});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("records      6"), std::string::npos) << verify.out;  // log_init + 5
  EXPECT_NE(verify.out.find("uncovered    0"), std::string::npos) << verify.out;

  Outcome tail = Elastos({"audit", "tail", "-n", "2", "--json"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  std::istringstream lines(tail.out);
  std::string line;
  std::vector<std::string> subjects;
  while (std::getline(lines, line)) {
    subjects.emplace_back(boost::json::parse(line).as_object()["record"].as_object()["subject"].as_string());
  }
  EXPECT_EQ(subjects, (std::vector<std::string>{"token3", "token4"}));

  Outcome proof = Elastos({"audit", "proof", "3"});
  EXPECT_EQ(proof.exit_code, 0) << proof.err;
  EXPECT_NE(proof.out.find("audit path"), std::string::npos);
  EXPECT_EQ(Elastos({"audit", "proof", "99"}).exit_code, 1);

  // Pinning another key fails; so does a flipped byte inside a checkpointed record.
  const auto other = crypto::Ed25519PrivateKey::Generate();
  EXPECT_EQ(Elastos({"audit", "verify", "--key", identity::DidKeyEncode(other.public_key())}).exit_code, 1);
  std::string bytes = Slurp(data / "audit" / "audit.log");
  const std::size_t at = bytes.find("token2");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'T';
  Write(data / "audit" / "audit.log", bytes);
  Outcome tampered = Elastos({"audit", "verify"});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_FALSE((tampered.out + tampered.err).empty());
}

}  // namespace
}  // namespace elastos
