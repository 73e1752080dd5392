// Verdicts and the pure grading rules of the conformance suite.
//
// A case ends in one Verdict with a one-line reason. The grading of what a
// merchant's notify handler did is pure (no I/O) so its rules are unit-tested
// on their own: see docs/conformance.md for the table these functions encode.
#ifndef VKSPAY_CONFORMANCE_VERDICT_H_
#define VKSPAY_CONFORMANCE_VERDICT_H_

#include <optional>
#include <string>
#include <string_view>

namespace vkspay::conformance {

// kPass: conforms. kWarn: allowed but risky (the run still exits 0).
// kFail: does not conform (the run exits 1). kSkip: could not be checked
// against this target (the reason says what is missing); never a pass.
enum class Verdict { kPass, kWarn, kFail, kSkip };

// "PASS", "WARN", "FAIL", "SKIP".
std::string_view VerdictName(Verdict v);

// What a case concluded: a verdict and one line saying why.
struct Outcome {
  Verdict verdict = Verdict::kPass;
  std::string reason;

  static Outcome Pass(std::string reason) { return {Verdict::kPass, std::move(reason)}; }
  static Outcome Warn(std::string reason) { return {Verdict::kWarn, std::move(reason)}; }
  static Outcome Fail(std::string reason) { return {Verdict::kFail, std::move(reason)}; }
  static Outcome Skip(std::string reason) { return {Verdict::kSkip, std::move(reason)}; }
};

// How a merchant's notify handler answered one notification.
enum class Answer {
  kAckJson,      // HTTP 2xx, JSON body with "code":"SUCCESS" (the sample's ack)
  kAckText,      // HTTP 2xx, a plain "success"/"SUCCESS" body (accepted by some setups)
  kRefused,      // anything else: another status, another body
  kUnreachable,  // no HTTP answer at all (refused connection, timeout, reset)
};

// Classifies an HTTP answer (status, body). transport_ok=false is kUnreachable.
Answer ClassifyAnswer(bool transport_ok, int status, std::string_view body);

// "acked (HTTP 200 {"code":"SUCCESS"...})" and the like, for reasons.
std::string DescribeAnswer(Answer a, int status, std::string_view body);

// How bad it is to ack an attack when the suite cannot see whether the
// merchant acted on it.
enum class AttackKind {
  kForgery,  // the signature does not verify: acking it unverified is a Fail
  kSigned,   // correctly signed but wrong (stale, unknown order, amount, order
             // of events): acking it unverified is a Warn
};

// Grades an attack notification the handler should refuse (or at least not
// act on). `acted`: whether the merchant's state changed (nullopt when no
// --state-url). `described` says what the handler answered.
//   unreachable → Fail; acted → Fail; refused → Pass;
//   acked and not acted → Warn; acked and unknown → Fail for a forgery,
//   Warn for a signed one.
Outcome GradeAttack(AttackKind kind, Answer answer, std::optional<bool> acted,
                    const std::string& described);

// Grades the valid notification: it must be acked with the JSON ack, and, when
// the state is known, the order must then be paid.
//   unreachable/refused → Fail; state says not paid → Fail; text ack → Warn.
Outcome GradeValid(Answer answer, std::optional<bool> paid, const std::string& described);

// Grades a notification delivered twice (a duplicate within one second, or
// the exact bytes replayed later). Both answers and, when known, how many
// times the order was processed (must be exactly 1).
//   unreachable → Fail; first not acked → Fail; processed != 1 → Fail;
//   second refused → Warn for a duplicate (VksPay keeps retrying it), Pass
//   for a replay (refusing a replayed nonce is right); otherwise Pass.
Outcome GradeRepeat(bool is_replay, Answer first, Answer second, std::optional<int> times_processed,
                    const std::string& described);

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_VERDICT_H_
