// The function table, Host::Create, and the functions that touch no descriptor: args/environ,
// clocks, random, process, sockets; plus the generic guarantees (EFAULT, calls after the end).
#include "compute/wasi/wasi.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "compute/wasi/wasi_test_util.h"

namespace elastos::compute::wasi::testing {
namespace {

TEST(WasiTableTest, ListsAll46FunctionsInEnumOrderWithCoreSignatures) {
  // Core-wasm signatures from the preview1 witx (pointers and sizes are i32, u64 values i64).
  const std::pair<std::string_view, std::string_view> expected[] = {
      {"args_get", "ii"},
      {"args_sizes_get", "ii"},
      {"environ_get", "ii"},
      {"environ_sizes_get", "ii"},
      {"clock_res_get", "ii"},
      {"clock_time_get", "iIi"},
      {"fd_advise", "iIIi"},
      {"fd_allocate", "iII"},
      {"fd_close", "i"},
      {"fd_datasync", "i"},
      {"fd_fdstat_get", "ii"},
      {"fd_fdstat_set_flags", "ii"},
      {"fd_fdstat_set_rights", "iII"},
      {"fd_filestat_get", "ii"},
      {"fd_filestat_set_size", "iI"},
      {"fd_filestat_set_times", "iIIi"},
      {"fd_pread", "iiiIi"},
      {"fd_prestat_get", "ii"},
      {"fd_prestat_dir_name", "iii"},
      {"fd_pwrite", "iiiIi"},
      {"fd_read", "iiii"},
      {"fd_readdir", "iiiIi"},
      {"fd_renumber", "ii"},
      {"fd_seek", "iIii"},
      {"fd_sync", "i"},
      {"fd_tell", "ii"},
      {"fd_write", "iiii"},
      {"path_create_directory", "iii"},
      {"path_filestat_get", "iiiii"},
      {"path_filestat_set_times", "iiiiIIi"},
      {"path_link", "iiiiiii"},
      {"path_open", "iiiiiIIii"},
      {"path_readlink", "iiiiii"},
      {"path_remove_directory", "iii"},
      {"path_rename", "iiiiii"},
      {"path_symlink", "iiiii"},
      {"path_unlink_file", "iii"},
      {"poll_oneoff", "iiii"},
      {"proc_exit", "i"},
      {"proc_raise", "i"},
      {"sched_yield", ""},
      {"random_get", "ii"},
      {"sock_accept", "iii"},
      {"sock_recv", "iiiiii"},
      {"sock_send", "iiiii"},
      {"sock_shutdown", "ii"},
  };
  static_assert(std::size(expected) == kFunctionCount);
  std::set<std::string_view> names;
  for (int k = 0; k < kFunctionCount; ++k) {
    const FunctionInfo& info = Functions()[k];
    EXPECT_EQ(info.name, expected[k].first);
    EXPECT_EQ(info.params, expected[k].second) << info.name;
    EXPECT_EQ(static_cast<int>(info.function), k);
    EXPECT_EQ(info.returns_errno, info.name != "proc_exit");
    EXPECT_EQ(Lookup(info.name), &info);
    names.insert(info.name);
  }
  EXPECT_EQ(names.size(), 46u);
  EXPECT_EQ(Lookup("fd_write_"), nullptr);
  EXPECT_EQ(Lookup(""), nullptr);
  EXPECT_EQ(Lookup("sock_open"), nullptr);  // preview1 has none
}

class WasiCoreTest : public WasiTest {};

TEST_F(WasiCoreTest, ArgsAndEnvironAreLaidOutAsWasiLibcReadsThem) {
  Start();
  for (const bool env : {false, true}) {
    const auto& strings = env ? config_.env : config_.args;
    const std::uint32_t count = guest_.Alloc(4), size = guest_.Alloc(4);
    ASSERT_EQ(Call(env ? Function::kEnvironSizesGet : Function::kArgsSizesGet, {count, size}), 0u);
    ASSERT_EQ(guest_.Get<std::uint32_t>(count), strings.size());
    std::uint32_t total = 0;
    for (const auto& s : strings) total += static_cast<std::uint32_t>(s.size() + 1);
    ASSERT_EQ(guest_.Get<std::uint32_t>(size), total);

    const std::uint32_t ptrs = guest_.Alloc(4 * strings.size()), buf = guest_.Alloc(total, 1);
    ASSERT_EQ(Call(env ? Function::kEnvironGet : Function::kArgsGet, {ptrs, buf}), 0u);
    std::uint32_t expect_at = buf;
    for (std::size_t k = 0; k < strings.size(); ++k) {
      const auto at = guest_.Get<std::uint32_t>(ptrs + 4 * k);
      EXPECT_EQ(at, expect_at);  // packed, in order
      EXPECT_EQ(guest_.String(at, strings[k].size() + 1), strings[k] + std::string(1, '\0'));
      expect_at += static_cast<std::uint32_t>(strings[k].size() + 1);
    }
  }
}

TEST_F(WasiCoreTest, ArgsAndEnvironRefuseOutOfRangePointers) {
  Start();
  const std::uint32_t ok = guest_.Alloc(4096);
  const auto end = static_cast<std::uint32_t>(guest_.size());
  EXPECT_EQ(Call(Function::kArgsSizesGet, {end - 2, ok}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kArgsSizesGet, {ok, end}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kEnvironSizesGet, {0xFFFFFFFF, ok}), E(Errno::kFault));
  // The strings need 2+4+1 bytes; a buffer 3 bytes before the end cannot hold them.
  EXPECT_EQ(Call(Function::kArgsGet, {ok, end - 3}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kArgsGet, {end - 8, ok}), E(Errno::kFault));  // 3 pointers = 12 bytes
  EXPECT_EQ(Call(Function::kEnvironGet, {ok, 0xFFFFFFFF}), E(Errno::kFault));
}

TEST_F(WasiCoreTest, ClocksReadAllFourIds) {
  Start();
  const std::uint32_t out = guest_.Alloc(8);
  for (std::uint32_t id = 0; id < 4; ++id) {
    ASSERT_EQ(Call(Function::kClockResGet, {id, out}), 0u) << id;
    EXPECT_GT(guest_.Get<std::uint64_t>(out), 0u);
    ASSERT_EQ(Call(Function::kClockTimeGet, {id, 1, out}), 0u) << id;
    EXPECT_GT(guest_.Get<std::uint64_t>(out), 0u);
  }
  ASSERT_EQ(Call(Function::kClockTimeGet, {abi::kClockRealtime, 0, out}), 0u);
  const std::uint64_t real = guest_.Get<std::uint64_t>(out);
  EXPECT_GT(real, 1'600'000'000ull * 1'000'000'000ull);  // after 2020: nanoseconds since 1970
  ASSERT_EQ(Call(Function::kClockTimeGet, {abi::kClockMonotonic, 0, out}), 0u);
  const std::uint64_t mono1 = guest_.Get<std::uint64_t>(out);
  ASSERT_EQ(Call(Function::kClockTimeGet, {abi::kClockMonotonic, 0, out}), 0u);
  EXPECT_GE(guest_.Get<std::uint64_t>(out), mono1);
}

TEST_F(WasiCoreTest, ClocksRefuseUnknownIdsAndBadPointers) {
  Start();
  const std::uint32_t out = guest_.Alloc(8);
  EXPECT_EQ(Call(Function::kClockResGet, {4, out}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kClockTimeGet, {0xFFFFFFFF, 0, out}), E(Errno::kInval));
  const auto end = static_cast<std::uint32_t>(guest_.size());
  EXPECT_EQ(Call(Function::kClockResGet, {0, end - 7}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kClockTimeGet, {1, 0, end - 4}), E(Errno::kFault));
}

TEST_F(WasiCoreTest, RandomGetFillsTheBufferAndChecksIt) {
  Start();
  const std::uint32_t buf = guest_.Alloc(4096);
  ASSERT_EQ(Call(Function::kRandomGet, {buf, 4096}), 0u);
  int zeros = 0;
  for (std::uint32_t k = 0; k < 4096; ++k) zeros += guest_.bytes()[buf + k] == 0;
  EXPECT_LT(zeros, 100);  // ~16 expected
  EXPECT_EQ(Call(Function::kRandomGet, {buf, 0}), 0u);
  const auto end = static_cast<std::uint32_t>(guest_.size());
  EXPECT_EQ(Call(Function::kRandomGet, {end - 10, 11}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kRandomGet, {0xFFFFFFF0, 0x20}), E(Errno::kFault));  // wraps 2^32
  EXPECT_EQ(Call(Function::kRandomGet, {end, 0}), 0u);  // an empty range at the end is inside
  EXPECT_EQ(Call(Function::kRandomGet, {end + 1, 0}), E(Errno::kFault));
}

TEST_F(WasiCoreTest, RandomGetStopsOnInterrupt) {
  Start();
  RequestInterrupt(InterruptReason::kWall);
  EXPECT_EQ(Call(Function::kRandomGet, {guest_.Alloc(16), 16}), E(Errno::kIntr));
}

TEST_F(WasiCoreTest, ProcExitFinishesWithTheCode) {
  Start();
  EXPECT_FALSE(host_->finished());
  Call(Function::kProcExit, {7});
  EXPECT_TRUE(host_->finished());
  EXPECT_EQ(host_->exit_code(), 7u);
  EXPECT_TRUE(host_->fatal().ok());
  // Nothing runs after the end, whatever the engine still calls.
  EXPECT_EQ(Write(1, "late"), E(Errno::kCanceled));
  EXPECT_EQ(stdout_.Drain(), "");
}

TEST_F(WasiCoreTest, ProcRaiseIsNotSupportedAndSchedYieldIs) {
  Start();
  EXPECT_EQ(Call(Function::kProcRaise, {9}), E(Errno::kNosys));
  EXPECT_FALSE(host_->finished());
  EXPECT_EQ(host_->Call(Function::kSchedYield, nullptr, guest_.memory()), 0u);
}

TEST_F(WasiCoreTest, SocketCallsSayNotASocket) {
  Start();
  const std::uint32_t out = guest_.Alloc(16);
  for (const std::uint32_t fd : {0u, 1u, 3u, 4u}) {
    EXPECT_EQ(Call(Function::kSockAccept, {fd, 0, out}), E(Errno::kNotsock));
    EXPECT_EQ(Call(Function::kSockRecv, {fd, out, 0, 0, out, out + 4}), E(Errno::kNotsock));
    EXPECT_EQ(Call(Function::kSockSend, {fd, out, 0, 0, out}), E(Errno::kNotsock));
    EXPECT_EQ(Call(Function::kSockShutdown, {fd, 3}), E(Errno::kNotsock));
  }
  EXPECT_EQ(Call(Function::kSockAccept, {99, 0, out}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kSockRecv, {99, out, 0, 0, out, out}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kSockSend, {99, out, 0, 0, out}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kSockShutdown, {99, 3}), E(Errno::kBadf));
}

TEST_F(WasiCoreTest, UnknownFunctionValueIsNosys) {
  Start();
  EXPECT_EQ(Call(static_cast<Function>(200), {}), E(Errno::kNosys));
}

TEST_F(WasiCoreTest, CreateRefusesNulInArgsOrEnv) {
  config_.args = {"prog", std::string("a\0b", 3)};
  Result<std::unique_ptr<Host>> host = Host::Create(config_);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), Code::kInvalidArgument);
  config_.args = {"prog"};
  config_.env = {std::string("K=\0", 3)};
  EXPECT_FALSE(Host::Create(config_).ok());
}

TEST_F(WasiCoreTest, CreateRefusesADataDirThatIsNotADirectoryAndClosesIt) {
  WriteFile(root_ / "file", "x");
  const int fd = ::open((root_ / "file").c_str(), O_RDONLY | O_CLOEXEC);
  config_.data_dir_fd = fd;
  Result<std::unique_ptr<Host>> host = Host::Create(config_);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // the host took ownership and closed it
}

TEST_F(WasiCoreTest, CreateRefusesAStdioFdThatIsNotOpen) {
  config_.stdout_fd = 1000;
  Result<std::unique_ptr<Host>> host = Host::Create(config_);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().reason(), "wasi_bad_fd");
}

TEST_F(WasiCoreTest, CreateRefusesADataDirTooDeepToMeasure) {
  std::filesystem::path deep = data_;
  for (int k = 0; k < 260; ++k) {
    deep /= "d";
    std::filesystem::create_directory(deep);
  }
  config_.storage_limit_bytes = 1 << 20;
  config_.data_dir_fd = ::open(data_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Result<std::unique_ptr<Host>> host = Host::Create(config_);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().reason(), "data_dir_unmeasurable");
}

TEST_F(WasiCoreTest, AbsentFdsAreBadf) {
  config_.stdin_fd = -1;
  config_.carrier_in_fd = -1;
  config_.carrier_out_fd = -1;
  Start(/*with_data=*/false);
  const std::uint32_t buf = guest_.Alloc(24);
  EXPECT_EQ(Call(Function::kFdFdstatGet, {0, buf}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdPrestatGet, {3, buf}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdFdstatGet, {4, buf}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdFdstatGet, {5, buf}), E(Errno::kBadf));
  EXPECT_EQ(Call(Function::kFdFdstatGet, {1, buf}), 0u);
}

TEST_F(WasiCoreTest, GuestPointersNeverReachOutsideMemory) {
  Start();
  const auto end = static_cast<std::uint32_t>(guest_.size());
  const std::uint32_t out = guest_.Alloc(8);
  // An iovec array running past the end, and iovecs whose buffers do.
  EXPECT_EQ(Call(Function::kFdWrite, {1, end - 4, 1, out}), E(Errno::kFault));
  const std::uint32_t past_end = guest_.Iovecs({{end - 1, 2}});
  EXPECT_EQ(Call(Function::kFdWrite, {1, past_end, 1, out}), E(Errno::kFault));
  const std::uint32_t wraps = guest_.Iovecs({{0xFFFFFFFF, 0xFFFFFFFF}});
  EXPECT_EQ(Call(Function::kFdWrite, {1, wraps, 1, out}), E(Errno::kFault));
  const std::uint32_t wraps32 = guest_.Iovecs({{16, 0xFFFFFFF8}});
  EXPECT_EQ(Call(Function::kFdRead, {0, wraps32, 1, out}), E(Errno::kFault));
  // iovs_len so large that iovs + 8 * len wraps a 32-bit sum, or just more than IOV_MAX.
  const std::uint32_t zeros = guest_.Alloc(8 * 1025);  // 1025 iovecs {0, 0}
  EXPECT_EQ(Call(Function::kFdWrite, {1, zeros, 0x20000000, out}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdWrite, {1, zeros, 1025, out}), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kFdWrite, {1, zeros, 1024, out}), 0u);
  EXPECT_EQ(guest_.Get<std::uint32_t>(out), 0u);
  EXPECT_EQ(Call(Function::kFdWrite, {1, end - 8 * 1023, 1024, out}), E(Errno::kFault));
  // The result pointer.
  const std::uint32_t ok = guest_.Iovecs({{guest_.Put("x"), 1}});
  EXPECT_EQ(Call(Function::kFdWrite, {1, ok, 1, end - 3}), E(Errno::kFault));
  EXPECT_EQ(stdout_.Drain(), "");  // nothing was written by any failing call
  // Memory smaller than a pointer's reach, with a null base.
  EXPECT_EQ(host_->Call(Function::kArgsSizesGet, std::vector<std::uint64_t>{0, 4}.data(),
                        Memory{nullptr, 0}),
            E(Errno::kFault));
}

TEST_F(WasiCoreTest, I32ArgumentsAreTruncatedTo32Bits) {
  Start();
  const std::uint32_t out = guest_.Alloc(8);
  // High bits set on an i32 argument must not turn a valid pointer into an invalid one or back.
  EXPECT_EQ(Call(Function::kClockTimeGet, {0x100000000ull | 1, 0, 0xABCD00000000ull | out}), 0u);
}

// Hostile-input smoke test: every function with arguments drawn from values near the edges of
// memory, small fds, flag bits and a few path strings. Nothing may crash (ASan/UBSan builds
// check for reads or writes outside the guest buffer) and every call returns an errno. The
// interrupt flag is raised so nothing blocks; paths only ever resolve inside the test's /data.
TEST_F(WasiCoreTest, RandomArgumentsNeverCrash) {
  std::filesystem::create_directory(data_ / "sub");
  WriteFile(data_ / "a", "alpha");
  Start();
  FakeGuest& g = guest_;
  const auto size = static_cast<std::uint32_t>(g.size());
  std::vector<std::uint32_t> ptrs = {0, 1, size - 1, size, size + 1, 0xFFFFFFFF, 0xFFFFFFF8};
  for (const char* s : {"a", "sub", ".", "..", "../x", "sub/../a", "/etc", "b", "sub/c"}) {
    ptrs.push_back(g.Put(s));
  }
  const std::uint32_t buf = g.Alloc(4096);
  ptrs.push_back(buf);
  ptrs.push_back(g.Iovecs({{buf, 16}, {buf + 100, 4000}}));
  const std::vector<std::uint64_t> values = {
      0,  1,  2,  3,    4,      5,          6,          7,          8,
      16, 24, 64, 1000, 0xFFFF, 0xFFFFFFFF, 1ull << 32, 1ull << 63, ~0ull};
  RequestInterrupt(InterruptReason::kWall);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 20000; ++round) {
    const auto fn = static_cast<Function>(next() % kFunctionCount);
    if (fn == Function::kProcExit) continue;
    std::uint64_t args[10];
    for (std::uint64_t& arg : args) {
      switch (next() % 4) {
        case 0:
          arg = ptrs[next() % ptrs.size()];
          break;
        case 1:
          arg = values[next() % values.size()];
          break;
        case 2:
          arg = next() % 8;
          break;  // small fds and flag values
        default:
          arg = next();
          break;
      }
    }
    const std::uint32_t e = host_->Call(fn, args, g.memory());
    ASSERT_LE(e, 76u) << Functions()[static_cast<int>(fn)].name;
  }
  EXPECT_FALSE(host_->finished());
  // Whatever happened, nothing outside /data changed.
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root_)) {
    EXPECT_EQ(entry.path(), data_);
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace elastos::compute::wasi::testing
