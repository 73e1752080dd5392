#include "sandbox/notify/dispatcher.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <utility>

#include "sandbox/core/payments.h"
#include "sandbox/faults/fault_effects.h"
#include "sandbox/notify/ack.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"

namespace vkspay::sandbox {
namespace {

constexpr char kFormContentType[] = "application/x-www-form-urlencoded";
constexpr size_t kResponseHeadBytes = 256;

std::string Millis(int64_t us) {
  const int64_t ms10 = (us + 50) / 100;  // tenths of a millisecond
  return std::to_string(ms10 / 10) + "." + std::to_string(ms10 % 10) + "ms";
}

std::string SecondsText(int64_t us) {
  if (us % 1'000'000 == 0) return std::to_string(us / 1'000'000) + "s";
  return std::to_string(us / 1000) + "ms";
}

// The notification's fault plan (written by the store from NotifyPlanJson);
// none, or unreadable, is the empty plan.
NotifyPlan PlanOf(const Notification& n) {
  if (n.fault_plan.empty()) return NotifyPlan{};
  StatusOr<NotifyPlan> parsed = ParseNotifyPlanJson(
      nlohmann::json::parse(n.fault_plan, nullptr, /*allow_exceptions=*/false));
  return parsed.ok() ? *parsed : NotifyPlan{};
}

}  // namespace

StatusOr<DispatcherOptions> DispatcherOptionsFor(const Settings& settings) {
  StatusOr<RetrySchedule> schedule =
      ScheduleForProfile(settings.notify_profile, settings.notify_schedule);
  if (!schedule.ok()) return schedule.status();
  DispatcherOptions o;
  o.schedule = std::move(schedule).value();
  o.time_scale = settings.time_scale;
  o.workers = settings.notify_workers;
  o.per_host = settings.notify_per_host;
  o.per_host_max = std::max(settings.notify_per_host, settings.notify_per_host_max);
  o.timeout_ms = settings.notify_timeout_ms;
  o.forward_to = settings.forward_to;
  return o;
}

UrlGuardOptions UrlGuardOptionsFor(const Settings& settings) {
  UrlGuardOptions o;
  o.allow = settings.notify_allow;
  o.allow_loopback = !settings.notify_refuse_loopback && !settings.strict_notify_url;
  return o;
}

void AllowConfiguredHosts(UrlGuard& guard, const SandboxConfig& config) {
  for (const Merchant& m : config.merchants) {
    if (!m.notify_url.empty()) guard.AllowHostOf(m.notify_url);
    if (!m.forward_to.empty()) guard.AllowHostOf(m.forward_to);
  }
  if (!config.settings.forward_to.empty()) guard.AllowHostOf(config.settings.forward_to);
}

std::string Dispatcher::HostKey(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  std::string scheme = url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
  }
  std::string host = authority;
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return "";
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "";
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (port.empty()) port = scheme == "https" ? "443" : "80";
  return host + ":" + port;
}

Dispatcher::Dispatcher(const SandboxContext& ctx, const UrlGuard* guard, HttpSender* sender,
                       DispatcherOptions options)
    : ctx_(ctx), guard_(guard), sender_(sender), options_(std::move(options)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  wake_ = true;  // look at once: resume whatever is pending
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  const int64_t n = std::max<int64_t>(1, options_.workers);
  for (int64_t i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void Dispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  scheduler_cv_.notify_all();
  worker_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  // Whatever was queued is still pending in the database.
  ready_.clear();
  hosts_.clear();
  held_.clear();
  started_ = false;
}

void Dispatcher::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  scheduler_cv_.notify_one();
}

size_t Dispatcher::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_.size();
}

int64_t Dispatcher::host_limit(const std::string& host_key) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = hosts_.find(host_key); it != hosts_.end()) return it->second.limit;
  if (auto it = learned_limits_.find(host_key); it != learned_limits_.end()) return it->second;
  return options_.per_host;
}

size_t Dispatcher::extras_waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return extras_.size();
}

int64_t Dispatcher::ScaledUs(int64_t seconds) const {
  return std::max<int64_t>(0, static_cast<int64_t>(std::llround(static_cast<double>(seconds) * 1e6 *
                                                                options_.time_scale)));
}

void Dispatcher::AddExtra(Extra extra) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t due = extra.due_us;
    extras_.emplace(due, std::move(extra));
  }
  Wake();
}

int64_t Dispatcher::TakeDueExtrasLocked(int64_t now_us, std::vector<Extra>* out) {
  while (!extras_.empty() && extras_.begin()->first <= now_us) {
    out->push_back(std::move(extras_.begin()->second));
    extras_.erase(extras_.begin());
  }
  return extras_.empty() ? -1 : extras_.begin()->first;
}

void Dispatcher::Log(const std::string& line, bool warning) const {
  if (warning && options_.warn_log) {
    options_.warn_log(line);
  } else if (options_.log) {
    options_.log(line);
  }
}

void Dispatcher::SchedulerLoop() {
  int64_t wait_us = 0;
  auto last_scan = std::chrono::steady_clock::time_point{};
  const auto min_gap = std::chrono::microseconds(options_.min_scan_gap_us);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      scheduler_cv_.wait_for(lock, std::chrono::microseconds(wait_us),
                             [this] { return wake_ || stopping_; });
      if (stopping_) return;
      // Under a burst every commit wakes the scheduler; scanning at most
      // once per min_gap lets one scan take the rows of many commits.
      scheduler_cv_.wait_until(lock, last_scan + min_gap, [this] { return stopping_; });
      if (stopping_) return;
      wake_ = false;
    }
    last_scan = std::chrono::steady_clock::now();
    wait_us = ScanOnce();
  }
}

int64_t Dispatcher::ScanOnce() {
  const int64_t idle_us = options_.max_idle_wait_ms * 1000;
  // A cursor scan needs no exclusion list: every row behind the cursor was
  // passed already, and a row claimed twice is dropped below (held_).
  const auto real_now = std::chrono::steady_clock::now();
  bool rescan_soon = false;
  const bool full = !cursor_ || real_now - last_full_scan_ >=
                                    std::chrono::milliseconds(options_.full_scan_ms);
  std::unordered_set<int64_t> exclude;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (held_.size() >= options_.max_held) return idle_us;  // a completion wakes us
    if (full) exclude = held_;
  }
  const int64_t now_us = ctx_.clock->NowMicros();
  int64_t next_extra_us = -1;
  {
    // Extras skip the per-host limit: they are few, and they were planned to
    // arrive at their time.
    std::vector<Extra> extras;
    std::lock_guard<std::mutex> lock(mu_);
    next_extra_us = TakeDueExtrasLocked(now_us, &extras);
    for (Extra& e : extras) {
      Job job;
      job.notification = e.notification;
      job.extra = std::move(e);
      ready_.push_back(std::move(job));
    }
  }
  StatusOr<DueNotifications> due = ctx_.store->ClaimDueNotifications(
      now_us, options_.batch, exclude, full ? std::nullopt : cursor_);
  if (!due.ok()) {
    Log("notify: cannot read the outbox: " + due.status().ToString(), true);
    cursor_.reset();
    return idle_us;
  }
  if (full) last_full_scan_ = real_now;
  if (due->last) {
    cursor_ = due->last;
  } else if (!full) {
    // Nothing new behind the cursor: look at everything next time, at the
    // latest full_scan_ms from now (cheap when idle; catches retries and
    // resends that fell due behind it). Waiting for the next wake-up alone
    // lost a retry made due by a clock advance while its row was still
    // held: the advance's scan skipped the held row, the worker's wake-up
    // found only the cursor, and nothing woke again for max_idle_wait_ms.
    cursor_.reset();
    rescan_soon = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Notification& n : due->due) {
      if (!held_.insert(n.id).second) continue;
      const Merchant* m = ctx_.config->FindMerchant(n.merchantno);
      Job job{std::move(n), "", std::nullopt};
      job.host_key = HostKey(TargetUrl(job.notification, m));
      auto [it, fresh] = hosts_.try_emplace(job.host_key);
      Host& host = it->second;
      if (fresh) {
        auto learned = learned_limits_.find(job.host_key);
        host.limit = learned != learned_limits_.end() ? learned->second : options_.per_host;
      }
      if (host.running < host.limit) {
        ++host.running;
        ready_.push_back(std::move(job));
      } else {
        host.waiting.push_back(std::move(job));
      }
    }
  }
  worker_cv_.notify_one();  // the first worker wakes the next (WorkerLoop)
  int64_t wait_us = idle_us;
  if (rescan_soon) wait_us = std::min(wait_us, options_.full_scan_ms * 1000);
  if (due->next_due_us) wait_us = std::min(wait_us, *due->next_due_us - now_us);
  if (next_extra_us >= 0) wait_us = std::min(wait_us, next_extra_us - now_us);
  return std::clamp<int64_t>(wait_us, 0, idle_us);
}

void Dispatcher::WorkerLoop() {
  // Wake-ups are chained, never broadcast: whoever queues work wakes one
  // worker, a worker that takes a job while more are ready wakes one more,
  // and a worker that finishes takes the next ready job itself. With 64
  // workers a broadcast per completion cost more CPU than the attempts.
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    worker_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    Job job = std::move(ready_.front());
    ready_.pop_front();
    if (!ready_.empty()) worker_cv_.notify_one();
    lock.unlock();
    if (job.extra) {
      SendExtra(*job.extra);
      lock.lock();
      continue;
    }
    const AttemptOutcome outcome = Attempt(job.notification);
    lock.lock();
    const bool was_full = held_.size() >= options_.max_held;
    held_.erase(job.notification.id);
    Host& host = hosts_[job.host_key];
    --host.running;
    AdaptHostLocked(job.host_key, host, outcome.pace);
    // Once the row is no longer held, the scheduler can see its retry time,
    // which may be sooner than it planned to look again.
    if (was_full || outcome.retry) {
      wake_ = true;
      scheduler_cv_.notify_one();
    }
  }
}

void Dispatcher::AdaptHostLocked(const std::string& key, Host& host, Pace pace) {
  // Additive increase while the host answers fast and well, additive
  // decrease while it answers fast but refuses, and back to the small limit
  // at the first slow or missing answer, so a host that starts to stall
  // cannot hold more than per_host workers for long.
  const int64_t cap = std::max(options_.per_host, options_.per_host_max);
  switch (pace) {
    case Pace::kFastAck:
      host.limit = std::min(host.limit + 1, cap);
      break;
    case Pace::kFastFail:
      // A quick refusal holds no worker for long: step down, do not halve
      // (halving kept a receiver failing 10% of requests near 18 in flight
      // and cost the drain half its rate).
      host.limit = std::max(options_.per_host, host.limit - 1);
      break;
    case Pace::kSlow:
      host.limit = options_.per_host;
      break;
  }
  // The freed slot (and any new ones) pass to the host's next due rows.
  while (host.running < host.limit && !host.waiting.empty()) {
    ready_.push_back(std::move(host.waiting.front()));
    host.waiting.pop_front();
    ++host.running;
  }
  if (host.running <= 0 && host.waiting.empty()) {
    if (host.limit != options_.per_host) {
      if (learned_limits_.size() >= 4096) learned_limits_.clear();
      learned_limits_[key] = host.limit;
    } else {
      learned_limits_.erase(key);
    }
    hosts_.erase(key);
  }
}

int Dispatcher::DeliverDueNow() {
  StatusOr<DueNotifications> due =
      ctx_.store->ClaimDueNotifications(ctx_.clock->NowMicros(), options_.max_held, {});
  if (!due.ok()) {
    Log("notify: cannot read the outbox: " + due.status().ToString(), true);
    return 0;
  }
  for (const Notification& n : due->due) Attempt(n);  // outcome: nothing to adapt
  std::vector<Extra> extras;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TakeDueExtrasLocked(ctx_.clock->NowMicros(), &extras);
  }
  for (const Extra& e : extras) SendExtra(e);
  return static_cast<int>(due->due.size() + extras.size());
}

std::string Dispatcher::TargetUrl(const Notification& n, const Merchant* m) const {
  if (m != nullptr && !m->forward_to.empty()) return m->forward_to;
  if (!options_.forward_to.empty()) return options_.forward_to;
  return n.notify_url;
}

void Dispatcher::ReportDelivery(const Notification& n, bool acked) {
  FaultContext fc;
  // Only a failure is matched against merchant.suspend_after rules, which
  // may look at the order (amount, channel); an ack just resets the count,
  // so it costs no store read.
  if (!acked) {
    StatusOr<Order> order =
        ctx_.store->GetOrder(n.merchantno, n.out_trade_no, ctx_.clock->NowSeconds());
    if (order.ok()) fc = OrderFaultContext(*order);
  }
  fc.merchantno = n.merchantno;
  fc.out_trade_no = n.out_trade_no;
  if (n.type == "refund") fc.method = "orderrefund";
  if (ctx_.faults->RecordDelivery(fc, acked)) {
    Log("faults: merchantno=" + n.merchantno +
        " suspended after consecutive failed notification deliveries (merchant.suspend_after)");
  }
}

namespace {

// The kind of answer, for the delivery feed: what a merchant's operator
// looks for first when notifications are not acked.
std::string OutcomeOf(const SendResult& r, bool acked) {
  if (acked) return "acked";
  if (r.http_status == 0) {
    return r.error.find("timeout") != std::string::npos ? "timeout" : "connect_error";
  }
  return r.http_status >= 200 && r.http_status < 300 ? "wrong_ack_body" : "http_status";
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Dispatcher::Publish(const Notification& n, const NotifyAttempt& a, const std::string& kind,
                         int64_t attempt, int64_t wall_us, const std::string& outcome,
                         const std::string& state) const {
  if (ctx_.telemetry == nullptr) return;
  ctx_.telemetry->delivery.RecordAttempt(
      kind, outcome, outcome != "blocked" && outcome != "dropped", a.latency_us);
  DeliveryEvent e;
  e.notify_id = n.notify_id;
  e.type = n.type;
  e.merchantno = n.merchantno;
  e.out_trade_no = n.out_trade_no;
  e.out_refund_no = n.out_refund_no;
  e.kind = kind;
  e.attempt = attempt;
  e.at_us = a.at_us;
  e.wall_us = wall_us;
  e.latency_us = a.latency_us;
  e.http_status = a.http_status;
  e.outcome = outcome;
  e.error = a.acked ? "" : a.error;
  e.state = state;
  ctx_.telemetry->deliveries.Add(std::move(e));
}

Dispatcher::AttemptOutcome Dispatcher::Attempt(const Notification& n) {
  const Merchant* m = ctx_.config->FindMerchant(n.merchantno);
  const int64_t k = n.attempts + 1;  // this attempt's number in its series
  NotifyAttempt attempt;
  attempt.notification_id = n.id;
  attempt.at_us = ctx_.clock->NowMicros();
  int64_t wall_us = WallMicros();
  attempt.url = TargetUrl(n, m);
  std::string feed_outcome;  // for the delivery feed
  NotifyUpdate update;
  update.expected_attempts = n.attempts;

  std::string outcome;  // for the log
  bool sent = false;    // an HTTP request went out
  auto block = [&](const std::string& reason) {
    attempt.error = reason;
    feed_outcome = "blocked";
    update.state = NotifyState::kBlocked;
    update.last_error = reason;
    outcome = "blocked: " + reason;
  };
  // The schedule after an attempt that was acked or not.
  auto schedule = [&](bool acked, const std::string& reason, const std::string& what) {
    if (acked) {
      update.state = NotifyState::kAcked;
      outcome = what;
    } else if (std::optional<int64_t> delay =
                   options_.schedule.DelayAfter(k, options_.time_scale)) {
      update.state = NotifyState::kPending;
      update.next_attempt_us = ctx_.clock->NowMicros() + *delay;
      update.last_error = reason;
      outcome = what + "; next attempt in " + SecondsText(*delay);
    } else {
      update.state = NotifyState::kFailed;
      update.last_error = reason;
      outcome = what + "; failed, the " + options_.schedule.name + " schedule is used up";
    }
  };
  const NotifyPlan plan = PlanOf(n);
  StatusOr<NotificationContent> content = ParseNotificationPayload(n.payload);
  if (m == nullptr) {
    block("merchant " + n.merchantno + " is not configured (no key to sign with)");
  } else if (!content.ok()) {
    block(content.status().message());
  } else if (attempt.url.empty()) {
    block("no notify_url (the order named none and no forward_to is set)");
  } else if (StatusOr<OutboundTarget> target = guard_->Resolve(attempt.url); !target.ok()) {
    block(target.status().message());
  } else if (IsAttemptDropped(plan, n.total_attempts + 1)) {
    // notify.drop_first: lost on the way; counts as a failed attempt.
    attempt.error = "dropped by fault injection";
    feed_outcome = "dropped";
    if (ctx_.faults != nullptr) ReportDelivery(n, false);
    schedule(false, attempt.error, attempt.error);
  } else {
    const Fields form = ApplyNotifyFieldFaults(
        SignNotification(*content, ctx_.clock->NowSeconds(), ctx_.rng->Digits(8, '1'), m->key),
        plan);
    SendOptions send;
    send.timeout_ms = options_.timeout_ms;
    send.max_response_bytes = options_.max_response_bytes;
    const std::string body = EncodeForm(form);
    const auto started = std::chrono::steady_clock::now();
    wall_us = WallMicros();
    const SendResult r = sender_->Post(*target, body, kFormContentType, send);
    const AckDecision ack = DecideAck(r, m->ack_mode);
    feed_outcome = OutcomeOf(r, ack.acked);
    attempt.http_status = r.http_status;
    attempt.latency_us = r.latency_us;
    attempt.response_head = r.body.substr(0, kResponseHeadBytes);
    attempt.error = ack.reason;
    attempt.acked = ack.acked;
    if (ctx_.faults != nullptr) ReportDelivery(n, ack.acked);
    const std::string what =
        (r.http_status != 0 ? std::to_string(r.http_status) + " " : std::string()) +
        (ack.acked ? "acked" : ack.reason) + " in " + Millis(r.latency_us);
    schedule(ack.acked, ack.reason, what);
    bool running = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      running = started_ && !stopping_;
    }
    // notify.duplicate: the same form again within the window. Not attempts
    // of their own. Queued, so no worker waits out the window; without
    // running workers (DeliverDueNow), sent here.
    const std::vector<int64_t> offsets = DuplicateOffsetsMs(plan);
    for (size_t i = 1; i < offsets.size(); ++i) {
      const std::string label = "duplicate " + std::to_string(i + 1) + "/" +
                                std::to_string(offsets.size()) + " (notify.duplicate)";
      if (running) {
        AddExtra(Extra{attempt.at_us + offsets[i] * 1000, n, body, label, false});
        continue;
      }
      std::this_thread::sleep_until(started + std::chrono::milliseconds(offsets[i]));
      const SendResult copy = sender_->Post(*target, body, kFormContentType, send);
      outcome += "; " + label + ": " +
                 (copy.http_status != 0 ? std::to_string(copy.http_status) : copy.error);
    }
    // notify.times: after the first attempt that was sent, times - 1 more
    // deliveries, interval_s apart, whatever the merchant answers.
    if (plan.times > 1 && n.total_attempts == plan.drop_first) {
      for (int64_t i = 1; i < plan.times; ++i) {
        AddExtra(Extra{
            attempt.at_us + ScaledUs(plan.times_interval_s * i), n, "",
            "notify.times delivery " + std::to_string(i + 1) + "/" + std::to_string(plan.times),
            true});
      }
      outcome += "; " + std::to_string(plan.times - 1) + " more deliveries planned (notify.times)";
    }
    // notify.replay: once acknowledged, this very form (same notify_id,
    // timestamp, nonce and sign) again later, as an old message replayed.
    if (ack.acked && plan.replay_after_s > 0) {
      AddExtra(Extra{ctx_.clock->NowMicros() + ScaledUs(plan.replay_after_s), n, body,
                     "notify.replay of attempt " + std::to_string(n.total_attempts + 1), true});
      outcome += "; replay planned in " + SecondsText(ScaledUs(plan.replay_after_s));
    }
    sent = true;
  }
  update.now = ctx_.clock->NowSeconds();
  Status recorded = ctx_.store->RecordNotifyAttempt(attempt, update);
  // Published once recorded, so a reader that sees the ack can rely on the
  // database saying the same.
  Publish(n, attempt, "attempt", k, wall_us, feed_outcome,
          recorded.ok() ? std::string(ToString(update.state)) : "");
  if (sent && n.type == "refund") {
    // notify.refund_first: the order's held payment notification may go now
    // that a refund notification went out first.
    StatusOr<int64_t> released =
        ctx_.store->ReleaseHeldPayment(n.merchantno, n.out_trade_no, ctx_.clock->NowMicros());
    if (released.ok() && *released > 0) {
      outcome += "; released the held payment notification (notify.refund_first)";
    }
  }
  // A notification that ended failed or blocked, or an attempt not
  // recorded, is a warning (kept under --quiet).
  Log("notify " + n.notify_id + " " + n.type + " merchantno=" + n.merchantno + " out_trade_no=" +
          n.out_trade_no + (n.out_refund_no.empty() ? "" : " out_refund_no=" + n.out_refund_no) +
          " attempt " + std::to_string(k) + "/" + std::to_string(options_.schedule.max_attempts()) +
          " -> " + (attempt.url.empty() ? "(none)" : attempt.url) + ": " + outcome +
          (recorded.ok() ? "" : " (not recorded: " + recorded.ToString() + ")"),
      !recorded.ok() || update.state == NotifyState::kFailed ||
          update.state == NotifyState::kBlocked);
  AttemptOutcome out;
  out.retry = recorded.ok() && update.state == NotifyState::kPending;
  if (out.retry && ctx_.telemetry != nullptr) ctx_.telemetry->delivery.RecordRetryScheduled();
  const bool fast = sent && attempt.http_status != 0 && attempt.latency_us <= options_.fast_ms * 1000;
  out.pace = !fast ? Pace::kSlow : attempt.acked ? Pace::kFastAck : Pace::kFastFail;
  return out;
}

void Dispatcher::SendExtra(const Extra& e) {
  const Notification& n = e.notification;
  const Merchant* m = ctx_.config->FindMerchant(n.merchantno);
  NotifyAttempt attempt;
  attempt.notification_id = n.id;
  attempt.at_us = ctx_.clock->NowMicros();
  int64_t wall_us = WallMicros();
  attempt.url = TargetUrl(n, m);
  std::string outcome;
  std::string feed_outcome;
  std::string body = e.body;
  StatusOr<OutboundTarget> target = Status(ErrorCode::kInternal, "no target");
  if (m == nullptr) {
    outcome = "not sent: merchant " + n.merchantno + " is not configured";
  } else if (target = guard_->Resolve(attempt.url); !target.ok()) {
    outcome = "not sent: " + target.status().message();
  } else {
    if (body.empty()) {
      const NotifyPlan plan = PlanOf(n);
      StatusOr<NotificationContent> content = ParseNotificationPayload(n.payload);
      if (content.ok()) {
        body = EncodeForm(ApplyNotifyFieldFaults(
            SignNotification(*content, ctx_.clock->NowSeconds(), ctx_.rng->Digits(8, '1'), m->key),
            plan));
      } else {
        outcome = "not sent: " + content.status().message();
      }
    }
    if (!body.empty()) {
      SendOptions send;
      send.timeout_ms = options_.timeout_ms;
      send.max_response_bytes = options_.max_response_bytes;
      wall_us = WallMicros();
      const SendResult r = sender_->Post(*target, body, kFormContentType, send);
      const AckDecision ack = DecideAck(r, m->ack_mode);
      feed_outcome = OutcomeOf(r, ack.acked);
      attempt.http_status = r.http_status;
      attempt.latency_us = r.latency_us;
      attempt.response_head = r.body.substr(0, kResponseHeadBytes);
      attempt.acked = ack.acked;
      attempt.error = e.label + " (fault injection)" + (ack.acked ? "" : ": " + ack.reason);
      outcome = (r.http_status != 0 ? std::to_string(r.http_status) + " " : std::string()) +
                (ack.acked ? "acked" : ack.reason) + " in " + Millis(r.latency_us);
    }
  }
  std::string recorded;
  if (e.record && !outcome.empty() && outcome.rfind("not sent", 0) != 0) {
    // Logged with the notification's attempts; its state never changes (no
    // series has attempts -1).
    NotifyUpdate update;
    update.expected_attempts = -1;
    update.now = ctx_.clock->NowSeconds();
    Status st = ctx_.store->RecordNotifyAttempt(attempt, update);
    if (!st.ok()) recorded = " (not recorded: " + st.ToString() + ")";
  }
  const std::string kind = e.label.rfind("duplicate", 0) == 0       ? "duplicate"
                           : e.label.rfind("notify.times", 0) == 0  ? "times"
                           : e.label.rfind("notify.replay", 0) == 0 ? "replay"
                                                                    : "extra";
  if (!feed_outcome.empty()) {
    Publish(n, attempt, kind, 0, wall_us, feed_outcome, "");
  } else if (ctx_.telemetry != nullptr) {
    ctx_.telemetry->delivery.RecordAttempt(kind, "not_sent", false, 0);
  }
  Log("notify " + n.notify_id + " " + n.type + " merchantno=" + n.merchantno +
      " out_trade_no=" + n.out_trade_no + " " + e.label + " -> " +
      (attempt.url.empty() ? "(none)" : attempt.url) + ": " + outcome + recorded);
}

}  // namespace vkspay::sandbox
