// The merchant report's renderings from synthetic reports: what a CI server
// reads from the JUnit file, what a reader sees first in the Markdown, and
// that the SVG is well-formed XML whatever the notify URL holds.
#include "bench/merchant_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vkspay::bench {
namespace {

namespace fs = std::filesystem;

constexpr char kUrl[] = "http://127.0.0.1:9000/notify?a=1&b=<2>";
constexpr char kUrlEscaped[] = "http://127.0.0.1:9000/notify?a=1&amp;b=&lt;2&gt;";

// An open run at 300/s against a handler that misses its p99 threshold, with
// some non-acks, three ramp steps (as if it had been a ramp: the Markdown
// decides on the count alone), five seconds of series and a histogram.
Json SyntheticReport() {
  Json r;
  r["schema"] = "vkspay-bench-merchant/1";
  r["generated_at"] = "2026-12-05T10:00:00Z";
  r["command"] = "vkspay-bench merchant --rate 300";
  r["machine"] = {{"host", "vm"},
                  {"cpus", 2},
                  {"cpu_model", "x"},
                  {"kernel", "6.1"},
                  {"build_type", "RelWithDebInfo"},
                  {"compiler", "g++ 12"}};
  r["target"] = {{"notify_url", kUrl},
                 {"merchantno", "10001"},
                 {"sandbox", "started at http://127.0.0.1:40001"},
                 {"state_url", ""}};
  r["load"] = {{"model", "open"},      {"rate", 300},
               {"rate_to", 0},         {"step", 0},
               {"step_duration_s", 0}, {"concurrency", 0},
               {"duration_s", 5},      {"count", 0},
               {"warmup_s", 1},        {"drain_s", 30},
               {"duplicates", 0.01},   {"notify_profile", "vkspay"},
               {"time_scale", 0.01},   {"seed", 1}};
  r["window"] = {{"measured_s", 4.25}, {"drain_waited_s", 0.5}};
  const Json lat = {{"count", 1200}, {"mean", 3.1},   {"p50", 2.5},  {"p90", 6.0},
                    {"p99", 61.5},   {"p999", 180.0}, {"max", 240.0}};
  r["results"] = {
      {"scheduled", 1500},
      {"measured", 1200},
      {"acked", 1490},
      {"acked_per_s", 298.0},
      {"latency_ms", {{"from_schedule", lat}, {"send_to_ack", lat}}},
      {"attempts", 1520},
      {"retries", 20},
      {"duplicates_sent", 15},
      {"duplicates_acked", 15},
      {"non_acks",
       {{"connect_error", 0},
        {"timeout", 3},
        {"http_status", 7},
        {"wrong_ack_body", 0},
        {"other", 0}}},
      {"http_statuses", {{"500", 5}, {"503", 2}}},
      {"non_ack_examples", {"HTTP 500: <html>boom | oops</html>", "timeout after 5000 ms"}},
      {"error_rate", 10.0 / 1520},
      {"late_payments", 0},
      {"pay_lag_ms", {{"p99", 0.4}, {"max", 1.2}}},
      {"orderquery_callbacks",
       {{"count", 1490},
        {"per_notification", 1.0},
        {"errors", 0},
        {"latency_ms", {{"p50", 0.3}, {"p99", 1.1}, {"max", 2.0}}}}}};
  r["ledger"] = {
      {"scheduled", 1500}, {"acked", 1490}, {"failed", 0},      {"pending", 10},
      {"blocked", 0},      {"dropped", 0},  {"balanced", true}, {"void_reasons", Json::array()}};
  r["sandbox"] = {
      {"cores", 2},
      {"cpu_percent", {{"mean", 35.0}, {"max", 80.0}}},
      {"queue_depth", {{"mean", 1.5}, {"max", 12}}},
      {"ceiling", {{"orders", 2000}, {"rate_per_s", 9000.0}, {"p99_ms", 3.0}, {"error", ""}}},
      {"limit", "handler"},
      {"limit_reason", "the sandbox had 10x headroom"}};
  r["exactly_once"] = nullptr;
  r["steps"] = Json::array();
  for (int i = 0; i < 3; ++i) {
    r["steps"].push_back({{"rate", 100 * (i + 1)},
                          {"start_s", 2.0 * i},
                          {"duration_s", 2.0},
                          {"scheduled", 200 * (i + 1)},
                          {"acked", 200 * (i + 1)},
                          {"acked_per_s", 100.0 * (i + 1)},
                          {"p50_ms", 2.0},
                          {"p99_ms", 10.0 * (i + 1)},
                          {"non_acks", i}});
  }
  r["series"] = Json::array();
  for (int t = 0; t < 5; ++t) {
    r["series"].push_back({{"t", t},
                           {"scheduled", 300},
                           {"acked", 290 + t},
                           {"non_acks", t},
                           {"p50_ms", 2.5},
                           {"p99_ms", 50.0 + t},
                           {"max_ms", 200.0},
                           {"sandbox_cpu_percent", 30.0},
                           {"queue_depth", 1}});
  }
  r["histogram"] = {{{"from_ms", 1.0}, {"to_ms", 2.0}, {"count", 400}},
                    {{"from_ms", 2.0}, {"to_ms", 4.0}, {"count", 700}},
                    {{"from_ms", 64.0}, {"to_ms", 128.0}, {"count", 12}}};
  r["histogram_kind"] = "log-linear: 16 linear sub-buckets per power of two";
  r["thresholds"] = {{{"name", "acked per second"},
                      {"flag", "--expect-rate"},
                      {"expected", ">= 250"},
                      {"measured", 298.0},
                      {"passed", true}},
                     {{"name", "p99 latency from schedule"},
                      {"flag", "--expect-p99-ms"},
                      {"expected", "<= 50"},
                      {"measured", 61.5},
                      {"passed", false}},
                     {{"name", "non-acked attempts"},
                      {"flag", "--expect-errors"},
                      {"expected", "<= 1%"},
                      {"measured", "0.66%"},
                      {"passed", true}}};
  r["verdict"] = {{"exit_code", 99}, {"text", "1 of 3 thresholds missed"}};
  return r;
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The <testcase ...>...</testcase> (or self-closed one) named `name`.
std::string TestCase(const std::string& junit, const std::string& name) {
  const size_t start = junit.find("<testcase classname=\"vkspay-bench.merchant\" name=\"" + name);
  if (start == std::string::npos) return "";
  const size_t tag_end = junit.find('>', start);
  if (junit[tag_end - 1] == '/') return junit.substr(start, tag_end + 1 - start);
  const size_t end = junit.find("</testcase>", start);
  return junit.substr(start, end - start);
}

// A small XML well-formedness check, enough for what the renderers write:
// tags nest and close, attribute values are quoted, every '&' starts an
// entity, and no text or attribute holds a raw '<'. "" when fine.
std::string XmlProblem(const std::string& x) {
  std::vector<std::string> open;
  size_t i = 0;
  auto entity_ok = [&x](size_t at) {
    const size_t semi = x.find(';', at);
    if (semi == std::string::npos || semi - at > 8) return false;
    const std::string e = x.substr(at + 1, semi - at - 1);
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    if (e.size() < 2 || e[0] != '#') return false;
    return e.find_first_not_of("0123456789", 1) == std::string::npos;
  };
  while (i < x.size()) {
    if (x[i] == '&') {
      if (!entity_ok(i)) return "bad entity at " + std::to_string(i);
      ++i;
      continue;
    }
    if (x[i] != '<') {
      ++i;
      continue;
    }
    if (x.compare(i, 5, "<?xml") == 0) {
      const size_t end = x.find("?>", i);
      if (end == std::string::npos) return "unterminated declaration";
      i = end + 2;
      continue;
    }
    const bool closing = i + 1 < x.size() && x[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < x.size() && (isalnum(static_cast<unsigned char>(x[j])) || x[j] == '-' ||
                            x[j] == ':' || x[j] == '_')) {
      ++j;
    }
    const std::string name = x.substr(name_start, j - name_start);
    if (name.empty()) return "raw '<' at " + std::to_string(i);
    bool self_closing = false;
    while (j < x.size() && x[j] != '>') {
      if (x[j] == '"') {
        const size_t end = x.find('"', j + 1);
        if (end == std::string::npos) return "unterminated attribute in <" + name;
        for (size_t k = j + 1; k < end; ++k) {
          if (x[k] == '<') return "raw '<' in an attribute of <" + name;
          if (x[k] == '&' && !entity_ok(k)) return "bad entity in an attribute of <" + name;
        }
        j = end + 1;
        continue;
      }
      if (x[j] == '/' && j + 1 < x.size() && x[j + 1] == '>') self_closing = true;
      ++j;
    }
    if (j == x.size()) return "unterminated tag <" + name;
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> closes nothing open";
      open.pop_back();
    } else if (!self_closing) {
      open.push_back(name);
    }
    i = j + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return "";
}

TEST(MerchantReportXmlCheck, CatchesWhatItMustCatch) {
  // The checker itself must be able to fail, or the tests below prove nothing.
  EXPECT_EQ(XmlProblem("<a><b x=\"1\"/>t &amp; u</a>"), "");
  EXPECT_NE(XmlProblem("<a>x & y</a>"), "");
  EXPECT_NE(XmlProblem("<a>x < y</a>"), "");
  EXPECT_NE(XmlProblem("<a><b></a>"), "");
  EXPECT_NE(XmlProblem("<a x=\"<\"/>"), "");
}

TEST(MerchantReportJUnit, CountsCasesAndNamesTheMissedThreshold) {
  const std::string junit = RenderMerchantJUnit(SyntheticReport());
  EXPECT_EQ(junit.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  // Three thresholds, the ledger and the acks (10 pending); exactly_once is
  // null, so no case for it.
  EXPECT_NE(junit.find("<testsuite name=\"vkspay-bench merchant\" tests=\"5\" failures=\"2\" "
                       "time=\"4.250\">"),
            std::string::npos)
      << junit;
  EXPECT_EQ(Occurrences(junit, "<failure"), 2u);
  const std::string missed = TestCase(junit, "p99 latency from schedule");
  EXPECT_NE(missed.find("name=\"p99 latency from schedule (--expect-p99-ms &lt;= 50)\""),
            std::string::npos)
      << missed;
  EXPECT_NE(missed.find("<failure message=\"expected &lt;= 50, measured 61.5\""), std::string::npos)
      << missed;
  EXPECT_EQ(TestCase(junit, "acked per second").find("<failure"), std::string::npos);
  EXPECT_EQ(TestCase(junit, "ledger balances").find("<failure"), std::string::npos);
  EXPECT_EQ(junit.find("each order processed exactly once"), std::string::npos);
  EXPECT_EQ(XmlProblem(junit), "") << junit;
}

TEST(MerchantReportJUnit, VoidLedgerFailsLedgerBalances) {
  Json r = SyntheticReport();
  r["ledger"]["balanced"] = false;
  r["ledger"]["void_reasons"] = {"5 deliveries missed by the feed",
                                 "sandbox counts 1488 acked, bench 1490"};
  const std::string junit = RenderMerchantJUnit(r);
  EXPECT_NE(junit.find("failures=\"3\""), std::string::npos) << junit;
  const std::string ledger = TestCase(junit, "ledger balances");
  EXPECT_NE(ledger.find("<failure message=\"the run is void: 5 deliveries missed by the feed; "
                        "sandbox counts 1488 acked, bench 1490\""),
            std::string::npos)
      << ledger;
  EXPECT_EQ(XmlProblem(junit), "") << junit;
}

TEST(MerchantReportJUnit, ExactlyOnceViolationsFailTheirCase) {
  Json r = SyntheticReport();
  r["exactly_once"] = {{"checked", 1490}, {"violations", 0}, {"examples", Json::array()}};
  std::string junit = RenderMerchantJUnit(r);
  EXPECT_NE(junit.find("tests=\"6\" failures=\"2\""), std::string::npos) << junit;
  EXPECT_EQ(TestCase(junit, "each order processed exactly once").find("<failure"),
            std::string::npos);

  r["exactly_once"]["violations"] = 2;
  r["exactly_once"]["examples"] = {"M1 processed 2 times", "M7 processed 0 times"};
  junit = RenderMerchantJUnit(r);
  EXPECT_NE(junit.find("tests=\"6\" failures=\"3\""), std::string::npos) << junit;
  const std::string once = TestCase(junit, "each order processed exactly once");
  EXPECT_NE(once.find("<failure message=\"2 of 1490 orders not processed exactly once: M1 "
                      "processed 2 times; M7 processed 0 times\""),
            std::string::npos)
      << once;
}

TEST(MerchantReportJUnit, UnackedNotificationsFailTheirCaseWithTheHint) {
  Json r = SyntheticReport();
  std::string junit = RenderMerchantJUnit(r);
  EXPECT_NE(TestCase(junit, "every notification acked")
                .find("<failure message=\"10 of 1500 notifications still unacked after the drain "
                      "(10 pending)\"/>"),
            std::string::npos)
      << junit;

  // Regression: a run that acked nothing had no failing case (and exited 0).
  r["ledger"]["acked"] = 0;
  r["ledger"]["pending"] = 1500;
  r["thresholds"] = Json::array();
  r["verdict"] = {
      {"exit_code", 99},
      {"text", "FAILED: nothing was acked"},
      {"hint", "does the handler use this merchant's key (--merchantno 10001, --key)?"}};
  junit = RenderMerchantJUnit(r);
  EXPECT_NE(junit.find("tests=\"2\" failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(TestCase(junit, "every notification acked")
                .find("<failure message=\"nothing was acked: 1500 of 1500 notifications still "
                      "unacked after the drain (1500 pending); does the handler use this "
                      "merchant&apos;s key (--merchantno 10001, --key)?\"/>"),
            std::string::npos)
      << junit;
  EXPECT_EQ(XmlProblem(junit), "") << junit;

  r["ledger"]["acked"] = 1500;
  r["ledger"]["pending"] = 0;
  junit = RenderMerchantJUnit(r);
  EXPECT_NE(junit.find("tests=\"2\" failures=\"0\""), std::string::npos) << junit;
}

TEST(MerchantReportLedger, UnackedTextSaysHowManyAndWhere) {
  Json l = {{"scheduled", 30}, {"acked", 20},  {"failed", 2},
            {"blocked", 1},    {"pending", 4}, {"dropped", 3}};
  EXPECT_EQ(UnackedText(l),
            "7 of 27 notifications still unacked after the drain (4 pending, 2 failed, 1 blocked)");
  l["acked"] = 27;
  l["failed"] = l["blocked"] = l["pending"] = 0;
  EXPECT_EQ(UnackedText(l), "");
  l = {{"scheduled", 5}, {"acked", 0}, {"dropped", 5}};
  EXPECT_EQ(UnackedText(l), "nothing was acked: the sandbox refused all 5 payments");
  l = {{"scheduled", 0}};
  EXPECT_EQ(UnackedText(l), "nothing was acked: no payment was made");
}

TEST(MerchantReportJUnit, EscapesAttributes) {
  Json r = SyntheticReport();
  r["thresholds"][1]["name"] = "p99 \"quoted\" <b> & 'x'\nnext";
  const std::string junit = RenderMerchantJUnit(r);
  EXPECT_NE(junit.find("name=\"p99 &quot;quoted&quot; &lt;b&gt; &amp; &apos;x&apos;&#10;next"),
            std::string::npos)
      << junit;
  EXPECT_EQ(XmlProblem(junit), "") << junit;
}

TEST(MerchantReportMarkdown, VerdictFirstThenFiguresAndLedger) {
  const std::string md = RenderMerchantMarkdown(SyntheticReport(), "run.svg");
  EXPECT_EQ(md.rfind(std::string("# vkspay-bench merchant: ") + kUrl +
                         "\n\n**1 of 3 thresholds "
                         "missed** (exit code 99)",
                     0),
            0u)
      << md;
  EXPECT_NE(md.find("| Payments scheduled | 1500 |"), std::string::npos);
  EXPECT_NE(md.find("| Error rate (non-acked attempts / attempts) | 0.66% |"), std::string::npos);
  EXPECT_NE(md.find("scheduled 1500 = acked 1490 + failed 0 + pending 10 + blocked 0 + dropped "
                    "0: balanced."),
            std::string::npos);
  EXPECT_EQ(md.find("VOID"), std::string::npos);
  EXPECT_NE(md.find("| p99 latency from schedule | `--expect-p99-ms` | <= 50 | 61.5 | **FAIL** |"),
            std::string::npos);
  EXPECT_NE(md.find("What limited the run: **handler**"), std::string::npos);
  EXPECT_NE(md.find("![charts](run.svg)"), std::string::npos);
  EXPECT_NE(md.find("log-linear: 16 linear sub-buckets per power of two"), std::string::npos);
}

TEST(MerchantReportMarkdown, NonAcksTableWithStatusesAndEscapedExamples) {
  Json r = SyntheticReport();
  std::string md = RenderMerchantMarkdown(r, "run.svg");
  EXPECT_NE(md.find("## Non-acks by kind"), std::string::npos);
  EXPECT_NE(md.find("| http_status | 7 |"), std::string::npos);
  EXPECT_NE(md.find("other than 200 (500: 5, 503: 2) |"), std::string::npos) << md;
  EXPECT_EQ(md.find("| timeout | 0"), std::string::npos);
  EXPECT_NE(md.find("- `HTTP 500: <html>boom | oops</html>`"), std::string::npos) << md;
  r["results"]["non_ack_examples"] = {"a `b` c"};
  EXPECT_NE(RenderMerchantMarkdown(r, "run.svg").find("- ``a `b` c``"), std::string::npos);

  for (Json& n : r["results"]["non_acks"]) n = 0;
  md = RenderMerchantMarkdown(r, "run.svg");
  EXPECT_EQ(md.find("Non-acks by kind"), std::string::npos);
}

TEST(MerchantReportMarkdown, TheHintFollowsTheVerdict) {
  Json r = SyntheticReport();
  EXPECT_EQ(RenderMerchantMarkdown(r, "run.svg").find("Hint:"), std::string::npos);
  r["verdict"] = {{"exit_code", 99},
                  {"text", "FAILED: nothing was acked"},
                  {"hint", "no attempt could connect: is anything listening on http://x/n?"}};
  const std::string md = RenderMerchantMarkdown(r, "run.svg");
  EXPECT_NE(md.find("**FAILED: nothing was acked** (exit code 99)\n\nHint: no attempt could "
                    "connect: is anything listening on http://x/n?\n\n"),
            std::string::npos)
      << md;
}

TEST(MerchantReportMarkdown, VoidLedgerSaysVoidWithReasons) {
  Json r = SyntheticReport();
  r["ledger"]["balanced"] = false;
  r["ledger"]["void_reasons"] = {"5 deliveries missed by the feed"};
  const std::string md = RenderMerchantMarkdown(r, "run.svg");
  EXPECT_NE(md.find(": **VOID: 5 deliveries missed by the feed**"), std::string::npos) << md;
}

TEST(MerchantReportMarkdown, StepsTableOnlyForARamp) {
  Json r = SyntheticReport();
  std::string md = RenderMerchantMarkdown(r, "run.svg");
  EXPECT_NE(md.find("## Steps"), std::string::npos);
  EXPECT_NE(md.find("| 300 | 4.0 | 600 | 300.0 | 2.00 | 30.00 | 2 |"), std::string::npos) << md;

  const Json first = r["steps"][0];  // an open run has one step
  r["steps"] = Json::array();
  r["steps"].push_back(first);
  md = RenderMerchantMarkdown(r, "run.svg");
  EXPECT_EQ(md.find("## Steps"), std::string::npos);
}

TEST(MerchantReportMarkdown, ExactlyOnceOnlyWhenChecked) {
  Json r = SyntheticReport();
  EXPECT_EQ(RenderMerchantMarkdown(r, "x.svg").find("## Exactly once"), std::string::npos);
  r["exactly_once"] = {{"checked", 10}, {"violations", 1}, {"examples", {"M3 processed 2 times"}}};
  const std::string md = RenderMerchantMarkdown(r, "x.svg");
  EXPECT_NE(md.find("asked about 10 orders: 1 not processed exactly once"), std::string::npos);
  EXPECT_NE(md.find("- `M3 processed 2 times`"), std::string::npos);
}

TEST(MerchantReportSvg, ThreePanelsWellFormedWithEscapedUrl) {
  const std::string svg = RenderMerchantSvg(SyntheticReport());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("Latency over time"), std::string::npos);
  EXPECT_NE(svg.find("Latency histogram"), std::string::npos);
  EXPECT_NE(svg.find("Payments per second"), std::string::npos);
  // p50, p99, max; scheduled, acked, non-acks.
  EXPECT_EQ(Occurrences(svg, "<polyline"), 6u);
  EXPECT_EQ(Occurrences(svg, "fill-opacity=\"0.6\""), 3u) << "one bar per bucket";
  EXPECT_NE(svg.find("p99 61.50 ms"), std::string::npos) << "the p99 marker";
  EXPECT_NE(svg.find(kUrlEscaped), std::string::npos);
  EXPECT_EQ(svg.find(kUrl), std::string::npos);
  EXPECT_EQ(svg.find("no data"), std::string::npos);
  EXPECT_EQ(XmlProblem(svg), "") << svg;
}

TEST(MerchantReportSvg, NonUtf8AndControlBytesStayWellFormed) {
  Json r = SyntheticReport();
  r["target"]["notify_url"] = std::string("http://h/\x01\xff\xc3(");
  const std::string svg = RenderMerchantSvg(r);
  EXPECT_NE(svg.find("http://h/\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD("), std::string::npos);
}

TEST(MerchantReportSvg, EmptySeriesAndNoHistogramSayNoData) {
  Json r = SyntheticReport();
  r["series"] = Json::array();
  r.erase("histogram");
  const std::string svg = RenderMerchantSvg(r);
  EXPECT_EQ(Occurrences(svg, ">no data<"), 3u);
  EXPECT_EQ(svg.find("<polyline"), std::string::npos);
  EXPECT_EQ(XmlProblem(svg), "") << svg;
}

TEST(MerchantReport, NullAndMissingPartsRenderWithoutThrowing) {
  // A run that stopped early: parts null, others missing entirely.
  Json r = {{"target", {{"notify_url", "http://h/n"}}},
            {"results", nullptr},
            {"ledger", nullptr},
            {"sandbox", {{"ceiling", nullptr}, {"cpu_percent", nullptr}}},
            {"steps", nullptr},
            {"series", Json::array()},
            {"thresholds", {{{"name", "x"}, {"expected", nullptr}}}}};
  for (const Json& report : {r, Json(), Json::object()}) {
    std::string md, svg, junit;
    ASSERT_NO_THROW(md = RenderMerchantMarkdown(report, "x.svg"));
    ASSERT_NO_THROW(svg = RenderMerchantSvg(report));
    ASSERT_NO_THROW(junit = RenderMerchantJUnit(report));
    EXPECT_NE(md.find("# vkspay-bench merchant: "), std::string::npos);
    EXPECT_EQ(Occurrences(svg, ">no data<"), 3u);
    EXPECT_EQ(XmlProblem(svg), "") << svg;
    EXPECT_EQ(XmlProblem(junit), "") << junit;
    // No ledger proves nothing balanced.
    EXPECT_NE(TestCase(junit, "ledger balances").find("<failure"), std::string::npos) << junit;
  }
}

class MerchantReportFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "merchant-report-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(MerchantReportFiles, WritesJsonMarkdownAndSvg) {
  const Json report = SyntheticReport();
  const fs::path out = dir_ / "nested" / "dir";
  ASSERT_EQ(WriteMerchantReport(report, out.string(), "run1"), "");
  EXPECT_EQ(Json::parse(Read(out / "run1.json")), report);
  EXPECT_NE(Read(out / "run1.md").find("![charts](run1.svg)"), std::string::npos);
  EXPECT_EQ(Read(out / "run1.svg"), RenderMerchantSvg(report));
}

TEST_F(MerchantReportFiles, NamesWhatItCouldNotCreate) {
  const fs::path blocker = dir_ / "file";
  std::ofstream(blocker) << "x";
  const std::string error = WriteMerchantReport(SyntheticReport(), (blocker / "sub").string(), "r");
  EXPECT_EQ(error.rfind("cannot create " + (blocker / "sub").string(), 0), 0u) << error;
}

}  // namespace
}  // namespace vkspay::bench
