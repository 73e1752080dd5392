// What the running sandbox knows about itself beyond the database: the
// delivery feed, per-method API counts and latencies, and gauges other
// components register (the dispatcher's queue). Served by
// GET /_sandbox/stats and GET /_sandbox/deliveries (stats_routes.h); main
// owns one and puts it in the SandboxContext; tests may leave it null.
//
// Thread-safe.
#ifndef VKSPAY_SANDBOX_TELEMETRY_TELEMETRY_H_
#define VKSPAY_SANDBOX_TELEMETRY_TELEMETRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/telemetry/delivery_feed.h"
#include "sandbox/telemetry/latency_histogram.h"

namespace vkspay::sandbox {

// Requests to POST /api by method, timed from the request read to the
// answer built (the sandbox's own time, not the network's).
class ApiStats {
 public:
  // method "" (unparsable requests) is counted as "-".
  void Record(const std::string& method, int64_t latency_us, bool success);
  // {"<method>": {"count","errors","latency":LatencyHistogram JSON}, ...}
  nlohmann::json ToJson() const;

 private:
  struct Method {
    int64_t count = 0, errors = 0;
    LatencyHistogram latency;
  };
  mutable std::mutex mu_;
  std::map<std::string, Method> methods_;  // guarded by mu_
};

class Telemetry {
 public:
  explicit Telemetry(size_t feed_capacity = 16384) : deliveries(feed_capacity) {}

  DeliveryFeed deliveries;
  ApiStats api;

  // A named number read when stats are asked for ("notify_held"). The
  // function must stay callable until ClearGauges() (owners call it before
  // they go away).
  void AddGauge(std::string name, std::function<int64_t()> read);
  void ClearGauges();
  nlohmann::json GaugesJson() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::function<int64_t()>>> gauges_;  // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TELEMETRY_TELEMETRY_H_
