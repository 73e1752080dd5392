#include "sandbox/notify/ack.h"

#include <string_view>

#include "nlohmann/json.hpp"

namespace vkspay::sandbox {
namespace {

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The start of the body, for the reason.
std::string Shown(std::string_view body) {
  constexpr size_t kMax = 60;
  if (body.empty()) return "an empty body";
  std::string out = "\"" + std::string(body.substr(0, kMax));
  if (body.size() > kMax) out += "...";
  return out + "\"";
}

bool IsJsonSuccess(std::string_view body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto code = j.find("code");
  return code != j.end() && code->is_string() && code->get<std::string>() == "SUCCESS";
}

}  // namespace

AckDecision DecideAck(const SendResult& r, AckMode mode) {
  if (!r.error.empty()) return {false, r.error};
  if (r.http_status == 0) return {false, "no HTTP answer"};
  if (r.body_truncated) {
    return {false, "HTTP " + std::to_string(r.http_status) +
                       " with an answer longer than the cap (not read to the end)"};
  }
  if (r.http_status >= 300 && r.http_status < 400) {
    return {false, "redirect " + std::to_string(r.http_status) +
                       (r.location.empty() ? "" : " to " + r.location) + " (not followed)"};
  }
  if (r.http_status < 200 || r.http_status >= 300) {
    return {false, "HTTP " + std::to_string(r.http_status)};
  }
  const std::string_view body = Trim(r.body);
  switch (mode) {
    case AckMode::kAny2xx:
      return {true, ""};
    case AckMode::kText:
      if (body == "success" || body == "SUCCESS") return {true, ""};
      [[fallthrough]];
    case AckMode::kJson:
      if (IsJsonSuccess(body)) return {true, ""};
      break;
  }
  return {false, "HTTP " + std::to_string(r.http_status) + " but " + Shown(body) +
                     (mode == AckMode::kText ? " is neither {\"code\":\"SUCCESS\"} nor success"
                                             : " is not {\"code\":\"SUCCESS\",...}")};
}

}  // namespace vkspay::sandbox
