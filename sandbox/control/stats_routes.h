// The control API for what the running sandbox knows about itself (not
// VksPay; needs a Telemetry in the context, else the routes answer 404):
//
//   GET /_sandbox/stats
//       {"ok":true,"time_us" (real unix µs),"uptime_s","cpu_s" (user + system
//        CPU seconds of the process),"cores","gauges":{"notify_held",...},
//        "deliveries":{"last_seq"},
//        "api":{"<method>":{"count","errors","latency":H}}}
//       H: a LatencyHistogram's JSON (telemetry/latency_histogram.h), so a
//       client can subtract two snapshots for the figures of a window.
//   GET /_sandbox/deliveries?after=SEQ&limit=N&wait_ms=MS&merchantno=NO
//       {"ok":true,"events":[E...],"next":seq,"missed":n}
//       The delivery feed (telemetry/delivery_feed.h): events after SEQ
//       (-1 or absent: none, just the newest seq to start from), waiting
//       up to MS (0-30000) for the first; limit 1-10000 (1000). With
//       merchantno, only that merchant's events (next still moves past the
//       others). E: {"seq","notify_id","type","merchantno","out_trade_no",
//       "out_refund_no","kind","attempt","at_us","wall_us","latency_us",
//       "http_status","outcome","error","state"}
//
// Same token guard and error answers as control_routes.h.
#ifndef VKSPAY_SANDBOX_CONTROL_STATS_ROUTES_H_
#define VKSPAY_SANDBOX_CONTROL_STATS_ROUTES_H_

#include "sandbox/control/control_routes.h"
#include "sandbox/core/context.h"

namespace httplib {
class Server;
}

namespace vkspay::sandbox {

// Registers the routes; ctx (and its telemetry) must outlive the server.
void RegisterStatsRoutes(httplib::Server& server, const SandboxContext& ctx,
                         const ControlOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONTROL_STATS_ROUTES_H_
