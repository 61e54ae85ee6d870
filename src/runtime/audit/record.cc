#include "runtime/audit/record.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/canonical_json.h"

namespace elastos::audit {
namespace {

constexpr std::size_t kMaxRecordSize = 1 << 20;

bool IsTypeName(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  }
  return true;
}

Status Bad(std::string message) {
  return InvalidArgument("audit_record_invalid", std::move(message));
}

Result<std::string> StringField(const boost::json::object& o, std::string_view key, bool required) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) return Bad("audit record has no '" + std::string(key) + "'");
    return std::string();
  }
  if (!v->is_string()) return Bad("audit record field '" + std::string(key) + "' is not a string");
  // Empty strings are omitted when writing, so a present empty string is a second spelling.
  if (v->get_string().empty()) return Bad("audit record field '" + std::string(key) + "' is empty");
  return std::string(v->get_string());
}

}  // namespace

std::string_view ActorKindName(ActorKind kind) {
  switch (kind) {
    case ActorKind::kRuntime:
      return "runtime";
    case ActorKind::kHuman:
      return "human";
    case ActorKind::kAgent:
      return "agent";
    case ActorKind::kCapsule:
      return "capsule";
  }
  return "runtime";
}

Result<ActorKind> ParseActorKind(std::string_view name) {
  for (ActorKind k :
       {ActorKind::kRuntime, ActorKind::kHuman, ActorKind::kAgent, ActorKind::kCapsule}) {
    if (ActorKindName(k) == name) return k;
  }
  return Bad("unknown actor kind '" + std::string(name) + "' (runtime, human, agent or capsule)");
}

Status AuditRecord::Validate() const {
  if (!IsTypeName(type)) {
    return Bad("audit record type '" + type + "' is not [a-z][a-z0-9_.]{0,63}");
  }
  if (outcome != "ok" && outcome != "denied" && outcome != "error") {
    return Bad("audit record outcome '" + outcome + "' is not ok, denied or error");
  }
  if (time_unix < 0) return Bad("audit record time is before 1970");
  return OkStatus();
}

Result<std::string> AuditRecord::ToCanonicalJson() const {
  ELASTOS_RETURN_IF_ERROR(Validate());
  // Written directly in canonical key order (this is on every append's path); the tests check
  // it against the generic canonical writer.
  std::string out;
  out.reserve(256);
  char sep = '{';
  auto key = [&](std::string_view k) {
    out += sep;
    sep = ',';
    out += '"';
    out += k;  // field names need no escaping
    out += "\":";
  };
  auto string_field = [&](std::string_view k, const std::string& value) {
    if (value.empty()) return;
    key(k);
    out += boost::json::serialize(boost::json::string_view(value));
  };
  string_field("action", action);
  string_field("actor", actor);
  key("actor_kind");
  out += '"';
  out += ActorKindName(actor_kind);
  out += '"';
  if (!details.empty()) {
    auto json = CanonicalJson(details);
    if (!json.ok()) return json.status().WithContext("audit record details");
    key("details");
    out += *json;
  }
  string_field("outcome", outcome);
  string_field("reason", reason);
  string_field("resource", resource);
  string_field("subject", subject);
  key("time_seq");
  out += std::to_string(time_seq);
  key("time_unix");
  out += std::to_string(time_unix);
  string_field("type", type);
  key("v");
  out += std::to_string(kRecordVersion);
  out += '}';
  if (out.size() > kMaxRecordSize) {
    return ResourceExhausted(
        "audit_record_too_large",
        "audit record is " + std::to_string(out.size()) + " bytes; the limit is 1 MiB");
  }
  return out;
}

Result<AuditRecord> AuditRecord::Parse(std::string_view canonical_json) {
  auto parsed = ParseCanonicalJson(canonical_json, kMaxRecordSize);
  if (!parsed.ok()) return Bad("audit record is not canonical JSON: " + parsed.status().message());
  if (!parsed->is_object()) return Bad("audit record is not a JSON object");
  const boost::json::object& o = parsed->get_object();
  const boost::json::value* v = o.if_contains("v");
  if (v == nullptr || !v->is_int64()) return Bad("audit record has no integer schema version 'v'");
  if (v->get_int64() != kRecordVersion) {
    return FailedPrecondition("audit_record_newer",
                              "audit record schema version " + std::to_string(v->get_int64()) +
                                  " is not supported (this build reads version 1)");
  }
  static constexpr std::string_view kKnown[] = {"action",   "actor",     "actor_kind", "details",
                                                "outcome",  "reason",    "resource",   "subject",
                                                "time_seq", "time_unix", "type",       "v"};
  for (const auto& kv : o) {
    if (std::find(std::begin(kKnown), std::end(kKnown), kv.key()) == std::end(kKnown)) {
      return Bad("audit record has unknown field '" + std::string(kv.key()) + "'");
    }
  }
  AuditRecord r;
  ELASTOS_ASSIGN_OR_RETURN(r.type, StringField(o, "type", true));
  ELASTOS_ASSIGN_OR_RETURN(r.outcome, StringField(o, "outcome", true));
  ELASTOS_ASSIGN_OR_RETURN(std::string kind, StringField(o, "actor_kind", true));
  ELASTOS_ASSIGN_OR_RETURN(r.actor_kind, ParseActorKind(kind));
  ELASTOS_ASSIGN_OR_RETURN(r.actor, StringField(o, "actor", false));
  ELASTOS_ASSIGN_OR_RETURN(r.subject, StringField(o, "subject", false));
  ELASTOS_ASSIGN_OR_RETURN(r.resource, StringField(o, "resource", false));
  ELASTOS_ASSIGN_OR_RETURN(r.action, StringField(o, "action", false));
  ELASTOS_ASSIGN_OR_RETURN(r.reason, StringField(o, "reason", false));
  const boost::json::value* t = o.if_contains("time_unix");
  if (t == nullptr || !t->is_int64() || t->get_int64() < 0) {
    return Bad("audit record has no valid 'time_unix'");
  }
  r.time_unix = t->get_int64();
  const boost::json::value* s = o.if_contains("time_seq");
  if (s == nullptr || !(s->is_int64() || s->is_uint64())) {
    return Bad("audit record has no valid 'time_seq'");
  }
  if (s->is_int64()) {
    if (s->get_int64() < 0) return Bad("audit record 'time_seq' is negative");
    r.time_seq = static_cast<std::uint64_t>(s->get_int64());
  } else {
    r.time_seq = s->get_uint64();
  }
  if (const boost::json::value* d = o.if_contains("details")) {
    if (!d->is_object() || d->get_object().empty()) {
      return Bad("audit record 'details' is not a non-empty object");
    }
    r.details = d->get_object();
  }
  ELASTOS_RETURN_IF_ERROR(r.Validate());
  return r;
}

}  // namespace elastos::audit
