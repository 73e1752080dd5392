#include "sandbox/store/store.h"

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

}  // namespace vkspay::sandbox
