// capsules/shell/policy.h — the shell capsule's policy engine: who gets which capability token.
//
// The runtime holds mechanism (it signs and enforces tokens); the shell holds policy (it decides
// who gets them). This header is that policy, with no I/O of its own so it builds unchanged for
// wasm32-wasi (the shell) and natively (shell_policy_test):
//
//   ParsePolicy(text)            policy.json (docs/policy.md) → Policy, or an error naming the
//                                problem and its JSON path ("$.rules[2].actions[0]")
//   Evaluate(policy, memory, f)  one pending request → allow / deny / ask, the duration and
//                                constraints of a grant, and what decided (rule index, default,
//                                remembered)
//   Remembered                   the "always" answers people gave, as the text of
//                                /data/always.json
//   NormalizePattern, PatternCovers
//                                resource patterns with the runtime's semantics
//                                (src/runtime/capability/resource.cc), which the shell cannot link
//
// Safety properties, each answering a threat:
//   - A default of "allow" is refused: it would grant every request nobody wrote a rule for —
//     the reference runtime's grant-all default, which we must not repeat.
//   - A policy that does not parse yields nothing: the caller falls back to Policy{} (ask; deny
//     when nobody can answer), never to a half-read rule list.
//   - Unknown fields are errors: a misspelt "acitons" or "max_use" must not silently widen a rule.
//   - Resources are compared after the runtime's normalisation and with its refusals (`..`,
//     encoded separators, mid-path `*`): a rule can never be bypassed by a second spelling of a
//     path, and a request that cannot be normalised matches nothing and is denied.
//
// Header-only C++17, no exceptions, no RTTI; depends on the guest SDK's error.h and json.h only.
// Thread-safety: plain values.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <elastos/error.h>
#include <elastos/json.h>

namespace elastos::shell {

namespace json = elastos::sdk::json;
using elastos::sdk::Error;
using elastos::sdk::ErrorCode;
using elastos::sdk::MakeError;
using elastos::sdk::Result;

inline constexpr const char* kPolicySchema = "elastos.policy/v1";
inline constexpr const char* kRememberedSchema = "elastos.shell-always/v1";
// The most policy text the shell reads from stdin (and the JSON reader's cap).
inline constexpr std::size_t kMaxPolicyBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxRules = 10000;
// As in the runtime (resource.h).
inline constexpr std::size_t kMaxResourceLength = 2048;

// ---- Words
// ---------------------------------------------------------------------------------------

enum class Verdict { kAllow, kDeny, kAsk };
enum class Duration { kOnce, kSession, kAlways };  // ordered: shorter < longer
enum class ActorFilter { kAny, kHuman, kAgent };

inline const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllow:
      return "allow";
    case Verdict::kDeny:
      return "deny";
    case Verdict::kAsk:
      return "ask";
  }
  return "deny";
}

inline const char* DurationName(Duration d) {
  switch (d) {
    case Duration::kOnce:
      return "once";
    case Duration::kSession:
      return "session";
    case Duration::kAlways:
      return "always";
  }
  return "once";
}

inline std::optional<Duration> ParseDuration(std::string_view word) {
  if (word == "once") return Duration::kOnce;
  if (word == "session") return Duration::kSession;
  if (word == "always") return Duration::kAlways;
  return std::nullopt;
}

// The capability actions (DESIGN.md §3), in the bit order of Rule::actions.
inline constexpr const char* kActionNames[] = {"read",    "write",  "execute",
                                               "message", "delete", "admin"};
inline constexpr unsigned kAllActions = (1u << 6) - 1;

// The action's bit, or 0 for a word that is not an action.
inline unsigned ActionBit(std::string_view action) {
  for (unsigned i = 0; i < 6; ++i) {
    if (action == kActionNames[i]) return 1u << i;
  }
  return 0;
}

// A capsule manifest name: [a-z0-9][a-z0-9._-]{0,63} (docs/formats/manifest.md).
inline bool IsCapsuleName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

// `text` made safe for one log line or error message: control characters become '?', and it is
// cut (with "…") past `max` bytes. Strings in a policy or a decision are not ours to trust.
inline std::string Printable(std::string_view text, std::size_t max = 160) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max) {
      // Do not leave half a UTF-8 sequence behind.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
      out += "…";
      return out;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  }
  return out;
}

// ---- Resource patterns (the runtime's semantics, src/runtime/capability/resource.cc)
// ---------------

namespace internal {

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

inline Error BadResource(std::string_view uri, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, "bad_resource",
                   "resource '" + Printable(uri, 120) + "' " + why);
}

inline bool IsPrefixPattern(std::string_view p) {
  return p.size() >= 2 && p.substr(p.size() - 2) == "/*";
}
// "scheme://a/b/*" → "scheme://a/b/"; "scheme://*" → "scheme://".
inline std::string_view PrefixOf(std::string_view p) { return p.substr(0, p.size() - 1); }
inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace internal

// The canonical spelling of a resource URI or, with `allow_wildcard`, of a pattern (a resource,
// or a prefix ending in "/*"): scheme lowercased, empty and "." segments dropped. Refused
// (invalid_argument / bad_resource) rather than normalised: no "scheme://", a bad scheme, `..`
// segments, percent-encoded '.', '/', '\' or NUL, backslashes, control characters, '*' anywhere
// but a whole final segment, no path, more than 2048 bytes.
inline Result<std::string> NormalizePattern(std::string_view uri, bool allow_wildcard = true) {
  using internal::BadResource;
  if (uri.size() > kMaxResourceLength) {
    return BadResource(uri, "is longer than " + std::to_string(kMaxResourceLength) + " bytes");
  }
  const std::size_t sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return BadResource(uri, "is not a URI (expected scheme://path)");
  }
  std::string out;
  for (std::size_t i = 0; i < sep; ++i) {
    const unsigned char c = static_cast<unsigned char>(uri[i]);
    const bool ok = std::isalpha(c) ||
                    (i > 0 && (std::isdigit(c) || c == '+' || c == '-' || c == '.'));
    if (!ok) return BadResource(uri, "has an invalid scheme");
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  out += "://";
  const std::size_t path_start = out.size();
  const std::string_view rest = uri.substr(sep + 3);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(rest[i]);
    if (c < 0x20 || c == 0x7f) return BadResource(uri, "contains a control character");
    if (c == '\\') return BadResource(uri, "contains a backslash");
    if (c == '%') {
      const std::string_view enc = rest.substr(i, 3);
      if (internal::EqualsIgnoreCase(enc, "%2e") || internal::EqualsIgnoreCase(enc, "%2f") ||
          internal::EqualsIgnoreCase(enc, "%5c") || internal::EqualsIgnoreCase(enc, "%00")) {
        return BadResource(uri, "contains an encoded '.', '/', '\\' or NUL (" + std::string(enc) +
                                    ")");
      }
    }
  }
  bool wildcard_seen = false;
  for (std::size_t pos = 0; pos <= rest.size();) {
    std::size_t slash = rest.find('/', pos);
    if (slash == std::string_view::npos) slash = rest.size();
    const std::string_view seg = rest.substr(pos, slash - pos);
    pos = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return BadResource(uri, "contains a '..' segment");
    if (wildcard_seen) return BadResource(uri, "may contain '*' only as its final segment ('…/*')");
    if (seg.find('*') != std::string_view::npos) {
      if (!allow_wildcard) {
        return BadResource(uri, "contains '*' (only patterns may, as a final '/*')");
      }
      if (seg != "*") return BadResource(uri, "may contain '*' only as its final segment ('…/*')");
      wildcard_seen = true;
    }
    if (out.size() > path_start) out.push_back('/');
    out += seg;
  }
  if (out.size() == path_start) return BadResource(uri, "has no path after the scheme");
  return out;
}

// Whether canonical `resource` (a concrete URI) is matched by canonical `pattern`: equal, or
// below a "…/*" prefix — never the prefix's own directory ("a/*" does not match "a").
inline bool PatternMatches(std::string_view pattern, std::string_view resource) {
  if (!internal::IsPrefixPattern(pattern)) return pattern == resource;
  const std::string_view prefix = internal::PrefixOf(pattern);
  return resource.size() > prefix.size() && internal::StartsWith(resource, prefix);
}

// Whether everything canonical pattern `inner` matches is also matched by `outer`: what a rule
// must satisfy to decide a request (a request may name an exact URI or a pattern).
inline bool PatternCovers(std::string_view outer, std::string_view inner) {
  if (!internal::IsPrefixPattern(inner)) return PatternMatches(outer, inner);
  if (!internal::IsPrefixPattern(outer)) return false;  // an exact URI never covers a prefix
  // outer "a/*" covers inner "a/b/*" and "a/*" itself, never "a" or a sibling "ab/*".
  return internal::StartsWith(internal::PrefixOf(inner), internal::PrefixOf(outer));
}

// ---- The policy
// ----------------------------------------------------------------------------------

// Constraints a grant carries to the runtime (docs/protocol.md, CapabilityConstraints).
struct GrantConstraints {
  std::optional<std::uint64_t> max_uses;      // ≥ 1
  std::optional<std::uint64_t> expires_in_s;  // ≥ 1; seconds from issue
  bool delegatable = false;  // the holder may pass narrower copies to other capsules

  bool empty() const { return !max_uses && !expires_in_s && !delegatable; }
  bool operator==(const GrantConstraints& o) const {
    return max_uses == o.max_uses && expires_in_s == o.expires_in_s &&
           delegatable == o.delegatable;
  }
};

struct Rule {
  std::string resource;  // canonical pattern
  unsigned actions = 0;  // bits of kActionNames
  Verdict decision = Verdict::kDeny;
  // As written. For allow rules, nullopt means "session". For ask rules it caps what the person's
  // answer may grant (nullopt: no cap). Deny rules have none.
  std::optional<Duration> duration;
  GrantConstraints constraints;
  ActorFilter actor = ActorFilter::kAny;
  std::string capsule = "*";  // an exact capsule name, or "*"
};

// Policy{} is the safe default: no rules, every request asked, denied when nobody can answer.
struct Policy {
  Verdict default_decision = Verdict::kAsk;
  std::vector<Rule> rules;
  // Accepted but worth a look (printed by the shell at boot), e.g. a rule allowing everything.
  std::vector<std::string> warnings;
};

namespace internal {

// Reads policy.json, remembering the first problem with its JSON path.
class PolicyReader {
 public:
  Result<Policy> Read(std::string_view text) {
    if (text.size() > kMaxPolicyBytes) {
      return Fail("$", "the policy is " + std::to_string(text.size()) +
                           " bytes; the limit is " + std::to_string(kMaxPolicyBytes));
    }
    auto doc = json::Parse(text, json::ParseOptions{json::kDefaultMaxDepth, kMaxPolicyBytes});
    if (!doc.ok()) return Fail("$", "not valid JSON: " + doc.error().message);
    const json::Object* top = doc->GetObject();
    if (top == nullptr) return Fail("$", "must be a JSON object {\"default\": …, \"rules\": […]}");

    Policy policy;
    for (const json::Member& m : *top) {
      const std::string path = "$." + Printable(m.key, 64);
      if (m.key == "schema") {
        const std::string* s = m.value.GetString();
        if (s == nullptr) return Fail(path, "must be a string");
        if (*s != kPolicySchema) {
          return Fail(path, "'" + Printable(*s, 64) + "' is not a policy schema this shell knows (" +
                                kPolicySchema + ")");
        }
      } else if (m.key == "default") {
        const std::string* s = m.value.GetString();
        if (s == nullptr) return Fail(path, "must be a string: \"ask\" or \"deny\"");
        if (*s == "ask") {
          policy.default_decision = Verdict::kAsk;
        } else if (*s == "deny") {
          policy.default_decision = Verdict::kDeny;
        } else if (*s == "allow") {
          return Fail(path,
                      "\"allow\" is refused as a default: it would grant every request that no "
                      "rule names (grant-all). Use \"ask\" or \"deny\", and allow what you mean "
                      "with rules");
        } else {
          return Fail(path, "'" + Printable(*s, 64) + "' is not \"ask\" or \"deny\"");
        }
      } else if (m.key == "rules") {
        const json::Array* rules = m.value.GetArray();
        if (rules == nullptr) return Fail(path, "must be a list of rules");
        if (rules->size() > kMaxRules) {
          return Fail(path, "has " + std::to_string(rules->size()) + " rules; the limit is " +
                                std::to_string(kMaxRules));
        }
        for (std::size_t i = 0; i < rules->size(); ++i) {
          Rule rule;
          if (!ReadRule((*rules)[i], "$.rules[" + std::to_string(i) + "]", &rule, &policy)) {
            return *error_;
          }
          policy.rules.push_back(std::move(rule));
        }
      } else if (m.key == "allow") {
        return Fail(path,
                    "unknown field 'allow' (the reference runtime's {\"allow\": […]} format is not "
                    "read: write rules with \"decision\": \"allow\" instead)");
      } else {
        return Fail(path, "unknown field '" + Printable(m.key, 64) +
                              "' (known: schema, default, rules)");
      }
    }
    return policy;
  }

 private:
  Error Fail(const std::string& path, const std::string& what) {
    error_ = MakeError(ErrorCode::kInvalidArgument, "bad_policy", "policy " + path + ": " + what);
    return *error_;
  }
  bool FailRule(const std::string& path, const std::string& what) {
    Fail(path, what);
    return false;
  }

  // A JSON integer ≥ 1 (no fraction, no exponent).
  bool ReadCount(const json::Value& v, const std::string& path, std::optional<std::uint64_t>* out) {
    const std::optional<std::uint64_t> n = v.GetUint64();
    if (!v.is_integer() || !n || *n < 1) return FailRule(path, "must be a whole number ≥ 1");
    *out = *n;
    return true;
  }

  bool ReadRule(const json::Value& value, const std::string& path, Rule* rule, Policy* policy) {
    const json::Object* o = value.GetObject();
    if (o == nullptr) return FailRule(path, "must be an object {\"resource\", \"actions\", \"decision\", …}");
    bool have_resource = false, have_actions = false, have_decision = false;
    for (const json::Member& m : *o) {
      const std::string field = path + "." + Printable(m.key, 64);
      if (m.key == "resource") {
        const std::string* s = m.value.GetString();
        if (s == nullptr) return FailRule(field, "must be a string (a URI, or a prefix ending in /*)");
        auto pattern = NormalizePattern(*s);
        if (!pattern.ok()) return FailRule(field, pattern.error().message);
        rule->resource = std::move(pattern).value();
        have_resource = true;
      } else if (m.key == "actions") {
        if (!ReadActions(m.value, field, &rule->actions)) return false;
        have_actions = true;
      } else if (m.key == "decision") {
        const std::string* s = m.value.GetString();
        if (s == nullptr) return FailRule(field, "must be a string: \"allow\", \"deny\" or \"ask\"");
        if (*s == "allow") {
          rule->decision = Verdict::kAllow;
        } else if (*s == "deny") {
          rule->decision = Verdict::kDeny;
        } else if (*s == "ask") {
          rule->decision = Verdict::kAsk;
        } else {
          return FailRule(field, "'" + Printable(*s, 64) + "' is not \"allow\", \"deny\" or \"ask\"");
        }
        have_decision = true;
      } else if (m.key == "duration") {
        const std::string* s = m.value.GetString();
        const std::optional<Duration> d = s ? ParseDuration(*s) : std::nullopt;
        if (!d) return FailRule(field, "must be \"once\", \"session\" or \"always\"");
        rule->duration = d;
      } else if (m.key == "max_uses") {
        if (!ReadCount(m.value, field, &rule->constraints.max_uses)) return false;
      } else if (m.key == "expires_in_s") {
        if (!ReadCount(m.value, field, &rule->constraints.expires_in_s)) return false;
      } else if (m.key == "delegatable") {
        const std::optional<bool> b = m.value.GetBool();
        if (!b) return FailRule(field, "must be true or false");
        rule->constraints.delegatable = *b;
      } else if (m.key == "actor") {
        const std::string* s = m.value.GetString();
        if (s != nullptr && *s == "any") {
          rule->actor = ActorFilter::kAny;
        } else if (s != nullptr && *s == "human") {
          rule->actor = ActorFilter::kHuman;
        } else if (s != nullptr && *s == "agent") {
          rule->actor = ActorFilter::kAgent;
        } else {
          return FailRule(field, "must be \"human\", \"agent\" or \"any\"");
        }
      } else if (m.key == "capsule") {
        const std::string* s = m.value.GetString();
        if (s == nullptr || (*s != "*" && !IsCapsuleName(*s))) {
          return FailRule(field, "must be a capsule name ([a-z0-9][a-z0-9._-]{0,63}) or \"*\"");
        }
        rule->capsule = *s;
      } else {
        return FailRule(field, "unknown field '" + Printable(m.key, 64) +
                                   "' (known: resource, actions, decision, duration, max_uses, "
                                   "expires_in_s, delegatable, actor, capsule)");
      }
    }
    if (!have_resource) return FailRule(path, "missing required field 'resource'");
    if (!have_actions) return FailRule(path, "missing required field 'actions'");
    if (!have_decision) return FailRule(path, "missing required field 'decision'");
    if (rule->decision == Verdict::kDeny) {
      // A deny grants nothing; a duration or constraint on it would suggest otherwise.
      for (const char* grant_only : {"duration", "max_uses", "expires_in_s", "delegatable"}) {
        if (o->Contains(grant_only)) {
          return FailRule(path + "." + grant_only,
                          "does not apply to a deny rule (it describes a grant)");
        }
      }
    }
    if (rule->duration == Duration::kOnce && rule->constraints.max_uses) {
      return FailRule(path + ".max_uses",
                      "does not apply with \"duration\": \"once\" (a once grant has exactly one use)");
    }
    const std::string_view res = rule->resource;
    const bool whole_scheme = res.size() >= 4 && res.substr(res.size() - 4) == "://*";
    if (rule->decision == Verdict::kAllow && rule->actions == kAllActions && whole_scheme) {
      policy->warnings.push_back(path + " allows every action on everything under " +
                                 rule->resource + " without asking");
    }
    return true;
  }

  bool ReadActions(const json::Value& value, const std::string& path, unsigned* out) {
    const json::Array* list = value.GetArray();
    if (list == nullptr || list->empty()) {
      return FailRule(path, "must be a non-empty list of actions (read, write, execute, message, "
                            "delete, admin) or [\"*\"]");
    }
    unsigned bits = 0;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      const std::string* s = (*list)[i].GetString();
      if (s == nullptr) return FailRule(item_path, "must be a string");
      if (*s == "*") {
        if (list->size() != 1) return FailRule(item_path, "\"*\" (every action) must stand alone");
        bits = kAllActions;
        continue;
      }
      const unsigned bit = ActionBit(*s);
      if (bit == 0) {
        return FailRule(item_path, "'" + Printable(*s, 64) +
                                       "' is not an action (read, write, execute, message, "
                                       "delete, admin, or \"*\" alone)");
      }
      if (bits & bit) return FailRule(item_path, "'" + *s + "' is listed twice");
      bits |= bit;
    }
    *out = bits;
    return true;
  }

  std::optional<Error> error_;
};

}  // namespace internal

// Parses policy.json (docs/policy.md). Error: invalid_argument / bad_policy, the message
// "policy $.path: what is wrong". On error the caller must use Policy{} (the safe default),
// never part of what was read.
inline Result<Policy> ParsePolicy(std::string_view text) {
  return internal::PolicyReader().Read(text);
}

// ---- Remembered "always" answers
// ----------------------------------------------------------------

// One "always" a person gave: key (capsule, actor, resource pattern, action) and the
// constraints each re-issued token carries.
struct RememberedGrant {
  std::string capsule;   // manifest name
  std::string actor;     // human, agent
  std::string resource;  // canonical pattern, as requested
  std::string action;
  GrantConstraints constraints;
};

// The set the shell keeps in /data/always.json:
//   {"schema":"elastos.shell-always/v1","always":[{"capsule","actor","resource","action",
//    "max_uses"?,"expires_in_s"?}, …]}
class Remembered {
 public:
  static constexpr std::size_t kMaxEntries = 4096;

  // The remembered grant that decides a request: same capsule, actor and action, and a
  // remembered pattern that covers the (canonical) requested resource. nullptr if none.
  const RememberedGrant* Find(std::string_view capsule, std::string_view actor,
                              std::string_view action, std::string_view resource) const {
    for (const RememberedGrant& g : grants_) {
      if (g.capsule == capsule && g.actor == actor && g.action == action &&
          PatternCovers(g.resource, resource)) {
        return &g;
      }
    }
    return nullptr;
  }

  // Adds `grant`, or replaces the constraints of the entry with the same key. False (nothing
  // changed) when the set is full or the grant is not well formed.
  bool Remember(RememberedGrant grant) {
    if (!IsCapsuleName(grant.capsule) || (grant.actor != "human" && grant.actor != "agent") ||
        ActionBit(grant.action) == 0) {
      return false;
    }
    auto canonical = NormalizePattern(grant.resource);
    if (!canonical.ok()) return false;
    grant.resource = std::move(canonical).value();
    for (RememberedGrant& g : grants_) {
      if (g.capsule == grant.capsule && g.actor == grant.actor && g.action == grant.action &&
          g.resource == grant.resource) {
        g.constraints = grant.constraints;
        return true;
      }
    }
    if (grants_.size() >= kMaxEntries) return false;
    grants_.push_back(std::move(grant));
    return true;
  }

  const std::vector<RememberedGrant>& grants() const { return grants_; }
  std::size_t size() const { return grants_.size(); }

  // The file's text: one entry per line, so a person can read and edit it.
  std::string ToText() const {
    std::string out = "{\"schema\":\"";
    out += kRememberedSchema;
    out += "\",\"always\":[";
    for (std::size_t i = 0; i < grants_.size(); ++i) {
      const RememberedGrant& g = grants_[i];
      json::Object o;
      o.Set("capsule", g.capsule);
      o.Set("actor", g.actor);
      o.Set("resource", g.resource);
      o.Set("action", g.action);
      if (g.constraints.max_uses) o.Set("max_uses", *g.constraints.max_uses);
      if (g.constraints.expires_in_s) o.Set("expires_in_s", *g.constraints.expires_in_s);
      out += i == 0 ? "\n  " : ",\n  ";
      out += json::Value(std::move(o)).Serialize();  // every member was validated: valid UTF-8
    }
    out += grants_.empty() ? "]}\n" : "\n]}\n";
    return out;
  }

  // Reads the file's text strictly. A file of another schema (say, written by a newer shell) is
  // refused, never misread. Error: invalid_argument / bad_remembered, naming the JSON path.
  static Result<Remembered> Parse(std::string_view text) {
    auto fail = [](const std::string& path, const std::string& what) -> Error {
      return MakeError(ErrorCode::kInvalidArgument, "bad_remembered",
                       "always.json " + path + ": " + what);
    };
    auto doc = json::Parse(text, json::ParseOptions{json::kDefaultMaxDepth, kMaxPolicyBytes});
    if (!doc.ok()) return fail("$", "not valid JSON: " + doc.error().message);
    const json::Object* top = doc->GetObject();
    if (top == nullptr) return fail("$", "must be an object");
    const json::Value* schema = top->Find("schema");
    if (schema == nullptr || schema->GetString() == nullptr ||
        *schema->GetString() != kRememberedSchema) {
      return fail("$.schema", std::string("must be \"") + kRememberedSchema +
                                  "\" (a file from another version of the shell is not read)");
    }
    const json::Value* always = top->Find("always");
    if (always == nullptr || !always->is_array()) return fail("$.always", "must be a list");
    for (const json::Member& m : *top) {
      if (m.key != "schema" && m.key != "always") {
        return fail("$." + Printable(m.key, 64), "unknown field");
      }
    }
    Remembered set;
    const json::Array& list = *always->GetArray();
    if (list.size() > kMaxEntries) return fail("$.always", "holds more than 4096 entries");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "$.always[" + std::to_string(i) + "]";
      const json::Object* e = list[i].GetObject();
      if (e == nullptr) return fail(path, "must be an object");
      RememberedGrant g;
      for (const json::Member& m : *e) {
        const std::string field = path + "." + Printable(m.key, 64);
        const std::string* s = m.value.GetString();
        std::string* text_field = m.key == "capsule"    ? &g.capsule
                                  : m.key == "actor"    ? &g.actor
                                  : m.key == "resource" ? &g.resource
                                  : m.key == "action"   ? &g.action
                                                        : nullptr;
        std::optional<std::uint64_t>* count_field =
            m.key == "max_uses"       ? &g.constraints.max_uses
            : m.key == "expires_in_s" ? &g.constraints.expires_in_s
                                      : nullptr;
        if (text_field != nullptr) {
          if (s == nullptr) return fail(field, "must be a string");
          *text_field = *s;
        } else if (count_field != nullptr) {
          const std::optional<std::uint64_t> n = m.value.GetUint64();
          if (!m.value.is_integer() || !n || *n < 1) return fail(field, "must be a whole number ≥ 1");
          *count_field = *n;
        } else {
          return fail(field, "unknown field");
        }
      }
      if (!IsCapsuleName(g.capsule)) return fail(path + ".capsule", "missing or not a capsule name");
      if (g.actor != "human" && g.actor != "agent") {
        return fail(path + ".actor", "missing or not \"human\"/\"agent\"");
      }
      if (ActionBit(g.action) == 0) return fail(path + ".action", "missing or not an action");
      auto canonical = NormalizePattern(g.resource);
      if (!canonical.ok()) return fail(path + ".resource", canonical.error().message);
      if (!set.Remember(std::move(g))) return fail(path, "cannot be remembered");
    }
    return set;
  }

 private:
  std::vector<RememberedGrant> grants_;
};

// ---- Evaluation
// ----------------------------------------------------------------------------------

// What the runtime told the shell about one pending request (docs/protocol.md, `decision`).
struct DecisionFacts {
  std::string capsule_name;
  std::string actor;  // human, agent
  std::string resource;
  std::string action;
};

enum class Source {
  kRule,        // rules[rule_index] matched
  kDefault,     // no rule matched: the policy's default
  kRemembered,  // the policy said ask, and a person already answered "always"
  kRefused,     // the request itself is unacceptable (bad resource or action): deny
};

struct Evaluation {
  Verdict verdict = Verdict::kDeny;
  Source source = Source::kRefused;
  std::size_t rule_index = 0;  // kRule (also kRemembered: the ask rule it replaced, if any)
  bool from_rule = false;      // whether rule_index is meaningful
  // kAllow: the duration to grant. kAsk: the longest duration the answer may grant (nullopt: the
  // answer's own). kDeny: unset.
  std::optional<Duration> duration;
  GrantConstraints constraints;
  std::string resource;  // the canonical requested resource (empty when kRefused)
  std::string why;       // kRefused: what is wrong with the request

  // "rule[3]", "default", "remembered" or "refused" — for the shell's log line.
  std::string SourceName() const {
    switch (source) {
      case Source::kRule:
        return "rule[" + std::to_string(rule_index) + "]";
      case Source::kDefault:
        return "default";
      case Source::kRemembered:
        return "remembered";
      case Source::kRefused:
        return "refused";
    }
    return "refused";
  }
};

// Decides one request: the first rule whose capsule, actor and action match and whose resource
// covers the requested one wins; no match → the default. When that says "ask" and a person has
// already answered "always" for this capsule, actor, action and (a pattern covering) this
// resource, the answer stands: allow, duration session (the runtime's tokens die with the
// instance; the memory lives here). A deny in the policy always wins over memory — memory only
// replaces asking. A request whose resource does not normalise, or whose action is not an action,
// is denied (kRefused): it could only be an attempt at a second spelling.
inline Evaluation Evaluate(const Policy& policy, const Remembered& remembered,
                           const DecisionFacts& facts) {
  Evaluation e;
  const unsigned action_bit = ActionBit(facts.action);
  if (action_bit == 0) {
    e.why = "'" + Printable(facts.action, 32) + "' is not a capability action";
    return e;
  }
  auto canonical = NormalizePattern(facts.resource);
  if (!canonical.ok()) {
    e.why = canonical.error().message;
    return e;
  }
  e.resource = std::move(canonical).value();

  const Rule* matched = nullptr;
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& r = policy.rules[i];
    if (r.capsule != "*" && r.capsule != facts.capsule_name) continue;
    // An actor kind this shell does not know matches only rules for any actor.
    if (r.actor == ActorFilter::kHuman && facts.actor != "human") continue;
    if (r.actor == ActorFilter::kAgent && facts.actor != "agent") continue;
    if ((r.actions & action_bit) == 0) continue;
    if (!PatternCovers(r.resource, e.resource)) continue;
    matched = &r;
    e.rule_index = i;
    e.from_rule = true;
    break;
  }
  if (matched != nullptr) {
    e.source = Source::kRule;
    e.verdict = matched->decision;
    e.constraints = matched->constraints;
    if (e.verdict == Verdict::kAllow) e.duration = matched->duration.value_or(Duration::kSession);
    if (e.verdict == Verdict::kAsk) e.duration = matched->duration;
  } else {
    e.source = Source::kDefault;
    e.verdict = policy.default_decision;
  }
  if (e.verdict == Verdict::kAsk) {
    if (const RememberedGrant* g =
            remembered.Find(facts.capsule_name, facts.actor, facts.action, e.resource)) {
      e.verdict = Verdict::kAllow;
      e.source = Source::kRemembered;
      e.duration = Duration::kSession;
      e.constraints = g->constraints;
    }
  }
  return e;
}

// What a person's answer grants under an ask rule: the shorter of the answer and the rule's cap.
inline Duration CapDuration(Duration answered, std::optional<Duration> cap) {
  if (cap && static_cast<int>(*cap) < static_cast<int>(answered)) return *cap;
  return answered;
}

}  // namespace elastos::shell
