// Hostile peers (issue #7): clients that trickle, idle or hang up mid-request
// against a real SandboxServer on port 0, and merchant endpoints that answer
// slowly, stream an endless body, redirect to a canary, or resolve
// differently on a second lookup. The sandbox keeps answering others and
// never sends anything to a refused address. A healthy client's latency is
// measured and printed while it happens (for docs/reliability.md); only that
// it is answered is asserted. Every hostile peer is bounded to a few seconds.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/notify/ack.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/notify/http_sender.h"
#include "sandbox/notify/url_guard.h"
#include "sandbox/server/fault_harness.h"
#include "sandbox/server/sandbox_server.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;
using fault_testing::Eventually;

double MsSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A connected TCP socket to 127.0.0.1:port (-1 on failure).
int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A one-route httplib server on host:<any> (127.0.0.1 unless given),
// counting requests.
class Endpoint {
 public:
  explicit Endpoint(httplib::Server::Handler handler, std::string host = "127.0.0.1",
                    int port = 0)
      : host_(std::move(host)) {
    server_.Post(".*", [this, handler](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      handler(req, res);
    });
    server_.Get(".*", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content("canary", "text/plain");
    });
    if (port > 0) {
      port_ = server_.bind_to_port(host_.c_str(), port) ? port : -1;
    } else {
      port_ = server_.bind_to_any_port(host_.c_str());
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~Endpoint() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/notify") const {
    return "http://" + host_ + ":" + std::to_string(port_) + path;
  }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  int hits() const { return hits_.load(); }

 private:
  std::string host_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> hits_{0};
};

// ---------------------------------------------------------------------------
// Hostile clients of the sandbox.

class HostileClients : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = SandboxConfig::Demo();
    store_ = OpenSqliteStore(SqliteStoreOptions()).value();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_};
    ServerOptions opts;
    opts.port = 0;
    opts.threads = kThreads;
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
  }
  void TearDown() override { server_->Stop(); }

  // A healthy client's request (a signed orderquery, the cheapest API call
  // that goes through the whole envelope): its latency in ms, or -1.
  double HealthyLatencyMs() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(30);
    c.set_read_timeout(30);
    Fields f{{"out_trade_no", std::string("X")}};
    f.Set("method", std::string("orderquery"));
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    const auto start = Steady::now();
    auto res = c.Post("/api", WithSign(f, kDemoKey).ToJson(), "application/json");
    const double ms = MsSince(start);
    if (!res) return -1;
    json j = json::parse(res->body, nullptr, false);
    return j.is_object() && j.value("err_code", "") == "ORDER_NOT_EXIST" ? ms : -1;
  }

  static constexpr int kThreads = 4;
  SandboxConfig config_;
  FakeClock clock_{1'764'300'000LL * 1'000'000};
  SeededRandom rng_{1};
  SeededRandom nonce_rng_{2};
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
};

TEST_F(HostileClients, OneBytePerSecondClientDoesNotStopOthers) {
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const std::string request =
      "POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}";
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    // One byte per second, four bytes in all: bounded to a few seconds.
    for (size_t i = 0; i < 4 && !stop; ++i) {
      ::send(fd, request.data() + i, 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(milliseconds(1000));
    }
  });
  std::vector<double> latencies;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(900));
    latencies.push_back(HealthyLatencyMs());
  }
  stop = true;
  trickler.join();
  ::close(fd);
  for (double ms : latencies) {
    std::printf("[hostile-peers] healthy orderquery while a client sends 1 byte/s: %.1f ms\n", ms);
    EXPECT_GE(ms, 0) << "the healthy client was not answered";
  }
}

TEST_F(HostileClients, IdleConnectionsDoNotStopOthers) {
  // As many idle connections as worker threads (and twice that): each holds
  // a worker until the keep-alive timeout (5 s) passes, so a healthy client
  // queues behind them; it must still be answered.
  std::vector<int> idle;
  for (int i = 0; i < 2 * kThreads; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(milliseconds(100));
  const double ms = HealthyLatencyMs();
  std::printf(
      "[hostile-peers] healthy orderquery with %d idle connections and %d threads: %.1f ms\n",
      2 * kThreads, kThreads, ms);
  for (int fd : idle) ::close(fd);
  EXPECT_GE(ms, 0) << "the healthy client was not answered";
  const double after = HealthyLatencyMs();
  std::printf("[hostile-peers] healthy orderquery after they closed: %.1f ms\n", after);
  EXPECT_GE(after, 0);
}

TEST_F(HostileClients, ClientsThatDisconnectMidRequestDoNotStopOthers) {
  // Headers promise 1000 bytes; 10 arrive, then the connection closes. Also
  // a client that closes mid-header, and one that resets.
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    std::string partial =
        i % 2 == 0 ? "POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000\r\n\r\n{\"method\":"
                   : "POST /api HTTP/1.1\r\nHost: x\r\nContent-Le";
    ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    if (i % 5 == 4) {
      linger lg{1, 0};  // RST instead of FIN
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    ::close(fd);
  }
  const double ms = HealthyLatencyMs();
  std::printf("[hostile-peers] healthy orderquery after 20 clients hung up mid-request: %.1f ms\n",
              ms);
  EXPECT_GE(ms, 0) << "the healthy client was not answered";
}

// ---------------------------------------------------------------------------
// Hostile merchant endpoints, through the real HttpSender.

OutboundTarget LoopbackTarget(int port, const std::string& path = "/notify") {
  OutboundTarget t;
  t.url = "http://127.0.0.1:" + std::to_string(port) + path;
  t.host = "127.0.0.1";
  t.port = port;
  t.path = path;
  t.connect_ip = "127.0.0.1";
  return t;
}

const char kForm[] = "application/x-www-form-urlencoded";

TEST(HostileMerchants, SlowAnswerIsATimeoutNotAnAck) {
  std::atomic<bool> released{false};
  Endpoint slow([&](const httplib::Request&, httplib::Response& res) {
    // Holds the answer up to 3 s (released early when the test ends).
    for (int i = 0; i < 300 && !released; ++i) std::this_thread::sleep_for(milliseconds(10));
    res.set_content(kNotifyAckBody, "application/json");
  });
  auto sender = MakeHttpSender(HttpSenderOptions{});
  SendOptions opts;
  opts.timeout_ms = 300;
  const auto start = Steady::now();
  SendResult r = sender->Post(LoopbackTarget(slow.port()), "a=1", kForm, opts);
  const double ms = MsSince(start);
  released = true;
  std::printf(
      "[hostile-peers] merchant answering after 3 s, timeout 300 ms: gave up after %.1f ms"
      " (%s)\n",
      ms, r.error.c_str());
  EXPECT_EQ(r.http_status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(DecideAck(r, AckMode::kAny2xx).acked);
}

// A raw TCP merchant that answers every request with headers and then an
// endless body, until the peer goes away or `limit` passes.
class EndlessBodyMerchant {
 public:
  explicit EndlessBodyMerchant(bool chunked) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 8);
    thread_ = std::thread([this, chunked] { Serve(chunked); });
  }
  ~EndlessBodyMerchant() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int64_t bytes_sent() const { return sent_.load(); }

 private:
  void Serve(bool chunked) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{0, 200'000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char buf[4096];
    ::recv(fd, buf, sizeof buf, 0);  // the request (small); its content is not needed
    const std::string head =
        chunked
            ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10000000000\r\n\r\n";
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string piece(16 * 1024, 'x');
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
    const std::string chunk = chunked ? size_line + piece + "\r\n" : piece;
    const auto end = Steady::now() + milliseconds(5000);
    while (!stop_ && Steady::now() < end) {
      ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
      if (n > 0) sent_ += n;
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0};
};

TEST(HostileMerchants, EndlessBodyIsCutAtTheCapWithBoundedMemory) {
  for (bool chunked : {true, false}) {
    EndlessBodyMerchant merchant(chunked);
    auto sender = MakeHttpSender(HttpSenderOptions{});
    SendOptions opts;
    opts.timeout_ms = 1000;
    const long before = RssKb();
    const auto start = Steady::now();
    SendResult r = sender->Post(LoopbackTarget(merchant.port()), "a=1", kForm, opts);
    const double ms = MsSince(start);
    const long growth = RssKb() - before;
    std::printf(
        "[hostile-peers] endless %s body: read %zu bytes (truncated %d), merchant had sent"
        " %lld bytes, %.1f ms, RSS +%ld KiB\n",
        chunked ? "chunked" : "Content-Length 10 GB", r.body.size(), r.body_truncated,
        static_cast<long long>(merchant.bytes_sent()), ms, growth);
    EXPECT_LE(r.body.size(), opts.max_response_bytes);
    EXPECT_TRUE(r.body_truncated || r.http_status == 0) << r.error;
    EXPECT_FALSE(DecideAck(r, AckMode::kAny2xx).acked);
    EXPECT_LT(growth, 32 * 1024);
  }
}

TEST(HostileMerchants, RedirectToAPrivateAddressIsNeverFollowed) {
  Endpoint canary([](const httplib::Request&, httplib::Response& res) {
    res.set_content(kNotifyAckBody, "application/json");
  });
  for (const std::string& location :
       {canary.url("/steal"), std::string("http://169.254.169.254/latest/meta-data/"),
        std::string("http://10.0.0.1/")}) {
    Endpoint redirector([&](const httplib::Request&, httplib::Response& res) {
      res.status = 302;
      res.set_header("Location", location);
    });
    auto sender = MakeHttpSender(HttpSenderOptions{});
    SendResult r = sender->Post(LoopbackTarget(redirector.port()), "a=1", kForm, SendOptions{});
    AckDecision d = DecideAck(r, AckMode::kAny2xx);
    EXPECT_EQ(r.http_status, 302);
    EXPECT_EQ(r.location, location);
    EXPECT_FALSE(d.acked);
    EXPECT_NE(d.reason.find("redirect"), std::string::npos) << d.reason;
    EXPECT_EQ(redirector.hits(), 1);
  }
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(canary.hits(), 0) << "a redirect was followed to the canary";
}

TEST(HostileMerchants, ResolvingDifferentlyOnASecondLookupIsCaught) {
  // DNS rebinding: merchant.test is listed and resolves to loopback first,
  // then to the metadata address and a private one. The guard checks every
  // resolution, and the sender connects to the checked address (it has no
  // DNS for merchant.test at all), so the second answer can never be used.
  Endpoint merchant([](const httplib::Request&, httplib::Response& res) {
    res.set_content(kNotifyAckBody, "application/json");
  });
  std::atomic<int> lookups{0};
  UrlGuardOptions options;
  // With loopback refused a listed name no longer opens it (issue #13), so
  // the receiver's address is listed too.
  options.allow = {"merchant.test", "127.0.0.1"};
  options.allow_loopback = false;
  options.resolve = [&](const std::string&) -> StatusOr<std::vector<std::string>> {
    if (lookups++ == 0) return std::vector<std::string>{"127.0.0.1"};
    return std::vector<std::string>{"169.254.169.254", "::ffff:169.254.169.254"};
  };
  UrlGuard guard(options);
  const std::string url = "http://merchant.test:" + std::to_string(merchant.port()) + "/notify";
  StatusOr<OutboundTarget> first = guard.Resolve(url);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->connect_ip, "127.0.0.1");
  StatusOr<OutboundTarget> second = guard.Resolve(url);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kNotifyUrlRefused);
  EXPECT_NE(second.status().message().find("169.254.169.254"), std::string::npos)
      << second.status().message();

  auto sender = MakeHttpSender(HttpSenderOptions{});
  SendResult r = sender->Post(*first, "a=1", kForm, SendOptions{});
  EXPECT_EQ(r.http_status, 200) << r.error;
  EXPECT_EQ(merchant.hits(), 1);
  EXPECT_EQ(lookups.load(), 2) << "the sender resolved the host itself";
}

// ---------------------------------------------------------------------------
// End to end through the dispatcher.

class NotifyWorld {
 public:
  explicit NotifyWorld(UrlGuardOptions guard_options, int64_t timeout_ms = 2000)
      : clock_(&system_clock_) {
    config_ = SandboxConfig::Demo();
    config_.settings.notify_profile = "fast";
    config_.settings.time_scale = 0.01;
    store_ = OpenSqliteStore(SqliteStoreOptions()).value();
    guard_ = std::make_unique<UrlGuard>(std::move(guard_options));
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_, &clock_, guard_.get()};
    sender_ = MakeHttpSender(HttpSenderOptions{});
    DispatcherOptions options = DispatcherOptionsFor(config_.settings).value();
    options.timeout_ms = timeout_ms;
    dispatcher_ = std::make_unique<Dispatcher>(ctx_, guard_.get(), sender_.get(), options);
    store_->SetOutboxObserver([this] { dispatcher_->Wake(); });
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 8;
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
    dispatcher_->Start();
  }
  ~NotifyWorld() {
    server_->Stop();
    dispatcher_->Stop();
  }

  json Call(const std::string& path, const std::string& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    auto res = body.empty() ? c.Get(path.c_str()) : c.Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(res);
    return res ? json::parse(res->body, nullptr, false) : json();
  }
  // webpay notifying `notify_url`, paid through the control API.
  std::string WebPayAndPay(const std::string& notify_url) {
    Fields f{{"total_fee", 0.01}, {"notify_url", notify_url}};
    f.Set("method", std::string("webpay"));
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(clock_.NowSeconds()));
    f.Set("signaturenonce", nonce_rng_.Digits(8, '1'));
    f.Set("version", std::string("2.0"));
    json w = Call("/api", WithSign(f, kDemoKey).ToJson());
    EXPECT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
    const std::string no = w["data"]["out_trade_no"];
    Call("/_sandbox/pay", json{{"out_trade_no", no}}.dump());
    return no;
  }
  std::string StateOf(const std::string& out_trade_no) {
    json list = Call("/_sandbox/notifications?out_trade_no=" + out_trade_no, "");
    if (!list.is_object() || list["notifications"].size() != 1) return "";
    return list["notifications"][0].value("state", "");
  }

 private:
  SandboxConfig config_;
  SystemClock system_clock_;
  SandboxClock clock_;
  SeededRandom rng_{1};
  SeededRandom nonce_rng_{2};
  std::unique_ptr<Store> store_;
  std::unique_ptr<UrlGuard> guard_;
  SandboxContext ctx_;
  std::unique_ptr<HttpSender> sender_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
};

TEST(HostileMerchants, SlowMerchantDoesNotStarveOthers) {
  std::atomic<bool> released{false};
  Endpoint slow([&](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 200 && !released; ++i) std::this_thread::sleep_for(milliseconds(10));
    res.set_content(kNotifyAckBody, "application/json");
  });
  Endpoint healthy([](const httplib::Request&, httplib::Response& res) {
    res.set_content(kNotifyAckBody, "application/json");
  });
  {
    NotifyWorld world(UrlGuardOptions{}, /*timeout_ms=*/3000);
    for (int i = 0; i < 8; ++i) world.WebPayAndPay(slow.url());
    ASSERT_TRUE(Eventually([&] { return slow.hits() >= 1; }, milliseconds(5000)));
    const auto start = Steady::now();
    const std::string no = world.WebPayAndPay(healthy.url());
    const bool delivered = Eventually([&] { return healthy.hits() >= 1; }, milliseconds(10000));
    const double ms = MsSince(start);
    std::printf(
        "[hostile-peers] healthy merchant notified in %.1f ms while 8 notifications to a"
        " merchant answering after 2 s were in flight (slow merchant hits so far: %d)\n",
        ms, slow.hits());
    EXPECT_TRUE(delivered) << "the healthy merchant was starved";
    EXPECT_TRUE(Eventually([&] { return world.StateOf(no) == "acked"; }, milliseconds(5000)));
    released = true;
  }
}

TEST(HostileMerchants, RefusedAddressCanarySeesZeroHits) {
  // Loopback is not allowed here and nothing is listed: a notify_url on the
  // canary (a numeric loopback address, a name resolving to it, a decimal
  // form of it) is held as blocked and the canary never sees a request.
  Endpoint canary([](const httplib::Request&, httplib::Response& res) {
    res.set_content(kNotifyAckBody, "application/json");
  });
  UrlGuardOptions options;
  options.allow_loopback = false;
  options.resolve = [](const std::string&) -> StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"127.0.0.1"};
  };
  NotifyWorld world(options);
  const std::string port = std::to_string(canary.port());
  std::vector<std::string> orders;
  for (const std::string& url :
       {canary.url(), "http://canary.test:" + port + "/notify",
        "http://2130706433:" + port + "/notify", "http://[::ffff:127.0.0.1]:" + port + "/notify"}) {
    orders.push_back(world.WebPayAndPay(url));
  }
  for (const std::string& no : orders) {
    EXPECT_TRUE(Eventually([&] { return world.StateOf(no) == "blocked"; }, milliseconds(5000)))
        << no << " is " << world.StateOf(no);
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(canary.hits(), 0);
}

// ---------------------------------------------------------------------------
// Inside a network namespace with only loopback: canaries on real private
// addresses (10.0.0.1 and the cloud metadata address 169.254.169.254, added to
// lo in the namespace, so nothing leaves the machine) must see zero requests
// from the sandbox, whether the address is the notify_url itself, a redirect
// target, or what a name resolves to on its second lookup. Needs
// unshare(CLONE_NEWNET) (root or CAP_SYS_ADMIN); skipped with the reason
// otherwise.

// Moves the calling thread into a new network namespace, brings lo up and adds
// `addresses` (/32) to it. Threads the caller starts later inherit the
// namespace; the rest of the process keeps its own. Returns "" or why not.
std::string EnterLoopbackOnlyNetns(const std::vector<std::string>& addresses) {
  if (::unshare(CLONE_NEWNET) != 0) {
    return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  auto up = [fd](const std::string& name) -> std::string {
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
    if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return "SIOCGIFFLAGS " + name;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) return "SIOCSIFFLAGS " + name;
    return "";
  };
  std::string error = up("lo");
  for (size_t i = 0; error.empty() && i < addresses.size(); ++i) {
    const std::string alias = "lo:" + std::to_string(i + 1);
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", alias.c_str());
    auto* addr = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    addr->sin_family = AF_INET;
    if (::inet_pton(AF_INET, addresses[i].c_str(), &addr->sin_addr) != 1) {
      error = "bad address " + addresses[i];
    } else if (::ioctl(fd, SIOCSIFADDR, &ifr) != 0) {
      error = "SIOCSIFADDR " + addresses[i] + ": " + std::strerror(errno);
    } else {
      auto* mask = reinterpret_cast<sockaddr_in*>(&ifr.ifr_netmask);
      mask->sin_family = AF_INET;
      mask->sin_addr.s_addr = 0xffffffffu;
      if (::ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) error = "SIOCSIFNETMASK " + alias;
      if (error.empty()) error = up(alias);
    }
  }
  ::close(fd);
  return error;
}

// The interfaces of the calling thread's namespace.
std::vector<std::string> InterfaceNames() {
  std::vector<std::string> names;
  if (struct if_nameindex* list = ::if_nameindex()) {
    for (struct if_nameindex* i = list; i->if_index != 0; ++i) names.push_back(i->if_name);
    ::if_freenameindex(list);
  }
  return names;
}

TEST(HostileMerchants, PrivateAddressCanariesInALoopbackOnlyNamespaceSeeZeroHits) {
  std::string skip;
  // Everything runs on this thread (and the threads it starts), so only they
  // are in the new namespace.
  std::thread body([&] {
    skip = EnterLoopbackOnlyNetns({"10.0.0.1", "169.254.169.254"});
    if (!skip.empty()) return;
    EXPECT_EQ(InterfaceNames(), std::vector<std::string>{"lo"}) << "not a loopback-only namespace";
    auto ack = [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kNotifyAckBody, "application/json");
    };
    // First answer 500 so that the notification is retried and the name is
    // resolved again; the second resolution gives the metadata address, where
    // a canary listens on the same port.
    std::atomic<int> rebind_calls{0};
    Endpoint rebinding_merchant([&](const httplib::Request&, httplib::Response& res) {
      ++rebind_calls;
      res.status = 500;
    });
    Endpoint private_canary(ack, "10.0.0.1");
    Endpoint metadata_canary(ack, "169.254.169.254", rebinding_merchant.port());
    ASSERT_EQ(metadata_canary.port(), rebinding_merchant.port());
    // The control: both canaries answer this thread, so a zero below means
    // the sandbox refused, not that the address was unreachable.
    for (Endpoint* c : {&private_canary, &metadata_canary}) {
      httplib::Client client(c->host(), c->port());
      client.set_connection_timeout(2, 0);
      auto res = client.Post("/control", "a=1", kForm);
      EXPECT_TRUE(res) << c->url() << " is not reachable in the namespace";
    }
    const int control_private = private_canary.hits();
    const int control_metadata = metadata_canary.hits();

    Endpoint redirector([&](const httplib::Request&, httplib::Response& res) {
      res.status = 302;
      res.set_header("Location", private_canary.url("/steal"));
    });
    // merchant.test is listed, so it may resolve to any address but the
    // always-refused ones (link-local, the metadata address, ...): a listed
    // name on a private network is the operator's choice (docs/notify.md).
    std::atomic<int> lookups{0};
    UrlGuardOptions options;  // loopback allowed (the default), nothing else
    options.allow = {"merchant.test"};
    options.resolve = [&](const std::string& host) -> StatusOr<std::vector<std::string>> {
      if (host != "merchant.test") return std::vector<std::string>{host};
      if (lookups++ == 0) return std::vector<std::string>{"127.0.0.1"};
      return std::vector<std::string>{"169.254.169.254"};
    };
    std::vector<std::string> blocked_orders;
    std::string redirected, rebound;
    {
      NotifyWorld world(options);
      for (const std::string& url :
           {private_canary.url(), metadata_canary.url("/latest/meta-data/"),
            "http://10.0.0.1:" + std::to_string(private_canary.port()) + "/"}) {
        blocked_orders.push_back(world.WebPayAndPay(url));
      }
      redirected = world.WebPayAndPay(redirector.url());
      rebound = world.WebPayAndPay("http://merchant.test:" +
                                   std::to_string(rebinding_merchant.port()) + "/notify");
      for (const std::string& no : blocked_orders) {
        EXPECT_TRUE(Eventually([&] { return world.StateOf(no) == "blocked"; }, milliseconds(5000)))
            << no << " is " << world.StateOf(no);
      }
      EXPECT_TRUE(Eventually([&] { return redirector.hits() >= 2; }, milliseconds(5000)))
          << "the redirecting merchant was not retried";
      EXPECT_TRUE(Eventually([&] { return world.StateOf(rebound) == "blocked"; },
                             milliseconds(5000)))
          << "after rebinding to 169.254.169.254 the notification is " << world.StateOf(rebound);
      EXPECT_NE(world.StateOf(redirected), "acked");
    }
    std::printf(
        "[hostile-peers] loopback-only netns: canaries 10.0.0.1 and 169.254.169.254 reachable "
        "(control: %d and %d hits), then %d and %d hits from the sandbox; redirector %d hits, "
        "rebinding merchant %d hits, %d lookups\n",
        control_private, control_metadata, private_canary.hits() - control_private,
        metadata_canary.hits() - control_metadata, redirector.hits(), rebind_calls.load(),
        lookups.load());
    EXPECT_EQ(control_private, 1);
    EXPECT_EQ(control_metadata, 1);
    EXPECT_EQ(private_canary.hits() - control_private, 0);
    EXPECT_EQ(metadata_canary.hits() - control_metadata, 0);
    EXPECT_EQ(rebind_calls.load(), 1) << "delivered once to the first (loopback) resolution";
    EXPECT_GE(lookups.load(), 2);
  });
  body.join();
  if (!skip.empty()) GTEST_SKIP() << "needs a network namespace: " << skip;
}

}  // namespace
}  // namespace vkspay::sandbox
