#include "sandbox/notify/retry_schedule.h"

#include <cmath>

namespace vkspay::sandbox {
namespace {

constexpr double kMin = 60;
constexpr double kHour = 3600;

std::string Seconds(double s) {
  auto whole = [](double v) { return v == std::floor(v); };
  if (s >= kHour && whole(s / kHour)) return std::to_string(static_cast<int64_t>(s / kHour)) + "h";
  if (s >= kMin && whole(s / kMin)) return std::to_string(static_cast<int64_t>(s / kMin)) + "m";
  if (whole(s)) return std::to_string(static_cast<int64_t>(s)) + "s";
  std::string text = std::to_string(s);
  while (!text.empty() && text.back() == '0') text.pop_back();
  return text + "s";
}

}  // namespace

std::optional<int64_t> RetrySchedule::DelayAfter(int64_t k, double time_scale) const {
  if (k < 1 || k >= max_attempts()) return std::nullopt;
  const double us = waits_s[static_cast<size_t>(k - 1)] * 1e6 * time_scale;
  return us <= 0 ? int64_t{0} : static_cast<int64_t>(std::llround(us));
}

std::string RetrySchedule::Describe() const {
  std::string out;
  for (double w : waits_s) {
    if (!out.empty()) out += ", ";
    out += Seconds(w);
  }
  return out;
}

StatusOr<RetrySchedule> ScheduleForProfile(std::string_view profile,
                                           const std::vector<double>& custom_waits_s) {
  RetrySchedule s;
  s.name = std::string(profile);
  if (profile == "vkspay") {
    s.waits_s = {15,        15,        30,        3 * kMin,  10 * kMin,
                 20 * kMin, 30 * kMin, 30 * kMin, 30 * kMin, 60 * kMin,
                 3 * kHour, 3 * kHour, 3 * kHour, 6 * kHour, 6 * kHour};
  } else if (profile == "alipay") {
    s.waits_s = {4 * kMin, 10 * kMin, 10 * kMin, kHour, 2 * kHour, 6 * kHour, 15 * kHour};
  } else if (profile == "fast") {
    s.waits_s = {1, 2, 5, 10};
  } else if (profile == "custom") {
    if (custom_waits_s.empty()) {
      return Status(ErrorCode::kInvalidField,
                    "notify_profile \"custom\" needs notify_schedule, a list of seconds");
    }
    s.waits_s = custom_waits_s;
  } else {
    return Status(ErrorCode::kInvalidField,
                  "notify_profile must be \"vkspay\", \"alipay\", \"fast\" or \"custom\", got \"" +
                      std::string(profile) + "\"");
  }
  return s;
}

}  // namespace vkspay::sandbox
