#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace elastos {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kResourceExhausted: return "resource_exhausted";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kInternal: return "internal";
    case Code::kUnavailable: return "unavailable";
  }
  return "internal";
}

Code ErrorCodeFromName(std::string_view name) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kPermissionDenied,
                 Code::kUnauthenticated, Code::kResourceExhausted, Code::kFailedPrecondition,
                 Code::kInternal, Code::kUnavailable}) {
    if (CodeName(c) == name) return c;
  }
  return Code::kInternal;
}

int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kPermissionDenied: return 403;
    case Code::kUnauthenticated: return 401;
    case Code::kResourceExhausted: return 429;
    case Code::kFailedPrecondition: return 409;
    case Code::kInternal: return 500;
    case Code::kUnavailable: return 503;
  }
  return 500;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out = message_;
  if (!reason_.empty()) out += " (" + reason_ + ")";
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, reason_, std::string(context) + ": " + message_);
}

Status IoError(std::string_view what, int err) {
  Code code = Code::kUnavailable;
  if (err == ENOENT || err == ENOTDIR) code = Code::kNotFound;
  if (err == EACCES || err == EPERM || err == EROFS) code = Code::kPermissionDenied;
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) code = Code::kResourceExhausted;
  return Status(code, "io_error", std::string(what) + ": " + std::strerror(err));
}

}  // namespace elastos
