// CLI commands that talk to a running runtime over its HTTP API (docs/api.md):
//   elastos run FILE.capsule|NAME [-- ARGS]   install if needed, launch, stream output, exit with
//                                             the capsule's code; answers the shell's prompts at
//                                             the terminal when stdin is one
//   elastos capsule install FILE.capsule      verify and install into the runtime
// When no runtime is running on the data directory, `run` and `install` start one inside this
// process for their duration (same code, loopback port chosen by the kernel), so a user needs one
// command either way.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "server/cli.h"
#include "server/daemon.h"

namespace elastos::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr int kExitRunRefused = 125;

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// One keep-alive connection to the runtime's API.
class ApiClient {
 public:
  static Result<ApiClient> Connect(const std::string& url) {
    // url: http://HOST:PORT
    constexpr std::string_view kScheme = "http://";
    if (url.rfind(kScheme, 0) != 0) return InvalidArgument("bad_api_url", "runtime.json names " + url);
    std::string hostport = url.substr(kScheme.size());
    const std::size_t colon = hostport.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("bad_api_url", "runtime.json names " + url);
    ApiClient c;
    c.host_ = hostport.substr(0, colon);
    if (c.host_.size() > 2 && c.host_.front() == '[') c.host_ = c.host_.substr(1, c.host_.size() - 2);
    c.port_ = hostport.substr(colon + 1);
    ELASTOS_RETURN_IF_ERROR(c.Open());
    return c;
  }

  Result<Reply> Call(beast::http::verb method, const std::string& target, std::string body = "",
                     const std::string& content_type = "application/json") {
    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::http::request<beast::http::string_body> req{method, target, 11};
      req.set(beast::http::field::host, host_);
      if (!bearer_.empty()) req.set(beast::http::field::authorization, "Bearer " + bearer_);
      if (!body.empty() || method == beast::http::verb::post || method == beast::http::verb::put) {
        req.set(beast::http::field::content_type, content_type);
        req.body() = body;
        req.prepare_payload();
      }
      beast::error_code ec;
      beast::http::write(*stream_, req, ec);
      beast::flat_buffer buffer;
      beast::http::response_parser<beast::http::string_body> parser;
      parser.body_limit(1ull << 30);
      if (!ec) beast::http::read(*stream_, buffer, parser, ec);
      if (ec) {
        // A kept-alive connection the server closed: reconnect once.
        if (attempt == 0 && Open().ok()) continue;
        return Unavailable("runtime_unreachable", "the runtime's API did not answer: " + ec.message());
      }
      Reply r;
      r.status = static_cast<int>(parser.get().result_int());
      r.body = parser.get().body();
      for (const auto& f : parser.get()) r.headers[std::string(f.name_string())] = std::string(f.value());
      return r;
    }
    return Unavailable("runtime_unreachable", "the runtime's API did not answer");
  }

  void set_bearer(std::string b) { bearer_ = std::move(b); }

 private:
  Status Open() {
    io_ = std::make_unique<asio::io_context>();
    stream_ = std::make_unique<beast::tcp_stream>(*io_);
    tcp::resolver resolver(*io_);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (!ec) stream_->connect(endpoints, ec);
    if (ec) return Unavailable("runtime_unreachable", "cannot connect to the runtime: " + ec.message());
    return OkStatus();
  }

  std::string host_, port_, bearer_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<beast::tcp_stream> stream_;
};

// The error of an API reply, as a Status (for the CLI's usual error line).
Status ApiError(const Reply& r) {
  std::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* e = v.as_object().if_contains("error"); e && e->is_object()) {
      auto word = [&](const char* k) {
        const json::value* f = e->as_object().if_contains(k);
        return f && f->is_string() ? std::string(f->as_string()) : std::string();
      };
      return Status(ErrorCodeFromName(word("code")), word("reason"), word("message"));
    }
  }
  return Internal("api_error", "the runtime answered HTTP " + std::to_string(r.status));
}

std::string Member(const std::string& body, const char* key) {
  std::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const json::value* f = v.as_object().if_contains(key);
  if (f == nullptr) return "";
  return f->is_string() ? std::string(f->as_string()) : json::serialize(*f);
}

// A session with the runtime of `data_dir`: the running daemon's, or one started here.
struct Connection {
  std::unique_ptr<server::Daemon> embedded;
  std::optional<ApiClient> api;
};

Result<Connection> Attach(const GlobalOptions& global) {
  Connection c;
  std::string url, secret;
  Result<server::RuntimeInfoFile> info = server::ReadRuntimeInfo(global.DataDir());
  if (info.ok()) {
    Result<ApiClient> api = ApiClient::Connect(info->api_url);
    if (api.ok()) {
      Result<Reply> health = api->Call(beast::http::verb::get, "/api/health");
      if (health.ok() && health->status == 200) {
        c.api.emplace(std::move(*api));
        secret = info->attach_secret;
      }
    }
  }
  if (!c.api) {
    std::fprintf(stderr, "elastos: no runtime is running on %s; starting one for this command\n",
                 global.DataDir().c_str());
    server::DaemonOptions o;
    o.data_dir = global.DataDir();
    o.port = 0;
    ELASTOS_ASSIGN_OR_RETURN(c.embedded, server::Daemon::Start(o));
    ELASTOS_ASSIGN_OR_RETURN(ApiClient api, ApiClient::Connect(c.embedded->api_url()));
    c.api.emplace(std::move(api));
    secret = c.embedded->attach_secret();
  }
  json::object attach{{"secret", secret}, {"owner", "cli"}};
  ELASTOS_ASSIGN_OR_RETURN(Reply r, c.api->Call(beast::http::verb::post, "/api/auth/attach",
                                                json::serialize(attach)));
  if (r.status != 200) return ApiError(r);
  c.api->set_bearer(Member(r.body, "token"));
  return c;
}

// Installs the .capsule at `path`; returns its name.
Result<std::string> Install(ApiClient& api, const std::string& path) {
  ELASTOS_ASSIGN_OR_RETURN(Bytes file, ReadFileLimited(path, 256ull << 20));
  ELASTOS_ASSIGN_OR_RETURN(Reply r, api.Call(beast::http::verb::post, "/api/capsules",
                                             std::string(AsChars(file)), "application/vnd.ipld.car"));
  if (r.status != 201) return ApiError(r).WithContext(path);
  std::fprintf(stderr, "elastos: installed %s %s (%s), signed by %s\n", Member(r.body, "name").c_str(),
               Member(r.body, "version").c_str(), Member(r.body, "cid").c_str(),
               Member(r.body, "signer").c_str());
  return Member(r.body, "name");
}

// Shows the open prompts on the terminal and sends the person's answers.
void AnswerPrompts(ApiClient& api, std::vector<std::string>& seen) {
  std::string query = "/api/prompts?wait_ms=0";
  Result<Reply> r = api.Call(beast::http::verb::get, query);
  if (!r.ok() || r->status != 200) return;
  std::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return;
  for (const json::value& p : v.as_object().at("prompts").as_array()) {
    const std::string id = Member(json::serialize(p), "prompt_id");
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    const std::string body = json::serialize(p);
    std::fprintf(stderr, "\nelastos: %s (%s) asks for %s access to %s%s%s\n",
                 Member(body, "holder_name").c_str(), Member(body, "actor").c_str(),
                 Member(body, "action").c_str(), Member(body, "resource").c_str(),
                 Member(body, "reason").empty() ? "" : ": ", Member(body, "reason").c_str());
    std::fprintf(stderr, "allow? [y]es once / [s]ession / [a]lways / [N]o: ");
    std::string line;
    std::getline(std::cin, line);
    const char c = line.empty() ? 'n' : static_cast<char>(std::tolower(line[0]));
    json::object answer{{"answer", c == 'y' || c == 's' || c == 'a' ? "allow" : "deny"},
                        {"duration", c == 'y' ? "once" : c == 'a' ? "always" : "session"}};
    api.Call(beast::http::verb::post, "/api/prompts/" + id, json::serialize(answer)).status().IgnoreError();
  }
}

// Copies new bytes of one log stream to `out`; returns whether any arrived.
bool Drain(ApiClient& api, const std::string& id, const char* stream, std::uint64_t& offset, FILE* out) {
  Result<Reply> r = api.Call(beast::http::verb::get, "/api/instances/" + id + "/logs?stream=" + stream +
                                                         "&offset=" + std::to_string(offset));
  if (!r.ok() || r->status != 200 || r->body.empty()) return false;
  std::fwrite(r->body.data(), 1, r->body.size(), out);
  std::fflush(out);
  offset += r->body.size();
  return true;
}

int Run(const std::string& target, const std::vector<std::string>& args, const GlobalOptions& global) {
  Result<Connection> c = Attach(global);
  if (!c.ok()) {
    Fail(c.status());
    return kExitRunRefused;
  }
  ApiClient& api = *c->api;
  auto done = [&](int code) {
    if (c->embedded) c->embedded->Shutdown().IgnoreError();
    return code;
  };
  std::string name = target;
  if (fs::is_regular_file(target)) {
    Result<std::string> installed = Install(api, target);
    if (!installed.ok()) {
      Fail(installed.status());
      return done(kExitRunRefused);
    }
    name = *installed;
  }
  json::array jargs;
  for (const std::string& a : args) jargs.emplace_back(a);
  Result<Reply> launched = api.Call(beast::http::verb::post, "/api/capsules/" + name + "/launch",
                                    json::serialize(json::object{{"args", jargs}}));
  if (!launched.ok() || launched->status != 201) {
    Fail(launched.ok() ? ApiError(*launched) : launched.status());
    return done(kExitRunRefused);
  }
  const std::string id = Member(launched->body, "id");
  std::fprintf(stderr, "elastos: launched %s as %s\n", name.c_str(), id.c_str());
  const bool interactive = ::isatty(0) != 0;
  std::vector<std::string> seen;
  std::uint64_t out_offset = 0, err_offset = 0;
  for (;;) {
    if (interactive) AnswerPrompts(api, seen);
    Result<Reply> wait = api.Call(beast::http::verb::get, "/api/instances/" + id + "/wait?wait_ms=100");
    if (!wait.ok()) {
      Fail(wait.status());
      return done(kExitRunRefused);
    }
    const bool more = Drain(api, id, "stdout", out_offset, stdout) | Drain(api, id, "stderr", err_offset, stderr);
    if (Member(wait->body, "status") != "running" && !more) {
      const std::string code = Member(wait->body, "exit_code");
      const std::string reason = Member(wait->body, "reason");
      if (!reason.empty() && reason != "exited") {
        std::fprintf(stderr, "elastos: %s ended: %s\n", name.c_str(), reason.c_str());
      }
      return done(code.empty() ? kExitRunRefused : std::stoi(code));
    }
  }
}

}  // namespace

void AddClientCommands(CLI::App& app, CLI::App& capsule, const GlobalOptions& global, int& exit_code) {
  auto* run = app.add_subcommand(
      "run", "Run a capsule under the runtime (starting one for the run if none is running)");
  auto target = std::make_shared<std::string>();
  auto args = std::make_shared<std::vector<std::string>>();
  run->add_option("capsule", *target, "A .capsule file (installed first) or an installed capsule's name")
      ->required();
  run->add_option("args", *args, "Arguments for the capsule (after --)");
  run->callback([&global, &exit_code, target, args] { exit_code = Run(*target, *args, global); });

  auto* install = capsule.add_subcommand("install", "Verify a .capsule and install it into the runtime");
  auto file = std::make_shared<std::string>();
  install->add_option("file", *file, "The .capsule file")->required()->check(CLI::ExistingFile);
  install->callback([&global, &exit_code, file] {
    Result<Connection> c = Attach(global);
    if (!c.ok()) {
      exit_code = Fail(c.status());
      return;
    }
    Result<std::string> name = Install(*c->api, *file);
    exit_code = name.ok() ? kExitOk : Fail(name.status());
    if (c->embedded) c->embedded->Shutdown().IgnoreError();
  });
}

}  // namespace elastos::cli
