#include "sandbox/dashboard/dashboard_params.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "vkspay/protocol/amount.h"

namespace vkspay::sandbox::dashboard {
namespace {

// What arrived, quoted and cut, for an error message (escaped on display).
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += s.substr(0, 64);
  if (s.size() > 64) out += "...";
  return out + "\"";
}

std::string Param(const httplib::Params& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

bool Has(const httplib::Params& params, const char* name) { return params.count(name) > 0; }

// A decimal integer in [min, max]; absent or empty: dflt.
StatusOr<int64_t> IntParam(const httplib::Params& params, const char* name, int64_t dflt,
                           int64_t min, int64_t max) {
  const std::string v = Param(params, name);
  if (v.empty()) return dflt;
  const bool digits = v.size() <= 18 && std::all_of(v.begin(), v.end(), [](unsigned char c) {
                        return std::isdigit(c) != 0;
                      });
  if (digits) {
    const int64_t n = std::strtoll(v.c_str(), nullptr, 10);
    if (n >= min && n <= max) return n;
  }
  return Status(ErrorCode::kInvalidField, std::string(name) + " must be a whole number from " +
                                              std::to_string(min) + " to " + std::to_string(max) +
                                              ", got " + Quoted(v));
}

StatusOr<std::string> MerchantParam(const httplib::Params& params, const SandboxConfig& config) {
  std::string merchantno = Param(params, "merchantno");
  if (merchantno.empty() || config.FindMerchant(merchantno) != nullptr) return merchantno;
  std::string known;
  for (const Merchant& m : config.merchants) known += (known.empty() ? "" : ", ") + m.merchantno;
  return Status(ErrorCode::kInvalidField,
                "merchantno " + Quoted(merchantno) +
                    " is not a configured merchant (configured: " + known + ")");
}

StatusOr<std::string> OutTradeNoParam(const httplib::Params& params) {
  std::string no = Param(params, "out_trade_no");
  if (no.size() > 64) {
    return Status(ErrorCode::kInvalidField, "out_trade_no must be at most 64 bytes, got " +
                                                std::to_string(no.size()) + ": " + Quoted(no));
  }
  return no;
}

}  // namespace

StatusOr<bool> ParseLive(const httplib::Params& params) {
  const std::string v = Param(params, "live");
  if (v.empty() || v == "0") return false;
  if (v == "1") return true;
  return Status(ErrorCode::kInvalidField, "live must be 0 or 1, got " + Quoted(v));
}

StatusOr<OrdersQuery> ParseOrdersQuery(const httplib::Params& params, const SandboxConfig& config) {
  OrdersQuery q;
  StatusOr<std::string> merchantno = MerchantParam(params, config);
  if (!merchantno.ok()) return merchantno.status();
  q.merchantno = *merchantno;
  if (const std::string s = Param(params, "status"); !s.empty()) {
    q.status = ParseOrderStatus(s);
    if (!q.status) {
      return Status(ErrorCode::kInvalidField,
                    "status must be NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED or PAYERROR, got " +
                        Quoted(s));
    }
  }
  StatusOr<std::string> no = OutTradeNoParam(params);
  if (!no.ok()) return no.status();
  q.out_trade_no = *no;
  StatusOr<int64_t> page = IntParam(params, "page", 1, 1, kMaxPage);
  if (!page.ok()) return page.status();
  q.page = *page;
  StatusOr<int64_t> size = IntParam(params, "size", kDefaultPageSize, 1, kMaxPageSize);
  if (!size.ok()) return size.status();
  q.size = *size;
  StatusOr<bool> live = ParseLive(params);
  if (!live.ok()) return live.status();
  q.live = *live;
  return q;
}

StatusOr<NotificationsQuery> ParseNotificationsQuery(const httplib::Params& params,
                                                     const SandboxConfig& config) {
  NotificationsQuery q;
  if (const std::string s = Param(params, "state"); !s.empty()) {
    q.state = ParseNotifyState(s);
    if (!q.state) {
      return Status(ErrorCode::kInvalidField,
                    "state must be pending, acked, failed or blocked, got " + Quoted(s));
    }
  }
  StatusOr<std::string> merchantno = MerchantParam(params, config);
  if (!merchantno.ok()) return merchantno.status();
  q.merchantno = *merchantno;
  StatusOr<int64_t> limit = IntParam(params, "limit", 100, 1, 1000);
  if (!limit.ok()) return limit.status();
  q.limit = *limit;
  StatusOr<bool> live = ParseLive(params);
  if (!live.ok()) return live.status();
  q.live = *live;
  return q;
}

StatusOr<OrderKey> ParseOrderKey(const httplib::Params& params, const SandboxConfig& config) {
  OrderKey key;
  StatusOr<std::string> merchantno = MerchantParam(params, config);
  if (!merchantno.ok()) return merchantno.status();
  key.merchantno = *merchantno;
  if (key.merchantno.empty()) {
    if (config.merchants.size() != 1) {
      return Status(ErrorCode::kMissingField,
                    "merchantno is required when several merchants are configured");
    }
    key.merchantno = config.merchants[0].merchantno;
  }
  StatusOr<std::string> no = OutTradeNoParam(params);
  if (!no.ok()) return no.status();
  if (no->empty()) return Status(ErrorCode::kMissingField, "out_trade_no is required");
  key.out_trade_no = *no;
  return key;
}

StatusOr<RefundForm> ParseRefundForm(const httplib::Params& params, int64_t max_fen) {
  RefundForm form;
  const std::string fee = Param(params, "refund_fee");
  if (fee.empty()) {
    return Status(ErrorCode::kMissingField, "refund_fee is required (yuan, such as 0.01)");
  }
  StatusOr<int64_t> fen = ParseYuanText("refund_fee", fee, max_fen);
  if (!fen.ok()) return fen.status();
  form.fee_fen = *fen;
  const std::string no = Param(params, "out_refund_no");
  if (!no.empty()) {
    const bool ok = no.size() <= 64 && std::all_of(no.begin(), no.end(), [](unsigned char c) {
                      return std::isalnum(c) || c == '_' || c == '-' || c == '|' || c == '*';
                    });
    if (!ok) {
      return Status(ErrorCode::kInvalidField,
                    "out_refund_no must be 1-64 letters, digits or _-|*, got " + Quoted(no));
    }
    form.out_refund_no = no;
  }
  return form;
}

StatusOr<int64_t> ParseAdvanceSeconds(const httplib::Params& params) {
  if (!Has(params, "seconds") || Param(params, "seconds").empty()) {
    return Status(ErrorCode::kMissingField, "seconds is required (a number >= 0, such as 3600)");
  }
  const std::string v = Param(params, "seconds");
  // Plain decimal only: no sign, exponent, hex, inf or nan (strtod takes all).
  bool plain = !v.empty() && v.size() <= 20 && v.front() != '.' && v.back() != '.';
  int dots = 0;
  for (char c : v) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      plain = false;
    }
  }
  const double seconds = plain && dots <= 1 ? std::strtod(v.c_str(), nullptr) : -1;
  // At most ten years at a time, as POST /_sandbox/clock/advance.
  if (seconds < 0 || seconds > 10 * 366 * 86400.0) {
    return Status(
        ErrorCode::kInvalidField,
        "seconds must be a number >= 0 (fractions allowed, at most ten years), got " + Quoted(v));
  }
  return static_cast<int64_t>(std::llround(seconds * 1e6));
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace vkspay::sandbox::dashboard
