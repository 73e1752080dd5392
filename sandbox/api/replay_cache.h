// Remembers signed requests seen within the timestamp window so that the
// exact same request sent twice is refused (NONCE_REPLAYED).
//
// A replay must carry the same timestamp as the original, so entries are
// bucketed by request timestamp and whole buckets are dropped once they fall
// out of the window: memory is bounded by the request rate times the window,
// 16 bytes per request. Thread-safe.
#ifndef VKSPAY_SANDBOX_API_REPLAY_CACHE_H_
#define VKSPAY_SANDBOX_API_REPLAY_CACHE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_set>

namespace vkspay::sandbox {

class ReplayCache {
 public:
  explicit ReplayCache(int64_t window_s) : window_s_(window_s) {}

  // Records (merchantno, sign) for a request with this timestamp. Returns
  // false if it was already recorded (a replay).
  bool Remember(std::string_view merchantno, std::string_view sign, int64_t timestamp,
                int64_t now);
  size_t size() const;

 private:
  const int64_t window_s_;
  mutable std::mutex mu_;
  std::map<int64_t, std::unordered_set<uint64_t>> buckets_;  // guarded by mu_
  size_t size_ = 0;                                          // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_API_REPLAY_CACHE_H_
