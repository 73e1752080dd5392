#include "sandbox/dashboard/dashboard_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "sandbox/core/payments.h"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/dashboard/dashboard_params.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {
namespace {

constexpr char kForm[] = "application/x-www-form-urlencoded";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class DashboardRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {}

  void Start(const std::string& token = "") {
    StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(SqliteStoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ctx_.config = &config_;
    ctx_.store = store_.get();
    ctx_.clock = &sandbox_clock_;
    ctx_.sandbox_clock = &sandbox_clock_;
    ctx_.rng = &rng_;
    server_ = std::make_unique<httplib::Server>();
    RegisterDashboardRoutes(*server_, ctx_, DashboardOptions{token});
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(server_->is_running());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // Creates an unpaid 1.00 yuan order with `subject` and returns its number.
  std::string CreateOrder(const std::string& subject = "测试商品", const std::string& attach = "") {
    Order order;
    order.merchantno = kDemoMerchantNo;
    order.out_trade_no = NewOutTradeNo(rng_, kDemoMerchantNo, clock_.NowSeconds());
    order.trade_type = "webpay";
    order.total_fee = 100;
    order.subject = subject;
    order.attach = attach;
    order.notify_url = "http://127.0.0.1:9/notify?\"><script>window.__pwned=1</script>";
    order.cashier_token = NewCashierToken(rng_);
    order.created_at = clock_.NowSeconds();
    order.expires_at = clock_.NowSeconds() + 7200;
    EXPECT_TRUE(store_->CreateOrder(order, true, clock_.NowSeconds()).ok());
    return order.out_trade_no;
  }

  Order Stored(const std::string& no) {
    StatusOr<Order> o = store_->GetOrder(kDemoMerchantNo, no, clock_.NowSeconds());
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? *o : Order{};
  }

  // The CSRF token from any page's forms.
  std::string Csrf(const httplib::Headers& headers = {}) {
    auto res = client_->Get("/_sandbox/ui/clock", headers);
    EXPECT_TRUE(res);
    std::smatch m;
    const std::string body = res ? res->body : "";
    if (!std::regex_search(body, m, std::regex("name=\"csrf\" value=\"([0-9a-f]{32})\""))) {
      ADD_FAILURE() << "no csrf field in " << body;
      return "";
    }
    return m[1];
  }

  httplib::Result PostForm(const std::string& path, const std::string& body,
                           const httplib::Headers& headers = {}) {
    return client_->Post(path.c_str(), headers, body, kForm);
  }

  std::string OrderPath(const std::string& no) {
    return "/_sandbox/ui/order?merchantno=10001&out_trade_no=" + dashboard::UrlEncode(no);
  }

  SandboxConfig config_ = SandboxConfig::Demo();
  FakeClock clock_;
  SandboxClock sandbox_clock_{&clock_};
  SeededRandom rng_{7};
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DashboardRoutesTest, OrdersPageListsNewestFirstAndEscapes) {
  Start();
  const std::string first = CreateOrder("第一个");
  clock_.AdvanceSeconds(1);
  const std::string second = CreateOrder("<script>window.__pwned=1</script>");
  auto res = client_->Get("/_sandbox/ui/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  EXPECT_FALSE(Contains(res->body, "<script>window"));
  EXPECT_TRUE(Contains(res->body, "&lt;script&gt;window.__pwned=1&lt;/script&gt;"));
  const size_t a = res->body.find(second), b = res->body.find(first);
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b) << "newest first";
}

TEST_F(DashboardRoutesTest, OrdersPageFiltersAndPages) {
  Start();
  for (int i = 0; i < 3; ++i) {
    CreateOrder("o" + std::to_string(i));
    clock_.AdvanceSeconds(1);
  }
  auto res = client_->Get("/_sandbox/ui/?size=2");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(Contains(res->body, "id=\"next-page\""));
  EXPECT_TRUE(Contains(res->body, ">o2<"));
  EXPECT_FALSE(Contains(res->body, ">o0<"));
  res = client_->Get("/_sandbox/ui/?size=2&page=2");
  ASSERT_TRUE(res);
  EXPECT_TRUE(Contains(res->body, ">o0<"));
  EXPECT_FALSE(Contains(res->body, "id=\"next-page\""));
  EXPECT_TRUE(Contains(res->body, "id=\"prev-page\""));
  res = client_->Get("/_sandbox/ui/?status=SUCCESS");
  ASSERT_TRUE(res);
  EXPECT_TRUE(Contains(res->body, "id=\"no-orders\""));
}

TEST_F(DashboardRoutesTest, BadFilterIs400WithTheReason) {
  Start();
  auto res = client_->Get("/_sandbox/ui/?page=abc");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(
      Contains(res->body, "page must be a whole number from 1 to 1000000, got &quot;abc&quot;"))
      << res->body;
  res = client_->Get("/_sandbox/ui/?status=%3Cscript%3E");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_FALSE(Contains(res->body, "<script>"));
  res = client_->Get("/_sandbox/ui/notifications?state=nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(DashboardRoutesTest, UnknownOrderIs404) {
  Start();
  auto res = client_->Get(OrderPath("NOPE").c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client_->Get("/_sandbox/ui/no-such-page");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(DashboardRoutesTest, PayButtonPaysAndWritesANotification) {
  Start();
  const std::string no = CreateOrder();
  const std::string csrf = Csrf();
  auto res = PostForm("/_sandbox/ui/pay", "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no +
                                              "&channel=alipay&outcome=success");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), OrderPath(no));
  EXPECT_EQ(Stored(no).status, OrderStatus::kSuccess);
  EXPECT_EQ(Stored(no).pay_chnl, "alipay");
  // The flash rides in a cookie and is shown once.
  const std::string cookie = res->get_header_value("Set-Cookie");
  EXPECT_EQ(cookie.rfind("vkspay_ui_flash=6f3a", 0), 0u) << cookie;  // hex of "o:"
  EXPECT_TRUE(Contains(cookie, "HttpOnly; SameSite=Strict")) << cookie;
  auto page = client_->Get(OrderPath(no).c_str(), {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(page);
  EXPECT_TRUE(Contains(page->body, "id=\"flash\""));
  EXPECT_TRUE(Contains(page->body, "is now SUCCESS"));
  EXPECT_TRUE(Contains(page->body, "id=\"order-status\">SUCCESS<"));
  EXPECT_TRUE(Contains(page->body, "class=\"notification\""));
  EXPECT_TRUE(Contains(page->body, "id=\"refund-form\""));
  EXPECT_FALSE(Contains(page->body, "<script>window"));
}

TEST_F(DashboardRoutesTest, PayingAPaidOrderIs409AndChangesNothing) {
  Start();
  const std::string no = CreateOrder();
  const std::string csrf = Csrf();
  const std::string body =
      "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no + "&channel=wxpay&outcome=success";
  ASSERT_EQ(PostForm("/_sandbox/ui/pay", body)->status, 303);
  const Order paid = Stored(no);
  auto res = PostForm("/_sandbox/ui/pay", body + "x");  // outcome "successx"
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(Contains(res->body, "INVALID_FIELD")) << res->body;
  res = PostForm("/_sandbox/ui/pay", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_TRUE(Contains(res->body, "ORDER_PAID")) << res->body;
  EXPECT_EQ(Stored(no).transaction_id, paid.transaction_id);
}

TEST_F(DashboardRoutesTest, RefundFormRefundsThroughTheCoreRules) {
  Start();
  const std::string no = CreateOrder();
  const std::string csrf = Csrf();
  ASSERT_EQ(PostForm("/_sandbox/ui/pay", "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no +
                                             "&channel=wxpay&outcome=success")
                ->status,
            303);
  auto res =
      PostForm("/_sandbox/ui/refund", "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no +
                                          "&refund_fee=0.30&out_refund_no=R-1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  StatusOr<std::vector<Refund>> refunds = store_->ListRefunds("10001", no);
  ASSERT_TRUE(refunds.ok());
  ASSERT_EQ(refunds->size(), 1u);
  EXPECT_EQ((*refunds)[0].refund_fee, 30);
  EXPECT_EQ(Stored(no).status, OrderStatus::kRefund);
  // More than what is left: refused by the store's rule, nothing written.
  res = PostForm("/_sandbox/ui/refund",
                 "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no + "&refund_fee=0.71");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_TRUE(Contains(res->body, "REFUND_EXCEEDS_PAID")) << res->body;
  EXPECT_EQ(store_->ListRefunds("10001", no)->size(), 1u);
  // A bad amount: 400 naming refund_fee.
  res = PostForm("/_sandbox/ui/refund",
                 "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no + "&refund_fee=abc");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(Contains(res->body, "refund_fee")) << res->body;
  // The rest, with a generated number.
  res = PostForm("/_sandbox/ui/refund",
                 "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no + "&refund_fee=0.70");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  refunds = store_->ListRefunds("10001", no);
  ASSERT_EQ(refunds->size(), 2u);
  EXPECT_EQ((*refunds)[1].out_refund_no.rfind("R10001-", 0), 0u) << (*refunds)[1].out_refund_no;
  auto page = client_->Get(OrderPath(no).c_str());
  ASSERT_TRUE(page);
  size_t rows = 0;
  for (size_t p = 0; (p = page->body.find("class=\"refund-row\"", p)) != std::string::npos; ++p) {
    ++rows;
  }
  EXPECT_EQ(rows, 2u);
}

TEST_F(DashboardRoutesTest, ResendStartsANewSeriesAndAttemptsAreShownEscaped) {
  Start();
  const std::string no = CreateOrder();
  const std::string csrf = Csrf();
  ASSERT_EQ(PostForm("/_sandbox/ui/pay", "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no +
                                             "&channel=wxpay&outcome=success")
                ->status,
            303);
  NotificationFilter filter;
  filter.out_trade_no = no;
  StatusOr<std::vector<Notification>> list = store_->ListNotifications(filter);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const Notification n = (*list)[0];
  // One failed attempt whose answer is hostile, then the schedule gives up.
  NotifyAttempt attempt;
  attempt.notification_id = n.id;
  attempt.n = 1;
  attempt.at_us = clock_.NowMicros();
  attempt.url = n.notify_url;
  attempt.http_status = 500;
  attempt.latency_us = 2500;
  attempt.response_head = "<script>window.__pwned=1</script>";
  NotifyUpdate update;
  update.expected_attempts = 0;
  update.state = NotifyState::kFailed;
  update.now = clock_.NowSeconds();
  update.last_error = "HTTP 500 <img onerror=1>";
  ASSERT_TRUE(store_->RecordNotifyAttempt(attempt, update).ok());

  auto page = client_->Get(OrderPath(no).c_str());
  ASSERT_TRUE(page);
  EXPECT_TRUE(Contains(page->body, "class=\"attempt-row\""));
  EXPECT_TRUE(Contains(page->body, "&lt;script&gt;window.__pwned=1&lt;/script&gt;"));
  EXPECT_FALSE(Contains(page->body, "<script>"));
  EXPECT_FALSE(Contains(page->body, "<img"));
  EXPECT_TRUE(Contains(page->body, "2.5 ms"));

  auto res =
      PostForm("/_sandbox/ui/resend", "csrf=" + csrf + "&from=notifications&key=" + n.notify_id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), "/_sandbox/ui/notifications");
  StatusOr<Notification> after = store_->GetNotification(n.notify_id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, NotifyState::kPending);
  EXPECT_EQ(after->attempts, 0);
  EXPECT_EQ(after->total_attempts, 1);
  // Unknown notification: 404; a bad `from`: 400.
  res = PostForm("/_sandbox/ui/resend", "csrf=" + csrf + "&from=order&key=N0000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = PostForm("/_sandbox/ui/resend", "csrf=" + csrf + "&from=http://evil&key=" + n.notify_id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(DashboardRoutesTest, ClockAdvanceAndReset) {
  Start();
  const std::string csrf = Csrf();
  auto res = PostForm("/_sandbox/ui/clock/advance", "csrf=" + csrf + "&seconds=90.5");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(sandbox_clock_.offset_us(), 90'500'000);
  auto page = client_->Get("/_sandbox/ui/clock");
  ASSERT_TRUE(page);
  EXPECT_TRUE(Contains(page->body, "id=\"clock-offset\">+90.500 s<")) << page->body;
  res = PostForm("/_sandbox/ui/clock/advance", "csrf=" + csrf + "&seconds=-5");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(Contains(res->body, "seconds must be a number &gt;= 0"));
  EXPECT_EQ(sandbox_clock_.offset_us(), 90'500'000);
  res = PostForm("/_sandbox/ui/clock/reset", "csrf=" + csrf);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(sandbox_clock_.offset_us(), 0);
}

TEST_F(DashboardRoutesTest, PostWithoutTheCsrfTokenIsRefusedAndChangesNothing) {
  Start();
  const std::string no = CreateOrder();
  for (const std::string& csrf : {std::string(), std::string(32, '0'), std::string("x")}) {
    auto res =
        PostForm("/_sandbox/ui/pay", "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no +
                                         "&channel=wxpay&outcome=success");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << csrf;
    EXPECT_TRUE(Contains(res->body, "csrf"));
  }
  EXPECT_EQ(Stored(no).status, OrderStatus::kNotPay);
  auto res = PostForm("/_sandbox/ui/clock/advance", "seconds=100");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(sandbox_clock_.offset_us(), 0);
}

TEST_F(DashboardRoutesTest, PostFromAnotherOriginIsRefused) {
  Start();
  const std::string no = CreateOrder();
  const std::string csrf = Csrf();
  auto res = PostForm(
      "/_sandbox/ui/pay",
      "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no + "&channel=wxpay&outcome=success",
      {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(Stored(no).status, OrderStatus::kNotPay);
  // Its own origin passes.
  res = PostForm(
      "/_sandbox/ui/pay",
      "csrf=" + csrf + "&merchantno=10001&out_trade_no=" + no + "&channel=wxpay&outcome=success",
      {{"Origin", "http://127.0.0.1:" + std::to_string(port_)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
}

TEST_F(DashboardRoutesTest, WithATokenPagesNeedTheLoginCookie) {
  Start("s3cret-token");
  CreateOrder();
  auto res = client_->Get("/_sandbox/ui/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(Contains(res->body, "id=\"login-form\""));
  EXPECT_FALSE(Contains(res->body, "s3cret-token"));
  const std::string csrf = Csrf();  // the login page carries the form token too
  ASSERT_FALSE(csrf.empty());
  // A wrong token: 401, no cookie.
  res = PostForm("/_sandbox/ui/login", "csrf=" + csrf + "&token=wrong");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(Contains(res->body, "wrong token"));
  EXPECT_FALSE(Contains(res->get_header_value("Set-Cookie"), "vkspay_ui="));
  // Unauthenticated actions are refused.
  res = PostForm("/_sandbox/ui/clock/advance", "csrf=" + csrf + "&seconds=10");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(sandbox_clock_.offset_us(), 0);
  // The right token: an HttpOnly SameSite=Strict cookie, then pages open.
  res = PostForm("/_sandbox/ui/login", "csrf=" + csrf + "&token=s3cret-token");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  std::string cookie;
  for (const auto& [name, value] : res->headers) {
    if (name == "Set-Cookie" && value.rfind("vkspay_ui=", 0) == 0) cookie = value;
  }
  EXPECT_TRUE(Contains(cookie, "Path=/_sandbox/ui; HttpOnly; SameSite=Strict")) << cookie;
  const httplib::Headers with_cookie = {{"Cookie", cookie.substr(0, cookie.find(';'))}};
  res = client_->Get("/_sandbox/ui/", with_cookie);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(Contains(res->body, "id=\"logout\""));
  // The control API's header works as well.
  res = client_->Get("/_sandbox/ui/merchants", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(Contains(res->body, config_.merchants[0].key));
  res = PostForm("/_sandbox/ui/clock/advance", "csrf=" + csrf + "&seconds=10", with_cookie);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(sandbox_clock_.offset_us(), 10'000'000);
}

TEST_F(DashboardRoutesTest, BareBaseRedirectsToTheSlash) {
  Start();
  auto res = client_->Get("/_sandbox/ui");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), "/_sandbox/ui/");
}

TEST_F(DashboardRoutesTest, EveryPageRenders) {
  Start();
  for (const char* path : {"/_sandbox/ui/", "/_sandbox/ui/orders", "/_sandbox/ui/notifications",
                           "/_sandbox/ui/clock", "/_sandbox/ui/faults", "/_sandbox/ui/merchants",
                           "/_sandbox/ui/login", "/_sandbox/ui/?live=1"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_TRUE(Contains(res->body, "</html>")) << path;
  }
  EXPECT_TRUE(Contains(client_->Get("/_sandbox/ui/faults")->body, "id=\"faults-off\""));
}

}  // namespace
}  // namespace vkspay::sandbox
