// Percent-decoding of application/x-www-form-urlencoded components, so that
// the protocol library needs no HTTP library (it used cpp-httplib's
// detail::decode_url; url_decode_test checks this one against it on random
// input, byte for byte).
//
//   %XX       the byte 0xXX (two hex digits, either case)
//   %uXXXX    the code point U+XXXX as UTF-8 (a non-standard form some
//             clients still send; surrogates D800-DFFF decode to nothing)
//   +         a space when plus_to_space (form bodies), else itself
//
// A '%' not followed by a complete escape is kept as it is. Never fails.
// Thread-safe (pure).
#ifndef VKSPAY_PROTOCOL_SRC_URL_DECODE_H_
#define VKSPAY_PROTOCOL_SRC_URL_DECODE_H_

#include <string>
#include <string_view>

namespace vkspay::internal {

std::string PercentDecode(std::string_view s, bool plus_to_space);

}  // namespace vkspay::internal

#endif  // VKSPAY_PROTOCOL_SRC_URL_DECODE_H_
