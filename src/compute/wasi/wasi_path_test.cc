// path_*: opening, creating and removing names under /data, and the confinement: no path, ".."
// or symlink reaches a host file outside /data.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "compute/wasi/wasi_test_util.h"

namespace elastos::compute::wasi::testing {
namespace {

namespace fs = std::filesystem;

// Every escape target a test might write to, truncate or touch is a file of the test's own
// temporary directory. Real host files (/etc/passwd) appear only in read-only probes, so a
// regression in the confinement fails tests without damaging the machine running them.
class WasiPathTest : public WasiTest {
 protected:
  void SetUp() override {
    WasiTest::SetUp();
    // Outside /data: what a hostile guest would like to read, overwrite or create next to.
    WriteFile(root_ / "outside.txt", "secret");
    fs::create_directory(root_ / "outdir");
    // Inside.
    WriteFile(data_ / "a", "alpha");
    fs::create_directory(data_ / "sub");
    WriteFile(data_ / "sub" / "inner", "inner");
  }

  std::uint32_t FilestatGet(std::string_view path, std::uint32_t flags, std::uint8_t* type,
                            std::uint64_t* size = nullptr, std::uint32_t dir = 3) {
    const std::uint32_t p = guest_.Put(path), buf = guest_.Alloc(64);
    const std::uint32_t e = Call(Function::kPathFilestatGet, {dir, flags, p, path.size(), buf});
    if (type != nullptr) *type = guest_.Get<std::uint8_t>(buf + 16);
    if (size != nullptr) *size = guest_.Get<std::uint64_t>(buf + 32);
    return e;
  }
  std::uint32_t SetTimes(std::string_view path, std::uint32_t flags, std::uint64_t mtim,
                         std::uint32_t fst = abi::kFstMtim) {
    const std::uint32_t p = guest_.Put(path);
    return Call(Function::kPathFilestatSetTimes, {3, flags, p, path.size(), 0, mtim, fst});
  }
  std::uint32_t Rename(std::string_view from, std::string_view to, std::uint32_t from_dir = 3,
                       std::uint32_t to_dir = 3) {
    const std::uint32_t f = guest_.Put(from), t = guest_.Put(to);
    return Call(Function::kPathRename, {from_dir, f, from.size(), to_dir, t, to.size()});
  }
  std::uint32_t Link(std::string_view from, std::string_view to, std::uint32_t flags = 0) {
    const std::uint32_t f = guest_.Put(from), t = guest_.Put(to);
    return Call(Function::kPathLink, {3, flags, f, from.size(), 3, t, to.size()});
  }
  std::uint32_t Symlink(std::string_view target, std::string_view path) {
    const std::uint32_t t = guest_.Put(target), p = guest_.Put(path);
    return Call(Function::kPathSymlink, {t, target.size(), 3, p, path.size()});
  }
  std::uint32_t Readlink(std::string_view path, std::uint32_t buf_len, std::string* target) {
    const std::uint32_t p = guest_.Put(path), buf = guest_.Alloc(buf_len + 1),
                        used = guest_.Alloc(4);
    const std::uint32_t e = Call(Function::kPathReadlink, {3, p, path.size(), buf, buf_len, used});
    if (e == 0) *target = guest_.String(buf, guest_.Get<std::uint32_t>(used));
    return e;
  }
  std::string ReadAll(std::uint32_t fd) {
    std::string got;
    EXPECT_EQ(Read(fd, 4096, &got), 0u);
    return got;
  }
  // The outside world is as SetUp left it.
  void ExpectOutsideUntouched() {
    EXPECT_EQ(ReadFile(root_ / "outside.txt"), "secret");
    EXPECT_TRUE(fs::is_empty(root_ / "outdir"));
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(root_)) {
      (void)e;
      ++entries;
    }
    EXPECT_EQ(entries, 3u) << "something was created next to /data";
  }
};

// ---- path_open -------------------------------------------------------------------------------

TEST_F(WasiPathTest, OpenReadsCreatesAndTruncates) {
  Start();
  std::uint32_t fd = 0;
  ASSERT_EQ(Open("a", 0, kOpenRead, &fd), 0u);
  EXPECT_EQ(ReadAll(fd), "alpha");
  ASSERT_EQ(Open("sub/inner", 0, kOpenRead, &fd), 0u);
  EXPECT_EQ(ReadAll(fd), "inner");
  ASSERT_EQ(Open("./sub/../a", 0, kOpenRead, &fd), 0u);  // ".." that stays inside is fine
  EXPECT_EQ(ReadAll(fd), "alpha");

  ASSERT_EQ(Open("new", abi::kOflagCreat | abi::kOflagExcl, kOpenReadWrite, &fd), 0u);
  ASSERT_EQ(Write(fd, "n"), 0u);
  EXPECT_EQ(ReadFile(data_ / "new"), "n");
  EXPECT_EQ(Open("new", abi::kOflagCreat | abi::kOflagExcl, kOpenReadWrite, &fd), E(Errno::kExist));
  ASSERT_EQ(Open("a", abi::kOflagTrunc, kOpenReadWrite, &fd), 0u);
  EXPECT_EQ(ReadFile(data_ / "a"), "");
  EXPECT_EQ(Open("missing", 0, kOpenRead, &fd), E(Errno::kNoent));
  EXPECT_EQ(Open("", 0, kOpenRead, &fd), E(Errno::kNoent));
  EXPECT_EQ(Open("new", abi::kOflagDirectory, kOpenRead, &fd), E(Errno::kNotdir));
  EXPECT_EQ(Open("new/", 0, kOpenRead, &fd), E(Errno::kNotdir));
  EXPECT_EQ(Open("sub", 0, kOpenReadWrite, &fd), E(Errno::kIsdir));  // no writing a directory
}

TEST_F(WasiPathTest, OpenedDirectoriesWorkAsBasesForFurtherPaths) {
  Start();
  std::uint32_t sub = 0, fd = 0;
  ASSERT_EQ(Open("sub", abi::kOflagDirectory, kOpenRead, &sub), 0u);
  ASSERT_EQ(Open("inner", 0, kOpenRead, &fd, 0, sub), 0u);
  EXPECT_EQ(ReadAll(fd), "inner");
  // Beneath means beneath *that* directory: its ".." (/data itself) is already outside it.
  EXPECT_EQ(Open("../a", 0, kOpenRead, &fd, 0, sub), E(Errno::kNotcapable));
  std::uint32_t self = 0;
  ASSERT_EQ(Open(".", abi::kOflagDirectory, kOpenRead, &self), 0u);
  ASSERT_EQ(Open("a", 0, kOpenRead, &fd, 0, self), 0u);
}

TEST_F(WasiPathTest, OpenValidatesEveryArgument) {
  Start();
  std::uint32_t fd = 0;
  EXPECT_EQ(Open("a", 0, kOpenRead, &fd, 0, 3, /*lookup=*/2), E(Errno::kInval));
  EXPECT_EQ(Open("a", 1u << 4, kOpenRead, &fd), E(Errno::kInval));
  EXPECT_EQ(Open("a", 0, kOpenRead, &fd, 1u << 5), E(Errno::kInval));
  EXPECT_EQ(Open("a", abi::kOflagTrunc, kOpenRead, &fd), E(Errno::kInval));  // TRUNC needs write
  EXPECT_EQ(Open("a", 0, kOpenRead, &fd, 0, 99), E(Errno::kBadf));
  EXPECT_EQ(Open("a", 0, kOpenRead, &fd, 0, 1), E(Errno::kNotdir));
  std::uint32_t file = 0;
  ASSERT_EQ(Open("a", 0, kOpenRead, &file), 0u);
  EXPECT_EQ(Open("x", 0, kOpenRead, &fd, 0, file), E(Errno::kNotdir));
  // Paths: out of memory, too long, with a NUL inside, absolute.
  const std::uint32_t out = guest_.Alloc(4);
  EXPECT_EQ(Call(Function::kPathOpen, {3, 1, guest_.size() - 1, 2, 0, kOpenRead, 0, 0, out}),
            E(Errno::kFault));
  EXPECT_EQ(Open(std::string(4096, 'x'), 0, kOpenRead, &fd), E(Errno::kNametoolong));
  EXPECT_EQ(Open(std::string(4095, 'x'), 0, kOpenRead, &fd), E(Errno::kNametoolong));  // kernel
  EXPECT_EQ(Open(std::string("a\0../../outside.txt", 19), 0, kOpenRead, &fd), E(Errno::kInval));
  EXPECT_EQ(Open("/data/a", 0, kOpenRead, &fd), E(Errno::kNotcapable));
  // A bad result pointer is found before anything is created.
  const std::uint32_t p = guest_.Put("created");
  EXPECT_EQ(Call(Function::kPathOpen,
                 {3, 1, p, 7, abi::kOflagCreat, kOpenReadWrite, 0, 0, guest_.size() - 3}),
            E(Errno::kFault));
  EXPECT_FALSE(fs::exists(data_ / "created"));
}

TEST_F(WasiPathTest, OpenRightsAreBoundedByTheDirectory) {
  Start();
  std::uint32_t sub = 0, fd = 0;
  // A directory fd that passes on read rights only.
  const std::uint32_t p = guest_.Put("sub"), out = guest_.Alloc(4);
  ASSERT_EQ(
      Call(Function::kPathOpen, {3, 1, p, 3, abi::kOflagDirectory, kOpenRead, kOpenRead, 0, out}),
      0u);
  sub = guest_.Get<std::uint32_t>(out);
  const std::uint32_t inner = guest_.Put("inner");
  EXPECT_EQ(Call(Function::kPathOpen, {sub, 1, inner, 5, 0, kOpenReadWrite, 0, 0, out}),
            E(Errno::kNotcapable));
  ASSERT_EQ(Call(Function::kPathOpen, {sub, 1, inner, 5, 0, kOpenRead, 0, 0, out}), 0u);
  fd = guest_.Get<std::uint32_t>(out);
  EXPECT_EQ(Write(fd, "x"), E(Errno::kNotcapable));
  // Creating needs PATH_CREATE_FILE on the directory, truncating PATH_FILESTAT_SET_SIZE.
  const std::uint32_t fresh = guest_.Put("fresh");
  ASSERT_EQ(Call(Function::kFdFdstatSetRights,
                 {sub, kOpenRead & rights::kDirectory & ~rights::kPathCreateFile, kOpenRead}),
            0u);
  EXPECT_EQ(Call(Function::kPathOpen, {sub, 1, fresh, 5, abi::kOflagCreat, kOpenRead, 0, 0, out}),
            E(Errno::kNotcapable));
  EXPECT_FALSE(fs::exists(data_ / "sub" / "fresh"));
}

TEST_F(WasiPathTest, AskingForEveryRightGetsWhatAppliesToTheFile) {
  Start();
  std::uint32_t fd = 0;
  const std::uint32_t p = guest_.Put("a"), out = guest_.Alloc(4), stat = guest_.Alloc(24);
  ASSERT_EQ(Call(Function::kPathOpen, {3, 1, p, 1, 0, ~0ull, ~0ull, 0, out}), 0u);
  fd = guest_.Get<std::uint32_t>(out);
  ASSERT_EQ(Call(Function::kFdFdstatGet, {fd, stat}), 0u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(stat + 8), rights::kRegularFile);
  EXPECT_EQ(Write(fd, "A"), 0u);
  EXPECT_EQ(ReadFile(data_ / "a"), "Alpha");
}

TEST_F(WasiPathTest, NofollowOpenOfASymlinkIsEloop) {
  fs::create_symlink("a", data_ / "to_a");
  Start();
  std::uint32_t fd = 0;
  EXPECT_EQ(Open("to_a", 0, kOpenRead, &fd, 0, 3, /*lookup=*/0), E(Errno::kLoop));
  ASSERT_EQ(Open("to_a", 0, kOpenRead, &fd), 0u);  // followed: it stays inside
  EXPECT_EQ(ReadAll(fd), "alpha");
}

TEST_F(WasiPathTest, OpeningAFifoNeverBlocks) {
  ASSERT_EQ(::mkfifo((data_ / "fifo").c_str(), 0600), 0);
  Start();
  // No writer yet: a blocking open for reading would wait for one forever.
  std::uint32_t reader = 0, writer = 0;
  ASSERT_EQ(Open("fifo", 0, kOpenRead, &reader), 0u);
  ASSERT_EQ(Open("fifo", 0, rights::kFdWrite | rights::kFdFdstatSetFlags, &writer), 0u);
  ASSERT_EQ(Write(writer, "through"), 0u);
  std::string got;
  ASSERT_EQ(Read(reader, 100, &got), 0u);
  EXPECT_EQ(got, "through");
  // A FIFO is a stream: unknown type (preview1 has no pipe type), no seeking.
  std::uint8_t type = 0;
  ASSERT_EQ(FilestatGet("fifo", 0, &type), 0u);
  EXPECT_EQ(type, static_cast<std::uint8_t>(abi::Filetype::kUnknown));
  EXPECT_EQ(Call(Function::kFdSeek, {reader, 0, abi::kWhenceCur, guest_.Alloc(8)}),
            E(Errno::kSpipe));
}

// ---- confinement -----------------------------------------------------------------------------

TEST_F(WasiPathTest, PathsThatLeaveDataAreNotcapable) {
  Start();
  std::uint32_t fd = 0;
  const std::string absolute = (root_ / "outside.txt").string();
  for (const std::string& path :
       {std::string("../outside.txt"), std::string(".."), absolute,
        std::string("sub/../../outside.txt"), std::string("./../outside.txt"),
        std::string("sub/../.."), std::string("sub/./../../outdir/x")}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(Open(path, 0, kOpenRead, &fd), E(Errno::kNotcapable));
    EXPECT_EQ(Open(path, abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kNotcapable));
    EXPECT_EQ(FilestatGet(path, abi::kLookupSymlinkFollow, nullptr), E(Errno::kNotcapable));
    EXPECT_EQ(SetTimes(path, abi::kLookupSymlinkFollow, 5), E(Errno::kNotcapable));
  }
  EXPECT_EQ(Open("/etc/passwd", 0, kOpenRead, &fd), E(Errno::kNotcapable));  // read-only probe
  EXPECT_EQ(FilestatGet("/etc/passwd", 0, nullptr), E(Errno::kNotcapable));
  EXPECT_EQ(Open("../escape", abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(Open("../outdir/escape", abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "../newdir"), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "/tmp/newdir"), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, ".."), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "../outside.txt"), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "../outdir"), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, ".."), E(Errno::kNotcapable));
  EXPECT_EQ(Rename("a", "../moved"), E(Errno::kNotcapable));
  EXPECT_EQ(Rename("../outside.txt", "stolen"), E(Errno::kNotcapable));
  EXPECT_EQ(Rename("sub", "../outdir/sub"), E(Errno::kNotcapable));
  EXPECT_EQ(Link("../outside.txt", "hard"), E(Errno::kNotcapable));
  EXPECT_EQ(Link("a", "../hard"), E(Errno::kNotcapable));
  EXPECT_EQ(Symlink("a", "../sym"), E(Errno::kNotcapable));
  std::string target;
  EXPECT_EQ(Readlink("../outside.txt", 100, &target), E(Errno::kNotcapable));
  EXPECT_EQ(Readlink("..", 100, &target), E(Errno::kNotcapable));
  ExpectOutsideUntouched();
  EXPECT_EQ(ReadFile(data_ / "a"), "alpha");
}

TEST_F(WasiPathTest, SymlinkToEtcPasswdIsNotFollowed) {
  fs::create_symlink("/etc/passwd", data_ / "etc");
  Start();
  std::uint32_t fd = 0;
  // Read-only probes only (see the class comment).
  EXPECT_EQ(Open("etc", 0, kOpenRead, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(Open("etc", abi::kOflagDirectory, kOpenRead, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(Open("etc", 0, kOpenRead, &fd, 0, 3, /*lookup=*/0), E(Errno::kLoop));
  EXPECT_EQ(FilestatGet("etc", abi::kLookupSymlinkFollow, nullptr), E(Errno::kNotcapable));
  std::uint8_t type = 0;
  ASSERT_EQ(FilestatGet("etc", 0, &type), 0u);
  EXPECT_EQ(type, static_cast<std::uint8_t>(abi::Filetype::kSymbolicLink));
  std::string target;
  ASSERT_EQ(Readlink("etc", 100, &target), 0u);
  EXPECT_EQ(target, "/etc/passwd");  // the string is readable; the file behind it is not
}

TEST_F(WasiPathTest, SymlinksPointingOutAreNeverFollowedOut) {
  fs::create_symlink("../outside.txt", data_ / "up");
  fs::create_symlink("../outdir", data_ / "updir");
  fs::create_symlink("up", data_ / "chain");
  fs::create_symlink(root_ / "outside.txt", data_ / "abs");  // absolute, to the same file
  struct stat before;
  ASSERT_EQ(::stat((root_ / "outside.txt").c_str(), &before), 0);
  Start();
  std::uint32_t fd = 0;
  for (const char* link : {"up", "chain", "abs"}) {
    SCOPED_TRACE(link);
    EXPECT_EQ(Open(link, 0, kOpenRead, &fd), E(Errno::kNotcapable));
    EXPECT_EQ(Open(link, 0, kOpenReadWrite, &fd), E(Errno::kNotcapable));
    EXPECT_EQ(Open(link, abi::kOflagCreat | abi::kOflagTrunc, kOpenReadWrite, &fd),
              E(Errno::kNotcapable));
    EXPECT_EQ(Open(link, 0, kOpenRead, &fd, 0, 3, /*lookup=*/0), E(Errno::kLoop));
    EXPECT_EQ(FilestatGet(link, abi::kLookupSymlinkFollow, nullptr), E(Errno::kNotcapable));
    std::uint8_t type;
    ASSERT_EQ(FilestatGet(link, 0, &type), 0u);  // the link itself
    EXPECT_EQ(type, static_cast<std::uint8_t>(abi::Filetype::kSymbolicLink));
    EXPECT_EQ(SetTimes(link, abi::kLookupSymlinkFollow, 5), E(Errno::kNotcapable));
    EXPECT_EQ(SetTimes(link, 0, 5), 0u);  // the link's own times
  }
  // Through a symlinked directory.
  EXPECT_EQ(Open("updir/new", abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(Open("updir/", abi::kOflagDirectory, kOpenRead, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "updir/x"), E(Errno::kNotcapable));
  EXPECT_EQ(Symlink("x", "updir/x"), E(Errno::kNotcapable));
  EXPECT_EQ(Rename("a", "updir/a"), E(Errno::kNotcapable));
  EXPECT_EQ(Link("a", "updir/a"), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "updir/"), E(Errno::kNotdir));  // no follow
  // Removing or renaming the link touches the link only.
  ASSERT_EQ(PathCall(Function::kPathUnlinkFile, "up"), 0u);
  ASSERT_EQ(Rename("chain", "chain2"), 0u);
  EXPECT_EQ(Link("abs", "abs2"), 0u);  // a hard link to the symlink, not to what it names
  EXPECT_TRUE(fs::is_symlink(data_ / "abs2"));

  struct stat after;
  ASSERT_EQ(::stat((root_ / "outside.txt").c_str(), &after), 0);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  ExpectOutsideUntouched();
}

TEST_F(WasiPathTest, GuestSymlinksAreStoredAsGivenButConfinedWhenFollowed) {
  Start();
  const std::string absolute = (root_ / "outside.txt").string();
  ASSERT_EQ(Symlink(absolute, "abs"), 0u);
  ASSERT_EQ(Symlink("../outside.txt", "rel"), 0u);
  ASSERT_EQ(Symlink("a", "ok"), 0u);
  ASSERT_EQ(Symlink("../a", "sub/back"), 0u);  // leaves sub, stays in /data
  std::string target;
  ASSERT_EQ(Readlink("abs", 100, &target), 0u);
  EXPECT_EQ(target, absolute);
  ASSERT_EQ(Readlink("rel", 100, &target), 0u);
  EXPECT_EQ(target, "../outside.txt");
  std::uint32_t fd = 0;
  EXPECT_EQ(Open("abs", 0, kOpenRead, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(Open("rel", abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kNotcapable));
  ASSERT_EQ(Open("ok", 0, kOpenRead, &fd), 0u);
  EXPECT_EQ(ReadAll(fd), "alpha");
  ASSERT_EQ(Open("sub/back", 0, kOpenRead, &fd), 0u);
  EXPECT_EQ(ReadAll(fd), "alpha");
  ExpectOutsideUntouched();
}

// ---- names -----------------------------------------------------------------------------------

TEST_F(WasiPathTest, CreateAndRemoveDirectories) {
  Start();
  ASSERT_EQ(PathCall(Function::kPathCreateDirectory, "d"), 0u);
  EXPECT_TRUE(fs::is_directory(data_ / "d"));
  ASSERT_EQ(PathCall(Function::kPathCreateDirectory, "d/e/"), 0u);
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "d"), E(Errno::kExist));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "."), E(Errno::kExist));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "sub/.."), E(Errno::kExist));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "x/y"), E(Errno::kNoent));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, ""), E(Errno::kNoent));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "d"), E(Errno::kNotempty));
  ASSERT_EQ(PathCall(Function::kPathRemoveDirectory, "d/e/"), 0u);
  ASSERT_EQ(PathCall(Function::kPathRemoveDirectory, "d"), 0u);
  EXPECT_FALSE(fs::exists(data_ / "d"));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "d"), E(Errno::kNoent));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "a"), E(Errno::kNotdir));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "."), E(Errno::kInval));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "sub/.."), E(Errno::kInval));
  EXPECT_TRUE(fs::is_directory(data_));
  // Descriptor, rights and memory checks.
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "d", 99), E(Errno::kBadf));
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "d", 1), E(Errno::kNotdir));
  EXPECT_EQ(Call(Function::kPathCreateDirectory, {3, guest_.size(), 1}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPathRemoveDirectory, {3, 0xFFFFFFFF, 2}), E(Errno::kFault));
  ASSERT_EQ(
      Call(Function::kFdFdstatSetRights,
           {3, rights::kDirectory & ~(rights::kPathCreateDirectory | rights::kPathRemoveDirectory),
            rights::kDirectoryInheriting}),
      0u);
  EXPECT_EQ(PathCall(Function::kPathCreateDirectory, "d"), E(Errno::kNotcapable));
  EXPECT_EQ(PathCall(Function::kPathRemoveDirectory, "sub"), E(Errno::kNotcapable));
}

TEST_F(WasiPathTest, UnlinkFiles) {
  Start();
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "a/"), E(Errno::kNotdir));
  ASSERT_EQ(PathCall(Function::kPathUnlinkFile, "a"), 0u);
  EXPECT_FALSE(fs::exists(data_ / "a"));
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "a"), E(Errno::kNoent));
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "sub"), E(Errno::kIsdir));
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "sub/"), E(Errno::kIsdir));
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "."), E(Errno::kIsdir));
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "sub/inner", 99), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kPathUnlinkFile, {3, guest_.size() - 1, 5}), E(Errno::kFault));
  ASSERT_EQ(Call(Function::kFdFdstatSetRights,
                 {3, rights::kDirectory & ~rights::kPathUnlinkFile, rights::kDirectoryInheriting}),
            0u);
  EXPECT_EQ(PathCall(Function::kPathUnlinkFile, "sub/inner"), E(Errno::kNotcapable));
  EXPECT_TRUE(fs::exists(data_ / "sub" / "inner"));
}

TEST_F(WasiPathTest, RenameWithinAndAcrossDirectories) {
  Start();
  ASSERT_EQ(Rename("a", "b"), 0u);
  EXPECT_EQ(ReadFile(data_ / "b"), "alpha");
  EXPECT_FALSE(fs::exists(data_ / "a"));
  std::uint32_t sub = 0;
  ASSERT_EQ(Open("sub", abi::kOflagDirectory, kOpenRead, &sub), 0u);
  ASSERT_EQ(Rename("b", "moved", 3, sub), 0u);
  EXPECT_EQ(ReadFile(data_ / "sub" / "moved"), "alpha");
  ASSERT_EQ(Rename("sub/", "sub2/"), 0u);
  EXPECT_TRUE(fs::is_directory(data_ / "sub2"));
  EXPECT_EQ(Rename("missing", "x"), E(Errno::kNoent));
  EXPECT_EQ(Rename("sub2/moved/", "x"), E(Errno::kNotdir));
  EXPECT_EQ(Rename(".", "x"), E(Errno::kInval));
  EXPECT_EQ(Rename("sub2/moved", "."), E(Errno::kInval));
  EXPECT_EQ(Rename("x", "y", 99, 3), E(Errno::kBadf));
  EXPECT_EQ(Rename("x", "y", 3, 1), E(Errno::kNotdir));
  const std::uint32_t ok = guest_.Put("sub2");
  EXPECT_EQ(Call(Function::kPathRename, {3, ok, 4, 3, guest_.size(), 1}), E(Errno::kFault));
  // The source needs RENAME_SOURCE on its directory, the target RENAME_TARGET on its own.
  ASSERT_EQ(Call(Function::kFdFdstatSetRights,
                 {sub, kOpenRead & rights::kDirectory & ~rights::kPathRenameTarget, kOpenRead}),
            0u);
  EXPECT_EQ(Rename("sub2", "z", 3, sub), E(Errno::kNotcapable));
  EXPECT_TRUE(fs::exists(data_ / "sub2"));
}

TEST_F(WasiPathTest, HardLinks) {
  Start();
  ASSERT_EQ(Link("a", "a2"), 0u);
  EXPECT_TRUE(fs::equivalent(data_ / "a", data_ / "a2"));
  EXPECT_EQ(Link("a", "a2"), E(Errno::kExist));
  EXPECT_EQ(Link("missing", "m"), E(Errno::kNoent));
  EXPECT_EQ(Link("sub", "sub2"), E(Errno::kPerm));
  EXPECT_EQ(Link("sub/", "sub3"), E(Errno::kPerm));
  EXPECT_EQ(Link(".", "dot"), E(Errno::kPerm));
  EXPECT_EQ(Link("a", "new/"), E(Errno::kNoent));
  EXPECT_EQ(Link("a/", "new"), E(Errno::kNotdir));
  // Following a symlink source is refused (linkat would follow it outside the confinement).
  EXPECT_EQ(Link("a", "a3", abi::kLookupSymlinkFollow), E(Errno::kInval));
  EXPECT_EQ(Link("a", "a3", 2), E(Errno::kInval));
  EXPECT_FALSE(fs::exists(data_ / "a3"));
}

TEST_F(WasiPathTest, SymlinkAndReadlink) {
  Start();
  ASSERT_EQ(Symlink("sub/inner", "l"), 0u);
  std::string target;
  ASSERT_EQ(Readlink("l", 100, &target), 0u);
  EXPECT_EQ(target, "sub/inner");
  ASSERT_EQ(Readlink("l", 3, &target), 0u);
  EXPECT_EQ(target, "sub");  // truncated to the buffer
  ASSERT_EQ(Readlink("l", 0, &target), 0u);
  EXPECT_EQ(target, "");
  EXPECT_EQ(Symlink("x", "l"), E(Errno::kExist));
  EXPECT_EQ(Symlink("x", "."), E(Errno::kExist));
  EXPECT_EQ(Symlink("x", "new/"), E(Errno::kNoent));
  EXPECT_EQ(Symlink("x", "a/"), E(Errno::kExist));
  EXPECT_EQ(Symlink("", "empty"), E(Errno::kNoent));
  EXPECT_EQ(Symlink(std::string("x\0y", 3), "nul"), E(Errno::kInval));
  EXPECT_EQ(Readlink("a", 100, &target), E(Errno::kInval));
  EXPECT_EQ(Readlink("sub/", 100, &target), E(Errno::kInval));
  EXPECT_EQ(Readlink("l/", 100, &target), E(Errno::kNotdir));
  EXPECT_EQ(Readlink(".", 100, &target), E(Errno::kInval));
  EXPECT_EQ(Readlink("missing", 100, &target), E(Errno::kNoent));
  const std::uint32_t p = guest_.Put("l");
  EXPECT_EQ(Call(Function::kPathReadlink, {3, p, 1, guest_.size() - 2, 3, guest_.Alloc(4)}),
            E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPathReadlink, {3, p, 1, guest_.Alloc(8), 8, guest_.size()}),
            E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPathSymlink, {guest_.size(), 1, 3, p, 1}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPathReadlink, {99, p, 1, guest_.Alloc(8), 8, guest_.Alloc(4)}),
            E(Errno::kBadf));
  ASSERT_EQ(Call(Function::kFdFdstatSetRights,
                 {3, rights::kDirectory & ~(rights::kPathSymlink | rights::kPathReadlink),
                  rights::kDirectoryInheriting}),
            0u);
  EXPECT_EQ(Symlink("x", "y"), E(Errno::kNotcapable));
  EXPECT_EQ(Readlink("l", 100, &target), E(Errno::kNotcapable));
}

TEST_F(WasiPathTest, PathFilestatGet) {
  fs::create_symlink("a", data_ / "to_a");
  Start();
  std::uint8_t type;
  std::uint64_t size;
  ASSERT_EQ(FilestatGet("a", 0, &type, &size), 0u);
  EXPECT_EQ(type, 4u);
  EXPECT_EQ(size, 5u);
  ASSERT_EQ(FilestatGet("sub", 0, &type), 0u);
  EXPECT_EQ(type, 3u);
  ASSERT_EQ(FilestatGet(".", 0, &type), 0u);
  EXPECT_EQ(type, 3u);
  ASSERT_EQ(FilestatGet("to_a", 0, &type), 0u);
  EXPECT_EQ(type, 7u);
  ASSERT_EQ(FilestatGet("to_a", abi::kLookupSymlinkFollow, &type, &size), 0u);
  EXPECT_EQ(type, 4u);
  EXPECT_EQ(size, 5u);
  EXPECT_EQ(FilestatGet("missing", 0, &type), E(Errno::kNoent));
  EXPECT_EQ(FilestatGet("a/", 0, &type), E(Errno::kNotdir));
  EXPECT_EQ(FilestatGet("a", 2, &type), E(Errno::kInval));
  EXPECT_EQ(FilestatGet("a", 0, &type, nullptr, 99), E(Errno::kBadf));
  const std::uint32_t p = guest_.Put("a");
  EXPECT_EQ(Call(Function::kPathFilestatGet, {3, 0, p, 1, guest_.size() - 63}), E(Errno::kFault));
  ASSERT_EQ(Call(Function::kFdFdstatSetRights,
                 {3, rights::kDirectory & ~rights::kPathFilestatGet, rights::kDirectoryInheriting}),
            0u);
  EXPECT_EQ(FilestatGet("a", 0, &type), E(Errno::kNotcapable));
}

TEST_F(WasiPathTest, PathFilestatSetTimes) {
  Start();
  ASSERT_EQ(SetTimes("a", 0, 7'000'000'001), 0u);
  struct stat st;
  ASSERT_EQ(::stat((data_ / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 7);
  EXPECT_EQ(st.st_mtim.tv_nsec, 1);
  ASSERT_EQ(SetTimes("sub", abi::kLookupSymlinkFollow, 0, abi::kFstMtimNow), 0u);
  EXPECT_EQ(SetTimes("a", 0, 0, abi::kFstAtim | abi::kFstAtimNow), E(Errno::kInval));
  EXPECT_EQ(SetTimes("a", 0, 0, 1u << 4), E(Errno::kInval));
  EXPECT_EQ(SetTimes("a", 2, 0), E(Errno::kInval));
  EXPECT_EQ(SetTimes("missing", 0, 0), E(Errno::kNoent));
  ASSERT_EQ(
      Call(Function::kFdFdstatSetRights,
           {3, rights::kDirectory & ~rights::kPathFilestatSetTimes, rights::kDirectoryInheriting}),
      0u);
  EXPECT_EQ(SetTimes("a", 0, 0), E(Errno::kNotcapable));
}

}  // namespace
}  // namespace elastos::compute::wasi::testing
