// The delivery feed: the last few thousand notification deliveries (every
// attempt, and the extra deliveries of fault injection), in the order they
// ended, for tools that watch delivery live (`vkspay-bench merchant`, a
// dashboard). GET /_sandbox/deliveries serves it (stats_routes.h).
//
// A bounded ring in memory: a reader gives the last sequence number it saw
// and gets what came after, waiting up to a limit for the first event (a
// long poll, so a reader learns of an ack within a millisecond instead of a
// polling interval). A reader that falls further behind than the ring holds
// is told how many events it missed; the feed never blocks the dispatcher.
// Nothing in it survives a restart: the notifications table stays the
// record of what happened (this is a view of it, not a second log).
//
// Thread-safe.
#ifndef VKSPAY_SANDBOX_TELEMETRY_DELIVERY_FEED_H_
#define VKSPAY_SANDBOX_TELEMETRY_DELIVERY_FEED_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace vkspay::sandbox {

struct DeliveryEvent {
  int64_t seq = 0;  // set by Add: 1, 2, ...
  std::string notify_id, type, merchantno, out_trade_no, out_refund_no;
  // "attempt" (one of the notification's own attempts) or the extra
  // delivery of a fault: "duplicate", "replay", "times".
  std::string kind = "attempt";
  int64_t attempt = 0;     // the attempt's number in its series (kind attempt)
  int64_t at_us = 0;       // when it started, sandbox clock
  int64_t wall_us = 0;     // when it started, real unix time (for latencies)
  int64_t latency_us = 0;  // send to the last byte of the answer
  int http_status = 0;     // 0: no HTTP answer
  // acked, connect_error, timeout, http_status (a non-2xx answer),
  // wrong_ack_body (2xx, but not the ack), blocked, dropped.
  std::string outcome;
  std::string error;  // why it was not an ack ("" when acked)
  // The notification's state after an attempt (pending, acked, failed,
  // blocked); "" for extras, which never change it.
  std::string state;
};

nlohmann::json DeliveryEventJson(const DeliveryEvent& e);

class DeliveryFeed {
 public:
  explicit DeliveryFeed(size_t capacity = 16384);

  void Add(DeliveryEvent e);

  struct Page {
    std::vector<DeliveryEvent> events;  // seq ascending
    int64_t next = 0;                   // pass as `after` next time
    int64_t missed = 0;                 // events after `after` no longer held
  };
  // The events with seq > after, at most `limit`, waiting up to `wait` for
  // the first one. after < 0 means "from now on": no events, next = the
  // newest seq.
  Page Read(int64_t after, size_t limit, std::chrono::milliseconds wait);
  int64_t last_seq() const;
  // Wakes every waiting reader (shutdown); Read no longer waits.
  void Close();

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<DeliveryEvent> ring_;  // guarded by mu_; slot seq % capacity_
  int64_t last_ = 0;                 // guarded by mu_
  bool closed_ = false;              // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TELEMETRY_DELIVERY_FEED_H_
