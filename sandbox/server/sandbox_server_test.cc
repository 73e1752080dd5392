// Integration tests: a real SandboxServer on port 0, spoken to over HTTP.
#include "sandbox/server/sandbox_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <thread>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

class Harness {
 public:
  explicit Harness(std::string db = ":memory:", std::string token = "")
      : rng_(1), nonce_rng_(2) {
    config_ = SandboxConfig::Demo();
    SqliteStoreOptions options;
    options.path = db;
    store_ = OpenSqliteStore(options).value();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_};
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 8;
    opts.control_token = token;
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
  }
  ~Harness() { server_->Stop(); }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }
  json Api(const std::string& method, Fields f) {
    f.Set("method", method);
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    auto res = Client().Post("/api", WithSign(f, kDemoKey).ToJson(),
                             "application/json; charset=utf-8");
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) return json();
    EXPECT_EQ(res->status, 200);
    return json::parse(res->body);
  }
  json Control(const std::string& path, const json& body, int want_status,
               const std::string& token = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto res = Client().Post(path.c_str(), h, body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, want_status) << res->body;
    return json::parse(res->body);
  }

  SandboxConfig config_;
  SystemClock clock_;
  SeededRandom rng_;
  SeededRandom nonce_rng_;
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
};

const Fields kWebPay{{"total_fee", 1.0}, {"notify_url", std::string("http://127.0.0.1:9/n")}};

TEST(SandboxServer, HealthAnswers200) {
  Harness h;
  auto res = h.Client().Get("/_sandbox/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "ok");
}

TEST(SandboxServer, WebPayThenPayThenQueryShowsPaid) {
  Harness h;
  json w = h.Api("webpay", kWebPay);
  ASSERT_EQ(w["return_code"], "SUCCESS") << w.dump();
  std::string no = w["data"]["out_trade_no"];
  EXPECT_EQ(w["data"]["qrcode"].get<std::string>().rfind(
                "http://127.0.0.1:" + std::to_string(h.port_) + "/pay/", 0),
            0u);
  EXPECT_EQ(h.Api("orderquery", {{"out_trade_no", no}})["err_code"], "ORDER_NOT_PAID");
  json paid = h.Control("/_sandbox/pay", {{"out_trade_no", no}, {"channel", "wxpay"}}, 200);
  EXPECT_EQ(paid["order"]["status"], "SUCCESS");
  json q = h.Api("orderquery", {{"out_trade_no", no}});
  EXPECT_EQ(q["return_code"], "SUCCESS");
  EXPECT_EQ(q["data"]["pay_chnl"], "wxpay");
  // Paying twice is a clear conflict.
  json again = h.Control("/_sandbox/pay", {{"out_trade_no", no}}, 409);
  EXPECT_EQ(again["err_code"], "ORDER_PAID");
}

TEST(SandboxServer, PaymentLinkOpensTheCashierPage) {
  Harness h;
  json w = h.Api("webpay", kWebPay);
  std::string url = w["data"]["qrcode"];
  std::string path = url.substr(url.find("/pay/"));
  auto res = h.Client().Get(path.c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(res->body.find(w["data"]["out_trade_no"].get<std::string>()), std::string::npos);
}

TEST(SandboxServer, RootLinksToTheDashboard) {
  Harness h;
  // A browser gets HTML with a link; curl its one line, naming the dashboard.
  auto html = h.Client().Get("/", {{"Accept", "text/html,application/xhtml+xml"}});
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_EQ(html->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(html->body.find("href=\"/_sandbox/ui/\""), std::string::npos) << html->body;
  auto text = h.Client().Get("/");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_NE(text->body.find("/_sandbox/ui/ is the dashboard"), std::string::npos) << text->body;
}

TEST(SandboxServer, DashboardShowsAnOrderCreatedThroughTheApi) {
  Harness h;
  json w = h.Api("webpay", kWebPay);
  const std::string no = w["data"]["out_trade_no"];
  auto res = h.Client().Get("/_sandbox/ui/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find(no), std::string::npos);
  res = h.Client().Get(("/_sandbox/ui/order?out_trade_no=" + no).c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("id=\"pay-wxpay\""), std::string::npos);
}

TEST(SandboxServer, DashboardNeedsTheTokenWhenOneIsSet) {
  Harness h(":memory:", "s3cret-token");
  auto res = h.Client().Get("/_sandbox/ui/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body.find("s3cret-token"), std::string::npos);
  res = h.Client().Get("/_sandbox/ui/", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(SandboxServer, WrongContentTypeOverHttpIsAVksPayFail) {
  Harness h;
  auto res = h.Client().Post("/api", "method=webpay", "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["err_code"], "INVALID_CONTENT_TYPE");
}

TEST(SandboxServer, ControlApiNeedsTheTokenWhenOneIsSet) {
  Harness h(":memory:", "s3cret-token");
  std::string no = h.Api("webpay", kWebPay)["data"]["out_trade_no"];
  json missing = h.Control("/_sandbox/pay", {{"out_trade_no", no}}, 401);
  EXPECT_EQ(missing["err_code"], "UNAUTHORIZED");
  const std::string missing_msg = missing.dump();
  EXPECT_NE(missing_msg.find("no token: "), std::string::npos) << missing_msg;
  EXPECT_NE(missing_msg.find("VKSPAY_CONTROL_TOKEN"), std::string::npos) << missing_msg;
  const std::string wrong =
      h.Control("/_sandbox/pay", {{"out_trade_no", no}}, 401, "wrong-token").dump();
  EXPECT_NE(wrong.find("wrong token: "), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("wrong-token"), std::string::npos) << "never echoed";
  EXPECT_EQ(wrong.find("s3cret-token"), std::string::npos);
  h.Control("/_sandbox/pay", {{"out_trade_no", no}}, 200, "s3cret-token");
  auto list = h.Client().Get("/_sandbox/orders");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 401);
  EXPECT_EQ(list->body.find("s3cret-token"), std::string::npos);
  EXPECT_EQ(h.Client().Get("/_sandbox/health")->status, 200);
}

TEST(SandboxServer, ControlApiListsInspectsAndResets) {
  Harness h;
  std::string no = h.Api("webpay", kWebPay)["data"]["out_trade_no"];
  h.Control("/_sandbox/pay", {{"out_trade_no", no}}, 200);
  h.Api("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.25}});
  auto res = h.Client().Get(("/_sandbox/order?out_trade_no=" + no).c_str());
  ASSERT_TRUE(res);
  json j = json::parse(res->body);
  EXPECT_EQ(j["order"]["status"], "REFUND");
  ASSERT_EQ(j["refunds"].size(), 1u);
  EXPECT_EQ(j["refunds"][0]["refund_fee"], 0.25);
  res = h.Client().Get("/_sandbox/orders?status=REFUND");
  EXPECT_EQ(json::parse(res->body)["orders"].size(), 1u);
  EXPECT_EQ(h.Client().Get("/_sandbox/orders?status=BOGUS")->status, 400);
  h.Control("/_sandbox/reset", json::object(), 200);
  EXPECT_EQ(h.Api("orderquery", {{"out_trade_no", no}})["err_code"], "ORDER_NOT_EXIST");
}

// Many concurrent refunds on one order never add up to more than it.
TEST(SandboxServer, ConcurrentRefundsNeverExceedThePaidAmount) {
  Harness h;
  std::string no = h.Api("webpay", kWebPay)["data"]["out_trade_no"];  // 1.00
  h.Control("/_sandbox/pay", {{"out_trade_no", no}}, 200);
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        json r = h.Api("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.07}});
        if (r["return_code"] == "SUCCESS") {
          ++ok;
        } else if (r["err_code"] == "REFUND_EXCEEDS_PAID") {
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 14);  // 14 x 0.07 = 0.98; a 15th would make 1.05
  EXPECT_EQ(refused.load(), 40 - 14);
  json q = h.Api("orderquery", {{"out_trade_no", no}});
  EXPECT_EQ(q["data"]["refund_fee"], 0.98);
  int64_t sum = 0;
  StatusOr<std::vector<Refund>> refunds = h.store_->ListRefunds(kDemoMerchantNo, no);
  ASSERT_TRUE(refunds.ok());
  for (const Refund& r : *refunds) sum += r.refund_fee;
  EXPECT_EQ(sum, 98);
}

TEST(SandboxServer, ARestartKeepsOrdersAndRefunds) {
  auto dir = std::filesystem::temp_directory_path() /
             ("vkspay-restart-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "sandbox.db").string();
  std::string no, rno;
  {
    Harness h(db);
    no = h.Api("webpay", kWebPay)["data"]["out_trade_no"];
    h.Control("/_sandbox/pay", {{"out_trade_no", no}, {"channel", "alipay"}}, 200);
    rno = h.Api("orderrefund", {{"out_trade_no", no}, {"refund_fee", 0.4}})["out_refund_no"];
  }
  {
    Harness h(db);
    json q = h.Api("orderquery", {{"out_trade_no", no}});
    EXPECT_EQ(q["return_code"], "SUCCESS");
    EXPECT_EQ(q["data"]["status"], "REFUND");
    EXPECT_EQ(q["data"]["pay_chnl"], "alipay");
    EXPECT_EQ(q["data"]["refund_fee"], 0.4);
    json rq = h.Api("orderrefundquery", {{"out_trade_no", no}, {"out_refund_no", rno}});
    EXPECT_EQ(rq["return_code"], "SUCCESS");
  }
  std::filesystem::remove_all(dir);
}

TEST(SandboxServer, ASecondServerCannotSilentlyShareThePort) {
  Harness h;
  SandboxConfig config = SandboxConfig::Demo();
  ServerOptions opts;
  opts.port = h.port_;
  SandboxServer second(h.ctx_, opts);
  EXPECT_FALSE(second.Start().ok());
}

}  // namespace
}  // namespace vkspay::sandbox
