// Parsing of the dashboard's query strings and form fields (sandbox/dashboard/):
// pure functions over httplib::Params, no I/O. Every error is kInvalidField
// (or kMissingField) naming the parameter, what was expected and what
// arrived; the routes answer it with HTTP 400 and the page's form again.
// Thread-safe (no state).
#ifndef VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_PARAMS_H_
#define VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_PARAMS_H_

#include <httplib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sandbox/config/config.h"
#include "sandbox/store/store.h"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox::dashboard {

inline constexpr int64_t kDefaultPageSize = 50;
inline constexpr int64_t kMaxPageSize = 500;
inline constexpr int64_t kMaxPage = 1'000'000;

// The orders page's filters and position (GET /_sandbox/ui/orders).
struct OrdersQuery {
  std::string merchantno;  // "" all; else a configured merchant
  std::optional<OrderStatus> status;
  std::string out_trade_no;  // "" all; else exactly this one
  int64_t page = 1;          // 1-based
  int64_t size = kDefaultPageSize;
  bool live = false;  // refresh the page every few seconds
};

// Parses merchantno (a configured merchant or empty), status (NOTPAY ...
// PAYERROR or empty), out_trade_no (at most 64 bytes), page (1..kMaxPage),
// size (1..kMaxPageSize) and live (0 or 1). Unknown parameters are ignored.
// Errors: kInvalidField naming the first bad parameter and quoting it.
StatusOr<OrdersQuery> ParseOrdersQuery(const httplib::Params& params, const SandboxConfig& config);

// The notifications page's filters (GET /_sandbox/ui/notifications).
struct NotificationsQuery {
  std::optional<NotifyState> state;
  std::string merchantno;
  int64_t limit = 100;  // 1..1000
  bool live = false;
};
// Errors: kInvalidField naming state, merchantno, limit or live.
StatusOr<NotificationsQuery> ParseNotificationsQuery(const httplib::Params& params,
                                                     const SandboxConfig& config);

// An order's key (GET /_sandbox/ui/order, and the pay and refund forms).
// merchantno may be left out when exactly one merchant is configured.
struct OrderKey {
  std::string merchantno;
  std::string out_trade_no;
};
// Errors: kMissingField for an absent or empty out_trade_no (or merchantno
// with several merchants configured); kInvalidField for a merchantno that is
// not configured or an out_trade_no longer than 64 bytes.
StatusOr<OrderKey> ParseOrderKey(const httplib::Params& params, const SandboxConfig& config);

// The refund form: amount in yuan ("0.01"; ParseYuanText rules, at most
// max_fen) and an optional out_refund_no (1-64 of letters, digits, _-|*, as
// orderrefund accepts). Errors: kMissingField (refund_fee), kInvalidAmount
// (refund_fee), kInvalidField (out_refund_no).
struct RefundForm {
  int64_t fee_fen = 0;
  std::optional<std::string> out_refund_no;
};
StatusOr<RefundForm> ParseRefundForm(const httplib::Params& params, int64_t max_fen);

// The clock form's "seconds": a decimal number >= 0 (fractions allowed) of
// at most ten years; returned in microseconds. Errors: kMissingField,
// kInvalidField quoting what arrived.
StatusOr<int64_t> ParseAdvanceSeconds(const httplib::Params& params);

// "live": absent or "0" false, "1" true. Errors: kInvalidField.
StatusOr<bool> ParseLive(const httplib::Params& params);

// Percent-encodes everything but RFC 3986's unreserved characters, for a
// query-string value.
std::string UrlEncode(std::string_view s);

}  // namespace vkspay::sandbox::dashboard

#endif  // VKSPAY_SANDBOX_DASHBOARD_DASHBOARD_PARAMS_H_
