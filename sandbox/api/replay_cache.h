// Remembers signed requests seen within the timestamp window so that the
// exact same request sent twice is refused (NONCE_REPLAYED).
//
// A replay must carry the same timestamp as the original, so entries are
// bucketed by request timestamp and whole buckets are dropped once they fall
// out of the window. Each bucket is an open-addressing table of 64-bit
// request ids (8 bytes a slot, 3/8 to 3/4 full, doubling when it fills):
// 11-22 bytes per remembered request, so memory is bounded by the request
// rate times the window: 15,000 req/s over a 300 s window is 4.5 million
// requests, 48-96 MB (an unordered_set node per request took 40 and more).
// Thread-safe.
#ifndef VKSPAY_SANDBOX_API_REPLAY_CACHE_H_
#define VKSPAY_SANDBOX_API_REPLAY_CACHE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

namespace vkspay::sandbox {

class ReplayCache {
 public:
  explicit ReplayCache(int64_t window_s) : window_s_(window_s) {}

  // Records (merchantno, sign) for a request with this timestamp. Returns
  // false if it was already recorded (a replay).
  bool Remember(std::string_view merchantno, std::string_view sign, int64_t timestamp,
                int64_t now);
  // Requests remembered.
  size_t size() const;
  // Bytes held by the tables (for tests and the memory figures).
  size_t bytes() const;

 private:
  // A set of non-zero 64-bit ids: linear probing in a power-of-two table.
  class IdSet {
   public:
    // False if `id` (non-zero) was there already.
    bool Insert(uint64_t id);
    size_t size() const { return size_; }
    size_t bytes() const { return slots_.capacity() * sizeof(uint64_t); }

   private:
    void Grow();
    std::vector<uint64_t> slots_;  // 0: empty
    size_t size_ = 0;
  };

  const int64_t window_s_;
  mutable std::mutex mu_;
  std::map<int64_t, IdSet> buckets_;  // guarded by mu_; by request timestamp
  size_t size_ = 0;                   // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_API_REPLAY_CACHE_H_
