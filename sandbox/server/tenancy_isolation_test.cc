// Tenancy (issue #7): merchant A's key can never read or change merchant B's
// orders. Two merchants from fixtures/config/two-merchants.json, a real
// SandboxServer on port 0; every way B (or someone holding only B's key) could
// reach A's order is tried, and A's order is checked unchanged after each.
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "sandbox/core/payments.h"
#include "sandbox/server/sandbox_server.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'764'300'000;

class Tenancy : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<SandboxConfig> config =
        LoadConfigFile(std::string(VKSPAY_FIXTURES_DIR) + "/config/two-merchants.json");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    ASSERT_EQ(config_.merchants.size(), 2u);
    a_ = config_.merchants[0];
    b_ = config_.merchants[1];
    ASSERT_NE(a_.key, b_.key);
    store_ = OpenSqliteStore(SqliteStoreOptions()).value();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_};
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 4;
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Sends `method` as `merchantno`, signed with `key`.
  json Api(const std::string& method, Fields f, const std::string& merchantno,
           const std::string& key) {
    f.Set("method", method);
    f.Set("merchantno", merchantno);
    f.Set("timestamp", static_cast<double>(kNow));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(5);
    auto res = c.Post("/api", WithSign(f, key).ToJson(), "application/json");
    EXPECT_TRUE(res);
    return res ? json::parse(res->body) : json();
  }
  json AsA(const std::string& method, Fields f) {
    return Api(method, std::move(f), a_.merchantno, a_.key);
  }
  json AsB(const std::string& method, Fields f) {
    return Api(method, std::move(f), b_.merchantno, b_.key);
  }
  Order StoredOrder(const std::string& merchantno, const std::string& no) {
    StatusOr<Order> o = store_->GetOrder(merchantno, no, kNow);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? *o : Order();
  }
  static void ExpectFail(const json& j, const std::string& err_code) {
    EXPECT_EQ(j.value("return_code", ""), "FAIL") << j.dump();
    EXPECT_EQ(j.value("err_code", ""), err_code) << j.dump();
  }

  SandboxConfig config_;
  Merchant a_;
  Merchant b_;
  FakeClock clock_{kNow * 1'000'000};
  SeededRandom rng_{1};
  SeededRandom nonce_rng_{2};
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
};

TEST_F(Tenancy, OneMerchantsKeyNeverReachesAnotherMerchantsOrders) {
  const std::string no = "SHARED-1";
  json created = AsA("webpay", {{"out_trade_no", no},
                                {"total_fee", 1.0},
                                {"notify_url", std::string("http://127.0.0.1:9/n")}});
  ASSERT_EQ(created.value("return_code", ""), "SUCCESS") << created.dump();
  ASSERT_TRUE(ActAsBuyer(ctx_, a_.merchantno, no, "wxpay", PayOutcome::kSuccess).ok());
  const Order before = StoredOrder(a_.merchantno, no);
  ASSERT_EQ(before.status, OrderStatus::kSuccess);

  // B, with its own key, cannot see or refund A's order.
  ExpectFail(AsB("orderquery", {{"out_trade_no", no}}), "ORDER_NOT_EXIST");
  ExpectFail(
      AsB("orderrefund",
          {{"out_trade_no", no}, {"out_refund_no", std::string("RB-1")}, {"refund_fee", 0.5}}),
      "ORDER_NOT_EXIST");
  ExpectFail(
      AsB("orderrefundquery", {{"out_trade_no", no}, {"out_refund_no", std::string("RB-1")}}),
      "ORDER_NOT_EXIST");

  // B's key under A's merchantno, and A's key under B's: the signature fails
  // before anything is looked up, and the answer never shows either key.
  json forged =
      Api("orderrefund",
          {{"out_trade_no", no}, {"out_refund_no", std::string("RB-2")}, {"refund_fee", 0.5}},
          a_.merchantno, b_.key);
  ExpectFail(forged, "SIGN_ERROR");
  EXPECT_EQ(forged.dump().find(a_.key), std::string::npos);
  EXPECT_EQ(forged.dump().find(b_.key), std::string::npos);
  ExpectFail(Api("orderquery", {{"out_trade_no", no}}, a_.merchantno, b_.key), "SIGN_ERROR");
  ExpectFail(Api("orderquery", {{"out_trade_no", no}}, b_.merchantno, a_.key), "SIGN_ERROR");

  // B may use the same out_trade_no for its own order: a separate order.
  json own = AsB("webpay", {{"out_trade_no", no}, {"total_fee", 2.0}});
  ASSERT_EQ(own.value("return_code", ""), "SUCCESS") << own.dump();
  EXPECT_EQ(own["data"]["total_fee"], 2);
  ExpectFail(
      AsB("orderrefund",
          {{"out_trade_no", no}, {"out_refund_no", std::string("RB-3")}, {"refund_fee", 0.5}}),
      "REFUND_NOT_ALLOWED");
  json b_query = AsB("orderquery", {{"out_trade_no", no}});
  EXPECT_EQ(b_query["data"]["status"], "NOTPAY") << b_query.dump();

  // A's order is exactly as it was.
  const Order after = StoredOrder(a_.merchantno, no);
  EXPECT_EQ(after.status, OrderStatus::kSuccess);
  EXPECT_EQ(after.total_fee, before.total_fee);
  EXPECT_EQ(after.refunded_fee, 0);
  EXPECT_EQ(after.refund_count, 0);
  EXPECT_EQ(after.transaction_id, before.transaction_id);
  EXPECT_TRUE(store_->ListRefunds(a_.merchantno, no).value().empty());

  // And A still can.
  json refund =
      AsA("orderrefund",
          {{"out_trade_no", no}, {"out_refund_no", std::string("RA-1")}, {"refund_fee", 0.3}});
  EXPECT_EQ(refund.value("return_code", ""), "SUCCESS") << refund.dump();
  EXPECT_EQ(StoredOrder(a_.merchantno, no).refunded_fee, 30);
  EXPECT_EQ(StoredOrder(b_.merchantno, no).refunded_fee, 0);
  // B cannot query A's refund by its number either.
  ExpectFail(
      AsB("orderrefundquery", {{"out_trade_no", no}, {"out_refund_no", std::string("RA-1")}}),
      "REFUND_NOT_EXIST");
}

TEST_F(Tenancy, ReplayingAnotherMerchantsSignedRequestUnderYourNumberFails) {
  // A request A signed, replayed with merchantno changed to B: the signature
  // covers merchantno, so it no longer verifies with either key.
  Fields f{{"out_trade_no", std::string("X")}};
  f.Set("method", std::string("orderquery"));
  f.Set("merchantno", a_.merchantno);
  f.Set("timestamp", static_cast<double>(kNow));
  f.Set("signaturenonce", std::string("12345678"));
  f.Set("version", std::string("2.0"));
  Fields signed_by_a = WithSign(f, a_.key);
  signed_by_a.Set("merchantno", b_.merchantno);
  httplib::Client c("127.0.0.1", port_);
  auto res = c.Post("/api", signed_by_a.ToJson(), "application/json");
  ASSERT_TRUE(res);
  ExpectFail(json::parse(res->body), "SIGN_ERROR");
}

}  // namespace
}  // namespace vkspay::sandbox
