#include "runtime/store/capability_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

#include "common/testing/fault_env.h"
#include "common/testing/temp_dir.h"

namespace elastos::runtime {
namespace {

namespace fs = std::filesystem;
using elastos::testing::FaultInjectionEnv;

TokenId Id(std::uint8_t a, std::uint8_t b = 0) {
  TokenId id{};
  id[0] = a;
  id[15] = b;
  return id;
}

IssuedToken Token(std::uint8_t n, std::string holder, std::string session) {
  IssuedToken t;
  t.id = Id(n);
  t.holder = std::move(holder);
  t.session = std::move(session);
  t.resource = "localhost://Users/me/Notes/*";
  t.action = Action::kWrite;
  t.epoch = 3;
  t.max_uses = 7;
  t.expiry_unix = 1'900'000'000;
  t.parent = Id(200);
  t.issued_unix = 1'700'000'000 + n;
  return t;
}

// Runs `sql` on a closed store's file with plain SQLite (no VFS shim), as an outside tool would.
void RawExec(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();  // closes cleanly
    auto s = CapabilityStore::Open(env_, path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void ExpectFailedMutationsChangeNothing(const std::function<void(bool)>& fail);
  Status OpenError() {
    store_.reset();
    auto s = CapabilityStore::Open(env_, path_);
    return s.ok() ? OkStatus() : s.status();
  }

  std::unique_ptr<Env> posix_ = NewPosixEnv();
  FaultInjectionEnv env_{posix_.get()};
  elastos::testing::TempDir tmp_;
  fs::path dir_ = tmp_.path(), path_ = dir_ / "state.db";
  std::unique_ptr<CapabilityStore> store_;  // closed before tmp_ removes the directory
};

TEST(TokenIdText, RoundTripsAndRejectsBadInput) {
  const TokenId id = Id(0xAB, 0x01);
  EXPECT_EQ(TokenIdHex(id), "ab000000000000000000000000000001");
  EXPECT_EQ(*ParseTokenId("AB000000000000000000000000000001"), id);
  EXPECT_EQ(ParseTokenId("ab00").status().reason(), "invalid_token_id");
  EXPECT_EQ(ParseTokenId("zz000000000000000000000000000001").status().reason(), "invalid_token_id");
}

TEST_F(StoreTest, NewStoreIsEmptyAndFileIsPrivate) {
  EXPECT_EQ(store_->epoch(), 0u);
  EXPECT_FALSE(store_->IsRevoked(Id(1)));
  EXPECT_EQ(store_->UseCount(Id(1)), 0u);
  EXPECT_FALSE(store_->IsSessionEnded("s"));
  EXPECT_TRUE(store_->List({})->empty());
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(StoreTest, EverythingPersistsAcrossReopen) {
  ASSERT_EQ(*store_->AdvanceEpoch(), 1u);
  ASSERT_EQ(*store_->AdvanceEpoch(), 2u);
  ASSERT_TRUE(store_->RecordIssued(Token(1, "notes#1", "s1")).ok());
  IssuedToken bare;
  bare.id = Id(2);
  bare.holder = "viewer#1";
  bare.resource = "localhost://Public/x";
  ASSERT_TRUE(store_->RecordIssued(bare).ok());
  ASSERT_TRUE(store_->Revoke(Id(9), "unknown ids can be revoked too").ok());
  ASSERT_EQ(*store_->ConsumeUse(Id(1), 7), 1u);
  ASSERT_EQ(*store_->ConsumeUse(Id(1), 7), 2u);
  ASSERT_TRUE(store_->EndSession("s0").ok());

  Reopen();
  EXPECT_EQ(store_->epoch(), 2u);
  EXPECT_TRUE(store_->IsRevoked(Id(9)));
  EXPECT_FALSE(store_->IsRevoked(Id(1)));
  EXPECT_EQ(store_->UseCount(Id(1)), 2u);
  EXPECT_TRUE(store_->IsSessionEnded("s0"));
  EXPECT_FALSE(store_->IsSessionEnded("s1"));
  auto all = store_->List({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], bare);  // issued_unix 0 sorts first
  EXPECT_EQ((*all)[1], Token(1, "notes#1", "s1"));
}

TEST_F(StoreTest, EpochNeverDecreases) {
  std::uint64_t last = store_->epoch();
  for (int i = 0; i < 20; ++i) {
    auto e = store_->AdvanceEpoch();
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, last + 1);
    EXPECT_EQ(store_->epoch(), *e);
    last = *e;
    if (i % 5 == 0) {
      Reopen();
      EXPECT_EQ(store_->epoch(), last);
    }
  }
}

TEST_F(StoreTest, RevokeIsIdempotent) {
  ASSERT_TRUE(store_->Revoke(Id(1), "first").ok());
  const auto syncs = env_.syncs();
  ASSERT_TRUE(store_->Revoke(Id(1), "second").ok());
  EXPECT_EQ(env_.syncs(), syncs);  // a repeat costs no I/O
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
}

TEST_F(StoreTest, LongReasonIsTruncatedNotRefused) {
  ASSERT_TRUE(store_->Revoke(Id(1), std::string(100'000, 'x')).ok());
  ASSERT_TRUE(store_->RecordIssued(Token(2, "h", "s")).ok());
  ASSERT_EQ(store_->RevokeWhere({.holder = "h"}, std::string(5000, '\xC3')).value().size(), 1u);
}

TEST_F(StoreTest, ConsumeUseStopsExactlyAtMax) {
  EXPECT_EQ(*store_->ConsumeUse(Id(1), 2), 1u);
  EXPECT_EQ(*store_->ConsumeUse(Id(1), 2), 2u);
  auto third = store_->ConsumeUse(Id(1), 2);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(third.status().reason(), "use_limit_exceeded");
  EXPECT_EQ(store_->UseCount(Id(1)), 2u);
  EXPECT_EQ(store_->ConsumeUse(Id(3), 0).status().reason(), "use_limit_exceeded");
  Reopen();
  EXPECT_EQ(store_->ConsumeUse(Id(1), 2).status().reason(), "use_limit_exceeded");
  EXPECT_EQ(store_->UseCount(Id(1)), 2u);
}

TEST_F(StoreTest, ConsumeUseExactlyMaxUnderConcurrency) {
  constexpr std::uint32_t kMax = 64;
  constexpr int kThreads = 8, kAttempts = 40;  // 320 attempts for 64 uses
  std::atomic<int> granted{0}, refused{0};
  std::vector<std::uint32_t> counts[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttempts; ++i) {
        auto n = store_->ConsumeUse(Id(7), kMax);
        if (n.ok()) {
          ++granted;
          counts[t].push_back(*n);
        } else if (n.status().reason() == "use_limit_exceeded") {
          ++refused;
        } else {
          ADD_FAILURE() << n.status().ToString();
        }
        (void)store_->IsRevoked(Id(7));  // readers run alongside the writers
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), static_cast<int>(kMax));
  EXPECT_EQ(refused.load(), kThreads * kAttempts - static_cast<int>(kMax));
  // Every count 1..kMax was handed out exactly once.
  std::vector<std::uint32_t> all;
  for (auto& c : counts) all.insert(all.end(), c.begin(), c.end());
  std::sort(all.begin(), all.end());
  for (std::uint32_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);
  EXPECT_EQ(store_->UseCount(Id(7)), kMax);
  Reopen();
  EXPECT_EQ(store_->UseCount(Id(7)), kMax);
}

TEST_F(StoreTest, ListAndRevokeWhereByHolderAndSession) {
  ASSERT_TRUE(store_->RecordIssued(Token(1, "notes#1", "s1")).ok());
  ASSERT_TRUE(store_->RecordIssued(Token(2, "notes#1", "s2")).ok());
  ASSERT_TRUE(store_->RecordIssued(Token(3, "viewer#1", "s1")).ok());
  ASSERT_TRUE(store_->RecordIssued(Token(4, "viewer#1", "s2")).ok());

  const auto ids = [](const std::vector<IssuedToken>& v) {
    std::vector<TokenId> out;
    for (const auto& t : v) out.push_back(t.id);
    return out;
  };
  EXPECT_EQ(ids(*store_->List({.holder = "notes#1"})), (std::vector<TokenId>{Id(1), Id(2)}));
  EXPECT_EQ(ids(*store_->List({.session = "s1"})), (std::vector<TokenId>{Id(1), Id(3)}));
  EXPECT_EQ(ids(*store_->List({.holder = "viewer#1", .session = "s2"})),
            (std::vector<TokenId>{Id(4)}));
  EXPECT_TRUE(store_->List({.holder = "nobody"})->empty());

  EXPECT_EQ(store_->RevokeWhere({}, "all").status().reason(), "filter_required");
  auto r = store_->RevokeWhere({.holder = "notes#1"}, "capsule stopped");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<TokenId>{Id(1), Id(2)}));
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
  EXPECT_TRUE(store_->IsRevoked(Id(2)));
  EXPECT_FALSE(store_->IsRevoked(Id(3)));
  // Already revoked tokens are not reported again.
  EXPECT_EQ(*store_->RevokeWhere({.session = "s1"}, "logout"), (std::vector<TokenId>{Id(3)}));

  EXPECT_EQ(ids(*store_->List({})), (std::vector<TokenId>{Id(4)}));
  EXPECT_EQ(store_->List({.include_revoked = true})->size(), 4u);
  Reopen();
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
  EXPECT_TRUE(store_->IsRevoked(Id(3)));
  EXPECT_EQ(ids(*store_->List({})), (std::vector<TokenId>{Id(4)}));
}

TEST_F(StoreTest, EndSessionRevokesItsTokensAndRefusesNewOnes) {
  ASSERT_TRUE(store_->RecordIssued(Token(1, "notes#1", "s1")).ok());
  ASSERT_TRUE(store_->RecordIssued(Token(2, "notes#1", "s2")).ok());
  ASSERT_TRUE(store_->EndSession("s1").ok());
  ASSERT_TRUE(store_->EndSession("s1").ok());  // idempotent
  EXPECT_TRUE(store_->IsSessionEnded("s1"));
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
  EXPECT_FALSE(store_->IsRevoked(Id(2)));
  EXPECT_EQ(store_->RecordIssued(Token(3, "notes#1", "s1")).reason(), "session_ended");
  EXPECT_EQ(store_->EndSession("").reason(), "invalid_session");
  Reopen();
  EXPECT_TRUE(store_->IsSessionEnded("s1"));
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
  EXPECT_EQ(store_->RecordIssued(Token(3, "notes#1", "s1")).reason(), "session_ended");
}

TEST_F(StoreTest, RecordIssuedValidates) {
  ASSERT_TRUE(store_->RecordIssued(Token(1, "h", "s")).ok());
  EXPECT_EQ(store_->RecordIssued(Token(1, "h", "s")).reason(), "duplicate_token_id");
  EXPECT_EQ(store_->RecordIssued(Token(2, "", "s")).reason(), "invalid_token");
  IssuedToken big = Token(3, "h", "s");
  big.epoch = std::uint64_t{1} << 63;
  EXPECT_EQ(store_->RecordIssued(big).reason(), "invalid_token");
  EXPECT_EQ(store_->List({})->size(), 1u);
  // The store still works after the refused insert.
  EXPECT_TRUE(store_->RecordIssued(Token(4, "h", "s")).ok());
}

// The heart of the durability contract: a mutation that could not be made durable reports an
// error and changes nothing in memory; after a clean reopen, nothing on disk either.
void StoreTest::ExpectFailedMutationsChangeNothing(const std::function<void(bool)>& fail) {
  ASSERT_TRUE(store_->RecordIssued(Token(1, "notes#1", "s1")).ok());
  ASSERT_EQ(*store_->ConsumeUse(Id(1), 5), 1u);
  const std::uint64_t epoch = store_->epoch();
  const auto unchanged = [&] {
    EXPECT_EQ(store_->epoch(), epoch);
    EXPECT_FALSE(store_->IsRevoked(Id(1)));
    EXPECT_EQ(store_->UseCount(Id(1)), 1u);
    EXPECT_FALSE(store_->IsSessionEnded("s1"));
    EXPECT_EQ(store_->List({}).value().size(), 1u);
  };

  fail(true);
  EXPECT_FALSE(store_->AdvanceEpoch().ok());
  EXPECT_FALSE(store_->Revoke(Id(1), "x").ok());
  EXPECT_FALSE(store_->RecordIssued(Token(2, "notes#1", "s1")).ok());
  EXPECT_FALSE(store_->ConsumeUse(Id(1), 5).ok());
  EXPECT_FALSE(store_->RevokeWhere({.holder = "notes#1"}, "x").ok());
  EXPECT_FALSE(store_->EndSession("s1").ok());
  unchanged();  // memory
  fail(false);
  Reopen();
  unchanged();  // disk
}

TEST_F(StoreTest, FailingSyncsChangeNothing) {
  ExpectFailedMutationsChangeNothing([this](bool on) { env_.FailSyncs(on); });
}

TEST_F(StoreTest, FailingWritesChangeNothing) {
  ExpectFailedMutationsChangeNothing([this](bool on) { env_.FailWrites(on); });
}

TEST_F(StoreTest, RecoversInPlaceAfterFaultsClear) {
  env_.FailSyncs(true);
  EXPECT_FALSE(store_->Revoke(Id(1), "x").ok());
  EXPECT_FALSE(store_->ConsumeUse(Id(2), 3).ok());
  env_.FailSyncs(false);
  // Same store object, no reopen: the failed transactions left no open transaction behind.
  EXPECT_TRUE(store_->Revoke(Id(1), "x").ok());
  EXPECT_EQ(*store_->ConsumeUse(Id(2), 3), 1u);
  EXPECT_EQ(*store_->AdvanceEpoch(), 1u);
  Reopen();
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
  EXPECT_EQ(store_->UseCount(Id(2)), 1u);
  EXPECT_EQ(store_->epoch(), 1u);
}

TEST_F(StoreTest, EveryCommitSyncs) {
  const auto before = env_.syncs();
  ASSERT_TRUE(store_->Revoke(Id(1), "x").ok());
  EXPECT_GT(env_.syncs(), before);
  const auto mid = env_.syncs();
  ASSERT_TRUE(store_->ConsumeUse(Id(1), 9).ok());
  EXPECT_GT(env_.syncs(), mid);
}

TEST_F(StoreTest, SecondOpenIsRefusedWhileOwned) {
  auto second = CapabilityStore::Open(env_, path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_EQ(second.status().reason(), "state_locked");
  // The owner is unaffected.
  EXPECT_TRUE(store_->Revoke(Id(1), "x").ok());
}

TEST_F(StoreTest, NewerSchemaIsRefusedAndLeftUntouched) {
  ASSERT_TRUE(store_->Revoke(Id(1), "x").ok());
  store_.reset();
  RawExec(path_, "PRAGMA user_version = " + std::to_string(CapabilityStore::kSchemaVersion + 1));
  const Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "state_schema_too_new");
  EXPECT_NE(s.message().find("Upgrade"), std::string::npos) << s.message();
  // Nothing was rewritten: restoring the version makes the data readable again.
  RawExec(path_, "PRAGMA user_version = " + std::to_string(CapabilityStore::kSchemaVersion));
  Reopen();
  EXPECT_TRUE(store_->IsRevoked(Id(1)));
}

TEST_F(StoreTest, NonSqliteFileIsAClearError) {
  store_.reset();
  fs::remove(path_);
  {
    std::ofstream f(path_, std::ios::binary);
    for (int i = 0; i < 1000; ++i) f << "this is not a database. ";
  }
  const Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "state_not_sqlite");
  EXPECT_NE(s.message().find(path_.string()), std::string::npos) << s.message();
}

TEST_F(StoreTest, ForeignSqliteDatabaseIsRefused) {
  store_.reset();
  fs::remove(path_);
  RawExec(path_, "CREATE TABLE photos(x); INSERT INTO photos VALUES (1);");
  EXPECT_EQ(OpenError().reason(), "state_foreign_db");
}

TEST_F(StoreTest, CorruptedPagesAreACleanError) {
  for (std::uint8_t i = 0; i < 50; ++i) ASSERT_TRUE(store_->RecordIssued(Token(i, "h", "s")).ok());
  store_.reset();
  {
    // Overwrite everything after the 100-byte header of page 1 and all later pages.
    std::fstream f(path_, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(100);
    const std::string junk(static_cast<std::size_t>(fs::file_size(path_)) - 100, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const Status s = OpenError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.reason() == "state_corrupt" || s.reason() == "state_not_sqlite") << s.ToString();
}

TEST_F(StoreTest, CommitLatency) {
  // Informational: the price of a durable mutation on this machine (one WAL fsync each).
  constexpr int kOps = 200;
  const auto time_ops = [&](const std::function<void(int)>& op) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kOps; ++i) op(i);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
               .count() /
           kOps;
  };
  const double use_us =
      time_ops([&](int) { ASSERT_TRUE(store_->ConsumeUse(Id(1), 1'000'000).ok()); });
  const double revoke_us = time_ops([&](int i) {
    ASSERT_TRUE(store_->Revoke(Id(2, static_cast<std::uint8_t>(i)), "bench").ok());
  });
  const double check_us =
      time_ops([&](int i) { (void)store_->IsRevoked(Id(3, static_cast<std::uint8_t>(i))); });
  std::printf("ConsumeUse %.1f us, Revoke %.1f us, IsRevoked %.3f us (mean of %d)\n", use_us,
              revoke_us, check_us, kOps);
  RecordProperty("consume_use_us", static_cast<int>(use_us));
  RecordProperty("revoke_us", static_cast<int>(revoke_us));
}

}  // namespace
}  // namespace elastos::runtime
