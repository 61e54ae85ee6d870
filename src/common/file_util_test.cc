#include "common/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"

namespace elastos {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  ::elastos::testing::TempDir tmp_;
  const std::filesystem::path dir_ = tmp_.path();
};

TEST_F(FileUtilTest, WritesAtomicallyWithMode) {
  const auto path = dir_ / "key";
  ASSERT_TRUE(WriteFileAtomic(path, AsBytes("secret\n"), 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadFileLimited(path, 100), ToBytes("secret\n"));
  // No temp files left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(FileUtilTest, RefuseOverwriteKeepsOldContent) {
  const auto path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomic(path, AsBytes("one")).ok());
  Status s = WriteFileAtomic(path, AsBytes("two"), 0644, Overwrite::kRefuse);
  EXPECT_EQ(s.reason(), "already_exists");
  EXPECT_EQ(*ReadFileLimited(path, 100), ToBytes("one"));
  ASSERT_TRUE(WriteFileAtomic(path, AsBytes("two")).ok());
  EXPECT_EQ(*ReadFileLimited(path, 100), ToBytes("two"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(FileUtilTest, ReadLimitsAndErrors) {
  const auto path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomic(path, AsBytes("0123456789")).ok());
  EXPECT_EQ(ReadFileLimited(path, 9).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ReadFileLimited(dir_ / "missing", 9).status().code(), Code::kNotFound);
  EXPECT_EQ(ReadFileLimited(dir_, 9).status().reason(), "not_a_file");
  EXPECT_FALSE(WriteFileAtomic(dir_ / "no" / "such" / "dir", AsBytes("x")).ok());
}

}  // namespace
}  // namespace elastos
