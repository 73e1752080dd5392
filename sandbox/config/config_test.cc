#include "sandbox/config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

TEST(Config, FaultsSectionIsParsedWithTheRestOfTheFile) {
  auto c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],
    "faults":{"profile":"realistic","magic_amounts":false,
              "rules":[{"id":"slow","action":{"kind":"api.delay","params":{"ms":5}}}]}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->faults.profile, "realistic");
  EXPECT_FALSE(c->faults.magic_amounts);
  ASSERT_EQ(c->faults.rules.size(), 1u);
  EXPECT_EQ(c->faults.rules[0].id, "slow");
  // Absent: strict, no rules.
  c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->faults.profile, "strict");
  EXPECT_TRUE(c->faults.rules.empty());
}

TEST(Config, BadFaultRuleNamesItsPath) {
  auto c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],
    "faults":{"rules":[{"action":{"kind":"api.nope"}}]}})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidField);
  EXPECT_NE(c.status().message().find("faults.rules[0].action.kind"), std::string::npos)
      << c.status().message();
}

TEST(Config, RefusesDuplicateMerchantsAndEmptyLists) {
  EXPECT_FALSE(ParseConfig(R"({"merchants":[{"merchantno":"1","key":"a"},{"merchantno":"1","key":"b"}]})").ok());
  EXPECT_FALSE(ParseConfig(R"({"merchants":[]})").ok());
  EXPECT_FALSE(ParseConfig("not json").ok());
  EXPECT_EQ(LoadConfigFile("/nonexistent/x.json").status().code(), ErrorCode::kNotFound);
}

TEST(Config, NotifySettingsDefaultToTheVksPayProfile) {
  SandboxConfig c = SandboxConfig::Demo();
  const Settings& s = c.settings;
  EXPECT_EQ(s.notify_profile, "vkspay");
  EXPECT_TRUE(s.notify_schedule.empty());
  EXPECT_EQ(s.notify_timeout_ms, 5000);
  EXPECT_EQ(s.notify_workers, 64);
  EXPECT_EQ(s.notify_per_host, 2);
  EXPECT_EQ(s.notify_per_host_max, 32);
  EXPECT_EQ(s.time_scale, 1.0);
  EXPECT_EQ(s.forward_to, "");
  EXPECT_TRUE(s.notify_allow.empty());
  EXPECT_FALSE(s.strict_notify_url);
  EXPECT_FALSE(s.notify_refuse_loopback);
  EXPECT_EQ(s.notify_ca_file, "");
  EXPECT_EQ(c.merchants[0].ack_mode, AckMode::kJson);
  EXPECT_EQ(c.merchants[0].forward_to, "");
}

TEST(Config, ReadsEveryNotifySetting) {
  auto c = ParseConfig(R"({
    "merchants":[{"merchantno":"1","key":"k","ack_mode":"text",
                  "forward_to":"http://127.0.0.1:7000/hook"},
                 {"merchantno":"2","key":"k2","ack_mode":"any2xx"}],
    "settings":{"notify_profile":"custom","notify_schedule":[1,2.5,60],
                "notify_timeout_ms":1500,"notify_workers":4,"notify_per_host":3,
                "notify_per_host_max":12,"time_scale":0.001,"forward_to":"https://hooks.test/x",
                "notify_allow":["merchant.test","10.0.0.0/8"],"strict_notify_url":true,
                "notify_refuse_loopback":true,"notify_ca_file":"/tmp/ca.pem"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->merchants[0].ack_mode, AckMode::kText);
  EXPECT_EQ(c->merchants[0].forward_to, "http://127.0.0.1:7000/hook");
  EXPECT_EQ(c->merchants[1].ack_mode, AckMode::kAny2xx);
  const Settings& s = c->settings;
  EXPECT_EQ(s.notify_profile, "custom");
  EXPECT_EQ(s.notify_schedule, (std::vector<double>{1, 2.5, 60}));
  EXPECT_EQ(s.notify_timeout_ms, 1500);
  EXPECT_EQ(s.notify_workers, 4);
  EXPECT_EQ(s.notify_per_host, 3);
  EXPECT_EQ(s.notify_per_host_max, 12);
  EXPECT_EQ(s.time_scale, 0.001);
  EXPECT_EQ(s.forward_to, "https://hooks.test/x");
  EXPECT_EQ(s.notify_allow, (std::vector<std::string>{"merchant.test", "10.0.0.0/8"}));
  EXPECT_TRUE(s.strict_notify_url);
  EXPECT_TRUE(s.notify_refuse_loopback);
  EXPECT_EQ(s.notify_ca_file, "/tmp/ca.pem");
}

TEST(Config, ThePerHostCapIsAtLeastThePerHostStart) {
  auto c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],
    "settings":{"notify_per_host":4,"notify_per_host_max":3}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("settings.notify_per_host_max"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("from notify_per_host (4) to 256"), std::string::npos)
      << c.status().message();
  // The start alone above the default cap raises the cap with it.
  c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],
    "settings":{"notify_per_host":40}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->settings.notify_per_host_max, 40);
}

TEST(Config, ScheduleAloneMeansTheCustomProfile) {
  auto c = ParseConfig(
      R"({"merchants":[{"merchantno":"1","key":"k"}],"settings":{"notify_schedule":[3]}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->settings.notify_profile, "custom");
}

// Each bad notify setting is refused with the path of the entry.
TEST(Config, BadNotifySettingsNameTheirPath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"("settings":{"notify_profile":"slow"})", "settings.notify_profile"},
      {R"("settings":{"notify_profile":"custom"})", "settings.notify_schedule"},
      {R"("settings":{"notify_profile":"fast","notify_schedule":[1]})", "settings.notify_schedule"},
      {R"("settings":{"notify_schedule":[]})", "settings.notify_schedule"},
      {R"("settings":{"notify_schedule":[1,0]})", "settings.notify_schedule[1]"},
      {R"("settings":{"notify_schedule":[1,"2"]})", "settings.notify_schedule[1]"},
      {R"("settings":{"notify_timeout_ms":0})", "settings.notify_timeout_ms"},
      {R"("settings":{"notify_workers":0})", "settings.notify_workers"},
      {R"("settings":{"notify_workers":1000})", "settings.notify_workers"},
      {R"("settings":{"notify_per_host":0})", "settings.notify_per_host"},
      {R"("settings":{"time_scale":0})", "settings.time_scale"},
      {R"("settings":{"time_scale":"0.1"})", "settings.time_scale"},
      {R"("settings":{"forward_to":"ftp://x/y"})", "settings.forward_to"},
      {R"("settings":{"notify_allow":"10.0.0.0/8"})", "settings.notify_allow"},
      {R"("settings":{"notify_allow":["ok",""]})", "settings.notify_allow[1]"},
      {R"("settings":{"strict_notify_url":1})", "settings.strict_notify_url"},
      {R"("settings":{"notify_refuse_loopback":"yes"})", "settings.notify_refuse_loopback"},
      {R"("settings":{"public_base_url":"sandbox.example"})", "settings.public_base_url"},
  };
  for (const auto& [settings, path] : cases) {
    const std::string text =
        std::string(R"({"merchants":[{"merchantno":"1","key":"k"}],)") + settings + "}";
    auto c = ParseConfig(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidField) << text;
    EXPECT_NE(c.status().message().find(path), std::string::npos)
        << text << " -> " << c.status().message();
  }
}

TEST(Config, BadMerchantNotifyFieldsNameTheirPath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"merchantno":"1","key":"k","ack_mode":"xml"})", "merchants[0].ack_mode"},
      {R"({"merchantno":"1","key":"k","ack_mode":1})", "merchants[0].ack_mode"},
      {R"({"merchantno":"1","key":"k","forward_to":"localhost:7000"})", "merchants[0].forward_to"},
      {R"({"merchantno":"1","key":"k","notify":"http://x/"})", "merchants[0].notify"},
  };
  for (const auto& [merchant, path] : cases) {
    const std::string text = std::string(R"({"merchants":[)") + merchant + "]}";
    auto c = ParseConfig(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find(path), std::string::npos)
        << text << " -> " << c.status().message();
  }
}

// Issue #13 finding 7: payment links use public_base_url (or the sandbox's
// own address), so it is checked like a URL and normalised once.
TEST(Config, PublicUrlIsAnHttpUrlWithoutTrailingSlash) {
  for (const auto& [given, kept] : std::vector<std::pair<std::string, std::string>>{
           {"https://sandbox.example.com/", "https://sandbox.example.com"},
           {"http://10.0.0.5:8080", "http://10.0.0.5:8080"},
           {"https://pay.example/sandbox//", "https://pay.example/sandbox"},
           {"http://[::1]:8080/", "http://[::1]:8080"}}) {
    std::string url = given;
    Status st = NormalizePublicUrl("--public-url", &url);
    EXPECT_TRUE(st.ok()) << given << ": " << st.ToString();
    EXPECT_EQ(url, kept);
  }
  for (const char* bad :
       {"sandbox.example", "ftp://sandbox.example", "https://", "https:///x", "http://a b",
        "https://sandbox.example/?x=1", "https://sandbox.example/#f", "https://u@evil.example",
        "http://sandbox.example:0", "http://sandbox.example:99999", "http://[::1",
        "http://sandbox.example:80x", "https://sandbox.example/\"><script>"}) {
    std::string url = bad;
    Status st = NormalizePublicUrl("--public-url", &url);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidField) << bad;
    EXPECT_EQ(st.message().rfind("--public-url must be an http:// or https:// URL", 0), 0u)
        << st.message();
  }
  auto c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],
    "settings":{"public_base_url":"https://sandbox.example.com/"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->settings.public_base_url, "https://sandbox.example.com");
  c = ParseConfig(R"({"merchants":[{"merchantno":"1","key":"k"}],
    "settings":{"public_base_url":"javascript:alert-1"}})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "config settings.public_base_url must be an http:// or https:// URL such as "
            "https://sandbox.example.com (the scheme is http or https), got "
            "\"javascript:alert-1\"");
}

TEST(Config, AckModeNamesRoundTrip) {
  for (AckMode mode : {AckMode::kJson, AckMode::kText, AckMode::kAny2xx}) {
    EXPECT_EQ(*ParseAckMode(ToString(mode)), mode);
  }
  EXPECT_EQ(ParseAckMode("JSON").status().code(), ErrorCode::kInvalidField);
}

}  // namespace
}  // namespace vkspay::sandbox
