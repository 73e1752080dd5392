#include "sandbox/telemetry/telemetry.h"

namespace vkspay::sandbox {

void ApiStats::Record(const std::string& method, int64_t latency_us, bool success) {
  std::lock_guard<std::mutex> lock(mu_);
  Method& m = methods_[method.empty() ? "-" : method];
  ++m.count;
  if (!success) ++m.errors;
  m.latency.Record(latency_us);
}

nlohmann::json ApiStats::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, m] : methods_) {
    j[name] = {{"count", m.count}, {"errors", m.errors}, {"latency", m.latency.ToJson()}};
  }
  return j;
}

void Telemetry::AddGauge(std::string name, std::function<int64_t()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.emplace_back(std::move(name), std::move(read));
}

void Telemetry::ClearGauges() {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.clear();
}

nlohmann::json Telemetry::GaugesJson() const {
  nlohmann::json j = nlohmann::json::object();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, read] : gauges_) j[name] = read();
  return j;
}

}  // namespace vkspay::sandbox
