#include "sandbox/control/metrics_routes.h"

#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "sandbox/control/control_http.h"
#include "sandbox/telemetry/metrics.h"
#include "sandbox/telemetry/telemetry.h"

namespace vkspay::sandbox {

int64_t ProcessResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<int64_t>(resident) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

std::string RenderMetrics(const SandboxContext& ctx, const MetricsSources& sources,
                          const std::string& version) {
  PromWriter w;
  if (ctx.telemetry != nullptr) ctx.telemetry->api.WritePrometheus(w);

  if (ctx.store != nullptr) {
    // A database error leaves the outbox families out of this scrape rather
    // than failing it (the counters are still worth having).
    if (StatusOr<std::map<NotifyState, int64_t>> counts = ctx.store->CountNotifications();
        counts.ok()) {
      w.Family("vkspay_notify_outbox_notifications", "gauge",
               "Notifications in the outbox (the database) by state.");
      for (const auto& [state, n] : *counts) {
        w.Sample("vkspay_notify_outbox_notifications", {{"state", std::string(ToString(state))}},
                 n);
      }
    }
    if (StatusOr<std::optional<int64_t>> oldest = ctx.store->OldestPendingNotification();
        oldest.ok()) {
      w.Family("vkspay_notify_oldest_pending_age_seconds", "gauge",
               "Seconds since the oldest pending notification was created, on the sandbox "
               "clock; 0 when none is pending.");
      int64_t age = 0;
      if (oldest->has_value() && ctx.clock != nullptr) {
        age = std::max<int64_t>(0, ctx.clock->NowSeconds() - **oldest);
      }
      w.Sample("vkspay_notify_oldest_pending_age_seconds", {}, age);
    }
  }

  if (ctx.telemetry != nullptr) ctx.telemetry->delivery.WritePrometheus(w);

  if (sources.replay_cache_entries) {
    w.Family("vkspay_replay_cache_entries", "gauge",
             "Signed requests remembered to refuse replays (NONCE_REPLAYED) within the "
             "timestamp window.");
    w.Sample("vkspay_replay_cache_entries", {},
             static_cast<int64_t>(sources.replay_cache_entries()));
  }
  if (sources.replay_cache_bytes) {
    w.Family("vkspay_replay_cache_bytes", "gauge", "Bytes held by the replay cache's tables.");
    w.Sample("vkspay_replay_cache_bytes", {}, static_cast<int64_t>(sources.replay_cache_bytes()));
  }

  if (ctx.telemetry != nullptr) ctx.telemetry->WriteMetricGauges(w);

  if (const int64_t rss = ProcessResidentBytes(); rss >= 0) {
    w.Family("vkspay_process_resident_memory_bytes", "gauge",
             "Resident set size of the sandbox process.");
    w.Sample("vkspay_process_resident_memory_bytes", {}, rss);
  }
  if (ctx.telemetry != nullptr) {
    w.Family("vkspay_uptime_seconds", "gauge", "Seconds since the sandbox started.");
    w.Sample("vkspay_uptime_seconds", {}, ctx.telemetry->UptimeSeconds());
  }
  w.Family("vkspay_build_info", "gauge", "Always 1; the version is in the label.");
  w.Sample("vkspay_build_info", {{"version", version}}, int64_t{1});
  return w.text();
}

void RegisterMetricsRoute(httplib::Server& server, const SandboxContext& ctx,
                          const ControlOptions& options, MetricsSources sources) {
  server.Get("/metrics",
             control::Guarded(options.token,
                              [ctx, sources = std::move(sources), version = options.version](
                                  const httplib::Request&, httplib::Response& res) {
                                res.set_header("Cache-Control", "no-store");
                                res.set_content(RenderMetrics(ctx, sources, version),
                                                "text/plain; version=0.0.4; charset=utf-8");
                              }));
}

}  // namespace vkspay::sandbox
