#include "sandbox/core/payments.h"

#include "sandbox/faults/fault_effects.h"

namespace vkspay::sandbox {

std::string NewOutTradeNo(Random& rng, std::string_view merchantno, int64_t now) {
  return "P" + std::string(merchantno) + "-" + FormatCompactTime(now) + rng.Digits(6);
}

std::string NewOutRefundNo(Random& rng, std::string_view merchantno, int64_t now) {
  return "R" + std::string(merchantno) + "-" + FormatCompactTime(now) + rng.Digits(6);
}

std::string NewTransactionId(Random& rng, std::string_view channel, int64_t now) {
  const std::string date = FormatCompactTime(now).substr(0, 8);
  if (channel == "alipay") return date + "2200" + rng.Digits(16);  // 28 characters
  return "4200" + rng.Digits(6, '1') + date + rng.Digits(10);      // 28 characters
}

std::string NewCashierToken(Random& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 24; ++i) out.push_back(kHex[rng.Uniform(16)]);
  return out;
}

StatusOr<std::string> ResolveChannel(std::string_view channel, std::string_view order_chnl) {
  if (channel == "wxpay" || channel == "alipay") return std::string(channel);
  if (channel.empty() || channel == "auto") {
    if (order_chnl == "wxpay" || order_chnl == "alipay") return std::string(order_chnl);
    return std::string("wxpay");
  }
  return Status(ErrorCode::kInvalidField,
                "channel 必须是 wxpay、alipay 或 auto, 收到 \"" + std::string(channel) + "\"");
}

StatusOr<PayOutcome> ParsePayOutcome(std::string_view s) {
  if (s.empty() || s == "success") return PayOutcome::kSuccess;
  if (s == "fail") return PayOutcome::kFail;
  if (s == "cancel") return PayOutcome::kCancel;
  return Status(ErrorCode::kInvalidField,
                "outcome 必须是 success、fail 或 cancel, 收到 \"" + std::string(s) + "\"");
}

FaultContext OrderFaultContext(const Order& order) {
  FaultContext fc;
  fc.method = order.trade_type;
  fc.merchantno = order.merchantno;
  fc.out_trade_no = order.out_trade_no;
  fc.amount_fen = order.total_fee;
  fc.channel = order.pay_chnl;
  fc.attach = order.attach;
  return fc;
}

NotifyPlanner MakeNotifyPlanner(FaultEngine& engine, const Clock& clock) {
  return [&engine, &clock](const Order& order, const Refund* refund) {
    FaultContext fc = OrderFaultContext(order);
    if (refund != nullptr) fc.method = "orderrefund";
    const NotifyPlan plan = PlanNotify(engine.Decide(FaultHook::kNotify, fc));
    NotifyFaultPlan out;
    if (plan.empty()) return out;
    out.plan_json = NotifyPlanJson(plan).dump();
    if (plan.delay_ms > 0) out.first_attempt_us = clock.NowMicros() + plan.delay_ms * 1000;
    return out;
  };
}

PayOutcome PlannedPayOutcome(const SandboxContext& ctx, const FaultContext& fc,
                             PayOutcome chosen) {
  if (ctx.faults == nullptr) return chosen;
  const PaymentPlan plan = PlanPayment(ctx.faults->Decide(FaultHook::kPayment, fc));
  if (!plan.outcome) return chosen;
  switch (*plan.outcome) {
    case PlannedOutcome::kFail:
      return PayOutcome::kFail;
    case PlannedOutcome::kCancel:
      return PayOutcome::kCancel;
    case PlannedOutcome::kSuccess:
      break;
  }
  return chosen;
}

StatusOr<Order> ActAsBuyer(const SandboxContext& ctx, std::string_view merchantno,
                           std::string_view out_trade_no, std::string_view channel,
                           PayOutcome outcome) {
  const int64_t now = ctx.clock->NowSeconds();
  StatusOr<Order> order = ctx.store->GetOrder(merchantno, out_trade_no, now);
  if (!order.ok()) return order.status();
  // Only an unpaid order has a buyer to misbehave; asking for a paid or closed
  // one would record faults that change nothing.
  if (order->status == OrderStatus::kNotPay) {
    outcome = PlannedPayOutcome(ctx, OrderFaultContext(*order), outcome);
  }
  StatusOr<std::string> chnl = ResolveChannel(channel, order->pay_chnl);
  if (!chnl.ok()) return chnl.status();
  std::string txn =
      outcome == PayOutcome::kSuccess ? NewTransactionId(*ctx.rng, *chnl, now) : "";
  return ctx.store->CompletePayment(merchantno, out_trade_no, outcome, *chnl, txn, now);
}

}  // namespace vkspay::sandbox
