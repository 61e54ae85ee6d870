// StorageMeter: how many bytes the guest's /data holds, against the storage limit.
//
// What counts: the st_size of every regular file, each inode once (hard links are not double
// counted). st_size rather than st_blocks because it is what the guest controls and predicts:
// it does not depend on the filesystem's block size, preallocation or compression, and a sparse
// file is charged its full apparent size (conservative: holes cannot be used to slip past the
// limit). Directories and symlinks are not charged.
//
// Private to compute/wasi. Thread-safety: none; used by the guest thread only.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace elastos::compute::wasi {

class StorageMeter {
 public:
  StorageMeter(std::uint64_t limit, std::uint64_t used) : limit_(limit), used_(used) {}

  // True if the files may grow by `growth` more bytes.
  bool Allows(std::uint64_t growth) const { return growth <= limit_ && used_ <= limit_ - growth; }
  // Records that a file went from `before` to `after` bytes.
  void Record(std::uint64_t before, std::uint64_t after) {
    if (after >= before) {
      used_ += after - before;
    } else {
      Release(before - after);
    }
  }
  // Records that `bytes` were freed (a file deleted or truncated).
  void Release(std::uint64_t bytes) { used_ = bytes > used_ ? 0 : used_ - bytes; }

  std::uint64_t used() const { return used_; }
  std::uint64_t limit() const { return limit_; }

 private:
  std::uint64_t limit_;
  std::uint64_t used_;
};

// The bytes of regular files beneath `dir_fd`, counted as StorageMeter describes. Symlinks are not
// followed. Fails (failed_precondition, data_dir_unmeasurable) when any part of the tree cannot
// be walked, or it is deeper than 256 levels: an undercount would let the guest keep data past
// its limit, so the run must not start on a guess.
Result<std::uint64_t> MeasureStorage(int dir_fd);

}  // namespace elastos::compute::wasi
