#include "vkspay/client/client.h"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <utility>

#include "url.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/errors.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/js_number.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::client {

namespace internal {

bool SplitHttpUrl(std::string_view url, std::string& origin, std::string& path) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find('/', host_start);
  std::string_view host_port = url.substr(host_start, path_start - host_start);
  if (host_port.empty() || host_port.find_first_of("?#@ ") != std::string_view::npos) {
    return false;
  }
  origin = std::string(url.substr(0, path_start));
  path = path_start == std::string_view::npos ? "" : std::string(url.substr(path_start));
  return true;
}

}  // namespace internal
namespace {

constexpr char kContentType[] = "application/json; charset=utf-8";

// Yuan as the double JavaScript would hold after JSON.parse, so that the
// canonical string shows "0.01", "12.3", "100".
Value YuanValue(int64_t fen) { return static_cast<double>(fen) / 100.0; }

void SetIf(Fields& f, const char* name, const std::optional<std::string>& v) {
  if (v.has_value()) f.Set(name, *v);
}

// "2", "0.25": seconds as a person would write them.
std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// A request that got no HTTP answer: TIMEOUT when httplib gave up on a
// timeout (a read or write that failed only after `timeout` is one: httplib
// reports it as Read/Write), CONNECT_ERROR otherwise (refused, unreachable,
// TLS, or the connection dropped before the answer).
Status TransportError(const std::string& url, httplib::Error error,
                      std::chrono::milliseconds timeout,
                      std::chrono::steady_clock::duration elapsed) {
  const bool timed_out = error == httplib::Error::ConnectionTimeout ||
                         ((error == httplib::Error::Read || error == httplib::Error::Write) &&
                          elapsed >= timeout * 9 / 10);
  if (timed_out) {
    return Status(ErrorCode::kTimeout,
                  url + ": " +
                      (error == httplib::Error::ConnectionTimeout ? "connect timed out after "
                                                                  : "timed out after ") +
                      Seconds(timeout) + " s");
  }
  if (error == httplib::Error::Read || error == httplib::Error::Write) {
    return Status(ErrorCode::kConnectError,
                  url + ": 连接在应答前断开 (" + httplib::to_string(error) + ")");
  }
  if (error == httplib::Error::SSLServerVerification) {
    return Status(ErrorCode::kConnectError,
                  "无法连接 " + url +
                      ": SSLServerVerification: the server's certificate is not trusted (a "
                      "sandbox started with --tls-self-signed: --cacert <its ca.pem>)");
  }
  return Status(ErrorCode::kConnectError, "无法连接 " + url + ": " + httplib::to_string(error));
}

Status BadAnswer(std::string_view where, std::string what) {
  return Status(ErrorCode::kInvalidJson, "应答字段 " + std::string(where) + " " + std::move(what));
}

// Reads answer strings leniently (absent and null are empty; numbers are
// shown as JavaScript would) but refuses objects, arrays and booleans.
Status GetString(const nlohmann::json& obj, const char* name, std::string_view where,
                 std::string& out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    out.clear();
    return Status::Ok();
  }
  if (it->is_string()) {
    out = it->get<std::string>();
    return Status::Ok();
  }
  if (it->is_number()) {
    out = JsNumberToString(it->get<double>());
    return Status::Ok();
  }
  return BadAnswer(std::string(where) + "." + name,
                   "应为字符串, 收到 " + std::string(it->type_name()));
}

// Amounts in answers are yuan numbers (or numeric strings); 0 is allowed
// (refund_fee of an order never refunded). Absent means 0.
Status GetFen(const nlohmann::json& obj, const char* name, std::string_view where, int64_t& out) {
  const std::string field = std::string(where) + "." + name;
  auto it = obj.find(name);
  out = 0;
  if (it == obj.end() || it->is_null()) return Status::Ok();
  std::string text;
  if (it->is_number()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || d < 0 || d > 1e13) {
      return BadAnswer(field, "不是合法金额: " + it->dump());
    }
    out = std::llround(d * 100.0);
    return Status::Ok();
  }
  if (!it->is_string()) {
    return BadAnswer(field, "应为以元为单位的数字, 收到 " + std::string(it->type_name()));
  }
  text = it->get<std::string>();
  if (text == "0" || text == "0.0" || text == "0.00") return Status::Ok();
  StatusOr<int64_t> fen = ParseYuanText(field, text, std::numeric_limits<int64_t>::max() / 100);
  if (!fen.ok()) return BadAnswer(field, fen.status().message());
  out = *fen;
  return Status::Ok();
}

Status GetCount(const nlohmann::json& obj, const char* name, std::string_view where, int64_t& out) {
  auto it = obj.find(name);
  out = 0;
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return Status::Ok();
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      out = static_cast<int64_t>(d);
      return Status::Ok();
    }
  }
  return BadAnswer(std::string(where) + "." + name, "应为整数, 收到 " + it->dump());
}

StatusOr<Order> OrderFromJson(const nlohmann::json& d, std::string_view where) {
  if (!d.is_object()) {
    return BadAnswer(where, "应为订单对象, 收到 " + std::string(d.type_name()));
  }
  Order o;
  VKSPAY_RETURN_IF_ERROR(GetString(d, "merchantno", where, o.merchantno));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "out_trade_no", where, o.out_trade_no));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "transaction_id", where, o.transaction_id));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "trade_type", where, o.trade_type));
  VKSPAY_RETURN_IF_ERROR(GetFen(d, "total_fee", where, o.total_fee));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "status", where, o.status));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "pay_chnl", where, o.pay_chnl));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "subject", where, o.subject));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "body", where, o.body));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "attach", where, o.attach));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "time_create", where, o.time_create));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "time_expire", where, o.time_expire));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "time_end", where, o.time_end));
  VKSPAY_RETURN_IF_ERROR(GetFen(d, "refund_fee", where, o.refund_fee));
  VKSPAY_RETURN_IF_ERROR(GetCount(d, "refund_count", where, o.refund_count));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "qrcode", where, o.qrcode));
  if (o.out_trade_no.empty()) return BadAnswer(std::string(where) + ".out_trade_no", "缺失");
  if (o.status.empty()) return BadAnswer(std::string(where) + ".status", "缺失");
  o.paid = o.status == "SUCCESS" || o.status == "REFUND";
  return o;
}

// Splits "http://host:port/prefix/" into origin and "/prefix".
bool SplitBaseUrl(std::string_view url, std::string& origin, std::string& prefix) {
  if (!internal::SplitHttpUrl(url, origin, prefix)) return false;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix.find_first_of("?# ") == std::string::npos;
}

}  // namespace

Fields ToFields(const WebPayRequest& req) {
  Fields f;
  f.Set("total_fee", YuanValue(req.total_fee));
  SetIf(f, "notify_url", req.notify_url);
  SetIf(f, "out_trade_no", req.out_trade_no);
  SetIf(f, "subject", req.subject);
  SetIf(f, "body", req.body);
  SetIf(f, "attach", req.attach);
  SetIf(f, "return_url", req.return_url);
  SetIf(f, "pay_chnl", req.pay_chnl);
  return f;
}

Fields ToFields(const MicroPayRequest& req) {
  Fields f;
  f.Set("total_fee", YuanValue(req.total_fee));
  f.Set("pay_chnl", req.pay_chnl);
  f.Set("client_ip", req.client_ip);
  f.Set("auth_code", req.auth_code);
  f.Set("cashier", req.cashier);
  f.Set("kuantai", req.kuantai);
  f.Set("source", req.source);
  f.Set("pay_cate", req.pay_cate);
  SetIf(f, "out_trade_no", req.out_trade_no);
  SetIf(f, "subject", req.subject);
  SetIf(f, "attach", req.attach);
  SetIf(f, "notify_url", req.notify_url);
  return f;
}

Fields ToFields(const OrderQueryRequest& req) { return Fields{{"out_trade_no", req.out_trade_no}}; }

Fields ToFields(const OrderRefundRequest& req) {
  Fields f{{"out_trade_no", req.out_trade_no}, {"refund_fee", YuanValue(req.refund_fee)}};
  SetIf(f, "out_refund_no", req.out_refund_no);
  return f;
}

Fields ToFields(const OrderRefundQueryRequest& req) {
  return Fields{{"out_trade_no", req.out_trade_no}, {"out_refund_no", req.out_refund_no}};
}

ErrorCode ErrorCodeFromName(std::string_view name) {
  for (const ErrorInfo& info : AllErrors()) {
    if (info.err_code == name) return info.code;
  }
  return ErrorCode::kInternal;
}

namespace {

// ErrorCodeFromName for an err_code a server sent: the client-side codes
// (CONNECT_ERROR, TIMEOUT) would pass a server's failure off as a transport
// failure, so they count as unknown (kInternal) there.
ErrorCode ServerErrorCode(std::string_view name) {
  const ErrorCode ec = ErrorCodeFromName(name);
  return ec == ErrorCode::kConnectError || ec == ErrorCode::kTimeout ? ErrorCode::kInternal : ec;
}

}  // namespace

Status AnswerStatus(const nlohmann::json& answer) {
  auto rc = answer.find("return_code");
  if (rc == answer.end() || !rc->is_string()) {
    return Status(ErrorCode::kInvalidJson, "应答缺少字符串字段 return_code");
  }
  const std::string& code = rc->get_ref<const std::string&>();
  if (code == "SUCCESS") return Status::Ok();
  if (code != "FAIL") {
    return Status(ErrorCode::kInvalidJson,
                  "应答的 return_code 应为 SUCCESS 或 FAIL, 收到 \"" + code + "\"");
  }
  std::string err_code;
  std::string msg;
  if (!GetString(answer, "err_code", "", err_code).ok()) err_code.clear();
  if (!GetString(answer, "return_msg", "", msg).ok()) msg.clear();
  ErrorCode ec = ServerErrorCode(err_code);
  if (msg.empty()) msg = err_code.empty() ? "FAIL (应答没有 err_code)" : err_code;
  if (ec == ErrorCode::kInternal && !err_code.empty() &&
      err_code != ErrCodeName(ErrorCode::kInternal)) {
    msg += " (未知 err_code \"" + err_code + "\")";
  }
  return Status(ec, std::move(msg));
}

StatusOr<Order> DecodeOrderAnswer(const nlohmann::json& answer, bool allow_not_paid) {
  Status st = AnswerStatus(answer);
  if (!st.ok()) {
    auto data = answer.find("data");
    const bool not_paid_yet =
        st.code() == ErrorCode::kOrderNotPaid || st.code() == ErrorCode::kUserPaying;
    if (allow_not_paid && not_paid_yet && data != answer.end() &&
        data->is_object()) {
      StatusOr<Order> order = OrderFromJson(*data, "data");
      if (!order.ok()) return order;
      order->paid = false;
      return order;
    }
    return st;
  }
  auto data = answer.find("data");
  if (data == answer.end()) return BadAnswer("data", "缺失");
  return OrderFromJson(*data, "data");
}

namespace {

// The refund fields of `d`; out_refund_no may still be empty.
StatusOr<Refund> RefundFromJson(const nlohmann::json& d, std::string_view where) {
  if (!d.is_object()) {
    return BadAnswer(where, "应为退款对象, 收到 " + std::string(d.type_name()));
  }
  Refund r;
  VKSPAY_RETURN_IF_ERROR(GetString(d, "out_trade_no", where, r.out_trade_no));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "out_refund_no", where, r.out_refund_no));
  VKSPAY_RETURN_IF_ERROR(GetFen(d, "refund_fee", where, r.refund_fee));
  VKSPAY_RETURN_IF_ERROR(GetFen(d, "total_fee", where, r.total_fee));
  VKSPAY_RETURN_IF_ERROR(GetFen(d, "refunded_fee", where, r.refunded_fee));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "status", where, r.status));
  VKSPAY_RETURN_IF_ERROR(GetString(d, "time_refund", where, r.time_refund));
  return r;
}

}  // namespace

StatusOr<Refund> DecodeRefundAnswer(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(AnswerStatus(answer));
  auto data = answer.find("data");
  if (data == answer.end() || !data->is_object()) return BadAnswer("data", "应为退款对象");
  StatusOr<Refund> r = RefundFromJson(*data, "data");
  if (!r.ok()) return r.status();
  if (r->out_refund_no.empty()) {
    VKSPAY_RETURN_IF_ERROR(GetString(answer, "out_refund_no", "", r->out_refund_no));
  }
  if (r->out_refund_no.empty()) return BadAnswer("data.out_refund_no", "缺失");
  return r;
}

Status ControlStatus(const nlohmann::json& answer) {
  auto ok = answer.find("ok");
  if (ok == answer.end() || !ok->is_boolean()) {
    return Status(ErrorCode::kInvalidJson, "控制接口应答缺少布尔字段 ok");
  }
  if (ok->get<bool>()) return Status::Ok();
  std::string err_code;
  std::string msg;
  if (!GetString(answer, "err_code", "", err_code).ok()) err_code.clear();
  if (!GetString(answer, "message", "", msg).ok()) msg.clear();
  if (msg.empty()) msg = err_code.empty() ? "控制接口失败 (应答没有 err_code)" : err_code;
  return Status(ServerErrorCode(err_code), std::move(msg));
}

StatusOr<Order> DecodeControlAnswer(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(ControlStatus(answer));
  auto order = answer.find("order");
  if (order == answer.end()) return BadAnswer("order", "缺失");
  return OrderFromJson(*order, "order");
}

namespace {

Status GetDouble(const nlohmann::json& obj, const char* name, std::string_view where, double& out) {
  auto it = obj.find(name);
  out = 0;
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (it->is_number()) {
    out = it->get<double>();
    return Status::Ok();
  }
  return BadAnswer(std::string(where) + "." + name, "应为数字, 收到 " + it->dump());
}

Status GetBool(const nlohmann::json& obj, const char* name, std::string_view where, bool& out) {
  auto it = obj.find(name);
  out = false;
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (it->is_boolean()) {
    out = it->get<bool>();
    return Status::Ok();
  }
  return BadAnswer(std::string(where) + "." + name, "应为布尔值, 收到 " + it->dump());
}

StatusOr<DeliveryAttempt> AttemptFromJson(const nlohmann::json& a, const std::string& where) {
  if (!a.is_object()) return BadAnswer(where, "应为对象, 收到 " + std::string(a.type_name()));
  DeliveryAttempt d;
  VKSPAY_RETURN_IF_ERROR(GetCount(a, "n", where, d.n));
  VKSPAY_RETURN_IF_ERROR(GetString(a, "at", where, d.at));
  VKSPAY_RETURN_IF_ERROR(GetCount(a, "at_us", where, d.at_us));
  VKSPAY_RETURN_IF_ERROR(GetString(a, "url", where, d.url));
  VKSPAY_RETURN_IF_ERROR(GetCount(a, "http_status", where, d.http_status));
  VKSPAY_RETURN_IF_ERROR(GetDouble(a, "latency_ms", where, d.latency_ms));
  VKSPAY_RETURN_IF_ERROR(GetString(a, "response_head", where, d.response_head));
  VKSPAY_RETURN_IF_ERROR(GetString(a, "error", where, d.error));
  VKSPAY_RETURN_IF_ERROR(GetBool(a, "acked", where, d.acked));
  return d;
}

StatusOr<NotificationRecord> RecordFromJson(const nlohmann::json& n, const std::string& where) {
  if (!n.is_object()) {
    return BadAnswer(where, "应为通知对象, 收到 " + std::string(n.type_name()));
  }
  NotificationRecord r;
  VKSPAY_RETURN_IF_ERROR(GetString(n, "id", where, r.id));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "notify_id", where, r.notify_id));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "type", where, r.type));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "merchantno", where, r.merchantno));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "out_trade_no", where, r.out_trade_no));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "out_refund_no", where, r.out_refund_no));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "notify_url", where, r.notify_url));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "delivered_to", where, r.delivered_to));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "state", where, r.state));
  VKSPAY_RETURN_IF_ERROR(GetCount(n, "attempts", where, r.attempts));
  VKSPAY_RETURN_IF_ERROR(GetCount(n, "total_attempts", where, r.total_attempts));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "next_attempt_at", where, r.next_attempt_at));
  VKSPAY_RETURN_IF_ERROR(GetCount(n, "next_attempt_us", where, r.next_attempt_us));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "created_at", where, r.created_at));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "acked_at", where, r.acked_at));
  VKSPAY_RETURN_IF_ERROR(GetString(n, "last_error", where, r.last_error));
  if (r.id.empty()) return BadAnswer(where + ".id", "缺失");
  if (auto p = n.find("payload"); p != n.end() && !p->is_null()) {
    if (!p->is_object()) {
      return BadAnswer(where + ".payload", "应为对象, 收到 " + std::string(p->type_name()));
    }
    r.payload = *p;
  }
  if (auto log = n.find("attempt_log"); log != n.end() && !log->is_null()) {
    if (!log->is_array()) {
      return BadAnswer(where + ".attempt_log", "应为数组, 收到 " + std::string(log->type_name()));
    }
    for (size_t i = 0; i < log->size(); ++i) {
      StatusOr<DeliveryAttempt> a =
          AttemptFromJson((*log)[i], where + ".attempt_log[" + std::to_string(i) + "]");
      if (!a.ok()) return a.status();
      r.attempt_log.push_back(std::move(a).value());
    }
  }
  return r;
}

}  // namespace

StatusOr<NotificationRecord> DecodeNotificationRecord(const nlohmann::json& n) {
  return RecordFromJson(n, "notification");
}

StatusOr<std::vector<NotificationRecord>> DecodeNotificationList(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(ControlStatus(answer));
  auto list = answer.find("notifications");
  if (list == answer.end() || !list->is_array()) return BadAnswer("notifications", "应为数组");
  std::vector<NotificationRecord> out;
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    StatusOr<NotificationRecord> r =
        RecordFromJson((*list)[i], "notifications[" + std::to_string(i) + "]");
    if (!r.ok()) return r.status();
    out.push_back(std::move(r).value());
  }
  return out;
}

StatusOr<NotificationRecord> DecodeNotificationAnswer(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(ControlStatus(answer));
  auto n = answer.find("notification");
  if (n == answer.end()) return BadAnswer("notification", "缺失");
  return RecordFromJson(*n, "notification");
}

StatusOr<std::vector<Order>> DecodeOrderList(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(ControlStatus(answer));
  auto list = answer.find("orders");
  if (list == answer.end() || !list->is_array()) return BadAnswer("orders", "应为数组");
  std::vector<Order> out;
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    StatusOr<Order> o = OrderFromJson((*list)[i], "orders[" + std::to_string(i) + "]");
    if (!o.ok()) return o.status();
    out.push_back(std::move(o).value());
  }
  return out;
}

StatusOr<std::vector<Refund>> DecodeRefundList(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(ControlStatus(answer));
  auto list = answer.find("refunds");
  if (list == answer.end() || !list->is_array()) return BadAnswer("refunds", "应为数组");
  std::vector<Refund> out;
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = "refunds[" + std::to_string(i) + "]";
    StatusOr<Refund> r = RefundFromJson((*list)[i], where);
    if (!r.ok()) return r.status();
    if (r->out_refund_no.empty()) return BadAnswer(where + ".out_refund_no", "缺失");
    out.push_back(std::move(r).value());
  }
  return out;
}

StatusOr<int64_t> DecodeResentAnswer(const nlohmann::json& answer) {
  VKSPAY_RETURN_IF_ERROR(ControlStatus(answer));
  if (answer.find("resent") == answer.end()) return BadAnswer("resent", "缺失");
  int64_t count = 0;
  VKSPAY_RETURN_IF_ERROR(GetCount(answer, "resent", "", count));
  return count;
}

// ---------------------------------------------------------------------------
// Notifications a merchant receives.

bool IsFormContentType(std::string_view content_type) {
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  size_t end = content_type.find(';');
  std::string_view media = content_type.substr(0, end);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  if (media.size() != kForm.size()) return false;
  for (size_t i = 0; i < kForm.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kForm[i]) return false;
  }
  return true;
}

StatusOr<Fields> DecodeNotificationBody(std::string_view body, std::string_view content_type) {
  if (!IsFormContentType(content_type)) {
    return Status(ErrorCode::kInvalidContentType,
                  "通知的 Content-Type 应为 application/x-www-form-urlencoded, 收到 \"" +
                      std::string(content_type) + "\"");
  }
  return DecodeForm(body);
}

StatusOr<Notification> NotificationFromFields(Fields fields, std::string_view key) {
  auto text = [&fields](std::string_view name) {
    const Value* v = fields.Find(name);
    return v == nullptr ? std::string() : JsString(*v);
  };
  for (const char* required : {"out_trade_no", "notify_id"}) {
    if (text(required).empty()) {
      return Status(ErrorCode::kMissingField, std::string("通知缺少字段 ") + required);
    }
  }
  VKSPAY_RETURN_IF_ERROR(VerifySign(fields, key));
  Notification n;
  n.notify_type = text("notify_type");
  n.notify_id = text("notify_id");
  n.merchantno = text("merchantno");
  n.out_trade_no = text("out_trade_no");
  n.transaction_id = text("transaction_id");
  n.pay_chnl = text("pay_chnl");
  n.status = text("status");
  n.time_end = text("time_end");
  n.attach = text("attach");
  n.out_refund_no = text("out_refund_no");
  n.refund_status = text("refund_status");
  n.time_refund = text("time_refund");
  n.signaturenonce = text("signaturenonce");
  n.version = text("version");
  n.sign = text("sign");
  for (auto [name, out] : {std::pair<const char*, int64_t*>{"total_fee", &n.total_fee},
                           std::pair<const char*, int64_t*>{"refund_fee", &n.refund_fee}}) {
    const std::string t = text(name);
    if (t.empty()) continue;
    StatusOr<int64_t> fen = ParseYuanText(name, t, std::numeric_limits<int64_t>::max() / 100);
    if (!fen.ok()) return fen.status();
    *out = *fen;
  }
  if (const std::string ts = text("timestamp"); !ts.empty()) {
    int64_t v = 0;
    for (char c : ts) {
      if (c < '0' || c > '9' || v > std::numeric_limits<int64_t>::max() / 10 - 10) {
        return Status(ErrorCode::kInvalidField,
                      "通知字段 timestamp 应为 Unix 秒数, 收到 \"" + ts + "\"");
      }
      v = v * 10 + (c - '0');
    }
    n.timestamp = v;
  }
  n.fields = std::move(fields);
  return n;
}

StatusOr<Notification> ParseNotification(std::string_view body, std::string_view content_type,
                                         std::string_view key) {
  StatusOr<Fields> fields = DecodeNotificationBody(body, content_type);
  if (!fields.ok()) return fields.status();
  return NotificationFromFields(std::move(fields).value(), key);
}

// ---------------------------------------------------------------------------

StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options, const Clock* clock,
                                                 Random* rng) {
  std::string origin;
  std::string prefix;
  if (!SplitBaseUrl(options.base_url, origin, prefix)) {
    return Status(
        ErrorCode::kInvalidField,
        "base_url 应为 http(s)://host[:port][/prefix], 收到 \"" + options.base_url + "\"");
  }
  if (options.merchantno.empty()) {
    return Status(ErrorCode::kInvalidField, "merchantno 不能为空");
  }
  std::unique_ptr<Client> c(
      new Client(std::move(options), std::move(origin), std::move(prefix), clock, rng));
  if (!c->http_->is_valid()) {
    return Status(ErrorCode::kInvalidField, "base_url 无法使用: \"" + c->options_.base_url + "\"");
  }
  return c;
}

Client::Client(ClientOptions options, std::string origin, std::string prefix, const Clock* clock,
               Random* rng)
    : options_(std::move(options)),
      origin_(std::move(origin)),
      prefix_(std::move(prefix)),
      clock_(clock),
      rng_(rng) {
  if (clock_ == nullptr) {
    owned_clock_ = std::make_unique<SystemClock>();
    clock_ = owned_clock_.get();
  }
  if (rng_ == nullptr) {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    owned_rng_ = std::make_unique<SeededRandom>(seed);
    rng_ = owned_rng_.get();
  }
  http_ = std::make_unique<httplib::Client>(origin_);
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive(true);
  if (!options_.ca_file.empty()) http_->set_ca_cert_path(options_.ca_file);
  const auto t = options_.timeout;
  http_->set_connection_timeout(t);
  http_->set_read_timeout(t);
  http_->set_write_timeout(t);
}

Client::~Client() = default;

Fields Client::BuildRequest(std::string_view method, const Fields& extra) {
  Fields f;
  f.Set("method", std::string(method));
  f.Set("merchantno", options_.merchantno);
  f.Set("version", std::string("2.0"));
  f.Set("timestamp", static_cast<double>(clock_->NowSeconds()));
  f.Set("signaturenonce", rng_->Digits(8, '1'));
  for (const Field& field : extra.items()) f.Set(field.name, field.value);
  return WithSign(std::move(f), options_.key);
}

StatusOr<RawAnswer> Client::Post(const std::string& path, const std::string& body, bool control) {
  const std::string url = origin_ + path;
  httplib::Headers headers;
  if (control && !options_.control_token.empty()) {
    headers.emplace("Authorization", "Bearer " + options_.control_token);
  }
  const auto start = std::chrono::steady_clock::now();
  httplib::Result res = http_->Post(path, headers, body, kContentType);
  if (!res) {
    return TransportError(url, res.error(), options_.timeout,
                          std::chrono::steady_clock::now() - start);
  }
  return Decode(url, res->status, res->body);
}

StatusOr<RawAnswer> Client::Get(const std::string& path_and_query) {
  const std::string url = origin_ + path_and_query;
  httplib::Headers headers;
  if (!options_.control_token.empty()) {
    headers.emplace("Authorization", "Bearer " + options_.control_token);
  }
  const auto start = std::chrono::steady_clock::now();
  httplib::Result res = http_->Get(path_and_query, headers);
  if (!res) {
    return TransportError(url, res.error(), options_.timeout,
                          std::chrono::steady_clock::now() - start);
  }
  return Decode(url, res->status, res->body);
}

StatusOr<RawAnswer> Client::Decode(const std::string& url, int http_status, std::string body) {
  RawAnswer answer;
  answer.http_status = http_status;
  answer.body = std::move(body);
  answer.json = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (answer.json.is_discarded() || !answer.json.is_object()) {
    std::string shown = answer.body.substr(0, 120);
    if (answer.body.size() > 120) shown += "...";
    if (http_status == 404) {
      // httplib's own 404: the sandbox has no such route. A base URL that
      // already ends in /api gets <base>/api/api: that, not an old sandbox,
      // is the likely cause then.
      const std::string why = prefix_.ends_with("/api")
                                  ? "base URL 以 /api 结尾, 请求会发到 <base>/api: drop /api"
                                  : "沙箱版本太旧?";
      return Status(ErrorCode::kNotFound, url + " 不存在 (HTTP 404, 应答不是 JSON; " + why + ")" +
                                              (shown.empty() ? "" : ": " + shown));
    }
    return Status(ErrorCode::kInvalidJson, url + " 的应答 (HTTP " + std::to_string(http_status) +
                                               ") 不是 JSON 对象: " + shown);
  }
  return answer;
}

StatusOr<RawAnswer> Client::Call(std::string_view method, const Fields& extra) {
  std::string body;
  try {
    body = BuildRequest(method, extra).ToJson();
  } catch (const nlohmann::json::exception& e) {
    // nlohmann refuses to write a string that is not valid UTF-8.
    return Status(ErrorCode::kInvalidField, std::string("请求字段无法写成 JSON: ") + e.what());
  }
  return Post(prefix_ + "/api", body, /*control=*/false);
}

StatusOr<Order> Client::WebPay(const WebPayRequest& req) {
  StatusOr<RawAnswer> a = Call("webpay", ToFields(req));
  if (!a.ok()) return a.status();
  return DecodeOrderAnswer(a->json, /*allow_not_paid=*/false);
}

StatusOr<Order> Client::MicroPay(const MicroPayRequest& req) {
  StatusOr<RawAnswer> a = Call("micropay", ToFields(req));
  if (!a.ok()) return a.status();
  // USERPAYING (the buyer must confirm on the phone) gives the order, unpaid.
  return DecodeOrderAnswer(a->json, /*allow_not_paid=*/true);
}

StatusOr<Order> Client::OrderQuery(const OrderQueryRequest& req) {
  StatusOr<RawAnswer> a = Call("orderquery", ToFields(req));
  if (!a.ok()) return a.status();
  return DecodeOrderAnswer(a->json, /*allow_not_paid=*/true);
}

StatusOr<Refund> Client::OrderRefund(const OrderRefundRequest& req) {
  StatusOr<RawAnswer> a = Call("orderrefund", ToFields(req));
  if (!a.ok()) return a.status();
  return DecodeRefundAnswer(a->json);
}

StatusOr<Refund> Client::OrderRefundQuery(const OrderRefundQueryRequest& req) {
  StatusOr<RawAnswer> a = Call("orderrefundquery", ToFields(req));
  if (!a.ok()) return a.status();
  return DecodeRefundAnswer(a->json);
}

StatusOr<RawAnswer> Client::PayRaw(std::string_view out_trade_no, std::string_view channel,
                                   std::string_view outcome) {
  nlohmann::ordered_json body = {{"merchantno", options_.merchantno},
                                 {"out_trade_no", out_trade_no},
                                 {"channel", channel},
                                 {"outcome", outcome}};
  return Post(prefix_ + "/_sandbox/pay",
              body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
              /*control=*/true);
}

StatusOr<Order> Client::Pay(std::string_view out_trade_no, std::string_view channel,
                            std::string_view outcome) {
  StatusOr<RawAnswer> a = PayRaw(out_trade_no, channel, outcome);
  if (!a.ok()) return a.status();
  return DecodeControlAnswer(a->json);
}

namespace {

// Appends "?name=value" or "&name=value" (value URL-encoded); empty values
// are not sent.
void AddQuery(std::string& query, const char* name, const std::string& value) {
  if (value.empty()) return;
  query += query.empty() ? "?" : "&";
  query += std::string(name) + "=" + httplib::detail::encode_query_param(value);
}

}  // namespace

StatusOr<RawAnswer> Client::ListOrders(const OrderListFilter& filter) {
  std::string query;
  AddQuery(query, "merchantno", options_.merchantno);
  AddQuery(query, "status", filter.status);
  AddQuery(query, "limit", filter.limit > 0 ? std::to_string(filter.limit) : std::string());
  AddQuery(query, "offset", filter.offset > 0 ? std::to_string(filter.offset) : std::string());
  return Get(prefix_ + "/_sandbox/orders" + query);
}

StatusOr<RawAnswer> Client::ListRefunds(std::string_view out_trade_no) {
  std::string query;
  AddQuery(query, "merchantno", options_.merchantno);
  AddQuery(query, "out_trade_no", std::string(out_trade_no));
  return Get(prefix_ + "/_sandbox/refunds" + query);
}

StatusOr<RawAnswer> Client::Reset() {
  return Post(prefix_ + "/_sandbox/reset", "{}", /*control=*/true);
}

StatusOr<RawAnswer> Client::GetClock() { return Get(prefix_ + "/_sandbox/clock"); }

StatusOr<RawAnswer> Client::AdvanceClock(int64_t seconds) {
  return Post(prefix_ + "/_sandbox/clock/advance",
              "{\"seconds\":" + std::to_string(seconds) + "}", /*control=*/true);
}

StatusOr<RawAnswer> Client::ResetClock() {
  return Post(prefix_ + "/_sandbox/clock/reset", "{}", /*control=*/true);
}

StatusOr<RawAnswer> Client::ListNotifications(const NotificationFilter& filter) {
  std::string query;
  AddQuery(query, "merchantno", options_.merchantno);
  AddQuery(query, "out_trade_no", filter.out_trade_no);
  AddQuery(query, "state", filter.state);
  AddQuery(query, "limit", filter.limit > 0 ? std::to_string(filter.limit) : std::string());
  return Get(prefix_ + "/_sandbox/notifications" + query);
}

StatusOr<RawAnswer> Client::GetNotification(std::string_view id) {
  return Get(prefix_ + "/_sandbox/notifications/" +
             httplib::detail::encode_query_param(std::string(id)));
}

StatusOr<RawAnswer> Client::ResendNotification(std::string_view id) {
  return Post(prefix_ + "/_sandbox/notifications/" +
                  httplib::detail::encode_query_param(std::string(id)) + "/resend",
              "{}", /*control=*/true);
}

StatusOr<RawAnswer> Client::ResendFailed(std::optional<int64_t> since) {
  nlohmann::ordered_json body = {{"state", "failed"}};
  if (since.has_value()) body["since"] = *since;
  return Post(prefix_ + "/_sandbox/notifications/resend", body.dump(), /*control=*/true);
}

Status Client::VerifyNotification(const Fields& form, std::string_view key) {
  return VerifySign(form, key);
}

}  // namespace vkspay::client
