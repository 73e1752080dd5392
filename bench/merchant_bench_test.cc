// End to end: `vkspay-bench merchant` against the reference handlers
// (vkspay-reference-handler, each preset), the real sandbox binary and the
// report it writes. What is asserted are facts a correct bench cannot miss
// (a 20 ms handler's latency is at least 20 ms; a closed model with N buyers
// cannot exceed N / 20 ms; every notification is accounted for) with wide
// margins on the other side, never how fast the machine is.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A free TCP port on 127.0.0.1 (bound, then released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A reference handler child process; its ready line gives the URLs.
class Handler {
 public:
  explicit Handler(const std::vector<std::string>& flags) {
    int fds[2];
    if (pipe(fds) != 0) return;
    std::vector<std::string> args = {VKSPAY_REFERENCE_HANDLER_BINARY, "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      std::vector<char*> argv;
      for (std::string& s : args) argv.push_back(s.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && seen.find('\n') == std::string::npos) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[512];
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, static_cast<size_t>(n));
      }
    }
    close(fds[0]);
    // "reference handler (<kind>) ready: notify <url> state <url>"
    std::istringstream in(seen.substr(0, seen.find('\n')));
    std::string word;
    while (in >> word) {
      if (word == "notify") in >> notify_url_;
      if (word == "state") in >> state_url_;
    }
  }
  ~Handler() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  const std::string& notify_url() const { return notify_url_; }
  const std::string& state_url() const { return state_url_; }

 private:
  pid_t pid_ = -1;
  std::string notify_url_, state_url_;
};

class MerchantBench : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vkspay-bench-merchant-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  // Runs `vkspay-bench merchant <args>`; returns the exit status and the
  // report (null when none was written).
  struct Outcome {
    int exit_code = -1;
    Json report;
    std::string log;
  };
  Outcome Run(const std::string& name, const std::string& args) {
    const std::string log = (dir_ / (name + ".log")).string();
    const std::string cmd = std::string("'") + VKSPAY_BENCH_BINARY + "' --no-progress --out-dir '" +
                            dir_.string() + "' --name " + name + " merchant --ceiling-orders 300 " +
                            args + " > '" + log + "' 2>&1";
    const int status = std::system(cmd.c_str());
    Outcome out;
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out.log = cmd + "\n" + ReadFile(log);
    Json j = Json::parse(ReadFile(dir_ / (name + ".json")), nullptr, false);
    if (!j.is_discarded()) out.report = j;
    return out;
  }

  // Every scheduled payment is accounted for, and the sandbox agrees.
  static void ExpectBalanced(const Outcome& o) {
    ASSERT_TRUE(o.report.is_object()) << o.log;
    const Json& l = o.report["ledger"];
    EXPECT_TRUE(l["balanced"].get<bool>()) << l.dump(2) << o.log;
    EXPECT_EQ(l["scheduled"].get<int64_t>(),
              l["acked"].get<int64_t>() + l["failed"].get<int64_t>() + l["pending"].get<int64_t>() +
                  l["blocked"].get<int64_t>() + l["dropped"].get<int64_t>());
  }

  fs::path dir_;
};

TEST_F(MerchantBench, FastHandlerOpenModelMeetsItsThresholdsAndWritesTheReport) {
  Handler h({"--preset", "fast"});
  ASSERT_FALSE(h.notify_url().empty());
  const std::string junit = (dir_ / "fast.xml").string();
  Outcome o = Run("fast", "--notify-url " + h.notify_url() +
                              " --rate 200 --duration 2 --warmup 0.5"
                              " --state-url " +
                              h.state_url() +
                              " --expect-rate 20 --expect-errors 0"
                              " --expect-p99 60000 --junit " +
                              junit);
  EXPECT_EQ(o.exit_code, 0) << o.log;
  ExpectBalanced(o);
  const Json& r = o.report["results"];
  EXPECT_EQ(o.report["ledger"]["scheduled"], 400);
  EXPECT_EQ(o.report["ledger"]["acked"], 400) << o.log;
  EXPECT_EQ(r["measured"], 300);  // the first 0.5 s are the warm-up
  EXPECT_EQ(r["latency_ms"]["from_schedule"]["count"], 300);
  EXPECT_GT(r["acked_per_s"].get<double>(), 20);
  EXPECT_EQ(r["non_acks"]["http_status"], 0);
  EXPECT_EQ(o.report["exactly_once"]["checked"], 400);
  EXPECT_EQ(o.report["exactly_once"]["violations"], 0) << o.report["exactly_once"].dump();
  EXPECT_GT(o.report["sandbox"]["ceiling"]["rate_per_s"].get<double>(), 0);
  EXPECT_FALSE(o.report["series"].empty());
  EXPECT_FALSE(o.report["histogram"].empty());
  const std::string xml = ReadFile(junit);
  EXPECT_NE(xml.find("failures=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("--expect-rate"), std::string::npos) << xml;
  EXPECT_NE(ReadFile(dir_ / "fast.md").find("vkspay-bench merchant"), std::string::npos);
  EXPECT_EQ(ReadFile(dir_ / "fast.svg").rfind("<svg", 0), 0u);
}

TEST_F(MerchantBench, AMissedThresholdExits99AndTheJUnitFileSaysWhich) {
  Handler h({"--preset", "fast"});
  const std::string junit = (dir_ / "missed.xml").string();
  Outcome o = Run("missed", "--notify-url " + h.notify_url() +
                                " --rate 100 --duration 1 --expect-p99 0.001 --expect-rate 1"
                                " --junit " +
                                junit);
  EXPECT_EQ(o.exit_code, 99) << o.log;
  ExpectBalanced(o);
  const std::string xml = ReadFile(junit);
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
  const size_t failure = xml.find("<failure");
  ASSERT_NE(failure, std::string::npos) << xml;
  // The failing case is the p99 one, not the rate one.
  const size_t p99_case = xml.rfind("<testcase", failure);
  EXPECT_NE(xml.substr(p99_case, failure - p99_case).find("--expect-p99"), std::string::npos)
      << xml;
}

TEST_F(MerchantBench, SlowHandlerShowsItsDelayAndBoundsTheClosedModel) {
  Handler h({"--preset", "slow"});  // 20 ms per notification
  Outcome open = Run("slow-open", "--notify-url " + h.notify_url() + " --rate 100 --duration 2");
  EXPECT_EQ(open.exit_code, 0) << open.log;
  ExpectBalanced(open);
  const Json& lat = open.report["results"]["latency_ms"];
  EXPECT_GE(lat["send_to_ack"]["p50"].get<double>(), 20.0) << lat.dump();
  EXPECT_LT(lat["send_to_ack"]["p50"].get<double>(), 200.0) << lat.dump();
  EXPECT_GE(lat["from_schedule"]["p50"].get<double>(), 20.0) << lat.dump();

  Outcome closed =
      Run("slow-closed", "--notify-url " + h.notify_url() + " --concurrency 4 --duration 2");
  EXPECT_EQ(closed.exit_code, 0) << closed.log;
  ExpectBalanced(closed);
  // Four buyers, each waiting >= 20 ms per notification: at most 200/s.
  const double rate = closed.report["results"]["acked_per_s"].get<double>();
  EXPECT_LE(rate, 4 / 0.020 * 1.05) << closed.log;
  EXPECT_GE(rate, 4 / 0.020 * 0.25) << closed.log;
  EXPECT_EQ(closed.report["load"]["model"], "closed");
}

TEST_F(MerchantBench, OrderqueryCallBacksAreCounted) {
  const int port = FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  Handler h({"--preset", "orderquery", "--orderquery-url", base + "/api"});
  Outcome o = Run("orderquery", "--notify-url " + h.notify_url() + " --sandbox-listen 127.0.0.1:" +
                                    std::to_string(port) + " --rate 100 --duration 1");
  EXPECT_EQ(o.exit_code, 0) << o.log;
  ExpectBalanced(o);
  const Json& cb = o.report["results"]["orderquery_callbacks"];
  EXPECT_EQ(o.report["ledger"]["acked"], 100) << o.log;
  // One call-back per ack at least (a retried one calls again).
  EXPECT_GE(cb["count"].get<int64_t>(), 100) << cb.dump();
  EXPECT_EQ(cb["errors"], 0) << cb.dump();
  EXPECT_GE(cb["per_notification"].get<double>(), 1.0);
}

TEST_F(MerchantBench, AFailingHandlerIsReportedAndRetriedUntilAcked) {
  Handler h({"--preset", "failing"});  // HTTP 500 to 10% of requests
  Outcome o = Run("failing", "--notify-url " + h.notify_url() +
                                 " --rate 300 --duration 2"
                                 " --expect-errors 0.1%");
  EXPECT_EQ(o.exit_code, 99) << o.log;  // 10% of attempts is over the 0.1% budget
  ExpectBalanced(o);
  const Json& r = o.report["results"];
  EXPECT_EQ(o.report["ledger"]["acked"], 600) << "retried until acked\n" << o.log;
  const double share = static_cast<double>(r["non_acks"]["http_status"].get<int64_t>()) /
                       static_cast<double>(r["attempts"].get<int64_t>());
  EXPECT_GT(share, 0.05) << r.dump(2);
  EXPECT_LT(share, 0.15) << r.dump(2);
  EXPECT_GT(r["retries"].get<int64_t>(), 0);
  EXPECT_GT(r["http_statuses"]["500"].get<int64_t>(), 0);
}

TEST_F(MerchantBench, AStallHidesFromTheClosedModelButNotFromTheOpenOne) {
  // A single-threaded handler that stalls 1 s every 400 requests.
  Handler h({"--preset", "stall", "--stall-every", "400"});
  Outcome open = Run("stall-open", "--notify-url " + h.notify_url() + " --rate 200 --duration 3");
  ExpectBalanced(open);
  const Json& ol = open.report["results"]["latency_ms"];
  // Everything scheduled during the stall waited for it.
  EXPECT_GE(ol["from_schedule"]["p99"].get<double>(), 500.0) << ol.dump(2);

  Outcome closed =
      Run("stall-closed", "--notify-url " + h.notify_url() + " --concurrency 2 --count 800");
  ExpectBalanced(closed);
  const Json& cl = closed.report["results"]["latency_ms"];
  // Two buyers wait out each stall: 2 slow samples per 400, under 1%...
  EXPECT_LT(cl["send_to_ack"]["p99"].get<double>(), 500.0) << cl.dump(2);
  // ... although the stall happened.
  EXPECT_GE(cl["send_to_ack"]["max"].get<double>(), 900.0) << cl.dump(2);
}

TEST_F(MerchantBench, DuplicatesAndTheExactlyOnceCheck) {
  Handler correct({"--preset", "fast"});
  Outcome ok = Run("dup-correct", "--notify-url " + correct.notify_url() +
                                      " --rate 100 --duration 1 --duplicates 0.3 --state-url " +
                                      correct.state_url());
  EXPECT_EQ(ok.exit_code, 0) << ok.log;
  ExpectBalanced(ok);
  EXPECT_GT(ok.report["results"]["duplicates_sent"].get<int64_t>(), 10);
  EXPECT_EQ(ok.report["exactly_once"]["violations"], 0);

  Handler naive({"--kind", "naive"});  // processes every delivery
  Outcome bad = Run("dup-naive", "--notify-url " + naive.notify_url() +
                                     " --rate 100 --duration 1 --duplicates 0.3 --state-url " +
                                     naive.state_url());
  EXPECT_EQ(bad.exit_code, 99) << bad.log;
  EXPECT_GT(bad.report["exactly_once"]["violations"].get<int64_t>(), 10) << bad.log;
}

// Regression: a run in which nothing was acked printed "PASSED: 0.0
// acked/s" and exited 0 when no threshold was set, a green CI step that
// measured nothing.
TEST_F(MerchantBench, AHandlerWithAnotherKeyFailsTheRunWithTheKeyHint) {
  // The handler checks the sign with its own key, the sandbox signs with the
  // bench's: every notification is refused with HTTP 400.
  Handler h({"--preset", "fast", "--merchantno", "10002", "--key", "the-handler-key"});
  ASSERT_FALSE(h.notify_url().empty());
  const std::string junit = (dir_ / "wrong-key.xml").string();
  Outcome o = Run("wrong-key", "--notify-url " + h.notify_url() +
                                   " --merchantno 10002 --key the-bench-key"
                                   " --rate 20 --duration 1 --drain 1 --junit " +
                                   junit);
  EXPECT_EQ(o.exit_code, 99) << o.log;
  ExpectBalanced(o);
  const Json& ledger = o.report["ledger"];
  EXPECT_EQ(ledger["acked"], 0) << o.log;
  EXPECT_EQ(ledger["pending"].get<int64_t>() + ledger["failed"].get<int64_t>(), 20) << o.log;
  EXPECT_GT(o.report["results"]["http_statuses"]["400"].get<int64_t>(), 0) << o.log;
  const Json& verdict = o.report["verdict"];
  EXPECT_EQ(verdict["exit_code"], 99);
  EXPECT_EQ(verdict["text"].get<std::string>().rfind("FAILED: nothing was acked: 20 of 20 "
                                                     "notifications still unacked after the drain",
                                                     0),
            0u)
      << verdict.dump();
  EXPECT_NE(verdict["hint"].get<std::string>().find(
                "does the handler use this merchant's key (--merchantno 10002, --key)?"),
            std::string::npos)
      << verdict.dump();
  EXPECT_NE(o.log.find("does the handler use this merchant's key"), std::string::npos) << o.log;
  // Regression: with a merchant other than the demo one the ceiling run's
  // payments named no merchant, the sandbox refused them all ("merchantno is
  // required when several merchants exist") and the bench waited 60 s.
  const Json& ceiling = o.report["sandbox"]["ceiling"];
  EXPECT_FALSE(ceiling.contains("error")) << ceiling.dump();
  EXPECT_GT(ceiling["rate_per_s"].get<double>(), 0) << ceiling.dump();
  const std::string xml = ReadFile(junit);
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"every notification acked\">"), std::string::npos) << xml;
}

TEST_F(MerchantBench, ANotifyUrlNobodyListensOnFailsTheRunWithTheListenerHint) {
  const std::string url = "http://127.0.0.1:" + std::to_string(FreePort()) + "/notify";
  Outcome o = Run("dead-port", "--notify-url " + url + " --rate 20 --duration 1 --drain 1");
  EXPECT_EQ(o.exit_code, 99) << o.log;
  ExpectBalanced(o);
  EXPECT_EQ(o.report["ledger"]["acked"], 0) << o.log;
  EXPECT_GT(o.report["results"]["non_acks"]["connect_error"].get<int64_t>(), 0) << o.log;
  const Json& verdict = o.report["verdict"];
  EXPECT_EQ(verdict["text"].get<std::string>().rfind("FAILED: nothing was acked", 0), 0u)
      << verdict.dump();
  EXPECT_EQ(verdict["hint"], "no attempt could connect: is anything listening on " + url + "?")
      << verdict.dump();
}

TEST_F(MerchantBench, BadFlagsAreRefusedBeforeAnythingStarts) {
  struct Case {
    std::string args, mentions;
  };
  for (const Case& c :
       {Case{"--notify-url http://127.0.0.1:9/n --rate 10 --concurrency 2 --duration 1",
             "exactly one of --rate"},
        Case{"--notify-url http://127.0.0.1:9/n --rate 10", "--duration"},
        Case{"--notify-url ftp://x --rate 10 --duration 1", "--notify-url"},
        Case{"--notify-url http://127.0.0.1:9/n --rate 10 --duration 1 "
             "--expect-errors lots",
             "--expect-errors"},
        Case{"--notify-url http://127.0.0.1:9/n --rate 100..50 --step 10 "
             "--step-duration 1",
             "--rate A..B"},
        Case{"--notify-url http://127.0.0.1:9/n --rate 10 --duration 1 "
             "--base-url http://10.0.0.1:8080",
             "--base-url"},
        Case{"--notify-url http://127.0.0.1:9/n --rate 2000 --duration 3600",
             "--rate x --duration: at most 5000000 payments, asked for 7200000"}}) {
    Outcome o = Run("bad", c.args);
    EXPECT_EQ(o.exit_code, 2) << o.log;
    EXPECT_NE(o.log.find(c.mentions), std::string::npos) << o.log;
    EXPECT_TRUE(o.report.is_null());
  }
}

}  // namespace
