// The dashboard's HTML pages (/_sandbox/ui/): pure rendering, no I/O. Each
// Render* function takes a value holding everything the page shows and
// returns a self-contained HTML5 document in the cashier page's style
// (inline CSS, no JavaScript, no external resources). Every action is a plain
// HTML form POST carrying the CSRF token in a hidden field named "csrf".
//
// Escaping: every string that a merchant, a request or a merchant's server
// supplied (subject, body, attach, URLs, out_trade_no, answers' first bytes,
// errors, names, flash messages, rules) goes through HtmlEscape, in text and
// in quoted attribute values alike; URLs built from them percent-encode each
// query value (UrlEncode) before escaping. Links are only ever to /_sandbox/
// ui/ paths and the order's own /pay/<token> page: merchant URLs are shown as
// text, never as links.
//
// Element ids the browser test and people rely on are listed with each view.
// Thread-safe (no state).
#ifndef VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_PAGES_H_
#define VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_PAGES_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/config/config.h"
#include "sandbox/dashboard/dashboard_params.h"
#include "sandbox/faults/fault_engine.h"
#include "sandbox/store/store.h"

namespace vkspay::sandbox::dashboard {

inline constexpr char kBasePath[] = "/_sandbox/ui";
// Seconds between refreshes of a page with live=1.
inline constexpr int kLiveRefreshSeconds = 3;

// What every page has around its content.
struct Frame {
  // Which nav entry is current: "orders", "notifications", "clock",
  // "faults", "merchants" or "" (none).
  std::string active;
  std::string csrf;     // the per-process CSRF token, for every form
  bool logout = false;  // a token is set: show the log-out button
  // A message from the last action (id="flash", class "flash-ok" or
  // "flash-error"); empty: none.
  std::string flash;
  bool flash_error = false;
  // live=1: a <meta http-equiv="refresh"> every kLiveRefreshSeconds; the
  // toggle link (id="live-toggle") goes to live_toggle_href. Empty href: no
  // toggle on this page.
  bool live = false;
  std::string live_toggle_href;
  // The sandbox clock now (unix seconds) and its offset (microseconds),
  // shown in the header (id="header-clock").
  int64_t now = 0;
  int64_t offset_us = 0;
};

// Orders page. ids: "orders-table" (one <tr class="order-row"> per order,
// newest first), "filter-form", "next-page"/"prev-page" links, "no-orders".
struct OrdersPageView {
  OrdersQuery query;
  std::vector<Order> orders;  // this page's, at most query.size
  bool has_next = false;
  std::vector<Merchant> merchants;  // for the filter; keys are never shown
  std::string error;                // a bad filter (the page is served with 400)
};
std::string RenderOrdersPage(const Frame& frame, const OrdersPageView& view);

struct NotificationWithAttempts {
  Notification notification;
  std::vector<NotifyAttempt> attempts;  // oldest first
};

// One order. ids: "order-status" (the status code), "order-fields" (a <dl>
// with ids "f-<field>"), the pay forms' buttons "pay-wxpay", "pay-alipay",
// "pay-fail", "pay-cancel" (unpaid orders only), "refund-form" with inputs
// "refund-fee", "out-refund-no" and button "refund-submit" (paid orders),
// "refunds-table" (<tr class="refund-row">), "scheduled-table",
// "notifications" (one <section class="notification" id="n-<id>"> each, with
// a "resend-<id>" button and an "attempts-<id>" table of
// <tr class="attempt-row">).
struct OrderPageView {
  Order order;
  std::string merchant_name;
  std::vector<Refund> refunds;
  std::vector<ScheduledAction> scheduled;
  std::vector<NotificationWithAttempts> notifications;  // newest first
};
std::string RenderOrderPage(const Frame& frame, const OrderPageView& view);

// Notifications. ids: "counts" (with "count-<state>"), "resend-all-failed"
// and "resend-all-blocked" buttons, "notifications-table"
// (<tr class="notification-row">, each with a "resend-<id>" button),
// "no-notifications".
struct NotificationsPageView {
  NotificationsQuery query;
  std::map<NotifyState, int64_t> counts;
  std::vector<Notification> notifications;  // newest first
  std::vector<Merchant> merchants;
  std::string error;
};
std::string RenderNotificationsPage(const Frame& frame, const NotificationsPageView& view);

// The sandbox clock. ids: "clock-now", "clock-offset", "advance-form" with
// input "advance-seconds" and button "advance-submit", "reset-submit",
// "clock-fixed" (when it cannot be moved).
struct ClockPageView {
  int64_t now_us = 0;
  int64_t offset_us = 0;
  double time_scale = 1.0;
  std::string notify_profile;
  bool movable = false;  // the context has a SandboxClock
};
std::string RenderClockPage(const Frame& frame, const ClockPageView& view);

// Fault injection. ids: "faults-off" (no engine), "fault-profile",
// "rules-table" (<tr class="rule-row">), "log-table" (<tr class="fault-row">,
// newest first), "suspended-table".
struct FaultsPageView {
  bool enabled = false;
  std::string profile;
  bool magic_amounts = false;
  std::vector<RuleState> rules;
  std::vector<InjectedFault> log;  // newest first
  std::vector<std::pair<std::string, int64_t>> suspended;
};
std::string RenderFaultsPage(const Frame& frame, const FaultsPageView& view);

// Merchants and their notify settings (never a key). ids: "merchants-table"
// (<tr class="merchant-row">), "notify-settings".
struct MerchantsPageView {
  std::vector<Merchant> merchants;
  Settings settings;
};
std::string RenderMerchantsPage(const Frame& frame, const MerchantsPageView& view);

// The token form (POST /_sandbox/ui/login). ids: "login-form", "token",
// "login-submit", "login-error".
std::string RenderLoginPage(const Frame& frame, const std::string& error);

// An error page: `title` and `message` (escaped), id="error-message".
std::string RenderErrorPage(const Frame& frame, const std::string& title,
                            const std::string& message);

// The 303 answer's body: a link to `location` (a /_sandbox/ui/ path).
std::string RenderRedirectBody(const std::string& location);

// "/_sandbox/ui/order?merchantno=...&out_trade_no=..." (values percent-encoded).
std::string OrderHref(const std::string& merchantno, const std::string& out_trade_no);
// The orders page for `q` at page `page` (live kept).
std::string OrdersHref(const OrdersQuery& q, int64_t page);

// "12.50" for 1250 fen.
std::string Yuan2(int64_t fen);

}  // namespace vkspay::sandbox::dashboard

#endif  // VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_PAGES_H_
