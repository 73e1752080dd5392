#include "sandbox/faults/directive.h"

#include <gtest/gtest.h>

namespace vkspay::sandbox {
namespace {

std::string Texts(const std::vector<Fault>& faults) {
  std::string out;
  for (const Fault& f : faults) out += (out.empty() ? "" : " ; ") + DirectiveText(f);
  return out;
}

struct Valid {
  const char* attach;
  const char* faults;  // DirectiveText of each, joined by " ; "
};
void PrintTo(const Valid& v, std::ostream* os) { *os << v.attach; }

class AttachDirectiveValid : public testing::TestWithParam<Valid> {};

TEST_P(AttachDirectiveValid, Parses) {
  StatusOr<std::vector<Fault>> faults = ParseAttachDirective(GetParam().attach);
  ASSERT_TRUE(faults.ok()) << faults.status().ToString();
  EXPECT_EQ(Texts(*faults), GetParam().faults);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AttachDirectiveValid,
    testing::Values(Valid{"sandbox:notify=dup2;pay=fail", "notify=dup2 ; pay=fail"},
                    Valid{"sandbox:notify=dup", "notify=dup2"},
                    Valid{"sandbox: notify = dup3 , drop:2 ; api=fail:RATE_LIMITED",
                          "notify=dup3 ; notify=drop:2 ; api=fail:RATE_LIMITED"},
                    Valid{"sandbox:pay=fail;", "pay=fail"},
                    Valid{"sandbox:pay=cancel", "pay=cancel"},
                    Valid{"sandbox:pay=userpaying", "pay=userpaying:5s:success"},
                    Valid{"sandbox:pay=userpaying:30s:fail", "pay=userpaying:30s:fail"},
                    Valid{"sandbox:pay=expire:2m", "pay=expire:2m"},
                    Valid{"sandbox:pay=late", "pay=late:10s"},
                    Valid{"sandbox:notify=times:3", "notify=times:3:15s"},
                    Valid{"sandbox:notify=times:4:1s", "notify=times:4:1s"},
                    Valid{"sandbox:notify=delay:500ms", "notify=delay:500ms"},
                    Valid{"sandbox:notify=delay:2s", "notify=delay:2s"},
                    Valid{"sandbox:notify=badsign,tamper", "notify=badsign ; notify=tamper:100"},
                    Valid{"sandbox:notify=tamper:-1", "notify=tamper:-1"},
                    Valid{"sandbox:notify=refundfirst", "notify=refundfirst:1m"},
                    Valid{"sandbox:notify=replay:90s", "notify=replay:90s"},
                    Valid{"sandbox:api=fail", "api=fail:SYSTEM_ERROR"},
                    Valid{"sandbox:api=fail@after", "api=fail:SYSTEM_ERROR@after"},
                    Valid{"sandbox:api=http:503", "api=http:503:empty"},
                    Valid{"sandbox:api=http:502:html", "api=http:502:html"},
                    Valid{"sandbox:api=delay:200ms", "api=delay:200ms"},
                    Valid{"sandbox:api=delay:1s@after", "api=delay:1s@after"},
                    Valid{"sandbox:api=close", "api=close"},
                    Valid{"sandbox:api=close@before", "api=close@before"},
                    Valid{"sandbox:api=truncate", "api=truncate:0"},
                    Valid{"sandbox:api=truncate:10", "api=truncate:10"},
                    Valid{"sandbox:api=notjson", "api=notjson:html"},
                    Valid{"sandbox:api=notjson:text", "api=notjson:text"},
                    Valid{"sandbox:api=wrongamount:-5", "api=wrongamount:-5"},
                    Valid{"sandbox:refund=processing", "refund=processing:10s:success"},
                    Valid{"sandbox:refund=processing:1m:fail", "refund=processing:1m:fail"},
                    Valid{"sandbox:refund=fail", "refund=fail"}));

struct Invalid {
  const char* attach;
  const char* message;
};
void PrintTo(const Invalid& v, std::ostream* os) { *os << v.attach; }

class AttachDirectiveInvalid : public testing::TestWithParam<Invalid> {};

TEST_P(AttachDirectiveInvalid, SaysWhereAndWhat) {
  StatusOr<std::vector<Fault>> faults = ParseAttachDirective(GetParam().attach);
  ASSERT_FALSE(faults.ok());
  EXPECT_EQ(faults.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(faults.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AttachDirectiveInvalid,
    testing::Values(
        Invalid{"sandbox:",
                "attach: sandbox directive at column 9: expected an item such as "
                "pay=fail or notify=dup, got the end"},
        Invalid{"sandbox:pai=fail",
                "attach: sandbox directive at column 9: expected one of api, "
                "pay, notify, refund, got \"pai\""},
        Invalid{"sandbox:pay",
                "attach: sandbox directive at column 12: expected \"=\" after "
                "\"pay\", got the end"},
        Invalid{"sandbox:pay=explode",
                "attach: sandbox directive at column 13: expected one of fail, cancel, "
                "userpaying, expire, late after \"pay=\", got \"explode\""},
        Invalid{"sandbox:pay=fail:now",
                "attach: sandbox directive at column 17: expected no "
                "argument after \"fail\", got \":now\""},
        Invalid{"sandbox:pay=fail@after",
                "attach: sandbox directive at column 17: expected no \"@\" (only api values "
                "take @before/@after), got \"@after\""},
        Invalid{"sandbox:pay=expire",
                "attach: sandbox directive at column 19: expected "
                "\":<duration>\" such as expire:30s, got the end"},
        Invalid{"sandbox:notify=",
                "attach: sandbox directive at column 16: expected a value "
                "after \"notify=\", got nothing"},
        Invalid{"sandbox:pay=fail,,cancel",
                "attach: sandbox directive at column 18: expected a "
                "value after \"pay=\", got nothing"},
        Invalid{"sandbox:notify=delay:500",
                "attach: sandbox directive at column 22: expected a "
                "duration such as 500ms, 5s or 2m, got \"500\""},
        Invalid{"sandbox:notify=replay:1500ms",
                "attach: sandbox directive at column 23: expected whole seconds such as 5s or "
                "2m, got \"1500ms\""},
        Invalid{"sandbox:notify=dup11",
                "attach: sandbox directive at column 16: \"dup11\": "
                "copies: expected an integer in [2, 10], got 11"},
        Invalid{"sandbox:notify=dupx",
                "attach: sandbox directive at column 19: expected a "
                "number of deliveries (2-10) after \"dup\", got \"x\""},
        Invalid{"sandbox:notify=drop:0",
                "attach: sandbox directive at column 16: \"drop:0\": "
                "attempts: expected an integer in [1, 100], got 0"},
        Invalid{"sandbox:api=http",
                "attach: sandbox directive at column 17: expected "
                "\":<status>\" such as http:503, got the end"},
        Invalid{"sandbox:api=http:404",
                "attach: sandbox directive at column 13: \"http:404\": "
                "status: expected one of 429, 500, 502, 503, got 404"},
        Invalid{"sandbox:api=close@during",
                "attach: sandbox directive at column 19: expected "
                "before or after after \"@\", got \"during\""},
        Invalid{"sandbox:api=truncate@before",
                "attach: sandbox directive at column 13: \"truncate@before\": phase: expected "
                "\"after\" for api.truncate (it changes an answer the method produced), got "
                "\"before\""},
        Invalid{"sandbox:api=fail:bad-code",
                "attach: sandbox directive at column 13: \"fail:bad-code\": err_code: expected "
                "1-64 of A-Z, 0-9 and _ (such as SYSTEM_ERROR), got \"bad-code\""},
        Invalid{"sandbox:refund=processing:5s:later",
                "attach: sandbox directive at column 30: expected one of success, fail, got "
                "\"later\""}));

TEST(AttachDirective, OrdinaryAttachIsNotADirective) {
  for (const char* attach :
       {"", "order-42", "Sandbox:pay=fail", " sandbox:pay=fail", "{\"a\":1}"}) {
    StatusOr<std::vector<Fault>> faults = ParseAttachDirective(attach);
    ASSERT_TRUE(faults.ok()) << attach;
    EXPECT_TRUE(faults->empty()) << attach;
  }
}

TEST(HeaderDirective, PrefixIsOptional) {
  StatusOr<std::vector<Fault>> a = ParseHeaderDirective("api=close@before");
  StatusOr<std::vector<Fault>> b = ParseHeaderDirective("sandbox:api=close@before");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Texts(*a), "api=close@before");
  EXPECT_EQ(*a, *b);
}

TEST(HeaderDirective, EmptyMeansNone) {
  StatusOr<std::vector<Fault>> a = ParseHeaderDirective("  ");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->empty());
}

TEST(HeaderDirective, ErrorsNameTheHeader) {
  StatusOr<std::vector<Fault>> a = ParseHeaderDirective("bogus=1");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(),
            "X-Sandbox-Fault: sandbox directive at column 1: expected one of api, pay, notify, "
            "refund, got \"bogus\"");
}

TEST(DirectiveText, EveryDirectiveKindRoundTrips) {
  for (FaultKind k : AllKinds()) {
    if (k == FaultKind::kMerchantSuspendAfter) continue;  // rules only
    Fault f = DefaultFault(k);
    StatusOr<std::vector<Fault>> back = ParseHeaderDirective(DirectiveText(f));
    ASSERT_TRUE(back.ok()) << DirectiveText(f) << ": " << back.status().ToString();
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ(back->front(), f) << DirectiveText(f);
  }
}

// Regression (fuzz/directive_fuzz, corpus invalid_utf8_err_code_throws.txt):
// a refused argument that is not UTF-8 threw nlohmann's type_error 316 from
// the error message's quoting (SYSTEM_ERROR through the header) instead of
// answering INVALID_FIELD.
TEST(HeaderDirective, NonUtf8ArgumentIsAnInvalidFieldNotAThrow) {
  for (const char* text : {"sandbox:api=fail:RATE_L\xe9MITED", "api=fail:\xff\xfe",
                           "sandbox:nosuch\xc3"}) {
    StatusOr<std::vector<Fault>> attach = ParseAttachDirective(text);
    StatusOr<std::vector<Fault>> header = ParseHeaderDirective(text);
    ASSERT_FALSE(header.ok()) << text;
    EXPECT_EQ(header.status().code(), ErrorCode::kInvalidField) << text;
    if (std::string_view(text).starts_with("sandbox:")) {
      ASSERT_FALSE(attach.ok()) << text;
      EXPECT_EQ(attach.status().code(), ErrorCode::kInvalidField);
    }
  }
}

}  // namespace
}  // namespace vkspay::sandbox
