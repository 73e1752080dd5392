#include "vkspay/conformance/verdict.h"

#include "nlohmann/json.hpp"

namespace vkspay::conformance {

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kWarn:
      return "WARN";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kSkip:
      return "SKIP";
  }
  return "?";
}

namespace {

std::string Trimmed(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return std::string(s.substr(b, e - b));
}

// The first 60 bytes of a body on one line, for reasons.
std::string Head(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 60)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (body.size() > 60) out += "...";
  return out;
}

}  // namespace

Answer ClassifyAnswer(bool transport_ok, int status, std::string_view body) {
  if (!transport_ok) return Answer::kUnreachable;
  if (status < 200 || status > 299) return Answer::kRefused;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto it = j.find("code");
    if (it != j.end() && it->is_string() && it->get<std::string>() == "SUCCESS") {
      return Answer::kAckJson;
    }
    return Answer::kRefused;
  }
  const std::string t = Trimmed(body);
  if (t == "success" || t == "SUCCESS") return Answer::kAckText;
  return Answer::kRefused;
}

std::string DescribeAnswer(Answer a, int status, std::string_view body) {
  switch (a) {
    case Answer::kAckJson:
      return "acked (HTTP " + std::to_string(status) + ")";
    case Answer::kAckText:
      return "acked with plain text \"" + Trimmed(body) + "\" (HTTP " + std::to_string(status) +
             ")";
    case Answer::kRefused:
      return "refused (HTTP " + std::to_string(status) + " " + Head(body) + ")";
    case Answer::kUnreachable:
      return "no answer";
  }
  return "?";
}

namespace {
bool Acked(Answer a) { return a == Answer::kAckJson || a == Answer::kAckText; }
}  // namespace

Outcome GradeAttack(AttackKind kind, Answer answer, std::optional<bool> acted,
                    const std::string& described) {
  if (answer == Answer::kUnreachable) return Outcome::Fail("handler unreachable: " + described);
  if (acted.value_or(false)) {
    return Outcome::Fail(described + ", and the merchant acted on it (its state changed)");
  }
  if (!Acked(answer)) return Outcome::Pass(described);
  if (acted.has_value()) {
    return Outcome::Warn(described + " but did not act on it (state unchanged)");
  }
  if (kind == AttackKind::kForgery) {
    return Outcome::Fail(described +
                         " a forged notification; give --state-url to show it was ignored");
  }
  return Outcome::Warn(described + "; cannot tell whether it acted on it (no --state-url)");
}

Outcome GradeValid(Answer answer, std::optional<bool> paid, const std::string& described) {
  if (answer == Answer::kUnreachable) return Outcome::Fail("handler unreachable: " + described);
  if (answer == Answer::kRefused) {
    return Outcome::Fail("a valid notification must be acked with {\"code\":\"SUCCESS\"}; " +
                         described);
  }
  if (paid.has_value() && !*paid) {
    return Outcome::Fail(described + " but the order is not paid in the merchant's state");
  }
  if (answer == Answer::kAckText) {
    return Outcome::Warn(described + "; VksPay's sample expects {\"code\":\"SUCCESS\",...}");
  }
  return Outcome::Pass(described + (paid.has_value() ? ", order paid" : ""));
}

Outcome GradeRepeat(bool is_replay, Answer first, Answer second, std::optional<int> times_processed,
                    const std::string& described) {
  if (first == Answer::kUnreachable || second == Answer::kUnreachable) {
    return Outcome::Fail("handler unreachable: " + described);
  }
  if (!Acked(first)) return Outcome::Fail("the first (valid) delivery was not acked: " + described);
  if (times_processed.has_value() && *times_processed != 1) {
    return Outcome::Fail("processed " + std::to_string(*times_processed) +
                         " times, expected once: " + described);
  }
  const std::string checked = times_processed.has_value()
                                  ? ", processed once"
                                  : " (processed-once not checked: no --state-url)";
  if (!Acked(second)) {
    if (is_replay) return Outcome::Pass("replay refused: " + described + checked);
    return Outcome::Warn("the duplicate was refused, so VksPay keeps retrying it: " + described +
                         checked);
  }
  return Outcome::Pass(described + checked);
}

}  // namespace vkspay::conformance
