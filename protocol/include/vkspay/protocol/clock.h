// Time and randomness, injected everywhere so tests are deterministic.
//
// Nothing in vkspay reads the system clock or an unseeded generator directly:
// it asks a Clock or a Random it was given. FakeClock lets tests set and
// advance time; SeededRandom replays the same sequence for the same seed;
// CryptoRandom (OpenSSL's RAND_bytes) is what the sandbox's main gives
// everything that draws secrets or ids a stranger must not predict (cashier
// tokens, generated order numbers, notification nonces, the control token;
// issue #13 finding 5). All implementations here are thread-safe.
#ifndef VKSPAY_PROTOCOL_CLOCK_H_
#define VKSPAY_PROTOCOL_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace vkspay {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t NowMicros() const = 0;
  int64_t NowSeconds() const { return NowMicros() / 1'000'000; }
  int64_t NowMillis() const { return NowMicros() / 1'000; }
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
};

// A clock that only moves when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_micros = 1'700'000'000'000'000) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void SetMicros(int64_t t) { now_.store(t); }
  void AdvanceMicros(int64_t d) { now_.fetch_add(d); }
  void AdvanceSeconds(int64_t s) { AdvanceMicros(s * 1'000'000); }

 private:
  std::atomic<int64_t> now_;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
  // Uniform in [0, n), n > 0.
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // `count` decimal digits, each drawn from [lo, 9].
  std::string Digits(int count, char lo = '0');
  // 32 lowercase hex characters from two whole draws: all 128 bits come from
  // the generator (no modulo, nothing thrown away). For tokens.
  std::string Hex128();
};

// splitmix64's finaliser: spreads every bit of x over the result. For
// deterministic per-key draws (a seed mixed with an id) without a generator.
constexpr uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// mt19937_64 behind a mutex; the same seed gives the same sequence.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}
  uint64_t Next() override {
    std::lock_guard<std::mutex> lock(mu_);
    return gen_();
  }

 private:
  std::mutex mu_;
  std::mt19937_64 gen_;  // guarded by mu_
};

// A cryptographically secure generator: every draw is 8 bytes of OpenSSL's
// RAND_bytes (its DRBG, seeded from the operating system). Not replayable
// by design. If RAND_bytes ever fails, the process aborts with a message on
// stderr rather than hand out a predictable token.
class CryptoRandom final : public Random {
 public:
  uint64_t Next() override;
};

// Formats unix seconds (UTC+8, as VksPay and the Chinese wallets do) as
// "yyyyMMddHHmmss".
std::string FormatCompactTime(int64_t unix_seconds);
// Formats unix seconds (UTC+8) as "yyyy-MM-dd HH:mm:ss".
std::string FormatDisplayTime(int64_t unix_seconds);

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_CLOCK_H_
