#include "url_decode.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <random>
#include <string>

namespace vkspay::internal {
namespace {

TEST(PercentDecode, DecodesEscapesPlusAndUnicodeForms) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(PercentDecode("%E4%B8%AD%e6%96%87", true), "中文");
  EXPECT_EQ(PercentDecode("%u4E2D%u6587", true), "中文");
  EXPECT_EQ(PercentDecode("%u00e9", true), "\xC3\xA9");
  EXPECT_EQ(PercentDecode("%uD800x", true), "x");  // a lone surrogate: nothing
  EXPECT_EQ(PercentDecode("%00", true), std::string(1, '\0'));
}

TEST(PercentDecode, KeepsAPercentThatStartsNoCompleteEscape) {
  EXPECT_EQ(PercentDecode("%", true), "%");
  EXPECT_EQ(PercentDecode("100%", true), "100%");
  EXPECT_EQ(PercentDecode("%4", true), "%4");
  EXPECT_EQ(PercentDecode("%zz", true), "%zz");
  EXPECT_EQ(PercentDecode("%u12", true), "%u12");
  EXPECT_EQ(PercentDecode("%u12g4", true), "%u12g4");
  EXPECT_EQ(PercentDecode("%%41", true), "%A");
}

// The decoder the protocol library used before (cpp-httplib 0.11's), on
// random strings over an alphabet dense in escapes: byte for byte the same.
TEST(PercentDecode, MatchesCppHttplibOnRandomInput) {
  const std::string alphabet = "%%%%u+0123456789abcdefABCDEFgxyz &=\xE4\xB8\xAD";
  std::mt19937 rng(20261205);
  for (int n = 0; n < 200000; ++n) {
    std::string s(rng() % 16, ' ');
    for (char& ch : s) ch = alphabet[rng() % alphabet.size()];
    for (bool plus : {true, false}) {
      ASSERT_EQ(PercentDecode(s, plus), httplib::detail::decode_url(s, plus))
          << "input \"" << s << "\" plus_to_space " << plus;
    }
  }
}

}  // namespace
}  // namespace vkspay::internal
