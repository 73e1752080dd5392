// GET /metrics: the sandbox's figures in the Prometheus text exposition
// format 0.0.4 (docs/observability.md lists every metric):
//
//   vkspay_api_requests_total{method,code}            counter
//   vkspay_api_request_duration_seconds{method}       histogram
//   vkspay_notify_outbox_notifications{state}         gauge (the database)
//   vkspay_notify_oldest_pending_age_seconds          gauge (sandbox clock)
//   vkspay_notify_attempts_total{kind,outcome}        counter
//   vkspay_notify_delivery_duration_seconds           histogram
//   vkspay_notify_retries_scheduled_total             counter
//   vkspay_replay_cache_entries, _bytes               gauges
//   vkspay_database_size_bytes, _wal_size_bytes, ...  gauges main registers
//   vkspay_process_resident_memory_bytes              gauge
//   vkspay_uptime_seconds                             gauge
//   vkspay_build_info{version}                        gauge, always 1
//
// Access follows the control API (control_routes.h): when a control token
// is set (always, when listening beyond loopback), the scrape needs
// "Authorization: Bearer <token>" (Prometheus: `authorization:
// {credentials: <token>}`), else 401. The figures tell no secret, but how
// much traffic a sandbox sees and how its merchants fail are the sandbox
// owner's business, and Prometheus sends a bearer token natively.
//
// Counters live in the Telemetry (lock-free); the outbox figures are two
// read-only queries per scrape on a reader connection.
#ifndef VKSPAY_SANDBOX_CONTROL_METRICS_ROUTES_H_
#define VKSPAY_SANDBOX_CONTROL_METRICS_ROUTES_H_

#include <cstddef>
#include <functional>
#include <string>

#include "sandbox/control/control_routes.h"
#include "sandbox/core/context.h"

namespace httplib {
class Server;
}

namespace vkspay::sandbox {

// What the server knows and the context does not; an empty function leaves
// its metric out.
struct MetricsSources {
  std::function<size_t()> replay_cache_entries;
  std::function<size_t()> replay_cache_bytes;
};

// The whole exposition. With no telemetry in the context, the API and
// delivery families are left out.
std::string RenderMetrics(const SandboxContext& ctx, const MetricsSources& sources,
                          const std::string& version);

// Resident set size of this process in bytes (/proc/self/statm), -1 if
// unreadable.
int64_t ProcessResidentBytes();

// Registers GET /metrics; ctx and what the sources read must outlive the
// server.
void RegisterMetricsRoute(httplib::Server& server, const SandboxContext& ctx,
                          const ControlOptions& options, MetricsSources sources);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONTROL_METRICS_ROUTES_H_
