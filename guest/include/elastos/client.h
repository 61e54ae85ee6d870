// elastos/client.h — RuntimeClient: a capsule's connection to the runtime over the carrier.
//
// The carrier is two descriptors named by ELASTOS_CARRIER_FDS="in,out" (docs/protocol.md §1):
// requests are written to `out` as one JSON line each, responses are read from `in`. The client
// keeps exactly one request in flight, numbers requests 1, 2, 3, … and checks that each response
// carries the id of the request it answers. Lines are capped at 1 MiB both ways: an oversized
// request is refused before anything is written; an oversized response is read and discarded up
// to its '\n' (never buffering more than the cap) and reported as resource_exhausted /
// response_too_large, after which the carrier is still in step and the next call works.
//
// Failure words (Error::reason) the client itself produces:
//   failed_precondition/no_runtime           ELASTOS_CARRIER_FDS is not set: not under the runtime
//   failed_precondition/bad_carrier_fds      the variable is malformed
//   unavailable/runtime_closed               end of stream on `in`, or `out` is closed
//   unavailable/carrier_io                   another read/write error
//   resource_exhausted/request_too_large     the request would exceed the line cap (not sent)
//   resource_exhausted/response_too_large    the response exceeded the line cap (discarded)
//   internal/malformed_response              the response is not a valid envelope
//   internal/id_mismatch                     a response answered another request
//   failed_precondition/carrier_desynchronised  a call after id_mismatch, a read error or a
//                                            partial write: the stream can no longer be trusted
//                                            to pair answers with questions, so it is not used
//                                            again (after runtime_closed, every call says that)
//   invalid_argument/json_unwritable         a string in the request is not valid UTF-8
//   invalid_argument/bad_request             CallRaw was given something without a string `type`
// Errors the runtime sends (`{"type":"error",…}`) come back as the Error they carry.
//
// There is no stdin/stdout fallback: stdio belongs to the capsule's user.
//
// Ownership and threads: the carrier descriptors belong to the process for its whole life; the
// client never closes them. Use one RuntimeClient per process, from one thread at a time (a
// second client on the same descriptors would interleave lines). Not thread-safe.
#pragma once

#include <errno.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "elastos/bytes.h"
#include "elastos/capsule_info.h"
#include "elastos/error.h"
#include "elastos/json.h"
#include "elastos/line_io.h"
#include "elastos/protocol.h"

namespace elastos::sdk {

static_assert(kLineCapBytes == kMaxLineBytes, "line_io.h and protocol.h disagree on the line cap");

class RuntimeClient {
 public:
  // The carrier named by ELASTOS_CARRIER_FDS. Errors: failed_precondition / no_runtime when the
  // variable is absent, bad_carrier_fds when it is malformed.
  static Result<RuntimeClient> Connect() {
    const char* spec = std::getenv("ELASTOS_CARRIER_FDS");
    if (spec == nullptr) {
      return MakeError(ErrorCode::kFailedPrecondition, "no_runtime",
                       "not running under the ElastOS runtime (ELASTOS_CARRIER_FDS is not set)");
    }
    auto fds = ParseCarrierFds(spec);
    if (!fds.ok()) return fds.error();
    return RuntimeClient(fds->in, fds->out);
  }

  // A client on descriptors the caller already has (tests, custom transports). Not owned.
  RuntimeClient(int in_fd, int out_fd) : out_fd_(out_fd), reader_(in_fd, kMaxLineBytes) {}

  RuntimeClient(RuntimeClient&&) = default;
  RuntimeClient& operator=(RuntimeClient&&) = default;
  RuntimeClient(const RuntimeClient&) = delete;
  RuntimeClient& operator=(const RuntimeClient&) = delete;

  // The id the next request will carry.
  std::uint64_t next_id() const { return next_id_; }
  // False once the carrier can no longer be used: after the runtime closed it (every later call
  // fails with unavailable / runtime_closed) or after id_mismatch, a read error or a partial write
  // (failed_precondition / carrier_desynchronised).
  bool usable() const { return !sticky_.has_value(); }

  // Sends `request` (a `request` object with a `type`) and returns the `response` object, or the
  // Error of an error response. The building block of everything below; usable for requests this
  // SDK version does not model.
  Result<json::Object> CallRaw(const json::Value& request) {
    if (sticky_) return *sticky_;
    const json::Object* fields = request.GetObject();
    const json::Value* type = fields ? fields->Find("type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "bad_request",
                       "a request must be an object with a string 'type'");
    }
    const std::uint64_t id = next_id_;
    json::Object envelope;
    envelope.Set("id", id);
    envelope.Set("request", request);
    std::string line;
    if (auto w = json::Write(envelope, &line); !w.ok()) return w.error();
    if (line.size() > kMaxLineBytes) {
      return MakeError(
          ErrorCode::kResourceExhausted, "request_too_large",
          "request of " + std::to_string(line.size()) + " bytes exceeds the 1 MiB line cap");
    }
    line.push_back('\n');
    ++next_id_;
    if (auto w = WriteAll(line); !w.ok()) {
      Retire(w.error());  // a partial line may be on the wire
      return w.error();
    }

    auto text = ReadLine();
    if (!text.ok()) {
      // An oversized response was consumed through its '\n': still in step. Anything else ends
      // the carrier.
      if (text.error().reason != "response_too_large") Retire(text.error());
      return text.error();
    }
    auto parsed = json::Parse(*text, json::ParseOptions{json::kDefaultMaxDepth, kMaxLineBytes});
    if (!parsed.ok()) {
      return MakeError(ErrorCode::kInternal, "malformed_response",
                       "the runtime's response is not valid JSON: " + parsed.error().message);
    }
    const json::Object* env = parsed->GetObject();
    const json::Value* got_id = env ? env->Find("id") : nullptr;
    const json::Value* response = env ? env->Find("response") : nullptr;
    if (env == nullptr || env->size() != 2 || got_id == nullptr || !got_id->GetUint64() ||
        !got_id->is_integer() || response == nullptr || !response->is_object()) {
      return MakeError(ErrorCode::kInternal, "malformed_response",
                       "the runtime's response is not an {\"id\",\"response\"} envelope");
    }
    const std::uint64_t response_id = *got_id->GetUint64();
    const json::Object& body = *response->GetObject();
    const json::Value* response_type = body.Find("type");
    const bool is_error = response_type != nullptr && response_type->is_string() &&
                          *response_type->GetString() == "error";
    // id 0 answers a line whose id the runtime could not read — with one request in flight,
    // that is ours.
    if (response_id == 0 && is_error) return ErrorFromResponse(body);
    if (response_id != id) {
      Retire(MakeError(ErrorCode::kInternal, "id_mismatch", ""));
      return MakeError(ErrorCode::kInternal, "id_mismatch",
                       "response id " + std::to_string(response_id) + " does not answer request " +
                           std::to_string(id));
    }
    if (is_error) return ErrorFromResponse(body);
    return body;
  }

  // Sends a typed request and decodes its typed response.
  template <typename Request>
  Result<typename Request::Response> Call(const Request& request) {
    auto body = CallRaw(request.ToJson());
    if (!body.ok()) return body.error();
    return Request::Response::FromJson(*body);
  }

  // Any request, any response (for generic code).
  Result<RuntimeResponse> Send(const RuntimeRequest& request) {
    auto body = CallRaw(request.ToJson());
    if (!body.ok()) return body.error();
    return RuntimeResponse::Parse(*body);
  }

  // ---- Any capsule ----

  Result<void> Ping() { return Discard(Call(PingRequest{})); }
  Result<RuntimeInfo> GetRuntimeInfo() { return Call(GetRuntimeInfoRequest{}); }

  Result<CapabilityToken> RequestCapability(std::string resource, std::string action,
                                            std::optional<std::string> reason = std::nullopt) {
    return Call(
        RequestCapabilityRequest{std::move(resource), std::move(action), std::move(reason)});
  }

  Result<ResourceResponse> Resource(const ResourceRequest& request) { return Call(request); }

  // Reads a whole resource, in kMaxChunkBytes pieces. Stops with resource_exhausted /
  // too_large past `max_bytes`, so a huge file cannot exhaust the capsule's memory by surprise.
  Result<Bytes> ReadResource(const std::string& uri, std::optional<std::string> token,
                             std::uint64_t max_bytes = 64ull << 20) {
    Bytes out;
    for (;;) {
      ResourceRequest r = MakeResourceRequest(uri, ResourceOp::kRead, token);
      if (!out.empty()) r.offset = out.size();
      auto chunk = Call(r);
      if (!chunk.ok()) return chunk.error();
      if (!chunk->data || !chunk->eof) {
        return MakeError(ErrorCode::kInternal, "malformed_response",
                         "read response without data or eof");
      }
      if (out.size() + chunk->data->size() > max_bytes) {
        return MakeError(ErrorCode::kResourceExhausted, "too_large",
                         uri + " is larger than " + std::to_string(max_bytes) + " bytes");
      }
      out.insert(out.end(), chunk->data->begin(), chunk->data->end());
      if (*chunk->eof) return out;
      if (chunk->data->empty()) {
        return MakeError(ErrorCode::kInternal, "malformed_response",
                         "read returned no data before the end");
      }
    }
  }

  // Replaces a resource's content with `data`, in kMaxChunkBytes pieces (the first replaces,
  // the rest append; a reader may see a prefix while a multi-piece write is under way).
  Result<void> WriteResource(const std::string& uri, std::optional<std::string> token,
                             const Bytes& data) {
    std::size_t done = 0;
    do {
      const std::size_t n = std::min(kMaxChunkBytes, data.size() - done);
      ResourceRequest r = MakeResourceRequest(uri, ResourceOp::kWrite, token);
      r.content = Bytes(data.begin() + static_cast<std::ptrdiff_t>(done),
                        data.begin() + static_cast<std::ptrdiff_t>(done + n));
      if (done > 0) r.append = true;
      auto w = Call(r);
      if (!w.ok()) return w.error();
      done += n;
    } while (done < data.size());
    return {};
  }

  Result<std::vector<DirEntry>> ListResource(const std::string& uri,
                                             std::optional<std::string> token) {
    auto r = Call(MakeResourceRequest(uri, ResourceOp::kList, std::move(token)));
    if (!r.ok()) return r.error();
    return std::move(r->entries);
  }
  Result<FileStat> StatResource(const std::string& uri, std::optional<std::string> token) {
    auto r = Call(MakeResourceRequest(uri, ResourceOp::kStat, std::move(token)));
    if (!r.ok()) return r.error();
    if (!r->stat)
      return MakeError(ErrorCode::kInternal, "malformed_response", "stat response without 'stat'");
    return *r->stat;
  }
  Result<bool> ResourceExists(const std::string& uri, std::optional<std::string> token) {
    auto r = Call(MakeResourceRequest(uri, ResourceOp::kExists, std::move(token)));
    if (!r.ok()) return r.error();
    if (!r->exists)
      return MakeError(ErrorCode::kInternal, "malformed_response",
                       "exists response without 'exists'");
    return *r->exists;
  }
  Result<void> DeleteResource(const std::string& uri, std::optional<std::string> token,
                              bool recursive = false) {
    ResourceRequest r = MakeResourceRequest(uri, ResourceOp::kDelete, std::move(token));
    if (recursive) r.recursive = true;
    return Discard(Call(r));
  }
  Result<void> MakeDirectory(const std::string& uri, std::optional<std::string> token,
                             bool parents = false) {
    ResourceRequest r = MakeResourceRequest(uri, ResourceOp::kMkdir, std::move(token));
    if (parents) r.parents = true;
    return Discard(Call(r));
  }

  // Fetches a whole content-addressed file in pieces (see ReadResource for `max_bytes`).
  Result<Bytes> FetchContent(const std::string& uri, std::optional<std::string> token,
                             std::uint64_t max_bytes = 64ull << 20) {
    Bytes out;
    for (;;) {
      FetchContentRequest r;
      r.uri = uri;
      r.token = token;
      if (!out.empty()) r.offset = out.size();
      auto chunk = Call(r);
      if (!chunk.ok()) return chunk.error();
      if (out.size() + chunk->data.size() > max_bytes) {
        return MakeError(ErrorCode::kResourceExhausted, "too_large",
                         uri + " is larger than " + std::to_string(max_bytes) + " bytes");
      }
      out.insert(out.end(), chunk->data.begin(), chunk->data.end());
      if (chunk->eof) return out;
      if (chunk->data.empty()) {
        return MakeError(ErrorCode::kInternal, "malformed_response",
                         "fetch returned no data before the end");
      }
    }
  }

  Result<std::uint64_t> SendMessage(std::string to, Bytes payload,
                                    std::optional<std::string> token = std::nullopt,
                                    std::optional<std::uint64_t> reply_to = std::nullopt) {
    auto r =
        Call(SendMessageRequest{std::move(to), std::move(payload), reply_to, std::move(token)});
    if (!r.ok()) return r.error();
    return r->message_id;
  }
  Result<std::vector<Message>> ReceiveMessages(
      std::optional<std::uint64_t> max = std::nullopt,
      std::optional<std::uint64_t> wait_ms = std::nullopt) {
    auto r = Call(ReceiveMessagesRequest{max, wait_ms});
    if (!r.ok()) return r.error();
    return std::move(r->messages);
  }
  Result<CapabilityToken> DelegateCapability(const DelegateCapabilityRequest& request) {
    return Call(request);
  }

  // ---- Shell only (others get permission_denied / shell_only) ----

  Result<std::vector<CapsuleEntry>> ListCapsules() {
    auto r = Call(ListCapsulesRequest{});
    if (!r.ok()) return r.error();
    return std::move(r->capsules);
  }
  Result<CapsuleLaunched> LaunchCapsule(const LaunchCapsuleRequest& request) {
    return Call(request);
  }
  Result<void> StopCapsule(std::string capsule_id) {
    return Discard(Call(StopCapsuleRequest{std::move(capsule_id)}));
  }
  // The oldest pending capability request, or nullopt when none arrives within `wait_ms`.
  Result<std::optional<Decision>> NextDecision(
      std::optional<std::uint64_t> wait_ms = std::nullopt) {
    auto r = Call(NextDecisionRequest{wait_ms});
    if (!r.ok()) return r.error();
    return std::move(r->decision);
  }
  // Puts a pending request to a person (the policy said "ask"); waits at most `timeout_ms`
  // (runtime default 60 s). unavailable/no_one_to_ask and unavailable/prompt_timeout mean: deny.
  Result<UserAnswer> AskUser(std::string request_id,
                             std::optional<std::uint64_t> timeout_ms = std::nullopt) {
    return Call(AskUserRequest{std::move(request_id), timeout_ms});
  }
  Result<CapabilityGranted> GrantCapability(const GrantCapabilityRequest& request) {
    return Call(request);
  }
  Result<void> DenyCapability(std::string request_id,
                              std::optional<std::string> reason = std::nullopt) {
    return Discard(Call(DenyCapabilityRequest{std::move(request_id), std::move(reason)}));
  }
  Result<Revoked> RevokeCapability(std::string token_id) {
    return Call(RevokeCapabilityRequest{std::move(token_id)});
  }
  Result<Revoked> RevokeAll(std::optional<std::string> capsule_id = std::nullopt) {
    return Call(RevokeAllRequest{std::move(capsule_id)});
  }

 private:
  // Makes every later call fail: with the same error when the runtime closed the carrier, else
  // with carrier_desynchronised (the stream can no longer pair answers with questions).
  void Retire(const Error& cause) {
    if (cause.reason == "runtime_closed") {
      sticky_ = cause;
    } else {
      sticky_ = MakeError(ErrorCode::kFailedPrecondition, "carrier_desynchronised",
                          "the carrier to the runtime is out of step after an earlier failure (" +
                              cause.reason + ")");
    }
  }

  static ResourceRequest MakeResourceRequest(const std::string& uri, ResourceOp op,
                                             std::optional<std::string> token) {
    ResourceRequest r;
    r.uri = uri;
    r.op = op;
    r.token = std::move(token);
    return r;
  }

  template <typename T>
  static Result<void> Discard(const Result<T>& r) {
    if (!r.ok()) return r.error();
    return {};
  }

  static Error IoError(const char* what, int err) {
    if (err == EPIPE || err == ECONNRESET) {
      return MakeError(ErrorCode::kUnavailable, "runtime_closed",
                       std::string("the runtime closed the carrier (") + what + ")");
    }
    return MakeError(ErrorCode::kUnavailable, "carrier_io",
                     std::string(what) + " on the carrier failed: errno " + std::to_string(err));
  }

  Result<void> WriteAll(std::string_view data) {
    if (const int err = sdk::WriteAll(out_fd_, data); err != 0) return IoError("write", err);
    return {};
  }

  // The next non-blank line from the runtime, without its '\n'.
  Result<std::string> ReadLine() {
    std::string line;
    switch (reader_.Next(&line)) {
      case LineReader::Status::kLine:
        return line;
      case LineReader::Status::kTooLong:
        return MakeError(ErrorCode::kResourceExhausted, "response_too_large",
                         "the runtime's response exceeded the 1 MiB line cap and was discarded");
      case LineReader::Status::kEnd:
        return MakeError(ErrorCode::kUnavailable, "runtime_closed",
                         "the runtime closed the carrier (end of stream)");
      case LineReader::Status::kEndInLine:
        return MakeError(ErrorCode::kUnavailable, "runtime_closed",
                         "the runtime closed the carrier (end of stream inside a response)");
      case LineReader::Status::kError:
        break;
    }
    return IoError("read", reader_.error());
  }

  int out_fd_ = -1;
  std::uint64_t next_id_ = 1;
  std::optional<Error> sticky_;  // set once the carrier is unusable; returned by every call
  LineReader reader_;            // the `in` descriptor, line by line under the 1 MiB cap
};

}  // namespace elastos::sdk
