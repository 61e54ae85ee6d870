// Reads and writes on stream descriptors (stdio, the carrier, pipes) that never block the guest
// thread for longer than kInterruptSlice without looking at the interrupt flag (engine.h): the
// watchdog sets the flag when the wall or CPU limit passes, and a guest parked in read(0) must
// then return promptly (with EINTR) so the engine can stop it. A plain blocking read would hold
// the worker past its limit until the launcher's last-resort kill.
//
// Private to compute/wasi. Thread-safety: stateless.
#pragma once

#include <poll.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <span>

#include "compute/wasi/abi.h"

namespace elastos::compute::wasi {

// The longest a blocking call waits before looking at the interrupt flag again.
inline constexpr std::chrono::milliseconds kInterruptSlice{50};

// True when the engine has been asked to stop the guest.
bool InterruptPending();

// Waits until `fd` is ready for `events` (POLLIN or POLLOUT; hang-up and error count as ready:
// the following read or write reports them). With `nonblocking` it looks once and gives EAGAIN
// when not ready. EINTR when an interrupt is pending.
abi::Errno WaitReady(int fd, short events, bool nonblocking);

// One read of at most the iovecs' total into them, waiting (as WaitReady) for data first. A zero
// total returns 0 at once.
abi::Errno ReadStream(int fd, std::span<const struct iovec> iov, bool nonblocking,
                      std::size_t* nread);

// Writes all of the iovecs (less only when interrupted or, with `nonblocking`, when the stream is
// full — then the count so far, or EINTR/EAGAIN if it is 0). Each write is sized so it cannot
// block: at most PIPE_BUF bytes into a pipe that polled writable, MSG_DONTWAIT on a socket.
// Sockets are written with MSG_NOSIGNAL; a pipe whose reader is gone raises SIGPIPE, which the
// worker must ignore (it then reads as EPIPE).
abi::Errno WriteStream(int fd, std::span<const struct iovec> iov, bool nonblocking,
                       std::size_t* nwritten);

// The iovecs covering bytes [offset, offset + max_len) of `iov`, written to `out` (which must hold
// iov.size() entries); returns how many entries were used.
std::size_t SliceIovecs(std::span<const struct iovec> iov, std::size_t offset, std::size_t max_len,
                        struct iovec* out);

}  // namespace elastos::compute::wasi
