// JSON views of orders and refunds, as the API methods and the control API
// answer them. Amounts in yuan (JSON numbers), times in China time
// ("2026-11-28 10:25:30"), "" for times not reached yet.
#ifndef VKSPAY_SANDBOX_CORE_VIEWS_H_
#define VKSPAY_SANDBOX_CORE_VIEWS_H_

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "sandbox/store/store.h"

namespace vkspay::sandbox {

nlohmann::ordered_json OrderJson(const Order& order);
// The refund, with the order's total and refunded-so-far amounts when given.
nlohmann::ordered_json RefundJson(const Refund& refund, const Order* order);
// "http://127.0.0.1:8080/pay/<token>".
std::string CashierUrl(const std::string& base_url, const Order& order);

// The base of payment links when settings.public_base_url is empty:
// "http://<ip>:<port>" of the sandbox's own end of the connection
// (httplib's Request::local_addr / local_port), i.e. the address it listens
// on, or, listening on every address, the interface the client reached.
// Never a request header: a Host header copied into links let anyone hand a
// buyer a payment link to their own host (issue #13 finding 7). IPv6 in
// brackets; an IPv4-mapped IPv6 address ("::ffff:10.0.0.5") as IPv4.
std::string SocketBaseUrl(std::string_view local_ip, int local_port);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_VIEWS_H_
