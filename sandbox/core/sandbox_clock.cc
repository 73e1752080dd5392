#include "sandbox/core/sandbox_clock.h"

#include <string>
#include <utility>

namespace vkspay::sandbox {

Status SandboxClock::AdvanceMicros(int64_t micros) {
  if (micros < 0) {
    return Status(ErrorCode::kInvalidField, "the sandbox clock only moves forward; got " +
                                                std::to_string(micros) + " microseconds");
  }
  offset_us_.fetch_add(micros);
  NotifyObservers();
  return Status::Ok();
}

int64_t SandboxClock::ResetOffset() {
  const int64_t removed = offset_us_.exchange(0);
  if (removed != 0) NotifyObservers();
  return removed;
}

void SandboxClock::NotifyObservers() {
  std::vector<std::function<void()>> observers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    observers = observers_;
  }
  for (const auto& observer : observers) observer();
}

void SandboxClock::AddObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observers_.push_back(std::move(observer));
}

}  // namespace vkspay::sandbox
