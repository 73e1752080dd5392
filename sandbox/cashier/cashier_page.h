// The cashier page a buyer sees at <base>/pay/<cashier_token>: pure rendering,
// no I/O. The pages are self-contained HTML5 (inline CSS, no JavaScript, no
// external resources); every action is a plain HTML form POST.
#ifndef VKSPAY_SANDBOX_CASHIER_CASHIER_PAGE_H_
#define VKSPAY_SANDBOX_CASHIER_CASHIER_PAGE_H_

#include <optional>
#include <string>
#include <string_view>

#include "sandbox/store/store.h"
#include "vkspay/text.h"

namespace vkspay::sandbox {

// Everything the cashier page shows. A value; the renderer keeps nothing.
struct CashierView {
  Order order;
  // Merchant::name, or the merchantno when the merchant has no name.
  std::string merchant_name;
  // The absolute payment URL (<base>/pay/<token>), shown as a QR code.
  std::string pay_url;
  // An error to show above the order (e.g. why the last action failed);
  // empty: none.
  std::string flash;
  // The order's newest payment notification, if one was written: its
  // delivery state is shown on a paid order's page.
  std::optional<Notification> payment_notification;
};

// Renders the cashier page for `view`. Every merchant- or request-supplied
// string (subject, body, attach, return_url, names, the URL) is HTML-escaped;
// return_url is linked only if it starts with http:// or https://.
//
// Amounts are shown in yuan with two decimals ("¥12.50").
//
// Unpaid orders (NOTPAY, USERPAYING) get four forms posting to
// /pay/<token> with hidden `channel` and `outcome` inputs: pay-wxpay,
// pay-alipay, pay-fail and pay-cancel, the expiry time (id="expires-at") and
// the QR code of pay_url (id="qr"); when pay_url is on loopback, a note
// (id="loopback-note") says a phone cannot open it without --public-url.
// Final orders show neither expiry nor QR code. Paid orders (SUCCESS,
// REFUND) show the channel, transaction_id, payment time, the payment
// notification's delivery state (id="notify-state") and, if the order has a
// usable return_url, a link with id="return-link". The element id="status"
// always holds the Chinese state label and the status code ("待支付 NOTPAY").
std::string RenderCashierPage(const CashierView& view);

// The page for a token that names no order (serve with HTTP 404).
std::string RenderUnknownTokenPage();

// The page for an unexpected failure (serve with HTTP 500). Shows no
// internals.
std::string RenderInternalErrorPage();

// HtmlEscape (vkspay/text.h) escapes & < > " ' for HTML text and attributes.

// Chinese label for a status, as the wallets word it ("待支付" for NOTPAY).
std::string_view StatusLabel(OrderStatus status);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CASHIER_CASHIER_PAGE_H_
