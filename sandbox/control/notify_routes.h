// The control API for notifications and the sandbox clock (not VksPay):
//
//   GET  /_sandbox/notifications?merchantno=&out_trade_no=&state=&limit=
//        {"ok":true,"notifications":[N...],"counts":{"pending":n,...}}  newest first
//   GET  /_sandbox/notifications/<id or notify_id>
//        {"ok":true,"notification":N + "attempt_log":[A...]}
//   POST /_sandbox/notifications/<id or notify_id>/resend
//        {"ok":true,"notification":N}   a new series, due now
//   POST /_sandbox/notifications/resend  {"state":"failed"|"blocked","since":<unix s>}
//        {"ok":true,"resent":count}
//   GET  /_sandbox/clock
//   POST /_sandbox/clock/advance  {"seconds":N}   N >= 0, may be fractional
//        {"ok":true,"now":unix_s,"now_us":...,"offset_s":...,"time_scale":...,
//         "notify_profile":...}
//   POST /_sandbox/clock/reset    offset back to 0: the same + "removed_s"
//        (what was removed); pending deliveries and scheduled actions keep
//        their due times, so they fall due that much later
//
// N: {"id","notify_id","type","merchantno","out_trade_no","out_refund_no",
//     "notify_url","delivered_to","state","attempts","total_attempts",
//     "next_attempt_at" (China time, "" unless pending),"next_attempt_us",
//     "created_at","updated_at","acked_at" (China time, "" if none),
//     "last_error","payload":{the signed content fields}}
// A: {"n","at" (China time),"at_us","url","http_status","latency_ms",
//     "response_head","error","acked"}
//
// Same token guard and error answers as control_routes.h.
#ifndef VKSPAY_SANDBOX_CONTROL_NOTIFY_ROUTES_H_
#define VKSPAY_SANDBOX_CONTROL_NOTIFY_ROUTES_H_

#include "sandbox/control/control_routes.h"
#include "sandbox/core/context.h"

namespace httplib {
class Server;
}

namespace vkspay::sandbox {

// Registers the routes; ctx must outlive the server. Resends wake the
// dispatcher through the store's outbox observer, clock advances through
// the SandboxClock's observers.
void RegisterNotifyRoutes(httplib::Server& server, const SandboxContext& ctx,
                          const ControlOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONTROL_NOTIFY_ROUTES_H_
