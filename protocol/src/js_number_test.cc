#include "vkspay/protocol/js_number.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vkspay {
namespace {

struct Case {
  double in;
  const char* want;
};

TEST(JsNumber, MatchesEcmaScriptNumberToString) {
  const Case cases[] = {
      {0.01, "0.01"},          {100, "100"},
      {1.5, "1.5"},            {1e21, "1e+21"},
      {1e-7, "1e-7"},          {1e20, "100000000000000000000"},
      {1e-6, "0.000001"},      {123e-20, "1.23e-18"},
      {0.1 + 0.2, "0.30000000000000004"},
      {-0.0, "0"},             {-1.5, "-1.5"},
      {5e-324, "5e-324"},      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {9007199254740993.0, "9007199254740992"},
      {12345678901234567890.0, "12345678901234567000"},
      {1.2345678901234569e+23, "1.2345678901234569e+23"},
      {100.5, "100.5"},        {0.000001234, "0.000001234"},
      {1700000000, "1700000000"},
  };
  for (const Case& c : cases) EXPECT_EQ(JsNumberToString(c.in), c.want) << c.want;
}

TEST(JsNumber, NonFiniteValuesAreNamedAsJavaScriptNamesThem) {
  EXPECT_EQ(JsNumberToString(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(JsNumberToString(INFINITY), "Infinity");
  EXPECT_EQ(JsNumberToString(-INFINITY), "-Infinity");
}

}  // namespace
}  // namespace vkspay
