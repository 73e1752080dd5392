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
// it (refused: the notification is 'blocked' with the reason, never retried
// on its own; among the refusals: the sandbox's own listening address, see
// UrlGuard::SetOwnListener); the form is
// signed afresh (timestamp = sandbox now, new signaturenonce) with the same
// notify_id; the HttpSender posts it; DecideAck judges the answer; the
// attempt and the new state are recorded in one transaction. After failed
// attempt k the next is due schedule.DelayAfter(k) after the attempt ended,
// on the sandbox clock.
//
// Isolation with an adaptive limit: each host:port of the target URL starts
// with `per_host` attempts in flight; every attempt it acknowledges within
// `fast_ms` raises its limit by one, up to `per_host_max`; a fast answer that
// is not an ack lowers it by one (a merchant failing every request sinks to
// `per_host`, one failing 10% stays near the cap); a slow answer or none at
// all (timeout, refused, reset) drops it back to `per_host` at once, since
// only slow attempts hold workers for long. The
// other due rows of a host wait in memory while the workers serve other
// hosts, so a fast merchant gets many attempts in flight while a dead one
// (5 s timeouts) holds at most `per_host` workers and cannot starve the rest.
//
// The outbox scan keeps a cursor (Store::ClaimDueNotifications `after`):
// under load a scan reads only rows that became due behind the last one it
// passed, and a full scan (stepping over the held rows) runs at most every
// `full_scan_ms` or when the cursor finds nothing, so retries, resends and
// clock moves are never missed for longer than that.
//
// Fault injection (a notification's fault_plan, docs/faults.md): dropped
// attempts, bad signatures and tampered amounts change an attempt; the extra
// deliveries of notify.duplicate, notify.times and notify.replay are queued
// in memory on the sandbox clock (so --time-scale and clock advances compress
// them) and sent by the workers like attempts, without holding a worker while
// they wait; a restart forgets the extras not sent yet (the notification's own
// delivery is unaffected). After a refund notification is sent, the order's
// payment notification held by notify.refund_first is released.
//
// With a Telemetry in the context, every attempt and extra delivery is put
// on its delivery feed once recorded (telemetry/delivery_feed.h).
//
// Thread-safe. The context, guard and sender must outlive the dispatcher.
// Start/Stop from one thread.
#ifndef VKSPAY_SANDBOX_NOTIFY_DISPATCHER_H_
#define VKSPAY_SANDBOX_NOTIFY_DISPATCHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sandbox/core/context.h"
#include "sandbox/notify/http_sender.h"
#include "sandbox/notify/retry_schedule.h"
#include "sandbox/notify/url_guard.h"
#include "sandbox/telemetry/telemetry.h"

namespace vkspay::sandbox {

struct DispatcherOptions {
  RetrySchedule schedule;   // e.g. ScheduleForProfile("vkspay")
  double time_scale = 1.0;  // multiplies every schedule delay (> 0)
  int64_t workers = 64;
  int64_t per_host = 2;      // a host's limit to start with, and after a failure
  int64_t per_host_max = 32; // the most a fast, healthy host gets
  int64_t fast_ms = 250;     // an ack within this raises the host's limit
  int64_t timeout_ms = 5000;
  size_t max_response_bytes = 64 * 1024;
  std::string forward_to;  // global; a merchant's own forward_to wins
  // Rows read per scan of the outbox, and the most held in memory (queued or
  // in flight) at once.
  size_t batch = 256;
  size_t max_held = 10000;
  // Real milliseconds between full scans of the outbox while the cursor
  // scans keep finding rows.
  int64_t full_scan_ms = 250;
  // The scheduler looks at the outbox at least this often (real time), so a
  // clock advance or a changed time scale is never waited out.
  int64_t max_idle_wait_ms = 200;
  // Scans start at least this far apart (real time): under a burst of
  // payments one scan then takes the rows of many commits; it adds at most
  // this much to a notification's first attempt.
  int64_t min_scan_gap_us = 1000;
  // One line per attempt (and per database error); empty: no log. Never
  // receives keys or signatures.
  std::function<void(const std::string&)> log;
  // Receives the warnings instead (a notification that ended failed or
  // blocked, database errors); empty: they go to `log` too.
  std::function<void(const std::string&)> warn_log;
};

// The options the settings describe. Errors: kInvalidField for an unknown
// profile or a custom one without a schedule.
StatusOr<DispatcherOptions> DispatcherOptionsFor(const Settings& settings);

// The guard the settings describe: notify_allow, and loopback refused under
// notify_refuse_loopback or strict_notify_url (which implies it).
UrlGuardOptions UrlGuardOptionsFor(const Settings& settings);

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
  // A host's current limit on attempts in flight ("host:port"; per_host if
  // the dispatcher knows nothing of it). For tests and health.
  int64_t host_limit(const std::string& host_key) const;
  // Extra deliveries (fault injection) waiting for their time.
  size_t extras_waiting() const;

  // "host:port" of a URL, the key of the per-host limit ("" if unparsable).
  static std::string HostKey(const std::string& url);

 private:
  // A delivery beyond the notification's own attempts (fault injection).
  struct Extra {
    int64_t due_us = 0;         // sandbox clock
    Notification notification;  // as it was when the extra was planned
    std::string body;           // the exact form to send again; "": sign afresh
    std::string label;          // "notify.replay of attempt 1", for logs and the attempt log
    bool record = false;        // logged as an attempt of the notification
  };
  struct Job {
    Notification notification;
    std::string host_key;
    std::optional<Extra> extra;  // set: send this extra, not an attempt
  };
  struct Host {
    int64_t running = 0;      // jobs of this host in ready_ or being attempted
    int64_t limit = 0;        // attempts allowed in flight now (adaptive)
    std::deque<Job> waiting;  // due, held back by the per-host limit
  };
  // How an attempt went, for the schedule and the host's limit.
  enum class Pace {
    kFastAck,   // acked within fast_ms: the host may take more at once
    kFastFail,  // answered within fast_ms, but no ack: it may take fewer
    kSlow,      // slower than fast_ms, or no answer at all: back to per_host
  };
  struct AttemptOutcome {
    bool retry = false;  // the notification stays pending
    Pace pace = Pace::kSlow;
  };

  void SchedulerLoop();
  void WorkerLoop();
  // Claims due rows into the queues; returns how long to wait (real
  // microseconds) before looking again.
  int64_t ScanOnce();
  // One delivery attempt, recorded.
  AttemptOutcome Attempt(const Notification& n);
  // The host's limit after an attempt; moves waiting jobs to ready_ while
  // the host has room. Needs mu_.
  void AdaptHostLocked(const std::string& key, Host& host, Pace pace);
  // Puts a delivery on the telemetry's delivery feed (if any).
  void Publish(const Notification& n, const NotifyAttempt& a, const std::string& kind,
               int64_t attempt, int64_t wall_us, const std::string& outcome,
               const std::string& state) const;
  // Tells the fault engine how a sent attempt went (merchant.suspend_after).
  void ReportDelivery(const Notification& n, bool acked);
  // Queues an extra delivery (or, when not started, sends it on the calling
  // thread once due: DeliverDueNow does).
  void AddExtra(Extra extra);
  // Sends one extra delivery; records it if extra.record.
  void SendExtra(const Extra& extra);
  // Moves the extras due at now_us to the ready queue; needs mu_. Returns the
  // earliest due_us of the rest (or -1).
  int64_t TakeDueExtrasLocked(int64_t now_us, std::vector<Extra>* out);
  // A fault delay in seconds on the sandbox clock (scaled by time_scale).
  int64_t ScaledUs(int64_t seconds) const;
  std::string TargetUrl(const Notification& n, const Merchant* m) const;
  void Log(const std::string& line, bool warning = false) const;

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
  // Limits learned by hosts that went idle (kept so that a fast host does
  // not start over at per_host after each lull); guarded by mu_, bounded.
  std::unordered_map<std::string, int64_t> learned_limits_;
  // The outbox cursor and when the last full scan ran; scheduler thread only.
  std::optional<OutboxCursor> cursor_;
  std::chrono::steady_clock::time_point last_full_scan_{};
  std::deque<Job> ready_;                        // guarded by mu_
  std::multimap<int64_t, Extra> extras_;         // guarded by mu_; by due_us
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_DISPATCHER_H_
