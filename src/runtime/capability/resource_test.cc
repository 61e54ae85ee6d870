#include "runtime/capability/resource.h"

#include <gtest/gtest.h>

namespace elastos::runtime {
namespace {

std::string Norm(std::string_view s) {
  auto r = NormalizePattern(s);
  return r.ok() ? *r : "ERR:" + r.status().reason();
}

TEST(Resource, Normalises) {
  EXPECT_EQ(Norm("localhost://Users/alice/notes.txt"), "localhost://Users/alice/notes.txt");
  EXPECT_EQ(Norm("LocalHost://Users//alice/./notes.txt"), "localhost://Users/alice/notes.txt");
  EXPECT_EQ(Norm("localhost://Users/alice/"), "localhost://Users/alice");
  EXPECT_EQ(Norm("localhost://Users/alice/Notes/*"), "localhost://Users/alice/Notes/*");
  EXPECT_EQ(Norm("localhost://*"), "localhost://*");
  // Case is preserved in paths: Users and users are different roots.
  EXPECT_NE(Norm("localhost://Users/a"), Norm("localhost://users/a"));
}

TEST(Resource, RefusesTraversalInEverySpelling) {
  for (const char* bad : {"localhost://Users/../etc/passwd", "localhost://Users/alice/..", "localhost://../x",
                          "localhost://Users/%2e%2e/etc", "localhost://Users/%2E%2E/etc", "localhost://Users/.%2e/x",
                          "localhost://Users/alice%2f..%2fbob", "localhost://Users/a%5c..%5cb", "localhost://Users\\..\\x",
                          "localhost://Users/a%00b", "localhost://Users/a\nb"}) {
    EXPECT_EQ(Norm(bad), "ERR:bad_resource") << bad;
  }
}

TEST(Resource, RefusesMalformed) {
  for (const char* bad : {"", "Users/alice", "://x", "1http://x", "localhost://", "localhost:///", "localhost://a*/b",
                          "localhost://a/*/b", "localhost://a/b*"}) {
    EXPECT_EQ(Norm(bad), "ERR:bad_resource") << bad;
  }
  EXPECT_EQ(NormalizeResource("localhost://a/*").status().reason(), "bad_resource");  // no wildcard in a concrete resource
  EXPECT_EQ(Norm(std::string("localhost://") + std::string(kMaxResourceLength, 'a')), "ERR:bad_resource");
}

TEST(Resource, PrefixPatternsMatchBelowNotAt) {
  const std::string notes = "localhost://Users/self/Documents/Notes/*";
  EXPECT_TRUE(PatternMatches(notes, "localhost://Users/self/Documents/Notes/a.txt"));
  EXPECT_TRUE(PatternMatches(notes, "localhost://Users/self/Documents/Notes/2024/b.txt"));
  EXPECT_FALSE(PatternMatches(notes, "localhost://Users/self/Documents/Notes"));
  EXPECT_FALSE(PatternMatches(notes, "localhost://Users/self/Documents/NotesX/a.txt"));
  EXPECT_FALSE(PatternMatches(notes, "localhost://Users/self/Documents/a.txt"));
  EXPECT_TRUE(PatternMatches("localhost://*", "localhost://Public/x"));
  EXPECT_FALSE(PatternMatches("localhost://*", "elastos://Public/x"));
  EXPECT_TRUE(PatternMatches("localhost://a/b", "localhost://a/b"));
  EXPECT_FALSE(PatternMatches("localhost://a/b", "localhost://a/b/c"));
}

TEST(Resource, CoversOnlyNarrowerScopes) {
  EXPECT_TRUE(PatternCovers("localhost://a/*", "localhost://a/b/*"));
  EXPECT_TRUE(PatternCovers("localhost://a/*", "localhost://a/*"));
  EXPECT_TRUE(PatternCovers("localhost://a/*", "localhost://a/b"));
  EXPECT_FALSE(PatternCovers("localhost://a/*", "localhost://a"));
  EXPECT_FALSE(PatternCovers("localhost://a/b/*", "localhost://a/*"));  // widening
  EXPECT_FALSE(PatternCovers("localhost://a/*", "localhost://ab/*"));
  EXPECT_FALSE(PatternCovers("localhost://a/b", "localhost://a/b/*"));
  EXPECT_TRUE(PatternCovers("localhost://a/b", "localhost://a/b"));
  EXPECT_FALSE(PatternCovers("localhost://*", "elastos://x/*"));
}

}  // namespace
}  // namespace elastos::runtime
