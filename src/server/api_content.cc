#include "server/api_content.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/sha256.h"

namespace elastos::server {
namespace json = boost::json;
using http::Request;
using http::Response;
using ipld::Cid;
using runtime::Caller;

namespace {

constexpr std::string_view kRawType = "application/vnd.ipld.raw";
constexpr std::string_view kCarType = "application/vnd.ipld.car";
constexpr std::string_view kImmutable = "public, max-age=29030400, immutable";
// The identity CID of the empty block: the trustless gateway's probe path (spec appendix).
constexpr std::string_view kProbeCid = "bafkqaaa";

Response Fail(const Status& s) { return http::ErrorResponse(s); }
Response FailWithStatus(int http_status, const Status& s) {
  Response r = http::ErrorResponse(s);
  r.status = http_status;
  return r;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  for (char& ch : s) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

// A decimal integer, optionally negative; nullopt if anything else (or out of range).
std::optional<std::int64_t> ParseInt(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + (ch - '0');
  }
  return negative ? -v : v;
}

std::optional<std::uint64_t> ParseUint(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return v;
}

enum class Format { kPlain, kRaw, kCar };

// What the client asked for: the response format (from ?format=, else from Accept) and the CAR
// parameters.
struct Negotiation {
  Format format = Format::kPlain;
  bool from_accept = false;  // chosen by the Accept header, not ?format= (→ Content-Location)
  CarOptions car;
};

// CAR media-type parameters we can honour: version 1, order dfs (what we send) or unk (anything
// goes), dups y or n. Returns false for a variant we cannot produce.
bool ApplyCarParam(std::string_view key, std::string_view value, CarOptions& car) {
  if (key == "version") return value == "1";
  if (key == "order") return value == "dfs" || value == "unk";
  if (key == "dups") {
    if (value != "y" && value != "n") return false;
    car.dups = value == "y";
    return true;
  }
  return true;  // q and unknown parameters
}

// Content negotiation over Accept (RFC 9110 §12.5.1, simplified: no wildcards on our two types,
// highest q wins, ties go to the earlier range). Anything that is not an IPLD/IPFS type
// (`*/*`, `text/html`, `application/octet-stream`, …) counts as asking for the plain bytes.
Result<Negotiation> NegotiateAccept(std::string_view accept) {
  struct Candidate {
    Format format;
    double q;
    CarOptions car;
  };
  std::optional<Candidate> best;
  bool unsupported_ipld = false;
  for (std::string_view range : Split(accept, ',')) {
    std::vector<std::string_view> parts = Split(range, ';');
    const std::string type = Lower(Trim(parts[0]));
    if (type.empty()) continue;
    double q = 1.0;
    CarOptions car;
    bool ok = true;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      const std::size_t eq = parts[i].find('=');
      if (eq == std::string_view::npos) continue;
      const std::string key = Lower(Trim(parts[i].substr(0, eq)));
      std::string value = Trim(parts[i].substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      if (key == "q") {
        q = std::strtod(value.c_str(), nullptr);
      } else if (type == kCarType) {
        ok = ok && ApplyCarParam(key, value, car);
      }
    }
    if (q <= 0) continue;
    Format f;
    if (type == kRawType) {
      f = Format::kRaw;
    } else if (type == kCarType) {
      if (!ok) {
        unsupported_ipld = true;
        continue;
      }
      f = Format::kCar;
    } else if (type.starts_with("application/vnd.ipld.") || type.starts_with("application/vnd.ipfs.")) {
      unsupported_ipld = true;  // dag-json, dag-cbor, ipns-record, …: not served here
      continue;
    } else {
      f = Format::kPlain;
    }
    if (!best || q > best->q) best = Candidate{f, q, car};
  }
  Negotiation n;
  if (!best) {
    if (unsupported_ipld) {
      return FailedPrecondition("not_acceptable",
                                "this gateway serves application/vnd.ipld.raw, "
                                "application/vnd.ipld.car (version=1; order=dfs|unk; dups=y|n) and "
                                "plain file bytes; the Accept header allows none of them");
    }
    return n;
  }
  n.format = best->format;
  n.from_accept = best->format != Format::kPlain;
  n.car = best->car;
  return n;
}

Result<EntityBytes> ParseEntityBytes(std::string_view text) {
  const std::size_t colon = text.find(':');
  const Status bad = InvalidArgument("bad_field", "entity-bytes must be FROM:TO with integers (TO may "
                                                  "be '*'), e.g. 0:1023 or -1024:*");
  if (colon == std::string_view::npos) return bad;
  std::optional<std::int64_t> from = ParseInt(text.substr(0, colon));
  if (!from) return bad;
  EntityBytes e;
  e.from = *from;
  const std::string_view to = text.substr(colon + 1);
  if (to != "*") {
    std::optional<std::int64_t> t = ParseInt(to);
    if (!t) return bad;
    e.to = *t;
  }
  return e;
}

Result<Negotiation> Negotiate(const Request& q) {
  Negotiation n;
  if (std::optional<std::string> format = q.Query("format")) {
    if (*format == "raw") {
      n.format = Format::kRaw;
    } else if (*format == "car") {
      n.format = Format::kCar;
      // CAR parameters from Accept still count (the query ones below take precedence).
      if (std::optional<std::string_view> accept = q.Header("Accept")) {
        Result<Negotiation> a = NegotiateAccept(*accept);
        if (a.ok() && a->format == Format::kCar) n.car = a->car;
      }
    } else {
      return InvalidArgument("unsupported_format",
                             "format must be raw or car ('" + *format + "' is not served here)");
    }
  } else if (std::optional<std::string_view> accept = q.Header("Accept")) {
    ELASTOS_ASSIGN_OR_RETURN(n, NegotiateAccept(*accept));
  }
  if (n.format != Format::kCar) return n;
  if (std::optional<std::string> v = q.Query("car-version"); v && *v != "1") {
    return InvalidArgument("bad_field", "car-version must be 1 (CAR v1 is the only version served)");
  }
  if (std::optional<std::string> o = q.Query("car-order"); o && *o != "dfs" && *o != "unk") {
    return InvalidArgument("bad_field", "car-order must be dfs or unk");
  }
  if (std::optional<std::string> d = q.Query("car-dups")) {
    if (*d != "y" && *d != "n") return InvalidArgument("bad_field", "car-dups must be y or n");
    n.car.dups = *d == "y";
  }
  if (std::optional<std::string> scope = q.Query("dag-scope")) {
    if (*scope == "all") {
      n.car.scope = DagScope::kAll;
    } else if (*scope == "entity") {
      n.car.scope = DagScope::kEntity;
    } else if (*scope == "block") {
      n.car.scope = DagScope::kBlock;
    } else {
      return InvalidArgument("bad_field", "dag-scope must be all, entity or block");
    }
  }
  if (std::optional<std::string> eb = q.Query("entity-bytes")) {
    ELASTOS_ASSIGN_OR_RETURN(EntityBytes e, ParseEntityBytes(*eb));
    n.car.entity_bytes = e;
  }
  return n;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// If-None-Match (weak comparison, as RFC 9110 §13.1.2 requires for it).
bool NotModified(const Request& q, std::string_view etag) {
  std::optional<std::string_view> h = q.Header("If-None-Match");
  if (!h) return false;
  for (std::string_view tag : Split(*h, ',')) {
    std::string t = Trim(tag);
    if (t.starts_with("W/")) t = t.substr(2);
    if (t == etag) return true;
  }
  return false;
}

bool OnlyIfCached(const Request& q) {
  std::optional<std::string_view> h = q.Header("Cache-Control");
  return h && Lower(std::string(*h)).find("only-if-cached") != std::string::npos;
}

std::string RootsHeader(const std::vector<Cid>& cids) {
  std::string out;
  for (const Cid& c : cids) {
    if (!out.empty()) out += ",";
    out += c.ToString();
  }
  return out;
}

std::string CarContentType(const CarOptions& car) {
  return std::string(kCarType) + "; version=1; order=dfs; dups=" + (car.dups ? "y" : "n");
}

// `bytes=FIRST-[LAST]` or `bytes=-SUFFIX`; one range only. nullopt: no usable Range header
// (absent, another unit, several ranges, or malformed — all of which RFC 9110 lets us ignore
// by sending the whole file).
struct RangeRequest {
  std::optional<std::uint64_t> first;  // absent: a suffix range
  std::optional<std::uint64_t> last;
  std::uint64_t suffix = 0;
};
std::optional<RangeRequest> ParseRange(const Request& q) {
  std::optional<std::string_view> h = q.Header("Range");
  if (!h) return std::nullopt;
  std::string v = Trim(*h);
  if (!v.starts_with("bytes=")) return std::nullopt;
  v = Trim(std::string_view(v).substr(6));
  if (v.find(',') != std::string::npos) return std::nullopt;
  const std::size_t dash = v.find('-');
  if (dash == std::string::npos) return std::nullopt;
  RangeRequest r;
  const std::string_view a = std::string_view(v).substr(0, dash);
  const std::string_view b = std::string_view(v).substr(dash + 1);
  if (a.empty()) {
    std::optional<std::uint64_t> n = ParseUint(b);
    if (!n) return std::nullopt;
    r.suffix = *n;
    return r;
  }
  r.first = ParseUint(a);
  if (!r.first) return std::nullopt;
  if (!b.empty()) {
    r.last = ParseUint(b);
    if (!r.last || *r.last < *r.first) return std::nullopt;
  }
  return r;
}

class ContentApi {
 public:
  ContentApi(ApiContext& ctx, ContentService& content) : rt_(*ctx.runtime), content_(content) {}

  static void Register(const std::shared_ptr<ContentApi>& self, http::Router& r) {
    auto authed = [self](Response (ContentApi::*m)(const Caller&, Request&)) {
      return [self, m](Request& q) {
        Result<Caller> caller = self->Authenticate(q);
        if (!caller.ok()) return Fail(caller.status());
        return ((*self).*m)(*caller, q);
      };
    };
    for (const char* verb : {"GET", "HEAD"}) {
      r.Add(verb, "/ipfs/{cid}", authed(&ContentApi::Gateway));
      r.Add(verb, "/ipfs/{cid}/{*path}", authed(&ContentApi::Gateway));
    }
    const ContentLimits& limits = self->content_.limits();
    r.Add("PUT", "/api/content", authed(&ContentApi::PutFile), {limits.max_put_bytes});
    r.Add("POST", "/api/content", authed(&ContentApi::PostCar), {limits.max_car_bytes});
  }

 private:
  Result<Caller> Authenticate(const Request& q) { return AuthenticateRequest(rt_, q); }

  static Status Operator(const Caller& c, std::string_view what) {
    if (c.is_shell_or_operator()) return OkStatus();
    return PermissionDenied("operator_only", std::string(what) + " is for the shell and the operator");
  }

  // ---- the gateway

  // Headers every successful (or 304) gateway answer carries.
  static void Immutable(Response& r, const Request& q, const std::string& etag, const Negotiation& n,
                        const std::vector<Cid>& roots) {
    r.headers.emplace_back("Etag", etag);
    r.headers.emplace_back("Cache-Control", std::string(kImmutable));
    r.headers.emplace_back("X-Ipfs-Path", q.path);
    r.headers.emplace_back("Vary", "Accept");
    if (!roots.empty()) r.headers.emplace_back("X-Ipfs-Roots", RootsHeader(roots));
    if (n.from_accept) {
      r.headers.emplace_back("Content-Location", q.path + "?" + (q.query.empty() ? "" : q.query + "&") +
                                                     (n.format == Format::kRaw ? "format=raw" : "format=car"));
    }
  }

  static Response NotModifiedResponse(const Request& q, const std::string& etag, const Negotiation& n) {
    Response r = Response::Text(304, "", "application/octet-stream");
    Immutable(r, q, etag, n, {});
    return r;
  }

  Response Gateway(const Caller&, Request& q) {
    Result<Negotiation> n = Negotiate(q);
    if (!n.ok()) {
      return n.status().reason() == "not_acceptable" ? FailWithStatus(406, n.status()) : Fail(n.status());
    }
    const std::string cid_text(q.Param("cid"));
    const std::string path(q.Param("path"));
    if (cid_text == kProbeCid) return Probe(q, *n, path);
    Result<Cid> cid = Cid::Parse(cid_text);
    if (!cid.ok()) {
      return Fail(InvalidArgument("bad_cid", "'" + cid_text + "' is not a CID this gateway serves: " +
                                                 cid.status().message()));
    }
    if (OnlyIfCached(q) && !content_.Has(*cid)) {
      return FailWithStatus(412, FailedPrecondition("not_cached", cid->ToString() + " is not in the "
                                                                                    "content store"));
    }
    switch (n->format) {
      case Format::kRaw: return Raw(q, *n, *cid, path);
      case Format::kCar: return Car(q, *n, *cid, path);
      case Format::kPlain: break;
    }
    return Plain(q, *n, *cid, path);
  }

  // GET /ipfs/bafkqaaa: the identity CID of the empty block, which every trustless gateway
  // answers without a store lookup so that clients can probe for one.
  static Response Probe(const Request& q, const Negotiation& n, const std::string& path) {
    if (!path.empty() && path != "/") {
      return Fail(NotFound("path_not_found", std::string(kProbeCid) + " is an empty raw block: it has no '" +
                                                 path + "'"));
    }
    Response r;
    std::string etag;
    if (n.format == Format::kCar) {
      // Header {"roots":[bafkqaaa],"version":1} and no blocks: an identity block is never sent.
      static constexpr std::uint8_t kHeader[] = {
          0x19, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x45, 0x00, 0x01, 0x55,
          0x00, 0x00, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01};
      r = Response::Text(200, std::string(reinterpret_cast<const char*>(kHeader), sizeof kHeader),
                         CarContentType(n.car));
      etag = Quoted(std::string(kProbeCid) + ".car");
      r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + std::string(kProbeCid) + ".car\"");
    } else if (n.format == Format::kRaw) {
      r = Response::Text(200, "", std::string(kRawType));
      etag = Quoted(std::string(kProbeCid) + ".raw");
      r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + std::string(kProbeCid) + ".bin\"");
    } else {
      r = Response::Text(200, "", "application/octet-stream");
      etag = Quoted(kProbeCid);
    }
    Immutable(r, q, etag, n, {});
    return r;
  }

  Response Raw(const Request& q, const Negotiation& n, const Cid& root, const std::string& path) {
    Cid target = root;
    std::vector<Cid> roots;
    if (!path.empty()) {
      Result<ResolvedPath> res = content_.Resolve(root, path);
      if (!res.ok()) return Fail(res.status());
      target = res->target;
      roots = res->path_cids;
    }
    const std::string etag = Quoted(target.ToString() + ".raw");
    if (NotModified(q, etag)) return NotModifiedResponse(q, etag, n);
    Result<Bytes> block = content_.GetBlock(target);
    if (!block.ok()) return Fail(block.status());
    Response r = Response::Text(200, std::string(AsChars(*block)), std::string(kRawType));
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + target.ToString() + ".bin\"");
    Immutable(r, q, etag, n, roots);
    return r;
  }

  Response Car(const Request& q, const Negotiation& n, const Cid& root, const std::string& path) {
    // The CAR depends on the root, the path and the CAR options: all go into the Etag.
    std::string variant = path + '\0' + std::to_string(static_cast<int>(n.car.scope)) + '\0' +
                          (n.car.dups ? "y" : "n");
    if (n.car.entity_bytes) {
      variant += '\0' + std::to_string(n.car.entity_bytes->from) + ":" +
                 (n.car.entity_bytes->to ? std::to_string(*n.car.entity_bytes->to) : "*");
    }
    const crypto::Digest256 h = crypto::Sha256::Hash(AsBytes(variant));
    const std::string etag =
        Quoted(root.ToString() + ".car." + HexEncode(ByteView(h.data(), 8)));
    if (NotModified(q, etag)) return NotModifiedResponse(q, etag, n);
    Result<CarExport> car = content_.ExportCar(root, path, n.car);
    if (!car.ok()) return Fail(car.status());
    Response r = Response::Text(200, std::string(AsChars(car->car)), CarContentType(n.car));
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + root.ToString() + ".car\"");
    Immutable(r, q, etag, n, car->resolved.path_cids);
    return r;
  }

  Response Plain(const Request& q, const Negotiation& n, const Cid& root, const std::string& path) {
    Result<ResolvedPath> res = content_.Resolve(root, path);
    if (!res.ok()) return Fail(res.status());
    if (res->kind == EntryKind::kDirectory) return Listing(q, n, *res, path);
    if (res->kind != EntryKind::kFile) {
      return Fail(InvalidArgument("not_unixfs", res->target.ToString() +
                                                    " is not a UnixFS file or plain directory; "
                                                    "ask for format=raw or format=car"));
    }
    const std::string etag = Quoted(res->target.ToString());
    if (NotModified(q, etag)) return NotModifiedResponse(q, etag, n);
    const std::uint64_t size = res->size;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;
    bool partial = false;
    if (std::optional<RangeRequest> range = ParseRange(q)) {
      std::uint64_t first = 0;
      std::uint64_t last = 0;
      bool satisfiable = size > 0;
      if (range->first) {
        first = *range->first;
        last = std::min(range->last.value_or(size - 1), size - 1);
        satisfiable = satisfiable && first < size;
      } else {
        satisfiable = satisfiable && range->suffix > 0;
        first = range->suffix >= size ? 0 : size - range->suffix;
        last = size - 1;
      }
      if (!satisfiable) {
        Response r = FailWithStatus(416, InvalidArgument("range_not_satisfiable",
                                                         "the file has " + std::to_string(size) +
                                                             " bytes; the Range asks for none of them"));
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        return r;
      }
      // A range larger than one response may carry is shortened; Content-Range says so.
      last = std::min<std::uint64_t>(last, first + content_.limits().max_read_bytes - 1);
      offset = first;
      length = last - first + 1;
      partial = true;
    }
    Result<FileRange> data = content_.ReadFile(res->target, "", offset, length);
    if (!data.ok()) {
      if (data.status().reason() == "file_too_large") {
        return Fail(ResourceExhausted("file_too_large", data.status().message() +
                                                            " (send a Range header, or ask for format=car)"));
      }
      return Fail(data.status());
    }
    Response r = Response::Text(partial ? 206 : 200, std::string(AsChars(data->data)),
                                "application/octet-stream");
    r.headers.emplace_back("Accept-Ranges", "bytes");
    if (partial) {
      r.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                                  std::to_string(offset + data->data.size() - 1) + "/" +
                                                  std::to_string(size));
    }
    Immutable(r, q, etag, n, res->path_cids);
    return r;
  }

  Response Listing(const Request& q, const Negotiation& n, const ResolvedPath& res, const std::string& path) {
    const std::string etag = Quoted(res.target.ToString() + ".dir");
    if (NotModified(q, etag)) return NotModifiedResponse(q, etag, n);
    Result<std::vector<DirectoryEntry>> entries = content_.ListDirectory(res.target, "");
    if (!entries.ok()) return Fail(entries.status().WithContext(path.empty() ? res.target.ToString() : path));
    json::array list;
    for (const DirectoryEntry& e : *entries) {
      list.push_back(json::object{{"name", e.name},
                                  {"cid", e.cid.ToString()},
                                  {"type", std::string(EntryKindName(e.kind))},
                                  {"size", e.size}});
    }
    json::object o;
    o["cid"] = res.target.ToString();
    o["type"] = "directory";
    o["entries"] = std::move(list);
    Response r = Response::Json(200, json::serialize(o));
    Immutable(r, q, etag, n, res.path_cids);
    return r;
  }

  // ---- uploads

  // A durable `content_put` record; a refusal is recorded too. If the record cannot be written
  // the request fails (the runtime fails closed; blocks already stored stay, being harmless
  // content-addressed data that no one was told about).
  Status Audit(const Caller& c, std::string_view format, const Status& outcome, const std::string& subject,
               json::object details) {
    audit::AuditRecord r;
    r.type = "content_put";
    r.actor = c.holder();
    r.actor_kind = c.actor_kind();
    r.action = "write";
    r.subject = subject;
    if (!subject.empty()) r.resource = "/ipfs/" + subject;
    details["format"] = std::string(format);
    if (!outcome.ok()) {
      r.outcome = outcome.code() == Code::kPermissionDenied ? "denied" : "error";
      r.reason = outcome.reason();
      details["message"] = outcome.message();
    }
    r.details = std::move(details);
    return rt_.Audit(std::move(r), true);
  }

  Response Refuse(const Caller& c, std::string_view format, const Status& s) {
    if (Status a = Audit(c, format, s, "", {}); !a.ok()) return Fail(a);
    return Fail(s);
  }

  Response PutFile(const Caller& c, Request& q) {
    if (Status s = Operator(c, "adding content"); !s.ok()) return Refuse(c, "file", s);
    const std::string profile_name = q.Query("profile").value_or("unixfs-v1-2025");
    Result<ipld::UnixFsProfile> profile = ipld::UnixFsProfile::ByName(profile_name);
    if (!profile.ok()) {
      return Refuse(c, "file", InvalidArgument("bad_field", "profile must be unixfs-v1-2025 or "
                                                            "unixfs-v0-2015"));
    }
    Result<PutResult> put = content_.Put(AsBytes(q.body), *profile);
    if (!put.ok()) return Refuse(c, "file", put.status());
    const std::string cid = put->cid.ToString();
    json::object details{{"size", put->size}, {"dag_size", put->dag_size}, {"profile", profile_name}};
    if (Status a = Audit(c, "file", OkStatus(), cid, std::move(details)); !a.ok()) return Fail(a);
    Response r = Response::Json(201, json::serialize(json::object{{"cid", cid}, {"size", put->size}}));
    r.headers.emplace_back("Location", "/ipfs/" + cid);
    return r;
  }

  Response PostCar(const Caller& c, Request& q) {
    if (Status s = Operator(c, "adding content"); !s.ok()) return Refuse(c, "car", s);
    const std::optional<std::string> format = q.Query("format");
    const std::string type = Lower(std::string(q.Header("Content-Type").value_or("")));
    if (format ? *format != "car" : !type.starts_with(kCarType)) {
      return Refuse(c, "car", InvalidArgument("unsupported_format",
                                              "POST /api/content takes a CAR v1: add ?format=car "
                                              "(a file's bytes go to PUT /api/content)"));
    }
    Result<CarImportResult> put = content_.PutCar(AsBytes(q.body));
    if (!put.ok()) return Refuse(c, "car", put.status());
    json::array roots;
    std::string subject;
    for (const Cid& root : put->roots) {
      roots.push_back(json::string(root.ToString()));
      if (subject.empty()) subject = root.ToString();
    }
    json::object details{{"blocks", put->blocks}, {"bytes", put->block_bytes}, {"roots", RootsHeader(put->roots)}};
    if (Status a = Audit(c, "car", OkStatus(), subject, std::move(details)); !a.ok()) return Fail(a);
    return Response::Json(201, json::serialize(json::object{{"roots", std::move(roots)},
                                                            {"blocks", put->blocks}}));
  }

  runtime::Runtime& rt_;
  ContentService& content_;
};

}  // namespace

void AddContentRoutes(http::Router& router, ApiContext& ctx, ContentService& content) {
  auto api = std::make_shared<ContentApi>(ctx, content);
  ContentApi::Register(api, router);
}

}  // namespace elastos::server
