#include "sandbox/cashier/cashier_page.h"

#include <gtest/gtest.h>

#include <string>

namespace vkspay::sandbox {
namespace {

constexpr char kToken[] = "0123456789abcdef01234567";

CashierView UnpaidView() {
  CashierView view;
  view.order.merchantno = "10001";
  view.order.out_trade_no = "P10001-20231115063320123456";
  view.order.trade_type = "webpay";
  view.order.total_fee = 1;
  view.order.subject = "测试商品";
  view.order.cashier_token = kToken;
  view.order.status = OrderStatus::kNotPay;
  view.order.created_at = 1'700'000'000;
  view.order.expires_at = 1'700'007'200;
  view.merchant_name = "沙箱演示商户";
  view.pay_url = std::string("http://127.0.0.1:8080/pay/") + kToken;
  return view;
}

CashierView PaidView() {
  CashierView view = UnpaidView();
  view.order.status = OrderStatus::kSuccess;
  view.order.pay_chnl = "wxpay";
  view.order.transaction_id = "4200123456202311150123456789";
  view.order.paid_at = 1'700'000'100;
  view.order.return_url = "https://shop.example/return?id=1&x=2";
  return view;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool HasAnyPayButton(const std::string& page) {
  for (const char* id : {"pay-wxpay", "pay-alipay", "pay-fail", "pay-cancel"}) {
    if (Contains(page, std::string("id=\"") + id + "\"")) return true;
  }
  return Contains(page, "<form") || Contains(page, "<button");
}

// The form that holds the button with this id: from "<form" to "</form>".
std::string FormWithButton(const std::string& page, const std::string& id) {
  const size_t button = page.find("id=\"" + id + "\"");
  if (button == std::string::npos) return "";
  const size_t start = page.rfind("<form", button);
  const size_t end = page.find("</form>", button);
  if (start == std::string::npos || end == std::string::npos) return "";
  return page.substr(start, end - start);
}

TEST(CashierPage, IsSelfContainedHtml5WithTitle) {
  const std::string page = RenderCashierPage(UnpaidView());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(Contains(page, "<html lang=\"zh-CN\">"));
  EXPECT_TRUE(Contains(page, "<meta charset=\"utf-8\">"));
  EXPECT_TRUE(Contains(page, "<title>VksPay 沙箱收银台</title>"));
  EXPECT_FALSE(Contains(page, "<script"));
  EXPECT_FALSE(Contains(page, "<link"));
  EXPECT_FALSE(Contains(page, "src="));
}

TEST(CashierPage, SaysItIsASandbox) {
  const std::string page = RenderCashierPage(UnpaidView());
  EXPECT_TRUE(Contains(page, "id=\"sandbox-banner\""));
  EXPECT_TRUE(Contains(page, "不会发生任何真实扣款"));
}

TEST(CashierPage, ShowsAmountInYuan) {
  const std::string page = RenderCashierPage(UnpaidView());
  EXPECT_TRUE(Contains(page, "<span class=\"cur\">¥</span>0.01</p>"));
}

TEST(CashierPage, AmountsHaveTwoDecimals) {
  CashierView view = UnpaidView();
  view.order.total_fee = 100;
  EXPECT_TRUE(Contains(RenderCashierPage(view), "<span class=\"cur\">¥</span>1.00</p>"));
  view.order.total_fee = 1250;
  EXPECT_TRUE(Contains(RenderCashierPage(view), "<span class=\"cur\">¥</span>12.50</p>"));
  view.order.total_fee = 123456789;
  EXPECT_TRUE(Contains(RenderCashierPage(view), "<span class=\"cur\">¥</span>1234567.89</p>"));
  view = PaidView();
  view.order.status = OrderStatus::kRefund;
  view.order.total_fee = 1000;
  view.order.refunded_fee = 250;
  view.order.refund_count = 1;
  EXPECT_TRUE(Contains(RenderCashierPage(view), "¥2.50 (1 笔)"));
}

TEST(CashierPage, ExpiryAndQrOnlyWhileUnpaid) {
  const std::string unpaid = RenderCashierPage(UnpaidView());
  EXPECT_TRUE(Contains(unpaid, "id=\"expires-at\""));
  EXPECT_TRUE(Contains(unpaid, "id=\"qr\""));
  CashierView view = PaidView();
  for (OrderStatus s : {OrderStatus::kSuccess, OrderStatus::kRefund, OrderStatus::kClosed,
                        OrderStatus::kPayError}) {
    view.order.status = s;
    const std::string page = RenderCashierPage(view);
    EXPECT_FALSE(Contains(page, "id=\"expires-at\"")) << ToString(s);
    EXPECT_FALSE(Contains(page, "id=\"qr\"")) << ToString(s);
    EXPECT_FALSE(Contains(page, "<svg")) << ToString(s);
    EXPECT_FALSE(Contains(page, "id=\"loopback-note\"")) << ToString(s);
  }
}

TEST(CashierPage, LoopbackLinkSaysAPhoneNeedsPublicUrl) {
  CashierView view = UnpaidView();
  for (const char* url : {"http://127.0.0.1:8080/pay/x", "http://localhost/pay/x",
                          "http://[::1]:8080/pay/x", "http://127.1.2.3/pay/x"}) {
    view.pay_url = url;
    const std::string page = RenderCashierPage(view);
    EXPECT_TRUE(Contains(page, "id=\"loopback-note\"")) << url;
    EXPECT_TRUE(Contains(page, "--public-url")) << url;
  }
  for (const char* url : {"http://192.168.1.20:8080/pay/x", "https://pay.example.com/pay/x",
                          "http://127.example.com/pay/x", "http://localhost.example/pay/x"}) {
    view.pay_url = url;
    EXPECT_FALSE(Contains(RenderCashierPage(view), "id=\"loopback-note\"")) << url;
  }
}

TEST(CashierPage, PaidShowsTheNotificationsDeliveryState) {
  CashierView view = PaidView();
  EXPECT_FALSE(Contains(RenderCashierPage(view), "id=\"notify-state\""));  // none written
  Notification n;
  n.type = "payment";
  n.state = NotifyState::kAcked;
  n.total_attempts = 2;
  view.payment_notification = n;
  EXPECT_TRUE(Contains(RenderCashierPage(view),
                       "<dd id=\"notify-state\">已送达 acked (2 次尝试 / attempt(s))</dd>"));
  n.state = NotifyState::kPending;
  n.total_attempts = 0;
  view.payment_notification = n;
  EXPECT_TRUE(Contains(RenderCashierPage(view), "待发送 pending"));
  n.total_attempts = 3;
  n.last_error = "HTTP 500 <b>";
  view.payment_notification = n;
  EXPECT_TRUE(Contains(RenderCashierPage(view),
                       "重试中 pending (3 次尝试 / attempt(s): HTTP 500 &lt;b&gt;)"));
  n.state = NotifyState::kBlocked;
  n.last_error = "notify_url is not allowed";
  view.payment_notification = n;
  EXPECT_TRUE(Contains(RenderCashierPage(view), "未发送 blocked (notify_url is not allowed)"));
  view.order.status = OrderStatus::kClosed;  // only a paid order shows it
  EXPECT_FALSE(Contains(RenderCashierPage(view), "id=\"notify-state\""));
}

TEST(CashierPage, ShowsOrderDetails) {
  const std::string page = RenderCashierPage(UnpaidView());
  EXPECT_TRUE(Contains(page, "测试商品"));
  EXPECT_TRUE(Contains(page, "沙箱演示商户"));
  EXPECT_TRUE(Contains(page, "P10001-20231115063320123456"));
  EXPECT_TRUE(
      Contains(page, "<span id=\"status\" class=\"state state-notpay\">待支付 NOTPAY</span>"));
  // 1700007200 is 2023-11-15 00:13:20 UTC, 08:13:20 in China.
  EXPECT_TRUE(Contains(page, "2023-11-15 08:13:20"));
}

TEST(CashierPage, ShowsQrOfThePayUrl) {
  const std::string page = RenderCashierPage(UnpaidView());
  EXPECT_TRUE(Contains(page, "<svg"));
  EXPECT_TRUE(Contains(page, std::string("http://127.0.0.1:8080/pay/") + kToken));
}

TEST(CashierPage, UnpaidHasFourButtonsWithTheirFormFields) {
  const std::string page = RenderCashierPage(UnpaidView());
  struct Expected {
    const char* id;
    const char* channel;
    const char* outcome;
    const char* label;
  };
  const Expected expected[] = {
      {"pay-wxpay", "wxpay", "success", "微信支付"},
      {"pay-alipay", "alipay", "success", "支付宝支付"},
      {"pay-fail", "auto", "fail", "模拟支付失败"},
      {"pay-cancel", "auto", "cancel", "取消支付"},
  };
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.id);
    const std::string form = FormWithButton(page, e.id);
    ASSERT_FALSE(form.empty());
    EXPECT_TRUE(
        Contains(form, std::string("<form method=\"post\" action=\"/pay/") + kToken + "\""));
    EXPECT_TRUE(Contains(
        form, std::string("<input type=\"hidden\" name=\"channel\" value=\"") + e.channel + "\">"));
    EXPECT_TRUE(Contains(
        form, std::string("<input type=\"hidden\" name=\"outcome\" value=\"") + e.outcome + "\">"));
    EXPECT_TRUE(Contains(form, std::string(">") + e.label + "</button>"));
  }
}

TEST(CashierPage, UserPayingStillHasButtons) {
  CashierView view = UnpaidView();
  view.order.status = OrderStatus::kUserPaying;
  const std::string page = RenderCashierPage(view);
  EXPECT_TRUE(Contains(page, "id=\"pay-wxpay\""));
  EXPECT_TRUE(Contains(page, "用户支付中 USERPAYING"));
}

TEST(CashierPage, PaidShowsSuccessStatus) {
  const std::string page = RenderCashierPage(PaidView());
  EXPECT_TRUE(
      Contains(page, "<span id=\"status\" class=\"state state-success\">支付成功 SUCCESS</span>"));
  EXPECT_TRUE(Contains(page, "支付成功 / paid"));
}

TEST(CashierPage, PaidShowsChannelTransactionAndTime) {
  const std::string page = RenderCashierPage(PaidView());
  EXPECT_TRUE(Contains(page, "微信支付 (wxpay)"));
  EXPECT_TRUE(Contains(page, "4200123456202311150123456789"));
  EXPECT_TRUE(Contains(page, "2023-11-15 06:15:00"));
}

TEST(CashierPage, PaidHasNoPayButtons) {
  const std::string page = RenderCashierPage(PaidView());
  EXPECT_FALSE(HasAnyPayButton(page));
}

TEST(CashierPage, PaidLinksEscapedReturnUrl) {
  const std::string page = RenderCashierPage(PaidView());
  EXPECT_TRUE(Contains(page, "id=\"return-link\""));
  EXPECT_TRUE(Contains(page, "href=\"https://shop.example/return?id=1&amp;x=2\""));
}

TEST(CashierPage, PaidWithoutReturnUrlHasNoLink) {
  CashierView view = PaidView();
  view.order.return_url.clear();
  EXPECT_FALSE(Contains(RenderCashierPage(view), "return-link"));
}

TEST(CashierPage, RefundedCountsAsPaid) {
  CashierView view = PaidView();
  view.order.status = OrderStatus::kRefund;
  view.order.refunded_fee = 1;
  view.order.refund_count = 1;
  const std::string page = RenderCashierPage(view);
  EXPECT_TRUE(Contains(page, "转入退款 REFUND"));
  EXPECT_TRUE(Contains(page, "支付成功 / paid"));
  EXPECT_FALSE(HasAnyPayButton(page));
}

TEST(CashierPage, ClosedShowsStateAndNoButtons) {
  CashierView view = UnpaidView();
  view.order.status = OrderStatus::kClosed;
  view.order.closed_at = view.order.expires_at;
  const std::string page = RenderCashierPage(view);
  EXPECT_TRUE(Contains(page, "已关闭 CLOSED"));
  EXPECT_TRUE(Contains(page, "订单已关闭 / closed"));
  EXPECT_FALSE(HasAnyPayButton(page));
}

TEST(CashierPage, PayErrorShowsStateAndNoButtons) {
  CashierView view = UnpaidView();
  view.order.status = OrderStatus::kPayError;
  const std::string page = RenderCashierPage(view);
  EXPECT_TRUE(Contains(page, "支付失败 PAYERROR"));
  EXPECT_TRUE(Contains(page, "支付失败 / payment failed"));
  EXPECT_FALSE(HasAnyPayButton(page));
}

TEST(CashierPage, EscapesHostileSubject) {
  CashierView view = UnpaidView();
  view.order.subject = "<script>alert(1)</script> \"q\" & 'a'";
  const std::string page = RenderCashierPage(view);
  EXPECT_FALSE(Contains(page, "<script>"));
  EXPECT_TRUE(
      Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &amp; &#39;a&#39;"));
}

TEST(CashierPage, EscapesBodyAttachAndMerchantName) {
  CashierView view = UnpaidView();
  view.order.body = "<b>body</b>";
  view.order.attach = "<i>attach</i>";
  view.merchant_name = "<u>shop</u>";
  const std::string page = RenderCashierPage(view);
  EXPECT_FALSE(Contains(page, "<b>"));
  EXPECT_FALSE(Contains(page, "<i>"));
  EXPECT_FALSE(Contains(page, "<u>"));
  EXPECT_TRUE(Contains(page, "&lt;b&gt;body&lt;/b&gt;"));
  EXPECT_TRUE(Contains(page, "&lt;i&gt;attach&lt;/i&gt;"));
  EXPECT_TRUE(Contains(page, "&lt;u&gt;shop&lt;/u&gt;"));
}

TEST(CashierPage, EscapesFlash) {
  CashierView view = UnpaidView();
  view.flash = "订单已支付 <em>";
  const std::string page = RenderCashierPage(view);
  EXPECT_TRUE(Contains(page, "id=\"flash\""));
  EXPECT_TRUE(Contains(page, "订单已支付 &lt;em&gt;"));
}

TEST(CashierPage, NoFlashBoxWithoutFlash) {
  EXPECT_FALSE(Contains(RenderCashierPage(UnpaidView()), "id=\"flash\""));
}

TEST(CashierPage, JavascriptReturnUrlIsNotLinked) {
  CashierView view = PaidView();
  view.order.return_url = "javascript:alert(\"x\")";
  const std::string page = RenderCashierPage(view);
  EXPECT_FALSE(Contains(page, "return-link"));
  EXPECT_FALSE(Contains(page, "href=\"javascript:"));
  EXPECT_TRUE(Contains(page, "javascript:alert(&quot;x&quot;)"));
}

TEST(CashierPage, ReturnUrlWithQuoteCannotBreakOutOfHref) {
  CashierView view = PaidView();
  view.order.return_url = "https://x.example/\" onmouseover=\"alert(1)";
  const std::string page = RenderCashierPage(view);
  EXPECT_TRUE(Contains(page, "href=\"https://x.example/&quot; onmouseover=&quot;alert(1)\""));
}

TEST(UnknownTokenPage, SaysNotFoundWithoutButtons) {
  const std::string page = RenderUnknownTokenPage();
  EXPECT_TRUE(Contains(page, "<title>VksPay 沙箱收银台</title>"));
  EXPECT_TRUE(Contains(page, "id=\"not-found\""));
  EXPECT_FALSE(HasAnyPayButton(page));
}

}  // namespace
}  // namespace vkspay::sandbox
