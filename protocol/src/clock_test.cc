#include "vkspay/protocol/clock.h"

#include <gtest/gtest.h>

#include <set>

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

}  // namespace
}  // namespace vkspay
