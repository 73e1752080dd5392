// Retry schedules for notifications, as named profiles (docs/notify.md).
//
// The first attempt goes out at once; after failed attempt k (1-based, in the
// current series) the next one waits waits_s[k-1] seconds times time_scale;
// after the last one the notification is failed. A value type: thread-safe
// to share once built.
#ifndef VKSPAY_SANDBOX_NOTIFY_RETRY_SCHEDULE_H_
#define VKSPAY_SANDBOX_NOTIFY_RETRY_SCHEDULE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

struct RetrySchedule {
  std::string name;             // "vkspay", "alipay", "fast" or "custom"
  std::vector<double> waits_s;  // seconds after each failed attempt

  // Attempts in one series: the first plus one per wait.
  int64_t max_attempts() const { return 1 + static_cast<int64_t>(waits_s.size()); }

  // Microseconds to wait after failed attempt k (1-based) of a series,
  // multiplied by time_scale (> 0) and rounded; nullopt once k reaches
  // max_attempts() (the notification has failed).
  std::optional<int64_t> DelayAfter(int64_t k, double time_scale) const;

  // "15s, 15s, 30s, 3m, ..." for banners and logs.
  std::string Describe() const;
};

// The named profiles:
//   vkspay (default; WeChat Pay's published schedule, since VksPay settles
//           through WeChat and Alipay): 15s 15s 30s 3m 10m 20m 30m 30m 30m 60m
//           3h 3h 3h 6h 6h (16 attempts over ~24 h 4 m)
//   alipay: 4m 10m 10m 1h 2h 6h 15h (8 attempts over ~25 h)
//   fast:   1s 2s 5s 10s (5 attempts over 18 s), for local work
//   custom: `custom_waits_s` (must not be empty)
// Errors: kInvalidField for an unknown name or an empty custom list.
StatusOr<RetrySchedule> ScheduleForProfile(std::string_view profile,
                                           const std::vector<double>& custom_waits_s = {});

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_RETRY_SCHEDULE_H_
