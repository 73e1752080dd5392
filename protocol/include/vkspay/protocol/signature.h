// VksPay v2.0 request and notification signatures.
//
// Canonical string: every field except `sign`, names sorted in ASCII byte
// order, each as name=String(value), joined with '&', then "&key=" and the
// merchant key. Signature: lowercase hex MD5 of its UTF-8 bytes.
// Pure functions; thread-safe.
#ifndef VKSPAY_PROTOCOL_SIGNATURE_H_
#define VKSPAY_PROTOCOL_SIGNATURE_H_

#include <string>
#include <string_view>

#include "vkspay/protocol/fields.h"

namespace vkspay {

// The string that is hashed, key included.
std::string CanonicalString(const Fields& fields, std::string_view key);
// The same string with the key replaced by "***": safe to show to a caller.
std::string MaskedCanonicalString(const Fields& fields);
// Lowercase hex MD5 of data.
std::string Md5Hex(std::string_view data);
// The signature of fields (sign, if present, is ignored).
std::string Sign(const Fields& fields, std::string_view key);
// Returns a copy of fields with `sign` set to Sign(fields, key).
Fields WithSign(Fields fields, std::string_view key);

// Checks fields' `sign` against the key. Errors: kMissingField (no sign),
// kSignError (wrong type, wrong length, not lowercase hex, or mismatch; the
// message shows the masked canonical string so a developer can compare and,
// when the sign is what a known wrong recipe gives with this key, a hint
// naming the mistake: empty fields left out as WeChat Pay does, values
// written as Python's str() writes them (1.0, True, None), or the key
// appended without "&key="). The hints need the key, so they tell nothing
// to someone who does not have it.
Status VerifySign(const Fields& fields, std::string_view key);

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_SIGNATURE_H_
