#include "sandbox/store/store.h"

#include "nlohmann/json.hpp"
#include "vkspay/protocol/amount.h"

namespace vkspay::sandbox {

std::string_view ToString(OrderStatus s) {
  switch (s) {
    case OrderStatus::kNotPay:
      return "NOTPAY";
    case OrderStatus::kUserPaying:
      return "USERPAYING";
    case OrderStatus::kSuccess:
      return "SUCCESS";
    case OrderStatus::kRefund:
      return "REFUND";
    case OrderStatus::kClosed:
      return "CLOSED";
    case OrderStatus::kPayError:
      return "PAYERROR";
  }
  return "UNKNOWN";
}

std::optional<OrderStatus> ParseOrderStatus(std::string_view s) {
  for (OrderStatus status : {OrderStatus::kNotPay, OrderStatus::kUserPaying, OrderStatus::kSuccess,
                             OrderStatus::kRefund, OrderStatus::kClosed, OrderStatus::kPayError}) {
    if (ToString(status) == s) return status;
  }
  return std::nullopt;
}

std::string_view ToString(RefundStatus s) {
  switch (s) {
    case RefundStatus::kSuccess:
      return "SUCCESS";
    case RefundStatus::kProcessing:
      return "PROCESSING";
    case RefundStatus::kFail:
      return "FAIL";
  }
  return "UNKNOWN";
}

std::string_view ToString(ActionKind k) {
  switch (k) {
    case ActionKind::kPayOutcome:
      return "pay_outcome";
    case ActionKind::kLateSuccess:
      return "late_success";
    case ActionKind::kRefundOutcome:
      return "refund_outcome";
  }
  return "unknown";
}

std::optional<ActionKind> ParseActionKind(std::string_view s) {
  for (ActionKind k :
       {ActionKind::kPayOutcome, ActionKind::kLateSuccess, ActionKind::kRefundOutcome}) {
    if (ToString(k) == s) return k;
  }
  return std::nullopt;
}

std::string_view ToString(PayOutcome o) {
  switch (o) {
    case PayOutcome::kSuccess:
      return "success";
    case PayOutcome::kFail:
      return "fail";
    case PayOutcome::kCancel:
      return "cancel";
  }
  return "unknown";
}

std::optional<PayOutcome> ParsePayOutcomeName(std::string_view s) {
  for (PayOutcome o : {PayOutcome::kSuccess, PayOutcome::kFail, PayOutcome::kCancel}) {
    if (ToString(o) == s) return o;
  }
  return std::nullopt;
}

namespace {
Status NotSupported(std::string_view what) {
  return Status(ErrorCode::kInternal,
                "内部错误: 此存储不支持 " + std::string(what) + " (fault injection)");
}
}  // namespace

StatusOr<CreateOrderResult> Store::CreateOrderWithActions(
    const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create) {
  if (!on_create.empty()) return NotSupported("scheduled actions");
  return CreateOrder(order, must_be_new, now);
}

StatusOr<CreateOrderResult> Store::CreateAndPay(const Order& order, bool must_be_new,
                                                int64_t now,
                                                const std::vector<ScheduledAction>& on_create,
                                                const PaymentStep& pay) {
  StatusOr<CreateOrderResult> created = CreateOrderWithActions(order, must_be_new, now, on_create);
  if (!created.ok()) return created;
  const Order& o = created->order;
  StatusOr<Order> paid =
      pay.userpaying
          ? StartUserPaying(o.merchantno, o.out_trade_no, *pay.userpaying, now)
          : CompletePayment(o.merchantno, o.out_trade_no, pay.outcome, pay.channel,
                            pay.transaction_id, now);
  if (!paid.ok()) return paid.status();
  return CreateOrderResult{std::move(paid).value(), created->created};
}

StatusOr<RefundResult> Store::CreateRefundWithOrder(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction* then) {
  StatusOr<Refund> refund =
      then != nullptr
          ? CreateProcessingRefund(merchantno, out_trade_no, requested_out_refund_no,
                                   generated_out_refund_no, refund_fee, now, *then)
          : CreateRefund(merchantno, out_trade_no, requested_out_refund_no,
                         generated_out_refund_no, refund_fee, now);
  if (!refund.ok()) return refund.status();
  StatusOr<Order> order = GetOrder(merchantno, out_trade_no, now);
  if (!order.ok()) return order.status();
  return RefundResult{std::move(refund).value(), std::move(order).value()};
}

StatusOr<Order> Store::StartUserPaying(std::string_view, std::string_view,
                                       const ScheduledAction&, int64_t) {
  return NotSupported("USERPAYING");
}

StatusOr<Refund> Store::CreateProcessingRefund(std::string_view, std::string_view,
                                               const std::optional<std::string>&,
                                               std::string_view, int64_t, int64_t,
                                               const ScheduledAction&) {
  return NotSupported("PROCESSING refunds");
}

StatusOr<AppliedActions> Store::ApplyDueActions(int64_t) { return AppliedActions{}; }

StatusOr<std::vector<ScheduledAction>> Store::ListActions(std::string_view, std::string_view) {
  return std::vector<ScheduledAction>{};
}

StatusOr<int64_t> Store::ReleaseHeldPayment(std::string_view, std::string_view, int64_t) {
  return int64_t{0};
}

std::string_view ToString(NotifyState s) {
  switch (s) {
    case NotifyState::kPending:
      return "pending";
    case NotifyState::kAcked:
      return "acked";
    case NotifyState::kFailed:
      return "failed";
    case NotifyState::kBlocked:
      return "blocked";
  }
  return "unknown";
}

std::optional<NotifyState> ParseNotifyState(std::string_view s) {
  for (NotifyState state :
       {NotifyState::kPending, NotifyState::kAcked, NotifyState::kFailed, NotifyState::kBlocked}) {
    if (ToString(state) == s) return state;
  }
  return std::nullopt;
}

StatusOr<NotificationContent> ParseNotificationPayload(std::string_view payload) {
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) {
    std::string shown(payload.substr(0, 80));
    return Status(ErrorCode::kInternal,
                  "数据库错误: 通知内容 (payload) " + what + ": " + shown);
  };
  if (j.is_discarded() || !j.is_object()) return bad("不是 JSON 对象");
  NotificationContent c;
  auto str = [&](const char* name, std::string* out) -> bool {
    auto it = j.find(name);
    if (it == j.end()) return true;  // optional fields (attach) may be absent
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  std::string total_fee, refund_fee;
  for (auto [name, out] : {std::pair{"notify_type", &c.notify_type},
                           std::pair{"notify_id", &c.notify_id},
                           std::pair{"merchantno", &c.merchantno},
                           std::pair{"out_trade_no", &c.out_trade_no},
                           std::pair{"transaction_id", &c.transaction_id},
                           std::pair{"total_fee", &total_fee},
                           std::pair{"pay_chnl", &c.pay_chnl},
                           std::pair{"status", &c.status},
                           std::pair{"time_end", &c.time_end},
                           std::pair{"attach", &c.attach},
                           std::pair{"out_refund_no", &c.out_refund_no},
                           std::pair{"refund_fee", &refund_fee},
                           std::pair{"refund_status", &c.refund_status},
                           std::pair{"time_refund", &c.time_refund}}) {
    if (!str(name, out)) return bad(std::string("的 ") + name + " 不是字符串");
  }
  if (c.notify_type != "payment" && c.notify_type != "refund") {
    return bad("的 notify_type 无效");
  }
  StatusOr<int64_t> fee = ParseYuanText("total_fee", total_fee, INT64_MAX / 200);
  if (!fee.ok()) return bad("的 total_fee 无效");
  c.total_fee = *fee;
  if (c.notify_type == "refund") {
    StatusOr<int64_t> rfee = ParseYuanText("refund_fee", refund_fee, INT64_MAX / 200);
    if (!rfee.ok()) return bad("的 refund_fee 无效");
    c.refund_fee = *rfee;
  }
  return c;
}

}  // namespace vkspay::sandbox
