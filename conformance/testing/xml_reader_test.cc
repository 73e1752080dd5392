#include "xml_reader.h"

#include <gtest/gtest.h>

namespace vkspay::conformance::testing {
namespace {

TEST(ParseXml, ReadsElementsAttributesAndText) {
  auto doc = ParseXml(
      "<?xml version=\"1.0\"?>\n<!-- c --><a x=\"1\" "
      "y='&lt;2&gt;'><b/><b>t&amp;&#20320;&#x597D;</b>"
      "<![CDATA[<raw>]]></a>\n");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ((*doc)->name, "a");
  EXPECT_EQ((*doc)->Attr("y"), "<2>");
  ASSERT_EQ((*doc)->Children("b").size(), 2u);
  EXPECT_EQ((*doc)->Children("b")[1]->text, "t&你好");
  EXPECT_EQ((*doc)->text, "<raw>");
}

TEST(ParseXml, RefusesMalformedDocuments) {
  for (const char* bad : {"<a><b></a></b>", "<a>&</a>", "<a x=\"<\"/>", "<a/><b/>", "<a>",
                          "<a x=1/>", "<a>&nope;</a>", "", "<a x=\"1\" x=\"2\"/>"}) {
    EXPECT_FALSE(ParseXml(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace vkspay::conformance::testing
