// GuestMemory: the only way the WASI host touches guest linear memory. Every access names a guest
// address and a length and is refused unless all of it lies inside memory, so a hostile pointer
// or length (including one whose end wraps around 2^32 or 2^64) yields EFAULT, never a host read
// or write outside the guest's buffer.
//
// Alignment is not checked: the accessors copy with memcpy, and wasi-libc never relies on the
// host refusing a misaligned pointer.
//
// Private to compute/wasi. Thread-safety: a view for the duration of one call.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "compute/wasi/wasi.h"

namespace elastos::compute::wasi {

// Wasm memory is little-endian; the loads and stores below copy host integers byte for byte.
static_assert(std::endian::native == std::endian::little,
              "the WASI host assumes a little-endian host");

class GuestMemory {
 public:
  explicit GuestMemory(Memory memory) : memory_(memory) {}

  // True when [ptr, ptr + len) lies inside memory. Computed without overflow: ptr + len is never
  // formed before ptr is known to be in range.
  bool Contains(std::uint64_t ptr, std::uint64_t len) const {
    return ptr <= memory_.size && len <= memory_.size - ptr;
  }

  // The `len` bytes at `ptr`, or nullopt when any of them lies outside memory.
  std::optional<std::span<std::uint8_t>> Bytes(std::uint64_t ptr, std::uint64_t len) const {
    if (!Contains(ptr, len)) return std::nullopt;
    return std::span<std::uint8_t>(memory_.data + ptr, static_cast<std::size_t>(len));
  }

  // Stores and loads of little-endian integers; false when out of range (nothing is written).
  template <typename T>
  bool Store(std::uint64_t ptr, T value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!Contains(ptr, sizeof(T))) return false;
    std::memcpy(memory_.data + ptr, &value, sizeof(T));
    return true;
  }
  template <typename T>
  bool Load(std::uint64_t ptr, T* value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!Contains(ptr, sizeof(T))) return false;
    std::memcpy(value, memory_.data + ptr, sizeof(T));
    return true;
  }

  // Callers that have checked Contains(ptr, len) use these to fill a struct in place.
  template <typename T>
  void StoreUnchecked(std::uint64_t ptr, T value) const {
    std::memcpy(memory_.data + ptr, &value, sizeof(T));
  }
  template <typename T>
  T LoadUnchecked(std::uint64_t ptr) const {
    T value;
    std::memcpy(&value, memory_.data + ptr, sizeof(T));
    return value;
  }

  std::uint64_t size() const { return memory_.size; }

 private:
  Memory memory_;
};

}  // namespace elastos::compute::wasi
