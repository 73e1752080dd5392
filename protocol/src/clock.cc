#include "vkspay/protocol/clock.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace vkspay {

int64_t SystemClock::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Random::Digits(int count, char lo) {
  std::string out;
  out.reserve(static_cast<size_t>(count));
  const uint64_t span = static_cast<uint64_t>('9' - lo + 1);
  for (int i = 0; i < count; ++i) out.push_back(static_cast<char>(lo + Uniform(span)));
  return out;
}

uint64_t CryptoRandom::Next() {
  unsigned char bytes[sizeof(uint64_t)];
  if (RAND_bytes(bytes, static_cast<int>(sizeof bytes)) != 1) {
    // No fallback: a token drawn from anything weaker is the bug this class
    // exists to prevent.
    char reason[256] = "unknown error";
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    std::fprintf(stderr, "vkspay: RAND_bytes failed (%s); stopping\n", reason);
    std::abort();
  }
  uint64_t out = 0;
  std::memcpy(&out, bytes, sizeof out);
  return out;
}

std::string Random::Hex128() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (int draw = 0; draw < 2; ++draw) {
    const uint64_t x = Next();
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(x >> shift) & 0xf]);
  }
  return out;
}

namespace {
std::tm ChinaTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds + 8 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string FormatCompactTime(int64_t unix_seconds) {
  std::tm tm = ChinaTime(unix_seconds);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string FormatDisplayTime(int64_t unix_seconds) {
  std::tm tm = ChinaTime(unix_seconds);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace vkspay
