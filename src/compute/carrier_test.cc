#include "compute/carrier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <string>
#include <thread>

namespace elastos::compute {
namespace {

class EchoHandler final : public RequestHandler {
 public:
  boost::json::object Handle(const boost::json::object& request) override {
    ++calls;
    return {{"type", "echo"}, {"of", request.at("type")}};
  }
  int calls = 0;
};

boost::json::object Parse(const std::string& line) { return boost::json::parse(line).as_object(); }

TEST(CarrierTest, AnswersWithTheRequestId) {
  EchoHandler h;
  auto r = Parse(HandleCarrierLine(R"({"id":7,"request":{"type":"ping"}})", h));
  EXPECT_EQ(r.at("id").as_int64(), 7);
  EXPECT_EQ(r.at("response").at("type").as_string(), "echo");
  EXPECT_EQ(r.at("response").at("of").as_string(), "ping");
}

TEST(CarrierTest, MalformedLinesGetErrorEnvelopesNotSilence) {
  EchoHandler h;
  struct Case {
    const char* line;
    std::int64_t id;
    const char* reason;
  } cases[] = {
      {"not json", 0, "malformed_request"},
      {"[1,2]", 0, "malformed_request"},
      {R"({"request":{"type":"ping"}})", 0, "bad_id"},
      {R"({"id":-1,"request":{"type":"ping"}})", 0, "bad_id"},
      {R"({"id":0,"request":{"type":"ping"}})", 0, "bad_id"},
      {R"({"id":9007199254740992,"request":{"type":"ping"}})", 0, "bad_id"},
      {R"({"id":1.5,"request":{"type":"ping"}})", 0, "bad_id"},
      {R"({"id":"3","request":{"type":"ping"}})", 0, "bad_id"},
      {R"({"id":3})", 3, "malformed_request"},
      {R"({"id":3,"request":{"type":"ping"},"extra":1})", 3, "malformed_request"},
      {R"({"id":3,"request":{"kind":"ping"}})", 3, "malformed_request"},
      {R"({"id":3,"request":{"type":5}})", 3, "malformed_request"},
  };
  for (const auto& c : cases) {
    auto r = Parse(HandleCarrierLine(c.line, h));
    EXPECT_EQ(r.at("id").as_int64(), c.id) << c.line;
    EXPECT_EQ(r.at("response").at("type").as_string(), "error") << c.line;
    EXPECT_EQ(r.at("response").at("code").as_string(), "invalid_argument") << c.line;
    EXPECT_EQ(r.at("response").at("reason").as_string(), c.reason) << c.line;
  }
  EXPECT_EQ(h.calls, 0);
}

// Runs ServeCarrier on pipes: writes `input`, closes, returns everything answered.
std::string Serve(const std::string& input, RequestHandler& h) {
  int req[2], resp[2];
  EXPECT_EQ(::pipe(req), 0);
  EXPECT_EQ(::pipe(resp), 0);
  std::thread server([&] {
    EXPECT_TRUE(ServeCarrier(req[0], resp[1], h).ok());
    ::close(resp[1]);
  });
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(req[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(req[1]);
  });
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(resp[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  writer.join();
  server.join();
  ::close(req[0]);
  ::close(resp[0]);
  return out;
}

TEST(CarrierTest, ServesEveryLineInOrder) {
  EchoHandler h;
  std::string out = Serve(R"({"id":1,"request":{"type":"a"}})" "\n" R"({"id":2,"request":{"type":"b"}})" "\n\n", h);
  EXPECT_EQ(out, R"({"id":1,"response":{"type":"echo","of":"a"}})" "\n" R"({"id":2,"response":{"type":"echo","of":"b"}})" "\n");
}

TEST(CarrierTest, AnOversizedLineIsRefusedAndSkippedWithoutBuffering) {
  EchoHandler h;
  std::string big = R"({"id":1,"request":{"type":")" + std::string(kMaxCarrierLine + 10, 'x') + "\"}}\n";
  std::string out = Serve(big + R"({"id":2,"request":{"type":"after"}})" "\n", h);
  std::size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto first = Parse(out.substr(0, nl));
  EXPECT_EQ(first.at("id").as_int64(), 0);
  EXPECT_EQ(first.at("response").at("reason").as_string(), "line_too_long");
  EXPECT_EQ(first.at("response").at("code").as_string(), "resource_exhausted");
  auto second = Parse(out.substr(nl + 1, out.size() - nl - 2));
  EXPECT_EQ(second.at("id").as_int64(), 2);
  EXPECT_EQ(second.at("response").at("of").as_string(), "after");
  EXPECT_EQ(h.calls, 1);
}

TEST(CarrierTest, ALineOfExactlyTheCapIsServed) {
  EchoHandler h;
  std::string prefix = R"({"id":4,"request":{"type":")";
  std::string suffix = "\"}}";
  std::string line = prefix + std::string(kMaxCarrierLine - prefix.size() - suffix.size(), 'y') + suffix;
  ASSERT_EQ(line.size(), kMaxCarrierLine);
  std::string out = Serve(line + "\n", h);
  EXPECT_EQ(Parse(out).at("id").as_int64(), 4);
  EXPECT_EQ(h.calls, 1);
}

}  // namespace
}  // namespace elastos::compute
