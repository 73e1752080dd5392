// End to end: a real SandboxServer on port 0, the real dispatcher, UrlGuard
// and HttpSender, and a real in-process httplib receiver playing the
// merchant. webpay -> control pay -> a signed form POST arrives; failures
// are retried on the (compressed) fast schedule and show in the control API.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "nlohmann/json.hpp"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/server/fault_harness.h"
#include "sandbox/server/sandbox_server.h"
#include "sandbox/telemetry/telemetry.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using fault_testing::Eventually;
using fault_testing::Receiver;

class NotifyHarness {
 public:
  explicit NotifyHarness(double time_scale) : clock_(&system_clock_), rng_(1), nonce_rng_(2) {
    config_ = SandboxConfig::Demo();
    config_.settings.notify_profile = "fast";
    config_.settings.time_scale = time_scale;
    store_ = OpenSqliteStore(SqliteStoreOptions{}).value();
    guard_ = std::make_unique<UrlGuard>(UrlGuardOptions{});
    AllowConfiguredHosts(*guard_, config_);
    ctx_ = SandboxContext{&config_, store_.get(), &clock_,  &rng_,
                          &clock_,  guard_.get(), nullptr, &telemetry_};
    sender_ = MakeHttpSender(HttpSenderOptions{});
    DispatcherOptions options = DispatcherOptionsFor(config_.settings).value();
    options.timeout_ms = 2000;
    dispatcher_ = std::make_unique<Dispatcher>(ctx_, guard_.get(), sender_.get(), options);
    telemetry_.AddGauge("notify_held", [this] { return static_cast<int64_t>(dispatcher_->held()); });
    store_->SetOutboxObserver([this] { dispatcher_->Wake(); });
    clock_.AddObserver([this] { dispatcher_->Wake(); });
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 8;
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
    dispatcher_->Start();
  }
  ~NotifyHarness() {
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
  json Api(const std::string& method, Fields f) {
    f.Set("method", method);
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    auto res =
        Client().Post("/api", WithSign(f, kDemoKey).ToJson(), "application/json; charset=utf-8");
    EXPECT_TRUE(res);
    return res ? json::parse(res->body) : json();
  }
  json Post(const std::string& path, const json& body, int want = 200) {
    auto res = Client().Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, want) << res->body;
    return json::parse(res->body);
  }
  json Get(const std::string& path, int want = 200) {
    auto res = Client().Get(path.c_str());
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, want) << res->body;
    return json::parse(res->body);
  }
  // Creates an order notifying `notify_url` and pays it through the control
  // API; returns its out_trade_no.
  std::string WebPayAndPay(const std::string& notify_url) {
    json w =
        Api("webpay",
            {{"total_fee", 0.01}, {"notify_url", notify_url}, {"attach", std::string("order=42")}});
    EXPECT_EQ(w["return_code"], "SUCCESS") << w.dump();
    const std::string no = w["data"]["out_trade_no"];
    Post("/_sandbox/pay", {{"out_trade_no", no}, {"channel", "alipay"}});
    return no;
  }
  json NotificationOf(const std::string& out_trade_no) {
    json list = Get("/_sandbox/notifications?out_trade_no=" + out_trade_no);
    if (list["notifications"].size() != 1) return json();
    return Get("/_sandbox/notifications/" +
               list["notifications"][0]["notify_id"].get<std::string>())["notification"];
  }

  SandboxConfig config_;
  SystemClock system_clock_;
  SandboxClock clock_;
  SeededRandom rng_;
  SeededRandom nonce_rng_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<UrlGuard> guard_;
  Telemetry telemetry_;
  SandboxContext ctx_;
  std::unique_ptr<HttpSender> sender_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
};

TEST(NotifyIntegration, TheDeliveryFeedAndStatsShowEachAttemptAndCall) {
  Receiver receiver;
  receiver.set_status(500);
  NotifyHarness h(0.01);  // fast: retries 10 ms, 20 ms, ... after a failure
  const json start = h.Get("/_sandbox/deliveries");  // no after: just the cursor
  EXPECT_TRUE(start["events"].empty());
  const int64_t before_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  const std::string no = h.WebPayAndPay(receiver.url());
  // A long poll: answers with the first attempt, a refusal.
  json page = h.Get("/_sandbox/deliveries?wait_ms=5000&after=" +
                    std::to_string(start["next"].get<int64_t>()));
  ASSERT_FALSE(page["events"].empty()) << page.dump();
  const json first = page["events"][0];
  EXPECT_EQ(first["out_trade_no"], no);
  EXPECT_EQ(first["type"], "payment");
  EXPECT_EQ(first["kind"], "attempt");
  EXPECT_EQ(first["attempt"], 1);
  EXPECT_EQ(first["outcome"], "http_status");
  EXPECT_EQ(first["http_status"], 500);
  EXPECT_EQ(first["state"], "pending");
  EXPECT_GE(first["wall_us"].get<int64_t>(), before_us);
  EXPECT_LT(first["wall_us"].get<int64_t>(), before_us + 10'000'000);
  EXPECT_EQ(first["notify_id"].get<std::string>().size(), 33u);

  receiver.set_status(200);
  json acked;
  int64_t next = page["next"];
  for (int i = 0; i < 50 && acked.is_null(); ++i) {
    page = h.Get("/_sandbox/deliveries?wait_ms=1000&after=" + std::to_string(next));
    next = page["next"];
    for (const json& e : page["events"]) {
      if (e["outcome"] == "acked") acked = e;
    }
  }
  ASSERT_FALSE(acked.is_null());
  EXPECT_EQ(acked["state"], "acked");
  EXPECT_GT(acked["attempt"].get<int64_t>(), 1);
  EXPECT_EQ(acked["error"], "");
  // Another merchant's filter sees none of it.
  EXPECT_TRUE(h.Get("/_sandbox/deliveries?after=0&merchantno=20002")["events"].empty());

  const json stats = h.Get("/_sandbox/stats");
  EXPECT_EQ(stats["api"]["webpay"]["count"], 1);
  EXPECT_EQ(stats["api"]["webpay"]["errors"], 0);
  EXPECT_EQ(stats["api"]["webpay"]["latency"]["count"], 1);
  EXPECT_TRUE(stats["gauges"].contains("notify_held"));
  EXPECT_GT(stats["cpu_s"].get<double>(), 0);
  EXPECT_GE(stats["deliveries"]["last_seq"].get<int64_t>(), acked["seq"].get<int64_t>());
  // Bad parameters are refused with the parameter's name.
  const json bad = h.Get("/_sandbox/deliveries?wait_ms=99999", 400);
  EXPECT_NE(bad["message"].get<std::string>().find("wait_ms"), std::string::npos) << bad.dump();
}

TEST(NotifyIntegration, PaidOrderIsNotifiedWithinASecondWithAVerifiableForm) {
  Receiver receiver;
  NotifyHarness h(1.0);
  const auto paid_at = std::chrono::steady_clock::now();
  const std::string no = h.WebPayAndPay(receiver.url());
  ASSERT_TRUE(Eventually([&] { return receiver.hits() >= 1; }, milliseconds(1000)))
      << "no notification within a second";
  const Receiver::Hit hit = receiver.all()[0];
  EXPECT_LT(hit.at - paid_at, milliseconds(1000));
  EXPECT_EQ(hit.content_type, "application/x-www-form-urlencoded");
  StatusOr<Fields> form = DecodeForm(hit.body);
  ASSERT_TRUE(form.ok()) << form.status().ToString();
  EXPECT_TRUE(VerifySign(*form, kDemoKey).ok()) << hit.body;
  auto field = [&](const char* name) {
    const Value* v = form->Find(name);
    return v == nullptr ? std::string("(absent)") : JsString(*v);
  };
  EXPECT_EQ(field("notify_type"), "payment");
  EXPECT_EQ(field("merchantno"), "10001");
  EXPECT_EQ(field("out_trade_no"), no);
  EXPECT_EQ(field("transaction_id").size(), 28u);
  EXPECT_EQ(field("total_fee"), "0.01");
  EXPECT_EQ(field("pay_chnl"), "alipay");
  EXPECT_EQ(field("status"), "SUCCESS");
  EXPECT_EQ(field("attach"), "order=42");
  EXPECT_EQ(field("version"), "2.0");
  EXPECT_EQ(field("notify_id").size(), 33u);
  EXPECT_EQ(field("signaturenonce").size(), 8u);
  EXPECT_NE(field("time_end"), "(absent)");
  EXPECT_NE(field("timestamp"), "(absent)");

  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["state"] == "acked"; }));
  json n = h.NotificationOf(no);
  EXPECT_EQ(n["notify_id"], field("notify_id"));
  EXPECT_EQ(n["notify_url"], receiver.url());
  EXPECT_EQ(n["delivered_to"], receiver.url());
  EXPECT_EQ(n["payload"]["out_trade_no"], no);
  ASSERT_EQ(n["attempt_log"].size(), 1u);
  EXPECT_EQ(n["attempt_log"][0]["http_status"], 200);
  EXPECT_EQ(n["attempt_log"][0]["acked"], true);
  EXPECT_EQ(n["attempt_log"][0]["response_head"], kNotifyAckBody);
  EXPECT_EQ(receiver.hits(), 1);
}

TEST(NotifyIntegration, FailingReceiverIsRetriedOnTheFastScheduleUntilItRecovers) {
  Receiver receiver;
  receiver.set_status(500);
  NotifyHarness h(0.01);  // fast: 10 ms, 20 ms, 50 ms, 100 ms
  const std::string no = h.WebPayAndPay(receiver.url());
  ASSERT_TRUE(Eventually([&] { return receiver.hits() >= 3; }));
  receiver.set_status(200);
  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["state"] == "acked"; }));

  json n = h.NotificationOf(no);
  const json& log = n["attempt_log"];
  ASSERT_GE(log.size(), 4u);
  const size_t acked = log.size() - 1;
  for (size_t i = 0; i < acked; ++i) {
    EXPECT_EQ(log[i]["http_status"], 500) << i;
    EXPECT_EQ(log[i]["acked"], false) << i;
    EXPECT_EQ(log[i]["error"], "HTTP 500") << i;
    EXPECT_EQ(log[i]["url"], receiver.url());
    EXPECT_EQ(log[i]["n"], static_cast<int>(i + 1));
  }
  EXPECT_EQ(log[acked]["http_status"], 200);
  EXPECT_EQ(log[acked]["acked"], true);
  // Each retry waited its scheduled delay after the failure before it: at
  // least that, and not the unscaled seconds (generous slack for busy CI).
  const int64_t delay_us[] = {10'000, 20'000, 50'000, 100'000};
  for (size_t i = 1; i < log.size(); ++i) {
    const int64_t gap = log[i]["at_us"].get<int64_t>() - log[i - 1]["at_us"].get<int64_t>();
    EXPECT_GE(gap, delay_us[i - 1]) << "attempt " << i + 1;
    EXPECT_LT(gap, delay_us[i - 1] + 400'000) << "attempt " << i + 1;
  }
  EXPECT_EQ(n["attempts"], static_cast<int>(log.size()));
  EXPECT_EQ(n["last_error"], "");
  EXPECT_EQ(n["next_attempt_at"], "");

  // Acked means no more attempts, however far the clock moves.
  const int hits = receiver.hits();
  h.Post("/_sandbox/clock/advance", {{"seconds", 86400}});
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(receiver.hits(), hits);
  EXPECT_EQ(h.NotificationOf(no)["total_attempts"], static_cast<int>(hits));
}

TEST(NotifyIntegration, ExhaustedScheduleFailsThenResendDelivers) {
  Receiver receiver;
  receiver.set_status(500);
  NotifyHarness h(0.001);
  const std::string no = h.WebPayAndPay(receiver.url());
  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["state"] == "failed"; }));
  json n = h.NotificationOf(no);
  EXPECT_EQ(n["attempts"], 5);
  EXPECT_EQ(n["attempt_log"].size(), 5u);
  EXPECT_EQ(n["last_error"], "HTTP 500");
  EXPECT_EQ(receiver.hits(), 5);

  json failed = h.Get("/_sandbox/notifications?state=failed");
  ASSERT_EQ(failed["notifications"].size(), 1u);
  EXPECT_EQ(failed["counts"]["failed"], 1);

  receiver.set_status(200);
  json resent = h.Post("/_sandbox/notifications/resend", {{"state", "failed"}, {"since", 0}});
  EXPECT_EQ(resent["resent"], 1);
  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["state"] == "acked"; }));
  n = h.NotificationOf(no);
  EXPECT_EQ(n["attempts"], 1);
  EXPECT_EQ(n["total_attempts"], 6);

  // Resending one by id works too (even an acked one: the merchant asked).
  json one = h.Post("/_sandbox/notifications/" + std::to_string(n["id"].get<int64_t>()) + "/resend",
                    json::object());
  EXPECT_EQ(one["notification"]["state"], "pending");
  ASSERT_TRUE(Eventually([&] { return receiver.hits() == 7; }));
  h.Post("/_sandbox/notifications/N0/resend", json::object(), 404);
  h.Post("/_sandbox/notifications/resend", {{"state", "acked"}}, 400);
}

TEST(NotifyIntegration, ClockAdvanceThroughTheControlApiMakesTheRetryDue) {
  Receiver receiver;
  receiver.set_status(500);
  NotifyHarness h(1.0);  // a real 1 s wait, unless the clock is advanced
  const std::string no = h.WebPayAndPay(receiver.url());
  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["total_attempts"] == 1; }));
  receiver.set_status(200);
  json before = h.Get("/_sandbox/clock");
  json after = h.Post("/_sandbox/clock/advance", {{"seconds", 1.5}});
  EXPECT_EQ(after["offset_s"], 1.5);
  EXPECT_GE(after["now_us"].get<int64_t>() - before["now_us"].get<int64_t>(), 1'500'000);
  EXPECT_EQ(after["time_scale"], 1.0);
  const auto advanced = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["state"] == "acked"; }));
  EXPECT_LT(std::chrono::steady_clock::now() - advanced, milliseconds(900)) << "the retry waited for real time";
  h.Post("/_sandbox/clock/advance", {{"seconds", -1}}, 400);
  h.Post("/_sandbox/clock/advance", {{"seconds", "1"}}, 400);
}

// Advances only ever added up, and POST /_sandbox/reset keeps the offset: a
// vkspay-conformance run left the sandbox ~26 h ahead, refusing every request
// stamped with the real time.
TEST(NotifyIntegration, ClockResetPutsTheOffsetBackToZero) {
  NotifyHarness h(1.0);
  h.Post("/_sandbox/clock/advance", {{"seconds", 93600}});
  h.Post("/_sandbox/reset", json::object());
  EXPECT_EQ(h.Get("/_sandbox/clock")["offset_s"], 93600.0);
  const int64_t real_now = SystemClock().NowSeconds();
  json reset = h.Post("/_sandbox/clock/reset", json::object());
  EXPECT_EQ(reset["ok"], true);
  EXPECT_EQ(reset["offset_s"], 0.0);
  EXPECT_EQ(reset["removed_s"], 93600.0);
  EXPECT_LE(std::abs(reset["now"].get<int64_t>() - real_now), 2);
  EXPECT_EQ(h.Get("/_sandbox/clock")["offset_s"], 0.0);
  // Nothing left to remove: still 200, removed_s 0.
  EXPECT_EQ(h.Post("/_sandbox/clock/reset", json::object())["removed_s"], 0.0);
  // A negative advance is still refused, pointing at the way back.
  json refused = h.Post("/_sandbox/clock/advance", {{"seconds", -60}}, 400);
  EXPECT_NE(refused["message"].get<std::string>().find("POST /_sandbox/clock/reset"),
            std::string::npos)
      << refused.dump();
}

TEST(NotifyIntegration, RefusedNotifyUrlIsHeldAsBlockedWithTheReason) {
  NotifyHarness h(1.0);
  const std::string no = h.WebPayAndPay("http://169.254.169.254/latest/meta-data");
  ASSERT_TRUE(Eventually([&] { return h.NotificationOf(no)["state"] == "blocked"; }));
  json n = h.NotificationOf(no);
  EXPECT_NE(n["last_error"].get<std::string>().find("169.254.169.254"), std::string::npos)
      << n.dump();
  ASSERT_EQ(n["attempt_log"].size(), 1u);
  EXPECT_EQ(n["attempt_log"][0]["http_status"], 0);
  EXPECT_EQ(n["attempt_log"][0]["error"], n["last_error"]);
}

}  // namespace
}  // namespace vkspay::sandbox
