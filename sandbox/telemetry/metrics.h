// Counters and histograms for GET /metrics (Prometheus text format 0.0.4)
// and GET /_sandbox/stats, cheap enough to touch on every request: no lock
// on the hot path, only relaxed atomic increments, and labels interned once
// (a lookup compares a handful of short strings). See docs/observability.md
// for every metric.
//
// Why not prometheus-cpp (Debian's prometheus-cpp-dev 1.0.1): its
// Histogram::Observe takes a mutex per observation and Family::Add takes the
// family's mutex and hashes the label map on every lookup, so each request
// would take two global locks; the text format is simple enough to write.
//
// PromWriter writes the exposition format: one HELP and TYPE line per
// family, label values escaped (\\, \", \n), histograms as cumulative
// _bucket{le=...} series with _sum and _count.
//
// Thread safety: ApiStats and DeliveryStats are safe to record into from
// any thread and to read while others record (a reader sees each counter at
// some recent value; a histogram's _count may trail its buckets by the
// observations under way). PromWriter is not thread-safe (one per scrape).
#ifndef VKSPAY_SANDBOX_TELEMETRY_METRICS_H_
#define VKSPAY_SANDBOX_TELEMETRY_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace vkspay::sandbox {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v);

class PromWriter {
 public:
  // Starts a family: "# HELP name help" and "# TYPE name type" (counter,
  // gauge, histogram). Each family once per scrape.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (or `name` + _bucket/_sum/_count).
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  void Sample(std::string_view name, const MetricLabels& labels, int64_t value);
  const std::string& text() const { return out_; }

 private:
  void Head(std::string_view name, const MetricLabels& labels);
  std::string out_;
};

// A histogram with fixed bucket bounds in microseconds, exposed in seconds.
class AtomicHistogram {
 public:
  // Bounds ascending, in microseconds; +Inf is implied.
  explicit AtomicHistogram(std::vector<int64_t> bounds_us);
  void Observe(int64_t us);
  // The histogram's series under `name` (a family of type histogram must be
  // open), with `labels` plus le.
  void Write(PromWriter& w, std::string_view name, const MetricLabels& labels) const;
  // Observations (the buckets added up: no counter of its own, so that an
  // observation costs two atomic adds).
  int64_t count() const;
  int64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }

 private:
  const std::vector<int64_t> bounds_us_;
  std::unique_ptr<std::atomic<int64_t>[]> buckets_;  // bounds + 1 (the +Inf one)
  std::atomic<int64_t> sum_us_{0};
};

// API request latency buckets: 100 µs to 10 s.
std::vector<int64_t> ApiLatencyBoundsUs();
// Notification delivery latency buckets: 1 ms to 30 s.
std::vector<int64_t> DeliveryLatencyBoundsUs();

// Requests to POST /api by method and result code (SUCCESS or the
// err_code), timed from the request read to the answer built.
//
// Methods: the five VksPay methods, "-" (a request whose method could not
// be read), and up to kMaxExtraMethods other names as sent; beyond that
// "other". Codes per method: up to kMaxCodes distinct codes, then "other".
// Both bounds keep a caller from growing the label set without end.
class ApiStats {
 public:
  static constexpr size_t kMaxExtraMethods = 8;
  static constexpr size_t kMaxCodes = 64;

  ApiStats();
  ~ApiStats();
  // err_code "": success.
  void Record(std::string_view method, std::string_view err_code, int64_t latency_us);

  // {"<method>": {"count","errors","latency":LatencyHistogram JSON}, ...}
  // (the /_sandbox/stats format; latency with the log-linear buckets of
  // latency_histogram.h).
  nlohmann::json ToJson() const;
  // vkspay_api_requests_total{method,code} and
  // vkspay_api_request_duration_seconds{method}.
  void WritePrometheus(PromWriter& w) const;

  // Requests counted for (method, code); for tests.
  int64_t Count(std::string_view method, std::string_view code) const;

 private:
  struct Method;
  Method* Find(std::string_view name) const;
  Method* FindOrAdd(std::string_view name);

  static constexpr size_t kMaxMethods = 6 + kMaxExtraMethods + 1;
  std::array<std::atomic<Method*>, kMaxMethods> methods_{};
  std::atomic<size_t> n_methods_{0};
  std::mutex add_mu_;  // serializes adding a method (never on the hot path)
  std::vector<std::unique_ptr<Method>> owned_;  // guarded by add_mu_
};

// Notification delivery: attempts (and extra deliveries of fault injection)
// by kind and outcome, the latency of those that went out, and retries scheduled.
class DeliveryStats {
 public:
  // kind "attempt", or for the extra deliveries of fault injection
  // "duplicate", "times", "replay" (anything else: "extra"); outcome as the
  // delivery feed names it
  // (acked, http_status, wrong_ack_body, timeout, connect_error, dropped,
  // blocked; "" for an extra not sent: counted as "not_sent"). latency_us
  // is observed when `sent`.
  void RecordAttempt(std::string_view kind, std::string_view outcome, bool sent,
                     int64_t latency_us);
  // A failed attempt left its notification pending with a next attempt.
  void RecordRetryScheduled() { retries_.fetch_add(1, std::memory_order_relaxed); }

  void WritePrometheus(PromWriter& w) const;
  int64_t attempts(std::string_view kind, std::string_view outcome) const;
  int64_t retries_scheduled() const { return retries_.load(std::memory_order_relaxed); }

  static constexpr std::array<std::string_view, 5> kKinds = {"attempt", "duplicate", "times",
                                                             "replay", "extra"};
  static constexpr std::array<std::string_view, 9> kOutcomes = {
      "acked",   "http_status", "wrong_ack_body", "timeout", "connect_error",
      "dropped", "blocked",     "not_sent",       "other"};

 private:
  static size_t KindIndex(std::string_view kind);
  static size_t OutcomeIndex(std::string_view outcome);
  std::array<std::atomic<int64_t>, kKinds.size() * kOutcomes.size()> counts_{};
  AtomicHistogram latency_{DeliveryLatencyBoundsUs()};
  std::atomic<int64_t> retries_{0};
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TELEMETRY_METRICS_H_
