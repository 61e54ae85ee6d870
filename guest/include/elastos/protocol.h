// elastos/protocol.h — the requests and responses of the capsule ↔ runtime protocol, as types.
//
// docs/protocol.md is the contract; this file mirrors it one to one. Every request struct has
//   static constexpr const char* kType;   the wire `type`
//   using Response = …;                   the response struct it is answered with
//   json::Value ToJson() const;           the `request` object (canonical names only; optional
//                                          members are omitted when unset, never sent as null)
// and every response struct has
//   static Result<T> FromJson(const json::Object& response);
// which checks the `type` and the members it needs, ignores members it does not know (the runtime
// may add some within protocol version 1), and fails with internal / malformed_response or
// unexpected_response — a runtime that answers wrongly is a bug, not bad user input.
//
// RuntimeRequest / RuntimeResponse wrap them as variants for code that handles requests
// generically (logging, proxies, tests).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "elastos/bytes.h"
#include "elastos/error.h"
#include "elastos/json.h"

namespace elastos::sdk {

inline constexpr std::uint64_t kProtocolVersion = 1;
// Longest line either side may write, not counting the '\n' (docs/protocol.md §2).
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;
// Most bytes one read/fetch response carries, and most bytes one write request may carry: base64
// of this is ~700 KB, which leaves room for the URI, token and envelope under the line cap.
inline constexpr std::size_t kMaxChunkBytes = 524288;
inline constexpr std::size_t kMaxMessagePayload = 262144;

// Capability actions (docs/formats/token.md).
namespace action {
inline constexpr const char* kRead = "read";
inline constexpr const char* kWrite = "write";
inline constexpr const char* kExecute = "execute";
inline constexpr const char* kMessage = "message";
inline constexpr const char* kDelete = "delete";
inline constexpr const char* kAdmin = "admin";
}  // namespace action

enum class ResourceOp { kRead, kWrite, kList, kStat, kDelete, kMkdir, kExists };
inline const char* ResourceOpName(ResourceOp op) {
  switch (op) {
    case ResourceOp::kRead:
      return "read";
    case ResourceOp::kWrite:
      return "write";
    case ResourceOp::kList:
      return "list";
    case ResourceOp::kStat:
      return "stat";
    case ResourceOp::kDelete:
      return "delete";
    case ResourceOp::kMkdir:
      return "mkdir";
    case ResourceOp::kExists:
      return "exists";
  }
  return "read";
}

namespace internal {

inline json::Object Typed(const char* type) {
  json::Object o;
  o.Set("type", type);
  return o;
}
template <typename T>
void SetIf(json::Object& o, const char* key, const std::optional<T>& v) {
  if (v) o.Set(key, json::Value(*v));
}
inline void SetIf(json::Object& o, const char* key, const std::optional<Bytes>& v) {
  if (v) o.Set(key, BytesToJson(*v));
}

inline Error Malformed(const char* type, const std::string& what) {
  return MakeError(ErrorCode::kInternal, "malformed_response",
                   std::string("runtime's ") + type + " response: " + what);
}

// Reads the members of one response object, remembering the first problem. Each getter returns
// whether it succeeded so callers can stop early, but checking error() once at the end suffices.
class Fields {
 public:
  Fields(const json::Object& o, const char* type) : o_(o), type_(type) {}

  bool String(const char* key, std::string* out) {
    const json::Value* v = o_.Find(key);
    if (v == nullptr || !v->is_string()) return Fail(key, "missing or not a string");
    *out = *v->GetString();
    return true;
  }
  bool OptString(const char* key, std::optional<std::string>* out) {
    if (!o_.Contains(key)) return true;
    std::string s;
    if (!String(key, &s)) return false;
    *out = std::move(s);
    return true;
  }
  bool Uint(const char* key, std::uint64_t* out) {
    const json::Value* v = o_.Find(key);
    if (v == nullptr || !v->GetUint64()) return Fail(key, "missing or not an unsigned integer");
    *out = *v->GetUint64();
    return true;
  }
  bool OptUint(const char* key, std::optional<std::uint64_t>* out) {
    if (!o_.Contains(key)) return true;
    std::uint64_t u = 0;
    if (!Uint(key, &u)) return false;
    *out = u;
    return true;
  }
  bool Bool(const char* key, bool* out) {
    const json::Value* v = o_.Find(key);
    if (v == nullptr || !v->is_bool()) return Fail(key, "missing or not a boolean");
    *out = *v->GetBool();
    return true;
  }
  bool OptBool(const char* key, std::optional<bool>* out) {
    if (!o_.Contains(key)) return true;
    bool b = false;
    if (!Bool(key, &b)) return false;
    *out = b;
    return true;
  }
  bool BytesField(const char* key, Bytes* out) {
    const json::Value* v = o_.Find(key);
    if (v == nullptr) return Fail(key, "missing");
    auto bytes = BytesFromJson(*v);
    if (!bytes.ok()) return Fail(key, bytes.error().message);
    *out = std::move(bytes).value();
    return true;
  }
  bool OptBytes(const char* key, std::optional<Bytes>* out) {
    if (!o_.Contains(key)) return true;
    Bytes b;
    if (!BytesField(key, &b)) return false;
    *out = std::move(b);
    return true;
  }
  const json::Array* ArrayField(const char* key) {
    const json::Value* v = o_.Find(key);
    if (v == nullptr || !v->is_array()) {
      Fail(key, "missing or not an array");
      return nullptr;
    }
    return v->GetArray();
  }
  const json::Object* ObjectField(const char* key) {
    const json::Value* v = o_.Find(key);
    if (v == nullptr || !v->is_object()) {
      Fail(key, "missing or not an object");
      return nullptr;
    }
    return v->GetObject();
  }
  bool Fail(const std::string& key, const std::string& what) {
    if (!error_) error_ = Malformed(type_, "member '" + key + "' " + what);
    return false;
  }
  // Records an error found by a nested reader.
  void Adopt(const Error& e) {
    if (!error_) error_ = e;
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  const json::Object& o_;
  const char* type_;
  std::optional<Error> error_;
};

// Checks that `response` is of type `expected`.
inline Result<void> ExpectType(const json::Object& response, const char* expected) {
  const json::Value* t = response.Find("type");
  if (t == nullptr || !t->is_string()) return Malformed(expected, "no 'type' member");
  if (*t->GetString() != expected) {
    return MakeError(
        ErrorCode::kInternal, "unexpected_response",
        std::string("expected a '") + expected + "' response, got '" + *t->GetString() + "'");
  }
  return {};
}

}  // namespace internal

// ---- Responses
// -----------------------------------------------------------------------------------

struct PongResponse {
  static constexpr const char* kType = "pong";
  static Result<PongResponse> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    return PongResponse{};
  }
};

struct RuntimeInfo {
  static constexpr const char* kType = "runtime_info";
  std::string version;
  std::uint64_t protocol = 0;
  std::string capsule_id;
  std::string capsule_name;
  std::optional<std::uint64_t> capsule_count;  // sent to the shell only

  static Result<RuntimeInfo> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    RuntimeInfo r;
    internal::Fields f(o, kType);
    f.String("version", &r.version);
    f.Uint("protocol", &r.protocol);
    f.String("capsule_id", &r.capsule_id);
    f.String("capsule_name", &r.capsule_name);
    f.OptUint("capsule_count", &r.capsule_count);
    if (f.error()) return *f.error();
    return r;
  }
};

struct CapabilityToken {
  static constexpr const char* kType = "capability_token";
  std::string token;     // base64url; pass it back in requests, never parse it
  std::string token_id;  // 32 lowercase hex
  std::string resource;
  std::string action;
  bool delegatable = false;
  std::optional<std::uint64_t> expires_at;  // unix seconds
  std::optional<std::uint64_t> max_uses;

  static Result<CapabilityToken> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    CapabilityToken r;
    internal::Fields f(o, kType);
    f.String("token", &r.token);
    f.String("token_id", &r.token_id);
    f.String("resource", &r.resource);
    f.String("action", &r.action);
    f.Bool("delegatable", &r.delegatable);
    f.OptUint("expires_at", &r.expires_at);
    f.OptUint("max_uses", &r.max_uses);
    if (f.error()) return *f.error();
    return r;
  }
};

struct DirEntry {
  std::string name;
  bool is_dir = false;
  std::uint64_t size = 0;
};

struct FileStat {
  bool is_dir = false;
  std::uint64_t size = 0;
  std::uint64_t modified = 0;  // unix seconds
};

struct ResourceResponse {
  static constexpr const char* kType = "resource_response";
  std::string op;
  std::optional<Bytes> data;             // read
  std::optional<bool> eof;               // read
  std::optional<std::uint64_t> size;     // read: the file's size
  std::optional<std::uint64_t> written;  // write
  std::vector<DirEntry> entries;         // list
  std::optional<FileStat> stat;          // stat
  std::optional<bool> exists;            // exists

  static Result<ResourceResponse> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    ResourceResponse r;
    internal::Fields f(o, kType);
    f.String("op", &r.op);
    f.OptBytes("data", &r.data);
    f.OptBool("eof", &r.eof);
    f.OptUint("size", &r.size);
    f.OptUint("written", &r.written);
    f.OptBool("exists", &r.exists);
    if (o.Contains("entries")) {
      if (const json::Array* entries = f.ArrayField("entries")) {
        for (const json::Value& item : *entries) {
          const json::Object* e = item.GetObject();
          if (e == nullptr) {
            f.Fail("entries", "holds a non-object");
            break;
          }
          DirEntry d;
          internal::Fields ef(*e, "resource_response entry");
          ef.String("name", &d.name);
          ef.Bool("is_dir", &d.is_dir);
          ef.Uint("size", &d.size);
          if (ef.error()) {
            f.Adopt(*ef.error());
            break;
          }
          r.entries.push_back(std::move(d));
        }
      }
    }
    if (o.Contains("stat")) {
      if (const json::Object* s = f.ObjectField("stat")) {
        FileStat st;
        internal::Fields sf(*s, "resource_response stat");
        sf.Bool("is_dir", &st.is_dir);
        sf.Uint("size", &st.size);
        sf.Uint("modified", &st.modified);
        if (sf.error()) {
          f.Adopt(*sf.error());
        } else {
          r.stat = st;
        }
      }
    }
    if (f.error()) return *f.error();
    return r;
  }
};

struct ContentResponse {
  static constexpr const char* kType = "content";
  Bytes data;
  bool eof = false;
  std::uint64_t size = 0;

  static Result<ContentResponse> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    ContentResponse r;
    internal::Fields f(o, kType);
    f.BytesField("data", &r.data);
    f.Bool("eof", &r.eof);
    f.Uint("size", &r.size);
    if (f.error()) return *f.error();
    return r;
  }
};

struct MessageSent {
  static constexpr const char* kType = "message_sent";
  std::uint64_t message_id = 0;

  static Result<MessageSent> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    MessageSent r;
    internal::Fields f(o, kType);
    f.Uint("message_id", &r.message_id);
    if (f.error()) return *f.error();
    return r;
  }
};

struct Message {
  std::uint64_t id = 0;
  std::string from;       // the sender's instance id, as the runtime knows it
  std::string from_name;  // the sender's manifest name
  Bytes payload;
  std::uint64_t timestamp = 0;  // unix seconds
  std::optional<std::uint64_t> reply_to;
};

struct MessagesResponse {
  static constexpr const char* kType = "messages";
  std::vector<Message> messages;

  static Result<MessagesResponse> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    MessagesResponse r;
    internal::Fields f(o, kType);
    if (const json::Array* list = f.ArrayField("messages")) {
      for (const json::Value& item : *list) {
        const json::Object* m = item.GetObject();
        if (m == nullptr) {
          f.Fail("messages", "holds a non-object");
          break;
        }
        Message msg;
        internal::Fields mf(*m, "messages entry");
        mf.Uint("id", &msg.id);
        mf.String("from", &msg.from);
        mf.String("from_name", &msg.from_name);
        mf.BytesField("payload", &msg.payload);
        mf.Uint("timestamp", &msg.timestamp);
        mf.OptUint("reply_to", &msg.reply_to);
        if (mf.error()) {
          f.Adopt(*mf.error());
          break;
        }
        r.messages.push_back(std::move(msg));
      }
    }
    if (f.error()) return *f.error();
    return r;
  }
};

struct CapsuleEntry {
  std::string id;
  std::string name;
  std::string version;
  std::string type;    // wasm, vm, agent
  std::string status;  // starting, running, stopped, failed
  std::optional<std::string> cid;
};

struct CapsuleListResponse {
  static constexpr const char* kType = "capsule_list";
  std::vector<CapsuleEntry> capsules;

  static Result<CapsuleListResponse> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    CapsuleListResponse r;
    internal::Fields f(o, kType);
    if (const json::Array* list = f.ArrayField("capsules")) {
      for (const json::Value& item : *list) {
        const json::Object* c = item.GetObject();
        if (c == nullptr) {
          f.Fail("capsules", "holds a non-object");
          break;
        }
        CapsuleEntry e;
        internal::Fields cf(*c, "capsule_list entry");
        cf.String("id", &e.id);
        cf.String("name", &e.name);
        cf.String("version", &e.version);
        cf.String("type", &e.type);
        cf.String("status", &e.status);
        cf.OptString("cid", &e.cid);
        if (cf.error()) {
          f.Adopt(*cf.error());
          break;
        }
        r.capsules.push_back(std::move(e));
      }
    }
    if (f.error()) return *f.error();
    return r;
  }
};

struct CapsuleLaunched {
  static constexpr const char* kType = "capsule_launched";
  std::string capsule_id;
  std::string name;

  static Result<CapsuleLaunched> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    CapsuleLaunched r;
    internal::Fields f(o, kType);
    f.String("capsule_id", &r.capsule_id);
    f.String("name", &r.name);
    if (f.error()) return *f.error();
    return r;
  }
};

struct OkResponse {
  static constexpr const char* kType = "ok";
  static Result<OkResponse> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    return OkResponse{};
  }
};

struct Decision {
  std::string request_id;
  std::string capsule_id;
  std::string capsule_name;
  std::string actor;  // human, agent
  std::string resource;
  std::string action;
  std::optional<std::string> reason;
  std::uint64_t requested_at = 0;
  std::uint64_t expires_at = 0;
};

// `decision` or `no_decision`: `decision` is empty for the latter.
struct NextDecisionResponse {
  static constexpr const char* kType = "decision";
  static constexpr const char* kNoneType = "no_decision";
  std::optional<Decision> decision;

  static Result<NextDecisionResponse> FromJson(const json::Object& o) {
    if (internal::ExpectType(o, kNoneType).ok()) return NextDecisionResponse{};
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    Decision d;
    internal::Fields f(o, kType);
    f.String("request_id", &d.request_id);
    f.String("capsule_id", &d.capsule_id);
    f.String("capsule_name", &d.capsule_name);
    f.String("actor", &d.actor);
    f.String("resource", &d.resource);
    f.String("action", &d.action);
    f.OptString("reason", &d.reason);
    f.Uint("requested_at", &d.requested_at);
    f.Uint("expires_at", &d.expires_at);
    if (f.error()) return *f.error();
    return NextDecisionResponse{std::move(d)};
  }
};

struct CapabilityGranted {
  static constexpr const char* kType = "capability_granted";
  std::string token_id;
  std::string token;
  std::optional<std::string> request_id;

  static Result<CapabilityGranted> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    CapabilityGranted r;
    internal::Fields f(o, kType);
    f.String("token_id", &r.token_id);
    f.String("token", &r.token);
    f.OptString("request_id", &r.request_id);
    if (f.error()) return *f.error();
    return r;
  }
};

// The person's answer to `ask_user`: answer "allow" or "deny", and the duration they chose
// ("once", "session" or "always"; "session" when the runtime omits it). Any other word is the
// runtime's bug (malformed_response): a shell must never read an unknown answer as consent.
struct UserAnswer {
  static constexpr const char* kType = "user_answer";
  std::string answer;                // allow, deny
  std::string duration = "session";  // once, session, always

  bool allowed() const { return answer == "allow"; }

  static Result<UserAnswer> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    UserAnswer r;
    internal::Fields f(o, kType);
    std::optional<std::string> duration;
    f.String("answer", &r.answer);
    f.OptString("duration", &duration);
    if (f.error()) return *f.error();
    if (r.answer != "allow" && r.answer != "deny") {
      return internal::Malformed(kType, "member 'answer' is neither \"allow\" nor \"deny\"");
    }
    if (duration) {
      if (*duration != "once" && *duration != "session" && *duration != "always") {
        return internal::Malformed(kType,
                                   "member 'duration' is not \"once\", \"session\" or \"always\"");
      }
      r.duration = std::move(*duration);
    }
    return r;
  }
};

struct Revoked {
  static constexpr const char* kType = "revoked";
  std::optional<std::uint64_t> count;
  std::optional<std::uint64_t> epoch;

  static Result<Revoked> FromJson(const json::Object& o) {
    if (auto t = internal::ExpectType(o, kType); !t.ok()) return t.error();
    Revoked r;
    internal::Fields f(o, kType);
    f.OptUint("count", &r.count);
    f.OptUint("epoch", &r.epoch);
    if (f.error()) return *f.error();
    return r;
  }
};

// ---- Requests
// ------------------------------------------------------------------------------------

struct PingRequest {
  static constexpr const char* kType = "ping";
  using Response = PongResponse;
  json::Value ToJson() const { return internal::Typed(kType); }
};

struct GetRuntimeInfoRequest {
  static constexpr const char* kType = "get_runtime_info";
  using Response = RuntimeInfo;
  json::Value ToJson() const { return internal::Typed(kType); }
};

struct RequestCapabilityRequest {
  static constexpr const char* kType = "request_capability";
  using Response = CapabilityToken;
  std::string resource;               // exact URI or a prefix pattern ending in /*
  std::string action;                 // action::kRead, …
  std::optional<std::string> reason;  // shown to whoever decides; ≤ 256 bytes

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("resource", resource);
    o.Set("action", action);
    internal::SetIf(o, "reason", reason);
    return o;
  }
};

struct ResourceRequest {
  static constexpr const char* kType = "resource_request";
  using Response = ResourceResponse;
  std::string uri;
  ResourceOp op = ResourceOp::kRead;
  std::optional<std::string> token;     // required unless the caller is the shell
  std::optional<Bytes> content;         // write
  std::optional<bool> append;           // write
  std::optional<std::uint64_t> offset;  // read
  std::optional<std::uint64_t> length;  // read
  std::optional<bool> recursive;        // delete
  std::optional<bool> parents;          // mkdir

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("uri", uri);
    o.Set("op", ResourceOpName(op));
    internal::SetIf(o, "token", token);
    internal::SetIf(o, "content", content);
    internal::SetIf(o, "append", append);
    internal::SetIf(o, "offset", offset);
    internal::SetIf(o, "length", length);
    internal::SetIf(o, "recursive", recursive);
    internal::SetIf(o, "parents", parents);
    return o;
  }
};

struct FetchContentRequest {
  static constexpr const char* kType = "fetch_content";
  using Response = ContentResponse;
  std::string uri;  // elastos://<cid>[/path] or ipfs://<cid>[/path]
  std::optional<std::string> token;
  std::optional<std::uint64_t> offset;
  std::optional<std::uint64_t> length;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("uri", uri);
    internal::SetIf(o, "token", token);
    internal::SetIf(o, "offset", offset);
    internal::SetIf(o, "length", length);
    return o;
  }
};

struct SendMessageRequest {
  static constexpr const char* kType = "send_message";
  using Response = MessageSent;
  std::string to;  // instance id, or a name matching one running instance
  Bytes payload;   // ≤ kMaxMessagePayload
  std::optional<std::uint64_t> reply_to;
  std::optional<std::string> token;  // action message on elastos://message/<recipient name>

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("to", to);
    o.Set("payload", BytesToJson(payload));
    internal::SetIf(o, "reply_to", reply_to);
    internal::SetIf(o, "token", token);
    return o;
  }
};

struct ReceiveMessagesRequest {
  static constexpr const char* kType = "receive_messages";
  using Response = MessagesResponse;
  std::optional<std::uint64_t> max;      // 1…256, default 64
  std::optional<std::uint64_t> wait_ms;  // 0…30000, default 0

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    internal::SetIf(o, "max", max);
    internal::SetIf(o, "wait_ms", wait_ms);
    return o;
  }
};

struct CapabilityConstraints {
  std::optional<std::uint64_t> max_uses;
  std::optional<std::uint64_t> expires_in_s;
  std::optional<bool> delegatable;
  std::optional<std::uint64_t> max_classification;  // 0 public … 3 secret

  json::Value ToJson() const {
    json::Object o;
    internal::SetIf(o, "max_uses", max_uses);
    internal::SetIf(o, "expires_in_s", expires_in_s);
    internal::SetIf(o, "delegatable", delegatable);
    internal::SetIf(o, "max_classification", max_classification);
    return o;
  }
};

struct DelegateCapabilityRequest {
  static constexpr const char* kType = "delegate_capability";
  using Response = CapabilityToken;
  std::string token;                    // the parent, which must be delegatable
  std::string to;                       // the new holder
  std::optional<std::string> resource;  // equal to or narrower than the parent's
  std::optional<CapabilityConstraints> constraints;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("token", token);
    o.Set("to", to);
    internal::SetIf(o, "resource", resource);
    if (constraints) o.Set("constraints", constraints->ToJson());
    return o;
  }
};

struct ListCapsulesRequest {
  static constexpr const char* kType = "list_capsules";
  using Response = CapsuleListResponse;
  json::Value ToJson() const { return internal::Typed(kType); }
};

// Limits a launch may set; each may only lower the manifest's value.
struct LaunchLimits {
  std::optional<std::uint64_t> memory_mb, cpu_ms, wall_ms, fuel, output_mb, storage_mb;

  json::Value ToJson() const {
    json::Object o;
    internal::SetIf(o, "memory_mb", memory_mb);
    internal::SetIf(o, "cpu_ms", cpu_ms);
    internal::SetIf(o, "wall_ms", wall_ms);
    internal::SetIf(o, "fuel", fuel);
    internal::SetIf(o, "output_mb", output_mb);
    internal::SetIf(o, "storage_mb", storage_mb);
    return o;
  }
};

struct LaunchConfig {
  std::vector<std::string> args;           // argv after argv[0]; omitted when empty
  std::map<std::string, std::string> env;  // extra environment; ELASTOS_* is reserved
  std::optional<LaunchLimits> resource_limits;

  json::Value ToJson() const {
    json::Object o;
    if (!args.empty()) {
      json::Array a;
      for (const std::string& s : args) a.emplace_back(s);
      o.Set("args", std::move(a));
    }
    if (!env.empty()) {
      json::Object e;
      for (const auto& [k, v] : env) e.Set(k, v);
      o.Set("env", std::move(e));
    }
    if (resource_limits) o.Set("resource_limits", resource_limits->ToJson());
    return o;
  }
};

struct LaunchCapsuleRequest {
  static constexpr const char* kType = "launch_capsule";
  using Response = CapsuleLaunched;
  std::optional<std::string> cid;  // exactly one of cid and name
  std::optional<std::string> name;
  std::optional<LaunchConfig> config;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    internal::SetIf(o, "cid", cid);
    internal::SetIf(o, "name", name);
    if (config) o.Set("config", config->ToJson());
    return o;
  }
};

struct StopCapsuleRequest {
  static constexpr const char* kType = "stop_capsule";
  using Response = OkResponse;
  std::string capsule_id;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("capsule_id", capsule_id);
    return o;
  }
};

struct NextDecisionRequest {
  static constexpr const char* kType = "next_decision";
  using Response = NextDecisionResponse;
  std::optional<std::uint64_t> wait_ms;  // 0…30000, default 0

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    internal::SetIf(o, "wait_ms", wait_ms);
    return o;
  }
};

// The shell's policy said "ask": the runtime puts the pending request to a person and returns the
// first answer. Errors: unavailable/no_one_to_ask, unavailable/prompt_timeout (the shell must
// deny), not_found/no_such_request (already decided or expired).
struct AskUserRequest {
  static constexpr const char* kType = "ask_user";
  using Response = UserAnswer;
  std::string request_id;                   // from the `decision`
  std::optional<std::uint64_t> timeout_ms;  // 1…120000, default 60000

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("request_id", request_id);
    internal::SetIf(o, "timeout_ms", timeout_ms);
    return o;
  }
};

struct GrantCapabilityRequest {
  static constexpr const char* kType = "grant_capability";
  using Response = CapabilityGranted;
  // Either request_id (answering a decision) or capsule_id + resource + action (a direct grant).
  std::optional<std::string> request_id;
  std::optional<std::string> capsule_id;
  std::optional<std::string> resource;
  std::optional<std::string> action;
  std::optional<std::string> duration;  // once, session (default), always
  std::optional<CapabilityConstraints> constraints;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    internal::SetIf(o, "request_id", request_id);
    internal::SetIf(o, "capsule_id", capsule_id);
    internal::SetIf(o, "resource", resource);
    internal::SetIf(o, "action", action);
    internal::SetIf(o, "duration", duration);
    if (constraints) o.Set("constraints", constraints->ToJson());
    return o;
  }
};

struct DenyCapabilityRequest {
  static constexpr const char* kType = "deny_capability";
  using Response = OkResponse;
  std::string request_id;
  std::optional<std::string> reason;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("request_id", request_id);
    internal::SetIf(o, "reason", reason);
    return o;
  }
};

struct RevokeCapabilityRequest {
  static constexpr const char* kType = "revoke_capability";
  using Response = Revoked;
  std::string token_id;  // 32 lowercase hex

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    o.Set("token_id", token_id);
    return o;
  }
};

struct RevokeAllRequest {
  static constexpr const char* kType = "revoke_all";
  using Response = Revoked;
  // With an id: every token that instance holds. Without: advance the epoch (every token).
  std::optional<std::string> capsule_id;

  json::Value ToJson() const {
    json::Object o = internal::Typed(kType);
    internal::SetIf(o, "capsule_id", capsule_id);
    return o;
  }
};

// ---- Variants
// ------------------------------------------------------------------------------------

// Any one request of docs/protocol.md §5.
class RuntimeRequest {
 public:
  using Variant =
      std::variant<PingRequest, GetRuntimeInfoRequest, RequestCapabilityRequest, ResourceRequest,
                   FetchContentRequest, SendMessageRequest, ReceiveMessagesRequest,
                   DelegateCapabilityRequest, ListCapsulesRequest, LaunchCapsuleRequest,
                   StopCapsuleRequest, NextDecisionRequest, AskUserRequest,
                   GrantCapabilityRequest, DenyCapabilityRequest, RevokeCapabilityRequest,
                   RevokeAllRequest>;

  template <typename R, typename = std::enable_if_t<std::is_constructible_v<Variant, R&&>>>
  RuntimeRequest(R request) : request_(std::move(request)) {}  // NOLINT: implicit by design

  const char* type() const {
    return std::visit([](const auto& r) { return std::decay_t<decltype(r)>::kType; }, request_);
  }
  // True for the requests only the shell may make (docs/protocol.md §5.2).
  bool shell_only() const {
    return std::holds_alternative<ListCapsulesRequest>(request_) ||
           std::holds_alternative<LaunchCapsuleRequest>(request_) ||
           std::holds_alternative<StopCapsuleRequest>(request_) ||
           std::holds_alternative<NextDecisionRequest>(request_) ||
           std::holds_alternative<AskUserRequest>(request_) ||
           std::holds_alternative<GrantCapabilityRequest>(request_) ||
           std::holds_alternative<DenyCapabilityRequest>(request_) ||
           std::holds_alternative<RevokeCapabilityRequest>(request_) ||
           std::holds_alternative<RevokeAllRequest>(request_);
  }
  json::Value ToJson() const {
    return std::visit([](const auto& r) { return r.ToJson(); }, request_);
  }
  const Variant& variant() const { return request_; }

 private:
  Variant request_;
};

// Any one non-error response of docs/protocol.md §6.
class RuntimeResponse {
 public:
  using Variant =
      std::variant<PongResponse, RuntimeInfo, CapabilityToken, ResourceResponse, ContentResponse,
                   MessageSent, MessagesResponse, CapsuleListResponse, CapsuleLaunched, OkResponse,
                   NextDecisionResponse, UserAnswer, CapabilityGranted, Revoked>;

  // Decodes a `response` object by its type. An `error` response becomes the Error; an unknown
  // type is internal / unexpected_response.
  static Result<RuntimeResponse> Parse(const json::Object& response);

  const Variant& variant() const { return response_; }
  template <typename T>
  const T* get() const {
    return std::get_if<T>(&response_);
  }

 private:
  explicit RuntimeResponse(Variant v) : response_(std::move(v)) {}
  Variant response_;
};

// The Error an `error` response carries. A code outside the canonical set is kept as the reason
// under `internal` (docs/protocol.md §4).
inline Error ErrorFromResponse(const json::Object& response) {
  const json::Value* code = response.Find("code");
  const json::Value* reason = response.Find("reason");
  const json::Value* message = response.Find("message");
  const std::string code_word = code && code->is_string() ? *code->GetString() : "";
  Error e;
  e.reason = reason && reason->is_string() ? *reason->GetString() : "";
  e.message = message && message->is_string() ? *message->GetString() : "";
  if (auto parsed = ParseErrorCode(code_word)) {
    e.code = *parsed;
  } else {
    e.code = ErrorCode::kInternal;
    if (!e.reason.empty()) e.message += " [reason " + e.reason + "]";
    e.reason = code_word.empty() ? "malformed_response" : code_word;
  }
  if (e.reason.empty()) e.reason = "unspecified";
  if (e.message.empty()) e.message = "the runtime refused the request";
  return e;
}

namespace internal {
template <typename T>
Result<RuntimeResponse::Variant> ParseAs(const json::Object& o) {
  auto r = T::FromJson(o);
  if (!r.ok()) return r.error();
  return RuntimeResponse::Variant(std::move(r).value());
}
}  // namespace internal

inline Result<RuntimeResponse> RuntimeResponse::Parse(const json::Object& response) {
  const json::Value* t = response.Find("type");
  if (t == nullptr || !t->is_string()) return internal::Malformed("a", "no 'type' member");
  const std::string& type = *t->GetString();
  if (type == "error") return ErrorFromResponse(response);
  Result<Variant> v = MakeError(ErrorCode::kInternal, "unexpected_response",
                                "unknown response type '" + type + "'");
  if (type == PongResponse::kType)
    v = internal::ParseAs<PongResponse>(response);
  else if (type == RuntimeInfo::kType)
    v = internal::ParseAs<RuntimeInfo>(response);
  else if (type == CapabilityToken::kType)
    v = internal::ParseAs<CapabilityToken>(response);
  else if (type == ResourceResponse::kType)
    v = internal::ParseAs<ResourceResponse>(response);
  else if (type == ContentResponse::kType)
    v = internal::ParseAs<ContentResponse>(response);
  else if (type == MessageSent::kType)
    v = internal::ParseAs<MessageSent>(response);
  else if (type == MessagesResponse::kType)
    v = internal::ParseAs<MessagesResponse>(response);
  else if (type == CapsuleListResponse::kType)
    v = internal::ParseAs<CapsuleListResponse>(response);
  else if (type == CapsuleLaunched::kType)
    v = internal::ParseAs<CapsuleLaunched>(response);
  else if (type == OkResponse::kType)
    v = internal::ParseAs<OkResponse>(response);
  else if (type == NextDecisionResponse::kType || type == NextDecisionResponse::kNoneType)
    v = internal::ParseAs<NextDecisionResponse>(response);
  else if (type == UserAnswer::kType)
    v = internal::ParseAs<UserAnswer>(response);
  else if (type == CapabilityGranted::kType)
    v = internal::ParseAs<CapabilityGranted>(response);
  else if (type == Revoked::kType)
    v = internal::ParseAs<Revoked>(response);
  if (!v.ok()) return v.error();
  return RuntimeResponse(std::move(v).value());
}

}  // namespace elastos::sdk
