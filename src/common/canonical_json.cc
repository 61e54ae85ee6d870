#include "common/canonical_json.h"

#include <algorithm>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace elastos {
namespace {

Status Write(const boost::json::value& v, std::string& out, int depth) {
  if (depth > 64) return InvalidArgument("json_too_deep", "JSON nesting is deeper than 64 levels");
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; return OkStatus();
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return OkStatus();
    case boost::json::kind::int64: out += std::to_string(v.get_int64()); return OkStatus();
    case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); return OkStatus();
    case boost::json::kind::double_:
      return InvalidArgument("json_not_canonical", "canonical JSON has no floating-point numbers");
    case boost::json::kind::string: out += boost::json::serialize(v.get_string()); return OkStatus();
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        ELASTOS_RETURN_IF_ERROR(Write(item, out, depth + 1));
      }
      out += ']';
      return OkStatus();
    }
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      std::vector<const boost::json::key_value_pair*> fields;
      fields.reserve(obj.size());
      for (const auto& kv : obj) fields.push_back(&kv);
      std::sort(fields.begin(), fields.end(),
                [](auto* a, auto* b) { return a->key() < b->key(); });
      out += '{';
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ',';
        out += boost::json::serialize(boost::json::string_view(fields[i]->key()));
        out += ':';
        ELASTOS_RETURN_IF_ERROR(Write(fields[i]->value(), out, depth + 1));
      }
      out += '}';
      return OkStatus();
    }
  }
  return Internal("json_kind", "unknown JSON kind");
}

}  // namespace

Result<std::string> CanonicalJson(const boost::json::value& value) {
  std::string out;
  ELASTOS_RETURN_IF_ERROR(Write(value, out, 0));
  return out;
}

Result<boost::json::value> ParseCanonicalJson(std::string_view text, std::size_t max_size) {
  if (text.size() > max_size) {
    return InvalidArgument("json_too_large", "JSON text is " + std::to_string(text.size()) +
                                                 " bytes; the limit is " + std::to_string(max_size));
  }
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return InvalidArgument("bad_json", "not valid JSON: " + ec.message());
  ELASTOS_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(value));
  if (canonical != text) {
    return InvalidArgument("json_not_canonical",
                           "JSON is not in canonical form (sorted keys, no whitespace, no duplicates)");
  }
  return value;
}

}  // namespace elastos
