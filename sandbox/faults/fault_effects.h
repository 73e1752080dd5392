// Turns the decisions of FaultEngine::Decide into what each part of the
// sandbox does. Pure functions over values: no I/O, no clock, no locks
// (thread-safe). The lead wires them in; each plan documents its caller.
//
// Precedence: when several faults of one exclusive group fire for a call
// (e.g. pay.fail and pay.cancel), the first decision wins (decisions come in
// the engine's order: suspension, header, attach, amount, rules, profile).
// Every decision was recorded by the engine, including ones that lost.
#ifndef VKSPAY_SANDBOX_FAULTS_FAULT_EFFECTS_H_
#define VKSPAY_SANDBOX_FAULTS_FAULT_EFFECTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/faults/fault_engine.h"
#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {

// An HTTP answer as the API handler is about to send it.
struct WireAnswer {
  int http_status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  // Close the connection without sending anything. With cpp-httplib: give the
  // response a content provider that returns false before writing (the client
  // then sees the connection end), or close the socket in a custom handler.
  bool close_connection = false;
};

// What the API handler does at one api hook.
struct ApiEffect {
  // Sleep this long (injected delay, sum of api.delay) before going on:
  // before the method at kApiBefore, before sending the answer at kApiAfter.
  int64_t delay_ms = 0;
  // kApiBefore: skip the method (no state changes) and send `answer`.
  // kApiAfter: send `answer` instead of the produced one.
  bool replace = false;
  WireAnswer answer;
  // "api.http_status (rule flaky-1)", for an X-Sandbox-Fault-Injected
  // response header and the server log; "" when nothing fired.
  std::string injected;
};

// kApiBefore decisions → effect. Faults that replace the answer: api.fail,
// api.http_status, api.close, api.not_json (the first one wins).
ApiEffect PlanApiBefore(const std::vector<FaultDecision>& decisions);
// kApiAfter decisions and the answer the method produced → effect. The first
// of api.fail, api.http_status, api.close, api.not_json, api.truncate,
// api.wrong_amount (applied to `produced`) wins.
ApiEffect PlanApiAfter(const std::vector<FaultDecision>& decisions, const WireAnswer& produced);

// The VksPay FAIL answer an api.fail fault sends:
// {"return_code":"FAIL","return_msg":"<title>: <message>","err_code":...}.
std::string FailAnswerBody(const FaultParams& params);
// `body` (a VksPay JSON answer) with data.refund_fee (a refund answer, one
// that names out_refund_no) or else data.total_fee moved by delta_fen (kept
// above 0 by using |delta| when the sum would not be). A body that is not such an answer comes back unchanged.
std::string WrongAmountBody(const std::string& body, int64_t delta_fen);

// webpay/micropay creating an order (kOrder decisions).
struct OrderPlan {
  // pay.expire_early: the order closes this many seconds after creation
  // (instead of settings.order_expiry_s).
  std::optional<int64_t> expire_after_s;
  // pay.late_success: if the order gets closed (expired or cancelled), it
  // becomes paid this many seconds after the close, and its payment
  // notification is sent then.
  std::optional<int64_t> late_success_after_s;
};
OrderPlan PlanOrder(const std::vector<FaultDecision>& decisions);

enum class PlannedOutcome { kSuccess, kFail, kCancel };
std::string_view OutcomeName(PlannedOutcome o);  // "success", "fail", "cancel"

// The buyer paying (kPayment decisions): cashier page, POST /_sandbox/pay,
// micropay.
struct PaymentPlan {
  // pay.fail / pay.cancel replace the buyer's choice; kSuccess when neither
  // fired (keep the buyer's choice).
  std::optional<PlannedOutcome> outcome;
  // pay.userpaying: the order shows USERPAYING for this many seconds (micropay
  // answers USERPAYING), then `after_userpaying` happens.
  std::optional<int64_t> userpaying_s;
  PlannedOutcome after_userpaying = PlannedOutcome::kSuccess;
};
PaymentPlan PlanPayment(const std::vector<FaultDecision>& decisions);

// orderrefund creating a refund (kRefund decisions).
struct RefundPlan {
  bool fail = false;  // refund.fail: the refund is created FAIL at once
  // refund.processing: PROCESSING for this many seconds, then success (or
  // FAIL when then_fail).
  std::optional<int64_t> processing_s;
  bool then_fail = false;
};
RefundPlan PlanRefund(const std::vector<FaultDecision>& decisions);

// Enqueuing a notification (kNotify decisions). Each field comes from the
// first decision of its kind; different kinds combine. Serialisable
// (NotifyPlanJson / ParseNotifyPlanJson) so it can be stored with the outbox
// row and survive a restart.
struct NotifyPlan {
  int64_t delay_ms = 0;             // notify.delay: first attempt this much later
  int64_t copies = 1;               // notify.duplicate: deliveries of each attempt...
  int64_t copies_within_ms = 0;     // ...spread over [0, within_ms] (DuplicateOffsetsMs)
  int64_t times = 1;                // notify.times: deliveries regardless of acks...
  int64_t times_interval_s = 0;     // ...this far apart
  int64_t drop_first = 0;           // notify.drop_first: attempts 1..n not sent, failed
  bool bad_sign = false;            // notify.bad_sign
  int64_t tamper_delta_fen = 0;     // notify.tamper_amount (0: none)
  int64_t refund_first_hold_s = 0;  // notify.refund_first: hold a payment notification
                                    // until the order's first refund notification went
                                    // out, or this long
  int64_t replay_after_s = 0;       // notify.replay: after the ack, send the same signed
                                    // fields again this long later (0: none)

  bool empty() const;
  friend bool operator==(const NotifyPlan&, const NotifyPlan&) = default;
};
NotifyPlan PlanNotify(const std::vector<FaultDecision>& decisions);
nlohmann::ordered_json NotifyPlanJson(const NotifyPlan& plan);
// Errors: kInvalidField naming the key.
StatusOr<NotifyPlan> ParseNotifyPlanJson(const nlohmann::json& j);

// Offsets (ms after the attempt's time) of the `copies` deliveries of one
// attempt: 0 first, the others spread evenly over (0, within_ms].
std::vector<int64_t> DuplicateOffsetsMs(const NotifyPlan& plan);
// Whether 1-based attempt `attempt` is dropped (recorded as failed with the
// error "dropped by fault injection" and never sent).
bool IsAttemptDropped(const NotifyPlan& plan, int64_t attempt);
// Applies bad_sign and tamper_amount to the signed fields of one attempt
// (after SignNotification): bad_sign replaces `sign` with 32 hex characters
// that do not verify; tamper moves refund_fee (refund notifications) or
// total_fee by tamper_delta_fen and keeps the old sign. Other plans: unchanged.
Fields ApplyNotifyFieldFaults(Fields signed_fields, const NotifyPlan& plan);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_FAULT_EFFECTS_H_
