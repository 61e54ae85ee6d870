#include "server/progress.h"

#include <unistd.h>

#include <cstdio>

namespace elastos::cli {

Progress::Progress(std::string label, std::uint64_t threshold)
    : label_(std::move(label)), threshold_(threshold), tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (shown_ && tty_) std::fputc('\n', stderr);
}

void Progress::Update(std::uint64_t done, std::uint64_t total) {
  if (total < threshold_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  const int percent = static_cast<int>(done * 100 / total);
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double mib_s = secs > 0 ? static_cast<double>(done) / (1 << 20) / secs : 0;
  if (tty_) {
    if (shown_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    shown_ = true;
    std::fprintf(stderr, "\r%s: %3d%% (%llu of %llu MiB, %.0f MiB/s)", label_.c_str(), percent,
                 static_cast<unsigned long long>(done >> 20),
                 static_cast<unsigned long long>(total >> 20), mib_s);
    std::fflush(stderr);
  } else if (percent / 25 > last_quarter_) {
    last_quarter_ = percent / 25;
    std::fprintf(stderr, "%s: %d%% (%.0f MiB/s)\n", label_.c_str(), last_quarter_ * 25, mib_s);
  }
}

}  // namespace elastos::cli
