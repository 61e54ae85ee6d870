#include "common/manifest.h"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <initializer_list>
#include <set>
#include <utility>

#include "common/encoding.h"

namespace elastos {
namespace {

namespace json = boost::json;

// ---- Bounds -------------------------------------------------------------------------------------
//
// Every numeric bound is below 2^53, so the value survives JSON readers that hold numbers as
// doubles (browser dashboards, npm tooling) exactly, and far above any real request, so it only
// catches typos and unit mistakes (a byte count written into a `_mb` field). The bounds also make
// the runtime's unit conversions overflow-free: MiB → bytes (× 2^20) and ms → ns (× 10^6) fit in
// 64 bits.
constexpr std::uint64_t kMaxMegabytes = std::uint64_t{1} << 20;  // 1 TiB
constexpr std::uint64_t kMaxMilliseconds = 31'536'000'000;       // 365 days
constexpr std::uint64_t kMaxFuel = 1'000'000'000'000'000;        // 10^15 metered instructions
constexpr std::uint64_t kMaxCpuShares = 262'144;                 // the cgroup cpu.shares maximum
constexpr std::uint64_t kMaxVcpus = 64;
constexpr std::uint64_t kMaxRootfsBytes = std::uint64_t{1} << 40;  // 1 TiB

// String and list bounds. A manifest's strings end up in consent prompts, tokens (resources) and
// audit records; the list bounds limit how much work one manifest can make the shell do.
constexpr std::size_t kMaxPathLength = 1024;  // well below PATH_MAX once joined to the data dir
constexpr std::size_t kMaxUriLength = 1024;   // copied into every token and audit record for it
constexpr std::size_t kMaxDescriptionLength = 4096;
constexpr std::size_t kMaxShortTextLength = 256;
constexpr std::size_t kMaxBootArgsLength = 1024;  // x86 Linux allows 2048, shared with our own
constexpr std::size_t kMaxListEntries = 256;
constexpr std::size_t kMaxSignatureLength = 4096;
constexpr std::size_t kMaxParseDepth = 16;  // the deepest valid manifest nests 4 levels

constexpr std::array<std::string_view, 6> kActionNames = {"read",    "write",  "execute",
                                                          "message", "delete", "admin"};

// ---- UTF-8 and display safety -------------------------------------------------------------------

// Decodes one code point at s[i]; returns its length, or 0 when the bytes there are not valid
// UTF-8 (overlong forms, surrogates and values above U+10FFFF included).
std::size_t DecodeUtf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len;
  std::uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

std::optional<std::size_t> FirstInvalidUtf8(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) return i;
    i += len;
  }
  return std::nullopt;
}

std::string CodePointName(std::uint32_t cp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "U+";
  for (int shift = cp > 0xFFFF ? 20 : 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
  return out;
}

// ---- Error messages -----------------------------------------------------------------------------

Status Invalid(std::string message) {
  return InvalidArgument("manifest_invalid", std::move(message));
}

Status FieldError(std::string_view path, std::string_view problem) {
  std::string message = "field '";
  message += path;
  message += "': ";
  message += problem;
  return Invalid(std::move(message));
}

// A user-supplied string made safe for an error message, which may be printed to a terminal:
// invalid bytes, control characters and bidirectional controls escaped, long values shortened.
std::string Escaped(std::string_view s) {
  constexpr std::size_t kMax = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t i = 0;
  while (i < s.size() && i < kMax) {
    std::uint32_t cp = 0;
    const std::size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) {
      const auto c = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
               (cp >= 0x2066 && cp <= 0x2069)) {
      out += cp < 0x100 ? "\\x" : "\\u";
      for (int shift = cp < 0x100 ? 4 : 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
      i += len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  if (i < s.size()) out += "…";
  return out;
}

std::string Quote(std::string_view s) { return "'" + Escaped(s) + "'"; }

std::string Describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "the number " + json::serialize(v);
    case json::kind::string:
      return "the string " + Quote(v.get_string());
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "an object";
  }
  return "an unknown value";
}

std::string Join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Manifest text is shown to people: in the shell's consent prompt, `capsule inspect`, logs. A
// terminal control sequence (C0/C1 controls, ESC) or a bidirectional override could make that
// text display differently from what it says, disguising what a capsule asks for; refuse both.
std::optional<std::string> TextProblem(std::string_view s, bool multiline) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) return "is not valid UTF-8";
    i += len;
    if (multiline && (cp == '\n' || cp == '\t')) continue;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      return "contains the control character " + CodePointName(cp) +
             " (control characters could disguise the text on a terminal)";
    }
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
      return "contains the bidirectional control " + CodePointName(cp) +
             " (it could make the text display differently from what it says)";
    }
  }
  return std::nullopt;
}

// Why `path` is not a safe relative path, or nullopt when it is.
std::optional<std::string> PathProblem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.size() > kMaxPathLength) {
    return "is " + std::to_string(path.size()) + " bytes long (at most " +
           std::to_string(kMaxPathLength) + ")";
  }
  if (path.front() == '/') return "is absolute (write it relative to the capsule directory)";
  if (path.find('\\') != std::string_view::npos) return "contains '\\' (use '/' between segments)";
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "contains a control character";
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty()) return "has an empty segment ('//' or a trailing '/')";
    if (segment == "..") return "contains a '..' segment (it must stay inside the capsule)";
    if (segment == ".") return "contains a '.' segment (write the path without it)";
    if (end == path.size()) break;
    start = end + 1;
  }
  return std::nullopt;
}

// A structurally valid CIDv0 (`Qm…`) or base32 CIDv1 (`b…`). Whether the content exists is for
// the resolver; this only stops garbage from being carried around as if it were an identity.
bool LooksLikeCid(std::string_view s) {
  if (s.size() == 46 && s.starts_with("Qm")) {
    auto bytes = Base58BtcDecode(s);
    return bytes.ok() && bytes->size() == 34 && (*bytes)[0] == 0x12 && (*bytes)[1] == 0x20;
  }
  if (s.size() < 10 || s.size() > 256 || s.front() != 'b') return false;
  auto bytes = Base32Decode(s.substr(1));
  if (!bytes.ok()) return false;
  ByteView in(*bytes);
  auto version = ReadVarint(in);
  auto codec = version.ok() ? ReadVarint(in) : Result<std::uint64_t>(version.status());
  auto hash = codec.ok() ? ReadVarint(in) : Result<std::uint64_t>(codec.status());
  auto length = hash.ok() ? ReadVarint(in) : Result<std::uint64_t>(hash.status());
  return length.ok() && *version == 1 && *length > 0 && *length <= 64 && in.size() == *length;
}

// ---- Duplicate keys -----------------------------------------------------------------------------

// A basic_parser handler that only looks for an object key that appears twice. Boost.JSON keeps
// the last occurrence, another reader may keep the first: two readers of one signed manifest
// would then see two different manifests (a classic confusion attack). Keys are compared after
// unescaping, so `"a"` and `"\u0061"` are the same key.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  const std::optional<std::string>& duplicate_path() const { return duplicate_path_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    BeginValue();
    frames_.push_back(Frame{false, {}, {}, 0});
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_object_begin(json::error_code&) {
    BeginValue();
    frames_.push_back(Frame{true, {}, {}, 0});
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return BeginValue(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& top = frames_.back();
    if (!top.keys.insert(key_).second) {
      std::string path;
      for (std::size_t i = 0; i + 1 < frames_.size(); ++i) AppendStep(path, frames_[i]);
      if (!path.empty()) path += '.';
      path += key_;
      duplicate_path_ = std::move(path);
      ec = json::error::syntax;
      return false;
    }
    top.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return BeginValue(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return BeginValue(); }
  bool on_double(double, json::string_view, json::error_code&) { return BeginValue(); }
  bool on_bool(bool, json::error_code&) { return BeginValue(); }
  bool on_null(json::error_code&) { return BeginValue(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string, std::less<>> keys;
    std::string key;       // objects: the key of the value being read
    std::size_t next = 0;  // arrays: one past the index of the value being read
  };

  bool BeginValue() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().next;
    return true;
  }
  static void AppendStep(std::string& path, const Frame& frame) {
    if (frame.is_object) {
      if (!path.empty()) path += '.';
      path += frame.key;
    } else {
      path += '[' + std::to_string(frame.next - 1) + ']';
    }
  }

  std::vector<Frame> frames_;
  std::string key_;
  std::optional<std::string> duplicate_path_;
};

Result<json::value> ParseJsonText(std::string_view text) {
  if (text.size() > kMaxManifestSize) {
    return Invalid("manifest is " + std::to_string(text.size()) + " bytes; the limit is " +
                   std::to_string(kMaxManifestSize) + " (1 MiB)");
  }
  if (auto bad = FirstInvalidUtf8(text)) {
    return Invalid("manifest is not valid UTF-8 (bad byte at offset " + std::to_string(*bad) +
                   "); save it as UTF-8");
  }
  if (text.starts_with("\xEF\xBB\xBF")) {
    return Invalid("manifest starts with a byte-order mark; save it as UTF-8 without a BOM");
  }
  json::parse_options options;
  options.max_depth = kMaxParseDepth;
  {
    json::basic_parser<DuplicateKeyFinder> checker(options);
    json::error_code ec;
    const std::size_t used = checker.write_some(false, text.data(), text.size(), ec);
    if (const auto& path = checker.handler().duplicate_path()) {
      return FieldError(*path,
                        "appears more than once in the JSON text; each key may appear only once "
                        "(duplicates let two readers see two different manifests)");
    }
    if (ec) {
      return Invalid("manifest is not valid JSON: " + ec.message() + " (near byte " +
                     std::to_string(used) + ")");
    }
  }
  json::error_code ec;
  json::value value = json::parse(text, ec, {}, options);
  if (ec) return Invalid("manifest is not valid JSON: " + ec.message());
  if (!value.is_object()) {
    return Invalid("manifest must be a JSON object ({…}), not " + Describe(value));
  }
  return value;
}

// ---- Reading fields -----------------------------------------------------------------------------

// Where a field was found: `value` is null when the field is absent or JSON null (an optional
// field set to null is the same as leaving it out, as the reference's serializer writes it).
struct Field {
  const json::value* value = nullptr;
  std::string path;  // spelled as the author wrote it (canonical name or alias)
};

class ObjectReader {
 public:
  ObjectReader(const json::object& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  std::string PathOf(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  // Refuses any key that is neither a canonical name nor an alias, suggesting the closest name.
  Status CheckKnown(std::initializer_list<std::string_view> canonical,
                    std::initializer_list<std::string_view> aliases = {}) const {
    for (const auto& kv : object_) {
      const std::string_view key = kv.key();
      const auto known = [&](auto list) {
        return std::find(list.begin(), list.end(), key) != list.end();
      };
      if (known(canonical) || known(aliases)) continue;
      std::string_view best;
      std::size_t best_distance = 3;  // suggest only names within two edits
      for (auto name : canonical) {
        const std::size_t d = EditDistance(key, name);
        if (d < best_distance) best = name, best_distance = d;
      }
      std::string problem = "unknown field";
      if (!best.empty()) {
        problem += " (did you mean '" + std::string(best) + "'?)";
      } else {
        problem += " (allowed here: " + Join(canonical) + ")";
      }
      return FieldError(PathOf(Escaped(key)), problem);
    }
    return OkStatus();
  }

  // The field named `canonical`, or else its `alias`. Giving both is an error: which one wins
  // would be a guess, and a reader that guesses differently would see another manifest.
  Result<Field> Find(std::string_view canonical, std::string_view alias = {}) const {
    const json::value* a = Get(canonical);
    const json::value* b = alias.empty() ? nullptr : Get(alias);
    if (a && b) {
      return FieldError(PathOf(canonical), "is given twice, as '" + std::string(canonical) +
                                               "' and as its alias '" + std::string(alias) +
                                               "'; keep only '" + std::string(canonical) + "'");
    }
    if (b) return Field{b, PathOf(alias)};
    return Field{a, PathOf(canonical)};
  }

 private:
  const json::value* Get(std::string_view key) const {
    const json::value* v = object_.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
  }

  const json::object& object_;
  std::string prefix_;
};

Status TypeError(const Field& f, std::string_view expected) {
  return FieldError(f.path, "must be " + std::string(expected) + ", not " + Describe(*f.value));
}

struct TextRule {
  std::size_t max_length;
  bool multiline = false;
};

Status CheckText(std::string_view path, std::string_view s, TextRule rule) {
  if (s.size() > rule.max_length) {
    return FieldError(path, "is " + std::to_string(s.size()) + " bytes long (at most " +
                                std::to_string(rule.max_length) + ")");
  }
  if (auto problem = TextProblem(s, rule.multiline)) return FieldError(path, *problem);
  return OkStatus();
}

// Absent (or null) leaves `out` empty.
Status ReadString(const Field& f, TextRule rule, std::optional<std::string>& out) {
  if (!f.value) return OkStatus();
  if (!f.value->is_string()) return TypeError(f, "a string");
  const std::string_view s = f.value->get_string();
  ELASTOS_RETURN_IF_ERROR(CheckText(f.path, s, rule));
  out = std::string(s);
  return OkStatus();
}

Status ReadBool(const Field& f, std::optional<bool>& out) {
  if (!f.value) return OkStatus();
  if (!f.value->is_bool()) return TypeError(f, "true or false");
  out = f.value->get_bool();
  return OkStatus();
}

Status ReadPositive(const Field& f, std::uint64_t max, std::optional<std::uint64_t>& out) {
  if (!f.value) return OkStatus();
  const json::value& v = *f.value;
  std::uint64_t n = 0;
  if (v.is_uint64()) {
    n = v.get_uint64();
  } else if (v.is_int64() && v.get_int64() > 0) {
    n = static_cast<std::uint64_t>(v.get_int64());
  } else if (v.is_int64() || v.is_double()) {
    return FieldError(f.path, "must be a positive whole number, not " + json::serialize(v));
  } else {
    return TypeError(f, "a positive whole number");
  }
  if (n == 0) return FieldError(f.path, "must be a positive whole number, not 0");
  if (n > max) {
    return FieldError(f.path,
                      std::to_string(n) + " is too large (at most " + std::to_string(max) + ")");
  }
  out = n;
  return OkStatus();
}

Result<const json::array*> ReadList(const Field& f, std::string_view expected) {
  if (!f.value->is_array()) return TypeError(f, expected);
  const json::array& list = f.value->get_array();
  if (list.size() > kMaxListEntries) {
    return FieldError(f.path, "has " + std::to_string(list.size()) + " entries (at most " +
                                  std::to_string(kMaxListEntries) + ")");
  }
  return &list;
}

std::string Index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// ---- Resources ----------------------------------------------------------------------------------

enum class SchemeSet { kRequestable, kProvidable };

// A resource URI or prefix pattern: `localhost://…`, `elastos://…` (or `https://…` for requests),
// exact or ending in `/*`, no `..` segment (a pattern must never reach outside what it names).
Status CheckResourceUri(std::string_view path, std::string_view uri, SchemeSet schemes) {
  ELASTOS_RETURN_IF_ERROR(CheckText(path, uri, {kMaxUriLength}));
  const bool providable = schemes == SchemeSet::kProvidable;
  const std::string_view expected =
      providable ? "localhost://… or elastos://…" : "localhost://…, elastos://… or https://…";
  const std::size_t sep = uri.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? "" : uri.substr(0, sep);
  if (scheme != "localhost" && scheme != "elastos" && (providable || scheme != "https")) {
    return FieldError(
        path, Quote(uri) + " is not a resource URI (expected " + std::string(expected) + ")");
  }
  const std::string_view rest = uri.substr(sep + 3);
  if (rest.empty())
    return FieldError(path, Quote(uri) + " names nothing after '" + std::string(scheme) + "://'");
  if (scheme == "https" && (rest.front() == '/' || rest.front() == '*')) {
    return FieldError(path, Quote(uri) + " has no host name");
  }
  if (uri.find('\\') != std::string_view::npos)
    return FieldError(path, Quote(uri) + " contains '\\'");
  const std::size_t star = uri.find('*');
  if (star != std::string_view::npos && (star + 1 != uri.size() || uri[star - 1] != '/')) {
    return FieldError(path, Quote(uri) +
                                " has a '*' that is not a final '/*' (a pattern is exact or "
                                "a prefix ending in '/*')");
  }
  for (std::size_t start = 0;;) {
    const std::size_t end = std::min(rest.find('/', start), rest.size());
    if (rest.substr(start, end - start) == "..") {
      return FieldError(path, Quote(uri) + " contains a '..' segment");
    }
    if (end == rest.size()) break;
    start = end + 1;
  }
  return OkStatus();
}

// Adds `p`, merging with an entry for the same resource (union of actions; "all" absorbs).
void MergePermission(std::vector<Permission>& list, Permission p) {
  for (Permission& existing : list) {
    if (existing.resource != p.resource) continue;
    if (existing.actions.empty() || p.actions.empty()) {
      existing.actions.clear();
    } else {
      for (Action a : p.actions) {
        if (std::find(existing.actions.begin(), existing.actions.end(), a) ==
            existing.actions.end()) {
          existing.actions.push_back(a);
        }
      }
      std::sort(existing.actions.begin(), existing.actions.end());
    }
    return;
  }
  list.push_back(std::move(p));
}

// ---- The manifest reader ------------------------------------------------------------------------

class ManifestReader {
 public:
  Result<CapsuleManifest> Read(const json::object& root) {
    const ObjectReader r(root, "");
    ELASTOS_RETURN_IF_ERROR(
        r.CheckKnown({"schema", "name", "version", "type", "entry", "description", "author",
                      "permissions", "resource_limits", "microvm_config", "dependencies",
                      "provides", "providers", "viewer", "signature"},
                     {"entrypoint", "capabilities", "resources", "microvm", "requires"}));
    ELASTOS_RETURN_IF_ERROR(ReadSchema(r));
    ELASTOS_RETURN_IF_ERROR(ReadIdentity(r));
    ELASTOS_RETURN_IF_ERROR(ReadEntry(r));
    ELASTOS_ASSIGN_OR_RETURN(Field description, r.Find("description"));
    ELASTOS_RETURN_IF_ERROR(ReadString(description, {kMaxDescriptionLength, true}, m_.description));
    ELASTOS_ASSIGN_OR_RETURN(Field author, r.Find("author"));
    ELASTOS_RETURN_IF_ERROR(ReadString(author, {kMaxShortTextLength}, m_.author));
    ELASTOS_RETURN_IF_ERROR(ReadPermissions(r));
    ELASTOS_RETURN_IF_ERROR(ReadLimits(r));
    ELASTOS_RETURN_IF_ERROR(ReadMicrovm(r));
    ELASTOS_RETURN_IF_ERROR(ReadDependencies(r));
    ELASTOS_RETURN_IF_ERROR(ReadProvides(r));
    ELASTOS_RETURN_IF_ERROR(ReadProviders(r));
    ELASTOS_RETURN_IF_ERROR(ReadViewer(r));
    ELASTOS_RETURN_IF_ERROR(ReadSignature(r));
    return std::move(m_);
  }

 private:
  Status ReadSchema(const ObjectReader& r) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, r.Find("schema"));
    if (!f.value) return OkStatus();
    if (!f.value->is_string() || f.value->get_string() != kManifestSchema) {
      return FieldError(f.path, Describe(*f.value) + " is not supported (this runtime reads '" +
                                    std::string(kManifestSchema) + "')");
    }
    return OkStatus();
  }

  Status ReadIdentity(const ObjectReader& r) {
    ELASTOS_ASSIGN_OR_RETURN(Field name, r.Find("name"));
    ELASTOS_RETURN_IF_ERROR(RequireString(name, "the capsule's name, e.g. \"notes\"", m_.name));
    if (!IsValidCapsuleName(m_.name)) {
      return FieldError(name.path, Quote(m_.name) +
                                       " is not a valid capsule name (1 to 64 of a-z 0-9 . _ -, "
                                       "starting with a letter or digit)");
    }
    ELASTOS_ASSIGN_OR_RETURN(Field version, r.Find("version"));
    ELASTOS_RETURN_IF_ERROR(
        RequireString(version, "a semantic version, e.g. \"1.0.0\"", m_.version));
    if (!IsValidSemver(m_.version)) {
      return FieldError(version.path, Quote(m_.version) +
                                          " is not a semantic version (expected MAJOR.MINOR.PATCH "
                                          "with optional -prerelease and +build, e.g. 1.0.0)");
    }
    ELASTOS_ASSIGN_OR_RETURN(Field type, r.Find("type"));
    std::string type_name;
    ELASTOS_RETURN_IF_ERROR(RequireString(type, "one of wasm, vm, data, agent", type_name));
    if (type_name == "wasm") {
      m_.type = CapsuleType::kWasm;
    } else if (type_name == "vm" || type_name == "microvm") {
      m_.type = CapsuleType::kVm;
    } else if (type_name == "data") {
      m_.type = CapsuleType::kData;
    } else if (type_name == "agent") {
      m_.type = CapsuleType::kAgent;
    } else {
      return FieldError(
          type.path, Quote(type_name) + " is not a capsule type (allowed: wasm, vm, data, agent)");
    }
    return OkStatus();
  }

  Status ReadEntry(const ObjectReader& r) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, r.Find("entry", "entrypoint"));
    if (!f.value) {
      if (m_.type == CapsuleType::kData) return OkStatus();
      return FieldError(f.path,
                        "is required for " + std::string(CapsuleTypeName(m_.type)) +
                            " capsules (the file to run, relative to the capsule directory)");
    }
    std::optional<std::string> entry;
    ELASTOS_RETURN_IF_ERROR(ReadPath(f, entry));
    m_.entry = std::move(*entry);
    return OkStatus();
  }

  Status ReadPermissions(const ObjectReader& r) {
    ELASTOS_ASSIGN_OR_RETURN(Field permissions, r.Find("permissions"));
    ELASTOS_ASSIGN_OR_RETURN(Field capabilities, r.Find("capabilities"));
    if (permissions.value && permissions.value->is_array()) {
      if (capabilities.value) {
        return FieldError(permissions.path,
                          "is given twice, as 'permissions' and as its alias "
                          "'capabilities'; keep only 'permissions'");
      }
      ELASTOS_RETURN_IF_ERROR(ReadPermissionList(permissions));
    } else if (permissions.value && permissions.value->is_object()) {
      ELASTOS_RETURN_IF_ERROR(ReadReferencePermissions(permissions));
    } else if (permissions.value) {
      return TypeError(permissions, "a list of {\"resource\", \"actions\"} objects or URI strings");
    }
    if (capabilities.value) {
      ELASTOS_ASSIGN_OR_RETURN(const json::array* list,
                               ReadList(capabilities, "a list of URI strings"));
      for (std::size_t i = 0; i < list->size(); ++i) {
        const Field item{&(*list)[i], Index(capabilities.path, i)};
        std::string uri;
        ELASTOS_RETURN_IF_ERROR(RequireString(item, "a URI string", uri));
        ELASTOS_RETURN_IF_ERROR(CheckResourceUri(item.path, uri, SchemeSet::kRequestable));
        MergePermission(m_.permissions, Permission{std::move(uri), {}});
      }
    }
    if (m_.permissions.size() > kMaxListEntries) {
      return FieldError("permissions",
                        "maps to more than " + std::to_string(kMaxListEntries) + " resources");
    }
    return OkStatus();
  }

  Status ReadPermissionList(const Field& f) {
    ELASTOS_ASSIGN_OR_RETURN(const json::array* list, ReadList(f, "a list"));
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Field item{&(*list)[i], Index(f.path, i)};
      Permission p;
      if (item.value->is_string()) {
        p.resource = std::string(item.value->get_string());
        ELASTOS_RETURN_IF_ERROR(CheckResourceUri(item.path, p.resource, SchemeSet::kRequestable));
      } else if (item.value->is_object()) {
        const ObjectReader pr(item.value->get_object(), item.path);
        ELASTOS_RETURN_IF_ERROR(pr.CheckKnown({"resource", "actions"}));
        ELASTOS_ASSIGN_OR_RETURN(Field resource, pr.Find("resource"));
        ELASTOS_RETURN_IF_ERROR(RequireString(
            resource, "a URI such as \"localhost://Users/self/Documents/*\"", p.resource));
        ELASTOS_RETURN_IF_ERROR(
            CheckResourceUri(resource.path, p.resource, SchemeSet::kRequestable));
        ELASTOS_ASSIGN_OR_RETURN(Field actions, pr.Find("actions"));
        ELASTOS_RETURN_IF_ERROR(ReadActions(actions, p.actions));
      } else {
        return TypeError(item, "a URI string or a {\"resource\", \"actions\"} object");
      }
      for (std::size_t j = 0; j < m_.permissions.size(); ++j) {
        if (m_.permissions[j].resource == p.resource) {
          return FieldError(item.path, "resource " + Quote(p.resource) + " is already listed at " +
                                           Index(f.path, j) + "; list each resource once");
        }
      }
      m_.permissions.push_back(std::move(p));
    }
    return OkStatus();
  }

  Status ReadActions(const Field& f, std::vector<Action>& out) {
    const std::string_view hint =
        " (list the actions, e.g. [\"read\"], or write the resource as a plain string to request "
        "whatever the shell grants)";
    if (!f.value) return FieldError(f.path, "is required" + std::string(hint));
    ELASTOS_ASSIGN_OR_RETURN(const json::array* list, ReadList(f, "a list of action names"));
    if (list->empty()) return FieldError(f.path, "is empty" + std::string(hint));
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Field item{&(*list)[i], Index(f.path, i)};
      std::string name;
      ELASTOS_RETURN_IF_ERROR(RequireString(item, "an action name", name));
      auto action = ParseAction(name);
      if (!action.ok()) {
        return FieldError(item.path, Quote(name) +
                                         " is not an action (allowed: read, write, execute, "
                                         "message, delete, admin)");
      }
      if (std::find(out.begin(), out.end(), *action) != out.end()) {
        return FieldError(item.path, Quote(name) + " is listed twice");
      }
      out.push_back(*action);
    }
    std::sort(out.begin(), out.end());  // one spelling per set of actions
    return OkStatus();
  }

  // The reference's object form: {storage: [uri…], messaging: [capsule…], carrier, guest_network}.
  Status ReadReferencePermissions(const Field& f) {
    const ObjectReader r(f.value->get_object(), f.path);
    ELASTOS_RETURN_IF_ERROR(r.CheckKnown({"storage", "messaging", "carrier", "guest_network"}));
    ELASTOS_ASSIGN_OR_RETURN(Field storage, r.Find("storage"));
    if (storage.value) {
      ELASTOS_ASSIGN_OR_RETURN(const json::array* list, ReadList(storage, "a list of URI strings"));
      for (std::size_t i = 0; i < list->size(); ++i) {
        const Field item{&(*list)[i], Index(storage.path, i)};
        std::string uri;
        ELASTOS_RETURN_IF_ERROR(RequireString(item, "a URI string", uri));
        if (uri == "read" || uri == "write") {
          // The reference preopened the capsule's private data directory for these words; here
          // every capsule gets its private /data without asking.
          m_.warnings.push_back("field '" + item.path + "': '" + uri +
                                "' ignored (a capsule's private /data needs no permission)");
          continue;
        }
        // The reference writes a root as a prefix with a trailing '/'; our prefix form is '/*'.
        if (uri.ends_with('/') && !uri.ends_with("://")) uri += '*';
        ELASTOS_RETURN_IF_ERROR(CheckResourceUri(item.path, uri, SchemeSet::kRequestable));
        MergePermission(m_.permissions,
                        Permission{std::move(uri), {Action::kRead, Action::kWrite}});
      }
    }
    ELASTOS_ASSIGN_OR_RETURN(Field messaging, r.Find("messaging"));
    if (messaging.value) {
      ELASTOS_ASSIGN_OR_RETURN(const json::array* list,
                               ReadList(messaging, "a list of capsule names"));
      for (std::size_t i = 0; i < list->size(); ++i) {
        const Field item{&(*list)[i], Index(messaging.path, i)};
        std::string peer;
        ELASTOS_RETURN_IF_ERROR(RequireString(item, "a capsule name or \"*\"", peer));
        if (peer != "*" && !IsValidCapsuleName(peer)) {
          return FieldError(item.path, Quote(peer) + " is neither a capsule name nor \"*\"");
        }
        MergePermission(m_.permissions,
                        Permission{"elastos://message/" + peer, {Action::kMessage}});
      }
    }
    ELASTOS_ASSIGN_OR_RETURN(Field carrier, r.Find("carrier"));
    std::optional<bool> carrier_value;
    ELASTOS_RETURN_IF_ERROR(ReadBool(carrier, carrier_value));
    if (carrier_value.value_or(false)) {
      m_.warnings.push_back("field '" + carrier.path +
                            "' ignored: capsules never run as host processes");
    }
    ELASTOS_ASSIGN_OR_RETURN(Field guest_network, r.Find("guest_network"));
    ELASTOS_RETURN_IF_ERROR(ReadBool(guest_network, guest_network_));
    guest_network_path_ = guest_network.path;
    return OkStatus();
  }

  Status ReadLimits(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("resource_limits", "resources"));
    ResourceLimits& l = m_.limits;
    if (f.value) {
      if (!f.value->is_object()) return TypeError(f, "an object");
      const ObjectReader r(f.value->get_object(), f.path);
      ELASTOS_RETURN_IF_ERROR(r.CheckKnown({"memory_mb", "cpu_ms", "wall_ms", "fuel", "output_mb",
                                            "storage_mb", "network", "cpu_shares", "gpu"}));
      struct Number {
        std::string_view name;
        std::optional<std::uint64_t>* target;
        std::uint64_t max;
      };
      const Number numbers[] = {
          {"memory_mb", &l.memory_mb, kMaxMegabytes},
          {"cpu_ms", &l.cpu_ms, kMaxMilliseconds},
          {"wall_ms", &l.wall_ms, kMaxMilliseconds},
          {"fuel", &l.fuel, kMaxFuel},
          {"output_mb", &l.output_mb, kMaxMegabytes},
          {"storage_mb", &l.storage_mb, kMaxMegabytes},
          {"cpu_shares", &l.cpu_shares, kMaxCpuShares},
      };
      for (const Number& number : numbers) {
        ELASTOS_ASSIGN_OR_RETURN(Field n, r.Find(number.name));
        ELASTOS_RETURN_IF_ERROR(ReadPositive(n, number.max, *number.target));
      }
      ELASTOS_ASSIGN_OR_RETURN(Field network, r.Find("network"));
      ELASTOS_RETURN_IF_ERROR(ReadBool(network, l.network));
      ELASTOS_ASSIGN_OR_RETURN(Field gpu, r.Find("gpu"));
      ELASTOS_RETURN_IF_ERROR(ReadBool(gpu, l.gpu));
    }
    if (guest_network_) {
      if (l.network && *l.network != *guest_network_) {
        return FieldError(guest_network_path_,
                          "contradicts resource_limits.network; keep only one");
      }
      if (*guest_network_) l.network = true;
    }
    if (l.cpu_shares) l.not_enforced.push_back("cpu_shares");
    if (l.gpu.value_or(false)) l.not_enforced.push_back("gpu");
    return OkStatus();
  }

  Status ReadMicrovm(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("microvm_config", "microvm"));
    if (!f.value) return OkStatus();
    if (m_.type != CapsuleType::kVm && m_.type != CapsuleType::kAgent) {
      return FieldError(f.path, "is only for vm and agent capsules, and this one is type '" +
                                    std::string(CapsuleTypeName(m_.type)) + "'");
    }
    if (!f.value->is_object()) return TypeError(f, "an object");
    const ObjectReader r(f.value->get_object(), f.path);
    ELASTOS_RETURN_IF_ERROR(r.CheckKnown({"vcpus", "kernel", "boot_args", "http_port", "rootfs_cid",
                                          "kernel_cid", "rootfs_size", "persistent_storage_mb"},
                                         {"vcpu_count"}));
    MicrovmConfig c;
    std::optional<std::uint64_t> n;
    ELASTOS_ASSIGN_OR_RETURN(Field vcpus, r.Find("vcpus", "vcpu_count"));
    ELASTOS_RETURN_IF_ERROR(ReadPositive(vcpus, kMaxVcpus, n));
    if (n) c.vcpus = static_cast<std::uint32_t>(*n);
    n.reset();
    ELASTOS_ASSIGN_OR_RETURN(Field port, r.Find("http_port"));
    ELASTOS_RETURN_IF_ERROR(ReadPositive(port, 65535, n));
    if (n) c.http_port = static_cast<std::uint16_t>(*n);
    ELASTOS_ASSIGN_OR_RETURN(Field kernel, r.Find("kernel"));
    if (kernel.value) ELASTOS_RETURN_IF_ERROR(ReadPath(kernel, c.kernel));
    ELASTOS_ASSIGN_OR_RETURN(Field boot_args, r.Find("boot_args"));
    ELASTOS_RETURN_IF_ERROR(ReadString(boot_args, {kMaxBootArgsLength}, c.boot_args));
    if (c.boot_args) {
      // The runtime passes the session token and channel paths as `elastos.*` parameters; a
      // manifest that set them could point the guest's init at the wrong channel or identity.
      for (std::size_t start = 0; start < c.boot_args->size();) {
        const std::size_t end = std::min(c.boot_args->find(' ', start), c.boot_args->size());
        std::string_view param = std::string_view(*c.boot_args).substr(start, end - start);
        while (param.starts_with('"')) param.remove_prefix(1);  // the kernel strips quotes too
        if (param.starts_with("elastos.")) {
          return FieldError(boot_args.path,
                            "sets an 'elastos.*' kernel parameter; those are reserved "
                            "for the runtime");
        }
        start = end + 1;
      }
    }
    for (auto [name, target] :
         {std::pair{"rootfs_cid", &c.rootfs_cid}, std::pair{"kernel_cid", &c.kernel_cid}}) {
      ELASTOS_ASSIGN_OR_RETURN(Field cid, r.Find(name));
      ELASTOS_RETURN_IF_ERROR(ReadCid(cid, *target));
    }
    ELASTOS_ASSIGN_OR_RETURN(Field rootfs_size, r.Find("rootfs_size"));
    ELASTOS_RETURN_IF_ERROR(ReadPositive(rootfs_size, kMaxRootfsBytes, c.rootfs_size));
    ELASTOS_ASSIGN_OR_RETURN(Field storage, r.Find("persistent_storage_mb"));
    ELASTOS_RETURN_IF_ERROR(ReadPositive(storage, kMaxMegabytes, c.persistent_storage_mb));
    m_.microvm = std::move(c);
    return OkStatus();
  }

  Status ReadDependencies(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("dependencies", "requires"));
    if (!f.value) return OkStatus();
    ELASTOS_ASSIGN_OR_RETURN(const json::array* list,
                             ReadList(f, "a list of capsule names or {\"name\", …} objects"));
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Field item{&(*list)[i], Index(f.path, i)};
      Dependency d;
      std::string name_path = item.path;
      if (item.value->is_string()) {
        d.name = std::string(item.value->get_string());
      } else if (item.value->is_object()) {
        const ObjectReader r(item.value->get_object(), item.path);
        ELASTOS_RETURN_IF_ERROR(r.CheckKnown({"name", "version", "cid", "kind"}));
        ELASTOS_ASSIGN_OR_RETURN(Field name, r.Find("name"));
        ELASTOS_RETURN_IF_ERROR(RequireString(name, "a capsule name", d.name));
        name_path = name.path;
        ELASTOS_ASSIGN_OR_RETURN(Field version, r.Find("version"));
        ELASTOS_RETURN_IF_ERROR(ReadString(version, {kMaxShortTextLength}, d.version));
        if (d.version && !IsValidSemver(*d.version)) {
          return FieldError(version.path, Quote(*d.version) +
                                              " is not a semantic version (an exact "
                                              "version such as 1.2.0; ranges are not supported)");
        }
        ELASTOS_ASSIGN_OR_RETURN(Field cid, r.Find("cid"));
        ELASTOS_RETURN_IF_ERROR(ReadCid(cid, d.cid));
        ELASTOS_ASSIGN_OR_RETURN(Field kind, r.Find("kind"));
        std::optional<std::string> kind_name;
        ELASTOS_RETURN_IF_ERROR(ReadString(kind, {kMaxShortTextLength}, kind_name));
        if (kind_name == "external") {
          d.kind = DependencyKind::kExternal;
        } else if (kind_name && kind_name != "capsule") {
          return FieldError(
              kind.path,
              Quote(*kind_name) + " is not a dependency kind (allowed: capsule, external)");
        }
      } else {
        return TypeError(item, "a capsule name or a {\"name\", \"version\", \"cid\"} object");
      }
      if (!IsValidCapsuleName(d.name)) {
        return FieldError(name_path, Quote(d.name) + " is not a valid capsule name");
      }
      if (d.name == m_.name) return FieldError(name_path, "a capsule cannot depend on itself");
      for (std::size_t j = 0; j < m_.dependencies.size(); ++j) {
        if (m_.dependencies[j].name == d.name) {
          return FieldError(name_path, Quote(d.name) + " is already listed at " + Index(f.path, j));
        }
      }
      m_.dependencies.push_back(std::move(d));
    }
    return OkStatus();
  }

  Status ReadProvides(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("provides"));
    ELASTOS_RETURN_IF_ERROR(ReadString(f, {kMaxUriLength}, m_.provides));
    if (!m_.provides) return OkStatus();
    ELASTOS_RETURN_IF_ERROR(CheckResourceUri(f.path, *m_.provides, SchemeSet::kProvidable));
    if (!m_.provides->ends_with("/*")) {
      return FieldError(
          f.path,
          Quote(*m_.provides) + " is not a URI prefix (end it with '/*', e.g. elastos://ipfs/*)");
    }
    return OkStatus();
  }

  Status ReadProviders(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("providers"));
    if (!f.value) return OkStatus();
    if (!f.value->is_object()) return TypeError(f, "an object mapping URI schemes to sources");
    const json::object& object = f.value->get_object();
    if (object.size() > 64) return FieldError(f.path, "has more than 64 entries");
    for (const auto& kv : object) {
      const std::string_view scheme = kv.key();
      const std::string path = f.path + "." + Escaped(scheme);
      const bool scheme_ok = !scheme.empty() && scheme.size() <= 32 && scheme[0] >= 'a' &&
                             scheme[0] <= 'z' &&
                             std::all_of(scheme.begin(), scheme.end(), [](char c) {
                               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                      c == '+' || c == '-' || c == '.';
                             });
      if (!scheme_ok)
        return FieldError(path, "is not a URI scheme (lowercase letters, digits, + - .)");
      std::optional<std::string> source;
      ELASTOS_RETURN_IF_ERROR(ReadString(Field{&kv.value(), path}, {kMaxUriLength}, source));
      if (!source || source->empty()) return FieldError(path, "must be a non-empty string");
      m_.providers.emplace(std::string(scheme), std::move(*source));
    }
    return OkStatus();
  }

  Status ReadViewer(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("viewer"));
    // A capsule name is itself a safe relative path, so one check covers both spellings.
    if (f.value) ELASTOS_RETURN_IF_ERROR(ReadPath(f, m_.viewer));
    return OkStatus();
  }

  Status ReadSignature(const ObjectReader& root) {
    ELASTOS_ASSIGN_OR_RETURN(Field f, root.Find("signature"));
    std::optional<std::string> ignored;
    ELASTOS_RETURN_IF_ERROR(ReadString(f, {kMaxSignatureLength}, ignored));
    if (ignored) {
      m_.warnings.push_back(
          "field 'signature' ignored: it is the reference runtime's manifest signature; ElastOS "
          "capsules are signed with a separate envelope over the capsule's CID");
    }
    return OkStatus();
  }

  // ---- typed readers that need no state ----

  static Status RequireString(const Field& f, std::string_view what, std::string& out) {
    if (!f.value) return FieldError(f.path, "is required (" + std::string(what) + ")");
    if (!f.value->is_string()) return TypeError(f, "a string: " + std::string(what));
    out = std::string(f.value->get_string());
    return CheckText(f.path, out, {kMaxUriLength});
  }

  static Status ReadPath(const Field& f, std::optional<std::string>& out) {
    if (!f.value->is_string())
      return TypeError(f, "a string (a path relative to the capsule directory)");
    const std::string_view s = f.value->get_string();
    if (auto problem = PathProblem(s)) {
      return FieldError(f.path, Quote(s) + " is not a safe relative path: it " + *problem);
    }
    ELASTOS_RETURN_IF_ERROR(CheckText(f.path, s, {kMaxPathLength}));
    out = std::string(s);
    return OkStatus();
  }

  static Status ReadCid(const Field& f, std::optional<std::string>& out) {
    ELASTOS_RETURN_IF_ERROR(ReadString(f, {kMaxShortTextLength}, out));
    if (out && !LooksLikeCid(*out)) {
      return FieldError(f.path, Quote(*out) + " is not a CID (expected Qm… or b…)");
    }
    return OkStatus();
  }

  CapsuleManifest m_;
  std::optional<bool>
      guest_network_;  // reference permissions.guest_network, reconciled with limits
  std::string guest_network_path_;
};

// ---- Writing ------------------------------------------------------------------------------------

void WritePretty(const json::value& v, std::string& out, std::size_t indent) {
  const auto scalar = [](const json::value& x) { return !x.is_array() && !x.is_object(); };
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      out.append(indent + 2, ' ');
      out += json::serialize(json::string_view(kv.key()));
      out += ": ";
      WritePretty(kv.value(), out, indent + 2);
    }
    out += '\n';
    out.append(indent, ' ');
    out += '}';
  } else if (v.is_array() && !v.get_array().empty() &&
             !std::all_of(v.get_array().begin(), v.get_array().end(), scalar)) {
    out += "[\n";
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out += ",\n";
      first = false;
      out.append(indent + 2, ' ');
      WritePretty(item, out, indent + 2);
    }
    out += '\n';
    out.append(indent, ' ');
    out += ']';
  } else if (v.is_array()) {  // empty, or scalars only: one line
    out += '[';
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out += ", ";
      first = false;
      out += json::serialize(item);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string_view CapsuleTypeName(CapsuleType type) {
  switch (type) {
    case CapsuleType::kWasm:
      return "wasm";
    case CapsuleType::kVm:
      return "vm";
    case CapsuleType::kData:
      return "data";
    case CapsuleType::kAgent:
      return "agent";
  }
  return "unknown";
}

std::string_view ActionName(Action action) {
  const auto i = static_cast<std::size_t>(action);
  return i < kActionNames.size() ? kActionNames[i] : "unknown";
}

Result<Action> ParseAction(std::string_view name) {
  for (std::size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return InvalidArgument("unknown_action", "unknown action " + Quote(name) +
                                               " (expected one of read, write, execute, message, "
                                               "delete, admin)");
}

std::string_view DependencyKindName(DependencyKind kind) {
  return kind == DependencyKind::kExternal ? "external" : "capsule";
}

bool IsValidCapsuleName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  const auto lower_or_digit = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!lower_or_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '.' || c == '_' || c == '-'; });
}

bool IsValidSemver(std::string_view version) {
  if (version.empty() || version.size() > 128) return false;
  const auto alnum_hyphen = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  };
  const auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  // Dot-separated, non-empty identifiers; `numeric_strict` forbids leading zeros on numeric ones.
  const auto identifiers_ok = [&](std::string_view s, bool numeric_strict) {
    for (std::size_t start = 0;;) {
      const std::size_t end = std::min(s.find('.', start), s.size());
      const std::string_view id = s.substr(start, end - start);
      if (id.empty() || !std::all_of(id.begin(), id.end(), alnum_hyphen)) return false;
      if (numeric_strict && all_digits(id) && id.size() > 1 && id[0] == '0') return false;
      if (end == s.size()) return true;
      start = end + 1;
    }
  };
  std::string_view rest = version;
  if (const std::size_t plus = rest.find('+'); plus != std::string_view::npos) {
    if (!identifiers_ok(rest.substr(plus + 1), false)) return false;
    rest = rest.substr(0, plus);
  }
  if (const std::size_t dash = rest.find('-'); dash != std::string_view::npos) {
    if (!identifiers_ok(rest.substr(dash + 1), true)) return false;
    rest = rest.substr(0, dash);
  }
  int parts = 0;
  for (std::size_t start = 0;; ++parts) {
    const std::size_t end = std::min(rest.find('.', start), rest.size());
    const std::string_view part = rest.substr(start, end - start);
    if (part.empty() || !all_digits(part) || (part.size() > 1 && part[0] == '0')) return false;
    if (end == rest.size()) break;
    start = end + 1;
  }
  return parts == 2;  // three numbers: MAJOR.MINOR.PATCH
}

bool IsSafeRelativePath(std::string_view path) { return !PathProblem(path).has_value(); }

Result<CapsuleManifest> CapsuleManifest::Parse(std::string_view json_text) {
  ELASTOS_ASSIGN_OR_RETURN(json::value value, ParseJsonText(json_text));
  return ManifestReader().Read(value.get_object());
}

std::string CapsuleManifest::ToJson() const {
  json::object o;
  o["schema"] = kManifestSchema;
  o["name"] = name;
  o["version"] = version;
  o["type"] = CapsuleTypeName(type);
  if (!entry.empty()) o["entry"] = entry;
  if (description) o["description"] = *description;
  if (author) o["author"] = *author;
  json::array perms;
  for (const Permission& p : permissions) {
    if (p.actions.empty()) {
      perms.emplace_back(p.resource);
      continue;
    }
    json::array actions;
    for (Action a : p.actions) actions.emplace_back(ActionName(a));
    perms.emplace_back(json::object{{"resource", p.resource}, {"actions", std::move(actions)}});
  }
  o["permissions"] = std::move(perms);  // always written: "asks for nothing" should be visible
  json::object l;
  const auto put = [](json::object& obj, std::string_view key, const auto& field) {
    if (field) obj[key] = *field;
  };
  put(l, "memory_mb", limits.memory_mb);
  put(l, "cpu_ms", limits.cpu_ms);
  put(l, "wall_ms", limits.wall_ms);
  put(l, "fuel", limits.fuel);
  put(l, "output_mb", limits.output_mb);
  put(l, "storage_mb", limits.storage_mb);
  put(l, "network", limits.network);
  put(l, "cpu_shares", limits.cpu_shares);
  put(l, "gpu", limits.gpu);
  if (!l.empty()) o["resource_limits"] = std::move(l);
  if (microvm) {
    json::object c;
    put(c, "vcpus", microvm->vcpus);
    put(c, "kernel", microvm->kernel);
    put(c, "boot_args", microvm->boot_args);
    put(c, "http_port", microvm->http_port);
    put(c, "rootfs_cid", microvm->rootfs_cid);
    put(c, "kernel_cid", microvm->kernel_cid);
    put(c, "rootfs_size", microvm->rootfs_size);
    put(c, "persistent_storage_mb", microvm->persistent_storage_mb);
    o["microvm_config"] = std::move(c);
  }
  if (!dependencies.empty()) {
    json::array deps;
    for (const Dependency& d : dependencies) {
      if (!d.version && !d.cid && d.kind == DependencyKind::kCapsule) {
        deps.emplace_back(d.name);
        continue;
      }
      json::object dep{{"name", d.name}};
      put(dep, "version", d.version);
      put(dep, "cid", d.cid);
      if (d.kind != DependencyKind::kCapsule) dep["kind"] = DependencyKindName(d.kind);
      deps.emplace_back(std::move(dep));
    }
    o["dependencies"] = std::move(deps);
  }
  if (provides) o["provides"] = *provides;
  if (!providers.empty()) {
    json::object p;
    for (const auto& [scheme, source] : providers) p[scheme] = source;
    o["providers"] = std::move(p);
  }
  if (viewer) o["viewer"] = *viewer;
  std::string out;
  WritePretty(o, out, 0);
  return out;
}

bool CapsuleManifest::operator==(const CapsuleManifest& other) const {
  return name == other.name && version == other.version && type == other.type &&
         entry == other.entry && description == other.description && author == other.author &&
         provides == other.provides && viewer == other.viewer && permissions == other.permissions &&
         limits == other.limits && microvm == other.microvm && dependencies == other.dependencies &&
         providers == other.providers;
}

}  // namespace elastos
