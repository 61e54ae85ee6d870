// fd_*: stdio and the carrier, files under /data, rights, readdir, and the output and storage
// limits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "compute/wasi/wasi_test_util.h"

namespace elastos::compute::wasi::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class WasiFdTest : public WasiTest {
 protected:
  // Opens `name` under /data read-write (created), like fopen("w+").
  std::uint32_t OpenFile(std::string_view name, std::uint32_t fdflags = 0) {
    std::uint32_t fd = 0;
    EXPECT_EQ(Open(name, abi::kOflagCreat, kOpenReadWrite, &fd, fdflags), 0u) << name;
    return fd;
  }
  std::uint64_t Seek(std::uint32_t fd, std::int64_t offset, std::uint32_t whence,
                     std::uint32_t* err = nullptr) {
    const std::uint32_t out = guest_.Alloc(8);
    const std::uint32_t e =
        Call(Function::kFdSeek, {fd, static_cast<std::uint64_t>(offset), whence, out});
    if (err != nullptr) *err = e;
    return guest_.Get<std::uint64_t>(out);
  }
  std::uint32_t Fdstat(std::uint32_t fd, std::uint8_t* type, std::uint16_t* flags,
                       std::uint64_t* base, std::uint64_t* inheriting) {
    const std::uint32_t buf = guest_.Alloc(24);
    const std::uint32_t e = Call(Function::kFdFdstatGet, {fd, buf});
    *type = guest_.Get<std::uint8_t>(buf);
    *flags = guest_.Get<std::uint16_t>(buf + 2);
    *base = guest_.Get<std::uint64_t>(buf + 8);
    *inheriting = guest_.Get<std::uint64_t>(buf + 16);
    return e;
  }
  std::uint32_t Pwrite(std::uint32_t fd, std::string_view data, std::uint64_t offset) {
    const std::uint32_t buf = guest_.Put(data);
    const std::uint32_t iov = guest_.Iovecs({{buf, static_cast<std::uint32_t>(data.size())}});
    return Call(Function::kFdPwrite, {fd, iov, 1, offset, guest_.Alloc(4)});
  }
  std::uint32_t DropRights(std::uint32_t fd, std::uint64_t drop) {
    std::uint8_t type;
    std::uint16_t flags;
    std::uint64_t base, inheriting;
    EXPECT_EQ(Fdstat(fd, &type, &flags, &base, &inheriting), 0u);
    return Call(Function::kFdFdstatSetRights, {fd, base & ~drop, inheriting & ~drop});
  }
  std::uint64_t FileSize(const std::filesystem::path& path) {
    return std::filesystem::file_size(path);
  }
};

// ---- stdio and carrier -----------------------------------------------------------------------

TEST_F(WasiFdTest, StdioAndCarrierCarryBytes) {
  Start();
  std::uint32_t n = 0;
  ASSERT_EQ(Write(1, "out", &n), 0u);
  EXPECT_EQ(n, 3u);
  ASSERT_EQ(Write(2, "err!", &n), 0u);
  EXPECT_EQ(n, 4u);
  ASSERT_EQ(Write(5, "request"), 0u);
  EXPECT_EQ(stdout_.Drain(), "out");
  EXPECT_EQ(stderr_.Drain(), "err!");
  EXPECT_EQ(carrier_out_.Drain(), "request");
  EXPECT_EQ(host_->output_bytes(), 7u);  // the carrier does not count as output

  carrier_in_.Send("response");
  std::string got;
  ASSERT_EQ(Read(4, 100, &got), 0u);
  EXPECT_EQ(got, "response");
  stdin_.Send("typed");
  ASSERT_EQ(Read(0, 3, &got), 0u);
  EXPECT_EQ(got, "typ");
  ASSERT_EQ(Read(0, 100, &got), 0u);
  EXPECT_EQ(got, "ed");
  ::close(stdin_.write);
  stdin_.write = -1;
  ASSERT_EQ(Read(0, 100, &got), 0u);  // EOF
  EXPECT_EQ(got, "");
}

TEST_F(WasiFdTest, ScatterGatherUsesEveryIovec) {
  Start();
  const std::uint32_t a = guest_.Put("ab"), b = guest_.Put("cde");
  const std::uint32_t iov = guest_.Iovecs({{a, 2}, {0, 0}, {b, 3}});
  const std::uint32_t out = guest_.Alloc(4);
  ASSERT_EQ(Call(Function::kFdWrite, {5, iov, 3, out}), 0u);
  EXPECT_EQ(guest_.Get<std::uint32_t>(out), 5u);
  EXPECT_EQ(carrier_out_.Drain(), "abcde");

  carrier_in_.Send("12345");
  const std::uint32_t x = guest_.Alloc(2), y = guest_.Alloc(8);
  const std::uint32_t riov = guest_.Iovecs({{x, 2}, {y, 8}});
  ASSERT_EQ(Call(Function::kFdRead, {4, riov, 2, out}), 0u);
  EXPECT_EQ(guest_.Get<std::uint32_t>(out), 5u);
  EXPECT_EQ(guest_.String(x, 2), "12");
  EXPECT_EQ(guest_.String(y, 3), "345");
}

TEST_F(WasiFdTest, StreamsOnlyGoTheirWay) {
  Start();
  std::string got;
  EXPECT_EQ(Write(0, "x"), E(Errno::kNotcapable));
  EXPECT_EQ(Write(4, "x"), E(Errno::kNotcapable));
  EXPECT_EQ(Read(1, 1, &got), E(Errno::kNotcapable));
  EXPECT_EQ(Read(5, 1, &got), E(Errno::kNotcapable));
  EXPECT_EQ(Write(6, "x"), E(Errno::kBadf));
  EXPECT_EQ(Read(6, 1, &got), E(Errno::kBadf));
  EXPECT_EQ(Write(3, "x"), E(Errno::kIsdir));
  EXPECT_EQ(Read(3, 1, &got), E(Errno::kIsdir));
}

TEST_F(WasiFdTest, BlockingReadEndsWithEintrOnInterrupt) {
  Start();
  std::thread watchdog([] {
    std::this_thread::sleep_for(milliseconds(100));
    RequestInterrupt(InterruptReason::kWall);
  });
  const auto start = steady_clock::now();
  std::string got;
  EXPECT_EQ(Read(0, 10, &got), E(Errno::kIntr));
  const auto waited = steady_clock::now() - start;
  watchdog.join();
  EXPECT_GE(waited, milliseconds(90));
  EXPECT_LT(waited, milliseconds(1000));
}

TEST_F(WasiFdTest, WriteToAFullPipeEndsWithEintrOnInterrupt) {
  Start();
  // Fill the carrier pipe so the next write would block.
  ::fcntl(carrier_out_.write, F_SETFL, O_NONBLOCK);
  const std::string chunk(4096, 'z');
  while (::write(carrier_out_.write, chunk.data(), chunk.size()) > 0) {
  }
  ::fcntl(carrier_out_.write, F_SETFL, 0);
  std::thread watchdog([] {
    std::this_thread::sleep_for(milliseconds(100));
    RequestInterrupt(InterruptReason::kCpu);
  });
  EXPECT_EQ(Write(5, "more"), E(Errno::kIntr));
  watchdog.join();
}

TEST_F(WasiFdTest, LargeWriteToAPipeArrivesWholeWhileTheReaderDrains) {
  Start();
  std::string big(1 << 20, '\0');
  for (std::size_t k = 0; k < big.size(); ++k) big[k] = static_cast<char>('a' + k % 26);
  std::string received;
  std::thread reader([&] {
    char buf[8192];
    ssize_t n;
    while ((n = ::read(carrier_out_.read, buf, sizeof buf)) > 0) received.append(buf, n);
  });
  FakeGuest big_guest(3 << 20);
  const std::uint32_t buf = big_guest.Put(big);
  const std::uint32_t iov = big_guest.Iovecs({{buf, static_cast<std::uint32_t>(big.size())}});
  const std::uint32_t out = big_guest.Alloc(4);
  std::vector<std::uint64_t> args = {5, iov, 1, out};
  ASSERT_EQ(host_->Call(Function::kFdWrite, args.data(), big_guest.memory()), 0u);
  EXPECT_EQ(big_guest.Get<std::uint32_t>(out), big.size());
  ::close(carrier_out_.write);
  carrier_out_.write = -1;
  host_.reset();
  reader.join();
  EXPECT_EQ(received, big);
}

TEST_F(WasiFdTest, NonblockIsEmulatedOnTheWorkersStreams) {
  Start();
  ASSERT_EQ(Call(Function::kFdFdstatSetFlags, {4, abi::kFdflagNonblock}), 0u);
  std::string got;
  EXPECT_EQ(Read(4, 10, &got), E(Errno::kAgain));
  // The worker's own description is untouched.
  EXPECT_EQ(::fcntl(carrier_in_.read, F_GETFL) & O_NONBLOCK, 0);
  carrier_in_.Send("now");
  ASSERT_EQ(Read(4, 10, &got), 0u);
  EXPECT_EQ(got, "now");
  std::uint8_t type;
  std::uint16_t flags;
  std::uint64_t base, inheriting;
  ASSERT_EQ(Fdstat(4, &type, &flags, &base, &inheriting), 0u);
  EXPECT_EQ(flags, abi::kFdflagNonblock);
}

// ---- fdstat and rights -----------------------------------------------------------------------

TEST_F(WasiFdTest, FdstatReportsTypeFlagsAndRights) {
  Start();
  std::uint8_t type;
  std::uint16_t flags;
  std::uint64_t base, inheriting;
  ASSERT_EQ(Fdstat(3, &type, &flags, &base, &inheriting), 0u);
  EXPECT_EQ(type, static_cast<std::uint8_t>(abi::Filetype::kDirectory));
  EXPECT_EQ(base, rights::kDirectory);
  EXPECT_EQ(inheriting, rights::kDirectoryInheriting);

  ASSERT_EQ(Fdstat(1, &type, &flags, &base, &inheriting), 0u);
  EXPECT_EQ(type, static_cast<std::uint8_t>(abi::Filetype::kUnknown));  // a pipe
  EXPECT_EQ(base, rights::kStreamOut);
  EXPECT_EQ(base & (rights::kFdSeek | rights::kFdTell), 0u);  // isatty() needs neither
  ASSERT_EQ(Fdstat(0, &type, &flags, &base, &inheriting), 0u);
  EXPECT_EQ(base, rights::kStreamIn);

  const std::uint32_t fd = OpenFile("f", abi::kFdflagAppend);
  ASSERT_EQ(Fdstat(fd, &type, &flags, &base, &inheriting), 0u);
  EXPECT_EQ(type, static_cast<std::uint8_t>(abi::Filetype::kRegularFile));
  EXPECT_EQ(flags, abi::kFdflagAppend);
  EXPECT_EQ(base, rights::kRegularFile);  // narrowed to what applies to a file
  EXPECT_EQ(inheriting, 0u);

  EXPECT_EQ(Call(Function::kFdFdstatGet, {99, guest_.Alloc(24)}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdFdstatGet, {3, guest_.size() - 23}), E(Errno::kFault));
}

TEST_F(WasiFdTest, SetFlagsChangesAppendAndRefusesSyncFlags) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Write(fd, "abc"), 0u);
  Seek(fd, 0, abi::kWhenceSet);
  ASSERT_EQ(Call(Function::kFdFdstatSetFlags, {fd, abi::kFdflagAppend}), 0u);
  ASSERT_EQ(Write(fd, "d"), 0u);
  EXPECT_EQ(ReadFile(data_ / "f"), "abcd");
  EXPECT_EQ(Call(Function::kFdFdstatSetFlags, {fd, abi::kFdflagSync}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdFdstatSetFlags, {fd, 1u << 5}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdFdstatSetFlags, {99, 0}), E(Errno::kBadf));
  ASSERT_EQ(DropRights(fd, rights::kFdFdstatSetFlags), 0u);
  EXPECT_EQ(Call(Function::kFdFdstatSetFlags, {fd, 0}), E(Errno::kNotcapable));
}

TEST_F(WasiFdTest, SyncFlagsGivenAtOpenMayBePassedBackUnchanged) {
  Start();
  std::uint32_t fd = 0;
  ASSERT_EQ(Open("s", abi::kOflagCreat, kOpenReadWrite, &fd, abi::kFdflagDsync), 0u);
  EXPECT_EQ(Call(Function::kFdFdstatSetFlags, {fd, abi::kFdflagDsync | abi::kFdflagAppend}), 0u);
  EXPECT_EQ(Call(Function::kFdFdstatSetFlags, {fd, abi::kFdflagAppend}), E(Errno::kInval));
}

TEST_F(WasiFdTest, RightsCanBeDroppedButNeverRegained) {
  Start();
  std::uint32_t fd = 0;
  ASSERT_EQ(Open("x", abi::kOflagCreat, kOpenReadWrite, &fd), 0u);
  ASSERT_EQ(DropRights(3, rights::kPathOpen), 0u);
  EXPECT_EQ(Open("x", 0, kOpenRead, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(
      Call(Function::kFdFdstatSetRights, {3, rights::kDirectory, rights::kDirectoryInheriting}),
      E(Errno::kNotcapable));
  EXPECT_EQ(Open("x", 0, kOpenRead, &fd), E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdFdstatSetRights, {99, 0, 0}), E(Errno::kBadf));
}

TEST_F(WasiFdTest, ReadOnlyFileRefusesEveryWriteWithNotcapable) {
  WriteFile(data_ / "ro", "original");
  Start();
  std::uint32_t fd = 0;
  ASSERT_EQ(Open("ro", 0, kOpenRead, &fd), 0u);
  std::string got;
  ASSERT_EQ(Read(fd, 100, &got), 0u);
  EXPECT_EQ(got, "original");
  EXPECT_EQ(Write(fd, "x"), E(Errno::kNotcapable));
  EXPECT_EQ(Pwrite(fd, "x", 0), E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdFilestatSetSize, {fd, 0}), E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdAllocate, {fd, 0, 100}), E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdDatasync, {fd}), E(Errno::kNotcapable));
  EXPECT_EQ(ReadFile(data_ / "ro"), "original");
}

// ---- reading, writing, position --------------------------------------------------------------

TEST_F(WasiFdTest, PreadAndPwriteLeaveThePositionAlone) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Write(fd, "hello world"), 0u);
  const std::uint32_t buf = guest_.Alloc(5);
  const std::uint32_t iov = guest_.Iovecs({{buf, 5}});
  const std::uint32_t out = guest_.Alloc(4);
  ASSERT_EQ(Call(Function::kFdPread, {fd, iov, 1, 6, out}), 0u);
  EXPECT_EQ(guest_.String(buf, guest_.Get<std::uint32_t>(out)), "world");
  ASSERT_EQ(Pwrite(fd, "W", 6), 0u);
  EXPECT_EQ(ReadFile(data_ / "f"), "hello World");
  EXPECT_EQ(Seek(fd, 0, abi::kWhenceCur), 11u);

  EXPECT_EQ(Call(Function::kFdPread, {fd, iov, 1, 1ull << 63, out}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdPread, {0, iov, 1, 0, out}), E(Errno::kSpipe));
  EXPECT_EQ(Call(Function::kFdPread, {3, iov, 1, 0, out}), E(Errno::kIsdir));
  EXPECT_EQ(Call(Function::kFdPread, {99, iov, 1, 0, out}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdPread, {fd, iov, 1, 0, guest_.size()}), E(Errno::kFault));
  EXPECT_EQ(Pwrite(1, "x", 0), E(Errno::kSpipe));
  EXPECT_EQ(Pwrite(3, "x", 0), E(Errno::kIsdir));
  EXPECT_EQ(Pwrite(fd, "x", 1ull << 63), E(Errno::kInval));
}

TEST_F(WasiFdTest, PwriteOnAnAppendFdWritesAtTheOffset) {
  Start();
  const std::uint32_t fd = OpenFile("log", abi::kFdflagAppend);
  ASSERT_EQ(Write(fd, "0123456789"), 0u);
  ASSERT_EQ(Pwrite(fd, "X", 2), 0u);
  EXPECT_EQ(ReadFile(data_ / "log"), "01X3456789");  // POSIX, not Linux's append-anyway
  ASSERT_EQ(Write(fd, "!"), 0u);                     // plain writes still append
  EXPECT_EQ(ReadFile(data_ / "log"), "01X3456789!");
}

TEST_F(WasiFdTest, SeekAndTell) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Write(fd, "0123456789"), 0u);
  std::uint32_t err = 0;
  EXPECT_EQ(Seek(fd, 2, abi::kWhenceSet, &err), 2u);
  EXPECT_EQ(Seek(fd, 3, abi::kWhenceCur, &err), 5u);
  EXPECT_EQ(Seek(fd, -1, abi::kWhenceEnd, &err), 9u);
  EXPECT_EQ(err, 0u);
  const std::uint32_t out = guest_.Alloc(8);
  ASSERT_EQ(Call(Function::kFdTell, {fd, out}), 0u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(out), 9u);
  std::string got;
  ASSERT_EQ(Read(fd, 10, &got), 0u);
  EXPECT_EQ(got, "9");

  Seek(fd, -20, abi::kWhenceCur, &err);
  EXPECT_EQ(err, E(Errno::kInval));
  Seek(fd, 0, 3, &err);
  EXPECT_EQ(err, E(Errno::kInval));
  Seek(0, 0, abi::kWhenceCur, &err);
  EXPECT_EQ(err, E(Errno::kSpipe));
  Seek(99, 0, abi::kWhenceCur, &err);
  EXPECT_EQ(err, E(Errno::kBadf));
  Seek(3, 0, abi::kWhenceSet, &err);
  EXPECT_EQ(err, E(Errno::kNotcapable));  // directories are read with cookies, not seeks
  EXPECT_EQ(Call(Function::kFdSeek, {fd, 0, 0, guest_.size() - 4}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kFdTell, {4, out}), E(Errno::kSpipe));
  EXPECT_EQ(Call(Function::kFdTell, {99, out}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdTell, {fd, guest_.size()}), E(Errno::kFault));

  // FD_TELL alone allows fd_seek(0, CUR) and nothing else.
  ASSERT_EQ(DropRights(fd, rights::kFdSeek), 0u);
  EXPECT_EQ(Seek(fd, 0, abi::kWhenceCur, &err), 10u);
  EXPECT_EQ(err, 0u);
  Seek(fd, 1, abi::kWhenceCur, &err);
  EXPECT_EQ(err, E(Errno::kNotcapable));
  ASSERT_EQ(DropRights(fd, rights::kFdTell), 0u);
  EXPECT_EQ(Call(Function::kFdTell, {fd, out}), E(Errno::kNotcapable));
}

// ---- metadata --------------------------------------------------------------------------------

TEST_F(WasiFdTest, FilestatOnFilesAndStreams) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Write(fd, "12345"), 0u);
  const std::uint32_t buf = guest_.Alloc(64);
  ASSERT_EQ(Call(Function::kFdFilestatGet, {fd, buf}), 0u);
  struct stat st;
  ASSERT_EQ(::stat((data_ / "f").c_str(), &st), 0);
  EXPECT_EQ(guest_.Get<std::uint64_t>(buf + 0), st.st_dev);
  EXPECT_EQ(guest_.Get<std::uint64_t>(buf + 8), st.st_ino);
  EXPECT_EQ(guest_.Get<std::uint8_t>(buf + 16), 4u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(buf + 24), 1u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(buf + 32), 5u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(buf + 48),
            static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);

  ASSERT_EQ(Call(Function::kFdFilestatGet, {1, buf}), 0u);
  EXPECT_EQ(guest_.Get<std::uint8_t>(buf + 16), 0u);  // a pipe, like fd_fdstat_get says
  ASSERT_EQ(Call(Function::kFdFilestatGet, {3, buf}), 0u);
  EXPECT_EQ(guest_.Get<std::uint8_t>(buf + 16), 3u);
  EXPECT_EQ(Call(Function::kFdFilestatGet, {99, buf}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdFilestatGet, {fd, guest_.size() - 63}), E(Errno::kFault));
  ASSERT_EQ(DropRights(fd, rights::kFdFilestatGet), 0u);
  EXPECT_EQ(Call(Function::kFdFilestatGet, {fd, buf}), E(Errno::kNotcapable));
}

TEST_F(WasiFdTest, SetSizeGrowsAndShrinks) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Call(Function::kFdFilestatSetSize, {fd, 100}), 0u);
  EXPECT_EQ(FileSize(data_ / "f"), 100u);
  ASSERT_EQ(Call(Function::kFdFilestatSetSize, {fd, 3}), 0u);
  EXPECT_EQ(FileSize(data_ / "f"), 3u);
  EXPECT_EQ(Call(Function::kFdFilestatSetSize, {fd, 1ull << 63}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdFilestatSetSize, {1, 0}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdFilestatSetSize, {3, 0}), E(Errno::kIsdir));
  EXPECT_EQ(Call(Function::kFdFilestatSetSize, {99, 0}), E(Errno::kBadf));
}

TEST_F(WasiFdTest, SetTimesHonoursEachFlag) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  const std::uint64_t atim = 1'000'000'123, mtim = 2'000'000'456;
  ASSERT_EQ(Call(Function::kFdFilestatSetTimes, {fd, atim, mtim, abi::kFstAtim | abi::kFstMtim}),
            0u);
  struct stat st;
  ASSERT_EQ(::stat((data_ / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1);
  EXPECT_EQ(st.st_atim.tv_nsec, 123);
  EXPECT_EQ(st.st_mtim.tv_sec, 2);
  EXPECT_EQ(st.st_mtim.tv_nsec, 456);
  // MTIM_NOW leaves atime alone.
  ASSERT_EQ(Call(Function::kFdFilestatSetTimes, {fd, 0, 0, abi::kFstMtimNow}), 0u);
  ASSERT_EQ(::stat((data_ / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1);
  EXPECT_GT(st.st_mtim.tv_sec, 1'600'000'000);

  EXPECT_EQ(Call(Function::kFdFilestatSetTimes, {fd, 0, 0, abi::kFstAtim | abi::kFstAtimNow}),
            E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdFilestatSetTimes, {fd, 0, 0, abi::kFstMtim | abi::kFstMtimNow}),
            E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdFilestatSetTimes, {fd, 0, 0, 1u << 4}), E(Errno::kInval));
  // The worker's stdio is not the guest's to touch.
  EXPECT_EQ(Call(Function::kFdFilestatSetTimes, {1, 0, 0, abi::kFstMtimNow}),
            E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdFilestatSetTimes, {99, 0, 0, 0}), E(Errno::kBadf));
}

TEST_F(WasiFdTest, AdviseAllocateAndSync) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  for (std::uint32_t advice = 0; advice <= 5; ++advice) {
    EXPECT_EQ(Call(Function::kFdAdvise, {fd, 0, 100, advice}), 0u) << advice;
  }
  EXPECT_EQ(Call(Function::kFdAdvise, {fd, 0, 100, 6}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdAdvise, {fd, 1ull << 63, 0, 0}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdAdvise, {0, 0, 0, 0}), E(Errno::kSpipe));
  EXPECT_EQ(Call(Function::kFdAdvise, {99, 0, 0, 0}), E(Errno::kBadf));

  ASSERT_EQ(Call(Function::kFdAllocate, {fd, 10, 90}), 0u);
  EXPECT_EQ(FileSize(data_ / "f"), 100u);
  EXPECT_EQ(Call(Function::kFdAllocate, {fd, 0, 0}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdAllocate, {fd, 1ull << 62, 1ull << 62}), E(Errno::kFbig));
  EXPECT_EQ(Call(Function::kFdAllocate, {1, 0, 1}), E(Errno::kSpipe));
  EXPECT_EQ(Call(Function::kFdAllocate, {3, 0, 1}), E(Errno::kIsdir));
  EXPECT_EQ(Call(Function::kFdAllocate, {99, 0, 1}), E(Errno::kBadf));

  EXPECT_EQ(Call(Function::kFdSync, {fd}), 0u);
  EXPECT_EQ(Call(Function::kFdDatasync, {fd}), 0u);
  EXPECT_EQ(Call(Function::kFdSync, {3}), 0u);
  EXPECT_EQ(Call(Function::kFdSync, {1}), E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdDatasync, {1}), E(Errno::kNotcapable));
  EXPECT_EQ(Call(Function::kFdSync, {99}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdDatasync, {99}), E(Errno::kBadf));
}

// ---- the table: close, renumber, preopens ----------------------------------------------------

TEST_F(WasiFdTest, CloseDropsTheFdButNeverTheWorkersDescriptor) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  EXPECT_EQ(fd, 6u);  // the first free number (0-5 are taken)
  ASSERT_EQ(Call(Function::kFdClose, {fd}), 0u);
  EXPECT_EQ(Call(Function::kFdClose, {fd}), E(Errno::kBadf));
  EXPECT_EQ(Write(fd, "x"), E(Errno::kBadf));
  ASSERT_EQ(Call(Function::kFdClose, {1}), 0u);
  EXPECT_EQ(Write(1, "x"), E(Errno::kBadf));
  EXPECT_NE(::fcntl(stdout_.write, F_GETFD), -1);  // still open for the worker
  // New fds take the lowest free number from 3 up: a closed stdio number is not reused.
  EXPECT_EQ(OpenFile("g"), 6u);
}

TEST_F(WasiFdTest, TheTableHoldsAtMost1024Fds) {
  WriteFile(data_ / "a", "a");
  Start();
  std::uint32_t fd = 0, last = 0;
  int opened = 0;
  while (Open("a", 0, kOpenRead, &fd) == 0) {
    last = fd;
    ++opened;
    ASSERT_LT(opened, 2000);
  }
  EXPECT_EQ(opened, 1024 - 6);  // 0-5 are stdio, /data and the carrier
  EXPECT_EQ(last, 1023u);
  EXPECT_EQ(Open("b", abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kMfile));
  EXPECT_FALSE(std::filesystem::exists(data_ / "b"));  // refused before anything was created
  ASSERT_EQ(Call(Function::kFdClose, {500}), 0u);
  ASSERT_EQ(Open("a", 0, kOpenRead, &fd), 0u);
  EXPECT_EQ(fd, 500u);
}

TEST_F(WasiFdTest, ClosingThePreopenLosesData) {
  Start();
  ASSERT_EQ(Call(Function::kFdClose, {3}), 0u);
  EXPECT_EQ(Call(Function::kFdPrestatGet, {3, guest_.Alloc(8)}), E(Errno::kBadf));
  std::uint32_t fd = 0;
  EXPECT_EQ(Open("f", abi::kOflagCreat, kOpenReadWrite, &fd), E(Errno::kBadf));
}

TEST_F(WasiFdTest, RenumberMovesAnFdOntoAnother) {
  WriteFile(data_ / "a", "A");
  WriteFile(data_ / "b", "B");
  Start();
  std::uint32_t a = 0, b = 0;
  ASSERT_EQ(Open("a", 0, kOpenRead, &a), 0u);
  ASSERT_EQ(Open("b", 0, kOpenRead, &b), 0u);
  ASSERT_EQ(Call(Function::kFdRenumber, {a, b}), 0u);
  std::string got;
  ASSERT_EQ(Read(b, 10, &got), 0u);
  EXPECT_EQ(got, "A");
  EXPECT_EQ(Read(a, 10, &got), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdRenumber, {b, b}), 0u);
  EXPECT_EQ(Call(Function::kFdRenumber, {b, 99}), E(Errno::kBadf));  // `to` must be open
  EXPECT_EQ(Call(Function::kFdRenumber, {99, b}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdRenumber, {a, b}), E(Errno::kBadf));
}

TEST_F(WasiFdTest, PreopenDiscoveryFindsDataAtThreeOnly) {
  Start();
  const std::uint32_t buf = guest_.Alloc(8);
  guest_.Set<std::uint64_t>(buf, ~0ull);
  ASSERT_EQ(Call(Function::kFdPrestatGet, {3, buf}), 0u);
  EXPECT_EQ(guest_.Get<std::uint8_t>(buf), abi::kPreopentypeDir);
  EXPECT_EQ(guest_.Get<std::uint8_t>(buf + 1), 0u);  // padding zeroed
  EXPECT_EQ(guest_.Get<std::uint32_t>(buf + 4), 5u);
  const std::uint32_t name = guest_.Alloc(16);
  ASSERT_EQ(Call(Function::kFdPrestatDirName, {3, name, 5}), 0u);
  EXPECT_EQ(guest_.String(name, 5), "/data");
  EXPECT_EQ(Call(Function::kFdPrestatDirName, {3, name, 4}), E(Errno::kNametoolong));
  EXPECT_EQ(Call(Function::kFdPrestatDirName, {3, guest_.size() - 4, 5}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kFdPrestatGet, {3, guest_.size() - 4}), E(Errno::kFault));
  // wasi-libc scans 3, 4, … and stops at the first EBADF: 4 is the carrier, not a preopen.
  for (const std::uint32_t fd : {0u, 1u, 2u, 4u, 5u, 6u, 1000u, 0xFFFFFFFFu}) {
    EXPECT_EQ(Call(Function::kFdPrestatGet, {fd, buf}), E(Errno::kBadf)) << fd;
    EXPECT_EQ(Call(Function::kFdPrestatDirName, {fd, name, 16}), E(Errno::kBadf)) << fd;
  }
}

TEST_F(WasiFdTest, PreopenFollowsRenumber) {
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Call(Function::kFdRenumber, {3, fd}), 0u);
  const std::uint32_t buf = guest_.Alloc(8);
  EXPECT_EQ(Call(Function::kFdPrestatGet, {3, buf}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdPrestatGet, {fd, buf}), 0u);
}

// ---- readdir ---------------------------------------------------------------------------------

struct Dirent {
  std::uint64_t next;
  std::uint8_t type;
  std::string name;
};

// The complete entries in the first `used` bytes of a readdir buffer.
std::vector<Dirent> ParseDirents(const FakeGuest& g, std::uint32_t buf, std::uint32_t used) {
  std::vector<Dirent> out;
  std::uint32_t at = 0;
  while (at + 24 <= used) {
    const auto namlen = g.Get<std::uint32_t>(buf + at + 16);
    if (at + 24 + namlen > used) break;
    out.push_back({g.Get<std::uint64_t>(buf + at), g.Get<std::uint8_t>(buf + at + 20),
                   g.String(buf + at + 24, namlen)});
    at += 24 + namlen;
  }
  return out;
}

class WasiReaddirTest : public WasiFdTest {
 protected:
  void SetUp() override {
    WasiFdTest::SetUp();
    for (const char* name : {"a", "bb", "ccc", "dddd", "eeeee"}) WriteFile(data_ / name, name);
    std::filesystem::create_directory(data_ / "sub");
    std::filesystem::create_symlink("a", data_ / "link");
  }
  // Reads the whole directory as wasi-libc does: resume from the last complete entry's cookie
  // until a call returns less than the buffer.
  std::map<std::string, std::uint8_t> ReadAll(std::uint32_t fd, std::uint32_t buf_len, int* calls) {
    std::map<std::string, std::uint8_t> names;
    const std::uint32_t buf = guest_.Alloc(buf_len), used_ptr = guest_.Alloc(4);
    std::uint64_t cookie = 0;
    for (*calls = 1; *calls < 100; ++*calls) {
      EXPECT_EQ(Call(Function::kFdReaddir, {fd, buf, buf_len, cookie, used_ptr}), 0u);
      const auto used = guest_.Get<std::uint32_t>(used_ptr);
      const std::vector<Dirent> entries = ParseDirents(guest_, buf, used);
      for (const Dirent& d : entries) {
        EXPECT_TRUE(names.emplace(d.name, d.type).second) << "listed twice: " << d.name;
      }
      if (used < buf_len) break;
      EXPECT_FALSE(entries.empty()) << "buffer too small for one entry";
      cookie = entries.back().next;
    }
    return names;
  }
};

TEST_F(WasiReaddirTest, ListsEveryEntryWithItsType) {
  Start();
  int calls;
  const auto names = ReadAll(3, 4096, &calls);
  EXPECT_EQ(calls, 1);
  const std::map<std::string, std::uint8_t> expected = {{".", 3},     {"..", 3},  {"a", 4},
                                                        {"bb", 4},    {"ccc", 4}, {"dddd", 4},
                                                        {"eeeee", 4}, {"sub", 3}, {"link", 7}};
  EXPECT_EQ(names, expected);
}

TEST_F(WasiReaddirTest, ResumesFromCookiesWithASmallBuffer) {
  Start();
  int calls;
  const auto small = ReadAll(3, 60, &calls);  // two entries and a fragment per call
  EXPECT_GT(calls, 3);
  const auto whole = ReadAll(3, 4096, &calls);
  EXPECT_EQ(small, whole);
}

TEST_F(WasiReaddirTest, TruncatesTheEntryThatDoesNotFit) {
  Start();
  const std::uint32_t buf = guest_.Alloc(64), used = guest_.Alloc(4);
  ASSERT_EQ(Call(Function::kFdReaddir, {3, buf, 10, 0, used}), 0u);
  EXPECT_EQ(guest_.Get<std::uint32_t>(used), 10u);  // "buffer full": retry with more room
  ASSERT_EQ(Call(Function::kFdReaddir, {3, buf, 0, 0, used}), 0u);
  EXPECT_EQ(guest_.Get<std::uint32_t>(used), 0u);
  // Past the end: nothing.
  int calls;
  ReadAll(3, 4096, &calls);
  const std::uint32_t big = guest_.Alloc(4096);
  ASSERT_EQ(Call(Function::kFdReaddir, {3, big, 4096, 0, used}), 0u);
  const std::vector<Dirent> all = ParseDirents(guest_, big, guest_.Get<std::uint32_t>(used));
  ASSERT_FALSE(all.empty());
  ASSERT_EQ(Call(Function::kFdReaddir, {3, big, 4096, all.back().next, used}), 0u);
  EXPECT_EQ(guest_.Get<std::uint32_t>(used), 0u);
}

TEST_F(WasiReaddirTest, WorksOnOpenedSubdirectoriesAndRefusesTheRest) {
  WriteFile(data_ / "sub" / "inner", "x");
  Start();
  std::uint32_t sub = 0;
  ASSERT_EQ(Open("sub", abi::kOflagDirectory, kOpenRead, &sub), 0u);
  int calls;
  const auto names = ReadAll(sub, 256, &calls);
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(names.count("inner"), 1u);

  const std::uint32_t buf = guest_.Alloc(64), used = guest_.Alloc(4);
  std::uint32_t file = 0;
  ASSERT_EQ(Open("a", 0, kOpenRead, &file), 0u);
  EXPECT_EQ(Call(Function::kFdReaddir, {file, buf, 64, 0, used}), E(Errno::kNotdir));
  EXPECT_EQ(Call(Function::kFdReaddir, {1, buf, 64, 0, used}), E(Errno::kNotdir));
  EXPECT_EQ(Call(Function::kFdReaddir, {99, buf, 64, 0, used}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdReaddir, {3, guest_.size() - 10, 64, 0, used}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kFdReaddir, {3, buf, 64, 0, guest_.size()}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kFdReaddir, {3, buf, 64, 1ull << 63, used}), E(Errno::kInval));
  ASSERT_EQ(DropRights(sub, rights::kFdReaddir), 0u);
  EXPECT_EQ(Call(Function::kFdReaddir, {sub, buf, 64, 0, used}), E(Errno::kNotcapable));
}

// ---- output limit ----------------------------------------------------------------------------

TEST_F(WasiFdTest, OutputLimitCutsAtTheLimitAndEndsTheRun) {
  config_.output_limit_bytes = 10;
  Start();
  ASSERT_EQ(Write(1, "123456"), 0u);
  EXPECT_EQ(Write(2, "789012"), E(Errno::kFbig));
  EXPECT_EQ(stdout_.Drain(), "123456");
  EXPECT_EQ(stderr_.Drain(), "7890");  // exactly up to the limit
  EXPECT_EQ(host_->output_bytes(), 10u);
  EXPECT_TRUE(host_->finished());
  EXPECT_EQ(host_->fatal().code(), Code::kResourceExhausted);
  EXPECT_EQ(host_->fatal().reason(), "output_limit");
  EXPECT_NE(host_->fatal().message().find("MiB"), std::string::npos);
  EXPECT_NE(host_->fatal().message().find("resource_limits.output_mb"), std::string::npos);
  EXPECT_EQ(Write(1, "x"), E(Errno::kCanceled));
}

TEST_F(WasiFdTest, OutputLimitMessageNamesWholeMebibytes) {
  config_.output_limit_bytes = 2 << 20;
  Start();
  FakeGuest big(3 << 20);
  const std::uint32_t buf = big.Alloc((2 << 20) + 1);
  const std::uint32_t iov = big.Iovecs({{buf, (2 << 20) + 1}});
  std::size_t received = 0;
  std::thread reader([&] {
    char b[65536];
    ssize_t n;
    while ((n = ::read(stdout_.read, b, sizeof b)) > 0) received += static_cast<std::size_t>(n);
  });
  std::vector<std::uint64_t> args = {1, iov, 1, big.Alloc(4)};
  EXPECT_EQ(host_->Call(Function::kFdWrite, args.data(), big.memory()), E(Errno::kFbig));
  EXPECT_NE(host_->fatal().message().find("output limit of 2 MiB"), std::string::npos)
      << host_->fatal().message();
  EXPECT_EQ(host_->output_bytes(), 2u << 20);
  ::close(stdout_.write);
  stdout_.write = -1;
  host_.reset();
  reader.join();
  EXPECT_EQ(received, 2u << 20);
}

TEST_F(WasiFdTest, OutputExactlyAtTheLimitIsFine) {
  config_.output_limit_bytes = 6;
  Start();
  ASSERT_EQ(Write(1, "123456"), 0u);
  EXPECT_FALSE(host_->finished());
  EXPECT_EQ(Write(1, ""), 0u);
  EXPECT_EQ(Write(1, "7"), E(Errno::kFbig));
  EXPECT_EQ(stdout_.Drain(), "123456");
  EXPECT_EQ(host_->fatal().reason(), "output_limit");
}

TEST_F(WasiFdTest, OutputLimitFollowsStdoutWhereverItIsRenumbered) {
  config_.output_limit_bytes = 4;
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Call(Function::kFdRenumber, {1, fd}), 0u);
  EXPECT_EQ(Write(fd, "12345"), E(Errno::kFbig));
  EXPECT_EQ(stdout_.Drain(), "1234");
  EXPECT_EQ(host_->fatal().reason(), "output_limit");
}

// ---- storage limit ---------------------------------------------------------------------------

TEST_F(WasiFdTest, StorageLimitCountsExistingDataAndRefusesGrowthPastIt) {
  WriteFile(data_ / "old", std::string(100, 'o'));
  config_.storage_limit_bytes = 150;
  Start();
  const std::uint32_t fd = OpenFile("new");
  ASSERT_EQ(Write(fd, std::string(40, 'n')), 0u);
  EXPECT_EQ(Write(fd, std::string(20, 'n')), E(Errno::kNospc));
  EXPECT_EQ(FileSize(data_ / "new"), 40u);  // the refused write wrote nothing
  EXPECT_TRUE(host_->finished());
  EXPECT_EQ(host_->fatal().code(), Code::kResourceExhausted);
  EXPECT_EQ(host_->fatal().reason(), "storage_limit");
  EXPECT_NE(host_->fatal().message().find("resource_limits.storage_mb"), std::string::npos);
}

TEST_F(WasiFdTest, StorageLimitCoversOverwritesInPlace) {
  WriteFile(data_ / "f", std::string(100, 'o'));
  config_.storage_limit_bytes = 100;
  Start();
  std::uint32_t fd = 0;
  ASSERT_EQ(Open("f", 0, kOpenReadWrite, &fd), 0u);
  EXPECT_EQ(Write(fd, std::string(100, 'x')), 0u);  // rewriting does not grow
  EXPECT_EQ(Write(fd, "y"), E(Errno::kNospc));
}

TEST_F(WasiFdTest, StorageLimitCoversSetSize) {
  config_.storage_limit_bytes = 1000;
  Start();
  const std::uint32_t fd = OpenFile("f");
  ASSERT_EQ(Call(Function::kFdFilestatSetSize, {fd, 1000}), 0u);
  EXPECT_EQ(Call(Function::kFdFilestatSetSize, {fd, 1001}), E(Errno::kNospc));
  EXPECT_EQ(FileSize(data_ / "f"), 1000u);
  EXPECT_EQ(host_->fatal().reason(), "storage_limit");
}

TEST_F(WasiFdTest, StorageLimitCoversAllocate) {
  config_.storage_limit_bytes = 1000;
  Start();
  const std::uint32_t fd = OpenFile("f");
  EXPECT_EQ(Call(Function::kFdAllocate, {fd, 500, 501}), E(Errno::kNospc));
  EXPECT_EQ(FileSize(data_ / "f"), 0u);
  EXPECT_EQ(host_->fatal().reason(), "storage_limit");
}

TEST_F(WasiFdTest, StorageLimitCoversSparsePwrites) {
  config_.storage_limit_bytes = 1 << 20;
  Start();
  const std::uint32_t fd = OpenFile("f");
  EXPECT_EQ(Pwrite(fd, "x", 1ull << 40), E(Errno::kNospc));  // a hole is charged its size
  EXPECT_EQ(FileSize(data_ / "f"), 0u);
  EXPECT_EQ(host_->fatal().reason(), "storage_limit");
}

TEST_F(WasiFdTest, StorageLimitCoversAppends) {
  config_.storage_limit_bytes = 10;
  Start();
  const std::uint32_t fd = OpenFile("f", abi::kFdflagAppend);
  ASSERT_EQ(Write(fd, "12345678"), 0u);
  Seek(fd, 0, abi::kWhenceSet);  // the position says 0, but an append lands at 8
  EXPECT_EQ(Write(fd, "abc"), E(Errno::kNospc));
}

TEST_F(WasiFdTest, RewritingAFileWithTruncDoesNotAccumulate) {
  config_.storage_limit_bytes = 100;
  Start();
  for (int round = 0; round < 5; ++round) {
    std::uint32_t fd = 0;
    ASSERT_EQ(Open("f", abi::kOflagCreat | abi::kOflagTrunc, kOpenReadWrite, &fd), 0u);
    ASSERT_EQ(Write(fd, std::string(60, 'x')), 0u) << round;
    ASSERT_EQ(Call(Function::kFdClose, {fd}), 0u);
  }
  EXPECT_FALSE(host_->finished());
}

TEST_F(WasiFdTest, DeletingFilesFreesStorage) {
  config_.storage_limit_bytes = 100;
  Start();
  std::uint32_t fd = OpenFile("a");
  ASSERT_EQ(Write(fd, std::string(60, 'a')), 0u);
  ASSERT_EQ(Call(Function::kFdClose, {fd}), 0u);
  ASSERT_EQ(PathCall(Function::kPathUnlinkFile, "a"), 0u);
  fd = OpenFile("b");
  ASSERT_EQ(Write(fd, std::string(60, 'b')), 0u);
  EXPECT_FALSE(host_->finished());
}

TEST_F(WasiFdTest, DeletingAnOpenFileFreesNothingUntilItIsClosed) {
  config_.storage_limit_bytes = 100;
  Start();
  const std::uint32_t a = OpenFile("a");
  ASSERT_EQ(Write(a, std::string(60, 'a')), 0u);
  ASSERT_EQ(PathCall(Function::kPathUnlinkFile, "a"), 0u);
  const std::uint32_t b = OpenFile("b");
  EXPECT_EQ(Write(b, std::string(60, 'b')), E(Errno::kNospc));  // a's bytes are still on disk
}

TEST_F(WasiFdTest, ClosingAnUnlinkedFileFreesIt) {
  config_.storage_limit_bytes = 100;
  Start();
  const std::uint32_t a = OpenFile("a");
  ASSERT_EQ(Write(a, std::string(60, 'a')), 0u);
  ASSERT_EQ(PathCall(Function::kPathUnlinkFile, "a"), 0u);
  ASSERT_EQ(Call(Function::kFdClose, {a}), 0u);
  const std::uint32_t b = OpenFile("b");
  EXPECT_EQ(Write(b, std::string(60, 'b')), 0u);
}

TEST_F(WasiFdTest, HardLinksAreMeasuredOnce) {
  std::filesystem::create_directory(data_ / "d");
  WriteFile(data_ / "d" / "f", std::string(80, 'x'));
  std::filesystem::create_hard_link(data_ / "d" / "f", data_ / "g");
  config_.storage_limit_bytes = 100;
  Start();
  const std::uint32_t fd = OpenFile("h");
  EXPECT_EQ(Write(fd, std::string(20, 'y')), 0u);  // 80 + 20: fits only if f/g counted once
  EXPECT_EQ(Write(fd, "z"), E(Errno::kNospc));
}

}  // namespace
}  // namespace elastos::compute::wasi::testing
