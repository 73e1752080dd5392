// The request body parser (ParseFlatJson): any bytes give either flat Fields
// or one of the four documented errors with a message; accepted Fields respect
// the limits, have unique names, and survive ToJson -> ParseFlatJson with the
// same names, types and JavaScript strings (what the signature covers).
#include <set>

#include "fuzz/fuzz_check.h"
#include "vkspay/protocol/fields.h"

using namespace vkspay;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::AsText(data, size);
  const ParseLimits limit_sets[] = {ParseLimits{}, ParseLimits{4, 16}};
  for (const ParseLimits& limits : limit_sets) {
    StatusOr<Fields> parsed = ParseFlatJson(body, limits);
    if (!parsed.ok()) {
      ErrorCode c = parsed.status().code();
      FUZZ_CHECK(c == ErrorCode::kInvalidJson || c == ErrorCode::kNotFlat ||
                     c == ErrorCode::kDuplicateField || c == ErrorCode::kBodyTooLarge,
                 parsed.status().ToString());
      FUZZ_CHECK(!parsed.status().message().empty(), "an error without a message");
      continue;
    }
    const Fields& f = *parsed;
    FUZZ_CHECK(f.size() <= limits.max_fields, std::to_string(f.size()) + " fields");
    std::set<std::string> names;
    for (const Field& field : f.items()) {
      FUZZ_CHECK(names.insert(field.name).second, "duplicate name " + field.name);
      if (const auto* s = std::get_if<std::string>(&field.value)) {
        FUZZ_CHECK(s->size() <= limits.max_value_bytes, field.name);
      }
    }
    std::string again = f.ToJson();
    StatusOr<Fields> reparsed = ParseFlatJson(again, limits);
    FUZZ_CHECK(reparsed.ok(),
               "ToJson output refused: " + reparsed.status().ToString() + " " + again);
    FUZZ_CHECK(reparsed->size() == f.size(), again);
    for (size_t i = 0; i < f.size(); ++i) {
      const Field& a = f.items()[i];
      const Field& b = reparsed->items()[i];
      FUZZ_CHECK(a.name == b.name, a.name + " vs " + b.name);
      FUZZ_CHECK(TypeName(a.value) == TypeName(b.value), a.name);
      FUZZ_CHECK(JsString(a.value) == JsString(b.value),
                 a.name + ": " + JsString(a.value) + " vs " + JsString(b.value));
    }
  }
  return 0;
}
