// Test-only: the fault injection harness shared by the integration tests
// (faults_integration_test.cc, faults_e2e_test.cc). A real SandboxServer on
// port 0 with a seeded FaultEngine, the real dispatcher and action
// scheduler, and an in-process merchant receiver.
#ifndef VKSPAY_SANDBOX_SERVER_FAULT_HARNESS_H_
#define VKSPAY_SANDBOX_SERVER_FAULT_HARNESS_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/core/action_scheduler.h"
#include "sandbox/core/payments.h"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/faults/fault_engine.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/server/sandbox_server.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox::fault_testing {

using nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

inline bool Eventually(const std::function<bool()>& done, milliseconds limit = milliseconds(5000)) {
  const auto end = Steady::now() + limit;
  while (Steady::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return done();
}

// The merchant's notify endpoint: records every POST and answers `status`
// (200 answers the sample's ack).
class Receiver {
 public:
  struct Hit {
    std::string body;
    std::string content_type;
    Steady::time_point at;
  };
  Receiver() {
    server_.Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      const int status = status_.load();
      {
        std::lock_guard<std::mutex> lock(mu_);
        hits_.push_back({req.body, req.get_header_value("Content-Type"), Steady::now()});
      }
      res.status = status;
      res.set_content(status == 200 ? kNotifyAckBody : "down", "application/json");
    });
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/notify"; }
  void set_status(int status) { status_ = status; }
  std::vector<Hit> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_;
  }
  int hits() const { return static_cast<int>(all().size()); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> status_{200};
  mutable std::mutex mu_;
  std::vector<Hit> hits_;
};

// What the caller of POST /api saw.
struct Seen {
  bool transport_ok = false;
  int status = 0;
  std::string content_type;
  std::string body;
  json j;  // the body parsed, or discarded
  int64_t elapsed_ms = 0;
};

inline FaultEngineOptions SeededOptions(uint64_t seed) {
  FaultEngineOptions options;
  options.seed = seed;
  return options;
}

class FaultHarness {
 public:
  // time_scale multiplies retry delays and fault delays (0.001: the "fast"
  // retries take milliseconds; 1: seconds, moved with Advance()).
  explicit FaultHarness(uint64_t seed = 7, double time_scale = 0.001)
      : clock_(&system_clock_),
        rng_(seed),
        nonce_rng_(seed + 1),
        engine_(clock_, SeededOptions(seed)) {
    config_ = SandboxConfig::Demo();
    config_.settings.notify_profile = "fast";
    config_.settings.time_scale = time_scale;
    store_ = OpenSqliteStore(SqliteStoreOptions{}).value();
    store_->SetNotifyPlanner(MakeNotifyPlanner(engine_, clock_, config_.settings.time_scale));
    guard_ = std::make_unique<UrlGuard>(UrlGuardOptions{});
    AllowConfiguredHosts(*guard_, config_);
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_, &clock_, guard_.get(), &engine_};
    sender_ = MakeHttpSender(HttpSenderOptions{});
    DispatcherOptions options = DispatcherOptionsFor(config_.settings).value();
    options.timeout_ms = 2000;
    if (std::getenv("VKSPAY_TEST_LOG") != nullptr) {
      options.log = [](const std::string& line) {
        fprintf(stderr, "%lld %s\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now().time_since_epoch())
                                           .count()),
                line.c_str());
      };
    }
    dispatcher_ = std::make_unique<Dispatcher>(ctx_, guard_.get(), sender_.get(), options);
    store_->SetOutboxObserver([this] { dispatcher_->Wake(); });
    actions_ = std::make_unique<ActionScheduler>(store_.get(), &clock_);
    clock_.AddObserver([this] {
      actions_->ApplyDueNow();
      dispatcher_->Wake();
    });
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 8;
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
    actions_->Start();
    dispatcher_->Start();
  }
  ~FaultHarness() {
    server_->Stop();
    actions_->Stop();
    dispatcher_->Stop();
  }
  // Moves the sandbox clock through the control API (what fell due has
  // happened when it answers).
  void Advance(double seconds) { Call("POST", "/_sandbox/clock/advance", {{"seconds", seconds}}); }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }
  Seen Api(const std::string& method, Fields f, const std::string& header = "") {
    f.Set("method", method);
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    httplib::Headers headers;
    if (!header.empty()) headers.emplace("X-Sandbox-Fault", header);
    const auto start = Steady::now();
    auto res = Client().Post("/api", headers, WithSign(f, kDemoKey).ToJson(),
                             "application/json; charset=utf-8");
    Seen seen;
    seen.elapsed_ms = std::chrono::duration_cast<milliseconds>(Steady::now() - start).count();
    seen.transport_ok = static_cast<bool>(res);
    if (!res) return seen;
    seen.status = res->status;
    seen.content_type = res->get_header_value("Content-Type");
    seen.body = res->body;
    seen.j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    return seen;
  }
  // A webpay of `fee` yuan (text, e.g. "1001.06") with out_trade_no `no`.
  Seen WebPay(const std::string& no, const std::string& fee, const std::string& attach = "",
              const std::string& header = "") {
    Fields f{{"total_fee", fee}, {"out_trade_no", no}, {"notify_url", notify_url_}};
    if (!attach.empty()) f.Set("attach", attach);
    return Api("webpay", std::move(f), header);
  }
  json Call(const std::string& verb, const std::string& path, const json& body = nullptr,
            int want = 200) {
    auto res = verb == "GET"      ? Client().Get(path.c_str())
               : verb == "DELETE" ? Client().Delete(path.c_str())
                                  : Client().Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    if (!res) return json();
    EXPECT_EQ(res->status, want) << path << ": " << res->body;
    return json::parse(res->body, nullptr, false);
  }
  // The record entries after `since`.
  json Log(uint64_t since = 0) {
    return Call("GET", "/_sandbox/faults/log?since_seq=" + std::to_string(since))["faults"];
  }
  std::string OrderStatus(const std::string& no) {
    json o = Call("GET", "/_sandbox/order?out_trade_no=" + no);
    return o["order"]["status"].is_string() ? o["order"]["status"].get<std::string>() : "?";
  }

  std::string notify_url_ = "http://127.0.0.1:9/notify";
  SandboxConfig config_;
  SystemClock system_clock_;
  SandboxClock clock_;
  SeededRandom rng_;
  SeededRandom nonce_rng_;
  FaultEngine engine_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<UrlGuard> guard_;
  SandboxContext ctx_;
  std::unique_ptr<HttpSender> sender_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<ActionScheduler> actions_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
};

}  // namespace vkspay::sandbox::fault_testing

#endif  // VKSPAY_SANDBOX_SERVER_FAULT_HARNESS_H_
