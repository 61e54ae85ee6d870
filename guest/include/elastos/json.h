// elastos/json.h — a small, strict JSON value, reader and writer for capsules.
//
// Why our own: guests build with -fno-exceptions and without Boost (DESIGN.md §7), and the
// carrier is a trust boundary in both directions, so the reader must be strict and bounded rather
// than forgiving:
//   - RFC 8259 grammar only: no comments, trailing commas, NaN/Infinity, leading zeros, `+1`, BOM;
//   - strings must be valid UTF-8 (no overlong forms, no encoded surrogates, nothing past
//     U+10FFFF); `\u` escapes must pair surrogates correctly;
//   - duplicate keys in one object are refused (two readers could otherwise disagree on which
//     value counts — the classic smuggling trick);
//   - nesting depth and input size are capped (ParseOptions), number literals are ≤ 512 chars.
// Integers are kept exactly: any literal without fraction or exponent that fits uint64 (or, if
// negative, int64) stays an integer; GetUint64() never rounds. Other numbers are doubles.
// Number conversion uses std::from_chars/std::to_chars, so the C locale setting cannot change
// what is read or written.
//
// Thread-safety: plain values; Parse and Write are reentrant.
#pragma once

#include <algorithm>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "elastos/error.h"

namespace elastos::sdk::json {

inline constexpr std::size_t kDefaultMaxDepth = 64;
inline constexpr std::size_t kDefaultMaxBytes = std::size_t{1} << 20;
inline constexpr std::uint64_t kMaxSafeInteger = (std::uint64_t{1} << 53) - 1;
inline constexpr std::size_t kMaxNumberLength = 512;

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

class Value;
struct Member;
using Array = std::vector<Value>;

// An object keeps its members in insertion order (what the writer emits) and never holds two
// members with the same key.
class Object {
 public:
  Object() = default;

  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  // Sets `key`, replacing an existing member of that name. Returns the stored value.
  Value& Set(std::string key, Value value);
  // The member named `key`, created as null if absent (for building documents).
  Value& operator[](std::string_view key);
  bool Erase(std::string_view key);

  std::vector<Member>::const_iterator begin() const { return members_.begin(); }
  std::vector<Member>::const_iterator end() const { return members_.end(); }
  std::vector<Member>::iterator begin() { return members_.begin(); }
  std::vector<Member>::iterator end() { return members_.end(); }

 private:
  friend class Parser;
  std::vector<Member> members_;
};

class Value {
 public:
  Value() = default;                               // null
  Value(std::nullptr_t) {}                         // NOLINT: implicit by design
  Value(bool b) : type_(Type::kBool), bool_(b) {}  // NOLINT
  template <typename I,
            std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I v) : type_(Type::kNumber) {  // NOLINT
    if constexpr (std::is_signed_v<I>) {
      if (v < 0) {
        kind_ = NumberKind::kNegative;
        int_ = static_cast<std::int64_t>(v);
        return;
      }
    }
    kind_ = NumberKind::kUnsigned;
    uint_ = static_cast<std::uint64_t>(v);
  }
  Value(double d) : type_(Type::kNumber), kind_(NumberKind::kDouble), double_(d) {}  // NOLINT
  Value(const char* s) : type_(Type::kString), string_(s) {}                         // NOLINT
  Value(std::string s) : type_(Type::kString), string_(std::move(s)) {}              // NOLINT
  Value(std::string_view s) : type_(Type::kString), string_(s) {}                    // NOLINT
  Value(Array a) : type_(Type::kArray), array_(std::move(a)) {}                      // NOLINT
  Value(Object o) : type_(Type::kObject), object_(std::move(o)) {}                   // NOLINT

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // A number read from (or built as) an integer, not a double.
  bool is_integer() const { return type_ == Type::kNumber && kind_ != NumberKind::kDouble; }

  std::optional<bool> GetBool() const {
    if (type_ != Type::kBool) return std::nullopt;
    return bool_;
  }
  // Exact only: a non-negative integer, or a double that is integral and ≤ 2^53−1 (the range in
  // which every JSON implementation agrees).
  std::optional<std::uint64_t> GetUint64() const {
    if (type_ != Type::kNumber) return std::nullopt;
    switch (kind_) {
      case NumberKind::kUnsigned:
        return uint_;
      case NumberKind::kNegative:
        return std::nullopt;
      case NumberKind::kDouble:
        if (double_ >= 0 && double_ <= static_cast<double>(kMaxSafeInteger) &&
            std::floor(double_) == double_) {
          return static_cast<std::uint64_t>(double_);
        }
        return std::nullopt;
    }
    return std::nullopt;
  }
  std::optional<std::int64_t> GetInt64() const {
    if (type_ != Type::kNumber) return std::nullopt;
    switch (kind_) {
      case NumberKind::kUnsigned:
        if (uint_ > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
        return static_cast<std::int64_t>(uint_);
      case NumberKind::kNegative:
        return int_;
      case NumberKind::kDouble:
        if (std::fabs(double_) <= static_cast<double>(kMaxSafeInteger) &&
            std::floor(double_) == double_) {
          return static_cast<std::int64_t>(double_);
        }
        return std::nullopt;
    }
    return std::nullopt;
  }
  std::optional<double> GetDouble() const {
    if (type_ != Type::kNumber) return std::nullopt;
    switch (kind_) {
      case NumberKind::kUnsigned:
        return static_cast<double>(uint_);
      case NumberKind::kNegative:
        return static_cast<double>(int_);
      case NumberKind::kDouble:
        return double_;
    }
    return std::nullopt;
  }
  const std::string* GetString() const { return type_ == Type::kString ? &string_ : nullptr; }
  const Array* GetArray() const { return type_ == Type::kArray ? &array_ : nullptr; }
  Array* GetArray() { return type_ == Type::kArray ? &array_ : nullptr; }
  const Object* GetObject() const { return type_ == Type::kObject ? &object_ : nullptr; }
  Object* GetObject() { return type_ == Type::kObject ? &object_ : nullptr; }

  // Compact JSON for logs and printing. A string that is not valid UTF-8 is written with U+FFFD
  // in place of each bad byte; use Write() when that must be an error instead.
  std::string Serialize() const;

  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  friend class Parser;
  friend class Writer;
  enum class NumberKind : std::uint8_t { kUnsigned, kNegative, kDouble };

  Type type_ = Type::kNull;
  bool bool_ = false;
  NumberKind kind_ = NumberKind::kUnsigned;
  std::uint64_t uint_ = 0;
  std::int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

struct Member {
  std::string key;
  Value value;
};

// ---- Object ------------------------------------------------------------------------------------

inline const Value* Object::Find(std::string_view key) const {
  for (const Member& m : members_) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}
inline Value* Object::Find(std::string_view key) {
  for (Member& m : members_) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}
inline Value& Object::Set(std::string key, Value value) {
  if (Value* existing = Find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  members_.push_back(Member{std::move(key), std::move(value)});
  return members_.back().value;
}
inline Value& Object::operator[](std::string_view key) {
  if (Value* existing = Find(key)) return *existing;
  members_.push_back(Member{std::string(key), Value()});
  return members_.back().value;
}
inline bool Object::Erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->key == key) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

// Structural equality. Numbers are equal when they denote the same value (an integer and an
// integral double of the same value are equal); objects compare as unordered maps.
inline bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.bool_ == b.bool_;
    case Type::kNumber:
      if (a.kind_ != Value::NumberKind::kDouble && b.kind_ != Value::NumberKind::kDouble) {
        if (a.kind_ != b.kind_) return false;
        return a.kind_ == Value::NumberKind::kUnsigned ? a.uint_ == b.uint_ : a.int_ == b.int_;
      }
      if (a.kind_ == Value::NumberKind::kDouble && b.kind_ == Value::NumberKind::kDouble) {
        return a.double_ == b.double_;
      }
      {
        const Value& d = a.kind_ == Value::NumberKind::kDouble ? a : b;
        const Value& i = a.kind_ == Value::NumberKind::kDouble ? b : a;
        auto exact = i.GetInt64();
        if (exact) return d.GetInt64() == exact;
        return d.GetUint64() == i.GetUint64();
      }
    case Type::kString:
      return a.string_ == b.string_;
    case Type::kArray:
      return a.array_ == b.array_;
    case Type::kObject: {
      if (a.object_.size() != b.object_.size()) return false;
      for (const Member& m : a.object_) {
        const Value* other = b.object_.Find(m.key);
        if (other == nullptr || !(m.value == *other)) return false;
      }
      return true;
    }
  }
  return false;
}

// ---- UTF-8
// ---------------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence at the start of [p, p+n) (Unicode Table 3-7), or 0 if
// it is malformed: overlong forms, surrogates (U+D800–DFFF) and values past U+10FFFF are refused.
inline std::size_t Utf8SequenceLength(const unsigned char* p, std::size_t n) {
  if (n == 0) return 0;
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

inline bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = Utf8SequenceLength(p + i, s.size() - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

inline void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// ---- Reader
// --------------------------------------------------------------------------------------

struct ParseOptions {
  std::size_t max_depth = kDefaultMaxDepth;  // arrays and objects nested together
  std::size_t max_bytes = kDefaultMaxBytes;  // of input text
};

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : text_(text), options_(options) {}

  Result<Value> ParseDocument() {
    if (text_.size() > options_.max_bytes) {
      return MakeError(ErrorCode::kInvalidArgument, "json_too_large",
                       "JSON text of " + std::to_string(text_.size()) +
                           " bytes exceeds the cap of " + std::to_string(options_.max_bytes));
    }
    Value value;
    SkipWhitespace();
    if (!ParseValue(&value, 0)) return error_;
    SkipWhitespace();
    if (pos_ != text_.size()) {
      Fail("json_syntax", "unexpected text after the JSON value");
      return error_;
    }
    return value;
  }

 private:
  bool Fail(const char* reason, const std::string& what) {
    error_ = MakeError(ErrorCode::kInvalidArgument, reason,
                       "JSON: " + what + " at byte " + std::to_string(pos_));
    return false;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void SkipWhitespace() {
    while (!AtEnd()) {
      const char c = Peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail("json_syntax", "invalid literal");
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value* out, std::size_t depth) {
    if (AtEnd()) return Fail("json_syntax", "unexpected end of input");
    switch (Peek()) {
      case 'n':
        *out = Value();
        return Literal("null");
      case 't':
        *out = Value(true);
        return Literal("true");
      case 'f':
        *out = Value(false);
        return Literal("false");
      case '"': {
        std::string s;
        if (!ParseString(&s)) return false;
        *out = Value(std::move(s));
        return true;
      }
      case '[':
        return ParseArray(out, depth + 1);
      case '{':
        return ParseObject(out, depth + 1);
      default:
        if (Peek() == '-' || (Peek() >= '0' && Peek() <= '9')) return ParseNumber(out);
        return Fail("json_syntax", "unexpected character");
    }
  }

  bool ParseArray(Value* out, std::size_t depth) {
    if (depth > options_.max_depth) {
      return Fail("json_too_deep", "nesting deeper than " + std::to_string(options_.max_depth));
    }
    ++pos_;  // '['
    Array items;
    SkipWhitespace();
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
      *out = Value(std::move(items));
      return true;
    }
    for (;;) {
      SkipWhitespace();
      items.emplace_back();
      if (!ParseValue(&items.back(), depth)) return false;
      SkipWhitespace();
      if (AtEnd()) return Fail("json_syntax", "unterminated array");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        break;
      }
      return Fail("json_syntax", "expected ',' or ']'");
    }
    *out = Value(std::move(items));
    return true;
  }

  bool ParseObject(Value* out, std::size_t depth) {
    if (depth > options_.max_depth) {
      return Fail("json_too_deep", "nesting deeper than " + std::to_string(options_.max_depth));
    }
    ++pos_;  // '{'
    Object object;
    SkipWhitespace();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      *out = Value(std::move(object));
      return true;
    }
    for (;;) {
      SkipWhitespace();
      if (AtEnd() || Peek() != '"') return Fail("json_syntax", "expected a string key");
      Member member;
      if (!ParseString(&member.key)) return false;
      SkipWhitespace();
      if (AtEnd() || Peek() != ':') return Fail("json_syntax", "expected ':'");
      ++pos_;
      SkipWhitespace();
      if (!ParseValue(&member.value, depth)) return false;
      object.members_.push_back(std::move(member));
      SkipWhitespace();
      if (AtEnd()) return Fail("json_syntax", "unterminated object");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        break;
      }
      return Fail("json_syntax", "expected ',' or '}'");
    }
    if (const std::string* dup = DuplicateKey(object)) {
      return Fail("json_duplicate_key", "key \"" + *dup + "\" appears more than once in an object");
    }
    *out = Value(std::move(object));
    return true;
  }

  // Sorting keeps the check O(n log n): a hostile object with 100k keys must not cost 10^10
  // comparisons.
  static const std::string* DuplicateKey(const Object& object) {
    const std::size_t n = object.members_.size();
    if (n < 2) return nullptr;
    if (n <= 8) {
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
          if (object.members_[i].key == object.members_[j].key) return &object.members_[i].key;
        }
      }
      return nullptr;
    }
    std::vector<const std::string*> keys;
    keys.reserve(n);
    for (const Member& m : object.members_) keys.push_back(&m.key);
    std::sort(keys.begin(), keys.end(),
              [](const std::string* a, const std::string* b) { return *a < *b; });
    for (std::size_t i = 1; i < n; ++i) {
      if (*keys[i] == *keys[i - 1]) return keys[i];
    }
    return nullptr;
  }

  bool ParseHex4(std::uint32_t* out) {
    if (text_.size() - pos_ < 4) return Fail("json_bad_string", "truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + static_cast<std::size_t>(i)];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return Fail("json_bad_string", "bad hex digit in \\u escape");
      }
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    const auto* bytes = reinterpret_cast<const unsigned char*>(text_.data());
    for (;;) {
      if (AtEnd()) return Fail("json_syntax", "unterminated string");
      const unsigned char c = bytes[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("json_bad_string", "unescaped control character in string");
      if (c == '\\') {
        ++pos_;
        if (AtEnd()) return Fail("json_syntax", "unterminated string");
        const char e = Peek();
        ++pos_;
        switch (e) {
          case '"':
            out->push_back('"');
            break;
          case '\\':
            out->push_back('\\');
            break;
          case '/':
            out->push_back('/');
            break;
          case 'b':
            out->push_back('\b');
            break;
          case 'f':
            out->push_back('\f');
            break;
          case 'n':
            out->push_back('\n');
            break;
          case 'r':
            out->push_back('\r');
            break;
          case 't':
            out->push_back('\t');
            break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!ParseHex4(&cp)) return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
              return Fail("json_bad_string", "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (text_.substr(pos_, 2) != "\\u")
                return Fail("json_bad_string", "high surrogate without a low one");
              pos_ += 2;
              std::uint32_t low = 0;
              if (!ParseHex4(&low)) return false;
              if (low < 0xDC00 || low > 0xDFFF)
                return Fail("json_bad_string", "high surrogate without a low one");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            AppendUtf8(cp, out);
            break;
          }
          default:
            --pos_;
            return Fail("json_bad_string", "unknown escape");
        }
        continue;
      }
      const std::size_t len = Utf8SequenceLength(bytes + pos_, text_.size() - pos_);
      if (len == 0) return Fail("json_bad_string", "invalid UTF-8 in string");
      out->append(text_.data() + pos_, len);
      pos_ += len;
    }
  }

  bool ParseNumber(Value* out) {
    const std::size_t start = pos_;
    bool negative = false;
    if (Peek() == '-') {
      negative = true;
      ++pos_;
    }
    auto digits = [&] {
      std::size_t n = 0;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
        ++pos_;
        ++n;
      }
      return n;
    };
    if (AtEnd() || Peek() < '0' || Peek() > '9') return Fail("json_bad_number", "expected a digit");
    if (Peek() == '0') {
      ++pos_;
      if (!AtEnd() && Peek() >= '0' && Peek() <= '9')
        return Fail("json_bad_number", "leading zero");
    } else {
      digits();
    }
    bool integral = true;
    if (!AtEnd() && Peek() == '.') {
      integral = false;
      ++pos_;
      if (digits() == 0) return Fail("json_bad_number", "expected a digit after '.'");
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      integral = false;
      ++pos_;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++pos_;
      if (digits() == 0) return Fail("json_bad_number", "expected a digit in the exponent");
    }
    const std::string_view literal = text_.substr(start, pos_ - start);
    if (literal.size() > kMaxNumberLength)
      return Fail("json_bad_number", "number literal too long");

    if (integral) {
      const std::string_view mag = negative ? literal.substr(1) : literal;
      std::uint64_t v = 0;
      bool overflow = false;
      for (char c : mag) {
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
          overflow = true;
          break;
        }
        v = v * 10 + d;
      }
      if (!overflow && !negative) {
        out->type_ = Type::kNumber;
        out->kind_ = Value::NumberKind::kUnsigned;
        out->uint_ = v;
        return true;
      }
      // |INT64_MIN| = 2^63 is representable; anything larger in magnitude becomes a double.
      if (!overflow && negative && v <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
        out->type_ = Type::kNumber;
        out->kind_ = v == 0 ? Value::NumberKind::kUnsigned : Value::NumberKind::kNegative;
        out->uint_ = 0;
        out->int_ = v == 0 ? 0 : static_cast<std::int64_t>(~v + 1);
        return true;
      }
    }
    double d = 0;
    if (!ToDouble(literal, &d)) return Fail("json_bad_number", "number out of range");
    *out = Value(d);
    return true;
  }

  // `literal` has already been checked against the JSON grammar. False when it overflows to
  // infinity (not a JSON number); underflow to zero is harmless.
  static bool ToDouble(std::string_view literal, double* out) {
    // ELASTOS_SDK_JSON_USE_STRTOD forces the fallback natively, so tests cover the path wasm takes.
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L && \
    !defined(ELASTOS_SDK_JSON_USE_STRTOD)
    const auto [end, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), *out);
    if (ec == std::errc() && end == literal.data() + literal.size()) return std::isfinite(*out);
    // from_chars leaves *out untouched when out of range, without saying which way; strtod says.
    if (ec != std::errc::result_out_of_range) return false;
#endif
    return StrtodInCLocale(literal, out);
  }

  // libc++ 19 (the wasm32-wasi one) has no floating-point from_chars. strtod is locale
  // dependent, so the '.' is swapped for the current locale's decimal point first; under
  // wasi-libc the locale is always "C" and this is a no-op. Overflow gives ±HUGE_VAL (refused),
  // underflow a denormal or zero (kept).
  static bool StrtodInCLocale(std::string_view literal, double* out) {
    char buf[kMaxNumberLength + 8];
    const char* point = std::localeconv()->decimal_point;
    const std::size_t point_len = point && *point ? std::strlen(point) : 0;
    std::size_t n = 0;
    for (char c : literal) {
      if (c == '.' && point_len > 0 && point_len <= 4) {
        std::memcpy(buf + n, point, point_len);
        n += point_len;
      } else {
        buf[n++] = c;
      }
    }
    buf[n] = '\0';
    char* end = nullptr;
    *out = std::strtod(buf, &end);
    return end == buf + n && std::isfinite(*out);
  }

  std::string_view text_;
  ParseOptions options_;
  std::size_t pos_ = 0;
  Error error_;
};

// Parses one JSON document (surrounding whitespace allowed). Errors: invalid_argument with reason
// json_syntax, json_bad_string, json_bad_number, json_duplicate_key, json_too_deep or
// json_too_large; the message gives the byte offset.
inline Result<Value> Parse(std::string_view text, const ParseOptions& options = {}) {
  return Parser(text, options).ParseDocument();
}

// ---- Writer
// --------------------------------------------------------------------------------------

class Writer {
 public:
  // strict: refuse (return false) on invalid UTF-8, non-finite numbers or too-deep nesting.
  // lenient: replace bad bytes with U+FFFD and non-finite numbers with null.
  Writer(std::string* out, bool strict, std::size_t max_depth)
      : out_(out), strict_(strict), max_depth_(max_depth) {}

  bool Write(const Value& v, std::size_t depth = 0) {
    switch (v.type_) {
      case Type::kNull:
        out_->append("null");
        return true;
      case Type::kBool:
        out_->append(v.bool_ ? "true" : "false");
        return true;
      case Type::kNumber:
        return WriteNumber(v);
      case Type::kString:
        return WriteString(v.string_);
      case Type::kArray: {
        if (depth + 1 > max_depth_ && strict_)
          return Fail("nesting deeper than " + std::to_string(max_depth_));
        out_->push_back('[');
        bool first = true;
        for (const Value& item : v.array_) {
          if (!first) out_->push_back(',');
          first = false;
          if (!Write(item, depth + 1)) return false;
        }
        out_->push_back(']');
        return true;
      }
      case Type::kObject: {
        if (depth + 1 > max_depth_ && strict_)
          return Fail("nesting deeper than " + std::to_string(max_depth_));
        out_->push_back('{');
        bool first = true;
        for (const Member& m : v.object_) {
          if (!first) out_->push_back(',');
          first = false;
          if (!WriteString(m.key)) return false;
          out_->push_back(':');
          if (!Write(m.value, depth + 1)) return false;
        }
        out_->push_back('}');
        return true;
      }
    }
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string what) {
    error_ = std::move(what);
    return false;
  }

  bool WriteNumber(const Value& v) {
    char buf[64];
    std::to_chars_result r{};
    switch (v.kind_) {
      case Value::NumberKind::kUnsigned:
        r = std::to_chars(buf, buf + sizeof buf, v.uint_);
        break;
      case Value::NumberKind::kNegative:
        r = std::to_chars(buf, buf + sizeof buf, v.int_);
        break;
      case Value::NumberKind::kDouble:
        if (!std::isfinite(v.double_)) {
          if (strict_) return Fail("a number is not finite (JSON has no NaN or Infinity)");
          out_->append("null");
          return true;
        }
        r = std::to_chars(buf, buf + sizeof buf, v.double_);
        break;
    }
    out_->append(buf, static_cast<std::size_t>(r.ptr - buf));
    return true;
  }

  bool WriteString(const std::string& s) {
    static const char kHex[] = "0123456789abcdef";
    out_->push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t i = 0;
    while (i < s.size()) {
      const unsigned char c = p[i];
      if (c >= 0x80) {
        const std::size_t len = Utf8SequenceLength(p + i, s.size() - i);
        if (len == 0) {
          if (strict_) return Fail("a string is not valid UTF-8");
          out_->append("\xEF\xBF\xBD");  // U+FFFD
          ++i;
          continue;
        }
        out_->append(s, i, len);
        i += len;
        continue;
      }
      switch (c) {
        case '"':
          out_->append("\\\"");
          break;
        case '\\':
          out_->append("\\\\");
          break;
        case '\n':
          out_->append("\\n");
          break;
        case '\r':
          out_->append("\\r");
          break;
        case '\t':
          out_->append("\\t");
          break;
        case '\b':
          out_->append("\\b");
          break;
        case '\f':
          out_->append("\\f");
          break;
        default:
          if (c < 0x20) {
            out_->append("\\u00");
            out_->push_back(kHex[c >> 4]);
            out_->push_back(kHex[c & 0xF]);
          } else {
            out_->push_back(static_cast<char>(c));
          }
      }
      ++i;
    }
    out_->push_back('"');
    return true;
  }

  std::string* out_;
  bool strict_;
  std::size_t max_depth_;
  std::string error_;
};

// Appends the compact JSON text of `value` to *out. Strict: invalid_argument / json_unwritable
// when a string is not valid UTF-8, a number is not finite or nesting exceeds `max_depth` (what
// the reader on the other side would refuse anyway). On error *out is left unchanged.
inline Result<void> Write(const Value& value, std::string* out,
                          std::size_t max_depth = kDefaultMaxDepth) {
  std::string text;
  Writer writer(&text, /*strict=*/true, max_depth);
  if (!writer.Write(value)) {
    return MakeError(ErrorCode::kInvalidArgument, "json_unwritable",
                     "cannot write JSON: " + writer.error());
  }
  out->append(text);
  return {};
}

inline std::string Value::Serialize() const {
  std::string text;
  Writer writer(&text, /*strict=*/false, SIZE_MAX);
  writer.Write(*this);
  return text;
}

}  // namespace elastos::sdk::json
