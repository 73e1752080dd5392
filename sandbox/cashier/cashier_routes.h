// HTTP routes of the cashier page: GET and POST /pay/<cashier_token>.
#ifndef VKSPAY_SANDBOX_CASHIER_CASHIER_ROUTES_H_
#define VKSPAY_SANDBOX_CASHIER_CASHIER_ROUTES_H_

#include <httplib.h>

#include <functional>
#include <string>

#include "sandbox/core/context.h"

namespace vkspay::sandbox {

// Registers on `server`:
//   GET  /pay/<token>  the cashier page (200), or a not-found page (404) if
//                      the token is not a cashier token's shape (32, or for
//                      older orders 24, lowercase hex characters;
//                      IsCashierTokenShape) or names no order.
//   POST /pay/<token>  form body (application/x-www-form-urlencoded) with
//                      `channel` (wxpay, alipay, auto; empty means auto) and
//                      `outcome` (success, fail, cancel): acts as the buyer
//                      through ActAsBuyer. Success: 303 See Other back to
//                      /pay/<token>. Failure: the page again with the error
//                      shown, status 400 for a bad channel or outcome, 409 for
//                      an order already paid, closed or failed, 404 for an
//                      unknown token, 500 (no internals shown) otherwise.
// Every response is "text/html; charset=utf-8" with Cache-Control: no-store.
// The QR code encodes settings.public_base_url + "/pay/<token>", or, when
// public_base_url is empty, SocketBaseUrl (sandbox/core/views.h) of the
// connection: the sandbox's own address, never a request header.
//
// `ctx` and everything it points to must outlive `server`. The handlers are
// thread-safe (they only read ctx and call the thread-safe store).
//
// `link_base`, when given, replaces SocketBaseUrl for the QR code (the
// server's https:// name when it serves TLS).
void RegisterCashierRoutes(httplib::Server& server, const SandboxContext& ctx,
                           std::function<std::string(const httplib::Request&)> link_base = nullptr);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CASHIER_CASHIER_ROUTES_H_
