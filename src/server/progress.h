// A progress line on stderr for long steps. On a terminal it redraws one line; otherwise it
// prints a line at each quarter, so logs of non-interactive runs still show that work advances.
// Small inputs (under `threshold` bytes) print nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace elastos::cli {

class Progress {
 public:
  Progress(std::string label, std::uint64_t threshold = 32ull << 20);
  ~Progress();
  void Update(std::uint64_t done, std::uint64_t total);

 private:
  std::string label_;
  std::uint64_t threshold_;
  bool tty_;
  bool shown_ = false;
  int last_quarter_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace elastos::cli
