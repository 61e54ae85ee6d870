#include "compute/wasi/stream_io.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <vector>

#include "compute/engine.h"

namespace elastos::compute::wasi {
namespace {

using abi::Errno;

std::size_t TotalLength(std::span<const struct iovec> iov) {
  std::size_t total = 0;
  for (const struct iovec& v : iov) total += v.iov_len;
  return total;
}

enum class StreamType { kPipe, kSocket, kOther };

StreamType TypeOf(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return StreamType::kOther;  // the write reports the real error
  if (S_ISFIFO(st.st_mode)) return StreamType::kPipe;
  if (S_ISSOCK(st.st_mode)) return StreamType::kSocket;
  return StreamType::kOther;
}

// One write of the already-sliced iovecs; never blocks on a pipe or socket (see WriteStream).
ssize_t WriteOnce(int fd, StreamType type, struct iovec* iov, std::size_t count) {
  if (type == StreamType::kSocket) {
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    return ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  return ::writev(fd, iov, static_cast<int>(count));
}

}  // namespace

bool InterruptPending() { return PendingInterrupt() != InterruptReason::kNone; }

Errno WaitReady(int fd, short events, bool nonblocking) {
  const auto slice_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kInterruptSlice).count();
  for (;;) {
    if (InterruptPending()) return Errno::kIntr;
    struct pollfd pfd = {fd, events, 0};
    struct timespec timeout = {0, nonblocking ? 0 : static_cast<long>(slice_ns)};
    const int ready = ::ppoll(&pfd, 1, &timeout, nullptr);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return abi::FromHostErrno(errno);
    }
    if (ready > 0) return (pfd.revents & POLLNVAL) ? Errno::kBadf : Errno::kSuccess;
    if (nonblocking) return Errno::kAgain;
  }
}

Errno ReadStream(int fd, std::span<const struct iovec> iov, bool nonblocking, std::size_t* nread) {
  *nread = 0;
  if (TotalLength(iov) == 0) return Errno::kSuccess;
  for (;;) {
    if (Errno e = WaitReady(fd, POLLIN, nonblocking); e != Errno::kSuccess) return e;
    const ssize_t n = ::readv(fd, iov.data(), static_cast<int>(iov.size()));
    if (n >= 0) {
      *nread = static_cast<std::size_t>(n);
      return Errno::kSuccess;
    }
    if (errno == EINTR) continue;
    // The worker's description may be non-blocking even when the guest's view is not: then
    // "ready" can be stale (another reader), so wait again.
    if (errno == EAGAIN && !nonblocking) continue;
    return abi::FromHostErrno(errno);
  }
}

Errno WriteStream(int fd, std::span<const struct iovec> iov, bool nonblocking,
                  std::size_t* nwritten) {
  *nwritten = 0;
  const std::size_t total = TotalLength(iov);
  if (total == 0) return Errno::kSuccess;
  const StreamType type = TypeOf(fd);
  std::vector<struct iovec> slice(iov.size());
  std::size_t done = 0;
  // A short count is success (POSIX write semantics); an error only when nothing was written.
  auto finish = [&](Errno e) {
    *nwritten = done;
    return done > 0 ? Errno::kSuccess : e;
  };
  while (done < total) {
    if (Errno e = WaitReady(fd, POLLOUT, nonblocking); e != Errno::kSuccess) return finish(e);
    // A pipe that polls writable has room for PIPE_BUF bytes (one free slot); more could block
    // until the reader drains it, out of reach of the interrupt flag.
    const std::size_t chunk = type == StreamType::kPipe ? PIPE_BUF : total - done;
    const std::size_t count = SliceIovecs(iov, done, chunk, slice.data());
    const ssize_t n = WriteOnce(fd, type, slice.data(), count);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (nonblocking) return finish(Errno::kAgain);
        continue;
      }
      return finish(abi::FromHostErrno(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return finish(Errno::kSuccess);
}

std::size_t SliceIovecs(std::span<const struct iovec> iov, std::size_t offset, std::size_t max_len,
                        struct iovec* out) {
  std::size_t count = 0;
  for (const struct iovec& v : iov) {
    if (max_len == 0) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    const std::size_t len = std::min(v.iov_len - offset, max_len);
    out[count++] = {static_cast<char*>(v.iov_base) + offset, len};
    max_len -= len;
    offset = 0;
  }
  return count;
}

}  // namespace elastos::compute::wasi
