// Secrets and the control token (issue #7), against the real vkspay-sandbox
// binary: merchant keys and the control token are planted as canaries, every
// kind of request is made (successes, signature errors, control API reads,
// refused control calls, the cashier page, a notification), and everything
// the run produced (the binary's stdout and stderr, every answer's status
// line, headers and body, the notification the merchant received) is
// searched for the canaries. Also: listening beyond loopback, the control API
// refuses requests without its token.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/server/sandbox_process.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

using testing_process::ReadFile;
using testing_process::SandboxProcess;
using testing_process::TempDir;
using testing_process::TextAfter;

// Every byte an HTTP answer carried, for the grep.
std::string Transcript(const httplib::Result& res) {
  if (!res) return "(no answer: " + httplib::to_string(res.error()) + ")\n";
  std::string t = "HTTP " + std::to_string(res->status) + "\n";
  for (const auto& [k, v] : res->headers) t += k + ": " + v + "\n";
  return t + res->body + "\n";
}

TEST(Secrets, KeysAndTokensNeverAppearInLogsAnswersOrTheControlApi) {
  const std::string kKeyA = "CANARY-KEY-A-5d41402abc4b2a76";
  const std::string kKeyB = "CANARY-KEY-B-7d793037a0760186";
  const std::string kToken = "CANARY-TOKEN-9e107d9d372bb682";
  const std::string kWrongToken = "CANARY-WRONG-TOKEN-e4d909c2";

  // The merchant's notify endpoint: records what it receives.
  std::mutex mu;
  std::string received;
  httplib::Server merchant;
  merchant.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    received += req.body + "\n";
    for (const auto& [k, v] : req.headers) received += k + ": " + v + "\n";
    res.set_content(kNotifyAckBody, "application/json");
  });
  const int merchant_port = merchant.bind_to_any_port("127.0.0.1");
  std::thread merchant_thread([&] { merchant.listen_after_bind(); });
  while (!merchant.is_running()) std::this_thread::sleep_for(milliseconds(1));
  const std::string notify_url = "http://127.0.0.1:" + std::to_string(merchant_port) + "/notify";

  const fs::path dir = TempDir("vkspay-secrets");
  json config = {
      {"merchants",
       {{{"merchantno", "10001"}, {"key", kKeyA}, {"name", "A"}, {"notify_url", notify_url}},
        {{"merchantno", "20002"}, {"key", kKeyB}, {"name", "B"}}}},
      {"settings", {{"strict_nonce", true}}}};
  std::ofstream(dir / "config.json") << config.dump(2);

  std::string transcript;
  {
    SandboxProcess sandbox(dir, {"--listen", "127.0.0.1:0", "--db", (dir / "sandbox.db").string(),
                                 "--config", (dir / "config.json").string(), "--control-token",
                                 kToken, "--notify-profile", "fast", "--seed", "7"});
    ASSERT_GT(sandbox.port(), 0) << sandbox.stdout_text() << sandbox.stderr_text();
    httplib::Client c("127.0.0.1", sandbox.port());
    c.set_read_timeout(10);
    const httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
    const httplib::Headers wrong{{"Authorization", "Bearer " + kWrongToken}};
    int nonce = 11111111;
    auto api = [&](const std::string& method, Fields f, const std::string& merchantno,
                   const std::string& key) {
      f.Set("method", method);
      f.Set("merchantno", merchantno);
      f.Set("timestamp", static_cast<double>(std::time(nullptr)));
      f.Set("signaturenonce", std::to_string(++nonce));
      f.Set("version", std::string("2.0"));
      auto res = c.Post("/api", WithSign(f, key).ToJson(), "application/json");
      transcript += Transcript(res);
      return res ? json::parse(res->body, nullptr, false) : json();
    };

    json w =
        api("webpay", {{"out_trade_no", std::string("S-1")}, {"total_fee", 1.0}}, "10001", kKeyA);
    ASSERT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
    api("webpay", {{"total_fee", 1.0}}, "10001", kKeyB);                        // SIGN_ERROR
    api("orderquery", {{"out_trade_no", std::string("S-1")}}, "20002", kKeyA);  // SIGN_ERROR
    api("orderquery", {{"out_trade_no", std::string("S-1")}}, "20002", kKeyB);  // not B's
    api("webpay", {{"total_fee", 1.005}}, "10001", kKeyA);                      // INVALID_AMOUNT
    {
      // A body naming the key as a field: the SIGN_ERROR message shows the
      // canonical string masked, never the key it was checked with.
      Fields f{{"key", kKeyA}, {"total_fee", 1.0}};
      f.Set("sign", std::string(32, '0'));
      f.Set("method", std::string("webpay"));
      f.Set("merchantno", std::string("20002"));
      f.Set("timestamp", static_cast<double>(std::time(nullptr)));
      f.Set("signaturenonce", std::to_string(++nonce));
      f.Set("version", std::string("2.0"));
      auto res = c.Post("/api", f.ToJson(), "application/json");
      ASSERT_TRUE(res);
      // The key A sent is its own data; what must not appear is B's key.
      EXPECT_EQ(res->body.find(kKeyB), std::string::npos) << res->body;
    }
    // The control API: pay the order (a notification with a signature goes
    // out), read everything, and be refused without or with a wrong token.
    transcript += Transcript(c.Post("/_sandbox/pay", auth,
                                    json{{"out_trade_no", "S-1"}, {"merchantno", "10001"}}.dump(),
                                    "application/json"));
    json refund = api("orderrefund",
                      {{"out_trade_no", std::string("S-1")},
                       {"out_refund_no", std::string("R-1")},
                       {"refund_fee", 0.5}},
                      "10001", kKeyA);
    EXPECT_EQ(refund.value("return_code", ""), "SUCCESS") << refund.dump();
    for (const char* path :
         {"/_sandbox/health", "/_sandbox/orders",
          "/_sandbox/order?merchantno=10001&out_trade_no=S-1",
          "/_sandbox/refunds?merchantno=10001&out_trade_no=S-1", "/_sandbox/notifications",
          "/_sandbox/faults/log", "/_sandbox/faults/rules", "/_sandbox/faults/merchants",
          "/_sandbox/faults/profile", "/_sandbox/clock", "/"}) {
      transcript += Transcript(c.Get(path, auth));
      transcript += Transcript(c.Get(path, wrong));
      transcript += Transcript(c.Get(path));
    }
    auto unauthorized = c.Get("/_sandbox/orders", wrong);
    ASSERT_TRUE(unauthorized);
    EXPECT_EQ(unauthorized->status, 401);
    EXPECT_EQ(c.Get("/_sandbox/orders")->status, 401);
    EXPECT_EQ(c.Get("/_sandbox/orders", auth)->status, 200);
    transcript += Transcript(c.Post("/_sandbox/pay", wrong, "{}", "application/json"));
    // The cashier page of the order.
    const std::string qr = w["data"]["qrcode"];
    transcript += Transcript(c.Get(qr.substr(qr.find("/pay/")).c_str()));
    // Wait for the payment and refund notifications to be acked.
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (received.find("notify_type=refund") != std::string::npos) break;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    transcript += Transcript(c.Get("/_sandbox/notifications", auth));
    sandbox.Stop();
    transcript += "--- stdout\n" + sandbox.stdout_text() + "--- stderr\n" + sandbox.stderr_text();
  }
  merchant.stop();
  merchant_thread.join();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_NE(received.find("notify_type=payment"), std::string::npos) << received;
    transcript += "--- received by the merchant\n" + received;
  }
  std::ofstream(dir / "transcript.txt") << transcript;
  std::printf("[secrets] searched %zu bytes of output (%s) for %zu canaries\n", transcript.size(),
              (dir / "transcript.txt").c_str(), static_cast<size_t>(4));
  // The capture is real: it holds a signature error's masked string, the
  // request log, 401 answers and the notifications (so a leak would show).
  for (const char* expected : {"SIGN_ERROR", "&key=***", "api method=webpay merchant=10001", "HTTP 401",
                               "notify_type=payment", "sign="}) {
    EXPECT_NE(transcript.find(expected), std::string::npos)
        << "nothing captured shows " << expected;
  }
  for (const std::string& canary : {kKeyA, kKeyB, kToken, kWrongToken}) {
    size_t at = transcript.find(canary);
    EXPECT_EQ(at, std::string::npos)
        << canary << " appears: ..."
        << transcript.substr(at == std::string::npos ? 0 : (at > 200 ? at - 200 : 0), 400);
  }
  // The database holds the orders but no key or token either.
  const std::string db = ReadFile(dir / "sandbox.db") + ReadFile(dir / "sandbox.db-wal");
  for (const std::string& canary : {kKeyA, kKeyB, kToken}) {
    EXPECT_EQ(db.find(canary), std::string::npos) << canary << " is stored in the database";
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(ControlToken, BeyondLoopbackTheControlApiRefusesRequestsWithoutItsToken) {
  const fs::path dir = TempDir("vkspay-token");
  // Bound to every address (the generated token is printed once, for the
  // operator); spoken to over loopback only.
  SandboxProcess sandbox(dir, {"--listen", "0.0.0.0:0", "--db", ":memory:", "--quiet"});
  ASSERT_GT(sandbox.port(), 0) << sandbox.stdout_text() << sandbox.stderr_text();
  const std::string out = sandbox.stdout_text();
  const std::string token = TextAfter(out, "control API token (listening beyond loopback): ", " ");
  ASSERT_EQ(token.size(), 32u) << out;
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
  httplib::Client c("127.0.0.1", sandbox.port());
  c.set_read_timeout(5);
  const httplib::Headers good{{"Authorization", "Bearer " + token}};
  const httplib::Headers bad{{"Authorization", "Bearer " + std::string(32, '0')}};
  const httplib::Headers not_bearer{{"Authorization", token}};
  for (const char* path :
       {"/_sandbox/orders", "/_sandbox/notifications", "/_sandbox/faults/log", "/_sandbox/clock"}) {
    for (const httplib::Headers* h :
         {static_cast<const httplib::Headers*>(nullptr), &bad, &not_bearer}) {
      auto res = h == nullptr ? c.Get(path) : c.Get(path, *h);
      ASSERT_TRUE(res) << path;
      EXPECT_EQ(res->status, 401) << path << " answered without a valid token: " << res->body;
      EXPECT_EQ(res->body.find(token), std::string::npos);
    }
    auto ok = c.Get(path, good);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << path << ": " << ok->body;
  }
  for (const char* path :
       {"/_sandbox/pay", "/_sandbox/reset", "/_sandbox/clock/advance", "/_sandbox/clock/reset",
        "/_sandbox/faults/rules", "/_sandbox/notifications/resend"}) {
    auto res = c.Post(path, "{}", "application/json");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path << ": " << res->body;
  }
  auto health = c.Get("/_sandbox/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  sandbox.Stop();
  // The token is printed once, on the ready lines, and nowhere else.
  const std::string all = sandbox.stdout_text() + sandbox.stderr_text();
  EXPECT_EQ(all.find(token), all.rfind(token)) << all;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vkspay
