// Buyer actions and generated identifiers, shared by the API methods, the
// cashier page and the control API. Thread-safe (the store and the Random
// are).
#ifndef VKSPAY_SANDBOX_CORE_PAYMENTS_H_
#define VKSPAY_SANDBOX_CORE_PAYMENTS_H_

#include <optional>
#include <string>
#include <string_view>

#include "sandbox/core/context.h"
#include "sandbox/faults/fault_engine.h"

namespace vkspay::sandbox {

// "P10001-20261128102530123456": merchant, China time, 6 random digits.
std::string NewOutTradeNo(Random& rng, std::string_view merchantno, int64_t now);
// "R10001-20261128102530123456", the shape of real ones
// ("R3493-20230707180825169779").
std::string NewOutRefundNo(Random& rng, std::string_view merchantno, int64_t now);
// 28 characters in the wallet's shape: wxpay "4200" + ... , alipay date + "2200" + ...
std::string NewTransactionId(Random& rng, std::string_view channel, int64_t now);
// The cashier URL's token (/pay/<token>): whoever holds it can pay the
// order, so it is a secret. 32 lowercase hex characters carrying 128 bits of
// `rng` (main passes a CryptoRandom; issue #13 finding 5).
inline constexpr size_t kCashierTokenLength = 32;  // Random::Hex128
// Tokens of orders created before issue #13 (96 bits); still served.
inline constexpr size_t kLegacyCashierTokenLength = 24;
std::string NewCashierToken(Random& rng);
// True for kCashierTokenLength or kLegacyCashierTokenLength lowercase hex
// characters: what the cashier routes look up.
bool IsCashierTokenShape(std::string_view token);

// A Random whose every draw is the base's mixed with `salt` (Store::
// StartupSalt): a restart with the same seed on a database that already
// holds orders draws other ids than the run before. Salt 0 (an empty
// database) draws exactly the base's sequence, so tests stay deterministic.
// Thread-safe if the base is.
class SaltedRandom final : public Random {
 public:
  SaltedRandom(Random& base, uint64_t salt);
  uint64_t Next() override;

 private:
  Random& base_;
  const uint64_t mix_;  // 0 when salt is 0
};

// Resolves "auto" (or empty) to a concrete channel. Errors: kInvalidField if
// channel is not wxpay, alipay or auto.
StatusOr<std::string> ResolveChannel(std::string_view channel, std::string_view order_chnl);

// What the buyer's payment becomes once the kPayment faults have spoken.
struct BuyerPlan {
  PayOutcome outcome = PayOutcome::kSuccess;  // at once (when no userpaying_s)
  // pay.userpaying: the order is USERPAYING for this many seconds (scaled by
  // settings.time_scale, on the sandbox clock), then `then`.
  std::optional<int64_t> userpaying_s;
  PayOutcome then = PayOutcome::kSuccess;
  std::string note;  // "pay.userpaying (attach)", stored with the action
};
// Asks the kPayment hook for `fc` (no engine in ctx: `chosen`, at once).
// pay.fail / pay.cancel replace `chosen`; pay.userpaying delays the outcome.
BuyerPlan PlanBuyer(const SandboxContext& ctx, const FaultContext& fc, PayOutcome chosen);

// A fault's `seconds` as a delay on the sandbox clock, in microseconds:
// multiplied by settings.time_scale (as notification retry delays are).
int64_t FaultDelayUs(const SandboxContext& ctx, int64_t seconds);

// `plan` as the store's PaymentStep through `channel` (resolved: wxpay or
// alipay): the outcome at once (with a new transaction id on success), or
// USERPAYING with the outcome scheduled userpaying_s later.
PaymentStep PlanPaymentStep(const SandboxContext& ctx, const std::string& channel,
                            const BuyerPlan& plan, int64_t now);

// Carries out `plan` on an unpaid order through `channel` (resolved: wxpay or
// alipay): Store::CompletePayment at once, or Store::StartUserPaying with the
// outcome scheduled (see PlanPaymentStep). Errors: those of the store.
StatusOr<Order> CarryOutPayment(const SandboxContext& ctx, std::string_view merchantno,
                                std::string_view out_trade_no, const std::string& channel,
                                const BuyerPlan& plan, int64_t now);

// Acts as the buyer on an unpaid order (after the order's kPayment faults,
// which may turn the outcome into fail or cancel, or make the order
// USERPAYING first): pays through `channel` ("wxpay", "alipay", or
// "auto"/empty for the order's own or WeChat), fails or cancels.
// Errors: those of Store::CompletePayment, kInvalidField for a bad channel.
StatusOr<Order> ActAsBuyer(const SandboxContext& ctx, std::string_view merchantno,
                           std::string_view out_trade_no, std::string_view channel,
                           PayOutcome outcome);

// A refund asked for by the merchant (orderrefund) or from the dashboard.
struct RefundAsk {
  std::string merchantno;
  std::string out_trade_no;
  // The merchant's refund number; nullopt: one is generated (R<merchant>-...).
  std::optional<std::string> out_refund_no;
  int64_t fee_fen = 0;  // > 0; the caller parsed it
  // The request's X-Sandbox-Fault header; "": the order's own (stored when
  // it was created) applies.
  std::string header_directive;
};

// Refunds part of a paid order: asks the kRefund hook (no engine in ctx: no
// faults), then Store::CreateRefundWithOrder, retrying a generated number
// that collides (up to 8 draws from `ids`). refund.fail creates nothing and
// answers kRefundFailed; refund.processing makes the refund PROCESSING with
// its outcome scheduled (FaultDelayUs later). The result holds the refund
// and the order as the transaction committed them. Errors: kRefundFailed,
// those of Store::CreateRefund (kOrderNotExist, kRefundNotAllowed,
// kRefundExceedsPaid, kOutRefundNoUsed), kInternal.
StatusOr<RefundResult> RefundOrder(const SandboxContext& ctx, Random& ids, const RefundAsk& ask);

// What fault rules match on for an order (method = the creating method,
// amount, channel, the order's attach and the X-Sandbox-Fault header it was
// created with).
FaultContext OrderFaultContext(const Order& order);

// The store's NotifyPlanner for `engine` and `clock` (the sandbox clock; both
// must outlive the store): asks the notify hook for each new notification
// row (payment: the order's context; refund: method "orderrefund") and
// stores the NotifyPlan. The order's stored X-Sandbox-Fault header, attach,
// magic amounts, rules and profiles reach this hook. A payment notification
// with notify.refund_first is held (first attempt refund_first_hold_s *
// time_scale later) until the dispatcher releases it.
NotifyPlanner MakeNotifyPlanner(FaultEngine& engine, const Clock& clock, double time_scale = 1.0);

// The buyer's outcome after the kPayment faults (pay.fail, pay.cancel) for
// `fc`: `chosen` unless one fired. No engine in ctx: `chosen`. Ignores
// pay.userpaying (see PlanBuyer).
PayOutcome PlannedPayOutcome(const SandboxContext& ctx, const FaultContext& fc, PayOutcome chosen);

// Parses "success", "fail" or "cancel". Errors: kInvalidField.
StatusOr<PayOutcome> ParsePayOutcome(std::string_view s);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_PAYMENTS_H_
