// Resource URIs and patterns as tokens name them (DESIGN.md §3).
//
// A pattern is either exact (`localhost://Users/alice/notes.txt`) or a prefix ending in `/*`
// (`localhost://Users/alice/Documents/Notes/*`), which matches everything *below* that
// directory but not the directory itself. Before any comparison both sides are normalised:
// the scheme is lowercased, empty and `.` segments dropped. Anything that could reach outside a
// prefix by a second spelling is refused outright rather than normalised: `..` segments,
// percent-encoded `.`, `/` or `\`, backslashes, control characters, and `*` anywhere but a final
// segment of a pattern. Refusing is the safe choice: a normaliser that agrees with every
// provider's path resolution in every corner case is much harder to get right than a refusal.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace elastos::runtime {

inline constexpr std::size_t kMaxResourceLength = 2048;

// The canonical spelling of a concrete resource URI (no wildcard). reason: bad_resource.
Result<std::string> NormalizeResource(std::string_view uri);
// The same, into a caller-owned buffer (no allocation once it has grown: the validation path).
[[nodiscard]] Status NormalizeResourceInto(std::string_view uri, std::string& out);
// The canonical spelling of a pattern (a resource, or a prefix ending in "/*").
Result<std::string> NormalizePattern(std::string_view pattern);
// Whether canonical `resource` is covered by canonical `pattern`.
bool PatternMatches(std::string_view pattern, std::string_view resource);
// Whether every resource `inner` matches is also matched by `outer` (delegation may only narrow).
bool PatternCovers(std::string_view outer, std::string_view inner);

}  // namespace elastos::runtime
