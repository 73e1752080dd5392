// The dashboard's HTTP routes under /_sandbox/ui/: server-rendered pages
// (dashboard_pages.h) over the store, the clock and the fault engine, and
// HTML form actions that call the same core functions as the control API
// and the cashier page (ActAsBuyer, RefundOrder, Store::ResendNotification,
// SandboxClock::AdvanceMicros / ResetOffset), so no payment rule lives here.
//
//   GET  /_sandbox/ui/                 orders: ?merchantno=&status=&out_trade_no=&page=&size=&live=
//   GET  /_sandbox/ui/order            ?merchantno=&out_trade_no=  fields, refunds, notifications
//                                      and every attempt, pay / refund / resend buttons
//   GET  /_sandbox/ui/notifications    ?state=&merchantno=&limit=&live=  counts, list, resend
//   GET  /_sandbox/ui/clock            offset, advance, reset
//   GET  /_sandbox/ui/faults           profile, rules, recent injections
//   GET  /_sandbox/ui/merchants        numbers, names, notify settings (never keys)
//   GET  /_sandbox/ui/login            the token form (only useful with a token)
//   POST /_sandbox/ui/login            token=...: sets the cookie, 303 to /_sandbox/ui/
//   POST /_sandbox/ui/logout           clears it
//   POST /_sandbox/ui/pay              merchantno, out_trade_no, channel, outcome
//   POST /_sandbox/ui/refund           merchantno, out_trade_no, refund_fee (yuan), out_refund_no?
//   POST /_sandbox/ui/resend           key (notify_id or id), from (order|notifications)
//   POST /_sandbox/ui/resend-all       state (failed|blocked)
//   POST /_sandbox/ui/clock/advance    seconds
//   POST /_sandbox/ui/clock/reset
//
// Access: the control API's rule. Without a control token (loopback only)
// everything is open. With one, a request needs it: in the control API's
// headers (Authorization: Bearer, X-Sandbox-Token) or in the HttpOnly,
// SameSite=Strict cookie the login form sets (Path=/_sandbox/ui), compared
// in constant time; otherwise pages answer 401 with the login form.
//
// Forgery: every POST must carry the per-process CSRF token (16 bytes of
// RAND_bytes, hex, in each form's hidden "csrf" field; compared in constant
// time) and, when the browser sends an Origin header, that origin must be
// this request's own (http(s)://<Host>). Otherwise 403 and nothing changes.
//
// Answers: a successful action 303s back (the order page, or the page the
// form was on) with a flash message in a short-lived cookie; bad input
// re-renders the page with the error and 400; a refused action (order
// already paid, refund above what is left, ...) 409; an unknown order or
// notification 404; an internal error 500 without internals. Every page is
// "text/html; charset=utf-8" with Cache-Control: no-store.
//
// `ctx` and everything it points to must outlive `server`; handlers are
// thread-safe (the store, clock and engine are).
#ifndef VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_ROUTES_H_
#define VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_ROUTES_H_

#include <httplib.h>

#include <string>

#include "sandbox/core/context.h"

namespace vkspay::sandbox {

struct DashboardOptions {
  std::string token;  // the control token; empty: no login needed
};

void RegisterDashboardRoutes(httplib::Server& server, const SandboxContext& ctx,
                             const DashboardOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_ROUTES_H_
