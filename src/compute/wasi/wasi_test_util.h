// Test support for the WASI host: a fake guest memory with the layouts a guest would build
// (iovecs, strings, subscriptions), and a fixture that runs a Host over pipes and a temporary
// /data the way the worker does.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/testing/temp_dir.h"
#include "compute/engine.h"
#include "compute/wasi/abi.h"
#include "compute/wasi/wasi.h"

namespace elastos::compute::wasi::testing {

namespace rights = abi::rights;
using abi::Errno;

constexpr std::uint32_t E(Errno e) { return static_cast<std::uint32_t>(e); }

// What wasi-libc asks for when it opens O_RDONLY / O_RDWR under /data.
constexpr std::uint64_t kOpenRead =
    rights::kDirectoryInheriting &
    ~(rights::kFdWrite | rights::kFdDatasync | rights::kFdAllocate | rights::kFdFilestatSetSize);
constexpr std::uint64_t kOpenReadWrite = rights::kDirectoryInheriting;

// A byte vector standing in for linear memory, with a bump allocator.
class FakeGuest {
 public:
  explicit FakeGuest(std::size_t size = 1 << 20) : bytes_(size) {}

  Memory memory() { return {bytes_.data(), bytes_.size()}; }
  std::uint64_t size() const { return bytes_.size(); }

  std::uint32_t Alloc(std::size_t n, std::size_t align = 8) {
    next_ = (next_ + align - 1) / align * align;
    const std::uint32_t at = static_cast<std::uint32_t>(next_);
    next_ += n;
    if (next_ > bytes_.size()) std::abort();  // a test bug
    return at;
  }
  std::uint32_t Put(std::string_view s) {
    const std::uint32_t at = Alloc(s.size() + 1, 1);
    std::memcpy(bytes_.data() + at, s.data(), s.size());
    return at;
  }
  // An iovec array over the given (ptr, len) buffers.
  std::uint32_t Iovecs(std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> bufs) {
    const std::uint32_t at = Alloc(8 * bufs.size(), 4);
    std::uint32_t k = 0;
    for (const auto& [ptr, len] : bufs) {
      Set<std::uint32_t>(at + 8 * k, ptr);
      Set<std::uint32_t>(at + 8 * k + 4, len);
      ++k;
    }
    return at;
  }

  template <typename T>
  T Get(std::uint64_t at) const {
    T v;
    std::memcpy(&v, bytes_.data() + at, sizeof v);
    return v;
  }
  template <typename T>
  void Set(std::uint64_t at, T v) {
    std::memcpy(bytes_.data() + at, &v, sizeof v);
  }
  std::string String(std::uint64_t at, std::size_t len) const {
    return std::string(reinterpret_cast<const char*>(bytes_.data() + at), len);
  }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t next_ = 64;  // keep address 0 unused, like a real guest
};

// A pipe whose ends close with it.
struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  void Send(std::string_view data) {
    if (::write(write, data.data(), data.size()) != static_cast<ssize_t>(data.size())) std::abort();
  }
  // Everything readable now (the read end is made non-blocking).
  std::string Drain() {
    ::fcntl(read, F_SETFL, ::fcntl(read, F_GETFL) | O_NONBLOCK);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(read, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

class WasiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directory(data_);
    config_.args = {"prog", "a b", ""};
    config_.env = {"K=V", "ELASTOS_CARRIER_FDS=4,5"};
    config_.stdin_fd = stdin_.read;
    config_.stdout_fd = stdout_.write;
    config_.stderr_fd = stderr_.write;
    config_.carrier_in_fd = carrier_in_.read;
    config_.carrier_out_fd = carrier_out_.write;
  }
  void TearDown() override {
    // The interrupt flag is process-global and sticky; tests that raise it clear it here.
    __atomic_store_n(&elastos_guest_interrupt, 0, __ATOMIC_SEQ_CST);
  }

  // Creates the host from config_ (data_ preopened unless `with_data` is false).
  void Start(bool with_data = true) {
    config_.data_dir_fd =
        with_data ? ::open(data_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    Result<std::unique_ptr<Host>> host = Host::Create(config_);
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = std::move(host).value();
  }

  std::uint32_t Call(Function fn, std::initializer_list<std::uint64_t> args) {
    std::vector<std::uint64_t> a(args);
    a.resize(10);
    return host_->Call(fn, a.data(), guest_.memory());
  }

  // fd_write of `data` from one iovec; `written` gets nwritten.
  std::uint32_t Write(std::uint32_t fd, std::string_view data, std::uint32_t* written = nullptr) {
    const std::uint32_t buf = guest_.Put(data);
    const std::uint32_t iov = guest_.Iovecs({{buf, static_cast<std::uint32_t>(data.size())}});
    const std::uint32_t out = guest_.Alloc(4);
    const std::uint32_t e = Call(Function::kFdWrite, {fd, iov, 1, out});
    if (written != nullptr) *written = guest_.Get<std::uint32_t>(out);
    return e;
  }
  // fd_read of up to `max` bytes into `data`.
  std::uint32_t Read(std::uint32_t fd, std::uint32_t max, std::string* data) {
    const std::uint32_t buf = guest_.Alloc(max);
    const std::uint32_t iov = guest_.Iovecs({{buf, max}});
    const std::uint32_t out = guest_.Alloc(4);
    const std::uint32_t e = Call(Function::kFdRead, {fd, iov, 1, out});
    if (e == 0) *data = guest_.String(buf, guest_.Get<std::uint32_t>(out));
    return e;
  }
  // path_open beneath `dir` (default /data) following symlinks, like wasi-libc's open().
  std::uint32_t Open(std::string_view path, std::uint32_t oflags, std::uint64_t rights_base,
                     std::uint32_t* fd, std::uint32_t fdflags = 0, std::uint32_t dir = 3,
                     std::uint32_t lookup = abi::kLookupSymlinkFollow) {
    const std::uint32_t p = guest_.Put(path);
    const std::uint32_t out = guest_.Alloc(4);
    const std::uint32_t e =
        Call(Function::kPathOpen, {dir, lookup, p, path.size(), oflags, rights_base,
                                   rights::kDirectoryInheriting, fdflags, out});
    if (e == 0 && fd != nullptr) *fd = guest_.Get<std::uint32_t>(out);
    return e;
  }
  // A function taking (fd, path, path_len): path_create_directory, _remove_directory, _unlink_file.
  std::uint32_t PathCall(Function fn, std::string_view path, std::uint32_t dir = 3) {
    const std::uint32_t p = guest_.Put(path);
    return Call(fn, {dir, p, path.size()});
  }

  static std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void WriteFile(const std::filesystem::path& path, std::string_view content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  ::elastos::testing::TempDir tmp_;
  const std::filesystem::path root_ = tmp_.path();
  const std::filesystem::path data_ = root_ / "data";
  Pipe stdin_, stdout_, stderr_, carrier_in_, carrier_out_;
  HostConfig config_;
  FakeGuest guest_;
  std::unique_ptr<Host> host_;
};

}  // namespace elastos::compute::wasi::testing
