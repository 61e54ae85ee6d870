#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/env.h"
#include "common/file_util.h"

namespace elastos {
namespace {
namespace fs = std::filesystem;

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(ByteView data) override { return WriteAll(fd_, data, path_.string()); }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return IoError("fdatasync " + path_.string(), errno);
    return OkStatus();
  }
  Status Close() override {
    const int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return IoError("close " + path_.string(), errno);
    return OkStatus();
  }

 private:
  int fd_;
  fs::path path_;
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  ~PosixReadableFile() override { ::close(fd_); }
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) override {
    for (;;) {
      const ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return IoError("read " + path_.string(), errno);
    }
  }
  Result<std::uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IoError("stat " + path_.string(), errno);
    return static_cast<std::uint64_t>(st.st_size);
  }

 private:
  int fd_;
  fs::path path_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> OpenAppendable(const fs::path& path, mode_t mode) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return IoError("open " + path.string(), errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const fs::path& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return IoError("open " + path.string(), errno);
    return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd, path));
  }
  Status WriteFileAtomic(const fs::path& path, ByteView data, mode_t mode) override {
    return elastos::WriteFileAtomic(path, data, mode);
  }
  Result<Bytes> ReadFile(const fs::path& path, std::uint64_t max_size) override {
    return ReadFileLimited(path, max_size);
  }
  Status Truncate(const fs::path& path, std::uint64_t size) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return IoError("open " + path.string(), errno);
    Status s;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) s = IoError("truncate " + path.string(), errno);
    if (s.ok() && ::fsync(fd) != 0) s = IoError("fsync " + path.string(), errno);
    ::close(fd);
    return s;
  }
  Status CreateDirectories(const fs::path& path, mode_t mode) override {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return IoError("create directory " + path.string(), ec.value());
    if (::chmod(path.c_str(), mode) != 0) return IoError("chmod " + path.string(), errno);
    return OkStatus();
  }
  Status SyncDirectory(const fs::path& path) override { return elastos::SyncDirectory(path); }
  bool Exists(const fs::path& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
  std::int64_t NowUnixSeconds() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
  }
  std::uint64_t NowMonotonicNanos() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
  }
};

}  // namespace

std::unique_ptr<Env> NewPosixEnv() { return std::make_unique<PosixEnv>(); }

}  // namespace elastos
