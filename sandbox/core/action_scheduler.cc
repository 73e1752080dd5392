#include "sandbox/core/action_scheduler.h"

#include <algorithm>
#include <chrono>

namespace vkspay::sandbox {

ActionScheduler::ActionScheduler(Store* store, const Clock* clock, ActionSchedulerOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

ActionScheduler::~ActionScheduler() { Stop(); }

void ActionScheduler::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
  }
  ApplyDueNow();  // whatever fell due while the sandbox was down
  thread_ = std::thread([this] { Loop(); });
}

void ActionScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
}

void ActionScheduler::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

int64_t ActionScheduler::ApplyDueNow() {
  std::lock_guard<std::mutex> apply(apply_mu_);
  StatusOr<AppliedActions> r = store_->ApplyDueActions(clock_->NowMicros());
  if (!r.ok()) {
    if (options_.log)
      options_.log("faults: cannot apply scheduled actions: " + r.status().ToString());
    return 0;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_due_us_ = r->next_due_us.value_or(-1);
  }
  return r->applied;
}

void ActionScheduler::Loop() {
  const int64_t idle_us = options_.max_idle_wait_ms * 1000;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      int64_t wait_us = idle_us;
      if (next_due_us_ >= 0) {
        wait_us = std::clamp<int64_t>(next_due_us_ - clock_->NowMicros(), 0, idle_us);
      }
      cv_.wait_for(lock, std::chrono::microseconds(wait_us), [this] { return wake_ || stopping_; });
      if (stopping_) return;
      wake_ = false;
    }
    ApplyDueNow();
  }
}

}  // namespace vkspay::sandbox
