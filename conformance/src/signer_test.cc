#include "vkspay/conformance/signer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace vkspay::conformance {
namespace {

TEST(Md5Hex, KnownDigest) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(RawBody, ReproducesTheIssueKnownAnswer) {
  RawBody b;
  b.Str("method", "webpay")
      .Str("merchantno", "10001")
      .Num("total_fee", "0.01")
      .Str("notify_url", "http://127.0.0.1:9000/notify")
      .Str("signaturenonce", "12345678")
      .Num("timestamp", "1700000000")
      .Str("version", "2.0");
  EXPECT_EQ(b.CanonicalString("sandbox-demo-key-0123456789abcdef"),
            "merchantno=10001&method=webpay&notify_url=http://127.0.0.1:9000/"
            "notify&signaturenonce=12345678&timestamp=1700000000&total_fee=0.01&version=2.0&key="
            "sandbox-demo-key-0123456789abcdef");
  EXPECT_EQ(b.Sign("sandbox-demo-key-0123456789abcdef"), "de963e0b40918ea7417e4c229c6f6de0");
  EXPECT_EQ(
      b.Json(),
      R"({"method":"webpay","merchantno":"10001","total_fee":0.01,"notify_url":"http://127.0.0.1:9000/notify","signaturenonce":"12345678","timestamp":1700000000,"version":"2.0"})");
}

TEST(RawBody, LiteralsSignAsTheirStatedRendering) {
  RawBody b;
  b.Lit("d", "100.50", "100.5");
  EXPECT_EQ(b.Json(), R"({"d":100.50})");
  EXPECT_EQ(b.CanonicalString("k"), "d=100.5&key=k");
}

TEST(RawBody, StringsAreEscapedInJsonButSignedRaw) {
  RawBody b;
  b.Str("s", "a\"b\n");
  EXPECT_EQ(b.Json(), R"({"s":"a\"b\n"})");
  EXPECT_EQ(b.CanonicalString("k"), "s=a\"b\n&key=k");
}

TEST(RawBody, JsonWithSignAppendsExtraMembersBeforeSign) {
  RawBody b;
  b.Str("a", "1");
  EXPECT_EQ(b.JsonWithSign("s", "\"x\":1"), R"({"a":"1","x":1,"sign":"s"})");
}

TEST(CanonicalString, SortsUppercaseUnderscoreLowercase) {
  EXPECT_EQ(CanonicalString({{"a", "1"}, {"_b", "2"}, {"B", "3"}}, "k"), "B=3&_b=2&a=1&key=k");
}

// The compiled-in vectors are the fixture file, and every one is reproduced.
TEST(SigningVectors, MatchTheFixtureFile) {
  std::ifstream f(std::string(VKSPAY_FIXTURES_DIR) + "/vectors/signing.json");
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str());
  ASSERT_EQ(SigningVectors().size(), j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    EXPECT_EQ(SigningVectors()[i].name, j[i]["name"]);
    EXPECT_EQ(SigningVectors()[i].sign, j[i]["sign"]);
  }
}

TEST(SigningVectors, EverySignIsTheMd5OfItsCanonicalString) {
  for (const SigningVector& v : SigningVectors()) {
    EXPECT_EQ(Md5Hex(v.canonical), v.sign) << v.name;
  }
}

TEST(VectorPairs, RebuildEveryCanonicalString) {
  for (const SigningVector& v : SigningVectors()) {
    auto pairs = VectorPairs(v);
    ASSERT_FALSE(pairs.empty()) << v.name;
    EXPECT_EQ(CanonicalString(pairs, v.key), v.canonical) << v.name;
  }
}

TEST(VectorPairs, SplitsValuesThatContainAmpersandsAndEquals) {
  for (const SigningVector& v : SigningVectors()) {
    if (v.name != "amp_and_equals_in_values") continue;
    auto pairs = VectorPairs(v);
    ASSERT_EQ(pairs.size(), 2u);
    EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"a", "1&b=2"}));
    EXPECT_EQ(pairs[1].second, "http://h/n?x=1&y=2");
    return;
  }
  FAIL() << "vector amp_and_equals_in_values not found";
}

TEST(VectorMembers, AreTheBodyWithoutBraces) {
  SigningVector v{"n", "k", R"({"a":1,"b":"x"})", "", ""};
  EXPECT_EQ(VectorMembers(v), R"("a":1,"b":"x")");
}

}  // namespace
}  // namespace vkspay::conformance
