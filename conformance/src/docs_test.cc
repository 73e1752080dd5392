// docs/conformance.md lists every case id, so a new case cannot land
// undocumented and a renamed id shows up here.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "vkspay/conformance/suites.h"

namespace vkspay::conformance {
namespace {

std::string Docs() {
  std::ifstream f(std::string(VKSPAY_DOCS_DIR) + "/conformance.md");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Docs, ConformancePageListsEveryServerCase) {
  const std::string docs = Docs();
  ASSERT_FALSE(docs.empty());
  const auto cases = ServerCases(nullptr, ServerSuiteOptions());
  EXPECT_GE(cases.size(), 60u);
  for (const Case& c : cases) {
    EXPECT_NE(docs.find("| `" + c.id + "` |"), std::string::npos) << c.id << " is not documented";
  }
}

TEST(Docs, ConformancePageListsEveryMerchantCase) {
  const std::string docs = Docs();
  const auto cases = MerchantCases(MerchantSuiteOptions());
  EXPECT_EQ(cases.size(), 9u);
  for (const Case& c : cases) {
    EXPECT_NE(docs.find("| `" + c.id + "` |"), std::string::npos) << c.id << " is not documented";
  }
}

TEST(ServerCases, IdsAreUniqueAndGrouped) {
  std::set<std::string> seen;
  for (const Case& c : ServerCases(nullptr, ServerSuiteOptions())) {
    EXPECT_TRUE(seen.insert(c.id).second) << "duplicate id " << c.id;
    const std::string group = GroupOf(c.id);
    EXPECT_TRUE(group == "signing" || group == "envelope" || group == "orders" ||
                group == "lifecycle" || group == "notify")
        << c.id;
    EXPECT_FALSE(c.summary.empty()) << c.id;
  }
}

TEST(ServerCases, WithoutATargetEveryCaseSkips) {
  for (const Case& c : ServerCases(nullptr, ServerSuiteOptions())) {
    EXPECT_EQ(c.run().verdict, Verdict::kSkip) << c.id;
  }
}

TEST(MerchantCases, WithoutOrdersTheCasesThatNeedOneSkipSayingSo) {
  MerchantSuiteOptions options;
  options.notify_url = "http://127.0.0.1:9/notify";  // never contacted: the orders are missing
  for (const Case& c : MerchantCases(options)) {
    if (c.id == "merchant/unknown-order-refused") continue;  // needs no order
    Outcome o = c.run();
    EXPECT_EQ(o.verdict, Verdict::kSkip) << c.id;
    EXPECT_NE(o.reason.find("--order"), std::string::npos) << o.reason;
  }
}

TEST(ParseMerchantOrder, ReadsNumberAndAmount) {
  auto o = ParseMerchantOrder("CONF-1=12.50");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->out_trade_no, "CONF-1");
  EXPECT_EQ(o->total_fee, "12.50");
}

TEST(ParseMerchantOrder, RefusesBadSpecsNamingTheFlag) {
  for (const char* bad : {"CONF-1", "=0.01", "CONF-1=", "CONF-1=abc", "CONF-1=0"}) {
    auto o = ParseMerchantOrder(bad);
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_EQ(o.status().code(), ErrorCode::kInvalidField);
    EXPECT_NE(o.status().message().find("--order"), std::string::npos);
  }
}

}  // namespace
}  // namespace vkspay::conformance
