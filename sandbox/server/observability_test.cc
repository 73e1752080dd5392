// Issue #15: GET /metrics (counters against known traffic, checked by
// Prometheus's own promtool) and the request log (text and JSON lines,
// secrets never logged, unknown routes answered and logged, --quiet,
// --log-format through the real binary).
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/server/fault_harness.h"
#include "sandbox/server/sandbox_process.h"
#include "sandbox/server/sandbox_server.h"
#include "sandbox/telemetry/log.h"
#include "sandbox/telemetry/telemetry.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using fault_testing::Eventually;
using fault_testing::Receiver;
using nlohmann::json;

// A server with the dispatcher, telemetry and a logger writing into a vector.
class Harness {
 public:
  explicit Harness(LogFormat format = LogFormat::kText, bool quiet = false, std::string token = "",
                   double time_scale = 0.01)
      : clock_(&system_clock_), rng_(1), nonce_rng_(2) {
    config_ = SandboxConfig::Demo();
    config_.settings.notify_profile = "fast";
    config_.settings.time_scale = time_scale;  // 0.01: retries 10 ms, 20 ms, ...
    store_ = OpenSqliteStore(SqliteStoreOptions{}).value();
    guard_ = std::make_unique<UrlGuard>(UrlGuardOptions{});
    AllowConfiguredHosts(*guard_, config_);
    LoggerOptions lo;
    lo.format = format;
    lo.quiet = quiet;
    lo.write = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    };
    logger_ = std::make_unique<Logger>(std::move(lo));
    ctx_ = SandboxContext{&config_,     store_.get(), &clock_,     &rng_,        &clock_,
                          guard_.get(), nullptr,      &telemetry_, logger_.get()};
    sender_ = MakeHttpSender(HttpSenderOptions{});
    DispatcherOptions options = DispatcherOptionsFor(config_.settings).value();
    options.timeout_ms = 2000;
    dispatcher_ = std::make_unique<Dispatcher>(ctx_, guard_.get(), sender_.get(), options);
    store_->SetOutboxObserver([this] { dispatcher_->Wake(); });
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 4;
    opts.control_token = token;
    opts.logger = logger_.get();
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
    dispatcher_->Start();
  }
  ~Harness() {
    server_->Stop();
    dispatcher_->Stop();
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }
  json Api(const std::string& method, Fields f, const std::string& key = std::string(kDemoKey)) {
    f.Set("method", method);
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    auto res = Client().Post("/api", WithSign(f, key).ToJson(), "application/json; charset=utf-8");
    EXPECT_TRUE(res);
    return res ? json::parse(res->body) : json();
  }
  json Post(const std::string& path, const json& body, int want = 200) {
    auto res = Client().Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, want) << res->body;
    return json::parse(res->body, nullptr, false);
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::string log_text() const {
    std::string all;
    for (const std::string& l : lines()) all += l + "\n";
    return all;
  }
  // The log lines that contain every one of `parts`.
  std::vector<std::string> LinesWith(const std::vector<std::string>& parts) const {
    std::vector<std::string> out;
    for (const std::string& l : lines()) {
      bool all = true;
      for (const std::string& p : parts) all = all && l.find(p) != std::string::npos;
      if (all) out.push_back(l);
    }
    return out;
  }

  SandboxConfig config_;
  SystemClock system_clock_;
  SandboxClock clock_;
  SeededRandom rng_;
  SeededRandom nonce_rng_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<UrlGuard> guard_;
  Telemetry telemetry_;
  std::unique_ptr<Logger> logger_;
  SandboxContext ctx_;
  std::unique_ptr<HttpSender> sender_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
};

// Every sample of an exposition: "name{labels}" -> value. Fails the test
// on a line that is neither a comment nor "series value".
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    EXPECT_NE(sp, std::string::npos) << line;
    if (sp == std::string::npos) continue;
    const std::string v = line.substr(sp + 1);
    out[line.substr(0, sp)] = v == "+Inf" ? INFINITY : std::strtod(v.c_str(), nullptr);
  }
  return out;
}

// Runs `promtool check metrics` on `text`; returns its exit status and
// output in *out. promtool is Debian's `prometheus` package
// (scripts/install-deps.sh installs it).
int Promtool(const std::string& text, std::string* out) {
  const std::filesystem::path dir = testing_process::TempDir("vkspay-promtool");
  const std::filesystem::path in = dir / "metrics.txt";
  std::ofstream(in) << text;
  const std::string cmd =
      "promtool check metrics < '" + in.string() + "' > '" + (dir / "out.txt").string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  *out = testing_process::ReadFile(dir / "out.txt");
  std::filesystem::remove_all(dir);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool HavePromtool() { return std::system("command -v promtool > /dev/null 2>&1") == 0; }

TEST(Metrics, CountersMatchKnownTrafficAndPromtoolAcceptsTheExposition) {
  ASSERT_TRUE(HavePromtool()) << "promtool not found: install Debian's prometheus package "
                                 "(scripts/install-deps.sh does)";
  Receiver merchant;
  merchant.set_status(500);  // the first attempt fails, then a retry is scheduled
  Harness h(LogFormat::kText, false, "", 0.1);  // retries 100 ms, 200 ms, 500 ms, 1 s
  // Known traffic: 2 webpay SUCCESS, 1 webpay SIGN_ERROR, 1 orderquery
  // SUCCESS (after the pay), 1 unreadable body ("-", INVALID_JSON).
  json w1 = h.Api("webpay", {{"total_fee", 0.01}, {"notify_url", merchant.url()}});
  ASSERT_EQ(w1["return_code"], "SUCCESS") << w1.dump();
  json w2 = h.Api("webpay", {{"total_fee", 0.02}, {"notify_url", merchant.url()}});
  ASSERT_EQ(w2["return_code"], "SUCCESS");
  json bad = h.Api("webpay", {{"total_fee", 0.03}}, "not-the-key");
  ASSERT_EQ(bad["err_code"], "SIGN_ERROR");
  const std::string no = w1["data"]["out_trade_no"];
  h.Post("/_sandbox/pay", {{"out_trade_no", no}});
  ASSERT_EQ(h.Api("orderquery", {{"out_trade_no", no}})["return_code"], "SUCCESS");
  auto junk = h.Client().Post("/api", "{not json", "application/json");
  ASSERT_TRUE(junk);
  ASSERT_TRUE(Eventually([&] { return merchant.hits() >= 1; }));
  merchant.set_status(200);
  ASSERT_TRUE(Eventually([&] { return h.telemetry_.delivery.attempts("attempt", "acked") == 1; }));

  auto res = h.Client().Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::string promtool_out;
  EXPECT_EQ(Promtool(res->body, &promtool_out), 0) << promtool_out << "\n" << res->body;

  std::map<std::string, double> m = ParseSamples(res->body);
  auto at = [&](const std::string& series) {
    EXPECT_TRUE(m.count(series)) << "no " << series << " in\n" << res->body;
    return m.count(series) ? m[series] : -1;
  };
  EXPECT_EQ(at(R"(vkspay_api_requests_total{method="webpay",code="SUCCESS"})"), 2);
  EXPECT_EQ(at(R"(vkspay_api_requests_total{method="webpay",code="SIGN_ERROR"})"), 1);
  EXPECT_EQ(at(R"(vkspay_api_requests_total{method="orderquery",code="SUCCESS"})"), 1);
  EXPECT_EQ(at(R"(vkspay_api_requests_total{method="-",code="INVALID_JSON"})"), 1);
  EXPECT_EQ(at(R"(vkspay_api_request_duration_seconds_count{method="webpay"})"), 3);
  EXPECT_EQ(at(R"(vkspay_api_request_duration_seconds_bucket{method="webpay",le="+Inf"})"), 3);
  EXPECT_EQ(at(R"(vkspay_api_request_duration_seconds_count{method="micropay"})"), 0);
  // One notification (the paid order), acked after failed attempts.
  EXPECT_EQ(at(R"(vkspay_notify_outbox_notifications{state="acked"})"), 1);
  EXPECT_EQ(at(R"(vkspay_notify_outbox_notifications{state="pending"})"), 0);
  EXPECT_EQ(at("vkspay_notify_oldest_pending_age_seconds"), 0);
  EXPECT_EQ(at(R"(vkspay_notify_attempts_total{kind="attempt",outcome="acked"})"), 1);
  const double failed = at(R"(vkspay_notify_attempts_total{kind="attempt",outcome="http_status"})");
  EXPECT_EQ(failed, merchant.hits() - 1);
  EXPECT_GE(failed, 1);
  // Every failed attempt on the fast schedule left a retry.
  EXPECT_EQ(at("vkspay_notify_retries_scheduled_total"), failed);
  EXPECT_EQ(at("vkspay_notify_delivery_duration_seconds_count"), failed + 1);
  // The signed requests that passed the signature check: 2 webpay + 1 orderquery.
  EXPECT_EQ(at("vkspay_replay_cache_entries"), 3);
  EXPECT_GT(at("vkspay_process_resident_memory_bytes"), 1e6);
  EXPECT_GT(at("vkspay_uptime_seconds"), 0);
  EXPECT_EQ(at(R"(vkspay_build_info{version="0.1.0"})"), 1);
}

TEST(Metrics, APendingNotificationShowsItsAgeOnTheSandboxClock) {
  // Retries 1,000 times slower than the fast schedule: the notification
  // stays pending after its first attempt fails.
  Harness h(LogFormat::kText, false, "", 1000);
  // Port 9 (discard) on loopback refuses the attempt.
  json w =
      h.Api("webpay", {{"total_fee", 0.01}, {"notify_url", std::string("http://127.0.0.1:9/n")}});
  h.Post("/_sandbox/pay", {{"out_trade_no", w["data"]["out_trade_no"]}});
  ASSERT_TRUE(
      Eventually([&] { return h.telemetry_.delivery.attempts("attempt", "connect_error") == 1; }));
  ASSERT_TRUE(h.clock_.AdvanceMicros(120'000'000).ok());  // two minutes on the sandbox clock
  auto res = h.Client().Get("/metrics");
  ASSERT_TRUE(res);
  std::map<std::string, double> m = ParseSamples(res->body);
  EXPECT_EQ(m[R"(vkspay_notify_outbox_notifications{state="pending"})"], 1) << res->body;
  EXPECT_GE(m["vkspay_notify_oldest_pending_age_seconds"], 120) << res->body;
  EXPECT_LT(m["vkspay_notify_oldest_pending_age_seconds"], 180) << res->body;
}

TEST(Metrics, WithAControlTokenTheScrapeNeedsItAsABearerToken) {
  Harness h(LogFormat::kText, false, "s3cret-token-0123456789");
  auto none = h.Client().Get("/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->body.find("vkspay_api_requests_total"), std::string::npos);
  auto ok = h.Client().Get("/metrics", {{"Authorization", "Bearer s3cret-token-0123456789"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("# TYPE vkspay_api_requests_total counter"), std::string::npos);
}

TEST(RequestLog, ARefusedRequestNamesItsOrderAndReasonAndNeverTheKeyOrSign) {
  Harness h;
  Fields f{{"total_fee", 0.01}, {"out_trade_no", std::string("T-LOG-1")}};
  json bad = h.Api("webpay", f, "wrong-key-that-is-long-enough");
  ASSERT_EQ(bad["err_code"], "SIGN_ERROR");
  const std::vector<std::string> lines = h.LinesWith({"api ", "out_trade_no=T-LOG-1"});
  ASSERT_EQ(lines.size(), 1u) << h.log_text();
  const std::string& line = lines[0];
  EXPECT_EQ(line.rfind("api method=webpay merchant=10001 out_trade_no=T-LOG-1 result=FAIL "
                       "err_code=SIGN_ERROR reason=\"",
                       0),
            0u)
      << line;
  EXPECT_NE(line.find("签名不匹配"), std::string::npos) << line;  // the reason text
  EXPECT_NE(line.find("latency_us="), std::string::npos) << line;
  // The key of the merchant, the key the client used and the sign sent:
  // none in the log.
  EXPECT_EQ(h.log_text().find(std::string(kDemoKey)), std::string::npos) << h.log_text();
  EXPECT_EQ(h.log_text().find("wrong-key-that-is-long-enough"), std::string::npos);
  // Any 32-hex-digit run would be a signature (the one sent, or one the
  // sandbox computed): none appears.
  for (size_t i = 0; i + 32 <= line.size(); ++i) {
    size_t n = 0;
    while (n < 32 && std::isxdigit(static_cast<unsigned char>(line[i + n]))) ++n;
    ASSERT_LT(n, 32u) << "a 32-hex run (a signature?) in: " << line;
  }
  // A success names the order the sandbox generated.
  json ok =
      h.Api("webpay", {{"total_fee", 0.01}, {"notify_url", std::string("http://127.0.0.1:9/n")}});
  ASSERT_EQ(ok["return_code"], "SUCCESS") << ok.dump();
  const std::string no = ok["data"]["out_trade_no"];
  EXPECT_EQ(h.LinesWith({"api method=webpay", "out_trade_no=" + no, "result=SUCCESS"}).size(), 1u)
      << h.log_text();
}

TEST(RequestLog, UnknownRoutesAndWrongMethodsGetJsonNamingPostApiAndAreLogged) {
  Harness h;
  auto get_api = h.Client().Get("/api");
  ASSERT_TRUE(get_api);
  EXPECT_EQ(get_api->status, 405);
  EXPECT_EQ(get_api->get_header_value("Allow"), "POST");
  EXPECT_EQ(get_api->get_header_value("Content-Type"), "application/json; charset=utf-8");
  json j = json::parse(get_api->body);
  EXPECT_EQ(j["return_code"], "FAIL");
  EXPECT_EQ(j["err_code"], "NOT_FOUND");
  EXPECT_NE(j["message"].get<std::string>().find("POST /api"), std::string::npos) << j.dump();

  auto slash = h.Client().Post("/api/", "{}", "application/json");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->status, 404);
  j = json::parse(slash->body);
  EXPECT_NE(j["message"].get<std::string>().find("no route POST /api/"), std::string::npos);
  EXPECT_NE(j["return_msg"].get<std::string>().find("POST /api"), std::string::npos);

  // A base URL that already ends in /api sends to /api/api: the answer says so.
  auto twice = h.Client().Post("/api/api", "{}", "application/json");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 404);
  EXPECT_NE(json::parse(twice->body)["message"].get<std::string>().find("drop it"),
            std::string::npos)
      << twice->body;

  // A handler's own 404 keeps its answer (the control API's JSON).
  auto order = h.Client().Get("/_sandbox/order?out_trade_no=nope");
  ASSERT_TRUE(order);
  EXPECT_EQ(order->status, 404);
  EXPECT_EQ(json::parse(order->body)["err_code"], "ORDER_NOT_EXIST") << order->body;

  EXPECT_EQ(h.LinesWith({"http level=warn method=GET path=/api status=405"}).size(), 1u)
      << h.log_text();
  EXPECT_EQ(h.LinesWith({"http level=warn method=POST path=/api/ status=404"}).size(), 1u)
      << h.log_text();
  // A failed control read is logged, once, as a control call.
  EXPECT_EQ(h.LinesWith({"control method=GET path=/_sandbox/order status=404"}).size(), 1u)
      << h.log_text();
}

TEST(RequestLog, BuyerActionsAndControlCallsAreLoggedButReadsAreNot) {
  Receiver merchant;
  Harness h;
  json w1 = h.Api("webpay", {{"total_fee", 0.01}, {"notify_url", merchant.url()}});
  json w2 = h.Api("webpay", {{"total_fee", 0.01}, {"notify_url", merchant.url()}});
  const std::string no1 = w1["data"]["out_trade_no"];
  const std::string no2 = w2["data"]["out_trade_no"];
  // The buyer fails the first on the cashier page.
  const std::string qr = w1["data"]["qrcode"];
  const std::string token = qr.substr(qr.find("/pay/") + 5);
  auto page = h.Client().Post(("/pay/" + token).c_str(), "outcome=fail&channel=alipay",
                              "application/x-www-form-urlencoded");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 303);
  // The second is paid through the control API.
  h.Post("/_sandbox/pay", {{"out_trade_no", no2}, {"channel", "wxpay"}});
  auto list = h.Client().Get("/_sandbox/orders");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);

  EXPECT_EQ(h.LinesWith({"buyer via=cashier merchant=10001 out_trade_no=" + no1,
                         "action=fail channel=alipay result=OK status=303"})
                .size(),
            1u)
      << h.log_text();
  EXPECT_EQ(h.LinesWith({"control method=POST path=/_sandbox/pay status=200", "out_trade_no=" + no2,
                         "channel=wxpay", "latency_us="})
                .size(),
            1u)
      << h.log_text();
  EXPECT_TRUE(h.LinesWith({"path=/_sandbox/orders"}).empty()) << h.log_text();
  EXPECT_EQ(h.log_text().find(token), std::string::npos) << "the cashier token is logged";
}

TEST(RequestLog, JsonLinesParseAndQuietKeepsOnlyWarnings) {
  {
    Harness h(LogFormat::kJson);
    h.Api("webpay", {{"total_fee", 0.01}, {"out_trade_no", std::string("T-JSON-1")}}, "bad-key");
    h.Client().Get("/nowhere");
    const std::vector<std::string> lines = h.lines();
    ASSERT_GE(lines.size(), 2u);
    bool api = false, http = false;
    for (const std::string& line : lines) {
      const json j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << line;
      ASSERT_TRUE(j.contains("ts") && j.contains("level") && j.contains("kind")) << line;
      if (j["kind"] == "api") {
        api = true;
        EXPECT_EQ(j["out_trade_no"], "T-JSON-1");
        EXPECT_EQ(j["err_code"], "SIGN_ERROR");
        EXPECT_TRUE(j["latency_us"].is_number());
        EXPECT_NE(j["reason"].get<std::string>().find("签名不匹配"), std::string::npos);
      }
      if (j["kind"] == "http") {
        http = true;
        EXPECT_EQ(j["level"], "warn");
        EXPECT_EQ(j["path"], "/nowhere");
        EXPECT_EQ(j["status"], 404);
      }
    }
    EXPECT_TRUE(api && http) << h.log_text();
  }
  {
    Harness h(LogFormat::kText, /*quiet=*/true);
    h.Api("webpay", {{"total_fee", 0.01}});
    h.Client().Get("/nowhere");
    // An unknown merchant: the operator's note (the configured numbers) is a
    // warning, kept.
    Fields f{{"method", std::string("orderquery")},
             {"merchantno", std::string("99999")},
             {"out_trade_no", std::string("T1")},
             {"timestamp", static_cast<double>(h.clock_.NowSeconds())},
             {"signaturenonce", std::string("12345678")},
             {"version", std::string("2.0")}};
    ASSERT_TRUE(
        h.Client().Post("/api", WithSign(f, "k").ToJson(), "application/json; charset=utf-8"));
    const std::vector<std::string> lines = h.lines();
    ASSERT_EQ(lines.size(), 2u) << h.log_text();
    EXPECT_EQ(lines[0].rfind("http level=warn method=GET path=/nowhere status=404", 0), 0u)
        << lines[0];
    EXPECT_EQ(lines[1],
              "api level=warn method=orderquery merchant=99999 out_trade_no=T1 "
              "err_code=UNKNOWN_MERCHANT note=\"configured merchants: 10001\"");
  }
}

// The flags, through the real binary: --log-format json makes every stderr
// line a JSON object (the HTTP front's refusals too); --quiet drops the
// per-request lines.
TEST(RequestLog, TheBinaryHonoursLogFormatAndQuiet) {
  for (const bool quiet : {false, true}) {
    const std::filesystem::path dir = testing_process::TempDir("vkspay-logfmt");
    std::vector<std::string> args = {"--listen", "127.0.0.1:0",  "--db",
                                     ":memory:", "--log-format", "json"};
    if (quiet) args.push_back("--quiet");
    testing_process::SandboxProcess sandbox(dir, args);
    ASSERT_GT(sandbox.port(), 0) << sandbox.stderr_text();
    httplib::Client c("127.0.0.1", sandbox.port());
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    ASSERT_TRUE(c.Post("/api", "{}", "application/json"));  // FAIL MISSING_FIELD
    ASSERT_TRUE(c.Get("/api/"));                            // 404, a warning
    auto metrics = c.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);  // loopback, no token
    sandbox.Stop();
    std::istringstream err(sandbox.stderr_text());
    std::string line;
    int api = 0, http = 0;
    while (std::getline(err, line)) {
      const json j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << line;
      api += j["kind"] == "api";
      http += j["kind"] == "http" && j["level"] == "warn";
    }
    EXPECT_EQ(api, quiet ? 0 : 1) << sandbox.stderr_text();
    EXPECT_EQ(http, 1) << sandbox.stderr_text();
    // The shutdown note is a JSON line too (info: gone under --quiet).
    EXPECT_EQ(sandbox.stderr_text().find("\"msg\":\"vkspay-sandbox: SIGTERM, stopping\"") !=
                  std::string::npos,
              !quiet)
        << sandbox.stderr_text();
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace vkspay::sandbox
