// vkspay-bench merchant: see merchant.h.
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/merchant.h"
#include "bench/merchant_report.h"
#include "bench/notify_measure.h"
#include "sandbox/telemetry/latency_histogram.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::bench {

using sandbox::LatencyHistogram;

namespace {

constexpr char kJsonType[] = "application/json; charset=utf-8";
// A payment sent more than this after its scheduled time is "late": the
// bench (or the sandbox answering it) could not keep the schedule.
constexpr int64_t kLateUs = 10'000;
// The most payments one run makes (flags asking for more are refused; a
// closed run given only --duration stops there). The bench keeps a record of
// about 100 bytes per payment, so this bounds its memory near 0.5 GB.
constexpr int64_t kMaxPayments = 5'000'000;
// Per-payment records are allocated for at most this many payments up front
// and grown (under Shared::mu) as payments are issued, so a long run's
// memory follows what it did, not what it was allowed to do.
constexpr int64_t kInitialOrders = 65536;

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

Json LatencyJson(const LatencyHistogram& h) {
  return Json{{"count", h.count()},         {"mean", h.mean() / 1000.0},
              {"p50", Ms(h.ValueAt(0.50))}, {"p90", Ms(h.ValueAt(0.90))},
              {"p99", Ms(h.ValueAt(0.99))}, {"p999", Ms(h.ValueAt(0.999))},
              {"max", Ms(h.max())}};
}

// "http://127.0.0.1:8080" → host, port. False unless http and a port (or 80).
bool SplitBaseUrl(const std::string& url, std::string* host, int* port) {
  static const std::string kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  std::string rest = url.substr(kScheme.size());
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    if (rest.find_first_not_of('/', slash) != std::string::npos) return false;  // a path
    rest.resize(slash);
  }
  const size_t colon = rest.rfind(':');
  *host = colon == std::string::npos ? rest : rest.substr(0, colon);
  *port = colon == std::string::npos ? 80 : std::atoi(rest.c_str() + colon + 1);
  return !host->empty() && *port > 0 && *port < 65536;
}

// Yuan text ("0.01") to fen, or -1.
int64_t FenOf(const std::string& yuan) {
  if (yuan.empty() || yuan.find_first_not_of("0123456789.") != std::string::npos) return -1;
  const size_t dot = yuan.find('.');
  if (dot != std::string::npos && yuan.size() - dot - 1 > 2) return -1;
  return std::llround(std::strtod(yuan.c_str(), nullptr) * 100);
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One order of the run, index k: order number <prefix>-<k>.
struct OrderRec {
  int64_t scheduled_us = 0;  // wall clock; 0: not (yet) scheduled
  int64_t paid_us = 0;       // when the payment request went out
  bool dropped = false;      // the sandbox refused or failed the create or pay
  bool duplicate = false;    // created with notify=dup
  bool measured = false;     // scheduled after the warm-up
  int attempts = 0;
  int64_t ack_us = 0;  // wall clock of the ack (0: none)
  std::string state;   // from the feed: pending, acked, failed, blocked
  int step = 0;
};

// What the feed reader and the load threads share. Everything under mu.
struct Shared {
  std::mutex mu;
  std::condition_variable changed;  // a record became final
  std::vector<OrderRec> orders;
  int64_t t0_us = 0;  // wall clock of the first scheduled payment
  // Counters of the whole run (measured or not).
  int64_t attempts = 0, retries = 0, dup_sent = 0, dup_acked = 0, acked = 0;
  std::map<std::string, int64_t> non_acks, http_statuses;
  Json non_ack_examples = Json::array();
  int64_t non_acked_attempts = 0;
  NonAckCounts hint_counts;  // for the verdict's hint
  int64_t feed_missed = 0, double_acks = 0, unknown_acks = 0, foreign = 0;
  // Measured orders only.
  LatencyHistogram from_schedule, send_to_ack, pay_lag;
  int64_t late_payments = 0;
  int64_t measured_acked = 0;
  int64_t first_measured_us = 0;
  std::vector<int64_t> measured_ack_us;  // when each measured order was acked
  struct Second {
    int64_t scheduled = 0, acked = 0, non_acks = 0;
    LatencyHistogram latency;
    double cpu_percent = -1;
    double machine_cpu_percent = -1;
    int64_t queue_depth = -1;
  };
  std::vector<Second> seconds;
  struct StepStats {
    int64_t scheduled = 0, acked = 0, non_acks = 0;
    LatencyHistogram latency;     // of the step's payments
    int64_t acked_in_window = 0;  // acks (of any payment) while the step ran
  };
  // Each step's start, seconds after t0 (open and ramp runs), the end of
  // the last one and the warm-up: acks outside [warmup_s, end_s) are in no
  // step's window.
  std::vector<double> step_starts;
  double end_s = 0, warmup_s = 0;
  std::vector<StepStats> steps;
  std::string fatal;  // the feed could not be read

  Second& SecondAt(int64_t wall_us) {
    const int64_t s = std::max<int64_t>(0, (wall_us - t0_us) / 1'000'000);
    if (static_cast<size_t>(s) >= seconds.size()) seconds.resize(static_cast<size_t>(s) + 1);
    return seconds[static_cast<size_t>(s)];
  }
};

bool IsFinal(const std::string& state) {
  return state == "acked" || state == "failed" || state == "blocked";
}

// Parses "<prefix>-<k>" → k, or -1.
int64_t IndexOf(const std::string& prefix, const std::string& no) {
  if (no.size() <= prefix.size() + 1 || no.compare(0, prefix.size(), prefix) != 0 ||
      no[prefix.size()] != '-') {
    return -1;
  }
  char* end = nullptr;
  const long long k = std::strtoll(no.c_str() + prefix.size() + 1, &end, 10);
  return *end == '\0' && k >= 0 ? k : -1;
}

// Applies one delivery event to the records. Needs s.mu.
void Apply(Shared& s, const std::string& prefix, const Json& e) {
  if (e.value("type", "") != "payment") return;
  const int64_t k = IndexOf(prefix, e.value("out_trade_no", ""));
  if (k < 0) {
    ++s.foreign;
    return;
  }
  if (static_cast<size_t>(k) >= s.orders.size() || s.orders[static_cast<size_t>(k)].paid_us == 0) {
    if (e.value("outcome", "") == "acked") ++s.unknown_acks;
    return;
  }
  OrderRec& o = s.orders[static_cast<size_t>(k)];
  const std::string kind = e.value("kind", "");
  const std::string outcome = e.value("outcome", "");
  const int64_t wall = e.value("wall_us", int64_t{0});
  const int64_t latency = e.value("latency_us", int64_t{0});
  const int64_t end_us = wall + latency;
  const bool acked = outcome == "acked";
  if (kind == "duplicate") {
    ++s.dup_sent;
    if (acked) ++s.dup_acked;
  } else if (kind == "attempt") {
    ++s.attempts;
    ++o.attempts;
    if (e.value("attempt", int64_t{1}) > 1) {
      ++s.retries;
    } else {
      ++s.hint_counts.first_attempts;
      if (outcome == "connect_error") ++s.hint_counts.first_connect_errors;
      if (outcome == "http_status" && e.value("http_status", 0) == 400) {
        ++s.hint_counts.first_http_400;
      }
    }
  }
  if (!acked) {
    ++s.non_acked_attempts;
    ++s.hint_counts.non_acked;
    if (outcome == "connect_error") ++s.hint_counts.connect_errors;
    if (outcome == "http_status" && e.value("http_status", 0) == 400) ++s.hint_counts.http_400;
    ++s.non_acks[outcome == "acked" || outcome.empty() ? "other" : outcome];
    if (const int status = e.value("http_status", 0); status != 0 && outcome == "http_status") {
      ++s.http_statuses[std::to_string(status)];
    }
    if (s.non_ack_examples.size() < 5) {
      s.non_ack_examples.push_back(
          e.value("out_trade_no", "") + " " + kind + " " + std::to_string(e.value("attempt", 0)) +
          ": " + outcome + (e.value("error", "").empty() ? "" : " (" + e.value("error", "") + ")"));
    }
    ++s.SecondAt(end_us).non_acks;
    if (o.measured) ++s.steps[static_cast<size_t>(o.step)].non_acks;
  }
  if (kind != "attempt") return;
  const std::string state = e.value("state", "");
  if (acked) {
    if (o.ack_us != 0) {
      ++s.double_acks;
      return;
    }
    o.ack_us = end_us;
    ++s.acked;
    ++s.SecondAt(end_us).acked;
    if (o.measured) {
      const int64_t lat = end_us - o.scheduled_us;
      s.from_schedule.Record(lat);
      s.send_to_ack.Record(latency);
      s.SecondAt(end_us).latency.Record(lat);
      ++s.measured_acked;
      s.measured_ack_us.push_back(end_us);
      auto& st = s.steps[static_cast<size_t>(o.step)];
      ++st.acked;
      st.latency.Record(lat);
    }
    // The step whose time the ack fell in: a ramp's acked/s per step is
    // what the handler took while offered that rate.
    const double at_s = static_cast<double>(end_us - s.t0_us) / 1e6;
    size_t step = 0;
    while (step + 1 < s.step_starts.size() && at_s >= s.step_starts[step + 1]) ++step;
    if (step < s.steps.size() && at_s >= s.warmup_s && at_s < s.end_s) {
      ++s.steps[step].acked_in_window;
    }
  }
  if (!state.empty()) o.state = state;
  if (IsFinal(o.state)) s.changed.notify_all();
}

std::unique_ptr<httplib::Client> Client(const std::string& host, int port, const std::string& token,
                                        int read_timeout_s = 10) {
  auto c = std::make_unique<httplib::Client>(host, port);
  c->set_tcp_nodelay(true);
  c->set_keep_alive(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(read_timeout_s, 0);
  if (!token.empty()) c->set_bearer_token_auth(token);
  return c;
}

std::string Describe(const httplib::Result& res) {
  return res ? "HTTP " + std::to_string(res->status) + " " + res->body.substr(0, 200)
             : httplib::to_string(res.error());
}

std::optional<Json> GetJson(httplib::Client& c, const std::string& path, std::string* error) {
  auto res = c.Get(path);
  if (!res || res->status != 200) {
    if (error) *error = path + ": " + Describe(res);
    return std::nullopt;
  }
  Json j = Json::parse(res->body, nullptr, false);
  if (j.is_discarded()) {
    if (error) *error = path + ": not JSON";
    return std::nullopt;
  }
  return j;
}

std::string DefaultName() { return UtcNow("merchant-%Y%m%d-%H%M%S"); }

// The machine's busy and total CPU time so far (/proc/stat's first line, in
// ticks); zeros if unreadable.
std::pair<int64_t, int64_t> MachineCpuTicks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  int64_t v = 0, total = 0, idle = 0;
  in >> cpu;
  for (int i = 0; i < 8 && in >> v; ++i) {
    total += v;
    if (i == 3 || i == 4) idle += v;  // idle, iowait
  }
  return {total - idle, total};
}

// The sandbox's CPU seconds and queue depth, from /_sandbox/stats.
struct StatsSample {
  bool ok = false;
  double cpu_s = 0;
  int64_t held = 0;
  int cores = 0;
  Json api;
};

StatsSample ReadStats(httplib::Client& c) {
  StatsSample s;
  std::optional<Json> j = GetJson(c, "/_sandbox/stats", nullptr);
  if (!j) return s;
  s.ok = true;
  s.cpu_s = j->value("cpu_s", 0.0);
  s.cores = j->value("cores", 0);
  if ((*j).contains("gauges")) s.held = (*j)["gauges"].value("notify_held", int64_t{0});
  if ((*j).contains("api")) s.api = (*j)["api"];
  return s;
}

// The orderquery call-backs between two stats snapshots.
Json CallbackJson(const StatsSample& before, const StatsSample& after, int64_t acked) {
  auto method = [](const StatsSample& s) {
    return s.api.contains("orderquery") ? s.api["orderquery"] : Json::object();
  };
  const Json b = method(before), a = method(after);
  // FromJson takes nlohmann::json; basic_json converts between its flavours.
  LatencyHistogram h =
      LatencyHistogram::FromJson(nlohmann::json(a.value("latency", Json::object())));
  h.Subtract(LatencyHistogram::FromJson(nlohmann::json(b.value("latency", Json::object()))));
  const int64_t count = a.value("count", int64_t{0}) - b.value("count", int64_t{0});
  return Json{{"count", count},
              {"per_notification",
               acked > 0 ? static_cast<double>(count) / static_cast<double>(acked) : 0.0},
              {"errors", a.value("errors", int64_t{0}) - b.value("errors", int64_t{0})},
              {"latency_ms",
               {{"p50", Ms(h.ValueAt(0.5))}, {"p99", Ms(h.ValueAt(0.99))}, {"max", Ms(h.max())}}}};
}

}  // namespace

bool ParseRateSpec(const std::string& text, double* from, double* to) {
  const size_t dots = text.find("..");
  char* end = nullptr;
  if (dots == std::string::npos) {
    *from = std::strtod(text.c_str(), &end);
    *to = 0;
    return !text.empty() && *end == '\0';
  }
  const std::string a = text.substr(0, dots), b = text.substr(dots + 2);
  if (b.empty() || b.front() == '.') return false;  // "100...200"
  *from = std::strtod(a.c_str(), &end);
  if (a.empty() || *end != '\0') return false;
  *to = std::strtod(b.c_str(), &end);
  return !b.empty() && *end == '\0';
}

bool DeliveredTwice(const MerchantOptions& o, int64_t k) {
  if (o.duplicates <= 0) return false;
  const uint64_t draw = SplitMix64(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(k));
  // The top 53 bits as a double in [0, 1).
  return static_cast<double>(draw >> 11) * 0x1.0p-53 < o.duplicates;
}

bool ParseErrorBudget(const std::string& text, double* value, bool* percent) {
  if (text.empty()) return false;
  *percent = text.back() == '%';
  const std::string num = *percent ? text.substr(0, text.size() - 1) : text;
  char* end = nullptr;
  *value = std::strtod(num.c_str(), &end);
  if (num.empty() || *end != '\0' || *value < 0) return false;
  return !*percent || *value <= 100;
}

std::string ValidateMerchantOptions(const MerchantOptions& o) {
  if (o.notify_url.rfind("http://", 0) != 0 && o.notify_url.rfind("https://", 0) != 0) {
    return "--notify-url: expected an http:// or https:// URL of your notify handler, got \"" +
           o.notify_url + "\"";
  }
  if (o.merchantno.empty()) return "--merchantno (or VKSPAY_MERCHANTNO): must not be empty";
  if (o.key.empty()) return "--key (or VKSPAY_KEY): must not be empty";
  if (FenOf(o.total_fee) <= 0) {
    return "--total-fee: expected yuan with at most 2 decimals, above 0 (\"0.01\"), got \"" +
           o.total_fee + "\"";
  }
  const bool open = o.rate > 0, closed = o.concurrency > 0;
  if (open == closed) {
    return "give exactly one of --rate N (open model), --rate A..B with --step and "
           "--step-duration (ramp) or --concurrency N (closed model)";
  }
  if (open && (o.rate > 100000 || (o.rate_to > 0 && o.rate_to > 100000))) {
    return "--rate: at most 100000 per second, got " + Fixed(std::max(o.rate, o.rate_to), 0);
  }
  if (closed && o.concurrency > 1024) {
    return "--concurrency: at most 1024, got " + std::to_string(o.concurrency);
  }
  const bool ramp = o.rate_to > 0;
  if (ramp) {
    if (o.rate_to < o.rate) return "--rate A..B: B must not be below A";
    if (o.step <= 0) return "--rate A..B needs --step S (rate added per step, > 0)";
    if (o.step_duration_s <= 0) return "--rate A..B needs --step-duration D (seconds, > 0)";
    if (o.duration_s > 0 || o.count > 0) {
      return "--rate A..B: the ramp's length is its steps x --step-duration; drop --duration "
             "and --count";
    }
    const double steps = std::floor((o.rate_to - o.rate) / o.step + 1e-9) + 1;
    if (steps * o.step_duration_s > 3600) {
      return "the ramp would last " + Fixed(steps * o.step_duration_s, 0) +
             " s; at most 3600 (fewer steps or a shorter --step-duration)";
    }
    // The mean step rate times the ramp's length.
    const double payments = (o.rate + (steps - 1) * o.step / 2) * steps * o.step_duration_s;
    if (payments > static_cast<double>(kMaxPayments)) {
      return "the ramp would make " + Fixed(payments, 0) + " payments; at most " +
             std::to_string(kMaxPayments) + " (a lower --rate A..B or a shorter --step-duration)";
    }
  } else {
    if ((o.duration_s > 0) == (o.count > 0)) return "give one of --duration SECONDS and --count N";
    if (o.duration_s > 3600) return "--duration: at most 3600 s, got " + Fixed(o.duration_s, 0);
    if (o.count > kMaxPayments) {
      return "--count: at most " + std::to_string(kMaxPayments) + " payments, got " +
             std::to_string(o.count);
    }
    if (open && o.duration_s > 0 && o.rate * o.duration_s > static_cast<double>(kMaxPayments)) {
      return "--rate x --duration: at most " + std::to_string(kMaxPayments) +
             " payments, asked for " + Fixed(o.rate * o.duration_s, 0);
    }
    if (o.step > 0 || o.step_duration_s > 0) return "--step and --step-duration need --rate A..B";
  }
  const double total_s =
      ramp ? (std::floor((o.rate_to - o.rate) / o.step + 1e-9) + 1) * o.step_duration_s
           : (o.duration_s > 0 ? o.duration_s : (open ? static_cast<double>(o.count) / o.rate : 0));
  if (o.warmup_s < 0 || (total_s > 0 && o.warmup_s >= total_s)) {
    return "--warmup: must be at least 0 and shorter than the run (" + Fixed(total_s, 1) +
           " s), got " + Fixed(o.warmup_s, 1);
  }
  if (o.drain_s < 0 || o.drain_s > 600) return "--drain: between 0 and 600 s";
  if (o.duplicates < 0 || o.duplicates > 1) {
    return "--duplicates: a fraction between 0 and 1, got " + Fixed(o.duplicates, 3);
  }
  if (o.pay_threads < 1 || o.pay_threads > 512) return "--pay-threads: between 1 and 512";
  if (o.ceiling_orders < 0 || o.ceiling_orders > 100000) {
    return "--ceiling-orders: between 0 and 100000";
  }
  double budget = 0;
  bool percent = false;
  if (!o.expect_errors.empty() && !ParseErrorBudget(o.expect_errors, &budget, &percent)) {
    return "--expect-errors: expected a count (\"10\") or a percentage of attempts (\"0.5%\"), "
           "got \"" +
           o.expect_errors + "\"";
  }
  if (o.expect_rate && *o.expect_rate <= 0) return "--expect-rate: must be above 0";
  if (o.expect_p99_ms && *o.expect_p99_ms <= 0) return "--expect-p99: must be above 0 (ms)";
  std::string host;
  int port = 0;
  if (!o.base_url.empty() && !SplitBaseUrl(o.base_url, &host, &port)) {
    return "--base-url: expected http://HOST:PORT of a running sandbox, got \"" + o.base_url + "\"";
  }
  if (!o.base_url.empty() && host != "127.0.0.1" && host != "localhost") {
    return "--base-url: the bench loads only a sandbox on 127.0.0.1, got \"" + host + "\"";
  }
  if (o.base_url.empty() && o.sandbox_listen.rfind("127.0.0.1:", 0) != 0) {
    return "--sandbox-listen: expected 127.0.0.1:PORT (0: any free port), got \"" +
           o.sandbox_listen + "\"";
  }
  if (!o.state_url.empty() && o.state_url.rfind("http://", 0) != 0) {
    return "--state-url: expected an http:// URL, got \"" + o.state_url + "\"";
  }
  return "";
}

std::vector<RateStep> PlanSteps(const MerchantOptions& o) {
  std::vector<RateStep> steps;
  if (o.rate <= 0) return steps;
  if (o.rate_to > 0) {
    int64_t first = 0;
    double start = 0;
    for (double r = o.rate; r <= o.rate_to + 1e-9; r += o.step) {
      RateStep s;
      s.rate = r;
      s.start_s = start;
      s.duration_s = o.step_duration_s;
      s.first = first;
      s.count = static_cast<int64_t>(std::llround(r * o.step_duration_s));
      first += s.count;
      start += o.step_duration_s;
      steps.push_back(s);
    }
    return steps;
  }
  RateStep s;
  s.rate = o.rate;
  s.duration_s = o.duration_s > 0 ? o.duration_s : static_cast<double>(o.count) / o.rate;
  s.count = o.count > 0 ? o.count : static_cast<int64_t>(std::llround(o.rate * o.duration_s));
  steps.push_back(s);
  return steps;
}

double ScheduledAt(const std::vector<RateStep>& steps, int64_t k) {
  for (const RateStep& s : steps) {
    if (k < s.first + s.count) return s.start_s + static_cast<double>(k - s.first) / s.rate;
  }
  return steps.empty() ? 0 : steps.back().start_s + steps.back().duration_s;
}

Json BalanceLedger(const LedgerCounts& c) {
  Json reasons = Json::array();
  const int64_t sum = c.acked + c.failed + c.blocked + c.pending + c.dropped;
  if (sum != c.scheduled) {
    reasons.push_back("scheduled " + std::to_string(c.scheduled) +
                      " != acked + failed + blocked + "
                      "pending + dropped = " +
                      std::to_string(sum));
  }
  if (c.feed_missed > 0) {
    reasons.push_back(std::to_string(c.feed_missed) +
                      " delivery event(s) left the sandbox's feed before the bench read them");
  }
  if (c.double_acks > 0) {
    reasons.push_back(std::to_string(c.double_acks) +
                      " order(s) acked by more than one attempt of the same notification");
  }
  if (c.unknown_acks > 0) {
    reasons.push_back(std::to_string(c.unknown_acks) + " ack(s) of orders the bench never paid");
  }
  if (c.have_sandbox) {
    auto check = [&](const char* what, int64_t ours, int64_t theirs) {
      if (ours != theirs) {
        reasons.push_back(std::string(what) + ": the bench counted " + std::to_string(ours) +
                          ", the sandbox's notifications table says " + std::to_string(theirs));
      }
    };
    check("acked", c.acked, c.sandbox_acked);
    check("failed", c.failed, c.sandbox_failed);
    check("blocked", c.blocked, c.sandbox_blocked);
    check("pending", c.pending, c.sandbox_pending);
  }
  return Json{{"scheduled", c.scheduled},    {"acked", c.acked},       {"failed", c.failed},
              {"pending", c.pending},        {"blocked", c.blocked},   {"dropped", c.dropped},
              {"balanced", reasons.empty()}, {"void_reasons", reasons}};
}

std::string NonAckHint(const NonAckCounts& c, const MerchantOptions& o) {
  if (c.first_attempts == 0 || c.non_acked == 0) return "";
  if (c.first_http_400 == c.first_attempts && c.http_400 == c.non_acked) {
    return "every notification was refused with HTTP 400 from its first attempt: does the "
           "handler use this merchant's key (--merchantno " +
           o.merchantno + ", --key)?";
  }
  if (c.first_connect_errors == c.first_attempts && c.connect_errors == c.non_acked) {
    return "no attempt could connect: is anything listening on " + o.notify_url + "?";
  }
  return "";
}

Json DecideVerdict(const Json& ledger, const Json& thresholds, const Json& exactly_once,
                   double acked_per_s, double p99_ms, const std::string& hint) {
  if (!ledger.value("balanced", false)) {
    return Json{{"exit_code", kExitVoid},
                {"text", "VOID: the ledger does not balance, so the figures cannot be trusted"},
                {"hint", ""}};
  }
  std::vector<std::string> reasons;
  std::string missed;
  for (const Json& t : thresholds) {
    if (!t.value("passed", false)) missed += (missed.empty() ? "" : ", ") + t.value("flag", "");
  }
  if (!missed.empty()) reasons.push_back("a threshold was missed (" + missed + ")");
  const int64_t violations =
      exactly_once.is_object() ? exactly_once.value("violations", int64_t{0}) : 0;
  if (violations > 0) {
    reasons.push_back(std::to_string(violations) + " order(s) not processed exactly once");
  }
  const std::string unacked = UnackedText(ledger);
  if (!unacked.empty()) reasons.push_back(unacked);
  if (reasons.empty()) {
    return Json{
        {"exit_code", 0},
        {"text", "PASSED: " + Fixed(acked_per_s, 1) + " acked/s, p99 from schedule " +
                     Fixed(p99_ms, 1) + " ms" +
                     (thresholds.empty() ? " (no thresholds set)" : ", every threshold met") +
                     ", every notification acked"},
        {"hint", ""}};
  }
  std::string text = "FAILED: ";
  for (size_t i = 0; i < reasons.size(); ++i) text += (i ? "; " : "") + reasons[i];
  return Json{{"exit_code", kExitFailed}, {"text", text}, {"hint", unacked.empty() ? "" : hint}};
}

int RunMerchant(const CommonOptions& common, const MerchantOptions& o, const std::string& command) {
  auto say = [&](const std::string& line) {
    std::cerr << "vkspay-bench merchant: " << line << "\n";
  };

  // 1. The sandbox: started here, or the running one named.
  std::unique_ptr<TempDir> tmp;
  SandboxProcess sandbox;
  std::string host = "127.0.0.1";
  int port = 0;
  const bool started = o.base_url.empty();
  if (started) {
    tmp = std::make_unique<TempDir>("vkspay-bench-merchant");
    if (common.keep_temp) tmp->keep();
    Json merchants = Json::array();
    merchants.push_back(
        {{"merchantno", o.merchantno}, {"key", o.key}, {"notify_url", o.notify_url}});
    // The demo merchant too, for the sandbox's own ceiling (the bench's
    // receiver checks the demo key).
    if (o.merchantno != kMerchantNo) {
      merchants.push_back({{"merchantno", kMerchantNo}, {"key", kMerchantKey}});
    }
    const std::string config = tmp->path() + "/config.json";
    std::ofstream(config) << Json{{"merchants", merchants}}.dump(2);
    std::vector<std::string> args = {"--config",       config,         "--notify-profile",
                                     o.notify_profile, "--time-scale", Fixed(o.time_scale, 9)};
    args.insert(args.end(), common.sandbox_args.begin(), common.sandbox_args.end());
    const std::string err = sandbox.Start(common.sandbox_bin, tmp->path() + "/sandbox.db",
                                          tmp->path(), args, o.sandbox_listen);
    if (!err.empty()) {
      say("cannot start the sandbox on " + o.sandbox_listen + ": " + err +
          (o.sandbox_listen != "127.0.0.1:0"
               ? " (is the port in use? --base-url uses a running sandbox)"
               : ""));
      return 1;
    }
    port = sandbox.port();
  } else {
    SplitBaseUrl(o.base_url, &host, &port);
  }
  const std::string base = "http://" + host + ":" + std::to_string(port);
  say(std::string(started ? "started a sandbox at " : "using the sandbox at ") + base +
      " (the handler's orderquery call-backs go to " + base + "/api)");
  auto control = Client(host, port, o.control_token);
  std::string err;
  std::optional<Json> clock = GetJson(*control, "/_sandbox/clock", &err);
  StatsSample stats0 = ReadStats(*control);
  if (!clock || !stats0.ok) {
    say("the sandbox's control API does not answer: " +
        (err.empty() ? "/_sandbox/stats failed (a sandbox too old for the delivery feed?)" : err));
    return 1;
  }
  if (!started) {
    say("a running sandbox delivers on its own retry schedule (" +
        clock->value("notify_profile", std::string("?")) + ", time scale " +
        Fixed(clock->value("time_scale", 1.0), 4) +
        "); --notify-profile and --time-scale apply "
        "only to a sandbox the bench starts");
  }

  // 2. The plan.
  Shared s;
  const bool closed = o.concurrency > 0;
  const std::vector<RateStep> steps = PlanSteps(o);
  int64_t total = 0;
  for (const RateStep& st : steps) total += st.count;
  if (closed) total = o.count > 0 ? o.count : kMaxPayments;
  const double run_s = closed ? o.duration_s : steps.back().start_s + steps.back().duration_s;
  s.orders.resize(static_cast<size_t>(std::min(total, kInitialOrders)));
  s.steps.resize(std::max<size_t>(steps.size(), 1));
  for (const RateStep& st : steps) s.step_starts.push_back(st.start_s);
  s.warmup_s = o.warmup_s;
  s.end_s = closed ? 1e18 : steps.back().start_s + steps.back().duration_s;
  char prefix_buf[32];
  std::snprintf(prefix_buf, sizeof prefix_buf, "MB%lx%x",
                static_cast<unsigned long>(std::time(nullptr)) & 0xffffffUL,
                static_cast<unsigned>(getpid()) & 0xfffU);
  const std::string prefix = prefix_buf;
  const int64_t fee = FenOf(o.total_fee);

  // 3. The feed reader: every delivery, as it ends.
  std::atomic<bool> stop_feed{false};
  std::optional<Json> first_page =
      GetJson(*control, "/_sandbox/deliveries?after=-1&merchantno=" + o.merchantno, &err);
  if (!first_page) {
    say("cannot read the delivery feed: " + err);
    return 1;
  }
  std::thread feed([&, next = first_page->value("next", int64_t{0})]() mutable {
    auto c = Client(host, port, o.control_token, 30);
    int failures = 0;
    while (true) {
      const bool last_round = stop_feed.load();
      auto res = c->Get("/_sandbox/deliveries?after=" + std::to_string(next) +
                        "&limit=10000&wait_ms=" + (last_round ? "0" : "200") +
                        "&merchantno=" + o.merchantno);
      Json page = res && res->status == 200 ? Json::parse(res->body, nullptr, false) : Json();
      if (!page.is_object()) {
        if (++failures >= 20) {
          std::lock_guard<std::mutex> lock(s.mu);
          s.fatal = "the delivery feed stopped answering: " + Describe(res);
          s.changed.notify_all();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      failures = 0;
      next = page.value("next", next);
      const Json& events = page["events"];
      {
        std::lock_guard<std::mutex> lock(s.mu);
        s.feed_missed += page.value("missed", int64_t{0});
        for (const Json& e : events) Apply(s, prefix, e);
      }
      // The final round reads until the feed has nothing more.
      if (last_round && events.empty()) return;
    }
  });

  // 4. The sampler: the sandbox's CPU and queue once a second; progress.
  std::atomic<bool> stop_sampler{false};
  const bool tty = isatty(STDERR_FILENO) != 0;
  const int64_t anchor_steady = NowNs() + 300'000'000;  // the first payment, 0.3 s from now
  const int64_t anchor_wall = WallMicros() + 300'000;
  s.t0_us = anchor_wall;
  std::vector<std::pair<double, double>> cpu_samples;  // (t, percent of one core)
  std::vector<int64_t> depth_samples;
  std::vector<std::pair<double, double>> machine_samples;  // (t, percent of all cores)
  std::thread sampler([&] {
    auto c = Client(host, port, o.control_token);
    StatsSample prev = ReadStats(*c);
    int64_t prev_ns = NowNs();
    std::pair<int64_t, int64_t> prev_ticks = MachineCpuTicks();
    int64_t last_line = 0;
    while (!stop_sampler.load()) {
      for (int i = 0; i < 10 && !stop_sampler.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      const StatsSample now = ReadStats(*c);
      const int64_t now_ns = NowNs();
      if (!now.ok) continue;
      const double cpu =
          (now.cpu_s - prev.cpu_s) * 100.0 / (static_cast<double>(now_ns - prev_ns) / 1e9);
      const std::pair<int64_t, int64_t> ticks = MachineCpuTicks();
      const double machine = ticks.second > prev_ticks.second
                                 ? 100.0 * static_cast<double>(ticks.first - prev_ticks.first) /
                                       static_cast<double>(ticks.second - prev_ticks.second)
                                 : -1;
      prev = now;
      prev_ns = now_ns;
      prev_ticks = ticks;
      std::string line;
      {
        std::lock_guard<std::mutex> lock(s.mu);
        cpu_samples.emplace_back(static_cast<double>(now_ns - anchor_steady) / 1e9, cpu);
        depth_samples.push_back(now.held);
        if (machine >= 0) {
          machine_samples.emplace_back(static_cast<double>(now_ns - anchor_steady) / 1e9, machine);
        }
        if (now_ns > anchor_steady) {
          Shared::Second& sec = s.SecondAt(WallMicros() - 1);
          sec.cpu_percent = cpu;
          sec.machine_cpu_percent = machine;
          sec.queue_depth = now.held;
        }
        int64_t scheduled = 0;
        for (const auto& sec2 : s.seconds) scheduled += sec2.scheduled;
        const double t = static_cast<double>(now_ns - anchor_steady) / 1e9;
        const size_t cur = t > 1 ? static_cast<size_t>(t) - 1 : 0;
        const int64_t acked_last = cur < s.seconds.size() ? s.seconds[cur].acked : 0;
        line = "t=" + Fixed(std::max(0.0, t), 0) + "s scheduled " + std::to_string(scheduled) +
               " acked " + std::to_string(s.acked) + " (" + std::to_string(acked_last) +
               "/s) p99 " + Fixed(Ms(s.from_schedule.ValueAt(0.99)), 1) + " ms non-acks " +
               std::to_string(s.non_acked_attempts) + " queue " + std::to_string(now.held) +
               " sandbox CPU " + Fixed(cpu, 0) + "% machine " + Fixed(machine, 0) + "%";
      }
      if (o.quiet) continue;
      if (tty) {
        std::cerr << "\r\033[K" << line << std::flush;
      } else if (now_ns - last_line >= 5'000'000'000LL) {
        std::cerr << "vkspay-bench merchant: " << line << "\n";
        last_line = now_ns;
      }
    }
    if (tty && !o.quiet) std::cerr << "\n";
  });

  // 5. The load.
  std::atomic<int64_t> next_slot{0};
  std::atomic<int64_t> issued{0};
  const std::string notify_url = o.notify_url;
  // Creates order k (with its duplicate fault) and pays it at
  // anchor_steady + at_ns (closed: now); true once paid.
  auto create_and_pay = [&](httplib::Client& c, int64_t k, int64_t at_ns, size_t step) {
    const std::string no = prefix + "-" + std::to_string(k);
    const bool is_dup = DeliveredTwice(o, k);
    httplib::Headers headers;
    if (is_dup) headers.emplace("X-Sandbox-Fault", "notify=dup");
    auto res = c.Post("/api", headers, SignedWebPayFor(o.merchantno, o.key, no, notify_url, fee),
                      kJsonType);
    const bool created = res && res->status == 200 &&
                         res->body.find("\"return_code\":\"SUCCESS\"") != std::string::npos;
    if (at_ns > 0) {
      const int64_t wait = anchor_steady + at_ns - NowNs();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
    const int64_t scheduled_us = at_ns > 0 ? anchor_wall + at_ns / 1000 : WallMicros();
    const bool measured = static_cast<double>(scheduled_us - anchor_wall) / 1e6 >= o.warmup_s;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (static_cast<size_t>(k) >= s.orders.size()) {
        s.orders.resize(static_cast<size_t>(std::min(total, std::max(k + 1, 2 * k))));
      }
      OrderRec& r = s.orders[static_cast<size_t>(k)];
      r.scheduled_us = scheduled_us;
      r.duplicate = is_dup;
      r.measured = measured;
      r.step = static_cast<int>(step);
      ++s.SecondAt(scheduled_us).scheduled;
      if (measured) {
        ++s.steps[step].scheduled;
        if (s.first_measured_us == 0 || scheduled_us < s.first_measured_us) {
          s.first_measured_us = scheduled_us;
        }
      }
      if (!created) {
        r.dropped = true;
        if (s.non_ack_examples.size() < 5) {
          s.non_ack_examples.push_back("webpay " + no + " refused: " + Describe(res));
        }
        return false;
      }
      // Marked paid before the request: the notification may be delivered
      // before the answer to the payment arrives.
      r.paid_us = WallMicros();
    }
    Json pay = {{"merchantno", o.merchantno}, {"out_trade_no", no}, {"channel", "wxpay"}};
    auto paid = c.Post("/_sandbox/pay", pay.dump(), "application/json");
    std::lock_guard<std::mutex> lock(s.mu);
    OrderRec& r = s.orders[static_cast<size_t>(k)];
    if (!paid || paid->status != 200) {
      r.dropped = true;
      r.paid_us = 0;
      if (s.non_ack_examples.size() < 5) {
        s.non_ack_examples.push_back("pay " + no + " refused: " + Describe(paid));
      }
      return false;
    }
    if (measured) {
      const int64_t lag = r.paid_us - r.scheduled_us;
      s.pay_lag.Record(std::max<int64_t>(0, lag));
      if (lag > kLateUs) ++s.late_payments;
    }
    return true;
  };

  say(closed
          ? "closed model: " + std::to_string(o.concurrency) +
                " buyers, each waiting for its "
                "notification's ack, for " +
                (o.count > 0 ? std::to_string(o.count) + " orders" : Fixed(o.duration_s, 0) + " s")
      : steps.size() > 1
          ? "ramp: " + Fixed(o.rate, 0) + ".." + Fixed(o.rate_to, 0) + "/s in " +
                std::to_string(steps.size()) + " steps of " + Fixed(o.step_duration_s, 0) + " s (" +
                std::to_string(total) + " payments)"
          : "open model: " + Fixed(o.rate, 1) + " payments/s for " + Fixed(steps[0].duration_s, 1) +
                " s (" + std::to_string(total) + " payments)");
  const int64_t load_end_ns = anchor_steady + static_cast<int64_t>(run_s * 1e9);
  if (closed) {
    RunThreads(o.concurrency, [&](int) {
      auto c = Client(host, port, o.control_token);
      const int64_t wait = anchor_steady - NowNs();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      while (true) {
        if (o.duration_s > 0 && NowNs() >= load_end_ns) return;
        const int64_t k = next_slot.fetch_add(1);
        if (k >= total) return;
        ++issued;
        if (!create_and_pay(*c, k, 0, 0)) continue;
        // The buyer waits for this order's notification to end (or for
        // the drain limit: a handler that never acks must not hang us).
        std::unique_lock<std::mutex> lock(s.mu);
        s.changed.wait_for(lock, std::chrono::duration<double>(std::max(o.drain_s, 1.0)), [&] {
          return IsFinal(s.orders[static_cast<size_t>(k)].state) || !s.fatal.empty();
        });
        if (!s.fatal.empty()) return;
      }
    });
  } else {
    RunThreads(o.pay_threads, [&](int) {
      auto c = Client(host, port, o.control_token);
      for (int64_t k; (k = next_slot.fetch_add(1)) < total;) {
        const double at_s = ScheduledAt(steps, k);
        size_t step = 0;
        while (step + 1 < steps.size() && k >= steps[step + 1].first) ++step;
        // Create no earlier than a second ahead of the payment.
        const int64_t at_ns = static_cast<int64_t>(at_s * 1e9);
        const int64_t early = anchor_steady + at_ns - 1'000'000'000 - NowNs();
        if (early > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(early));
        ++issued;
        create_and_pay(*c, k, std::max<int64_t>(at_ns, 1), step);
      }
    });
  }
  const int64_t load_done_ns = NowNs();
  if (closed && o.count == 0 && issued.load() >= kMaxPayments) {
    say("the buyers stopped at " + std::to_string(kMaxPayments) +
        " payments (the most one run makes), before --duration ended");
  }

  // 6. The drain: until every paid order's notification has ended.
  const int64_t scheduled_count = issued.load();
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.changed.wait_for(lock, std::chrono::duration<double>(o.drain_s), [&] {
      if (!s.fatal.empty()) return true;
      for (int64_t k = 0; k < scheduled_count; ++k) {
        const OrderRec& r = s.orders[static_cast<size_t>(k)];
        if (!r.dropped && !IsFinal(r.state)) return false;
      }
      return true;
    });
  }
  // Duplicates come within a second of their attempt.
  if (o.duplicates > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const double drain_waited_s = static_cast<double>(NowNs() - load_done_ns) / 1e9;
  stop_feed = true;
  feed.join();
  stop_sampler = true;
  sampler.join();
  const StatsSample stats1 = ReadStats(*control);

  // 7. The ledger.
  LedgerCounts lc;
  lc.scheduled = scheduled_count;
  for (int64_t k = 0; k < scheduled_count; ++k) {
    const OrderRec& r = s.orders[static_cast<size_t>(k)];
    if (r.dropped) {
      ++lc.dropped;
    } else if (r.state == "acked") {
      ++lc.acked;
    } else if (r.state == "failed") {
      ++lc.failed;
    } else if (r.state == "blocked") {
      ++lc.blocked;
    } else {
      ++lc.pending;
    }
  }
  lc.feed_missed = s.feed_missed;
  lc.double_acks = s.double_acks;
  lc.unknown_acks = s.unknown_acks;
  if (started) {
    // The sandbox holds this run's notifications only (the ceiling comes
    // after): its counts must be the bench's.
    std::optional<Json> counts = GetJson(*control, "/_sandbox/notifications?limit=1", &err);
    if (counts && counts->contains("counts")) {
      const Json& c = (*counts)["counts"];
      lc.have_sandbox = true;
      lc.sandbox_acked = c.value("acked", int64_t{0});
      lc.sandbox_failed = c.value("failed", int64_t{0});
      lc.sandbox_blocked = c.value("blocked", int64_t{0});
      lc.sandbox_pending = c.value("pending", int64_t{0});
    }
  }
  Json ledger = BalanceLedger(lc);
  if (!s.fatal.empty()) {
    ledger["balanced"] = false;
    ledger["void_reasons"].push_back(s.fatal);
  }

  // 8. Exactly once, as the handler saw it.
  Json exactly_once;  // null unless --state-url
  if (!o.state_url.empty()) {
    say("asking " + o.state_url + " about " + std::to_string(scheduled_count) + " orders");
    std::string shost;
    int sport = 0;
    std::string spath = "/";
    {
      std::string rest = o.state_url.substr(7);
      const size_t slash = rest.find('/');
      if (slash != std::string::npos) {
        spath = rest.substr(slash);
        rest.resize(slash);
      }
      SplitBaseUrl("http://" + rest, &shost, &sport);
    }
    std::atomic<int64_t> next{0}, checked{0}, violations{0};
    std::mutex ex_mu;
    Json examples = Json::array();
    RunThreads(8, [&](int) {
      auto c = Client(shost, sport, "");
      for (int64_t k; (k = next.fetch_add(1)) < scheduled_count;) {
        const OrderRec& r = s.orders[static_cast<size_t>(k)];
        if (r.dropped) continue;
        const std::string no = prefix + "-" + std::to_string(k);
        auto res = c->Get(spath + (spath.find('?') == std::string::npos ? "?" : "&") +
                          "out_trade_no=" + no);
        ++checked;
        std::string problem;
        if (!res || res->status != 200) {
          problem = "no answer: " + Describe(res);
        } else {
          Json j = Json::parse(res->body, nullptr, false);
          const int64_t processed =
              j.is_object() && j.contains("processed") && j["processed"].is_number_integer()
                  ? j["processed"].get<int64_t>()
                  : -1;
          if (processed < 0) {
            problem = "answer without an integer \"processed\": " + res->body.substr(0, 120);
          } else if (r.state == "acked" ? processed != 1 : processed > 1) {
            problem = "processed " + std::to_string(processed) + " time(s)" +
                      (r.state == "acked" ? " (acked)" : " (not acked: " + r.state + ")") +
                      (r.duplicate ? ", delivered twice on purpose" : "");
          }
        }
        if (!problem.empty()) {
          ++violations;
          std::lock_guard<std::mutex> lock(ex_mu);
          if (examples.size() < 5) examples.push_back(no + ": " + problem);
        }
      }
    });
    exactly_once = {
        {"checked", checked.load()}, {"violations", violations.load()}, {"examples", examples}};
  }

  // 9. The sandbox's own ceiling, against the bench's receiver.
  Json ceiling;
  if (o.ceiling_orders > 0 && host == "127.0.0.1") {
    say("measuring the sandbox's own ceiling (" + std::to_string(o.ceiling_orders) +
        " payments delivered to the bench's receiver)");
    Receiver receiver(32, o.ceiling_orders);
    RepResult r = MeasureNotifyRep(port, started ? sandbox.pid() : 0, receiver, NextNotifyTag(),
                                   o.ceiling_orders, 8, 0, 0);
    ceiling = {{"orders", o.ceiling_orders}, {"rate_per_s", r.throughput}, {"p99_ms", r.p99_ms}};
    if (r.errors > 0) {
      ceiling["error"] =
          std::to_string(r.errors) + " error(s)" +
          (r.extra.contains("first_errors") ? ": " + r.extra["first_errors"][0].get<std::string>()
                                            : "");
    }
  }

  // 10. The figures.
  // Acked per second over the measured part of the load: from the first
  // measured payment to the end of the schedule (open) or to when the
  // buyers stopped (closed). Acks during the drain are left out, so an
  // overloaded handler shows its capacity (not the offered rate) and a
  // straggler cannot stretch the window.
  const int64_t load_end_us = closed ? anchor_wall + (load_done_ns - anchor_steady) / 1000
                                     : anchor_wall + static_cast<int64_t>(run_s * 1e6);
  const double measured_s = load_end_us > s.first_measured_us && s.first_measured_us > 0
                                ? static_cast<double>(load_end_us - s.first_measured_us) / 1e6
                                : 0;
  const int64_t acked_in_window =
      std::count_if(s.measured_ack_us.begin(), s.measured_ack_us.end(),
                    [load_end_us](int64_t t) { return t <= load_end_us; });
  const double acked_per_s = measured_s > 0 ? static_cast<double>(acked_in_window) / measured_s : 0;
  const double error_rate =
      s.attempts + s.dup_sent > 0
          ? static_cast<double>(s.non_acked_attempts) / static_cast<double>(s.attempts + s.dup_sent)
          : 0;
  Json results;
  int64_t measured_count = 0;
  for (const auto& st : s.steps) measured_count += st.scheduled;
  results["scheduled"] = scheduled_count;
  results["measured"] = measured_count;
  results["acked"] = s.acked;
  results["acked_per_s"] = acked_per_s;
  results["latency_ms"] = {{"from_schedule", LatencyJson(s.from_schedule)},
                           {"send_to_ack", LatencyJson(s.send_to_ack)}};
  results["attempts"] = s.attempts;
  results["retries"] = s.retries;
  results["duplicates_sent"] = s.dup_sent;
  results["duplicates_acked"] = s.dup_acked;
  results["non_acks"] = Json::object();
  for (const char* kind : {"connect_error", "timeout", "http_status", "wrong_ack_body", "other"}) {
    results["non_acks"][kind] = s.non_acks.count(kind) ? s.non_acks.at(kind) : 0;
  }
  for (const auto& [kind, n] : s.non_acks) {
    if (!results["non_acks"].contains(kind))
      results["non_acks"]["other"] = results["non_acks"]["other"].get<int64_t>() + n;
  }
  results["http_statuses"] = Json::object();
  for (const auto& [code, n] : s.http_statuses) results["http_statuses"][code] = n;
  results["non_ack_examples"] = s.non_ack_examples;
  results["error_rate"] = error_rate;
  results["late_payments"] = s.late_payments;
  results["pay_lag_ms"] = {{"p99", Ms(s.pay_lag.ValueAt(0.99))}, {"max", Ms(s.pay_lag.max())}};
  results["orderquery_callbacks"] = CallbackJson(stats0, stats1, s.acked);

  // The sandbox's headroom and what limited the run.
  Json sandbox_json;
  // The binary this run started ("" with --base-url: a running sandbox).
  sandbox_json["binary"] = o.base_url.empty() ? common.sandbox_bin : "";
  double cpu_sum = 0, cpu_max = 0, depth_sum = 0, depth_max = 0;
  int cpu_n = 0;
  for (const auto& [t, cpu] : cpu_samples) {
    if (t < 0 || t > run_s + drain_waited_s) continue;
    cpu_sum += cpu;
    cpu_max = std::max(cpu_max, cpu);
    ++cpu_n;
  }
  for (int64_t d : depth_samples) {
    depth_sum += static_cast<double>(d);
    depth_max = std::max(depth_max, static_cast<double>(d));
  }
  double machine_sum = 0, machine_max = 0;
  int machine_n = 0;
  for (const auto& [t, busy] : machine_samples) {
    if (t < 0 || t > run_s + drain_waited_s) continue;
    machine_sum += busy;
    machine_max = std::max(machine_max, busy);
    ++machine_n;
  }
  const double machine_mean = machine_n ? machine_sum / machine_n : 0;
  const int cores =
      stats1.cores > 0 ? stats1.cores : static_cast<int>(std::thread::hardware_concurrency());
  sandbox_json["cores"] = cores;
  sandbox_json["cpu_percent"] = {{"mean", cpu_n ? cpu_sum / cpu_n : 0.0}, {"max", cpu_max}};
  sandbox_json["queue_depth"] = {
      {"mean", depth_samples.empty() ? 0.0 : depth_sum / static_cast<double>(depth_samples.size())},
      {"max", depth_max}};
  sandbox_json["machine_cpu_percent"] = {{"mean", machine_mean}, {"max", machine_max}};
  sandbox_json["ceiling"] = ceiling;
  std::string limit = "unclear", reason;
  const double offered =
      closed ? 0 : static_cast<double>(measured_count) / std::max(1e-9, run_s - o.warmup_s);
  const double ceiling_rate = ceiling.is_object() ? ceiling.value("rate_per_s", 0.0) : 0.0;
  const double fs_p99 = Ms(s.from_schedule.ValueAt(0.99)), sa_p99 = Ms(s.send_to_ack.ValueAt(0.99));
  if (ceiling_rate > 0 && acked_per_s >= 0.8 * ceiling_rate) {
    limit = "sandbox";
    reason = "the handler acked " + Fixed(acked_per_s, 0) + "/s, " +
             Fixed(100 * acked_per_s / ceiling_rate, 0) +
             "% of what this sandbox delivers to a "
             "trivial receiver (" +
             Fixed(ceiling_rate, 0) +
             "/s): the figures are the "
             "sandbox's, not the handler's";
  } else if (cpu_n > 0 && cpu_sum / cpu_n >= 90.0 * cores) {
    limit = "sandbox";
    reason = "the sandbox used " + Fixed(cpu_sum / cpu_n, 0) + "% CPU of " + std::to_string(cores) +
             " cores on average";
  } else if (machine_n > 0 && machine_mean >= 90.0) {
    limit = "machine";
    reason = "the machine's " + std::to_string(cores) + " cores were " + Fixed(machine_mean, 0) +
             "% busy on average, shared by the bench, the sandbox and the handler: the figures "
             "are the machine's as much as the handler's (run the handler on other cores or "
             "another machine to see its own)";
  } else if (!closed && acked_per_s >= 0.95 * offered && fs_p99 <= 2 * sa_p99 + 50) {
    limit = "none";
    reason = "the handler kept up with the offered " + Fixed(offered, 0) +
             "/s (p99 from schedule " + Fixed(fs_p99, 1) + " ms, send-to-ack " + Fixed(sa_p99, 1) +
             " ms); raise --rate (or ramp) to find its limit";
  } else if (ceiling_rate > 0) {
    limit = "handler";
    reason = "the handler acked " + Fixed(acked_per_s, 0) + "/s where the sandbox delivers " +
             Fixed(ceiling_rate, 0) + "/s to a trivial receiver, with " +
             (cpu_n ? Fixed(cpu_sum / cpu_n, 0) : std::string("?")) + "% sandbox CPU" +
             (closed ? ""
                     : "; notifications waited for it (p99 from schedule " + Fixed(fs_p99, 1) +
                           " ms vs send-to-ack " + Fixed(sa_p99, 1) + " ms)");
  } else {
    reason = "the sandbox's ceiling was not measured (--ceiling-orders 0, or it failed)";
  }
  if (measured_count > 0 && s.late_payments * 100 > measured_count) {
    reason +=
        "; the bench paid " +
        Fixed(100.0 * static_cast<double>(s.late_payments) / static_cast<double>(measured_count),
              1) +
        "% of the payments more than 10 ms behind schedule (it could not keep up either)";
  }
  sandbox_json["limit"] = limit;
  sandbox_json["limit_reason"] = reason;

  // Steps and series.
  Json steps_json = Json::array();
  for (size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    // A closed run is one step over the measured window.
    const double dur =
        i < steps.size() ? steps[i].duration_s - (i == 0 ? o.warmup_s : 0) : measured_s;
    steps_json.push_back(
        {{"rate", i < steps.size() ? steps[i].rate : 0.0},
         {"start_s", i < steps.size() ? steps[i].start_s : 0.0},
         {"duration_s", i < steps.size() ? steps[i].duration_s : run_s},
         {"scheduled", st.scheduled},
         {"acked", st.acked},
         {"acked_per_s", dur > 0 ? static_cast<double>(st.acked_in_window) / dur : 0.0},
         {"p50_ms", Ms(st.latency.ValueAt(0.5))},
         {"p99_ms", Ms(st.latency.ValueAt(0.99))},
         {"non_acks", st.non_acks}});
  }
  Json series = Json::array();
  for (size_t i = 0; i < s.seconds.size(); ++i) {
    const auto& sec = s.seconds[i];
    series.push_back({{"t", static_cast<double>(i)},
                      {"scheduled", sec.scheduled},
                      {"acked", sec.acked},
                      {"non_acks", sec.non_acks},
                      {"p50_ms", Ms(sec.latency.ValueAt(0.5))},
                      {"p99_ms", Ms(sec.latency.ValueAt(0.99))},
                      {"max_ms", Ms(sec.latency.max())},
                      {"sandbox_cpu_percent", sec.cpu_percent},
                      {"queue_depth", sec.queue_depth}});
  }
  Json histogram = Json::array();
  for (const LatencyHistogram::Bucket& b : s.from_schedule.Buckets()) {
    histogram.push_back(
        {{"from_ms", Ms(b.from_us)}, {"to_ms", Ms(b.to_us + 1)}, {"count", b.count}});
  }

  // 11. Thresholds.
  Json thresholds = Json::array();
  auto threshold = [&](const std::string& name, const std::string& flag,
                       const std::string& expected, const std::string& measured, bool passed) {
    thresholds.push_back({{"name", name},
                          {"flag", flag},
                          {"expected", expected},
                          {"measured", measured},
                          {"passed", passed}});
  };
  if (o.expect_rate) {
    threshold("acked per second", "--expect-rate", ">= " + Fixed(*o.expect_rate, 1) + "/s",
              Fixed(acked_per_s, 1) + "/s", acked_per_s >= *o.expect_rate);
  }
  if (o.expect_p99_ms) {
    threshold("p99 latency from schedule", "--expect-p99",
              "<= " + Fixed(*o.expect_p99_ms, 1) + " ms", Fixed(fs_p99, 1) + " ms",
              s.from_schedule.count() > 0 && fs_p99 <= *o.expect_p99_ms);
  }
  if (!o.expect_errors.empty()) {
    double budget = 0;
    bool percent = false;
    ParseErrorBudget(o.expect_errors, &budget, &percent);
    // Notifications never acked count as errors too: a handler that drops
    // everything must not pass for want of attempts.
    const int64_t unacked = lc.failed + lc.blocked + lc.pending;
    if (percent) {
      threshold("non-acked attempts", "--expect-errors", "<= " + o.expect_errors + " of attempts",
                Fixed(error_rate * 100, 3) + "% (" + std::to_string(s.non_acked_attempts) + " of " +
                    std::to_string(s.attempts + s.dup_sent) + "), " + std::to_string(unacked) +
                    " never acked",
                error_rate * 100 <= budget && unacked == 0);
    } else {
      threshold(
          "non-acked attempts", "--expect-errors", "<= " + o.expect_errors,
          std::to_string(s.non_acked_attempts) + ", " + std::to_string(unacked) + " never acked",
          static_cast<double>(s.non_acked_attempts + unacked) <= budget);
    }
  }

  // 12. The verdict.
  const Json verdict = DecideVerdict(ledger, thresholds, exactly_once, acked_per_s, fs_p99,
                                     NonAckHint(s.hint_counts, o));
  const int exit_code = verdict["exit_code"].get<int>();

  Json report;
  report["schema"] = "vkspay-bench-merchant/1";
  report["generated_at"] = UtcNow("%Y-%m-%dT%H:%M:%SZ");
  report["command"] = command;
  report["machine"] = MachineInfo();
  report["target"] = {{"notify_url", o.notify_url},
                      {"merchantno", o.merchantno},
                      {"sandbox", started ? "started at " + base : o.base_url},
                      {"state_url", o.state_url}};
  report["load"] = {
      {"model", closed             ? "closed"
                : steps.size() > 1 ? "ramp"
                                   : "open"},
      {"rate", o.rate},
      {"rate_to", o.rate_to},
      {"step", o.step},
      {"step_duration_s", o.step_duration_s},
      {"concurrency", o.concurrency},
      {"duration_s", closed ? o.duration_s : run_s},
      {"count", o.count},
      {"warmup_s", o.warmup_s},
      {"drain_s", o.drain_s},
      {"duplicates", o.duplicates},
      {"notify_profile", started ? o.notify_profile : clock->value("notify_profile", "")},
      {"time_scale", started ? o.time_scale : clock->value("time_scale", 1.0)},
      {"seed", o.seed}};
  report["window"] = {{"measured_s", measured_s}, {"drain_waited_s", drain_waited_s}};
  report["results"] = results;
  report["ledger"] = ledger;
  report["sandbox"] = sandbox_json;
  report["exactly_once"] = exactly_once;
  report["steps"] = steps_json;
  report["series"] = series;
  report["histogram"] = histogram;
  report["histogram_kind"] =
      "log-linear (HdrHistogram's layout): 1 µs buckets below 256 µs, then 128 buckets per "
      "power of two, so a bucket is at most 0.78% of its value wide; percentiles are the "
      "bucket's top (never below the true value)";
  report["thresholds"] = thresholds;
  report["verdict"] = verdict;

  const std::string name = o.name.empty() ? DefaultName() : o.name;
  std::cout << RenderMerchantMarkdown(report, name + ".svg");
  const std::string werr = WriteMerchantReport(report, o.out_dir, name);
  if (!werr.empty()) {
    say(werr);
    return 1;
  }
  say("wrote " + o.out_dir + "/" + name + ".{json,md,svg}");
  if (!o.junit.empty()) {
    std::ofstream junit(o.junit, std::ios::binary);
    junit << RenderMerchantJUnit(report);
    if (!junit) {
      say("cannot write --junit " + o.junit);
      return 1;
    }
  }
  say(verdict["text"].get<std::string>() + " (exit " + std::to_string(exit_code) + ")");
  if (const std::string hint = verdict["hint"].get<std::string>(); !hint.empty()) say(hint);
  return exit_code;
}

}  // namespace vkspay::bench
