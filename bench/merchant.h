// vkspay-bench merchant: load on a merchant's own notify handler through the
// real sandbox, with latency measured the way open-model load tools measure
// it (from each payment's scheduled time, so a slow handler cannot hide its
// latency by slowing the load down: no coordinated omission).
//
// One run: a sandbox is started (or --base-url names a running one on
// 127.0.0.1) with the merchant's number and key; orders are created and
// paid at scheduled times (open: a constant rate, ramp: rising steps,
// closed: N buyers each waiting for its notification's ack before the next
// payment); the sandbox's dispatcher delivers them to --notify-url (real
// signing, notify_id, retries on its schedule, duplicates on request); the
// bench reads every delivery from the sandbox's delivery feed
// (GET /_sandbox/deliveries, a long poll) and the handler's orderquery
// call-backs from GET /_sandbox/stats. After a drain it balances the
// ledger (scheduled = acked + failed + blocked + pending + dropped, checked
// against the sandbox's own counts), optionally asks --state-url whether
// each order was processed exactly once, measures the sandbox's own
// ceiling against the bench's receiver, checks the thresholds and writes
// the report (merchant_report.h).
//
// Exit status: 0 every threshold met and every notification acked; 99 a
// threshold missed (as k6), an order not processed exactly once, nothing
// acked at all or notifications still unacked after the drain (a run that
// measured nothing must not pass a CI step, thresholds or not); 3 the run
// is void (the ledger does not balance: the figures cannot be trusted);
// 1 the run could not be made (sandbox, handler unreachable, ...); 2 bad
// flags (checked by ValidateMerchantOptions before anything starts).
#ifndef VKSPAY_BENCH_MERCHANT_H_
#define VKSPAY_BENCH_MERCHANT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/sections.h"

namespace vkspay::bench {

inline constexpr int kExitFailed = 99;
inline constexpr int kExitVoid = 3;

struct MerchantOptions {
  std::string notify_url;  // the handler (required)
  std::string merchantno = kMerchantNo;
  std::string key = kMerchantKey;
  std::string total_fee = "0.01";  // yuan, every order
  // A running sandbox ("http://127.0.0.1:8080"); empty: start one listening
  // on sandbox_listen.
  std::string base_url;
  std::string sandbox_listen = "127.0.0.1:0";
  std::string control_token;
  std::string notify_profile = "vkspay";  // the started sandbox's schedule
  double time_scale = 0.01;               // ... compressed 100x by default

  // Load: exactly one of rate (open), rate..rate_to (ramp), concurrency
  // (closed).
  double rate = 0;     // per second, total
  double rate_to = 0;  // ramp: the last step's rate (0: no ramp)
  double step = 0;     // ramp: rate added per step
  double step_duration_s = 0;
  int concurrency = 0;
  double duration_s = 0;  // open/closed: one of duration_s and count
  int64_t count = 0;
  double warmup_s = 0;    // scheduled in the first warmup_s: not measured
  double drain_s = 30;    // the most to wait for the last notifications
  double duplicates = 0;  // fraction of orders delivered twice within 1 s
  uint64_t seed = 1;      // duplicate decisions only
  int pay_threads = 16;   // open model: concurrent payers

  std::string state_url;                // GET ?out_trade_no=NO → {"processed":n,...}
  std::optional<double> expect_rate;    // acked/s at least
  std::optional<double> expect_p99_ms;  // from-schedule p99 at most
  std::string expect_errors;            // "N" non-acked attempts, or "P%" of attempts
  std::string junit;                    // write the JUnit file here
  int ceiling_orders = 2000;            // 0: do not measure the sandbox's ceiling
  std::string out_dir = ".";
  std::string name;    // default merchant-<UTC time>
  bool quiet = false;  // no progress lines
};

// Every flag check that needs no network, with the message the user sees
// ("--rate: ..."). "" when fine. Among them: one run makes at most 5,000,000
// payments (--count, --rate x --duration and a ramp's total are refused
// above it; a closed run given only --duration stops there).
std::string ValidateMerchantOptions(const MerchantOptions& o);

// Whether payment k's notification is delivered twice (--duplicates): a
// draw of SplitMix64 from (--seed, k), so the same seed picks the same
// payments whatever order the payers issue them in.
bool DeliveredTwice(const MerchantOptions& o, int64_t k);

// "500" → 500, 0; "100..1000" → 100, 1000. False when neither.
bool ParseRateSpec(const std::string& text, double* from, double* to);

// The open/ramp schedule: the rate of each step and how long it lasts.
struct RateStep {
  double rate = 0;
  double start_s = 0, duration_s = 0;
  int64_t first = 0, count = 0;  // payments k in [first, first + count)
};
std::vector<RateStep> PlanSteps(const MerchantOptions& o);
// When payment k is due, seconds after the start (k < total of the steps).
double ScheduledAt(const std::vector<RateStep>& steps, int64_t k);

// What the ledger needs, counted by the bench.
struct LedgerCounts {
  int64_t scheduled = 0, acked = 0, failed = 0, blocked = 0, pending = 0, dropped = 0;
  int64_t feed_missed = 0;   // delivery events the feed no longer held
  int64_t double_acks = 0;   // attempts acked for an order already acked
  int64_t unknown_acks = 0;  // acks of orders the bench never paid
  // The sandbox's own counts of the run's notifications, when it holds no
  // others (a started sandbox; a shared one cannot be checked this way).
  bool have_sandbox = false;
  int64_t sandbox_acked = 0, sandbox_failed = 0, sandbox_blocked = 0, sandbox_pending = 0;
};
// {"scheduled",...,"balanced","void_reasons":[...]}.
Json BalanceLedger(const LedgerCounts& c);

// How the notifications' first attempts and all non-acked attempts ended,
// for the verdict's hint.
struct NonAckCounts {
  int64_t first_attempts = 0;                // notifications with a first attempt
  int64_t first_http_400 = 0;                // ... answered HTTP 400
  int64_t first_connect_errors = 0;          // ... that could not connect
  int64_t non_acked = 0;                     // attempts and duplicates not acked
  int64_t http_400 = 0, connect_errors = 0;  // ... of them
};
// The likely cause when every notification's first attempt was refused the
// same way and no attempt failed any other way: all HTTP 400 → "does the
// handler use this merchant's key (<merchantno>)?" (a handler that checks
// the sign refuses every notification signed with another key); all connect
// errors → "is anything listening on <notify_url>?". "" otherwise.
std::string NonAckHint(const NonAckCounts& c, const MerchantOptions& o);

// The verdict {"exit_code", "text", "hint"} from the report's "ledger",
// "thresholds" and "exactly_once" (merchant_report.h): "VOID: ..." (exit 3)
// when the ledger does not balance; "FAILED: <reasons>" (exit 99) when a
// threshold was missed, orders were not processed exactly once, nothing was
// acked or notifications are still unacked (merchant_report.h's
// UnackedText); else "PASSED: <acked_per_s> acked/s, p99 ...". `hint`
// (NonAckHint) is kept only when the run failed for want of acks.
Json DecideVerdict(const Json& ledger, const Json& thresholds, const Json& exactly_once,
                   double acked_per_s, double p99_ms, const std::string& hint);

// --expect-errors: "12" (at most 12 non-acked attempts) or "0.5%" (at most
// 0.5% of attempts). False when malformed.
bool ParseErrorBudget(const std::string& text, double* value, bool* percent);

// Runs it all; returns the exit status above.
int RunMerchant(const CommonOptions& common, const MerchantOptions& options,
                const std::string& command);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_MERCHANT_H_
