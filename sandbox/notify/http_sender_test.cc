#include "sandbox/notify/http_sender.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

namespace vkspay::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// Runs a configured httplib::Server on 127.0.0.1 and a free port; stops and
// joins it on destruction. Declare it after the server and before the sender,
// so the sender (and its keep-alive connections) goes first.
class Running {
 public:
  explicit Running(httplib::Server& svr) : svr_(svr) {
    svr_.set_tcp_nodelay(true);
    svr_.set_keep_alive_max_count(100000);
    svr_.set_keep_alive_timeout(1);
    svr_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return;
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    auto until = Clock::now() + std::chrono::seconds(5);
    while (!svr_.is_running() && Clock::now() < until) std::this_thread::sleep_for(milliseconds(1));
  }
  ~Running() {
    svr_.stop();
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return port_ > 0 && svr_.is_running(); }
  int port() const { return port_; }

 private:
  httplib::Server& svr_;
  int port_ = -1;
  std::thread thread_;
};

OutboundTarget Target(int port, std::string path = "/notify", std::string host = "127.0.0.1",
                      bool https = false) {
  OutboundTarget t;
  t.https = https;
  t.host = std::move(host);
  t.port = port;
  t.path = std::move(path);
  t.connect_ip = "127.0.0.1";
  t.url =
      std::string(https ? "https://" : "http://") + t.host + ":" + std::to_string(port) + t.path;
  return t;
}

SendOptions Opts(int64_t timeout_ms = 2000) {
  SendOptions o;
  o.timeout_ms = timeout_ms;
  return o;
}

constexpr char kJson[] = "application/json";

TEST(HttpSender, ReadsJsonAnswer) {
  httplib::Server svr;
  std::string seen_body, seen_type, seen_host;
  svr.Post("/notify", [&](const httplib::Request& req, httplib::Response& res) {
    seen_body = req.body;
    seen_type = req.get_header_value("Content-Type");
    seen_host = req.get_header_value("Host");
    res.set_content(R"({"return_code":"SUCCESS","return_msg":"OK"})", kJson);
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  SendResult r = sender->Post(Target(run.port()), R"({"a":1})", kJson, Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, R"({"return_code":"SUCCESS","return_msg":"OK"})");
  EXPECT_FALSE(r.body_truncated);
  EXPECT_GT(r.latency_us, 0);
  EXPECT_EQ(seen_body, R"({"a":1})");
  EXPECT_EQ(seen_type, kJson);
  EXPECT_EQ(seen_host, "127.0.0.1:" + std::to_string(run.port()));
}

// The guard approved connect_ip; the name is only for Host (and TLS).
TEST(HttpSender, ConnectsToConnectIpAndSendsHostName) {
  httplib::Server svr;
  std::string seen_host, seen_target;
  svr.Post("/n", [&](const httplib::Request& req, httplib::Response& res) {
    seen_host = req.get_header_value("Host");
    seen_target = req.target;
    res.set_content("SUCCESS", "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  SendResult r = sender->Post(Target(run.port(), "/n?x=%2F", "merchant.invalid"), "a=1",
                              "application/x-www-form-urlencoded", Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(seen_host, "merchant.invalid:" + std::to_string(run.port()));
  EXPECT_EQ(seen_target, "/n?x=%2F");
}

TEST(HttpSender, ReportsServerError) {
  httplib::Server svr;
  svr.Post("/notify", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("boom", "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.body, "boom");
}

TEST(HttpSender, DoesNotFollowRedirects) {
  httplib::Server elsewhere;
  std::atomic<int> elsewhere_hits{0};
  elsewhere.set_pre_routing_handler([&](const httplib::Request&, httplib::Response&) {
    ++elsewhere_hits;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  Running run_elsewhere(elsewhere);
  ASSERT_TRUE(run_elsewhere.ok());
  const std::string location =
      "http://127.0.0.1:" + std::to_string(run_elsewhere.port()) + "/stolen";

  httplib::Server svr;
  svr.Post("/notify", [&](const httplib::Request&, httplib::Response& res) {
    res.set_redirect(location, 302);
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 302);
  EXPECT_EQ(r.location, location);
  EXPECT_EQ(elsewhere_hits.load(), 0);
}

TEST(HttpSender, TruncatesLongAnswer) {
  httplib::Server svr;
  svr.Post("/notify", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1024 * 1024, 'a'), "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.body_truncated);
  EXPECT_EQ(r.body, std::string(64 * 1024, 'a'));

  // An answer exactly as long as the cap is complete.
  SendOptions exact = Opts();
  exact.max_response_bytes = 1024 * 1024;
  r = sender->Post(Target(run.port()), "{}", kJson, exact);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_FALSE(r.body_truncated);
  EXPECT_EQ(r.body.size(), 1024u * 1024u);
}

TEST(HttpSender, EndlessChunkedAnswerIsCut) {
  httplib::Server svr;
  svr.Post("/notify", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      static const std::string chunk(4096, 'z');
      return sink.write(chunk.data(), chunk.size());  // false once the client is gone
    });
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  auto start = Clock::now();
  SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts(300));
  EXPECT_LT(MsSince(start), 2000);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.body_truncated);
  EXPECT_EQ(r.body.size(), 64u * 1024u);
}

// A body that keeps arriving, too slowly to reach the cap, is bounded by
// total_timeout_ms: no single read ever times out.
TEST(HttpSender, TricklingAnswerHitsTotalTimeout) {
  httplib::Server svr;
  std::atomic<bool> quit{false};
  svr.Post("/notify", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [&](size_t, httplib::DataSink& sink) {
      std::this_thread::sleep_for(milliseconds(20));
      return !quit && sink.write("x", 1);
    });
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  SendOptions o = Opts(300);
  o.total_timeout_ms = 600;
  auto start = Clock::now();
  SendResult r = sender->Post(Target(run.port()), "{}", kJson, o);
  int64_t ms = MsSince(start);
  quit = true;
  EXPECT_EQ(r.error, "timeout after 600 ms (whole attempt)");
  EXPECT_EQ(r.http_status, 0);
  EXPECT_GE(ms, 550);
  EXPECT_LT(ms, 2500);
}

// A raw TCP peer that answers a status line and then one header line every
// 20 ms, forever: only the watchdog can interrupt cpp-httplib here.
class HeaderTrickler {
 public:
  HeaderTrickler() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HeaderTrickler() {
    quit_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    while (!quit_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      const std::string status = "HTTP/1.1 200 OK\r\n";
      bool ok = send(conn, status.data(), status.size(), MSG_NOSIGNAL) > 0;
      while (ok && !quit_) {
        std::this_thread::sleep_for(milliseconds(20));
        ok = send(conn, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) > 0;
      }
      close(conn);
    }
  }

  int fd_ = -1;
  int port_ = -1;
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

TEST(HttpSender, TricklingHeadersHitTotalTimeout) {
  HeaderTrickler peer;
  ASSERT_GT(peer.port(), 0);
  auto sender = MakeHttpSender({});

  SendOptions o = Opts(300);
  o.total_timeout_ms = 600;
  auto start = Clock::now();
  SendResult r = sender->Post(Target(peer.port()), "{}", kJson, o);
  int64_t ms = MsSince(start);
  EXPECT_EQ(r.error, "timeout after 600 ms (whole attempt)");
  EXPECT_EQ(r.http_status, 0);
  EXPECT_GE(ms, 550);
  EXPECT_LT(ms, 2500);
}

TEST(HttpSender, ConnectionRefused) {
  // A port that was free a moment ago and has no listener now.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  auto sender = MakeHttpSender({});

  auto start = Clock::now();
  SendResult r = sender->Post(Target(ntohs(addr.sin_port)), "{}", kJson, Opts());
  EXPECT_LT(MsSince(start), 1000);
  EXPECT_EQ(r.error, "connection refused");
  EXPECT_EQ(r.http_status, 0);
  EXPECT_GT(r.latency_us, 0);
}

TEST(HttpSender, SlowServerTimesOut) {
  httplib::Server svr;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  svr.Post("/notify", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    res.set_content("late", "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  auto start = Clock::now();
  SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts(300));
  int64_t ms = MsSince(start);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(r.error, "timeout after 300 ms (waiting for the answer)");
  EXPECT_EQ(r.http_status, 0);
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 1500);
}

TEST(HttpSender, ReusesKeepAliveConnection) {
  httplib::Server svr;
  std::mutex mu;
  std::set<int> ports;
  int requests = 0;
  svr.Post("/notify", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ports.insert(req.remote_port);
      ++requests;
    }
    res.set_content("SUCCESS", "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  for (int i = 0; i < 10; ++i) {
    SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts());
    ASSERT_EQ(r.http_status, 200) << r.error;
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(requests, 10);
  EXPECT_EQ(ports.size(), 1u);
}

// After a transport failure the connection is not reused.
TEST(HttpSender, DropsConnectionAfterTruncation) {
  httplib::Server svr;
  std::mutex mu;
  std::set<int> ports;
  svr.Post("/notify", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ports.insert(req.remote_port);
    }
    res.set_content(std::string(200 * 1024, 'b'), "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  for (int i = 0; i < 3; ++i) {
    SendResult r = sender->Post(Target(run.port()), "{}", kJson, Opts());
    ASSERT_EQ(r.http_status, 200) << r.error;
    EXPECT_TRUE(r.body_truncated);
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(ports.size(), 3u);
}

TEST(HttpSender, ConcurrentPostsAllSucceed) {
  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(16); };
  std::atomic<int> hits{0};
  svr.Post("/notify", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits;
    res.set_content(req.body, "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});

  constexpr int kThreads = 8;
  constexpr int kPosts = 50;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        std::string body = std::to_string(t) + "-" + std::to_string(i);
        SendResult r = sender->Post(Target(run.port()), body, "text/plain", Opts());
        if (r.http_status == 200 && r.body == body) {
          ++ok;
        } else {
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) first_failure = std::to_string(r.http_status) + " " + r.error;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPosts) << first_failure;
  EXPECT_EQ(hits.load(), kThreads * kPosts);
}

// A self-signed certificate for localhost and 127.0.0.1, written to a
// temporary directory as cert.pem and key.pem.
class TestCert {
 public:
  TestCert() {
    char dir_template[] = "/tmp/vkspay_notify_tls_XXXXXX";
    char* dir = mkdtemp(dir_template);
    if (dir == nullptr) return;
    dir_ = dir;
    cert_path_ = dir_ + "/cert.pem";
    key_path_ = dir_ + "/key.pem";

    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    bool signed_ok = X509_sign(x, key, EVP_sha256()) > 0;

    FILE* f = std::fopen(cert_path_.c_str(), "w");
    bool cert_ok = f != nullptr && PEM_write_X509(f, x) == 1;
    if (f != nullptr) std::fclose(f);
    f = std::fopen(key_path_.c_str(), "w");
    bool key_ok =
        f != nullptr && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (f != nullptr) std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    ok_ = signed_ok && cert_ok && key_ok;
  }
  ~TestCert() {
    std::remove(cert_path_.c_str());
    std::remove(key_path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  bool ok() const { return ok_; }
  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }

 private:
  bool ok_ = false;
  std::string dir_, cert_path_, key_path_;
};

class HttpsSender : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cert_.ok());
    svr_ =
        std::make_unique<httplib::SSLServer>(cert_.cert_path().c_str(), cert_.key_path().c_str());
    ASSERT_TRUE(svr_->is_valid());
    svr_->Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_host_ = req.get_header_value("Host");
      res.set_content("SUCCESS", "text/plain");
    });
    run_ = std::make_unique<Running>(*svr_);
    ASSERT_TRUE(run_->ok());
  }
  void TearDown() override {
    run_.reset();
    svr_.reset();
  }
  OutboundTarget Https(std::string host = "localhost") {
    return Target(run_->port(), "/notify", std::move(host), true);
  }

  TestCert cert_;
  std::unique_ptr<httplib::SSLServer> svr_;
  std::unique_ptr<Running> run_;
  std::mutex mu_;
  std::string seen_host_;
};

TEST_F(HttpsSender, UnknownCertificateIsRefused) {
  auto sender = MakeHttpSender({});
  SendResult r = sender->Post(Https(), "{}", kJson, Opts());
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error, "certificate verify failed: self-signed certificate");
}

TEST_F(HttpsSender, CaFileIsTrusted) {
  HttpSenderOptions options;
  options.ca_file = cert_.cert_path();
  auto sender = MakeHttpSender(options);
  SendResult r = sender->Post(Https(), "{}", kJson, Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, "SUCCESS");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(seen_host_, "localhost:" + std::to_string(run_->port()));
}

// The certificate is checked against the URL's host, not connect_ip.
TEST_F(HttpsSender, CertificateMustMatchHost) {
  HttpSenderOptions options;
  options.ca_file = cert_.cert_path();
  auto sender = MakeHttpSender(options);
  SendResult r = sender->Post(Https("merchant.invalid"), "{}", kJson, Opts());
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error,
            "certificate verify failed: the certificate does not match host merchant.invalid");
}

TEST_F(HttpsSender, VerificationCanBeDisabled) {
  HttpSenderOptions options;
  options.verify_tls = false;
  auto sender = MakeHttpSender(options);
  SendResult r = sender->Post(Https("merchant.invalid"), "{}", kJson, Opts());
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(HttpsSender, MissingCaFileFailsHttpsOnly) {
  HttpSenderOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto sender = MakeHttpSender(options);
  SendResult r = sender->Post(Https(), "{}", kJson, Opts());
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error, "cannot open ca_file /nonexistent/ca.pem: No such file or directory");
}

TEST(HttpSenderTls, PlainServerFailsHandshake) {
  httplib::Server svr;
  svr.Post("/notify", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("SUCCESS", "text/plain");
  });
  Running run(svr);
  ASSERT_TRUE(run.ok());
  auto sender = MakeHttpSender({});
  auto start = Clock::now();
  SendResult r =
      sender->Post(Target(run.port(), "/notify", "localhost", true), "{}", kJson, Opts(500));
  EXPECT_LT(MsSince(start), 2500);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error, "TLS handshake failed");
}

}  // namespace
}  // namespace vkspay::sandbox
