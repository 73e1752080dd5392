#include "vkspay/conformance/report.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "xml_reader.h"

namespace vkspay::conformance {
namespace {

using testing::ParseXml;
using testing::XmlElement;

Report Sample() {
  Report r;
  r.mode = "server";
  r.target = "http://127.0.0.1:8080";
  r.started_at = "2026-12-01T03:00:00Z";
  r.seconds = 1.5;
  r.results = {
      {"signing/ok", "a correct request", Outcome::Pass("accepted"), 0.1},
      {"signing/bad", "a <bad> & \"quoted\" case", Outcome::Fail("got 签名 <b>&amp; \x01 here"),
       0.2},
      {"envelope/warned", "w", Outcome::Warn("no err_code"), 0.3},
      {"lifecycle/needs-control", "s", Outcome::Skip("needs the control API"), 0.0},
      {"lifecycle/paid", "p", Outcome::Pass("paid"), 0.4},
  };
  return r;
}

TEST(XmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(XmlEscape(R"(<a href="x">&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
}
TEST(XmlEscape, KeepsUtf8) { EXPECT_EQ(XmlEscape("签名错误"), "签名错误"); }
TEST(XmlEscape, ReplacesControlCharactersAndInvalidUtf8) {
  EXPECT_EQ(XmlEscape(std::string("a\x01"
                                  "b")),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(XmlEscape(std::string("a\xC3")), "a\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape(std::string("\xED\xA0\x80")), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}
TEST(XmlEscape, NewlinesSurviveInAttributesAsCharacterReferences) {
  EXPECT_EQ(XmlEscape("a\nb", /*attribute=*/true), "a&#10;b");
  EXPECT_EQ(XmlEscape("a\nb"), "a\nb");
}

TEST(JUnitXml, LoadsBackWithCountsThatMatchTheChildren) {
  const Report report = Sample();
  auto doc = ParseXml(JUnitXml(report));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const XmlElement& root = **doc;
  EXPECT_EQ(root.name, "testsuites");
  EXPECT_EQ(root.Attr("tests"), "5");
  EXPECT_EQ(root.Attr("failures"), "1");
  EXPECT_EQ(root.Attr("skipped"), "1");
  EXPECT_EQ(root.Attr("errors"), "0");
  auto suites = root.Children("testsuite");
  ASSERT_EQ(suites.size(), 3u);  // signing, envelope, lifecycle, in first-seen order
  EXPECT_EQ(suites[0]->Attr("name"), "server/signing");
  EXPECT_EQ(suites[2]->Attr("name"), "server/lifecycle");
  int cases = 0;
  for (const XmlElement* s : suites) {
    auto tc = s->Children("testcase");
    int failures = 0, skipped = 0;
    for (const XmlElement* c : tc) {
      failures += static_cast<int>(c->Children("failure").size());
      skipped += static_cast<int>(c->Children("skipped").size());
    }
    EXPECT_EQ(s->Attr("tests"), std::to_string(tc.size())) << s->Attr("name");
    EXPECT_EQ(s->Attr("failures"), std::to_string(failures)) << s->Attr("name");
    EXPECT_EQ(s->Attr("skipped"), std::to_string(skipped)) << s->Attr("name");
    cases += static_cast<int>(tc.size());
  }
  EXPECT_EQ(cases, 5);
}

TEST(JUnitXml, FailureCarriesTheReasonEscapedAndUnescapesBack) {
  auto doc = ParseXml(JUnitXml(Sample()));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const XmlElement* bad = (*doc)->Children("testsuite")[0]->Children("testcase")[1];
  EXPECT_EQ(bad->Attr("name"), "signing/bad");
  EXPECT_EQ(bad->Attr("classname"), "vkspay-conformance.server.signing");
  ASSERT_EQ(bad->Children("failure").size(), 1u);
  EXPECT_EQ(bad->Children("failure")[0]->Attr("message"), "got 签名 <b>&amp; \xEF\xBF\xBD here");
  EXPECT_NE(bad->Children("failure")[0]->text.find("a <bad> & \"quoted\" case"), std::string::npos);
}

TEST(JUnitXml, WarnPassesWithAVerdictProperty) {
  auto doc = ParseXml(JUnitXml(Sample()));
  ASSERT_TRUE(doc.ok());
  const XmlElement* warned = (*doc)->Children("testsuite")[1]->Children("testcase")[0];
  EXPECT_TRUE(warned->Children("failure").empty());
  ASSERT_EQ(warned->Children("system-out").size(), 1u);
  EXPECT_EQ(warned->Children("system-out")[0]->text, "WARN: no err_code");
  EXPECT_EQ(warned->Children("properties")[0]->Children("property")[0]->Attr("value"), "WARN");
}

TEST(JsonReport, HasCountsAndOneEntryPerCase) {
  nlohmann::json j = nlohmann::json::parse(JsonReport(Sample()));
  EXPECT_EQ(j["mode"], "server");
  EXPECT_EQ(j["counts"]["total"], 5);
  EXPECT_EQ(j["counts"]["pass"], 2);
  EXPECT_EQ(j["counts"]["warn"], 1);
  EXPECT_EQ(j["counts"]["fail"], 1);
  EXPECT_EQ(j["counts"]["skip"], 1);
  EXPECT_EQ(j["exit_code"], 1);
  ASSERT_EQ(j["results"].size(), 5u);
  EXPECT_EQ(j["results"][1]["id"], "signing/bad");
  EXPECT_EQ(j["results"][1]["verdict"], "FAIL");
  EXPECT_EQ(j["results"][1]["group"], "signing");
}

TEST(JsonReport, InvalidUtf8InAReasonIsReplacedNotThrown) {
  Report r = Sample();
  r.results[0].outcome.reason = std::string("bad \xFF byte");
  nlohmann::json j = nlohmann::json::parse(JsonReport(r));
  EXPECT_EQ(j["results"][0]["reason"], "bad \xEF\xBF\xBD byte");
}

TEST(ConsoleTable, OneRowPerCaseAndTotals) {
  const std::string t = ConsoleTable(Sample());
  EXPECT_NE(t.find("FAIL    signing/bad"), std::string::npos) << t;
  EXPECT_NE(t.find("5 cases: 2 pass, 1 warn, 1 fail, 1 skip"), std::string::npos) << t;
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 7);  // header + 5 rows + totals
}

// Reasons were cut at about 70 characters with "...", losing what a CI log
// reader needs; they are wrapped now.
TEST(ConsoleTable, LongReasonsWrapUnderTheReasonColumn) {
  Report r = Sample();
  r.results[0].outcome.reason =
      "acked (HTTP 200), and the merchant acted on it (its state URL shows paid turned true "
      "and processed grew from 0 to 1)";
  const std::string t = ConsoleTable(r, 100);
  // ids are up to 23 wide: the reason column starts at 8 + 25 = 33 and holds 67.
  const std::string indent(33, ' ');
  EXPECT_NE(t.find("PASS    signing/ok               acked (HTTP 200), and the merchant acted on "
                   "it (its state URL shows\n" +
                   indent + "paid turned true and processed grew from 0 to 1)\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("..."), std::string::npos) << t;
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 8);  // one continuation line
}

TEST(ConsoleTable, LineBreaksFlattenAndOverlongWordsSplit) {
  Report r = Sample();
  r.results[0].outcome.reason = "line one\nline two " + std::string(300, 'x');
  const std::string t = ConsoleTable(r, 100);
  EXPECT_NE(t.find("line one line two\n"), std::string::npos) << t;
  // 300 x: four full lines of 67 and one of 32, each under the reason column.
  const std::string indent(33, ' ');
  EXPECT_NE(t.find(indent + std::string(67, 'x') + "\n"), std::string::npos) << t;
  EXPECT_NE(t.find(indent + std::string(32, 'x') + "\n"), std::string::npos) << t;
  EXPECT_EQ(std::count(t.begin(), t.end(), 'x'), 300);
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 12);
}

TEST(ExitCodeFor, OnlyFailsFailTheRun) {
  Report r = Sample();
  EXPECT_EQ(ExitCodeFor(r), 1);
  r.results.erase(r.results.begin() + 1);
  EXPECT_EQ(ExitCodeFor(r), 0);  // a Warn and a Skip remain
}

// Merchant mode without --order skipped 8 of 9 cases and exited 0.
TEST(ExitCodeFor, SkipsMakeAnIncompleteRunWhenAskedTo) {
  Report r = Sample();
  r.skip_is_incomplete = true;
  EXPECT_EQ(ExitCodeFor(r), 1);  // a Fail still says 1
  r.results.erase(r.results.begin() + 1);
  EXPECT_EQ(ExitCodeFor(r), 3);  // the Skip
  EXPECT_NE(JsonReport(r).find("\"exit_code\": 3"), std::string::npos) << JsonReport(r);
  r.skip_is_incomplete = false;
  EXPECT_EQ(ExitCodeFor(r), 0);
}

}  // namespace
}  // namespace vkspay::conformance
