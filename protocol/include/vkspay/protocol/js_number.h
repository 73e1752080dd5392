// JavaScript's Number.prototype.toString() for finite doubles (ECMA-262
// Number::toString with radix 10): the shortest digits that round-trip, in
// plain notation for exponents in [-7, 21), else in exponent form ("1e+21").
#ifndef VKSPAY_PROTOCOL_JS_NUMBER_H_
#define VKSPAY_PROTOCOL_JS_NUMBER_H_

#include <string>

namespace vkspay {

// Renders a finite double as JavaScript's String(x) would. -0 gives "0"; NaN
// and infinities give "NaN", "Infinity" and "-Infinity" (they cannot come from
// JSON, but the function is total).
std::string JsNumberToString(double x);

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_JS_NUMBER_H_
