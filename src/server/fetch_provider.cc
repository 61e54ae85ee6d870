#include "server/fetch_provider.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace elastos::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Target {
  std::string host, port, path;
};

Result<Target> ParseHttps(std::string_view uri) {
  constexpr std::string_view kScheme = "https://";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument("bad_uri", "only https:// resources can be fetched");
  }
  std::string_view rest = uri.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Target t;
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    t.host = std::string(authority.substr(0, colon));
    t.port = std::string(authority.substr(colon + 1));
  } else {
    t.host = std::string(authority);
    t.port = "443";
  }
  if (t.host.empty() || t.port.empty() || t.port.size() > 5 ||
      t.port.find_first_not_of("0123456789") != std::string::npos ||
      authority.find('@') != std::string_view::npos) {
    return InvalidArgument("bad_uri", "'" + std::string(uri) + "' is not https://HOST[:PORT]/PATH");
  }
  return t;
}

Status Failed(const std::string& what) { return Unavailable("fetch_failed", what); }

}  // namespace

Result<FetchedBody> FetchProvider::Fetch(std::string_view uri) const {
  ELASTOS_ASSIGN_OR_RETURN(Target t, ParseHttps(uri));
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_default_verify_paths();
  beast::error_code ec;
  if (!options_.ca_file.empty()) {
    ctx.load_verify_file(options_.ca_file.string(), ec);
    if (ec) return Failed("cannot load the CA file " + options_.ca_file.string() + ": " + ec.message());
  }
  ctx.set_verify_mode(ssl::verify_peer);
  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  // SNI and host name verification.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str())) {
    return Failed("cannot set the TLS server name");
  }
  stream.set_verify_callback(ssl::host_name_verification(t.host));
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(t.host, t.port, ec);
  if (ec) return Failed("cannot resolve " + t.host + ": " + ec.message());
  beast::get_lowest_layer(stream).expires_after(options_.timeout);
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (ec) return Failed("cannot connect to " + t.host + ":" + t.port + ": " + ec.message());
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return Failed("TLS with " + t.host + " failed: " + ec.message());

  beast::http::request<beast::http::empty_body> req{beast::http::verb::get, t.path, 11};
  req.set(beast::http::field::host, t.port == "443" ? t.host : t.host + ":" + t.port);
  req.set(beast::http::field::user_agent, "elastos-runtime");
  req.set(beast::http::field::connection, "close");
  beast::http::write(stream, req, ec);
  if (ec) return Failed("sending the request failed: " + ec.message());
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::vector_body<std::uint8_t>> parser;
  parser.body_limit(options_.max_body);
  beast::http::read(stream, buffer, parser, ec);
  if (ec == beast::http::error::body_limit) {
    return ResourceExhausted("body_too_large", std::string(uri) + " is larger than " +
                                                   std::to_string(options_.max_body) + " bytes");
  }
  if (ec && ec != ssl::error::stream_truncated) return Failed("reading the response failed: " + ec.message());
  const auto& res = parser.get();
  const int status = static_cast<int>(res.result_int());
  if (status >= 300 && status < 400) {
    return FailedPrecondition("redirect", std::string(uri) + " redirects (HTTP " + std::to_string(status) +
                                              ") to " + std::string(res[beast::http::field::location]) +
                                              "; redirects are not followed");
  }
  if (status < 200 || status >= 300) {
    return Failed(std::string(uri) + " answered HTTP " + std::to_string(status));
  }
  FetchedBody out;
  out.status = status;
  out.content_type = std::string(res[beast::http::field::content_type]);
  out.body = res.body();
  beast::error_code ignored;
  stream.shutdown(ignored);
  return out;
}

}  // namespace elastos::server
