// poll_oneoff: what wasi-libc's sleep(), nanosleep() and poll() are built on.
//
// Clock subscriptions become deadlines on the host's monotonic clock (a realtime absolute time is
// converted once, at the call); stream descriptors are waited on with ppoll; regular files and
// directories are always ready. The wait runs in slices of at most kInterruptSlice so a pending
// interrupt ends it with EINTR.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <vector>

#include "compute/wasi/host_impl.h"
#include "compute/wasi/stream_io.h"

namespace elastos::compute::wasi {
namespace {

using abi::Errno;
namespace L = abi::layout;

constexpr std::uint64_t kNoDeadline = std::numeric_limits<std::uint64_t>::max();

std::uint64_t Now(clockid_t clock) {
  struct timespec ts;
  ::clock_gettime(clock, &ts);
  return ToNanos(ts);
}

std::uint64_t SaturatingAdd(std::uint64_t a, std::uint64_t b) {
  return b > kNoDeadline - a ? kNoDeadline : a + b;
}

struct Subscription {
  std::uint64_t userdata = 0;
  std::uint8_t type = abi::kEventClock;
  std::uint64_t deadline = kNoDeadline;  // clock: monotonic ns
  int pollfd_index = -1;                 // stream fd: its slot in the ppoll array
  // Set when the event is already decided: an error, or a file that is always ready.
  bool ready = false;
  Errno error = Errno::kSuccess;
  std::uint64_t nbytes = 0;
  std::uint16_t flags = 0;
};

// The monotonic deadline of a clock subscription; EINVAL for a clock it cannot wait on (the CPU
// time clocks: a sleep measured in CPU time is not something ppoll can do) or unknown flags.
Errno ClockDeadline(const GuestMemory& mem, std::uint64_t at, std::uint64_t now_mono,
                    std::uint64_t* deadline) {
  const auto id = mem.LoadUnchecked<std::uint32_t>(at + L::kSubscriptionClockId);
  const auto timeout = mem.LoadUnchecked<std::uint64_t>(at + L::kSubscriptionClockTimeout);
  const auto flags = mem.LoadUnchecked<std::uint16_t>(at + L::kSubscriptionClockFlags);
  if (flags & ~abi::kSubclockAbstime) return Errno::kInval;
  const bool absolute = flags & abi::kSubclockAbstime;
  switch (id) {
    case abi::kClockMonotonic:
      *deadline = absolute ? timeout : SaturatingAdd(now_mono, timeout);
      return Errno::kSuccess;
    case abi::kClockRealtime: {
      if (!absolute) {
        *deadline = SaturatingAdd(now_mono, timeout);
      } else {
        const std::uint64_t now_real = Now(CLOCK_REALTIME);
        *deadline = SaturatingAdd(now_mono, timeout > now_real ? timeout - now_real : 0);
      }
      return Errno::kSuccess;
    }
    default:
      return Errno::kInval;
  }
}

// Bytes ready to read on a stream, as far as the host can tell (0 when it cannot).
std::uint64_t ReadableBytes(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? static_cast<std::uint64_t>(n) : 0;
}

// A regular file is readable up to its end from the current position (what wasmtime reports).
std::uint64_t FileBytesLeft(int fd) {
  struct stat st;
  const off_t pos = ::lseek(fd, 0, SEEK_CUR);
  if (pos < 0 || ::fstat(fd, &st) != 0 || st.st_size <= pos) return 0;
  return static_cast<std::uint64_t>(st.st_size - pos);
}

// What one poll_oneoff call waits for, read from guest memory up front (the `in` and `out`
// arrays may overlap).
struct PollSet {
  std::vector<Subscription> subs;
  std::vector<struct pollfd> pollfds;    // the stream descriptors, for ppoll
  std::uint64_t earliest = kNoDeadline;  // the first clock deadline
  bool any_ready = false;                // some event is already decided: do not block
};

// Parses subscription `at` into `s`. EINVAL (for the whole call) for an unknown event type or a
// clock that cannot be waited on; a bad descriptor is reported in its own event instead, like
// POSIX poll's POLLNVAL.
Errno ParseSubscription(const GuestMemory& mem, FdTable& fds, std::uint64_t at, std::uint64_t now,
                        PollSet* set, Subscription* s) {
  s->userdata = mem.LoadUnchecked<std::uint64_t>(at + L::kSubscriptionUserdata);
  s->type = mem.LoadUnchecked<std::uint8_t>(at + L::kSubscriptionTag);
  if (s->type == abi::kEventClock) {
    ELASTOS_WASI_TRY(ClockDeadline(mem, at, now, &s->deadline));
    set->earliest = std::min(set->earliest, s->deadline);
    return Errno::kSuccess;
  }
  if (s->type != abi::kEventFdRead && s->type != abi::kEventFdWrite) return Errno::kInval;
  const FdEntry* e = fds.Get(mem.LoadUnchecked<std::uint32_t>(at + L::kSubscriptionFd));
  if (e == nullptr || !e->Has(abi::rights::kPollFdReadwrite)) {
    s->ready = true;
    s->error = e == nullptr ? Errno::kBadf : Errno::kNotcapable;
  } else if (e->kind != FdKind::kStream) {
    s->ready = true;  // files and directories never block
    if (s->type == abi::kEventFdRead && e->kind == FdKind::kRegularFile) {
      s->nbytes = FileBytesLeft(e->host.get());
    }
  } else {
    s->pollfd_index = static_cast<int>(set->pollfds.size());
    const short events = s->type == abi::kEventFdRead ? POLLIN : POLLOUT;
    set->pollfds.push_back({e->host.get(), events, 0});
  }
  set->any_ready = set->any_ready || s->ready;
  return Errno::kSuccess;
}

// Waits until a stream is ready, the earliest deadline passes or an interrupt is pending (EINTR),
// in slices of at most kInterruptSlice. With an event already decided it only looks. `now` ends
// as the monotonic time the wait ended.
Errno Wait(PollSet* set, std::uint64_t* now) {
  const auto slice_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(kInterruptSlice).count());
  for (;;) {
    if (InterruptPending()) return Errno::kIntr;
    const std::uint64_t left = set->earliest > *now ? set->earliest - *now : 0;
    const std::uint64_t wait = set->any_ready ? 0 : std::min(left, slice_ns);
    const struct timespec timeout = {static_cast<time_t>(wait / 1'000'000'000),
                                     static_cast<long>(wait % 1'000'000'000)};
    const int n = ::ppoll(set->pollfds.data(), set->pollfds.size(), &timeout, nullptr);
    if (n < 0 && errno != EINTR) return abi::FromHostErrno(errno);
    *now = Now(CLOCK_MONOTONIC);
    if (n > 0 || set->any_ready || *now >= set->earliest) return Errno::kSuccess;
  }
}

// The event for `s` after the wait, or false if it has none (clock not yet due, stream not
// ready).
bool EventFor(const Subscription& s, const PollSet& set, std::uint64_t now, Subscription* event) {
  *event = s;
  if (s.type == abi::kEventClock) return s.deadline <= now;
  if (s.pollfd_index < 0) return s.ready;
  const struct pollfd& p = set.pollfds[static_cast<std::size_t>(s.pollfd_index)];
  if (p.revents == 0) return false;
  if (p.revents & POLLNVAL) event->error = Errno::kBadf;
  // Hang-up or error: ready, and the read or write that follows tells what happened.
  if (p.revents & (POLLHUP | POLLERR)) event->flags |= abi::kEventFdReadwriteHangup;
  if (s.type == abi::kEventFdRead) event->nbytes = ReadableBytes(p.fd);
  return true;
}

void StoreEvent(const GuestMemory& mem, std::uint64_t at, const Subscription& e) {
  std::memset(mem.Bytes(at, L::kEventSize)->data(), 0, L::kEventSize);
  mem.StoreUnchecked<std::uint64_t>(at + L::kEventUserdata, e.userdata);
  mem.StoreUnchecked<std::uint16_t>(at + L::kEventError, static_cast<std::uint16_t>(e.error));
  mem.StoreUnchecked<std::uint8_t>(at + L::kEventType, e.type);
  mem.StoreUnchecked<std::uint64_t>(at + L::kEventNbytes, e.nbytes);
  mem.StoreUnchecked<std::uint16_t>(at + L::kEventFlags, e.flags);
}

}  // namespace

HostImpl::Errno HostImpl::PollOneoff(std::uint32_t in, std::uint32_t out,
                                     std::uint32_t nsubscriptions, std::uint32_t nevents_ptr) {
  if (nsubscriptions == 0 || nsubscriptions > kMaxSubscriptions) return Errno::kInval;
  if (!mem_.Contains(in, std::uint64_t{nsubscriptions} * L::kSubscriptionSize) ||
      !mem_.Contains(out, std::uint64_t{nsubscriptions} * L::kEventSize) ||
      !mem_.Contains(nevents_ptr, 4)) {
    return Errno::kFault;
  }
  std::uint64_t now = Now(CLOCK_MONOTONIC);
  PollSet set;
  set.subs.resize(nsubscriptions);
  for (std::uint32_t k = 0; k < nsubscriptions; ++k) {
    ELASTOS_WASI_TRY(ParseSubscription(mem_, fds_, in + std::uint64_t{k} * L::kSubscriptionSize,
                                       now, &set, &set.subs[k]));
  }
  ELASTOS_WASI_TRY(Wait(&set, &now));
  std::uint32_t nevents = 0;
  for (const Subscription& s : set.subs) {
    Subscription event;
    if (!EventFor(s, set, now, &event)) continue;
    StoreEvent(mem_, out + std::uint64_t{nevents} * L::kEventSize, event);
    ++nevents;
  }
  mem_.StoreUnchecked<std::uint32_t>(nevents_ptr, nevents);
  return Errno::kSuccess;
}

}  // namespace elastos::compute::wasi
