#include "vkspay/protocol/signature.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace vkspay {
namespace {

constexpr char kDemoKey[] = "sandbox-demo-key-0123456789abcdef";

TEST(Signature, IssueKnownAnswer) {
  auto f = ParseFlatJson(
      R"({"method":"webpay","merchantno":"10001","total_fee":0.01,"notify_url":"http://127.0.0.1:9000/notify","signaturenonce":"12345678","timestamp":1700000000,"version":"2.0"})");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(CanonicalString(*f, kDemoKey),
            "merchantno=10001&method=webpay&notify_url=http://127.0.0.1:9000/"
            "notify&signaturenonce=12345678&timestamp=1700000000&total_fee=0.01&version=2.0&"
            "key=sandbox-demo-key-0123456789abcdef");
  EXPECT_EQ(Sign(*f, kDemoKey), "de963e0b40918ea7417e4c229c6f6de0");
}

// Known-answer vectors computed by fixtures/vectors/gen_vectors.js (Node's
// JSON.parse, String() and crypto), an implementation this library does not share.
struct Vector {
  std::string name, key, body, canonical, sign;
};
void PrintTo(const Vector& v, std::ostream* os) { *os << v.name; }

std::vector<Vector> LoadVectors() {
  std::ifstream in(std::string(VKSPAY_FIXTURES_DIR) + "/vectors/signing.json");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<Vector> out;
  for (const auto& j : nlohmann::json::parse(ss.str())) {
    out.push_back({j["name"], j["key"], j["body"], j["canonical"], j["sign"]});
  }
  return out;
}

class SignatureVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(SignatureVectors, CanonicalStringAndSignMatchTheReference) {
  const Vector& v = GetParam();
  auto f = ParseFlatJson(v.body);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(CanonicalString(*f, v.key), v.canonical);
  EXPECT_EQ(Sign(*f, v.key), v.sign);
  Fields signed_fields = WithSign(*f, v.key);
  EXPECT_TRUE(VerifySign(signed_fields, v.key).ok());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SignatureVectors, ::testing::ValuesIn(LoadVectors()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(Signature, VectorsFileIsNotEmpty) { EXPECT_GE(LoadVectors().size(), 10u); }

Fields Demo() {
  return WithSign(Fields{{"method", std::string("orderquery")},
                         {"merchantno", std::string("10001")},
                         {"out_trade_no", std::string("T1")},
                         {"timestamp", 1700000000.0},
                         {"signaturenonce", std::string("12345678")},
                         {"version", std::string("2.0")}},
                  kDemoKey);
}

TEST(VerifySign, RefusesWrongUppercaseTruncatedAndMissingSign) {
  Fields f = Demo();
  ASSERT_TRUE(VerifySign(f, kDemoKey).ok());
  std::string good = std::get<std::string>(*f.Find("sign"));

  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  f.Set("sign", upper);
  EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kSignError);

  f.Set("sign", good.substr(0, 31));
  EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kSignError);

  f.Set("sign", std::string(32, '0'));
  EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kSignError);

  f.Set("sign", 1.0);
  EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kSignError);

  f.Erase("sign");
  EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kMissingField);
}

TEST(VerifySign, FieldChangedAfterSigningIsRefusedAndTheMessageMasksTheKey) {
  Fields f = Demo();
  f.Set("out_trade_no", std::string("T2"));
  Status st = VerifySign(f, kDemoKey);
  EXPECT_EQ(st.code(), ErrorCode::kSignError);
  EXPECT_NE(st.message().find("out_trade_no=T2"), std::string::npos);
  EXPECT_NE(st.message().find("&key=***"), std::string::npos);
  EXPECT_EQ(st.message().find(kDemoKey), std::string::npos);
}

TEST(VerifySign, UnknownFieldsTakePart) {
  Fields f = Demo();
  f.Set("extra", std::string(""));
  EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kSignError);
}

// The sign a wrong recipe gives: `canonical` (without the key) then `tail`.
std::string WrongSign(const std::string& canonical, const std::string& tail) {
  return Md5Hex(canonical + tail);
}

TEST(VerifySign, AMismatchFromAKnownWrongRecipeNamesTheMistake) {
  auto f = ParseFlatJson(
      R"({"method":"webpay","merchantno":"10001","total_fee":1,"attach":"","subject":"",)"
      R"("notify_url":"http://127.0.0.1:9/n","signaturenonce":"12345678","timestamp":1700000000,"version":"2.0"})");
  ASSERT_TRUE(f.ok());
  const std::string key = kDemoKey;
  // WeChat Pay's rule: empty values left out.
  const std::string no_empty =
      "merchantno=10001&method=webpay&notify_url=http://127.0.0.1:9/n&signaturenonce=12345678"
      "&timestamp=1700000000&total_fee=1&version=2.0";
  Fields g = *f;
  g.Set("sign", WrongSign(no_empty, "&key=" + key));
  Status st = VerifySign(g, key);
  EXPECT_EQ(st.code(), ErrorCode::kSignError);
  EXPECT_NE(st.message().find("跳过了空值字段 (attach, subject)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("as WeChat Pay does"), std::string::npos);
  // Python's str(): 1.0 and 1700000000.0 for the numbers.
  const std::string python =
      "attach=&merchantno=10001&method=webpay&notify_url=http://127.0.0.1:9/n"
      "&signaturenonce=12345678&subject=&timestamp=1700000000.0&total_fee=1.0&version=2.0";
  g.Set("sign", WrongSign(python, "&key=" + key));
  st = VerifySign(g, key);
  EXPECT_NE(st.message().find("Python's str()"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("timestamp, total_fee"), std::string::npos) << st.message();
  // The key without "&key=".
  const std::string right = CanonicalString(*f, "");
  const std::string pairs = right.substr(0, right.size() - 5);  // drop "&key="
  for (const std::string& tail : {"&" + key, key}) {
    g.Set("sign", WrongSign(pairs, tail));
    st = VerifySign(g, key);
    EXPECT_NE(st.message().find("\"&key=<key>\""), std::string::npos) << st.message();
  }
  // Any other wrong sign: no hint, and never the key.
  g.Set("sign", WrongSign(no_empty, "&key=another-key"));
  st = VerifySign(g, key);
  EXPECT_EQ(st.code(), ErrorCode::kSignError);
  EXPECT_EQ(st.message().find("hint"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(key), std::string::npos);
}

TEST(Md5Hex, KnownDigests) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

}  // namespace
}  // namespace vkspay
