// HttpServer: the runtime's HTTP/1.1 front door (Boost.Beast), and the router behind it.
//
// The server is deliberately dumb: it parses requests within hard limits, finds the route and runs
// its handler; every decision about *who may do what* is the handler's (the API layer checks
// sessions and tokens). What it guarantees to every handler and client:
//   * every answer it produces itself is a JSON error `{"error":{"code","reason","message"}}` with
//     the HTTP status of the canonical code (common/status.h): malformed request → 400
//     `bad_request`, header block over the cap → 431 `headers_too_large`, body over the route's
//     cap → 413 `body_too_large` (refused from Content-Length before the body is read), unknown
//     path → 404 `no_route`, known path with another method → 405 `method_not_allowed` with an
//     `Allow` header, a path segment that percent-decodes to '/', '\', NUL or invalid encoding →
//     400 `bad_path`, idle or slow client past `read_timeout` → connection closed;
//   * a handler that returns an error Status gets the same JSON error shape (ErrorResponse);
//   * a handler never sees more than its route's `max_body` bytes, and never runs concurrently
//     with itself on the same connection (HTTP/1.1: one request at a time per connection).
//
// Threading: `io_threads` threads do network I/O only; handlers run on a pool of
// `handler_threads` threads, so a handler may block (an fsync, a 30 s long-poll) without stalling
// other connections. At most `max_connections` are open at once; further ones are accepted and
// closed immediately.
//
// Thread-safety: Router is built before Start() and immutable afterwards. Start/Stop are called
// from one thread; Stop() may be called from a signal-handling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/status.h"

namespace elastos::server::http {

// Case-insensitive ordering for header names.
struct HeaderNameLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

struct Request {
  std::string method;  // upper case as sent: "GET", "PUT", …
  std::string target;  // as sent: path plus optional "?query"
  std::string path;    // the target before '?', still percent-encoded
  std::string query;   // after '?', without it ("" if none)
  std::map<std::string, std::string, HeaderNameLess> headers;
  std::string body;
  std::string peer;  // remote "address:port"
  // Route parameters, percent-decoded: `{name}` captures one segment, `{*name}` the rest of the
  // path (its decoded segments joined with '/'; may be empty).
  std::map<std::string, std::string, std::less<>> params;

  std::optional<std::string_view> Header(std::string_view name) const;
  // The first `name=value` of the query, percent-decoded ('+' is a space); nullopt if absent or
  // badly encoded.
  std::optional<std::string> Query(std::string_view name) const;
  std::string_view Param(std::string_view name) const;  // "" if absent
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;

  static Response Json(int status, std::string json_body);
  static Response Text(int status, std::string text, std::string content_type = "text/plain");
};

// `{"error":{"code":…,"reason":…,"message":…}}` with HttpStatus(status.code()). `status` must
// not be OK.
Response ErrorResponse(const Status& status);

using Handler = std::function<Response(Request& request)>;

struct RouteOptions {
  std::size_t max_body = 1 << 20;  // bytes; more → 413 before the body is read
};

class Router {
 public:
  // `pattern` is a path of literal segments, `{name}` (one segment) and at most one trailing
  // `{*name}` (the rest, possibly empty): "/api/capability/request/{id}",
  // "/api/localhost/{*path}", "/ipfs/{cid}/{*path}". A literal segment beats a parameter at the
  // same position, so "/api/capability/pending" and "/api/capability/{id}" coexist. Adding the
  // same method and pattern twice is a programming error (aborts).
  void Add(std::string_view method, std::string_view pattern, Handler handler,
           RouteOptions options = {});

  struct Match {
    const Handler* handler = nullptr;
    RouteOptions options;
    std::string pattern;  // the route's pattern (metrics label)
    std::map<std::string, std::string, std::less<>> params;
  };
  // The route for `method` and the encoded `path`, or an error: not_found/`no_route`,
  // invalid_argument/`bad_path`, or failed_precondition/`method_not_allowed` whose message is
  // the comma-separated allowed methods.
  Result<Match> Find(std::string_view method, std::string_view path) const;

 private:
  struct Route;
  std::vector<std::shared_ptr<const Route>> routes_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port (see HttpServer::port())
  unsigned io_threads = 1;
  unsigned handler_threads = 16;
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{30000};  // whole request (headers + body)
};

// Counters for the metrics endpoint.
struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // over max_connections
  std::uint64_t connections_open = 0;
  // (route pattern or "-" for server-produced answers, method, status) → count
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> responses;
};

class HttpServer {
 public:
  // Binds and listens (so port() is known and connections queue), but serves nothing until
  // Start(). Errors: unavailable/`address_in_use`, invalid_argument/`bad_listen_address`.
  static Result<std::unique_ptr<HttpServer>> Listen(Router router, const ServerOptions& options);
  ~HttpServer();  // Stop()s

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts the I/O and handler threads; returns at once.
  void Start();
  // Stops accepting, closes every connection (handlers already running finish; their answers
  // are dropped), joins all threads. Idempotent.
  void Stop();

  std::uint16_t port() const;
  std::string host() const;
  ServerStats stats() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes one path segment or query component. nullopt on a bad escape. With
// `plus_is_space`, '+' decodes to ' ' (query strings).
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);

// The string as a JSON string literal (quotes included), for hand-built bodies.
std::string JsonQuote(std::string_view s);

}  // namespace elastos::server::http
