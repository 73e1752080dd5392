// HTTPS through the HTTP front (issue #18): a real SandboxServer on
// 127.0.0.1, port 0, serving a certificate from the --tls-self-signed CA.
// A real handshake from OpenSSL clients; request and answer, keep-alive and
// pipelined requests over TLS; a client that stalls mid-handshake is closed
// after the head timeout without holding a worker; plain HTTP sent to the
// TLS port gets a plain-text 400; payment links use the https:// name.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/faults/fault_engine.h"
#include "sandbox/server/sandbox_server.h"
#include "sandbox/tls/tls_files.h"
#include "vkspay/client/client.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr int64_t kNow = 1'764'300'000;  // 2025-11-28

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the peer closed `fd` (EOF or reset) within `limit`.
bool ClosedWithin(int fd, milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      char tmp[4096];
      if (::recv(fd, tmp, sizeof tmp, 0) <= 0) return true;
    }
  }
  return false;
}

struct Answer {
  int status = 0;
  std::string head, body;
};

// Splits whole HTTP/1.1 answers (Content-Length framed) off the front of `buf`.
void TakeAnswers(std::string& buf, std::vector<Answer>* out) {
  while (true) {
    const size_t end = buf.find("\r\n\r\n");
    if (end == std::string::npos) return;
    Answer a;
    a.head = buf.substr(0, end + 2);
    a.status = std::atoi(a.head.c_str() + 9);
    size_t len = 0;
    std::string lower = a.head;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (const size_t cl = lower.find("content-length:"); cl != std::string::npos) {
      len = std::stoul(a.head.substr(cl + 15));
    }
    if (buf.size() < end + 4 + len) return;
    a.body = buf.substr(end + 4, len);
    buf.erase(0, end + 4 + len);
    out->push_back(std::move(a));
  }
}

// A blocking OpenSSL client connection that trusts only `ca_file` and checks
// the host name.
class TlsConn {
 public:
  TlsConn(int port, const std::string& ca_file, const std::string& host) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
      error_ = "cannot load " + ca_file;
      return;
    }
    fd_ = Connect(port);
    if (fd_ < 0) {
      error_ = "connect failed";
      return;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
    if (SSL_connect(ssl_) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      error_ = std::string("handshake: ") + buf;
      return;
    }
    ok_ = true;
  }
  ~TlsConn() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  bool Send(const std::string& bytes) {
    size_t written = 0;
    return SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) == 1 && written == bytes.size();
  }
  // Reads until `count` answers arrived, the server closed, or `limit` passed.
  std::vector<Answer> Read(size_t count, milliseconds limit = milliseconds(10000)) {
    std::vector<Answer> out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      TakeAnswers(buf_, &out);
      if (out.size() >= count || closed_) break;
      if (SSL_pending(ssl_) == 0) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      }
      char tmp[16384];
      size_t n = 0;
      if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) {
        closed_ = true;
        closed_cleanly_ = SSL_get_error(ssl_, 0) == SSL_ERROR_ZERO_RETURN ||
                          (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
        continue;
      }
      buf_.append(tmp, n);
    }
    return out;
  }
  bool closed_cleanly() const { return closed_cleanly_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
  bool closed_ = false;
  bool closed_cleanly_ = false;
  std::string error_;
  std::string buf_;
};

class TlsFront : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vkspay-tls-front-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    auto files = EnsureSelfSigned(dir_, {kVksPayApiHost}, std::time(nullptr));
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    ca_ = files->ca_cert;
    auto tls = LoadServerTls(files->cert, files->key);
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    tls_ = *tls;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Start(int threads = 4, int max_threads = 0, int64_t head_timeout_ms = 1000) {
    config_ = SandboxConfig::Demo();
    store_ = OpenSqliteStore(SqliteStoreOptions()).value();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_};
    ctx_.faults = &faults_;
    ServerOptions opts;
    opts.port = 0;
    opts.threads = threads;
    if (max_threads > 0) opts.max_threads = max_threads;
    opts.head_timeout_ms = head_timeout_ms;
    opts.body_timeout_ms = head_timeout_ms;
    opts.tls = tls_;
    opts.link_host = kVksPayApiHost;
    opts.refusal_log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    server_ = std::make_unique<SandboxServer>(ctx_, opts);
    port_ = *server_->Start();
  }
  std::string Signed(const std::string& method, Fields f) {
    f.Set("method", method);
    f.Set("merchantno", std::string(kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(kNow));
    f.Set("signaturenonce", NextNonce());
    f.Set("version", std::string("2.0"));
    return WithSign(f, kDemoKey).ToJson();
  }
  // Eight digits 1-9, never the same twice (the replay window refuses a
  // nonce seen before).
  std::string NextNonce() {
    int n = nonce_++;
    std::string out(8, '1');
    for (int i = 7; i >= 0; --i, n /= 9)
      out[static_cast<size_t>(i)] = static_cast<char>('1' + n % 9);
    return out;
  }
  std::string WebPay(const std::string& no) {
    return Signed("webpay", Fields{{"out_trade_no", no},
                                   {"total_fee", 0.01},
                                   {"notify_url", std::string("http://127.0.0.1:9/notify")}});
  }
  static std::string PostApi(const std::string& body) {
    return "POST /api HTTP/1.1\r\nHost: " + std::string(kVksPayApiHost) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  }
  bool Logged(const std::string& part) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& l : log_) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }
  std::unique_ptr<httplib::SSLClient> Client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    c->set_ca_cert_path(ca_);
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(5, 0);
    c->set_tcp_nodelay(true);  // else Nagle holds each request's body ~40 ms
    return c;
  }

  std::string dir_, ca_;
  std::shared_ptr<SSL_CTX> tls_;
  SandboxConfig config_;
  FakeClock clock_{kNow * 1'000'000};
  SeededRandom rng_{1};
  int nonce_ = 1;
  FaultEngine faults_{clock_, FaultEngineOptions{}};
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
  std::unique_ptr<SandboxServer> server_;
  int port_ = 0;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(TlsFront, WebpayOverHttpsAnswersWithAnHttpsPaymentLinkOnTheName) {
  Start();
  auto client = Client();
  auto res = client->Post("/api", WebPay("TLS1"), "application/json");
  ASSERT_TRUE(res) << "transport error " << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  const json j = json::parse(res->body, nullptr, false);
  EXPECT_EQ(j.value("return_code", ""), "SUCCESS") << res->body;
  const std::string qr = j["data"].value("qrcode", "");
  EXPECT_EQ(qr.rfind("https://vk-spay-openapi.fsq.pub:" + std::to_string(port_) + "/pay/", 0), 0u)
      << qr;
  EXPECT_EQ(server_->base_url(), "https://127.0.0.1:" + std::to_string(port_));
  // The cashier page's QR link uses the same name.
  const std::string path = qr.substr(qr.find("/pay/"));
  auto page = client->Get(path.c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find(qr), std::string::npos) << "the page shows another link";
}

TEST_F(TlsFront, KeepAliveServesManyRequestsOnOneTlsConnection) {
  Start();
  auto client = Client();
  client->set_keep_alive(true);
  for (int i = 0; i < 20; ++i) {
    auto res = client->Post("/api", WebPay("KA" + std::to_string(i)), "application/json");
    ASSERT_TRUE(res) << i << ": " << httplib::to_string(res.error());
    ASSERT_EQ(res->status, 200) << res->body;
    ASSERT_NE(res->body.find("\"return_code\":\"SUCCESS\""), std::string::npos) << res->body;
  }
  const FrontStats s = server_->front_stats();
  EXPECT_EQ(s.requests, 20u);
  EXPECT_EQ(s.connections, 1u) << "keep-alive over TLS opened new connections";
  EXPECT_EQ(s.tls_failed, 0u);
}

TEST_F(TlsFront, PipelinedRequestsOverTlsAreAnsweredInOrder) {
  Start();
  TlsConn conn(port_, ca_, kVksPayApiHost);
  ASSERT_TRUE(conn.ok()) << conn.error();
  // Three requests in one TLS write (so in one or two records).
  ASSERT_TRUE(conn.Send(PostApi(WebPay("P1")) + PostApi(WebPay("P2")) + PostApi(WebPay("P3"))));
  auto answers = conn.Read(3);
  ASSERT_EQ(answers.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(answers[static_cast<size_t>(i)].status, 200);
    EXPECT_NE(answers[static_cast<size_t>(i)].body.find("\"P" + std::to_string(i + 1) + "\""),
              std::string::npos)
        << answers[static_cast<size_t>(i)].body;
  }
  EXPECT_GE(server_->front_stats().pipelined, 2u);
}

TEST_F(TlsFront, FramingLimitsHoldOverTls) {
  Start();
  TlsConn conn(port_, ca_, kVksPayApiHost);
  ASSERT_TRUE(conn.ok()) << conn.error();
  ASSERT_TRUE(
      conn.Send("POST /api HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                "Content-Length: 10\r\n\r\n"));
  auto answers = conn.Read(1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 415);
  EXPECT_NE(answers[0].head.find("Connection: close"), std::string::npos);
  conn.Read(1, milliseconds(3000));
  EXPECT_TRUE(conn.closed_cleanly()) << "no close_notify after the refusal";
}

TEST_F(TlsFront, AStalledHandshakeIsClosedAfterTheHeadTimeoutAndHoldsNoWorker) {
  // Two workers at most: eight stalled handshakes holding one each would
  // starve the real client below.
  Start(/*threads=*/2, /*max_threads=*/2, /*head_timeout_ms=*/800);
  std::vector<int> stalled;
  for (int i = 0; i < 8; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    // Half a ClientHello: a handshake record header promising 512 bytes,
    // then nothing.
    if (i % 2 == 0) {
      const char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
      ASSERT_EQ(::send(fd, partial, sizeof partial, MSG_NOSIGNAL), 6);
    }
    stalled.push_back(fd);
  }
  std::this_thread::sleep_for(milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  auto client = Client();
  auto res = client->Post("/api", WebPay("BUSY"), "application/json");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(ms, 700) << "the stalled handshakes held the workers";
  EXPECT_LE(server_->front_stats().threads, 2u);
  for (int fd : stalled) {
    EXPECT_TRUE(ClosedWithin(fd, milliseconds(3000))) << "a stalled handshake was never closed";
    ::close(fd);
  }
  const FrontStats s = server_->front_stats();
  EXPECT_EQ(s.tls_failed, 8u);
  EXPECT_TRUE(Logged("https handshake timed out 127.0.0.1:"));
  std::printf(
      "[tls-front] 8 stalled handshakes: a real request answered in %.1f ms; all closed "
      "after the 800 ms head timeout\n",
      ms);
}

TEST_F(TlsFront, PlainHttpToTheTlsPortGetsAPlainTextRefusal) {
  Start();
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string buf;
  std::vector<Answer> answers;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  while (answers.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char tmp[4096];
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
    TakeAnswers(buf, &answers);
  }
  ASSERT_EQ(answers.size(), 1u) << buf;
  EXPECT_EQ(answers[0].status, 400);
  EXPECT_NE(answers[0].body.find("this port speaks HTTPS"), std::string::npos) << answers[0].body;
  EXPECT_TRUE(ClosedWithin(fd, milliseconds(3000)));
  ::close(fd);
  EXPECT_TRUE(Logged("http refused 400"));
  EXPECT_EQ(server_->front_stats().requests, 0u) << "a plain request reached a handler";
}

TEST_F(TlsFront, AClientThatDoesNotTrustTheCaFailsAndIsLogged) {
  Start();
  // Trusting the leaf, not the CA: the chain does not verify, the client
  // aborts the handshake with an alert.
  TlsConn untrusting(port_, dir_ + "/server.pem", kVksPayApiHost);
  EXPECT_FALSE(untrusting.ok());
  EXPECT_NE(untrusting.error().find("certificate verify failed"), std::string::npos)
      << untrusting.error();
  EXPECT_TRUE([&] {
    for (int i = 0; i < 100 && !Logged("https handshake failed"); ++i) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    return Logged("https handshake failed");
  }());
  EXPECT_EQ(server_->front_stats().tls_failed, 1u);
  // The CA-trusting client still gets through.
  auto ok = Client()->Get("/");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// The reference client (and so `vkspay --cacert`) over https://: trusting
// the local CA it verifies; without it the error says what to pass.
TEST_F(TlsFront, TheReferenceClientSpeaksHttpsWithACaFile) {
  Start();
  client::ClientOptions opts;
  opts.base_url = "https://127.0.0.1:" + std::to_string(port_);
  opts.merchantno = kDemoMerchantNo;
  opts.key = kDemoKey;
  opts.ca_file = ca_;
  auto trusting = client::Client::Create(opts, &clock_);
  ASSERT_TRUE(trusting.ok()) << trusting.status().ToString();
  client::WebPayRequest req;
  req.total_fee = 1;
  req.notify_url = "http://127.0.0.1:9/notify";
  req.out_trade_no = "CLI-TLS";
  auto order = (*trusting)->WebPay(req);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(order->qrcode.rfind("https://vk-spay-openapi.fsq.pub:", 0), 0u) << order->qrcode;

  opts.ca_file.clear();  // the system store does not hold the local CA
  auto untrusting = client::Client::Create(opts, &clock_);
  ASSERT_TRUE(untrusting.ok());
  req.out_trade_no = "CLI-TLS-2";
  auto refused = (*untrusting)->WebPay(req);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kConnectError);
  EXPECT_NE(refused.status().message().find("--cacert"), std::string::npos)
      << refused.status().message();
}

// The binary's TLS flags: bad files and bad combinations exit 2 with a line
// naming the flag, before anything listens or any file is written.
struct SandboxRun {
  int exit_code = -1;
  std::string err;
};

SandboxRun RunSandbox(const std::string& args, const std::string& dir) {
  const std::string err_file = dir + "/stderr";
  const std::string cmd = std::string(VKSPAY_SANDBOX_BIN) +
                          " --listen 127.0.0.1:0 --db :memory: --quiet " + args + " >/dev/null 2>" +
                          err_file + " </dev/null";
  // A start that got past the flags would wait for a signal: `timeout`
  // bounds it (exit 124).
  const int status = std::system(("timeout 10 " + cmd).c_str());
  SandboxRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::getline(in, r.err, '\0');
  return r;
}

class TlsFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vkspay-tls-flags-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(TlsFlags, AMissingCertificateFileNamesTheFlagAndExits2) {
  const SandboxRun r =
      RunSandbox("--tls-cert " + dir_ + "/nope.pem --tls-key " + dir_ + "/nope-key.pem", dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vkspay-sandbox: --tls-cert " + dir_ + "/nope.pem: No such file or directory\n");
}

TEST_F(TlsFlags, AKeyThatIsNotTheCertificatesNamesTheFlagAndExits2) {
  auto files = EnsureSelfSigned(dir_ + "/tls", {kVksPayApiHost}, std::time(nullptr));
  ASSERT_TRUE(files.ok());
  const SandboxRun r =
      RunSandbox("--tls-cert " + files->cert + " --tls-key " + files->ca_key, dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vkspay-sandbox: --tls-key " + files->ca_key +
                       " is not the private key of the certificate in --tls-cert " + files->cert +
                       "\n");
}

TEST_F(TlsFlags, ACertificateWithoutItsKeyExits2) {
  const SandboxRun r = RunSandbox("--tls-cert " + dir_ + "/cert.pem", dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vkspay-sandbox: --tls-cert needs --tls-key too\n");
}

TEST_F(TlsFlags, SelfSignedWithACertificateExits2) {
  const SandboxRun r = RunSandbox("--tls-self-signed --tls-cert a.pem --tls-key b.pem", dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--tls-self-signed makes its own certificate"), std::string::npos) << r.err;
}

TEST_F(TlsFlags, ABadHostNameExits2AndWritesNothing) {
  const SandboxRun r =
      RunSandbox("--tls-self-signed 'ok.example,bad_name' --tls-dir " + dir_ + "/tls", dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("vkspay-sandbox: --tls-self-signed: \"bad_name\" is not a host name", 0),
            0u)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/tls"));
}

TEST_F(TlsFlags, ARefusedConfigWritesNoCa) {
  const SandboxRun r = RunSandbox(
      "--tls-self-signed --tls-dir " + dir_ + "/tls --config " + dir_ + "/missing.json", dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing.json"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/tls")) << "a start refused for its config made a CA";
}

}  // namespace
}  // namespace vkspay::sandbox
