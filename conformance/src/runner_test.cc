#include "vkspay/conformance/runner.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace vkspay::conformance {
namespace {

TEST(MatchesFilter, EmptySelectsEverything) { EXPECT_TRUE(MatchesFilter("signing/x", "")); }
TEST(MatchesFilter, PrefixSelectsAGroup) {
  EXPECT_TRUE(MatchesFilter("signing/wrong-sign-refused", "signing"));
  EXPECT_TRUE(MatchesFilter("signing/wrong-sign-refused", "signing/"));
  EXPECT_TRUE(MatchesFilter("signing/wrong-sign-refused", "signing/wrong"));
  EXPECT_FALSE(MatchesFilter("envelope/x", "signing"));
}
TEST(MatchesFilter, GlobMatchesTheWholeId) {
  EXPECT_TRUE(MatchesFilter("signing/uppercase-sign-refused", "*-refused"));
  EXPECT_TRUE(MatchesFilter("signing/uppercase-sign-refused", "signing/*sign*"));
  EXPECT_FALSE(MatchesFilter("signing/uppercase-sign-accepted", "*-refused"));
  EXPECT_TRUE(MatchesFilter("orders/amount-zero-refused", "orders/amount-?\?\?\?-refused"));
  EXPECT_FALSE(MatchesFilter("orders/amount-zero-refused", "orders/amount-?\?\?-refused"));
}
TEST(MatchesFilter, CommaSeparatedListIsAnyOf) {
  EXPECT_TRUE(MatchesFilter("notify/x", "signing, notify"));
  EXPECT_FALSE(MatchesFilter("orders/x", "signing,notify"));
}

TEST(GroupOf, IsTheFirstPathSegment) {
  EXPECT_EQ(GroupOf("signing/vector/numbers-plain"), "signing");
  EXPECT_EQ(GroupOf("solo"), "solo");
}

TEST(RunCases, RunsOnlyTheSelectedCasesInOrder) {
  std::vector<std::string> ran;
  std::vector<Case> cases = {
      {"a/one", "",
       [&] {
         ran.push_back("a/one");
         return Outcome::Pass("ok");
       }},
      {"b/two", "",
       [&] {
         ran.push_back("b/two");
         return Outcome::Fail("no");
       }},
      {"a/three", "",
       [&] {
         ran.push_back("a/three");
         return Outcome::Skip("later");
       }},
  };
  std::vector<std::string> reported;
  auto results = RunCases(cases, "a/", [&](const CaseResult& r) { reported.push_back(r.id); });
  EXPECT_EQ(ran, (std::vector<std::string>{"a/one", "a/three"}));
  EXPECT_EQ(reported, ran);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].outcome.verdict, Verdict::kSkip);
}

TEST(RunCases, AThrowingCaseIsAFailNotACrash) {
  std::vector<Case> cases = {
      {"a/throws", "", []() -> Outcome { throw std::runtime_error("boom"); }}};
  auto results = RunCases(cases, "");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome.verdict, Verdict::kFail);
  EXPECT_NE(results[0].outcome.reason.find("boom"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::conformance
