#include "sandbox/telemetry/metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "sandbox/telemetry/latency_histogram.h"

namespace vkspay::sandbox {

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PromWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  // HELP text escapes only backslash and newline.
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PromWriter::Head(std::string_view name, const MetricLabels& labels) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      out_ += EscapeLabelValue(labels[i].second);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PromWriter::Sample(std::string_view name, const MetricLabels& labels, double value) {
  Head(name, labels);
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    // Shortest form that reads back the same.
    for (int prec = 6; prec < 17; ++prec) {
      char shorter[40];
      std::snprintf(shorter, sizeof shorter, "%.*g", prec, value);
      if (std::strtod(shorter, nullptr) == value) {
        std::snprintf(buf, sizeof buf, "%s", shorter);
        break;
      }
    }
    out_ += buf;
  }
  out_ += '\n';
}

void PromWriter::Sample(std::string_view name, const MetricLabels& labels, int64_t value) {
  Head(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

// --- AtomicHistogram ---

AtomicHistogram::AtomicHistogram(std::vector<int64_t> bounds_us)
    : bounds_us_(std::move(bounds_us)), buckets_(new std::atomic<int64_t>[bounds_us_.size() + 1]) {
  for (size_t i = 0; i <= bounds_us_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void AtomicHistogram::Observe(int64_t us) {
  us = std::max<int64_t>(us, 0);
  // The bounds are few (<= 20): a linear scan beats a binary search here.
  size_t i = 0;
  while (i < bounds_us_.size() && us > bounds_us_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
}

int64_t AtomicHistogram::count() const {
  int64_t n = 0;
  for (size_t i = 0; i <= bounds_us_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

void AtomicHistogram::Write(PromWriter& w, std::string_view name,
                            const MetricLabels& labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  int64_t cumulative = 0;
  MetricLabels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i <= bounds_us_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < bounds_us_.size()) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", static_cast<double>(bounds_us_[i]) / 1e6);
      with_le.back().second = le;
    } else {
      with_le.back().second = "+Inf";
    }
    w.Sample(bucket, with_le, cumulative);
  }
  w.Sample(std::string(name) + "_sum", labels,
           static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  // _count equals the +Inf bucket, as Prometheus expects, even while
  // observations are under way.
  w.Sample(std::string(name) + "_count", labels, cumulative);
}

std::vector<int64_t> ApiLatencyBoundsUs() {
  return {100,   250,    500,    1000,   2500,    5000,    10000,   25000,
          50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
}

std::vector<int64_t> DeliveryLatencyBoundsUs() {
  return {1000,   2500,   5000,    10000,   25000,   50000,    100000,
          250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};
}

// --- ApiStats ---

namespace {

constexpr std::array<std::string_view, 6> kBuiltinMethods = {
    "webpay", "micropay", "orderquery", "orderrefund", "orderrefundquery", "-"};
// LatencyHistogram's bucket count for its whole range.
const size_t kHdrBuckets = LatencyHistogram::IndexOf(LatencyHistogram::kMaxValue) + 1;

}  // namespace

struct ApiStats::Method {
  explicit Method(std::string n) : name(std::move(n)), hdr(new std::atomic<int64_t>[kHdrBuckets]) {
    for (size_t i = 0; i < kHdrBuckets; ++i) hdr[i].store(0, std::memory_order_relaxed);
  }

  struct Code {
    explicit Code(std::string n) : name(std::move(n)) {}
    const std::string name;
    std::atomic<int64_t> count{0};
  };

  Code* FindCode(std::string_view code) const {
    const size_t n = n_codes.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      Code* c = codes[i].load(std::memory_order_relaxed);
      if (c->name == code) return c;
    }
    return nullptr;
  }

  Code* FindOrAddCode(std::string_view code) {
    if (Code* c = FindCode(code)) return c;
    std::lock_guard<std::mutex> lock(mu);
    if (Code* c = FindCode(code)) return c;
    size_t n = n_codes.load(std::memory_order_relaxed);
    if (n >= kMaxCodes) {
      if (Code* other = FindCode("other")) return other;
      code = "other";  // the one slot kept past kMaxCodes
    }
    owned.push_back(std::make_unique<Code>(std::string(code)));
    codes[n].store(owned.back().get(), std::memory_order_relaxed);
    n_codes.store(n + 1, std::memory_order_release);
    return owned.back().get();
  }

  // Requests: the codes' counts added up (no counter of its own: each
  // counter is one more contended cache line per request).
  int64_t Count(int64_t* errors) const {
    int64_t total = 0, ok = 0;
    const size_t n = n_codes.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      const Code* c = codes[i].load(std::memory_order_relaxed);
      const int64_t v = c->count.load(std::memory_order_relaxed);
      total += v;
      if (c->name == "SUCCESS") ok = v;
    }
    *errors = total - ok;
    return total;
  }

  const std::string name;
  std::atomic<int64_t> max_us{0};
  std::unique_ptr<std::atomic<int64_t>[]> hdr;  // LatencyHistogram's buckets
  AtomicHistogram prom{ApiLatencyBoundsUs()};
  std::array<std::atomic<Code*>, kMaxCodes + 1> codes{};
  std::atomic<size_t> n_codes{0};
  std::mutex mu;                             // serializes adding a code
  std::vector<std::unique_ptr<Code>> owned;  // guarded by mu
};

ApiStats::ApiStats() {
  std::lock_guard<std::mutex> lock(add_mu_);
  for (std::string_view m : kBuiltinMethods) {
    owned_.push_back(std::make_unique<Method>(std::string(m)));
    methods_[owned_.size() - 1].store(owned_.back().get(), std::memory_order_relaxed);
  }
  n_methods_.store(owned_.size(), std::memory_order_release);
}

ApiStats::~ApiStats() = default;

ApiStats::Method* ApiStats::Find(std::string_view name) const {
  const size_t n = n_methods_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    Method* m = methods_[i].load(std::memory_order_relaxed);
    if (m->name == name) return m;
  }
  return nullptr;
}

ApiStats::Method* ApiStats::FindOrAdd(std::string_view name) {
  if (Method* m = Find(name)) return m;
  std::lock_guard<std::mutex> lock(add_mu_);
  if (Method* m = Find(name)) return m;
  const size_t n = n_methods_.load(std::memory_order_relaxed);
  if (n >= kMaxMethods - 1) {
    if (Method* other = Find("other")) return other;
    name = "other";  // the last slot
  }
  owned_.push_back(std::make_unique<Method>(std::string(name)));
  methods_[n].store(owned_.back().get(), std::memory_order_relaxed);
  n_methods_.store(n + 1, std::memory_order_release);
  return owned_.back().get();
}

void ApiStats::Record(std::string_view method, std::string_view err_code, int64_t latency_us) {
  Method* m = FindOrAdd(method.empty() ? std::string_view("-") : method);
  latency_us = std::clamp<int64_t>(latency_us, 0, LatencyHistogram::kMaxValue);
  // Four atomic adds (code, log-linear bucket, Prometheus bucket and sum)
  // and, only while the max grows, a compare-and-swap.
  m->FindOrAddCode(err_code.empty() ? std::string_view("SUCCESS") : err_code)
      ->count.fetch_add(1, std::memory_order_relaxed);
  m->hdr[LatencyHistogram::IndexOf(latency_us)].fetch_add(1, std::memory_order_relaxed);
  int64_t seen = m->max_us.load(std::memory_order_relaxed);
  while (latency_us > seen &&
         !m->max_us.compare_exchange_weak(seen, latency_us, std::memory_order_relaxed)) {
  }
  m->prom.Observe(latency_us);
}

nlohmann::json ApiStats::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  const size_t n = n_methods_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    const Method* m = methods_[i].load(std::memory_order_relaxed);
    int64_t errors = 0;
    const int64_t count = m->Count(&errors);
    if (count == 0) continue;  // as before: only methods seen
    nlohmann::json latency;
    nlohmann::json buckets = nlohmann::json::array();
    int64_t in_buckets = 0;
    for (size_t b = 0; b < kHdrBuckets; ++b) {
      const int64_t c = m->hdr[b].load(std::memory_order_relaxed);
      if (c == 0) continue;
      in_buckets += c;
      buckets.push_back({LatencyHistogram::LowestOf(b), c});
    }
    latency["count"] = in_buckets;
    latency["sum_us"] = m->prom.sum_us();
    latency["max_us"] = m->max_us.load(std::memory_order_relaxed);
    latency["buckets"] = std::move(buckets);
    j[m->name] = {{"count", count}, {"errors", errors}, {"latency", std::move(latency)}};
  }
  return j;
}

void ApiStats::WritePrometheus(PromWriter& w) const {
  const size_t n = n_methods_.load(std::memory_order_acquire);
  w.Family("vkspay_api_requests_total", "counter",
           "Requests to POST /api by method and result code (SUCCESS or the err_code).");
  for (size_t i = 0; i < n; ++i) {
    const Method* m = methods_[i].load(std::memory_order_relaxed);
    const size_t nc = m->n_codes.load(std::memory_order_acquire);
    for (size_t c = 0; c < nc; ++c) {
      const Method::Code* code = m->codes[c].load(std::memory_order_relaxed);
      w.Sample("vkspay_api_requests_total", {{"method", m->name}, {"code", code->name}},
               code->count.load(std::memory_order_relaxed));
    }
  }
  w.Family("vkspay_api_request_duration_seconds", "histogram",
           "Time from a POST /api request read to its answer built, by method.");
  for (size_t i = 0; i < n; ++i) {
    const Method* m = methods_[i].load(std::memory_order_relaxed);
    if (m->prom.count() == 0 && i >= kBuiltinMethods.size()) continue;
    m->prom.Write(w, "vkspay_api_request_duration_seconds", {{"method", m->name}});
  }
}

int64_t ApiStats::Count(std::string_view method, std::string_view code) const {
  const Method* m = Find(method);
  if (m == nullptr) return 0;
  const Method::Code* c = m->FindCode(code);
  return c == nullptr ? 0 : c->count.load(std::memory_order_relaxed);
}

// --- DeliveryStats ---

size_t DeliveryStats::KindIndex(std::string_view kind) {
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (kKinds[i] == kind) return i;
  }
  return kKinds.size() - 1;  // extra
}

size_t DeliveryStats::OutcomeIndex(std::string_view outcome) {
  if (outcome.empty()) outcome = "not_sent";
  for (size_t i = 0; i < kOutcomes.size(); ++i) {
    if (kOutcomes[i] == outcome) return i;
  }
  return kOutcomes.size() - 1;  // other
}

void DeliveryStats::RecordAttempt(std::string_view kind, std::string_view outcome, bool sent,
                                  int64_t latency_us) {
  counts_[KindIndex(kind) * kOutcomes.size() + OutcomeIndex(outcome)].fetch_add(
      1, std::memory_order_relaxed);
  if (sent) latency_.Observe(latency_us);
}

int64_t DeliveryStats::attempts(std::string_view kind, std::string_view outcome) const {
  return counts_[KindIndex(kind) * kOutcomes.size() + OutcomeIndex(outcome)].load(
      std::memory_order_relaxed);
}

void DeliveryStats::WritePrometheus(PromWriter& w) const {
  w.Family("vkspay_notify_attempts_total", "counter",
           "Notification deliveries by kind (attempt; duplicate, times, replay: extra "
           "deliveries of fault injection) and outcome.");
  for (size_t k = 0; k < kKinds.size(); ++k) {
    for (size_t o = 0; o < kOutcomes.size(); ++o) {
      w.Sample("vkspay_notify_attempts_total",
               {{"kind", std::string(kKinds[k])}, {"outcome", std::string(kOutcomes[o])}},
               counts_[k * kOutcomes.size() + o].load(std::memory_order_relaxed));
    }
  }
  w.Family("vkspay_notify_delivery_duration_seconds", "histogram",
           "Time from a notification POST sent to the merchant's answer (or the error).");
  latency_.Write(w, "vkspay_notify_delivery_duration_seconds", {});
  w.Family("vkspay_notify_retries_scheduled_total", "counter",
           "Failed attempts that left their notification pending with a next attempt scheduled.");
  w.Sample("vkspay_notify_retries_scheduled_total", {}, retries_scheduled());
}

}  // namespace vkspay::sandbox
