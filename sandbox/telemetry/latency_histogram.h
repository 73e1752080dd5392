// A latency histogram with bounded relative error, laid out as HdrHistogram
// lays out its buckets ("log-linear"): values below 256 µs each have a bucket
// of their own; above, every power of two [2^k, 2^(k+1)) is cut into 128
// equal sub-buckets, so a bucket is at most 1/128 (0.78%) of its lower bound
// wide. Values are microseconds, clamped to [0, 2^40) (about 12.7 days).
// Memory grows with the largest value seen: at most 4,480 counters (35 KiB).
//
// Percentiles are nearest-rank and answer the recorded bucket's highest
// value (never below the true sample, at most 0.78% above it), clamped to
// the largest value recorded.
//
// Not thread-safe; wrap it (ApiStats does).
#ifndef VKSPAY_SANDBOX_TELEMETRY_LATENCY_HISTOGRAM_H_
#define VKSPAY_SANDBOX_TELEMETRY_LATENCY_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nlohmann/json.hpp"

namespace vkspay::sandbox {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;                      // 128 sub-buckets per octave
  static constexpr int64_t kLinearLimit = 2 << kSubBits;  // 256: exact below
  static constexpr int64_t kMaxValue = (int64_t{1} << 40) - 1;

  struct Bucket {
    int64_t from_us = 0;  // lowest value of the bucket
    int64_t to_us = 0;    // highest value of the bucket
    int64_t count = 0;
  };

  void Record(int64_t us, int64_t count = 1);
  // Adds every count of `other`.
  void Merge(const LatencyHistogram& other);
  // Removes the counts of `earlier`, an older snapshot of this same
  // histogram (a window's histogram is now minus then). Buckets never go
  // below zero; max() is then the highest non-empty bucket's top.
  void Subtract(const LatencyHistogram& earlier);

  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ > 0 ? static_cast<double>(sum_) / count_ : 0; }
  // The q-quantile (0..1), nearest rank; 0 when empty.
  int64_t ValueAt(double q) const;
  // The non-empty buckets, ascending.
  std::vector<Bucket> Buckets() const;

  // {"count","sum_us","max_us","buckets":[[from_us,count],...]}; FromJson
  // reads it back exactly (each count lands in the bucket it came from).
  nlohmann::json ToJson() const;
  static LatencyHistogram FromJson(const nlohmann::json& j);

  static size_t IndexOf(int64_t us);
  static int64_t LowestOf(size_t index);
  static int64_t HighestOf(size_t index);

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TELEMETRY_LATENCY_HISTOGRAM_H_
