#include "vkspay/conformance/target.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace vkspay::conformance {
namespace {

TEST(SplitUrl, SeparatesOriginAndPathPrefix) {
  std::string origin, path;
  ASSERT_TRUE(SplitUrl("--base-url", "http://127.0.0.1:8080/vk/", &origin, &path).ok());
  EXPECT_EQ(origin, "http://127.0.0.1:8080");
  EXPECT_EQ(path, "/vk");
  ASSERT_TRUE(SplitUrl("--base-url", "https://pay.example.com", &origin, &path).ok());
  EXPECT_EQ(origin, "https://pay.example.com");
  EXPECT_EQ(path, "");
}

TEST(SplitUrl, RefusesOtherSchemesNamingTheFlag) {
  std::string origin, path;
  for (const char* bad : {"ftp://x", "127.0.0.1:8080", "http://", "http:///api"}) {
    Status st = SplitUrl("--notify-url", bad, &origin, &path);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.code(), ErrorCode::kInvalidField);
    EXPECT_NE(st.message().find("--notify-url"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(bad), std::string::npos) << st.message();
  }
}

TEST(Target, EnvelopeCarriesTheFiveFieldsAndAFreshNonce) {
  TargetOptions o;
  o.base_url = "http://127.0.0.1:9";
  o.merchantno = "10001";
  o.key = "k";
  o.seed = 7;
  auto t = Target::Create(o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  RawBody a = (*t)->Envelope("orderquery");
  RawBody b = (*t)->Envelope("orderquery");
  EXPECT_EQ(a.Canonical("method"), "orderquery");
  EXPECT_EQ(a.Canonical("merchantno"), "10001");
  EXPECT_EQ(a.Canonical("version"), "2.0");
  EXPECT_TRUE(a.Has("timestamp"));
  const std::string nonce = a.Canonical("signaturenonce");
  EXPECT_EQ(nonce.size(), 8u);
  EXPECT_EQ(nonce.find_first_not_of("123456789"), std::string::npos) << nonce;
  EXPECT_NE(nonce, b.Canonical("signaturenonce"));
  EXPECT_FALSE((*t)->has_control());
}

TEST(Target, OrderNumbersAreUniqueAndUseAllowedCharacters) {
  TargetOptions o;
  o.base_url = "http://127.0.0.1:9";
  auto t = Target::Create(o);
  ASSERT_TRUE(t.ok());
  const std::string a = (*t)->NewOrderNo("tag with spaces & stuff");
  const std::string b = (*t)->NewOrderNo("tag with spaces & stuff");
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
            std::string::npos)
      << a;
}

TEST(Target, ABadBaseUrlIsRefused) {
  TargetOptions o;
  o.base_url = "localhost:8080";
  auto t = Target::Create(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("--base-url"), std::string::npos);
}

// A port on which nothing listens: bound without listen(), then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Before --wait a server run against a dead port printed a FAIL "no answer:
// Connection" for every case; now one error says what is wrong.
TEST(WaitForAnswer, NothingListeningIsOneClearError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  Status st = WaitForAnswer("--base-url", url, "/_sandbox/health", 0, 2);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kInternal);
  EXPECT_EQ(st.message(),
            "nothing answers at " + url +
                " (GET /_sandbox/health): connection refused; is the server running?");
}

TEST(WaitForAnswer, GivesUpAfterTheWaitSayingHowLong) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const auto start = std::chrono::steady_clock::now();
  Status st = WaitForAnswer("--base-url", url, "/_sandbox/health", 0.6, 2);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("connection refused after waiting 0."), std::string::npos)
      << st.message();
  EXPECT_GE(took, 0.4);
  EXPECT_LT(took, 3.0);
}

// The CI case: the server comes up while the suite waits.
TEST(WaitForAnswer, ReturnsOnceAServerStartedLateAnswers) {
  httplib::Server server;
  server.Get("/_sandbox/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"ok\":true}", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    server.listen_after_bind();
  });
  // Bound but not yet accepting: the first tries wait in the backlog or fail.
  Status st = WaitForAnswer("--base-url", "http://127.0.0.1:" + std::to_string(port),
                            "/_sandbox/health", 10, 2);
  EXPECT_TRUE(st.ok()) << st.ToString();
  server.stop();
  late.join();
}

TEST(WaitForAnswer, AnyHttpStatusCountsAsAnAnswer) {
  httplib::Server server;  // no routes: every GET is a 404
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(
      WaitForAnswer("--notify-url", "http://127.0.0.1:" + std::to_string(port) + "/n", "", 0, 2)
          .ok());
  server.stop();
  t.join();
}

TEST(WaitForAnswer, ABadUrlNamesTheFlag) {
  Status st = WaitForAnswer("--control-url", "localhost:1", "/_sandbox/health", 0, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidField);
  EXPECT_NE(st.message().find("--control-url"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::conformance
