#include "sandbox/faults/fault_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <thread>

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

FaultRule Rule(const char* text) {
  StatusOr<FaultRule> r = ParseRuleJson("r", json::parse(text));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

FaultContext Ctx(std::string method = "webpay", int64_t fen = 100) {
  FaultContext c;
  c.method = std::move(method);
  c.merchantno = "10001";
  c.out_trade_no = "T-1";
  c.amount_fen = fen;
  c.channel = "wxpay";
  return c;
}

FaultEngineOptions Options(uint64_t seed = 7) {
  FaultEngineOptions o;
  o.seed = seed;
  o.profiles_dir = std::string(VKSPAY_FIXTURES_DIR) + "/faults";
  return o;
}

std::vector<FaultKind> Kinds(const std::vector<FaultDecision>& ds) {
  std::vector<FaultKind> out;
  for (const FaultDecision& d : ds) out.push_back(d.fault.kind);
  return out;
}

class FaultEngineTest : public testing::Test {
 protected:
  FakeClock clock_;
  FaultEngine engine_{clock_, Options()};
};

TEST_F(FaultEngineTest, StartsStrictWithNothingToInject) {
  EXPECT_EQ(engine_.profile(), "strict");
  EXPECT_TRUE(engine_.ListRules().empty());
  for (FaultHook h : {FaultHook::kApiBefore, FaultHook::kApiAfter, FaultHook::kOrder,
                      FaultHook::kPayment, FaultHook::kNotify, FaultHook::kRefund}) {
    EXPECT_TRUE(engine_.Decide(h, Ctx()).empty());
  }
  EXPECT_EQ(engine_.last_seq(), 0u);
}

TEST_F(FaultEngineTest, RuleFiresOnlyAtItsHook) {
  ASSERT_TRUE(engine_.AddRule(Rule(R"({"id":"f","action":{"kind":"pay.fail"}})")).ok());
  EXPECT_TRUE(engine_.Decide(FaultHook::kApiBefore, Ctx()).empty());
  EXPECT_TRUE(engine_.Decide(FaultHook::kNotify, Ctx()).empty());
  std::vector<FaultDecision> ds = engine_.Decide(FaultHook::kPayment, Ctx());
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].fault.kind, FaultKind::kPayFail);
  EXPECT_EQ(ds[0].source, "rule");
  EXPECT_EQ(ds[0].rule_id, "f");
  EXPECT_EQ(ds[0].seq, 1u);
}

TEST_F(FaultEngineTest, ApiPhaseChoosesTheHook) {
  ASSERT_TRUE(engine_.AddRule(Rule(R"({"action":{"kind":"api.close"}})")).ok());
  EXPECT_TRUE(engine_.Decide(FaultHook::kApiBefore, Ctx()).empty());
  EXPECT_EQ(engine_.Decide(FaultHook::kApiAfter, Ctx()).size(), 1u);
}

TEST_F(FaultEngineTest, RuleOnlyFiresWhenItsMatchAccepts) {
  ASSERT_TRUE(
      engine_.AddRule(Rule(R"({"match":{"out_trade_no":"FAIL-*"},"action":{"kind":"pay.fail"}})"))
          .ok());
  FaultContext c = Ctx();
  EXPECT_TRUE(engine_.Decide(FaultHook::kPayment, c).empty());
  c.out_trade_no = "FAIL-1";
  EXPECT_EQ(engine_.Decide(FaultHook::kPayment, c).size(), 1u);
}

TEST_F(FaultEngineTest, CountLimitsFirings) {
  ASSERT_TRUE(engine_.AddRule(Rule(R"({"id":"c","action":{"kind":"pay.fail"},"count":2})")).ok());
  int fired = 0;
  for (int i = 0; i < 5; ++i)
    fired += static_cast<int>(engine_.Decide(FaultHook::kPayment, Ctx()).size());
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(engine_.ListRules()[0].fired, 2);
}

std::vector<bool> Draws(uint64_t engine_seed, const char* rule, int n) {
  FakeClock clock;
  FaultEngine e(clock, Options(engine_seed));
  EXPECT_TRUE(e.AddRule(Rule(rule)).ok());
  std::vector<bool> out;
  for (int i = 0; i < n; ++i) out.push_back(!e.Decide(FaultHook::kPayment, Ctx()).empty());
  return out;
}

TEST(FaultEngineProbability, SameSeedSameDecisions) {
  const char* rule = R"({"id":"p","action":{"kind":"pay.fail"},"probability":0.3,"seed":99})";
  EXPECT_EQ(Draws(1, rule, 500), Draws(2, rule, 500));  // explicit seed: engine seed irrelevant
  const char* derived = R"({"id":"p","action":{"kind":"pay.fail"},"probability":0.3})";
  EXPECT_EQ(Draws(5, derived, 500), Draws(5, derived, 500));
  EXPECT_NE(Draws(5, derived, 500), Draws(6, derived, 500));
}

TEST(FaultEngineProbability, DifferentSeedsDiffer) {
  EXPECT_NE(Draws(1, R"({"action":{"kind":"pay.fail"},"probability":0.5,"seed":1})", 200),
            Draws(1, R"({"action":{"kind":"pay.fail"},"probability":0.5,"seed":2})", 200));
}

TEST(FaultEngineProbability, RateIsRoughlyRightOverTenThousandDraws) {
  for (double p : {0.02, 0.3, 0.75}) {
    const std::string rule =
        R"({"action":{"kind":"pay.fail"},"seed":12345,"probability":)" + std::to_string(p) + "}";
    std::vector<bool> d = Draws(0, rule.c_str(), 10000);
    const double rate = static_cast<double>(std::count(d.begin(), d.end(), true)) / 10000.0;
    // 5 standard deviations of a binomial(10000, p): fails by chance ~1 in 1.7 million.
    const double bound = 5.0 * std::sqrt(p * (1 - p) / 10000.0);
    EXPECT_NEAR(rate, p, bound) << p;
  }
}

TEST(FaultEngineProbability, ZeroNeverAndOneAlways) {
  std::vector<bool> never = Draws(0, R"({"action":{"kind":"pay.fail"},"probability":0})", 100);
  std::vector<bool> always = Draws(0, R"({"action":{"kind":"pay.fail"},"probability":1})", 100);
  EXPECT_EQ(std::count(never.begin(), never.end(), true), 0);
  EXPECT_EQ(std::count(always.begin(), always.end(), true), 100);
}

TEST_F(FaultEngineTest, DelayRangeIsDrawnWithinBoundsAndReproducibly) {
  const char* rule = R"({"action":{"kind":"api.delay","params":{"ms":200,"max_ms":800}},"seed":3})";
  ASSERT_TRUE(engine_.AddRule(Rule(rule)).ok());
  FakeClock clock2;
  FaultEngine other(clock2, Options());
  ASSERT_TRUE(other.AddRule(Rule(rule)).ok());
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    std::vector<FaultDecision> a = engine_.Decide(FaultHook::kApiBefore, Ctx());
    std::vector<FaultDecision> b = other.Decide(FaultHook::kApiBefore, Ctx());
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].fault.params.ms, b[0].fault.params.ms);
    EXPECT_GE(a[0].fault.params.ms, 200);
    EXPECT_LE(a[0].fault.params.ms, 800);
    EXPECT_EQ(a[0].fault.params.max_ms, 0);
    seen.insert(a[0].fault.params.ms);
  }
  EXPECT_GT(seen.size(), 50u);
}

TEST_F(FaultEngineTest, HeaderAttachAmountRuleProfileInThatOrder) {
  ASSERT_TRUE(engine_.SetProfile("realistic").ok());
  ASSERT_TRUE(engine_.AddRule(Rule(R"({"id":"mine","action":{"kind":"notify.bad_sign"}})")).ok());
  FaultContext c = Ctx("webpay", 100104);  // magic: notify=dup
  c.header_directive = "notify=delay:5s";
  c.attach = "sandbox:notify=drop:2";
  std::vector<FaultDecision> ds = engine_.Decide(FaultHook::kNotify, c);
  ASSERT_EQ(ds.size(), 5u);
  EXPECT_EQ(ds[0].source, "header");
  EXPECT_EQ(ds[0].fault.kind, FaultKind::kNotifyDelay);
  EXPECT_EQ(ds[1].source, "attach");
  EXPECT_EQ(ds[1].fault.kind, FaultKind::kNotifyDropFirst);
  EXPECT_EQ(ds[2].source, "amount");
  EXPECT_EQ(ds[2].rule_id, "amount:1001.04");
  EXPECT_EQ(ds[2].fault.kind, FaultKind::kNotifyDuplicate);
  EXPECT_EQ(ds[3].source, "rule");
  EXPECT_EQ(ds[3].rule_id, "mine");
  EXPECT_EQ(ds[4].source, "profile");
  EXPECT_EQ(ds[4].rule_id, "realistic.notify-duplicate");
}

TEST_F(FaultEngineTest, InvalidDirectivesAreIgnoredByDecideAndRefusedByValidate) {
  FaultContext c = Ctx();
  c.attach = "sandbox:pay=explode";
  EXPECT_TRUE(engine_.Decide(FaultHook::kPayment, c).empty());
  Status st = ValidateDirectives("", c.attach);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidField);
  st = ValidateDirectives("api=nope", "");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidField);
  EXPECT_TRUE(ValidateDirectives("api=close", "sandbox:pay=fail").ok());
  EXPECT_TRUE(ValidateDirectives("", "just merchant data").ok());
}

TEST_F(FaultEngineTest, MagicAmountsFireAtTheirHookAndCanBeTurnedOff) {
  EXPECT_EQ(Kinds(engine_.Decide(FaultHook::kPayment, Ctx("webpay", 100101))),
            std::vector<FaultKind>{FaultKind::kPayFail});
  EXPECT_TRUE(engine_.Decide(FaultHook::kApiBefore, Ctx("webpay", 100101)).empty());
  EXPECT_EQ(Kinds(engine_.Decide(FaultHook::kApiBefore, Ctx("webpay", 100106))),
            std::vector<FaultKind>{FaultKind::kApiFail});
  FaultsConfig cfg;
  cfg.magic_amounts = false;
  ASSERT_TRUE(engine_.Configure(cfg).ok());
  EXPECT_TRUE(engine_.Decide(FaultHook::kPayment, Ctx("webpay", 100101)).empty());
}

TEST_F(FaultEngineTest, EveryFiringIsRecorded) {
  clock_.SetMicros(1'800'000'000'000'000);
  FaultContext c = Ctx("micropay", 100101);
  c.out_trade_no = "T-77";
  ASSERT_EQ(engine_.Decide(FaultHook::kPayment, c).size(), 1u);
  std::vector<InjectedFault> log = engine_.Log(0);
  ASSERT_EQ(log.size(), 1u);
  const InjectedFault& f = log[0];
  EXPECT_EQ(f.seq, 1u);
  EXPECT_EQ(f.time_us, 1'800'000'000'000'000);
  EXPECT_EQ(f.source, "amount");
  EXPECT_EQ(f.rule_id, "amount:1001.01");
  EXPECT_EQ(f.hook, FaultHook::kPayment);
  EXPECT_EQ(f.fault.kind, FaultKind::kPayFail);
  EXPECT_EQ(f.method, "micropay");
  EXPECT_EQ(f.merchantno, "10001");
  EXPECT_EQ(f.out_trade_no, "T-77");
  json j = json::parse(InjectedFaultJson(f).dump());
  EXPECT_EQ(j["kind"], "pay.fail");
  EXPECT_EQ(j["hook"], "payment");
  EXPECT_EQ(j["amount"], 1001.01);
  EXPECT_EQ(j["params"], json::object());
}

TEST(FaultEngineLog, RingKeepsTheNewestAndSinceSeqFilters) {
  FakeClock clock;
  FaultEngineOptions o = Options();
  o.log_capacity = 5;
  FaultEngine e(clock, o);
  ASSERT_TRUE(e.AddRule(Rule(R"({"action":{"kind":"pay.fail"}})")).ok());
  std::vector<uint64_t> via_callback;
  e.SetLogCallback([&](const InjectedFault& f) { via_callback.push_back(f.seq); });
  for (int i = 0; i < 12; ++i) e.Decide(FaultHook::kPayment, Ctx());
  EXPECT_EQ(via_callback.size(), 12u);
  EXPECT_EQ(e.last_seq(), 12u);
  std::vector<InjectedFault> all = e.Log(0);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().seq, 8u);
  EXPECT_EQ(all.back().seq, 12u);
  std::vector<InjectedFault> since = e.Log(10);
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0].seq, 11u);
  EXPECT_EQ(e.Log(0, 2).size(), 2u);
  EXPECT_TRUE(e.Log(12).empty());
}

TEST(FaultEngineLog, DefaultCapacityIsTenThousand) {
  FakeClock clock;
  FaultEngine e(clock, Options());
  ASSERT_TRUE(e.AddRule(Rule(R"({"action":{"kind":"pay.fail"}})")).ok());
  for (int i = 0; i < 10'050; ++i) e.Decide(FaultHook::kPayment, Ctx());
  std::vector<InjectedFault> all = e.Log(0, 20'000);
  ASSERT_EQ(all.size(), 10'000u);
  EXPECT_EQ(all.front().seq, 51u);
}

TEST_F(FaultEngineTest, AddListRemoveClear) {
  StatusOr<std::string> a = engine_.AddRule(Rule(R"({"action":{"kind":"pay.fail"}})"));
  StatusOr<std::string> b =
      engine_.AddRule(Rule(R"({"id":"named","action":{"kind":"pay.cancel"}})"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, "rule-1");
  EXPECT_EQ(*b, "named");
  StatusOr<std::string> dup =
      engine_.AddRule(Rule(R"({"id":"named","action":{"kind":"pay.fail"}})"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "id: duplicate id \"named\"");
  ASSERT_TRUE(engine_.SetProfile("realistic").ok());
  std::vector<RuleState> rules = engine_.ListRules();
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].source, "rule");
  EXPECT_EQ(rules[2].source, "profile");
  EXPECT_TRUE(rules[0].rule.seed.has_value());  // derived seed is shown
  EXPECT_TRUE(engine_.RemoveRule("rule-1").ok());
  Status missing = engine_.RemoveRule("rule-1");
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.message(), "no runtime rule with id \"rule-1\"");
  EXPECT_EQ(engine_.RemoveRule("realistic.slow-answer").code(), ErrorCode::kNotFound);
  engine_.Clear();
  EXPECT_TRUE(engine_.ListRules().empty());
  EXPECT_EQ(engine_.profile(), "strict");
}

TEST_F(FaultEngineTest, ProfilesLoadByNameAndUnknownOnesLeaveTheProfile) {
  ASSERT_TRUE(engine_.SetProfile("refund-delays").ok());
  EXPECT_EQ(engine_.profile(), "refund-delays");
  EXPECT_EQ(engine_.SetProfile("nope").code(), ErrorCode::kNotFound);
  EXPECT_EQ(engine_.profile(), "refund-delays");
  EXPECT_EQ(Kinds(engine_.Decide(FaultHook::kRefund, Ctx("orderrefund"))).back(),
            FaultKind::kRefundProcessing);
}

TEST_F(FaultEngineTest, RealisticDuplicatesEveryNotification) {
  ASSERT_TRUE(engine_.SetProfile("realistic").ok());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Kinds(engine_.Decide(FaultHook::kNotify, Ctx())),
              std::vector<FaultKind>{FaultKind::kNotifyDuplicate});
  }
}

TEST_F(FaultEngineTest, ConfigureSetsProfileAndRulesOrChangesNothing) {
  StatusOr<FaultsConfig> cfg = ParseFaultsConfig(json::parse(
      R"({"profile":"notify-outage","rules":[{"action":{"kind":"pay.fail"}},{"action":{"kind":"pay.cancel"}}]})"));
  ASSERT_TRUE(cfg.ok());
  ASSERT_TRUE(engine_.Configure(*cfg).ok());
  EXPECT_EQ(engine_.profile(), "notify-outage");
  std::vector<RuleState> rules = engine_.ListRules();
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].rule.id, "rule-1");
  EXPECT_EQ(rules[1].rule.id, "rule-2");
  FaultsConfig bad;
  bad.profile = "missing";
  Status st = engine_.Configure(bad);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_EQ(st.message().rfind("faults.profile: no profile named \"missing\"", 0), 0u)
      << st.message();
  EXPECT_EQ(engine_.ListRules().size(), 3u);
}

TEST_F(FaultEngineTest, MerchantIsSuspendedAfterConsecutiveFailures) {
  ASSERT_TRUE(
      engine_
          .AddRule(Rule(
              R"({"id":"susp","action":{"kind":"merchant.suspend_after","params":{"failures":3}}})"))
          .ok());
  FaultContext c = Ctx();
  EXPECT_FALSE(engine_.RecordDelivery(c, false));
  EXPECT_FALSE(engine_.RecordDelivery(c, false));
  EXPECT_FALSE(engine_.RecordDelivery(c, true));  // an ack resets the run
  EXPECT_FALSE(engine_.RecordDelivery(c, false));
  EXPECT_FALSE(engine_.RecordDelivery(c, false));
  EXPECT_FALSE(engine_.IsSuspended("10001"));
  EXPECT_TRUE(engine_.RecordDelivery(c, false));
  EXPECT_TRUE(engine_.IsSuspended("10001"));
  EXPECT_FALSE(engine_.IsSuspended("20002"));

  std::vector<FaultDecision> ds = engine_.Decide(FaultHook::kApiBefore, c);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].source, "suspended");
  EXPECT_EQ(ds[0].rule_id, "susp");
  EXPECT_EQ(ds[0].fault.params.err_code, "MERCHANT_SUSPENDED");
  std::vector<InjectedFault> log = engine_.Log(0);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].hook, FaultHook::kMerchant);
  EXPECT_EQ(log[0].fault.kind, FaultKind::kMerchantSuspendAfter);

  ASSERT_EQ(engine_.SuspendedMerchants().size(), 1u);
  EXPECT_TRUE(engine_.ResetMerchant("10001"));
  EXPECT_FALSE(engine_.IsSuspended("10001"));
  EXPECT_TRUE(engine_.Decide(FaultHook::kApiBefore, c).empty());
  EXPECT_FALSE(engine_.ResetMerchant("10001"));
}

TEST_F(FaultEngineTest, NoSuspensionWithoutARule) {
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(engine_.RecordDelivery(Ctx(), false));
  EXPECT_FALSE(engine_.IsSuspended("10001"));
}

TEST_F(FaultEngineTest, CountLimitHoldsAcrossThreads) {
  ASSERT_TRUE(engine_.AddRule(Rule(R"({"action":{"kind":"pay.fail"},"count":100})")).ok());
  std::atomic<int> fired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        fired += static_cast<int>(engine_.Decide(FaultHook::kPayment, Ctx()).size());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fired.load(), 100);
  EXPECT_EQ(engine_.last_seq(), 100u);
}

// Regression: the record named 1001.10 "amount:1001.1", not as the magic
// amount table (and docs/faults.md) spell it.
TEST(FaultEngine, AmountRuleIdKeepsTwoDecimals) {
  FakeClock clock;
  FaultEngine engine(clock, Options(1));
  FaultContext ctx;
  ctx.method = "webpay";
  ctx.amount_fen = 100110;
  std::vector<FaultDecision> ds = engine.Decide(FaultHook::kNotify, ctx);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule_id, "amount:1001.10");
}

}  // namespace
}  // namespace vkspay::sandbox
