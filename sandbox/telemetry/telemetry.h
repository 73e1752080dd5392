// What the running sandbox knows about itself beyond the database: the
// delivery feed, API and delivery counters (metrics.h), and gauges other
// components register (the dispatcher's queue, the database files). Served
// by GET /_sandbox/stats, GET /_sandbox/deliveries (stats_routes.h) and
// GET /metrics (metrics_routes.h); main owns one and puts it in the
// SandboxContext; tests may leave it null.
//
// Thread-safe. Recording (api, delivery) takes no lock.
#ifndef VKSPAY_SANDBOX_TELEMETRY_TELEMETRY_H_
#define VKSPAY_SANDBOX_TELEMETRY_TELEMETRY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/telemetry/delivery_feed.h"
#include "sandbox/telemetry/latency_histogram.h"
#include "sandbox/telemetry/metrics.h"

namespace vkspay::sandbox {

class Telemetry {
 public:
  explicit Telemetry(size_t feed_capacity = 16384)
      : deliveries(feed_capacity), started_(std::chrono::steady_clock::now()) {}

  DeliveryFeed deliveries;
  ApiStats api;
  DeliveryStats delivery;

  // A named number read when stats are asked for ("notify_held"). The
  // function must stay callable until ClearGauges() (owners call it before
  // they go away).
  void AddGauge(std::string name, std::function<int64_t()> read);
  // A gauge for GET /metrics only: `name` a full Prometheus name
  // ("vkspay_database_size_bytes"), `help` its HELP text. Same lifetime
  // rule; a read that returns NaN leaves the sample out.
  void AddMetricGauge(std::string name, std::string help, std::function<double()> read);
  void ClearGauges();
  nlohmann::json GaugesJson() const;
  // The metric gauges, each as a gauge family.
  void WriteMetricGauges(PromWriter& w) const;

  // Seconds since this Telemetry was made (main makes it at start-up).
  double UptimeSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

 private:
  struct MetricGauge {
    std::string name, help;
    std::function<double()> read;
  };
  const std::chrono::steady_clock::time_point started_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::function<int64_t()>>> gauges_;  // guarded by mu_
  std::vector<MetricGauge> metric_gauges_;                                // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TELEMETRY_TELEMETRY_H_
