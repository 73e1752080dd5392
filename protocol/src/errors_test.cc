#include "vkspay/protocol/errors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace vkspay {
namespace {

TEST(Errors, CodesAreUniqueAndUpperSnakeCase) {
  std::set<std::string_view> seen;
  for (const ErrorInfo& e : AllErrors()) {
    EXPECT_TRUE(seen.insert(e.err_code).second) << e.err_code;
    for (char c : e.err_code) EXPECT_TRUE((c >= 'A' && c <= 'Z') || c == '_') << e.err_code;
    EXPECT_FALSE(e.title.empty());
  }
}

TEST(Errors, EveryCodeIsDocumentedInDocsErrorsMd) {
  std::ifstream in(std::string(VKSPAY_DOCS_DIR) + "/errors.md");
  ASSERT_TRUE(in) << "docs/errors.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const ErrorInfo& e : AllErrors()) {
    EXPECT_NE(doc.find("`" + std::string(e.err_code) + "`"), std::string::npos)
        << e.err_code << " is not in docs/errors.md";
  }
}

}  // namespace
}  // namespace vkspay
