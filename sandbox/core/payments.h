// Buyer actions and generated identifiers, shared by the API methods, the
// cashier page and the control API. Thread-safe (the store and the Random
// are).
#ifndef VKSPAY_SANDBOX_CORE_PAYMENTS_H_
#define VKSPAY_SANDBOX_CORE_PAYMENTS_H_

#include <string>
#include <string_view>

#include "sandbox/core/context.h"

namespace vkspay::sandbox {

// "P10001-20261128102530123456": merchant, China time, 6 random digits.
std::string NewOutTradeNo(Random& rng, std::string_view merchantno, int64_t now);
// "R10001-20261128102530123456", the shape of real ones
// ("R3493-20230707180825169779").
std::string NewOutRefundNo(Random& rng, std::string_view merchantno, int64_t now);
// 28 characters in the wallet's shape: wxpay "4200" + ... , alipay date + "2200" + ...
std::string NewTransactionId(Random& rng, std::string_view channel, int64_t now);
// 24 lowercase hex characters for the cashier URL.
std::string NewCashierToken(Random& rng);

// Resolves "auto" (or empty) to a concrete channel. Errors: kInvalidField if
// channel is not wxpay, alipay or auto.
StatusOr<std::string> ResolveChannel(std::string_view channel, std::string_view order_chnl);

// Acts as the buyer on an unpaid order: pays through `channel` ("wxpay",
// "alipay", or "auto"/empty for the order's own or WeChat), fails or cancels.
// Errors: those of Store::CompletePayment, kInvalidField for a bad channel.
StatusOr<Order> ActAsBuyer(const SandboxContext& ctx, std::string_view merchantno,
                           std::string_view out_trade_no, std::string_view channel,
                           PayOutcome outcome);

// Parses "success", "fail" or "cancel". Errors: kInvalidField.
StatusOr<PayOutcome> ParsePayOutcome(std::string_view s);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_PAYMENTS_H_
