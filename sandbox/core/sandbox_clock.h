// The sandbox's clock: a base clock (the system clock in main, a FakeClock in
// tests) plus an offset, moved forward by the control API
// (POST /_sandbox/clock/advance) so tests can jump over retry delays, the way
// Stripe's test clocks do, and put back to 0 by POST /_sandbox/clock/reset
// (never set to anything else, so no component sees time go back by more
// than what was added). Every component reads time through it.
//
// Thread-safe. Owned by main (or a test), which keeps the base clock alive
// longer than it.
#ifndef VKSPAY_SANDBOX_CORE_SANDBOX_CLOCK_H_
#define VKSPAY_SANDBOX_CORE_SANDBOX_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

class SandboxClock final : public Clock {
 public:
  explicit SandboxClock(const Clock* base) : base_(base) {}

  int64_t NowMicros() const override { return base_->NowMicros() + offset_us_.load(); }
  // How far the clock has been advanced, microseconds.
  int64_t offset_us() const { return offset_us_.load(); }

  // Moves the clock forward by `micros` (>= 0) and then calls every observer
  // (on the calling thread). Errors: kInvalidField for a negative amount.
  Status AdvanceMicros(int64_t micros);

  // Sets the offset back to 0 (the base clock's time) and then calls every
  // observer. Returns the offset it removed, microseconds (0: nothing to do;
  // the observers are not called then).
  int64_t ResetOffset();

  // Registers a function called after every advance or reset (the notification
  // dispatcher wakes up on it). The function must be thread-safe.
  void AddObserver(std::function<void()> observer);

 private:
  void NotifyObservers();

  const Clock* base_;
  std::atomic<int64_t> offset_us_{0};
  std::mutex mu_;
  std::vector<std::function<void()>> observers_;  // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_SANDBOX_CLOCK_H_
