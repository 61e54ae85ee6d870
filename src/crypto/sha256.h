// SHA-256 through OpenSSL's EVP interface (SHA-NI accelerated where the CPU has it).
//
// Thread-safety: a Sha256 object is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "common/bytes.h"

namespace elastos::crypto {

using Digest256 = std::array<std::uint8_t, 32>;

// Incremental hashing: Update() any number of times, then Final(), which resets for reuse.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(ByteView data);
  Digest256 Final();

  static Digest256 Hash(ByteView data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace elastos::crypto
