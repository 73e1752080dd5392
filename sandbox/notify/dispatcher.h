// The notification dispatcher: drains the outbox (the notifications table)
// with a bounded pool of workers, one attempt at a time per notification,
// retrying on the configured schedule. See docs/notify.md.
//
// Nothing about delivery lives only in memory except which rows are queued
// or in flight: on start-up every pending row is simply due (or due later),
// so a restart after kill -9 resumes where the database says. A row whose
// attempt was under way when the process died is attempted again (delivery
// is at least once; notify_id lets the merchant drop the repeat).
//
// Per attempt: the target is the merchant's forward_to, else the global
// forward_to, else the order's notify_url; the UrlGuard resolves and checks
// it (refused: the notification is 'blocked' with the reason); the form is
// signed afresh (timestamp = sandbox now, new signaturenonce) with the same
// notify_id; the HttpSender posts it; DecideAck judges the answer; the
// attempt and the new state are recorded in one transaction. After failed
// attempt k the next is due schedule.DelayAfter(k) after the attempt ended,
// on the sandbox clock.
//
// Isolation: at most `per_host` attempts are in flight per host:port of the
// target URL; the other due rows of that host wait in memory while the
// workers serve other hosts, so one dead merchant (5 s timeouts) cannot
// starve the others.
//
// Thread-safe. The context, guard and sender must outlive the dispatcher.
// Start/Stop from one thread.
#ifndef VKSPAY_SANDBOX_NOTIFY_DISPATCHER_H_
#define VKSPAY_SANDBOX_NOTIFY_DISPATCHER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sandbox/core/context.h"
#include "sandbox/notify/http_sender.h"
#include "sandbox/notify/retry_schedule.h"
#include "sandbox/notify/url_guard.h"

namespace vkspay::sandbox {

struct DispatcherOptions {
  RetrySchedule schedule;   // e.g. ScheduleForProfile("vkspay")
  double time_scale = 1.0;  // multiplies every schedule delay (> 0)
  int64_t workers = 8;
  int64_t per_host = 2;
  int64_t timeout_ms = 5000;
  size_t max_response_bytes = 64 * 1024;
  std::string forward_to;  // global; a merchant's own forward_to wins
  // Rows read per scan of the outbox, and the most held in memory (queued or
  // in flight) at once.
  size_t batch = 64;
  size_t max_held = 10000;
  // The scheduler looks at the outbox at least this often (real time), so a
  // clock advance or a changed time scale is never waited out.
  int64_t max_idle_wait_ms = 200;
  // One line per attempt (and per database error); empty: no log. Never
  // receives keys or signatures.
  std::function<void(const std::string&)> log;
};

// The options the settings describe. Errors: kInvalidField for an unknown
// profile or a custom one without a schedule.
StatusOr<DispatcherOptions> DispatcherOptionsFor(const Settings& settings);

// Lets the guard reach the hosts of every configured notify_url and
// forward_to (merchants' and the global one).
void AllowConfiguredHosts(UrlGuard& guard, const SandboxConfig& config);

class Dispatcher {
 public:
  Dispatcher(const SandboxContext& ctx, const UrlGuard* guard, HttpSender* sender,
             DispatcherOptions options);
  ~Dispatcher();  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the scheduler and the workers. Every pending row is picked up as
  // it falls due. Idempotent.
  void Start();
  // Stops taking work, lets the attempts in flight finish and record (each
  // bounded by the timeout), joins every thread. Queued rows stay pending in
  // the database. Idempotent.
  void Stop();
  // Makes the scheduler look at the outbox now: call after a commit that
  // made a notification due, or after the clock moved. Cheap; any thread.
  void Wake();

  // Makes one attempt, on the calling thread, for every notification due
  // now (ignoring per_host), and returns how many were made. For tests and
  // tools; not while started.
  int DeliverDueNow();

  // Rows queued or in flight (for tests and health).
  size_t held() const;

  // "host:port" of a URL, the key of the per-host limit ("" if unparsable).
  static std::string HostKey(const std::string& url);

 private:
  struct Job {
    Notification notification;
    std::string host_key;
  };
  struct Host {
    int64_t running = 0;      // jobs of this host in ready_ or being attempted
    std::deque<Job> waiting;  // due, held back by the per-host limit
  };

  void SchedulerLoop();
  void WorkerLoop();
  // Claims due rows into the queues; returns how long to wait (real
  // microseconds) before looking again.
  int64_t ScanOnce();
  // One delivery attempt, recorded. True if the notification stays pending
  // (a retry is scheduled).
  bool Attempt(const Notification& n);
  // Tells the fault engine how a sent attempt went (merchant.suspend_after).
  void ReportDelivery(const Notification& n, bool acked);
  std::string TargetUrl(const Notification& n, const Merchant* m) const;
  void Log(const std::string& line) const;

  const SandboxContext ctx_;
  const UrlGuard* const guard_;
  HttpSender* const sender_;
  const DispatcherOptions options_;

  mutable std::mutex mu_;
  std::condition_variable scheduler_cv_;
  std::condition_variable worker_cv_;
  bool started_ = false;                         // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  bool wake_ = false;                            // guarded by mu_
  std::unordered_set<int64_t> held_;             // guarded by mu_
  std::unordered_map<std::string, Host> hosts_;  // guarded by mu_
  std::deque<Job> ready_;                        // guarded by mu_
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_DISPATCHER_H_
