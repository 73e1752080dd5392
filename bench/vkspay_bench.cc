// vkspay-bench: how fast the sandbox signs, answers and delivers
// notifications, each figure next to a baseline measured in the same run.
//
//   vkspay-bench all            # everything, ~5-8 min, writes bench/results/<date>-<host>.*
//   vkspay-bench all --quick    # the same in well under a minute, smaller figures
//   vkspay-bench api | notify | scale | micro [--out-dir DIR]
//   vkspay-bench merchant --notify-url URL --rate 500 --duration 30   # your handler
//
// Flags: vkspay-bench --help, vkspay-bench <subcommand> --help.
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/bench_common.h"
#include "bench/merchant.h"
#include "bench/report.h"
#include "bench/sections.h"
#include "vkspay/version.h"

using namespace vkspay::bench;

namespace {

struct Flags {
  std::string sandbox, protocol_bench, out_dir, name;
  int reps = 0;  // 0: 3, or 2 with --quick
  bool quick = false, no_progress = false, keep_temp = false;
  std::vector<std::string> sandbox_args, notes;
  ApiOptions api;
  NotifyOptions notify;
  ScaleOptions scale;
  int64_t scale_orders = 1'000'000, scale_small = 10'000;
  double scale_duration = 2;
  int scale_notify_orders = 5000;
  double micro_min_time = 0.2;
  MerchantOptions merchant;
  std::string merchant_rate;
  double expect_rate = 0, expect_p99 = 0;
};

void ApplyQuick(Flags& f, CLI::App& sub) {
  // Only what the user did not set explicitly.
  auto unset = [&sub](const char* name) {
    const CLI::Option* o = sub.get_option_no_throw(name);
    return o == nullptr || o->count() == 0;
  };
  if (!f.quick) return;
  if (unset("--duration")) f.api.duration_s = 0.6;
  if (unset("--warmup")) f.api.warmup_s = 0.1;
  if (unset("--orders")) {
    f.notify.orders = 600;
    f.scale_orders = 20'000;
  }
  if (unset("--baseline-seconds")) f.notify.baseline_s = 0.5;
  if (unset("--paced-seconds")) f.notify.paced_s = 0.5;
  if (unset("--small")) f.scale_small = 1000;
  if (unset("--scale-duration")) f.scale_duration = 0.5;
  if (unset("--notify-orders")) f.scale_notify_orders = 500;
  if (unset("--min-time")) f.micro_min_time = 0.02;
}

void AddApiFlags(CLI::App* s, Flags& f) {
  s->add_option("--threads", f.api.threads, "client threads (keep-alive each)")
      ->capture_default_str();
  s->add_option("--duration", f.api.duration_s, "measured seconds per repetition")
      ->capture_default_str();
  s->add_option("--warmup", f.api.warmup_s, "unmeasured seconds first")->capture_default_str();
}

void AddNotifyFlags(CLI::App* s, Flags& f, bool with_orders) {
  if (with_orders) {
    s->add_option("--orders", f.notify.orders, "orders paid per repetition")->capture_default_str();
  }
  s->add_option("--pay-threads", f.notify.pay_threads, "concurrent payments")
      ->capture_default_str();
  s->add_option("--fail-rates", f.notify.fail_rates,
                "receiver failure rates of attempts 1-2, one run each")
      ->capture_default_str();
  s->add_option("--baseline-seconds", f.notify.baseline_s, "receiver baseline seconds per rep")
      ->capture_default_str();
  s->add_option("--paced-rate", f.notify.paced_rate, "payments/s of the latency run")
      ->capture_default_str();
  s->add_option("--paced-seconds", f.notify.paced_s, "seconds of the latency run per rep")
      ->capture_default_str();
  s->add_option("--receiver-threads", f.notify.receiver_threads, "receiver HTTP threads")
      ->capture_default_str();
  s->add_option("--notify-profile", f.notify.notify_profile, "sandbox retry profile")
      ->capture_default_str();
  s->add_option("--time-scale", f.notify.time_scale, "sandbox retry time scale")
      ->capture_default_str();
}

void AddScaleFlags(CLI::App* s, Flags& f, bool with_orders) {
  if (with_orders) {
    s->add_option("--orders", f.scale_orders,
                  "stored orders of the large level (default 1,000,000)")
        ->capture_default_str();
  }
  s->add_option("--scale-orders", f.scale_orders, "stored orders of the large level")
      ->capture_default_str();
  s->add_option("--small", f.scale_small, "stored orders of the small level")
      ->capture_default_str();
  s->add_option("--refund-fraction", f.scale.refund_fraction, "refunds per stored order")
      ->capture_default_str();
  s->add_option("--scale-duration", f.scale_duration, "API seconds per repetition at each level")
      ->capture_default_str();
  s->add_option("--notify-orders", f.scale_notify_orders, "notify orders per rep at each level")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  InstallSignalHandlers();
  CLI::App app{
      "vkspay-bench: throughput and latency of vkspay-sandbox, each next to a baseline measured "
      "in the same run (load only on 127.0.0.1, bounded in time)"};
  app.require_subcommand(1);
  app.fallthrough();
  Flags f;
  app.add_option("--sandbox", f.sandbox,
                 "vkspay-sandbox binary (default: the one built with this)");
  app.add_option("--protocol-bench", f.protocol_bench,
                 "protocol_bench binary (default: built with this)");
  app.add_option("--reps", f.reps, "repetitions of every figure (default 3; 2 with --quick)");
  app.add_option("--out-dir", f.out_dir,
                 "write <name>.json/.md/.svg here (all: default " VKSPAY_BENCH_RESULTS_DIR ")");
  app.add_option("--name", f.name, "report file name without extension (default <date>-<host>)");
  app.add_flag("--quick", f.quick,
               "small and short: for CI and a first look (figures are rougher)");
  app.add_flag("--no-progress", f.no_progress, "no progress bar");
  app.add_flag("--keep-temp", f.keep_temp, "keep the temp dirs (databases, sandbox logs)");
  app.add_option("--sandbox-arg", f.sandbox_args,
                 "extra flag for every sandbox started, e.g. --sandbox-arg=--notify-per-host "
                 "--sandbox-arg=8 (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--note", f.notes, "a note to print in the report (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  CLI::App* api = app.add_subcommand("api", "webpay and orderquery against the health endpoint");
  AddApiFlags(api, f);
  api->add_option("--only", f.api.only,
                  "only these runs (health, webpay, orderquery); for profiling")
      ->check(CLI::IsMember({"health", "webpay", "orderquery"}));
  CLI::App* notify =
      app.add_subcommand("notify", "notification delivery against the receiver alone");
  AddNotifyFlags(notify, f, true);
  CLI::App* scale =
      app.add_subcommand("scale", "10k vs 1M stored orders: size, start-up, p99, RSS");
  AddScaleFlags(scale, f, true);
  scale->add_option("--threads", f.api.threads, "client threads")->capture_default_str();
  CLI::App* micro = app.add_subcommand("micro", "protocol_bench (Google Benchmark), summarised");
  micro->add_option("--min-time", f.micro_min_time, "seconds per benchmark repetition")
      ->capture_default_str();
  CLI::App* all = app.add_subcommand("all", "micro, api, notify and scale; writes the report");
  AddApiFlags(all, f);
  AddNotifyFlags(all, f, false);
  AddScaleFlags(all, f, false);
  all->add_option("--min-time", f.micro_min_time, "micro: seconds per benchmark repetition")
      ->capture_default_str();
  CLI::App* merchant = app.add_subcommand(
      "merchant",
      "load YOUR notify handler through the sandbox: open/ramp/closed model, latency from "
      "each payment's scheduled time, thresholds for CI (exit 99 when one is missed or a "
      "notification was never acked, 3 when void)");
  {
    MerchantOptions& m = f.merchant;
    merchant->add_option("--notify-url", m.notify_url, "your notify handler's URL")->required();
    merchant->add_option("--merchantno", m.merchantno, "merchant number")
        ->envname("VKSPAY_MERCHANTNO")
        ->capture_default_str();
    merchant->add_option("--key", m.key, "merchant key (default: the demo key)")
        ->envname("VKSPAY_KEY");
    merchant->add_option("--total-fee", m.total_fee, "yuan per order")->capture_default_str();
    merchant->add_option("--base-url", m.base_url,
                         "use this running sandbox (on 127.0.0.1) instead of starting one");
    merchant
        ->add_option("--sandbox-listen", m.sandbox_listen,
                     "where the started sandbox listens: give your handler's sandbox URL "
                     "(e.g. 127.0.0.1:8080) if it calls orderquery back")
        ->capture_default_str();
    merchant->add_option("--control-token", m.control_token, "the sandbox's control API token")
        ->envname("VKSPAY_CONTROL_TOKEN");
    merchant
        ->add_option("--notify-profile", m.notify_profile,
                     "retry schedule of the started sandbox (vkspay, alipay, fast)")
        ->capture_default_str();
    merchant
        ->add_option("--time-scale", m.time_scale, "multiplies the started sandbox's retry delays")
        ->capture_default_str();
    merchant->add_option("--rate", f.merchant_rate,
                         "open model: payments per second (total); A..B: a ramp from A to B "
                         "(with --step and --step-duration)");
    merchant->add_option("--step", m.step, "ramp: payments per second added per step");
    merchant->add_option("--step-duration", m.step_duration_s, "ramp: seconds per step");
    merchant->add_option("--concurrency", m.concurrency,
                         "closed model: buyers, each paying again once its notification ended");
    merchant->add_option("--duration", m.duration_s, "seconds of load");
    merchant->add_option("--count", m.count, "payments in all");
    merchant->add_option("--warmup", m.warmup_s, "first seconds not measured")
        ->capture_default_str();
    merchant
        ->add_option("--drain", m.drain_s,
                     "most seconds to wait after the load for the last notifications")
        ->capture_default_str();
    merchant
        ->add_option("--duplicates", m.duplicates,
                     "fraction of orders whose notification is delivered twice within 1 s")
        ->capture_default_str();
    merchant->add_option("--seed", m.seed, "seed of the duplicate decisions")
        ->capture_default_str();
    merchant->add_option("--pay-threads", m.pay_threads, "open model: concurrent payers")
        ->capture_default_str();
    merchant->add_option("--state-url", m.state_url,
                         "GET URL?out_trade_no=NO answering {\"processed\":n}: check every "
                         "order was processed exactly once");
    merchant->add_option("--expect-rate", f.expect_rate, "threshold: acked per second at least");
    merchant->add_option("--expect-p99", f.expect_p99,
                         "threshold: p99 latency from schedule at most (ms)");
    merchant->add_option("--expect-errors", m.expect_errors,
                         "threshold: non-acked attempts at most, a count (10) or a share of "
                         "attempts (0.5%); notifications never acked count too");
    merchant->add_option("--junit", m.junit, "write the thresholds as JUnit XML here");
    merchant
        ->add_option("--ceiling-orders", m.ceiling_orders,
                     "payments of the sandbox-ceiling run after the load (0: skip)")
        ->capture_default_str();
  }
  std::string render_from;
  CLI::App* render = app.add_subcommand(
      "render", "rewrite the .md and .svg of an existing report (targets re-evaluated)");
  render->add_option("json", render_from, "the report's .json file")
      ->required()
      ->check(CLI::ExistingFile);
  app.set_version_flag("--version", vkspay::VersionLine("vkspay-bench"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and exit 0; any other parse error is a usage
    // error, exit 2 (CLI11's own codes, 109 for an unknown flag, read like a crash).
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (app.got_subcommand(render)) {
    std::ifstream in(render_from, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Json report = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (report.is_discarded() || !report.contains("sections")) {
      std::cerr << "vkspay-bench: render: " << render_from
                << " is not a vkspay-bench JSON report (expected an object with \"sections\")\n";
      return 2;
    }
    report["targets"] = EvaluateTargets(report);
    std::filesystem::path p(render_from);
    const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
    std::string err = WriteReport(report, dir, p.stem().string());
    if (!err.empty()) {
      std::cerr << "vkspay-bench: " << err << "\n";
      return 1;
    }
    std::cerr << "vkspay-bench: rewrote " << dir << "/" << p.stem().string() << ".{json,md,svg}\n";
    return 0;
  }

  CLI::App* sub = app.get_subcommands().front();
  if (sub == merchant) {
    MerchantOptions& m = f.merchant;
    if (!f.merchant_rate.empty() && !ParseRateSpec(f.merchant_rate, &m.rate, &m.rate_to)) {
      std::cerr << "vkspay-bench merchant: --rate: expected N or A..B (payments per second), got \""
                << f.merchant_rate << "\"\n";
      return 2;
    }
    if (!f.merchant_rate.empty() && m.rate <= 0) {
      std::cerr << "vkspay-bench merchant: --rate: must be above 0, got " << f.merchant_rate
                << "\n";
      return 2;
    }
    if (f.expect_rate != 0) m.expect_rate = f.expect_rate;
    if (f.expect_p99 != 0) m.expect_p99_ms = f.expect_p99;
    if (!f.out_dir.empty()) m.out_dir = f.out_dir;
    m.name = f.name;
    m.quiet = f.no_progress;
    if (std::string e = ValidateMerchantOptions(m); !e.empty()) {
      std::cerr << "vkspay-bench merchant: " << e << "\n";
      return 2;
    }
    CommonOptions common;
    common.sandbox_args = f.sandbox_args;
    common.keep_temp = f.keep_temp;
    if (m.base_url.empty()) {
      common.sandbox_bin = FindSandboxBinary(f.sandbox);
      if (common.sandbox_bin.empty()) {
        std::cerr << "vkspay-bench: --sandbox: no vkspay-sandbox binary; build it (ninja "
                     "vkspay-sandbox), pass --sandbox PATH or --base-url of a running one\n";
        return 2;
      }
    }
    std::string command = "vkspay-bench";
    for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
    return RunMerchant(common, m, command);
  }
  ApplyQuick(f, *sub);
  if (f.reps <= 0) f.reps = f.quick ? 2 : 3;
  if (sub == all && f.out_dir.empty()) f.out_dir = VKSPAY_BENCH_RESULTS_DIR;
  Progress::Get().enabled = !f.no_progress;

  CommonOptions common;
  common.reps = f.reps;
  common.sandbox_args = f.sandbox_args;
  common.keep_temp = f.keep_temp;
  const bool needs_sandbox = sub != micro;
  if (needs_sandbox) {
    common.sandbox_bin = FindSandboxBinary(f.sandbox);
    if (common.sandbox_bin.empty()) {
      std::cerr << "vkspay-bench: --sandbox: no vkspay-sandbox binary at \""
                << (f.sandbox.empty() ? VKSPAY_BENCH_SANDBOX_BINARY : f.sandbox)
                << "\"; build it (ninja vkspay-sandbox) or pass --sandbox PATH\n";
      return 2;
    }
  }
  std::string protocol_bench;
  if (sub == micro || sub == all) {
    protocol_bench = FindProtocolBench(f.protocol_bench);
    if (protocol_bench.empty()) {
      std::cerr << "vkspay-bench: --protocol-bench: no protocol_bench binary; build it (ninja "
                   "protocol_bench) or pass --protocol-bench PATH\n";
      return 2;
    }
  }
  f.scale.levels = {f.scale_small, f.scale_orders};
  if (f.scale_small >= f.scale_orders) f.scale.levels = {f.scale_orders};
  f.scale.api = f.api;
  f.scale.api.duration_s = f.scale_duration;
  f.scale.notify = f.notify;
  f.scale.notify.orders = f.scale_notify_orders;
  // The bench keeps its load bounded: refuse what would not be.
  const double paced = f.notify.paced_rate * f.notify.paced_s;
  struct Bound {
    const char* flag;
    double value, lo, hi;
  };
  for (const Bound& b :
       {Bound{"--reps", static_cast<double>(f.reps), 1, 20},
        Bound{"--duration", f.api.duration_s, 0.05, 60},
        Bound{"--threads", static_cast<double>(f.api.threads), 1, 256},
        Bound{"--orders (notify)", static_cast<double>(f.notify.orders), 1, 1e6},
        Bound{"--pay-threads", static_cast<double>(f.notify.pay_threads), 1, 256},
        Bound{"--paced-rate x --paced-seconds", paced, 1, 1e6},
        Bound{"--scale-orders", static_cast<double>(f.scale_orders), 1, 2e7},
        Bound{"--small", static_cast<double>(f.scale_small), 1, 2e7},
        Bound{"--notify-orders", static_cast<double>(f.scale_notify_orders), 1, 1e6}}) {
    if (b.value < b.lo || b.value > b.hi) {
      std::cerr << "vkspay-bench: " << b.flag << " must be between " << b.lo << " and " << b.hi
                << ", got " << b.value << "\n";
      return 2;
    }
  }
  for (double rate : f.notify.fail_rates) {
    if (rate < 0 || rate > 0.5) {
      std::cerr << "vkspay-bench: --fail-rates must each be between 0 and 0.5, got " << rate
                << "\n";
      return 2;
    }
  }

  // Progress steps: one per repetition of each figure, plus preloads.
  const int api_steps = 3 * f.reps;
  const int notify_steps = f.reps * (2 + static_cast<int>(f.notify.fail_rates.size()));
  const int scale_steps = static_cast<int>(f.scale.levels.size()) * (1 + 4 * f.reps);
  int steps = 0;
  if (sub == api) steps = api_steps;
  if (sub == notify) steps = notify_steps;
  if (sub == scale) steps = scale_steps;
  if (sub == micro) steps = 1;
  if (sub == all) steps = 1 + api_steps + notify_steps + scale_steps;
  Progress::Get().SetTotal(steps);

  std::string command = "vkspay-bench";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  Json report;
  report["schema"] = "vkspay-bench/1";
  report["generated_at"] = UtcNow("%Y-%m-%dT%H:%M:%SZ");
  report["command"] = command;
  report["machine"] = MachineInfo();
  report["notes"] = f.notes;
  report["sections"] = Json::object();
  const int64_t t0 = NowNs();
  if (sub == micro || sub == all) {
    report["sections"]["micro"] = RunMicro(protocol_bench, f.reps, f.micro_min_time);
  }
  if (sub == api || sub == all) report["sections"]["api"] = RunApi(common, f.api);
  if (sub == notify || sub == all) report["sections"]["notify"] = RunNotify(common, f.notify);
  if (sub == scale || sub == all) report["sections"]["scale"] = RunScale(common, f.scale);
  Progress::Get().Finish();
  report["wall_s"] = static_cast<double>(NowNs() - t0) / 1e9;
  report["targets"] = EvaluateTargets(report);

  const std::string base = f.name.empty() ? DefaultReportBase() : f.name;
  std::cout << RenderMarkdown(report, base + ".svg");
  if (!f.out_dir.empty()) {
    std::string err = WriteReport(report, f.out_dir, base);
    if (!err.empty()) {
      std::cerr << "vkspay-bench: " << err << "\n";
      return 1;
    }
    std::cerr << "vkspay-bench: wrote " << f.out_dir << "/" << base << ".{json,md,svg}\n";
  }
  // Errors anywhere make the exit status 1 (the figures are still written).
  int64_t errors = 0;
  for (auto& [name, sec] : report["sections"].items()) {
    if (sec.contains("error")) ++errors;
    if (sec.contains("runs")) {
      for (const Json& r : sec["runs"]) errors += r.value("errors", int64_t{0});
    }
    if (sec.contains("levels")) {
      for (const Json& l : sec["levels"]) errors += l.contains("error") ? 1 : 0;
    }
  }
  if (errors > 0) std::cerr << "vkspay-bench: " << errors << " error(s); see the report\n";
  return errors > 0 ? 1 : 0;
}
