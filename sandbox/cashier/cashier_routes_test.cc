#include "sandbox/cashier/cashier_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sandbox/core/payments.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {
namespace {

constexpr char kForm[] = "application/x-www-form-urlencoded";

// A store whose every call fails, as a broken database would.
class BrokenStore : public Store {
 public:
  StatusOr<CreateOrderResult> CreateOrder(const Order&, bool, int64_t) override { return Broken(); }
  StatusOr<Order> GetOrder(std::string_view, std::string_view, int64_t) override {
    return Broken();
  }
  StatusOr<Order> GetOrderByToken(std::string_view, int64_t) override { return Broken(); }
  StatusOr<Order> CompletePayment(std::string_view, std::string_view, PayOutcome, std::string_view,
                                  std::string_view, int64_t) override {
    return Broken();
  }
  StatusOr<Refund> CreateRefund(std::string_view, std::string_view,
                                const std::optional<std::string>&, std::string_view, int64_t,
                                int64_t) override {
    return Broken();
  }
  StatusOr<Refund> GetRefund(std::string_view, std::string_view, std::string_view) override {
    return Broken();
  }
  StatusOr<std::vector<Refund>> ListRefunds(std::string_view, std::string_view) override {
    return Broken();
  }
  StatusOr<std::vector<Order>> ListOrders(const OrderFilter&) override { return Broken(); }
  Status Reset() override { return Broken(); }
  void SetOutboxObserver(std::function<void()>) override {}
  StatusOr<DueNotifications> ClaimDueNotifications(
      int64_t, size_t, const std::unordered_set<int64_t>&,
      const std::optional<OutboxCursor>&) override {
    return Broken();
  }
  Status RecordNotifyAttempt(const NotifyAttempt&, const NotifyUpdate&) override {
    return Broken();
  }
  StatusOr<std::vector<Notification>> ListNotifications(const NotificationFilter&) override {
    return Broken();
  }
  StatusOr<Notification> GetNotification(std::string_view) override { return Broken(); }
  StatusOr<std::vector<NotifyAttempt>> ListNotifyAttempts(int64_t) override { return Broken(); }
  StatusOr<Notification> ResendNotification(std::string_view, int64_t) override {
    return Broken();
  }
  StatusOr<int64_t> ResendNotifications(NotifyState, int64_t, int64_t) override {
    return Broken();
  }
  StatusOr<std::map<NotifyState, int64_t>> CountNotifications() override { return Broken(); }

 private:
  static Status Broken() {
    return Status(ErrorCode::kInternal, "sqlite3_step: disk I/O error /secret/path.db");
  }
};

class CashierRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(SqliteStoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Start(std::move(store).value());
  }

  void Start(std::unique_ptr<Store> store) {
    Stop();
    store_ = std::move(store);
    ctx_.config = &config_;
    ctx_.store = store_.get();
    ctx_.clock = &clock_;
    ctx_.rng = &rng_;
    server_ = std::make_unique<httplib::Server>();
    server_->set_tcp_nodelay(true);
    RegisterCashierRoutes(*server_, ctx_);
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(server_->is_running());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_tcp_nodelay(true);
  }

  void Stop() {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
    client_.reset();
    server_.reset();
  }

  void TearDown() override { Stop(); }

  // Creates a 0.01 yuan webpay order and returns its cashier token.
  std::string CreateOrder(std::string return_url = "https://shop.example/done") {
    Order order;
    order.merchantno = kDemoMerchantNo;
    order.out_trade_no = NewOutTradeNo(rng_, kDemoMerchantNo, clock_.NowSeconds());
    order.trade_type = "webpay";
    order.total_fee = 1;
    order.subject = "测试商品";
    order.return_url = std::move(return_url);
    order.cashier_token = NewCashierToken(rng_);
    order.created_at = clock_.NowSeconds();
    order.expires_at = clock_.NowSeconds() + config_.settings.order_expiry_s;
    StatusOr<CreateOrderResult> created = store_->CreateOrder(order, true, clock_.NowSeconds());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    out_trade_no_ = order.out_trade_no;
    return order.cashier_token;
  }

  Order StoredOrder() {
    StatusOr<Order> order = store_->GetOrder(kDemoMerchantNo, out_trade_no_, clock_.NowSeconds());
    EXPECT_TRUE(order.ok()) << order.status().ToString();
    return order.ok() ? *order : Order{};
  }

  httplib::Result Post(const std::string& token, const std::string& body) {
    return client_->Post(("/pay/" + token).c_str(), body, kForm);
  }

  SandboxConfig config_ = SandboxConfig::Demo();
  FakeClock clock_;
  SeededRandom rng_{42};
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
  std::string out_trade_no_;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_F(CashierRoutesTest, GetShowsTheOrder) {
  const std::string token = CreateOrder();
  auto res = client_->Get(("/pay/" + token).c_str());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(Contains(res->body, "0.01"));
  EXPECT_TRUE(Contains(res->body, "待支付 NOTPAY"));
  EXPECT_TRUE(Contains(res->body, out_trade_no_));
  EXPECT_TRUE(Contains(res->body, "VksPay 沙箱演示商户"));
  EXPECT_TRUE(Contains(res->body, "id=\"pay-wxpay\""));
}

TEST_F(CashierRoutesTest, ResponsesAreUncachedUtf8Html) {
  const std::string token = CreateOrder();
  auto res = client_->Get(("/pay/" + token).c_str());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
}

TEST_F(CashierRoutesTest, PayUrlIsTheSandboxsOwnAddress) {
  const std::string token = CreateOrder();
  auto res = client_->Get(("/pay/" + token).c_str());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_TRUE(Contains(res->body, "http://127.0.0.1:" + std::to_string(port_) + "/pay/" + token));
}

// Issue #13 finding 7: the page's link came from the Host header, so anyone
// could have the sandbox render a payment link (and QR code) to their host.
TEST_F(CashierRoutesTest, PayUrlIgnoresTheHostHeader) {
  const std::string token = CreateOrder();
  auto res = client_->Get(("/pay/" + token).c_str(), {{"Host", "evil.example"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(Contains(res->body, "evil.example")) << res->body;
  EXPECT_TRUE(Contains(res->body, "http://127.0.0.1:" + std::to_string(port_) + "/pay/" + token));
  config_.settings.public_base_url = "https://sandbox.example:8443";
  res = client_->Get(("/pay/" + token).c_str(), {{"Host", "evil.example"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_FALSE(Contains(res->body, "evil.example")) << res->body;
  EXPECT_TRUE(Contains(res->body, "https://sandbox.example:8443/pay/" + token + "<"));
}

// Orders created before cashier tokens grew to 128 bits keep their links.
TEST_F(CashierRoutesTest, OlderOrdersWith24CharacterTokensStillOpen) {
  Order order;
  order.merchantno = kDemoMerchantNo;
  order.out_trade_no = "OLD-1";
  order.trade_type = "webpay";
  order.total_fee = 1;
  order.cashier_token = "0123456789abcdef01234567";
  order.created_at = clock_.NowSeconds();
  order.expires_at = clock_.NowSeconds() + config_.settings.order_expiry_s;
  ASSERT_TRUE(store_->CreateOrder(order, true, clock_.NowSeconds()).ok());
  auto res = client_->Get("/pay/0123456789abcdef01234567");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(Contains(res->body, "OLD-1"));
}

TEST_F(CashierRoutesTest, NewTokensAre32HexCharacters) {
  const std::string token = CreateOrder();
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
}

TEST_F(CashierRoutesTest, PayUrlComesFromPublicBaseUrlWhenSet) {
  config_.settings.public_base_url = "https://sandbox.example:8443/";
  const std::string token = CreateOrder();
  auto res = client_->Get(("/pay/" + token).c_str());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_TRUE(Contains(res->body, "https://sandbox.example:8443/pay/" + token + "<"));
}

TEST_F(CashierRoutesTest, PostWxpaySuccessRedirectsAndPays) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=wxpay&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(res->get_header_value("Location"), "/pay/" + token);
  const Order order = StoredOrder();
  EXPECT_EQ(order.status, OrderStatus::kSuccess);
  EXPECT_EQ(order.pay_chnl, "wxpay");
  EXPECT_EQ(order.transaction_id.size(), 28u);
  EXPECT_EQ(order.paid_at, clock_.NowSeconds());
}

TEST_F(CashierRoutesTest, PostAlipaySuccessPaysThroughAlipay) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=alipay&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(StoredOrder().pay_chnl, "alipay");
}

TEST_F(CashierRoutesTest, PaidPageShowsStatusAndReturnLink) {
  const std::string token = CreateOrder();
  ASSERT_EQ(Post(token, "channel=wxpay&outcome=success")->status, 303);
  auto res = client_->Get(("/pay/" + token).c_str());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_TRUE(Contains(res->body, "支付成功 SUCCESS</span>"));
  EXPECT_TRUE(Contains(res->body, StoredOrder().transaction_id));
  EXPECT_TRUE(Contains(res->body, "id=\"return-link\""));
  EXPECT_FALSE(Contains(res->body, "id=\"pay-wxpay\""));
  // The payment wrote its notification (no dispatcher runs here: pending).
  EXPECT_TRUE(Contains(res->body, "<dd id=\"notify-state\">待发送 pending</dd>")) << res->body;
}

TEST_F(CashierRoutesTest, PostOnPaidOrderIs409WithMessage) {
  const std::string token = CreateOrder();
  ASSERT_EQ(Post(token, "channel=wxpay&outcome=success")->status, 303);
  auto res = Post(token, "channel=alipay&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 409);
  EXPECT_TRUE(Contains(res->body, "id=\"flash\""));
  EXPECT_TRUE(Contains(res->body, "ORDER_PAID"));
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(StoredOrder().pay_chnl, "wxpay");
}

TEST_F(CashierRoutesTest, PostFailOutcomeSetsPayError) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=auto&outcome=fail");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(StoredOrder().status, OrderStatus::kPayError);
}

TEST_F(CashierRoutesTest, PostCancelOutcomeClosesTheOrder) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=auto&outcome=cancel");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 303);
  EXPECT_EQ(StoredOrder().status, OrderStatus::kClosed);
}

TEST_F(CashierRoutesTest, PostOnClosedOrderIs409) {
  const std::string token = CreateOrder();
  ASSERT_EQ(Post(token, "channel=auto&outcome=cancel")->status, 303);
  auto res = Post(token, "channel=wxpay&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 409);
  EXPECT_TRUE(Contains(res->body, "ORDER_CLOSED"));
}

TEST_F(CashierRoutesTest, ExpiredOrderShowsClosedAndCannotBePaid) {
  const std::string token = CreateOrder();
  clock_.AdvanceSeconds(config_.settings.order_expiry_s + 1);
  auto page = client_->Get(("/pay/" + token).c_str());
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_TRUE(Contains(page->body, "已关闭 CLOSED"));
  EXPECT_FALSE(Contains(page->body, "id=\"pay-wxpay\""));
  auto res = Post(token, "channel=wxpay&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 409);
}

TEST_F(CashierRoutesTest, BadOutcomeIs400AndLeavesOrderUnpaid) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=wxpay&outcome=refund");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(Contains(res->body, "INVALID_FIELD"));
  EXPECT_EQ(StoredOrder().status, OrderStatus::kNotPay);
}

TEST_F(CashierRoutesTest, MissingOutcomeIs400) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=wxpay");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(Contains(res->body, "MISSING_FIELD"));
  EXPECT_EQ(StoredOrder().status, OrderStatus::kNotPay);
}

TEST_F(CashierRoutesTest, BadChannelIs400) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=paypal&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(StoredOrder().status, OrderStatus::kNotPay);
}

TEST_F(CashierRoutesTest, HostileChannelIsEscapedInTheError) {
  const std::string token = CreateOrder();
  auto res = Post(token, "channel=%3Cscript%3Ex%3C%2Fscript%3E&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  EXPECT_FALSE(Contains(res->body, "<script>"));
  EXPECT_TRUE(Contains(res->body, "&lt;script&gt;"));
}

TEST_F(CashierRoutesTest, UnknownTokenIs404) {
  auto res = client_->Get("/pay/0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(Contains(res->body, "id=\"not-found\""));
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
}

TEST_F(CashierRoutesTest, MalformedTokenIs404) {
  const std::string token = CreateOrder();
  std::string upper = token;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string paths[] = {"/pay/" + upper, "/pay/" + token + "0", "/pay/abc", "/pay/"};
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    auto res = client_->Get(path.c_str());
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 404);
  }
}

TEST_F(CashierRoutesTest, PostToUnknownTokenIs404) {
  auto res = Post("0123456789abcdef0123456789abcdef", "channel=wxpay&outcome=success");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 404);
}

TEST_F(CashierRoutesTest, StoreFailureIs500WithoutInternals) {
  Start(std::make_unique<BrokenStore>());
  auto res = client_->Get("/pay/0123456789abcdef01234567");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 500);
  EXPECT_FALSE(Contains(res->body, "/secret/path.db"));
}

}  // namespace
}  // namespace vkspay::sandbox
