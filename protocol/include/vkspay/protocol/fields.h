// The request model: a flat list of named scalar values, in body order.
//
// A VksPay body is a flat JSON object. Fields keeps the parsed values exactly
// as JavaScript would see them after JSON.parse (numbers are IEEE doubles),
// because the signature is defined over JavaScript's String(value).
#ifndef VKSPAY_PROTOCOL_FIELDS_H_
#define VKSPAY_PROTOCOL_FIELDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nlohmann/json_fwd.hpp"
#include "vkspay/protocol/status.h"

namespace vkspay {

// One scalar JSON value: null, boolean, number (double) or string.
using Value = std::variant<std::nullptr_t, bool, double, std::string>;

// What JavaScript's String(value) gives for a parsed JSON value.
std::string JsString(const Value& v);
// "null", "boolean", "number" or "string", for error messages.
std::string_view TypeName(const Value& v);
// The value as JSON text (strings quoted and escaped), for error messages.
std::string ToJsonText(const Value& v);
// Any JSON value as bounded text for error messages, without recursing (a
// 5,000-deep array must not overflow the stack): a scalar, or an array or
// object whose members are all scalars, is dumped (invalid UTF-8 replaced by
// U+FFFD) and cut at a character boundary after at most max_bytes ("...");
// a container that holds containers is shown as "[an array of N items]" or
// "{an object of N fields}".
std::string ShowJson(const nlohmann::json& j, size_t max_bytes = 64);
// s cut at a UTF-8 character boundary to at most max bytes, "..." appended
// when cut.
std::string TruncateUtf8(std::string s, size_t max);

struct Field {
  std::string name;
  Value value;
};

class Fields {
 public:
  Fields() = default;
  Fields(std::initializer_list<Field> init) : items_(init) {}

  // Returns the field's value, or nullptr if absent.
  const Value* Find(std::string_view name) const;
  // Sets (replacing in place if present, else appending).
  void Set(std::string name, Value value);
  // Removes the field if present.
  void Erase(std::string_view name);

  const std::vector<Field>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // The body as a JSON object, fields in order (numbers that are whole are
  // written as integers, as JavaScript's JSON.stringify does).
  std::string ToJson() const;

 private:
  std::vector<Field> items_;
};

struct ParseLimits {
  size_t max_fields = 256;
  size_t max_value_bytes = 64 * 1024;
};

// Parses a request body that must be a flat JSON object of scalar values.
// Errors: kInvalidJson (syntax, invalid UTF-8, not an object, number out of
// double range), kNotFlat (object or array value; names the field),
// kDuplicateField (names the field), kBodyTooLarge (too many fields, or a
// value longer than the limit).
StatusOr<Fields> ParseFlatJson(std::string_view body,
                               const ParseLimits& limits = ParseLimits());

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_FIELDS_H_
