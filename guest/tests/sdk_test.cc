// Native tests of the guest SDK (guest/include/elastos/): the JSON reader/writer against hostile
// input, base64, the wire form of every request of docs/protocol.md, response decoding, and
// RuntimeClient against a fake runtime on a socketpair.
//
// Built twice (guest/CMakeLists.txt): sdk_test uses std::from_chars for numbers, sdk_strtod_test
// forces the strtod path that wasm32's libc++ takes.
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <elastos/sdk.h>

namespace {

namespace sdk = elastos::sdk;
namespace json = elastos::sdk::json;
using sdk::ErrorCode;

json::Value MustParse(std::string_view text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.error().ToString();
  return v.ok() ? *v : json::Value();
}

std::string ParseReason(std::string_view text, const json::ParseOptions& options = {}) {
  auto v = json::Parse(text, options);
  if (v.ok()) return "parsed";
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
  return v.error().reason;
}

std::string Written(const json::Value& v) {
  std::string out;
  auto r = json::Write(v, &out);
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return out;
}

// ---- JSON reader
// ---------------------------------------------------------------------------------

TEST(JsonReader, RoundTripsCompactText) {
  for (const char* text :
       {"null", "true", "false", "0", "-1", "\"\"", "[]", "{}", "[1,[2,[3]],{\"a\":{}}]",
        R"({"b":1,"a":[true,false,null],"c":"x\"y\\z\n"})", "18446744073709551615",
        "-9223372036854775808", "0.5", "-2.5e-300", "1e+300"}) {
    EXPECT_EQ(Written(MustParse(text)), text);
  }
  EXPECT_EQ(Written(MustParse(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n")), R"({"a":[1,2]})");
}

TEST(JsonReader, IntegersAreExactToUint64) {
  EXPECT_EQ(MustParse("9007199254740993").GetUint64(),
            9007199254740993ull);  // 2^53 + 1: no rounding
  EXPECT_EQ(MustParse("18446744073709551615").GetUint64(), UINT64_MAX);
  EXPECT_EQ(MustParse("-9223372036854775808").GetInt64(), INT64_MIN);
  EXPECT_FALSE(MustParse("-1").GetUint64().has_value());
  EXPECT_FALSE(MustParse("18446744073709551615").GetInt64().has_value());
  EXPECT_TRUE(MustParse("42").is_integer());

  // Past uint64 a literal becomes a double; GetUint64 then refuses rather than round.
  const json::Value big = MustParse("18446744073709551616");
  EXPECT_FALSE(big.is_integer());
  EXPECT_FALSE(big.GetUint64().has_value());
  EXPECT_NEAR(*big.GetDouble(), 1.8446744073709552e19, 1e4);

  // Integral doubles up to 2^53 - 1 read as integers (what JavaScript peers write); beyond, not.
  EXPECT_EQ(MustParse("1e2").GetUint64(), 100u);
  EXPECT_EQ(MustParse("9007199254740991.0").GetUint64(), 9007199254740991ull);
  EXPECT_FALSE(MustParse("9007199254740992.0").GetUint64().has_value());
  EXPECT_FALSE(MustParse("1.5").GetUint64().has_value());
  EXPECT_FALSE(MustParse("\"1\"").GetUint64().has_value());
  EXPECT_EQ(MustParse("-0").GetUint64(), 0u);
  EXPECT_DOUBLE_EQ(*MustParse("0.1").GetDouble(), 0.1);
  EXPECT_DOUBLE_EQ(*MustParse("1E-2").GetDouble(), 0.01);
  EXPECT_DOUBLE_EQ(*MustParse("1e-400").GetDouble(), 0.0);  // underflow is harmless
}

TEST(JsonReader, RefusesWhatRfc8259Refuses) {
  for (const char* text :
       {"",      " ",     "nul",    "True",    "[1,]",           "{\"a\":1,}", "{'a':1}",
        "{a:1}", "[1 2]", "1 2",    "{\"a\"}", "{\"a\":}",       "[",          "]",
        "{",     "\"abc", "/*c*/1", "// c\n1", "\xEF\xBB\xBF{}", "{\"a\":1}}"}) {
    EXPECT_NE(ParseReason(text), "parsed") << text;
  }
  for (const char* number : {"01", "-", "1.", ".5", "+1", "1e", "1e+", "-01", "0x10", "NaN",
                             "Infinity", "-Infinity", "1.5.2"}) {
    EXPECT_NE(ParseReason(number), "parsed") << number;
  }
  EXPECT_EQ(ParseReason("1e400"), "json_bad_number");
  EXPECT_EQ(ParseReason("-1e400"), "json_bad_number");
  EXPECT_EQ(ParseReason(std::string(600, '9')), "json_bad_number");  // literal too long
  EXPECT_EQ(ParseReason(std::string(300, '9')), "parsed");           // long but allowed: a double
  EXPECT_EQ(ParseReason(std::string(400, '9')), "json_bad_number");  // 1e400 overflows a double
  EXPECT_EQ(ParseReason("0." + std::string(400, '0') + "1"),
            "parsed");  // underflow to 0 is harmless
}

TEST(JsonReader, StringsAreStrictUtf8WithCorrectEscapes) {
  EXPECT_EQ(*MustParse(R"("\u00e9\u20ac\ud83d\ude00\/\b\f\n\r\t")").GetString(),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80/\b\f\n\r\t");
  EXPECT_EQ(MustParse(R"("a\u0000b")").GetString()->size(), 3u);                  // NUL is data
  EXPECT_EQ(*MustParse("\"\xF4\x8F\xBF\xBF\"").GetString(), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(ParseReason(R"("\ud800")"), "json_bad_string");        // lone high surrogate
  EXPECT_EQ(ParseReason(R"("\ud800\u0041")"), "json_bad_string");  // high + non-low
  EXPECT_EQ(ParseReason(R"("\udc00")"), "json_bad_string");        // lone low surrogate
  EXPECT_EQ(ParseReason(R"("\u12g4")"), "json_bad_string");
  EXPECT_EQ(ParseReason(R"("\u12")"), "json_bad_string");
  EXPECT_EQ(ParseReason(R"("\x41")"), "json_bad_string");
  EXPECT_EQ(ParseReason(R"("\')"), "json_bad_string");
  EXPECT_EQ(ParseReason("\"a\nb\""), "json_bad_string");  // raw control character
  EXPECT_EQ(ParseReason("\"\t\""), "json_bad_string");
  for (const char* bad : {"\"\xC0\xAF\"", "\"\xC1\xBF\"", "\"\xE0\x80\xAF\"", "\"\xED\xA0\x80\"",
                          "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"", "\"\xE2\x82\"",
                          "\"\x80\"", "\"\xFF\"", "\"\xF0\x9F\x98\""}) {
    EXPECT_EQ(ParseReason(bad), "json_bad_string") << json::Value(std::string(bad)).Serialize();
  }
}

TEST(JsonReader, NestingIsCappedWithoutRecursingFurther) {
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(ParseReason(ok), "parsed");
  std::string deep = std::string(65, '[') + std::string(65, ']');
  EXPECT_EQ(ParseReason(deep), "json_too_deep");
  // A hostile 900 KiB of '[' fails at depth 65, not with a stack overflow.
  EXPECT_EQ(ParseReason(std::string(900 * 1024, '[')), "json_too_deep");
  std::string objects;
  for (int i = 0; i < 65; ++i) objects += "{\"a\":";
  objects += "1" + std::string(65, '}');
  EXPECT_EQ(ParseReason(objects), "json_too_deep");
  EXPECT_EQ(ParseReason("[[[1]]]", json::ParseOptions{2, 1 << 20}), "json_too_deep");
}

TEST(JsonReader, SizeCapIsEnforcedBeforeParsing) {
  EXPECT_EQ(ParseReason("[1,2,3]", json::ParseOptions{64, 6}), "json_too_large");
  EXPECT_EQ(ParseReason("[1,2,3]", json::ParseOptions{64, 7}), "parsed");
}

TEST(JsonReader, DuplicateKeysAreRefusedInSmallAndLargeObjects) {
  EXPECT_EQ(ParseReason(R"({"a":1,"a":2})"), "json_duplicate_key");
  std::string big = "{";
  for (int i = 0; i < 1000; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_EQ(ParseReason(big + "\"k999\":0}"), "json_duplicate_key");
  EXPECT_EQ(ParseReason(big + "\"last\":0}"), "parsed");
  // Same key text through different escapes is still the same key.
  EXPECT_EQ(ParseReason(R"({"a":1,"\u0061":2})"), "json_duplicate_key");
}

TEST(JsonReader, EveryTruncationOfAValidDocumentFails) {
  const std::string doc =
      R"({"id":12,"response":{"type":"x","s":"\u00e9\ud83d\ude00","a":[1.5,-2,true,null]}})";
  ASSERT_EQ(ParseReason(doc), "parsed");
  for (std::size_t n = 0; n < doc.size(); ++n) {
    EXPECT_NE(ParseReason(doc.substr(0, n)), "parsed") << n;
  }
}

TEST(JsonReader, ErrorsSayWhere) {
  auto v = json::Parse("[1,2,x]");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("at byte 5"), std::string::npos) << v.error().message;
}

// ---- JSON writer
// ---------------------------------------------------------------------------------

TEST(JsonWriter, EscapesControlCharactersAndKeepsUtf8) {
  json::Value v(std::string("q\"b\\s/\x01\x1f\x7f\xC3\xA9"));
  EXPECT_EQ(Written(v), "\"q\\\"b\\\\s/\\u0001\\u001f\x7f\xC3\xA9\"");
  EXPECT_EQ(*MustParse(Written(v)).GetString(), *v.GetString());
}

TEST(JsonWriter, StrictWriteRefusesWhatNoReaderWouldAccept) {
  std::string out = "prefix";
  auto bad_utf8 = json::Write(json::Value(std::string("a\xFF")), &out);
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8.error().reason, "json_unwritable");
  EXPECT_EQ(out, "prefix");  // unchanged on error
  EXPECT_FALSE(json::Write(json::Value(std::numeric_limits<double>::infinity()), &out).ok());
  EXPECT_FALSE(json::Write(json::Value(std::nan("")), &out).ok());
  json::Value deep(json::Array{});
  for (int i = 0; i < 64; ++i) deep = json::Value(json::Array{deep});
  EXPECT_FALSE(json::Write(deep, &out).ok());  // 65 levels
  // Keys are checked too.
  json::Object o;
  o.Set(std::string("k\xC0"), 1);
  EXPECT_FALSE(json::Write(json::Value(o), &out).ok());
}

TEST(JsonWriter, SerializeIsLenientForPrinting) {
  EXPECT_EQ(json::Value(std::string("a\xFF"
                                    "b"))
                .Serialize(),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(json::Value(std::nan("")).Serialize(), "null");
}

TEST(JsonWriter, DoublesRoundTripExactly) {
  for (double d : {0.1, 1e300, -2.5e-300, 123456.789, 5e-324, 1.7976931348623157e308}) {
    const json::Value back = MustParse(Written(json::Value(d)));
    EXPECT_EQ(*back.GetDouble(), d) << Written(json::Value(d));
  }
}

TEST(JsonValue, ObjectsKeepInsertionOrderAndReplaceOnSet) {
  json::Object o;
  o.Set("z", 1);
  o.Set("a", "x");
  o["m"] = true;
  o.Set("z", 2);
  EXPECT_EQ(Written(json::Value(o)), R"({"z":2,"a":"x","m":true})");
  EXPECT_TRUE(o.Erase("a"));
  EXPECT_FALSE(o.Erase("a"));
  EXPECT_EQ(o.size(), 2u);
  EXPECT_EQ(MustParse(R"({"a":1,"b":[1,2]})"), MustParse(R"({"b":[1,2],"a":1.0})"));
  EXPECT_NE(MustParse(R"({"a":1})"), MustParse(R"({"a":"1"})"));
}

// ---- Bytes
// ---------------------------------------------------------------------------------------

TEST(Base64, RoundTripsEveryLength) {
  sdk::Bytes data;
  for (int n = 0; n < 70; ++n) {
    auto back = sdk::Base64Decode(sdk::Base64Encode(data));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
  EXPECT_EQ(sdk::Base64Encode(sdk::ToBytes("hello")), "aGVsbG8=");
  EXPECT_EQ(sdk::ToString(*sdk::Base64Decode("aGVsbG8")), "hello");  // unpadded accepted
  EXPECT_EQ(sdk::ToString(*sdk::Base64Decode("")), "");
}

TEST(Base64, StrictDecoding) {
  for (const char* bad : {"aGVsbG8=x", "a", "aGVsbG8==", "a===", "====", "aGV sbG8=", "aGVs\nbG8=",
                          "aGVsbG8_", "aGVsbG8-", "QR==", "aGVsbG9="}) {
    auto r = sdk::Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().reason, "bad_base64");
    }
  }
}

TEST(Base64, BytesFieldsAcceptNumberArraysForTheReference) {
  EXPECT_EQ(*sdk::BytesFromJson(MustParse("[104,105,0,255]")), (sdk::Bytes{104, 105, 0, 255}));
  EXPECT_EQ(*sdk::BytesFromJson(MustParse("\"aGk=\"")), sdk::ToBytes("hi"));
  for (const char* bad : {"[256]", "[-1]", "[1.5]", "[\"1\"]", "{}", "7", "null"}) {
    EXPECT_FALSE(sdk::BytesFromJson(MustParse(bad)).ok()) << bad;
  }
}

// ---- Requests: the exact wire form of docs/protocol.md §5
// ----------------------------------------

std::string Wire(const sdk::RuntimeRequest& r) { return Written(r.ToJson()); }

TEST(Requests, SerialiseToTheProtocolSchema) {
  EXPECT_EQ(Wire(sdk::PingRequest{}), R"({"type":"ping"})");
  EXPECT_EQ(Wire(sdk::GetRuntimeInfoRequest{}), R"({"type":"get_runtime_info"})");

  sdk::RequestCapabilityRequest cap;
  cap.resource = "localhost://Users/self/Documents/*";
  cap.action = sdk::action::kRead;
  EXPECT_EQ(
      Wire(cap),
      R"({"type":"request_capability","resource":"localhost://Users/self/Documents/*","action":"read"})");
  cap.reason = "to show your notes";
  EXPECT_EQ(
      Wire(cap),
      R"({"type":"request_capability","resource":"localhost://Users/self/Documents/*","action":"read","reason":"to show your notes"})");

  sdk::ResourceRequest read;
  read.uri = "localhost://Public/a.txt";
  read.op = sdk::ResourceOp::kRead;
  read.token = "TOK";
  read.offset = 10;
  read.length = 524288;
  EXPECT_EQ(
      Wire(read),
      R"({"type":"resource_request","uri":"localhost://Public/a.txt","op":"read","token":"TOK","offset":10,"length":524288})");
  sdk::ResourceRequest write;
  write.uri = "localhost://Public/a.txt";
  write.op = sdk::ResourceOp::kWrite;
  write.content = sdk::ToBytes("hi");
  write.append = true;
  EXPECT_EQ(
      Wire(write),
      R"({"type":"resource_request","uri":"localhost://Public/a.txt","op":"write","content":"aGk=","append":true})");
  const std::pair<sdk::ResourceOp, const char*> ops[] = {{sdk::ResourceOp::kList, "list"},
                                                         {sdk::ResourceOp::kStat, "stat"},
                                                         {sdk::ResourceOp::kDelete, "delete"},
                                                         {sdk::ResourceOp::kMkdir, "mkdir"},
                                                         {sdk::ResourceOp::kExists, "exists"}};
  for (const auto& [op, name] : ops) {
    sdk::ResourceRequest r;
    r.uri = "localhost://P/d";
    r.op = op;
    EXPECT_EQ(Wire(r), std::string(R"({"type":"resource_request","uri":"localhost://P/d","op":")") +
                           name + "\"}");
  }
  sdk::ResourceRequest del;
  del.uri = "localhost://P/d";
  del.op = sdk::ResourceOp::kDelete;
  del.recursive = true;
  EXPECT_EQ(
      Wire(del),
      R"({"type":"resource_request","uri":"localhost://P/d","op":"delete","recursive":true})");
  sdk::ResourceRequest mkdir;
  mkdir.uri = "localhost://P/d";
  mkdir.op = sdk::ResourceOp::kMkdir;
  mkdir.parents = true;
  EXPECT_EQ(Wire(mkdir),
            R"({"type":"resource_request","uri":"localhost://P/d","op":"mkdir","parents":true})");

  sdk::FetchContentRequest fetch;
  fetch.uri = "elastos://bafkqaaa";
  EXPECT_EQ(Wire(fetch), R"({"type":"fetch_content","uri":"elastos://bafkqaaa"})");
  fetch.token = "T";
  fetch.offset = 1;
  fetch.length = 2;
  EXPECT_EQ(
      Wire(fetch),
      R"({"type":"fetch_content","uri":"elastos://bafkqaaa","token":"T","offset":1,"length":2})");

  sdk::SendMessageRequest send;
  send.to = "chat";
  send.payload = {0, 1, 2, 255};
  EXPECT_EQ(Wire(send), R"({"type":"send_message","to":"chat","payload":"AAEC/w=="})");
  send.reply_to = 9;
  send.token = "T";
  EXPECT_EQ(Wire(send),
            R"({"type":"send_message","to":"chat","payload":"AAEC/w==","reply_to":9,"token":"T"})");

  EXPECT_EQ(Wire(sdk::ReceiveMessagesRequest{}), R"({"type":"receive_messages"})");
  EXPECT_EQ(Wire(sdk::ReceiveMessagesRequest{5, 1000}),
            R"({"type":"receive_messages","max":5,"wait_ms":1000})");

  sdk::DelegateCapabilityRequest del_cap;
  del_cap.token = "T";
  del_cap.to = "cap-2";
  EXPECT_EQ(Wire(del_cap), R"({"type":"delegate_capability","token":"T","to":"cap-2"})");
  del_cap.resource = "localhost://P/x/*";
  del_cap.constraints = sdk::CapabilityConstraints{3, 60, false, 1};
  EXPECT_EQ(
      Wire(del_cap),
      R"({"type":"delegate_capability","token":"T","to":"cap-2","resource":"localhost://P/x/*","constraints":{"max_uses":3,"expires_in_s":60,"delegatable":false,"max_classification":1}})");
}

TEST(Requests, ShellRequestsSerialiseToTheProtocolSchema) {
  EXPECT_EQ(Wire(sdk::ListCapsulesRequest{}), R"({"type":"list_capsules"})");

  sdk::LaunchCapsuleRequest launch;
  launch.name = "notes";
  EXPECT_EQ(Wire(launch), R"({"type":"launch_capsule","name":"notes"})");
  sdk::LaunchCapsuleRequest by_cid;
  by_cid.cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
  sdk::LaunchConfig config;
  config.args = {"--fast", "x y"};
  config.env = {{"B", "2"}, {"A", "1"}};
  sdk::LaunchLimits limits;
  limits.memory_mb = 32;
  limits.wall_ms = 1000;
  config.resource_limits = limits;
  by_cid.config = config;
  EXPECT_EQ(
      Wire(by_cid),
      R"({"type":"launch_capsule","cid":"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi","config":{"args":["--fast","x y"],"env":{"A":"1","B":"2"},"resource_limits":{"memory_mb":32,"wall_ms":1000}}})");
  by_cid.config = sdk::LaunchConfig{};
  EXPECT_EQ(
      Wire(by_cid),
      R"({"type":"launch_capsule","cid":"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi","config":{}})");

  EXPECT_EQ(Wire(sdk::StopCapsuleRequest{"cap-1"}),
            R"({"type":"stop_capsule","capsule_id":"cap-1"})");
  EXPECT_EQ(Wire(sdk::NextDecisionRequest{}), R"({"type":"next_decision"})");
  EXPECT_EQ(Wire(sdk::NextDecisionRequest{250}), R"({"type":"next_decision","wait_ms":250})");
  EXPECT_EQ(Wire(sdk::AskUserRequest{"r-1", std::nullopt}),
            R"({"type":"ask_user","request_id":"r-1"})");
  EXPECT_EQ(Wire(sdk::AskUserRequest{"r-1", 15000}),
            R"({"type":"ask_user","request_id":"r-1","timeout_ms":15000})");

  sdk::GrantCapabilityRequest answer;
  answer.request_id = "r-1";
  answer.duration = "once";
  EXPECT_EQ(Wire(answer), R"({"type":"grant_capability","request_id":"r-1","duration":"once"})");
  sdk::GrantCapabilityRequest direct;
  direct.capsule_id = "cap-1";
  direct.resource = "localhost://P/*";
  direct.action = sdk::action::kWrite;
  direct.constraints = sdk::CapabilityConstraints{};
  direct.constraints->max_uses = 1;
  EXPECT_EQ(
      Wire(direct),
      R"({"type":"grant_capability","capsule_id":"cap-1","resource":"localhost://P/*","action":"write","constraints":{"max_uses":1}})");

  EXPECT_EQ(Wire(sdk::DenyCapabilityRequest{"r-1", std::nullopt}),
            R"({"type":"deny_capability","request_id":"r-1"})");
  EXPECT_EQ(Wire(sdk::DenyCapabilityRequest{"r-1", "no"}),
            R"({"type":"deny_capability","request_id":"r-1","reason":"no"})");
  EXPECT_EQ(Wire(sdk::RevokeCapabilityRequest{"00112233445566778899aabbccddeeff"}),
            R"({"type":"revoke_capability","token_id":"00112233445566778899aabbccddeeff"})");
  EXPECT_EQ(Wire(sdk::RevokeAllRequest{}), R"({"type":"revoke_all"})");
  EXPECT_EQ(Wire(sdk::RevokeAllRequest{"cap-1"}), R"({"type":"revoke_all","capsule_id":"cap-1"})");
}

TEST(Requests, VariantKnowsTypeAndShellOnly) {
  EXPECT_STREQ(sdk::RuntimeRequest(sdk::PingRequest{}).type(), "ping");
  EXPECT_FALSE(sdk::RuntimeRequest(sdk::SendMessageRequest{}).shell_only());
  EXPECT_FALSE(sdk::RuntimeRequest(sdk::DelegateCapabilityRequest{}).shell_only());
  EXPECT_TRUE(sdk::RuntimeRequest(sdk::RevokeAllRequest{}).shell_only());
  EXPECT_TRUE(sdk::RuntimeRequest(sdk::NextDecisionRequest{}).shell_only());
  EXPECT_TRUE(sdk::RuntimeRequest(sdk::AskUserRequest{}).shell_only());
  EXPECT_STREQ(sdk::RuntimeRequest(sdk::AskUserRequest{}).type(), "ask_user");
  EXPECT_STREQ(sdk::RuntimeRequest(sdk::GrantCapabilityRequest{}).type(), "grant_capability");
}

// ---- Responses
// -----------------------------------------------------------------------------------

json::Object Obj(std::string_view text) { return *MustParse(text).GetObject(); }

TEST(Responses, DecodeEveryTypeOfTheProtocol) {
  auto info = sdk::RuntimeInfo::FromJson(Obj(
      R"({"type":"runtime_info","version":"0.1.0","protocol":1,"capsule_id":"c-1","capsule_name":"n","new_member":[1]})"));
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->version, "0.1.0");
  EXPECT_FALSE(info->capsule_count.has_value());

  auto token = sdk::CapabilityToken::FromJson(Obj(
      R"({"type":"capability_token","token":"abc","token_id":"00112233445566778899aabbccddeeff","resource":"localhost://P/*","action":"read","delegatable":true,"expires_at":1767225600,"max_uses":3})"));
  ASSERT_TRUE(token.ok()) << token.error().ToString();
  EXPECT_TRUE(token->delegatable);
  EXPECT_EQ(token->max_uses, 3u);

  auto read = sdk::ResourceResponse::FromJson(
      Obj(R"({"type":"resource_response","op":"read","data":[104,105],"eof":true,"size":2})"));
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(*read->data, sdk::ToBytes("hi"));
  auto list = sdk::ResourceResponse::FromJson(Obj(
      R"({"type":"resource_response","op":"list","entries":[{"name":"a","is_dir":false,"size":3},{"name":"d","is_dir":true,"size":0}]})"));
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->entries.size(), 2u);
  EXPECT_TRUE(list->entries[1].is_dir);
  auto stat = sdk::ResourceResponse::FromJson(Obj(
      R"({"type":"resource_response","op":"stat","stat":{"is_dir":false,"size":12,"modified":1700000000}})"));
  ASSERT_TRUE(stat.ok()) << stat.error().ToString();
  EXPECT_EQ(stat->stat->size, 12u);

  auto content = sdk::ContentResponse::FromJson(
      Obj(R"({"type":"content","data":"aGk=","eof":false,"size":9})"));
  ASSERT_TRUE(content.ok()) << content.error().ToString();
  auto sent = sdk::MessageSent::FromJson(Obj(R"({"type":"message_sent","message_id":77})"));
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->message_id, 77u);
  auto messages = sdk::MessagesResponse::FromJson(Obj(
      R"({"type":"messages","messages":[{"id":1,"from":"c-2","from_name":"chat","payload":"aGk=","timestamp":5,"reply_to":0}]})"));
  ASSERT_TRUE(messages.ok()) << messages.error().ToString();
  EXPECT_EQ(messages->messages.at(0).from_name, "chat");
  auto capsules = sdk::CapsuleListResponse::FromJson(Obj(
      R"({"type":"capsule_list","capsules":[{"id":"c-1","name":"n","version":"1.0.0","type":"wasm","status":"running"}]})"));
  ASSERT_TRUE(capsules.ok()) << capsules.error().ToString();
  auto launched = sdk::CapsuleLaunched::FromJson(
      Obj(R"({"type":"capsule_launched","capsule_id":"c-9","name":"n"})"));
  ASSERT_TRUE(launched.ok());
  EXPECT_TRUE(sdk::OkResponse::FromJson(Obj(R"({"type":"ok"})")).ok());
  auto none = sdk::NextDecisionResponse::FromJson(Obj(R"({"type":"no_decision"})"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->decision.has_value());
  auto decision = sdk::NextDecisionResponse::FromJson(Obj(
      R"({"type":"decision","request_id":"r","capsule_id":"c","capsule_name":"n","actor":"agent","resource":"localhost://P/*","action":"read","requested_at":1,"expires_at":31})"));
  ASSERT_TRUE(decision.ok()) << decision.error().ToString();
  EXPECT_EQ(decision->decision->actor, "agent");
  auto granted = sdk::CapabilityGranted::FromJson(
      Obj(R"({"type":"capability_granted","token_id":"00","token":"t"})"));
  ASSERT_TRUE(granted.ok());
  auto answer = sdk::UserAnswer::FromJson(
      Obj(R"({"type":"user_answer","answer":"allow","duration":"always"})"));
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_TRUE(answer->allowed());
  EXPECT_EQ(answer->duration, "always");
  auto revoked = sdk::Revoked::FromJson(Obj(R"({"type":"revoked","epoch":4})"));
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->epoch, 4u);
  EXPECT_TRUE(sdk::PongResponse::FromJson(Obj(R"({"type":"pong"})")).ok());
}

TEST(Responses, MissingOrMistypedMembersAreTheRuntimesBug) {
  auto missing = sdk::RuntimeInfo::FromJson(Obj(R"({"type":"runtime_info","version":"0.1.0"})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInternal);
  EXPECT_EQ(missing.error().reason, "malformed_response");
  EXPECT_NE(missing.error().message.find("protocol"), std::string::npos);
  auto mistyped = sdk::MessageSent::FromJson(Obj(R"({"type":"message_sent","message_id":"77"})"));
  EXPECT_FALSE(mistyped.ok());
  auto negative = sdk::MessageSent::FromJson(Obj(R"({"type":"message_sent","message_id":-1})"));
  EXPECT_FALSE(negative.ok());
  auto bad_entry = sdk::ResourceResponse::FromJson(
      Obj(R"({"type":"resource_response","op":"list","entries":[{"name":1}]})"));
  EXPECT_FALSE(bad_entry.ok());
  auto wrong = sdk::PongResponse::FromJson(Obj(R"({"type":"ok"})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().reason, "unexpected_response");
}

TEST(Responses, VariantDispatchesOnTypeAndErrorsBecomeErrors) {
  auto pong = sdk::RuntimeResponse::Parse(Obj(R"({"type":"pong"})"));
  ASSERT_TRUE(pong.ok());
  EXPECT_NE(pong->get<sdk::PongResponse>(), nullptr);
  auto decision = sdk::RuntimeResponse::Parse(Obj(R"({"type":"no_decision"})"));
  ASSERT_TRUE(decision.ok());
  EXPECT_NE(decision->get<sdk::NextDecisionResponse>(), nullptr);
  auto err = sdk::RuntimeResponse::Parse(Obj(
      R"({"type":"error","code":"permission_denied","reason":"token_expired","message":"expired"})"));
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(err.error().reason, "token_expired");
  EXPECT_EQ(err.error().message, "expired");
  auto unknown = sdk::RuntimeResponse::Parse(Obj(R"({"type":"telepathy"})"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().reason, "unexpected_response");
}

TEST(Responses, UserAnswerIsStrictAboutItsWords) {
  // duration is optional on the wire and means "session" when absent.
  auto plain = sdk::UserAnswer::FromJson(Obj(R"({"type":"user_answer","answer":"deny"})"));
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_FALSE(plain->allowed());
  EXPECT_EQ(plain->duration, "session");
  auto newer = sdk::UserAnswer::FromJson(
      Obj(R"({"type":"user_answer","answer":"allow","duration":"once","shown_to":"tty"})"));
  ASSERT_TRUE(newer.ok()) << newer.error().ToString();  // unknown members are ignored
  EXPECT_EQ(newer->duration, "once");
  // Anything but allow/deny is the runtime's bug, never consent.
  for (const char* bad :
       {R"({"type":"user_answer"})", R"({"type":"user_answer","answer":"yes"})",
        R"({"type":"user_answer","answer":"ALLOW"})", R"({"type":"user_answer","answer":true})",
        R"({"type":"user_answer","answer":"allow","duration":"forever"})",
        R"({"type":"user_answer","answer":"allow","duration":null})"}) {
    auto r = sdk::UserAnswer::FromJson(Obj(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal) << bad;
    EXPECT_EQ(r.error().reason, "malformed_response") << bad;
  }
  auto variant = sdk::RuntimeResponse::Parse(
      Obj(R"({"type":"user_answer","answer":"allow","duration":"session"})"));
  ASSERT_TRUE(variant.ok()) << variant.error().ToString();
  ASSERT_NE(variant->get<sdk::UserAnswer>(), nullptr);
  EXPECT_TRUE(variant->get<sdk::UserAnswer>()->allowed());
}

TEST(Responses, UnknownErrorCodesBecomeInternalKeepingTheWord) {
  sdk::Error e =
      sdk::ErrorFromResponse(Obj(R"({"type":"error","code":"capability_denied","message":"no"})"));
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_EQ(e.reason, "capability_denied");
  for (const char* code :
       {"invalid_argument", "not_found", "permission_denied", "unauthenticated",
        "resource_exhausted", "failed_precondition", "internal", "unavailable"}) {
    auto parsed = sdk::ParseErrorCode(code);
    ASSERT_TRUE(parsed.has_value()) << code;
    EXPECT_STREQ(sdk::ErrorCodeName(*parsed), code);
  }
}

// ---- RuntimeClient against a fake runtime
// ----------------------------------------------------------

// The runtime end of a socketpair, served by a thread. The handler sees each request line
// (without '\n') and writes whatever it likes to `fd`; returning false closes the runtime end.
class FakeRuntime {
 public:
  using Handler = std::function<bool(const std::string& line, int fd)>;

  explicit FakeRuntime(Handler handler) : handler_(std::move(handler)) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
    client_fd_ = fds[0];
    runtime_fd_ = fds[1];
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeRuntime() {
    ::shutdown(client_fd_, SHUT_RDWR);
    thread_.join();
    ::close(client_fd_);
    if (runtime_fd_ >= 0) ::close(runtime_fd_);
  }

  int client_fd() const { return client_fd_; }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

  static void Send(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }
  // The id of a request line, for handlers that answer properly.
  static std::uint64_t IdOf(const std::string& line) {
    auto v = json::Parse(line);
    return v.ok() && v->GetObject() && v->GetObject()->Find("id")
               ? v->GetObject()->Find("id")->GetUint64().value_or(0)
               : 0;
  }
  static std::string Envelope(std::uint64_t id, const std::string& response) {
    return "{\"id\":" + std::to_string(id) + ",\"response\":" + response + "}\n";
  }

 private:
  void Serve() {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(runtime_fd_, chunk, sizeof chunk);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = buffer.find('\n')) != std::string::npos) {
        const std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        {
          std::lock_guard<std::mutex> lock(mu_);
          lines_.push_back(line);
        }
        if (!handler_(line, runtime_fd_)) {
          ::close(runtime_fd_);
          runtime_fd_ = -1;
          return;
        }
      }
    }
  }

  Handler handler_;
  int client_fd_ = -1;
  int runtime_fd_ = -1;
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

bool AnswerPong(const std::string& line, int fd) {
  FakeRuntime::Send(fd, FakeRuntime::Envelope(FakeRuntime::IdOf(line), R"({"type":"pong"})"));
  return true;
}

TEST(RuntimeClient, SendsOneLinePerRequestWithIncreasingIds) {
  FakeRuntime runtime(AnswerPong);
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  EXPECT_EQ(client.next_id(), 1u);
  for (int i = 0; i < 3; ++i) {
    auto r = client.Ping();
    EXPECT_TRUE(r.ok()) << r.error().ToString();
  }
  EXPECT_EQ(client.next_id(), 4u);
  EXPECT_EQ(runtime.lines(), (std::vector<std::string>{R"({"id":1,"request":{"type":"ping"}})",
                                                       R"({"id":2,"request":{"type":"ping"}})",
                                                       R"({"id":3,"request":{"type":"ping"}})"}));
}

TEST(RuntimeClient, TypedCallsDecodeAndRuntimeErrorsComeBackAsErrors) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    const auto id = FakeRuntime::IdOf(line);
    if (line.find("get_runtime_info") != std::string::npos) {
      FakeRuntime::Send(
          fd,
          FakeRuntime::Envelope(
              id,
              R"({"type":"runtime_info","version":"9.9","protocol":1,"capsule_id":"c","capsule_name":"n"})"));
    } else {
      FakeRuntime::Send(
          fd,
          FakeRuntime::Envelope(
              id,
              R"({"type":"error","code":"permission_denied","reason":"shell_only","message":"only the shell"})"));
    }
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto info = client.GetRuntimeInfo();
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->version, "9.9");
  auto list = client.ListCapsules();
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(list.error().reason, "shell_only");
  EXPECT_TRUE(client.usable());     // a refusal is not a carrier failure
  auto wrong_type = client.Ping();  // answered with an error again
  EXPECT_FALSE(wrong_type.ok());
}

TEST(RuntimeClient, AskUserReturnsTheAnswerOrTheReasonNobodyAnswered) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    const auto id = FakeRuntime::IdOf(line);
    if (line.find(R"("request_id":"r-1")") != std::string::npos) {
      FakeRuntime::Send(fd, FakeRuntime::Envelope(
                                id, R"({"type":"user_answer","answer":"allow","duration":"always"})"));
    } else {
      FakeRuntime::Send(
          fd,
          FakeRuntime::Envelope(
              id,
              R"({"type":"error","code":"unavailable","reason":"no_one_to_ask","message":"no terminal, no prompt client"})"));
    }
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto answer = client.AskUser("r-1", 5000);
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_TRUE(answer->allowed());
  EXPECT_EQ(answer->duration, "always");
  auto nobody = client.AskUser("r-2");
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(nobody.error().reason, "no_one_to_ask");
  EXPECT_TRUE(client.usable());
  EXPECT_EQ(runtime.lines(),
            (std::vector<std::string>{
                R"({"id":1,"request":{"type":"ask_user","request_id":"r-1","timeout_ms":5000}})",
                R"({"id":2,"request":{"type":"ask_user","request_id":"r-2"}})"}));
}

TEST(RuntimeClient, ResponseOfTheWrongTypeIsUnexpected) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    FakeRuntime::Send(fd, FakeRuntime::Envelope(FakeRuntime::IdOf(line), R"({"type":"ok"})"));
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "unexpected_response");
}

TEST(RuntimeClient, IdMismatchIsAnErrorAndRetiresTheCarrier) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    FakeRuntime::Send(fd, FakeRuntime::Envelope(FakeRuntime::IdOf(line) + 1, R"({"type":"pong"})"));
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_EQ(r.error().reason, "id_mismatch");
  EXPECT_FALSE(client.usable());
  auto again = client.Ping();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(again.error().reason, "carrier_desynchronised");
  EXPECT_EQ(runtime.lines().size(), 1u);  // nothing more was sent
}

TEST(RuntimeClient, IdZeroErrorAnswersTheRequestInFlight) {
  int calls = 0;
  FakeRuntime runtime([&calls](const std::string& line, int fd) {
    if (calls++ == 0) {
      FakeRuntime::Send(
          fd,
          FakeRuntime::Envelope(
              0,
              R"({"type":"error","code":"invalid_argument","reason":"malformed_request","message":"?"})"));
    } else {
      AnswerPong(line, fd);
    }
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "malformed_request");
  EXPECT_TRUE(client.usable());
  auto next = client.Ping();
  EXPECT_TRUE(next.ok()) << next.error().ToString();
}

// A pong envelope padded with an ignored member to exactly `size` bytes (without the '\n').
std::string PaddedPong(std::uint64_t id, std::size_t size) {
  const std::string head =
      "{\"id\":" + std::to_string(id) + ",\"response\":{\"type\":\"pong\",\"pad\":\"";
  const std::string tail = "\"}}";
  return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

TEST(RuntimeClient, LineCapBoundaryExactlyOneMiBIsAccepted) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    FakeRuntime::Send(fd, PaddedPong(FakeRuntime::IdOf(line), sdk::kMaxLineBytes) + "\n");
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  EXPECT_TRUE(r.ok()) << r.error().ToString();
}

TEST(RuntimeClient, OversizedResponseIsDiscardedToItsNewlineAndTheCarrierStaysInStep) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    const auto id = FakeRuntime::IdOf(line);
    if (id == 1) {
      FakeRuntime::Send(fd, PaddedPong(id, sdk::kMaxLineBytes + 1) + "\n");
    } else if (id == 2) {
      // 3 MiB, then the next answer in the same write: the discard must stop at the '\n'.
      FakeRuntime::Send(fd, PaddedPong(99, 3 * sdk::kMaxLineBytes) + "\n" +
                                FakeRuntime::Envelope(id, R"({"type":"pong"})"));
    } else {
      AnswerPong(line, fd);
    }
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto first = client.Ping();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(first.error().reason, "response_too_large");
  EXPECT_TRUE(client.usable());
  auto second = client.Ping();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().reason, "response_too_large");
  // The fake answered request 2 twice (an oversized line, then a pong in the same write). The
  // discard must have stopped exactly at the '\n', so the stray pong for 2 is what request 3 reads
  // next — and it is caught as a mismatch, never taken as the answer to 3.
  auto third = client.Ping();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().reason, "id_mismatch");
}

TEST(RuntimeClient, EndOfStreamIsRuntimeClosedForEveryLaterCall) {
  FakeRuntime runtime([](const std::string&, int) { return false; });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().reason, "runtime_closed");
  auto again = client.GetRuntimeInfo();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, "runtime_closed");
}

TEST(RuntimeClient, EndOfStreamInsideAResponseIsRuntimeClosed) {
  FakeRuntime runtime([](const std::string&, int fd) {
    FakeRuntime::Send(fd, R"({"id":1,"response":{"ty)");
    return false;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "runtime_closed");
  EXPECT_NE(r.error().message.find("inside a response"), std::string::npos);
}

TEST(RuntimeClient, WritingToAClosedRuntimeIsRuntimeClosedNotSigpipe) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  sdk::RuntimeClient client(fds[0], fds[0]);
  auto r = client.Ping();  // would kill the process with SIGPIPE without MSG_NOSIGNAL
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "runtime_closed");
  ::close(fds[0]);
}

TEST(RuntimeClient, MalformedResponsesAreInternalButKeepTheCarrier) {
  int calls = 0;
  FakeRuntime runtime([&calls](const std::string& line, int fd) {
    switch (calls++) {
      case 0:
        FakeRuntime::Send(fd, "not json\n");
        break;
      case 1:
        FakeRuntime::Send(fd, "[1,2]\n");
        break;
      case 2:
        FakeRuntime::Send(fd, "{\"id\":3,\"response\":{\"type\":\"pong\"},\"extra\":1}\n");
        break;
      case 3:
        FakeRuntime::Send(fd, "{\"id\":\"4\",\"response\":{\"type\":\"pong\"}}\n");
        break;
      case 4:
        FakeRuntime::Send(fd, "{\"id\":5,\"response\":\"pong\"}\n");
        break;
      // The same as the reference's non-envelope answer to an oversized line.
      case 5:
        FakeRuntime::Send(fd, "{\"id\":0,\"type\":\"error\",\"error\":\"request_too_large\"}\n");
        break;
      default:
        AnswerPong(line, fd);
    }
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  for (int i = 0; i < 6; ++i) {
    auto r = client.Ping();
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal) << i;
    EXPECT_EQ(r.error().reason, "malformed_response") << i;
  }
  auto ok = client.Ping();
  EXPECT_TRUE(ok.ok()) << ok.error().ToString();
}

TEST(RuntimeClient, BlankLinesAndSlowDeliveryAreFine) {
  FakeRuntime runtime([](const std::string& line, int fd) {
    const std::string answer =
        "\n  \r\n" + FakeRuntime::Envelope(FakeRuntime::IdOf(line), R"({"type":"pong"})");
    for (char c : answer) FakeRuntime::Send(fd, std::string(1, c));  // one byte per write
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto r = client.Ping();
  EXPECT_TRUE(r.ok()) << r.error().ToString();
}

TEST(RuntimeClient, OversizedOrUnwritableRequestsAreNotSent) {
  FakeRuntime runtime(AnswerPong);
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  sdk::ResourceRequest big;
  big.uri = "localhost://P/big";
  big.op = sdk::ResourceOp::kWrite;
  big.content = sdk::Bytes(800 * 1024, 7);  // base64 makes it > 1 MiB
  auto r = client.Resource(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(r.error().reason, "request_too_large");

  sdk::ResourceRequest bad;
  bad.uri = "localhost://P/\xFF";
  bad.op = sdk::ResourceOp::kStat;
  auto b = client.Resource(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().reason, "json_unwritable");

  auto shapeless = client.CallRaw(json::Value(5));
  ASSERT_FALSE(shapeless.ok());
  EXPECT_EQ(shapeless.error().reason, "bad_request");
  auto untyped = client.CallRaw(json::Value(json::Object{}));
  ASSERT_FALSE(untyped.ok());
  EXPECT_EQ(untyped.error().reason, "bad_request");

  EXPECT_EQ(client.next_id(), 1u);  // ids are spent only on requests that were sent
  EXPECT_TRUE(client.Ping().ok());
  EXPECT_EQ(runtime.lines().size(), 1u);
}

TEST(RuntimeClient, ReadAndWriteResourceWorkInChunksUnderTheLineCap) {
  const sdk::Bytes file(1200 * 1024 + 5, 'z');  // three write requests, three read responses
  std::vector<std::uint64_t> read_offsets;
  std::vector<std::size_t> written_sizes;
  std::vector<bool> appends;
  std::size_t max_line = 0;
  FakeRuntime runtime([&](const std::string& line, int fd) {
    max_line = std::max(max_line, line.size());
    const json::Value v = *json::Parse(line);
    const json::Object& req = *v.GetObject()->Find("request")->GetObject();
    const std::string op = *req.Find("op")->GetString();
    const auto id = FakeRuntime::IdOf(line);
    if (op == "write") {
      const auto content = *sdk::BytesFromJson(*req.Find("content"));
      written_sizes.push_back(content.size());
      appends.push_back(req.Contains("append"));
      FakeRuntime::Send(
          fd, FakeRuntime::Envelope(id, R"({"type":"resource_response","op":"write","written":)" +
                                            std::to_string(content.size()) + "}"));
    } else {
      const std::uint64_t offset = req.Contains("offset") ? *req.Find("offset")->GetUint64() : 0;
      read_offsets.push_back(offset);
      const std::size_t n = std::min<std::size_t>(sdk::kMaxChunkBytes, file.size() - offset);
      const sdk::Bytes piece(file.begin() + static_cast<long>(offset),
                             file.begin() + static_cast<long>(offset + n));
      const bool eof = offset + n == file.size();
      FakeRuntime::Send(
          fd, FakeRuntime::Envelope(id, R"({"type":"resource_response","op":"read","data":")" +
                                            sdk::Base64Encode(piece) + R"(","eof":)" +
                                            (eof ? "true" : "false") + R"(,"size":)" +
                                            std::to_string(file.size()) + "}"));
    }
    return true;
  });
  sdk::RuntimeClient client(runtime.client_fd(), runtime.client_fd());
  auto w = client.WriteResource("localhost://P/f", std::string("tok"), file);
  ASSERT_TRUE(w.ok()) << w.error().ToString();
  EXPECT_EQ(written_sizes, (std::vector<std::size_t>{524288, 524288, 180229}));
  EXPECT_EQ(appends, (std::vector<bool>{false, true, true}));
  auto back = client.ReadResource("localhost://P/f", std::string("tok"));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, file);
  EXPECT_EQ(read_offsets, (std::vector<std::uint64_t>{0, 524288, 1048576}));
  EXPECT_LT(max_line, sdk::kMaxLineBytes);

  auto capped = client.ReadResource("localhost://P/f", std::string("tok"), 1000);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.error().reason, "too_large");
}

TEST(RuntimeClient, ConnectReadsTheEnvironmentAndNeverFallsBackToStdio) {
  ::unsetenv("ELASTOS_CARRIER_FDS");
  auto none = sdk::RuntimeClient::Connect();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(none.error().reason, "no_runtime");
  EXPECT_NE(none.error().message.find("not running under the ElastOS runtime"), std::string::npos);
  for (const char* bad : {"", "4", "4,", ",5", "a,b", "-1,5", "4;5", "4,5,6", "99999999999,5"}) {
    ::setenv("ELASTOS_CARRIER_FDS", bad, 1);
    auto r = sdk::RuntimeClient::Connect();
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().reason, "bad_carrier_fds") << bad;
  }
  FakeRuntime runtime(AnswerPong);
  const std::string spec =
      std::to_string(runtime.client_fd()) + "," + std::to_string(runtime.client_fd());
  ::setenv("ELASTOS_CARRIER_FDS", spec.c_str(), 1);
  auto client = sdk::RuntimeClient::Connect();
  ::unsetenv("ELASTOS_CARRIER_FDS");
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  EXPECT_TRUE(client->Ping().ok());
}

TEST(CapsuleInfo, ComesFromTheEnvironment) {
  ::setenv("ELASTOS_CAPSULE_NAME", "notes", 1);
  ::setenv("ELASTOS_CAPSULE_ID", "cap-42", 1);
  ::setenv("ELASTOS_CARRIER_FDS", "4,5", 1);
  const sdk::CapsuleInfo info = sdk::CapsuleInfo::FromEnvironment();
  EXPECT_EQ(info.name, "notes");
  EXPECT_EQ(info.id, "cap-42");
  EXPECT_TRUE(info.under_runtime());
  ::unsetenv("ELASTOS_CAPSULE_NAME");
  ::unsetenv("ELASTOS_CAPSULE_ID");
  ::unsetenv("ELASTOS_CARRIER_FDS");
  const sdk::CapsuleInfo bare = sdk::CapsuleInfo::FromEnvironment();
  EXPECT_TRUE(bare.name.empty());
  EXPECT_FALSE(bare.under_runtime());
  auto fds = sdk::ParseCarrierFds("4,5");
  ASSERT_TRUE(fds.ok());
  EXPECT_EQ(fds->in, 4);
  EXPECT_EQ(fds->out, 5);
}

TEST(Result, ValueOfAFailedResultStopsTheProgramSayingWhy) {
  sdk::Result<int> failed = sdk::MakeError(ErrorCode::kNotFound, "gone", "it is gone");
  EXPECT_DEATH((void)failed.value(), "it is gone");
  sdk::Result<int> fine = 3;
  EXPECT_EQ(*fine, 3);
  sdk::Result<void> ok;
  EXPECT_TRUE(ok.ok());
}

}  // namespace
