#include "compute/carrier.h"

#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <string>

namespace elastos::compute {
namespace {

std::string Envelope(std::uint64_t id, boost::json::object response) {
  boost::json::object env;
  env["id"] = id;
  env["response"] = std::move(response);
  return boost::json::serialize(env);
}

Status WriteLine(int fd, std::string line) {
  line.push_back('\n');
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("write(carrier)", errno);
    off += static_cast<std::size_t>(n);
  }
  return OkStatus();
}

}  // namespace

boost::json::object ErrorResponse(const Status& status) {
  return {{"type", "error"},
          {"code", std::string(CodeName(status.code()))},
          {"reason", status.reason()},
          {"message", status.message()}};
}

std::string HandleCarrierLine(std::string_view line, RequestHandler& handler) {
  // Reasons and ids follow docs/protocol.md §2 "Malformed and oversized input".
  constexpr std::uint64_t kMaxId = (1ull << 53) - 1;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) {
    return Envelope(0, ErrorResponse(InvalidArgument("malformed_request", "the line is not a JSON object")));
  }
  const boost::json::object& env = v.get_object();
  const boost::json::value* id = env.if_contains("id");
  std::uint64_t request_id = 0;
  if (id != nullptr && id->is_uint64()) request_id = id->as_uint64();
  if (id != nullptr && id->is_int64() && id->as_int64() > 0) request_id = static_cast<std::uint64_t>(id->as_int64());
  if (request_id == 0 || request_id > kMaxId) {
    return Envelope(0, ErrorResponse(InvalidArgument("bad_id", "the envelope needs an integer \"id\" in 1..2^53-1")));
  }
  const boost::json::value* request = env.if_contains("request");
  if (env.size() != 2 || request == nullptr || !request->is_object() || !request->get_object().contains("type") ||
      !request->get_object().at("type").is_string()) {
    return Envelope(request_id, ErrorResponse(InvalidArgument(
                                    "malformed_request",
                                    "the envelope must be exactly {\"id\":N,\"request\":{\"type\":\"…\",…}}")));
  }
  return Envelope(request_id, handler.Handle(request->get_object()));
}

Status ServeCarrier(int requests_fd, int responses_fd, RequestHandler& handler) {
  std::string line;
  bool discarding = false;  // inside an oversized line, skipping to its newline
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(requests_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("read(carrier)", errno);
    if (n == 0) return OkStatus();  // the guest closed its end or exited
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      std::size_t nl = chunk.find('\n');
      std::string_view part = chunk.substr(0, nl);
      if (!discarding) {
        if (line.size() + part.size() > kMaxCarrierLine) {
          discarding = true;
          line.clear();
          line.shrink_to_fit();
          Status s = WriteLine(responses_fd, Envelope(0, ErrorResponse(ResourceExhausted(
                                                      "line_too_long", "a request line is limited to 1 MiB"))));
          if (!s.ok()) return OkStatus();  // the guest is gone
        } else {
          line.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      chunk.remove_prefix(nl + 1);
      if (discarding) {
        discarding = false;
        continue;
      }
      if (!line.empty()) {
        Status s = WriteLine(responses_fd, HandleCarrierLine(line, handler));
        if (!s.ok()) return OkStatus();  // a broken pipe means the guest exited: not an error here
      }
      line.clear();
    }
  }
}

}  // namespace elastos::compute
