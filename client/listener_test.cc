// NotifyListener against real HTTP on 127.0.0.1, any free port.
#include "vkspay/client/listener.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"

namespace vkspay::client {
namespace {

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";
constexpr char kForm[] = "application/x-www-form-urlencoded";
// 2025-11-28 10:26:01 China time.
constexpr int64_t kNowMicros = 1'764'296'761'000'000;

NotificationContent Payment(std::string notify_id = "N1", std::string out_trade_no = "P1") {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = std::move(notify_id);
  c.merchantno = "10001";
  c.out_trade_no = std::move(out_trade_no);
  c.transaction_id = "T1";
  c.total_fee = 1;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2025-11-28 10:26:01";
  return c;
}

std::string Body(const NotificationContent& c, std::string_view key = kKey) {
  return EncodeForm(SignNotification(c, 1764296761, "12345678", key));
}

struct Answer {
  int status = 0;  // 0: no answer (transport error)
  std::string body;
  std::string content_type;
};

Answer PostTo(int port, const std::string& body, const std::string& path = "/notify",
              const std::string& content_type = kForm) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(std::chrono::seconds(10));
  httplib::Result r = c.Post(path, body, content_type);
  if (!r) return Answer{};
  return Answer{r->status, r->body, r->get_header_value("Content-Type")};
}

class ListenerTest : public ::testing::Test {
 protected:
  NotifyListenerOptions Options() {
    NotifyListenerOptions o;
    o.keys = {{"10001", kKey}};
    o.clock = &clock_;
    return o;
  }
  // Starts a listener with these options; port_ is its port.
  void Start(NotifyListenerOptions o) {
    listener_ = std::make_unique<NotifyListener>(std::move(o));
    StatusOr<int> port = listener_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
  }
  Answer Post(const std::string& body) { return PostTo(port_, body); }

  FakeClock clock_{kNowMicros};
  std::unique_ptr<NotifyListener> listener_;
  int port_ = 0;
};

TEST_F(ListenerTest, ValidNotificationIsAnsweredWithExactlyTheAck) {
  Start(Options());
  Answer a = Post(Body(Payment()));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, kNotifyAckBody);
  EXPECT_EQ(a.content_type, "application/json");
  NotifyListenerStats s = listener_->stats();
  EXPECT_EQ(s.received, 1);
  EXPECT_EQ(s.verified, 1);
  EXPECT_EQ(s.acked, 1);
  EXPECT_EQ(s.invalid, 0);
  EXPECT_EQ(s.unique, 1);
  EXPECT_EQ(s.acked_out_trade_nos, std::vector<std::string>{"P1"});
}

TEST_F(ListenerTest, InvalidSignatureIs400AndNeverAcked) {
  Start(Options());
  Answer a = Post(Body(Payment(), "some-other-key"));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.rfind(R"({"code":"FAIL","msg":"SIGN_ERROR: )", 0), 0u) << a.body;
  NotifyListenerStats s = listener_->stats();
  EXPECT_EQ(s.received, 1);
  EXPECT_EQ(s.invalid, 1);
  EXPECT_EQ(s.verified, 0);
  EXPECT_EQ(s.acked, 0);
  EXPECT_TRUE(s.acked_out_trade_nos.empty());
}

TEST_F(ListenerTest, UnknownMerchantIs400) {
  Start(Options());
  NotificationContent c = Payment();
  c.merchantno = "99999";
  Answer a = Post(Body(c));
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("UNKNOWN_MERCHANT"), std::string::npos) << a.body;
}

TEST_F(ListenerTest, KeysArePerMerchant) {
  NotifyListenerOptions o = Options();
  o.keys["20002"] = "key-of-20002";
  Start(std::move(o));
  NotificationContent c = Payment();
  c.merchantno = "20002";
  EXPECT_EQ(Post(Body(c, "key-of-20002")).status, 200);
  EXPECT_EQ(Post(Body(c, kKey)).status, 400);  // 10001's key does not sign for 20002
}

TEST_F(ListenerTest, JsonBodyIs400) {
  Start(Options());
  Answer a = PostTo(port_, SignNotification(Payment(), 1, "1", kKey).ToJson(), "/notify",
                    "application/json");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("INVALID_CONTENT_TYPE"), std::string::npos) << a.body;
}

TEST_F(ListenerTest, AcceptsAnyPath) {
  Start(Options());
  EXPECT_EQ(PostTo(port_, Body(Payment()), "/some/other/notify?x=1").status, 200);
}

TEST_F(ListenerTest, Fail500AnswersFiveHundredEveryTime) {
  NotifyListenerOptions o = Options();
  o.fail_mode = FailMode::kHttp500;
  Start(std::move(o));
  for (int i = 0; i < 3; ++i) {
    Answer a = Post(Body(Payment()));
    EXPECT_EQ(a.status, 500);
    EXPECT_FALSE(IsAckAnswer(a.status, a.body)) << a.body;
  }
  NotifyListenerStats s = listener_->stats();
  EXPECT_EQ(s.failed, 3);
  EXPECT_EQ(s.acked, 0);
  EXPECT_EQ(s.verified, 3);
}

TEST_F(ListenerTest, WrongBodyIs200WithABodyThatIsNotTheAck) {
  NotifyListenerOptions o = Options();
  o.fail_mode = FailMode::kWrongBody;
  Start(std::move(o));
  Answer a = Post(Body(Payment()));
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body, kNotifyAckBody);
  EXPECT_FALSE(IsAckAnswer(a.status, a.body)) << a.body;
  EXPECT_EQ(listener_->stats().failed, 1);
  EXPECT_EQ(listener_->stats().acked, 0);
}

TEST_F(ListenerTest, FailFirstTwoAcksTheThirdAttemptOfEachNotifyId) {
  NotifyListenerOptions o = Options();
  o.fail_first = 2;
  Start(std::move(o));
  EXPECT_EQ(Post(Body(Payment("N1"))).status, 500);
  EXPECT_EQ(Post(Body(Payment("N2", "P2"))).status, 500);  // its own count
  EXPECT_EQ(Post(Body(Payment("N1"))).status, 500);
  Answer third = Post(Body(Payment("N1")));
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.body, kNotifyAckBody);
  NotifyListenerStats s = listener_->stats();
  EXPECT_EQ(s.failed, 3);
  EXPECT_EQ(s.acked, 1);
  EXPECT_EQ(s.unique, 2);
  EXPECT_EQ(s.duplicates, 0);  // N1 had never been acked before its third attempt
}

TEST_F(ListenerTest, FailFirstUsesTheGivenFailMode) {
  NotifyListenerOptions o = Options();
  o.fail_first = 1;
  o.fail_mode = FailMode::kWrongBody;
  Start(std::move(o));
  Answer first = Post(Body(Payment()));
  EXPECT_EQ(first.status, 200);
  EXPECT_NE(first.body, kNotifyAckBody);
  EXPECT_EQ(Post(Body(Payment())).body, kNotifyAckBody);
}

// The statuses answered to N0..N29, each sent twice, by a listener with this
// seed and rate.
std::vector<int> FailRateSequence(uint64_t seed, double rate) {
  NotifyListenerOptions o;
  o.keys = {{"10001", kKey}};
  o.fail_rate = rate;
  o.seed = seed;
  NotifyListener l(o);
  StatusOr<int> port = l.Start();
  EXPECT_TRUE(port.ok()) << port.status().ToString();
  if (!port.ok()) return {};
  std::vector<int> out;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 30; ++i) {
      std::string id = "N" + std::to_string(i);
      out.push_back(PostTo(*port, Body(Payment(id, "P" + std::to_string(i)))).status);
    }
  }
  return out;
}

TEST(ListenerFailRate, SameSeedGivesTheSameSequence) {
  std::vector<int> a = FailRateSequence(42, 0.5);
  std::vector<int> b = FailRateSequence(42, 0.5);
  ASSERT_EQ(a.size(), 60u);
  EXPECT_EQ(a, b);
  const auto fails = std::count(a.begin(), a.end(), 500);
  // 60 draws at p=0.5: both outcomes occur (the sequence is fixed by the seed).
  EXPECT_GT(fails, 15);
  EXPECT_LT(fails, 45);
  EXPECT_EQ(std::count(a.begin(), a.end(), 200) + fails, 60);
}

TEST(ListenerFailRate, AnotherSeedGivesAnotherSequence) {
  EXPECT_NE(FailRateSequence(42, 0.5), FailRateSequence(43, 0.5));
}

TEST(ListenerFailRate, DrawDependsOnlyOnSeedNotifyIdAndAttempt) {
  EXPECT_EQ(FailDraw(7, "N1", 1), FailDraw(7, "N1", 1));
  EXPECT_NE(FailDraw(7, "N1", 1), FailDraw(7, "N1", 2));
  EXPECT_NE(FailDraw(7, "N1", 1), FailDraw(7, "N2", 1));
  EXPECT_NE(FailDraw(7, "N1", 1), FailDraw(8, "N1", 1));
  for (int i = 0; i < 1000; ++i) {
    double d = FailDraw(1, "N" + std::to_string(i), 1);
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
  }
}

TEST_F(ListenerTest, FailRateOneFailsEverythingAndZeroNothing) {
  NotifyListenerOptions o = Options();
  o.fail_rate = 1.0;
  Start(std::move(o));
  EXPECT_EQ(Post(Body(Payment())).status, 500);
}

TEST_F(ListenerTest, DuplicatesAreCountedByNotifyIdAckedBefore) {
  Start(Options());
  EXPECT_EQ(Post(Body(Payment("N1", "P1"))).status, 200);
  EXPECT_EQ(Post(Body(Payment("N1", "P1"))).status, 200);  // a retry after a lost ack
  EXPECT_EQ(Post(Body(Payment("N2", "P1"))).status, 200);  // another event of P1 (a refund)
  NotifyListenerStats s = listener_->stats();
  EXPECT_EQ(s.received, 3);
  EXPECT_EQ(s.acked, 3);
  EXPECT_EQ(s.duplicates, 1);
  EXPECT_EQ(s.unique, 2);
  EXPECT_EQ(s.acked_out_trade_nos, std::vector<std::string>{"P1"});
}

TEST_F(ListenerTest, StatsEndpointAnswersTheCounters) {
  Start(Options());
  Post(Body(Payment("N1", "P1")));
  Post(Body(Payment("N2", "P2")));
  Post(Body(Payment("N2", "P2")));
  Post(Body(Payment("N3", "P3"), "bad-key"));
  httplib::Client c("127.0.0.1", port_);
  httplib::Result r = c.Get("/_listen/stats");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            R"({"received":4,"verified":3,"invalid":1,"acked":3,"failed":0,"forward_errors":0,)"
            R"("duplicates":1,"unique":2,"acked_out_trade_nos":["P1","P2"]})");
}

TEST_F(ListenerTest, CallbackAndHumanLineDescribeEachNotification) {
  std::ostringstream out;
  NotifyListenerOptions o = Options();
  o.out = &out;
  Start(std::move(o));
  Post(Body(Payment("N1", "P1")));
  Post(Body(Payment("N1", "P1")));
  Post(Body(Payment("N3", "P3"), "bad-key"));
  listener_->Stop();  // joins: out is no longer written
  std::istringstream lines(out.str());
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_EQ(l1,
            "2025-11-28 10:26:01  payment  P1  0.01  wxpay  notify_id=N1  VERIFIED  -> ack 200");
  EXPECT_EQ(l2,
            "2025-11-28 10:26:01  payment  P1  0.01  wxpay  notify_id=N1  VERIFIED attempt=2 "
            "DUPLICATE  -> ack 200");
  EXPECT_EQ(l3.rfind("2025-11-28 10:26:01  payment  P3  0.01  wxpay  notify_id=N3  INVALID "
                     "(SIGN_ERROR: ",
                     0),
            0u)
      << l3;
  EXPECT_TRUE(l3.ends_with("  -> fail 400 (invalid)")) << l3;
}

TEST_F(ListenerTest, JsonLinesCarryEveryFieldAndTheOutcome) {
  std::ostringstream out;
  NotifyListenerOptions o = Options();
  o.out = &out;
  o.json = true;
  Start(std::move(o));
  Post(Body(Payment("N1", "P1")));
  listener_->Stop();
  nlohmann::json j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << out.str();
  EXPECT_EQ(j["out_trade_no"], "P1");
  EXPECT_EQ(j["notify_id"], "N1");
  EXPECT_EQ(j["total_fee"], "0.01");
  EXPECT_EQ(j["sign"].get<std::string>().size(), 32u);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["answered"], "ack");
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(j["received_at"], "2025-11-28 10:26:01");
}

TEST_F(ListenerTest, CallbackSeesTheTypedNotification) {
  std::mutex mu;
  std::vector<NotifyEvent> events;
  listener_ = std::make_unique<NotifyListener>(Options());
  listener_->set_callback([&](const NotifyEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  });
  StatusOr<int> port = listener_->Start();
  ASSERT_TRUE(port.ok());
  PostTo(*port, Body(Payment("N7", "P7")), "/hook");
  listener_->Stop();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].notification.has_value());
  EXPECT_EQ(events[0].notification->out_trade_no, "P7");
  EXPECT_EQ(events[0].notification->total_fee, 1);
  EXPECT_EQ(events[0].path, "/hook");
  EXPECT_TRUE(events[0].acked);
}

TEST_F(ListenerTest, StopReleasesAnswersHeldByTimeoutMode) {
  NotifyListenerOptions o = Options();
  o.fail_mode = FailMode::kTimeout;
  o.timeout = std::chrono::hours(1);
  std::promise<void> held;
  listener_ = std::make_unique<NotifyListener>(std::move(o));
  listener_->set_callback([&](const NotifyEvent&) { held.set_value(); });
  StatusOr<int> port = listener_->Start();
  ASSERT_TRUE(port.ok());
  auto answer = std::async(std::launch::async, [&] { return PostTo(*port, Body(Payment())); });
  held.get_future().wait();  // the handler is now holding the answer
  auto t0 = std::chrono::steady_clock::now();
  listener_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  Answer a = answer.get();
  EXPECT_NE(a.status, 200);
  EXPECT_EQ(listener_->stats().failed, 1);
}

// A second server standing in for the developer's app behind --forward-to.
class ForwardTarget {
 public:
  ForwardTarget() {
    server_.Post("/app/notify", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      content_types_.push_back(req.get_header_value("Content-Type"));
      res.status = status_;
      res.set_content(answer_, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ForwardTarget() {
    server_.stop();
    thread_.join();
  }
  void Answer(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    answer_ = std::move(body);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/app/notify"; }
  std::vector<std::string> bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> content_types() const {
    std::lock_guard<std::mutex> lock(mu_);
    return content_types_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;         // guarded by mu_
  std::vector<std::string> content_types_;  // guarded by mu_
  int status_ = 200;                        // guarded by mu_
  std::string answer_ = "success";          // guarded by mu_
};

TEST_F(ListenerTest, ForwardRelaysTheExactBodyAndTheTargetsAnswer) {
  ForwardTarget target;
  target.Answer(201, "relayed-from-app");
  NotifyListenerOptions o = Options();
  o.forward_to = target.url();
  Start(std::move(o));
  const std::string body = Body(Payment());
  const std::string ct = "application/x-www-form-urlencoded; charset=UTF-8";
  Answer a = PostTo(port_, body, "/notify", ct);
  EXPECT_EQ(a.status, 201);
  EXPECT_EQ(a.body, "relayed-from-app");
  EXPECT_EQ(a.content_type, "text/plain");
  ASSERT_EQ(target.bodies().size(), 1u);
  EXPECT_EQ(target.bodies()[0], body);
  EXPECT_EQ(target.content_types()[0], ct);
  EXPECT_EQ(listener_->stats().acked, 0);  // "relayed-from-app" is not an ack
  listener_->Stop();  // closes the kept-alive forward connection before target stops
}

TEST_F(ListenerTest, ForwardedAckCountsAsAcked) {
  ForwardTarget target;
  target.Answer(200, kNotifyAckBody);
  NotifyListenerOptions o = Options();
  o.forward_to = target.url();
  Start(std::move(o));
  EXPECT_EQ(Post(Body(Payment())).body, kNotifyAckBody);
  EXPECT_EQ(Post(Body(Payment("N2", "P2"))).body, kNotifyAckBody);  // reuses the connection
  EXPECT_EQ(listener_->stats().acked, 2);
  EXPECT_EQ(target.bodies().size(), 2u);
  listener_->Stop();  // closes the kept-alive forward connection before target stops
}

TEST_F(ListenerTest, InvalidNotificationIsNotForwarded) {
  ForwardTarget target;
  NotifyListenerOptions o = Options();
  o.forward_to = target.url();
  Start(std::move(o));
  EXPECT_EQ(Post(Body(Payment(), "bad-key")).status, 400);
  EXPECT_TRUE(target.bodies().empty());
}

TEST_F(ListenerTest, ForwardToAnUnreachableTargetIs502) {
  NotifyListenerOptions o = Options();
  // Port 1 on loopback: nothing listens there, connecting is refused at once.
  o.forward_to = "http://127.0.0.1:1/notify";
  o.forward_timeout = std::chrono::seconds(2);
  Start(std::move(o));
  Answer a = Post(Body(Payment()));
  EXPECT_EQ(a.status, 502);
  EXPECT_NE(a.body.find("127.0.0.1:1"), std::string::npos) << a.body;
  EXPECT_EQ(listener_->stats().forward_errors, 1);
  EXPECT_EQ(listener_->stats().acked, 0);
}

TEST(ListenerStart, RefusesABadForwardUrl) {
  NotifyListenerOptions o;
  o.keys = {{"10001", kKey}};
  o.forward_to = "127.0.0.1:3000/notify";
  NotifyListener l(o);
  StatusOr<int> port = l.Start();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), ErrorCode::kInvalidField);
}

TEST(ListenerStart, RefusesNoKeysAndBadRate) {
  NotifyListenerOptions o;
  EXPECT_EQ(NotifyListener(o).Start().status().code(), ErrorCode::kInvalidField);
  o.keys = {{"10001", kKey}};
  o.fail_rate = 1.5;
  EXPECT_EQ(NotifyListener(o).Start().status().code(), ErrorCode::kInvalidField);
}

// Regression test for httplib's default SO_REUSEPORT (../shared/httplib-0.11-notes.md):
// a second listener on the same port must fail, not silently share it.
TEST(ListenerStart, ASecondListenerCannotTakeTheSamePort) {
  NotifyListenerOptions o;
  o.keys = {{"10001", kKey}};
  NotifyListener first(o);
  StatusOr<int> port = first.Start();
  ASSERT_TRUE(port.ok());
  o.port = *port;
  NotifyListener second(o);
  StatusOr<int> again = second.Start();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kInternal);
}

TEST(ListenerUrl, ShowsHostPortAndPath) {
  NotifyListenerOptions o;
  o.keys = {{"10001", kKey}};
  o.host = "0.0.0.0";
  o.path = "hook";
  NotifyListener l(o);
  StatusOr<int> port = l.Start();
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(l.url(), "http://127.0.0.1:" + std::to_string(*port) + "/hook");
}

TEST(FailMode, ParsesTheCliNames) {
  EXPECT_EQ(*ParseFailMode("500"), FailMode::kHttp500);
  EXPECT_EQ(*ParseFailMode("timeout"), FailMode::kTimeout);
  EXPECT_EQ(*ParseFailMode("wrong-body"), FailMode::kWrongBody);
  EXPECT_EQ(*ParseFailMode("none"), FailMode::kNone);
  EXPECT_EQ(ParseFailMode("sometimes").status().code(), ErrorCode::kInvalidField);
}

}  // namespace
}  // namespace vkspay::client
