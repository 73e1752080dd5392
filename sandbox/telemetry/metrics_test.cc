#include "sandbox/telemetry/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "sandbox/telemetry/latency_histogram.h"

namespace vkspay::sandbox {
namespace {

// The sample line of `series` ("name{labels}") in `text`, or "".
std::string Line(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      return text.substr(at, text.find('\n', at) - at);
    }
    at += series.size();
  }
  return "";
}

TEST(PromWriter, EscapesBackslashQuoteAndNewlineInLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  PromWriter w;
  w.Family("vkspay_x_total", "counter", "Help with a \\ and\na newline.");
  w.Sample("vkspay_x_total", {{"method", "we\"ird\n"}}, int64_t{3});
  EXPECT_EQ(w.text(),
            "# HELP vkspay_x_total Help with a \\\\ and\\na newline.\n"
            "# TYPE vkspay_x_total counter\n"
            "vkspay_x_total{method=\"we\\\"ird\\n\"} 3\n");
}

TEST(PromWriter, WritesDoublesShortestAndSpecialValuesAsPrometheusSpellsThem) {
  PromWriter w;
  w.Sample("a", {}, 0.25);
  w.Sample("b", {}, 1.0 / 3);
  w.Sample("c", {}, std::numeric_limits<double>::infinity());
  EXPECT_EQ(w.text(), "a 0.25\nb 0.3333333333333333\nc +Inf\n");
}

TEST(AtomicHistogram, BucketsAreCumulativeWithInfEqualToCount) {
  AtomicHistogram h({100, 1000});
  for (int64_t us : {50, 100, 101, 1000, 5000}) h.Observe(us);
  PromWriter w;
  h.Write(w, "d_seconds", {{"method", "webpay"}});
  const std::string t = w.text();
  EXPECT_EQ(Line(t, "d_seconds_bucket{method=\"webpay\",le=\"0.0001\"}"),
            "d_seconds_bucket{method=\"webpay\",le=\"0.0001\"} 2");  // le is inclusive
  EXPECT_EQ(Line(t, "d_seconds_bucket{method=\"webpay\",le=\"0.001\"}"),
            "d_seconds_bucket{method=\"webpay\",le=\"0.001\"} 4");
  EXPECT_EQ(Line(t, "d_seconds_bucket{method=\"webpay\",le=\"+Inf\"}"),
            "d_seconds_bucket{method=\"webpay\",le=\"+Inf\"} 5");
  EXPECT_EQ(Line(t, "d_seconds_count{method=\"webpay\"}"), "d_seconds_count{method=\"webpay\"} 5");
  EXPECT_EQ(Line(t, "d_seconds_sum{method=\"webpay\"}"),
            "d_seconds_sum{method=\"webpay\"} 0.006251");
}

TEST(ApiStats, CountsByMethodAndCodeAndKeepsTheStatsJsonShape) {
  ApiStats s;
  s.Record("webpay", "", 120);
  s.Record("webpay", "", 300);
  s.Record("webpay", "SIGN_ERROR", 40);
  s.Record("", "INVALID_JSON", 10);
  EXPECT_EQ(s.Count("webpay", "SUCCESS"), 2);
  EXPECT_EQ(s.Count("webpay", "SIGN_ERROR"), 1);
  EXPECT_EQ(s.Count("-", "INVALID_JSON"), 1);
  EXPECT_EQ(s.Count("orderquery", "SUCCESS"), 0);

  const nlohmann::json j = s.ToJson();
  EXPECT_EQ(j["webpay"]["count"], 3);
  EXPECT_EQ(j["webpay"]["errors"], 1);
  EXPECT_FALSE(j.contains("orderquery"));  // only methods seen, as before
  // The latency JSON reads back as the LatencyHistogram it always was.
  const LatencyHistogram h = LatencyHistogram::FromJson(j["webpay"]["latency"]);
  EXPECT_EQ(h.count(), 3);
  EXPECT_EQ(h.max(), 300);
  EXPECT_EQ(j["webpay"]["latency"]["sum_us"], 460);
  EXPECT_EQ(h.ValueAt(0.5), 120);
}

TEST(ApiStats, BoundsTheLabelsACallerCanCreate) {
  ApiStats s;
  for (int i = 0; i < 100; ++i) s.Record("m" + std::to_string(i), "", 1);
  int64_t named = 0;
  for (int i = 0; i < 100; ++i) named += s.Count("m" + std::to_string(i), "SUCCESS");
  EXPECT_EQ(named, static_cast<int64_t>(ApiStats::kMaxExtraMethods));
  EXPECT_EQ(s.Count("other", "SUCCESS"), 100 - static_cast<int64_t>(ApiStats::kMaxExtraMethods));
  for (int i = 0; i < 200; ++i) s.Record("webpay", "E" + std::to_string(i), 1);
  EXPECT_EQ(s.Count("webpay", "other"), 200 - static_cast<int64_t>(ApiStats::kMaxCodes));
}

TEST(ApiStats, ConcurrentRecordsAreAllCounted) {
  ApiStats s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 20000; ++i) {
        s.Record(i % 2 ? "webpay" : "orderquery", i % 3 ? "" : "SIGN_ERROR", i % 500);
        if (i % 1000 == 0) s.Record("new" + std::to_string(t), "X" + std::to_string(i), 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(s.Count("webpay", "SUCCESS") + s.Count("webpay", "SIGN_ERROR") +
                s.Count("orderquery", "SUCCESS") + s.Count("orderquery", "SIGN_ERROR"),
            80000);
  for (int t = 0; t < 4; ++t) {
    int64_t n = 0;
    for (int i = 0; i < 20000; i += 1000)
      n += s.Count("new" + std::to_string(t), "X" + std::to_string(i));
    EXPECT_EQ(n, 20) << t;
  }
  PromWriter w;
  s.WritePrometheus(w);
  EXPECT_NE(w.text().find("vkspay_api_request_duration_seconds_count{method=\"webpay\"} 40000"),
            std::string::npos)
      << w.text();
}

TEST(DeliveryStats, CountsAttemptsByKindAndOutcomeAndObservesOnlySentOnes) {
  DeliveryStats d;
  d.RecordAttempt("attempt", "acked", true, 2000);
  d.RecordAttempt("attempt", "timeout", true, 5'000'000);
  d.RecordAttempt("attempt", "blocked", false, 0);
  d.RecordAttempt("duplicate", "acked", true, 1500);
  d.RecordAttempt("weird", "strange", true, 10);
  d.RecordRetryScheduled();
  EXPECT_EQ(d.attempts("attempt", "acked"), 1);
  EXPECT_EQ(d.attempts("attempt", "blocked"), 1);
  EXPECT_EQ(d.attempts("extra", "other"), 1);
  PromWriter w;
  d.WritePrometheus(w);
  const std::string t = w.text();
  EXPECT_EQ(Line(t, "vkspay_notify_attempts_total{kind=\"attempt\",outcome=\"timeout\"}"),
            "vkspay_notify_attempts_total{kind=\"attempt\",outcome=\"timeout\"} 1");
  EXPECT_EQ(Line(t, "vkspay_notify_delivery_duration_seconds_count"),
            "vkspay_notify_delivery_duration_seconds_count 4");
  EXPECT_EQ(Line(t, "vkspay_notify_retries_scheduled_total"),
            "vkspay_notify_retries_scheduled_total 1");
}

}  // namespace
}  // namespace vkspay::sandbox
