// The fault control routes on a real httplib server bound to port 0.
#include "sandbox/control/faults_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

class FaultRoutesTest : public testing::Test {
 protected:
  void SetUp() override {
    FaultEngineOptions o;
    o.seed = 1;
    o.profiles_dir = std::string(VKSPAY_FIXTURES_DIR) + "/faults";
    engine_ = std::make_unique<FaultEngine>(clock_, o);
    RegisterFaultRoutes(server_, *engine_, [](const httplib::Request& req) {
      return req.get_header_value("Authorization") == "Bearer t0ken";
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // listen_after_bind accepts on the bound socket; wait until it is running.
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    c.set_default_headers({{"Authorization", "Bearer t0ken"}});
    return c;
  }
  // Sends and checks the status; answers the parsed body.
  json Call(const std::string& method, const std::string& path, const std::string& body,
            int want_status) {
    httplib::Client c = Client();
    httplib::Result res = method == "GET"      ? c.Get(path)
                          : method == "DELETE" ? c.Delete(path)
                                               : c.Post(path, body, "application/json");
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) return json();
    EXPECT_EQ(res->status, want_status) << method << " " << path << ": " << res->body;
    json j = json::parse(res->body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << res->body;
    return j;
  }

  FakeClock clock_;
  std::unique_ptr<FaultEngine> engine_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(FaultRoutesTest, AddListDeleteRule) {
  json added = Call("POST", "/_sandbox/faults/rules",
                    R"({"id":"r1","action":{"kind":"pay.fail"},"probability":0.5})", 200);
  EXPECT_EQ(added, json::parse(R"({"ok":true,"id":"r1"})"));
  json list = Call("GET", "/_sandbox/faults/rules", "", 200);
  EXPECT_EQ(list["ok"], true);
  EXPECT_EQ(list["profile"], "strict");
  ASSERT_EQ(list["rules"].size(), 1u);
  EXPECT_EQ(list["rules"][0]["id"], "r1");
  EXPECT_EQ(list["rules"][0]["action"]["kind"], "pay.fail");
  EXPECT_EQ(list["rules"][0]["probability"], 0.5);
  EXPECT_EQ(list["rules"][0]["source"], "rule");
  EXPECT_EQ(list["rules"][0]["fired"], 0);
  EXPECT_EQ(Call("DELETE", "/_sandbox/faults/rules/r1", "", 200), json::parse(R"({"ok":true})"));
  json gone = Call("DELETE", "/_sandbox/faults/rules/r1", "", 404);
  EXPECT_EQ(
      gone,
      json::parse(
          R"({"ok":false,"err_code":"NOT_FOUND","message":"no runtime rule with id \"r1\""})"));
}

TEST_F(FaultRoutesTest, GeneratedIdsAreReturned) {
  EXPECT_EQ(Call("POST", "/_sandbox/faults/rules", R"({"action":{"kind":"pay.fail"}})", 200)["id"],
            "rule-1");
}

TEST_F(FaultRoutesTest, BadRuleNamesThePath) {
  json j = Call("POST", "/_sandbox/faults/rules",
                R"({"action":{"kind":"api.delay","params":{"ms":-1}}})", 400);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["err_code"], "INVALID_FIELD");
  EXPECT_EQ(j["message"], "rule.action.params.ms: expected an integer in [0, 600000], got -1");
  json dup1 =
      Call("POST", "/_sandbox/faults/rules", R"({"id":"d","action":{"kind":"pay.fail"}})", 200);
  json dup2 =
      Call("POST", "/_sandbox/faults/rules", R"({"id":"d","action":{"kind":"pay.fail"}})", 400);
  EXPECT_EQ(dup2["message"], "rule.id: duplicate id \"d\"");
  EXPECT_EQ(Call("POST", "/_sandbox/faults/rules", "[1]", 400)["err_code"], "INVALID_JSON");
}

TEST_F(FaultRoutesTest, GuardRefusal) {
  httplib::Client c("127.0.0.1", port_);
  httplib::Result res = c.Get("/_sandbox/faults/rules");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["err_code"], "UNAUTHORIZED");
}

TEST_F(FaultRoutesTest, LogSinceSeq) {
  Call("POST", "/_sandbox/faults/rules", R"({"id":"f","action":{"kind":"pay.fail"}})", 200);
  FaultContext ctx;
  ctx.method = "webpay";
  ctx.merchantno = "10001";
  ctx.out_trade_no = "T-9";
  for (int i = 0; i < 3; ++i) engine_->Decide(FaultHook::kPayment, ctx);
  json all = Call("GET", "/_sandbox/faults/log", "", 200);
  EXPECT_EQ(all["last_seq"], 3);
  ASSERT_EQ(all["faults"].size(), 3u);
  EXPECT_EQ(all["faults"][0]["rule_id"], "f");
  EXPECT_EQ(all["faults"][0]["kind"], "pay.fail");
  EXPECT_EQ(all["faults"][0]["out_trade_no"], "T-9");
  json since = Call("GET", "/_sandbox/faults/log?since_seq=2", "", 200);
  ASSERT_EQ(since["faults"].size(), 1u);
  EXPECT_EQ(since["faults"][0]["seq"], 3);
  json bad = Call("GET", "/_sandbox/faults/log?since_seq=-1", "", 400);
  EXPECT_EQ(bad["message"], "since_seq must be an integer in [0, 9223372036854775807], got \"-1\"");
}

TEST_F(FaultRoutesTest, ProfileSetGetAndClear) {
  json set = Call("POST", "/_sandbox/faults/profile", R"({"name":"realistic"})", 200);
  EXPECT_EQ(set, json::parse(R"({"ok":true,"profile":"realistic"})"));
  json got = Call("GET", "/_sandbox/faults/profile", "", 200);
  EXPECT_EQ(got["profile"], "realistic");
  EXPECT_EQ(got["profiles"][0], "strict");
  EXPECT_EQ(Call("GET", "/_sandbox/faults/rules", "", 200)["rules"].size(), 2u);
  json missing = Call("POST", "/_sandbox/faults/profile", R"({"name":"nope"})", 404);
  EXPECT_EQ(missing["err_code"], "NOT_FOUND");
  EXPECT_EQ(Call("POST", "/_sandbox/faults/profile", R"({})", 400)["err_code"], "MISSING_FIELD");
  json cleared = Call("POST", "/_sandbox/faults/clear", "", 200);
  EXPECT_EQ(cleared["profile"], "strict");
  EXPECT_TRUE(Call("GET", "/_sandbox/faults/rules", "", 200)["rules"].empty());
}

TEST_F(FaultRoutesTest, MerchantsListAndReset) {
  Call("POST", "/_sandbox/faults/rules",
       R"({"action":{"kind":"merchant.suspend_after","params":{"failures":1}}})", 200);
  FaultContext ctx;
  ctx.merchantno = "10001";
  EXPECT_TRUE(engine_->RecordDelivery(ctx, false));
  json list = Call("GET", "/_sandbox/faults/merchants", "", 200);
  EXPECT_EQ(list["suspended"], json::parse(R"([{"merchantno":"10001","consecutive_failures":1}])"));
  EXPECT_EQ(Call("POST", "/_sandbox/faults/merchants/10001/reset", "", 200)["was_suspended"], true);
  EXPECT_FALSE(engine_->IsSuspended("10001"));
}

TEST_F(FaultRoutesTest, MagicAmounts) {
  json j = Call("GET", "/_sandbox/faults/magic_amounts", "", 200);
  EXPECT_EQ(j["enabled"], true);
  ASSERT_EQ(j["amounts"].size(), 12u);
  EXPECT_EQ(j["amounts"][0]["amount"], "1001.01");
  EXPECT_EQ(j["amounts"][0]["directive"], "pay=fail");
}

}  // namespace
}  // namespace vkspay::sandbox
