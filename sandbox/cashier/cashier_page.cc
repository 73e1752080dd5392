#include "sandbox/cashier/cashier_page.h"

#include <cctype>

#include "sandbox/cashier/qr_svg.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {
namespace {

constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;background:#f2f3f5;color:#1f2329;line-height:1.5}
.banner{background:#fff4d6;color:#7a5300;border-bottom:1px solid #f0d58c;padding:10px 16px;text-align:center;font-size:14px}
main{max-width:440px;margin:24px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:16px;font-weight:normal;color:#646a73;margin:0 0 8px;text-align:center}
.amount{font-size:40px;font-weight:600;text-align:center;margin:4px 0}
.amount .cur{font-size:24px;margin-right:4px}
.subject{text-align:center;font-size:16px;margin:0 0 4px;word-break:break-all}
.desc{text-align:center;color:#646a73;font-size:14px;margin:0 0 12px;word-break:break-all}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;font-size:14px;margin:16px 0}
dt{color:#8f959e}
dd{margin:0;word-break:break-all}
.state{font-weight:600}
.state-notpay,.state-userpaying{color:#b26a00}
.state-success,.state-refund{color:#1a7f37}
.state-closed{color:#646a73}
.state-payerror{color:#c62828}
.flash{background:#fdecea;color:#8a1c1c;border:1px solid #f5c2c0;border-radius:8px;padding:10px 12px;margin-bottom:16px;font-size:14px;word-break:break-all}
.actions{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:16px 0}
.actions form{margin:0}
button{width:100%;padding:12px;font-size:16px;border-radius:8px;border:1px solid transparent;cursor:pointer}
.btn-wxpay{background:#07c160;color:#fff}
.btn-alipay{background:#1677ff;color:#fff}
.btn-fail{background:#fff;color:#c62828;border-color:#e6a8a8}
.btn-cancel{background:#fff;color:#646a73;border-color:#d0d3d6}
.result{border-radius:8px;padding:12px 16px;margin:16px 0}
.result h2{font-size:18px;margin:0 0 4px}
.result dl{margin:8px 0 0}
.paid{background:#e9f7ef;border:1px solid #b7e1c4}
.closed{background:#f2f3f5;border:1px solid #d0d3d6}
.failed{background:#fdecea;border:1px solid #f5c2c0}
.return a{color:#1677ff}
.qr{margin:16px auto 0;text-align:center}
.qr svg{width:180px;height:180px;display:block;margin:0 auto}
.qr figcaption{font-size:12px;color:#8f959e;word-break:break-all}
.hint{font-size:12px;color:#8f959e;text-align:center;margin:8px 0 0}
footer{text-align:center;font-size:12px;color:#8f959e;margin-bottom:24px}
)css";

constexpr std::string_view kBanner =
    "<div class=\"banner\" id=\"sandbox-banner\">沙箱环境：这是 VksPay 的离线模拟收银台，"
    "不会发生任何真实扣款 / Sandbox: no real money moves.</div>\n";

std::string PageHead() {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // The URL carries the cashier token; keep it out of Referer headers.
  out += "<meta name=\"referrer\" content=\"no-referrer\">\n";
  out += "<meta name=\"robots\" content=\"noindex\">\n";
  out += "<title>VksPay 沙箱收银台</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n";
  out += kBanner;
  return out;
}

constexpr std::string_view kPageTail =
    "<footer>vkspay-sandbox · 离线模拟 VksPay 个人支付接口</footer>\n</body>\n</html>\n";

bool IsUnpaid(OrderStatus s) { return s == OrderStatus::kNotPay || s == OrderStatus::kUserPaying; }

// "12.50" for 1250 fen: a price tag, not the API's JavaScript number ("12.5").
std::string Yuan2(int64_t fen) {
  const int64_t f = fen < 0 ? -fen : fen;
  std::string cents = std::to_string(f % 100);
  if (cents.size() < 2) cents.insert(0, "0");
  return (fen < 0 ? "-" : "") + std::to_string(f / 100) + "." + cents;
}

// The host of an http(s) URL is loopback: a phone scanning the QR code
// would open its own 127.0.0.1.
bool OnLoopback(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view host = url.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  const bool ipv4 = !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
  return host == "localhost" || host == "[::1]" || (ipv4 && host.rfind("127.", 0) == 0);
}

// The payment notification's delivery, one line for the paid page.
std::string NotifyLine(const Notification& n) {
  const std::string tries = std::to_string(n.total_attempts) + " 次尝试 / attempt(s)";
  switch (n.state) {
    case NotifyState::kAcked:
      return "已送达 acked (" + tries + ")";
    case NotifyState::kPending:
      if (n.total_attempts == 0) return "待发送 pending";
      return "重试中 pending (" + tries + (n.last_error.empty() ? "" : ": " + n.last_error) + ")";
    case NotifyState::kFailed:
      return "已放弃 failed (" + tries + (n.last_error.empty() ? "" : ": " + n.last_error) + ")";
    case NotifyState::kBlocked:
      return "未发送 blocked (" + n.last_error + ")";
  }
  return std::string(ToString(n.state));
}

// True if `url` starts with http:// or https:// (scheme case-insensitive), so
// that it is safe as an href: no javascript:, data: or relative URLs.
bool IsHttpUrl(std::string_view url) {
  auto has_prefix = [url](std::string_view prefix) {
    if (url.size() <= prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != prefix[i]) return false;
    }
    return true;
  };
  return has_prefix("http://") || has_prefix("https://");
}

std::string ChannelLabel(std::string_view channel) {
  if (channel == "wxpay") return "微信支付 (wxpay)";
  if (channel == "alipay") return "支付宝 (alipay)";
  return HtmlEscape(channel);
}

std::string StateClass(OrderStatus s) {
  std::string out = "state state-";
  for (char c : ToString(s))
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

void AppendRow(std::string& out, std::string_view label, std::string_view id,
               const std::string& escaped_value) {
  out += "<dt>";
  out += label;
  out += "</dt><dd";
  if (!id.empty()) {
    out += " id=\"";
    out += id;
    out += "\"";
  }
  out += ">";
  out += escaped_value;
  out += "</dd>\n";
}

void AppendActionForm(std::string& out, const std::string& escaped_action, std::string_view id,
                      std::string_view css_class, std::string_view channel,
                      std::string_view outcome, std::string_view label) {
  out += "<form method=\"post\" action=\"";
  out += escaped_action;
  out += "\"><input type=\"hidden\" name=\"channel\" value=\"";
  out += channel;
  out += "\"><input type=\"hidden\" name=\"outcome\" value=\"";
  out += outcome;
  out += "\"><button type=\"submit\" id=\"";
  out += id;
  out += "\" class=\"";
  out += css_class;
  out += "\">";
  out += label;
  out += "</button></form>\n";
}

void AppendReturnLink(std::string& out, std::string_view return_url) {
  if (return_url.empty()) return;
  out += "<p class=\"return\">";
  if (IsHttpUrl(return_url)) {
    out += "<a id=\"return-link\" rel=\"noopener noreferrer\" href=\"";
    out += HtmlEscape(return_url);
    out += "\">返回商户 / back to the merchant</a>";
  } else {
    // Anything else (javascript:, data:, relative) could run script or
    // mislead: show it as text so the integrator sees what they sent.
    out += "return_url 不是 http(s) 地址，未生成链接：<code id=\"return-url-text\">";
    out += HtmlEscape(return_url);
    out += "</code>";
  }
  out += "</p>\n";
}

}  // namespace

std::string_view StatusLabel(OrderStatus status) {
  switch (status) {
    case OrderStatus::kNotPay:
      return "待支付";
    case OrderStatus::kUserPaying:
      return "用户支付中";
    case OrderStatus::kSuccess:
      return "支付成功";
    case OrderStatus::kRefund:
      return "转入退款";
    case OrderStatus::kClosed:
      return "已关闭";
    case OrderStatus::kPayError:
      return "支付失败";
  }
  return "未知状态";
}

std::string RenderCashierPage(const CashierView& view) {
  const Order& order = view.order;
  const std::string action = HtmlEscape("/pay/" + order.cashier_token);

  std::string out = PageHead();
  out += "<main>\n";
  if (!view.flash.empty()) {
    out += "<div class=\"flash\" id=\"flash\" role=\"alert\">";
    out += HtmlEscape(view.flash);
    out += "</div>\n";
  }
  out += "<h1>向 <strong id=\"merchant\">";
  out += HtmlEscape(view.merchant_name);
  out += "</strong> 付款</h1>\n";
  out += "<p class=\"amount\" id=\"amount\"><span class=\"cur\">¥</span>";
  out += Yuan2(order.total_fee);
  out += "</p>\n<p class=\"subject\" id=\"subject\">";
  out += HtmlEscape(order.subject);
  out += "</p>\n";
  if (!order.body.empty()) {
    out += "<p class=\"desc\" id=\"body\">";
    out += HtmlEscape(order.body);
    out += "</p>\n";
  }

  out += "<dl>\n";
  AppendRow(out, "订单状态", "",
            "<span id=\"status\" class=\"" + StateClass(order.status) + "\">" +
                std::string(StatusLabel(order.status)) + " " + std::string(ToString(order.status)) +
                "</span>");
  AppendRow(out, "商户订单号", "out-trade-no", HtmlEscape(order.out_trade_no));
  AppendRow(out, "商户号", "merchantno", HtmlEscape(order.merchantno));
  if (!order.attach.empty()) AppendRow(out, "附加数据", "attach", HtmlEscape(order.attach));
  AppendRow(out, "创建时间", "created-at", FormatDisplayTime(order.created_at));
  if (IsUnpaid(order.status)) {
    AppendRow(out, "有效期至", "expires-at", FormatDisplayTime(order.expires_at) + " (北京时间)");
  }
  out += "</dl>\n";

  if (IsUnpaid(order.status)) {
    out += "<section class=\"actions\" id=\"actions\">\n";
    AppendActionForm(out, action, "pay-wxpay", "btn-wxpay", "wxpay", "success", "微信支付");
    AppendActionForm(out, action, "pay-alipay", "btn-alipay", "alipay", "success", "支付宝支付");
    AppendActionForm(out, action, "pay-fail", "btn-fail", "auto", "fail", "模拟支付失败");
    AppendActionForm(out, action, "pay-cancel", "btn-cancel", "auto", "cancel", "取消支付");
    out += "</section>\n";
    out += "<p class=\"hint\">点按钮即模拟买家在钱包里的操作。</p>\n";
  } else if (IsPaid(order.status)) {
    out += "<section class=\"result paid\" id=\"paid\">\n<h2>支付成功 / paid</h2>\n<dl>\n";
    AppendRow(out, "支付渠道", "paid-channel", ChannelLabel(order.pay_chnl));
    AppendRow(out, "交易号", "transaction-id", HtmlEscape(order.transaction_id));
    AppendRow(out, "支付时间", "paid-at", FormatDisplayTime(order.paid_at));
    if (order.status == OrderStatus::kRefund) {
      AppendRow(out, "已退款", "refunded-fee",
                "¥" + Yuan2(order.refunded_fee) + " (" + std::to_string(order.refund_count) +
                    " 笔)");
    }
    if (view.payment_notification) {
      AppendRow(out, "商户通知", "notify-state", HtmlEscape(NotifyLine(*view.payment_notification)));
    }
    out += "</dl>\n</section>\n";
    AppendReturnLink(out, order.return_url);
  } else if (order.status == OrderStatus::kClosed) {
    out += "<section class=\"result closed\" id=\"closed\">\n<h2>订单已关闭 / closed</h2>\n";
    out += "<p>订单已取消或已过期，不能再支付。关闭时间：";
    out += FormatDisplayTime(order.closed_at);
    out += "</p>\n</section>\n";
    AppendReturnLink(out, order.return_url);
  } else {
    out += "<section class=\"result failed\" id=\"failed\">\n<h2>支付失败 / payment failed</h2>\n";
    out += "<p>买家支付失败，订单不能再支付。时间：";
    out += FormatDisplayTime(order.closed_at);
    out += "</p>\n</section>\n";
    AppendReturnLink(out, order.return_url);
  }

  const std::string qr = IsUnpaid(order.status) ? QrSvg(view.pay_url) : std::string();
  if (!qr.empty()) {
    out += "<figure class=\"qr\" id=\"qr\">";
    out += qr;
    out += "<figcaption>扫码在手机上打开本页<br><span id=\"page-url\">";
    out += HtmlEscape(view.pay_url);
    out += "</span></figcaption></figure>\n";
    if (OnLoopback(view.pay_url)) {
      out += "<p class=\"hint\" id=\"loopback-note\">手机扫码打不开本机地址：启动沙箱时加 "
             "<code>--public-url http://&lt;本机局域网 IP&gt;:端口</code>。"
             " A phone cannot open a loopback address: start the sandbox with --public-url.</p>\n";
    }
  }
  out += "</main>\n";
  out += kPageTail;
  return out;
}

std::string RenderUnknownTokenPage() {
  std::string out = PageHead();
  out += "<main>\n<h1>订单不存在 / order not found</h1>\n";
  out += "<p id=\"not-found\">这个支付链接不对应任何订单：链接可能写错了，或者沙箱已被重置。</p>\n";
  out += "</main>\n";
  out += kPageTail;
  return out;
}

std::string RenderInternalErrorPage() {
  std::string out = PageHead();
  out += "<main>\n<h1>系统繁忙 / internal error</h1>\n";
  out += "<p id=\"internal-error\">沙箱内部出错，请稍后重试；详情见沙箱日志。</p>\n";
  out += "</main>\n";
  out += kPageTail;
  return out;
}

}  // namespace vkspay::sandbox
