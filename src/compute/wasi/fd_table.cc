#include "compute/wasi/fd_table.h"

#include <unistd.h>

#include <utility>

namespace elastos::compute::wasi {

HostFd& HostFd::operator=(HostFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    owned_ = other.owned_;
  }
  return *this;
}

void HostFd::Reset() {
  // close() errors are not actionable here: the descriptor is gone either way on Linux.
  if (owned_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

FdEntry* FdTable::Get(std::uint32_t fd) {
  if (fd >= slots_.size() || !slots_[fd]) return nullptr;
  return &*slots_[fd];
}

void FdTable::Put(std::uint32_t fd, FdEntry entry) {
  if (fd >= kMaxFds) return;
  if (fd >= slots_.size()) slots_.resize(fd + 1);
  slots_[fd] = std::move(entry);
}

std::optional<std::uint32_t> FdTable::Insert(FdEntry entry) {
  for (std::uint32_t fd = kFirstInsertedFd; fd < kMaxFds; ++fd) {
    if (fd >= slots_.size() || !slots_[fd]) {
      Put(fd, std::move(entry));
      return fd;
    }
  }
  return std::nullopt;
}

bool FdTable::Full() const {
  for (std::uint32_t fd = kFirstInsertedFd; fd < kMaxFds; ++fd) {
    if (fd >= slots_.size() || !slots_[fd]) return false;
  }
  return true;
}

std::optional<FdEntry> FdTable::Take(std::uint32_t fd) {
  if (Get(fd) == nullptr) return std::nullopt;
  std::optional<FdEntry> entry = std::move(slots_[fd]);
  slots_[fd].reset();
  return entry;
}

void FdTable::Move(std::uint32_t from, std::uint32_t to) {
  if (from == to || Get(from) == nullptr || Get(to) != nullptr || to >= kMaxFds) return;
  std::optional<FdEntry> entry = Take(from);
  Put(to, std::move(*entry));
}

}  // namespace elastos::compute::wasi
