#include "runtime/store/env_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "common/testing/fault_env.h"

namespace elastos::runtime {
namespace {

namespace fs = std::filesystem;
using elastos::testing::FaultInjectionEnv;

class EnvVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/elastos-vfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  int Exec(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  }

  std::unique_ptr<Env> posix_ = NewPosixEnv();
  FaultInjectionEnv env_{posix_.get()};
  fs::path dir_;
};

TEST_F(EnvVfsTest, UniqueNamesAndUnregistersOnDestruction) {
  auto a = EnvVfs::Register(env_);
  auto b = EnvVfs::Register(env_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_STRNE((*a)->name(), (*b)->name());
  const std::string name = (*a)->name();
  EXPECT_NE(sqlite3_vfs_find(name.c_str()), nullptr);
  EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(name.c_str()));  // never the default
  a->reset();
  EXPECT_EQ(sqlite3_vfs_find(name.c_str()), nullptr);
}

TEST_F(EnvVfsTest, WritesAndSyncsReachTheEnv) {
  auto vfs = EnvVfs::Register(env_);
  ASSERT_TRUE(vfs.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ / "t.db").c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE,
                            (*vfs)->name()),
            SQLITE_OK);
  ASSERT_EQ(Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t(x)"),
            SQLITE_OK);

  const auto syncs = env_.syncs();
  ASSERT_EQ(Exec(db, "INSERT INTO t VALUES (1)"), SQLITE_OK);
  EXPECT_GT(env_.syncs(), syncs);

  env_.FailSyncs(true);
  EXPECT_EQ(Exec(db, "INSERT INTO t VALUES (2)"), SQLITE_IOERR_FSYNC);
  env_.FailSyncs(false);
  env_.FailWrites(true);
  EXPECT_EQ(Exec(db, "INSERT INTO t VALUES (3)"), SQLITE_IOERR_WRITE);
  env_.FailWrites(false);
  if (!sqlite3_get_autocommit(db)) Exec(db, "ROLLBACK");

  ASSERT_EQ(Exec(db, "INSERT INTO t VALUES (4)"), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(x) FROM t", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "1,4");
  sqlite3_finalize(stmt);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
}

}  // namespace
}  // namespace elastos::runtime
