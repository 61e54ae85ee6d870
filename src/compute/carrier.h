// The runtime's end of the carrier: newline-delimited JSON envelopes between a capsule and the
// runtime (DESIGN.md §3, docs/protocol.md). `{"id":N,"request":{"type":…}}` in,
// `{"id":N,"response":{"type":…}}` out, one response per request, in order.
//
// The guest is untrusted: a line over 1 MiB is answered with a line_too_long error and
// discarded up to its newline without being buffered; malformed JSON or a missing id/request is
// answered with an error envelope (id 0 when the id cannot be read), never by hanging up.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace elastos::compute {

inline constexpr std::size_t kMaxCarrierLine = 1 << 20;

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // `request` is the envelope's "request" object (it has a string "type"); returns the
  // "response" object.
  virtual boost::json::object Handle(const boost::json::object& request) = 0;
};

// The response object for an error: {"type":"error","code":…,"reason":…,"message":…}.
boost::json::object ErrorResponse(const Status& status);

// Answers one line (without its newline); returns the response line (without newline).
std::string HandleCarrierLine(std::string_view line, RequestHandler& handler);

// Reads requests from `requests_fd` and writes responses to `responses_fd` until the guest closes
// its end (or the responses pipe breaks because the guest is gone). Blocks the calling thread.
Status ServeCarrier(int requests_fd, int responses_fd, RequestHandler& handler);

}  // namespace elastos::compute
