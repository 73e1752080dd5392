#include "sandbox/faults/magic_amounts.h"

#include <gtest/gtest.h>

namespace vkspay::sandbox {
namespace {

const std::string kFile = std::string(VKSPAY_FIXTURES_DIR) + "/faults/magic_amounts.json";

TEST(MagicAmounts, FixtureFileMatchesTheCompiledInDefault) {
  StatusOr<MagicAmountTable> file = MagicAmountTable::Load(kFile);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const MagicAmountTable& dflt = MagicAmountTable::Default();
  EXPECT_EQ(file->ToJson().dump(1), dflt.ToJson().dump(1));
  ASSERT_EQ(file->entries().size(), dflt.entries().size());
  for (size_t i = 0; i < dflt.entries().size(); ++i) {
    EXPECT_EQ(file->entries()[i].faults, dflt.entries()[i].faults) << i;
  }
}

TEST(MagicAmounts, DefaultHasTwelveEntries) {
  // A bad compiled-in entry would be skipped silently; the count catches it.
  EXPECT_EQ(MagicAmountTable::Default().entries().size(), 12u);
}

TEST(MagicAmounts, FindsExactAmountsOnly) {
  const MagicAmountTable& t = MagicAmountTable::Default();
  const MagicAmount* fail = t.Find(100101);
  ASSERT_NE(fail, nullptr);
  ASSERT_EQ(fail->faults.size(), 1u);
  EXPECT_EQ(fail->faults[0].kind, FaultKind::kPayFail);
  const MagicAmount* drop = t.Find(100103);
  ASSERT_NE(drop, nullptr);
  EXPECT_EQ(drop->faults[0].kind, FaultKind::kNotifyDropFirst);
  EXPECT_EQ(drop->faults[0].params.count, 3);
  EXPECT_EQ(t.Find(100100), nullptr);
  EXPECT_EQ(t.Find(1), nullptr);
  EXPECT_EQ(t.Find(10010), nullptr);
}

TEST(MagicAmounts, EveryEntryIsAtLeastAThousandYuan) {
  // Not an amount a normal test (0.01, 1, 9.99, 100) uses by accident.
  for (const MagicAmount& m : MagicAmountTable::Default().entries()) {
    EXPECT_GT(m.fen, 100000) << m.directive;
    EXPECT_NE(m.fen % 100, 0) << m.directive;
  }
}

TEST(MagicAmounts, ParseRefusesABadDirective) {
  StatusOr<MagicAmountTable> t = MagicAmountTable::Parse(
      R"({"amounts":[{"amount":"1001.01","directive":"pay=explode","description":""}]})");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "amounts[0].directive: X-Sandbox-Fault: sandbox directive at column 5: expected one "
            "of fail, cancel, userpaying, expire, late after \"pay=\", got \"explode\"");
}

TEST(MagicAmounts, ParseRefusesADuplicateAmount) {
  StatusOr<MagicAmountTable> t = MagicAmountTable::Parse(
      R"({"amounts":[{"amount":"1001.01","directive":"pay=fail"},
                     {"amount":"1001.010","directive":"pay=cancel"}]})");
  ASSERT_FALSE(t.ok());
  // "1001.010" has three decimals: refused before the duplicate check.
  EXPECT_EQ(t.status().message(),
            "amounts[1].amount: expected yuan text such as \"1001.01\", got \"1001.010\"");
  t = MagicAmountTable::Parse(R"({"amounts":[{"amount":"1001.1","directive":"pay=fail"},
                                             {"amount":"1001.10","directive":"pay=cancel"}]})");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "amounts[1].amount: duplicate amount 1001.1");
}

TEST(MagicAmounts, LoadOfAMissingFileIsNotFound) {
  StatusOr<MagicAmountTable> t = MagicAmountTable::Load("/nonexistent/magic.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vkspay::sandbox
