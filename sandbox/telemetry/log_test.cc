#include "sandbox/telemetry/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace vkspay::sandbox {
namespace {

struct Captured {
  std::vector<std::string> lines;
  Logger Make(LogFormat format, bool quiet) {
    LoggerOptions o;
    o.format = format;
    o.quiet = quiet;
    o.write = [this](const std::string& line) { lines.push_back(line); };
    o.now_us = [] { return int64_t{1'764'936'000'123'456}; };
    return Logger(std::move(o));
  }
};

LogEvent ApiEvent() {
  LogEvent e("api");
  e.Str("method", "webpay").Str("merchant", "10001").Str("out_trade_no", "T1");
  e.Str("result", "FAIL").Str("err_code", "SIGN_ERROR");
  e.Str("reason", "签名错误: 签名不匹配; \"quoted\" a=b\nnext");
  e.Int("latency_us", 69);
  return e;
}

TEST(LogEvent, TextIsKindThenKeyValuesQuotingOnlyWhatNeedsIt) {
  EXPECT_EQ(ApiEvent().Text(LogLevel::kInfo),
            "api method=webpay merchant=10001 out_trade_no=T1 result=FAIL err_code=SIGN_ERROR "
            "reason=\"签名错误: 签名不匹配; \\\"quoted\\\" a=b\\nnext\" latency_us=69");
  EXPECT_EQ(LogEvent("http").Str("path", "").Text(LogLevel::kWarn), "http level=warn path=\"\"");
  EXPECT_EQ(LogfmtValue("a\x01z"), "\"a\\x01z\"");
}

TEST(LogEvent, JsonIsOneObjectWithTsLevelKindAndTypedFields) {
  const nlohmann::json j =
      nlohmann::json::parse(ApiEvent().Json(LogLevel::kWarn, "2026-12-05T12:00:00.123Z"));
  EXPECT_EQ(j["ts"], "2026-12-05T12:00:00.123Z");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["kind"], "api");
  EXPECT_EQ(j["out_trade_no"], "T1");
  EXPECT_EQ(j["latency_us"], 69);  // a number, not a string
  EXPECT_EQ(j["reason"], "签名错误: 签名不匹配; \"quoted\" a=b\nnext");
}

TEST(LogEvent, JsonReplacesInvalidUtf8InsteadOfThrowing) {
  LogEvent e("api");
  e.Str("method", std::string("\xff\xfe", 2));
  const nlohmann::json j = nlohmann::json::parse(e.Json(LogLevel::kInfo, "t"));
  EXPECT_EQ(j["method"], "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Logger, QuietKeepsOnlyWarnings) {
  Captured c;
  Logger log = c.Make(LogFormat::kText, /*quiet=*/true);
  EXPECT_FALSE(log.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.Enabled(LogLevel::kWarn));
  log.Event(LogLevel::kInfo, ApiEvent());
  log.Message(LogLevel::kInfo, "notify", "notify N1 acked");
  log.Message(LogLevel::kWarn, "notify", "notify N2 failed");
  log.Event(LogLevel::kWarn, LogEvent("http").Str("path", "/api/"));
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[0], "notify N2 failed");
  EXPECT_EQ(c.lines[1], "http level=warn path=/api/");
}

TEST(Logger, JsonWrapsPlainMessagesSoEveryLineParses) {
  Captured c;
  Logger log = c.Make(LogFormat::kJson, false);
  log.Sink(LogLevel::kWarn, "http")("http refused 408 127.0.0.1:5 head timeout");
  log.Event(LogLevel::kInfo, ApiEvent());
  ASSERT_EQ(c.lines.size(), 2u);
  for (const std::string& line : c.lines) {
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_EQ(j["ts"], "2025-12-05T12:00:00.123Z");
  }
  const nlohmann::json first = nlohmann::json::parse(c.lines[0]);
  EXPECT_EQ(first["level"], "warn");
  EXPECT_EQ(first["kind"], "http");
  EXPECT_EQ(first["msg"], "http refused 408 127.0.0.1:5 head timeout");
}

TEST(Logger, NoSinkLogsNothingAndSaysSo) {
  Logger log{LoggerOptions{}};
  EXPECT_FALSE(log.Enabled(LogLevel::kWarn));
  log.Event(LogLevel::kWarn, ApiEvent());  // must not crash
}

TEST(ParseLogFormat, AcceptsTextAndJsonOnly) {
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("JSON").has_value());
}

}  // namespace
}  // namespace vkspay::sandbox
