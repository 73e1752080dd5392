#include "sandbox/faults/profiles.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vkspay::sandbox {
namespace {

const std::string kDir = std::string(VKSPAY_FIXTURES_DIR) + "/faults";

TEST(Profiles, StrictHasNoRules) {
  StatusOr<FaultProfile> p = LoadProfile("strict", "");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->rules.empty());
}

TEST(Profiles, RealisticDuplicatesEveryNotificationAndSlowsTwoPercent) {
  StatusOr<FaultProfile> p = LoadProfile("realistic", "");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->rules.size(), 2u);
  const FaultRule& dup = p->rules[0];
  EXPECT_EQ(dup.action.kind, FaultKind::kNotifyDuplicate);
  EXPECT_EQ(dup.action.params.count, 2);
  EXPECT_EQ(dup.action.params.within_ms, 1000);
  EXPECT_DOUBLE_EQ(dup.probability, 1.0);
  const FaultRule& slow = p->rules[1];
  EXPECT_EQ(slow.action.kind, FaultKind::kApiDelay);
  EXPECT_EQ(slow.action.params.ms, 200);
  EXPECT_EQ(slow.action.params.max_ms, 800);
  EXPECT_DOUBLE_EQ(slow.probability, 0.02);
  EXPECT_TRUE(slow.seed.has_value());
}

TEST(Profiles, UnknownNameIsNotFoundAndListsTheKnown) {
  StatusOr<FaultProfile> p = LoadProfile("chaos", kDir);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(p.status().message().find("known: strict, realistic, flaky-network, "),
            std::string::npos)
      << p.status().message();
}

TEST(Profiles, NameCannotLeaveTheDirectory) {
  StatusOr<FaultProfile> p = LoadProfile("../config/two-merchants", kDir);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kInvalidField);
}

TEST(Profiles, ListHasBuiltinsThenScenarioFiles) {
  std::vector<std::string> names = ListProfiles(kDir);
  ASSERT_GE(names.size(), 5u);
  EXPECT_EQ(names[0], "strict");
  EXPECT_EQ(names[1], "realistic");
  for (const char* want : {"flaky-network", "notify-outage", "refund-delays"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  // The magic amount table lives in the same folder but is no profile.
  EXPECT_EQ(std::find(names.begin(), names.end(), "magic_amounts"), names.end());
}

TEST(Profiles, ErrorsNameTheProfileAndRule) {
  StatusOr<FaultProfile> p =
      ParseProfile("mine", R"({"rules":[{"action":{"kind":"pay.fail"}},{"action":{"kind":"x"}}]})");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("mine.rules[1].action.kind: expected one of", 0), 0u);
}

TEST(Profiles, RuleIdsDefaultToProfileAndIndex) {
  StatusOr<FaultProfile> p = ParseProfile("mine", R"({"rules":[{"action":{"kind":"pay.fail"}}]})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->rules[0].id, "mine.0");
}

// Every scenario file in fixtures/faults loads: a new scenario is a new file.
class ScenarioFile : public testing::TestWithParam<std::string> {};

TEST_P(ScenarioFile, LoadsByName) {
  StatusOr<FaultProfile> p = LoadProfile(GetParam(), kDir);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->rules.empty());
  EXPECT_FALSE(p->description.empty());
}

std::vector<std::string> ScenarioNames() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    if (e.path().extension() == ".json" && e.path().stem() != "magic_amounts") {
      names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ScenarioFile, testing::ValuesIn(ScenarioNames()),
                         [](const testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace vkspay::sandbox
