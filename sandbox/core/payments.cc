#include "sandbox/core/payments.h"

#include <algorithm>
#include <cmath>

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

std::string NewCashierToken(Random& rng) { return rng.Hex128(); }

bool IsCashierTokenShape(std::string_view token) {
  if (token.size() != kCashierTokenLength && token.size() != kLegacyCashierTokenLength) {
    return false;
  }
  for (char c : token) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
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
  fc.header_directive = order.fault_header;
  return fc;
}

NotifyPlanner MakeNotifyPlanner(FaultEngine& engine, const Clock& clock, double time_scale) {
  return [&engine, &clock, time_scale](const Order& order, const Refund* refund) {
    FaultContext fc = OrderFaultContext(order);
    if (refund != nullptr) fc.method = "orderrefund";
    const NotifyPlan plan = PlanNotify(engine.Decide(FaultHook::kNotify, fc));
    NotifyFaultPlan out;
    if (plan.empty()) return out;
    out.plan_json = NotifyPlanJson(plan).dump();
    if (plan.delay_ms > 0) out.first_attempt_us = clock.NowMicros() + plan.delay_ms * 1000;
    if (refund == nullptr && plan.refund_first_hold_s > 0) {
      // Held until the order's first refund notification went out
      // (Dispatcher releases it), or until the hold runs out.
      const auto hold_us = static_cast<int64_t>(
          std::llround(static_cast<double>(plan.refund_first_hold_s) * 1e6 * time_scale));
      out.first_attempt_us = std::max(out.first_attempt_us, clock.NowMicros() + hold_us);
    }
    return out;
  };
}

PayOutcome PlannedPayOutcome(const SandboxContext& ctx, const FaultContext& fc, PayOutcome chosen) {
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

BuyerPlan PlanBuyer(const SandboxContext& ctx, const FaultContext& fc, PayOutcome chosen) {
  BuyerPlan out;
  out.outcome = chosen;
  if (ctx.faults == nullptr) return out;
  const std::vector<FaultDecision> decisions = ctx.faults->Decide(FaultHook::kPayment, fc);
  const PaymentPlan plan = PlanPayment(decisions);
  auto to_outcome = [](PlannedOutcome o) {
    return o == PlannedOutcome::kFail     ? PayOutcome::kFail
           : o == PlannedOutcome::kCancel ? PayOutcome::kCancel
                                          : PayOutcome::kSuccess;
  };
  if (plan.outcome) out.outcome = to_outcome(*plan.outcome);
  if (plan.userpaying_s) {
    out.userpaying_s = plan.userpaying_s;
    out.then = to_outcome(plan.after_userpaying);
    for (const FaultDecision& d : decisions) {
      if (d.fault.kind == FaultKind::kPayUserPaying) {
        out.note = "pay.userpaying (" + d.source +
                   (d.rule_id != d.source ? " " + d.rule_id : std::string()) + ")";
        break;
      }
    }
  }
  return out;
}

int64_t FaultDelayUs(const SandboxContext& ctx, int64_t seconds) {
  const double scale = ctx.config != nullptr ? ctx.config->settings.time_scale : 1.0;
  return std::max<int64_t>(
      0, static_cast<int64_t>(std::llround(static_cast<double>(seconds) * 1e6 * scale)));
}

PaymentStep PlanPaymentStep(const SandboxContext& ctx, const std::string& channel,
                            const BuyerPlan& plan, int64_t now) {
  PaymentStep step;
  step.channel = channel;
  if (plan.userpaying_s) {
    ScheduledAction then;
    then.kind = ActionKind::kPayOutcome;
    then.due_us = ctx.clock->NowMicros() + FaultDelayUs(ctx, *plan.userpaying_s);
    then.outcome = plan.then;
    then.channel = channel;
    if (plan.then == PayOutcome::kSuccess) {
      then.transaction_id = NewTransactionId(*ctx.rng, channel, now);
    }
    then.note = plan.note;
    step.userpaying = std::move(then);
    return step;
  }
  step.outcome = plan.outcome;
  if (plan.outcome == PayOutcome::kSuccess) {
    step.transaction_id = NewTransactionId(*ctx.rng, channel, now);
  }
  return step;
}

StatusOr<Order> CarryOutPayment(const SandboxContext& ctx, std::string_view merchantno,
                                std::string_view out_trade_no, const std::string& channel,
                                const BuyerPlan& plan, int64_t now) {
  const PaymentStep step = PlanPaymentStep(ctx, channel, plan, now);
  if (step.userpaying) {
    return ctx.store->StartUserPaying(merchantno, out_trade_no, *step.userpaying, now);
  }
  return ctx.store->CompletePayment(merchantno, out_trade_no, step.outcome, channel,
                                    step.transaction_id, now);
}

SaltedRandom::SaltedRandom(Random& base, uint64_t salt)
    : base_(base), mix_(salt == 0 ? 0 : SplitMix64(salt)) {}

uint64_t SaltedRandom::Next() {
  const uint64_t x = base_.Next();
  return mix_ == 0 ? x : SplitMix64(x ^ mix_);
}

StatusOr<Order> ActAsBuyer(const SandboxContext& ctx, std::string_view merchantno,
                           std::string_view out_trade_no, std::string_view channel,
                           PayOutcome outcome) {
  const int64_t now = ctx.clock->NowSeconds();
  StatusOr<Order> order = ctx.store->GetOrder(merchantno, out_trade_no, now);
  if (!order.ok()) return order.status();
  StatusOr<std::string> chnl = ResolveChannel(channel, order->pay_chnl);
  if (!chnl.ok()) return chnl.status();
  // Only an unpaid order has a buyer to misbehave; asking for a paid or closed
  // one would record faults that change nothing.
  BuyerPlan plan;
  plan.outcome = outcome;
  if (order->status == OrderStatus::kNotPay) {
    plan = PlanBuyer(ctx, OrderFaultContext(*order), outcome);
  }
  return CarryOutPayment(ctx, merchantno, out_trade_no, *chnl, plan, now);
}

StatusOr<RefundResult> RefundOrder(const SandboxContext& ctx, Random& ids, const RefundAsk& ask) {
  const int64_t now = ctx.clock->NowSeconds();
  std::optional<ScheduledAction> processing;  // refund.processing: its outcome, later
  if (ctx.faults != nullptr) {
    // Only a refund the store would accept has a wallet that can fail it.
    StatusOr<Order> paid = ctx.store->GetOrder(ask.merchantno, ask.out_trade_no, now);
    if (paid.ok() && IsPaid(paid->status)) {
      FaultContext fc = OrderFaultContext(*paid);
      fc.method = "orderrefund";
      // This request's header, else the one the order was created with.
      if (!ask.header_directive.empty()) fc.header_directive = ask.header_directive;
      const std::vector<FaultDecision> decisions = ctx.faults->Decide(FaultHook::kRefund, fc);
      const RefundPlan plan = PlanRefund(decisions);
      if (plan.fail) {
        return Status(ErrorCode::kRefundFailed,
                      "订单 \"" + ask.out_trade_no + "\" 的退款 " + std::to_string(ask.fee_fen) +
                          " 分被钱包拒绝 (沙箱注入的 refund.fail), 未生成退款单; 可稍后重试");
      }
      if (plan.processing_s) {
        ScheduledAction a;
        a.kind = ActionKind::kRefundOutcome;
        a.due_us = ctx.clock->NowMicros() + FaultDelayUs(ctx, *plan.processing_s);
        a.outcome = plan.then_fail ? PayOutcome::kFail : PayOutcome::kSuccess;
        for (const FaultDecision& d : decisions) {
          if (d.fault.kind == FaultKind::kRefundProcessing) {
            a.note = "refund.processing (" + d.source +
                     (d.rule_id != d.source ? " " + d.rule_id : std::string()) + ")";
            break;
          }
        }
        processing = a;
      }
    }
  }
  // The refund and the order come back as the one transaction committed
  // them: nothing is read after the commit, so a committed refund is never
  // answered with FAIL.
  StatusOr<RefundResult> result = Status(ErrorCode::kInternal, "未能生成唯一的退款单号, 请重试");
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::string generated_no = NewOutRefundNo(ids, ask.merchantno, now);
    result = ctx.store->CreateRefundWithOrder(ask.merchantno, ask.out_trade_no, ask.out_refund_no,
                                              generated_no, ask.fee_fen, now,
                                              processing ? &*processing : nullptr);
    if (result.ok() || result.status().code() != ErrorCode::kOutRefundNoUsed ||
        ask.out_refund_no) {
      break;
    }
  }
  return result;
}

}  // namespace vkspay::sandbox
