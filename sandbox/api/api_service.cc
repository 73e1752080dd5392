#include "sandbox/api/api_service.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <optional>
#include <thread>

#include "sandbox/core/payments.h"
#include "sandbox/core/views.h"
#include "sandbox/faults/directive.h"
#include "sandbox/faults/fault_effects.h"
#include "sandbox/notify/url_guard.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 5> kMethods = {
    "webpay", "micropay", "orderquery", "orderrefund", "orderrefundquery"};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Shown(std::string_view s, size_t max = 64) {
  std::string out = "\"";
  out += s.substr(0, max);
  if (s.size() > max) out += "...";
  return out + "\"";
}

std::string ShownValue(const Value& v) {
  std::string text = ToJsonText(v);
  if (text.size() > 66) text = text.substr(0, 66) + "...";
  return std::string(TypeName(v)) + " " + text;
}

// Content-Type must be application/json, with charset utf-8 if one is named.
Status CheckContentType(const std::string& header) {
  std::string ct = Lower(header);
  std::string media = ct.substr(0, ct.find(';'));
  media.erase(std::remove(media.begin(), media.end(), ' '), media.end());
  bool ok = media == "application/json";
  if (ok) {
    auto cs = ct.find("charset=");
    if (cs != std::string::npos) {
      std::string charset = ct.substr(cs + 8);
      charset = charset.substr(0, charset.find(';'));
      charset.erase(std::remove(charset.begin(), charset.end(), '"'), charset.end());
      charset.erase(std::remove(charset.begin(), charset.end(), ' '), charset.end());
      ok = charset == "utf-8" || charset == "utf8";
    }
  }
  if (ok) return Status::Ok();
  return Status(ErrorCode::kInvalidContentType,
                "Content-Type 必须是 application/json; charset=utf-8, 收到 " +
                    (header.empty() ? std::string("(none)") : Shown(header)));
}

// A string field. Absent (or, when !required, empty) gives "".
StatusOr<std::string> GetString(const Fields& f, std::string_view name, bool required,
                                size_t max_len = 256) {
  const Value* v = f.Find(name);
  if (v == nullptr) {
    if (required) return Status(ErrorCode::kMissingField, "缺少字段 " + std::string(name));
    return std::string();
  }
  const auto* s = std::get_if<std::string>(v);
  if (s == nullptr) {
    return Status(ErrorCode::kInvalidField,
                  "字段 " + std::string(name) + " 必须是字符串, 收到 " + ShownValue(*v));
  }
  if (required && s->empty()) {
    return Status(ErrorCode::kMissingField, "字段 " + std::string(name) + " 不能为空");
  }
  if (s->size() > max_len) {
    return Status(ErrorCode::kInvalidField, "字段 " + std::string(name) + " 最长 " +
                                                std::to_string(max_len) + " 字节, 收到 " +
                                                std::to_string(s->size()) + " 字节");
  }
  return *s;
}

// Merchant-chosen ids: 1-64 of [A-Za-z0-9_-|*], as WeChat Pay allows.
Status CheckId(std::string_view name, const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64 &&
            std::all_of(id.begin(), id.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '_' || c == '-' || c == '|' || c == '*';
            });
  if (ok) return Status::Ok();
  return Status(ErrorCode::kInvalidField,
                "字段 " + std::string(name) +
                    " 必须是 1-64 位字母、数字或 _-|*, 收到 " + Shown(id));
}

Status CheckHttpUrl(std::string_view name, const std::string& url, ErrorCode code) {
  std::string lower = Lower(url);
  size_t scheme_end = lower.rfind("http://", 0) == 0    ? 7
                      : lower.rfind("https://", 0) == 0 ? 8
                                                        : 0;
  bool ok = scheme_end > 0 && url.size() > scheme_end && url[scheme_end] != '/' &&
            std::none_of(url.begin(), url.end(),
                         [](unsigned char c) { return c <= ' ' || c == 0x7f; });
  if (ok) return Status::Ok();
  return Status(code, "字段 " + std::string(name) +
                          " 必须是 http:// 或 https:// 开头的完整地址, 收到 " + Shown(url));
}

Status CheckChannel(std::string_view name, const std::string& chnl, bool allow_auto) {
  if (chnl == "wxpay" || chnl == "alipay" || (allow_auto && chnl == "auto")) {
    return Status::Ok();
  }
  return Status(ErrorCode::kInvalidField,
                "字段 " + std::string(name) + " 必须是 wxpay" +
                    (allow_auto ? "、alipay 或 auto" : " 或 alipay") + ", 收到 " + Shown(chnl));
}

// An injected delay is real latency, not sandbox time: the caller's
// timeouts are what it tests.
void SleepMs(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// The err_code of a VksPay JSON answer, "" if there is none; its
// return_msg to *msg when there is an err_code.
std::string ErrCodeOf(const std::string& body, std::string* msg = nullptr) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  auto it = j.find("err_code");
  if (it == j.end() || !it->is_string()) return "";
  if (msg != nullptr) {
    auto m = j.find("return_msg");
    *msg = m != j.end() && m->is_string() ? m->get<std::string>() : "";
  }
  return it->get<std::string>();
}

// `text` with every occurrence of each secret replaced by "***".
std::string MaskSecrets(std::string text, const std::vector<std::string_view>& secrets) {
  for (std::string_view secret : secrets) {
    if (secret.size() < 4) continue;  // too short to be a key; would mangle text
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

// A string field as sent (at most 64 bytes), "" when absent or not a string.
std::string TextField(const Fields& f, std::string_view name) {
  const Value* v = f.Find(name);
  const auto* s = v != nullptr ? std::get_if<std::string>(v) : nullptr;
  return s != nullptr ? s->substr(0, 64) : std::string();
}

void AddInjected(std::string* to, const std::string& what) {
  if (what.empty()) return;
  if (!to->empty()) *to += ", ";
  *to += what;
}

Json Answer(std::string_view msg, Json data) {
  Json j;
  j["return_code"] = "SUCCESS";
  j["return_msg"] = msg;
  j["data"] = std::move(data);
  return j;
}

}  // namespace

ApiService::ApiService(const SandboxContext& ctx)
    : ctx_(ctx), replay_(ctx.config->settings.timestamp_window_s) {
  if (ctx_.rng != nullptr) {
    const int64_t salt = ctx_.store != nullptr ? ctx_.store->StartupSalt() : 0;
    ids_rng_ = std::make_unique<SaltedRandom>(*ctx_.rng, static_cast<uint64_t>(salt));
  }
}

ApiResponse ApiService::Handle(const ApiRequest& request) {
  ApiResponse resp;
  Json fail_data;
  FaultContext fault_ctx;
  std::optional<WireAnswer> replaced;  // an api_before fault answered instead
  bool method_ran = false;             // with faults: the api_after hook applies
  std::optional<Order> fault_order;    // read for the fault context
  std::optional<Fields> fields;        // the request's, once parsed (outlives run)
  std::string_view sign_seen;          // in *fields; masked in resp.reason
  auto run = [&]() -> StatusOr<Json> {
    const Settings& settings = ctx_.config->settings;
    VKSPAY_RETURN_IF_ERROR(CheckContentType(request.content_type));
    if (request.body.size() > settings.max_body_bytes) {
      return Status(ErrorCode::kBodyTooLarge, "请求体有 " + std::to_string(request.body.size()) +
                                                  " 字节, 上限 " +
                                                  std::to_string(settings.max_body_bytes));
    }
    StatusOr<Fields> parsed = ParseFlatJson(request.body);
    if (!parsed.ok()) return parsed.status();
    fields.emplace(std::move(*parsed));
    const Fields& f = *fields;

    StatusOr<std::string> method = GetString(f, "method", true, 64);
    if (!method.ok()) return method.status();
    resp.method = *method;
    StatusOr<std::string> merchantno = GetString(f, "merchantno", true, 64);
    if (!merchantno.ok()) return merchantno.status();
    resp.merchantno = *merchantno;
    resp.out_trade_no = TextField(f, "out_trade_no");
    resp.out_refund_no = TextField(f, "out_refund_no");
    if (const Value* sign = f.Find("sign")) {
      if (const auto* s = std::get_if<std::string>(sign)) sign_seen = *s;  // a view
    }

    const Value* version = f.Find("version");
    if (version == nullptr) return Status(ErrorCode::kMissingField, "缺少字段 version");
    if (const auto* vs = std::get_if<std::string>(version); vs == nullptr || *vs != "2.0") {
      return Status(ErrorCode::kUnsupportedVersion,
                    "version 必须是字符串 \"2.0\", 收到 " + ShownValue(*version));
    }
    const Value* ts = f.Find("timestamp");
    if (ts == nullptr) return Status(ErrorCode::kMissingField, "缺少字段 timestamp");
    const double* ts_num = std::get_if<double>(ts);
    // Range first: casting a double outside int64 (1e300) to int64_t is
    // undefined behaviour. 2^53 is far past any Unix time and every integer
    // below it is exact in a double.
    if (ts_num == nullptr || !(std::fabs(*ts_num) < 9007199254740992.0) ||
        *ts_num != std::trunc(*ts_num)) {
      return Status(ErrorCode::kInvalidField,
                    "timestamp 必须是 Unix 秒数 (JSON 整数), 收到 " + ShownValue(*ts));
    }
    StatusOr<std::string> nonce = GetString(f, "signaturenonce", true, 64);
    if (!nonce.ok()) return nonce.status();
    if (settings.strict_nonce &&
        (nonce->size() != 8 || !std::all_of(nonce->begin(), nonce->end(),
                                            [](char c) { return c >= '1' && c <= '9'; }))) {
      return Status(ErrorCode::kInvalidField,
                    "signaturenonce 必须是 8 位 1-9 的数字字符串, 收到 " + Shown(*nonce));
    }
    if (f.Find("sign") == nullptr) return Status(ErrorCode::kMissingField, "缺少字段 sign");

    if (std::find(kMethods.begin(), kMethods.end(), *method) == kMethods.end()) {
      return Status(ErrorCode::kUnknownMethod,
                    "method 必须是 webpay、micropay、orderquery、orderrefund 或 "
                    "orderrefundquery, 收到 " + Shown(*method));
    }
    const Merchant* merchant = ctx_.config->FindMerchant(*merchantno);
    if (merchant == nullptr) {
      return Status(ErrorCode::kUnknownMerchant,
                    "商户号 " + Shown(*merchantno) +
                        " 不存在 / hint: no such merchant in this sandbox; its log lists the "
                        "configured merchant numbers (--config FILE adds merchants)");
    }
    VKSPAY_RETURN_IF_ERROR(VerifySign(f, merchant->key));

    const int64_t now = ctx_.clock->NowSeconds();
    const int64_t t = static_cast<int64_t>(*ts_num);
    if (t < now - settings.timestamp_window_s || t > now + settings.timestamp_window_s) {
      std::string msg = "timestamp " + std::to_string(t) + " 与服务器时间 " + std::to_string(now) +
                        " 相差 " + std::to_string(t > now ? t - now : now - t) + " 秒, 允许 ±" +
                        std::to_string(settings.timestamp_window_s) + " 秒";
      // Milliseconds (JavaScript's Date.now(), Java's currentTimeMillis())
      // are the commonest wrong timestamp: a thousand times now, give or
      // take the window.
      const int64_t secs = t / 1000;
      if (t > 0 && secs >= now - settings.timestamp_window_s &&
          secs <= now + settings.timestamp_window_s) {
        msg += "; 这看起来是毫秒, timestamp 要用秒 / hint: this looks like milliseconds; "
               "VksPay wants Unix seconds (Math.floor(Date.now() / 1000))";
      }
      // A sandbox-only hint: a clock advanced by a test (vkspay-conformance
      // moves it ~26 h) otherwise looks like a client with a wrong clock.
      const int64_t offset_s =
          ctx_.sandbox_clock != nullptr ? ctx_.sandbox_clock->offset_us() / 1'000'000 : 0;
      if (offset_s != 0) {
        msg += "; 沙箱时钟已被拨快 " + std::to_string(offset_s) +
               " 秒 (the sandbox clock is offset by +" + std::to_string(offset_s) +
               " s from the system clock by POST /_sandbox/clock/advance; "
               "POST /_sandbox/clock/reset puts it back)";
      }
      return Status(ErrorCode::kTimestampExpired, msg);
    }
    if (!replay_.Remember(*merchantno, std::get<std::string>(*f.Find("sign")), t, now)) {
      return Status(ErrorCode::kNonceReplayed,
                    "同一请求 (signaturenonce " + *nonce + ", timestamp " + std::to_string(t) +
                        ") 已收到过; 每次请求请使用新的 signaturenonce 并重新签名");
    }

    if (ctx_.faults != nullptr) {
      const Value* attach = f.Find("attach");
      const auto* attach_s = attach != nullptr ? std::get_if<std::string>(attach) : nullptr;
      VKSPAY_RETURN_IF_ERROR(
          ValidateDirectives(request.fault_header, attach_s != nullptr ? *attach_s : ""));
      fault_ctx =
          RequestFaultContext(f, *method, *merchantno, request.fault_header, &fault_order);
      ApiEffect before = PlanApiBefore(ctx_.faults->Decide(FaultHook::kApiBefore, fault_ctx));
      AddInjected(&resp.injected, before.injected);
      SleepMs(before.delay_ms);
      // After a delay the order may have moved on: read it again.
      if (before.delay_ms > 0) fault_order.reset();
      if (before.replace) {
        replaced = std::move(before.answer);
        return Json();
      }
      method_ran = true;
    }
    Call call{&f, merchant,
              settings.public_base_url.empty() ? request.base_url : settings.public_base_url,
              ctx_.faults != nullptr ? &fault_ctx : nullptr, &fail_data,
              fault_order ? &*fault_order : nullptr, &resp.log_note};
    if (*method == "webpay") return WebPay(call);
    if (*method == "micropay") return MicroPay(call);
    if (*method == "orderquery") return OrderQuery(call);
    if (*method == "orderrefund") return OrderRefund(call);
    return OrderRefundQuery(call);
  };

  StatusOr<Json> result = [&]() -> StatusOr<Json> {
    try {
      return run();
    } catch (const std::exception&) {
      // A throw here is a bug; answer without echoing internals.
      return Status(ErrorCode::kInternal, "内部错误, 请稍后重试");
    }
  }();
  auto send = [&resp](const WireAnswer& a) {
    resp.http_status = a.http_status;
    resp.content_type = a.content_type;
    resp.body = a.body;
    resp.close_connection = a.close_connection;
    resp.err_code = ErrCodeOf(a.body, &resp.reason);
  };
  if (replaced) {
    send(*replaced);
    return resp;
  }
  if (result.ok()) {
    resp.body = result->dump();
    // A FAIL the method built itself (micropay's USERPAYING).
    if (auto it = result->find("err_code"); it != result->end() && it->is_string()) {
      resp.err_code = it->get<std::string>();
      if (auto m = result->find("return_msg"); m != result->end() && m->is_string()) {
        resp.reason = m->get<std::string>();
      }
    }
    // Numbers the sandbox generated (webpay without out_trade_no, orderrefund
    // without out_refund_no) are known only from the answer.
    if (auto d = result->find("data"); d != result->end() && d->is_object()) {
      if (auto it = d->find("out_trade_no"); it != d->end() && it->is_string()) {
        resp.out_trade_no = it->get<std::string>();
      }
      if (auto it = d->find("out_refund_no"); it != d->end() && it->is_string()) {
        resp.out_refund_no = it->get<std::string>();
      }
    }
  } else {
    const Status& st = result.status();
    const ErrorInfo& info = InfoFor(st.code());
    resp.err_code = std::string(info.err_code);
    if (st.code() == ErrorCode::kUnknownMerchant) {
      // The caller may be anyone: the configured numbers go to the log only.
      std::string known;
      for (const Merchant& m : ctx_.config->merchants) {
        known += (known.empty() ? "" : ", ") + m.merchantno;
      }
      resp.log_note = "configured merchants: " + (known.empty() ? "(none)" : known);
    }
    Json j;
    j["return_code"] = "FAIL";
    j["return_msg"] = std::string(info.title) + ": " + st.message();
    resp.reason = j["return_msg"].get<std::string>();
    j["err_code"] = info.err_code;
    if (!fail_data.is_null()) j["data"] = std::move(fail_data);
    resp.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (method_ran) {
    WireAnswer produced;
    produced.content_type = resp.content_type;
    produced.body = resp.body;
    ApiEffect after =
        PlanApiAfter(ctx_.faults->Decide(FaultHook::kApiAfter, fault_ctx), produced);
    AddInjected(&resp.injected, after.injected);
    SleepMs(after.delay_ms);
    if (after.replace) {
      const std::string err_code = resp.err_code;
      send(after.answer);
      if (resp.err_code.empty()) resp.err_code = err_code;
    }
  }
  if (!resp.reason.empty()) {
    std::vector<std::string_view> secrets;
    for (const Merchant& m : ctx_.config->merchants) secrets.push_back(m.key);
    secrets.push_back(sign_seen);
    resp.reason = MaskSecrets(std::move(resp.reason), secrets);
  }
  return resp;
}

FaultContext ApiService::RequestFaultContext(const Fields& f, const std::string& method,
                                             const std::string& merchantno,
                                             const std::string& header,
                                             std::optional<Order>* order_out) const {
  auto text = [&f](std::string_view name) -> std::string {
    const Value* v = f.Find(name);
    const auto* s = v != nullptr ? std::get_if<std::string>(v) : nullptr;
    return s != nullptr ? *s : std::string();
  };
  FaultContext fc;
  fc.method = method;
  fc.merchantno = merchantno;
  fc.out_trade_no = text("out_trade_no");
  fc.header_directive = header;
  if (method == "webpay" || method == "micropay") {
    if (const Value* fee = f.Find("total_fee"); fee != nullptr) {
      StatusOr<int64_t> fen =
          ParseYuan("total_fee", *fee, ctx_.config->settings.max_total_fee_fen);
      if (fen.ok()) fc.amount_fen = *fen;
    }
    fc.channel = text("pay_chnl");
    if (fc.channel.empty() && method == "webpay") fc.channel = "auto";
    fc.attach = text("attach");
  } else if (!fc.out_trade_no.empty()) {
    // The order's attach and amount follow it to every later call.
    StatusOr<Order> order =
        ctx_.store->GetOrder(merchantno, fc.out_trade_no, ctx_.clock->NowSeconds());
    if (order.ok()) {
      fc.amount_fen = order->total_fee;
      fc.channel = order->pay_chnl;
      fc.attach = order->attach;
      *order_out = std::move(order).value();
    }
  }
  return fc;
}

std::vector<ScheduledAction> ApiService::PlanNewOrder(const Call& call, Order& order,
                                                      int64_t now) const {
  order.expires_at = now + ctx_.config->settings.order_expiry_s;
  if (call.faults == nullptr) return {};
  order.fault_header = call.faults->header_directive;
  const std::vector<FaultDecision> decisions =
      ctx_.faults->Decide(FaultHook::kOrder, *call.faults);
  const OrderPlan plan = PlanOrder(decisions);
  if (plan.expire_after_s) order.expires_at = now + *plan.expire_after_s;
  if (!plan.late_success_after_s) return {};
  // pay.late_success: paid that long after the order closes (its expiry, or
  // sooner if the buyer cancels; the store moves the due time then).
  ScheduledAction late;
  late.kind = ActionKind::kLateSuccess;
  late.delay_us = FaultDelayUs(ctx_, *plan.late_success_after_s);
  late.due_us = order.expires_at * 1'000'000 + late.delay_us;
  StatusOr<std::string> chnl = ResolveChannel("auto", order.pay_chnl);
  late.channel = chnl.ok() ? *chnl : "wxpay";
  late.transaction_id = NewTransactionId(*ctx_.rng, late.channel, now);
  for (const FaultDecision& d : decisions) {
    if (d.fault.kind == FaultKind::kPayLateSuccess) {
      late.note = "pay.late_success (" + d.source +
                  (d.rule_id != d.source ? " " + d.rule_id : std::string()) + ")";
      break;
    }
  }
  return {late};
}

Status ApiService::CheckStrictNotifyUrl(const Merchant& merchant, const std::string& url) const {
  const Settings& settings = ctx_.config->settings;
  // Without strict, a refused URL is accepted and its notification held as
  // blocked. With a forward_to, notify_url is never contacted.
  if (!settings.strict_notify_url || ctx_.url_guard == nullptr) return Status::Ok();
  if (!merchant.forward_to.empty() || !settings.forward_to.empty()) return Status::Ok();
  StatusOr<OutboundTarget> target = ctx_.url_guard->Resolve(url);
  if (target.ok()) return Status::Ok();
  return Status(ErrorCode::kNotifyUrlRefused,
                "沙箱不会向 notify_url " + Shown(url) + " 发送通知: " + target.status().message() +
                    " (strict_notify_url 已开启; 可用 --notify-allow 放行)");
}

std::string ApiService::UndeliverableNote(const Merchant& merchant,
                                          const std::string& url) const {
  const Settings& settings = ctx_.config->settings;
  if (url.empty() || settings.strict_notify_url || ctx_.url_guard == nullptr) return "";
  if (!merchant.forward_to.empty() || !settings.forward_to.empty()) return "";
  // The host, without DNS: an IP literal (IPv6 in brackets) or localhost.
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t start = scheme + 3;
  std::string host;
  if (start < url.size() && url[start] == '[') {
    const size_t close = url.find(']', start);
    if (close == std::string::npos) return "";
    host = url.substr(start + 1, close - start - 1);
  } else {
    const size_t end = url.find_first_of(":/?#", start);
    host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  std::array<unsigned char, 16> addr{};
  const bool literal = inet_pton(AF_INET, host.c_str(), addr.data()) == 1 ||
                       inet_pton(AF_INET6, host.c_str(), addr.data()) == 1;
  std::string lower = host;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (!literal && lower != "localhost") return "";
  StatusOr<OutboundTarget> target = ctx_.url_guard->Resolve(url);
  if (target.ok()) return "";
  return "notify_url " + Shown(url) +
         " will not be delivered (its notifications will be held as blocked): " +
         target.status().message();
}

StatusOr<CreateOrderResult> ApiService::CreateWithFreshIds(Order order, bool generated,
                                                           int64_t now,
                                                           const InsertOrder& insert) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (generated) order.out_trade_no = NewOutTradeNo(IdRandom(), order.merchantno, now);
    order.cashier_token = NewCashierToken(IdRandom());
    StatusOr<CreateOrderResult> created = insert(order);
    if (created.ok() || created.status().code() != ErrorCode::kOutTradeNoUsed) return created;
    // A collision of generated ids or of the cashier token: draw again. A
    // merchant's own out_trade_no that the merchant's order holds is a real
    // conflict, answered with the store's message (which names only that
    // order); anything else was a drawn id and must not reach the merchant.
    if (!generated) {
      StatusOr<Order> existing = ctx_.store->GetOrder(order.merchantno, order.out_trade_no, now);
      if (existing.ok()) return created;
      if (existing.status().code() != ErrorCode::kOrderNotExist) return existing.status();
    }
  }
  return Status(ErrorCode::kInternal, "未能生成唯一的订单号或支付链接, 请重试");
}

StatusOr<Json> ApiService::WebPay(const Call& call) {
  const Fields& f = *call.fields;
  const Settings& settings = ctx_.config->settings;
  const Value* fee_v = f.Find("total_fee");
  if (fee_v == nullptr) return Status(ErrorCode::kMissingField, "缺少字段 total_fee");
  StatusOr<int64_t> fee = ParseYuan("total_fee", *fee_v, settings.max_total_fee_fen);
  if (!fee.ok()) return fee.status();

  StatusOr<std::string> notify_url = GetString(f, "notify_url", false, 512);
  if (!notify_url.ok()) return notify_url.status();
  if (notify_url->empty()) {
    if (call.merchant->notify_url.empty()) {
      return Status(ErrorCode::kMissingField, "缺少字段 notify_url (商户未配置默认通知地址)");
    }
    *notify_url = call.merchant->notify_url;
  }
  VKSPAY_RETURN_IF_ERROR(CheckHttpUrl("notify_url", *notify_url, ErrorCode::kNotifyUrlRefused));
  VKSPAY_RETURN_IF_ERROR(CheckStrictNotifyUrl(*call.merchant, *notify_url));

  Order order;
  order.merchantno = call.merchant->merchantno;
  order.trade_type = "webpay";
  order.total_fee = *fee;
  order.notify_url = *notify_url;
  StatusOr<std::string> s = GetString(f, "out_trade_no", false, 64);
  if (!s.ok()) return s.status();
  const bool generated = s->empty();
  if (!generated) VKSPAY_RETURN_IF_ERROR(CheckId("out_trade_no", *s));
  order.out_trade_no = *s;
  for (auto [name, dest, max] :
       {std::tuple{"subject", &order.subject, size_t{256}},
        std::tuple{"body", &order.body, size_t{1024}},
        std::tuple{"attach", &order.attach, size_t{512}},
        std::tuple{"return_url", &order.return_url, size_t{512}}}) {
    StatusOr<std::string> v = GetString(f, name, false, max);
    if (!v.ok()) return v.status();
    *dest = std::move(*v);
  }
  if (!order.return_url.empty()) {
    VKSPAY_RETURN_IF_ERROR(CheckHttpUrl("return_url", order.return_url, ErrorCode::kInvalidField));
  }
  StatusOr<std::string> chnl = GetString(f, "pay_chnl", false, 16);
  if (!chnl.ok()) return chnl.status();
  order.pay_chnl = chnl->empty() ? "auto" : *chnl;
  VKSPAY_RETURN_IF_ERROR(CheckChannel("pay_chnl", order.pay_chnl, true));

  const int64_t now = ctx_.clock->NowSeconds();
  order.created_at = now;
  const std::vector<ScheduledAction> actions = PlanNewOrder(call, order, now);
  StatusOr<CreateOrderResult> created =
      CreateWithFreshIds(order, generated, now, [&](const Order& o) {
        return actions.empty() ? ctx_.store->CreateOrder(o, generated, now)
                               : ctx_.store->CreateOrderWithActions(o, generated, now, actions);
      });
  if (!created.ok()) return created.status();
  if (call.log_note != nullptr && created->created) {
    *call.log_note = UndeliverableNote(*call.merchant, created->order.notify_url);
  }
  Json data = OrderJson(created->order);
  data["qrcode"] = CashierUrl(call.base_url, created->order);
  return Answer(created->created ? "下单成功" : "订单已存在, 返回原支付链接", std::move(data));
}

StatusOr<Json> ApiService::MicroPay(const Call& call) {
  const Fields& f = *call.fields;
  const Settings& settings = ctx_.config->settings;
  const Value* fee_v = f.Find("total_fee");
  if (fee_v == nullptr) return Status(ErrorCode::kMissingField, "缺少字段 total_fee");
  StatusOr<int64_t> fee = ParseYuan("total_fee", *fee_v, settings.max_total_fee_fen);
  if (!fee.ok()) return fee.status();
  StatusOr<std::string> chnl = GetString(f, "pay_chnl", true, 16);
  if (!chnl.ok()) return chnl.status();
  VKSPAY_RETURN_IF_ERROR(CheckChannel("pay_chnl", *chnl, false));
  StatusOr<std::string> auth_code = GetString(f, "auth_code", true, 64);
  if (!auth_code.ok()) return auth_code.status();
  const std::string& code = *auth_code;
  if (code.size() != 18 || !std::all_of(code.begin(), code.end(), ::isdigit)) {
    return Status(ErrorCode::kAuthCodeInvalid,
                  "auth_code 必须是 18 位数字付款码, 收到 " + Shown(code));
  }
  const int prefix = (code[0] - '0') * 10 + (code[1] - '0');
  const std::string code_chnl = (prefix >= 10 && prefix <= 15)   ? "wxpay"
                                : (prefix >= 25 && prefix <= 30) ? "alipay"
                                                                 : "";
  if (code_chnl.empty()) {
    return Status(ErrorCode::kAuthCodeInvalid,
                  "auth_code 前两位必须是 10-15 (微信) 或 25-30 (支付宝), 收到 " + Shown(code));
  }
  if (code_chnl != *chnl) {
    return Status(ErrorCode::kAuthCodeInvalid, "auth_code " + Shown(code) + " 是" +
                                                   (code_chnl == "wxpay" ? "微信" : "支付宝") +
                                                   "付款码, 但 pay_chnl 是 " + Shown(*chnl));
  }
  StatusOr<std::string> pay_cate = GetString(f, "pay_cate", false, 16);
  if (!pay_cate.ok()) return pay_cate.status();
  if (!pay_cate->empty() && *pay_cate != "pay") {
    return Status(ErrorCode::kInvalidField, "字段 pay_cate 必须是 \"pay\", 收到 " + Shown(*pay_cate));
  }
  Order order;
  order.merchantno = call.merchant->merchantno;
  order.trade_type = "micropay";
  order.total_fee = *fee;
  order.pay_chnl = *chnl;
  order.auth_code = code;
  for (auto [name, dest, max] :
       {std::tuple{"client_ip", &order.client_ip, size_t{64}},
        std::tuple{"subject", &order.subject, size_t{256}},
        std::tuple{"body", &order.body, size_t{1024}},
        std::tuple{"attach", &order.attach, size_t{512}},
        std::tuple{"notify_url", &order.notify_url, size_t{512}}}) {
    StatusOr<std::string> v = GetString(f, name, false, max);
    if (!v.ok()) return v.status();
    *dest = std::move(*v);
  }
  // cashier, kuantai and source are the sample's till fields: strings, kept
  // only in the signature.
  for (const char* name : {"cashier", "kuantai", "source"}) {
    StatusOr<std::string> v = GetString(f, name, false, 256);
    if (!v.ok()) return v.status();
  }
  if (order.notify_url.empty()) order.notify_url = call.merchant->notify_url;
  if (!order.notify_url.empty()) {
    VKSPAY_RETURN_IF_ERROR(CheckHttpUrl("notify_url", order.notify_url, ErrorCode::kNotifyUrlRefused));
    VKSPAY_RETURN_IF_ERROR(CheckStrictNotifyUrl(*call.merchant, order.notify_url));
  }
  StatusOr<std::string> s = GetString(f, "out_trade_no", false, 64);
  if (!s.ok()) return s.status();
  const bool generated = s->empty();
  if (!generated) VKSPAY_RETURN_IF_ERROR(CheckId("out_trade_no", *s));
  order.out_trade_no = *s;

  const int64_t now = ctx_.clock->NowSeconds();
  order.created_at = now;
  const std::vector<ScheduledAction> actions = PlanNewOrder(call, order, now);
  // The order and its payment are one store transaction: a failure leaves no
  // order behind. The payment's faults are asked once, for the first
  // out_trade_no drawn (a generated number is drawn again only on a
  // collision).
  BuyerPlan plan;
  std::optional<PaymentStep> step;
  StatusOr<CreateOrderResult> created =
      CreateWithFreshIds(order, generated, now, [&](const Order& o) {
        if (!step) {
          if (call.faults != nullptr) {
            FaultContext fc = *call.faults;
            fc.out_trade_no = o.out_trade_no;
            plan = PlanBuyer(ctx_, fc, PayOutcome::kSuccess);
          }
          step = PlanPaymentStep(ctx_, *chnl, plan, now);
        }
        return ctx_.store->CreateAndPay(o, generated, now, actions, *step);
      });
  if (!created.ok()) return created.status();
  order.out_trade_no = created->order.out_trade_no;
  const Order& paid = created->order;
  if (call.log_note != nullptr) {
    *call.log_note = UndeliverableNote(*call.merchant, paid.notify_url);
  }
  if (paid.status == OrderStatus::kUserPaying) {
    // As WeChat's micropay: the buyer must confirm on the phone; the caller
    // polls orderquery until the order leaves USERPAYING.
    Json j;
    j["return_code"] = "FAIL";
    j["return_msg"] = "用户支付中: 需要买家在手机上确认, 请稍后用 orderquery 查询订单 " +
                      Shown(order.out_trade_no) + " (沙箱注入的 pay.userpaying)";
    j["err_code"] = "USERPAYING";
    j["data"] = OrderJson(paid);
    return j;
  }
  const PayOutcome outcome = plan.outcome;
  if (outcome == PayOutcome::kSuccess) return Answer("支付成功", OrderJson(paid));
  *call.fail_data = OrderJson(paid);
  if (outcome == PayOutcome::kFail) {
    return Status(ErrorCode::kOrderPayError,
                  "买家支付失败, 订单 " + Shown(order.out_trade_no) + " 状态为 PAYERROR");
  }
  return Status(ErrorCode::kOrderClosed,
                "买家取消了支付, 订单 " + Shown(order.out_trade_no) + " 状态为 CLOSED");
}

StatusOr<Json> ApiService::OrderQuery(const Call& call) {
  Json* fail_data = call.fail_data;
  StatusOr<std::string> no = GetString(*call.fields, "out_trade_no", true, 64);
  if (!no.ok()) return no.status();
  // Read once per request: the fault context's read, if it was of this order.
  StatusOr<Order> order =
      call.order != nullptr && call.order->out_trade_no == *no
          ? StatusOr<Order>(*call.order)
          : ctx_.store->GetOrder(call.merchant->merchantno, *no, ctx_.clock->NowSeconds());
  if (!order.ok()) return order.status();
  if (IsPaid(order->status)) return Answer("支付成功", OrderJson(*order));
  *fail_data = OrderJson(*order);
  return Status(ErrorCode::kOrderNotPaid,
                "订单 " + Shown(*no) + " 状态为 " + std::string(ToString(order->status)));
}

StatusOr<Json> ApiService::OrderRefund(const Call& call) {
  const Fields& f = *call.fields;
  StatusOr<std::string> no = GetString(f, "out_trade_no", true, 64);
  if (!no.ok()) return no.status();
  const Value* fee_v = f.Find("refund_fee");
  if (fee_v == nullptr) return Status(ErrorCode::kMissingField, "缺少字段 refund_fee");
  StatusOr<int64_t> fee = ParseYuan("refund_fee", *fee_v, ctx_.config->settings.max_total_fee_fen);
  if (!fee.ok()) return fee.status();
  StatusOr<std::string> refund_no = GetString(f, "out_refund_no", false, 64);
  if (!refund_no.ok()) return refund_no.status();
  std::optional<std::string> requested;
  if (!refund_no->empty()) {
    VKSPAY_RETURN_IF_ERROR(CheckId("out_refund_no", *refund_no));
    requested = *refund_no;
  }
  // The fault hook and the store's rules live in RefundOrder, shared with
  // the dashboard's refund button.
  RefundAsk ask;
  ask.merchantno = call.merchant->merchantno;
  ask.out_trade_no = *no;
  ask.out_refund_no = requested;
  ask.fee_fen = *fee;
  if (call.faults != nullptr) ask.header_directive = call.faults->header_directive;
  StatusOr<RefundResult> result = RefundOrder(ctx_, IdRandom(), ask);
  if (!result.ok()) return result.status();
  const Refund& refund = result->refund;
  Json j = Answer(refund.status == RefundStatus::kProcessing ? "退款处理中" : "退款成功",
                  RefundJson(refund, &result->order));
  j["out_refund_no"] = refund.out_refund_no;
  return j;
}

StatusOr<Json> ApiService::OrderRefundQuery(const Call& call) {
  const Fields& f = *call.fields;
  StatusOr<std::string> no = GetString(f, "out_trade_no", true, 64);
  if (!no.ok()) return no.status();
  StatusOr<std::string> refund_no = GetString(f, "out_refund_no", true, 64);
  if (!refund_no.ok()) return refund_no.status();
  const std::string& merchantno = call.merchant->merchantno;
  StatusOr<Order> order = ctx_.store->GetOrder(merchantno, *no, ctx_.clock->NowSeconds());
  if (!order.ok()) return order.status();
  StatusOr<Refund> refund = ctx_.store->GetRefund(merchantno, *no, *refund_no);
  if (!refund.ok()) return refund.status();
  Json j = Answer("查询成功", RefundJson(*refund, &*order));
  j["out_refund_no"] = refund->out_refund_no;
  return j;
}

}  // namespace vkspay::sandbox
