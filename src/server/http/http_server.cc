#include "server/http/http_server.h"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace elastos::server::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 if it is not one.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) -> int {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
  };
  auto in = [](int b, int lo, int hi) { return b >= lo && b <= hi; };
  const int b0 = byte(0);
  if (in(b0, 0xC2, 0xDF)) return in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(b0, 0xE0, 0xEF)) {
    const int lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const int hi = b0 == 0xED ? 0x9F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(b0, 0xF0, 0xF4)) {
    const int lo = b0 == 0xF0 ? 0x90 : 0x80;
    const int hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) && in(byte(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// RFC 9110 token (header names, methods).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A header value a handler may emit: no CR, LF or NUL, which would let it split the response
// (header injection from data the handler echoes).
bool IsSafeFieldValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers whose value frames the message or identifies the server; handlers cannot set them.
bool IsServerOwnedHeader(std::string_view name) {
  for (std::string_view owned : {"content-length", "transfer-encoding", "connection", "keep-alive",
                                 "server", "x-content-type-options", "content-type", "upgrade"}) {
    if (EqualsIgnoreCase(name, owned)) return true;
  }
  return false;
}

[[noreturn]] void RouteDefinitionError(std::string_view method, std::string_view pattern,
                                       std::string_view why) {
  std::fprintf(stderr, "http router: bad route %.*s \"%.*s\": %.*s\n",
               static_cast<int>(method.size()), method.data(), static_cast<int>(pattern.size()),
               pattern.data(), static_cast<int>(why.size()), why.data());
  std::abort();
}

// "/a/b" → {"a","b"}; "/" → {}; "/a/" → {"a",""}. `path` starts with '/'.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.size() <= 1) return out;
  std::string_view rest = path.substr(1);
  for (;;) {
    const std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

Status BadPath(std::string message) { return InvalidArgument("bad_path", std::move(message)); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Small value types.

bool HeaderNameLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return static_cast<unsigned char>(AsciiLower(x)) < static_cast<unsigned char>(AsciiLower(y));
  });
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    std::optional<std::string> key = PercentDecode(part.substr(0, eq), /*plus_is_space=*/true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    // The first occurrence decides, even when badly encoded: falling through to a later one
    // would let two parsers of the same URL disagree about its value.
    return PercentDecode(part.substr(eq + 1), /*plus_is_space=*/true);
  }
  return std::nullopt;
}

std::string_view Request::Param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

Response Response::Json(int status, std::string json_body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(json_body);
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(text);
  return r;
}

Response ErrorResponse(const Status& status) {
  // An OK status here is a caller bug; answer 500 rather than a 200 that says "error".
  const Status& s =
      status.ok() ? Status(Code::kInternal, "ok_as_error", "an OK status was reported as an error")
                  : status;
  std::string body = "{\"error\":{\"code\":";
  body += JsonQuote(CodeName(s.code()));
  body += ",\"reason\":";
  body += JsonQuote(s.reason());
  body += ",\"message\":";
  body += JsonQuote(s.message());
  body += "}}";
  return Response::Json(HttpStatus(s.code()), std::move(body));
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (s.size() - i < 3) return std::nullopt;
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && c == '+') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Messages can carry client bytes (a path); invalid UTF-8 would make the whole body invalid
    // JSON, so each bad byte becomes U+FFFD.
    const std::size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Router.

struct Router::Route {
  // Declaration order is specificity order: at the same position a literal beats a parameter,
  // which beats a rest capture.
  enum class Kind { kLiteral, kParam, kRest };
  struct Segment {
    Kind kind;
    std::string text;  // the literal, or the parameter's name
  };
  std::string method;
  std::string pattern;
  std::string shape;  // the pattern with parameter names erased: "/a/{}/{*}"
  std::vector<Segment> segments;
  Handler handler;
  RouteOptions options;
};

namespace {

using Rank = int;              // lower is more specific
constexpr Rank kEndRank = -1;  // the pattern ended here (beats a `{*rest}` capturing nothing)

}  // namespace

void Router::Add(std::string_view method, std::string_view pattern, Handler handler,
                 RouteOptions options) {
  if (!IsToken(method)) RouteDefinitionError(method, pattern, "the method is not an HTTP token");
  if (pattern.empty() || pattern[0] != '/') {
    RouteDefinitionError(method, pattern, "the pattern must start with '/'");
  }
  if (!handler) RouteDefinitionError(method, pattern, "the handler is empty");
  auto route = std::make_shared<Route>();
  route->method = std::string(method);
  route->pattern = std::string(pattern);
  route->handler = std::move(handler);
  route->options = options;
  std::vector<std::string> shape_parts;
  std::vector<std::string> names;
  const std::vector<std::string_view> parts = SplitPath(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    if (part.empty()) RouteDefinitionError(method, pattern, "empty segment");
    Route::Segment seg;
    if (part.front() == '{') {
      if (part.back() != '}') RouteDefinitionError(method, pattern, "unclosed '{'");
      std::string_view name = part.substr(1, part.size() - 2);
      seg.kind = Route::Kind::kParam;
      if (!name.empty() && name.front() == '*') {
        if (i + 1 != parts.size()) {
          RouteDefinitionError(method, pattern, "{*name} must be the last segment");
        }
        seg.kind = Route::Kind::kRest;
        name.remove_prefix(1);
      }
      if (name.empty() || name.find_first_of("{}*/") != std::string_view::npos) {
        RouteDefinitionError(method, pattern, "bad parameter name");
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        RouteDefinitionError(method, pattern, "parameter name used twice");
      }
      names.emplace_back(name);
      seg.text = std::string(name);
      shape_parts.emplace_back(seg.kind == Route::Kind::kRest ? "{*}" : "{}");
    } else {
      if (part.find_first_of("{}") != std::string_view::npos) {
        RouteDefinitionError(method, pattern, "'{' or '}' inside a literal segment");
      }
      seg.kind = Route::Kind::kLiteral;
      seg.text = std::string(part);
      shape_parts.emplace_back(part);
    }
    route->segments.push_back(std::move(seg));
  }
  route->shape = "/" + Join(shape_parts, "/");
  for (const auto& existing : routes_) {
    // Same shape with other parameter names ("/a/{x}" vs "/a/{y}") is the same route to a client.
    if (existing->method == route->method && existing->shape == route->shape) {
      RouteDefinitionError(method, pattern,
                           "added twice (or same shape as " + existing->pattern + ")");
    }
  }
  routes_.push_back(std::move(route));
}

Result<Router::Match> Router::Find(std::string_view method, std::string_view path) const {
  if (path.empty() || path.front() != '/') return BadPath("the request path must start with '/'");
  const std::vector<std::string_view> raw = SplitPath(path);
  std::vector<std::string> segs;
  segs.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i].empty()) {
      if (i + 1 < raw.size()) return BadPath("the request path has an empty segment (\"//\")");
      segs.emplace_back();
      continue;
    }
    std::optional<std::string> decoded = PercentDecode(raw[i]);
    if (!decoded) return BadPath("a path segment has an invalid percent-encoding");
    // A segment that decodes to a separator or NUL would let one segment smuggle several into a
    // handler that maps parameters onto a file system or another URL (traversal, truncation).
    if (decoded->find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return BadPath("a path segment decodes to '/', '\\' or NUL");
    }
    if (*decoded == "." || *decoded == "..") {
      return BadPath("'.' and '..' path segments are not allowed");
    }
    segs.push_back(std::move(*decoded));
  }

  // Only the last segment can be empty (a trailing '/'); it matches only as the whole, empty,
  // capture of a `{*rest}`.
  auto matches = [&segs](const Route& route) {
    for (std::size_t i = 0; i < route.segments.size(); ++i) {
      const Route::Segment& seg = route.segments[i];
      if (seg.kind == Route::Kind::kRest) {
        if (segs.size() < i) return false;
        const bool has_empty =
            std::any_of(segs.begin() + static_cast<std::ptrdiff_t>(i), segs.end(),
                        [](const std::string& s) { return s.empty(); });
        return !has_empty || segs.size() - i == 1;
      }
      if (i >= segs.size() || segs[i].empty()) return false;
      if (seg.kind == Route::Kind::kLiteral && seg.text != segs[i]) return false;
    }
    return segs.size() == route.segments.size();
  };
  auto rank = [](const Route& route, std::size_t i) -> Rank {
    return i < route.segments.size() ? static_cast<Rank>(route.segments[i].kind) : kEndRank;
  };
  auto more_specific = [&rank](const Route& a, const Route& b) {
    const std::size_t n = std::max(a.segments.size(), b.segments.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (rank(a, i) != rank(b, i)) return rank(a, i) < rank(b, i);
    }
    return false;
  };

  // The path picks the resource (the most specific shape) before the method is looked at, so
  // DELETE on "/cap/pending" is a 405 rather than silently becoming DELETE "/cap/{id}".
  const Route* best = nullptr;
  for (const auto& route : routes_) {
    if (matches(*route) && (best == nullptr || more_specific(*route, *best))) best = route.get();
  }
  if (best == nullptr) {
    if (!segs.empty() && segs.back().empty()) {
      return BadPath("the request path has an empty segment (trailing '/')");
    }
    return NotFound("no_route", "no route for " + std::string(path));
  }
  const Route* chosen = nullptr;
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    if (route->shape != best->shape) continue;
    allowed.push_back(route->method);
    if (route->method == method) chosen = route.get();
  }
  if (chosen == nullptr) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    return FailedPrecondition("method_not_allowed", Join(allowed, ", "));
  }

  Match match;
  match.handler = &chosen->handler;
  match.options = chosen->options;
  match.pattern = chosen->pattern;
  for (std::size_t i = 0; i < chosen->segments.size(); ++i) {
    const Route::Segment& seg = chosen->segments[i];
    if (seg.kind == Route::Kind::kParam) {
      match.params[seg.text] = segs[i];
    } else if (seg.kind == Route::Kind::kRest) {
      std::vector<std::string> rest(segs.begin() + static_cast<std::ptrdiff_t>(i), segs.end());
      match.params[seg.text] = Join(rest, "/");
    }
  }
  return match;
}

// ---------------------------------------------------------------------------------------------
// Server.

namespace {

constexpr std::string_view kNoPattern = "-";  // stats label for answers the server makes itself
constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::chrono::milliseconds kAcceptBackoff{50};

// The server whose I/O or handler thread this is, so Stop() from such a thread (it would wait
// for itself) fails loudly instead of deadlocking.
thread_local const void* tls_serving = nullptr;

Response ServerError(Status status, int http_status) {
  Response r = ErrorResponse(status);
  r.status = http_status;
  return r;
}

std::string FormatPeer(const tcp::endpoint& ep) {
  const std::string addr = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + addr + "]:" + port : addr + ":" + port;
}

}  // namespace

struct HttpServer::Impl {
  class Session;

  Impl(Router r, const ServerOptions& o) : router(std::move(r)), options(o) {}

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void CountResponse(std::string_view pattern, std::string_view method, int status);
  void Stop();

  const Router router;
  ServerOptions options;
  std::uint16_t port = 0;

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> open{0};
  mutable std::mutex stats_mu;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> responses;  // guarded

  // Set once Stop() begins; answers produced after that are dropped.
  std::atomic<bool> stopping{false};
  std::mutex lifecycle_mu;  // serialises Start/Stop
  bool started = false;     // guarded by lifecycle_mu
  bool stopped = false;     // guarded by lifecycle_mu

  std::mutex sessions_mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // guarded; for Stop()

  // Members are destroyed in reverse order, and this order matters: queued handler-pool work
  // and sockets refer to the io_context, so they must go before it. Stop() resets them in the
  // same order explicitly.
  std::unique_ptr<asio::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_backoff;
  std::unique_ptr<asio::thread_pool> pool;
  std::vector<std::thread> io_threads;
};

// One client connection. Every member runs on the connection's strand (the stream's executor),
// except Close() which Stop() calls once no I/O thread runs. Lifetime: owned by the pending
// asynchronous operations and queued handler work that refer to it.
class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl* server, tcp::socket socket, std::string peer)
      : server_(server), stream_(std::move(socket)), peer_(std::move(peer)) {}

  ~Session() {
    {
      std::lock_guard<std::mutex> lock(server_->sessions_mu);
      server_->sessions.erase(this);
    }
    server_->open.fetch_sub(1);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Only from Stop(), when no I/O thread is running.
  void Close() { stream_.close(); }

 private:
  void ReadHeader() {
    if (server_->stopping) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        server_->options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // No limit while reading the header: Beast would otherwise check Content-Length against its
    // 1 MB default before we know the route and its own limit.
    parser_->body_limit(boost::none);
    match_.reset();
    method_ = "-";
    stats_method_ = "-";
    version_ = 11;
    keep_alive_ = false;
    head_ = false;
    // One deadline for the whole request, header and body: a client trickling bytes cannot hold
    // the connection longer than read_timeout (slowloris).
    stream_.expires_after(server_->options.read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    method_ = std::string(req.method_string());
    // Client-chosen method names would make the stats map grow without bound.
    stats_method_ = req.method() == bhttp::verb::unknown ? "OTHER" : method_;
    version_ = req.version() == 10 ? 10 : 11;
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;
    // A message whose body we did not read leaves the stream out of sync; it must then close.
    const bool unread_body = !parser_->is_done();
    // RFC 9112 §6.3: Transfer-Encoding without chunked as the final coding leaves the body length
    // unknowable. Beast would treat such a request as bodiless and parse the body as the next
    // request, which is how requests get smuggled past a proxy that frames them differently.
    if (req.find(bhttp::field::transfer_encoding) != req.end() && !parser_->chunked()) {
      return Send(kNoPattern,
                  ErrorResponse(InvalidArgument(
                      "bad_request", "malformed request: Transfer-Encoding must end in chunked")),
                  /*close=*/true);
    }

    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    Result<Router::Match> match = server_->router.Find(method_, path);
    if (!match.ok()) {
      const Status& s = match.status();
      if (s.code() == Code::kFailedPrecondition && s.reason() == "method_not_allowed") {
        Response r =
            ServerError(FailedPrecondition(
                            "method_not_allowed",
                            "method " + method_ + " is not allowed here; allowed: " + s.message()),
                        405);
        r.headers.emplace_back("Allow", s.message());
        return Send(kNoPattern, std::move(r), unread_body);
      }
      return Send(kNoPattern, ErrorResponse(s), unread_body);
    }
    match_ = std::move(match).value();
    const std::size_t max_body = match_->options.max_body;
    if (auto length = parser_->content_length(); length && *length > max_body) {
      return SendBodyTooLarge();
    }
    if (!unread_body) return Dispatch();
    parser_->body_limit(static_cast<std::uint64_t>(max_body));
    auto expect = req.find(bhttp::field::expect);
    if (version_ == 11 && expect != req.end() &&
        EqualsIgnoreCase(std::string_view(expect->value().data(), expect->value().size()),
                         "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (ec) return self->CloseNow();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->Dispatch();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream) return CloseNow();  // clean close between requests
    if (ec == bhttp::error::header_limit) {
      return Send(kNoPattern,
                  ServerError(ResourceExhausted(
                                  "headers_too_large",
                                  "the request header is larger than " +
                                      std::to_string(server_->options.max_header_bytes) + " bytes"),
                              431),
                  /*close=*/true);
    }
    if (ec == bhttp::error::body_limit) return SendBodyTooLarge();
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return Send(
          kNoPattern,
          ErrorResponse(InvalidArgument("bad_request", "malformed request: " + ec.message())),
          /*close=*/true);
    }
    // Timeout, reset, abort: nobody to answer.
    CloseNow();
  }

  void SendBodyTooLarge() {
    const std::size_t max_body = match_ ? match_->options.max_body : 0;
    Send(kNoPattern,
         ServerError(ResourceExhausted("body_too_large", "the request body is larger than " +
                                                             std::to_string(max_body) + " bytes"),
                     413),
         /*close=*/true);
  }

  void Dispatch() {
    auto& msg = parser_->get();
    Request request;
    request.method = method_;
    request.target = std::string(msg.target());
    const std::size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    request.query = q == std::string::npos ? std::string() : request.target.substr(q + 1);
    for (const auto& field : msg) {
      auto [it, inserted] =
          request.headers.emplace(std::string(field.name_string()), std::string(field.value()));
      // RFC 9110 §5.3: repeated fields combine into one comma-separated list.
      if (!inserted) {
        it->second += ", ";
        it->second += std::string_view(field.value().data(), field.value().size());
      }
    }
    request.body = std::move(msg.body());
    request.peer = peer_;
    request.params = std::move(match_->params);
    const Handler* handler = match_->handler;
    std::string pattern = std::move(match_->pattern);
    match_.reset();
    // The deadline covers reading only; a handler may take as long as it needs (long-poll).
    stream_.expires_never();
    asio::post(*server_->pool, [self = shared_from_this(), handler, pattern = std::move(pattern),
                                request = std::move(request)]() mutable {
      tls_serving = self->server_;
      Response response = RunHandler(*handler, request);
      tls_serving = nullptr;
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self = std::move(self), pattern = std::move(pattern),
                            response = std::move(response)]() mutable {
        self->Send(pattern, std::move(response), /*close=*/false);
      });
    });
  }

  static Response RunHandler(const Handler& handler, Request& request) {
    // Handlers should not throw; if one does, one request fails instead of the whole process.
    try {
      Response r = handler(request);
      if (r.status < 200 || r.status > 599) {
        return ErrorResponse(
            Internal("bad_status", "the handler returned HTTP status " + std::to_string(r.status)));
      }
      return r;
    } catch (const std::exception& e) {
      return ErrorResponse(Internal("handler_exception", e.what()));
    } catch (...) {
      return ErrorResponse(Internal("handler_exception", "the handler threw"));
    }
  }

  void Send(std::string_view pattern, Response r, bool close) {
    if (server_->stopping) return;  // Stop() drops answers still in flight
    auto res = std::make_unique<bhttp::response<bhttp::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(r.status));
    res->set(bhttp::field::server, "elastos");
    res->set(bhttp::field::content_type, IsSafeFieldValue(r.content_type) && !r.content_type.empty()
                                             ? r.content_type
                                             : "application/octet-stream");
    res->set(bhttp::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : r.headers) {
      if (!IsToken(name) || !IsSafeFieldValue(value) || IsServerOwnedHeader(name)) continue;
      if (EqualsIgnoreCase(name, "cache-control")) {
        res->set(bhttp::field::cache_control, value);  // the handler's deliberate choice
      } else {
        res->insert(name, value);
      }
    }
    // RFC 9110: 204 has no body and no Content-Length; 304 and HEAD have no body.
    if (r.status == 204 || r.status == 304) {
      // nothing
    } else if (head_) {
      res->content_length(r.body.size());
    } else {
      res->content_length(r.body.size());
      res->body() = std::move(r.body);
    }
    const bool keep = keep_alive_ && !close;
    res->keep_alive(keep);
    server_->CountResponse(pattern, stats_method_, r.status);
    response_ = std::move(res);
    stream_.expires_after(server_->options.read_timeout);  // a client that never reads
    bhttp::async_write(stream_, *response_,
                       [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
                         self->response_.reset();
                         if (ec) return self->CloseNow();
                         if (!keep) return self->LingeringClose();
                         self->ReadHeader();
                       });
  }

  // Half-closes and reads what the client still sends for a moment before closing: closing a
  // socket with unread input makes the kernel send RST, which can destroy our answer (a 413)
  // before the client has read it.
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return CloseNow();
    stream_.expires_after(
        std::min<std::chrono::milliseconds>(server_->options.read_timeout, kMaxLinger));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->CloseNow();
                              self->Drain();
                            });
  }

  void CloseNow() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  Impl* const server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const std::string peer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<Router::Match> match_;
  std::string method_;
  std::string stats_method_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  std::unique_ptr<bhttp::response<bhttp::string_body>> response_;
  std::array<char, 4096> drain_{};
  std::size_t drained_ = 0;
};

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // EMFILE, ENOBUFS, …: retrying at once would spin an I/O thread; pause briefly.
    accept_backoff->expires_after(kAcceptBackoff);
    accept_backoff->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping) DoAccept();
    });
    return;
  }
  beast::error_code ignored;
  if (open.load() >= options.max_connections) {
    refused.fetch_add(1);
    socket.close(ignored);
    return DoAccept();
  }
  accepted.fetch_add(1);
  open.fetch_add(1);
  // Answers go out in one write each; Nagle would only delay pipelined ones by a delayed ACK.
  socket.set_option(tcp::no_delay(true), ignored);
  const tcp::endpoint remote = socket.remote_endpoint(ignored);
  auto session = std::make_shared<Session>(this, std::move(socket), FormatPeer(remote));
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.emplace(session.get(), session);
  }
  session->Start();
  DoAccept();
}

void HttpServer::Impl::CountResponse(std::string_view pattern, std::string_view method,
                                     int status) {
  std::lock_guard<std::mutex> lock(stats_mu);
  ++responses[std::make_tuple(std::string(pattern), std::string(method), status)];
}

void HttpServer::Impl::Stop() {
  if (tls_serving == this) {
    std::fprintf(stderr, "http server: Stop() called from one of its own I/O or handler threads\n");
    std::abort();
  }
  std::lock_guard<std::mutex> lock(lifecycle_mu);
  if (stopped) return;
  stopped = true;
  stopping = true;
  if (ioc) ioc->stop();
  for (auto& t : io_threads) t.join();
  io_threads.clear();
  // No I/O thread runs from here on, so sockets can be closed from this thread. Close them
  // before waiting for handlers so clients are not kept waiting on a long-running one.
  beast::error_code ignored;
  if (acceptor) acceptor->close(ignored);
  if (accept_backoff) accept_backoff->cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> sessions_lock(sessions_mu);
    for (auto& [raw, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Close();
  live.clear();
  if (pool) {
    pool->stop();  // queued handlers never start
    pool->join();  // running ones finish; what they post to the stopped io_context is dropped
  }
  pool.reset();
  accept_backoff.reset();
  acceptor.reset();
  ioc.reset();  // destroys the pending handlers, and with them the last Session references
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  if (impl_) Stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(Router router,
                                                       const ServerOptions& options) {
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return InvalidArgument("bad_listen_address",
                           "\"" + options.host + "\" is not an IP address (e.g. 127.0.0.1 or ::1)");
  }
  auto impl = std::make_unique<Impl>(std::move(router), options);
  impl->options.io_threads = std::max(1u, options.io_threads);
  impl->options.handler_threads = std::max(1u, options.handler_threads);
  impl->ioc = std::make_unique<asio::io_context>(static_cast<int>(impl->options.io_threads));
  impl->acceptor = std::make_unique<tcp::acceptor>(*impl->ioc);
  impl->accept_backoff = std::make_unique<asio::steady_timer>(*impl->ioc);
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = FormatPeer(endpoint);
  tcp::acceptor& acceptor = *impl->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return Unavailable("listen_failed", "open socket for " + where + ": " + ec.message());
  }
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return Unavailable("listen_failed", "set SO_REUSEADDR on " + where + ": " + ec.message());
  }
  if (acceptor.bind(endpoint, ec); ec) {
    if (ec == asio::error::address_in_use) {
      return Unavailable("address_in_use",
                         where + " is already in use; is another runtime running?");
    }
    return Unavailable("listen_failed", "bind " + where + ": " + ec.message());
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    if (ec == asio::error::address_in_use) {
      return Unavailable("address_in_use",
                         where + " is already in use; is another runtime running?");
    }
    return Unavailable("listen_failed", "listen on " + where + ": " + ec.message());
  }
  const tcp::endpoint local = acceptor.local_endpoint(ec);
  if (ec) return Unavailable("listen_failed", "local address of " + where + ": " + ec.message());
  impl->port = local.port();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Start() {
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.lifecycle_mu);
  if (impl.started || impl.stopped) return;
  impl.started = true;
  impl.pool = std::make_unique<asio::thread_pool>(impl.options.handler_threads);
  impl.DoAccept();
  for (unsigned i = 0; i < impl.options.io_threads; ++i) {
    impl.io_threads.emplace_back([ioc = impl.ioc.get(), server = &impl] {
      tls_serving = server;
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          // A completion handler threw (bad_alloc, …): keep serving the other connections.
          std::fprintf(stderr, "http server: I/O thread caught: %s\n", e.what());
        }
      }
    });
  }
}

void HttpServer::Stop() { impl_->Stop(); }

std::uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::host() const { return impl_->options.host; }

ServerStats HttpServer::stats() const {
  ServerStats s;
  s.connections_accepted = impl_->accepted.load();
  s.connections_refused = impl_->refused.load();
  s.connections_open = impl_->open.load();
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  s.responses = impl_->responses;
  return s;
}

}  // namespace elastos::server::http
