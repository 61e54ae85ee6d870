#include "common/testing/temp_dir.h"
#include "runtime/capability/capability_manager.h"

#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/testing/fault_env.h"
#include "identity/key_file.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/verify.h"

#include <set>

#include <boost/json.hpp>

namespace elastos::runtime {
namespace {
namespace fs = std::filesystem;

constexpr char kNotes[] = "localhost://Users/self/Documents/Notes/*";
constexpr char kNote[] = "localhost://Users/self/Documents/Notes/a.txt";

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    Open();
  }
  void TearDown() override {
    Close();
  }
  void Open() {
    ASSERT_TRUE(env_.CreateDirectories(dir_ / "keys", 0700).ok());
    ASSERT_TRUE(env_.CreateDirectories(dir_ / "audit", 0700).ok());
    auto store = CapabilityStore::Open(env_, dir_ / "state.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto clock = SecureClock::Open(env_, dir_ / "clock");
    ASSERT_TRUE(clock.ok()) << clock.status().ToString();
    clock_ = std::move(clock).value();
    auto audit = audit::AuditLog::Open(env_, dir_ / "audit", audit_key_);
    ASSERT_TRUE(audit.ok()) << audit.status().ToString();
    audit_ = std::move(audit).value();
    auto mgr = CapabilityManager::Open({&env_, store_.get(), clock_.get(), audit_.get()}, dir_ / "keys" / "runtime.key");
    ASSERT_TRUE(mgr.ok()) << mgr.status().ToString();
    mgr_ = std::move(mgr).value();
  }
  void Close() {
    mgr_.reset();
    if (audit_) {
      ASSERT_TRUE(audit_->Close().ok());
    }
    audit_.reset();
    clock_.reset();
    store_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }

  Token Grant(GrantRequest r = {}) {
    if (r.holder.empty()) r.holder = "notes#1";
    if (r.resource.empty()) r.resource = kNotes;
    auto t = mgr_->Grant(r, shell_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return *t;
  }
  std::string Use(const Token& t, AccessRequest a = {}) {
    if (a.caller.empty()) a.caller = "notes#1";
    if (a.resource.empty()) a.resource = kNote;
    const Status s = mgr_->Validate(t, a);
    return s.ok() ? "ok" : s.reason();
  }
  static AccessRequest Access(Action action, std::string_view resource = kNote, std::string_view caller = "notes#1",
                              Classification c = Classification::kPrivate) {
    return {caller, action, resource, c};
  }

  ::elastos::testing::TempDir tmp_;
  fs::path dir_;
  std::unique_ptr<Env> posix_ = NewPosixEnv();
  testing::FaultInjectionEnv env_{posix_.get()};
  crypto::Ed25519PrivateKey audit_key_ = crypto::Ed25519PrivateKey::Generate();
  std::unique_ptr<CapabilityStore> store_;
  std::unique_ptr<SecureClock> clock_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<CapabilityManager> mgr_;
  Actor shell_{"shell", audit::ActorKind::kCapsule};
};

TEST_F(ManagerTest, GrantThenValidate) {
  const Token t = Grant({.action = Action::kRead});
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  EXPECT_EQ(t.fields().issuer, mgr_->public_key());
  EXPECT_EQ(t.fields().resource, kNotes);
}

// ---- One test per check, each failing exactly that check ----

TEST_F(ManagerTest, Check01Version) {
  const Token t = Grant({.action = Action::kRead});
  EXPECT_TRUE(mgr_->ValidateWire(t.ToWire(), Access(Action::kRead)).ok());
  // The same token claiming version 2 (correctly signed, so only the version is wrong).
  TokenFields f = t.fields();
  f.version = 2;
  const Token v2 = Token::Sign(f, crypto::Ed25519PrivateKey::Generate());
  EXPECT_EQ(mgr_->ValidateWire(v2.ToWire(), Access(Action::kRead)).reason(), "token_version");
  EXPECT_EQ(mgr_->ValidateWire("!!", Access(Action::kRead)).reason(), "token_malformed");
}

TEST_F(ManagerTest, Check02Revoked) {
  const Token t = Grant({.action = Action::kWrite});
  ASSERT_TRUE(mgr_->Revoke(t.fields().id, "test", shell_).ok());
  EXPECT_EQ(Use(t, Access(Action::kWrite)), "token_revoked");
}

TEST_F(ManagerTest, Check02ParentRevoked) {
  const Token parent = Grant({.action = Action::kRead, .delegatable = true});
  auto child = mgr_->Delegate(parent, "notes#1", {.to_holder = "viewer#1", .resource = kNotes});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_EQ(Use(*child, Access(Action::kRead, kNote, "viewer#1")), "ok");
  ASSERT_TRUE(mgr_->Revoke(parent.fields().id, "test", shell_).ok());
  EXPECT_EQ(Use(*child, Access(Action::kRead, kNote, "viewer#1")), "token_revoked");
}

TEST_F(ManagerTest, Check02SessionEnded) {
  const Token t = Grant({.session = "s1", .action = Action::kRead});
  const Token other = Grant({.session = "s2", .action = Action::kRead});
  ASSERT_TRUE(store_->EndSession("s1").ok());
  EXPECT_EQ(Use(t, Access(Action::kRead)), "token_revoked");
  EXPECT_EQ(Use(other, Access(Action::kRead)), "ok");
}

TEST_F(ManagerTest, Check03Epoch) {
  const Token t = Grant({.action = Action::kRead});
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");  // now in the verified cache
  ASSERT_TRUE(mgr_->RevokeAll("test", shell_).ok());
  EXPECT_EQ(Use(t, Access(Action::kRead)), "epoch_revoked");  // cached tokens die at once too
  EXPECT_EQ(Use(Grant({.action = Action::kRead}), Access(Action::kRead)), "ok");
}

TEST_F(ManagerTest, Check04Issuer) {
  TokenFields f = Grant({.action = Action::kRead}).fields();
  const auto stranger = crypto::Ed25519PrivateKey::Generate();
  f.issuer = stranger.public_key();
  EXPECT_EQ(Use(Token::Sign(f, stranger), Access(Action::kRead)), "untrusted_issuer");
}

TEST_F(ManagerTest, Check05Signature) {
  const Token t = Grant({.action = Action::kRead});
  Bytes forged = t.bytes();
  forged.back() ^= 0x01;
  EXPECT_EQ(Use(*Token::Decode(forged), Access(Action::kRead)), "invalid_signature");
  // A forgery of a field (same issuer, signed by someone else) fails too.
  TokenFields f = t.fields();
  f.action = Action::kAdmin;
  const Token wider = Token::Sign(f, crypto::Ed25519PrivateKey::Generate());
  EXPECT_EQ(Use(wider, Access(Action::kAdmin)), "invalid_signature");
}

TEST_F(ManagerTest, Check06Holder) {
  const Token t = Grant({.holder = "notes#1", .action = Action::kRead});
  // Another instance of the same capsule is another holder.
  EXPECT_EQ(Use(t, Access(Action::kRead, kNote, "notes#2")), "wrong_holder");
}

TEST_F(ManagerTest, Check07ActionOfTheOperation) {
  const Token read = Grant({.action = Action::kRead});
  EXPECT_EQ(Use(read, Access(Action::kWrite)), "wrong_action");  // a read token cannot write
  const Token admin = Grant({.action = Action::kAdmin});
  EXPECT_EQ(Use(admin, Access(Action::kRead)), "wrong_action");  // no hierarchy
}

TEST_F(ManagerTest, Check08Resource) {
  const Token t = Grant({.action = Action::kRead});
  EXPECT_EQ(Use(t, Access(Action::kRead, "localhost://Users/self/Documents/Other/a.txt")), "wrong_resource");
  EXPECT_EQ(Use(t, Access(Action::kRead, "localhost://Users/self/Documents/Notes")), "wrong_resource");
  for (const char* trick : {"localhost://Users/self/Documents/Notes/../../.ssh/id", "localhost://Users/self/Documents/Notes/%2e%2e/x",
                            "localhost://Users/self/Documents/Notes/%2E%2e/%2e%2E/y", "localhost://Users/self/Documents/Notes/..%2fx",
                            "localhost://Users/self/Documents/Notes\\..\\x"}) {
    EXPECT_EQ(Use(t, Access(Action::kRead, trick)), "wrong_resource") << trick;
  }
}

TEST_F(ManagerTest, Check09FutureDated) {
  // The runtime never dates its own tokens ahead of its clock; a future-dated token with a valid
  // signature means a mis-set clock elsewhere or a leaked key. Make one with the runtime key.
  env_.SetUnixSeconds(2'000'000'000);
  auto seed = env_.ReadFile(dir_ / "keys" / "runtime.key", 256);
  auto key = identity::ParsePrivateKey(*seed);
  TokenFields f = Grant({.action = Action::kRead}).fields();
  f.issued_at.unix_secs = 2'000'000'000 + 301;
  EXPECT_EQ(Use(Token::Sign(f, *key), Access(Action::kRead)), "future_dated");
  f.issued_at.unix_secs = 2'000'000'000 + 300;  // within the allowed skew
  EXPECT_EQ(Use(Token::Sign(f, *key), Access(Action::kRead)), "ok");
}

TEST_F(ManagerTest, Check10Expired) {
  env_.SetUnixSeconds(2'000'000'000);
  const Token t = Grant({.action = Action::kRead, .ttl_secs = 60});
  env_.SetUnixSeconds(2'000'000'059);
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  env_.SetUnixSeconds(2'000'000'060);
  EXPECT_EQ(Use(t, Access(Action::kRead)), "token_expired");
  // Winding the wall clock back does not revive it: "now" never precedes what the runtime issued
  // or saw.
  const Token later = Grant({.action = Action::kRead});
  env_.SetUnixSeconds(2'000'000'000);
  EXPECT_EQ(Use(t, Access(Action::kRead)), "token_expired");
  EXPECT_EQ(Use(later, Access(Action::kRead)), "ok");
}

TEST_F(ManagerTest, Check11Classification) {
  const Token t = Grant({.action = Action::kRead, .max_classification = Classification::kInternal});
  EXPECT_EQ(Use(t, Access(Action::kRead, kNote, "notes#1", Classification::kPublic)), "ok");
  EXPECT_EQ(Use(t, Access(Action::kRead, kNote, "notes#1", Classification::kInternal)), "ok");
  EXPECT_EQ(Use(t, Access(Action::kRead, kNote, "notes#1", Classification::kPrivate)), "classification_exceeded");
}

TEST_F(ManagerTest, Check12UseCount) {
  const Token t = Grant({.action = Action::kRead, .max_uses = 2});
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  EXPECT_EQ(Use(t, Access(Action::kRead)), "use_limit_exceeded");
  Reopen();  // durable across restarts
  EXPECT_EQ(Use(t, Access(Action::kRead)), "use_limit_exceeded");
  EXPECT_EQ(store_->UseCount(t.fields().id), 2u);
}

TEST_F(ManagerTest, UseIsBurntOnlyWhenEverythingElsePasses) {
  const Token t = Grant({.action = Action::kRead, .max_uses = 1});
  EXPECT_EQ(Use(t, Access(Action::kWrite)), "wrong_action");
  EXPECT_EQ(Use(t, Access(Action::kRead, kNote, "notes#2")), "wrong_holder");
  EXPECT_EQ(Use(t, Access(Action::kRead, "localhost://Public/x")), "wrong_resource");
  EXPECT_EQ(store_->UseCount(t.fields().id), 0u);
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  EXPECT_EQ(Use(t, Access(Action::kRead)), "use_limit_exceeded");
}

TEST_F(ManagerTest, MaxUsesOneValidatesExactlyOnceUnderConcurrency) {
  const Token t = Grant({.action = Action::kRead, .max_uses = 1});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) ok += mgr_->Validate(t, Access(Action::kRead)).ok() ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
}

// ---- Delegation ----

TEST_F(ManagerTest, DelegationNarrowsAndCaps) {
  env_.SetUnixSeconds(2'000'000'000);
  const Token parent = Grant({.action = Action::kRead, .delegatable = true, .max_uses = 5, .ttl_secs = 100});
  auto child = mgr_->Delegate(parent, "notes#1",
                              {.to_holder = "viewer#1", .resource = "localhost://Users/self/Documents/Notes/2024/*", .ttl_secs = 1000});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_EQ(child->fields().expiry_unix, parent.fields().expiry_unix);  // capped at the parent's
  EXPECT_FALSE(child->fields().delegatable);                          // depth 1
  EXPECT_EQ(child->fields().parent, parent.fields().id);
  EXPECT_EQ(child->fields().max_uses, 5u);
  EXPECT_EQ(Use(*child, Access(Action::kRead, "localhost://Users/self/Documents/Notes/2024/x", "viewer#1")), "ok");
  EXPECT_EQ(Use(*child, Access(Action::kRead, kNote, "viewer#1")), "wrong_resource");  // outside the child's scope
  // The child cannot delegate further.
  EXPECT_EQ(mgr_->Delegate(*child, "viewer#1", {.to_holder = "x#1", .resource = "localhost://Users/self/Documents/Notes/2024/*"})
                .status().reason(), "not_delegatable");
}

TEST_F(ManagerTest, DelegationRefusals) {
  const Token plain = Grant({.action = Action::kRead});
  EXPECT_EQ(mgr_->Delegate(plain, "notes#1", {.to_holder = "v#1", .resource = kNotes}).status().reason(), "not_delegatable");
  const Token parent = Grant({.action = Action::kRead, .delegatable = true});
  // Widening.
  EXPECT_EQ(mgr_->Delegate(parent, "notes#1", {.to_holder = "v#1", .resource = "localhost://Users/self/*"}).status().reason(),
            "wrong_resource");
  EXPECT_EQ(mgr_->Delegate(parent, "notes#1", {.to_holder = "v#1", .resource = "localhost://Users/self/Documents/Notes"})
                .status().reason(), "wrong_resource");
  // Only the holder may delegate.
  EXPECT_EQ(mgr_->Delegate(parent, "notes#2", {.to_holder = "v#1", .resource = kNotes}).status().reason(), "wrong_holder");
  // A revoked parent delegates nothing.
  ASSERT_TRUE(mgr_->Revoke(parent.fields().id, "test", shell_).ok());
  EXPECT_EQ(mgr_->Delegate(parent, "notes#1", {.to_holder = "v#1", .resource = kNotes}).status().reason(), "token_revoked");
}

// ---- Keys, durability, faults ----

TEST_F(ManagerTest, RotationInvalidatesOldTokens) {
  const Token t = Grant({.action = Action::kRead});
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  const Status rotated = mgr_->RotateSigningKey(shell_);
  ASSERT_TRUE(rotated.ok()) << rotated.ToString();
  EXPECT_EQ(Use(t, Access(Action::kRead)), "untrusted_issuer");
  EXPECT_EQ(mgr_->cached_signatures(), 0u);
  const Token fresh = Grant({.action = Action::kRead});
  Reopen();  // the rotated key is the one loaded
  EXPECT_EQ(Use(fresh, Access(Action::kRead)), "ok");
}

TEST_F(ManagerTest, RevocationsAndEpochSurviveRestart) {
  const Token a = Grant({.action = Action::kRead});
  const Token b = Grant({.action = Action::kRead});
  ASSERT_TRUE(mgr_->Revoke(a.fields().id, "test", shell_).ok());
  Reopen();
  EXPECT_EQ(Use(a, Access(Action::kRead)), "token_revoked");
  EXPECT_EQ(Use(b, Access(Action::kRead)), "ok");
  ASSERT_TRUE(mgr_->RevokeAll("test", shell_).ok());
  const std::uint64_t epoch = store_->epoch();
  Reopen();
  EXPECT_EQ(store_->epoch(), epoch);
  EXPECT_EQ(Use(b, Access(Action::kRead)), "epoch_revoked");
}

TEST_F(ManagerTest, FailingSyncFailsStateChangesAndLeavesNoPartialState) {
  const Token t = Grant({.action = Action::kRead});
  const std::uint64_t epoch = store_->epoch();
  env_.FailSyncs(true);
  EXPECT_FALSE(mgr_->Grant({.holder = "notes#1", .resource = kNotes}, shell_).ok());
  EXPECT_FALSE(mgr_->Revoke(t.fields().id, "test", shell_).ok());
  EXPECT_FALSE(mgr_->RevokeAll("test", shell_).ok());
  EXPECT_FALSE(store_->IsRevoked(t.fields().id));
  EXPECT_EQ(store_->epoch(), epoch);
  env_.FailSyncs(false);
  Reopen();
  EXPECT_FALSE(store_->IsRevoked(t.fields().id));
  EXPECT_EQ(store_->epoch(), epoch);
  EXPECT_EQ(store_->List({}).value().size(), 1u);  // the failed grant left no issued record
}

TEST_F(ManagerTest, CachedValidationStillChecksEverythingButTheSignature) {
  const Token t = Grant({.action = Action::kRead});
  EXPECT_EQ(Use(t, Access(Action::kRead)), "ok");
  EXPECT_GE(mgr_->cached_signatures(), 1u);
  EXPECT_EQ(Use(t, Access(Action::kWrite)), "wrong_action");
  EXPECT_EQ(Use(t, Access(Action::kRead, kNote, "other#1")), "wrong_holder");
  ASSERT_TRUE(mgr_->Revoke(t.fields().id, "test", shell_).ok());
  EXPECT_EQ(Use(t, Access(Action::kRead)), "token_revoked");
}

TEST_F(ManagerTest, EveryOperationAndOutcomeIsAudited) {
  const Token t = Grant({.action = Action::kRead, .delegatable = true});
  ASSERT_EQ(Use(t, Access(Action::kRead)), "ok");
  ASSERT_EQ(Use(t, Access(Action::kWrite)), "wrong_action");
  ASSERT_EQ(Use(t, Access(Action::kRead, kNote, "intruder#1")), "wrong_holder");
  ASSERT_TRUE(mgr_->Delegate(t, "notes#1", {.to_holder = "viewer#1", .resource = kNotes}).ok());
  ASSERT_TRUE(mgr_->Revoke(t.fields().id, "done", shell_).ok());
  ASSERT_EQ(Use(t, Access(Action::kRead)), "token_revoked");
  ASSERT_TRUE(mgr_->RevokeAll("incident", shell_).ok());
  ASSERT_TRUE(mgr_->RotateSigningKey(shell_).ok());
  ASSERT_EQ(mgr_->ValidateWire("garbage", Access(Action::kRead)).reason(), "token_malformed");
  ASSERT_TRUE(audit_->Flush().ok());

  auto records = audit::ReadTail(env_, dir_ / "audit", 100);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  std::set<std::string> seen;
  for (const auto& r : records->records) {
    auto o = boost::json::parse(r.json).as_object();
    std::string entry(o["type"].as_string());
    entry += "/" + std::string(o["outcome"].as_string());
    if (o.contains("reason")) entry += "/" + std::string(o["reason"].as_string());
    seen.insert(entry);
  }
  for (const char* want : {"grant/ok", "validate/ok", "validate/denied/wrong_action", "validate/denied/wrong_holder",
                           "delegate/ok", "revoke/ok/done", "validate/denied/token_revoked", "epoch_advance/ok/incident",
                           "signing_key_rotation/ok", "validate/denied/token_malformed"}) {
    EXPECT_TRUE(seen.contains(want)) << "no audit record " << want;
  }
  // Records name token ids, never token bytes.
  for (const auto& r : records->records) EXPECT_EQ(r.json.find(t.ToWire()), std::string::npos);
}

TEST_F(ManagerTest, GrantRefusesBadRequests) {
  EXPECT_EQ(mgr_->Grant({.holder = "", .resource = kNotes}, shell_).status().reason(), "bad_holder");
  EXPECT_EQ(mgr_->Grant({.holder = "a#1", .resource = "localhost://../x"}, shell_).status().reason(), "bad_resource");
  EXPECT_EQ(mgr_->Grant({.holder = "a#1", .resource = kNotes, .max_uses = 0}, shell_).status().reason(), "bad_max_uses");
  EXPECT_EQ(mgr_->Grant({.holder = "a#1", .resource = kNotes, .ttl_secs = 0}, shell_).status().reason(), "bad_ttl");
}

}  // namespace
}  // namespace elastos::runtime
