#include "sandbox/telemetry/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vkspay::sandbox {

namespace {
constexpr int64_t kSub = int64_t{1} << LatencyHistogram::kSubBits;  // 128
}

size_t LatencyHistogram::IndexOf(int64_t us) {
  us = std::clamp<int64_t>(us, 0, kMaxValue);
  if (us < kLinearLimit) return static_cast<size_t>(us);
  // us in [2^(e+7), 2^(e+8)): its top 8 bits pick one of 128 sub-buckets.
  const int e = std::bit_width(static_cast<uint64_t>(us)) - 1 - kSubBits;
  const int64_t sub = us >> e;  // in [128, 256)
  return static_cast<size_t>(kLinearLimit + (e - 1) * kSub + (sub - kSub));
}

int64_t LatencyHistogram::LowestOf(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < kLinearLimit) return i;
  const int64_t e = (i - kLinearLimit) / kSub + 1;
  const int64_t sub = (i - kLinearLimit) % kSub + kSub;
  return sub << e;
}

int64_t LatencyHistogram::HighestOf(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < kLinearLimit) return i;
  const int64_t e = (i - kLinearLimit) / kSub + 1;
  return LowestOf(index) + (int64_t{1} << e) - 1;
}

void LatencyHistogram::Record(int64_t us, int64_t count) {
  if (count <= 0) return;
  us = std::clamp<int64_t>(us, 0, kMaxValue);
  const size_t i = IndexOf(us);
  if (i >= counts_.size()) counts_.resize(i + 1, 0);
  counts_[i] += count;
  count_ += count;
  sum_ += us * count;
  max_ = std::max(max_, us);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::Subtract(const LatencyHistogram& earlier) {
  count_ = 0;
  max_ = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (i < earlier.counts_.size())
      counts_[i] = std::max<int64_t>(0, counts_[i] - earlier.counts_[i]);
    count_ += counts_[i];
    if (counts_[i] > 0) max_ = HighestOf(i);
  }
  sum_ = std::max<int64_t>(0, sum_ - earlier.sum_);
}

int64_t LatencyHistogram::ValueAt(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestOf(i), max_);
  }
  return max_;
}

std::vector<LatencyHistogram::Bucket> LatencyHistogram::Buckets() const {
  std::vector<Bucket> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] > 0) out.push_back(Bucket{LowestOf(i), HighestOf(i), counts_[i]});
  }
  return out;
}

nlohmann::json LatencyHistogram::ToJson() const {
  nlohmann::json j;
  j["count"] = count_;
  j["sum_us"] = sum_;
  j["max_us"] = max_;
  j["buckets"] = nlohmann::json::array();
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] > 0) j["buckets"].push_back({LowestOf(i), counts_[i]});
  }
  return j;
}

LatencyHistogram LatencyHistogram::FromJson(const nlohmann::json& j) {
  LatencyHistogram h;
  if (!j.is_object()) return h;
  if (const auto it = j.find("buckets"); it != j.end() && it->is_array()) {
    for (const auto& b : *it) {
      if (b.is_array() && b.size() == 2 && b[0].is_number_integer() && b[1].is_number_integer()) {
        h.Record(b[0].get<int64_t>(), b[1].get<int64_t>());
      }
    }
  }
  // The exact sum and max, not the buckets' lower bounds.
  h.sum_ = j.value("sum_us", h.sum_);
  h.max_ = std::max(h.max_, j.value("max_us", int64_t{0}));
  return h;
}

}  // namespace vkspay::sandbox
