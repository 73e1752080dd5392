// The dispatcher against a fake HttpSender, an in-memory (or temp file)
// store and a FakeClock: exact attempt timelines, ack handling, blocking,
// forwarding, isolation of a stuck host, resuming after a restart, resend.
#include "sandbox/notify/dispatcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "vkspay/protocol/form.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'764'300'000;  // unix seconds
constexpr int64_t kSec = 1'000'000;

// Answers every Post through a handler and remembers what was sent.
class FakeSender final : public HttpSender {
 public:
  struct Call {
    OutboundTarget target;
    std::string body;
    std::string content_type;
    SendOptions options;
  };
  using Handler = std::function<SendResult(const OutboundTarget&)>;

  explicit FakeSender(Handler handler) : handler_(std::move(handler)) {}

  SendResult Post(const OutboundTarget& target, const std::string& body,
                  const std::string& content_type, const SendOptions& options) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({target, body, content_type, options});
    }
    return handler_(target);
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  Handler handler_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
};

SendResult Http(int status, std::string body) {
  SendResult r;
  r.http_status = status;
  r.body = std::move(body);
  r.latency_us = 1500;
  return r;
}
SendResult Ack() { return Http(200, kNotifyAckBody); }

// Polls `done` every few milliseconds for at most `limit` (real time), for
// the threaded tests; never used to measure speed.
bool Eventually(const std::function<bool()>& done, milliseconds limit = milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return done();
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : clock_(kT0 * kSec), rng_(7), guard_(UrlGuardOptions{}) {
    config_ = SandboxConfig::Demo();
    Merchant second;
    second.merchantno = "20002";
    second.key = "second-merchant-key-fedcba9876543210";
    second.name = "second";
    config_.merchants.push_back(second);
    OpenStore(":memory:");
  }

  void OpenStore(const std::string& path) {
    SqliteStoreOptions options;
    options.path = path;
    store_ = OpenSqliteStore(options).value();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_};
  }

  DispatcherOptions Options(const std::string& profile, double time_scale = 1.0) {
    DispatcherOptions o;
    o.schedule = *ScheduleForProfile(profile);
    o.time_scale = time_scale;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    return o;
  }

  // Creates and pays an order now; returns its notification.
  Notification Pay(const std::string& out_trade_no,
                   const std::string& notify_url = "http://127.0.0.1:9/notify",
                   const std::string& merchantno = kDemoMerchantNo) {
    Order o;
    o.merchantno = merchantno;
    o.out_trade_no = out_trade_no;
    o.trade_type = "webpay";
    o.total_fee = 1234;
    o.notify_url = notify_url;
    o.attach = "a=1&b=2";
    o.cashier_token = "tok-" + merchantno + out_trade_no;
    const int64_t now = clock_.NowSeconds();
    EXPECT_TRUE(store_->CreateOrder(o, true, now).ok());
    EXPECT_TRUE(store_
                    ->CompletePayment(merchantno, out_trade_no, PayOutcome::kSuccess, "wxpay",
                                      "4200000000000000000000000001", now)
                    .ok());
    NotificationFilter f;
    f.merchantno = merchantno;
    f.out_trade_no = out_trade_no;
    return store_->ListNotifications(f)->front();
  }

  Notification Get(const Notification& n) { return *store_->GetNotification(n.notify_id); }
  std::vector<NotifyAttempt> Attempts(const Notification& n) {
    return *store_->ListNotifyAttempts(n.id);
  }

  // Walks the clock through `offsets_us` (from kT0): just before each one
  // nothing is due, at it exactly one attempt is made.
  void ExpectAttemptsAt(Dispatcher& d, const std::vector<int64_t>& offsets_us) {
    for (int64_t off : offsets_us) {
      clock_.SetMicros(kT0 * kSec + off - 1);
      EXPECT_EQ(d.DeliverDueNow(), 0) << "too early at +" << off - 1 << "us";
      clock_.SetMicros(kT0 * kSec + off);
      EXPECT_EQ(d.DeliverDueNow(), 1) << "not due at +" << off << "us";
    }
  }

  std::vector<std::string> LogLines() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  SandboxConfig config_;
  FakeClock clock_;
  SeededRandom rng_;
  UrlGuard guard_;
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

// --- timelines ---

TEST_F(DispatcherTest, FastProfileRetriesAt0_1_3_8_18SecondsThenFails) {
  FakeSender sender([](const OutboundTarget&) { return Http(500, "oops"); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("T1");
  ExpectAttemptsAt(d, {0, 1 * kSec, 3 * kSec, 8 * kSec, 18 * kSec});

  clock_.AdvanceSeconds(86400 * 30);
  EXPECT_EQ(d.DeliverDueNow(), 0);  // nothing after the last attempt
  Notification got = Get(n);
  EXPECT_EQ(got.state, NotifyState::kFailed);
  EXPECT_EQ(got.attempts, 5);
  EXPECT_EQ(got.total_attempts, 5);
  EXPECT_EQ(got.last_error, "HTTP 500");
  std::vector<NotifyAttempt> log = Attempts(n);
  ASSERT_EQ(log.size(), 5u);
  const int64_t want[] = {0, 1, 3, 8, 18};
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].n, static_cast<int64_t>(i + 1));
    EXPECT_EQ(log[i].at_us, (kT0 + want[i]) * kSec);
    EXPECT_EQ(log[i].http_status, 500);
    EXPECT_EQ(log[i].response_head, "oops");
    EXPECT_EQ(log[i].error, "HTTP 500");
    EXPECT_EQ(log[i].latency_us, 1500);
    EXPECT_FALSE(log[i].acked);
  }
}

TEST_F(DispatcherTest, TimeScaleCompressesTheFastSchedule) {
  FakeSender sender([](const OutboundTarget&) { return Http(503, ""); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast", 0.01));
  Notification n = Pay("T1");
  ExpectAttemptsAt(d, {0, 10'000, 30'000, 80'000, 180'000});
  EXPECT_EQ(Get(n).state, NotifyState::kFailed);
}

TEST_F(DispatcherTest, VksPayProfileFollowsWeChatsScheduleAndStopsAtTheAck) {
  int calls = 0;
  FakeSender sender([&](const OutboundTarget&) { return ++calls < 6 ? Http(500, "") : Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("vkspay"));
  Notification n = Pay("T1");
  // 15s, 15s, 30s, 3m, 10m after each failure.
  ExpectAttemptsAt(d, {0, 15 * kSec, 30 * kSec, 60 * kSec, 240 * kSec, 840 * kSec});
  Notification got = Get(n);
  EXPECT_EQ(got.state, NotifyState::kAcked);
  EXPECT_EQ(got.attempts, 6);
  EXPECT_EQ(got.acked_at, kT0 + 840);
  EXPECT_EQ(got.last_error, "");
  clock_.AdvanceSeconds(86400 * 30);
  EXPECT_EQ(d.DeliverDueNow(), 0);  // acked: no more attempts
  EXPECT_EQ(Attempts(n).size(), 6u);
  EXPECT_TRUE(Attempts(n).back().acked);
}

TEST_F(DispatcherTest, VksPayProfileUnderTimeScaleGivesUpAfterSixteenAttempts) {
  FakeSender sender([](const OutboundTarget&) { return Http(500, ""); });
  Dispatcher d(ctx_, &guard_, &sender, Options("vkspay", 0.001));
  Notification n = Pay("T1");
  std::vector<int64_t> at = {0};
  const RetrySchedule schedule = *ScheduleForProfile("vkspay");
  for (double w : schedule.waits_s) {
    at.push_back(at.back() + static_cast<int64_t>(w * 1000));  // x 0.001 s, in us
  }
  ExpectAttemptsAt(d, at);
  EXPECT_EQ(at.back(), 86'640'000);  // the whole day in ~87 s
  EXPECT_EQ(Get(n).state, NotifyState::kFailed);
  EXPECT_EQ(Get(n).attempts, 16);
}

// --- what is sent ---

TEST_F(DispatcherTest, EachAttemptIsASignedFormWithTheSameNotifyIdAndAFreshNonce) {
  int calls = 0;
  FakeSender sender([&](const OutboundTarget&) { return ++calls == 1 ? Http(500, "") : Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("T1");
  ASSERT_EQ(d.DeliverDueNow(), 1);
  clock_.AdvanceSeconds(1);
  ASSERT_EQ(d.DeliverDueNow(), 1);

  std::vector<FakeSender::Call> sent = sender.calls();
  ASSERT_EQ(sent.size(), 2u);
  std::string nonces[2];
  for (size_t i = 0; i < 2; ++i) {
    const FakeSender::Call& c = sent[i];
    EXPECT_EQ(c.content_type, "application/x-www-form-urlencoded");
    EXPECT_EQ(c.target.url, "http://127.0.0.1:9/notify");
    EXPECT_EQ(c.target.connect_ip, "127.0.0.1");
    EXPECT_EQ(c.options.timeout_ms, 5000);
    EXPECT_EQ(c.options.max_response_bytes, 64u * 1024);
    StatusOr<Fields> form = DecodeForm(c.body);
    ASSERT_TRUE(form.ok()) << form.status().ToString();
    EXPECT_TRUE(VerifySign(*form, kDemoKey).ok()) << c.body;
    EXPECT_FALSE(VerifySign(*form, "another-key").ok());
    auto field = [&](const char* name) {
      const Value* v = form->Find(name);
      return v == nullptr ? std::string("(absent)") : JsString(*v);
    };
    EXPECT_EQ(field("notify_type"), "payment");
    EXPECT_EQ(field("notify_id"), n.notify_id);
    EXPECT_EQ(field("merchantno"), "10001");
    EXPECT_EQ(field("out_trade_no"), "T1");
    EXPECT_EQ(field("transaction_id"), "4200000000000000000000000001");
    EXPECT_EQ(field("total_fee"), "12.34");
    EXPECT_EQ(field("pay_chnl"), "wxpay");
    EXPECT_EQ(field("status"), "SUCCESS");
    EXPECT_EQ(field("time_end"), FormatDisplayTime(kT0));
    EXPECT_EQ(field("attach"), "a=1&b=2");
    EXPECT_EQ(field("version"), "2.0");
    EXPECT_EQ(field("timestamp"), std::to_string(kT0 + static_cast<int64_t>(i)));
    nonces[i] = field("signaturenonce");
    EXPECT_EQ(nonces[i].size(), 8u);
    EXPECT_EQ(nonces[i].find_first_not_of("123456789"), std::string::npos) << nonces[i];
  }
  EXPECT_NE(nonces[0], nonces[1]);
}

TEST_F(DispatcherTest, RefundNotificationCarriesTheRefundFields) {
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Pay("T1");
  ASSERT_TRUE(store_->CreateRefund("10001", "T1", "R1", "", 34, kT0).ok());
  EXPECT_EQ(d.DeliverDueNow(), 2);
  std::vector<FakeSender::Call> sent = sender.calls();
  ASSERT_EQ(sent.size(), 2u);
  StatusOr<Fields> form = DecodeForm(sent[1].body);
  ASSERT_TRUE(form.ok());
  EXPECT_TRUE(VerifySign(*form, kDemoKey).ok());
  EXPECT_EQ(JsString(*form->Find("notify_type")), "refund");
  EXPECT_EQ(JsString(*form->Find("out_refund_no")), "R1");
  EXPECT_EQ(JsString(*form->Find("refund_fee")), "0.34");
  EXPECT_EQ(JsString(*form->Find("status")), "REFUND");
}

// --- acknowledgement ---

TEST_F(DispatcherTest, AnswersThatAreNotAcksAreRetriedWithTheReason) {
  const std::vector<std::pair<SendResult, std::string>> cases = [] {
    SendResult redirect = Http(302, "");
    redirect.location = "http://127.0.0.1:9/login";
    SendResult truncated = Ack();
    truncated.body_truncated = true;
    SendResult timeout;
    timeout.error = "timeout after 5000 ms";
    return std::vector<std::pair<SendResult, std::string>>{
        {Http(200, "ok"), "HTTP 200 but \"ok\" is not {\"code\":\"SUCCESS\",...}"},
        {Http(500, kNotifyAckBody), "HTTP 500"},
        {redirect, "redirect 302 to http://127.0.0.1:9/login (not followed)"},
        {truncated, ""},
        {timeout, "timeout after 5000 ms"},
    };
  }();
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [answer, reason] = cases[i];
    FakeSender sender([&](const OutboundTarget&) { return answer; });
    Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
    Notification n = Pay("T" + std::to_string(i));
    ASSERT_EQ(d.DeliverDueNow(), 1);
    Notification got = Get(n);
    EXPECT_EQ(got.state, NotifyState::kPending) << i;
    EXPECT_EQ(got.next_attempt_us, clock_.NowMicros() + kSec) << i;
    if (!reason.empty()) {
      EXPECT_EQ(got.last_error, reason) << i;
    } else {
      EXPECT_NE(got.last_error.find("longer than the cap"), std::string::npos) << got.last_error;
    }
    EXPECT_EQ(Attempts(n).back().error, got.last_error);
  }
}

TEST_F(DispatcherTest, MerchantsAckModeDecides) {
  config_.merchants[0].ack_mode = AckMode::kText;
  config_.merchants[1].ack_mode = AckMode::kJson;
  FakeSender sender([](const OutboundTarget&) { return Http(200, "success"); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification text = Pay("T1");
  Notification json = Pay("T1", "http://127.0.0.1:9/notify", "20002");
  ASSERT_EQ(d.DeliverDueNow(), 2);
  EXPECT_EQ(Get(text).state, NotifyState::kAcked);
  EXPECT_EQ(Get(json).state, NotifyState::kPending);
  // The second merchant's form is signed with its own key.
  std::vector<FakeSender::Call> sent = sender.calls();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(VerifySign(*DecodeForm(sent[1].body), config_.merchants[1].key).ok());

  config_.merchants[1].ack_mode = AckMode::kAny2xx;
  clock_.AdvanceSeconds(1);
  ASSERT_EQ(d.DeliverDueNow(), 1);
  EXPECT_EQ(Get(json).state, NotifyState::kAcked);
}

// --- blocked and forwarded ---

TEST_F(DispatcherTest, RefusedUrlIsBlockedWithTheReasonAndNothingIsSent) {
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("T1", "http://169.254.169.254/latest/meta-data");
  ASSERT_EQ(d.DeliverDueNow(), 1);
  EXPECT_TRUE(sender.calls().empty());
  Notification got = Get(n);
  EXPECT_EQ(got.state, NotifyState::kBlocked);
  EXPECT_NE(got.last_error.find("169.254.169.254"), std::string::npos) << got.last_error;
  std::vector<NotifyAttempt> log = Attempts(n);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].error, got.last_error);
  EXPECT_EQ(log[0].http_status, 0);
  clock_.AdvanceSeconds(3600);
  EXPECT_EQ(d.DeliverDueNow(), 0);  // blocked stays blocked until resent
  std::vector<std::string> lines = LogLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("blocked: "), std::string::npos) << lines[0];
}

TEST_F(DispatcherTest, OrderWithoutNotifyUrlIsBlockedUnlessForwarded) {
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("T1", "");
  ASSERT_EQ(d.DeliverDueNow(), 1);
  EXPECT_EQ(Get(n).state, NotifyState::kBlocked);
  EXPECT_NE(Get(n).last_error.find("no notify_url"), std::string::npos);
  EXPECT_TRUE(sender.calls().empty());

  DispatcherOptions o = Options("fast");
  o.forward_to = "http://127.0.0.1:7000/hook";
  Dispatcher forwarding(ctx_, &guard_, &sender, o);
  ASSERT_TRUE(store_->ResendNotification(n.notify_id, clock_.NowMicros()).ok());
  ASSERT_EQ(forwarding.DeliverDueNow(), 1);
  EXPECT_EQ(Get(n).state, NotifyState::kAcked);
}

TEST_F(DispatcherTest, ForwardToDeliversElsewhereAndTheLogShowsBothUrls) {
  config_.merchants[0].forward_to = "http://127.0.0.1:7001/merchant-forward";
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  DispatcherOptions o = Options("fast");
  o.forward_to = "http://127.0.0.1:7002/global-forward";
  Dispatcher d(ctx_, &guard_, &sender, o);
  Notification mine = Pay("T1", "https://merchant.example/notify");
  Notification other = Pay("T1", "https://merchant.example/notify", "20002");
  ASSERT_EQ(d.DeliverDueNow(), 2);
  std::map<std::string, std::string> url_of;
  for (const auto& c : sender.calls()) {
    url_of[JsString(*DecodeForm(c.body)->Find("merchantno"))] = c.target.url;
  }
  EXPECT_EQ(url_of["10001"], "http://127.0.0.1:7001/merchant-forward");
  EXPECT_EQ(url_of["20002"], "http://127.0.0.1:7002/global-forward");
  EXPECT_EQ(Get(mine).notify_url, "https://merchant.example/notify");
  EXPECT_EQ(Get(mine).delivered_to, "http://127.0.0.1:7001/merchant-forward");
  EXPECT_EQ(Attempts(mine)[0].url, "http://127.0.0.1:7001/merchant-forward");
  EXPECT_EQ(Get(other).delivered_to, "http://127.0.0.1:7002/global-forward");
}

// --- resend ---

TEST_F(DispatcherTest, ResendOfAFailedNotificationStartsANewSeries) {
  bool up = false;
  FakeSender sender([&](const OutboundTarget&) { return up ? Ack() : Http(500, ""); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("T1");
  ExpectAttemptsAt(d, {0, 1 * kSec, 3 * kSec, 8 * kSec, 18 * kSec});
  ASSERT_EQ(Get(n).state, NotifyState::kFailed);

  clock_.AdvanceSeconds(100);
  ASSERT_TRUE(store_->ResendNotifications(NotifyState::kFailed, 0, clock_.NowMicros()).ok());
  ASSERT_EQ(d.DeliverDueNow(), 1);  // a new series: fails, retried after 1 s again
  EXPECT_EQ(Get(n).attempts, 1);
  EXPECT_EQ(Get(n).total_attempts, 6);
  up = true;
  clock_.AdvanceSeconds(1);
  ASSERT_EQ(d.DeliverDueNow(), 1);
  EXPECT_EQ(Get(n).state, NotifyState::kAcked);
  EXPECT_EQ(Attempts(n).size(), 7u);
}

// --- threads: wake-ups, isolation, restart, stop ---

TEST_F(DispatcherTest, StartedDispatcherWakesOnPaymentAndOnClockAdvance) {
  SandboxClock sandbox_clock(&clock_);
  ctx_.clock = &sandbox_clock;
  std::atomic<int> calls{0};
  FakeSender sender([&](const OutboundTarget&) { return ++calls == 1 ? Http(500, "") : Ack(); });
  DispatcherOptions o = Options("fast");
  o.max_idle_wait_ms = 60'000;  // only wake-ups can make it look again
  Dispatcher d(ctx_, &guard_, &sender, o);
  store_->SetOutboxObserver([&] { d.Wake(); });
  sandbox_clock.AddObserver([&] { d.Wake(); });
  d.Start();
  // Delivered by the start-up scan or, if that came first, by the store's wake-up.
  Notification n = Pay("T1");
  ASSERT_TRUE(Eventually([&] { return Get(n).total_attempts == 1; }));
  EXPECT_EQ(Get(n).state, NotifyState::kPending);
  // The FakeClock stands still: only the advance makes the retry due.
  ASSERT_TRUE(sandbox_clock.AdvanceMicros(kSec).ok());
  ASSERT_TRUE(Eventually([&] { return Get(n).state == NotifyState::kAcked; }));
  EXPECT_EQ(Attempts(n)[1].at_us, (kT0 + 1) * kSec);
  d.Stop();
  EXPECT_EQ(calls, 2);
}

// The race behind a flaky run of the test above, made deterministic: the
// clock advance that makes a retry due is scanned (a full scan) while the
// attempt's row is still held, so that scan skips it; the worker's wake-up
// then finds only the cursor. The retry must still go out within
// full_scan_ms, not wait for max_idle_wait_ms. (The sleeps only order the
// threads; a slower scheduler makes the test pass, never fail wrongly.)
TEST_F(DispatcherTest, ARetryMadeDueWhileItsRowIsHeldIsNotLostBehindTheCursor) {
  SandboxClock sandbox_clock(&clock_);
  ctx_.clock = &sandbox_clock;
  std::atomic<int> calls{0};
  FakeSender sender([&](const OutboundTarget&) { return ++calls == 1 ? Http(500, "") : Ack(); });
  DispatcherOptions o = Options("fast");
  o.max_idle_wait_ms = 60'000;
  o.full_scan_ms = 100;
  std::atomic<bool> advanced{false};
  // Called after the first attempt is recorded and before its row is
  // released: wait until the next scan will be a full one, advance the
  // clock, and give that scan time to run while the row is still held.
  o.log = [&](const std::string& line) {
    if (line.find("attempt 1/") == std::string::npos || advanced.exchange(true)) return;
    std::this_thread::sleep_for(milliseconds(150));
    ASSERT_TRUE(sandbox_clock.AdvanceMicros(kSec).ok());
    std::this_thread::sleep_for(milliseconds(50));
  };
  Dispatcher d(ctx_, &guard_, &sender, o);
  store_->SetOutboxObserver([&] { d.Wake(); });
  sandbox_clock.AddObserver([&] { d.Wake(); });
  d.Start();
  Notification n = Pay("T-HELD");
  ASSERT_TRUE(Eventually([&] { return advanced.load(); }));
  EXPECT_TRUE(Eventually([&] { return Get(n).state == NotifyState::kAcked; }, milliseconds(3000)))
      << "the retry waited for max_idle_wait_ms";
  d.Stop();
  EXPECT_EQ(calls, 2);
}

// One host that never answers in time and one that answers at once: the
// second's notifications are all delivered while the first holds at most
// per_host attempts (and so at most per_host workers).
TEST_F(DispatcherTest, AStuckHostCannotStarveTheOthers) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int stuck_now = 0;
  int stuck_max = 0;
  FakeSender sender([&](const OutboundTarget& t) {
    if (t.port != 7001) return Ack();
    std::unique_lock<std::mutex> lock(mu);
    stuck_max = std::max(stuck_max, ++stuck_now);
    // A dead merchant: the answer never comes before the (fake) timeout.
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return release; });
    --stuck_now;
    SendResult r;
    r.error = "timeout after 5000 ms";
    return r;
  });
  DispatcherOptions o = Options("fast");
  o.workers = 4;
  o.per_host = 2;
  Dispatcher d(ctx_, &guard_, &sender, o);
  std::vector<Notification> slow, fast;
  for (int i = 0; i < 10; ++i)
    slow.push_back(Pay("S" + std::to_string(i), "http://127.0.0.1:7001/n"));
  for (int i = 0; i < 10; ++i)
    fast.push_back(Pay("F" + std::to_string(i), "http://127.0.0.1:7002/n"));
  d.Start();

  const bool delivered = Eventually([&] {
    for (const Notification& n : fast) {
      if (Get(n).state != NotifyState::kAcked) return false;
    }
    return true;
  });
  // The fast host can be done before a second worker takes the stuck host's
  // second attempt; wait for both stuck attempts, then give a third the time
  // it would need to show up.
  const bool both_stuck = Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return stuck_now == 2;
  });
  std::this_thread::sleep_for(milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(delivered) << "the fast host's notifications waited for the stuck host";
    EXPECT_TRUE(both_stuck) << "per_host is 2: two attempts in flight for the stuck host";
    EXPECT_EQ(stuck_max, 2);  // never more than per_host in flight for it
    EXPECT_FALSE(release);    // all of this happened while the slow host was stuck
    release = true;
  }
  cv.notify_all();
  d.Stop();
  for (const Notification& n : slow) EXPECT_NE(Get(n).state, NotifyState::kAcked);
}

// The adaptive per-host limit: a host that acks fast gets more attempts in
// flight (up to per_host_max); a fast refusal lowers it by one, a timeout
// drops it back to per_host.
TEST_F(DispatcherTest, AFastHostEarnsMoreAttemptsInFlightAndFailuresTakeThemAway) {
  std::mutex mu;
  int now_in_flight = 0;
  int max_in_flight = 0;
  std::atomic<int> mode{0};  // 0: ack, 1: a fast 500, 2: a timeout
  FakeSender sender([&](const OutboundTarget&) {
    {
      std::lock_guard<std::mutex> lock(mu);
      max_in_flight = std::max(max_in_flight, ++now_in_flight);
    }
    std::this_thread::sleep_for(milliseconds(2));
    {
      std::lock_guard<std::mutex> lock(mu);
      --now_in_flight;
    }
    if (mode == 1) return Http(500, "busy");
    if (mode == 2) {
      SendResult r;
      r.error = "timeout after 5000 ms";
      r.latency_us = 5'000'000;
      return r;
    }
    return Ack();
  });
  DispatcherOptions o = Options("fast");
  o.workers = 16;
  o.per_host = 2;
  o.per_host_max = 8;
  Dispatcher d(ctx_, &guard_, &sender, o);
  std::vector<Notification> rows;
  for (int i = 0; i < 120; ++i) rows.push_back(Pay("A" + std::to_string(i)));
  const std::string host = "127.0.0.1:9";
  EXPECT_EQ(d.host_limit(host), 2);
  d.Start();
  EXPECT_TRUE(Eventually([&] {
    for (const Notification& n : rows) {
      if (Get(n).state != NotifyState::kAcked) return false;
    }
    return true;
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_GT(max_in_flight, 2) << "the limit never grew past per_host";
    EXPECT_LE(max_in_flight, 8) << "the limit grew past per_host_max";
  }
  EXPECT_EQ(d.host_limit(host), 8);  // kept while the host is idle

  // A fast refusal lowers the limit by one; no answer drops it to per_host.
  mode = 1;
  const Notification refused = Pay("A-500");
  d.Wake();
  EXPECT_TRUE(Eventually([&] { return Get(refused).total_attempts >= 1; }));
  EXPECT_TRUE(Eventually([&] { return d.host_limit(host) == 7; })) << d.host_limit(host);
  mode = 2;
  const Notification timed_out = Pay("A-timeout");
  d.Wake();
  EXPECT_TRUE(Eventually([&] { return Get(timed_out).total_attempts >= 1; }));
  EXPECT_TRUE(Eventually([&] { return d.host_limit(host) == 2; })) << d.host_limit(host);
  d.Stop();
}

// A dead host beside a fast one: the fast one keeps most of its solo rate
// (generous margins: the rates are real time on a shared machine).
TEST_F(DispatcherTest, ADeadHostBesideAFastOneLeavesTheFastOneMostOfItsRate) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  FakeSender sender([&](const OutboundTarget& t) {
    if (t.port == 7101) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(20), [&] { return release; });
      SendResult r;
      r.error = "timeout after 5000 ms";
      return r;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    return Ack();
  });
  DispatcherOptions o = Options("fast");
  o.workers = 16;
  o.per_host = 2;
  o.per_host_max = 12;
  // Delivers `count` notifications to the fast host; seconds taken.
  auto run = [&](const std::string& prefix, int count) {
    std::vector<Notification> rows;
    for (int i = 0; i < count; ++i) {
      rows.push_back(Pay(prefix + std::to_string(i), "http://127.0.0.1:7102/n"));
    }
    Dispatcher d(ctx_, &guard_, &sender, o);
    const auto start = std::chrono::steady_clock::now();
    d.Start();
    const bool done = Eventually(
        [&] {
          for (const Notification& n : rows) {
            if (Get(n).state != NotifyState::kAcked) return false;
          }
          return true;
        },
        milliseconds(20000));
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(done);
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
    d.Stop();
    {
      std::lock_guard<std::mutex> lock(mu);
      release = false;
    }
    return s;
  };
  const double solo = run("SOLO", 400);
  for (int i = 0; i < 20; ++i) Pay("DEAD" + std::to_string(i), "http://127.0.0.1:7101/n");
  const double beside_dead = run("BESIDE", 400);
  // Rate beside the dead host / solo rate = solo time / time beside it.
  EXPECT_GE(solo / beside_dead, 0.4) << "solo " << solo << " s, beside a dead host "
                                     << beside_dead << " s";
}

TEST_F(DispatcherTest, PendingRowsInAFileAreDeliveredByANewDispatcherAfterARestart) {
  std::string dir = ::testing::TempDir() + "vkspay_dispatch_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/sandbox.db";
  OpenStore(path);
  std::vector<Notification> paid;
  for (const char* no : {"T1", "T2", "T3"}) paid.push_back(Pay(no));
  {
    // The first process made one failed attempt for T1 and died.
    FakeSender failing([](const OutboundTarget&) { return Http(500, ""); });
    Dispatcher d(ctx_, &guard_, &failing, Options("fast"));
    ASSERT_TRUE(store_->GetNotification(paid[0].notify_id).ok());
    NotifyAttempt a;
    a.notification_id = paid[0].id;
    NotifyUpdate u;
    u.state = NotifyState::kPending;
    u.next_attempt_us = clock_.NowMicros() + kSec;
    ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());
  }
  store_.reset();

  OpenStore(path);  // the restarted sandbox
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  d.Start();
  ASSERT_TRUE(Eventually([&] {
    return Get(paid[1]).state == NotifyState::kAcked && Get(paid[2]).state == NotifyState::kAcked;
  }));
  EXPECT_EQ(Get(paid[0]).state, NotifyState::kPending);  // its retry is not due yet
  clock_.AdvanceSeconds(1);
  d.Wake();
  ASSERT_TRUE(Eventually([&] { return Get(paid[0]).state == NotifyState::kAcked; }));
  d.Stop();
  EXPECT_EQ(sender.calls().size(), 3u);
  std::filesystem::remove_all(dir);
}

TEST_F(DispatcherTest, StopLetsTheAttemptInFlightFinishAndRecord) {
  std::atomic<bool> entered{false};
  FakeSender sender([&](const OutboundTarget&) {
    entered = true;
    std::this_thread::sleep_for(milliseconds(100));
    return Ack();
  });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("T1");
  d.Start();
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));
  d.Stop();
  EXPECT_EQ(Get(n).state, NotifyState::kAcked);
  EXPECT_EQ(d.held(), 0u);
}

// --- helpers ---

TEST(DispatcherHostKey, IsLowerCaseHostAndPortWithSchemeDefaults) {
  EXPECT_EQ(Dispatcher::HostKey("http://Merchant.Test/notify"), "merchant.test:80");
  EXPECT_EQ(Dispatcher::HostKey("https://merchant.test/notify"), "merchant.test:443");
  EXPECT_EQ(Dispatcher::HostKey("http://127.0.0.1:9000/n?x=1"), "127.0.0.1:9000");
  EXPECT_EQ(Dispatcher::HostKey("http://user:pw@[::1]:8443/n"), "[::1]:8443");
  EXPECT_EQ(Dispatcher::HostKey("http://[::1]/n"), "[::1]:80");
  EXPECT_EQ(Dispatcher::HostKey("not a url"), "");
}

TEST(DispatcherOptionsFor, TakesEverySetting) {
  Settings s;
  s.notify_profile = "custom";
  s.notify_schedule = {2, 4};
  s.time_scale = 0.5;
  s.notify_workers = 3;
  s.notify_per_host = 1;
  s.notify_timeout_ms = 700;
  s.forward_to = "http://127.0.0.1:1/f";
  StatusOr<DispatcherOptions> o = DispatcherOptionsFor(s);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->schedule.name, "custom");
  EXPECT_EQ(o->schedule.waits_s, (std::vector<double>{2, 4}));
  EXPECT_EQ(o->time_scale, 0.5);
  EXPECT_EQ(o->workers, 3);
  EXPECT_EQ(o->per_host, 1);
  EXPECT_EQ(o->timeout_ms, 700);
  EXPECT_EQ(o->forward_to, "http://127.0.0.1:1/f");
  s.notify_profile = "nope";
  EXPECT_EQ(DispatcherOptionsFor(s).status().code(), ErrorCode::kInvalidField);
}

// --- fault injection: extra deliveries and refund_first (FakeClock) ---

// Gives every payment notification `plan_json`; refunds get none.
NotifyPlanner PaymentPlan(std::string plan_json, int64_t first_attempt_us = 0) {
  return [plan_json, first_attempt_us](const Order&, const Refund* refund) {
    NotifyFaultPlan p;
    if (refund == nullptr) {
      p.plan_json = plan_json;
      p.first_attempt_us = first_attempt_us;
    }
    return p;
  };
}

TEST_F(DispatcherTest, NotifyTimesDeliversAtItsIntervalsWhateverTheAcks) {
  store_->SetNotifyPlanner(PaymentPlan(R"({"times":3,"times_interval_s":10})"));
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("TIMES");
  ASSERT_EQ(d.DeliverDueNow(), 1);
  EXPECT_EQ(d.extras_waiting(), 2u);
  clock_.SetMicros(kT0 * kSec + 10 * kSec - 1);
  EXPECT_EQ(d.DeliverDueNow(), 0);
  clock_.SetMicros(kT0 * kSec + 10 * kSec);
  EXPECT_EQ(d.DeliverDueNow(), 1);
  clock_.SetMicros(kT0 * kSec + 20 * kSec);
  EXPECT_EQ(d.DeliverDueNow(), 1);
  EXPECT_EQ(sender.calls().size(), 3u);
  std::vector<NotifyAttempt> attempts = Attempts(n);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[2].error, "notify.times delivery 3/3 (fault injection)");
  EXPECT_TRUE(attempts[2].acked);
  EXPECT_EQ(Get(n).state, NotifyState::kAcked);
  EXPECT_EQ(Get(n).attempts, 1);  // extras are not attempts of the series
}

TEST_F(DispatcherTest, NotifyReplaySendsTheAckedFormAgainUnchanged) {
  store_->SetNotifyPlanner(PaymentPlan(R"({"replay_after_s":30})"));
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Notification n = Pay("REPLAY");
  ASSERT_EQ(d.DeliverDueNow(), 1);
  clock_.AdvanceSeconds(29);
  EXPECT_EQ(d.DeliverDueNow(), 0);
  clock_.AdvanceSeconds(1);
  EXPECT_EQ(d.DeliverDueNow(), 1);
  std::vector<FakeSender::Call> calls = sender.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].body, calls[1].body);  // same timestamp, nonce and sign
  EXPECT_EQ(Attempts(n).at(1).error, "notify.replay of attempt 1 (fault injection)");
}

TEST_F(DispatcherTest, NotifyReplayWaitsForAnAck) {
  store_->SetNotifyPlanner(PaymentPlan(R"({"replay_after_s":30})"));
  FakeSender sender([](const OutboundTarget&) { return Http(500, ""); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Pay("NOREPLAY");
  ASSERT_EQ(d.DeliverDueNow(), 1);
  EXPECT_EQ(d.extras_waiting(), 0u);
}

TEST_F(DispatcherTest, RefundFirstHoldsThePaymentUntilARefundNotificationWentOut) {
  store_->SetNotifyPlanner(PaymentPlan(R"({"refund_first_hold_s":60})", (kT0 + 60) * kSec));
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Pay("FIRST");
  EXPECT_EQ(d.DeliverDueNow(), 0);  // held
  ASSERT_TRUE(
      store_->CreateRefund(kDemoMerchantNo, "FIRST", std::nullopt, "R-FIRST", 34, kT0).ok());
  ASSERT_EQ(d.DeliverDueNow(), 1);  // the refund; it releases the payment
  ASSERT_EQ(d.DeliverDueNow(), 1);  // the payment
  std::vector<FakeSender::Call> calls = sender.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[0].body.find("notify_type=refund"), std::string::npos) << calls[0].body;
  EXPECT_NE(calls[1].body.find("notify_type=payment"), std::string::npos) << calls[1].body;
}

TEST_F(DispatcherTest, RefundFirstHoldRunsOutWithoutARefund) {
  store_->SetNotifyPlanner(PaymentPlan(R"({"refund_first_hold_s":60})", (kT0 + 60) * kSec));
  FakeSender sender([](const OutboundTarget&) { return Ack(); });
  Dispatcher d(ctx_, &guard_, &sender, Options("fast"));
  Pay("HOLD");
  ExpectAttemptsAt(d, {60 * kSec});
}

}  // namespace
}  // namespace vkspay::sandbox
