#include "sandbox/faults/fault_effects.h"

#include <gtest/gtest.h>

#include "sandbox/faults/directive.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

// Decisions as the engine would give them for a header directive.
std::vector<FaultDecision> D(const char* directive) {
  StatusOr<std::vector<Fault>> faults = ParseHeaderDirective(directive);
  EXPECT_TRUE(faults.ok()) << faults.status().ToString();
  std::vector<FaultDecision> out;
  for (const Fault& f : *faults) out.push_back(FaultDecision{f, "header", "header", 0});
  return out;
}

WireAnswer Produced(const std::string& body) {
  WireAnswer a;
  a.body = body;
  return a;
}

constexpr char kWebpayAnswer[] =
    R"({"return_code":"SUCCESS","return_msg":"下单成功","data":{"out_trade_no":"T-1","total_fee":12.34,"status":"NOTPAY"}})";

TEST(ApiEffects, NothingFiredRunsTheMethod) {
  ApiEffect e = PlanApiBefore({});
  EXPECT_FALSE(e.replace);
  EXPECT_EQ(e.delay_ms, 0);
  EXPECT_EQ(e.injected, "");
}

TEST(ApiEffects, FailAnswersTheVksPayWay) {
  ApiEffect e = PlanApiBefore(D("api=fail:SYSTEM_ERROR"));
  ASSERT_TRUE(e.replace);
  EXPECT_EQ(e.answer.http_status, 200);
  json j = json::parse(e.answer.body);
  EXPECT_EQ(j["return_code"], "FAIL");
  EXPECT_EQ(j["err_code"], "SYSTEM_ERROR");
  EXPECT_EQ(j["return_msg"], "系统错误: 沙箱注入的故障 (sandbox fault injection)");
  EXPECT_EQ(e.injected, "api.fail (header)");
}

TEST(ApiEffects, HttpStatusWithHtmlOrEmptyBody) {
  ApiEffect html = PlanApiBefore(D("api=http:502:html"));
  ASSERT_TRUE(html.replace);
  EXPECT_EQ(html.answer.http_status, 502);
  EXPECT_EQ(html.answer.content_type, "text/html");
  EXPECT_NE(html.answer.body.find("<title>502 Bad Gateway</title>"), std::string::npos);
  ApiEffect empty = PlanApiBefore(D("api=http:429"));
  EXPECT_EQ(empty.answer.http_status, 429);
  EXPECT_EQ(empty.answer.body, "");
}

TEST(ApiEffects, DelaysAddUpAndDoNotReplace) {
  ApiEffect e = PlanApiBefore(D("api=delay:200ms,delay:1s"));
  EXPECT_FALSE(e.replace);
  EXPECT_EQ(e.delay_ms, 1200);
}

TEST(ApiEffects, CloseAfterTheMethod) {
  ApiEffect e = PlanApiAfter(D("api=close"), Produced(kWebpayAnswer));
  ASSERT_TRUE(e.replace);
  EXPECT_TRUE(e.answer.close_connection);
}

TEST(ApiEffects, TruncateKeepsHalfOrTheGivenBytes) {
  ApiEffect half = PlanApiAfter(D("api=truncate"), Produced("0123456789"));
  EXPECT_EQ(half.answer.body, "01234");
  ApiEffect three = PlanApiAfter(D("api=truncate:3"), Produced("0123456789"));
  EXPECT_EQ(three.answer.body, "012");
  EXPECT_EQ(three.answer.http_status, 200);
}

TEST(ApiEffects, NotJsonIsHttp200WithAnotherBody) {
  ApiEffect e = PlanApiAfter(D("api=notjson:text"), Produced(kWebpayAnswer));
  EXPECT_EQ(e.answer.http_status, 200);
  EXPECT_EQ(e.answer.content_type, "text/plain");
  EXPECT_TRUE(json::parse(e.answer.body, nullptr, false).is_discarded());
}

TEST(ApiEffects, WrongAmountMovesTotalFee) {
  ApiEffect e = PlanApiAfter(D("api=wrongamount"), Produced(kWebpayAnswer));
  json j = json::parse(e.answer.body);
  EXPECT_EQ(j["data"]["total_fee"], 12.35);
  EXPECT_EQ(j["data"]["out_trade_no"], "T-1");
}

TEST(ApiEffects, WrongAmountPrefersRefundFeeAndStaysPositive) {
  std::string body =
      WrongAmountBody(R"({"return_code":"SUCCESS","data":{"total_fee":1,"refund_fee":0.01,"out_refund_no":"R-1"}})", -5);
  json j = json::parse(body);
  EXPECT_EQ(j["data"]["refund_fee"], 0.06);
  EXPECT_EQ(j["data"]["total_fee"], 1);
  EXPECT_EQ(WrongAmountBody("not json", 1), "not json");
}

// Regression: an order answer (webpay, orderquery) also has refund_fee (0 so
// far); moving it instead of total_fee echoed the wrong field.
TEST(ApiEffects, WrongAmountOnAnOrderAnswerMovesTotalFee) {
  std::string body =
      WrongAmountBody(R"({"return_code":"SUCCESS","data":{"total_fee":0.01,"refund_fee":0}})", 5);
  json j = json::parse(body);
  EXPECT_EQ(j["data"]["total_fee"], 0.06);
  EXPECT_EQ(j["data"]["refund_fee"], 0);
}

TEST(ApiEffects, FirstReplacementWins) {
  ApiEffect e = PlanApiAfter(D("api=http:500,close@after"), Produced(kWebpayAnswer));
  EXPECT_EQ(e.answer.http_status, 500);
  EXPECT_FALSE(e.answer.close_connection);
}

TEST(Plans, Order) {
  OrderPlan p = PlanOrder(D("pay=expire:30s,late:5s"));
  EXPECT_EQ(p.expire_after_s, 30);
  EXPECT_EQ(p.late_success_after_s, 5);
  EXPECT_FALSE(PlanOrder({}).expire_after_s.has_value());
}

TEST(Plans, PaymentFirstWins) {
  EXPECT_EQ(PlanPayment(D("pay=cancel,fail")).outcome, PlannedOutcome::kCancel);
  PaymentPlan u = PlanPayment(D("pay=userpaying:7s:fail"));
  EXPECT_FALSE(u.outcome.has_value());
  EXPECT_EQ(u.userpaying_s, 7);
  EXPECT_EQ(u.after_userpaying, PlannedOutcome::kFail);
  EXPECT_FALSE(PlanPayment({}).outcome.has_value());
}

TEST(Plans, Refund) {
  RefundPlan p = PlanRefund(D("refund=processing:10s:fail"));
  EXPECT_FALSE(p.fail);
  EXPECT_EQ(p.processing_s, 10);
  EXPECT_TRUE(p.then_fail);
  EXPECT_TRUE(PlanRefund(D("refund=fail")).fail);
}

TEST(Plans, NotifyCombinesKindsAndRoundTripsAsJson) {
  NotifyPlan p =
      PlanNotify(D("notify=dup3,drop:2,delay:500ms,badsign,tamper:-1,refundfirst:30s,replay:2m,"
                   "times:4:1s,drop:9"));
  EXPECT_EQ(p.copies, 3);
  EXPECT_EQ(p.copies_within_ms, 1000);
  EXPECT_EQ(p.drop_first, 2);  // the first drop wins
  EXPECT_EQ(p.delay_ms, 500);
  EXPECT_TRUE(p.bad_sign);
  EXPECT_EQ(p.tamper_delta_fen, -1);
  EXPECT_EQ(p.refund_first_hold_s, 30);
  EXPECT_EQ(p.replay_after_s, 120);
  EXPECT_EQ(p.times, 4);
  EXPECT_EQ(p.times_interval_s, 1);
  StatusOr<NotifyPlan> back = ParseNotifyPlanJson(json::parse(NotifyPlanJson(p).dump()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
  EXPECT_TRUE(PlanNotify({}).empty());
  EXPECT_FALSE(p.empty());
  EXPECT_EQ(ParseNotifyPlanJson(json{{"copies", "2"}}).status().message(),
            "notify plan.copies: expected an integer, got \"2\"");
}

TEST(Plans, DuplicateOffsetsSpreadWithinTheWindow) {
  NotifyPlan p;
  EXPECT_EQ(DuplicateOffsetsMs(p), std::vector<int64_t>{0});
  p.copies = 2;
  p.copies_within_ms = 1000;
  EXPECT_EQ(DuplicateOffsetsMs(p), (std::vector<int64_t>{0, 1000}));
  p.copies = 3;
  EXPECT_EQ(DuplicateOffsetsMs(p), (std::vector<int64_t>{0, 500, 1000}));
}

TEST(Plans, DroppedAttemptsAreTheFirstN) {
  NotifyPlan p;
  p.drop_first = 2;
  EXPECT_TRUE(IsAttemptDropped(p, 1));
  EXPECT_TRUE(IsAttemptDropped(p, 2));
  EXPECT_FALSE(IsAttemptDropped(p, 3));
  EXPECT_FALSE(IsAttemptDropped(NotifyPlan(), 1));
}

Fields SignedPayment() {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = "N1";
  c.merchantno = "10001";
  c.out_trade_no = "T-1";
  c.transaction_id = "4200000000000000000000000001";
  c.total_fee = 1;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2026-01-01 00:00:00";
  return SignNotification(c, 1700000000, "12345678", "k");
}

TEST(NotifyFields, BadSignDoesNotVerify) {
  NotifyPlan p;
  p.bad_sign = true;
  Fields f = ApplyNotifyFieldFaults(SignedPayment(), p);
  EXPECT_TRUE(VerifySign(SignedPayment(), "k").ok());
  EXPECT_EQ(VerifySign(f, "k").code(), ErrorCode::kSignError);
  EXPECT_EQ(JsString(*f.Find("sign")).size(), 32u);
}

TEST(NotifyFields, TamperKeepsTheOldSign) {
  NotifyPlan p;
  p.tamper_delta_fen = 100;
  Fields original = SignedPayment();
  Fields f = ApplyNotifyFieldFaults(original, p);
  EXPECT_EQ(JsString(*f.Find("total_fee")), "1.01");
  EXPECT_EQ(JsString(*f.Find("sign")), JsString(*original.Find("sign")));
  EXPECT_EQ(VerifySign(f, "k").code(), ErrorCode::kSignError);
}

TEST(NotifyFields, EmptyPlanChangesNothing) {
  Fields f = ApplyNotifyFieldFaults(SignedPayment(), NotifyPlan());
  EXPECT_EQ(f.ToJson(), SignedPayment().ToJson());
}

}  // namespace
}  // namespace vkspay::sandbox
