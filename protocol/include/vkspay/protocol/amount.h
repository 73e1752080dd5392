// Amounts: yuan on the wire, integer fen everywhere else.
//
// Accepted on the wire as a JSON number or a numeric string. The yuan text is
// what JavaScript's String(value) gives (what the signature covered), and it
// must be plain decimal with at most two decimals: "0.01", "100", "1.5".
#ifndef VKSPAY_PROTOCOL_AMOUNT_H_
#define VKSPAY_PROTOCOL_AMOUNT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/fields.h"

namespace vkspay {

constexpr int64_t kDefaultMaxFen = 100'000'000;  // 1,000,000.00 yuan

// Parses a yuan amount into fen. Errors: kInvalidAmount naming `field`, saying
// what was expected and quoting what arrived: wrong type, not a plain decimal
// (exponent, sign, leading zeros, spaces), more than two decimals, zero or
// negative, above max_fen.
StatusOr<int64_t> ParseYuan(std::string_view field, const Value& v,
                            int64_t max_fen = kDefaultMaxFen);
// Parses yuan text with the same rules (used for strings and CLI flags).
StatusOr<int64_t> ParseYuanText(std::string_view field, std::string_view text,
                                int64_t max_fen = kDefaultMaxFen);

// Formats fen as yuan the way JavaScript prints the number: "0.01", "100",
// "1.5", "12.34".
std::string FormatYuan(int64_t fen);
// The yuan value as a JSON number (integer when whole, so it prints as "100").
nlohmann::json YuanJson(int64_t fen);

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_AMOUNT_H_
