// kill -9 test of the whole capability kernel: a child process runs a long random sequence of
// grant / validate / revoke / revoke-all / use of max_uses tokens and is SIGKILLed at random
// moments, over and over on the same data directory. After every kill the kernel is reopened and
// must show: every acknowledged revocation (no revoked token validates), an epoch that never
// decreased and is at least the last acknowledged one, no use-limited token used more often than
// allowed nor fewer times than acknowledged, and an audit log that verifies.
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/audit/verify.h"
#include "runtime/capability/crash_rig.h"
#include "runtime/store/crash_harness.h"

namespace elastos::runtime {
namespace {
namespace fs = std::filesystem;

TEST(CapabilityCrash, SurvivesRepeatedSigkill) {
  char tmpl[] = "/tmp/elastos-capcrash-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const fs::path child = testing::HelperPath("capability_crash_child");
  std::mt19937_64 rng(20261123);

  std::map<std::string, Token> granted;  // id hex → token
  std::set<std::string> revoked;
  std::map<std::string, std::uint32_t> acked_uses, max_uses;
  std::uint64_t acked_epoch = 0, last_epoch = 0;
  int kills = 0;
  const int kRuns = 220;
  for (int run = 0; run < kRuns; ++run) {
    // The clock starts when the child says "open" (the kernel is up); it then acknowledges an
    // operation every few ms (each an fsync of SQLite and of the audit log). Some kills land
    // during start-up (delay 0), most mid-stream.
    const auto delay = std::chrono::microseconds(rng() % 8 == 0 ? 0 : rng() % 60000);
    auto result = testing::RunAndKill({child.string(), dir.string(), std::to_string(rng())}, delay, "open");
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_TRUE(result->killed) << "the child exited on its own with " << result->exit_code;
    ++kills;
    std::vector<std::string> revoked_now;
    for (const std::string& line : result->lines) {
      std::istringstream in(line);
      std::string kind, a, b;
      in >> kind >> a >> b;
      if (kind == "G") {
        auto t = Token::FromWire(a);
        ASSERT_TRUE(t.ok());
        granted.emplace(TokenIdHex(t->fields().id), *t);
      } else if (kind == "U") {
        ++acked_uses[a];
        max_uses[a] = static_cast<std::uint32_t>(std::stoul(b));
      } else if (kind == "R") {
        revoked.insert(a);
        revoked_now.push_back(a);
      } else if (kind == "E") {
        acked_epoch = std::max<std::uint64_t>(acked_epoch, std::stoull(a));
      }
    }

    auto kernel = testing::Kernel::Open(dir);
    ASSERT_TRUE(kernel.ok()) << "run " << run << ": " << kernel.status().ToString();
    CapabilityStore& store = *kernel->store;
    const std::uint64_t epoch = store.epoch();
    ASSERT_GE(epoch, acked_epoch) << "run " << run;
    ASSERT_GE(epoch, last_epoch) << "run " << run << ": the epoch went backwards";
    last_epoch = epoch;
    for (const std::string& id : revoked) {
      ASSERT_TRUE(store.IsRevoked(*ParseTokenId(id))) << "run " << run << ": lost revocation of " << id;
    }
    // And through the front door: this run's revoked tokens do not validate (each refusal is a
    // durable audit record, so only this run's, not all of them every time).
    for (const std::string& id : revoked_now) {
      auto it = granted.find(id);
      if (it == granted.end()) continue;
      const TokenFields& f = it->second.fields();
      const Status s = kernel->manager->Validate(it->second, {f.holder, f.action, f.resource.substr(0, f.resource.size() - 1) + "x",
                                                              Classification::kPrivate});
      ASSERT_FALSE(s.ok()) << "run " << run << ": revoked token " << id << " validated";
    }
    for (const auto& [id, acked] : acked_uses) {
      const std::uint32_t count = store.UseCount(*ParseTokenId(id));
      ASSERT_LE(count, max_uses[id]) << "run " << run << ": token " << id << " used beyond max_uses";
      ASSERT_GE(count, acked) << "run " << run << ": an acknowledged use of " << id << " was lost";
    }
    const crypto::Ed25519PublicKey audit_key = kernel->audit_public_key;
    ASSERT_TRUE(kernel->Close().ok());
    auto report = audit::VerifyLog(*NewPosixEnv(), dir / "audit", audit_key);
    ASSERT_TRUE(report.ok()) << "run " << run << ": " << report.status().ToString();
    ASSERT_FALSE(report->problem) << "run " << run << ": audit log does not verify";
  }
  EXPECT_GE(kills, 200);
  // And the operator's tool agrees: `elastos audit verify` on the data directory.
  if (const char* bin = std::getenv("ELASTOS_BIN")) {
    const std::string cmd = std::string(bin) + "/elastos --data-dir " + dir.string() + " audit verify >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  EXPECT_GT(revoked.size(), 20u);
  EXPECT_GT(acked_uses.size(), 10u);
  EXPECT_GT(acked_epoch, 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace elastos::runtime
