// The kinds of failure the sandbox can inject (issue 4), their parameters and
// their stable names. A Fault is a value: a kind plus its parameters, already
// validated; it says *what* goes wrong, not *when* (that is a FaultRule, a
// request directive, a magic amount or a profile; see fault_engine.h).
//
// Every kind belongs to exactly one hook, the point in the sandbox where it is
// decided and applied:
//
//   Hook         Who asks                     Kinds
//   kApiBefore   API handler, before method   api.* whose phase is "before"
//   kApiAfter    API handler, after method    api.* whose phase is "after"
//   kOrder       webpay/micropay creating     pay.expire_early, pay.late_success
//                an order
//   kPayment     the buyer paying (cashier,   pay.fail, pay.cancel, pay.userpaying
//                control /pay, micropay)
//   kNotify      a notification being         notify.*
//                enqueued (payment or refund)
//   kRefund      orderrefund creating a       refund.*
//                refund
//   kMerchant    notification deliveries      merchant.suspend_after
//                (FaultEngine::RecordDelivery)
//
// Names and JSON parameter names are stable: scripts, config files and the
// control API use them. sandbox/faults/README.md documents each one.
#ifndef VKSPAY_SANDBOX_FAULTS_FAULT_H_
#define VKSPAY_SANDBOX_FAULTS_FAULT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

enum class FaultKind {
  // API answers.
  kApiFail,         // "api.fail": return_code FAIL with err_code
  kApiHttpStatus,   // "api.http_status": HTTP 429/500/502/503, empty or HTML body
  kApiDelay,        // "api.delay": answer after ms (or uniform in [ms, max_ms])
  kApiClose,        // "api.close": connection closed, no answer
  kApiTruncate,     // "api.truncate": body cut after keep_bytes (0: half)
  kApiNotJson,      // "api.not_json": HTTP 200 with an HTML or text body
  kApiWrongAmount,  // "api.wrong_amount": data.total_fee/refund_fee + delta_fen
  // Payment outcomes.
  kPayFail,         // "pay.fail": the buyer's payment fails (PAYERROR)
  kPayCancel,       // "pay.cancel": the buyer cancels (CLOSED)
  kPayUserPaying,   // "pay.userpaying": USERPAYING for seconds, then `then`
  kPayExpireEarly,  // "pay.expire_early": the order closes after seconds
  kPayLateSuccess,  // "pay.late_success": paid seconds after it was closed
  // Notifications.
  kNotifyDelay,         // "notify.delay": first attempt ms later
  kNotifyDuplicate,     // "notify.duplicate": copies deliveries within within_ms
  kNotifyTimes,         // "notify.times": delivered `times` times, interval_s apart
  kNotifyDropFirst,     // "notify.drop_first": first `attempts` attempts lost
  kNotifyBadSign,       // "notify.bad_sign": sign does not verify
  kNotifyTamperAmount,  // "notify.tamper_amount": total_fee + delta_fen, old sign
  kNotifyRefundFirst,   // "notify.refund_first": payment notification held (<= seconds)
                        //   until the order's first refund notification went out
  kNotifyReplay,        // "notify.replay": the acked notification sent again, as
                        //   it was, seconds later
  // Refunds.
  kRefundProcessing,  // "refund.processing": PROCESSING for seconds, then `then`
  kRefundFail,        // "refund.fail": the refund fails
  // Merchant standing.
  kMerchantSuspendAfter,  // "merchant.suspend_after": suspended after `failures`
                          //   consecutive failed delivery attempts
};

enum class FaultHook { kApiBefore, kApiAfter, kOrder, kPayment, kNotify, kRefund, kMerchant };

// When an api.* fault acts: before the method runs (no state changes) or after
// (the method ran and committed; only the answer is affected).
enum class ApiPhase { kBefore, kAfter };

// The parameters of every kind in one struct; each kind reads only its own
// (see KindParams()). Defaults are the documented ones.
struct FaultParams {
  std::string err_code = "SYSTEM_ERROR";  // api.fail: [A-Z0-9_]{1,64}
  std::string message;                    // api.fail: appended to return_msg
  int64_t status = 503;                   // api.http_status: 429, 500, 502 or 503
  std::string body = "empty";             // api.http_status: empty|html; api.not_json: html|text
  int64_t ms = 0;                         // api.delay, notify.delay
  int64_t max_ms = 0;                     // api.delay, notify.delay: 0 = exactly ms
  int64_t seconds = 0;                    // pay.*, notify.refund_first, notify.replay,
                                          // refund.processing
  std::string then = "success";           // pay.userpaying: success|fail|cancel;
                                          // refund.processing: success|fail
  int64_t count = 0;                      // copies / times / attempts / failures
  int64_t within_ms = 1000;               // notify.duplicate
  int64_t interval_s = 15;                // notify.times
  int64_t keep_bytes = 0;                 // api.truncate: 0 = half the answer
  int64_t delta_fen = 0;                  // api.wrong_amount, notify.tamper_amount
  ApiPhase phase = ApiPhase::kBefore;     // api.*

  friend bool operator==(const FaultParams&, const FaultParams&) = default;
};

struct Fault {
  FaultKind kind = FaultKind::kApiFail;
  FaultParams params;

  friend bool operator==(const Fault&, const Fault&) = default;
};

// The stable name, e.g. "api.http_status".
std::string_view KindName(FaultKind kind);
// Every kind in declaration order.
std::span<const FaultKind> AllKinds();
// Parses a stable name. Errors: kInvalidField "<path>: expected one of
// api.fail, ..., got \"x\"".
StatusOr<FaultKind> ParseKindName(std::string_view path, std::string_view name);

// The hook a fault is decided at (api.* by its phase).
FaultHook HookOf(const Fault& fault);
std::string_view HookName(FaultHook hook);   // "api_before", "api_after", "order", ...
std::string_view PhaseName(ApiPhase phase);  // "before" or "after"

// A fault of `kind` with that kind's default parameters.
Fault DefaultFault(FaultKind kind);

// Parses an action object {"kind": "...", "params": {...}} (params optional;
// missing params take defaults). `path` prefixes every error
// ("faults.rules[2].action"). Errors: kInvalidField naming the exact path
// ("faults.rules[2].action.params.ms: expected an integer in [0, 600000], got
// -5"), for a wrong type, an unknown kind, an unknown parameter (listing the
// kind's parameters) or a value out of range.
StatusOr<Fault> ParseFaultJson(std::string_view path, const nlohmann::json& action);
// Checks cross-parameter constraints (max_ms >= ms, phase allowed for the
// kind, ...). Errors: kInvalidField prefixed with `path`.
Status ValidateFault(std::string_view path, const Fault& fault);
// {"kind": "...", "params": {<only this kind's parameters>}}; ParseFaultJson
// of the result gives the fault back.
nlohmann::ordered_json FaultJson(const Fault& fault);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_FAULT_H_
