#include "vkspay/text.h"

#include <gtest/gtest.h>

#include <string>

namespace vkspay {
namespace {

TEST(HtmlEscape, EscapesTheFiveAndPassesTheRest) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x" title='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("中文 ¥1.00"), "中文 ¥1.00");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(XmlEscape, EntitiesAndWhitespaceInTextAndAttributes) {
  EXPECT_EQ(XmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  EXPECT_EQ(XmlEscape("l1\nl2\tx\r"), "l1\nl2\tx&#13;");
  EXPECT_EQ(XmlEscape("l1\nl2\tx\r", true), "l1&#10;l2&#9;x&#13;");
}

TEST(XmlEscape, WhatXmlCannotCarryBecomesTheReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(XmlEscape(std::string("a\x01" "b", 3)), "a" + r + "b");
  EXPECT_EQ(XmlEscape(std::string("\0", 1)), r);
  EXPECT_EQ(XmlEscape("\xFF\xFE"), r + r);                  // not UTF-8
  EXPECT_EQ(XmlEscape("\xE4\xB8"), r + r);                  // truncated
  EXPECT_EQ(XmlEscape("\xC0\xAF"), r + r);                  // overlong '/'
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), r + r + r);          // a surrogate
  EXPECT_EQ(XmlEscape("x\xEF\xBF\xBEy"), "x" + r + "y");    // U+FFFE: one replacement
  EXPECT_EQ(XmlEscape("\xF0\x9F\x98\x80 中"), "\xF0\x9F\x98\x80 中");  // kept
}

TEST(Utf8At, LengthsAndCodePointsOfValidSequencesZeroForInvalidOnes) {
  uint32_t cp = 0;
  EXPECT_EQ(Utf8At("a", 0, &cp), 1u);
  EXPECT_EQ(cp, 'a');
  EXPECT_EQ(Utf8At("\xC3\xA9", 0, &cp), 2u);
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(Utf8At("x中", 1, &cp), 3u);
  EXPECT_EQ(cp, 0x4E2Du);
  EXPECT_EQ(Utf8At("\xF0\x9F\x98\x80", 0, &cp), 4u);
  EXPECT_EQ(cp, 0x1F600u);
  for (const char* bad : {"\x80", "\xC0\xAF", "\xE4\xB8", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                          "\xFF"}) {
    EXPECT_EQ(Utf8At(bad, 0, &cp), 0u) << bad;
  }
}

TEST(GlobMatch, StarsQuestionMarksAndLiterals) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("P10001-*", "P10001-2026"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("*-refused", "signing/wrong-sign-refused"));
  EXPECT_FALSE(GlobMatch("*-refused", "signing/wrong-sign-refused-x"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_FALSE(GlobMatch("", "x"));
  // Many stars on a long text: no blow-up (one backtrack point).
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

}  // namespace
}  // namespace vkspay
