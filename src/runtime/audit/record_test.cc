#include "runtime/audit/record.h"

#include <gtest/gtest.h>

#include "common/canonical_json.h"

namespace elastos::audit {
namespace {

AuditRecord Sample() {
  AuditRecord r;
  r.type = "validate";
  r.time_unix = 1700000000;
  r.time_seq = 3;
  r.actor = "cap-7f3a";
  r.actor_kind = ActorKind::kCapsule;
  r.subject = "tok-5c1e";
  r.resource = "localhost://Users/alice/*";
  r.action = "read";
  r.outcome = "denied";
  r.reason = "token_expired";
  r.details["token_id"] = "5c1e";
  r.details["uses"] = 2;
  return r;
}

TEST(RecordTest, CanonicalRoundTrip) {
  const AuditRecord r = Sample();
  auto json = r.ToCanonicalJson();
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(*json,
            "{\"action\":\"read\",\"actor\":\"cap-7f3a\",\"actor_kind\":\"capsule\",\"details\":{"
            "\"token_id\":\"5c1e\","
            "\"uses\":2},\"outcome\":\"denied\",\"reason\":\"token_expired\",\"resource\":"
            "\"localhost://Users/alice/*\","
            "\"subject\":\"tok-5c1e\",\"time_seq\":3,\"time_unix\":1700000000,\"type\":"
            "\"validate\",\"v\":1}");
  auto back = AuditRecord::Parse(*json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
}

// The direct writer agrees with the generic canonical JSON writer, escapes and all.
TEST(RecordTest, DirectWriterIsCanonical) {
  const std::string awkward[] = {"",
                                 "plain",
                                 "quote\" and \\ backslash",
                                 "tab\tnew\nline\x01",
                                 "caf\xC3\xA9 \xE2\x80\x94",
                                 "</script>",
                                 std::string("nul\0byte", 8)};
  int n = 0;
  for (const std::string& a : awkward) {
    for (const std::string& b : awkward) {
      AuditRecord r = Sample();
      r.actor = a;
      r.subject = b;
      r.reason = a + b;
      r.resource = b + a;
      r.action = a;
      r.time_seq = static_cast<std::uint64_t>(n) << 40;
      r.details = boost::json::object{
          {b.empty() ? "k" : b, a}, {"n", -n}, {"nested", {{"z", 1}, {"a", b}}}};
      ++n;
      boost::json::object generic;
      generic["v"] = 1;
      generic["type"] = r.type;
      generic["time_unix"] = r.time_unix;
      generic["time_seq"] = r.time_seq;
      generic["actor_kind"] = "capsule";
      generic["outcome"] = r.outcome;
      for (auto [k, v] : {std::pair{"actor", &r.actor},
                          {"subject", &r.subject},
                          {"reason", &r.reason},
                          {"resource", &r.resource},
                          {"action", &r.action}}) {
        if (!v->empty()) generic[k] = *v;
      }
      generic["details"] = r.details;
      auto direct = r.ToCanonicalJson();
      ASSERT_TRUE(direct.ok());
      EXPECT_EQ(*direct, *CanonicalJson(generic));
      auto back = AuditRecord::Parse(*direct);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, r);
    }
  }
}

TEST(RecordTest, EmptyFieldsAreOmitted) {
  AuditRecord r;
  r.type = "epoch_advance";
  r.time_unix = 5;
  auto json = r.ToCanonicalJson();
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json,
            "{\"actor_kind\":\"runtime\",\"outcome\":\"ok\",\"time_seq\":0,\"time_unix\":5,"
            "\"type\":\"epoch_advance\",\"v\":1}");
  EXPECT_EQ(*AuditRecord::Parse(*json), r);
}

TEST(RecordTest, RefusesBadRecords) {
  AuditRecord r = Sample();
  r.outcome = "maybe";
  EXPECT_FALSE(r.ToCanonicalJson().ok());
  r = Sample();
  r.type = "Grant";
  EXPECT_FALSE(r.ToCanonicalJson().ok());
  r = Sample();
  r.details["ratio"] = 0.5;  // floats have no canonical spelling
  EXPECT_FALSE(r.ToCanonicalJson().ok());

  const std::string good = *Sample().ToCanonicalJson();
  for (const std::string& bad : {
           std::string("{\"actor_kind\":\"runtime\",\"outcome\":\"ok\",\"time_seq\":0,\"time_"
                       "unix\":5,\"type\":\"x\"}"),  // no v
           std::string("{\"actor_kind\":\"runtime\",\"outcome\":\"ok\",\"time_seq\":0,\"time_"
                       "unix\":5,\"type\":\"x\",\"v\":1,\"zz\":1}"),
           std::string("{\"actor\":\"\",\"actor_kind\":\"runtime\",\"outcome\":\"ok\",\"time_seq\":"
                       "0,\"time_unix\":5,\"type\":\"x\",\"v\":1}"),
           std::string("{\"actor_kind\":\"robot\",\"outcome\":\"ok\",\"time_seq\":0,\"time_unix\":"
                       "5,\"type\":\"x\",\"v\":1}"),
           std::string("{\"type\":\"x\",\"v\":1}"),
           std::string(" ") + good,  // not canonical
           std::string("[]"),
       }) {
    EXPECT_FALSE(AuditRecord::Parse(bad).ok()) << bad;
  }
  auto newer = AuditRecord::Parse(
      "{\"actor_kind\":\"runtime\",\"outcome\":\"ok\",\"time_seq\":0,\"time_unix\":5,\"type\":"
      "\"x\",\"v\":2}");
  EXPECT_EQ(newer.status().reason(), "audit_record_newer");
}

}  // namespace
}  // namespace elastos::audit
