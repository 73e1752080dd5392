// Applies the store's scheduled actions (store.h, ScheduledAction) when they
// fall due on the sandbox clock: the end of a USERPAYING payment, a late
// payment, the end of a PROCESSING refund (docs/faults.md).
//
// The actions live in the database, so nothing is lost across a restart:
// Start() applies the overdue ones at once. A background thread sleeps until
// the next due time (at most max_idle_wait_ms of real time, so a clock
// advance is never waited out); ApplyDueNow() applies on the calling thread,
// which is what a clock observer calls so that, once
// POST /_sandbox/clock/advance has answered, what fell due has happened.
//
// Thread-safe. The store and the clock must outlive the scheduler. Start and
// Stop from one thread.
#ifndef VKSPAY_SANDBOX_CORE_ACTION_SCHEDULER_H_
#define VKSPAY_SANDBOX_CORE_ACTION_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "sandbox/store/store.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {

struct ActionSchedulerOptions {
  int64_t max_idle_wait_ms = 200;
  // One line per database error; empty: none.
  std::function<void(const std::string&)> log;
};

class ActionScheduler {
 public:
  ActionScheduler(Store* store, const Clock* clock, ActionSchedulerOptions options = {});
  ~ActionScheduler();  // Stop()
  ActionScheduler(const ActionScheduler&) = delete;
  ActionScheduler& operator=(const ActionScheduler&) = delete;

  // Applies what is overdue, then starts the thread. Idempotent.
  void Start();
  // Joins the thread; actions not due yet stay in the database. Idempotent.
  void Stop();
  // Makes the thread look again now (after a new action was scheduled).
  void Wake();
  // Applies every action due at the clock's now on the calling thread and
  // returns how many were applied (or dropped as moot).
  int64_t ApplyDueNow();

 private:
  void Loop();

  Store* const store_;
  const Clock* const clock_;
  const ActionSchedulerOptions options_;

  std::mutex apply_mu_;  // one ApplyDueNow at a time (thread or observer)
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;      // guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  bool wake_ = false;         // guarded by mu_
  int64_t next_due_us_ = -1;  // guarded by mu_; -1: none known
  std::thread thread_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_ACTION_SCHEDULER_H_
