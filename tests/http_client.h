// A small blocking HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1, requests
// written as raw bytes (so tests can send anything, malformed included), responses framed by
// Content-Length. Not for production use.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace elastos::testing {

struct HttpReply {
  int status = 0;  // 0: the connection failed or closed before a full answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : port_(port) {}
  ~HttpClient() { Close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  // Sends `raw` as is and reads one response.
  HttpReply Raw(const std::string& raw) {
    HttpReply reply;
    if (raw.rfind("HEAD ", 0) != 0) head_ = false;
    if (fd_ < 0 && !Connect()) return reply;
    if (!SendAll(raw)) {
      Close();
      if (!Connect() || !SendAll(raw)) return reply;
    }
    return Read();
  }

  HttpReply Request(std::string_view method, std::string_view target, std::string_view body = "",
                    const std::map<std::string, std::string>& headers = {}) {
    std::string raw = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) raw += k + ": " + v + "\r\n";
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    raw += body;
    head_ = method == "HEAD";
    HttpReply r = Raw(raw);
    if (r.status == 0) {  // the server may have closed a kept-alive connection: retry once
      Close();
      r = Raw(raw);
    }
    return r;
  }

 private:
  bool Connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{60, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      Close();
      return false;
    }
    return true;
  }

  bool SendAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  bool Fill() {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  HttpReply Read() {
    HttpReply reply;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) {
        Close();
        return reply;
      }
    }
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return reply;
    const int status = std::stoi(status_line.substr(9, 3));
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string line = head.substr(pos, e - pos);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        reply.headers[name] = value;
      }
      pos = e + 2;
    }
    std::size_t length = 0;
    if (auto it = reply.headers.find("content-length"); it != reply.headers.end() && !head_) {
      length = std::stoul(it->second);
    }
    while (buffer_.size() < length) {
      if (!Fill()) {
        Close();
        return reply;
      }
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    reply.status = status;
    if (auto it = reply.headers.find("connection"); it != reply.headers.end() && it->second == "close") {
      Close();
    }
    return reply;
  }

  std::uint16_t port_;
  bool head_ = false;  // a HEAD answer has Content-Length but no body
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace elastos::testing
