// The pure parts of `vkspay-bench merchant`: flag checks, the ramp's
// schedule and the ledger that voids a run.
#include "bench/merchant.h"

#include <gtest/gtest.h>

namespace vkspay::bench {
namespace {

MerchantOptions Open(double rate, double duration_s) {
  MerchantOptions o;
  o.notify_url = "http://127.0.0.1:9100/notify";
  o.rate = rate;
  o.duration_s = duration_s;
  return o;
}

TEST(MerchantFlags, RateSpecs) {
  double a = 0, b = 0;
  EXPECT_TRUE(ParseRateSpec("500", &a, &b));
  EXPECT_EQ(a, 500);
  EXPECT_EQ(b, 0);
  EXPECT_TRUE(ParseRateSpec("100..1000", &a, &b));
  EXPECT_EQ(a, 100);
  EXPECT_EQ(b, 1000);
  for (const char* bad : {"", "fast", "100..", "..100", "1e2x", "100...200"}) {
    EXPECT_FALSE(ParseRateSpec(bad, &a, &b)) << bad;
  }
}

TEST(MerchantFlags, ErrorBudgets) {
  double v = 0;
  bool pct = false;
  EXPECT_TRUE(ParseErrorBudget("12", &v, &pct));
  EXPECT_EQ(v, 12);
  EXPECT_FALSE(pct);
  EXPECT_TRUE(ParseErrorBudget("0.5%", &v, &pct));
  EXPECT_EQ(v, 0.5);
  EXPECT_TRUE(pct);
  for (const char* bad : {"", "%", "-1", "101%", "ten"})
    EXPECT_FALSE(ParseErrorBudget(bad, &v, &pct)) << bad;
}

TEST(MerchantFlags, EachMistakeNamesItsFlag) {
  EXPECT_EQ(ValidateMerchantOptions(Open(100, 10)), "");
  struct Case {
    MerchantOptions o;
    std::string flag;
  };
  std::vector<Case> cases;
  MerchantOptions o = Open(100, 10);
  o.concurrency = 4;
  cases.push_back({o, "exactly one of"});
  o = Open(100, 10);
  o.warmup_s = 10;
  cases.push_back({o, "--warmup"});
  o = Open(100, 10);
  o.duplicates = 1.5;
  cases.push_back({o, "--duplicates"});
  o = Open(100, 10);
  o.total_fee = "0.001";
  cases.push_back({o, "--total-fee"});
  o = Open(100, 10);
  o.count = 5;
  cases.push_back({o, "one of --duration"});
  o = Open(100, 0);
  o.rate_to = 300;
  o.step = 100;
  cases.push_back({o, "--step-duration"});
  o = Open(100, 10);
  o.sandbox_listen = "0.0.0.0:8080";
  cases.push_back({o, "--sandbox-listen"});
  o = Open(100, 10);
  o.base_url = "http://192.168.1.5:8080";
  cases.push_back({o, "--base-url"});
  for (const Case& c : cases) {
    const std::string e = ValidateMerchantOptions(c.o);
    EXPECT_NE(e.find(c.flag), std::string::npos) << "\"" << e << "\" should name " << c.flag;
  }
}

TEST(MerchantFlags, MoreThanFiveMillionPaymentsAreRefused) {
  MerchantOptions o = Open(5000, 1000);  // exactly the bound
  EXPECT_EQ(ValidateMerchantOptions(o), "");
  o = Open(2000, 3600);
  EXPECT_EQ(ValidateMerchantOptions(o),
            "--rate x --duration: at most 5000000 payments, asked for 7200000");
  o = Open(100, 0);
  o.count = 5'000'001;
  EXPECT_EQ(ValidateMerchantOptions(o), "--count: at most 5000000 payments, got 5000001");
  o = Open(0, 0);
  o.concurrency = 8;
  o.count = 5'000'001;
  EXPECT_EQ(ValidateMerchantOptions(o), "--count: at most 5000000 payments, got 5000001");
  o.count = 0;
  o.duration_s = 3600;  // a closed run stops at the bound instead
  EXPECT_EQ(ValidateMerchantOptions(o), "");
}

TEST(MerchantFlags, ARampOfMoreThanFiveMillionPaymentsIsRefused) {
  // Steps of 1000, 2000, 3000/s for 1200 s each: 7,200,000 payments.
  MerchantOptions o = Open(1000, 0);
  o.rate_to = 3000;
  o.step = 1000;
  o.step_duration_s = 1200;
  const std::string e = ValidateMerchantOptions(o);
  EXPECT_EQ(e.rfind("the ramp would make 7200000 payments; at most 5000000", 0), 0u) << e;
  o.step_duration_s = 600;  // 3,600,000
  EXPECT_EQ(ValidateMerchantOptions(o), "");
}

TEST(MerchantDuplicates, TheSeedPicksTheSameOrdersAboutTheFraction) {
  MerchantOptions o = Open(100, 10);
  o.duplicates = 0.1;
  int picked = 0, same = 0;
  MerchantOptions other = o;
  other.seed = 2;
  for (int64_t k = 0; k < 10000; ++k) {
    picked += DeliveredTwice(o, k) ? 1 : 0;
    same += DeliveredTwice(o, k) == DeliveredTwice(other, k) ? 1 : 0;
  }
  EXPECT_NEAR(picked, 1000, 100);
  EXPECT_LT(same, 10000);  // another seed, other orders
  EXPECT_EQ(DeliveredTwice(o, 1234), DeliveredTwice(o, 1234));
  o.duplicates = 0;
  EXPECT_FALSE(DeliveredTwice(o, 1234));
}

TEST(MerchantSchedule, ARampRisesStepByStep) {
  MerchantOptions o = Open(100, 0);
  o.rate_to = 300;
  o.step = 100;
  o.step_duration_s = 2;
  ASSERT_EQ(ValidateMerchantOptions(o), "");
  const std::vector<RateStep> steps = PlanSteps(o);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].count, 200);
  EXPECT_EQ(steps[1].count, 400);
  EXPECT_EQ(steps[2].first, 600);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 0), 0);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 199), 1.99);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 200), 2.0);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 600), 4.0);
  EXPECT_NEAR(ScheduledAt(steps, 1199), 4.0 + 599.0 / 300, 1e-9);
  // A constant rate is one step; --count sets its length.
  MerchantOptions c = Open(50, 0);
  c.count = 25;
  const std::vector<RateStep> one = PlanSteps(c);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].count, 25);
  EXPECT_DOUBLE_EQ(one[0].duration_s, 0.5);
}

TEST(MerchantLedger, BalancesOrSaysWhyItIsVoid) {
  LedgerCounts c;
  c.scheduled = 10;
  c.acked = 7;
  c.failed = 1;
  c.pending = 1;
  c.dropped = 1;
  EXPECT_TRUE(BalanceLedger(c)["balanced"].get<bool>());
  c.have_sandbox = true;
  c.sandbox_acked = 7;
  c.sandbox_failed = 1;
  c.sandbox_pending = 1;
  EXPECT_TRUE(BalanceLedger(c)["balanced"].get<bool>());

  LedgerCounts lost = c;
  lost.feed_missed = 3;
  Json j = BalanceLedger(lost);
  EXPECT_FALSE(j["balanced"].get<bool>());
  EXPECT_NE(j["void_reasons"][0].get<std::string>().find("feed"), std::string::npos);

  LedgerCounts disagree = c;
  disagree.sandbox_acked = 8;  // an ack the bench never saw
  j = BalanceLedger(disagree);
  EXPECT_FALSE(j["balanced"].get<bool>());
  EXPECT_NE(j["void_reasons"][0].get<std::string>().find("acked"), std::string::npos);

  LedgerCounts twice = c;
  twice.double_acks = 1;
  EXPECT_FALSE(BalanceLedger(twice)["balanced"].get<bool>());
  LedgerCounts sum = c;
  sum.scheduled = 11;
  EXPECT_FALSE(BalanceLedger(sum)["balanced"].get<bool>());
}

// A balanced ledger of 20 payments with `acked` of them acked, the rest pending.
Json Ledger(int64_t acked) {
  LedgerCounts c;
  c.scheduled = 20;
  c.acked = acked;
  c.pending = 20 - acked;
  return BalanceLedger(c);
}

TEST(MerchantVerdict, NothingAckedFailsWithoutThresholds) {
  const Json v = DecideVerdict(Ledger(0), Json::array(), nullptr, 0, 0, "the hint");
  EXPECT_EQ(v["exit_code"], kExitFailed);
  EXPECT_EQ(v["text"],
            "FAILED: nothing was acked: 20 of 20 notifications still unacked after the drain (20 "
            "pending)");
  EXPECT_EQ(v["hint"], "the hint");
}

TEST(MerchantVerdict, SomeLeftUnackedFailsAndSaysHowMany) {
  const Json v = DecideVerdict(Ledger(17), Json::array(), nullptr, 17, 3, "the hint");
  EXPECT_EQ(v["exit_code"], kExitFailed);
  EXPECT_EQ(v["text"], "FAILED: 3 of 20 notifications still unacked after the drain (3 pending)");
}

TEST(MerchantVerdict, EveryReasonIsNamedAndAPassKeepsNoHint) {
  const Json missed = Json::array({{{"flag", "--expect-p99"}, {"passed", false}},
                                   {{"flag", "--expect-rate"}, {"passed", true}}});
  const Json once = {{"checked", 20}, {"violations", 2}};
  Json v = DecideVerdict(Ledger(20), missed, once, 20, 3, "the hint");
  EXPECT_EQ(v["exit_code"], kExitFailed);
  EXPECT_EQ(v["text"],
            "FAILED: a threshold was missed (--expect-p99); 2 order(s) not processed exactly once");
  EXPECT_EQ(v["hint"], "") << "the hint is about non-acks";

  v = DecideVerdict(Ledger(20), Json::array(), nullptr, 20, 3.3, "the hint");
  EXPECT_EQ(v["exit_code"], 0);
  EXPECT_EQ(v["text"],
            "PASSED: 20.0 acked/s, p99 from schedule 3.3 ms (no thresholds set), every "
            "notification acked");
  EXPECT_EQ(v["hint"], "");

  Json unbalanced = Ledger(0);
  unbalanced["balanced"] = false;
  EXPECT_EQ(DecideVerdict(unbalanced, missed, once, 0, 0, "the hint")["exit_code"], kExitVoid);
}

TEST(MerchantVerdict, HintsOnlyWhenEveryFirstAttemptFailedTheSameWay) {
  MerchantOptions o = Open(100, 10);
  o.merchantno = "10002";
  NonAckCounts c;
  c.first_attempts = 20;
  c.first_http_400 = 20;
  c.non_acked = 45;
  c.http_400 = 45;
  EXPECT_EQ(NonAckHint(c, o),
            "every notification was refused with HTTP 400 from its first attempt: does the "
            "handler use this merchant's key (--merchantno 10002, --key)?");
  c.http_400 = 44;  // one retry failed another way
  EXPECT_EQ(NonAckHint(c, o), "");

  c = NonAckCounts();
  c.first_attempts = 20;
  c.first_connect_errors = 20;
  c.non_acked = 60;
  c.connect_errors = 60;
  EXPECT_EQ(NonAckHint(c, o),
            "no attempt could connect: is anything listening on http://127.0.0.1:9100/notify?");
  c.first_connect_errors = 19;  // one first attempt got through
  EXPECT_EQ(NonAckHint(c, o), "");
  EXPECT_EQ(NonAckHint(NonAckCounts(), o), "");
}

}  // namespace
}  // namespace vkspay::bench
