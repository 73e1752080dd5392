#include "vkspay/conformance/cli.h"

#include <pthread.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vkspay/conformance/report.h"
#include "vkspay/conformance/suites.h"
#include "vkspay/conformance/target.h"

namespace vkspay::conformance {
namespace {

std::string IsoNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Common {
  std::string junit;
  std::string json;
  std::string filter;
  bool list = false;
  bool quiet = false;
};

void AddCommon(CLI::App* app, Common* c) {
  app->add_option("--junit", c->junit, "write a JUnit XML report to FILE")->type_name("FILE");
  app->add_option("--json", c->json, "write a JSON report to FILE")->type_name("FILE");
  app->add_option("--case", c->filter,
                  "run only these cases: comma-separated globs (signing/*-refused) or id "
                  "prefixes (envelope/, notify)")
      ->type_name("FILTER");
  app->add_flag("--list", c->list, "list the case ids and what each checks, then exit");
  app->add_flag("--quiet", c->quiet, "print only the summary table (no progress lines)");
}

int ListCases(const std::vector<Case>& cases, const std::string& filter, std::ostream& out) {
  for (const Case& c : cases) {
    if (MatchesFilter(c.id, filter)) out << c.id << "\n    " << c.summary << "\n";
  }
  return 0;
}

int RunAndReport(const std::string& mode, const std::string& target_name,
                 const std::vector<Case>& cases, const Common& c, std::ostream& out,
                 std::ostream& err, bool skip_is_incomplete = false) {
  Report report;
  report.mode = mode;
  report.skip_is_incomplete = skip_is_incomplete;
  report.target = target_name;
  report.started_at = IsoNow();
  const auto start = std::chrono::steady_clock::now();
  report.results = RunCases(cases, c.filter, [&](const CaseResult& r) {
    if (!c.quiet) err << VerdictName(r.outcome.verdict) << "  " << r.id << "\n";
  });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report.results.empty()) {
    err << "vkspay-conformance: --case \"" << c.filter << "\" selects no case (see --list)\n";
    return 2;
  }
  out << ConsoleTable(report);
  int code = ExitCodeFor(report);
  if (code == 3) {
    err << "vkspay-conformance " << mode << ": " << CountVerdicts(report).skip << " of "
        << report.results.size()
        << " cases skipped for want of input (see their reasons), so the handler is not fully "
           "checked: exit 3 (--allow-skip accepts skips)\n";
  }
  if (!c.junit.empty()) {
    Status st = WriteFile(c.junit, JUnitXml(report));
    if (!st.ok()) {
      err << "vkspay-conformance: --junit: " << st.message() << "\n";
      code = 2;
    }
  }
  if (!c.json.empty()) {
    Status st = WriteFile(c.json, JsonReport(report));
    if (!st.ok()) {
      err << "vkspay-conformance: --json: " << st.message() << "\n";
      code = 2;
    }
  }
  return code;
}

// While alive, SIGINT and SIGTERM (Ctrl-C, a CI job's timeout) are taken by
// a watcher thread instead of killing the process: it puts the sandbox clock
// back through the keeper, even while the run's thread is inside a case, says
// so on stderr and exits 128 + the signal (130, 143), as a shell reports it.
// The signals are blocked in the creating thread first, so every thread the
// run starts later (the notify receivers) inherits the block. The destructor
// stops the watcher and restores the signal mask; a signal left pending then
// acts as usual.
class InterruptGuard {
 public:
  explicit InterruptGuard(std::shared_ptr<ClockKeeper> keeper) : keeper_(std::move(keeper)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    watcher_ = std::thread([this] { Watch(); });
  }
  ~InterruptGuard() {
    done_ = true;
    pthread_kill(watcher_.native_handle(), SIGTERM);
    watcher_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  void Watch() {
    int sig = 0;
    while (sigwait(&set_, &sig) != 0) {
    }
    if (done_) return;
    Status st = keeper_->Restore();
    // Straight to fd 2: the run's thread may be writing to the streams.
    const std::string msg = std::string("vkspay-conformance: interrupted (") +
                            (sig == SIGINT ? "SIGINT" : "SIGTERM") + "); " +
                            (st.ok() ? "the sandbox clock is where the run found it"
                                     : "could not put the sandbox clock back (" + st.message() +
                                           "); POST /_sandbox/clock/reset puts it back") +
                            "\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg.data(), msg.size());
    (void)ignored;
    _exit(128 + sig);
  }

  std::shared_ptr<ClockKeeper> keeper_;
  sigset_t set_;
  sigset_t old_;
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

}  // namespace

int RunConformanceCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "vkspay-conformance: grade a VksPay server (server mode) or a merchant's notify handler "
      "(merchant mode). Exit 0: no case failed; 1: a case failed; 2: bad command line, or "
      "nothing answers; 3 (merchant mode): cases skipped for want of --order, unless "
      "--allow-skip.",
      "vkspay-conformance"};
  app.require_subcommand(1);

  TargetOptions target;
  ServerSuiteOptions server_options;
  Common server_common;
  CLI::App* server = app.add_subcommand("server", "is this a correct VksPay server?");
  server
      ->add_option("--base-url", target.base_url,
                   "the server; requests go to <URL>/api (default: the sandbox's default address)")
      ->type_name("URL")
      ->envname("VKSPAY_BASE_URL")
      ->default_val("http://127.0.0.1:8080");
  server->add_option("--merchantno", target.merchantno, "a merchant number the server knows")
      ->envname("VKSPAY_MERCHANTNO")
      ->default_val("10001");
  server->add_option("--key", target.key, "that merchant's key")
      ->envname("VKSPAY_KEY")
      ->default_val("sandbox-demo-key-0123456789abcdef");
  server
      ->add_option("--control-url", target.control_url,
                   "the sandbox control API (/_sandbox/...), needed to act as the buyer and "
                   "move the clock (put back when the run ends, also on Ctrl-C); without it "
                   "those cases are SKIP")
      ->type_name("URL");
  server->add_option("--control-token", target.control_token, "the control API's bearer token")
      ->envname("VKSPAY_CONTROL_TOKEN");
  server
      ->add_option("--receiver-host", server_options.receiver_host,
                   "address the notify cases' receiver listens on (port chosen freely)")
      ->default_val("127.0.0.1");
  server->add_option("--receiver-public-host", server_options.receiver_advertised_host,
                     "host name the server should deliver notifications to (default: the "
                     "listen address)");
  server
      ->add_option("--notify-wait", server_options.notify_wait_s,
                   "seconds to wait for one notification")
      ->default_val(15)
      ->check(CLI::Range(1, 600));
  server->add_option("--timeout", target.timeout_s, "HTTP connect/read timeout, seconds")
      ->default_val(10)
      ->check(CLI::Range(1, 600));
  server->add_option("--seed", target.seed, "seed for nonces and order numbers (0: random)");
  double server_wait_s = 0;
  server
      ->add_option("--wait", server_wait_s,
                   "wait up to SECONDS for the server (and the control API) to answer "
                   "GET /_sandbox/health before running, e.g. right after starting it in CI; "
                   "default: one try")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.0, 3600.0));
  AddCommon(server, &server_common);

  MerchantSuiteOptions merchant_options;
  std::vector<std::string> order_specs;
  Common merchant_common;
  CLI::App* merchant =
      app.add_subcommand("merchant", "does this merchant's notify handler do the right thing?");
  merchant->add_option("--notify-url", merchant_options.notify_url, "the handler to grade")
      ->type_name("URL");
  merchant->add_option("--merchantno", merchant_options.merchantno, "the merchant number")
      ->envname("VKSPAY_MERCHANTNO")
      ->default_val("10001");
  merchant->add_option("--key", merchant_options.key, "the merchant key the handler verifies with")
      ->envname("VKSPAY_KEY")
      ->default_val("sandbox-demo-key-0123456789abcdef");
  merchant
      ->add_option("--state-url", merchant_options.state_url,
                   "optional: GET <URL>?out_trade_no=NO answers the merchant's view of an "
                   "order, {\"exists\",\"paid\",\"refunded\",\"processed\"}")
      ->type_name("URL");
  merchant
      ->add_option("--order", order_specs,
                   "an unpaid order the merchant created for this run, NO=YUAN; give " +
                       std::to_string(kMerchantOrdersNeeded) + " (cases without one are SKIP)")
      ->type_name("NO=YUAN");
  merchant->add_option("--timeout", merchant_options.timeout_s, "HTTP timeout, seconds")
      ->default_val(10)
      ->check(CLI::Range(1, 600));
  merchant->add_option("--seed", merchant_options.seed, "seed for ids and nonces (0: random)");
  bool merchant_allow_skip = false;
  merchant->add_flag("--allow-skip", merchant_allow_skip,
                     "exit 0 even when cases are skipped for want of --order (default: exit 3)");
  double merchant_wait_s = 0;
  merchant
      ->add_option("--wait", merchant_wait_s,
                   "wait up to SECONDS for the notify handler to answer HTTP (any status) "
                   "before running; default: no wait")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.0, 3600.0));
  AddCommon(merchant, &merchant_common);

  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i) args.emplace_back(argv[i]);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    // Subcommand help is thrown as CallForHelp from the subcommand too.
    if (e.get_exit_code() == 0) {
      out << (server->parsed()     ? server->help()
              : merchant->parsed() ? merchant->help()
                                   : app.help());
      return 0;
    }
    err << "vkspay-conformance: " << e.what() << "\n(see vkspay-conformance --help)\n";
    return 2;
  }

  if (server->parsed()) {
    if (server_common.list)
      return ListCases(ServerCases(nullptr, server_options), server_common.filter, out);
    if (target.base_url.empty()) {
      err << "vkspay-conformance server: --base-url is required (e.g. http://127.0.0.1:8080)\n";
      return 2;
    }
    StatusOr<std::unique_ptr<Target>> t = Target::Create(target);
    if (!t.ok()) {
      err << "vkspay-conformance server: " << t.status().message() << "\n";
      return 2;
    }
    // Nothing listening is one clear error, not a FAIL per case.
    Status up = WaitForAnswer("--base-url", target.base_url, "/_sandbox/health", server_wait_s,
                              target.timeout_s);
    if (up.ok() && !target.control_url.empty() && target.control_url != target.base_url) {
      up = WaitForAnswer("--control-url", target.control_url, "/_sandbox/health", server_wait_s,
                         target.timeout_s);
    }
    if (!up.ok()) {
      err << "vkspay-conformance server: " << up.message() << "\n";
      return 2;
    }
    if ((*t)->has_control()) {
      Status st = (*t)->SyncClock();
      if (!st.ok()) {
        err << "vkspay-conformance server: the control API does not answer (" << st.message()
            << "); check --control-url and --control-token\n";
        return 2;
      }
    }
    std::shared_ptr<ClockKeeper> keeper = (*t)->clock_keeper();
    if (keeper == nullptr) {
      return RunAndReport("server", target.base_url, ServerCases(t->get(), server_options),
                          server_common, out, err);
    }
    int code;
    {
      InterruptGuard guard(keeper);
      code = RunAndReport("server", target.base_url, ServerCases(t->get(), server_options),
                          server_common, out, err);
      // Inside the guard: a Ctrl-C during the restore still restores.
      Status restored = keeper->Restore();
      if (!restored.ok()) {
        err << "vkspay-conformance server: warning: could not put the sandbox clock back ("
            << restored.message() << "); POST /_sandbox/clock/reset puts it back\n";
      }
    }
    return code;
  }

  for (const std::string& spec : order_specs) {
    StatusOr<MerchantOrder> o = ParseMerchantOrder(spec);
    if (!o.ok()) {
      err << "vkspay-conformance merchant: " << o.status().message() << "\n";
      return 2;
    }
    merchant_options.orders.push_back(*o);
  }
  if (merchant_common.list) {
    return ListCases(MerchantCases(merchant_options), merchant_common.filter, out);
  }
  std::string origin, path;
  Status st = SplitUrl("--notify-url", merchant_options.notify_url, &origin, &path);
  if (!st.ok()) {
    err << "vkspay-conformance merchant: " << st.message() << "\n";
    return 2;
  }
  if (!merchant_options.state_url.empty()) {
    st = SplitUrl("--state-url", merchant_options.state_url, &origin, &path);
    if (!st.ok()) {
      err << "vkspay-conformance merchant: " << st.message() << "\n";
      return 2;
    }
  }
  if (merchant_wait_s > 0) {
    st = WaitForAnswer("--notify-url", merchant_options.notify_url, "", merchant_wait_s,
                       merchant_options.timeout_s);
    if (!st.ok()) {
      err << "vkspay-conformance merchant: " << st.message() << "\n";
      return 2;
    }
  }
  st = CheckOrdersUnpaid(merchant_options);
  if (!st.ok()) {
    err << "vkspay-conformance merchant: " << st.message() << "\n";
    return 2;
  }
  return RunAndReport("merchant", merchant_options.notify_url, MerchantCases(merchant_options),
                      merchant_common, out, err, /*skip_is_incomplete=*/!merchant_allow_skip);
}

}  // namespace vkspay::conformance
