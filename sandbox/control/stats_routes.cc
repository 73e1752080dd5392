#include "sandbox/control/stats_routes.h"

#include <httplib.h>
#include <sys/resource.h>

#include <chrono>
#include <thread>

#include "sandbox/control/control_http.h"
#include "sandbox/telemetry/telemetry.h"

namespace vkspay::sandbox {
namespace {

using control::Guarded;
using control::IntParam;
using control::Json;
using control::Reply;
using control::ReplyError;

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void NoTelemetry(httplib::Response& res) {
  ReplyError(res, Status(ErrorCode::kNotFound, "this sandbox collects no telemetry"), 404);
}

}  // namespace

void RegisterStatsRoutes(httplib::Server& server, const SandboxContext& ctx,
                         const ControlOptions& options) {
  const std::string token = options.token;
  const auto started = std::chrono::steady_clock::now();

  server.Get(
      "/_sandbox/stats",
      Guarded(token, [ctx, started](const httplib::Request&, httplib::Response& res) {
        if (ctx.telemetry == nullptr) return NoTelemetry(res);
        Json j;
        j["ok"] = true;
        j["time_us"] = WallMicros();
        j["uptime_s"] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        j["cpu_s"] = ProcessCpuSeconds();
        j["cores"] = std::thread::hardware_concurrency();
        j["gauges"] = Json(ctx.telemetry->GaugesJson());
        j["deliveries"] = {{"last_seq", ctx.telemetry->deliveries.last_seq()}};
        j["api"] = Json(ctx.telemetry->api.ToJson());
        Reply(res, 200, j);
      }));

  server.Get("/_sandbox/deliveries",
             Guarded(token, [ctx](const httplib::Request& req, httplib::Response& res) {
               if (ctx.telemetry == nullptr) return NoTelemetry(res);
               StatusOr<int64_t> after = IntParam(req, "after", -1, -1, INT64_MAX);
               if (!after.ok()) return ReplyError(res, after.status());
               StatusOr<int64_t> limit = IntParam(req, "limit", 1000, 1, 10000);
               if (!limit.ok()) return ReplyError(res, limit.status());
               StatusOr<int64_t> wait = IntParam(req, "wait_ms", 0, 0, 30000);
               if (!wait.ok()) return ReplyError(res, wait.status());
               const std::string merchantno = req.get_param_value("merchantno");
               DeliveryFeed::Page page = ctx.telemetry->deliveries.Read(
                   *after, static_cast<size_t>(*limit), std::chrono::milliseconds(*wait));
               Json j;
               j["ok"] = true;
               j["events"] = Json::array();
               for (const DeliveryEvent& e : page.events) {
                 if (!merchantno.empty() && e.merchantno != merchantno) continue;
                 j["events"].push_back(Json(DeliveryEventJson(e)));
               }
               j["next"] = page.next;
               j["missed"] = page.missed;
               Reply(res, 200, j);
             }));
}

}  // namespace vkspay::sandbox
