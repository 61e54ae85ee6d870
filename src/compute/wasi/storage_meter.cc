#include "compute/wasi/storage_meter.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace elastos::compute::wasi {
namespace {

// One open file descriptor per level is held while walking, so the depth bounds how many the
// walk can use.
constexpr int kMaxDepth = 256;

class Walker {
 public:
  Status Walk(int dir_fd, int depth) {
    if (depth > kMaxDepth) {
      return Unmeasurable("the directory tree is deeper than " + std::to_string(kMaxDepth) +
                          " levels");
    }
    std::vector<std::string> subdirs;
    ELASTOS_RETURN_IF_ERROR(ScanOne(dir_fd, &subdirs));
    for (const std::string& name : subdirs) {
      const int sub =
          ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        if (errno == ENOENT) continue;  // removed since it was listed
        return Unmeasurable("open " + name + ": " + std::strerror(errno));
      }
      Status status = Walk(sub, depth + 1);
      ::close(sub);
      ELASTOS_RETURN_IF_ERROR(status);
    }
    return OkStatus();
  }

  std::uint64_t total() const { return total_; }

 private:
  // Adds the regular files directly in `dir_fd` and lists its subdirectories. The listing is
  // closed before descending so each level holds one fd, not a DIR and its buffer.
  Status ScanOne(int dir_fd, std::vector<std::string>* subdirs) {
    const int list_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (list_fd < 0) return Unmeasurable(std::string("open: ") + std::strerror(errno));
    DIR* dir = ::fdopendir(list_fd);
    if (dir == nullptr) {
      const int err = errno;
      ::close(list_fd);
      return Unmeasurable(std::string("opendir: ") + std::strerror(err));
    }
    Status status;
    errno = 0;
    while (const struct dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        status = Unmeasurable("stat " + std::string(name) + ": " + std::strerror(errno));
        break;
      }
      if (S_ISDIR(st.st_mode)) subdirs->emplace_back(name);
      if (S_ISREG(st.st_mode)) AddFile(st);
      errno = 0;
    }
    if (status.ok() && errno != 0) {
      status = Unmeasurable(std::string("readdir: ") + std::strerror(errno));
    }
    ::closedir(dir);
    return status;
  }

  void AddFile(const struct stat& st) {
    // A file with several links is counted once; one with a single link cannot be met twice.
    if (st.st_nlink > 1 && !seen_.insert({st.st_dev, st.st_ino}).second) return;
    total_ += static_cast<std::uint64_t>(st.st_size);
  }

  static Status Unmeasurable(const std::string& why) {
    return FailedPrecondition("data_dir_unmeasurable",
                              "cannot measure the data directory for the storage limit: " + why);
  }

  std::uint64_t total_ = 0;
  std::set<std::pair<dev_t, ino_t>> seen_;
};

}  // namespace

Result<std::uint64_t> MeasureStorage(int dir_fd) {
  Walker walker;
  ELASTOS_RETURN_IF_ERROR(walker.Walk(dir_fd, 0));
  return walker.total();
}

}  // namespace elastos::compute::wasi
