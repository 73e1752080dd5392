// vkspay-bench notify: the receiver, the delivery repetitions and the section.
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>

#include "bench/load.h"
#include "bench/notify_measure.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::bench {

namespace {


// "N<tag>-<index>" → tag, index; false for anything else.
bool ParseOrderNo(const std::string& s, int* tag, int* index) {
  if (s.size() < 4 || s[0] != 'N') return false;
  const size_t dash = s.find('-');
  if (dash == std::string::npos || dash == 1 || dash + 1 == s.size()) return false;
  char* end = nullptr;
  const long t = std::strtol(s.c_str() + 1, &end, 10);
  if (end != s.c_str() + dash) return false;
  const long i = std::strtol(s.c_str() + dash + 1, &end, 10);
  if (*end != '\0' || t < 0 || i < 0) return false;
  *tag = static_cast<int>(t);
  *index = static_cast<int>(i);
  return true;
}

std::string OrderNo(int tag, int i) { return "N" + std::to_string(tag) + "-" + std::to_string(i); }

// The POST /_sandbox/pay body for a demo merchant's order. The merchant is
// named: a sandbox with several merchants (vkspay-bench merchant's, when
// --merchantno is not the demo's) refuses a payment without it.
std::string DemoPayBody(const std::string& out_trade_no) {
  return Json{{"merchantno", kMerchantNo}, {"out_trade_no", out_trade_no}, {"channel", "wxpay"}}
      .dump();
}

// Counts a repetition's errors and keeps the first five, for the report.
// Thread-safe.
class RepErrors {
 public:
  void Note(const std::string& what) {
    ++count_;
    std::lock_guard<std::mutex> lock(mu_);
    if (first_.size() < 5) first_.push_back(what.substr(0, 300));
  }
  // "<what>: <status> <body>" or "<what>: <transport error>".
  void NoteAnswer(const std::string& what, const httplib::Result& res) {
    Note(what + ": " + (res ? std::to_string(res->status) + " " + res->body
                            : httplib::to_string(res.error())));
  }
  int64_t count() const { return count_.load(); }
  // Into r.errors and r.extra["first_errors"].
  void Report(RepResult& r) const {
    r.errors = count_.load();
    std::lock_guard<std::mutex> lock(mu_);
    if (!first_.empty()) r.extra["first_errors"] = first_;
  }

 private:
  std::atomic<int64_t> count_{0};
  mutable std::mutex mu_;
  Json first_ = Json::array();
};

// A keep-alive client of the sandbox, as the payment threads use it.
std::unique_ptr<httplib::Client> SandboxClient(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_tcp_nodelay(true);
  c->set_keep_alive(true);
  c->set_connection_timeout(2, 0);
  c->set_read_timeout(10, 0);
  return c;
}

// The receiver's acks of orders 0..orders-1, each timed from start_ns(i)
// (0: never sent, skipped): r.count, r.throughput = acked / (last ack -
// earliest start), the ack latency percentiles; an unacked order or an
// invalid signature is an error.
void SummarizeAcks(const Receiver& receiver, int orders,
                   const std::function<int64_t(int)>& start_ns, RepErrors& errors,
                   RepResult& r) {
  std::vector<int64_t> to_ack;
  int64_t first = INT64_MAX, last_ack = 0, unacked = 0;
  for (int i = 0; i < orders; ++i) {
    const int64_t p = start_ns(i);
    if (p == 0) continue;
    first = std::min(first, p);
    if (const int64_t a = receiver.ack_ns(i); a > 0) {
      to_ack.push_back(a - p);
      last_ack = std::max(last_ack, a);
    } else {
      ++unacked;
    }
  }
  if (unacked > 0) errors.Note(std::to_string(unacked) + " notification(s) not acked within 60 s");
  if (receiver.invalid() > 0) {
    errors.Note(std::to_string(receiver.invalid()) + " notification(s) with an invalid signature");
  }
  r.count = static_cast<int64_t>(to_ack.size());
  if (last_ack > first) {
    r.throughput = static_cast<double>(r.count) / (static_cast<double>(last_ack - first) / 1e9);
  }
  r.p50_ms = PercentileMs(to_ack, 0.50);
  r.p99_ms = PercentileMs(to_ack, 0.99);
  r.p999_ms = PercentileMs(to_ack, 0.999);
}

}  // namespace

Receiver::Receiver(int threads, int capacity)
    : server_(std::make_unique<httplib::Server>()),
      capacity_(capacity),
      first_ns_(new std::atomic<int64_t>[static_cast<size_t>(capacity)]),
      ack_ns_(new std::atomic<int64_t>[static_cast<size_t>(capacity)]),
      attempts_(new std::atomic<int>[static_cast<size_t>(capacity)]) {
  for (int i = 0; i < capacity_; ++i) {
    first_ns_[static_cast<size_t>(i)] = 0;
    ack_ns_[static_cast<size_t>(i)] = 0;
    attempts_[static_cast<size_t>(i)] = 0;
  }
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(1000000);
  // Stopping waits for every worker, each idle in a kept-alive connection
  // for up to this long: 1 s instead of httplib's 5.
  server_->set_keep_alive_timeout(1);
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server_->Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
    int status = 200;
    std::string answer;
    Handle(req.body, &status, &answer);
    res.status = status;
    res.set_content(answer, "application/json");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

Receiver::~Receiver() {
  server_->stop();
  thread_.join();
}

void Receiver::Begin(int tag, int orders, double fail_rate) {
  tag_ = -1;
  if (orders > capacity_) orders = capacity_;
  for (int i = 0; i < orders; ++i) {
    first_ns_[static_cast<size_t>(i)] = 0;
    ack_ns_[static_cast<size_t>(i)] = 0;
    attempts_[static_cast<size_t>(i)] = 0;
  }
  acked_ = 0;
  attempts_total_ = 0;
  failed_ = 0;
  duplicates_ = 0;
  invalid_ = 0;
  stray_ = 0;
  orders_ = orders;
  fail_rate_ = fail_rate;
  tag_ = tag;
}

void Receiver::Handle(const std::string& body, int* status, std::string* answer) {
  const int64_t now = NowNs();
  StatusOr<Fields> fields = DecodeForm(body);
  if (!fields.ok() || !VerifySign(*fields, kMerchantKey).ok()) {
    ++invalid_;
    *status = 400;
    *answer = R"({"code":"FAIL","msg":"invalid signature"})";
    return;
  }
  *answer = kNotifyAckBody;
  const Value* no = fields->Find("out_trade_no");
  int tag = 0, i = 0;
  if (no == nullptr || !ParseOrderNo(JsString(*no), &tag, &i)) {
    ++other_;
    return;
  }
  if (tag != tag_.load() || i >= orders_.load()) {
    ++stray_;
    return;
  }
  const size_t k = static_cast<size_t>(i);
  const int n = attempts_[k].fetch_add(1) + 1;
  ++attempts_total_;
  if (n == 1) first_ns_[k] = now;
  const double rate = fail_rate_.load();
  if (n <= 2 && rate > 0) {
    const uint64_t h = SplitMix64((static_cast<uint64_t>(tag) << 40) ^
                                  (static_cast<uint64_t>(i) << 4) ^ static_cast<uint64_t>(n));
    if (static_cast<double>(h >> 11) / 9007199254740992.0 < rate) {
      ++failed_;
      *status = 500;
      *answer = R"({"code":"FAIL","msg":"failing on purpose"})";
      return;
    }
  }
  int64_t expected = 0;
  if (ack_ns_[k].compare_exchange_strong(expected, now)) {
    ++acked_;
  } else {
    ++duplicates_;
  }
}

RepResult MeasureNotifyRep(int port, pid_t pid, Receiver& receiver, int tag, int orders,
                           int pay_threads, double fail_rate, double pace_per_s) {
  RepResult r;
  RepErrors errors;
  receiver.Begin(tag, orders, fail_rate);
  const std::string notify_url = receiver.url();

  // 1. Create the orders (not timed).
  std::atomic<int> next{0};
  RunThreads(pay_threads, [&](int) {
    auto c = SandboxClient(port);
    for (int i; (i = next.fetch_add(1)) < orders;) {
      auto res = c->Post("/api", SignedWebPay(OrderNo(tag, i), notify_url),
                         "application/json; charset=utf-8");
      if (!res || res->status != 200 ||
          res->body.find("\"return_code\":\"SUCCESS\"") == std::string::npos) {
        errors.NoteAnswer("webpay " + OrderNo(tag, i), res);
      }
    }
  });

  // 2. Pay them, timing each payment's start.
  std::vector<int64_t> pay_ns(static_cast<size_t>(orders), 0);
  next = 0;
  const double sandbox_cpu0 = ProcessCpuSeconds(pid), bench_cpu0 = SelfCpuSeconds();
  const int64_t start = NowNs();
  RunThreads(pay_threads, [&](int) {
    auto c = SandboxClient(port);
    for (int i; (i = next.fetch_add(1)) < orders;) {
      if (pace_per_s > 0) {
        const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * 1e9 / pace_per_s);
        const int64_t wait = due - NowNs();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      }
      const std::string body = DemoPayBody(OrderNo(tag, i));
      pay_ns[static_cast<size_t>(i)] = NowNs();
      auto res = c->Post("/_sandbox/pay", body, "application/json");
      if (!res || res->status != 200) errors.NoteAnswer("pay " + OrderNo(tag, i), res);
    }
  });
  const int64_t paid_end = NowNs();

  // 3. Wait for every ack.
  const int64_t deadline = paid_end + 60'000'000'000LL;
  while (receiver.acked() < orders && NowNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double sandbox_cpu = ProcessCpuSeconds(pid) - sandbox_cpu0;
  const double bench_cpu = SelfCpuSeconds() - bench_cpu0;
  // Late duplicates show up shortly after the last ack, if at all.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  SummarizeAcks(
      receiver, orders, [&pay_ns](int i) { return pay_ns[static_cast<size_t>(i)]; }, errors, r);
  std::vector<int64_t> to_first;
  for (int i = 0; i < orders; ++i) {
    const int64_t p = pay_ns[static_cast<size_t>(i)], f = receiver.first_attempt_ns(i);
    if (p > 0 && f > 0) to_first.push_back(f - p);
  }
  r.extra["first_attempt_p50_ms"] = PercentileMs(to_first, 0.50);
  r.extra["first_attempt_p99_ms"] = PercentileMs(to_first, 0.99);
  r.extra["first_attempt_p999_ms"] = PercentileMs(to_first, 0.999);
  r.extra["pay_rate_per_s"] =
      paid_end > start ? static_cast<double>(orders) / (static_cast<double>(paid_end - start) / 1e9)
                       : 0.0;
  if (orders > 0) {
    r.extra["sandbox_cpu_us_per_notification"] = sandbox_cpu * 1e6 / orders;
    r.extra["bench_cpu_us_per_notification"] = bench_cpu * 1e6 / orders;
  }
  r.extra["attempts"] = receiver.attempts();
  r.extra["failed_on_purpose"] = receiver.failed_on_purpose();
  r.extra["duplicates"] = receiver.duplicates();
  r.extra["stray_from_earlier_reps"] = receiver.stray();
  errors.Report(r);
  return r;
}

RepResult MeasureDrainRep(int port, pid_t pid, Receiver& receiver, int tag, int orders,
                          int pay_threads, double fail_rate, int dead_orders, int dead_port) {
  RepResult r;
  RepErrors errors;
  receiver.Begin(tag, orders, fail_rate);
  const std::string notify_url = receiver.url();
  const std::string dead_url = "http://127.0.0.1:" + std::to_string(dead_port) + "/notify";
  const int total = orders + (dead_port > 0 ? dead_orders : 0);
  auto order_no = [&](int i) {
    return i < orders ? OrderNo(tag, i)
                      : "D" + std::to_string(tag) + "-" + std::to_string(i - orders);
  };
  // 1. Create and pay every order, its first attempt held (not timed).
  const httplib::Headers held = {{"X-Sandbox-Fault", "notify=delay:600s"}};
  std::atomic<int> next{0};
  RunThreads(pay_threads, [&](int) {
    auto c = SandboxClient(port);
    for (int i; (i = next.fetch_add(1)) < total;) {
      const std::string no = order_no(i);
      auto res = c->Post("/api", held, SignedWebPay(no, i < orders ? notify_url : dead_url),
                         "application/json; charset=utf-8");
      if (!res || res->status != 200 ||
          res->body.find("\"return_code\":\"SUCCESS\"") == std::string::npos) {
        errors.NoteAnswer("webpay " + no, res);
        continue;
      }
      res = c->Post("/_sandbox/pay", DemoPayBody(no), "application/json");
      if (!res || res->status != 200) errors.NoteAnswer("pay " + no, res);
    }
  });
  if (receiver.attempts() > 0) {
    errors.Note(std::to_string(receiver.attempts()) +
                " notification(s) arrived before the clock moved: the delay fault did not hold "
                "them");
  }
  // 2. Every held notification falls due at once.
  const double sandbox_cpu0 = ProcessCpuSeconds(pid), bench_cpu0 = SelfCpuSeconds();
  const int64_t start = NowNs();
  {
    auto c = SandboxClient(port);
    auto res = c->Post("/_sandbox/clock/advance", R"({"seconds":700})", "application/json");
    if (!res || res->status != 200) errors.NoteAnswer("clock advance", res);
  }
  const int64_t deadline = start + 60'000'000'000LL;
  while (receiver.acked() < orders && NowNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double sandbox_cpu = ProcessCpuSeconds(pid) - sandbox_cpu0;
  const double bench_cpu = SelfCpuSeconds() - bench_cpu0;
  // Latency here is from the moment every notification fell due to its ack:
  // the queue's drain order, not a per-notification latency.
  SummarizeAcks(receiver, orders, [start](int) { return start; }, errors, r);
  if (orders > 0) {
    r.extra["sandbox_cpu_us_per_notification"] = sandbox_cpu * 1e6 / orders;
    r.extra["bench_cpu_us_per_notification"] = bench_cpu * 1e6 / orders;
  }
  r.extra["dead_orders"] = dead_port > 0 ? dead_orders : 0;
  r.extra["duplicates"] = receiver.duplicates();
  errors.Report(r);
  return r;
}

RepResult MeasureReceiverBaseline(Receiver& receiver, int threads, double seconds) {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = "N0123456789abcdef0123456789abcdef";
  c.merchantno = kMerchantNo;
  c.out_trade_no = "BASELINE";
  c.transaction_id = "4200000000202612010000000001";
  c.total_fee = 1;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2026-12-01 10:00:00";
  const std::string body = EncodeForm(SignNotification(c, UnixSeconds(), "12345678", kMerchantKey));
  LoadSpec spec;
  spec.path = "/notify";
  spec.post = true;
  spec.content_type = "application/x-www-form-urlencoded";
  spec.body = [&body](int, uint64_t) { return body; };
  spec.ok = [](int, uint64_t, const std::string& answer) { return answer == kNotifyAckBody; };
  spec.threads = threads;
  spec.duration_s = seconds;
  return RunLoad(receiver.port(), spec);
}

std::vector<std::string> NotifySandboxArgs(const CommonOptions& common,
                                           const NotifyOptions& options) {
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", options.time_scale);
  std::vector<std::string> args = {"--notify-profile", options.notify_profile, "--time-scale",
                                   scale};
  args.insert(args.end(), common.sandbox_args.begin(), common.sandbox_args.end());
  return args;
}

namespace {

std::string Percent(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", rate * 100);
  return buf;
}

}  // namespace

int NextNotifyTag() {
  static std::atomic<int> tag{0};
  return tag.fetch_add(1);
}

Json RunNotify(const CommonOptions& common, const NotifyOptions& options) {
  const int paced_orders = static_cast<int>(options.paced_rate * options.paced_s);
  Receiver receiver(options.receiver_threads, std::max(options.orders, paced_orders));
  Json runs = Json::array();
  Json sandboxes = Json::array();

  Run base;
  base.section = "notify";
  base.name = "receiver";
  base.baseline = true;
  base.unit = "notifications/s";
  base.description = "the bench's receiver alone: " + std::to_string(options.pay_threads) +
                     " keep-alive clients POST a ready-made signed notification (baseline)";
  for (int rep = 0; rep < common.reps; ++rep) {
    Progress::Get().Step("notify receiver baseline " + std::to_string(rep + 1) + "/" +
                         std::to_string(common.reps));
    base.reps.push_back(MeasureReceiverBaseline(receiver, options.pay_threads, options.baseline_s));
  }
  runs.push_back(ToJson(base));
  std::vector<double> base_tp;
  for (const RepResult& r : base.reps) base_tp.push_back(r.throughput);
  const double base_median = Summarize(base_tp).median;

  Json ratios;
  auto run_config = [&](const std::string& name, const std::string& description, double fail_rate,
                        int orders, double pace) {
    TempDir dir("vkspay-bench-notify");
    if (common.keep_temp) dir.keep();
    SandboxProcess sandbox;
    Run run;
    run.section = "notify";
    run.name = name;
    run.unit = "notifications/s";
    run.description = description;
    std::string err = sandbox.Start(common.sandbox_bin, dir.path() + "/sandbox.db", dir.path(),
                                    NotifySandboxArgs(common, options));
    if (!err.empty()) {
      run.extra["error"] = err;
      RepResult failed;
      failed.errors = 1;
      run.reps.push_back(failed);
    }
    for (int rep = 0; err.empty() && rep < common.reps; ++rep) {
      Progress::Get().Step("notify " + name + " " + std::to_string(rep + 1) + "/" +
                           std::to_string(common.reps));
      run.reps.push_back(MeasureNotifyRep(sandbox.port(), sandbox.pid(), receiver, NextNotifyTag(),
                                          orders, options.pay_threads, fail_rate, pace));
    }
    run.extra["sandbox_peak_rss_mib"] = sandbox.PeakRssMiB();
    run.extra["fail_rate"] = fail_rate;
    run.extra["orders_per_rep"] = orders;
    if (pace > 0) run.extra["paced_payments_per_s"] = pace;
    std::vector<double> f50, f99;
    for (const RepResult& r : run.reps) {
      f50.push_back(r.extra.value("first_attempt_p50_ms", 0.0));
      f99.push_back(r.extra.value("first_attempt_p99_ms", 0.0));
    }
    run.extra["first_attempt_ms"] = {{"p50", ToJson(Summarize(f50))},
                                     {"p99", ToJson(Summarize(f99))}};
    sandbox.Stop();
    std::vector<double> tp;
    for (const RepResult& r : run.reps) tp.push_back(r.throughput);
    if (base_median > 0 && pace <= 0)
      ratios[name + "_vs_receiver"] = Summarize(tp).median / base_median;
    runs.push_back(ToJson(run));
  };
  for (double rate : options.fail_rates) {
    run_config("fail " + Percent(rate),
               "pay " + std::to_string(options.orders) + " orders at full speed (" +
                   std::to_string(options.pay_threads) +
                   " threads), deliver to the receiver failing " + Percent(rate) +
                   " of attempts 1-2; rate = acked / (last ack - first pay)",
               rate, options.orders, 0);
  }
  // A listener that never accepts: connects complete in the kernel's
  // backlog, then nothing is ever answered (a dead merchant).
  const int dead_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int dead_port = 0;
  if (dead_fd >= 0) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(dead_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(dead_fd, 4096) == 0 &&
        ::getsockname(dead_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      dead_port = ntohs(addr.sin_port);
    }
  }
  // A fresh sandbox per repetition: a drain moves the sandbox clock 700 s
  // ahead, past the timestamp window of the next repetition's requests.
  auto drain_config = [&](const std::string& name, const std::string& description,
                          double fail_rate, int dead_orders) {
    Run run;
    run.section = "notify";
    run.name = name;
    run.unit = "notifications/s";
    run.description = description;
    double peak_rss = 0;
    for (int rep = 0; rep < common.reps; ++rep) {
      TempDir dir("vkspay-bench-notify");
      if (common.keep_temp) dir.keep();
      SandboxProcess sandbox;
      std::string err = sandbox.Start(common.sandbox_bin, dir.path() + "/sandbox.db", dir.path(),
                                      NotifySandboxArgs(common, options));
      if (err.empty() && dead_orders > 0 && dead_port == 0) {
        err = "no dead listener could be opened";
      }
      if (!err.empty()) {
        run.extra["error"] = err;
        RepResult failed;
        failed.errors = 1;
        run.reps.push_back(failed);
        break;
      }
      Progress::Get().Step("notify " + name + " " + std::to_string(rep + 1) + "/" +
                           std::to_string(common.reps));
      run.reps.push_back(MeasureDrainRep(sandbox.port(), sandbox.pid(), receiver, NextNotifyTag(),
                                         options.orders, options.pay_threads, fail_rate,
                                         dead_orders, dead_port));
      peak_rss = std::max(peak_rss, sandbox.PeakRssMiB());
      sandbox.Stop();
    }
    run.extra["sandbox_peak_rss_mib"] = peak_rss;
    run.extra["orders_per_rep"] = options.orders;
    std::vector<double> tp;
    for (const RepResult& r : run.reps) tp.push_back(r.throughput);
    const double median = Summarize(tp).median;
    runs.push_back(ToJson(run));
    return median;
  };
  const double drain = drain_config(
      "drain",
      std::to_string(options.orders) +
          " paid notifications fall due at once (held by notify.delay, then the sandbox clock "
          "advanced): the dispatcher alone; rate = acked / (last ack - clock advance)",
      0, 0);
  if (base_median > 0) ratios["drain_vs_receiver"] = drain / base_median;
  const int dead_orders = std::max(1, options.orders / 10);
  const double beside_dead = drain_config(
      "drain beside a dead host",
      "as drain, plus " + std::to_string(dead_orders) +
          " notifications due at the same time to a host that accepts connections and never "
          "answers (each attempt waits out the timeout); the receiver's rate",
      0, dead_orders);
  if (drain > 0) ratios["drain_beside_dead_vs_drain"] = beside_dead / drain;
  drain_config("drain 10% failing",
               "as drain, the receiver failing 10% of attempts 1-2 (HTTP 500; retried on the " +
                   options.notify_profile + " profile at time scale " +
                   std::to_string(options.time_scale).substr(0, 4) + ")",
               0.10, 0);
  if (dead_fd >= 0) ::close(dead_fd);
  run_config("paced " + std::to_string(options.paced_rate) + "/s",
             "pay at " + std::to_string(options.paced_rate) +
                 " payments/s for latency (pay-to-first-attempt is the target)",
             0, paced_orders, options.paced_rate);

  Json j;
  j["runs"] = runs;
  j["ratios"] = ratios;
  j["settings"] = {{"orders_per_rep", options.orders},
                   {"pay_threads", options.pay_threads},
                   {"receiver_threads", options.receiver_threads},
                   {"notify_profile", options.notify_profile},
                   {"time_scale", options.time_scale},
                   {"paced_rate", options.paced_rate},
                   {"paced_s", options.paced_s},
                   {"baseline_s", options.baseline_s},
                   {"reps", common.reps},
                   {"sandbox_args", NotifySandboxArgs(common, options)}};
  return j;
}

}  // namespace vkspay::bench
