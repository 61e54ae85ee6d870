#include "runtime/time/secure_clock.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace elastos::runtime {
namespace {

// State file: one line, "elastos.secure-clock/v1 <unix_limit> <seq_limit>\n".
constexpr std::string_view kMagic = "elastos.secure-clock/v";
constexpr std::uint64_t kFormatVersion = 1;
constexpr std::uint64_t kMaxStateFileSize = 256;

bool ParseDecimal(std::string_view text, std::uint64_t& out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status Corrupt(const std::filesystem::path& path, std::string_view why) {
  return FailedPrecondition(
      "secure_clock_corrupt",
      path.string() + ": " + std::string(why) +
          "; refusing to reset the secure clock (that would let time go backwards). Restore the "
          "file from a backup, or remove it and advance the capability epoch");
}

}  // namespace

SecureClock::SecureClock(Env& env, std::filesystem::path state_file, const Options& options)
    : env_(env), state_file_(std::move(state_file)), options_(options) {}

Result<std::unique_ptr<SecureClock>> SecureClock::Open(Env& env,
                                                       const std::filesystem::path& state_file) {
  return Open(env, state_file, Options());
}

Result<std::unique_ptr<SecureClock>> SecureClock::Open(Env& env,
                                                       const std::filesystem::path& state_file,
                                                       const Options& options) {
  if (options.seq_block == 0)
    return InvalidArgument("invalid_option", "SecureClock seq_block must be > 0");
  std::unique_ptr<SecureClock> clock(new SecureClock(env, state_file, options));
  if (!env.Exists(state_file)) return clock;

  ELASTOS_ASSIGN_OR_RETURN(Bytes raw, env.ReadFile(state_file, kMaxStateFileSize));
  std::string_view text = AsChars(raw);
  if (!text.starts_with(kMagic)) return Corrupt(state_file, "not a secure clock state file");
  if (!text.ends_with('\n')) return Corrupt(state_file, "truncated");
  text.remove_suffix(1);
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t space = text.find(' ', start);
    fields.push_back(text.substr(start, space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  std::uint64_t version = 0;
  if (!ParseDecimal(fields[0].substr(kMagic.size()), version))
    return Corrupt(state_file, "bad version");
  if (version > kFormatVersion) {
    return FailedPrecondition("secure_clock_too_new",
                              state_file.string() + " has format version " +
                                  std::to_string(version) + "; this runtime understands up to " +
                                  std::to_string(kFormatVersion) + ". Upgrade the runtime");
  }
  std::uint64_t unix_limit = 0, seq_limit = 0;
  if (version != kFormatVersion || fields.size() != 3 || !ParseDecimal(fields[1], unix_limit) ||
      !ParseDecimal(fields[2], seq_limit) || seq_limit == 0) {
    return Corrupt(state_file, "malformed content");
  }
  // Everything issued before the restart is ≤ the reservation, so resuming at the reservation
  // keeps order. reserved_seq_ == next_seq_ forces a new reservation on the first Now().
  clock->last_unix_ = unix_limit;
  clock->reserved_unix_ = unix_limit;
  clock->next_seq_ = clock->reserved_seq_ = seq_limit;
  return clock;
}

Status SecureClock::Persist(std::uint64_t unix_limit, std::uint64_t seq_limit) {
  const std::string line = std::string(kMagic) + std::to_string(kFormatVersion) + " " +
                           std::to_string(unix_limit) + " " + std::to_string(seq_limit) + "\n";
  return env_.WriteFileAtomic(state_file_, AsBytes(line), 0600)
      .WithContext("secure clock: cannot persist reservation");
}

Result<SecureTimestamp> SecureClock::Now() {
  const std::int64_t wall = env_.NowUnixSeconds();
  std::lock_guard lock(mu_);
  const std::uint64_t unix_secs =
      std::max<std::uint64_t>(wall < 0 ? 0 : static_cast<std::uint64_t>(wall), last_unix_.load());
  const std::uint64_t seq = next_seq_;
  if (seq >= reserved_seq_ || unix_secs > reserved_unix_) {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    if (seq > kMax - options_.seq_block || unix_secs > kMax - options_.unix_reserve_secs) {
      return Internal("secure_clock_exhausted", "secure clock counters would overflow");
    }
    const std::uint64_t seq_limit = std::max(reserved_seq_, seq + options_.seq_block);
    const std::uint64_t unix_limit =
        std::max(reserved_unix_, unix_secs + options_.unix_reserve_secs);
    // Persist first: a timestamp is only handed out once a restart is known to resume above it.
    ELASTOS_RETURN_IF_ERROR(Persist(unix_limit, seq_limit));
    reserved_seq_ = seq_limit;
    reserved_unix_ = unix_limit;
  }
  last_unix_ = unix_secs;
  next_seq_ = seq + 1;
  return SecureTimestamp{unix_secs, seq};
}

std::int64_t SecureClock::WallUnixSeconds() { return env_.NowUnixSeconds(); }

std::uint64_t SecureClock::MonotonicUnixSeconds() {
  const std::int64_t wall = env_.NowUnixSeconds();
  return std::max<std::uint64_t>(wall < 0 ? 0 : static_cast<std::uint64_t>(wall),
                                 last_unix_.load());
}

}  // namespace elastos::runtime
