#include "sandbox/telemetry/telemetry.h"

#include <cmath>

namespace vkspay::sandbox {

void Telemetry::AddGauge(std::string name, std::function<int64_t()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.emplace_back(std::move(name), std::move(read));
}

void Telemetry::AddMetricGauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  metric_gauges_.push_back(MetricGauge{std::move(name), std::move(help), std::move(read)});
}

void Telemetry::ClearGauges() {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.clear();
  metric_gauges_.clear();
}

nlohmann::json Telemetry::GaugesJson() const {
  nlohmann::json j = nlohmann::json::object();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, read] : gauges_) j[name] = read();
  return j;
}

void Telemetry::WriteMetricGauges(PromWriter& w) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const MetricGauge& g : metric_gauges_) {
    const double v = g.read();
    if (std::isnan(v)) continue;
    w.Family(g.name, "gauge", g.help);
    w.Sample(g.name, {}, v);
  }
}

}  // namespace vkspay::sandbox
