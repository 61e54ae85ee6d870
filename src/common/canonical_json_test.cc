#include "common/canonical_json.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace elastos {
namespace {

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  auto v = boost::json::parse(R"({ "b": [1, {"z": null, "a": true}], "a": "x\"y", "é": -3 })");
  EXPECT_EQ(*CanonicalJson(v), R"({"a":"x\"y","b":[1,{"a":true,"z":null}],"é":-3})");
}

TEST(CanonicalJson, RefusesFloats) {
  EXPECT_EQ(CanonicalJson(boost::json::parse("{\"a\":1.5}")).status().reason(), "json_not_canonical");
}

TEST(CanonicalJson, ParseAcceptsOnlyTheCanonicalSpelling) {
  EXPECT_TRUE(ParseCanonicalJson(R"({"a":1,"b":"c"})", 1024).ok());
  EXPECT_EQ(ParseCanonicalJson(R"({"b":"c","a":1})", 1024).status().reason(), "json_not_canonical");
  EXPECT_EQ(ParseCanonicalJson(R"({"a": 1})", 1024).status().reason(), "json_not_canonical");
  // A duplicate key collapses in the parsed value, so the text cannot be canonical.
  EXPECT_EQ(ParseCanonicalJson(R"({"a":1,"a":2})", 1024).status().reason(), "json_not_canonical");
  EXPECT_EQ(ParseCanonicalJson(R"({"a":)", 1024).status().reason(), "bad_json");
  EXPECT_EQ(ParseCanonicalJson(R"({"a":1})", 4).status().reason(), "json_too_large");
}

TEST(CanonicalJson, RefusesDeepNesting) {
  boost::json::value deep = boost::json::array();
  for (int i = 0; i < 100; ++i) deep = boost::json::array{deep};
  EXPECT_EQ(CanonicalJson(deep).status().reason(), "json_too_deep");
  // The parser has its own depth limit and reports it as malformed input, not a crash.
  EXPECT_EQ(ParseCanonicalJson(std::string(100, '[') + std::string(100, ']'), 1024).status().reason(), "bad_json");
}

}  // namespace
}  // namespace elastos
