// JSON views of orders and refunds, as the API methods and the control API
// answer them. Amounts in yuan (JSON numbers), times in China time
// ("2026-11-28 10:25:30"), "" for times not reached yet.
#ifndef VKSPAY_SANDBOX_CORE_VIEWS_H_
#define VKSPAY_SANDBOX_CORE_VIEWS_H_

#include <string>

#include "nlohmann/json.hpp"
#include "sandbox/store/store.h"

namespace vkspay::sandbox {

nlohmann::ordered_json OrderJson(const Order& order);
// The refund, with the order's total and refunded-so-far amounts when given.
nlohmann::ordered_json RefundJson(const Refund& refund, const Order* order);
// "http://127.0.0.1:8080/pay/<token>".
std::string CashierUrl(const std::string& base_url, const Order& order);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CORE_VIEWS_H_
