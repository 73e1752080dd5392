#include "sandbox/faults/rule.h"

#include <gtest/gtest.h>

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

FaultContext Ctx() {
  FaultContext c;
  c.method = "webpay";
  c.merchantno = "10001";
  c.out_trade_no = "T-2024-0001";
  c.amount_fen = 100101;
  c.channel = "wxpay";
  return c;
}

FaultRule Parse(const char* text) {
  StatusOr<FaultRule> r = ParseRuleJson("r", json::parse(text));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : FaultRule();
}

TEST(Glob, StarAndQuestionMark) {
  EXPECT_TRUE(GlobMatch("T-*", "T-1"));
  EXPECT_TRUE(GlobMatch("T-*", "T-"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*-FAIL-*", "P10001-FAIL-7"));
  EXPECT_TRUE(GlobMatch("T-??", "T-12"));
  EXPECT_FALSE(GlobMatch("T-??", "T-123"));
  EXPECT_FALSE(GlobMatch("T-*", "X-1"));
  EXPECT_FALSE(GlobMatch("abc", "abcd"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
}

TEST(RuleParse, ReadsEveryKey) {
  FaultRule r = Parse(R"({"id":"slow","match":{"methods":["webpay","micropay"],
      "merchantno":"10001","out_trade_no":"T-*","amount":{"min":"1","max":"5.50"},
      "channel":"alipay"},"action":{"kind":"api.delay","params":{"ms":200}},
      "probability":0.25,"count":3,"seed":42})");
  EXPECT_EQ(r.id, "slow");
  EXPECT_EQ(r.match.methods, (std::vector<std::string>{"webpay", "micropay"}));
  EXPECT_EQ(r.match.merchantno, "10001");
  EXPECT_EQ(r.match.out_trade_no, "T-*");
  EXPECT_EQ(r.match.min_fen, 100);
  EXPECT_EQ(r.match.max_fen, 550);
  EXPECT_EQ(r.match.channel, "alipay");
  EXPECT_EQ(r.action.kind, FaultKind::kApiDelay);
  EXPECT_EQ(r.action.params.ms, 200);
  EXPECT_DOUBLE_EQ(r.probability, 0.25);
  EXPECT_EQ(r.count, 3);
  EXPECT_EQ(r.seed, 42u);
}

TEST(RuleParse, DefaultsWhenOnlyActionIsGiven) {
  FaultRule r = Parse(R"({"action":{"kind":"pay.fail"}})");
  EXPECT_EQ(r.id, "");
  EXPECT_DOUBLE_EQ(r.probability, 1.0);
  EXPECT_EQ(r.count, 0);
  EXPECT_FALSE(r.seed.has_value());
  EXPECT_TRUE(r.match.Matches(Ctx()));
}

TEST(RuleParse, ExactAmountInYuanOrFen) {
  FaultRule yuan = Parse(R"({"match":{"amount":1001.01},"action":{"kind":"pay.fail"}})");
  EXPECT_EQ(yuan.match.min_fen, 100101);
  EXPECT_EQ(yuan.match.max_fen, 100101);
  FaultRule fen = Parse(R"({"match":{"amount_fen":100101},"action":{"kind":"pay.fail"}})");
  EXPECT_EQ(fen.match.min_fen, 100101);
  EXPECT_EQ(fen.match.max_fen, 100101);
}

TEST(RuleJson, RoundTrips) {
  FaultRule r = Parse(R"({"id":"x","match":{"methods":["orderrefund"],"out_trade_no":"A?",
      "amount_fen":{"min":5}},"action":{"kind":"refund.processing","params":{"seconds":3}},
      "probability":0.5,"count":2,"seed":9})");
  FaultRule back = Parse(RuleJson(r).dump().c_str());
  EXPECT_EQ(RuleJson(back), RuleJson(r));
}

TEST(RuleMatch, Methods) {
  FaultRule r =
      Parse(R"({"match":{"methods":["micropay","orderquery"]},"action":{"kind":"pay.fail"}})");
  FaultContext c = Ctx();
  EXPECT_FALSE(r.match.Matches(c));
  c.method = "micropay";
  EXPECT_TRUE(r.match.Matches(c));
}

TEST(RuleMatch, MethodsAcceptsASingleString) {
  FaultRule r = Parse(R"({"match":{"methods":"micropay"},"action":{"kind":"pay.fail"}})");
  EXPECT_EQ(r.match.methods, std::vector<std::string>{"micropay"});
}

TEST(RuleMatch, Merchant) {
  FaultRule r = Parse(R"({"match":{"merchantno":"20002"},"action":{"kind":"pay.fail"}})");
  FaultContext c = Ctx();
  EXPECT_FALSE(r.match.Matches(c));
  c.merchantno = "20002";
  EXPECT_TRUE(r.match.Matches(c));
}

TEST(RuleMatch, OutTradeNoGlob) {
  FaultRule r = Parse(R"({"match":{"out_trade_no":"T-2024-*"},"action":{"kind":"pay.fail"}})");
  FaultContext c = Ctx();
  EXPECT_TRUE(r.match.Matches(c));
  c.out_trade_no = "T-2025-0001";
  EXPECT_FALSE(r.match.Matches(c));
}

TEST(RuleMatch, AmountRangeIsInclusive) {
  FaultRule r =
      Parse(R"({"match":{"amount_fen":{"min":100,"max":200}},"action":{"kind":"pay.fail"}})");
  FaultContext c = Ctx();
  for (auto [fen, want] : std::vector<std::pair<int64_t, bool>>{
           {99, false}, {100, true}, {150, true}, {200, true}, {201, false}}) {
    c.amount_fen = fen;
    EXPECT_EQ(r.match.Matches(c), want) << fen;
  }
}

TEST(RuleMatch, UnknownAmountNeverMatchesAnAmountCriterion) {
  FaultRule r = Parse(R"({"match":{"amount_fen":{"max":200}},"action":{"kind":"pay.fail"}})");
  FaultContext c = Ctx();
  c.amount_fen = 0;
  EXPECT_FALSE(r.match.Matches(c));
}

TEST(RuleMatch, Channel) {
  FaultRule r = Parse(R"({"match":{"channel":"alipay"},"action":{"kind":"pay.fail"}})");
  FaultContext c = Ctx();
  EXPECT_FALSE(r.match.Matches(c));
  c.channel = "alipay";
  EXPECT_TRUE(r.match.Matches(c));
}

struct BadConfig {
  const char* json_text;
  const char* message;
};

class FaultsConfigErrors : public testing::TestWithParam<BadConfig> {};

TEST_P(FaultsConfigErrors, NameThePath) {
  StatusOr<FaultsConfig> c = ParseFaultsConfig(json::parse(GetParam().json_text));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(c.status().message(), GetParam().message);
}

constexpr char kTwoGood[] =
    R"({"action":{"kind":"pay.fail"}},{"id":"b","action":{"kind":"notify.bad_sign"}},)";

INSTANTIATE_TEST_SUITE_P(
    Cases, FaultsConfigErrors,
    testing::Values(
        BadConfig{R"({"profil":"strict"})",
                  "faults.profil: unknown key; expected one of profile, rules, magic_amounts, "
                  "$comment"},
        BadConfig{
            R"({"profile":""})",
            R"(faults.profile: expected a profile name such as "strict" or "realistic", got "")"},
        BadConfig{R"({"magic_amounts":"yes"})",
                  R"(faults.magic_amounts: expected true or false, got "yes")"},
        BadConfig{R"({"rules":{}})", "faults.rules: expected a list of rules, got {}"},
        BadConfig{R"({"rules":[{"action":{"kind":"pay.fail"},"probability":1.5}]})",
                  "faults.rules[0].probability: expected a number in [0, 1], got 1.5"},
        BadConfig{R"({"rules":[{"action":{"kind":"pay.fail"},"count":-1}]})",
                  "faults.rules[0].count: expected a non-negative integer (0 = unlimited), got -1"},
        BadConfig{R"({"rules":[{"action":{"kind":"pay.fail"},"seed":-1}]})",
                  "faults.rules[0].seed: expected a non-negative integer, got -1"},
        BadConfig{R"({"rules":[{"action":{"kind":"pay.fail"},"when":1}]})",
                  "faults.rules[0].when: unknown key; expected one of id, match, action, "
                  "probability, count, seed, $comment"},
        BadConfig{R"({"rules":[{"id":"a b","action":{"kind":"pay.fail"}}]})",
                  R"(faults.rules[0].id: expected 1-64 of A-Z a-z 0-9 _ . : -, got "a b")"},
        BadConfig{R"({"rules":[{"match":{}}]})", "faults.rules[0].action: is required"},
        BadConfig{
            R"({"rules":[{"match":{"methods":["pay"]},"action":{"kind":"pay.fail"}}]})",
            R"(faults.rules[0].match.methods[0]: expected one of webpay, micropay, orderquery, orderrefund, orderrefundquery, got "pay")"},
        BadConfig{
            R"({"rules":[{"match":{"channel":"unionpay"},"action":{"kind":"pay.fail"}}]})",
            R"(faults.rules[0].match.channel: expected one of wxpay, alipay, auto, got "unionpay")"},
        BadConfig{R"({"rules":[{"match":{"amount":"1.001"},"action":{"kind":"pay.fail"}}]})",
                  R"(faults.rules[0].match.amount: expected yuan such as "1001.01", got "1.001")"},
        BadConfig{
            R"({"rules":[{"match":{"amount_fen":{"min":5,"max":4}},"action":{"kind":"pay.fail"}}]})",
            "faults.rules[0].match.amount_fen: min (0.05) is above max (0.04)"},
        BadConfig{
            R"({"rules":[{"match":{"amount":"1","amount_fen":100},"action":{"kind":"pay.fail"}}]})",
            "faults.rules[0].match.amount_fen: give amount (yuan) or amount_fen, not both"},
        BadConfig{R"({"rules":[{"match":{"merchant":"1"},"action":{"kind":"pay.fail"}}]})",
                  "faults.rules[0].match.merchant: unknown key; expected one of methods, "
                  "merchantno, out_trade_no, amount, amount_fen, channel"},
        BadConfig{
            R"({"rules":[{"id":"a","action":{"kind":"pay.fail"}},{"id":"a","action":{"kind":"pay.cancel"}}]})",
            R"(faults.rules[1].id: duplicate id "a")"}));

// The brief's own example: the third rule's kind is wrong, and the message
// says where and what.
TEST(FaultsConfig, ThirdRuleBadKindNamesItsPath) {
  std::string text =
      std::string(R"({"rules":[)") + kTwoGood + R"({"action":{"kind":"api.boom"}}]})";
  StatusOr<FaultsConfig> c = ParseFaultsConfig(json::parse(text));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(
      c.status().message().rfind("faults.rules[2].action.kind: expected one of api.fail, ", 0), 0u)
      << c.status().message();
  EXPECT_NE(c.status().message().find(R"(got "api.boom")"), std::string::npos);
}

TEST(FaultsConfig, ReadsTheSectionOfAWholeConfigFile) {
  StatusOr<FaultsConfig> c = ParseFaultsConfigText(R"({"merchants":[],"settings":{},
      "faults":{"profile":"realistic","magic_amounts":false,
                "rules":[{"id":"x","action":{"kind":"pay.fail"}}]}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->profile, "realistic");
  EXPECT_FALSE(c->magic_amounts);
  ASSERT_EQ(c->rules.size(), 1u);
  EXPECT_EQ(c->rules[0].id, "x");
}

TEST(FaultsConfig, RefusesTextThatIsNotJson) {
  StatusOr<FaultsConfig> c = ParseFaultsConfigText("{");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidJson);
}

// Regression (fuzz/fault_rule_fuzz, corpus deep_nesting_dump_recursion.json):
// the error message dumped the whole value recursively, and a 5,000-deep
// rule (POST /_sandbox/faults/rules takes any body) overflowed the stack.
TEST(ParseRuleJson, DeeplyNestedValuesGiveABoundedError) {
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  StatusOr<FaultRule> r = ParseRuleJson("r", json::parse(deep));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(r.status().message(), "r: expected a rule object, got [an array of 1 items]");
  StatusOr<FaultRule> m = ParseRuleJson(
      "r", json::parse(R"({"action":{"kind":"api.delay","params":{"ms":)" + deep + "}}}"));
  ASSERT_FALSE(m.ok());
  EXPECT_LT(m.status().message().size(), 200u) << m.status().message();
  StatusOr<FaultRule> big = ParseRuleJson("r", json::parse(R"({"id":")" +
                                                           std::string(100000, 'x') + "\"}"));
  ASSERT_FALSE(big.ok());
  EXPECT_LT(big.status().message().size(), 200u);
}

}  // namespace
}  // namespace vkspay::sandbox
