#include "sandbox/api/replay_cache.h"

#include <functional>
#include <string>

namespace vkspay::sandbox {
namespace {

constexpr size_t kFirstSlots = 64;

// Spreads the bits so that the low ones index the table well.
uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

bool ReplayCache::IdSet::Insert(uint64_t id) {
  if (slots_.empty()) slots_.assign(kFirstSlots, 0);
  const size_t mask = slots_.size() - 1;
  for (size_t i = Mix(id) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == id) return false;
    if (slots_[i] == 0) {
      slots_[i] = id;
      ++size_;
      // At most 3/4 full, so a probe always ends at an empty slot.
      if (size_ * 4 > slots_.size() * 3) Grow();
      return true;
    }
  }
}

void ReplayCache::IdSet::Grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (uint64_t id : old) {
    if (id == 0) continue;
    size_t i = Mix(id) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = id;
  }
}

bool ReplayCache::Remember(std::string_view merchantno, std::string_view sign,
                           int64_t timestamp, int64_t now) {
  // The sign is an MD5 over the whole request (nonce and timestamp included);
  // 64 bits of it, mixed with the merchant, identify the request. 0 marks an
  // empty slot, so an id of 0 is stored as 1.
  uint64_t id = std::hash<std::string_view>{}(sign) ^
                (std::hash<std::string_view>{}(merchantno) * 0x9e3779b97f4a7c15ULL);
  if (id == 0) id = 1;
  std::lock_guard<std::mutex> lock(mu_);
  // Timestamps older than now - window can no longer be accepted, so their
  // buckets are dead.
  while (!buckets_.empty() && buckets_.begin()->first < now - window_s_) {
    size_ -= buckets_.begin()->second.size();
    buckets_.erase(buckets_.begin());
  }
  const bool inserted = buckets_[timestamp].Insert(id);
  if (inserted) ++size_;
  return inserted;
}

size_t ReplayCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

size_t ReplayCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t total = 0;
  for (const auto& [ts, set] : buckets_) total += set.bytes();
  return total;
}

}  // namespace vkspay::sandbox
