#include "sandbox/dashboard/dashboard_pages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vkspay::sandbox::dashboard {
namespace {

// What a hostile merchant (or its server) might put into any string field.
const std::vector<std::string> kHostile = {
    "<script>window.__pwned=1</script>", "\"><img src=x onerror=\"window.__pwned=1\">",
    "' onmouseover='window.__pwned=1",   "</textarea></title><svg onload=alert(1)>",
    "中文商品「测试」<b>粗体</b>",
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// None of the markup a hostile string carries appears unescaped.
void ExpectNoRawMarkup(const std::string& html) {
  EXPECT_FALSE(Contains(html, "<script")) << "raw <script> in the page";
  EXPECT_FALSE(Contains(html, "<img")) << "raw <img> in the page";
  EXPECT_FALSE(Contains(html, "<svg")) << "raw <svg> in the page";
  EXPECT_FALSE(Contains(html, "<b>")) << "raw <b> in the page";
  EXPECT_FALSE(Contains(html, "' onmouseover")) << "a quote was not escaped";
  EXPECT_FALSE(Contains(html, "</textarea>"));
}

Frame TestFrame() {
  Frame f;
  f.csrf = "0123456789abcdef0123456789abcdef";
  f.now = 1764296730;
  return f;
}

Order HostileOrder(const std::string& s) {
  Order o;
  o.merchantno = "10001";
  o.out_trade_no = s;
  o.trade_type = "webpay";
  o.total_fee = 1250;
  o.subject = s;
  o.body = s;
  o.attach = s;
  o.notify_url = "http://127.0.0.1:9/n?" + s;
  o.return_url = "javascript:" + s;
  o.cashier_token = s;  // not a token's shape: must not become a link
  o.status = OrderStatus::kSuccess;
  o.pay_chnl = "wxpay";
  o.transaction_id = s;
  o.created_at = 1764296730;
  o.paid_at = 1764296731;
  return o;
}

TEST(DashboardPages, OrdersPageEscapesEveryMerchantString) {
  for (const std::string& s : kHostile) {
    OrdersPageView view;
    view.orders.push_back(HostileOrder(s));
    view.query.out_trade_no = s;
    Merchant m;
    m.merchantno = "10001";
    m.name = s;
    view.merchants.push_back(m);
    view.error = s;
    Frame frame = TestFrame();
    frame.flash = s;
    frame.live_toggle_href = "/_sandbox/ui/?x=" + s;
    const std::string html = RenderOrdersPage(frame, view);
    SCOPED_TRACE(s);
    ExpectNoRawMarkup(html);
    EXPECT_TRUE(Contains(html, "¥12.50"));
  }
}

TEST(DashboardPages, CjkAndEscapedTextStayReadable) {
  OrdersPageView view;
  view.orders.push_back(HostileOrder("中文商品「测试」<b>粗体</b>"));
  const std::string html = RenderOrdersPage(TestFrame(), view);
  EXPECT_TRUE(Contains(html, "中文商品「测试」&lt;b&gt;粗体&lt;/b&gt;"));
  // The link to the order percent-encodes the number in the query string.
  EXPECT_TRUE(Contains(html, "out_trade_no=%E4%B8%AD%E6%96%87")) << html;
}

TEST(DashboardPages, OrderPageEscapesFieldsNotificationsAndAttempts) {
  for (const std::string& s : kHostile) {
    OrderPageView view;
    view.order = HostileOrder(s);
    view.merchant_name = s;
    Refund r;
    r.out_refund_no = s;
    r.refund_fee = 10;
    view.refunds.push_back(r);
    ScheduledAction a;
    a.note = s;
    a.out_refund_no = s;
    view.scheduled.push_back(a);
    NotificationWithAttempts nw;
    nw.notification.id = 7;
    nw.notification.notify_id = s;
    nw.notification.type = s;
    nw.notification.notify_url = s;
    nw.notification.delivered_to = "http://x/" + s;
    nw.notification.last_error = s;
    NotifyAttempt at;
    at.n = 1;
    at.url = s;
    at.http_status = 500;
    at.latency_us = 12'345;
    at.response_head = s + std::string("\x01\x7f", 2);
    at.error = s;
    nw.attempts.push_back(at);
    view.notifications.push_back(nw);
    Frame frame = TestFrame();
    frame.flash = s;
    frame.flash_error = true;
    const std::string html = RenderOrderPage(frame, view);
    SCOPED_TRACE(s);
    ExpectNoRawMarkup(html);
    EXPECT_FALSE(Contains(html, "href=\"javascript:")) << "return_url must never be a link";
    EXPECT_FALSE(Contains(html, "id=\"cashier-link\"")) << "a malformed token must not be linked";
    EXPECT_TRUE(Contains(html, "12.3 ms"));
    EXPECT_FALSE(Contains(html, std::string("\x01", 1))) << "control bytes are replaced";
    EXPECT_TRUE(Contains(html, "id=\"resend-7\""));
    EXPECT_TRUE(Contains(html, "id=\"refund-form\""));
  }
}

TEST(DashboardPages, OrderPageShowsPayButtonsOnlyWhenUnpaid) {
  OrderPageView view;
  view.order = HostileOrder("T1");
  view.order.status = OrderStatus::kNotPay;
  view.order.cashier_token = "0123456789abcdef0123456789abcdef";
  std::string html = RenderOrderPage(TestFrame(), view);
  for (const char* id : {"pay-wxpay", "pay-alipay", "pay-fail", "pay-cancel", "cashier-link"}) {
    EXPECT_TRUE(Contains(html, std::string("id=\"") + id + "\"")) << id;
  }
  EXPECT_FALSE(Contains(html, "id=\"refund-form\""));
  EXPECT_TRUE(Contains(html, "name=\"csrf\" value=\"0123456789abcdef0123456789abcdef\""));
  view.order.status = OrderStatus::kClosed;
  html = RenderOrderPage(TestFrame(), view);
  EXPECT_FALSE(Contains(html, "id=\"pay-wxpay\""));
  EXPECT_FALSE(Contains(html, "id=\"refund-form\""));
}

TEST(DashboardPages, NotificationsPageEscapesReasons) {
  for (const std::string& s : kHostile) {
    NotificationsPageView view;
    view.counts = {{NotifyState::kFailed, 3}};
    Notification n;
    n.id = 9;
    n.merchantno = "10001";
    n.out_trade_no = s;
    n.notify_id = s;
    n.type = "payment";
    n.state = NotifyState::kBlocked;
    n.last_error = s;
    view.notifications.push_back(n);
    const std::string html = RenderNotificationsPage(TestFrame(), view);
    SCOPED_TRACE(s);
    ExpectNoRawMarkup(html);
    EXPECT_TRUE(Contains(html, "id=\"count-failed\"><strong>3</strong>"));
    EXPECT_TRUE(Contains(html, "id=\"count-acked\"><strong>0</strong>"));
  }
}

TEST(DashboardPages, MerchantsPageNeverShowsKeys) {
  MerchantsPageView view;
  Merchant m;
  m.merchantno = "10001";
  m.key = "super-secret-key-value";
  m.name = "<script>x</script>";
  m.notify_url = "\"><img onerror=1>";
  view.merchants.push_back(m);
  view.settings.control_token = "super-secret-token";
  const std::string html = RenderMerchantsPage(TestFrame(), view);
  EXPECT_FALSE(Contains(html, "super-secret-key-value"));
  EXPECT_FALSE(Contains(html, "super-secret-token"));
  ExpectNoRawMarkup(html);
}

TEST(DashboardPages, FaultsPageEscapesRulesAndLog) {
  FaultsPageView view;
  view.enabled = true;
  view.profile = "<script>p</script>";
  InjectedFault f;
  f.seq = 1;
  f.method = "<script>m</script>";
  f.out_trade_no = "\"><img onerror=1>";
  f.source = "attach";
  f.rule_id = "<b>r</b>";
  view.log.push_back(f);
  const std::string html = RenderFaultsPage(TestFrame(), view);
  ExpectNoRawMarkup(html);
  EXPECT_TRUE(Contains(html, "class=\"fault-row\""));
}

TEST(DashboardPages, LoginAndErrorPagesEscape) {
  ExpectNoRawMarkup(RenderLoginPage(TestFrame(), "<script>e</script>"));
  ExpectNoRawMarkup(RenderErrorPage(TestFrame(), "<b>t</b>", "\"><img onerror=1>"));
  ExpectNoRawMarkup(RenderRedirectBody("/_sandbox/ui/order?x=\"><script>"));
}

TEST(DashboardPages, LiveAddsARefresh) {
  Frame frame = TestFrame();
  OrdersPageView view;
  EXPECT_FALSE(Contains(RenderOrdersPage(frame, view), "http-equiv=\"refresh\""));
  frame.live = true;
  frame.live_toggle_href = "/_sandbox/ui/?live=0";
  const std::string html = RenderOrdersPage(frame, view);
  EXPECT_TRUE(Contains(html, "<meta http-equiv=\"refresh\" content=\"3\">"));
  EXPECT_TRUE(Contains(html, "id=\"live-toggle\" href=\"/_sandbox/ui/?live=0\""));
}

TEST(DashboardPages, PagerLinksKeepFilters) {
  OrdersPageView view;
  view.query.merchantno = "10001";
  view.query.status = OrderStatus::kSuccess;
  view.query.out_trade_no = "a&b";
  view.query.page = 2;
  view.has_next = true;
  view.orders.push_back(HostileOrder("T1"));
  const std::string html = RenderOrdersPage(TestFrame(), view);
  EXPECT_TRUE(Contains(html,
                       "id=\"prev-page\" href=\"/_sandbox/ui/?merchantno=10001&amp;status="
                       "SUCCESS&amp;out_trade_no=a%26b&amp;page=1\""))
      << html;
  EXPECT_TRUE(Contains(html, "page=3\""));
}

// Regression: with <meta name="referrer" content="no-referrer"> Chromium sent
// "Origin: null" with every form POST, and the Origin check refused them all.
TEST(DashboardPages, ReferrerPolicyKeepsTheOriginHeader) {
  const std::string html = RenderClockPage(TestFrame(), ClockPageView{});
  EXPECT_TRUE(Contains(html, "<meta name=\"referrer\" content=\"same-origin\">"));
  EXPECT_FALSE(Contains(html, "no-referrer"));
}

TEST(DashboardPages, Yuan2) {
  EXPECT_EQ(Yuan2(1), "0.01");
  EXPECT_EQ(Yuan2(1250), "12.50");
  EXPECT_EQ(Yuan2(100), "1.00");
}

}  // namespace
}  // namespace vkspay::sandbox::dashboard
