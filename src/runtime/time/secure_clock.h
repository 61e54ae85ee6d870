// SecureClock: the runtime's notion of "now" for anything that must be ordered — token
// issued_at, audit records, expiry decisions that must not be replayed by moving the clock back.
//
// A SecureTimestamp is (unix_secs, seq). unix_secs follows the wall clock but never goes back:
// it is max(wall clock, the highest unix_secs this clock ever issued). seq strictly increases
// with every timestamp, across calls and across restarts, so two timestamps are never equal and
// later ones always compare greater, even when the wall clock is set back or jumps backwards
// while the runtime is down.
//
// Durability: before a timestamp is returned, its values are covered by a reservation persisted
// in `state_file` with Env::WriteFileAtomic. A reservation allows seq values up to a limit
// (`seq_block` at a time, default 4096) and unix_secs up to a limit (`unix_reserve_secs` ahead,
// default 0 = exactly what is issued), so the hot path only touches disk once per `seq_block`
// calls and once per wall-clock second that sees a call. After a crash the clock restarts from
// the reservation, which is ≥ everything it issued. If a needed reservation cannot be persisted,
// Now() fails rather than return a timestamp a restart could repeat. The file format is in
// docs/formats/state.md.
//
// Thread-safety: SecureClock is thread-safe. `env` must outlive it. One SecureClock per state
// file: two instances (or processes) on one file would issue overlapping seqs.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "common/env.h"
#include "common/status.h"

namespace elastos::runtime {

struct SecureTimestamp {
  std::uint64_t unix_secs = 0;
  std::uint64_t seq = 0;
  friend auto operator<=>(const SecureTimestamp&, const SecureTimestamp&) = default;
};

class SecureClock {
 public:
  struct Options {
    // seq values reserved per write of the state file.
    std::uint64_t seq_block = 4096;
    // unix_secs headroom reserved per write. 0 means a restart resumes exactly at the highest
    // unix_secs issued; N > 0 saves writes but lets the first timestamps after a restart run
    // up to N seconds ahead of the wall clock.
    std::uint64_t unix_reserve_secs = 0;
  };

  // Loads `state_file` (absent = a fresh clock). Errors: failed_precondition with reason
  // `secure_clock_corrupt` for a file that does not parse, `secure_clock_too_new` for a newer
  // format version. Neither is silently reset: resetting would let time go backwards.
  static Result<std::unique_ptr<SecureClock>> Open(Env& env,
                                                   const std::filesystem::path& state_file);
  static Result<std::unique_ptr<SecureClock>> Open(Env& env,
                                                   const std::filesystem::path& state_file,
                                                   const Options& options);

  SecureClock(const SecureClock&) = delete;
  SecureClock& operator=(const SecureClock&) = delete;

  // A timestamp greater than every one this clock (on this state file) returned before.
  // Error: the reservation write failed (the clock's state is unchanged; a later call retries).
  Result<SecureTimestamp> Now();

  // The env's wall clock: may jump, even backwards.
  std::int64_t WallUnixSeconds();

  // max(wall clock, highest unix_secs this clock ever issued or reserved — across restarts).
  // Never goes back, costs no I/O and no seq. The right "now" for expiry and future-dating
  // checks: with the raw wall clock, setting the clock back would revive expired tokens.
  std::uint64_t MonotonicUnixSeconds();

 private:
  SecureClock(Env& env, std::filesystem::path state_file, const Options& options);
  [[nodiscard]] Status Persist(std::uint64_t unix_limit, std::uint64_t seq_limit);

  Env& env_;
  const std::filesystem::path state_file_;
  const Options options_;

  std::mutex mu_;  // guards the fields below; last_unix_ is also read without it
  std::atomic<std::uint64_t> last_unix_{0};  // highest unix_secs issued (or the persisted floor)
  std::uint64_t next_seq_ = 1;               // seq of the next timestamp; 0 is never issued
  std::uint64_t reserved_unix_ = 0;          // persisted: unix_secs ≤ this may be issued
  std::uint64_t reserved_seq_ = 1;           // persisted: seq < this may be issued
};

}  // namespace elastos::runtime
