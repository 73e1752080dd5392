#include "sandbox/core/views.h"

#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {
namespace {
std::string TimeOrEmpty(int64_t t) { return t > 0 ? FormatDisplayTime(t) : ""; }
}  // namespace

nlohmann::ordered_json OrderJson(const Order& o) {
  nlohmann::ordered_json j;
  j["merchantno"] = o.merchantno;
  j["out_trade_no"] = o.out_trade_no;
  j["transaction_id"] = o.transaction_id;
  j["trade_type"] = o.trade_type;
  j["total_fee"] = YuanJson(o.total_fee);
  j["status"] = std::string(ToString(o.status));
  j["pay_chnl"] = o.pay_chnl;
  j["subject"] = o.subject;
  j["body"] = o.body;
  j["attach"] = o.attach;
  j["time_create"] = TimeOrEmpty(o.created_at);
  j["time_expire"] = TimeOrEmpty(o.expires_at);
  j["time_end"] = TimeOrEmpty(o.paid_at);
  j["refund_fee"] = o.refunded_fee == 0 ? nlohmann::json(0) : YuanJson(o.refunded_fee);
  j["refund_count"] = o.refund_count;
  return j;
}

nlohmann::ordered_json RefundJson(const Refund& r, const Order* order) {
  nlohmann::ordered_json j;
  j["merchantno"] = r.merchantno;
  j["out_trade_no"] = r.out_trade_no;
  j["out_refund_no"] = r.out_refund_no;
  j["refund_fee"] = YuanJson(r.refund_fee);
  if (order != nullptr) {
    j["total_fee"] = YuanJson(order->total_fee);
    j["refunded_fee"] = YuanJson(order->refunded_fee);
  }
  j["status"] = std::string(ToString(r.status));
  j["time_refund"] = TimeOrEmpty(r.success_at > 0 ? r.success_at : r.created_at);
  return j;
}

std::string CashierUrl(const std::string& base_url, const Order& order) {
  return base_url + "/pay/" + order.cashier_token;
}

std::string SocketBaseUrl(std::string_view local_ip, int local_port) {
  std::string host(local_ip);
  if (host.rfind("::ffff:", 0) == 0 && host.find('.') != std::string::npos) host.erase(0, 7);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(local_port);
}

}  // namespace vkspay::sandbox
