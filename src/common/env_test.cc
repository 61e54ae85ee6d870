#include "common/env.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "common/testing/fault_env.h"
#include "common/testing/temp_dir.h"

namespace elastos {
namespace {
namespace fs = std::filesystem;

class EnvTest : public ::testing::Test {
 protected:
  std::string ReadAll(Env& env, const fs::path& p) {
    auto file = env.OpenReadable(p);
    std::string out;
    std::uint8_t buf[64];
    for (std::uint64_t off = 0;;) {
      auto n = (*file)->ReadAt(off, buf);
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<char*>(buf), *n);
      off += *n;
    }
    return out;
  }
  ::elastos::testing::TempDir tmp_;
  const std::filesystem::path dir_ = tmp_.path();
  std::unique_ptr<Env> posix_ = NewPosixEnv();
};

TEST_F(EnvTest, AppendSyncReadTruncate) {
  auto f = posix_->OpenAppendable(dir_ / "log", 0600);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(AsBytes("hello ")).ok());
  ASSERT_TRUE((*f)->Append(AsBytes("world")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadAll(*posix_, dir_ / "log"), "hello world");
  ASSERT_TRUE(posix_->Truncate(dir_ / "log", 5).ok());
  EXPECT_EQ(ReadAll(*posix_, dir_ / "log"), "hello");
  EXPECT_EQ(*(*posix_->OpenReadable(dir_ / "log"))->Size(), 5u);
  EXPECT_EQ(posix_->OpenReadable(dir_ / "nope").status().code(), Code::kNotFound);
}

TEST_F(EnvTest, FaultsAreInjected) {
  testing::FaultInjectionEnv env(posix_.get());
  auto f = env.OpenAppendable(dir_ / "log", 0600);
  ASSERT_TRUE(f.ok());
  env.FailSyncs(true);
  EXPECT_EQ((*f)->Sync().code(), Code::kUnavailable);
  EXPECT_FALSE(env.SyncDirectory(dir_).ok());
  EXPECT_FALSE(env.InterceptSync(dir_ / "db").ok());
  // An atomic replace that cannot be made durable leaves the old content.
  ASSERT_TRUE(posix_->WriteFileAtomic(dir_ / "state", AsBytes("old"), 0600).ok());
  EXPECT_FALSE(env.WriteFileAtomic(dir_ / "state", AsBytes("new"), 0600).ok());
  EXPECT_EQ(ReadAll(*posix_, dir_ / "state"), "old");
  env.FailSyncs(false);
  EXPECT_TRUE((*f)->Sync().ok());

  env.FailAppendsAfter(4);
  EXPECT_FALSE((*f)->Append(AsBytes("abcdefgh")).ok());  // torn: "abcd" lands
  EXPECT_FALSE((*f)->Append(AsBytes("x")).ok());
  env.FailAppendsAfter(-1);
  EXPECT_EQ(ReadAll(*posix_, dir_ / "log"), "abcd");
  env.FailWrites(true);
  EXPECT_EQ((*f)->Append(AsBytes("x")).code(), Code::kResourceExhausted);
  EXPECT_FALSE(env.InterceptWrite(dir_ / "db").ok());
}

TEST_F(EnvTest, ShortReadsAndClock) {
  testing::FaultInjectionEnv env(posix_.get());
  ASSERT_TRUE(posix_->WriteFileAtomic(dir_ / "f", AsBytes("0123456789"), 0600).ok());
  env.ShortReads(true);
  auto file = env.OpenReadable(dir_ / "f");
  std::uint8_t buf[10];
  EXPECT_EQ(*(*file)->ReadAt(0, buf), 5u);
  EXPECT_EQ(ReadAll(env, dir_ / "f"), "0123456789");  // a looping reader still gets it all

  env.SetUnixSeconds(1000);
  EXPECT_EQ(env.NowUnixSeconds(), 1000);
  env.AdvanceUnixSeconds(-500);  // wall clocks can go backwards
  EXPECT_EQ(env.NowUnixSeconds(), 500);
  env.UseRealClock();
  EXPECT_GT(env.NowUnixSeconds(), 1'700'000'000);
  const auto before = env.NowMonotonicNanos();
  env.AdvanceMonotonicNanos(5'000'000'000);
  EXPECT_GE(env.NowMonotonicNanos(), before + 5'000'000'000);
}

}  // namespace
}  // namespace elastos
