#include "vkspay/protocol/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

namespace vkspay {
namespace {

// The published splitmix64 sequence seeded with 0: its outputs are the
// finaliser of 1, 2, 3 times the golden-ratio increment (minus one step,
// which SplitMix64 adds itself).
TEST(SplitMix64, MatchesThePublishedSequence) {
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64(0x9e3779b97f4a7c15ULL), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(SplitMix64(2 * 0x9e3779b97f4a7c15ULL), 0x06c45d188009454fULL);
}

TEST(SplitMix64, NeighbouringInputsGiveUnrelatedOutputs) {
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 1000; ++i) seen.insert(SplitMix64(i) >> 48);
  // 1,000 random 16-bit prefixes collide about 8 times (995 distinct here);
  // a weak mix of neighbouring inputs shares its high bits.
  EXPECT_GT(seen.size(), 980u);
}

TEST(SeededRandom, TheSameSeedGivesTheSameSequence) {
  SeededRandom a(42), b(42), c(43);
  for (int i = 0; i < 5; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    EXPECT_NE(x, c.Next());
  }
}

// Issue #13 finding 5: the sandbox drew cashier tokens from a SeededRandom
// seeded with the start time, so one order's token gave away the seed and
// every other token. CryptoRandom has no seed to recover: two instances
// (two sandboxes started alike) draw unrelated sequences.
TEST(CryptoRandom, TwoInstancesDrawDifferentSequences) {
  CryptoRandom a, b;
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(a.Next());
    seen.insert(b.Next());
  }
  EXPECT_EQ(seen.size(), 2000u);  // 2,000 64-bit draws: a repeat is ~1e-13
}

TEST(CryptoRandom, EveryBitIsSetAboutHalfTheTime) {
  CryptoRandom r;
  constexpr int kDraws = 4096;
  int ones[64] = {};
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t x = r.Next();
    for (int bit = 0; bit < 64; ++bit) ones[bit] += static_cast<int>((x >> bit) & 1);
  }
  // Binomial(4096, 0.5): sd 32; 2048 +- 256 is 8 sd, never reached by chance.
  for (int bit = 0; bit < 64; ++bit) {
    EXPECT_GT(ones[bit], 2048 - 256) << "bit " << bit;
    EXPECT_LT(ones[bit], 2048 + 256) << "bit " << bit;
  }
}

TEST(Random, Hex128IsTwoWholeDrawsInOrder) {
  SeededRandom a(5), b(5);
  const std::string hex = a.Hex128();
  char expected[33];
  const uint64_t hi = b.Next();
  const uint64_t lo = b.Next();
  std::snprintf(expected, sizeof expected, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  EXPECT_EQ(hex, expected);
}

TEST(CryptoRandom, Hex128TokensAre32HexCharactersAndNeverRepeat) {
  CryptoRandom r;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = r.Hex128();
    ASSERT_EQ(t.size(), 32u);
    ASSERT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(CryptoRandom, DigitsAreDecimalFromTheLowerBound) {
  CryptoRandom r;
  std::set<char> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string d = r.Digits(8, '1');
    ASSERT_EQ(d.size(), 8u);
    for (char c : d) {
      ASSERT_GE(c, '1') << d;
      ASSERT_LE(c, '9') << d;
      seen.insert(c);
    }
  }
  EXPECT_EQ(seen.size(), 9u);
}

}  // namespace
}  // namespace vkspay
