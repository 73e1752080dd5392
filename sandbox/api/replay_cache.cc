#include "sandbox/api/replay_cache.h"

#include <functional>
#include <string>

namespace vkspay::sandbox {

bool ReplayCache::Remember(std::string_view merchantno, std::string_view sign,
                           int64_t timestamp, int64_t now) {
  // The sign is an MD5 over the whole request (nonce and timestamp included);
  // 64 bits of it, mixed with the merchant, identify the request.
  uint64_t id = std::hash<std::string_view>{}(sign) ^
                (std::hash<std::string_view>{}(merchantno) * 0x9e3779b97f4a7c15ULL);
  std::lock_guard<std::mutex> lock(mu_);
  // Timestamps older than now - window can no longer be accepted, so their
  // buckets are dead.
  while (!buckets_.empty() && buckets_.begin()->first < now - window_s_) {
    size_ -= buckets_.begin()->second.size();
    buckets_.erase(buckets_.begin());
  }
  bool inserted = buckets_[timestamp].insert(id).second;
  if (inserted) ++size_;
  return inserted;
}

size_t ReplayCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

}  // namespace vkspay::sandbox
