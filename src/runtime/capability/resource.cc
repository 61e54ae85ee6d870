#include "runtime/capability/resource.h"

#include <cctype>

namespace elastos::runtime {
namespace {

Status Bad(std::string_view uri, std::string why) {
  std::string shown(uri.substr(0, 120));
  return InvalidArgument("bad_resource", "resource '" + shown + "' " + why);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Writes the canonical form of `uri` into `out` (reused by callers on hot paths, so a
// validation allocates nothing once the buffer has grown).
Status NormalizeInto(std::string_view uri, bool allow_wildcard, std::string& out) {
  if (uri.size() > kMaxResourceLength) return Bad(uri, "is longer than " + std::to_string(kMaxResourceLength) + " bytes");
  const std::size_t sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) return Bad(uri, "is not a URI (expected scheme://path)");
  out.clear();
  for (std::size_t i = 0; i < sep; ++i) {
    const char c = uri[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) || (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return Bad(uri, "has an invalid scheme");
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  out += "://";
  const std::size_t path_start = out.size();
  std::string_view rest = uri.substr(sep + 3);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(rest[i]);
    if (c < 0x20 || c == 0x7f) return Bad(uri, "contains a control character");
    if (c == '\\') return Bad(uri, "contains a backslash");
    if (c == '%') {
      const std::string_view enc = rest.substr(i, 3);
      if (EqualsIgnoreCase(enc, "%2e") || EqualsIgnoreCase(enc, "%2f") || EqualsIgnoreCase(enc, "%5c") ||
          EqualsIgnoreCase(enc, "%00")) {
        return Bad(uri, "contains an encoded '.', '/', '\\' or NUL (" + std::string(enc) + ")");
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
    if (seg == "..") return Bad(uri, "contains a '..' segment");
    if (wildcard_seen) return Bad(uri, "may contain '*' only as its final segment ('…/*')");
    if (seg.find('*') != std::string_view::npos) {
      if (!allow_wildcard) return Bad(uri, "contains '*' (only patterns may, as a final '/*')");
      if (seg != "*") return Bad(uri, "may contain '*' only as its final segment ('…/*')");
      wildcard_seen = true;
    }
    if (out.size() > path_start) out.push_back('/');
    out += seg;
  }
  if (out.size() == path_start) return Bad(uri, "has no path after the scheme");
  return OkStatus();
}

Result<std::string> Normalize(std::string_view uri, bool allow_wildcard) {
  std::string out;
  ELASTOS_RETURN_IF_ERROR(NormalizeInto(uri, allow_wildcard, out));
  return out;
}

bool IsPrefixPattern(std::string_view p) { return p.ends_with("/*"); }  // includes "scheme://*"

// "scheme://a/b/*" → "scheme://a/b/"; "scheme://*" → "scheme://".
std::string_view PrefixOf(std::string_view p) { return p.substr(0, p.size() - 1); }

}  // namespace

Result<std::string> NormalizeResource(std::string_view uri) { return Normalize(uri, false); }
Status NormalizeResourceInto(std::string_view uri, std::string& out) { return NormalizeInto(uri, false, out); }
Result<std::string> NormalizePattern(std::string_view pattern) { return Normalize(pattern, true); }

bool PatternMatches(std::string_view pattern, std::string_view resource) {
  if (!IsPrefixPattern(pattern)) return pattern == resource;
  const std::string_view prefix = PrefixOf(pattern);
  return resource.size() > prefix.size() && resource.starts_with(prefix);
}

bool PatternCovers(std::string_view outer, std::string_view inner) {
  if (!IsPrefixPattern(inner)) return PatternMatches(outer, inner);
  if (!IsPrefixPattern(outer)) return false;  // an exact pattern never covers a prefix
  // outer "a/*" covers inner "a/b/*" (and "a/*" itself), never "a" or a sibling.
  return PrefixOf(inner).starts_with(PrefixOf(outer));
}

}  // namespace elastos::runtime
