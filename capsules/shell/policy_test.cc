// Native tests of the shell's policy engine (capsules/shell/policy.h): parsing and its errors,
// first-match-wins, resource coverage with the runtime's semantics, actor and capsule filters,
// constraints, the remembered "always" set, and the safe default a broken policy leaves.
#include "policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace shell = elastos::shell;
using shell::Duration;
using shell::Source;
using shell::Verdict;

shell::Policy MustParse(const std::string& text) {
  auto p = shell::ParsePolicy(text);
  EXPECT_TRUE(p.ok()) << text << "\n" << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p).value() : shell::Policy{};
}

// The error message of a policy that must not parse ("" if it parsed).
std::string ParseError(const std::string& text) {
  auto p = shell::ParsePolicy(text);
  if (p.ok()) return "";
  EXPECT_EQ(p.error().code, elastos::sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(p.error().reason, "bad_policy");
  return p.error().message;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

shell::DecisionFacts Facts(std::string resource, std::string action = "read",
                           std::string capsule = "notes", std::string actor = "human") {
  return shell::DecisionFacts{std::move(capsule), std::move(actor), std::move(resource),
                              std::move(action)};
}

shell::Evaluation Eval(const shell::Policy& p, const shell::DecisionFacts& f,
                       const shell::Remembered& memory = shell::Remembered{}) {
  return shell::Evaluate(p, memory, f);
}

// ---- Resource patterns
// ---------------------------------------------------------------------------

TEST(Pattern, NormalisesLikeTheRuntime) {
  EXPECT_EQ(*shell::NormalizePattern("LocalHost://Users//alice/./notes.txt"),
            "localhost://Users/alice/notes.txt");
  EXPECT_EQ(*shell::NormalizePattern("localhost://Users/alice/*"), "localhost://Users/alice/*");
  EXPECT_EQ(*shell::NormalizePattern("localhost://Users/alice//*"), "localhost://Users/alice/*");
  EXPECT_EQ(*shell::NormalizePattern("localhost://*"), "localhost://*");
  EXPECT_EQ(*shell::NormalizePattern("localhost://Users/a/"), "localhost://Users/a");
}

TEST(Pattern, RefusesSecondSpellingsInsteadOfNormalisingThem) {
  for (const char* bad :
       {"localhost://Users/../etc", "localhost://Users/alice/..", "localhost://../*",
        "localhost://Users/%2e%2e/x", "localhost://Users/a%2Fb", "localhost://Users/a%5cb",
        "localhost://Users/a%00", "localhost://Users\\a", "localhost://Users/a\nb",
        "localhost://Users/*/x", "localhost://Users/a*", "localhost://Users/*/*", "*",
        "Users/alice", "://x", "1ocal://x", "localhost://", "localhost:///./"}) {
    auto r = shell::NormalizePattern(bad);
    EXPECT_FALSE(r.ok()) << bad << " -> " << (r.ok() ? *r : "");
  }
  EXPECT_FALSE(shell::NormalizePattern("localhost://a/*", /*allow_wildcard=*/false).ok());
  EXPECT_FALSE(shell::NormalizePattern("localhost://" + std::string(2100, 'a')).ok());
}

TEST(Pattern, ExactMatchesOnlyItselfAndPrefixMatchesBelowButNotItself) {
  EXPECT_TRUE(shell::PatternMatches("localhost://A/b", "localhost://A/b"));
  EXPECT_FALSE(shell::PatternMatches("localhost://A/b", "localhost://A/b/c"));
  EXPECT_TRUE(shell::PatternMatches("localhost://A/*", "localhost://A/b"));
  EXPECT_TRUE(shell::PatternMatches("localhost://A/*", "localhost://A/b/c/d"));
  EXPECT_FALSE(shell::PatternMatches("localhost://A/*", "localhost://A"));  // not the prefix itself
  EXPECT_FALSE(shell::PatternMatches("localhost://A/*", "localhost://AB/c"));  // not a sibling
  EXPECT_TRUE(shell::PatternMatches("localhost://*", "localhost://A"));
  EXPECT_FALSE(shell::PatternMatches("localhost://*", "elastos://A"));
}

TEST(Pattern, CoverageOfPatternsOnlyNarrows) {
  EXPECT_TRUE(shell::PatternCovers("localhost://A/*", "localhost://A/*"));
  EXPECT_TRUE(shell::PatternCovers("localhost://A/*", "localhost://A/b/*"));
  EXPECT_TRUE(shell::PatternCovers("localhost://A/*", "localhost://A/b"));
  EXPECT_FALSE(shell::PatternCovers("localhost://A/b/*", "localhost://A/*"));  // wider
  EXPECT_FALSE(shell::PatternCovers("localhost://A/*", "localhost://A"));
  EXPECT_FALSE(shell::PatternCovers("localhost://A/*", "localhost://AB/*"));
  EXPECT_FALSE(shell::PatternCovers("localhost://A/b", "localhost://A/b/*"));  // exact never covers a prefix
  EXPECT_TRUE(shell::PatternCovers("localhost://A/b", "localhost://A/b"));
}

// ---- Parsing
// -------------------------------------------------------------------------------------

TEST(PolicyParse, AcceptsTheDocumentedFormat) {
  const shell::Policy p = MustParse(R"({
    "schema": "elastos.policy/v1",
    "default": "deny",
    "rules": [
      {"resource": "localhost://Users/self/Notes/*", "actions": ["read", "write"],
       "decision": "allow", "duration": "session", "max_uses": 10, "expires_in_s": 3600,
       "actor": "human", "capsule": "notes"},
      {"resource": "elastos://peer/*", "actions": ["*"], "decision": "ask"},
      {"resource": "localhost://Users/*", "actions": ["delete"], "decision": "deny", "actor": "agent"}
    ]})");
  EXPECT_EQ(p.default_decision, Verdict::kDeny);
  ASSERT_EQ(p.rules.size(), 3u);
  EXPECT_EQ(p.rules[0].resource, "localhost://Users/self/Notes/*");
  EXPECT_EQ(p.rules[0].actions, shell::ActionBit("read") | shell::ActionBit("write"));
  EXPECT_EQ(p.rules[0].duration, Duration::kSession);
  EXPECT_EQ(p.rules[0].constraints.max_uses, 10u);
  EXPECT_EQ(p.rules[0].constraints.expires_in_s, 3600u);
  EXPECT_EQ(p.rules[0].actor, shell::ActorFilter::kHuman);
  EXPECT_EQ(p.rules[0].capsule, "notes");
  EXPECT_EQ(p.rules[1].actions, shell::kAllActions);
  EXPECT_EQ(p.rules[1].capsule, "*");
  EXPECT_EQ(p.rules[1].actor, shell::ActorFilter::kAny);
  EXPECT_FALSE(p.rules[1].duration.has_value());
  EXPECT_EQ(p.rules[2].decision, Verdict::kDeny);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(PolicyParse, MinimalDocumentsMeanAsk) {
  EXPECT_EQ(MustParse("{}").default_decision, Verdict::kAsk);
  EXPECT_EQ(MustParse(R"({"default":"ask","rules":[]})").default_decision, Verdict::kAsk);
  EXPECT_EQ(shell::Policy{}.default_decision, Verdict::kAsk);
  EXPECT_TRUE(shell::Policy{}.rules.empty());
}

TEST(PolicyParse, DefaultAllowIsRefusedAsGrantAll) {
  const std::string e = ParseError(R"({"default":"allow","rules":[]})");
  EXPECT_TRUE(Contains(e, "$.default")) << e;
  EXPECT_TRUE(Contains(e, "grant-all")) << e;
  EXPECT_TRUE(Contains(e, "\"ask\" or \"deny\"")) << e;
}

TEST(PolicyParse, UnknownFieldsAreErrorsThatNameThem) {
  std::string e = ParseError(R"({"default":"ask","rulez":[]})");
  EXPECT_TRUE(Contains(e, "$.rulez")) << e;
  EXPECT_TRUE(Contains(e, "unknown field 'rulez'")) << e;
  e = ParseError(R"({"rules":[{"resource":"localhost://A/*","actions":["read"],"decision":"allow","max_use":3}]})");
  EXPECT_TRUE(Contains(e, "$.rules[0].max_use")) << e;
  EXPECT_TRUE(Contains(e, "unknown field 'max_use'")) << e;
  // The reference runtime's format is named as such.
  e = ParseError(R"({"allow":["localhost://Users/*"]})");
  EXPECT_TRUE(Contains(e, "$.allow")) << e;
  EXPECT_TRUE(Contains(e, "reference")) << e;
}

TEST(PolicyParse, BadActionsNameTheirPath) {
  std::string e = ParseError(
      R"({"rules":[{"resource":"localhost://A/*","actions":["read"],"decision":"allow"},
                   {"resource":"localhost://B/*","actions":["read","fly"],"decision":"allow"}]})");
  EXPECT_TRUE(Contains(e, "$.rules[1].actions[1]")) << e;
  EXPECT_TRUE(Contains(e, "'fly' is not an action")) << e;
  e = ParseError(R"({"rules":[{"resource":"localhost://A/*","actions":[],"decision":"allow"}]})");
  EXPECT_TRUE(Contains(e, "$.rules[0].actions")) << e;
  e = ParseError(R"({"rules":[{"resource":"localhost://A/*","actions":["*","read"],"decision":"allow"}]})");
  EXPECT_TRUE(Contains(e, "$.rules[0].actions[0]")) << e;
  e = ParseError(R"({"rules":[{"resource":"localhost://A/*","actions":["read","read"],"decision":"allow"}]})");
  EXPECT_TRUE(Contains(e, "$.rules[0].actions[1]")) << e;
  e = ParseError(R"({"rules":[{"resource":"localhost://A/*","actions":"read","decision":"allow"}]})");
  EXPECT_TRUE(Contains(e, "$.rules[0].actions")) << e;
  e = ParseError(R"({"rules":[{"resource":"localhost://A/*","actions":["READ"],"decision":"allow"}]})");
  EXPECT_TRUE(Contains(e, "$.rules[0].actions[0]")) << e;
}

TEST(PolicyParse, SchemaMustBeOurs) {
  std::string e = ParseError(R"({"schema":"elastos.policy/v2"})");
  EXPECT_TRUE(Contains(e, "$.schema")) << e;
  EXPECT_TRUE(Contains(e, "elastos.policy/v1")) << e;
  e = ParseError(R"({"schema":1})");
  EXPECT_TRUE(Contains(e, "$.schema")) << e;
}

TEST(PolicyParse, WrongTypesAndValuesNameTheirPath) {
  const std::string ok_rule = R"("resource":"localhost://A/*","actions":["read"])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "policy $:"},
      {"\"ask\"", "policy $:"},
      {"{", "policy $:"},  // not JSON
      {R"({"default":"maybe"})", "$.default"},
      {R"({"default":null})", "$.default"},
      {R"({"default":1})", "$.default"},
      {R"({"rules":{}})", "$.rules"},
      {R"({"rules":[7]})", "$.rules[0]"},
      {R"({"rules":[{"actions":["read"],"decision":"allow"}]})", "$.rules[0]: missing required field 'resource'"},
      {R"({"rules":[{"resource":"localhost://A/*","decision":"allow"}]})", "$.rules[0]: missing required field 'actions'"},
      {"{\"rules\":[{" + ok_rule + "}]}", "$.rules[0]: missing required field 'decision'"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"yes\"}]}", "$.rules[0].decision"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":true}]}", "$.rules[0].decision"},
      {R"({"rules":[{"resource":5,"actions":["read"],"decision":"allow"}]})", "$.rules[0].resource"},
      {R"({"rules":[{"resource":"localhost://A/../*","actions":["read"],"decision":"allow"}]})", "$.rules[0].resource"},
      {R"({"rules":[{"resource":"Users/*","actions":["read"],"decision":"allow"}]})", "$.rules[0].resource"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"duration\":\"forever\"}]}", "$.rules[0].duration"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"max_uses\":0}]}", "$.rules[0].max_uses"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"max_uses\":-1}]}", "$.rules[0].max_uses"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"max_uses\":1.5}]}", "$.rules[0].max_uses"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"max_uses\":2.0}]}", "$.rules[0].max_uses"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"max_uses\":\"3\"}]}", "$.rules[0].max_uses"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"expires_in_s\":0}]}", "$.rules[0].expires_in_s"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"actor\":\"robot\"}]}", "$.rules[0].actor"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"capsule\":\"Notes!\"}]}", "$.rules[0].capsule"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"capsule\":[]}]}", "$.rules[0].capsule"},
      // Grant-only fields on a deny rule, and a contradictory once + max_uses.
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"deny\",\"duration\":\"once\"}]}", "$.rules[0].duration"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"deny\",\"max_uses\":2}]}", "$.rules[0].max_uses"},
      {"{\"rules\":[{" + ok_rule + ",\"decision\":\"allow\",\"duration\":\"once\",\"max_uses\":2}]}", "$.rules[0].max_uses"},
      // Duplicate keys are refused by the JSON reader itself.
      {R"({"default":"ask","default":"deny"})", "policy $:"},
  };
  for (const auto& [text, path] : cases) {
    const std::string e = ParseError(text);
    EXPECT_TRUE(Contains(e, path)) << text << "\n  -> " << e;
  }
}

TEST(PolicyParse, AllowEverythingRuleIsAcceptedWithAWarning) {
  const shell::Policy p = MustParse(
      R"({"rules":[{"resource":"localhost://*","actions":["*"],"decision":"allow"}]})");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_TRUE(Contains(p.warnings[0], "$.rules[0]")) << p.warnings[0];
}

TEST(PolicyParse, OversizedTextIsRefused) {
  std::string big = R"({"rules":[)";
  const std::string rule = R"({"resource":"localhost://A/*","actions":["read"],"decision":"allow"},)";
  while (big.size() <= shell::kMaxPolicyBytes) big += rule;
  big.back() = ']';
  big += "}";
  EXPECT_FALSE(ParseError(big).empty());
}

TEST(PolicyParse, ABrokenPolicyLeavesTheSafeDefault) {
  // What the shell does with a parse error: Policy{} — every request asked, nothing granted.
  auto broken = shell::ParsePolicy(R"({"default":"allow","rules":[{"resource":"localhost://*","actions":["*"],"decision":"allow"}]})");
  ASSERT_FALSE(broken.ok());
  const shell::Policy fallback = broken.ok() ? std::move(broken).value() : shell::Policy{};
  for (const char* action : {"read", "write", "execute", "message", "delete", "admin"}) {
    const shell::Evaluation e = Eval(fallback, Facts("localhost://Users/x", action));
    EXPECT_EQ(e.verdict, Verdict::kAsk) << action;
    EXPECT_EQ(e.source, Source::kDefault) << action;
  }
}

// ---- Evaluation
// ----------------------------------------------------------------------------------

TEST(Evaluate, FirstMatchWins) {
  const shell::Policy p = MustParse(R"({"default":"ask","rules":[
    {"resource":"localhost://Users/self/Secret/*","actions":["*"],"decision":"deny"},
    {"resource":"localhost://Users/self/*","actions":["read"],"decision":"allow","duration":"once"},
    {"resource":"localhost://Users/*","actions":["read","write"],"decision":"allow"}]})");
  shell::Evaluation e = Eval(p, Facts("localhost://Users/self/Secret/key"));
  EXPECT_EQ(e.verdict, Verdict::kDeny);
  EXPECT_EQ(e.source, Source::kRule);
  EXPECT_EQ(e.rule_index, 0u);
  EXPECT_EQ(e.SourceName(), "rule[0]");
  e = Eval(p, Facts("localhost://Users/self/notes.txt"));
  EXPECT_EQ(e.verdict, Verdict::kAllow);
  EXPECT_EQ(e.rule_index, 1u);
  EXPECT_EQ(e.duration, Duration::kOnce);
  e = Eval(p, Facts("localhost://Users/self/notes.txt", "write"));  // rule 1 is read-only
  EXPECT_EQ(e.verdict, Verdict::kAllow);
  EXPECT_EQ(e.rule_index, 2u);
  EXPECT_EQ(e.duration, Duration::kSession);  // allow's default duration
  e = Eval(p, Facts("localhost://Public/x"));
  EXPECT_EQ(e.verdict, Verdict::kAsk);
  EXPECT_EQ(e.source, Source::kDefault);
  EXPECT_EQ(e.SourceName(), "default");
}

TEST(Evaluate, DefaultDenyDeniesUnmatched) {
  const shell::Policy p = MustParse(R"({"default":"deny"})");
  const shell::Evaluation e = Eval(p, Facts("localhost://Users/x"));
  EXPECT_EQ(e.verdict, Verdict::kDeny);
  EXPECT_EQ(e.source, Source::kDefault);
}

TEST(Evaluate, CoverageIsTheRuntimesSemantics) {
  const shell::Policy p = MustParse(R"({"default":"deny","rules":[
    {"resource":"localhost://Users/self/Notes/*","actions":["read"],"decision":"allow"},
    {"resource":"localhost://Users/self/todo.txt","actions":["read"],"decision":"allow"}]})");
  auto verdict = [&](const std::string& r) { return Eval(p, Facts(r)).verdict; };
  EXPECT_EQ(verdict("localhost://Users/self/Notes/a.txt"), Verdict::kAllow);
  EXPECT_EQ(verdict("localhost://Users/self/Notes/deep/er/a.txt"), Verdict::kAllow);
  EXPECT_EQ(verdict("localhost://Users/self/Notes/*"), Verdict::kAllow);       // the same pattern
  EXPECT_EQ(verdict("localhost://Users/self/Notes/2024/*"), Verdict::kAllow);  // a narrower one
  EXPECT_EQ(verdict("LOCALHOST://Users//self/./Notes/a.txt"), Verdict::kAllow);  // normalised
  EXPECT_EQ(verdict("localhost://Users/self/Notes"), Verdict::kDeny);  // not the prefix itself
  EXPECT_EQ(verdict("localhost://Users/self/Notes2/a"), Verdict::kDeny);
  EXPECT_EQ(verdict("localhost://Users/self/*"), Verdict::kDeny);  // wider than the rule
  EXPECT_EQ(verdict("localhost://Users/self/todo.txt"), Verdict::kAllow);
  EXPECT_EQ(verdict("localhost://Users/self/todo.txt/*"), Verdict::kDeny);  // exact covers no prefix
  EXPECT_EQ(verdict("localhost://users/self/todo.txt"), Verdict::kDeny);    // paths are case-sensitive
}

TEST(Evaluate, DotDotNeverMatchesAndIsRefused) {
  // Even under a default that would only ask, a second spelling of a path is denied outright.
  const shell::Policy p = MustParse(R"({"default":"ask","rules":[
    {"resource":"localhost://Users/self/*","actions":["*"],"decision":"allow"}]})");
  for (const char* r : {"localhost://Users/self/../other/secret", "localhost://Users/self/..",
                        "localhost://Users/self/%2e%2e/x", "localhost://Users/self/a\\..\\b",
                        "Users/self/x", "localhost://Users/self/*/x"}) {
    const shell::Evaluation e = Eval(p, Facts(r));
    EXPECT_EQ(e.verdict, Verdict::kDeny) << r;
    EXPECT_EQ(e.source, Source::kRefused) << r;
    EXPECT_FALSE(e.why.empty()) << r;
  }
  const shell::Evaluation bad_action = Eval(p, Facts("localhost://Users/self/x", "fly"));
  EXPECT_EQ(bad_action.verdict, Verdict::kDeny);
  EXPECT_EQ(bad_action.source, Source::kRefused);
}

TEST(Evaluate, ActorAndCapsuleFilters) {
  const shell::Policy p = MustParse(R"({"default":"deny","rules":[
    {"resource":"localhost://Users/*","actions":["write"],"decision":"deny","actor":"agent"},
    {"resource":"localhost://Users/*","actions":["read","write"],"decision":"allow","capsule":"notes"},
    {"resource":"localhost://Public/*","actions":["read"],"decision":"allow","actor":"human"},
    {"resource":"localhost://Public/*","actions":["read"],"decision":"ask","actor":"any"}]})");
  EXPECT_EQ(Eval(p, Facts("localhost://Users/a", "write", "notes", "agent")).rule_index, 0u);
  EXPECT_EQ(Eval(p, Facts("localhost://Users/a", "write", "notes", "agent")).verdict, Verdict::kDeny);
  EXPECT_EQ(Eval(p, Facts("localhost://Users/a", "write", "notes", "human")).verdict, Verdict::kAllow);
  EXPECT_EQ(Eval(p, Facts("localhost://Users/a", "read", "notes", "agent")).verdict, Verdict::kAllow);
  // The capsule filter is an exact name.
  const shell::Evaluation other = Eval(p, Facts("localhost://Users/a", "read", "notes2"));
  EXPECT_EQ(other.verdict, Verdict::kDeny);
  EXPECT_EQ(other.source, Source::kDefault);
  EXPECT_EQ(Eval(p, Facts("localhost://Public/a", "read", "x", "human")).rule_index, 2u);
  EXPECT_EQ(Eval(p, Facts("localhost://Public/a", "read", "x", "agent")).rule_index, 3u);
  // An actor kind the shell does not know only meets rules for any actor.
  EXPECT_EQ(Eval(p, Facts("localhost://Public/a", "read", "x", "martian")).rule_index, 3u);
}

TEST(Evaluate, ConstraintsAndDurationsComeFromTheRule) {
  const shell::Policy p = MustParse(R"({"default":"deny","rules":[
    {"resource":"localhost://A/*","actions":["read"],"decision":"allow","max_uses":5,"expires_in_s":60},
    {"resource":"localhost://B/*","actions":["read"],"decision":"allow","duration":"always"},
    {"resource":"localhost://C/*","actions":["read"],"decision":"ask","duration":"session","max_uses":2},
    {"resource":"localhost://D/*","actions":["read"],"decision":"ask"}]})");
  shell::Evaluation e = Eval(p, Facts("localhost://A/x"));
  EXPECT_EQ(e.duration, Duration::kSession);
  EXPECT_EQ(e.constraints.max_uses, 5u);
  EXPECT_EQ(e.constraints.expires_in_s, 60u);
  EXPECT_EQ(Eval(p, Facts("localhost://B/x")).duration, Duration::kAlways);
  e = Eval(p, Facts("localhost://C/x"));
  EXPECT_EQ(e.verdict, Verdict::kAsk);
  EXPECT_EQ(e.duration, Duration::kSession);  // the cap on the person's answer
  EXPECT_EQ(e.constraints.max_uses, 2u);
  EXPECT_FALSE(Eval(p, Facts("localhost://D/x")).duration.has_value());  // no cap
  EXPECT_EQ(shell::CapDuration(Duration::kAlways, Duration::kSession), Duration::kSession);
  EXPECT_EQ(shell::CapDuration(Duration::kOnce, Duration::kSession), Duration::kOnce);
  EXPECT_EQ(shell::CapDuration(Duration::kAlways, std::nullopt), Duration::kAlways);
}

// ---- Remembered "always"
// -------------------------------------------------------------------------

TEST(Remembered, ReplacesAskingButNeverAPolicyDeny) {
  const shell::Policy p = MustParse(R"({"default":"ask","rules":[
    {"resource":"localhost://Users/self/Secret/*","actions":["*"],"decision":"deny"},
    {"resource":"localhost://Users/*","actions":["read"],"decision":"ask","max_uses":3}]})");
  shell::Remembered memory;
  ASSERT_TRUE(memory.Remember({"notes", "human", "localhost://Users/self/*", "read", {3, std::nullopt}}));
  ASSERT_TRUE(memory.Remember({"notes", "human", "localhost://Other/x", "write", {}}));

  shell::Evaluation e = Eval(p, Facts("localhost://Users/self/a.txt"), memory);
  EXPECT_EQ(e.verdict, Verdict::kAllow);
  EXPECT_EQ(e.source, Source::kRemembered);
  EXPECT_EQ(e.SourceName(), "remembered");
  EXPECT_EQ(e.duration, Duration::kSession);  // "always" lives in the shell, not in the token
  EXPECT_EQ(e.constraints.max_uses, 3u);
  // The default's ask is replaced too.
  EXPECT_EQ(Eval(p, Facts("localhost://Other/x", "write"), memory).source, Source::kRemembered);
  // The policy's deny wins over memory.
  e = Eval(p, Facts("localhost://Users/self/Secret/k"), memory);
  EXPECT_EQ(e.verdict, Verdict::kDeny);
  EXPECT_EQ(e.source, Source::kRule);
  // Another capsule, actor, action or a wider resource is asked again.
  EXPECT_EQ(Eval(p, Facts("localhost://Users/self/a.txt", "read", "notes2"), memory).verdict, Verdict::kAsk);
  EXPECT_EQ(Eval(p, Facts("localhost://Users/self/a.txt", "read", "notes", "agent"), memory).verdict, Verdict::kAsk);
  EXPECT_EQ(Eval(p, Facts("localhost://Other/x", "read"), memory).verdict, Verdict::kAsk);
  EXPECT_EQ(Eval(p, Facts("localhost://Users/*"), memory).verdict, Verdict::kAsk);
  // A default deny is not overridden by memory either.
  const shell::Policy deny_all = MustParse(R"({"default":"deny"})");
  EXPECT_EQ(Eval(deny_all, Facts("localhost://Other/x", "write"), memory).verdict, Verdict::kDeny);
}

TEST(Remembered, RoundTripsThroughItsText) {
  shell::Remembered memory;
  ASSERT_TRUE(memory.Remember({"notes", "human", "localhost://Users/self/*", "read", {3, 60}}));
  ASSERT_TRUE(memory.Remember({"chat", "agent", "elastos://peer/alice", "message", {}}));
  // The same key again replaces its constraints instead of adding an entry.
  ASSERT_TRUE(memory.Remember({"chat", "agent", "elastos://peer//alice", "message", {std::nullopt, 9}}));
  EXPECT_EQ(memory.size(), 2u);
  const std::string text = memory.ToText();
  EXPECT_TRUE(Contains(text, "\"schema\":\"elastos.shell-always/v1\"")) << text;

  auto back = shell::Remembered::Parse(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(back->grants()[0].capsule, "notes");
  EXPECT_EQ(back->grants()[0].resource, "localhost://Users/self/*");
  EXPECT_EQ(back->grants()[0].constraints, (shell::GrantConstraints{3, 60}));
  EXPECT_EQ(back->grants()[1].resource, "elastos://peer/alice");
  EXPECT_EQ(back->grants()[1].constraints, (shell::GrantConstraints{std::nullopt, 9}));
  EXPECT_EQ(back->ToText(), text);
  EXPECT_NE(back->Find("chat", "agent", "message", "elastos://peer/alice"), nullptr);

  auto empty = shell::Remembered::Parse(shell::Remembered{}.ToText());
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->size(), 0u);
}

TEST(Remembered, RefusesWhatItCannotReadExactly) {
  for (const char* bad : {
           "", "[]", "{}", R"({"schema":"elastos.shell-always/v2","always":[]})",
           R"({"schema":"elastos.shell-always/v1"})",
           R"({"schema":"elastos.shell-always/v1","always":[],"extra":1})",
           R"({"schema":"elastos.shell-always/v1","always":[{"capsule":"n","actor":"human","resource":"localhost://A/*"}]})",
           R"({"schema":"elastos.shell-always/v1","always":[{"capsule":"n","actor":"robot","resource":"localhost://A/*","action":"read"}]})",
           R"({"schema":"elastos.shell-always/v1","always":[{"capsule":"N!","actor":"human","resource":"localhost://A/*","action":"read"}]})",
           R"({"schema":"elastos.shell-always/v1","always":[{"capsule":"n","actor":"human","resource":"localhost://A/../*","action":"read"}]})",
           R"({"schema":"elastos.shell-always/v1","always":[{"capsule":"n","actor":"human","resource":"localhost://A/*","action":"read","max_uses":0}]})",
           R"({"schema":"elastos.shell-always/v1","always":[{"capsule":"n","actor":"human","resource":"localhost://A/*","action":"read","why":"x"}]})"}) {
    auto r = shell::Remembered::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().reason, "bad_remembered") << bad;
    }
  }
  shell::Remembered memory;
  EXPECT_FALSE(memory.Remember({"notes", "human", "localhost://A/../b", "read", {}}));
  EXPECT_FALSE(memory.Remember({"notes", "robot", "localhost://A/b", "read", {}}));
  EXPECT_FALSE(memory.Remember({"notes", "human", "localhost://A/b", "fly", {}}));
  EXPECT_EQ(memory.size(), 0u);
}

TEST(Printable, KeepsLogLinesOnOneLine) {
  EXPECT_EQ(shell::Printable("a\nb\x1b[31m"), "a?b?[31m");
  EXPECT_EQ(shell::Printable(std::string(10, 'x'), 4), "xxxx…");
  // Never half a UTF-8 sequence.
  const std::string cut = shell::Printable("ab\xC3\xA9\xC3\xA9", 3);
  EXPECT_TRUE(cut == "ab…" || cut == "ab\xC3\xA9…") << cut;
}

}  // namespace
