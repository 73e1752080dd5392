// The measured sections of vkspay-bench. Each returns its part of the report
// as JSON: {"runs":[Run...], "ratios":{...}, ...} (see report.h).
#ifndef VKSPAY_BENCH_SECTIONS_H_
#define VKSPAY_BENCH_SECTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_common.h"

namespace vkspay::bench {

struct CommonOptions {
  std::string sandbox_bin;                // resolved path of vkspay-sandbox
  int reps = 3;                           // repetitions of every figure
  std::vector<std::string> sandbox_args;  // extra flags for every sandbox started
  bool keep_temp = false;                 // keep temp dirs (databases, sandbox logs)
};

struct ApiOptions {
  int threads = 8;        // client threads, one keep-alive connection each
  double duration_s = 3;  // measured seconds per repetition
  double warmup_s = 0.3;
  // Only these of health, webpay, orderquery (empty: all); for profiling.
  std::vector<std::string> only;
};

// Starts one sandbox (file database in a temp dir) and measures health (the
// baseline), webpay (a new order each: a SQLite write) and orderquery (orders
// created by the webpay runs), interleaved rep by rep.
Json RunApi(const CommonOptions& common, const ApiOptions& options);

struct NotifyOptions {
  int orders = 10000;   // orders paid per repetition (throughput runs)
  int pay_threads = 8;  // concurrent POST /_sandbox/pay
  std::vector<double> fail_rates = {0, 0.01, 0.10};
  double baseline_s = 3;  // receiver-capacity baseline, seconds per rep
  int paced_rate = 1000;  // payments per second in the latency run
  double paced_s = 3;     // seconds of paced payments per rep
  int receiver_threads = 32;
  // Sandbox retry timing, so retries happen within the run.
  std::string notify_profile = "fast";
  double time_scale = 0.01;
};

// Receiver baseline, then per fail rate a sandbox paying `orders` orders as
// fast as `pay_threads` can and timing deliveries at the bench's receiver,
// then a paced run at `paced_rate` payments per second for latency.
Json RunNotify(const CommonOptions& common, const NotifyOptions& options);

struct ScaleOptions {
  std::vector<int64_t> levels = {10'000, 1'000'000};  // stored orders
  double refund_fraction = 0.1;                       // refunds preloaded per stored order
  ApiOptions api;                                     // per level: health, webpay, orderquery
  NotifyOptions notify;                               // per level: one 0%-failure throughput run
};

// Per level: preload the database directly through SQL (big transactions),
// then report its size, sandbox start-up time, API and notify figures and the
// sandbox's peak RSS.
Json RunScale(const CommonOptions& common, const ScaleOptions& options);

// Runs protocol_bench (Google Benchmark, JSON output) and summarises each
// benchmark's repetitions, with signing's fraction of the raw-MD5 limit.
Json RunMicro(const std::string& protocol_bench, int reps, double min_time_s);

// Preloads `orders` paid orders (and `refunds` refunds on the first ones)
// into a new database at `db`: the store library creates the schema, then
// plain SQL inserts rows 100,000 per transaction. Returns an error text or "".
// Order numbers are PreloadedOrderNo(i), i in [0, orders).
std::string PreloadDatabase(const std::string& db, int64_t orders, int64_t refunds);
std::string PreloadedOrderNo(int64_t i);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_SECTIONS_H_
