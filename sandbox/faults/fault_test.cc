#include "sandbox/faults/fault.h"

#include <gtest/gtest.h>

#include <set>

namespace vkspay::sandbox {
namespace {

using nlohmann::json;

TEST(FaultKinds, EveryNameIsUniqueAndParsesBack) {
  std::set<std::string_view> names;
  for (FaultKind k : AllKinds()) {
    EXPECT_TRUE(names.insert(KindName(k)).second) << KindName(k);
    StatusOr<FaultKind> back = ParseKindName("kind", KindName(k));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, k);
  }
  EXPECT_EQ(names.size(), 23u);
}

TEST(FaultKinds, UnknownNameListsTheKnownOnes) {
  StatusOr<FaultKind> k = ParseKindName("faults.rules[2].action.kind", "api.explode");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(k.status().message().rfind(
                "faults.rules[2].action.kind: expected one of api.fail, api.http_status, ", 0),
            0u)
      << k.status().message();
  EXPECT_NE(k.status().message().find("merchant.suspend_after, got \"api.explode\""),
            std::string::npos);
}

TEST(FaultKinds, HooksFollowKindAndPhase) {
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kApiFail)), FaultHook::kApiBefore);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kApiClose)), FaultHook::kApiAfter);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kPayExpireEarly)), FaultHook::kOrder);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kPayLateSuccess)), FaultHook::kOrder);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kPayUserPaying)), FaultHook::kPayment);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kNotifyReplay)), FaultHook::kNotify);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kRefundFail)), FaultHook::kRefund);
  EXPECT_EQ(HookOf(DefaultFault(FaultKind::kMerchantSuspendAfter)), FaultHook::kMerchant);
}

TEST(FaultJson, MissingParamsTakeDefaults) {
  StatusOr<Fault> f = ParseFaultJson("a", json{{"kind", "notify.duplicate"}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->params.count, 2);
  EXPECT_EQ(f->params.within_ms, 1000);
}

TEST(FaultJson, EveryDefaultRoundTrips) {
  for (FaultKind k : AllKinds()) {
    const Fault d = DefaultFault(k);
    EXPECT_TRUE(ValidateFault("a", d).ok()) << KindName(k);
    StatusOr<Fault> back = ParseFaultJson("a", json::parse(FaultJson(d).dump()));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, d) << KindName(k);
  }
}

TEST(FaultJson, ParamsAreRead) {
  StatusOr<Fault> f = ParseFaultJson(
      "a", json{{"kind", "api.http_status"},
                {"params", {{"status", 429}, {"body", "html"}, {"phase", "after"}}}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->params.status, 429);
  EXPECT_EQ(f->params.body, "html");
  EXPECT_EQ(f->params.phase, ApiPhase::kAfter);
}

struct BadAction {
  const char* json_text;
  const char* message;
};

class FaultJsonErrors : public testing::TestWithParam<BadAction> {};

TEST_P(FaultJsonErrors, NameThePathAndWhatArrived) {
  StatusOr<Fault> f = ParseFaultJson("r.action", json::parse(GetParam().json_text));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(f.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FaultJsonErrors,
    testing::Values(
        BadAction{R"("api.fail")",
                  R"(r.action: expected an object {"kind": ..., "params": {...}}, got "api.fail")"},
        BadAction{R"({"params":{}})", "r.action.kind: is required"},
        BadAction{R"({"kind":7})", R"(r.action.kind: expected a string such as "api.fail", got 7)"},
        BadAction{R"({"kind":"api.delay","extra":1})",
                  "r.action.extra: unknown key; expected kind or params"},
        BadAction{R"({"kind":"api.delay","params":{"ms":-5}})",
                  "r.action.params.ms: expected an integer in [0, 600000], got -5"},
        BadAction{R"({"kind":"api.delay","params":{"ms":"5"}})",
                  R"(r.action.params.ms: expected an integer in [0, 600000], got "5")"},
        BadAction{R"({"kind":"api.delay","params":{"seconds":5}})",
                  "r.action.params.seconds: unknown parameter of api.delay; expected one of ms, "
                  "max_ms, phase"},
        BadAction{R"({"kind":"pay.fail","params":{"x":1}})",
                  "r.action.params.x: unknown parameter of pay.fail; it takes none"},
        BadAction{R"({"kind":"api.http_status","params":{"status":404}})",
                  "r.action.params.status: expected one of 429, 500, 502, 503, got 404"},
        BadAction{R"({"kind":"api.http_status","params":{"body":"json"}})",
                  R"(r.action.params.body: expected one of empty, html, got "json")"},
        BadAction{R"({"kind":"api.close","params":{"phase":"during"}})",
                  R"(r.action.params.phase: expected one of before, after, got "during")"},
        BadAction{
            R"({"kind":"api.fail","params":{"err_code":"bad code"}})",
            R"(r.action.params.err_code: expected 1-64 of A-Z, 0-9 and _ (such as SYSTEM_ERROR), got "bad code")"},
        BadAction{R"({"kind":"api.delay","params":{"ms":500,"max_ms":100}})",
                  "r.action.params.max_ms: expected 0 or at least ms (500), got 100"},
        BadAction{
            R"({"kind":"api.truncate","params":{"phase":"before"}})",
            R"(r.action.params.phase: expected "after" for api.truncate (it changes an answer the method produced), got "before")"},
        BadAction{R"({"kind":"notify.tamper_amount","params":{"delta_fen":0}})",
                  "r.action.params.delta_fen: expected a non-zero number of fen, got 0"},
        BadAction{R"({"kind":"notify.duplicate","params":{"copies":1}})",
                  "r.action.params.copies: expected an integer in [2, 10], got 1"},
        BadAction{R"({"kind":"refund.processing","params":{"then":"cancel"}})",
                  R"(r.action.params.then: expected one of success, fail, got "cancel")"}));

}  // namespace
}  // namespace vkspay::sandbox
