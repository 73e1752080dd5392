#include "vkspay/conformance/target.h"

#include <gtest/gtest.h>

namespace vkspay::conformance {
namespace {

TEST(SplitUrl, SeparatesOriginAndPathPrefix) {
  std::string origin, path;
  ASSERT_TRUE(SplitUrl("--base-url", "http://127.0.0.1:8080/vk/", &origin, &path).ok());
  EXPECT_EQ(origin, "http://127.0.0.1:8080");
  EXPECT_EQ(path, "/vk");
  ASSERT_TRUE(SplitUrl("--base-url", "https://pay.example.com", &origin, &path).ok());
  EXPECT_EQ(origin, "https://pay.example.com");
  EXPECT_EQ(path, "");
}

TEST(SplitUrl, RefusesOtherSchemesNamingTheFlag) {
  std::string origin, path;
  for (const char* bad : {"ftp://x", "127.0.0.1:8080", "http://", "http:///api"}) {
    Status st = SplitUrl("--notify-url", bad, &origin, &path);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.code(), ErrorCode::kInvalidField);
    EXPECT_NE(st.message().find("--notify-url"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(bad), std::string::npos) << st.message();
  }
}

TEST(Target, EnvelopeCarriesTheFiveFieldsAndAFreshNonce) {
  TargetOptions o;
  o.base_url = "http://127.0.0.1:9";
  o.merchantno = "10001";
  o.key = "k";
  o.seed = 7;
  auto t = Target::Create(o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  RawBody a = (*t)->Envelope("orderquery");
  RawBody b = (*t)->Envelope("orderquery");
  EXPECT_EQ(a.Canonical("method"), "orderquery");
  EXPECT_EQ(a.Canonical("merchantno"), "10001");
  EXPECT_EQ(a.Canonical("version"), "2.0");
  EXPECT_TRUE(a.Has("timestamp"));
  const std::string nonce = a.Canonical("signaturenonce");
  EXPECT_EQ(nonce.size(), 8u);
  EXPECT_EQ(nonce.find_first_not_of("123456789"), std::string::npos) << nonce;
  EXPECT_NE(nonce, b.Canonical("signaturenonce"));
  EXPECT_FALSE((*t)->has_control());
}

TEST(Target, OrderNumbersAreUniqueAndUseAllowedCharacters) {
  TargetOptions o;
  o.base_url = "http://127.0.0.1:9";
  auto t = Target::Create(o);
  ASSERT_TRUE(t.ok());
  const std::string a = (*t)->NewOrderNo("tag with spaces & stuff");
  const std::string b = (*t)->NewOrderNo("tag with spaces & stuff");
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
            std::string::npos)
      << a;
}

TEST(Target, ABadBaseUrlIsRefused) {
  TargetOptions o;
  o.base_url = "localhost:8080";
  auto t = Target::Create(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("--base-url"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::conformance
