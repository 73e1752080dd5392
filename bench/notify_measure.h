// The notification measurement shared by `notify` and `scale`: the bench's
// own receiver and one throughput repetition against a running sandbox.
#ifndef VKSPAY_BENCH_NOTIFY_MEASURE_H_
#define VKSPAY_BENCH_NOTIFY_MEASURE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_common.h"
#include "bench/sections.h"

namespace httplib {
class Server;
}

namespace vkspay::bench {

// A merchant's notify endpoint on 127.0.0.1: decodes the form, verifies the
// signature with the demo key, answers the sample's ack, or 500 for a chosen
// fraction of attempts. Times each order's first attempt and ack against
// the bench's steady clock. Orders are "N<tag>-<index>"; anything else
// verified is acked and counted as `other` (the baseline's body is one).
// Thread-safe; Begin() must not overlap a measured repetition.
class Receiver {
 public:
  // Serves on `threads` threads; repetitions of at most `capacity` orders.
  Receiver(int threads, int capacity);
  ~Receiver();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/notify"; }

  // Starts a repetition (orders <= capacity): orders N<tag>-0 .. N<tag>-(orders-1); attempts 1
  // and 2 of each fail (HTTP 500) with probability fail_rate (seeded by
  // tag), later attempts always ack, so every notification ends acked.
  void Begin(int tag, int orders, double fail_rate);

  int64_t acked() const { return acked_.load(); }
  int64_t first_attempt_ns(int i) const { return first_ns_[static_cast<size_t>(i)].load(); }
  int64_t ack_ns(int i) const { return ack_ns_[static_cast<size_t>(i)].load(); }
  int64_t attempts() const { return attempts_total_.load(); }
  int64_t failed_on_purpose() const { return failed_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  int64_t invalid() const { return invalid_.load(); }
  int64_t stray() const { return stray_.load(); }
  int64_t other() const { return other_.load(); }

 private:
  void Handle(const std::string& body, int* status, std::string* answer);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> tag_{-1};
  std::atomic<int> orders_{0};
  std::atomic<double> fail_rate_{0};
  int capacity_ = 0;
  std::unique_ptr<std::atomic<int64_t>[]> first_ns_, ack_ns_;
  std::unique_ptr<std::atomic<int>[]> attempts_;
  std::atomic<int64_t> acked_{0}, attempts_total_{0}, failed_{0}, duplicates_{0}, invalid_{0},
      stray_{0}, other_{0};
};

// One repetition on a running sandbox: creates `orders` webpay orders with
// notify_url = receiver, pays them all through POST /_sandbox/pay with
// `pay_threads` threads (paced at `pace_per_s` payments per second if > 0),
// waits until every one is acked (at most 60 s after the last payment).
// throughput = orders / (last ack - first payment). Latency: pay-to-ack;
// extra: pay-to-first-attempt p50/p99/p99.9, pay rate, attempts, retries,
// duplicates, sandbox CPU per notification (pid). Errors: failed creates or payments, invalid
// signatures, notifications never acked.
RepResult MeasureNotifyRep(int port, pid_t pid, Receiver& receiver, int tag, int orders,
                           int pay_threads, double fail_rate, double pace_per_s);

// The dispatcher's own rate, without the payments' cost: `orders` orders are
// created and paid with their first attempt held ten minutes (X-Sandbox-Fault
// notify=delay:600s, on the sandbox clock), then the clock is advanced past
// it and every notification falls due at once; rate = acked / (last ack -
// advance); the receiver fails `fail_rate` of attempts 1-2. With dead_port > 0, `dead_orders` more notifications go to that
// port (a listener that never accepts: each attempt waits out the sandbox's
// timeout), to show that a dead host does not slow the receiver's.
RepResult MeasureDrainRep(int port, pid_t pid, Receiver& receiver, int tag, int orders,
                          int pay_threads, double fail_rate, int dead_orders, int dead_port);

// The receiver's own capacity: `threads` keep-alive clients POST one
// ready-made signed notification for `seconds`.
RepResult MeasureReceiverBaseline(Receiver& receiver, int threads, double seconds);

// A tag no other repetition of this process used (order numbers N<tag>-i).
int NextNotifyTag();

// --notify-profile, --time-scale from `options`, then common.sandbox_args.
std::vector<std::string> NotifySandboxArgs(const CommonOptions& common,
                                           const NotifyOptions& options);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_NOTIFY_MEASURE_H_
