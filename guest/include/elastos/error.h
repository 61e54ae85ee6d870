// elastos/error.h — typed errors for capsules: Error{code, reason, message} and Result<T>.
//
// Guests are built with -fno-exceptions, so every fallible SDK call returns a Result. The codes
// are the runtime's canonical codes (docs/protocol.md §4); `reason` is a stable word that refines
// the code (`runtime_closed`, `token_expired`, …); `message` is for people. Branch on `code`
// (and, where needed, `reason`), never on `message`.
//
// Thread-safety: plain values.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace elastos::sdk {

enum class ErrorCode {
  kInvalidArgument,     // the request is malformed or a field fails validation
  kNotFound,            // the named thing does not exist
  kPermissionDenied,    // authenticated, but not allowed
  kUnauthenticated,     // no valid credential (token)
  kResourceExhausted,   // a limit was hit
  kFailedPrecondition,  // the system is not in a state that allows this
  kInternal,            // a bug, or the peer broke the protocol
  kUnavailable,         // transient: retrying may succeed
};

// "invalid_argument", "not_found", … — the wire spelling.
inline const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kResourceExhausted:
      return "resource_exhausted";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

// The code for a wire spelling; nullopt for a word that is not a canonical code.
inline std::optional<ErrorCode> ParseErrorCode(std::string_view name) {
  static constexpr ErrorCode kAll[] = {
      ErrorCode::kInvalidArgument, ErrorCode::kNotFound,          ErrorCode::kPermissionDenied,
      ErrorCode::kUnauthenticated, ErrorCode::kResourceExhausted, ErrorCode::kFailedPrecondition,
      ErrorCode::kInternal,        ErrorCode::kUnavailable};
  for (ErrorCode code : kAll) {
    if (name == ErrorCodeName(code)) return code;
  }
  return std::nullopt;
}

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string reason;   // stable lowercase word, e.g. "runtime_closed"
  std::string message;  // human text

  // "message (code/reason)" — what a capsule prints after "error: ".
  std::string ToString() const { return message + " (" + ErrorCodeName(code) + "/" + reason + ")"; }
};

inline Error MakeError(ErrorCode code, std::string reason, std::string message) {
  return Error{code, std::move(reason), std::move(message)};
}

namespace internal {
// Reached only through a programming error (taking the value of a failed Result). Without
// exceptions the honest outcome is to stop, saying why, rather than return garbage.
[[noreturn]] inline void DieOnBadAccess(const Error& error) {
  std::fprintf(stderr, "elastos sdk: value() of a failed Result: %s\n", error.ToString().c_str());
  std::abort();
}
}  // namespace internal

// A value or the Error saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // The error; meaningful only when !ok().
  const Error& error() const { return error_; }

  T& value() & {
    if (!ok()) internal::DieOnBadAccess(error_);
    return *value_;
  }
  const T& value() const& {
    if (!ok()) internal::DieOnBadAccess(error_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) internal::DieOnBadAccess(error_);
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Error error_;
};

// Success with no value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;                                               // success
  Result(Error error) : failed_(true), error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  bool failed_ = false;
  Error error_;
};

}  // namespace elastos::sdk
