// End to end through the built binaries, as a merchant's CI runs them:
//  - server mode, every case, against a vkspay-sandbox started on a free port
//    (--db :memory:, a control token), stopped by PID: all must pass, except
//    the ids listed in kKnownSandboxDeviations (none today);
//  - server mode against a fake server that accepts everything: the signing
//    and envelope cases fail (the suite can tell a wrong server);
//  - merchant mode against the correct reference handler (all Pass) and the
//    naive one (exactly the expected Fails);
//  - every JUnit file loaded back and checked against the JSON report.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "reference_handlers.h"
#include "xml_reader.h"

extern char** environ;

namespace vkspay::conformance::testing {
namespace {

using nlohmann::json;

// Server cases known to fail against the sandbox because the sandbox (not the
// case) is wrong against docs/protocol.md, with the verdict they get. Empty:
// every server case passes. A sandbox bug found later goes here, visibly.
const std::map<std::string, std::string> kKnownSandboxDeviations = {};

const char* const kToken = "conformance-e2e-token";

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vkspay-conf-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* dir = mkdtemp(buf.data());
  return dir ? dir : "/tmp";
}

// A temporary directory removed with everything in it at the end of scope.
struct ScopedDir {
  std::string path = TempDir();
  ~ScopedDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Spawns argv with stdout and stderr to files; returns the PID (or -1).
pid_t Spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (the binaries bound their own time).
RunResult RunBinary(const std::vector<std::string>& args, const std::string& dir) {
  RunResult r;
  const std::string out = dir + "/run.out", err = dir + "/run.err";
  pid_t pid = Spawn(args, out, err);
  if (pid < 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// A vkspay-sandbox process on a free port, stopped by PID.
class SandboxProcess {
 public:
  explicit SandboxProcess(const std::string& listen = "127.0.0.1:0") : dir_(TempDir()) {
    pid_ = Spawn({VKSPAY_SANDBOX_BIN, "--listen", listen, "--db", ":memory:", "--control-token",
                  kToken, "--quiet"},
                 dir_ + "/sandbox.out", dir_ + "/sandbox.err");
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      const std::string out = ReadFile(dir_ + "/sandbox.out");
      const size_t at = out.find("listening on http://");
      if (at != std::string::npos) {
        const size_t start = at + std::string("listening on ").size();
        const size_t end = out.find_first_of(" \n", start);
        if (end != std::string::npos) {
          base_url_ = out.substr(start, end - start);
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~SandboxProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& base_url() const { return base_url_; }
  std::string log() const { return ReadFile(dir_ + "/sandbox.err"); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  std::string base_url_;
};

// Loads a JUnit file and checks its structure against the JSON report: the
// counts of every testsuite match its children, the totals match, and every
// case of the JSON report is a testcase with the right failure/skipped child.
void ExpectJUnitMatchesJson(const std::string& junit_path, const json& report) {
  auto doc = ParseXml(ReadFile(junit_path));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const XmlElement& root = **doc;
  ASSERT_EQ(root.name, "testsuites");
  EXPECT_EQ(root.Attr("tests"), std::to_string(report["counts"]["total"].get<int>()));
  EXPECT_EQ(root.Attr("failures"), std::to_string(report["counts"]["fail"].get<int>()));
  EXPECT_EQ(root.Attr("skipped"), std::to_string(report["counts"]["skip"].get<int>()));
  std::map<std::string, std::string> verdict_of;  // from the JUnit file
  for (const XmlElement* suite : root.Children("testsuite")) {
    int failures = 0, skipped = 0;
    auto cases = suite->Children("testcase");
    for (const XmlElement* c : cases) {
      const bool failed = !c->Children("failure").empty();
      const bool skip = !c->Children("skipped").empty();
      failures += failed;
      skipped += skip;
      EXPECT_FALSE(c->Attr("classname").empty());
      EXPECT_FALSE(c->Attr("time").empty());
      verdict_of[c->Attr("name")] = failed ? "FAIL" : skip ? "SKIP" : "PASS";
    }
    EXPECT_EQ(suite->Attr("tests"), std::to_string(cases.size())) << suite->Attr("name");
    EXPECT_EQ(suite->Attr("failures"), std::to_string(failures)) << suite->Attr("name");
    EXPECT_EQ(suite->Attr("skipped"), std::to_string(skipped)) << suite->Attr("name");
    EXPECT_EQ(suite->Attr("errors"), "0");
  }
  ASSERT_EQ(verdict_of.size(), report["results"].size());
  for (const json& r : report["results"]) {
    std::string v = r["verdict"];
    if (v == "WARN") v = "PASS";  // JUnit has no warning: a passing case with a property
    EXPECT_EQ(verdict_of[r["id"].get<std::string>()], v) << r["id"];
  }
}

json ReadJson(const std::string& path) {
  json j = json::parse(ReadFile(path), nullptr, false);
  EXPECT_TRUE(j.is_object()) << path;
  return j;
}

std::set<std::string> IdsWithVerdict(const json& report, const std::string& verdict) {
  std::set<std::string> ids;
  for (const json& r : report["results"]) {
    if (r["verdict"] == verdict) ids.insert(r["id"].get<std::string>());
  }
  return ids;
}

std::string Summary(const json& report) {
  std::string s;
  for (const json& r : report["results"]) {
    if (r["verdict"] != "PASS") {
      s += r["verdict"].get<std::string>() + " " + r["id"].get<std::string>() + ": " +
           r["reason"].get<std::string>() + "\n";
    }
  }
  return s;
}

// The sandbox clock's offset in seconds (GET /_sandbox/clock), -1 if no answer.
double ClockOffset(const std::string& base_url) {
  httplib::Client c(base_url);
  auto res = c.Get("/_sandbox/clock", {{"Authorization", std::string("Bearer ") + kToken}});
  if (!res || res->status != 200) return -1;
  json j = json::parse(res->body, nullptr, false);
  return j.is_object() && j["offset_s"].is_number() ? j["offset_s"].get<double>() : -1;
}

bool AdvanceSandboxClock(const std::string& base_url, double seconds) {
  httplib::Client c(base_url);
  auto res = c.Post("/_sandbox/clock/advance", {{"Authorization", std::string("Bearer ") + kToken}},
                    json{{"seconds", seconds}}.dump(), "application/json");
  return res && res->status == 200;
}

TEST(ConformanceServer, EveryCasePassesAgainstTheSandbox) {
  SandboxProcess sandbox;
  ASSERT_FALSE(sandbox.base_url().empty()) << "sandbox did not start: " << sandbox.log();
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  RunResult r = RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--base-url", sandbox.base_url(),
                           "--control-url", sandbox.base_url(), "--control-token", kToken,
                           "--junit", dir + "/server.xml", "--json", dir + "/server.json"},
                          dir);
  json report = ReadJson(dir + "/server.json");
  ASSERT_TRUE(report.is_object()) << r.out << r.err;
  // Every case ran: as many results as --list shows ids.
  RunResult list = RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--list"}, dir);
  const auto listed = std::count(list.out.begin(), list.out.end(), '\n') / 2;
  EXPECT_EQ(report["counts"]["total"].get<int>(), listed);
  EXPECT_GE(listed, 60);
  for (const json& res : report["results"]) {
    const std::string id = res["id"];
    auto known = kKnownSandboxDeviations.find(id);
    const std::string expected = known == kKnownSandboxDeviations.end() ? "PASS" : known->second;
    EXPECT_EQ(res["verdict"], expected) << id << ": " << res["reason"];
  }
  EXPECT_EQ(r.exit_code, kKnownSandboxDeviations.empty() ? 0 : 1) << r.out;
  // The run moved the clock about 26 h; it put it back (before: left there,
  // so every later request with a real timestamp was TIMESTAMP_EXPIRED).
  EXPECT_EQ(ClockOffset(sandbox.base_url()), 0.0);
  for (const char* group : {"signing/", "envelope/", "orders/", "lifecycle/", "notify/"}) {
    EXPECT_NE(r.out.find(group), std::string::npos) << "no " << group << " case in\n" << r.out;
  }
  ExpectJUnitMatchesJson(dir + "/server.xml", report);
}

TEST(ConformanceServer, CasesNeedingTheControlApiSkipWithoutIt) {
  SandboxProcess sandbox;
  ASSERT_FALSE(sandbox.base_url().empty()) << sandbox.log();
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  RunResult r =
      RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--base-url", sandbox.base_url(), "--case",
                 "lifecycle/paid-*,notify/payment-notification,signing/correct-*", "--json",
                 dir + "/r.json", "--junit", dir + "/r.xml"},
                dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = ReadJson(dir + "/r.json");
  EXPECT_EQ(
      IdsWithVerdict(report, "SKIP"),
      (std::set<std::string>{"lifecycle/paid-query-paid", "lifecycle/paid-order-not-created-again",
                             "notify/payment-notification"}))
      << Summary(report);
  EXPECT_EQ(IdsWithVerdict(report, "PASS"),
            (std::set<std::string>{"signing/correct-request-accepted"}));
  for (const json& res : report["results"]) {
    if (res["verdict"] == "SKIP") {
      EXPECT_NE(res["reason"].get<std::string>().find("control API"), std::string::npos);
    }
  }
  ExpectJUnitMatchesJson(dir + "/r.xml", report);
}

TEST(ConformanceServer, TheClockIsPutBackWhereTheRunFoundIt) {
  SandboxProcess sandbox;
  ASSERT_FALSE(sandbox.base_url().empty()) << sandbox.log();
  ASSERT_TRUE(AdvanceSandboxClock(sandbox.base_url(), 100));
  ScopedDir scoped;
  RunResult r = RunBinary(
      {VKSPAY_CONFORMANCE_BIN, "server", "--base-url", sandbox.base_url(), "--control-url",
       sandbox.base_url(), "--control-token", kToken, "--case", "lifecycle/expired-order-closed"},
      scoped.path);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ClockOffset(sandbox.base_url()), 100.0);
}

// Ctrl-C in the middle of a case that moved the clock a day ahead
// (notify/ack-stops-retries then watches its receiver for 1.5 s).
TEST(ConformanceServer, AnInterruptedRunPutsTheClockBack) {
  SandboxProcess sandbox;
  ASSERT_FALSE(sandbox.base_url().empty()) << sandbox.log();
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  pid_t suite =
      Spawn({VKSPAY_CONFORMANCE_BIN, "server", "--base-url", sandbox.base_url(), "--control-url",
             sandbox.base_url(), "--control-token", kToken, "--case", "notify/ack-stops-retries"},
            dir + "/suite.out", dir + "/suite.err");
  ASSERT_GT(suite, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ClockOffset(sandbox.base_url()) < 86400 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_GE(ClockOffset(sandbox.base_url()), 86400.0) << ReadFile(dir + "/suite.err");
  kill(suite, SIGINT);
  int status = 0;
  waitpid(suite, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(ReadFile(dir + "/suite.err")
                .find("vkspay-conformance: interrupted (SIGINT); the sandbox clock is where the "
                      "run found it"),
            std::string::npos)
      << ReadFile(dir + "/suite.err");
  EXPECT_EQ(ClockOffset(sandbox.base_url()), 0.0);
}

// --key and --merchantno come from VKSPAY_KEY / VKSPAY_MERCHANTNO when the
// flags are absent, as in the vkspay CLI; a flag wins.
TEST(ConformanceServer, KeyAndMerchantComeFromTheEnvironment) {
  SandboxProcess sandbox;
  ASSERT_FALSE(sandbox.base_url().empty()) << sandbox.log();
  ScopedDir scoped;
  const std::vector<std::string> args = {
      VKSPAY_CONFORMANCE_BIN, "server", "--base-url",
      sandbox.base_url(),     "--case", "signing/correct-request-accepted"};
  ::setenv("VKSPAY_KEY", "not-the-demo-key", 1);
  RunResult wrong_key = RunBinary(args, scoped.path);
  std::vector<std::string> with_flag = args;
  with_flag.insert(with_flag.end(), {"--key", "sandbox-demo-key-0123456789abcdef"});
  RunResult flag_wins = RunBinary(with_flag, scoped.path);
  ::unsetenv("VKSPAY_KEY");
  ::setenv("VKSPAY_MERCHANTNO", "99999", 1);
  RunResult wrong_merchant = RunBinary(args, scoped.path);
  ::unsetenv("VKSPAY_MERCHANTNO");
  EXPECT_EQ(wrong_key.exit_code, 1) << wrong_key.out;
  EXPECT_NE(wrong_key.out.find("SIGN_ERROR"), std::string::npos) << wrong_key.out;
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.out;
  EXPECT_EQ(wrong_merchant.exit_code, 1) << wrong_merchant.out;
  EXPECT_NE(wrong_merchant.out.find("UNKNOWN_MERCHANT"), std::string::npos) << wrong_merchant.out;
}

// A "server" that answers SUCCESS to everything, echoing out_trade_no: the
// suite must fail it, or its passes against the sandbox prove nothing.
TEST(ConformanceServer, AServerThatAcceptsEverythingFails) {
  httplib::Server fake;
  fake.Post("/api", [](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    json data = {{"status", "NOTPAY"}, {"qrcode", "http://127.0.0.1:9/pay/x"}};
    if (body.is_object() && body.contains("out_trade_no"))
      data["out_trade_no"] = body["out_trade_no"];
    res.set_content(json{{"return_code", "SUCCESS"}, {"return_msg", "ok"}, {"data", data}}.dump(),
                    "application/json");
  });
  const int port = fake.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { fake.listen_after_bind(); });
  while (!fake.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  RunResult r =
      RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--base-url", url, "--case",
                 "signing/wrong-sign-refused,signing/uppercase-sign-refused,envelope/stale-*,"
                 "orders/amount-zero-refused,signing/suite-signer-known-answers",
                 "--json", dir + "/r.json", "--junit", dir + "/r.xml"},
                dir);
  fake.stop();
  t.join();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json report = ReadJson(dir + "/r.json");
  EXPECT_EQ(
      IdsWithVerdict(report, "FAIL"),
      (std::set<std::string>{"signing/wrong-sign-refused", "signing/uppercase-sign-refused",
                             "envelope/stale-timestamp-refused", "orders/amount-zero-refused"}))
      << Summary(report);
  EXPECT_EQ(IdsWithVerdict(report, "PASS"),
            (std::set<std::string>{"signing/suite-signer-known-answers"}));
  ExpectJUnitMatchesJson(dir + "/r.xml", report);
}

std::vector<MerchantOrder> Orders() {
  std::vector<MerchantOrder> orders;
  for (size_t i = 1; i <= kMerchantOrdersNeeded; ++i) {
    orders.push_back({"CONF-" + std::to_string(i), i % 2 ? "0.01" : "12.5"});
  }
  return orders;
}

json RunMerchant(HandlerKind kind, const std::string& dir, int* exit_code, bool with_state = true) {
  HandlerOptions options;
  options.kind = kind;
  options.orders = Orders();
  auto handler = ReferenceHandler::Start(options);
  EXPECT_TRUE(handler.ok()) << handler.status().ToString();
  if (!handler.ok()) return json();
  std::vector<std::string> args = {
      VKSPAY_CONFORMANCE_BIN, "merchant", "--notify-url", (*handler)->notify_url(), "--json",
      dir + "/m.json",        "--junit",  dir + "/m.xml"};
  if (with_state) {
    args.push_back("--state-url");
    args.push_back((*handler)->state_url());
  }
  for (const MerchantOrder& o : Orders()) {
    args.push_back("--order");
    args.push_back(o.out_trade_no + "=" + o.total_fee);
  }
  RunResult r = RunBinary(args, dir);
  *exit_code = r.exit_code;
  return ReadJson(dir + "/m.json");
}

TEST(ConformanceMerchant, CorrectHandlerPassesEveryCase) {
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  int code = -1;
  json report = RunMerchant(HandlerKind::kCorrect, dir, &code);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["counts"]["total"], 9);
  EXPECT_EQ(report["counts"]["pass"], 9) << Summary(report);
  EXPECT_EQ(code, 0);
  ExpectJUnitMatchesJson(dir + "/m.xml", report);
}

TEST(ConformanceMerchant, CorrectHandlerWithoutStateUrlStillPasses) {
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  int code = -1;
  json report = RunMerchant(HandlerKind::kCorrect, dir, &code, /*with_state=*/false);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["counts"]["pass"], 9) << Summary(report);
  EXPECT_EQ(code, 0);
}

TEST(ConformanceMerchant, NaiveHandlerGetsExactlyTheExpectedFails) {
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  int code = -1;
  json report = RunMerchant(HandlerKind::kNaive, dir, &code);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(
      IdsWithVerdict(report, "FAIL"),
      (std::set<std::string>{
          "merchant/wrong-sign-refused", "merchant/tampered-amount-refused",
          "merchant/amount-mismatch-refused", "merchant/stale-timestamp-refused",
          "merchant/duplicate-within-1s-processed-once", "merchant/replayed-nonce-not-reprocessed",
          "merchant/refund-before-payment-refused", "merchant/unknown-order-refused"}))
      << Summary(report);
  EXPECT_EQ(IdsWithVerdict(report, "PASS"),
            (std::set<std::string>{"merchant/valid-payment-acked"}));
  EXPECT_EQ(code, 1);
  ExpectJUnitMatchesJson(dir + "/m.xml", report);
}

// Before: no --order skipped 8 of 9 cases and exited 0, as if all was well.
TEST(ConformanceMerchant, SkipsForWantOfOrdersExitThreeUnlessAllowed) {
  HandlerOptions options;
  options.kind = HandlerKind::kCorrect;
  options.orders = Orders();
  auto handler = ReferenceHandler::Start(options);
  ASSERT_TRUE(handler.ok()) << handler.status().ToString();
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  RunResult r = RunBinary({VKSPAY_CONFORMANCE_BIN, "merchant", "--notify-url",
                           (*handler)->notify_url(), "--json", dir + "/m.json"},
                          dir);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("8 of 9 cases skipped for want of input"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-skip"), std::string::npos) << r.err;
  EXPECT_EQ(ReadJson(dir + "/m.json")["exit_code"], 3);
  RunResult allowed = RunBinary({VKSPAY_CONFORMANCE_BIN, "merchant", "--notify-url",
                                 (*handler)->notify_url(), "--allow-skip"},
                                dir);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;
}

// Before: a second run with the same orders failed the correct handler,
// whose orders the first run had paid.
TEST(ConformanceMerchant, OrdersAlreadyPaidAreRefusedBeforeTheRun) {
  HandlerOptions options;
  options.kind = HandlerKind::kCorrect;
  options.orders = Orders();
  auto handler = ReferenceHandler::Start(options);
  ASSERT_TRUE(handler.ok()) << handler.status().ToString();
  ScopedDir scoped;
  std::vector<std::string> args = {VKSPAY_CONFORMANCE_BIN, "merchant",
                                   "--notify-url",         (*handler)->notify_url(),
                                   "--state-url",          (*handler)->state_url()};
  for (const MerchantOrder& o : Orders()) {
    args.push_back("--order");
    args.push_back(o.out_trade_no + "=" + o.total_fee);
  }
  RunResult first = RunBinary(args, scoped.path);
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  RunResult second = RunBinary(args, scoped.path);
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_EQ(second.out, "");
  EXPECT_NE(second.err.find("vkspay-conformance merchant: --order #1 CONF-1: the merchant's "
                            "--state-url says the order is already paid (exists true, paid true, "
                            "refunded false)"),
            std::string::npos)
      << second.err;
}

TEST(ConformanceCli, BadCommandLinesExitTwoNamingTheProblem) {
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  RunResult bad_timeout = RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--timeout", "0"}, dir);
  EXPECT_EQ(bad_timeout.exit_code, 2);
  EXPECT_NE(bad_timeout.err.find("--timeout"), std::string::npos) << bad_timeout.err;
  RunResult no_mode = RunBinary({VKSPAY_CONFORMANCE_BIN}, dir);
  EXPECT_EQ(no_mode.exit_code, 2);
  RunResult bad_order = RunBinary({VKSPAY_CONFORMANCE_BIN, "merchant", "--notify-url",
                                   "http://127.0.0.1:9/n", "--order", "NO-AMOUNT"},
                                  dir);
  EXPECT_EQ(bad_order.exit_code, 2);
  EXPECT_NE(bad_order.err.find("--order"), std::string::npos) << bad_order.err;
  RunResult bad_filter = RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--base-url",
                                    "http://127.0.0.1:9", "--case", "nothing/matches"},
                                   dir);
  EXPECT_EQ(bad_filter.exit_code, 2);
  RunResult bad_scheme =
      RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--base-url", "ftp://x"}, dir);
  EXPECT_EQ(bad_scheme.exit_code, 2);
  EXPECT_NE(bad_scheme.err.find("--base-url"), std::string::npos) << bad_scheme.err;
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

// Before: 72 FAIL lines "no answer: Connection" and exit 1.
TEST(ConformanceCli, NothingListeningIsOneErrorAndExitTwo) {
  ScopedDir scoped;
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  RunResult r = RunBinary({VKSPAY_CONFORMANCE_BIN, "server", "--base-url", url}, scoped.path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "vkspay-conformance server: nothing answers at " + url +
                       " (GET /_sandbox/health): connection refused; is the server running?\n");
  EXPECT_EQ(r.out, "");
  RunResult waited = RunBinary(
      {VKSPAY_CONFORMANCE_BIN, "server", "--base-url", url, "--wait", "0.5"}, scoped.path);
  EXPECT_EQ(waited.exit_code, 2);
  EXPECT_NE(waited.err.find("after waiting 0."), std::string::npos) << waited.err;
}

// The README's CI snippet: the sandbox is started in the background and the
// suite, started at once, waits for it (before --wait: "the control API does
// not answer", 3 runs out of 3).
TEST(ConformanceCli, WaitLetsTheSuiteStartBeforeTheSandbox) {
  ScopedDir scoped;
  const std::string& dir = scoped.path;
  const int port = ClosedPort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  pid_t suite = Spawn(
      {VKSPAY_CONFORMANCE_BIN, "server", "--wait", "20", "--base-url", url, "--control-url", url,
       "--control-token", kToken, "--case", "signing/correct-*,lifecycle/paid-query-paid"},
      dir + "/suite.out", dir + "/suite.err");
  ASSERT_GT(suite, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  SandboxProcess sandbox("127.0.0.1:" + std::to_string(port));
  ASSERT_EQ(sandbox.base_url(), url) << sandbox.log();
  int status = 0;
  waitpid(suite, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir + "/suite.out") << ReadFile(dir + "/suite.err");
  EXPECT_NE(ReadFile(dir + "/suite.out").find("lifecycle/paid-query-paid"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::conformance::testing
