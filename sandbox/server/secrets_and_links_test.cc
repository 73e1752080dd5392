// Issue #13 findings 5-7 against the real vkspay-sandbox binary (main wires
// the CSPRNG, the own-address guard and the link base, so only the binary
// shows them):
//  5. two sandboxes started with the same --seed draw different cashier
//     tokens and ids, while the seed still replays the fault decisions;
//  6. a paid order whose notify_url is the sandbox's own /_sandbox/reset is
//     blocked with that reason, and every other order survives;
//  7. a webpay with `Host: evil.example` gets a payment link on the
//     sandbox's own address, or on --public-url when set.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/config/config.h"
#include "sandbox/server/sandbox_process.h"
#include "vkspay/protocol/signature.h"

namespace vkspay {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing_process::SandboxProcess;
using testing_process::TempDir;
namespace fs = std::filesystem;

// Signed API calls to one sandbox, as the demo merchant.
class ApiClient {
 public:
  explicit ApiClient(int port) : http_("127.0.0.1", port) { http_.set_read_timeout(10); }

  // The answer's JSON (null if no answer); *injected gets the
  // X-Sandbox-Fault-Injected header when given.
  json Call(const std::string& method, Fields f, const httplib::Headers& headers = {},
            std::string* injected = nullptr) {
    f.Set("method", method);
    f.Set("merchantno", std::string(sandbox::kDemoMerchantNo));
    f.Set("timestamp", static_cast<double>(std::time(nullptr)));
    f.Set("signaturenonce", Nonce(++nonce_));
    f.Set("version", std::string("2.0"));
    auto res = http_.Post("/api", headers, WithSign(f, sandbox::kDemoKey).ToJson(),
                          "application/json");
    if (!res) return json();
    if (injected != nullptr) *injected = res->get_header_value("X-Sandbox-Fault-Injected");
    return json::parse(res->body, nullptr, false);
  }
  httplib::Client& http() { return http_; }

 private:
  // 8 digits 1-9 (strict_nonce), distinct for each n: n in base 9.
  static std::string Nonce(int n) {
    std::string out(8, '1');
    for (int i = 7; i >= 0 && n > 0; --i, n /= 9) out[static_cast<size_t>(i)] = static_cast<char>('1' + n % 9);
    return out;
  }

  httplib::Client http_;
  int nonce_ = 0;
};

std::string TokenOf(const json& webpay) {
  const std::string qr = webpay["data"].value("qrcode", "");
  const size_t at = qr.rfind("/pay/");
  return at == std::string::npos ? "" : qr.substr(at + 5);
}

// --- finding 5 --------------------------------------------------------------

struct Draws {
  std::vector<bool> faulted;  // which webpays the seeded rule failed
  std::vector<std::string> tokens;
  std::vector<std::string> out_trade_nos;
  std::string ready;  // the ready lines
};

Draws RunSeeded(const fs::path& dir) {
  Draws d;
  // One rule without a seed of its own: its draws derive from --seed.
  json config = {
      {"merchants", {{{"merchantno", sandbox::kDemoMerchantNo}, {"key", sandbox::kDemoKey}}}},
      {"faults",
       {{"rules",
         {{{"id", "half-of-webpays"},
           {"match", {{"methods", {"webpay"}}}},
           {"action", {{"kind", "api.fail"}}},
           {"probability", 0.5}}}}}}};
  std::ofstream(dir / "config.json") << config.dump(2);
  SandboxProcess sandbox(dir, {"--listen", "127.0.0.1:0", "--db", ":memory:", "--quiet",
                               "--seed", "42", "--config", (dir / "config.json").string()});
  EXPECT_GT(sandbox.port(), 0) << sandbox.stdout_text() << sandbox.stderr_text();
  if (sandbox.port() == 0) return d;
  d.ready = sandbox.stdout_text();
  ApiClient api(sandbox.port());
  for (int i = 0; i < 24; ++i) {
    std::string injected;
    json w = api.Call("webpay",
                      {{"total_fee", 0.01}, {"notify_url", std::string("http://127.0.0.1:9/n")}},
                      {}, &injected);
    d.faulted.push_back(!injected.empty());
    if (injected.empty()) {
      EXPECT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
      d.tokens.push_back(TokenOf(w));
      d.out_trade_nos.push_back(w["data"].value("out_trade_no", ""));
    }
  }
  return d;
}

TEST(PredictableSecrets, TwoSandboxesWithTheSameSeedDrawDifferentTokensButTheSameFaults) {
  const fs::path dir = TempDir("vkspay-seed");
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  const Draws a = RunSeeded(dir / "a");
  const Draws b = RunSeeded(dir / "b");
  ASSERT_EQ(a.faulted.size(), 24u);
  ASSERT_EQ(b.faulted.size(), 24u);
  // --seed still drives fault injection: the same webpays failed.
  EXPECT_EQ(a.faulted, b.faulted);
  const auto failed = std::count(a.faulted.begin(), a.faulted.end(), true);
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 24);
  // ... and nothing else: no cashier token of one is a token of the other
  // (before issue #13 both drew the seed's identical sequence).
  ASSERT_EQ(a.tokens.size(), b.tokens.size());
  for (const std::string& t : a.tokens) {
    EXPECT_EQ(t.size(), 32u) << t;
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    EXPECT_EQ(std::find(b.tokens.begin(), b.tokens.end(), t), b.tokens.end())
        << t << " was drawn by both sandboxes";
  }
  // The random tails of generated order numbers differ too (6 digits each;
  // a whole run of equal tails would mean a shared generator).
  int same_tail = 0;
  for (size_t i = 0; i < a.out_trade_nos.size(); ++i) {
    const std::string& x = a.out_trade_nos[i];
    const std::string& y = b.out_trade_nos[i];
    if (x.size() > 6 && y.size() > 6 && x.substr(x.size() - 6) == y.substr(y.size() - 6)) {
      ++same_tail;
    }
  }
  EXPECT_LT(same_tail, 2);
  EXPECT_NE(a.ready.find("seed 42 (fault decisions only"), std::string::npos) << a.ready;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// --- finding 6 --------------------------------------------------------------

// The notification of the order (null until there is one).
json NotificationOf(httplib::Client& c, const std::string& out_trade_no) {
  auto res = c.Get(("/_sandbox/notifications?out_trade_no=" + out_trade_no).c_str());
  if (!res || res->status != 200) return json();
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || j["notifications"].empty()) return json();
  return j["notifications"][0];
}

TEST(OwnAddress, ANotifyUrlOnTheSandboxsOwnResetIsBlockedAndOtherOrdersSurvive) {
  const fs::path dir = TempDir("vkspay-own");
  // The defaults: loopback, no control token.
  SandboxProcess sandbox(dir, {"--listen", "127.0.0.1:0", "--db", ":memory:", "--quiet",
                               "--notify-profile", "fast"});
  ASSERT_GT(sandbox.port(), 0) << sandbox.stdout_text() << sandbox.stderr_text();
  const std::string port = std::to_string(sandbox.port());
  ApiClient api(sandbox.port());
  httplib::Client& c = api.http();

  for (const char* no : {"KEEP-1", "KEEP-2"}) {
    json w = api.Call("webpay", {{"out_trade_no", std::string(no)},
                                 {"total_fee", 1.0},
                                 {"notify_url", std::string("http://127.0.0.1:9/n")}});
    ASSERT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
  }
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"EVIL-RESET", "http://127.0.0.1:" + port + "/_sandbox/reset"},
      {"EVIL-RESEND", "http://LOCALHOST:" + port + "/_sandbox/notifications/1/resend"},
      {"EVIL-MAPPED", "http://[::ffff:127.0.0.1]:" + port + "/_sandbox/reset"},
  };
  for (const auto& [no, url] : hostile) {
    json w = api.Call("webpay",
                      {{"out_trade_no", no}, {"total_fee", 888.0}, {"notify_url", url}});
    ASSERT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
    auto paid = c.Post("/_sandbox/pay", json{{"out_trade_no", no}}.dump(), "application/json");
    ASSERT_TRUE(paid);
    ASSERT_EQ(paid->status, 200) << paid->body;
  }
  for (const auto& [no, url] : hostile) {
    json n;
    for (int i = 0; i < 500; ++i) {
      n = NotificationOf(c, no);
      if (n.is_object() && n.value("state", "") != "pending") break;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_TRUE(n.is_object()) << no;
    EXPECT_EQ(n.value("state", ""), "blocked") << n.dump();
    EXPECT_NE(n.value("last_error", "").find("the sandbox's own address"), std::string::npos)
        << n.dump();
    EXPECT_EQ(n.value("total_attempts", -1), 1) << "retried: " << n.dump();
  }
  // Nothing was reset: every order is still there and paid or unpaid as left.
  auto orders = c.Get("/_sandbox/orders");
  ASSERT_TRUE(orders);
  const std::string body = orders->body;
  for (const char* no : {"KEEP-1", "KEEP-2", "EVIL-RESET", "EVIL-RESEND", "EVIL-MAPPED"}) {
    EXPECT_NE(body.find(std::string("\"") + no + "\""), std::string::npos) << no << " is gone";
  }
  json q = api.Call("orderquery", {{"out_trade_no", std::string("EVIL-RESET")}});
  EXPECT_EQ(q["data"].value("status", ""), "SUCCESS") << q.dump();
  // Per refusal, one log line when the order is created (its notify_url
  // will not be delivered) and one at the blocked delivery, each with the
  // reason.
  sandbox.Stop();
  const std::string log = sandbox.stderr_text();
  size_t at_order = 0, at_delivery = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("the sandbox's own address") == std::string::npos) continue;
    if (line.find("will not be delivered") != std::string::npos) ++at_order;
    if (line.rfind("notify ", 0) == 0 && line.find("blocked: ") != std::string::npos) {
      ++at_delivery;
    }
  }
  EXPECT_EQ(at_order, hostile.size()) << log;
  EXPECT_EQ(at_delivery, hostile.size()) << log;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// --- finding 7 --------------------------------------------------------------

TEST(PaymentLinks, AHostileHostHeaderNeverReachesTheLink) {
  const fs::path dir = TempDir("vkspay-links");
  const httplib::Headers evil{{"Host", "evil.example"}};
  {
    SandboxProcess sandbox(dir, {"--listen", "127.0.0.1:0", "--db", ":memory:", "--quiet"});
    ASSERT_GT(sandbox.port(), 0) << sandbox.stdout_text() << sandbox.stderr_text();
    ApiClient api(sandbox.port());
    json w = api.Call("webpay",
                      {{"total_fee", 0.01}, {"notify_url", std::string("http://127.0.0.1:9/n")}},
                      evil);
    ASSERT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
    const std::string own = "http://127.0.0.1:" + std::to_string(sandbox.port()) + "/pay/";
    EXPECT_EQ(w["data"].value("qrcode", "").rfind(own, 0), 0u) << w.dump();
    auto page = api.http().Get(("/pay/" + TokenOf(w)).c_str(), evil);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->body.find("evil.example"), std::string::npos);
    EXPECT_NE(page->body.find(own + TokenOf(w)), std::string::npos);
  }
  {
    // Its own directory: the ready line is read from its own stdout file.
    fs::create_directories(dir / "public");
    SandboxProcess sandbox(dir / "public", {"--listen", "127.0.0.1:0", "--db", ":memory:",
                                            "--quiet", "--public-url", "https://pay.example.com/"});
    ASSERT_GT(sandbox.port(), 0) << sandbox.stdout_text() << sandbox.stderr_text();
    ApiClient api(sandbox.port());
    json w = api.Call("webpay",
                      {{"total_fee", 0.01}, {"notify_url", std::string("http://127.0.0.1:9/n")}},
                      evil);
    ASSERT_EQ(w.value("return_code", ""), "SUCCESS") << w.dump();
    EXPECT_EQ(w["data"].value("qrcode", ""), "https://pay.example.com/pay/" + TokenOf(w));
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace vkspay
