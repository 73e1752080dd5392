#include "sandbox/ledger/ledger.h"

#include <string>
#include <utility>

#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {
namespace {

// The buyer's outcome on an unpaid order (in memory; the caller writes it):
// SUCCESS with channel and transaction id, PAYERROR or CLOSED.
void SetPayOutcome(Order& o, PayOutcome outcome, std::string_view channel,
                   std::string_view transaction_id, int64_t now) {
  switch (outcome) {
    case PayOutcome::kSuccess:
      o.status = OrderStatus::kSuccess;
      o.pay_chnl = std::string(channel);
      o.transaction_id = std::string(transaction_id);
      o.paid_at = now;
      break;
    case PayOutcome::kFail:
      o.status = OrderStatus::kPayError;
      o.closed_at = now;
      break;
    case PayOutcome::kCancel:
      o.status = OrderStatus::kClosed;
      o.closed_at = now;
      break;
  }
}

Status OrderExpired(const Order& o) {
  return Status(ErrorCode::kOrderClosed, "out_trade_no=" + o.out_trade_no + " 已于 " +
                                             FormatDisplayTime(o.expires_at) + " 过期未支付");
}

// The error for acting on an order that is no longer unpaid.
Status NotUnpaid(const Order& o) {
  const std::string name = "out_trade_no=" + o.out_trade_no;
  switch (o.status) {
    case OrderStatus::kSuccess:
    case OrderStatus::kRefund:
      return Status(ErrorCode::kOrderPaid, name + " 已于 " + FormatDisplayTime(o.paid_at) +
                                               " 支付 " + FormatYuan(o.total_fee) + " 元");
    case OrderStatus::kClosed:
      return Status(ErrorCode::kOrderClosed, name + " 的状态为 CLOSED");
    case OrderStatus::kPayError:
      return Status(ErrorCode::kOrderPayError, name + " 的状态为 PAYERROR, 不能再支付");
    case OrderStatus::kNotPay:
    case OrderStatus::kUserPaying:
      break;
  }
  return Status(ErrorCode::kInternal, "内部错误: " + name + " 未支付, 不应走到这里");
}

// Marks an expired unpaid order CLOSED as of its expiry, in the transaction
// and in `o`.
Status CloseExpired(LedgerTxn& txn, Order& o) {
  Order closed = o;
  closed.status = OrderStatus::kClosed;
  closed.closed_at = o.expires_at;
  VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(closed));
  o = std::move(closed);
  return Status::Ok();
}

}  // namespace

bool IsUnpaid(OrderStatus s) { return s == OrderStatus::kNotPay || s == OrderStatus::kUserPaying; }

bool IsExpiredUnpaid(const Order& o, int64_t now) {
  return IsUnpaid(o.status) && o.expires_at > 0 && now >= o.expires_at;
}

Status OrderNotExistError(std::string_view merchantno, std::string_view out_trade_no) {
  return Status(ErrorCode::kOrderNotExist, "merchantno=" + std::string(merchantno) +
                                               " 下没有 out_trade_no=" + std::string(out_trade_no) +
                                               " 的订单");
}

Status RefundNotExistError(std::string_view merchantno, std::string_view out_refund_no) {
  return Status(ErrorCode::kRefundNotExist, "merchantno=" + std::string(merchantno) +
                                                " 下没有 out_refund_no=" +
                                                std::string(out_refund_no) + " 的退款单");
}

StatusOr<CreateOrderResult> Ledger::CreateOrder(
    LedgerTxn& txn, LedgerEffects& fx, const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create) const {
  if (order.total_fee <= 0) {
    return Status(ErrorCode::kInvalidAmount, "total_fee 必须大于 0, 收到 " +
                                                 std::to_string(order.total_fee) + " 分");
  }
  StatusOr<Order> existing = txn.LoadOrder(order.merchantno, order.out_trade_no);
  if (existing.ok()) {
    Order& e = *existing;
    if (must_be_new) {
      return Status(ErrorCode::kOutTradeNoUsed, "out_trade_no=" + e.out_trade_no +
                                                    " 已被使用 (状态 " +
                                                    std::string(ToString(e.status)) + ")");
    }
    if (IsExpiredUnpaid(e, now)) {
      VKSPAY_RETURN_IF_ERROR(CloseExpired(txn, e));
      fx.keep_writes_on_error = true;
      return OrderExpired(e);
    }
    if (e.status == OrderStatus::kPayError) {
      // Creating again is not paying again: a failed order is simply over.
      return Status(ErrorCode::kOrderClosed,
                    "out_trade_no=" + e.out_trade_no +
                        " 的状态为 PAYERROR (支付失败), 请使用新的订单号");
    }
    if (!IsUnpaid(e.status)) return NotUnpaid(e);
    if (e.total_fee != order.total_fee) {
      return Status(ErrorCode::kOutTradeNoUsed, "out_trade_no=" + e.out_trade_no +
                                                    " 已用于金额 " + FormatYuan(e.total_fee) +
                                                    " 元的订单, 本次 total_fee 为 " +
                                                    FormatYuan(order.total_fee) + " 元");
    }
    return CreateOrderResult{std::move(e), false};
  }
  if (existing.status().code() != ErrorCode::kOrderNotExist) return existing.status();

  Order fresh = order;
  fresh.status = OrderStatus::kNotPay;
  fresh.transaction_id.clear();
  fresh.paid_at = 0;
  fresh.closed_at = 0;
  fresh.refunded_fee = 0;
  fresh.refund_count = 0;
  if (fresh.created_at == 0) fresh.created_at = now;
  if (!fresh.cashier_token.empty()) {
    StatusOr<Order> holder = txn.LoadOrderByToken(fresh.cashier_token);
    if (holder.ok()) {
      // Never names the token or the other order: the caller (which drew
      // the token) draws again; the message must not reach a merchant.
      return Status(ErrorCode::kOutTradeNoUsed, "生成的支付链接标识与已有订单冲突, 需重新生成");
    }
    if (holder.status().code() != ErrorCode::kOrderNotExist) return holder.status();
  }
  VKSPAY_RETURN_IF_ERROR(txn.InsertOrder(fresh));
  for (ScheduledAction a : on_create) {
    a.merchantno = fresh.merchantno;  // the order's, whatever the caller drew
    a.out_trade_no = fresh.out_trade_no;
    VKSPAY_RETURN_IF_ERROR(txn.InsertAction(a, now));
  }
  return CreateOrderResult{std::move(fresh), true};
}

StatusOr<Order> Ledger::Pay(LedgerTxn& txn, LedgerEffects& fx, std::string_view merchantno,
                            std::string_view out_trade_no, PayOutcome outcome,
                            std::string_view channel, std::string_view transaction_id,
                            int64_t now) const {
  StatusOr<Order> order = txn.LoadOrder(merchantno, out_trade_no);
  if (!order.ok()) return order;
  return PayOrder(txn, fx, std::move(order).value(), outcome, channel, transaction_id, now);
}

StatusOr<CreateOrderResult> Ledger::CreateAndPay(LedgerTxn& txn, LedgerEffects& fx,
                                                 const Order& order, bool must_be_new,
                                                 int64_t now,
                                                 const std::vector<ScheduledAction>& on_create,
                                                 const PaymentStep& pay) const {
  StatusOr<CreateOrderResult> created = CreateOrder(txn, fx, order, must_be_new, now, on_create);
  if (!created.ok()) return created;
  StatusOr<Order> paid =
      pay.userpaying
          ? StartUserPayingOrder(txn, fx, std::move(created->order), *pay.userpaying, now)
          : PayOrder(txn, fx, std::move(created->order), pay.outcome, pay.channel,
                     pay.transaction_id, now);
  if (!paid.ok()) return paid.status();
  return CreateOrderResult{std::move(paid).value(), created->created};
}

StatusOr<Order> Ledger::PayOrder(LedgerTxn& txn, LedgerEffects& fx, Order o, PayOutcome outcome,
                                 std::string_view channel, std::string_view transaction_id,
                                 int64_t now) const {
  if (IsExpiredUnpaid(o, now)) {
    VKSPAY_RETURN_IF_ERROR(CloseExpired(txn, o));
    fx.keep_writes_on_error = true;
    return OrderExpired(o);
  }
  if (!IsUnpaid(o.status)) return NotUnpaid(o);
  SetPayOutcome(o, outcome, channel, transaction_id, now);
  VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(o));
  if (outcome == PayOutcome::kSuccess) VKSPAY_RETURN_IF_ERROR(Notify(txn, fx, o, nullptr, now));
  if (outcome == PayOutcome::kCancel) {
    VKSPAY_RETURN_IF_ERROR(txn.MoveLateSuccess(o.merchantno, o.out_trade_no, now * 1'000'000));
  }
  return o;
}

StatusOr<Order> Ledger::StartUserPaying(LedgerTxn& txn, LedgerEffects& fx,
                                        std::string_view merchantno,
                                        std::string_view out_trade_no,
                                        const ScheduledAction& then, int64_t now) const {
  StatusOr<Order> order = txn.LoadOrder(merchantno, out_trade_no);
  if (!order.ok()) return order;
  return StartUserPayingOrder(txn, fx, std::move(order).value(), then, now);
}

StatusOr<Order> Ledger::StartUserPayingOrder(LedgerTxn& txn, LedgerEffects& fx, Order o,
                                             const ScheduledAction& then, int64_t now) const {
  if (IsExpiredUnpaid(o, now)) {
    VKSPAY_RETURN_IF_ERROR(CloseExpired(txn, o));
    fx.keep_writes_on_error = true;
    return OrderExpired(o);
  }
  if (!IsUnpaid(o.status)) return NotUnpaid(o);
  if (o.status == OrderStatus::kUserPaying) return o;  // already waiting: one outcome
  o.status = OrderStatus::kUserPaying;
  VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(o));
  ScheduledAction a = then;
  a.kind = ActionKind::kPayOutcome;
  a.merchantno = o.merchantno;
  a.out_trade_no = o.out_trade_no;
  a.out_refund_no.clear();
  VKSPAY_RETURN_IF_ERROR(txn.InsertAction(a, now));
  return o;
}

StatusOr<RefundResult> Ledger::CreateRefund(
    LedgerTxn& txn, LedgerEffects& fx, std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction* then) const {
  if (refund_fee <= 0) {
    return Status(ErrorCode::kInvalidAmount,
                  "refund_fee 必须大于 0, 收到 " + std::to_string(refund_fee) + " 分");
  }
  const std::string out_refund_no =
      requested_out_refund_no ? *requested_out_refund_no : std::string(generated_out_refund_no);
  StatusOr<Refund> existing = txn.LoadRefund(merchantno, out_refund_no);
  if (existing.ok()) {
    if (requested_out_refund_no && existing->out_trade_no == out_trade_no &&
        existing->refund_fee == refund_fee) {
      // The same request again.
      StatusOr<Order> order = txn.LoadOrder(merchantno, out_trade_no);
      if (!order.ok()) return order.status();
      return RefundResult{std::move(existing).value(), std::move(order).value()};
    }
    return Status(ErrorCode::kOutRefundNoUsed,
                  "out_refund_no=" + out_refund_no + " 已用于订单 out_trade_no=" +
                      existing->out_trade_no + " 的 " + FormatYuan(existing->refund_fee) +
                      " 元退款, 本次申请订单 out_trade_no=" + std::string(out_trade_no) +
                      " 退款 " + FormatYuan(refund_fee) + " 元");
  }
  if (existing.status().code() != ErrorCode::kRefundNotExist) return existing.status();

  StatusOr<Order> order = txn.LoadOrder(merchantno, out_trade_no);
  if (!order.ok()) return order.status();
  Order& o = *order;
  if (!IsPaid(o.status)) {
    return Status(ErrorCode::kRefundNotAllowed,
                  "out_trade_no=" + o.out_trade_no + " 的状态为 " +
                      std::string(ToString(o.status)) + ", 只有已支付的订单可以退款");
  }
  // PROCESSING refunds are not in refunded_fee yet but their money is
  // spoken for: counting them here keeps over-refunding impossible.
  StatusOr<int64_t> processing = txn.SumProcessingRefunds(merchantno, out_trade_no);
  if (!processing.ok()) return processing.status();
  if (refund_fee > o.total_fee - o.refunded_fee - *processing) {
    return Status(ErrorCode::kRefundExceedsPaid,
                  "订单金额 " + FormatYuan(o.total_fee) + " 元, 已退 " +
                      FormatYuan(o.refunded_fee) + " 元" +
                      (*processing > 0 ? ", 退款处理中 " + FormatYuan(*processing) + " 元"
                                       : std::string()) +
                      ", 本次申请 " + FormatYuan(refund_fee) + " 元");
  }
  Refund r;
  r.merchantno = std::string(merchantno);
  r.out_trade_no = std::string(out_trade_no);
  r.out_refund_no = out_refund_no;
  r.refund_fee = refund_fee;
  r.created_at = now;
  if (then != nullptr) {
    r.status = RefundStatus::kProcessing;
    r.success_at = 0;
    VKSPAY_RETURN_IF_ERROR(txn.InsertRefund(r));
    ScheduledAction a = *then;
    a.kind = ActionKind::kRefundOutcome;
    a.merchantno = r.merchantno;
    a.out_trade_no = r.out_trade_no;
    a.out_refund_no = r.out_refund_no;
    VKSPAY_RETURN_IF_ERROR(txn.InsertAction(a, now));
    return RefundResult{std::move(r), std::move(o)};
  }
  r.status = RefundStatus::kSuccess;
  r.success_at = now;
  VKSPAY_RETURN_IF_ERROR(txn.InsertRefund(r));
  o.refunded_fee += refund_fee;
  ++o.refund_count;
  o.status = OrderStatus::kRefund;
  VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(o));
  VKSPAY_RETURN_IF_ERROR(Notify(txn, fx, o, &r, now));
  return RefundResult{std::move(r), std::move(o)};
}

StatusOr<Order> Ledger::CloseIfExpired(LedgerTxn& txn, LedgerEffects& fx,
                                       std::string_view merchantno,
                                       std::string_view out_trade_no, int64_t now) const {
  StatusOr<Order> order = txn.LoadOrder(merchantno, out_trade_no);
  if (!order.ok()) return order;
  if (IsExpiredUnpaid(*order, now)) {
    VKSPAY_RETURN_IF_ERROR(CloseExpired(txn, *order));
    fx.keep_writes_on_error = true;
  }
  return order;
}

Status Ledger::ApplyAction(LedgerTxn& txn, LedgerEffects& fx, const ScheduledAction& a,
                           int64_t now_us) const {
  const int64_t now = now_us / 1'000'000;
  StatusOr<bool> deleted = txn.DeleteAction(a.id);
  if (!deleted.ok()) return deleted.status();
  if (!*deleted) return Status::Ok();  // applied by another transaction
  StatusOr<Order> order = txn.LoadOrder(a.merchantno, a.out_trade_no);
  if (!order.ok()) {
    // Reset meanwhile (the cascade should have removed the action): moot.
    return order.status().code() == ErrorCode::kOrderNotExist ? Status::Ok() : order.status();
  }
  Order& o = *order;
  switch (a.kind) {
    case ActionKind::kPayOutcome: {
      if (IsExpiredUnpaid(o, now)) return CloseExpired(txn, o);
      // The buyer (or the control API) finished the payment meanwhile.
      if (o.status != OrderStatus::kUserPaying) return Status::Ok();
      SetPayOutcome(o, a.outcome, a.channel, a.transaction_id, now);
      VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(o));
      if (a.outcome == PayOutcome::kCancel) {
        VKSPAY_RETURN_IF_ERROR(txn.MoveLateSuccess(o.merchantno, o.out_trade_no, now_us));
      }
      if (a.outcome != PayOutcome::kSuccess) return Status::Ok();
      return Notify(txn, fx, o, nullptr, now);
    }
    case ActionKind::kLateSuccess: {
      if (IsExpiredUnpaid(o, now)) VKSPAY_RETURN_IF_ERROR(CloseExpired(txn, o));
      // Only a closed order gets the late payment; paid, failed or never
      // expiring orders have nothing to be late for.
      if (o.status != OrderStatus::kClosed) return Status::Ok();
      o.status = OrderStatus::kSuccess;
      o.pay_chnl = a.channel;
      o.transaction_id = a.transaction_id;
      o.paid_at = now;  // closed_at stays: it was closed first
      VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(o));
      return Notify(txn, fx, o, nullptr, now);
    }
    case ActionKind::kRefundOutcome: {
      StatusOr<Refund> refund = txn.LoadRefund(a.merchantno, a.out_refund_no);
      if (!refund.ok()) {
        return refund.status().code() == ErrorCode::kRefundNotExist ? Status::Ok()
                                                                    : refund.status();
      }
      Refund& r = *refund;
      if (r.status != RefundStatus::kProcessing) return Status::Ok();
      if (a.outcome == PayOutcome::kSuccess) {
        r.status = RefundStatus::kSuccess;
        r.success_at = now;
        o.refunded_fee += r.refund_fee;
        ++o.refund_count;
        o.status = OrderStatus::kRefund;
        VKSPAY_RETURN_IF_ERROR(txn.UpdateOrder(o));
      } else {
        r.status = RefundStatus::kFail;
        r.success_at = 0;
      }
      VKSPAY_RETURN_IF_ERROR(txn.UpdateRefund(r));
      // The merchant learns the outcome either way (refund_status says which).
      return Notify(txn, fx, o, &r, now);
    }
  }
  return Status::Ok();
}

Status Ledger::Notify(LedgerTxn& txn, LedgerEffects& fx, const Order& o, const Refund* refund,
                      int64_t now) const {
  const NotifyFaultPlan plan = planner_ ? planner_(o, refund) : NotifyFaultPlan{};
  NewNotification n;
  n.type = refund != nullptr ? "refund" : "payment";
  n.merchantno = o.merchantno;
  n.out_trade_no = o.out_trade_no;
  if (refund != nullptr) n.out_refund_no = refund->out_refund_no;
  n.notify_url = o.notify_url;
  n.first_attempt_us = std::max<int64_t>(now * 1'000'000, plan.first_attempt_us);
  n.created_at = now;
  n.fault_plan = plan.plan_json;
  NotificationContent& c = n.content;
  c.notify_type = n.type;
  c.merchantno = o.merchantno;
  c.out_trade_no = o.out_trade_no;
  c.transaction_id = o.transaction_id;
  c.total_fee = o.total_fee;
  c.pay_chnl = o.pay_chnl;
  c.status = std::string(ToString(o.status));
  c.time_end = o.paid_at > 0 ? FormatDisplayTime(o.paid_at) : "";
  c.attach = o.attach;
  if (refund != nullptr) {
    c.out_refund_no = refund->out_refund_no;
    c.refund_fee = refund->refund_fee;
    c.refund_status = std::string(ToString(refund->status));
    c.time_refund = FormatDisplayTime(refund->success_at > 0 ? refund->success_at : now);
  }
  StatusOr<std::string> notify_id = txn.InsertNotification(n);
  if (!notify_id.ok()) return notify_id.status();
  fx.notified = true;
  return Status::Ok();
}

}  // namespace vkspay::sandbox
