#include "sandbox/telemetry/delivery_feed.h"

#include <algorithm>

namespace vkspay::sandbox {

nlohmann::json DeliveryEventJson(const DeliveryEvent& e) {
  nlohmann::json j;
  j["seq"] = e.seq;
  j["notify_id"] = e.notify_id;
  j["type"] = e.type;
  j["merchantno"] = e.merchantno;
  j["out_trade_no"] = e.out_trade_no;
  j["out_refund_no"] = e.out_refund_no;
  j["kind"] = e.kind;
  j["attempt"] = e.attempt;
  j["at_us"] = e.at_us;
  j["wall_us"] = e.wall_us;
  j["latency_us"] = e.latency_us;
  j["http_status"] = e.http_status;
  j["outcome"] = e.outcome;
  j["error"] = e.error;
  j["state"] = e.state;
  return j;
}

DeliveryFeed::DeliveryFeed(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)), ring_(capacity_) {}

void DeliveryFeed::Add(DeliveryEvent e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    e.seq = ++last_;
    ring_[static_cast<size_t>(e.seq) % capacity_] = std::move(e);
  }
  cv_.notify_all();
}

DeliveryFeed::Page DeliveryFeed::Read(int64_t after, size_t limit, std::chrono::milliseconds wait) {
  Page page;
  std::unique_lock<std::mutex> lock(mu_);
  // after < 0: from now on; after > last_: a sequence of an earlier
  // process (the feed starts at 1 again), so from now on as well.
  if (after < 0 || after > last_) {
    page.next = last_;
    return page;
  }
  if (after >= last_ && wait.count() > 0 && !closed_) {
    cv_.wait_for(lock, wait, [&] { return last_ > after || closed_; });
  }
  const int64_t oldest = std::max<int64_t>(1, last_ - static_cast<int64_t>(capacity_) + 1);
  int64_t from = after + 1;
  if (from < oldest) {
    page.missed = oldest - from;
    from = oldest;
  }
  for (int64_t s = from; s <= last_ && page.events.size() < limit; ++s) {
    page.events.push_back(ring_[static_cast<size_t>(s) % capacity_]);
  }
  page.next = page.events.empty() ? std::max(after, from - 1) : page.events.back().seq;
  return page;
}

int64_t DeliveryFeed::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void DeliveryFeed::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace vkspay::sandbox
