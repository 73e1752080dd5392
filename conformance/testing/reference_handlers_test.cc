// The reference handlers' bench options, through HTTP on free ports: learned
// orders, the orderquery call-back against a fake sandbox, fail rate, stalls,
// delay, serial handling, /stats. Timing is only ever checked as a lower
// bound (at least the configured wait); overlap is checked through the
// handler's own max_concurrent count, not the clock.
#include "reference_handlers.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/fields.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::conformance::testing {
namespace {

using nlohmann::json;

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";
constexpr char kMerchantNo[] = "10001";
constexpr char kAckBody[] = R"({"code":"SUCCESS","msg":"SUCCESS"})";

// The handlers' clock and the notifications' timestamps: fixed, so no
// notification is ever stale.
const FakeClock& TestClock() {
  static const FakeClock* clock = new FakeClock();
  return *clock;
}

HandlerOptions BenchOptions() {
  HandlerOptions o;
  o.learn_orders = true;
  o.clock = &TestClock();
  return o;
}

// A payment notification as the sandbox sends it, signed with kKey.
std::string Payment(const std::string& out_trade_no, const std::string& notify_id,
                    int64_t total_fee_fen = 1) {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = notify_id;
  c.merchantno = kMerchantNo;
  c.out_trade_no = out_trade_no;
  c.transaction_id = "4200001234202611281234567890";
  c.total_fee = total_fee_fen;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  const int64_t now = TestClock().NowSeconds();
  c.time_end = FormatDisplayTime(now);
  return EncodeForm(SignNotification(c, now, "12345678", kKey));
}

std::unique_ptr<ReferenceHandler> StartOrDie(HandlerOptions options) {
  auto h = ReferenceHandler::Start(std::move(options));
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? std::move(*h) : nullptr;
}

// POSTs body to the handler's /notify; returns the HTTP status (-1: transport
// error) and fills *answer with the body.
int Notify(httplib::Client& client, const std::string& body, std::string* answer = nullptr) {
  httplib::Result res = client.Post("/notify", body, "application/x-www-form-urlencoded");
  if (!res) return -1;
  if (answer) *answer = res->body;
  return res->status;
}

json State(const ReferenceHandler& h, const std::string& out_trade_no) {
  httplib::Client client("127.0.0.1", h.port());
  httplib::Result res = client.Get(("/state?out_trade_no=" + out_trade_no).c_str());
  if (!res || res->status != 200) return json();
  return json::parse(res->body, nullptr, false);
}

// A reference handler started for a test and a client of it, the setup of
// most tests below; Pay signs a payment notification and posts it.
class Started {
 public:
  explicit Started(HandlerOptions options)
      : handler_(StartOrDie(std::move(options))),
        client_("127.0.0.1", handler_ ? handler_->port() : 0) {}
  // False (and the test has failed) when the handler did not start.
  bool ok() const { return handler_ != nullptr; }
  const ReferenceHandler& handler() const { return *handler_; }
  HandlerStats stats() const { return handler_->stats(); }
  httplib::Client& client() { return client_; }

  // POSTs Payment(out_trade_no, notify_id, total_fee_fen) to /notify: the
  // HTTP status (-1: transport error), the body in *answer.
  int Pay(const std::string& out_trade_no, const std::string& notify_id,
          std::string* answer = nullptr, int64_t total_fee_fen = 1) {
    return Notify(client_, Payment(out_trade_no, notify_id, total_fee_fen), answer);
  }
  // POSTs `body` as it is (a tampered notification).
  int Post(const std::string& body) { return Notify(client_, body); }

 private:
  std::unique_ptr<ReferenceHandler> handler_;
  httplib::Client client_;
};

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

TEST(ReferenceHandlerLearnOrders, UnknownOrderIsLearnedAndProcessedOnce) {
  Started h(BenchOptions());
  ASSERT_TRUE(h.ok());
  std::string answer;
  EXPECT_EQ(h.Pay("BENCH-1", "N-1", &answer), 200);
  EXPECT_EQ(answer, kAckBody);
  json state = State(h.handler(), "BENCH-1");
  EXPECT_EQ(state["exists"], true);
  EXPECT_EQ(state["paid"], true);
  EXPECT_EQ(state["processed"], 1);
  // VksPay's retry of the same event: acked again, not processed again.
  EXPECT_EQ(h.Pay("BENCH-1", "N-1", &answer), 200);
  EXPECT_EQ(answer, kAckBody);
  EXPECT_EQ(State(h.handler(), "BENCH-1")["processed"], 1);
  const HandlerStats s = h.stats();
  EXPECT_EQ(s.received, 2);
  EXPECT_EQ(s.acked, 2);
  EXPECT_EQ(s.refused, 0);
}

TEST(ReferenceHandlerLearnOrders, WithoutItAnUnknownOrderIsRefused404) {
  HandlerOptions options = BenchOptions();
  options.learn_orders = false;
  Started h(options);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.Pay("BENCH-1", "N-1"), 404);
  EXPECT_EQ(State(h.handler(), "BENCH-1")["exists"], false);
  EXPECT_EQ(h.stats().refused, 1);
}

TEST(ReferenceHandlerLearnOrders, ABadSignIsStillRefusedAndNothingLearned) {
  Started h(BenchOptions());
  ASSERT_TRUE(h.ok());
  std::string body = Payment("BENCH-1", "N-1");
  body.replace(body.find("total_fee=0.01"), 14, "total_fee=0.02");
  EXPECT_EQ(h.Post(body), 400);
  EXPECT_EQ(State(h.handler(), "BENCH-1")["exists"], false);
}

TEST(ReferenceHandlerFailRate, FailsAboutTheFractionOnPurposeAndCountsThem) {
  HandlerOptions options = BenchOptions();
  options.fail_rate = 0.1;
  Started h(options);
  ASSERT_TRUE(h.ok());
  int failed = 0, acked = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string answer;
    const int status = h.Pay("BENCH-1", "N-" + std::to_string(i), &answer);
    if (status == 500) {
      ++failed;
      EXPECT_EQ(json::parse(answer, nullptr, false),
                (json{{"code", "FAIL"}, {"msg", "failing on purpose"}}));
    } else {
      EXPECT_EQ(status, 200);
      ++acked;
    }
  }
  EXPECT_GE(failed, 70);
  EXPECT_LE(failed, 130);
  // One per run of 10 (reference_handlers.h), not a coin toss per request.
  EXPECT_NEAR(failed, 100, 1);
  const HandlerStats s = h.stats();
  EXPECT_EQ(s.failed_on_purpose, failed);
  EXPECT_EQ(s.acked, acked);
  EXPECT_EQ(s.received, 1000);
}

TEST(ReferenceHandlerFailRate, TheSameSeedFailsTheSameNotifications) {
  auto statuses = [](uint64_t seed) {
    HandlerOptions options = BenchOptions();
    options.fail_rate = 0.5;
    options.seed = seed;
    Started h(options);
    std::vector<int> out;
    if (!h.ok()) return out;
    for (int i = 0; i < 64; ++i) {
      out.push_back(h.Pay("BENCH-1", "N-" + std::to_string(i)));
    }
    return out;
  };
  const std::vector<int> first = statuses(7);
  ASSERT_EQ(first.size(), 64u);
  EXPECT_EQ(statuses(7), first);
  EXPECT_NE(statuses(8), first);
}

TEST(ReferenceHandlerStall, EveryNthNotificationWaitsTheStall) {
  HandlerOptions options = BenchOptions();
  options.stall_every = 5;
  options.stall_ms = 200;
  Started h(options);
  ASSERT_TRUE(h.ok());
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(h.Pay("BENCH-1", "N-" + std::to_string(i)), 200);
  }
  EXPECT_EQ(h.stats().stalls, 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(h.Pay("BENCH-1", "N-5"), 200);
  EXPECT_GE(MillisSince(start), 200);
  EXPECT_EQ(h.stats().stalls, 1);
}

TEST(ReferenceHandlerDelay, AnswersNoSoonerThanTheDelay) {
  HandlerOptions options = BenchOptions();
  options.delay_ms = 30;
  Started h(options);
  ASSERT_TRUE(h.ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(h.Pay("BENCH-1", "N-1"), 200);
  EXPECT_GE(MillisSince(start), 30);
}

// Two notifications sent at once on two connections; returns the wall time
// of both in ms.
int64_t NotifyTwoAtOnce(const ReferenceHandler& h) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  std::vector<int> statuses(2, 0);
  for (size_t i = 0; i < 2; ++i) {
    senders.emplace_back([&h, &statuses, i] {
      httplib::Client client("127.0.0.1", h.port());
      statuses[i] = Notify(client, Payment("BENCH-" + std::to_string(i), "N-" + std::to_string(i)));
    });
  }
  for (std::thread& t : senders) t.join();
  EXPECT_EQ(statuses, (std::vector<int>{200, 200}));
  return MillisSince(start);
}

TEST(ReferenceHandlerSerial, HandlesOneNotificationAtATime) {
  HandlerOptions options = BenchOptions();
  options.serial = true;
  options.delay_ms = 100;
  Started h(options);
  ASSERT_TRUE(h.ok());
  EXPECT_GE(NotifyTwoAtOnce(h.handler()), 200);
  EXPECT_EQ(h.stats().max_concurrent, 1);
}

TEST(ReferenceHandlerSerial, WithoutItNotificationsOverlap) {
  HandlerOptions options = BenchOptions();
  // Long enough that the second request arrives while the first waits, even
  // on a loaded machine.
  options.delay_ms = 300;
  Started h(options);
  ASSERT_TRUE(h.ok());
  NotifyTwoAtOnce(h.handler());
  EXPECT_EQ(h.stats().max_concurrent, 2);
}

TEST(ReferenceHandlerStats, StatsRouteAnswersTheCounts) {
  HandlerOptions options = BenchOptions();
  options.learn_orders = false;
  Started h(options);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.Pay("BENCH-1", "N-1"), 404);
  httplib::Result res = h.client().Get("/stats");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body, nullptr, false), (json{{"received", 1},
                                                          {"acked", 0},
                                                          {"refused", 1},
                                                          {"failed_on_purpose", 0},
                                                          {"stalls", 0},
                                                          {"orderqueries", 0},
                                                          {"orderquery_errors", 0},
                                                          {"max_concurrent", 1}}));
}

TEST(ReferenceHandlerOptions, StartRefusesOutOfRangeOptionsNamingThem) {
  HandlerOptions options = BenchOptions();
  options.fail_rate = 1.5;
  auto h = ReferenceHandler::Start(options);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(h.status().message().rfind("fail_rate: expected a fraction from 0 to 1", 0), 0u)
      << h.status().message();

  options = BenchOptions();
  options.threads = 0;
  h = ReferenceHandler::Start(options);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), "threads: expected 1 to 1024, got 0");

  options = BenchOptions();
  options.orderquery_url = "https://127.0.0.1:8080/api";
  h = ReferenceHandler::Start(options);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(h.status().message().rfind("orderquery_url: expected http://HOST:PORT/PATH", 0), 0u)
      << h.status().message();
}

// A stand-in for the sandbox's POST /api that answers orderquery from a table
// and keeps every request it saw.
class FakeSandbox {
 public:
  FakeSandbox() {
    server_.Post("/api", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      content_types_.push_back(req.get_header_value("Content-Type"));
      StatusOr<Fields> f = ParseFlatJson(req.body);
      const Value* no = f.ok() ? f->Find("out_trade_no") : nullptr;
      auto it = no ? answers_.find(JsString(*no)) : answers_.end();
      res.set_content(it != answers_.end() ? it->second.dump()
                                           : json{{"return_code", "FAIL"},
                                                  {"err_code", "ORDER_NOT_EXIST"},
                                                  {"return_msg", "订单不存在"}}
                                                 .dump(),
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~FakeSandbox() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api"; }
  void Answer(const std::string& out_trade_no, json answer) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[out_trade_no] = std::move(answer);
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> content_types() {
    std::lock_guard<std::mutex> lock(mu_);
    return content_types_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, json> answers_;     // guarded by mu_
  std::vector<std::string> bodies_;         // guarded by mu_
  std::vector<std::string> content_types_;  // guarded by mu_
};

// The sandbox's orderquery answer for an order in `status` (docs/protocol.md:
// SUCCESS only when paid).
json OrderQueryAnswer(const std::string& out_trade_no, const std::string& status,
                      double total_fee) {
  const bool paid = status == "SUCCESS" || status == "REFUND";
  json data = {{"merchantno", kMerchantNo}, {"out_trade_no", out_trade_no},
               {"total_fee", total_fee},    {"status", status},
               {"pay_chnl", "wxpay"},       {"transaction_id", paid ? "4200001234" : ""}};
  json answer = {{"return_code", paid ? "SUCCESS" : "FAIL"},
                 {"return_msg", paid ? "查询成功" : "订单未支付"},
                 {"data", data}};
  if (!paid) answer["err_code"] = "ORDER_NOT_PAID";
  return answer;
}

TEST(ReferenceHandlerOrderQuery, AcksOnlyWhatTheSandboxConfirmsPaid) {
  FakeSandbox sandbox;
  sandbox.Answer("PAID-1", OrderQueryAnswer("PAID-1", "SUCCESS", 0.01));
  sandbox.Answer("UNPAID-1", OrderQueryAnswer("UNPAID-1", "NOTPAY", 0.01));
  HandlerOptions options = BenchOptions();
  options.orderquery_url = sandbox.url();
  Started h(options);
  ASSERT_TRUE(h.ok());

  std::string answer;
  EXPECT_EQ(h.Pay("PAID-1", "N-1", &answer), 200);
  EXPECT_EQ(answer, kAckBody);
  EXPECT_EQ(State(h.handler(), "PAID-1")["processed"], 1);
  EXPECT_EQ(h.Pay("UNPAID-1", "N-2", &answer), 500);
  const json refusal = json::parse(answer, nullptr, false);
  EXPECT_EQ(refusal.value("code", ""), "FAIL");
  EXPECT_NE(refusal.value("msg", "").find("NOTPAY"), std::string::npos) << answer;
  EXPECT_EQ(State(h.handler(), "UNPAID-1")["exists"], false);

  HandlerStats s = h.stats();
  EXPECT_EQ(s.orderqueries, 2);
  EXPECT_EQ(s.orderquery_errors, 1);

  const std::vector<std::string> bodies = sandbox.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  std::set<std::string> nonces;
  const std::string expected_nos[] = {"PAID-1", "UNPAID-1"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    SCOPED_TRACE(bodies[i]);
    StatusOr<Fields> f = ParseFlatJson(bodies[i]);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE(VerifySign(*f, kKey).ok()) << VerifySign(*f, kKey).ToString();
    ASSERT_NE(f->Find("method"), nullptr);
    EXPECT_EQ(JsString(*f->Find("method")), "orderquery");
    EXPECT_EQ(JsString(*f->Find("merchantno")), kMerchantNo);
    EXPECT_EQ(JsString(*f->Find("out_trade_no")), expected_nos[i]);
    EXPECT_EQ(JsString(*f->Find("version")), "2.0");
    const Value* ts = f->Find("timestamp");
    ASSERT_NE(ts, nullptr);
    ASSERT_TRUE(std::holds_alternative<double>(*ts)) << "timestamp must be a JSON number";
    EXPECT_EQ(std::get<double>(*ts), static_cast<double>(TestClock().NowSeconds()));
    const std::string nonce = JsString(*f->Find("signaturenonce"));
    EXPECT_TRUE(std::regex_match(nonce, std::regex("[1-9]{8}"))) << nonce;
    nonces.insert(nonce);
  }
  EXPECT_EQ(nonces.size(), 2u);
  for (const std::string& type : sandbox.content_types()) {
    EXPECT_EQ(type, "application/json; charset=utf-8");
  }

  // A repeat of an event already processed is acked from the order book.
  EXPECT_EQ(h.Pay("PAID-1", "N-1"), 200);
  EXPECT_EQ(h.stats().orderqueries, 2);
}

TEST(ReferenceHandlerOrderQuery, AnotherAmountThanTheNotificationsIsRetried) {
  FakeSandbox sandbox;
  sandbox.Answer("PAID-2", OrderQueryAnswer("PAID-2", "SUCCESS", 0.02));
  HandlerOptions options = BenchOptions();
  options.orderquery_url = sandbox.url();
  Started h(options);
  ASSERT_TRUE(h.ok());
  std::string answer;
  EXPECT_EQ(h.Pay("PAID-2", "N-1", &answer, /*total_fee_fen=*/1), 500);
  EXPECT_NE(answer.find("data.total_fee 0.02 is not the notification's 0.01"), std::string::npos)
      << answer;
  EXPECT_EQ(State(h.handler(), "PAID-2")["exists"], false);
  EXPECT_EQ(h.stats().orderquery_errors, 1);
}

TEST(ReferenceHandlerOrderQuery, AnUnreachableSandboxIsRetried) {
  std::string url;
  {
    FakeSandbox gone;  // a port that was free a moment ago, now closed
    url = gone.url();
  }
  HandlerOptions options = BenchOptions();
  options.orderquery_url = url;
  Started h(options);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.Pay("PAID-1", "N-1"), 500);
  const HandlerStats s = h.stats();
  EXPECT_EQ(s.orderqueries, 1);
  EXPECT_EQ(s.orderquery_errors, 1);
  EXPECT_EQ(s.refused, 1);
}

TEST(ReferenceHandlerPaths, ServesNotificationsAndStateWhereTold) {
  HandlerOptions options = BenchOptions();
  options.notify_path = "/pay/notify";
  options.state_path = "/test/order-state";
  auto h = StartOrDie(options);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->notify_url(), "http://127.0.0.1:" + std::to_string(h->port()) + "/pay/notify");
  EXPECT_EQ(h->state_url(),
            "http://127.0.0.1:" + std::to_string(h->port()) + "/test/order-state");
  httplib::Client client("127.0.0.1", h->port());
  EXPECT_EQ(Notify(client, Payment("BENCH-9", "N-9")), 404);  // not at /notify
  httplib::Result res =
      client.Post("/pay/notify", Payment("BENCH-9", "N-9"),
                  "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = client.Get("/test/order-state?out_trade_no=BENCH-9");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["processed"], 1) << res->body;
}

TEST(ReferenceHandlerPaths, ABadPathIsRefusedNamingTheOption) {
  for (const auto& [notify, state] : std::vector<std::pair<std::string, std::string>>{
           {"pay/notify", "/state"}, {"/notify", "/state?x"}, {"", "/state"},
           {"/same", "/same"}, {"/notify", "/stats"}}) {
    HandlerOptions options;
    options.notify_path = notify;
    options.state_path = state;
    auto h = ReferenceHandler::Start(options);
    ASSERT_FALSE(h.ok()) << notify << " " << state;
    EXPECT_EQ(h.status().code(), vkspay::ErrorCode::kInvalidField);
    EXPECT_NE(h.status().message().find("_path"), std::string::npos) << h.status().ToString();
  }
}

}  // namespace
}  // namespace vkspay::conformance::testing
