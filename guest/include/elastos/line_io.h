// elastos/line_io.h — newline-delimited lines over a file descriptor, with the protocol's line cap.
//
// The carrier (docs/protocol.md §2) and the provider channel (docs/providers.md §1) frame one JSON
// value per '\n'-terminated line of at most 1 MiB. Both ends of both channels must read such
// lines without trusting the other side, so the reader here is bounded: a line longer than the
// cap is read and discarded through its '\n' without ever buffering more than the cap (plus one
// read chunk), and the reader is then back in step — the next line is read normally.
//
//   sdk::LineReader in(fd);
//   std::string line;
//   switch (in.Next(&line)) {
//     case sdk::LineReader::Status::kLine:      … use line …
//     case sdk::LineReader::Status::kTooLong:   … answer "too long", carry on …
//     case sdk::LineReader::Status::kEnd:       … the peer closed the stream …
//     …
//   }
//
// Lines holding only JSON whitespace (space, tab, '\r') are skipped: the protocol ignores them on
// both sides. A '\r' before the '\n' is left in the line (it is JSON whitespace).
//
// WriteAll writes a whole buffer, retrying short writes, EINTR and EAGAIN. Natively it sends with
// MSG_NOSIGNAL when the fd is a socket, so a vanished peer surfaces as EPIPE rather than SIGPIPE
// (under WASI there are no signals to fear).
//
// Thread-safety: a LineReader is used from one thread at a time; WriteAll is reentrant (but two
// threads writing lines to one fd would interleave them).
#pragma once

#include <errno.h>
#include <unistd.h>
#if !defined(__wasi__)
#include <sys/socket.h>
#endif

#include <cstddef>
#include <string>
#include <string_view>

namespace elastos::sdk {

// The protocol's line cap, not counting the '\n' (also protocol.h's kMaxLineBytes).
inline constexpr std::size_t kLineCapBytes = std::size_t{1} << 20;

class LineReader {
 public:
  enum class Status {
    kLine,       // *line holds the next non-blank line, without its '\n'
    kTooLong,    // a line longer than the cap was read and discarded through its '\n'
    kEnd,        // end of stream at a line boundary
    kEndInLine,  // end of stream inside a line (the partial line is dropped)
    kError,      // read() failed; error() is its errno
  };

  // Reads from `fd` (not owned, never closed). Lines of up to `cap` bytes are returned.
  explicit LineReader(int fd, std::size_t cap = kLineCapBytes) : fd_(fd), cap_(cap) {}

  int fd() const { return fd_; }
  // The errno of the last kError.
  int error() const { return error_; }

  // The next line (kLine) or why there is none. After kTooLong the reader is in step: the next
  // call reads the line after the oversized one.
  Status Next(std::string* line) {
    for (;;) {
      const std::size_t nl = buffer_.find('\n', scanned_);
      if (nl != std::string::npos) {
        const bool too_long = discarding_ || nl > cap_;
        if (!too_long) line->assign(buffer_, 0, nl);
        buffer_.erase(0, nl + 1);
        scanned_ = 0;
        discarding_ = false;
        if (too_long) return Status::kTooLong;
        if (line->find_first_not_of(" \t\r") == std::string::npos) continue;  // blank: ignored
        return Status::kLine;
      }
      scanned_ = buffer_.size();
      if (discarding_ || buffer_.size() > cap_) {
        discarding_ = true;  // keep memory bounded: drop what we have of the oversized line
        buffer_.clear();
        scanned_ = 0;
      }
      const std::size_t old = buffer_.size();
      buffer_.resize(old + kReadChunk);
      ssize_t n;
      do {
        n = ::read(fd_, &buffer_[old], kReadChunk);
      } while (n < 0 && (errno == EINTR || errno == EAGAIN));
      const int err = errno;
      buffer_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
      if (n == 0) {
        const bool inside = !buffer_.empty() || discarding_;
        buffer_.clear();
        scanned_ = 0;
        discarding_ = false;
        return inside ? Status::kEndInLine : Status::kEnd;
      }
      if (n < 0) {
        error_ = err;
        return Status::kError;
      }
    }
  }

 private:
  static constexpr std::size_t kReadChunk = 64 * 1024;

  int fd_;
  std::size_t cap_;
  int error_ = 0;
  bool discarding_ = false;  // inside a line longer than the cap
  std::string buffer_;       // bytes read but not yet returned as lines
  std::size_t scanned_ = 0;  // prefix of buffer_ known to hold no '\n'
};

// Writes all of `data` to `fd`. Returns 0, or the errno of the write that failed (EPIPE when the
// reader has gone); some of `data` may have been written before a failure.
inline int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
#if defined(__wasi__)
    const ssize_t n = ::write(fd, data.data(), data.size());
#else
    // MSG_NOSIGNAL: a peer that went away must surface as EPIPE, not kill the process with
    // SIGPIPE. On a pipe (ENOTSOCK) fall back to write().
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, data.data(), data.size());
#endif
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace elastos::sdk
