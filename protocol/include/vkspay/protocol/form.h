// application/x-www-form-urlencoded bodies, the format of VksPay's
// notifications to a merchant's notify_url. Values are always strings.
#ifndef VKSPAY_PROTOCOL_FORM_H_
#define VKSPAY_PROTOCOL_FORM_H_

#include <string>
#include <string_view>

#include "vkspay/protocol/fields.h"

namespace vkspay {

// "a=1&b=x%20y": names and values percent-encoded (space as %20), in field
// order. Non-string values are written as JsString(value).
std::string EncodeForm(const Fields& fields);

// Parses a form body into string-valued Fields ('+' is a space). Errors:
// kInvalidJson is not used; kInvalidField for an empty body or a pair without
// a name, kDuplicateField naming a repeated name, kBodyTooLarge past the
// limits (same ParseLimits as JSON bodies).
StatusOr<Fields> DecodeForm(std::string_view body, const ParseLimits& limits = ParseLimits());

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_FORM_H_
