#include "sandbox/api/api_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "sandbox/core/payments.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/notify/url_guard.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'764'300'000;  // 2025-11-28

class ApiServiceTest : public ::testing::Test {
 protected:
  ApiServiceTest() : clock_(kNow * 1'000'000), rng_(42) {
    config_ = SandboxConfig::Demo();
    Merchant second;
    second.merchantno = "20002";
    second.key = "other-key";
    second.name = "B";
    second.notify_url = "http://127.0.0.1:9/n";
    config_.merchants.push_back(second);
    store_ = OpenSqliteStore(SqliteStoreOptions{}).value();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_};
    api_ = std::make_unique<ApiService>(ctx_);
  }

  // A signed request with a fresh nonce; `extra` fields are added first.
  Fields Request(const std::string& method, Fields extra, const std::string& merchantno = "10001",
                 const std::string& key = kDemoKey) {
    Fields f = std::move(extra);
    f.Set("method", method);
    f.Set("merchantno", merchantno);
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    return WithSign(f, key);
  }
  json Send(const std::string& body, const std::string& ct = "application/json; charset=utf-8") {
    ApiResponse r = api_->Handle({ct, body, "http://sandbox.test", ""});
    EXPECT_EQ(r.http_status, 200);
    return json::parse(r.body);
  }
  json Send(const Fields& f) { return Send(f.ToJson()); }
  static void ExpectFail(const json& j, const char* err_code) {
    EXPECT_EQ(j["return_code"], "FAIL") << j.dump();
    EXPECT_EQ(j["err_code"], err_code) << j.dump();
    EXPECT_TRUE(j["return_msg"].is_string());
  }
  json WebPay(double fee, Fields extra = {}) {
    extra.Set("total_fee", fee);
    extra.Set("notify_url", std::string("http://127.0.0.1:9000/notify"));
    return Send(Request("webpay", std::move(extra)));
  }
  int64_t OrderCount() { return static_cast<int64_t>(store_->ListOrders({}).value().size()); }

  SandboxConfig config_;
  FakeClock clock_;
  SeededRandom rng_;
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<ApiService> api_;
  SeededRandom nonce_rng_{7};
};

TEST_F(ApiServiceTest, WebPayCreatesAnOrderWithAPaymentLink) {
  json j = WebPay(0.01, {{"subject", std::string("测试")}, {"attach", std::string("a=1")}});
  ASSERT_EQ(j["return_code"], "SUCCESS") << j.dump();
  const json& d = j["data"];
  EXPECT_EQ(d["total_fee"], 0.01);
  EXPECT_EQ(d["status"], "NOTPAY");
  EXPECT_EQ(d["subject"], "测试");
  EXPECT_EQ(d["pay_chnl"], "auto");
  std::string no = d["out_trade_no"];
  EXPECT_EQ(no.rfind("P10001-", 0), 0u) << no;
  std::string qr = d["qrcode"];
  EXPECT_EQ(qr.rfind("http://sandbox.test/pay/", 0), 0u) << qr;
  EXPECT_EQ(qr.size(), std::string("http://sandbox.test/pay/").size() + 32);
}

TEST_F(ApiServiceTest, TheIssueKnownAnswerRequestIsAcceptedByteForByte) {
  clock_.SetMicros(1'700'000'000LL * 1'000'000);
  json j = Send(
      R"({"method":"webpay","merchantno":"10001","total_fee":0.01,"notify_url":"http://127.0.0.1:9000/notify","signaturenonce":"12345678","timestamp":1700000000,"version":"2.0","sign":"de963e0b40918ea7417e4c229c6f6de0"})");
  EXPECT_EQ(j["return_code"], "SUCCESS") << j.dump();
}

TEST_F(ApiServiceTest, SameOutTradeNoSameAmountIsIdempotentOtherAmountRefused) {
  json a = WebPay(1.5, {{"out_trade_no", std::string("ORDER-1")}});
  json b = WebPay(1.5, {{"out_trade_no", std::string("ORDER-1")}});
  ASSERT_EQ(b["return_code"], "SUCCESS");
  EXPECT_EQ(a["data"]["qrcode"], b["data"]["qrcode"]);
  ExpectFail(WebPay(2, {{"out_trade_no", std::string("ORDER-1")}}), "OUT_TRADE_NO_USED");
  EXPECT_EQ(OrderCount(), 1);
}

TEST_F(ApiServiceTest, AmountsAreCheckedAndNothingIsStoredOnFailure) {
  ExpectFail(WebPay(0.001), "INVALID_AMOUNT");
  ExpectFail(WebPay(0), "INVALID_AMOUNT");
  ExpectFail(WebPay(-1), "INVALID_AMOUNT");
  ExpectFail(WebPay(1000000.01), "INVALID_AMOUNT");
  ExpectFail(WebPay(1e21), "INVALID_AMOUNT");
  EXPECT_EQ(OrderCount(), 0);
  EXPECT_EQ(WebPay(1000000)["return_code"], "SUCCESS");
  Fields f{{"total_fee", std::string("12.30")},
           {"notify_url", std::string("http://127.0.0.1:9000/notify")}};
  json j = Send(Request("webpay", f));
  ASSERT_EQ(j["return_code"], "SUCCESS") << j.dump();
  EXPECT_EQ(j["data"]["total_fee"], 12.3);
}

TEST_F(ApiServiceTest, EnvelopeErrorsNameTheField) {
  ExpectFail(Send("{}", "text/plain"), "INVALID_CONTENT_TYPE");
  ExpectFail(Send("{\"a\":1", "application/json"), "INVALID_JSON");
  ExpectFail(Send("[1]"), "INVALID_JSON");
  ExpectFail(Send(R"({"method":"webpay","method":"orderquery"})"), "DUPLICATE_FIELD");
  ExpectFail(Send(R"({"method":"webpay","x":{"y":1}})"), "NOT_FLAT");
  json j = Send(R"({"method":"webpay"})");
  ExpectFail(j, "MISSING_FIELD");
  EXPECT_NE(j["return_msg"].get<std::string>().find("merchantno"), std::string::npos);

  Fields f = Request("webpay", {{"total_fee", 0.01}});
  f.Set("version", std::string("1.0"));
  ExpectFail(Send(WithSign(f, kDemoKey)), "UNSUPPORTED_VERSION");
  f.Set("version", 2.0);
  ExpectFail(Send(WithSign(f, kDemoKey)), "UNSUPPORTED_VERSION");

  ExpectFail(Send(Request("refundall", {})), "UNKNOWN_METHOD");
  ExpectFail(Send(Request("orderquery", {{"out_trade_no", std::string("X")}}, "99999")),
             "UNKNOWN_MERCHANT");

  f = Request("orderquery", {{"out_trade_no", std::string("X")}});
  f.Set("signaturenonce", std::string("1234"));
  json bad_nonce = Send(WithSign(f, kDemoKey));
  ExpectFail(bad_nonce, "INVALID_FIELD");
  EXPECT_NE(bad_nonce["return_msg"].get<std::string>().find("signaturenonce"), std::string::npos);

  f = Request("orderquery", {{"out_trade_no", std::string("X")}});
  f.Set("timestamp", std::string("1764300000"));
  ExpectFail(Send(WithSign(f, kDemoKey)), "INVALID_FIELD");
  EXPECT_EQ(OrderCount(), 0);
}

TEST_F(ApiServiceTest, SignErrorShowsTheMaskedStringAndNeverTheKey) {
  Fields f = Request("webpay", {{"total_fee", 0.01}, {"notify_url", std::string("http://h/n")}});
  f.Set("total_fee", 100.0);  // changed after signing
  json j = Send(f);
  ExpectFail(j, "SIGN_ERROR");
  std::string msg = j["return_msg"];
  EXPECT_NE(msg.find("total_fee=100&version=2.0&key=***"), std::string::npos) << msg;
  EXPECT_EQ(j.dump().find(kDemoKey), std::string::npos);
  // Merchant 20002's key does not sign for 10001.
  ExpectFail(Send(Request("orderquery", {{"out_trade_no", std::string("X")}}, "10001", "other-key")),
             "SIGN_ERROR");
  EXPECT_EQ(OrderCount(), 0);
}

TEST_F(ApiServiceTest, TimestampWindowAndReplay) {
  Fields f = Request("orderquery", {{"out_trade_no", std::string("X")}});
  clock_.AdvanceSeconds(301);
  ExpectFail(Send(f), "TIMESTAMP_EXPIRED");
  clock_.AdvanceSeconds(-602);
  ExpectFail(Send(f), "TIMESTAMP_EXPIRED");
  clock_.AdvanceSeconds(301);
  f = Request("webpay", {{"total_fee", 0.01}, {"notify_url", std::string("http://h/n")}});
  EXPECT_EQ(Send(f)["return_code"], "SUCCESS");
  ExpectFail(Send(f), "NONCE_REPLAYED");
  EXPECT_EQ(OrderCount(), 1);
}

TEST_F(ApiServiceTest, AMillisecondTimestampIsNamedAsSuch) {
  Fields f = Request("orderquery", {{"out_trade_no", std::string("X")}});
  f.Set("timestamp", static_cast<double>(clock_.NowSeconds() * 1000 + 123));
  json j = Send(WithSign(f, kDemoKey));
  ExpectFail(j, "TIMESTAMP_EXPIRED");
  EXPECT_NE(j["return_msg"].get<std::string>().find("hint: this looks like milliseconds"),
            std::string::npos) << j.dump();
  // Merely wrong seconds get no such hint.
  f.Set("timestamp", static_cast<double>(clock_.NowSeconds() + 3600));
  j = Send(WithSign(f, kDemoKey));
  ExpectFail(j, "TIMESTAMP_EXPIRED");
  EXPECT_EQ(j["return_msg"].get<std::string>().find("milliseconds"), std::string::npos) << j.dump();
}

// After a vkspay-conformance run moved the sandbox clock ~26 h, requests
// stamped with the real time were refused with no word of the offset.
TEST_F(ApiServiceTest, TimestampExpiredSaysWhenTheSandboxClockIsOffset) {
  SandboxClock sandbox_clock(&clock_);
  SandboxContext ctx = ctx_;
  ctx.clock = &sandbox_clock;
  ctx.sandbox_clock = &sandbox_clock;
  api_ = std::make_unique<ApiService>(ctx);
  ASSERT_TRUE(sandbox_clock.AdvanceMicros(93'600'000'000).ok());
  json j = Send(Request("orderquery", {{"out_trade_no", std::string("X")}}));
  ExpectFail(j, "TIMESTAMP_EXPIRED");
  EXPECT_EQ(j["return_msg"],
            "请求已过期: timestamp " + std::to_string(kNow) + " 与服务器时间 " +
                std::to_string(kNow + 93600) +
                " 相差 93600 秒, 允许 ±300 秒; 沙箱时钟已被拨快 93600 秒 (the sandbox clock is "
                "offset by +93600 s from the system clock by POST /_sandbox/clock/advance; "
                "POST /_sandbox/clock/reset puts it back)");
  // Put back, the same request (fresh nonce) passes the window; with no
  // offset the message is VksPay's alone.
  sandbox_clock.ResetOffset();
  json ok = Send(Request("orderquery", {{"out_trade_no", std::string("X")}}));
  ExpectFail(ok, "ORDER_NOT_EXIST");
  clock_.AdvanceSeconds(301);
  Fields stale = Request("orderquery", {{"out_trade_no", std::string("X")}});
  clock_.AdvanceSeconds(-301);
  json plain = Send(stale);
  ExpectFail(plain, "TIMESTAMP_EXPIRED");
  EXPECT_EQ(plain["return_msg"].get<std::string>().find("沙箱时钟"), std::string::npos);
}

TEST_F(ApiServiceTest, NotifyUrlIsRequiredUnlessTheMerchantHasOne) {
  ExpectFail(Send(Request("webpay", {{"total_fee", 0.01}})), "MISSING_FIELD");
  ExpectFail(Send(Request("webpay", {{"total_fee", 0.01}, {"notify_url", std::string("ftp://x")}})),
             "NOTIFY_URL_REFUSED");
  json j = Send(Request("webpay", {{"total_fee", 0.01}}, "20002", "other-key"));
  EXPECT_EQ(j["return_code"], "SUCCESS") << j.dump();
}

TEST_F(ApiServiceTest, OrderQuerySaysSuccessOnlyWhenPaid) {
  std::string no = WebPay(2)["data"]["out_trade_no"];
  json q = Send(Request("orderquery", {{"out_trade_no", no}}));
  ExpectFail(q, "ORDER_NOT_PAID");
  EXPECT_EQ(q["data"]["status"], "NOTPAY");
  ASSERT_TRUE(ActAsBuyer(ctx_, "10001", no, "alipay", PayOutcome::kSuccess).ok());
  q = Send(Request("orderquery", {{"out_trade_no", no}}));
  EXPECT_EQ(q["return_code"], "SUCCESS");
  EXPECT_EQ(q["data"]["status"], "SUCCESS");
  EXPECT_EQ(q["data"]["pay_chnl"], "alipay");
  EXPECT_EQ(q["data"]["transaction_id"].get<std::string>().size(), 28u);
  ExpectFail(Send(Request("orderquery", {{"out_trade_no", std::string("NOPE")}})),
             "ORDER_NOT_EXIST");
  // Another merchant cannot see it.
  ExpectFail(Send(Request("orderquery", {{"out_trade_no", no}}, "20002", "other-key")),
             "ORDER_NOT_EXIST");
}

TEST_F(ApiServiceTest, ExpiredOrdersAreClosed) {
  std::string no = WebPay(2)["data"]["out_trade_no"];
  clock_.AdvanceSeconds(7200);
  json q = Send(Request("orderquery", {{"out_trade_no", no}}));
  ExpectFail(q, "ORDER_NOT_PAID");
  EXPECT_EQ(q["data"]["status"], "CLOSED");
  EXPECT_EQ(ActAsBuyer(ctx_, "10001", no, "wxpay", PayOutcome::kSuccess).status().code(),
            ErrorCode::kOrderClosed);
}

TEST_F(ApiServiceTest, PartialRefundsAddUpAndOverRefundIsRefused) {
  std::string no = WebPay(1)["data"]["out_trade_no"];
  ExpectFail(Send(Request("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.5}})),
             "REFUND_NOT_ALLOWED");
  ASSERT_TRUE(ActAsBuyer(ctx_, "10001", no, "wxpay", PayOutcome::kSuccess).ok());
  json r1 = Send(Request("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.3}}));
  ASSERT_EQ(r1["return_code"], "SUCCESS") << r1.dump();
  std::string rno = r1["out_refund_no"];
  EXPECT_EQ(rno.rfind("R10001-", 0), 0u);
  EXPECT_EQ(rno.size(), std::string("R10001-").size() + 20);
  EXPECT_EQ(r1["data"]["refunded_fee"], 0.3);
  json over = Send(Request("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.71}}));
  ExpectFail(over, "REFUND_EXCEEDS_PAID");
  json r2 = Send(Request("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.7}}));
  ASSERT_EQ(r2["return_code"], "SUCCESS");
  EXPECT_EQ(r2["data"]["refunded_fee"], 1);
  json q = Send(Request("orderquery", {{"out_trade_no", no}}));
  EXPECT_EQ(q["return_code"], "SUCCESS");
  EXPECT_EQ(q["data"]["status"], "REFUND");
  EXPECT_EQ(q["data"]["refund_fee"], 1);
  json rq = Send(Request("orderrefundquery", {{"out_trade_no", no}, {"out_refund_no", rno}}));
  ASSERT_EQ(rq["return_code"], "SUCCESS") << rq.dump();
  EXPECT_EQ(rq["out_refund_no"], rno);
  EXPECT_EQ(rq["data"]["refund_fee"], 0.3);
  ExpectFail(Send(Request("orderrefundquery",
                          {{"out_trade_no", no}, {"out_refund_no", std::string("R-none")}})),
             "REFUND_NOT_EXIST");
}

TEST_F(ApiServiceTest, MerchantOutRefundNoIsIdempotent) {
  std::string no = WebPay(1)["data"]["out_trade_no"];
  ASSERT_TRUE(ActAsBuyer(ctx_, "10001", no, "wxpay", PayOutcome::kSuccess).ok());
  Fields f{{"out_trade_no", no}, {"refund_fee", 0.4}, {"out_refund_no", std::string("MY-R1")}};
  json a = Send(Request("orderrefund", f));
  json b = Send(Request("orderrefund", f));
  ASSERT_EQ(b["return_code"], "SUCCESS") << b.dump();
  EXPECT_EQ(a["out_refund_no"], "MY-R1");
  EXPECT_EQ(b["data"]["refunded_fee"], 0.4);
  f.Set("refund_fee", 0.5);
  ExpectFail(Send(Request("orderrefund", f)), "OUT_REFUND_NO_USED");
}

TEST_F(ApiServiceTest, MicroPayPaysAtOnceForAValidPayCode) {
  Fields f{{"total_fee", 1.0},          {"pay_chnl", std::string("wxpay")},
           {"client_ip", std::string("127.0.0.1")},
           {"auth_code", std::string("134567890123456789")},
           {"cashier", std::string("")},  {"kuantai", std::string("")},
           {"source", std::string("")},   {"pay_cate", std::string("pay")}};
  json j = Send(Request("micropay", f));
  ASSERT_EQ(j["return_code"], "SUCCESS") << j.dump();
  EXPECT_EQ(j["data"]["status"], "SUCCESS");
  EXPECT_EQ(j["data"]["trade_type"], "micropay");
  f.Set("auth_code", std::string("284567890123456789"));  // Alipay code, wxpay channel
  ExpectFail(Send(Request("micropay", f)), "AUTH_CODE_INVALID");
  f.Set("auth_code", std::string("994567890123456789"));
  ExpectFail(Send(Request("micropay", f)), "AUTH_CODE_INVALID");
  f.Set("auth_code", std::string("1345678901"));
  ExpectFail(Send(Request("micropay", f)), "AUTH_CODE_INVALID");
  f.Set("pay_chnl", std::string("alipay"));
  f.Set("auth_code", std::string("284567890123456789"));
  EXPECT_EQ(Send(Request("micropay", f))["data"]["pay_chnl"], "alipay");
  EXPECT_EQ(OrderCount(), 2);
}

TEST_F(ApiServiceTest, StringFieldsMustBeStrings) {
  json j = Send(Request("orderquery", {{"out_trade_no", 123.0}}));
  ExpectFail(j, "INVALID_FIELD");
  EXPECT_NE(j["return_msg"].get<std::string>().find("out_trade_no"), std::string::npos);
  ExpectFail(WebPay(1, {{"out_trade_no", std::string("has space")}}), "INVALID_FIELD");
}

// --- notify_url safety and the outbox ---

TEST_F(ApiServiceTest, RefusedNotifyUrlIsAcceptedUnlessStrict) {
  UrlGuard guard{UrlGuardOptions{}};
  ctx_.url_guard = &guard;
  api_ = std::make_unique<ApiService>(ctx_);
  Fields f = Request("webpay", {{"total_fee", 0.01},
                                {"notify_url", std::string("http://169.254.169.254/latest")}});
  EXPECT_EQ(Send(f)["return_code"], "SUCCESS");  // its notification will be blocked

  config_.settings.strict_notify_url = true;
  json j = Send(Request("webpay", {{"total_fee", 0.01},
                                   {"notify_url", std::string("http://169.254.169.254/latest")}}));
  ExpectFail(j, "NOTIFY_URL_REFUSED");
  EXPECT_NE(j["return_msg"].get<std::string>().find("169.254.169.254"), std::string::npos)
      << j.dump();
  EXPECT_EQ(OrderCount(), 1);
  // Strict refuses loopback too (issue #13 finding 6): the usual local
  // receiver passes once its address is listed.
  UrlGuard strict_guard{UrlGuardOptionsFor(config_.settings)};
  ctx_.url_guard = &strict_guard;
  api_ = std::make_unique<ApiService>(ctx_);
  j = WebPay(0.01);
  ExpectFail(j, "NOTIFY_URL_REFUSED");
  EXPECT_NE(j["return_msg"].get<std::string>().find("127.0.0.1 is loopback"), std::string::npos)
      << j.dump();
  EXPECT_EQ(OrderCount(), 1);
  config_.settings.notify_allow = {"127.0.0.1"};
  UrlGuard listed_guard{UrlGuardOptionsFor(config_.settings)};
  ctx_.url_guard = &listed_guard;
  api_ = std::make_unique<ApiService>(ctx_);
  EXPECT_EQ(WebPay(0.01)["return_code"], "SUCCESS");
  // With a forward_to the notify_url is never contacted, so it is not checked.
  config_.settings.forward_to = "http://127.0.0.1:7000/hook";
  EXPECT_EQ(Send(Request("webpay", {{"total_fee", 0.01},
                                    {"notify_url", std::string("http://169.254.169.254/x")}}))
                ["return_code"],
            "SUCCESS");
}

TEST_F(ApiServiceTest, ANotifyUrlThatWillBeBlockedIsNotedForTheLogAtOrderTime) {
  config_.settings.notify_refuse_loopback = true;
  config_.settings.notify_allow = {"203.0.113.7"};
  UrlGuard guard{UrlGuardOptionsFor(config_.settings)};
  ctx_.url_guard = &guard;
  api_ = std::make_unique<ApiService>(ctx_);
  auto handle = [&](const Fields& f) {
    return api_->Handle({"application/json", f.ToJson(), "http://sandbox.test", ""});
  };
  ApiResponse r = handle(Request("webpay", {{"total_fee", 0.01},
                                                       {"notify_url", std::string(
                                                            "http://127.0.0.1:9000/notify")}}));
  json j = json::parse(r.body);
  ASSERT_EQ(j["return_code"], "SUCCESS") << r.body;  // accepted: not strict
  EXPECT_NE(r.log_note.find("notify_url \"http://127.0.0.1:9000/notify\" will not be delivered"),
            std::string::npos)
      << r.log_note;
  EXPECT_NE(r.log_note.find("--notify-allow 127.0.0.1"), std::string::npos) << r.log_note;
  EXPECT_EQ(j.dump().find("notify-allow"), std::string::npos) << "the note is for the log only";
  // micropay too.
  r = handle(Request("micropay", {{"total_fee", 0.01},
                                              {"pay_chnl", std::string("wxpay")},
                                              {"auth_code", std::string("134567890123456789")},
                                              {"notify_url", std::string("http://[::1]:9/n")}}));
  ASSERT_EQ(json::parse(r.body)["return_code"], "SUCCESS") << r.body;
  EXPECT_NE(r.log_note.find("will not be delivered"), std::string::npos) << r.log_note;
  // A host name is not resolved on the request path: no note (the delivery
  // says it); an allowed address: no note.
  r = handle(Request("webpay", {{"total_fee", 0.01},
                                          {"notify_url", std::string("http://localhost.invalid/n")}}));
  EXPECT_EQ(r.log_note, "");
  r = handle(Request("webpay", {{"total_fee", 0.01},
                                          {"notify_url", std::string("http://203.0.113.7/n")}}));
  EXPECT_EQ(r.log_note, "") << r.log_note;
  // Strict mode refuses instead (the caller is told; no order, no note).
  config_.settings.strict_notify_url = true;
  r = handle(Request("webpay", {{"total_fee", 0.01},
                                          {"notify_url", std::string("http://127.0.0.1:9/n")}}));
  ExpectFail(json::parse(r.body), "NOTIFY_URL_REFUSED");
  EXPECT_EQ(r.log_note, "");
}

TEST_F(ApiServiceTest, MicroPayAndRefundWriteTheirNotifications) {
  json j = Send(Request("micropay", {{"total_fee", 1.0},
                                     {"pay_chnl", std::string("wxpay")},
                                     {"auth_code", std::string("134567890123456789")},
                                     {"notify_url", std::string("http://127.0.0.1:9/n")}}));
  ASSERT_EQ(j["return_code"], "SUCCESS") << j.dump();
  const std::string no = j["data"]["out_trade_no"];
  ASSERT_EQ(Send(Request("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.5}}))["return_code"],
            "SUCCESS");
  NotificationFilter f;
  f.out_trade_no = no;
  std::vector<Notification> all = store_->ListNotifications(f).value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].type, "refund");
  EXPECT_EQ(all[1].type, "payment");
  EXPECT_EQ(all[1].notify_url, "http://127.0.0.1:9/n");
}

// A restart with the same --seed on the same database file: the first new
// order used to draw the previous run's first cashier token, and with the
// merchant's own out_trade_no the collision was answered OUT_TRADE_NO_USED
// with the other order's token in the message.
TEST(ApiServiceRestartTest, SameSeedOnTheSameDatabaseStillCreatesOrders) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("vkspay_api_restart_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "sandbox.db").string();
  SandboxConfig config = SandboxConfig::Demo();
  FakeClock clock(kNow * 1'000'000);
  SeededRandom nonces(7);
  auto webpay = [&](ApiService& api, const std::string& out_trade_no) {
    Fields f;
    f.Set("total_fee", 1.0);
    f.Set("notify_url", std::string("http://127.0.0.1:9000/notify"));
    if (!out_trade_no.empty()) f.Set("out_trade_no", out_trade_no);
    f.Set("method", std::string("webpay"));
    f.Set("merchantno", std::string("10001"));
    f.Set("timestamp", static_cast<double>(clock.NowSeconds()));
    f.Set("signaturenonce", nonces.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    ApiResponse r = api.Handle({"application/json", WithSign(f, kDemoKey).ToJson(),
                                "http://sandbox.test", ""});
    return json::parse(r.body);
  };
  std::vector<std::string> first_links;
  for (int run = 0; run < 3; ++run) {
    SqliteStoreOptions options;
    options.path = path;
    std::unique_ptr<Store> store = OpenSqliteStore(options).value();
    SeededRandom rng(42);  // the same seed every run
    ApiService api(SandboxContext{&config, store.get(), &clock, &rng});
    const std::string own = "OWN-" + std::to_string(run);
    json a = webpay(api, own);
    ASSERT_EQ(a["return_code"], "SUCCESS") << "run " << run << ": " << a.dump();
    json b = webpay(api, "");
    ASSERT_EQ(b["return_code"], "SUCCESS") << "run " << run << ": " << b.dump();
    first_links.push_back(a["data"]["qrcode"]);
    clock.AdvanceMicros(1'000'000);
  }
  // The runs draw other tokens, not the same ones redrawn after a collision.
  EXPECT_NE(first_links[0], first_links[1]);
  EXPECT_NE(first_links[1], first_links[2]);
  std::filesystem::remove_all(dir);
}

TEST(SaltedRandomTest, SaltZeroKeepsTheSeedsSequenceOtherSaltsChangeIt) {
  SeededRandom a(42), b(42), c(42);
  SaltedRandom none(b, 0), some(c, 5);
  int same_as_seed = 0;
  for (int i = 0; i < 16; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(none.Next(), x);
    if (some.Next() == x) ++same_as_seed;
  }
  EXPECT_EQ(same_as_seed, 0);
}

}  // namespace

TEST_F(ApiServiceTest, UnknownMerchantHintsAtTheLogAndOnlyTheLogListsTheMerchants) {
  ApiResponse r = api_->Handle({"application/json",
                                Request("orderquery", {{"out_trade_no", std::string("X")}}, "99999")
                                    .ToJson(),
                                "http://sandbox.test", ""});
  json j = json::parse(r.body);
  ExpectFail(j, "UNKNOWN_MERCHANT");
  const std::string msg = j["return_msg"].get<std::string>();
  EXPECT_NE(msg.find("\"99999\" 不存在"), std::string::npos) << msg;
  EXPECT_NE(msg.find("its log lists the configured merchant numbers"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("10001"), std::string::npos) << "the caller must not learn the merchants";
  EXPECT_EQ(r.log_note, "configured merchants: 10001, 20002");
  EXPECT_EQ(msg.find("20002"), std::string::npos);
  // Any other refusal has no note.
  ApiResponse other = api_->Handle({"application/json", "{}", "http://sandbox.test", ""});
  EXPECT_EQ(other.log_note, "");
}

}  // namespace vkspay::sandbox

namespace vkspay::sandbox {
namespace {

// Issue #15: what the request log gets from an answer.
TEST_F(ApiServiceTest, TheLogFieldsNameTheOrderAndTheReasonWithTheSignMasked) {
  Fields f = Request("webpay", {{"total_fee", 0.01},
                                {"out_trade_no", std::string("T-LOG-9")},
                                {"notify_url", std::string("http://127.0.0.1:9000/notify")}});
  f.Set("sign", std::string("zzzz-not-a-signature"));
  ApiResponse r = api_->Handle({"application/json; charset=utf-8", f.ToJson(), "http://t", ""});
  EXPECT_EQ(r.err_code, "SIGN_ERROR");
  EXPECT_EQ(r.method, "webpay");
  EXPECT_EQ(r.out_trade_no, "T-LOG-9");
  // The answer echoes the malformed sign to its sender; the log's copy does not.
  EXPECT_NE(r.body.find("zzzz-not-a-signature"), std::string::npos);
  EXPECT_EQ(r.reason.find("zzzz-not-a-signature"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("sign 必须是 32 位小写十六进制 MD5, 收到 \"***\""), std::string::npos)
      << r.reason;
}

TEST_F(ApiServiceTest, TheLogFieldsNameAnOutTradeNoTheSandboxGenerated) {
  Fields f = Request(
      "webpay", {{"total_fee", 0.01}, {"notify_url", std::string("http://127.0.0.1:9000/notify")}});
  ApiResponse r = api_->Handle({"application/json; charset=utf-8", f.ToJson(), "http://t", ""});
  const json j = json::parse(r.body);
  ASSERT_EQ(j["return_code"], "SUCCESS") << r.body;
  EXPECT_EQ(r.out_trade_no, j["data"]["out_trade_no"]);
  EXPECT_TRUE(r.err_code.empty());
  EXPECT_TRUE(r.reason.empty());
}

}  // namespace
}  // namespace vkspay::sandbox
