#include "sandbox/dashboard/dashboard_pages.h"

#include <cctype>
#include <cstdio>

#include "nlohmann/json.hpp"
#include "sandbox/cashier/cashier_page.h"
#include "sandbox/core/payments.h"
#include "sandbox/faults/fault.h"
#include "sandbox/faults/rule.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox::dashboard {
namespace {

// The cashier page's palette and type, widened for tables.
constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;background:#f2f3f5;color:#1f2329;line-height:1.5;font-size:14px}
.banner{background:#fff4d6;color:#7a5300;border-bottom:1px solid #f0d58c;padding:6px 16px;text-align:center;font-size:13px}
header{background:#fff;border-bottom:1px solid #e4e6e9;padding:8px 16px;display:flex;flex-wrap:wrap;align-items:center;gap:6px 16px}
header .brand{font-weight:600;font-size:15px;color:#1f2329;text-decoration:none}
nav{display:flex;flex-wrap:wrap;gap:4px}
nav a{color:#1677ff;text-decoration:none;padding:4px 10px;border-radius:6px}
nav a.active{background:#e8f1ff;color:#0b52c2;font-weight:600}
header .clock{color:#646a73;font-size:12px;margin-left:auto}
header form{margin:0}
main{max-width:1200px;margin:16px auto;padding:0 12px}
.card{background:#fff;border-radius:12px;padding:16px;box-shadow:0 1px 4px rgba(0,0,0,.08);margin-bottom:16px}
h1{font-size:18px;margin:0 0 12px}
h2{font-size:15px;margin:0 0 8px}
h3{font-size:14px;margin:12px 0 6px}
.flash{border-radius:8px;padding:10px 12px;margin-bottom:16px;word-break:break-all}
.flash-ok{background:#e9f7ef;color:#14532d;border:1px solid #b7e1c4}
.flash-error{background:#fdecea;color:#8a1c1c;border:1px solid #f5c2c0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f2;vertical-align:top}
th{color:#8f959e;font-weight:normal;white-space:nowrap}
td.wrap{word-break:break-all;max-width:320px}
td.num{text-align:right;white-space:nowrap}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;margin:0;background:#f7f8fa;border-radius:6px;padding:4px 6px;max-height:120px;overflow:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dt{color:#8f959e}
dd{margin:0;word-break:break-all}
.state{font-weight:600;white-space:nowrap}
.state-notpay,.state-userpaying,.state-pending{color:#b26a00}
.state-success,.state-refund,.state-acked{color:#1a7f37}
.state-closed{color:#646a73}
.state-payerror,.state-failed,.state-blocked{color:#c62828}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0 0}
.actions form{margin:0}
form.inline{display:inline;margin:0}
button{padding:6px 14px;font-size:14px;border-radius:8px;border:1px solid #d0d3d6;background:#fff;color:#1f2329;cursor:pointer}
button.small{padding:2px 10px;font-size:12px}
.btn-wxpay{background:#07c160;color:#fff;border-color:#07c160}
.btn-alipay{background:#1677ff;color:#fff;border-color:#1677ff}
.btn-primary{background:#1677ff;color:#fff;border-color:#1677ff}
.btn-fail{color:#c62828;border-color:#e6a8a8}
.btn-cancel{color:#646a73}
input,select{padding:5px 8px;font-size:14px;border:1px solid #d0d3d6;border-radius:6px;max-width:100%}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
.filters label{display:flex;flex-direction:column;font-size:12px;color:#646a73}
.pager{display:flex;gap:12px;margin-top:10px}
.pager a{color:#1677ff}
a{color:#1677ff}
.muted{color:#8f959e}
.counts{display:flex;flex-wrap:wrap;gap:8px}
.counts a{display:block;padding:8px 14px;border-radius:8px;background:#f7f8fa;text-decoration:none;color:#1f2329;min-width:96px}
.counts a strong{display:block;font-size:20px}
.notification{border-top:1px solid #eef0f2;padding-top:10px;margin-top:10px}
.notification:first-of-type{border-top:none;margin-top:0;padding-top:0}
footer{text-align:center;font-size:12px;color:#8f959e;margin:8px 0 24px}
@media (max-width:600px){main{padding:0 6px}.card{padding:12px;border-radius:8px}th,td{padding:4px 6px}.hide-phone{display:none}header .clock{margin-left:0;width:100%}}
)css";

std::string E(std::string_view s) { return HtmlEscape(s); }

// Escaped, with control characters (other than tab and newline) shown as
// U+FFFD: a merchant's answer may hold any bytes.
std::string ShowBytes(std::string_view s) {
  std::string clean;
  clean.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      clean += "\xEF\xBF\xBD";
    } else {
      clean.push_back(c);
    }
  }
  return E(clean);
}

std::string Time(int64_t unix_seconds) {
  return unix_seconds > 0 ? FormatDisplayTime(unix_seconds) : "—";
}

// Floor division, so times before a whole second still format right.
int64_t SecondsOf(int64_t us) { return us >= 0 ? us / 1'000'000 : -((-us + 999'999) / 1'000'000); }

// "2026-11-28 10:25:30.123".
std::string TimeUs(int64_t us) {
  if (us <= 0) return "—";
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>((us % 1'000'000) / 1000));
  return FormatDisplayTime(SecondsOf(us)) + ms;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string OrderState(OrderStatus s, std::string_view id = "") {
  std::string out = "<span class=\"state state-" + Lower(ToString(s)) + "\"";
  if (!id.empty()) out += " id=\"" + std::string(id) + "\"";
  out += ">" + std::string(ToString(s)) + "</span> <span class=\"muted\">" +
         std::string(StatusLabel(s)) + "</span>";
  return out;
}

std::string NotifyStateHtml(NotifyState s) {
  return "<span class=\"state state-" + std::string(ToString(s)) + "\">" +
         std::string(ToString(s)) + "</span>";
}

// "+1h 2m 3.5s" for an offset in microseconds.
std::string Offset(int64_t us) {
  if (us == 0) return "0 s";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%.3f s", us > 0 ? "+" : "-",
                static_cast<double>(us < 0 ? -us : us) / 1e6);
  return buf;
}

std::string CsrfField(const Frame& frame) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + E(frame.csrf) + "\">";
}

std::string Hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + E(value) + "\">";
}

// A one-button POST form to <kBasePath><action>; `hidden` is already HTML.
std::string ButtonForm(const Frame& frame, std::string_view action, const std::string& hidden,
                       std::string_view id, std::string_view css, std::string_view label) {
  std::string out = "<form class=\"inline\" method=\"post\" action=\"";
  out += kBasePath;
  out += action;
  out += "\">" + CsrfField(frame) + hidden + "<button type=\"submit\" id=\"" + std::string(id) +
         "\" class=\"" + std::string(css) + "\">" + std::string(label) + "</button></form>";
  return out;
}

void NavLink(std::string& out, const Frame& frame, std::string_view key, std::string_view path,
             std::string_view label) {
  out += "<a href=\"";
  out += kBasePath;
  out += path;
  out += "\" id=\"nav-" + std::string(key) + "\"";
  if (frame.active == key) out += " class=\"active\" aria-current=\"page\"";
  out += ">" + std::string(label) + "</a>";
}

std::string Head(const Frame& frame, std::string_view title) {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out +=
      "<meta name=\"referrer\" content=\"same-origin\">\n<meta name=\"robots\" "
      "content=\"noindex\">\n";
  if (frame.live) {
    out +=
        "<meta http-equiv=\"refresh\" content=\"" + std::to_string(kLiveRefreshSeconds) + "\">\n";
  }
  out += "<title>";
  out += E(title);
  out += " · VksPay 沙箱控制台</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n";
  out +=
      "<div class=\"banner\" id=\"sandbox-banner\">沙箱控制台：离线模拟 "
      "VksPay，不会发生任何真实扣款 / "
      "Sandbox dashboard: no real money moves.</div>\n";
  out += "<header><a class=\"brand\" href=\"";
  out += kBasePath;
  out += "/\">VksPay 沙箱</a><nav>";
  NavLink(out, frame, "orders", "/", "订单 Orders");
  NavLink(out, frame, "notifications", "/notifications", "通知 Notifications");
  NavLink(out, frame, "clock", "/clock", "时钟 Clock");
  NavLink(out, frame, "faults", "/faults", "故障 Faults");
  NavLink(out, frame, "merchants", "/merchants", "商户 Merchants");
  out += "</nav>";
  if (frame.now > 0) {
    out += "<span class=\"clock\" id=\"header-clock\">沙箱时间 " + FormatDisplayTime(frame.now);
    if (frame.offset_us != 0) out += " (" + Offset(frame.offset_us) + ")";
    out += "</span>";
  }
  if (!frame.live_toggle_href.empty()) {
    out += "<a id=\"live-toggle\" href=\"" + E(frame.live_toggle_href) + "\">";
    out += frame.live ? "停止自动刷新 / stop live" : "自动刷新 / live";
    out += "</a>";
  }
  if (frame.logout) {
    out += ButtonForm(frame, "/logout", "", "logout", "small", "退出 / log out");
  }
  out += "</header>\n<main>\n";
  if (!frame.flash.empty()) {
    out += "<div class=\"flash ";
    out += frame.flash_error ? "flash-error" : "flash-ok";
    out += "\" id=\"flash\" role=\"";
    out += frame.flash_error ? "alert" : "status";
    out += "\">" + E(frame.flash) + "</div>\n";
  }
  return out;
}

constexpr std::string_view kTail =
    "</main>\n<footer>vkspay-sandbox · 控制台 /_sandbox/ui/ · JSON: "
    "/_sandbox/</footer>\n</body>\n</html>\n";

void MerchantOptions(std::string& out, const std::vector<Merchant>& merchants,
                     const std::string& selected) {
  out += "<option value=\"\">全部 all</option>";
  for (const Merchant& m : merchants) {
    out += "<option value=\"" + E(m.merchantno) + "\"";
    if (m.merchantno == selected) out += " selected";
    out += ">" + E(m.merchantno);
    if (!m.name.empty()) out += " " + E(m.name);
    out += "</option>";
  }
}

void ErrorBox(std::string& out, const std::string& error) {
  if (error.empty()) return;
  out += "<div class=\"flash flash-error\" id=\"error-message\" role=\"alert\">" + E(error) +
         "</div>\n";
}

void Row(std::string& out, std::string_view label, std::string_view field,
         const std::string& html) {
  out += "<dt>" + std::string(label) + "</dt><dd id=\"f-" + std::string(field) + "\">" + html +
         "</dd>\n";
}

}  // namespace

std::string Yuan2(int64_t fen) {
  const int64_t f = fen < 0 ? -fen : fen;
  std::string cents = std::to_string(f % 100);
  if (cents.size() < 2) cents.insert(0, "0");
  return (fen < 0 ? "-" : "") + std::to_string(f / 100) + "." + cents;
}

std::string OrderHref(const std::string& merchantno, const std::string& out_trade_no) {
  return std::string(kBasePath) + "/order?merchantno=" + UrlEncode(merchantno) +
         "&out_trade_no=" + UrlEncode(out_trade_no);
}

std::string OrdersHref(const OrdersQuery& q, int64_t page) {
  std::string out = std::string(kBasePath) + "/?";
  if (!q.merchantno.empty()) out += "merchantno=" + UrlEncode(q.merchantno) + "&";
  if (q.status) out += "status=" + std::string(ToString(*q.status)) + "&";
  if (!q.out_trade_no.empty()) out += "out_trade_no=" + UrlEncode(q.out_trade_no) + "&";
  if (q.size != kDefaultPageSize) out += "size=" + std::to_string(q.size) + "&";
  if (q.live) out += "live=1&";
  out += "page=" + std::to_string(page);
  return out;
}

std::string RenderOrdersPage(const Frame& frame, const OrdersPageView& view) {
  const OrdersQuery& q = view.query;
  std::string out = Head(frame, "订单 Orders");
  ErrorBox(out, view.error);
  out += "<section class=\"card\"><h1>订单 Orders</h1>\n";
  out += "<form class=\"filters\" id=\"filter-form\" method=\"get\" action=\"";
  out += kBasePath;
  out += "/\"><label>商户 merchant<select name=\"merchantno\" id=\"filter-merchant\">";
  MerchantOptions(out, view.merchants, q.merchantno);
  out +=
      "</select></label><label>状态 status<select name=\"status\" id=\"filter-status\">"
      "<option value=\"\">全部 all</option>";
  for (OrderStatus s : {OrderStatus::kNotPay, OrderStatus::kUserPaying, OrderStatus::kSuccess,
                        OrderStatus::kRefund, OrderStatus::kClosed, OrderStatus::kPayError}) {
    out += "<option value=\"" + std::string(ToString(s)) + "\"";
    if (q.status == s) out += " selected";
    out += ">" + std::string(ToString(s)) + " " + std::string(StatusLabel(s)) + "</option>";
  }
  out +=
      "</select></label><label>商户订单号 out_trade_no<input name=\"out_trade_no\" "
      "id=\"filter-no\" maxlength=\"64\" value=\"" +
      E(q.out_trade_no) + "\"></label>";
  if (q.live) out += Hidden("live", "1");
  out += "<button type=\"submit\" id=\"filter-submit\">筛选 filter</button></form>\n</section>\n";

  out += "<section class=\"card\">";
  if (view.orders.empty()) {
    out += "<p id=\"no-orders\" class=\"muted\">没有订单 / no orders";
    if (q.page > 1) out += " on this page";
    out += ".</p>";
  } else {
    out +=
        "<div class=\"scroll\"><table id=\"orders-table\"><thead><tr><th>创建 created</th>"
        "<th>商户 merchant</th><th>商户订单号 out_trade_no</th><th>商品 subject</th>"
        "<th>金额 amount</th><th>状态 status</th><th class=\"hide-phone\">渠道 channel</th>"
        "<th class=\"hide-phone\">已退款 refunded</th></tr></thead><tbody>\n";
    for (const Order& o : view.orders) {
      out += "<tr class=\"order-row\"><td>" + Time(o.created_at) + "</td><td>" + E(o.merchantno) +
             "</td><td class=\"wrap\"><a class=\"order-link\" href=\"" +
             E(OrderHref(o.merchantno, o.out_trade_no)) + "\">" + E(o.out_trade_no) +
             "</a></td><td class=\"wrap\">" + E(o.subject) + "</td><td class=\"num\">¥" +
             Yuan2(o.total_fee) + "</td><td>" + OrderState(o.status) +
             "</td><td class=\"hide-phone\">" + E(o.pay_chnl) +
             "</td><td class=\"num hide-phone\">" +
             (o.refunded_fee > 0 ? "¥" + Yuan2(o.refunded_fee) : "") + "</td></tr>\n";
    }
    out += "</tbody></table></div>\n";
  }
  out += "<div class=\"pager\"><span class=\"muted\" id=\"page-number\">第 " +
         std::to_string(q.page) + " 页 / page " + std::to_string(q.page) + "</span>";
  if (q.page > 1) {
    out += "<a id=\"prev-page\" href=\"" + E(OrdersHref(q, q.page - 1)) + "\">← 上一页 newer</a>";
  }
  if (view.has_next) {
    out += "<a id=\"next-page\" href=\"" + E(OrdersHref(q, q.page + 1)) + "\">下一页 older →</a>";
  }
  out += "</div></section>\n";
  out += kTail;
  return out;
}

std::string RenderOrderPage(const Frame& frame, const OrderPageView& view) {
  const Order& o = view.order;
  std::string out = Head(frame, "订单 " + o.out_trade_no);
  const std::string key =
      Hidden("merchantno", o.merchantno) + Hidden("out_trade_no", o.out_trade_no);

  out += "<section class=\"card\"><h1>订单 <span id=\"order-no\">" + E(o.out_trade_no) +
         "</span></h1>\n<dl id=\"order-fields\">\n";
  Row(out, "状态 status", "status", OrderState(o.status, "order-status"));
  Row(out, "商户 merchant", "merchantno",
      E(o.merchantno) + (view.merchant_name.empty() || view.merchant_name == o.merchantno
                             ? std::string()
                             : " " + E(view.merchant_name)));
  Row(out, "金额 total_fee", "total_fee", "¥" + Yuan2(o.total_fee));
  Row(out, "类型 trade_type", "trade_type", E(o.trade_type));
  Row(out, "渠道 pay_chnl", "pay_chnl", E(o.pay_chnl));
  Row(out, "商品 subject", "subject", E(o.subject));
  if (!o.body.empty()) Row(out, "描述 body", "body", E(o.body));
  Row(out, "附加 attach", "attach", o.attach.empty() ? "—" : "<code>" + E(o.attach) + "</code>");
  Row(out, "通知地址 notify_url", "notify_url",
      o.notify_url.empty() ? "—" : "<code>" + E(o.notify_url) + "</code>");
  Row(out, "返回地址 return_url", "return_url",
      o.return_url.empty() ? "—" : "<code>" + E(o.return_url) + "</code>");
  if (!o.transaction_id.empty())
    Row(out, "交易号 transaction_id", "transaction_id", E(o.transaction_id));
  Row(out, "创建 created_at", "created_at", Time(o.created_at));
  if (o.status == OrderStatus::kNotPay || o.status == OrderStatus::kUserPaying) {
    Row(out, "有效期至 expires_at", "expires_at", Time(o.expires_at));
  }
  if (o.paid_at > 0) Row(out, "支付 paid_at", "paid_at", Time(o.paid_at));
  if (o.closed_at > 0) Row(out, "关闭 closed_at", "closed_at", Time(o.closed_at));
  if (IsPaid(o.status)) {
    Row(out, "已退款 refunded", "refunded",
        "¥" + Yuan2(o.refunded_fee) + " (" + std::to_string(o.refund_count) + " 笔)");
  }
  if (IsCashierTokenShape(o.cashier_token)) {
    // A path on this sandbox: the buyer's page of this order.
    Row(out, "收银台 cashier", "cashier",
        "<a id=\"cashier-link\" href=\"/pay/" + E(o.cashier_token) + "\">/pay/…</a>");
  }
  out += "</dl>\n";

  if (o.status == OrderStatus::kNotPay || o.status == OrderStatus::kUserPaying) {
    out += "<div class=\"actions\" id=\"pay-actions\">";
    auto pay = [&](std::string_view id, std::string_view css, std::string_view channel,
                   std::string_view outcome, std::string_view label) {
      out +=
          ButtonForm(frame, "/pay", key + Hidden("channel", channel) + Hidden("outcome", outcome),
                     id, css, label);
    };
    pay("pay-wxpay", "btn-wxpay", "wxpay", "success", "微信支付 pay (wxpay)");
    pay("pay-alipay", "btn-alipay", "alipay", "success", "支付宝 pay (alipay)");
    pay("pay-fail", "btn-fail", "auto", "fail", "支付失败 fail");
    pay("pay-cancel", "btn-cancel", "auto", "cancel", "取消 cancel");
    out += "</div>\n";
  }
  if (IsPaid(o.status)) {
    const int64_t left = o.total_fee - o.refunded_fee;
    out += "<form class=\"filters\" id=\"refund-form\" method=\"post\" action=\"";
    out += kBasePath;
    out += "/refund\" style=\"margin-top:12px\">" + CsrfField(frame) + key +
           "<label>退款金额 refund_fee (元)<input name=\"refund_fee\" id=\"refund-fee\" "
           "inputmode=\"decimal\" value=\"" +
           (left > 0 ? Yuan2(left) : std::string()) +
           "\"></label><label>退款单号 out_refund_no (可选)<input name=\"out_refund_no\" "
           "id=\"out-refund-no\" maxlength=\"64\"></label><button type=\"submit\" "
           "id=\"refund-submit\" class=\"btn-primary\">退款 refund</button></form>\n";
  }
  out += "</section>\n";

  out += "<section class=\"card\"><h2>退款 Refunds</h2>";
  if (view.refunds.empty()) {
    out += "<p class=\"muted\" id=\"no-refunds\">没有退款 / none.</p>";
  } else {
    out +=
        "<div class=\"scroll\"><table id=\"refunds-table\"><thead><tr><th>退款单号 "
        "out_refund_no</th><th>金额 amount</th><th>状态 status</th><th>创建 created</th>"
        "<th>成功 succeeded</th></tr></thead><tbody>\n";
    for (const Refund& r : view.refunds) {
      out += "<tr class=\"refund-row\"><td class=\"wrap\">" + E(r.out_refund_no) +
             "</td><td class=\"num\">¥" + Yuan2(r.refund_fee) + "</td><td>" +
             std::string(ToString(r.status)) + "</td><td>" + Time(r.created_at) + "</td><td>" +
             Time(r.success_at) + "</td></tr>\n";
    }
    out += "</tbody></table></div>";
  }
  out += "</section>\n";

  if (!view.scheduled.empty()) {
    out +=
        "<section class=\"card\"><h2>待发生 Scheduled (fault injection)</h2><div "
        "class=\"scroll\"><table id=\"scheduled-table\"><thead><tr><th>kind</th><th>due</th>"
        "<th>outcome</th><th>out_refund_no</th><th>note</th></tr></thead><tbody>\n";
    for (const ScheduledAction& a : view.scheduled) {
      out += "<tr><td>" + std::string(ToString(a.kind)) + "</td><td>" + TimeUs(a.due_us) +
             "</td><td>" + std::string(ToString(a.outcome)) + "</td><td>" + E(a.out_refund_no) +
             "</td><td class=\"wrap\">" + E(a.note) + "</td></tr>\n";
    }
    out += "</tbody></table></div></section>\n";
  }

  out += "<section class=\"card\" id=\"notifications\"><h2>通知 Notifications</h2>";
  if (view.notifications.empty()) {
    out +=
        "<p class=\"muted\" id=\"no-notifications\">没有通知 / none (a notification is "
        "written when the order is paid or refunded).</p>";
  }
  for (const NotificationWithAttempts& nw : view.notifications) {
    const Notification& n = nw.notification;
    const std::string id = std::to_string(n.id);
    out += "<section class=\"notification\" id=\"n-" + id + "\"><h3>#" + id + " " + E(n.type);
    if (!n.out_refund_no.empty()) out += " " + E(n.out_refund_no);
    out += " " + NotifyStateHtml(n.state) + " <code class=\"muted\">" + E(n.notify_id) +
           "</code></h3>\n<dl>";
    Row(out, "通知地址 notify_url", "n" + id + "-url",
        n.notify_url.empty() ? "—" : "<code>" + E(n.notify_url) + "</code>");
    if (!n.delivered_to.empty() && n.delivered_to != n.notify_url) {
      Row(out, "实际发往 delivered_to", "n" + id + "-delivered",
          "<code>" + E(n.delivered_to) + "</code>");
    }
    Row(out, "尝试 attempts", "n" + id + "-attempts",
        std::to_string(n.attempts) + " (total " + std::to_string(n.total_attempts) + ")");
    if (n.state == NotifyState::kPending) {
      Row(out, "下次 next attempt", "n" + id + "-next", TimeUs(n.next_attempt_us));
    }
    if (!n.last_error.empty()) Row(out, "原因 last_error", "n" + id + "-error", E(n.last_error));
    out += "</dl><div class=\"actions\">" +
           ButtonForm(frame, "/resend", Hidden("key", n.notify_id) + Hidden("from", "order"),
                      "resend-" + id, "small", "重发 resend") +
           "</div>\n";
    if (nw.attempts.empty()) {
      out += "<p class=\"muted\" id=\"attempts-" + id + "\">还没有尝试 / no attempts yet.</p>";
    } else {
      out += "<div class=\"scroll\"><table id=\"attempts-" + id +
             "\"><thead><tr><th>#</th><th>时间 time</th><th>URL</th><th>HTTP</th><th>耗时 "
             "latency</th><th>应答 answer (first bytes)</th><th>错误 error</th><th>ack</th></tr>"
             "</thead><tbody>\n";
      for (const NotifyAttempt& a : nw.attempts) {
        char latency[32];
        std::snprintf(latency, sizeof latency, "%.1f ms",
                      static_cast<double>(a.latency_us) / 1000.0);
        out += "<tr class=\"attempt-row\"><td>" + std::to_string(a.n) + "</td><td>" +
               TimeUs(a.at_us) + "</td><td class=\"wrap\"><code>" + E(a.url) +
               "</code></td><td class=\"attempt-status\">" +
               (a.http_status > 0 ? std::to_string(a.http_status) : "—") +
               "</td><td class=\"num\">" + latency + "</td><td class=\"wrap\"><pre>" +
               ShowBytes(a.response_head) + "</pre></td><td class=\"wrap\">" + E(a.error) +
               "</td><td>" + (a.acked ? "✓" : "") + "</td></tr>\n";
      }
      out += "</tbody></table></div>\n";
    }
    out += "</section>\n";
  }
  out += "</section>\n";
  out += kTail;
  return out;
}

std::string RenderNotificationsPage(const Frame& frame, const NotificationsPageView& view) {
  const NotificationsQuery& q = view.query;
  std::string out = Head(frame, "通知 Notifications");
  ErrorBox(out, view.error);
  out += "<section class=\"card\"><h1>通知 Notifications</h1><div class=\"counts\" id=\"counts\">";
  for (NotifyState s :
       {NotifyState::kPending, NotifyState::kAcked, NotifyState::kFailed, NotifyState::kBlocked}) {
    auto it = view.counts.find(s);
    const std::string name(ToString(s));
    out += "<a href=\"";
    out += kBasePath;
    out += "/notifications?state=" + name + "\" id=\"count-" + name + "\"><strong>" +
           std::to_string(it == view.counts.end() ? 0 : it->second) + "</strong>" +
           NotifyStateHtml(s) + "</a>";
  }
  out += "</div><div class=\"actions\">";
  out += ButtonForm(frame, "/resend-all", Hidden("state", "failed"), "resend-all-failed", "",
                    "重发全部失败的 resend all failed");
  out += ButtonForm(frame, "/resend-all", Hidden("state", "blocked"), "resend-all-blocked", "",
                    "重发全部被拦截的 resend all blocked");
  out += "</div>\n<form class=\"filters\" id=\"filter-form\" method=\"get\" action=\"";
  out += kBasePath;
  out +=
      "/notifications\" style=\"margin-top:12px\"><label>状态 state<select name=\"state\" "
      "id=\"filter-state\"><option value=\"\">全部 all</option>";
  for (NotifyState s :
       {NotifyState::kPending, NotifyState::kAcked, NotifyState::kFailed, NotifyState::kBlocked}) {
    out += "<option value=\"" + std::string(ToString(s)) + "\"";
    if (q.state == s) out += " selected";
    out += ">" + std::string(ToString(s)) + "</option>";
  }
  out += "</select></label><label>商户 merchant<select name=\"merchantno\">";
  MerchantOptions(out, view.merchants, q.merchantno);
  out += "</select></label>";
  if (q.live) out += Hidden("live", "1");
  out += "<button type=\"submit\">筛选 filter</button></form></section>\n";

  out += "<section class=\"card\">";
  if (view.notifications.empty()) {
    out += "<p class=\"muted\" id=\"no-notifications\">没有通知 / none.</p>";
  } else {
    out +=
        "<div class=\"scroll\"><table id=\"notifications-table\"><thead><tr><th>#</th>"
        "<th>创建 created</th><th>订单 order</th><th>类型 type</th><th>状态 state</th>"
        "<th>尝试 attempts</th><th>原因 / 下次 reason / next</th><th></th></tr></thead><tbody>\n";
    for (const Notification& n : view.notifications) {
      const std::string id = std::to_string(n.id);
      std::string reason = E(n.last_error);
      if (n.state == NotifyState::kPending) {
        reason = "下次 next " + TimeUs(n.next_attempt_us) + (reason.empty() ? "" : "<br>" + reason);
      }
      out +=
          "<tr class=\"notification-row\" id=\"row-" + id + "\"><td>" + id + "</td><td>" +
          Time(n.created_at) + "</td><td class=\"wrap\">" + E(n.merchantno) + " <a href=\"" +
          E(OrderHref(n.merchantno, n.out_trade_no)) + "\">" + E(n.out_trade_no) + "</a></td><td>" +
          E(n.type) + (n.out_refund_no.empty() ? "" : " " + E(n.out_refund_no)) + "</td><td>" +
          NotifyStateHtml(n.state) + "</td><td class=\"num\">" + std::to_string(n.attempts) +
          " / " + std::to_string(n.total_attempts) + "</td><td class=\"wrap reason\">" + reason +
          "</td><td>" +
          ButtonForm(frame, "/resend", Hidden("key", n.notify_id) + Hidden("from", "notifications"),
                     "resend-" + id, "small", "重发 resend") +
          "</td></tr>\n";
    }
    out += "</tbody></table></div>";
  }
  out += "</section>\n";
  out += kTail;
  return out;
}

std::string RenderClockPage(const Frame& frame, const ClockPageView& view) {
  std::string out = Head(frame, "时钟 Clock");
  out += "<section class=\"card\"><h1>沙箱时钟 Clock</h1><dl>";
  Row(out, "现在 now", "now",
      "<span id=\"clock-now\">" + TimeUs(view.now_us) + "</span> (北京时间)");
  Row(out, "偏移 offset", "offset",
      "<span id=\"clock-offset\">" + Offset(view.offset_us) + "</span>");
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", view.time_scale);
  Row(out, "时间倍率 time_scale", "time_scale", scale);
  Row(out, "通知节奏 notify_profile", "notify_profile", E(view.notify_profile));
  out += "</dl>\n";
  if (view.movable) {
    out += "<form class=\"filters\" id=\"advance-form\" method=\"post\" action=\"";
    out += kBasePath;
    out += "/clock/advance\" style=\"margin-top:12px\">" + CsrfField(frame) +
           "<label>快进秒数 advance by seconds<input name=\"seconds\" id=\"advance-seconds\" "
           "inputmode=\"decimal\" value=\"3600\"></label><button type=\"submit\" "
           "id=\"advance-submit\" class=\"btn-primary\">快进 advance</button></form>\n";
    out += "<div class=\"actions\">" +
           ButtonForm(frame, "/clock/reset", "", "reset-submit", "", "复位 reset to system time") +
           "</div>\n<p class=\"muted\">快进会让到期的订单关闭、重试中的通知提前发送；复位后已排定的"
           "事件保持原定时刻。Advancing closes expired orders and brings retries forward; reset "
           "keeps scheduled due times.</p>";
  } else {
    out +=
        "<p class=\"muted\" id=\"clock-fixed\">这个沙箱的时钟不能调整 / this sandbox's clock "
        "cannot be moved.</p>";
  }
  out += "</section>\n";
  out += kTail;
  return out;
}

std::string RenderFaultsPage(const Frame& frame, const FaultsPageView& view) {
  std::string out = Head(frame, "故障 Faults");
  out += "<section class=\"card\"><h1>故障注入 Faults</h1>";
  if (!view.enabled) {
    out +=
        "<p class=\"muted\" id=\"faults-off\">这个沙箱没有故障注入 / fault injection is off.</p>"
        "</section>\n";
    out += kTail;
    return out;
  }
  out += "<dl>";
  Row(out, "场景 profile", "profile", "<span id=\"fault-profile\">" + E(view.profile) + "</span>");
  Row(out, "魔法金额 magic amounts", "magic", view.magic_amounts ? "on" : "off");
  out +=
      "</dl><p class=\"muted\">规则通过 JSON 控制接口管理 / rules are managed through "
      "POST /_sandbox/faults/rules (docs/faults.md).</p></section>\n";

  out += "<section class=\"card\"><h2>规则 Rules</h2>";
  if (view.rules.empty()) {
    out += "<p class=\"muted\" id=\"no-rules\">没有规则 / none.</p>";
  } else {
    out +=
        "<div class=\"scroll\"><table id=\"rules-table\"><thead><tr><th>id</th><th>source</th>"
        "<th>fired</th><th>rule</th></tr></thead><tbody>\n";
    for (const RuleState& r : view.rules) {
      const std::string json =
          RuleJson(r.rule).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += "<tr class=\"rule-row\"><td>" + E(r.rule.id) + "</td><td>" + E(r.source) +
             "</td><td class=\"num\">" + std::to_string(r.fired) +
             "</td><td class=\"wrap\"><code>" + E(json) + "</code></td></tr>\n";
    }
    out += "</tbody></table></div>";
  }
  out += "</section>\n<section class=\"card\"><h2>最近注入 Recent injections</h2>";
  if (view.log.empty()) {
    out += "<p class=\"muted\" id=\"no-injections\">还没有注入 / none yet.</p>";
  } else {
    out +=
        "<div class=\"scroll\"><table id=\"log-table\"><thead><tr><th>#</th><th>时间 time</th>"
        "<th>hook</th><th>fault</th><th>why</th><th>call</th></tr></thead><tbody>\n";
    for (const InjectedFault& f : view.log) {
      std::string call = E(f.method) + " " + E(f.merchantno);
      if (!f.out_trade_no.empty()) {
        call += " <a href=\"" + E(OrderHref(f.merchantno, f.out_trade_no)) + "\">" +
                E(f.out_trade_no) + "</a>";
      }
      out += "<tr class=\"fault-row\"><td>" + std::to_string(f.seq) + "</td><td>" +
             TimeUs(f.time_us) + "</td><td>" + std::string(HookName(f.hook)) +
             "</td><td class=\"wrap\"><code>" +
             E(FaultJson(f.fault).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
             "</code></td><td>" + E(f.source) + " " + E(f.rule_id) + "</td><td class=\"wrap\">" +
             call + "</td></tr>\n";
    }
    out += "</tbody></table></div>";
  }
  out += "</section>\n";
  if (!view.suspended.empty()) {
    out +=
        "<section class=\"card\"><h2>暂停的商户 Suspended merchants</h2><table "
        "id=\"suspended-table\"><thead><tr><th>merchantno</th><th>consecutive failures</th>"
        "</tr></thead><tbody>";
    for (const auto& [no, failures] : view.suspended) {
      out +=
          "<tr><td>" + E(no) + "</td><td class=\"num\">" + std::to_string(failures) + "</td></tr>";
    }
    out += "</tbody></table></section>\n";
  }
  out += kTail;
  return out;
}

std::string RenderMerchantsPage(const Frame& frame, const MerchantsPageView& view) {
  std::string out = Head(frame, "商户 Merchants");
  out +=
      "<section class=\"card\"><h1>商户 Merchants</h1><p class=\"muted\">密钥从不显示 / keys "
      "are never shown.</p><div class=\"scroll\"><table id=\"merchants-table\"><thead><tr>"
      "<th>商户号 merchantno</th><th>名称 name</th><th>默认通知地址 notify_url</th>"
      "<th>应答 ack_mode</th><th>转发 forward_to</th></tr></thead><tbody>\n";
  for (const Merchant& m : view.merchants) {
    const std::string forward = !m.forward_to.empty() ? m.forward_to : view.settings.forward_to;
    out += "<tr class=\"merchant-row\"><td><a href=\"";
    out += kBasePath;
    out += "/?merchantno=" + E(UrlEncode(m.merchantno)) + "\">" + E(m.merchantno) +
           "</a></td><td>" + E(m.name) + "</td><td class=\"wrap\"><code>" + E(m.notify_url) +
           "</code></td><td>" + std::string(ToString(m.ack_mode)) +
           "</td><td class=\"wrap\"><code>" + E(forward) + "</code></td></tr>\n";
  }
  out += "</tbody></table></div></section>\n";
  const Settings& s = view.settings;
  out += "<section class=\"card\"><h2>通知设置 Notify settings</h2><dl id=\"notify-settings\">";
  Row(out, "节奏 notify_profile", "notify_profile", E(s.notify_profile));
  Row(out, "严格检查 strict_notify_url", "strict_notify_url", s.strict_notify_url ? "on" : "off");
  std::string allow;
  for (const std::string& a : s.notify_allow) allow += (allow.empty() ? "" : ", ") + E(a);
  Row(out, "允许 notify_allow", "notify_allow", allow.empty() ? "—" : allow);
  Row(out, "全局转发 forward_to", "forward_to",
      s.forward_to.empty() ? "—" : "<code>" + E(s.forward_to) + "</code>");
  out += "</dl></section>\n";
  out += kTail;
  return out;
}

std::string RenderLoginPage(const Frame& frame, const std::string& error) {
  std::string out = Head(frame, "登录 Log in");
  out +=
      "<section class=\"card\" style=\"max-width:440px;margin:24px auto\"><h1>输入控制令牌 / "
      "control token</h1>";
  if (!error.empty()) {
    out +=
        "<div class=\"flash flash-error\" id=\"login-error\" role=\"alert\">" + E(error) + "</div>";
  }
  out +=
      "<p class=\"muted\">这个沙箱设了 "
      "--control-token（不在本机回环地址上监听时必须设，启动时打印）。"
      "令牌只存在这个浏览器的 HttpOnly cookie 里。This sandbox needs its control token "
      "(--control-token, printed at start when generated); it is kept in an HttpOnly cookie.</p>"
      "<form id=\"login-form\" method=\"post\" action=\"";
  out += kBasePath;
  out +=
      "/login\">" + CsrfField(frame) +
      "<p><input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"current-password\" "
      "required style=\"width:100%\"></p><button type=\"submit\" id=\"login-submit\" "
      "class=\"btn-primary\">进入 / enter</button></form></section>\n";
  out += kTail;
  return out;
}

std::string RenderErrorPage(const Frame& frame, const std::string& title,
                            const std::string& message) {
  std::string out = Head(frame, title);
  out += "<section class=\"card\"><h1>" + E(title) + "</h1><p id=\"error-message\">" + E(message) +
         "</p><p><a href=\"";
  out += kBasePath;
  out += "/\">← 订单 orders</a></p></section>\n";
  out += kTail;
  return out;
}

std::string RenderRedirectBody(const std::string& location) {
  return "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>VksPay "
         "沙箱控制台</title><a href=\"" +
         E(location) + "\">继续 / continue</a></html>\n";
}

}  // namespace vkspay::sandbox::dashboard
