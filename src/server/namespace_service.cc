#include "server/namespace_service.h"

#include <boost/json.hpp>

#include "common/encoding.h"

#include "runtime/capability/resource.h"

namespace elastos::server {
namespace json = boost::json;

namespace {

constexpr std::string_view kLocalhost = "localhost://";

struct OpInfo {
  std::string_view name;
  Action action;
  std::initializer_list<std::string_view> members;
};

const OpInfo* FindOp(std::string_view op) {
  static const OpInfo kOps[] = {
      {"read", Action::kRead, {"offset", "length"}},
      {"list", Action::kRead, {}},
      {"stat", Action::kRead, {}},
      {"exists", Action::kRead, {}},
      {"write", Action::kWrite, {"content", "append"}},
      {"mkdir", Action::kWrite, {"parents"}},
      {"delete", Action::kDelete, {"recursive"}},
  };
  for (const OpInfo& o : kOps) {
    if (o.name == op) return &o;
  }
  return nullptr;
}

// The `read` answer for bytes [offset, offset+length) of `whole`, with the request's offset and
// length members (defaults 0 and the chunk cap; length never above the cap).
json::object ReadAnswer(const Bytes& whole, const json::object& members) {
  auto uint = [&](const char* k, std::uint64_t dflt) -> std::uint64_t {
    const json::value* v = members.if_contains(k);
    if (v != nullptr && v->is_uint64()) return v->as_uint64();
    if (v != nullptr && v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    return dflt;
  };
  const std::uint64_t offset = std::min<std::uint64_t>(uint("offset", 0), whole.size());
  const std::uint64_t length = std::min<std::uint64_t>(
      std::min<std::uint64_t>(uint("length", kMaxResourceChunk), kMaxResourceChunk), whole.size() - offset);
  const ByteView slice = ByteView(whole).subspan(offset, length);
  return json::object{{"type", "resource_response"}, {"op", "read"},
                      {"data", Base64Encode(slice)}, {"eof", offset + length >= whole.size()},
                      {"size", whole.size()}};
}

}  // namespace

NamespaceService::NamespaceService(runtime::Runtime& rt, ProviderPool* localhost, Sealing sealing,
                                   const FetchProvider* fetch)
    : rt_(rt), localhost_(localhost), sealing_(std::move(sealing)), fetch_(fetch) {}

Result<json::object> NamespaceService::Provider(json::object request) {
  if (localhost_ == nullptr) {
    return Unavailable("provider_unavailable", "the localhost provider is not running");
  }
  ELASTOS_ASSIGN_OR_RETURN(json::object response, localhost_->Call(request));
  const json::value& type = response.at("type");
  if (type == "error") {
    auto word = [&](const char* k) {
      const json::value* v = response.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    // The provider's error, with the canonical code it named (anything else is internal).
    return Status(ErrorCodeFromName(word("code")), word("reason").empty() ? "provider_error" : word("reason"),
                  "provider: " + word("message"));
  }
  if (type != "resource_response") {
    return Unavailable("provider_unavailable", "the provider answered with an unexpected type");
  }
  return response;
}

Result<Bytes> NamespaceService::ReadWhole(const std::string& path) {
  Bytes out;
  for (;;) {
    json::object req{{"type", "provider_request"}, {"op", "read"}, {"path", path}};
    if (!out.empty()) req["offset"] = out.size();
    ELASTOS_ASSIGN_OR_RETURN(json::object r, Provider(std::move(req)));
    const json::value* data = r.if_contains("data");
    const json::value* eof = r.if_contains("eof");
    if (data == nullptr || !data->is_string() || eof == nullptr || !eof->is_bool()) {
      return Unavailable("provider_unavailable", "the provider's read answer lacks data or eof");
    }
    ELASTOS_ASSIGN_OR_RETURN(Bytes chunk, Base64Decode(data->as_string()));
    out.insert(out.end(), chunk.begin(), chunk.end());
    if (out.size() > kMaxResourceChunk) {
      return ResourceExhausted("sealed_file_too_large", path + " is larger than a sealed file may be");
    }
    if (eof->as_bool() || chunk.empty()) return out;
  }
}

Result<json::object> NamespaceService::PerformSealed(std::string_view op, const std::string& path,
                                                     const json::object& members) {
  if (op == "read") {
    ELASTOS_ASSIGN_OR_RETURN(Bytes sealed, ReadWhole(path));
    Result<Bytes> plain = crypto::Open(sealing_.key, sealed, path);
    if (!plain.ok() && plain.status().reason() == "not_sealed") {
      return FailedPrecondition("not_sealed", "localhost://" + path +
                                                  " is stored unsealed in a sealed root (written "
                                                  "before sealing was turned on, or by hand)");
    }
    if (!plain.ok()) return plain.status();
    return ReadAnswer(*plain, members);
  }
  if (op == "write") {
    const json::value* content = members.if_contains("content");
    if (content == nullptr || !content->is_string()) {
      return InvalidArgument("bad_field", "write needs content (base64)");
    }
    ELASTOS_ASSIGN_OR_RETURN(Bytes data, Base64Decode(content->as_string()));
    const json::value* append = members.if_contains("append");
    if (append != nullptr && append->is_bool() && append->as_bool()) {
      Result<Bytes> old = ReadWhole(path);
      if (old.ok()) {
        ELASTOS_ASSIGN_OR_RETURN(Bytes plain, crypto::Open(sealing_.key, *old, path));
        plain.insert(plain.end(), data.begin(), data.end());
        data = std::move(plain);
      } else if (old.status().code() != Code::kNotFound) {
        return old.status();
      }
    }
    if (data.size() > kMaxSealedFile) {
      return ResourceExhausted("sealed_file_too_large",
                               "a file in a sealed root may hold at most " +
                                   std::to_string(kMaxSealedFile) + " bytes");
    }
    ELASTOS_ASSIGN_OR_RETURN(Bytes sealed, crypto::Seal(sealing_.key, data, path));
    ELASTOS_RETURN_IF_ERROR(Provider(json::object{{"type", "provider_request"},
                                                  {"op", "write"},
                                                  {"path", path},
                                                  {"content", Base64Encode(sealed)}})
                                .status());
    return json::object{{"type", "resource_response"}, {"op", "write"}, {"written", data.size()}};
  }
  json::object request = members;
  request["type"] = "provider_request";
  request["op"] = std::string(op);
  request["path"] = path;
  ELASTOS_ASSIGN_OR_RETURN(json::object r, Provider(std::move(request)));
  // Sizes as the caller knows the files: without the seal's overhead.
  auto plain_size = [](json::object& o) {
    json::value* size = o.if_contains("size");
    json::value* dir = o.if_contains("is_dir");
    if (size == nullptr || !size->is_number() || (dir != nullptr && dir->is_bool() && dir->as_bool())) return;
    const std::uint64_t n = size->is_uint64() ? size->as_uint64() : static_cast<std::uint64_t>(size->as_int64());
    *size = n >= crypto::kSealOverhead ? n - crypto::kSealOverhead : 0;
  };
  if (json::value* st = r.if_contains("stat"); st != nullptr && st->is_object()) plain_size(st->as_object());
  if (json::value* entries = r.if_contains("entries"); entries != nullptr && entries->is_array()) {
    for (json::value& e : entries->as_array()) {
      if (e.is_object()) plain_size(e.as_object());
    }
  }
  return r;
}

Result<json::object> NamespaceService::FetchContent(const runtime::Caller& caller,
                                                    std::string_view uri, std::string_view token,
                                                    std::uint64_t offset, std::uint64_t length) {
  std::string_view rest;
  for (std::string_view scheme : {"elastos://", "ipfs://"}) {
    if (uri.substr(0, scheme.size()) == scheme) rest = uri.substr(scheme.size());
  }
  if (rest.empty()) return InvalidArgument("bad_uri", "fetch_content takes elastos://<cid>[/path] or ipfs://<cid>[/path]");
  const std::size_t slash = rest.find('/');
  ELASTOS_ASSIGN_OR_RETURN(ipld::Cid cid, ipld::Cid::Parse(rest.substr(0, slash)));
  const std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  // One spelling for tokens: elastos://<cid as parsed>[/path], normalised like any resource.
  Result<std::string> canonical =
      runtime::NormalizeResource("elastos://" + cid.ToString() + (path.empty() ? "" : "/" + path));
  if (!canonical.ok()) return InvalidArgument("bad_uri", canonical.status().message());
  if (!caller.is_shell()) {
    if (token.empty()) {
      return Unauthenticated("missing_token", "fetching " + *canonical + " needs a read token for it");
    }
    ELASTOS_RETURN_IF_ERROR(
        rt_.Access(caller, token, Action::kRead, *canonical, runtime::Classification::kPublic));
  }
  if (content_ == nullptr) return Unavailable("not_available", "this runtime has no content store");
  // The normalised path (no empty or dot segments), after "elastos://<cid>/".
  const std::size_t prefix = std::string_view("elastos://").size() + cid.ToString().size();
  const std::string normal_path = canonical->size() > prefix ? canonical->substr(prefix + 1) : "";
  ELASTOS_ASSIGN_OR_RETURN(FileRange r, content_->ReadFile(cid, normal_path, offset,
                                                           std::min<std::uint64_t>(length, kMaxResourceChunk)));
  return json::object{{"type", "content"},
                      {"data", Base64Encode(r.data)},
                      {"eof", r.offset + r.data.size() >= r.total_size},
                      {"size", r.total_size}};
}

Result<json::object> NamespaceService::Perform(const runtime::Caller& caller, std::string_view op,
                                               std::string_view uri, std::string_view token,
                                               const json::object& members) {
  const OpInfo* info = FindOp(op);
  if (info == nullptr) {
    return InvalidArgument("bad_field", "op must be read, write, list, stat, delete, mkdir or "
                                        "exists, not '" + std::string(op) + "'");
  }
  for (const auto& kv : members) {
    bool known = false;
    for (std::string_view m : info->members) known = known || kv.key() == m;
    if (!known) {
      return InvalidArgument("bad_field", "'" + std::string(kv.key()) + "' does not apply to " +
                                              std::string(op));
    }
  }
  Result<std::string> canonical = runtime::NormalizeResource(uri);
  if (!canonical.ok()) return InvalidArgument("bad_uri", canonical.status().message());
  if (canonical->rfind("https://", 0) == 0) {
    // The default port is spelled out nowhere, so a token for https://host/* covers it.
    std::string uri_c = *canonical;
    if (const std::size_t end = uri_c.find('/', 8); end != std::string::npos &&
                                                   uri_c.compare(end - 4, 4, ":443") == 0) {
      uri_c.erase(end - 4, 4);
    }
    if (op != "read") {
      return InvalidArgument("bad_field", "https:// resources can only be read");
    }
    if (token.empty()) {
      return Unauthenticated("missing_token", "reading " + uri_c + " needs a read token for it");
    }
    ELASTOS_RETURN_IF_ERROR(
        rt_.Access(caller, token, Action::kRead, uri_c, runtime::Classification::kPublic));
    if (fetch_ == nullptr) return NotFound("no_provider", "this runtime does not fetch https:// resources");
    ELASTOS_ASSIGN_OR_RETURN(FetchedBody got, fetch_->Fetch(uri_c));
    return ReadAnswer(got.body, members);
  }
  if (canonical->rfind(kLocalhost, 0) != 0) {
    return NotFound("no_provider", "no provider serves " + *canonical +
                                       " (this runtime serves localhost:// resources)");
  }
  const std::string path = canonical->substr(kLocalhost.size());
  const std::string root = path.substr(0, path.find('/'));
  const runtime::Classification level =
      root == "Public" ? runtime::Classification::kPublic : runtime::Classification::kPrivate;
  if (token.empty()) {
    return Unauthenticated("missing_token", std::string(op) + " of " + *canonical +
                                                " needs a capability token with action " +
                                                std::string(ActionName(info->action)));
  }
  ELASTOS_RETURN_IF_ERROR(rt_.Access(caller, token, info->action, *canonical, level));
  if (path.find('/') != std::string::npos && sealing_.roots.count(root) != 0) {
    return PerformSealed(op, path, members);
  }
  json::object request = members;
  request["type"] = "provider_request";
  request["op"] = std::string(op);
  request["path"] = path;
  return Provider(std::move(request));
}

}  // namespace elastos::server
