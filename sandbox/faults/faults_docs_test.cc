// docs/faults.md stays in step with the engine: every kind has a row in the
// kinds table (with its hook) and a runnable example, and the page no longer
// promises anything as "not wired".
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "sandbox/faults/fault.h"

namespace vkspay::sandbox {
namespace {

std::string ReadDoc() {
  std::ifstream in(std::string(VKSPAY_FIXTURES_DIR) + "/../docs/faults.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FaultsDoc, EveryKindHasATableRowWithItsHook) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "docs/faults.md not found from " << VKSPAY_FIXTURES_DIR;
  for (FaultKind kind : AllKinds()) {
    const std::string row = "| `" + std::string(KindName(kind)) + "` | ";
    const size_t at = doc.find(row);
    ASSERT_NE(at, std::string::npos) << "no kinds table row for " << KindName(kind);
    const std::string hook(HookName(HookOf(DefaultFault(kind))));
    EXPECT_EQ(doc.compare(at + row.size(), hook.size(), hook), 0)
        << KindName(kind) << " should say hook " << hook;
  }
}

TEST(FaultsDoc, EveryKindHasAnExample) {
  const std::string doc = ReadDoc();
  const size_t start = doc.find("### One example per kind");
  const size_t end = doc.find("## Triggers");
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  const std::string examples = doc.substr(start, end - start);
  for (FaultKind kind : AllKinds()) {
    EXPECT_NE(examples.find(std::string(KindName(kind))), std::string::npos)
        << "no example names " << KindName(kind);
  }
}

TEST(FaultsDoc, NothingIsLeftNotWired) {
  const std::string doc = ReadDoc();
  EXPECT_EQ(doc.find("ot wired"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::sandbox
