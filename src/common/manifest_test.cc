#include "common/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <string>

namespace elastos {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kMinimal =
    R"({"name":"notes","version":"1.0.0","type":"wasm","entry":"notes.wasm"})";

constexpr std::string_view kFull = R"({
  "schema": "elastos.capsule/v1",
  "name": "notes",
  "version": "1.2.3-beta.1+build.7",
  "type": "agent",
  "entry": "bin/notes.wasm",
  "description": "Keeps notes.\nLine two.",
  "author": "Ada",
  "permissions": [
    "localhost://Users/self/Documents/Notes/*",
    {"resource": "elastos://did/*", "actions": ["write", "read"]},
    {"resource": "https://example.org/api", "actions": ["execute"]}
  ],
  "resource_limits": {"memory_mb": 64, "cpu_ms": 1000, "wall_ms": 5000, "fuel": 1000000,
                      "output_mb": 4, "storage_mb": 100, "network": false},
  "microvm_config": {"vcpus": 2, "kernel": "boot/vmlinux", "boot_args": "quiet loglevel=3"},
  "dependencies": ["did-provider", {"name": "ipfs-provider", "version": "0.3.0",
                   "cid": "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"}],
  "provides": "elastos://notes/*",
  "providers": {"ipfs": "ipfs-provider"},
  "viewer": "md-viewer"
})";

// kMinimal with `changes` applied (a JSON null in `changes` removes the field).
std::string With(std::string_view changes_json, std::string_view base = kMinimal) {
  json::object object = json::parse(base).as_object();
  const json::value changes = json::parse(changes_json);
  for (const auto& kv : changes.as_object()) {
    if (kv.value().is_null()) {
      object.erase(kv.key());
    } else {
      object[kv.key()] = kv.value();
    }
  }
  return json::serialize(object);
}

Result<CapsuleManifest> ParseWith(std::string_view changes_json) {
  return CapsuleManifest::Parse(With(changes_json));
}

// Checks the manifest_invalid error and that its message contains every fragment.
void ExpectInvalid(const Result<CapsuleManifest>& r,
                   std::initializer_list<std::string_view> fragments) {
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << *fragments.begin() << "'";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "manifest_invalid");
  for (auto fragment : fragments)
    EXPECT_THAT(r.status().message(), HasSubstr(std::string(fragment)));
}

CapsuleManifest MustParse(std::string_view text) {
  auto r = CapsuleManifest::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << text;
  return r.ok() ? *r : CapsuleManifest{};
}

void ExpectRoundTrip(const CapsuleManifest& m) {
  const std::string text = m.ToJson();
  auto again = CapsuleManifest::Parse(text);
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << text;
  EXPECT_EQ(*again, m) << text;
  EXPECT_EQ(again->ToJson(), text);
}

// ---- Names, versions, paths, actions ------------------------------------------------------------

TEST(CapsuleName, Pattern) {
  for (std::string_view ok : {"a", "0", "notes", "did-provider", "a.b_c-d", "model-qwen3.5-0.8b"}) {
    EXPECT_TRUE(IsValidCapsuleName(ok)) << ok;
  }
  EXPECT_TRUE(IsValidCapsuleName(std::string(64, 'a')));
  for (std::string_view bad : {"", "Notes", "-a", ".a", "_a", "a b", "a/b", "a:b", "é"}) {
    EXPECT_FALSE(IsValidCapsuleName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidCapsuleName(std::string(65, 'a')));
}

TEST(Semver, AcceptsSemver2) {
  for (std::string_view ok :
       {"0.0.0", "1.0.0", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
        "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0-alpha+001", "1.0.0+20130313144700",
        "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "2.0.0-rc.1+build.123",
        "1.0.0-0A.is.legal", "99999999999999999999.0.0"}) {
    EXPECT_TRUE(IsValidSemver(ok)) << ok;
  }
}

TEST(Semver, RefusesEverythingElse) {
  for (std::string_view bad : {"",
                               "1",
                               "1.0",
                               "1.0.0.0",
                               "01.0.0",
                               "1.01.0",
                               "1.0.01",
                               "v1.0.0",
                               "1.0.0-",
                               "1.0.0+",
                               "1.0.0-01",
                               "1.0.0-alpha..1",
                               "1.0.0-alpha_beta",
                               "1.0.0+build+x",
                               "1.0.0 ",
                               " 1.0.0",
                               "1..0",
                               "1.0.0-+",
                               "-1.0.0",
                               "1.0.x",
                               "1.0.0-é",
                               "1.0.0+.x",
                               "a.b.c"}) {
    EXPECT_FALSE(IsValidSemver(bad)) << bad;
  }
  EXPECT_FALSE(IsValidSemver("1.0.0-" + std::string(200, 'a')));
}

TEST(SafeRelativePath, Rules) {
  for (std::string_view ok :
       {"a", "a.wasm", "bin/a.wasm", "a..b", "...", ".hidden/x", "rootfs.ext4"}) {
    EXPECT_TRUE(IsSafeRelativePath(ok)) << ok;
  }
  for (std::string_view bad : {"", "/a", "/", "a/../b", "..", "../a", "a/..", "a//b", "a/", "./a",
                               "a/./b", "a\\b", "..\\a", "C:\\a", "a\tb", "a\nb"}) {
    EXPECT_FALSE(IsSafeRelativePath(bad)) << bad;
  }
  EXPECT_FALSE(IsSafeRelativePath(std::string_view("a\0b", 3)));
  EXPECT_FALSE(IsSafeRelativePath(std::string(2000, 'a')));
}

TEST(Actions, NamesRoundTrip) {
  for (Action a : {Action::kRead, Action::kWrite, Action::kExecute, Action::kMessage,
                   Action::kDelete, Action::kAdmin}) {
    auto parsed = ParseAction(ActionName(a));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_EQ(ActionName(Action::kMessage), "message");
  EXPECT_EQ(ParseAction("Read").status().reason(), "unknown_action");
  EXPECT_EQ(ParseAction("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CapsuleTypeName(CapsuleType::kVm), "vm");
  EXPECT_EQ(CapsuleTypeName(CapsuleType::kAgent), "agent");
}

// ---- Valid manifests ----------------------------------------------------------------------------

TEST(Manifest, Minimal) {
  CapsuleManifest m = MustParse(kMinimal);
  EXPECT_EQ(m.name, "notes");
  EXPECT_EQ(m.version, "1.0.0");
  EXPECT_EQ(m.type, CapsuleType::kWasm);
  EXPECT_EQ(m.entry, "notes.wasm");
  EXPECT_TRUE(m.permissions.empty());
  EXPECT_EQ(m.limits, ResourceLimits{});
  EXPECT_FALSE(m.microvm.has_value());
  EXPECT_TRUE(m.warnings.empty());
}

TEST(Manifest, FullCanonical) {
  CapsuleManifest m = MustParse(kFull);
  EXPECT_EQ(m.type, CapsuleType::kAgent);
  EXPECT_EQ(m.version, "1.2.3-beta.1+build.7");
  EXPECT_EQ(m.entry, "bin/notes.wasm");
  EXPECT_EQ(m.description, "Keeps notes.\nLine two.");
  EXPECT_EQ(m.author, "Ada");
  ASSERT_EQ(m.permissions.size(), 3u);
  EXPECT_EQ(m.permissions[0], (Permission{"localhost://Users/self/Documents/Notes/*", {}}));
  // Actions come back in one canonical order, whatever order they were written in.
  EXPECT_EQ(m.permissions[1], (Permission{"elastos://did/*", {Action::kRead, Action::kWrite}}));
  EXPECT_EQ(m.permissions[2], (Permission{"https://example.org/api", {Action::kExecute}}));
  EXPECT_EQ(m.limits.memory_mb, 64u);
  EXPECT_EQ(m.limits.cpu_ms, 1000u);
  EXPECT_EQ(m.limits.wall_ms, 5000u);
  EXPECT_EQ(m.limits.fuel, 1000000u);
  EXPECT_EQ(m.limits.output_mb, 4u);
  EXPECT_EQ(m.limits.storage_mb, 100u);
  EXPECT_EQ(m.limits.network, false);
  EXPECT_TRUE(m.limits.not_enforced.empty());
  ASSERT_TRUE(m.microvm.has_value());
  EXPECT_EQ(m.microvm->vcpus, 2u);
  EXPECT_EQ(m.microvm->kernel, "boot/vmlinux");
  EXPECT_EQ(m.microvm->boot_args, "quiet loglevel=3");
  ASSERT_EQ(m.dependencies.size(), 2u);
  EXPECT_EQ(m.dependencies[0], (Dependency{"did-provider", std::nullopt, std::nullopt}));
  EXPECT_EQ(m.dependencies[1].version, "0.3.0");
  EXPECT_EQ(m.dependencies[1].kind, DependencyKind::kCapsule);
  EXPECT_EQ(m.provides, "elastos://notes/*");
  EXPECT_EQ(m.providers.at("ipfs"), "ipfs-provider");
  EXPECT_EQ(m.viewer, "md-viewer");
}

TEST(Manifest, DataCapsuleNeedsNoEntry) {
  CapsuleManifest m = MustParse(With(R"({"type":"data","entry":null})"));
  EXPECT_EQ(m.type, CapsuleType::kData);
  EXPECT_TRUE(m.entry.empty());
  ExpectRoundTrip(m);
}

TEST(Manifest, NullMeansAbsentForOptionalFields) {
  CapsuleManifest m = MustParse(
      With(R"({"schema":"elastos.capsule/v1"})",
           R"({"name":"a","version":"1.0.0","type":"wasm","entry":"a.wasm","description":null,
          "author":null,"provides":null,"providers":null,"viewer":null,"signature":null,
          "microvm_config":null,"resource_limits":{"memory_mb":null}})"));
  EXPECT_FALSE(m.description.has_value());
  EXPECT_FALSE(m.microvm.has_value());
  EXPECT_TRUE(m.warnings.empty());
  ExpectInvalid(ParseWith(R"({"schema":"elastos.capsule/v1","version":null})"),
                {"field 'version'", "is required"});
}

// ---- Document-level rules -----------------------------------------------------------------------

TEST(ManifestText, MustBeAJsonObject) {
  ExpectInvalid(CapsuleManifest::Parse("[]"), {"must be a JSON object", "a list"});
  ExpectInvalid(CapsuleManifest::Parse("\"x\""), {"must be a JSON object"});
  ExpectInvalid(CapsuleManifest::Parse("null"), {"must be a JSON object"});
  ExpectInvalid(CapsuleManifest::Parse(""), {"not valid JSON"});
  ExpectInvalid(CapsuleManifest::Parse("{\"name\":"), {"not valid JSON"});
  ExpectInvalid(CapsuleManifest::Parse("{\"name\":\"a\",}"), {"not valid JSON"});
  ExpectInvalid(CapsuleManifest::Parse(std::string(kMinimal) + " x"), {"not valid JSON"});
  ExpectInvalid(CapsuleManifest::Parse("{/*c*/}"), {"not valid JSON"});
}

TEST(ManifestText, SizeLimit) {
  std::string big = With(R"({"description":"x"})");
  big.insert(big.size() - 1, std::string(kMaxManifestSize, ' '));
  ExpectInvalid(CapsuleManifest::Parse(big), {"bytes; the limit is 1048576 (1 MiB)"});
  // Whitespace padding up to the limit is fine.
  std::string padded(kMinimal);
  padded.append(kMaxManifestSize - padded.size(), ' ');
  EXPECT_TRUE(CapsuleManifest::Parse(padded).ok());
}

TEST(ManifestText, RefusesInvalidUtf8AndBom) {
  for (std::string_view bad :
       {"\xC3\x28", "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", "\xFF", "\xE2\x82"}) {
    std::string text =
        R"({"name":"a","version":"1.0.0","type":"wasm","entry":"a.wasm","author":"x)";
    text += bad;
    text += "\"}";
    ExpectInvalid(CapsuleManifest::Parse(text), {"not valid UTF-8", "offset"});
  }
  ExpectInvalid(CapsuleManifest::Parse("\xEF\xBB\xBF" + std::string(kMinimal)),
                {"byte-order mark"});
  // A lone surrogate written as an escape is not valid text either.
  ExpectInvalid(
      CapsuleManifest::Parse(
          R"({"name":"a","version":"1.0.0","type":"wasm","entry":"a.wasm","author":"\ud800"})"),
      {"not valid JSON"});
}

TEST(ManifestText, DuplicateKeysAreRefused) {
  ExpectInvalid(CapsuleManifest::Parse(
                    R"({"name":"a","name":"b","version":"1.0.0","type":"wasm","entry":"a.wasm"})"),
                {"field 'name'", "appears more than once"});
  // Same key after unescaping.
  ExpectInvalid(
      CapsuleManifest::Parse(
          R"({"name":"a","\u006eame":"b","version":"1.0.0","type":"wasm","entry":"a.wasm"})"),
      {"field 'name'", "more than once"});
  ExpectInvalid(CapsuleManifest::Parse(
                    R"({"name":"a","version":"1.0.0","type":"wasm","entry":"a.wasm",
                        "resource_limits":{"memory_mb":1,"memory_mb":2}})"),
                {"field 'resource_limits.memory_mb'", "more than once"});
  ExpectInvalid(CapsuleManifest::Parse(
                    R"({"name":"a","version":"1.0.0","type":"wasm","entry":"a.wasm","permissions":[
                        "localhost://A/*",{"resource":"localhost://B","actions":["read"],
                        "resource":"localhost://C"}]})"),
                {"field 'permissions[1].resource'", "more than once"});
  // The same key in two different objects is fine.
  EXPECT_TRUE(CapsuleManifest::Parse(
                  R"({"name":"a","version":"1.0.0","type":"wasm","entry":"a.wasm","permissions":[
                      {"resource":"localhost://B","actions":["read"]},
                      {"resource":"localhost://C","actions":["read"]}]})")
                  .ok());
}

TEST(ManifestText, DeepNestingIsRefusedWithoutCrashing) {
  std::string deep = With(R"({"providers":{}})");
  deep.insert(deep.size() - 1, ",\"x\":" + std::string(10000, '[') + std::string(10000, ']'));
  ExpectInvalid(CapsuleManifest::Parse(deep), {"not valid JSON"});
}

TEST(ManifestText, UnknownFieldsAreNamed) {
  ExpectInvalid(ParseWith(R"({"entyr":"x"})"),
                {"field 'entyr'", "unknown field", "did you mean 'entry'?"});
  ExpectInvalid(ParseWith(R"({"colour":"red"})"),
                {"field 'colour'", "unknown field", "allowed here:"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"memroy_mb":1}})"),
                {"field 'resource_limits.memroy_mb'", "did you mean 'memory_mb'?"});
  ExpectInvalid(ParseWith(R"({"resources":{"gpus":true}})"),
                {"field 'resources.gpus'", "did you mean 'gpu'?"});
  ExpectInvalid(ParseWith(R"({"permissions":[{"resource":"localhost://A","action":["read"]}]})"),
                {"field 'permissions[0].action'", "did you mean 'actions'?"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"memory":1}})"),
                {"field 'microvm_config.memory'"});
  ExpectInvalid(ParseWith(R"({"dependencies":[{"name":"x","kinds":"capsule"}]})"),
                {"field 'dependencies[0].kinds'"});
  // An unknown key with control characters is shown escaped.
  ExpectInvalid(ParseWith(R"({"a\u001bb":1})"), {"field 'a\\x1bb'"});
  ExpectInvalid(ParseWith(R"({"a\u202eb":1})"), {"field 'a\\u202eb'"});
  ExpectInvalid(ParseWith(R"({"dependencies":["X\u009b"]})"),
                {"'X\\x9b' is not a valid capsule name"});
}

// ---- One negative test per field rule -----------------------------------------------------------

TEST(ManifestField, Schema) {
  EXPECT_TRUE(ParseWith(R"({"schema":"elastos.capsule/v1"})").ok());
  ExpectInvalid(ParseWith(R"({"schema":"elastos.capsule/v2"})"),
                {"field 'schema'", "not supported", "elastos.capsule/v1"});
  ExpectInvalid(ParseWith(R"({"schema":1})"), {"field 'schema'", "elastos.capsule/v1"});
}

TEST(ManifestField, Name) {
  ExpectInvalid(ParseWith(R"({"name":null})"), {"field 'name'", "is required"});
  ExpectInvalid(ParseWith(R"({"name":7})"), {"field 'name'", "must be a string", "the number 7"});
  ExpectInvalid(ParseWith(R"({"name":"My App"})"),
                {"field 'name'", "'My App' is not a valid capsule name"});
  ExpectInvalid(ParseWith(R"({"name":""})"), {"field 'name'", "not a valid capsule name"});
}

TEST(ManifestField, Version) {
  ExpectInvalid(ParseWith(R"({"version":null})"), {"field 'version'", "is required"});
  ExpectInvalid(
      ParseWith(R"({"version":"1.0"})"),
      {"field 'version': '1.0' is not a semantic version", "MAJOR.MINOR.PATCH", "e.g. 1.0.0"});
  ExpectInvalid(ParseWith(R"({"version":1})"), {"field 'version'", "must be a string"});
}

TEST(ManifestField, Type) {
  ExpectInvalid(ParseWith(R"({"type":null})"), {"field 'type'", "is required"});
  ExpectInvalid(ParseWith(R"({"type":"oci"})"),
                {"field 'type'", "'oci' is not a capsule type", "allowed: wasm, vm, data, agent"});
  ExpectInvalid(ParseWith(R"({"type":"WASM"})"),
                {"field 'type'", "allowed: wasm, vm, data, agent"});
  EXPECT_EQ(ParseWith(R"({"type":"vm"})")->type, CapsuleType::kVm);
  EXPECT_EQ(ParseWith(R"({"type":"agent"})")->type, CapsuleType::kAgent);
}

TEST(ManifestField, Entry) {
  for (std::string_view type : {"wasm", "vm", "agent"}) {
    ExpectInvalid(ParseWith(R"({"entry":null,"type":")" + std::string(type) + "\"}"),
                  {"field 'entry'", "is required for " + std::string(type)});
  }
  ExpectInvalid(ParseWith(R"({"entry":"/bin/sh"})"), {"field 'entry'", "is absolute"});
  ExpectInvalid(ParseWith(R"({"entry":"../x.wasm"})"), {"field 'entry'", "'..' segment"});
  ExpectInvalid(ParseWith(R"({"entry":"a\\b"})"), {"field 'entry'", "'\\'"});
  ExpectInvalid(ParseWith(R"({"entry":"a\u0000b"})"), {"field 'entry'", "control character"});
  ExpectInvalid(ParseWith(R"({"entry":""})"), {"field 'entry'", "is empty"});
  ExpectInvalid(ParseWith(R"({"entry":["a"]})"), {"field 'entry'", "must be a string"});
  ExpectInvalid(ParseWith(R"({"type":"data","entry":"../index.html"})"), {"field 'entry'", "'..'"});
}

TEST(ManifestField, DescriptionAndAuthor) {
  EXPECT_TRUE(ParseWith(R"({"description":"two\nlines\tand tabs, ünïcödé"})").ok());
  ExpectInvalid(ParseWith(R"({"description":"x\u001b[2Jy"})"),
                {"field 'description'", "control character U+001B"});
  ExpectInvalid(ParseWith(R"({"description":"x\u009by"})"), {"field 'description'", "U+009B"});
  ExpectInvalid(ParseWith(R"({"author":"evil\u202Egnp.exe"})"),
                {"field 'author'", "bidirectional control U+202E"});
  ExpectInvalid(ParseWith(R"({"author":"a\nb"})"), {"field 'author'", "control character U+000A"});
  ExpectInvalid(ParseWith(R"({"author":false})"),
                {"field 'author'", "must be a string, not false"});
  ExpectInvalid(ParseWith(With(R"({"description":")" + std::string(5000, 'x') + "\"}")),
                {"field 'description'", "at most 4096"});
}

TEST(ManifestField, Permissions) {
  ExpectInvalid(ParseWith(R"({"permissions":"localhost://A"})"),
                {"field 'permissions'", "must be a list"});
  ExpectInvalid(ParseWith(R"({"permissions":["file:///etc/passwd"]})"),
                {"field 'permissions[0]'", "not a resource URI", "localhost://"});
  ExpectInvalid(ParseWith(R"({"permissions":["Users/self"]})"),
                {"field 'permissions[0]'", "not a resource URI"});
  ExpectInvalid(ParseWith(R"({"permissions":["localhost://"]})"),
                {"field 'permissions[0]'", "names nothing"});
  ExpectInvalid(ParseWith(R"({"permissions":["https:///x"]})"),
                {"field 'permissions[0]'", "no host"});
  ExpectInvalid(ParseWith(R"({"permissions":["localhost://Users/*/x"]})"),
                {"field 'permissions[0]'", "'/*'"});
  ExpectInvalid(ParseWith(R"({"permissions":["localhost://Users*"]})"),
                {"field 'permissions[0]'", "'/*'"});
  ExpectInvalid(ParseWith(R"({"permissions":["localhost://Users/../etc"]})"),
                {"field 'permissions[0]'", "'..' segment"});
  ExpectInvalid(ParseWith(R"({"permissions":["localhost://a\\b"]})"),
                {"field 'permissions[0]'", "'\\'"});
  ExpectInvalid(ParseWith(R"({"permissions":[7]})"), {"field 'permissions[0]'", "a URI string or"});
  ExpectInvalid(ParseWith(R"({"permissions":[{"actions":["read"]}]})"),
                {"field 'permissions[0].resource'", "is required"});
  ExpectInvalid(ParseWith(R"({"permissions":[{"resource":"localhost://A"}]})"),
                {"field 'permissions[0].actions'", "is required", "plain string"});
  ExpectInvalid(ParseWith(R"({"permissions":[{"resource":"localhost://A","actions":[]}]})"),
                {"field 'permissions[0].actions'", "is empty"});
  ExpectInvalid(
      ParseWith(R"({"permissions":[{"resource":"localhost://A","actions":["grant"]}]})"),
      {"field 'permissions[0].actions[0]'", "'grant' is not an action", "read, write, execute"});
  ExpectInvalid(
      ParseWith(R"({"permissions":[{"resource":"localhost://A","actions":["read","read"]}]})"),
      {"field 'permissions[0].actions[1]'", "listed twice"});
  ExpectInvalid(ParseWith(R"({"permissions":[{"resource":"localhost://A","actions":"read"}]})"),
                {"field 'permissions[0].actions'", "must be a list"});
  ExpectInvalid(
      ParseWith(
          R"({"permissions":["localhost://A",{"resource":"localhost://A","actions":["read"]}]})"),
      {"field 'permissions[1]'", "already listed at permissions[0]"});
  std::string many = "[";
  for (int i = 0; i < 300; ++i)
    many += (i ? ",\"localhost://A/" : "\"localhost://A/") + std::to_string(i) + "\"";
  ExpectInvalid(ParseWith(R"({"permissions":)" + many + "]}"),
                {"field 'permissions'", "at most 256"});
  // Every action name is accepted.
  auto all = ParseWith(
      R"({"permissions":[{"resource":"localhost://A","actions":["admin","delete","message","execute","write","read"]}]})");
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(all->permissions[0].actions,
              ElementsAre(Action::kRead, Action::kWrite, Action::kExecute, Action::kMessage,
                          Action::kDelete, Action::kAdmin));
}

TEST(ManifestField, ResourceLimits) {
  ExpectInvalid(ParseWith(R"({"resource_limits":[]})"),
                {"field 'resource_limits'", "must be an object"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"memory_mb":0}})"),
                {"field 'resource_limits.memory_mb'", "positive whole number, not 0"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"memory_mb":-5}})"),
                {"field 'resource_limits.memory_mb'", "positive whole number, not -5"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"cpu_ms":1.5}})"),
                {"field 'resource_limits.cpu_ms'", "positive whole number"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"wall_ms":"5000"}})"),
                {"field 'resource_limits.wall_ms'",
                 "must be a positive whole number, not the string '5000'"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"memory_mb":1048577}})"),
                {"field 'resource_limits.memory_mb'", "too large", "at most 1048576"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"fuel":18446744073709551615}})"),
                {"field 'resource_limits.fuel'", "too large"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"output_mb":1e3}})"),
                {"field 'resource_limits.output_mb'"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"storage_mb":true}})"),
                {"field 'resource_limits.storage_mb'"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"network":"yes"}})"),
                {"field 'resource_limits.network'", "must be true or false"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"gpu":1}})"),
                {"field 'resource_limits.gpu'", "true or false"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{"cpu_shares":300000}})"),
                {"field 'resource_limits.cpu_shares'", "too large"});
  auto m = ParseWith(R"({"resource_limits":{"cpu_shares":100,"gpu":true,"network":true}})");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m->limits.not_enforced, ElementsAre("cpu_shares", "gpu"));
  EXPECT_EQ(m->limits.network, true);
  EXPECT_TRUE(ParseWith(R"({"resource_limits":{"gpu":false}})")->limits.not_enforced.empty());
  ExpectRoundTrip(*m);
}

TEST(ManifestField, MicrovmConfig) {
  ExpectInvalid(ParseWith(R"({"microvm_config":{"vcpus":1}})"),
                {"field 'microvm_config'", "only for vm and agent", "type 'wasm'"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":"big"})"),
                {"field 'microvm_config'", "an object"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"vcpus":0}})"),
                {"field 'microvm_config.vcpus'"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"vcpus":65}})"),
                {"field 'microvm_config.vcpus'", "at most 64"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"kernel":"/boot/vmlinuz"}})"),
                {"field 'microvm_config.kernel'", "absolute"});
  ExpectInvalid(
      ParseWith(R"({"type":"vm","microvm_config":{"boot_args":"quiet elastos.token=x"}})"),
      {"field 'microvm_config.boot_args'", "'elastos.*'", "reserved"});
  ExpectInvalid(
      ParseWith(R"({"type":"vm","microvm_config":{"boot_args":"\"elastos.api=http://evil\""}})"),
      {"field 'microvm_config.boot_args'", "reserved"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"boot_args":"a\nb"}})"),
                {"field 'microvm_config.boot_args'", "control character"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"http_port":70000}})"),
                {"field 'microvm_config.http_port'", "at most 65535"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"rootfs_cid":"not-a-cid"}})"),
                {"field 'microvm_config.rootfs_cid'", "not a CID"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{"vcpus":1,"vcpu_count":2}})"),
                {"field 'microvm_config.vcpus'", "given twice", "alias 'vcpu_count'"});
  auto m = ParseWith(R"({"type":"vm","microvm_config":{"vcpu_count":2,"http_port":11434,
      "rootfs_cid":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG","rootfs_size":1073741824,
      "persistent_storage_mb":512,"kernel_cid":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->microvm->vcpus, 2u);
  EXPECT_EQ(m->microvm->http_port, 11434);
  EXPECT_EQ(m->microvm->persistent_storage_mb, 512u);
  ExpectRoundTrip(*m);
  // An empty config on a vm capsule is kept (the VM bridge applies its defaults).
  EXPECT_TRUE(ParseWith(R"({"type":"vm","microvm_config":{}})")->microvm.has_value());
}

TEST(ManifestField, Dependencies) {
  ExpectInvalid(ParseWith(R"({"dependencies":"a"})"), {"field 'dependencies'", "must be a list"});
  ExpectInvalid(ParseWith(R"({"dependencies":["a","b","a"]})"),
                {"field 'dependencies[2]'", "'a' is already listed at dependencies[0]"});
  ExpectInvalid(ParseWith(R"({"dependencies":["a",{"name":"a","version":"1.0.0"}]})"),
                {"field 'dependencies[1].name'", "already listed"});
  ExpectInvalid(ParseWith(R"({"dependencies":["notes"]})"),
                {"field 'dependencies[0]'", "depend on itself"});
  ExpectInvalid(ParseWith(R"({"dependencies":[{"name":"notes"}]})"),
                {"field 'dependencies[0].name'", "depend on itself"});
  ExpectInvalid(ParseWith(R"({"dependencies":["Bad Name"]})"),
                {"field 'dependencies[0]'", "not a valid capsule name"});
  ExpectInvalid(ParseWith(R"({"dependencies":[{"version":"1.0.0"}]})"),
                {"field 'dependencies[0].name'", "is required"});
  ExpectInvalid(ParseWith(R"({"dependencies":[{"name":"a","version":"^1.0"}]})"),
                {"field 'dependencies[0].version'", "not a semantic version"});
  ExpectInvalid(ParseWith(R"({"dependencies":[{"name":"a","cid":"Qmshort"}]})"),
                {"field 'dependencies[0].cid'", "not a CID"});
  ExpectInvalid(
      ParseWith(
          R"({"dependencies":[{"name":"a","cid":"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd"}]})"),
      {"field 'dependencies[0].cid'", "not a CID"});
  ExpectInvalid(ParseWith(R"({"dependencies":[{"name":"a","kind":"library"}]})"),
                {"field 'dependencies[0].kind'", "allowed: capsule, external"});
  ExpectInvalid(ParseWith(R"({"dependencies":[null]})"),
                {"field 'dependencies[0]'", "a capsule name or"});
}

TEST(ManifestField, Provides) {
  EXPECT_EQ(ParseWith(R"({"provides":"localhost://*"})")->provides, "localhost://*");
  EXPECT_EQ(ParseWith(R"({"provides":"elastos://did/*"})")->provides, "elastos://did/*");
  ExpectInvalid(ParseWith(R"({"provides":"https://example.org/*"})"),
                {"field 'provides'", "localhost://… or elastos://…"});
  ExpectInvalid(ParseWith(R"({"provides":"elastos://did"})"),
                {"field 'provides'", "not a URI prefix", "'/*'"});
  ExpectInvalid(ParseWith(R"({"provides":["elastos://did/*"]})"),
                {"field 'provides'", "must be a string"});
}

TEST(ManifestField, ProvidersAndViewer) {
  auto m = ParseWith(
      R"({"providers":{"ipfs":"ipfs-provider","web+x":"https://gw.example"},"viewer":"gba-emulator"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->providers.size(), 2u);
  ExpectInvalid(ParseWith(R"({"providers":["ipfs"]})"), {"field 'providers'", "an object"});
  ExpectInvalid(ParseWith(R"({"providers":{"IPFS":"x"}})"),
                {"field 'providers.IPFS'", "not a URI scheme"});
  ExpectInvalid(ParseWith(R"({"providers":{"ipfs":1}})"),
                {"field 'providers.ipfs'", "must be a string"});
  ExpectInvalid(ParseWith(R"({"providers":{"ipfs":""}})"), {"field 'providers.ipfs'", "non-empty"});
  ExpectInvalid(ParseWith(R"({"viewer":"../other"})"),
                {"field 'viewer'", "not a safe relative path"});
  ExpectInvalid(ParseWith(R"({"viewer":true})"), {"field 'viewer'", "must be a string"});
}

TEST(ManifestField, LegacySignatureIsIgnoredWithAWarning) {
  auto m = ParseWith(R"({"signature":"c2lnbmF0dXJl"})");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->warnings.size(), 1u);
  EXPECT_THAT(m->warnings[0], HasSubstr("'signature' ignored"));
  EXPECT_THAT(m->ToJson(), ::testing::Not(HasSubstr("signature")));
  ExpectInvalid(ParseWith(R"({"signature":42})"), {"field 'signature'", "must be a string"});
}

// ---- Aliases ------------------------------------------------------------------------------------

TEST(ManifestAlias, EachAliasIsAccepted) {
  EXPECT_EQ(ParseWith(R"({"entry":null,"entrypoint":"x.wasm"})")->entry, "x.wasm");
  EXPECT_EQ(ParseWith(R"({"type":"microvm"})")->type, CapsuleType::kVm);
  EXPECT_EQ(ParseWith(R"({"resources":{"memory_mb":32}})")->limits.memory_mb, 32u);
  EXPECT_EQ(ParseWith(R"({"type":"microvm","microvm":{"vcpu_count":3}})")->microvm->vcpus, 3u);
  auto requires_ = ParseWith(
      R"({"requires":[{"name":"kubo","kind":"external"},{"name":"did-provider","kind":"capsule"}]})");
  ASSERT_TRUE(requires_.ok());
  EXPECT_EQ(requires_->dependencies[0].kind, DependencyKind::kExternal);
  EXPECT_EQ(requires_->dependencies[1].kind, DependencyKind::kCapsule);
  auto capabilities = ParseWith(R"({"capabilities":["localhost://Users/self/Documents/Notes/*"]})");
  ASSERT_TRUE(capabilities.ok());
  EXPECT_THAT(capabilities->permissions,
              ElementsAre(Permission{"localhost://Users/self/Documents/Notes/*", {}}));
  ExpectInvalid(ParseWith(R"({"capabilities":["ftp://x"]})"),
                {"field 'capabilities[0]'", "not a resource URI"});
  ExpectInvalid(ParseWith(R"({"resources":{"memroy_mb":1}})"), {"field 'resources.memroy_mb'"});
}

TEST(ManifestAlias, FieldAndAliasTogetherIsAnError) {
  ExpectInvalid(ParseWith(R"({"entrypoint":"y.wasm"})"),
                {"field 'entry'", "given twice", "alias 'entrypoint'"});
  ExpectInvalid(ParseWith(R"({"resource_limits":{},"resources":{}})"),
                {"field 'resource_limits'", "alias 'resources'"});
  ExpectInvalid(ParseWith(R"({"type":"vm","microvm_config":{},"microvm":{}})"),
                {"field 'microvm_config'", "alias 'microvm'"});
  ExpectInvalid(ParseWith(R"({"dependencies":[],"requires":[]})"),
                {"field 'dependencies'", "alias 'requires'"});
  ExpectInvalid(ParseWith(R"({"permissions":[],"capabilities":[]})"),
                {"field 'permissions'", "alias 'capabilities'"});
}

TEST(ManifestAlias, ReferencePermissionObject) {
  auto m =
      ParseWith(R"({"permissions":{"storage":["localhost://Users/","localhost://Public/x/*","read"],
      "messaging":["*","chat"],"carrier":true,"guest_network":true},
      "capabilities":["localhost://Users/*","localhost://Extra/*"]})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_THAT(
      m->permissions,
      ElementsAre(Permission{"localhost://Users/*", {}},  // storage (read+write) ∪ all = all
                  Permission{"localhost://Public/x/*", {Action::kRead, Action::kWrite}},
                  Permission{"elastos://message/*", {Action::kMessage}},
                  Permission{"elastos://message/chat", {Action::kMessage}},
                  Permission{"localhost://Extra/*", {}}));
  EXPECT_EQ(m->limits.network, true);
  ASSERT_EQ(m->warnings.size(), 2u);
  EXPECT_THAT(m->warnings[0], HasSubstr("permissions.storage[2]"));
  EXPECT_THAT(m->warnings[1], HasSubstr("permissions.carrier"));
  ExpectRoundTrip(*m);

  ExpectInvalid(ParseWith(R"({"permissions":{"network":true}})"),
                {"field 'permissions.network'", "unknown field"});
  ExpectInvalid(ParseWith(R"({"permissions":{"storage":["file:///"]}})"),
                {"field 'permissions.storage[0]'"});
  ExpectInvalid(ParseWith(R"({"permissions":{"messaging":["Bad!"]}})"),
                {"field 'permissions.messaging[0]'", "neither a capsule name"});
  ExpectInvalid(ParseWith(R"({"permissions":{"carrier":"yes"}})"),
                {"field 'permissions.carrier'", "true or false"});
  ExpectInvalid(
      ParseWith(R"({"permissions":{"guest_network":true},"resource_limits":{"network":false}})"),
      {"field 'permissions.guest_network'", "contradicts resource_limits.network"});
  auto quiet = ParseWith(
      R"({"permissions":{"carrier":false,"guest_network":false,"storage":[],"messaging":[]}})");
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->permissions.empty());
  EXPECT_TRUE(quiet->warnings.empty());
  EXPECT_FALSE(quiet->limits.network.has_value());
}

// ---- Reference-style manifests (reference-runtime.md §4.2) --------------------------------------

TEST(ManifestReference, NotepadLoads) {
  CapsuleManifest m = MustParse(R"({
    "schema": "elastos.capsule/v1", "name": "notepad", "version": "0.1.0",
    "description": "A notepad", "type": "microvm", "entrypoint": "rootfs.ext4",
    "capabilities": ["localhost://Users/self/Documents/Notes/*"],
    "resources": {"memory_mb": 32, "cpu_shares": 100, "gpu": false}
  })");
  EXPECT_EQ(m.type, CapsuleType::kVm);
  EXPECT_EQ(m.entry, "rootfs.ext4");
  EXPECT_EQ(m.limits.memory_mb, 32u);
  EXPECT_THAT(m.limits.not_enforced, ElementsAre("cpu_shares"));
  ExpectRoundTrip(m);
}

TEST(ManifestReference, LocalhostProviderLoads) {
  CapsuleManifest m = MustParse(R"({
    "schema": "elastos.capsule/v1", "name": "localhost-provider", "version": "0.1.0",
    "type": "microvm", "entrypoint": "rootfs.ext4", "provides": "localhost://*",
    "permissions": {"storage": ["localhost://Users/", "localhost://Public/", "localhost://Shared/",
        "localhost://Local/", "localhost://ElastOS/", "localhost://WebSpaces/",
        "localhost://PC2Host/", "localhost://Edge/"], "messaging": ["*"]},
    "resources": {"memory_mb": 64}
  })");
  EXPECT_EQ(m.provides, "localhost://*");
  ASSERT_EQ(m.permissions.size(), 9u);
  EXPECT_EQ(m.permissions[0], (Permission{"localhost://Users/*", {Action::kRead, Action::kWrite}}));
  EXPECT_EQ(m.permissions[8], (Permission{"elastos://message/*", {Action::kMessage}}));
  ExpectRoundTrip(m);
}

TEST(ManifestReference, ProvidersAndDataCapsulesLoad) {
  CapsuleManifest llama = MustParse(R"({
    "schema": "elastos.capsule/v1", "name": "llama-provider", "version": "0.1.0", "type": "microvm",
    "entrypoint": "rootfs.ext4", "provides": "elastos://llama/*",
    "requires": [{"name": "llama-server", "kind": "external"}, {"name": "model-qwen3.5-0.8b", "kind": "external"}],
    "resources": {"memory_mb": 4096, "gpu": true}, "microvm": {"http_port": 11434}
  })");
  EXPECT_THAT(llama.limits.not_enforced, ElementsAre("gpu"));
  EXPECT_EQ(llama.dependencies.size(), 2u);
  ExpectRoundTrip(llama);

  CapsuleManifest rom = MustParse(R"({
    "schema": "elastos.capsule/v1", "name": "gba-ucity", "version": "1.0.0", "type": "data",
    "entrypoint": "ucity.gba", "viewer": "gba-emulator"
  })");
  EXPECT_EQ(rom.viewer, "gba-emulator");
  ExpectRoundTrip(rom);

  // The reference's serializer writes every absent option as null and every default in full.
  CapsuleManifest serialized = MustParse(R"({"schema":"elastos.capsule/v1","version":"0.1.0",
    "name":"tunnel-provider","description":null,"author":null,"type":"microvm",
    "entrypoint":"rootfs.ext4","requires":[{"name":"cloudflared","kind":"external"}],
    "provides":"elastos://tunnel/*","capabilities":[],"resources":{"memory_mb":64,"cpu_shares":100,
    "gpu":false},"permissions":{"carrier":true,"guest_network":false,"storage":[],"messaging":[]},
    "microvm":null,"providers":null,"viewer":null,"signature":"AAAA"})");
  EXPECT_EQ(serialized.warnings.size(), 2u);  // carrier and signature
  ExpectRoundTrip(serialized);
}

// ---- Canonical form -----------------------------------------------------------------------------

TEST(ManifestToJson, CanonicalText) {
  CapsuleManifest m = MustParse(With(
      R"({"entrypoint":"a.wasm","entry":null,"capabilities":["localhost://A/*"],
          "resources":{"memory_mb":16},"requires":[{"name":"kubo","kind":"external"},{"name":"b","kind":"capsule"}]})"));
  EXPECT_EQ(m.ToJson(), R"({
  "schema": "elastos.capsule/v1",
  "name": "notes",
  "version": "1.0.0",
  "type": "wasm",
  "entry": "a.wasm",
  "permissions": ["localhost://A/*"],
  "resource_limits": {
    "memory_mb": 16
  },
  "dependencies": [
    {
      "name": "kubo",
      "kind": "external"
    },
    "b"
  ]
})");
  EXPECT_EQ(MustParse(kMinimal).ToJson(), R"({
  "schema": "elastos.capsule/v1",
  "name": "notes",
  "version": "1.0.0",
  "type": "wasm",
  "entry": "notes.wasm",
  "permissions": []
})");
}

TEST(ManifestToJson, RoundTrips) {
  ExpectRoundTrip(MustParse(kMinimal));
  ExpectRoundTrip(MustParse(kFull));
  ExpectRoundTrip(MustParse(With(R"({"description":"quote \" backslash \\ tab\t ünï"})")));
}

// ---- Robustness ---------------------------------------------------------------------------------

void ExpectParsesOrManifestInvalid(const std::string& text) {
  auto r = CapsuleManifest::Parse(text);
  if (r.ok()) {
    auto again = CapsuleManifest::Parse(r->ToJson());
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\nfrom: " << text;
    EXPECT_EQ(*again, *r);
  } else {
    ASSERT_EQ(r.status().reason(), "manifest_invalid") << r.status().ToString();
    ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

TEST(ManifestFuzz, MutatedTextNeverCrashes) {
  const std::string base(kFull);
  std::mt19937 rng(20240611);
  const std::string alphabet = "{}[]\":,\\ 0-9.eE+tfnul\x01\x80\xC3\xA9\xFF/*abz";
  int parsed = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t pos = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(pos, 1 + rng() % 8);
          break;
        case 2:
          text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 3:
          text.resize(pos);
          break;
      }
    }
    ExpectParsesOrManifestInvalid(text);
    if (CapsuleManifest::Parse(text).ok()) ++parsed;
  }
  EXPECT_GT(parsed, 0);  // some mutations (inside strings, whitespace) stay valid
}

TEST(ManifestFuzz, EveryFieldGivenEveryKindOfValue) {
  const json::object base = json::parse(kFull).as_object();
  const std::vector<json::value> values = {nullptr,
                                           true,
                                           0,
                                           -1,
                                           1,
                                           1.5,
                                           18446744073709551615ull,
                                           "",
                                           "x",
                                           "../x",
                                           "elastos://x/*",
                                           json::array{},
                                           json::array{"x"},
                                           json::array{nullptr},
                                           json::array{json::object{}},
                                           json::object{},
                                           json::object{{"x", 1}},
                                           json::string(2000, 'a')};
  // Top-level fields and one level down.
  for (const auto& kv : base) {
    for (const auto& v : values) {
      json::object o = base;
      o[kv.key()] = v;
      ExpectParsesOrManifestInvalid(json::serialize(o));
      if (kv.value().is_object()) {
        for (const auto& inner : kv.value().get_object()) {
          json::object o2 = base;
          o2[kv.key()].as_object()[inner.key()] = v;
          ExpectParsesOrManifestInvalid(json::serialize(o2));
        }
      }
    }
  }
}

}  // namespace
}  // namespace elastos
