// The guest's descriptor table: guest fd number → the host descriptor behind it, its type, the
// rights the guest holds on it and what it counts toward (output or storage limit).
//
// Guest fd numbers are small (< kMaxFds) so the table is a vector indexed by number; a guest
// cannot make the host allocate more than kMaxFds entries or hold more host fds than that.
//
// Private to compute/wasi. Thread-safety: none; used by the guest thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compute/wasi/abi.h"

namespace elastos::compute::wasi {

// A host descriptor; an owned one is closed when the HostFd goes away. stdio and the carrier are
// not owned: they belong to the worker, and a guest closing its fd 1 must not close the worker's.
class HostFd {
 public:
  HostFd() = default;
  HostFd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~HostFd() { Reset(); }
  HostFd(HostFd&& other) noexcept : fd_(other.fd_), owned_(other.owned_) { other.fd_ = -1; }
  HostFd& operator=(HostFd&& other) noexcept;
  HostFd(const HostFd&) = delete;
  HostFd& operator=(const HostFd&) = delete;

  int get() const { return fd_; }
  bool owned() const { return owned_; }
  void Reset();

 private:
  int fd_ = -1;
  bool owned_ = false;
};

// How the host drives a descriptor. kStream covers everything that is neither a regular file nor
// a directory: stdio and the carrier always (whatever the worker connected them to), and pipes or
// devices opened under /data. Streams cannot seek; their reads and writes wait in slices so an
// interrupt is noticed.
enum class FdKind : std::uint8_t { kDirectory, kRegularFile, kStream };

struct FdEntry {
  HostFd host;
  FdKind kind = FdKind::kStream;
  abi::Filetype filetype = abi::Filetype::kUnknown;
  std::uint64_t rights_base = 0;
  std::uint64_t rights_inheriting = 0;
  // The fdflags as the guest sees them. For owned descriptors they are also set on the host file
  // description; for the worker's (stdio, carrier) APPEND and NONBLOCK are emulated, because
  // changing a description the worker shares would change it for the worker too.
  std::uint16_t fdflags = 0;
  std::string preopen_name;  // "/data" for the preopened directory, empty for every other fd
  // Writes count toward the output limit: the worker's stdout or stderr, whatever guest number
  // the descriptor has been renumbered to.
  bool counts_output = false;
  // A regular file under /data: growth counts toward the storage limit.
  bool counts_storage = false;
  // The file's identity (st_dev, st_ino) when counts_storage: deleting a file that an open fd
  // still holds frees no space yet.
  std::uint64_t dev = 0, ino = 0;

  bool Has(std::uint64_t rights) const { return (rights_base & rights) == rights; }
};

class FdTable {
 public:
  // Guest fds are numbered below this; path_open past it fails with EMFILE.
  static constexpr std::uint32_t kMaxFds = 1024;
  // Insert never hands out 0-2, so a closed stdio number is not silently reused for a file.
  static constexpr std::uint32_t kFirstInsertedFd = 3;

  // The entry at `fd`, or nullptr if it is not open.
  FdEntry* Get(std::uint32_t fd);
  // Places `entry` at `fd` (used to lay out fds 0-5 at start; fd < kMaxFds).
  void Put(std::uint32_t fd, FdEntry entry);
  // Places `entry` at the lowest free number from kFirstInsertedFd up; nullopt (entry dropped)
  // when full.
  std::optional<std::uint32_t> Insert(FdEntry entry);
  // True when Insert would fail.
  bool Full() const;
  // Removes and returns the entry at `fd` (closing it is up to the caller, by dropping it).
  std::optional<FdEntry> Take(std::uint32_t fd);
  // Moves the open entry at `from` to the free number `to` (< kMaxFds).
  void Move(std::uint32_t from, std::uint32_t to);

  // Calls `visit(const FdEntry&)` for every open entry.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (const auto& slot : slots_) {
      if (slot) visit(*slot);
    }
  }

 private:
  std::vector<std::optional<FdEntry>> slots_;
};

}  // namespace elastos::compute::wasi
