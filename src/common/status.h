// Status and Result<T>: how every fallible call in ElastOS reports failure.
//
// A Status carries one of a small set of canonical codes (they map one-to-one to HTTP statuses and
// to the `code` of wire errors), a stable machine-readable `reason` word (`block_hash_mismatch`,
// `token_expired`, …) and a human message that names the problem and, where possible, the fix.
// No exceptions cross a trust boundary or the request path; callers must look at every Status.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace elastos {

enum class Code : std::uint8_t {
  kOk = 0,
  kInvalidArgument,     // the input is malformed or fails validation
  kNotFound,            // the named thing does not exist
  kPermissionDenied,    // authenticated, but not allowed
  kUnauthenticated,     // no valid credential (signature, token, session)
  kResourceExhausted,   // a limit was hit
  kFailedPrecondition,  // the system is not in a state that allows this
  kInternal,            // a bug or an unexpected failure of a dependency
  kUnavailable,         // transient: retrying may succeed
};

// "invalid_argument", "not_found", … — the wire spelling.
std::string_view CodeName(Code code);
// The error code a wire name names ("not_found" → kNotFound). Anything that is not one of the
// error codes ("ok", unknown words) is kInternal: a peer's answer we cannot place is a failure.
Code ErrorCodeFromName(std::string_view name);
// The HTTP status that corresponds to `code` (200, 400, 404, 403, 401, 429, 409, 500, 503).
int HttpStatus(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }

  // "message (reason)" — what a CLI prints after "error: ".
  std::string ToString() const;

  // Prefixes the message with where the failure happened ("capsule.json: …"); keeps code and reason.
  Status WithContext(std::string_view context) const;

  // Marks a Status as deliberately not examined.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string reason_;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string reason, std::string message) {
  return {Code::kInvalidArgument, std::move(reason), std::move(message)};
}
inline Status NotFound(std::string reason, std::string message) {
  return {Code::kNotFound, std::move(reason), std::move(message)};
}
inline Status PermissionDenied(std::string reason, std::string message) {
  return {Code::kPermissionDenied, std::move(reason), std::move(message)};
}
inline Status Unauthenticated(std::string reason, std::string message) {
  return {Code::kUnauthenticated, std::move(reason), std::move(message)};
}
inline Status ResourceExhausted(std::string reason, std::string message) {
  return {Code::kResourceExhausted, std::move(reason), std::move(message)};
}
inline Status FailedPrecondition(std::string reason, std::string message) {
  return {Code::kFailedPrecondition, std::move(reason), std::move(message)};
}
inline Status Internal(std::string reason, std::string message) {
  return {Code::kInternal, std::move(reason), std::move(message)};
}
inline Status Unavailable(std::string reason, std::string message) {
  return {Code::kUnavailable, std::move(reason), std::move(message)};
}
// An OS call failed: reason "io_error", message "<what>: <strerror(err)>".
Status IoError(std::string_view what, int err);

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status(Code::kInternal, "ok_without_value", "Result built from OK");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace elastos

#define ELASTOS_CONCAT_INNER(a, b) a##b
#define ELASTOS_CONCAT(a, b) ELASTOS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define ELASTOS_RETURN_IF_ERROR(expr)                       \
  do {                                                      \
    ::elastos::Status elastos_status_ = (expr);             \
    if (!elastos_status_.ok()) return elastos_status_;      \
  } while (0)

// `lhs = value of expr`, or return its Status from the enclosing function.
#define ELASTOS_ASSIGN_OR_RETURN(lhs, expr) \
  ELASTOS_ASSIGN_OR_RETURN_IMPL(ELASTOS_CONCAT(elastos_result_, __LINE__), lhs, expr)
#define ELASTOS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
