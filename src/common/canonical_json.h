// Canonical JSON: the one byte sequence ElastOS signs for a JSON value.
//
// Object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as Boost.JSON does
// (only '"', '\\' and control characters), integers only: floating-point numbers are refused
// because their text form differs between implementations, which would let one signed value have
// several spellings.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/status.h"

namespace elastos {

Result<std::string> CanonicalJson(const boost::json::value& value);

// Parses `text` and checks it is already in canonical form (so exactly one text is accepted
// for each value, and duplicate keys are impossible). `max_size` bounds the input.
Result<boost::json::value> ParseCanonicalJson(std::string_view text, std::size_t max_size);

}  // namespace elastos
