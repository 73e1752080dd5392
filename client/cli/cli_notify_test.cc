// `vkspay listen`, `vkspay notifications`, `vkspay resend`, `vkspay orders`,
// `vkspay refunds` and `vkspay reset`, run in-process:
// listen against real HTTP on a free port, the others against a fake
// control API.
#include <gtest/gtest.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <mutex>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "fake_control.h"
#include "nlohmann/json.hpp"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"

namespace vkspay::client {
namespace {

using testing::FakeControl;

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

CliRun RunRaw(const std::vector<std::string>& all) {
  std::vector<const char*> argv;
  for (const std::string& s : all) argv.push_back(s.c_str());
  std::ostringstream out;
  std::ostringstream err;
  CliRun r;
  r.code = RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// --- listen ----------------------------------------------------------------

// A stream buffer that the listener's threads write and the test reads.
class SyncBuf : public std::streambuf {
 public:
  std::string str() const {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    std::lock_guard<std::mutex> lock(mu_);
    data_.push_back(static_cast<char>(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    data_.append(s, static_cast<size_t>(n));
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::string data_;  // guarded by mu_
};

// Runs `vkspay ... listen ...` on a thread until Stop() sends it SIGTERM.
class ListenRun {
 public:
  explicit ListenRun(std::vector<std::string> args) : args_(std::move(args)) {
    thread_ = std::thread([this] {
      std::vector<const char*> argv;
      for (const std::string& s : args_) argv.push_back(s.c_str());
      std::ostream out(&out_);
      std::ostream err(&err_);
      code_ = RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
    });
  }
  ~ListenRun() {
    if (thread_.joinable()) Stop();
  }

  // Waits for the ready line (at most 10 s) and returns the port it names, or
  // -1 if the command ended or never got ready.
  int WaitReady() {
    const std::string marker = "listening on http://127.0.0.1:";
    for (int i = 0; i < 10'000; ++i) {
      // The ready line is on stdout, or on stderr with --json.
      for (const std::string& s : {out_.str(), err_.str()}) {
        size_t at = s.find(marker);
        if (at != std::string::npos && s.find('\n', at) != std::string::npos) {
          return std::stoi(s.substr(at + marker.size()));
        }
      }
      if (!err_.str().empty()) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return -1;
  }
  // SIGTERM to the command's own thread (SIGTERM is blocked there, so
  // sigwait takes it; no other thread of the test sees it), then join.
  int Stop() {
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
    return code_;
  }
  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }

 private:
  std::vector<std::string> args_;
  SyncBuf out_;
  SyncBuf err_;
  int code_ = -1;
  std::thread thread_;
};

NotificationContent Payment(std::string notify_id) {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = std::move(notify_id);
  c.merchantno = "10001";
  c.out_trade_no = "P1";
  c.transaction_id = "T1";
  c.total_fee = 1230;
  c.pay_chnl = "alipay";
  c.status = "SUCCESS";
  c.time_end = "2025-11-28 10:26:01";
  return c;
}

int PostNotification(int port, const std::string& body, const std::string& path = "/hook") {
  httplib::Client c("127.0.0.1", port);
  httplib::Result r = c.Post(path, body, "application/x-www-form-urlencoded");
  return r ? r->status : 0;
}

TEST(CliListen, PrintsReadyLineEachNotificationAndStatsOnSigterm) {
  ListenRun run({"vkspay", "--merchantno", "10001", "--key", kKey, "listen", "--port", "0",
                 "--path", "/hook", "--fail-first", "1"});
  const int port = run.WaitReady();
  ASSERT_GT(port, 0) << run.out() << run.err();
  const std::string body = EncodeForm(SignNotification(Payment("N1"), 1764296761, "1", kKey));
  EXPECT_EQ(PostNotification(port, body), 500);  // --fail-first 1
  EXPECT_EQ(PostNotification(port, body), 200);
  EXPECT_EQ(PostNotification(port, EncodeForm(SignNotification(Payment("N2"), 1, "1", "bad"))),
            400);
  EXPECT_EQ(run.Stop(), kExitOk) << run.err();

  std::istringstream lines(run.out());
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "vkspay listen: listening on http://127.0.0.1:" + std::to_string(port) +
                      "/hook (merchant 10001)");
  std::vector<std::string> events;
  std::string last;
  while (std::getline(lines, line)) {
    if (line.find("notify_id=") != std::string::npos) events.push_back(line);
    last = line;
  }
  ASSERT_EQ(events.size(), 3u) << run.out();
  EXPECT_NE(
      events[0].find("  payment  P1  12.3  alipay  notify_id=N1  VERIFIED  -> fail 500 (fail-500)"),
      std::string::npos)
      << events[0];
  EXPECT_NE(events[1].find("VERIFIED attempt=2  -> ack 200"), std::string::npos) << events[1];
  EXPECT_NE(events[2].find("notify_id=N2  INVALID (SIGN_ERROR: "), std::string::npos) << events[2];
  EXPECT_EQ(last,
            "vkspay listen: stopped (SIGTERM): received 3, verified 2, invalid 1, acked 1, "
            "failed 1, duplicates 0, unique 1");
}

TEST(CliListen, JsonPrintsOneObjectPerNotificationAndStatsAtTheEnd) {
  ListenRun run({"vkspay", "--merchantno", "10001", "--key", kKey, "listen", "--port", "0",
                 "--json", "--fail", "wrong-body"});
  const int port = run.WaitReady();
  ASSERT_GT(port, 0) << run.out() << run.err();
  const std::string body = EncodeForm(SignNotification(Payment("N1"), 1764296761, "1", kKey));
  EXPECT_EQ(PostNotification(port, body, "/notify"), 200);
  EXPECT_EQ(run.Stop(), kExitOk) << run.err();
  // Regression (issue #14): the human ready line was the first line of
  // stdout, so `vkspay listen --json | jq` failed; it is on stderr now.
  EXPECT_EQ(run.err().rfind("vkspay listen: listening on http://127.0.0.1:", 0), 0u) << run.err();
  std::istringstream lines(run.out());
  std::string event, stats, extra;
  std::getline(lines, event);
  std::getline(lines, stats);
  EXPECT_FALSE(std::getline(lines, extra)) << "unexpected third stdout line: " << extra;
  nlohmann::json e = nlohmann::json::parse(event, nullptr, false);
  ASSERT_TRUE(e.is_object()) << run.out();
  EXPECT_EQ(e["out_trade_no"], "P1");
  EXPECT_EQ(e["total_fee"], "12.3");
  EXPECT_EQ(e["verified"], true);
  EXPECT_EQ(e["answered"], "wrong-body");
  EXPECT_EQ(e["acked"], false);
  nlohmann::json s = nlohmann::json::parse(stats, nullptr, false);
  ASSERT_TRUE(s.is_object()) << stats;
  EXPECT_EQ(s["stats"]["failed"], 1);
  EXPECT_EQ(s["stats"]["received"], 1);
}

TEST(CliListen, QuietPrintsOnlyReadyAndStats) {
  ListenRun run({"vkspay", "--key", kKey, "listen", "--port", "0", "--quiet"});
  const int port = run.WaitReady();
  ASSERT_GT(port, 0) << run.err();
  PostNotification(port, EncodeForm(SignNotification(Payment("N1"), 1, "1", kKey)));
  EXPECT_EQ(run.Stop(), kExitOk);
  EXPECT_EQ(run.out().find("notify_id="), std::string::npos) << run.out();
  EXPECT_NE(run.out().find("received 1, verified 1"), std::string::npos) << run.out();
}

TEST(CliListen, ExtraMerchantKeysAreAccepted) {
  ListenRun run({"vkspay", "--key", kKey, "listen", "--port", "0", "--merchant-key", "20002=k2"});
  const int port = run.WaitReady();
  ASSERT_GT(port, 0) << run.err();
  NotificationContent c = Payment("N1");
  c.merchantno = "20002";
  EXPECT_EQ(PostNotification(port, EncodeForm(SignNotification(c, 1, "1", "k2"))), 200);
  EXPECT_EQ(run.Stop(), kExitOk);
  EXPECT_NE(run.out().find("(merchants 10001, 20002)"), std::string::npos) << run.out();
}

TEST(CliListen, UnknownFailModeIsUsage) {
  CliRun r = RunRaw({"vkspay", "listen", "--fail", "sometimes"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST(CliListen, FailRateAboveOneIsUsage) {
  CliRun r = RunRaw({"vkspay", "listen", "--fail-rate", "1.5"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST(CliListen, BadForwardUrlIsUsage) {
  CliRun r = RunRaw({"vkspay", "listen", "--port", "0", "--forward-to", "localhost:3000"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err.rfind("vkspay: INVALID_FIELD: forward_to", 0), 0u) << r.err;
}

TEST(CliListen, BadMerchantKeyIsUsage) {
  CliRun r = RunRaw({"vkspay", "listen", "--port", "0", "--merchant-key", "20002"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST(CliListen, PortInUseIsExitOne) {
  httplib::Server busy;
  const int port = busy.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  CliRun r = RunRaw({"vkspay", "listen", "--port", std::to_string(port)});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err.rfind("vkspay: SYSTEM_ERROR: ", 0), 0u) << r.err;
}

// --- notifications / resend ------------------------------------------------

// Both records leave their closing brace to the test, which may add attempt_log.
constexpr char kRecord41[] =
    R"({"id":41,"notify_id":"N1","type":"payment","merchantno":"10001","out_trade_no":"P1",)"
    R"("out_refund_no":"","notify_url":"http://127.0.0.1:9000/notify",)"
    R"("delivered_to":"http://127.0.0.1:9000/notify","state":"failed","attempts":4,)"
    R"("total_attempts":4,"next_attempt_at":"","next_attempt_us":0,)"
    R"("created_at":"2025-11-28 10:26:01","acked_at":"","last_error":"HTTP 500",)"
    R"("payload":{"notify_type":"payment","out_trade_no":"P1","total_fee":"0.01"})";

constexpr char kRecord42[] =
    R"({"id":42,"notify_id":"N2","type":"refund","merchantno":"10001","out_trade_no":"P1",)"
    R"("out_refund_no":"R1","notify_url":"http://shop.example/notify",)"
    R"("delivered_to":"http://127.0.0.1:9000/notify","state":"acked","attempts":1,)"
    R"("total_attempts":4,"next_attempt_at":null,"next_attempt_us":null,)"
    R"("created_at":"2025-11-28 10:26:02","acked_at":"2025-11-28 10:26:02","last_error":null,)"
    R"("payload":{})";

class CliControlTest : public ::testing::Test {
 protected:
  CliRun Vkspay(std::initializer_list<std::string> args) {
    std::vector<std::string> all = {"vkspay", "--base-url", fake_.base_url(), "--control-token",
                                    "t0k"};
    all.insert(all.end(), args.begin(), args.end());
    return RunRaw(all);
  }
  FakeControl fake_;
};

TEST_F(CliControlTest, NotificationsListsATableWithTheFilterInTheQuery) {
  fake_.Route("GET /_sandbox/notifications", std::string(R"({"ok":true,"notifications":[)") +
                                                 kRecord41 + "}," + kRecord42 + "}]}");
  CliRun r = Vkspay({"notifications", "--order", "P1", "--state", "failed", "--limit", "5"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const auto call = fake_.last();
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.path, "/_sandbox/notifications");
  EXPECT_EQ(call.target,
            "/_sandbox/notifications?merchantno=10001&out_trade_no=P1&state=failed&limit=5");
  EXPECT_EQ(call.authorization, "Bearer t0k");
  EXPECT_EQ(r.out,
            "ID  TYPE     OUT_TRADE_NO  STATE   ATTEMPTS  NEXT/ACKED           LAST_ERROR\n"
            "41  payment  P1            failed  4/4       -                    HTTP 500\n"
            "42  refund   P1 (R1)       acked   1/4       2025-11-28 10:26:02  -\n");
}

TEST_F(CliControlTest, NotificationsWithoutFiltersSendsOnlyTheMerchant) {
  fake_.Route("GET /_sandbox/notifications", R"({"ok":true,"notifications":[]})");
  CliRun r = Vkspay({"--merchantno", "20002", "notifications"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().target, "/_sandbox/notifications?merchantno=20002");
  EXPECT_EQ(r.out, "no notifications\n");
}

TEST_F(CliControlTest, NotificationsJsonPrintsTheRawAnswer) {
  const std::string answer = R"({"ok":true,"notifications":[]})";
  fake_.Route("GET /_sandbox/notifications", answer);
  CliRun r = Vkspay({"notifications", "--json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, answer + "\n");
}

TEST_F(CliControlTest, NotificationDetailShowsEveryAttempt) {
  std::string detail = kRecord41;
  detail += R"(,"attempt_log":[)"
            R"({"n":1,"at":"2025-11-28 10:26:01","at_us":1764296761000000,)"
            R"("url":"http://127.0.0.1:9000/notify","http_status":500,"latency_ms":3.4,)"
            R"("response_head":"{\"code\":\"FAIL\"}","error":"","acked":false},)"
            R"({"n":2,"at":"2025-11-28 10:26:16","at_us":1764296776000000,)"
            R"("url":"http://127.0.0.1:9000/notify","http_status":0,"latency_ms":5000,)"
            R"("response_head":"","error":"timeout after 5000 ms","acked":false}]})";
  fake_.Route("GET /_sandbox/notifications/41", R"({"ok":true,"notification":)" + detail + "}");
  CliRun r = Vkspay({"notifications", "41"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().target, "/_sandbox/notifications/41");
  EXPECT_EQ(fake_.last().authorization, "Bearer t0k");
  EXPECT_NE(r.out.find("state           failed\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("attempts        4/4\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("last_error      HTTP 500\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("delivered_to"), std::string::npos) << r.out;  // same as notify_url
  EXPECT_NE(r.out.find("  1  2025-11-28 10:26:01  http://127.0.0.1:9000/notify  500   3.4 ms     "
                       "failed  {\"code\":\"FAIL\"}\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  2  2025-11-28 10:26:16  http://127.0.0.1:9000/notify  -     5000.0 ms  "
                       "failed  timeout after 5000 ms\n"),
            std::string::npos)
      << r.out;
}

TEST_F(CliControlTest, UnknownNotificationIsTheControlError) {
  fake_.Route("GET /_sandbox/notifications/999",
              R"({"ok":false,"err_code":"NOT_FOUND","message":"没有通知 999"})", 404);
  CliRun r = Vkspay({"notifications", "999"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "vkspay: NOT_FOUND: 没有通知 999\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CliControlTest, MissingTokenIsUnauthorized) {
  fake_.Route("GET /_sandbox/notifications",
              R"({"ok":false,"err_code":"UNAUTHORIZED","message":"需要控制接口令牌"})", 401);
  CliRun r = Vkspay({"notifications"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "vkspay: UNAUTHORIZED: 需要控制接口令牌\n");
}

TEST_F(CliControlTest, ResendOnePostsToItsResendPath) {
  fake_.Route("POST /_sandbox/notifications/42/resend",
              std::string(R"({"ok":true,"notification":)") + kRecord42 + "}}");
  CliRun r = Vkspay({"resend", "42"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().method, "POST");
  EXPECT_EQ(fake_.last().path, "/_sandbox/notifications/42/resend");
  EXPECT_EQ(fake_.last().authorization, "Bearer t0k");
  EXPECT_EQ(r.out.rfind("resent notification 42\nid              42\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("delivered_to    http://127.0.0.1:9000/notify\n"), std::string::npos)
      << r.out;
}

TEST_F(CliControlTest, ResendFailedSinceSendsStateAndSince) {
  fake_.Route("POST /_sandbox/notifications/resend", R"({"ok":true,"resent":3})");
  CliRun r = Vkspay({"resend", "--failed", "--since", "1764296000"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().path, "/_sandbox/notifications/resend");
  EXPECT_EQ(fake_.last().body, R"({"state":"failed","since":1764296000})");
  EXPECT_EQ(fake_.last().authorization, "Bearer t0k");
  EXPECT_EQ(r.out, "resent 3 failed notifications\n");
}

TEST_F(CliControlTest, ResendFailedWithoutSinceSendsOnlyTheState) {
  fake_.Route("POST /_sandbox/notifications/resend", R"({"ok":true,"resent":1})");
  CliRun r = Vkspay({"resend", "--failed"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().body, R"({"state":"failed"})");
  EXPECT_EQ(r.out, "resent 1 failed notification\n");
}

TEST_F(CliControlTest, ResendNeedsAnIdOrFailed) {
  CliRun r = Vkspay({"resend"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(CliControlTest, ResendIdAndFailedAreExclusive) {
  CliRun r = Vkspay({"resend", "42", "--failed"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(CliControlTest, SinceNeedsFailed) {
  CliRun r = Vkspay({"resend", "42", "--since", "1"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(CliControlTest, UnknownStateIsUsage) {
  CliRun r = Vkspay({"notifications", "--state", "lost"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(fake_.calls().empty());
}

// --- orders / refunds / reset ------------------------------------------------

TEST_F(CliControlTest, OrdersListsATableWithTheFilterInTheQuery) {
  fake_.Route("GET /_sandbox/orders",
              R"({"ok":true,"orders":[{"merchantno":"10001","out_trade_no":"P2",)"
              R"("transaction_id":"T2","trade_type":"webpay","total_fee":1.5,"status":"REFUND",)"
              R"("pay_chnl":"wxpay","subject":"两件","body":"","attach":"",)"
              R"("time_create":"2025-11-28 10:25:30","time_expire":"","time_end":"",)"
              R"("refund_fee":0.5,"refund_count":1},)"
              R"({"merchantno":"10001","out_trade_no":"P1","status":"NOTPAY","total_fee":0.01}]})");
  CliRun r = Vkspay({"orders", "--status", "REFUND", "--limit", "5", "--offset", "2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const auto call = fake_.last();
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.path, "/_sandbox/orders");
  EXPECT_EQ(call.query.at("merchantno"), "10001");
  EXPECT_EQ(call.query.at("status"), "REFUND");
  EXPECT_EQ(call.query.at("limit"), "5");
  EXPECT_EQ(call.query.at("offset"), "2");
  EXPECT_EQ(call.authorization, "Bearer t0k");
  EXPECT_EQ(r.out,
            "OUT_TRADE_NO  STATUS  TOTAL_FEE  REFUNDED  PAY_CHNL  TIME_CREATE          SUBJECT\n"
            "P2            REFUND  1.5        0.5       wxpay     2025-11-28 10:25:30  两件\n"
            "P1            NOTPAY  0.01       -         -         -                    -\n");
}

TEST_F(CliControlTest, OrdersWithoutFiltersSendsOnlyTheMerchant) {
  fake_.Route("GET /_sandbox/orders", R"({"ok":true,"orders":[]})");
  CliRun r = Vkspay({"orders"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().target, "/_sandbox/orders?merchantno=10001");
  EXPECT_EQ(r.out, "no orders\n");
}

TEST_F(CliControlTest, OrdersWithAnOrderOfTheWrongShapeNamesIt) {
  fake_.Route("GET /_sandbox/orders", R"({"ok":true,"orders":[{"out_trade_no":"P1"}]})");
  CliRun r = Vkspay({"orders"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err.rfind("vkspay: INVALID_JSON: 应答字段 orders[0].status", 0), 0u) << r.err;
}

TEST_F(CliControlTest, OrdersUnknownStatusIsUsage) {
  CliRun r = Vkspay({"orders", "--status", "PAID"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(CliControlTest, RefundsListsTheOrdersRefunds) {
  fake_.Route("GET /_sandbox/refunds",
              R"({"ok":true,"refunds":[{"merchantno":"10001","out_trade_no":"P1",)"
              R"("out_refund_no":"R1","refund_fee":0.3,"status":"SUCCESS",)"
              R"("time_refund":"2025-11-28 10:30:00"}]})");
  CliRun r = Vkspay({"refunds", "P1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().target, "/_sandbox/refunds?merchantno=10001&out_trade_no=P1");
  EXPECT_EQ(r.out,
            "OUT_REFUND_NO  REFUND_FEE  STATUS   TIME_REFUND\n"
            "R1             0.3         SUCCESS  2025-11-28 10:30:00\n");
}

TEST_F(CliControlTest, RefundsOfAnUnknownOrderIsTheControlError) {
  fake_.Route("GET /_sandbox/refunds",
              R"({"ok":false,"err_code":"ORDER_NOT_EXIST","message":"no order P9"})", 404);
  CliRun r = Vkspay({"refunds", "P9"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "vkspay: ORDER_NOT_EXIST: no order P9\n");
}

TEST_F(CliControlTest, ResetPostsToResetWithTheToken) {
  fake_.Route("POST /_sandbox/reset", R"({"ok":true})");
  CliRun r = Vkspay({"reset"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().method, "POST");
  EXPECT_EQ(fake_.last().path, "/_sandbox/reset");
  EXPECT_EQ(fake_.last().authorization, "Bearer t0k");
  EXPECT_EQ(r.out, "reset: every order, refund and notification deleted\n");
}

TEST_F(CliControlTest, ClockShowsAdvancesAndResets) {
  fake_.Route("GET /_sandbox/clock",
              R"({"ok":true,"now":1700000000,"time":"2023-11-15 06:13:20","offset_s":0.0})");
  CliRun r = Vkspay({"clock"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "sandbox clock  2023-11-15 06:13:20 (unix 1700000000), offset 0 s\n");
  EXPECT_EQ(fake_.last().authorization, "Bearer t0k");

  fake_.Route("POST /_sandbox/clock/advance",
              R"({"ok":true,"now":1700003600,"time":"2023-11-15 07:13:20","offset_s":3600.0})");
  r = Vkspay({"clock", "advance", "3600"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().path, "/_sandbox/clock/advance");
  EXPECT_EQ(fake_.last().body, R"({"seconds":3600})");
  EXPECT_EQ(r.out, "sandbox clock  2023-11-15 07:13:20 (unix 1700003600), offset +3600 s\n");

  fake_.Route("POST /_sandbox/clock/reset", R"({"ok":true,"now":1700000000,)"
                                            R"("time":"2023-11-15 06:13:20","offset_s":0,"removed_s":3600})");
  r = Vkspay({"clock", "reset"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().path, "/_sandbox/clock/reset");
  EXPECT_EQ(r.out,
            "sandbox clock  2023-11-15 06:13:20 (unix 1700000000), offset 0 s (removed 3600 s)\n");
}

TEST_F(CliControlTest, ClockAdvanceNeedsAPositiveNumberAndSendsNothingElse) {
  const size_t before = fake_.calls().size();
  for (const char* bad : {"0", "-5", "soon"}) {
    CliRun r = Vkspay({"clock", "advance", bad});
    EXPECT_EQ(r.code, kExitUsage) << bad;
    EXPECT_NE(r.err.find("seconds"), std::string::npos) << r.err;
  }
  EXPECT_EQ(fake_.calls().size(), before);
}

TEST_F(CliControlTest, ResetRefusedIsTheControlError) {
  fake_.Route("POST /_sandbox/reset",
              R"({"ok":false,"err_code":"UNAUTHORIZED","message":"needs a token"})", 401);
  CliRun r = Vkspay({"reset"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "vkspay: UNAUTHORIZED: needs a token\n");
}

TEST_F(CliControlTest, SandboxWithoutTheEndpointIsNotFound) {
  // An httplib 404 without a JSON body: a sandbox that predates these routes.
  httplib::Server old;
  const int port = old.bind_to_any_port("127.0.0.1");
  std::thread t([&] { old.listen_after_bind(); });
  while (!old.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CliRun r =
      RunRaw({"vkspay", "--base-url", "http://127.0.0.1:" + std::to_string(port), "notifications"});
  old.stop();
  t.join();
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err.rfind("vkspay: NOT_FOUND: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace vkspay::client
