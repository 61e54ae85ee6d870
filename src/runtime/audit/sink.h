// AuditSink: what a component that emits audit records needs from the log. The capability
// manager (and later the request handler) receive one of these, not the log itself, so a
// benchmark can measure validation alone and a test can watch the records.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "runtime/audit/record.h"

namespace elastos::audit {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Returns once the record is durable (group-committed with concurrent appenders).
  virtual Result<std::uint64_t> Append(const AuditRecord& record) = 0;
  // Returns once the record is queued; it becomes durable within milliseconds.
  [[nodiscard]] virtual Status AppendAsync(const AuditRecord& record) = 0;
};

}  // namespace elastos::audit
