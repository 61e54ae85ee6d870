#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

#include <sodium.h>

namespace elastos {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Status WriteAll(int fd, ByteView data, std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + std::string(what), errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return OkStatus();
}

std::uint64_t FileBytesUnder(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  std::uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

Status SyncDirectory(const std::filesystem::path& dir) {
  Fd d{::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) return IoError("open directory " + dir.string(), errno);
  if (::fsync(d.fd) != 0) return IoError("fsync directory " + dir.string(), errno);
  return OkStatus();
}

Status WriteFileAtomic(const std::filesystem::path& path, ByteView data, mode_t mode,
                       Overwrite overwrite) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  if (overwrite == Overwrite::kRefuse) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      return FailedPrecondition("already_exists", path.string() + " already exists; refusing to overwrite it");
    }
  }
  std::array<std::uint8_t, 8> rnd;
  if (sodium_init() < 0) return Internal("no_random", "libsodium could not initialise");
  randombytes_buf(rnd.data(), rnd.size());
  std::string suffix = ".tmp.";
  for (auto b : rnd) suffix += "0123456789abcdef"[b & 15];
  const std::filesystem::path tmp = path.string() + suffix;
  // O_EXCL|O_NOFOLLOW: never write through a planted symlink or into someone else's file.
  Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)};
  if (f.fd < 0) return IoError("create " + tmp.string(), errno);
  Status s = WriteAll(f.fd, data, tmp.string());
  if (s.ok() && ::fchmod(f.fd, mode) != 0) s = IoError("chmod " + tmp.string(), errno);
  if (s.ok() && ::fsync(f.fd) != 0) s = IoError("fsync " + tmp.string(), errno);
  if (s.ok()) {
    // kRefuse: link() fails if the target appeared meanwhile; kAllow: rename() replaces it.
    const int rc = overwrite == Overwrite::kRefuse ? ::link(tmp.c_str(), path.c_str())
                                                   : ::rename(tmp.c_str(), path.c_str());
    if (rc != 0) {
      s = errno == EEXIST ? FailedPrecondition("already_exists", path.string() + " already exists; refusing to overwrite it")
                          : IoError("rename " + tmp.string() + " to " + path.string(), errno);
    }
  }
  ::unlink(tmp.c_str());  // no-op after rename; removes the temp name after link() or a failure
  if (!s.ok()) return s;
  return SyncDirectory(dir);
}

Result<Bytes> ReadFileLimited(const std::filesystem::path& path, std::uint64_t max_size) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return IoError("open " + path.string(), errno);
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return IoError("stat " + path.string(), errno);
  if (!S_ISREG(st.st_mode)) return InvalidArgument("not_a_file", path.string() + " is not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    return ResourceExhausted("file_too_large", path.string() + " is " + std::to_string(st.st_size) +
                                                   " bytes; the limit is " + std::to_string(max_size));
  }
  Bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(f.fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + path.string(), errno);
    }
    if (n == 0) break;  // file shrank while reading
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace elastos
