#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace elastos::server::http {
namespace {

using namespace std::chrono_literals;

// Bounded waits in these tests are safety nets against hangs, never pass/fail thresholds.
constexpr auto kSafetyWait = 10s;

// ---------------------------------------------------------------------------------------------
// A deliberately dumb blocking client: raw bytes out, so malformed requests can be sent.

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string, HeaderNameLess> headers;
  std::string body;

  std::string Header(std::string_view name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool HasHeader(std::string_view name) const { return headers.find(name) != headers.end(); }
};

class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{};
    tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kSafetyWait).count();
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  const std::string& buffered() const { return buf_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // One response; nullopt if the connection ends (or the safety timeout passes) before it does.
  std::optional<RawResponse> Read(bool head_request = false) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    RawResponse r;
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[line.substr(0, colon)] = value;
    }
    const bool no_body = head_request || r.status < 200 || r.status == 204 || r.status == 304;
    if (no_body) return r;
    if (r.HasHeader("Content-Length")) {
      const std::size_t n = std::stoul(r.Header("Content-Length"));
      while (buf_.size() < n) {
        if (!Fill()) return std::nullopt;
      }
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
    } else {
      while (Fill()) {
      }
      r.body = std::move(buf_);
      buf_.clear();
    }
    return r;
  }

  // True when the server closes the connection (EOF or reset); bytes received before that are
  // kept in buffered(). False if it is still open after the safety timeout.
  bool WaitClosed() {
    for (;;) {
      char tmp[4096];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return true;
      if (errno == EINTR) continue;
      return errno == ECONNRESET || errno == EPIPE;
    }
  }

 private:
  bool Fill() {
    char tmp[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "",
                std::string_view method = "GET") {
  std::string r(method);
  r += " ";
  r += target;
  r += " HTTP/1.1\r\nHost: test\r\n";
  r += extra_headers;
  r += "\r\n";
  return r;
}

std::optional<RawResponse> RoundTrip(std::uint16_t port, std::string_view raw) {
  Client c(port);
  if (!c.connected() || !c.Send(raw)) return std::nullopt;
  return c.Read(raw.substr(0, 5) == "HEAD ");
}

// "code/reason" of a JSON error body, or what went wrong parsing it.
std::string ErrorOf(const RawResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return "not json: " + r.body;
  const boost::json::object* err =
      v.as_object().if_contains("error") ? v.as_object().at("error").if_object() : nullptr;
  if (err == nullptr || err->size() != 3 || !err->contains("code") || !err->contains("reason") ||
      !err->contains("message") || !err->at("code").is_string() || !err->at("reason").is_string() ||
      !err->at("message").is_string()) {
    return "bad error shape: " + r.body;
  }
  return std::string(err->at("code").as_string()) + "/" +
         std::string(err->at("reason").as_string());
}

// A handler that answers with its route label and parameters: "label|k=v;k=v".
Handler Echo(std::string label) {
  return [label](Request& req) {
    std::string out = label + "|";
    bool first = true;
    for (const auto& [k, v] : req.params) {
      if (!first) out += ";";
      first = false;
      out += k + "=" + v;
    }
    return Response::Text(200, out);
  };
}

std::unique_ptr<HttpServer> StartServer(Router router, ServerOptions options = {}) {
  options.host = "127.0.0.1";
  options.port = 0;
  auto listened = HttpServer::Listen(std::move(router), options);
  if (!listened.ok()) {
    ADD_FAILURE() << listened.status().ToString();
    return nullptr;
  }
  std::unique_ptr<HttpServer> server = std::move(listened).value();
  server->Start();
  return server;
}

// Polls `done` until it holds or the safety wait passes.
template <typename F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kSafetyWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Free functions.

TEST(HttpUtil, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", /*plus_is_space=*/true), "a b");
  EXPECT_EQ(PercentDecode("%e2%82%ac"), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode(""), "");
  EXPECT_EQ(PercentDecode("%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%4"), std::nullopt);
  EXPECT_EQ(PercentDecode("%zz"), std::nullopt);
  EXPECT_EQ(PercentDecode("ok%g0"), std::nullopt);
  EXPECT_EQ(PercentDecode("%00"), std::string(1, '\0'));
}

TEST(HttpUtil, JsonQuote) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("\n\t\r\b\f"), "\"\\n\\t\\r\\b\\f\"");
  EXPECT_EQ(JsonQuote(std::string("\x01\x7f", 2)), "\"\\u0001\\u007f\"");
  EXPECT_EQ(JsonQuote(std::string(1, '\0')), "\"\\u0000\"");
  EXPECT_EQ(JsonQuote("\xe2\x82\xac"), "\"\xe2\x82\xac\"");           // valid UTF-8 passes through
  EXPECT_EQ(JsonQuote("\xff"), "\"\\ufffd\"");                        // invalid bytes are replaced
  EXPECT_EQ(JsonQuote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong '/'
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  // Whatever the input, the output parses as a JSON string holding valid UTF-8.
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(JsonQuote(s), ec);
    EXPECT_FALSE(ec) << i;
    if (!ec) {
      EXPECT_TRUE(v.is_string());
    }
  }
}

TEST(HttpUtil, ErrorResponseShape) {
  Response r = ErrorResponse(PermissionDenied("token_expired", "the token \"x\" expired"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"error\":{\"code\":\"permission_denied\",\"reason\":\"token_expired\","
            "\"message\":\"the token \\\"x\\\" expired\"}}");
  EXPECT_EQ(ErrorResponse(NotFound("no_route", "x")).status, 404);
  EXPECT_EQ(ErrorResponse(Unavailable("busy", "x")).status, 503);
  // Misuse with OK does not produce a 200.
  EXPECT_EQ(ErrorResponse(OkStatus()).status, 500);
}

TEST(HttpUtil, RequestAccessors) {
  Request req;
  req.headers["Content-Type"] = "text/plain";
  req.query = "a=1&name=J%C3%BCrgen+M&empty=&flag&bad=%zz&a=2&sp%61ce=x";
  req.params["id"] = "42";
  EXPECT_EQ(req.Header("content-type"), "text/plain");
  EXPECT_EQ(req.Header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(req.Header("accept"), std::nullopt);
  EXPECT_EQ(req.Query("a"), "1");  // the first occurrence
  EXPECT_EQ(req.Query("name"), "J\xc3\xbcrgen M");
  EXPECT_EQ(req.Query("empty"), "");
  EXPECT_EQ(req.Query("flag"), "");
  EXPECT_EQ(req.Query("bad"), std::nullopt);
  EXPECT_EQ(req.Query("space"), "x");  // names are decoded too
  EXPECT_EQ(req.Query("missing"), std::nullopt);
  EXPECT_EQ(req.Param("id"), "42");
  EXPECT_EQ(req.Param("nope"), "");
  HeaderNameLess less;
  EXPECT_FALSE(less("Host", "host"));
  EXPECT_FALSE(less("host", "Host"));
  EXPECT_TRUE(less("accept", "Host"));
}

// ---------------------------------------------------------------------------------------------
// Router.

Router SampleRouter() {
  Router r;
  r.Add("GET", "/", Echo("root"));
  r.Add("GET", "/api/capability/pending", Echo("pending"));
  r.Add("GET", "/api/capability/{id}", Echo("cap"));
  r.Add("DELETE", "/api/capability/{id}", Echo("cap-delete"));
  r.Add("POST", "/api/capability/request/{id}", Echo("request"));
  r.Add("GET", "/api/localhost/{*path}", Echo("localhost"));
  r.Add("GET", "/ipfs/{cid}/{*path}", Echo("ipfs"));
  r.Add("GET", "/ipfs/{cid}/special", Echo("ipfs-special"));
  r.Add("GET", "/head-only", Echo("get"));
  r.Add("HEAD", "/head-only", Echo("head"));
  return r;
}

std::string Label(const Result<Router::Match>& m) {
  if (!m.ok()) return "error:" + m.status().reason();
  Request req;
  req.params = m->params;
  return (*m->handler)(req).body;
}

TEST(HttpRouter, LiteralBeatsParameter) {
  Router r = SampleRouter();
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/pending")), "pending|");
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/abc")), "cap|id=abc");
  EXPECT_EQ(r.Find("GET", "/api/capability/abc")->pattern, "/api/capability/{id}");
  EXPECT_EQ(Label(r.Find("GET", "/ipfs/Qm1/special")), "ipfs-special|cid=Qm1");
  EXPECT_EQ(Label(r.Find("GET", "/ipfs/Qm1/special/more")), "ipfs|cid=Qm1;path=special/more");
  // The path picks the resource first: DELETE on the literal is not the parameter route's.
  auto m = r.Find("DELETE", "/api/capability/pending");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().reason(), "method_not_allowed");
  EXPECT_EQ(m.status().message(), "GET");
  EXPECT_EQ(Label(r.Find("DELETE", "/api/capability/abc")), "cap-delete|id=abc");
}

TEST(HttpRouter, RestCapturesTheRemainderPossiblyEmpty) {
  Router r = SampleRouter();
  EXPECT_EQ(Label(r.Find("GET", "/api/localhost/a/b/c.txt")), "localhost|path=a/b/c.txt");
  EXPECT_EQ(Label(r.Find("GET", "/api/localhost/x")), "localhost|path=x");
  EXPECT_EQ(Label(r.Find("GET", "/api/localhost/")), "localhost|path=");
  EXPECT_EQ(Label(r.Find("GET", "/api/localhost")), "localhost|path=");
  EXPECT_EQ(Label(r.Find("GET", "/ipfs/Qm1")), "ipfs|cid=Qm1;path=");
  EXPECT_EQ(Label(r.Find("GET", "/ipfs/Qm1/")), "ipfs|cid=Qm1;path=");
  EXPECT_EQ(Label(r.Find("GET", "/")), "root|");
}

TEST(HttpRouter, DecodesEachSegment) {
  Router r = SampleRouter();
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/a%20b")), "cap|id=a b");
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/%70ending")), "pending|");
  EXPECT_EQ(Label(r.Find("GET", "/api/localhost/d%C3%A9j%C3%A0/x%2By")),
            "localhost|path=d\xc3\xa9j\xc3\xa0/x+y");
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/a+b")), "cap|id=a+b");  // '+' is literal in paths
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/...")), "cap|id=...");
}

TEST(HttpRouter, RefusesBadPaths) {
  Router r = SampleRouter();
  for (const char* path : {
           "/api/capability/a%2Fb",      // encoded '/'
           "/api/capability/a%2fb",      // lower case too
           "/api/capability/a%5Cb",      // encoded '\'
           "/api/capability/a\\b",       // raw '\'
           "/api/capability/a%00",       // NUL
           "/api/capability/%zz",        // bad escape
           "/api/capability/%4",         // truncated escape
           "/api/localhost/%2e%2e/etc",  // encoded ".."
           "/api/localhost/../etc",      // raw ".."
           "/api/localhost/./x",         // "."
           "/api/localhost/%2E",         // encoded "."
           "/api/localhost/a//b",        // empty segment inside the rest
           "//api/capability/x",         // empty first segment
           "/api/capability//x",         // "//"
           "/api/capability/x/",         // trailing '/' not captured by a {*rest}
           "/api/localhost/a/",          // trailing '/' inside a non-empty rest
           "api/capability/x",           // no leading '/'
           "",                           //
           "*",                          // OPTIONS * form
           "http://host/api/x",          // absolute form
       }) {
    auto m = r.Find("GET", path);
    EXPECT_FALSE(m.ok()) << path;
    EXPECT_EQ(m.status().reason(), "bad_path") << path;
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument) << path;
  }
}

TEST(HttpRouter, NoRouteAndMethodNotAllowed) {
  Router r = SampleRouter();
  auto none = r.Find("GET", "/api/nothing");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_EQ(none.status().reason(), "no_route");
  EXPECT_EQ(r.Find("GET", "/api/capability/request/x/y").status().reason(), "no_route");
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/request")), "cap|id=request");
  auto wrong = r.Find("PUT", "/api/capability/abc");
  EXPECT_EQ(wrong.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(wrong.status().reason(), "method_not_allowed");
  EXPECT_EQ(wrong.status().message(), "DELETE, GET");
  // Methods are case-sensitive and HEAD is not implicitly GET.
  EXPECT_EQ(r.Find("get", "/api/capability/abc").status().reason(), "method_not_allowed");
  EXPECT_EQ(r.Find("HEAD", "/api/capability/abc").status().reason(), "method_not_allowed");
  EXPECT_EQ(Label(r.Find("HEAD", "/head-only")), "head|");
  // The query string never reaches the router (the server strips it); a '?' here is data.
  EXPECT_EQ(Label(r.Find("GET", "/api/capability/a?b")), "cap|id=a?b");
}

TEST(HttpRouter, DuplicateRouteAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Router r;
        r.Add("GET", "/a/{x}", Echo("1"));
        r.Add("GET", "/a/{y}", Echo("2"));
      },
      "added twice");
  EXPECT_DEATH(
      {
        Router r;
        r.Add("GET", "/a/{*x}/b", Echo("1"));
      },
      "last segment");
  Router ok;
  ok.Add("GET", "/a/{x}", Echo("1"));
  ok.Add("PUT", "/a/{x}", Echo("2"));  // another method is fine
}

// ---------------------------------------------------------------------------------------------
// Server over loopback.

TEST(HttpServer, RoutesOverTheWire) {
  auto server = StartServer(SampleRouter());
  ASSERT_NE(server, nullptr);
  const std::uint16_t port = server->port();
  EXPECT_NE(port, 0);
  EXPECT_EQ(server->host(), "127.0.0.1");
  struct Case {
    const char* target;
    const char* body;
  };
  for (const Case& c : {
           Case{"/api/capability/pending", "pending|"},
           Case{"/api/capability/abc?x=1", "cap|id=abc"},
           Case{"/api/capability/a%20b", "cap|id=a b"},
           Case{"/api/localhost/a/b/c.txt", "localhost|path=a/b/c.txt"},
           Case{"/api/localhost/", "localhost|path="},
           Case{"/ipfs/Qm1/special", "ipfs-special|cid=Qm1"},
           Case{"/ipfs/Qm1/x/y?path=ignored", "ipfs|cid=Qm1;path=x/y"},
           Case{"/", "root|"},
       }) {
    auto r = RoundTrip(port, Get(c.target));
    ASSERT_TRUE(r.has_value()) << c.target;
    EXPECT_EQ(r->status, 200) << c.target;
    EXPECT_EQ(r->body, c.body) << c.target;
  }
}

TEST(HttpServer, BadPathsAre400) {
  auto server = StartServer(SampleRouter());
  ASSERT_NE(server, nullptr);
  for (const char* target :
       {"/api/capability/a%2Fb", "/api/localhost/%2e%2e/etc", "/api/capability/x%00",
        "/api//capability/x", "/api/capability/%", "/api/localhost/../../etc/passwd"}) {
    auto r = RoundTrip(server->port(), Get(target));
    ASSERT_TRUE(r.has_value()) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(ErrorOf(*r), "invalid_argument/bad_path") << target;
  }
}

TEST(HttpServer, NoRouteIs404AndWrongMethodIs405WithAllow) {
  auto server = StartServer(SampleRouter());
  ASSERT_NE(server, nullptr);
  auto missing = RoundTrip(server->port(), Get("/nothing/here"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorOf(*missing), "not_found/no_route");

  auto wrong = RoundTrip(server->port(), Get("/api/capability/abc", "", "PUT"));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->Header("Allow"), "DELETE, GET");
  EXPECT_EQ(ErrorOf(*wrong), "failed_precondition/method_not_allowed");

  // HEAD only where registered: a HEAD answer carries the length but no body.
  Client c(server->port());
  ASSERT_TRUE(c.Send(Get("/head-only", "", "HEAD")));
  auto head = c.Read(/*head_request=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Length"), "5");  // "head|"
  ASSERT_TRUE(c.Send(Get("/api/capability/x", "", "HEAD")));
  auto head405 = c.Read(/*head_request=*/true);
  ASSERT_TRUE(head405.has_value());
  EXPECT_EQ(head405->status, 405);
  EXPECT_EQ(head405->Header("Allow"), "DELETE, GET");
  // The connection is still in sync: no stray body bytes were sent.
  ASSERT_TRUE(c.Send(Get("/head-only")));
  auto get = c.Read();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, "get|");
}

TEST(HttpServer, EveryResponseCarriesTheStandardHeaders) {
  Router router;
  router.Add("GET", "/custom", [](Request&) {
    Response r = Response::Text(201, "made", "text/plain; charset=utf-8");
    r.headers.emplace_back("X-Ok", "1");
    r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: stolen=1");  // header injection
    r.headers.emplace_back("Content-Length", "999");                // framing is the server's
    r.headers.emplace_back("Server", "spoofed");
    return r;
  });
  router.Add("GET", "/cached", [](Request&) {
    Response r = Response::Json(200, "{}");
    r.headers.emplace_back("Cache-Control", "public, max-age=60");
    return r;
  });
  auto server = StartServer(std::move(router));
  ASSERT_NE(server, nullptr);
  for (const char* target : {"/custom", "/missing", "/custom%zz"}) {
    auto r = RoundTrip(server->port(), Get(target));
    ASSERT_TRUE(r.has_value()) << target;
    EXPECT_TRUE(r->HasHeader("Content-Type")) << target;
    EXPECT_EQ(r->Header("Content-Length"), std::to_string(r->body.size())) << target;
    EXPECT_EQ(r->Header("Cache-Control"), "no-store") << target;
    EXPECT_EQ(r->Header("X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(r->Header("Server"), "elastos") << target;
  }
  auto custom = RoundTrip(server->port(), Get("/custom"));
  ASSERT_TRUE(custom.has_value());
  EXPECT_EQ(custom->status, 201);
  EXPECT_EQ(custom->body, "made");
  EXPECT_EQ(custom->Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(custom->Header("X-Ok"), "1");
  EXPECT_FALSE(custom->HasHeader("X-Evil"));
  EXPECT_FALSE(custom->HasHeader("Set-Cookie"));
  auto missing = RoundTrip(server->port(), Get("/missing"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->Header("Content-Type"), "application/json");
  // A handler may deliberately relax caching; the default stays no-store.
  auto cached = RoundTrip(server->port(), Get("/cached"));
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->Header("Cache-Control"), "public, max-age=60");
}

struct UploadServer {
  std::atomic<int> calls{0};
  std::atomic<std::size_t> last_size{0};
  std::unique_ptr<HttpServer> server;

  explicit UploadServer(ServerOptions options = {}) {
    Router router;
    router.Add(
        "POST", "/upload",
        [this](Request& req) {
          calls.fetch_add(1);
          last_size = req.body.size();
          return Response::Text(200, "got " + std::to_string(req.body.size()));
        },
        RouteOptions{.max_body = 1024});
    router.Add("GET", "/ok", [](Request&) { return Response::Text(200, "ok"); });
    server = StartServer(std::move(router), options);
  }
};

TEST(HttpServer, ContentLengthOverTheCapIs413BeforeTheBodyIsRead) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  Client c(s.server->port());
  // Only the header is sent: the answer must come without the server waiting for the body.
  ASSERT_TRUE(c.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(ErrorOf(*r), "resource_exhausted/body_too_large");
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(s.calls.load(), 0);

  // At the cap exactly is fine.
  auto fits = RoundTrip(
      s.server->port(),
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x'));
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body, "got 1024");
}

TEST(HttpServer, ChunkedBodyOverTheCapIs413) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  std::string chunked = "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  auto r = RoundTrip(s.server->port(), chunked);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(ErrorOf(*r), "resource_exhausted/body_too_large");
  EXPECT_EQ(s.calls.load(), 0);

  // Under the cap the decoded body reaches the handler.
  auto ok = RoundTrip(s.server->port(),
                      "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "got 11");
}

TEST(HttpServer, BodyOfAnUnroutedRequestIsNotRead) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  Client c(s.server->port());
  ASSERT_TRUE(c.Send("POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("Connection"), "close");  // the unread body leaves the stream unusable
  EXPECT_TRUE(c.WaitClosed());
}

TEST(HttpServer, ExpectContinue) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  Client c(s.server->port());
  ASSERT_TRUE(c.Send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto cont = c.Read();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "got 5");
}

TEST(HttpServer, HugeHeaderIs431) {
  ServerOptions options;
  options.max_header_bytes = 4096;
  UploadServer s(options);
  ASSERT_NE(s.server, nullptr);
  auto r = RoundTrip(s.server->port(), Get("/ok", "X-Big: " + std::string(8000, 'a') + "\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(ErrorOf(*r), "resource_exhausted/headers_too_large");
  auto small =
      RoundTrip(s.server->port(), Get("/ok", "X-Small: " + std::string(1000, 'a') + "\r\n"));
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->status, 200);
}

TEST(HttpServer, MalformedRequestIs400Json) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  for (const char* raw : {
           "GARBAGE\r\n\r\n",
           "GET\r\n\r\n",
           "GET /ok HTTP/9.9\r\n\r\n",
           "GET /ok HTTP/1.1\r\nBad Header\r\n\r\n",
           "POST /upload HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
           "POST /upload HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
           "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           // Framing a proxy could read differently (request smuggling).
           "POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
           "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
           "POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
           "POST /upload HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
           "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
       }) {
    auto r = RoundTrip(s.server->port(), raw);
    ASSERT_TRUE(r.has_value()) << raw;
    EXPECT_EQ(r->status, 400) << raw;
    EXPECT_EQ(ErrorOf(*r), "invalid_argument/bad_request") << raw;
    EXPECT_EQ(r->Header("Content-Type"), "application/json") << raw;
  }
  EXPECT_EQ(s.calls.load(), 0);
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  Client c(s.server->port());
  ASSERT_TRUE(c.Send(Get("/ok")));
  auto first = c.Read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_NE(first->Header("Connection"), "close");
  ASSERT_TRUE(c.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
  auto second = c.Read();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "got 3");
  // Pipelined: both requests in one write, answered in order.
  ASSERT_TRUE(c.Send(Get("/nope") + Get("/ok")));
  auto third = c.Read();
  auto fourth = c.Read();
  ASSERT_TRUE(third.has_value());
  ASSERT_TRUE(fourth.has_value());
  EXPECT_EQ(third->status, 404);
  EXPECT_EQ(fourth->status, 200);
  EXPECT_EQ(s.server->stats().connections_accepted, 1u);
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  Client c(s.server->port());
  ASSERT_TRUE(c.Send(Get("/ok", "Connection: close\r\n")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_TRUE(c.buffered().empty());

  // HTTP/1.0 without keep-alive closes too.
  Client old(s.server->port());
  ASSERT_TRUE(old.Send("GET /ok HTTP/1.0\r\n\r\n"));
  auto r10 = old.Read();
  ASSERT_TRUE(r10.has_value());
  EXPECT_EQ(r10->status, 200);
  EXPECT_TRUE(old.WaitClosed());
}

TEST(HttpServer, BlockingHandlerDoesNotStallOtherConnections) {
  std::mutex mu;
  std::condition_variable cv;
  bool slow_entered = false;
  bool fast_ran = false;
  int sequence = 0;
  int fast_done = 0;
  int slow_done = 0;
  Router router;
  router.Add("GET", "/slow", [&](Request&) {
    {
      std::lock_guard<std::mutex> lock(mu);
      slow_entered = true;
    }
    cv.notify_all();
    std::this_thread::sleep_for(300ms);
    std::unique_lock<std::mutex> lock(mu);
    // Only the safety wait could end this without the fast request: that would mean the slow
    // handler stalled everything else.
    const bool saw_fast = cv.wait_for(lock, kSafetyWait, [&] { return fast_ran; });
    slow_done = ++sequence;
    return Response::Text(200, saw_fast ? "after-fast" : "fast-never-ran");
  });
  router.Add("GET", "/fast", [&](Request&) {
    {
      std::lock_guard<std::mutex> lock(mu);
      fast_ran = true;
      fast_done = ++sequence;
    }
    cv.notify_all();
    return Response::Text(200, "fast");
  });
  ServerOptions options;
  options.io_threads = 1;
  options.handler_threads = 2;
  auto server = StartServer(std::move(router), options);
  ASSERT_NE(server, nullptr);

  Client slow(server->port());
  ASSERT_TRUE(slow.Send(Get("/slow")));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kSafetyWait, [&] { return slow_entered; }));
  }
  Client fast(server->port());
  ASSERT_TRUE(fast.Send(Get("/fast")));
  auto fr = fast.Read();
  ASSERT_TRUE(fr.has_value());
  EXPECT_EQ(fr->body, "fast");
  auto sr = slow.Read();
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->body, "after-fast");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_LT(fast_done, slow_done);
}

TEST(HttpServer, ReadTimeoutClosesIdleAndHalfSentRequests) {
  ServerOptions options;
  options.read_timeout = 200ms;
  UploadServer s(options);
  ASSERT_NE(s.server, nullptr);
  Client half(s.server->port());
  ASSERT_TRUE(half.Send("GET /ok HTTP/1.1\r\nHost: t\r\n"));  // never finished
  Client idle(s.server->port());                              // never sends anything
  Client body(s.server->port());
  ASSERT_TRUE(body.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(half.WaitClosed());
  EXPECT_TRUE(half.buffered().empty());
  EXPECT_TRUE(idle.WaitClosed());
  EXPECT_TRUE(body.WaitClosed());
  EXPECT_EQ(s.calls.load(), 0);
  // Idle after a complete request on a keep-alive connection: closed as well.
  Client kept(s.server->port());
  ASSERT_TRUE(kept.Send(Get("/ok")));
  auto r = kept.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(kept.WaitClosed());
}

TEST(HttpServer, ConnectionsOverTheLimitAreRefused) {
  ServerOptions options;
  options.max_connections = 2;
  UploadServer s(options);
  ASSERT_NE(s.server, nullptr);
  auto one = std::make_unique<Client>(s.server->port());
  Client two(s.server->port());
  for (Client* c : {one.get(), &two}) {
    ASSERT_TRUE(c->Send(Get("/ok")));
    auto r = c->Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  Client three(s.server->port());
  ASSERT_TRUE(three.connected());  // the kernel completes the handshake; the server closes it
  EXPECT_TRUE(three.WaitClosed());
  EXPECT_TRUE(three.buffered().empty());
  EXPECT_EQ(s.server->stats().connections_refused, 1u);
  EXPECT_EQ(s.server->stats().connections_open, 2u);

  one.reset();
  EXPECT_TRUE(Eventually([&] { return s.server->stats().connections_open == 1; }));
  auto r = RoundTrip(s.server->port(), Get("/ok"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(s.server->stats().connections_accepted, 3u);
}

TEST(HttpServer, HandlerSeesDecodedQueryHeadersBodyAndPeer) {
  std::mutex mu;
  Request seen;
  Router router;
  router.Add("POST", "/items/{id}", [&](Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    seen = req;
    return Response::Json(200, "{\"q\":" + JsonQuote(req.Query("q").value_or("<none>")) + "}");
  });
  auto server = StartServer(std::move(router));
  ASSERT_NE(server, nullptr);
  auto r = RoundTrip(server->port(),
                     "POST /items/a%2Bb?q=hello+w%C3%B6rld&n=1 HTTP/1.1\r\nHost: t\r\n"
                     "X-Multi: a\r\nx-multi: b\r\nContent-Length: 4\r\n\r\nbody");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"q\":\"hello w\xc3\xb6rld\"}");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/items/a%2Bb?q=hello+w%C3%B6rld&n=1");
  EXPECT_EQ(seen.path, "/items/a%2Bb");
  EXPECT_EQ(seen.query, "q=hello+w%C3%B6rld&n=1");
  EXPECT_EQ(seen.Param("id"), "a+b");
  EXPECT_EQ(seen.Query("n"), "1");
  EXPECT_EQ(seen.body, "body");
  EXPECT_EQ(seen.Header("x-multi"), "a, b");
  EXPECT_EQ(seen.Header("HOST"), "t");
  EXPECT_EQ(seen.peer.rfind("127.0.0.1:", 0), 0u) << seen.peer;
}

TEST(HttpServer, HandlerErrorsBecomeJsonErrors) {
  Router router;
  router.Add("GET", "/denied", [](Request&) {
    return ErrorResponse(PermissionDenied("no_capability", "this needs storage.write"));
  });
  router.Add("GET", "/throws", [](Request&) -> Response { throw std::runtime_error("boom"); });
  router.Add("GET", "/bad-status", [](Request&) { return Response::Text(42, "?"); });
  router.Add("GET", "/empty", [](Request&) { return Response::Text(204, "ignored"); });
  auto server = StartServer(std::move(router));
  ASSERT_NE(server, nullptr);
  auto denied = RoundTrip(server->port(), Get("/denied"));
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(ErrorOf(*denied), "permission_denied/no_capability");
  auto thrown = RoundTrip(server->port(), Get("/throws"));
  ASSERT_TRUE(thrown.has_value());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(ErrorOf(*thrown), "internal/handler_exception");
  auto bad = RoundTrip(server->port(), Get("/bad-status"));
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 500);
  EXPECT_EQ(ErrorOf(*bad), "internal/bad_status");
  // The server is still serving; a 204 carries no body (nor Content-Length) and the connection
  // stays in sync.
  Client c(server->port());
  ASSERT_TRUE(c.Send(Get("/empty") + Get("/denied")));
  auto empty = c.Read();
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->status, 204);
  EXPECT_FALSE(empty->HasHeader("Content-Length"));
  EXPECT_EQ(empty->Header("Cache-Control"), "no-store");
  auto again = c.Read();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 403);
}

TEST(HttpServer, StatsCountConnectionsAndResponses) {
  UploadServer s;
  ASSERT_NE(s.server, nullptr);
  for (const std::string& raw : {Get("/ok"), Get("/ok"), Get("/nope"), Get("/ok", "", "POST"),
                                 std::string("GARBAGE\r\n\r\n"), Get("/ok", "", "BREW")}) {
    ASSERT_TRUE(RoundTrip(s.server->port(), raw).has_value()) << raw;
  }
  const ServerStats stats = s.server->stats();
  EXPECT_EQ(stats.connections_accepted, 6u);
  EXPECT_EQ(stats.connections_refused, 0u);
  using Key = std::tuple<std::string, std::string, int>;
  auto count = [&](const Key& k) {
    auto it = stats.responses.find(k);
    return it == stats.responses.end() ? 0u : it->second;
  };
  EXPECT_EQ(count({"/ok", "GET", 200}), 2u);
  EXPECT_EQ(count({"-", "GET", 404}), 1u);
  EXPECT_EQ(count({"-", "POST", 405}), 1u);
  EXPECT_EQ(count({"-", "-", 400}), 1u);
  EXPECT_EQ(count({"-", "OTHER", 405}), 1u);  // unknown methods do not become labels
  EXPECT_EQ(stats.responses.size(), 5u);
  EXPECT_TRUE(Eventually([&] { return s.server->stats().connections_open == 0; }));
}

TEST(HttpServer, ListenErrors) {
  ServerOptions bad;
  bad.host = "localhost";  // names are not resolved
  auto r = HttpServer::Listen(Router(), bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "bad_listen_address");
  bad.host = "300.1.1.1";
  EXPECT_EQ(HttpServer::Listen(Router(), bad).status().reason(), "bad_listen_address");

  auto first = HttpServer::Listen(Router(), ServerOptions{});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ServerOptions same;
  same.port = (*first)->port();
  auto second = HttpServer::Listen(Router(), same);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_EQ(second.status().reason(), "address_in_use");

  // Listening but not started: connections queue; Stop() without Start() is fine.
  Client queued((*first)->port());
  EXPECT_TRUE(queued.connected());
  (*first)->Stop();
  (*first)->Stop();
}

TEST(HttpServer, ListensOnIpv6Loopback) {
  ServerOptions options;
  options.host = "::1";
  Router router;
  router.Add("GET", "/ok", [](Request&) { return Response::Text(200, "ok"); });
  auto r = HttpServer::Listen(std::move(router), options);
  if (!r.ok()) {
    GTEST_SKIP() << "no IPv6 loopback here: " << r.status().ToString();
  }
  EXPECT_EQ((*r)->host(), "::1");
  EXPECT_NE((*r)->port(), 0);
}

TEST(HttpServer, StopWhileAHandlerRunsAndClientsAreConnected) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::atomic<bool> finished{false};
  Router router;
  router.Add("GET", "/block", [&](Request&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, kSafetyWait, [&] { return release; });
    finished = true;
    return Response::Text(200, "too late");
  });
  router.Add("GET", "/ok", [](Request&) { return Response::Text(200, "ok"); });
  auto server = StartServer(std::move(router));
  ASSERT_NE(server, nullptr);

  Client busy(server->port());
  ASSERT_TRUE(busy.Send(Get("/block")));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kSafetyWait, [&] { return entered; }));
  }
  Client idle(server->port());
  Client half(server->port());
  ASSERT_TRUE(half.Send("GET /ok HTTP/1.1\r\n"));
  ASSERT_TRUE(Eventually([&] { return server->stats().connections_open == 3; }));

  std::thread stopper([&] { server->Stop(); });
  // Connections close while the handler is still blocked; Stop() then waits for it.
  EXPECT_TRUE(idle.WaitClosed());
  EXPECT_TRUE(half.WaitClosed());
  EXPECT_TRUE(busy.WaitClosed());
  EXPECT_FALSE(finished.load());
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  EXPECT_TRUE(finished.load());
  EXPECT_TRUE(busy.buffered().empty());  // its answer was dropped
  EXPECT_TRUE(idle.buffered().empty());
  EXPECT_EQ(server->stats().connections_open, 0u);
  server->Stop();  // idempotent
  server.reset();  // and the destructor after Stop() is fine
}

TEST(HttpServer, StopFromAHandlerFailsLoudly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        HttpServer* self = nullptr;
        Router router;
        router.Add("POST", "/shutdown", [&self](Request&) {
          self->Stop();  // would wait for this very thread
          return Response::Text(200, "unreachable");
        });
        auto server = StartServer(std::move(router));
        self = server.get();
        RoundTrip(server->port(), "POST /shutdown HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
      },
      "own I/O or handler threads");
}

TEST(HttpServer, DestructorStopsAServerWithOpenConnections) {
  auto s = std::make_unique<UploadServer>();
  ASSERT_NE(s->server, nullptr);
  Client a(s->server->port());
  ASSERT_TRUE(a.Send(Get("/ok")));
  ASSERT_TRUE(a.Read().has_value());
  Client b(s->server->port());
  ASSERT_TRUE(b.Send("POST /upload HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"));
  ASSERT_TRUE(Eventually([&] { return s->server->stats().connections_open == 2; }));
  s.reset();
  EXPECT_TRUE(a.WaitClosed());
  EXPECT_TRUE(b.WaitClosed());
}

// ---------------------------------------------------------------------------------------------
// Mini-fuzz: garbage, truncated and mutated requests over fresh connections.

std::string FuzzCase(std::mt19937& rng) {
  static const std::vector<std::string> kValid = {
      Get("/ok"),
      Get("/api/capability/abc?x=%41"),
      Get("/ok", "Connection: close\r\n"),
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
      "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
      "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
      Get("/api/localhost/a/b/c"),
      "GET /ok HTTP/1.0\r\n\r\n",
  };
  static const std::vector<std::string> kFragments = {
      "GET ",
      "POST ",
      "HEAD ",
      "DELETE ",
      "/",
      "//",
      "%",
      "%2F",
      "%00",
      "%zz",
      "..",
      "?",
      "&",
      "=",
      " HTTP/1.1",
      " HTTP/1.0",
      " HTTP/2.0",
      "\r\n",
      "\n",
      "\r",
      ": ",
      "Host",
      "Content-Length",
      "Transfer-Encoding",
      "chunked",
      "-1",
      "99999999999999999999",
      "0",
      "\t",
      " ",
      "\x00",
      "\xff",
      "Connection: close",
      "Expect: 100-continue",
      "{id}",
      "\r\n\r\n",
      "0\r\n\r\n",
  };
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::string out;
  switch (rng() % 5) {
    case 0: {  // random bytes
      out.resize(pick(300));
      for (char& c : out) c = static_cast<char>(rng());
      break;
    }
    case 1: {  // a valid request cut short
      const std::string& v = kValid[pick(kValid.size())];
      out = v.substr(0, pick(v.size() + 1));
      break;
    }
    case 2: {  // a valid request with a few bytes flipped, inserted or deleted
      out = kValid[pick(kValid.size())];
      for (int k = 1 + static_cast<int>(pick(4)); k > 0 && !out.empty(); --k) {
        const std::size_t at = pick(out.size());
        switch (rng() % 3) {
          case 0:
            out[at] = static_cast<char>(rng());
            break;
          case 1:
            out.insert(at, 1, static_cast<char>(rng()));
            break;
          default:
            out.erase(at, 1);
            break;
        }
      }
      break;
    }
    case 3: {  // soup of HTTP-ish fragments
      for (int k = static_cast<int>(pick(25)); k > 0; --k)
        out += kFragments[pick(kFragments.size())];
      break;
    }
    default: {  // several requests glued together, some broken
      for (int k = 1 + static_cast<int>(pick(3)); k > 0; --k) {
        const std::string& v = kValid[pick(kValid.size())];
        out += rng() % 4 == 0 ? v.substr(0, pick(v.size() + 1)) : v;
      }
      break;
    }
  }
  return out;
}

TEST(HttpServerFuzz, GarbageNeverTakesTheServerDown) {
  ServerOptions options;
  options.read_timeout = 2s;  // a safety net only: every client below half-closes or hangs up
  UploadServer s(options);
  ASSERT_NE(s.server, nullptr);
  std::mt19937 rng(20240611);
  int answered = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string raw = FuzzCase(rng);
    Client c(s.server->port());
    ASSERT_TRUE(c.connected()) << "connection " << i;
    c.Send(raw);  // the server may already have answered and closed: a failed send is fine
    if (rng() % 2 == 0) {
      c.ShutdownWrite();
      // Read whatever comes until the server closes; the client's timeout is the safety net.
      EXPECT_TRUE(c.WaitClosed()) << "connection " << i
                                  << " stayed open: " << ::testing::PrintToString(raw);
      if (c.buffered().rfind("HTTP/1.", 0) == 0) ++answered;
    }
  }
  EXPECT_GT(answered, 0);
  auto r = RoundTrip(s.server->port(), Get("/ok"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_TRUE(Eventually([&] { return s.server->stats().connections_open <= 1; }));
}

}  // namespace
}  // namespace elastos::server::http
