#include "sandbox/config/config.h"

#include <gtest/gtest.h>

namespace vkspay::sandbox {
namespace {

TEST(Config, DemoHasTheDocumentedMerchant) {
  SandboxConfig c = SandboxConfig::Demo();
  const Merchant* m = c.FindMerchant("10001");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->key, "sandbox-demo-key-0123456789abcdef");
  EXPECT_EQ(c.FindMerchant("10002"), nullptr);
}

TEST(Config, LoadsTheSampleFixture) {
  auto c = LoadConfigFile(std::string(VKSPAY_FIXTURES_DIR) + "/config/two-merchants.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->merchants.size(), 2u);
  EXPECT_EQ(c->FindMerchant("20002")->notify_url, "http://127.0.0.1:9000/notify");
  EXPECT_EQ(c->settings.max_total_fee_fen, 100000000);
  EXPECT_EQ(c->settings.timestamp_window_s, 300);
}

TEST(Config, ErrorsNameThePathAndWhatWasExpected) {
  auto c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"},{"merchantno":"2"}]})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidField);
  EXPECT_NE(c.status().message().find("merchants[1].key"), std::string::npos);

  c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],"settings":{"order_expiry_s":"x"}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("settings.order_expiry_s"), std::string::npos);

  c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],"settings":{"typo":1}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("settings.typo"), std::string::npos);
}

TEST(Config, RefusesDuplicateMerchantsAndEmptyLists) {
  EXPECT_FALSE(ParseConfig(R"({"merchants":[{"merchantno":"1","key":"a"},{"merchantno":"1","key":"b"}]})").ok());
  EXPECT_FALSE(ParseConfig(R"({"merchants":[]})").ok());
  EXPECT_FALSE(ParseConfig("not json").ok());
  EXPECT_EQ(LoadConfigFile("/nonexistent/x.json").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vkspay::sandbox
