// ParseNotification: what a merchant does with a notification body before
// trusting it. Cases from fixtures/notify/ (one file each) plus round trips
// through the sandbox's own SignNotification.
#include "vkspay/protocol/notification.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vkspay/client/client.h"
#include "vkspay/protocol/form.h"

namespace vkspay::client {
namespace {

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";
constexpr char kForm[] = "application/x-www-form-urlencoded";

NotificationContent Payment() {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = "N20251128102601000001";
  c.merchantno = "10001";
  c.out_trade_no = "P10001-20251128102530123456";
  c.transaction_id = "4200001234202511281025301234";
  c.total_fee = 1230;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2025-11-28 10:26:01";
  c.attach = "订单=1&x y";
  return c;
}

std::string Body(const NotificationContent& c, std::string_view key = kKey) {
  return EncodeForm(SignNotification(c, 1764296761, "12345678", key));
}

// --- fixtures/notify -------------------------------------------------------

struct FixtureCase {
  std::string name;
  std::string expect;  // "OK" or an ERR_CODE
  std::string content_type;
  std::string key;
  std::string body;
};

void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.name; }

std::vector<FixtureCase> LoadFixtures() {
  std::vector<FixtureCase> out;
  const std::filesystem::path dir = std::filesystem::path(VKSPAY_FIXTURES_DIR) / "notify";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    FixtureCase c;
    c.name = entry.path().stem().string();
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# expect: ", 0) == 0) {
        c.expect = line.substr(10);
      } else if (line.rfind("# content-type: ", 0) == 0) {
        c.content_type = line.substr(16);
      } else if (line.rfind("# key: ", 0) == 0) {
        c.key = line.substr(7);
      } else if (line.rfind("#", 0) != 0) {
        c.body = line;
        break;
      }
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const FixtureCase& a, const FixtureCase& b) { return a.name < b.name; });
  return out;
}

class NotificationFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(NotificationFixture, ParsesOrFailsWithTheExpectedErrCode) {
  const FixtureCase& c = GetParam();
  ASSERT_FALSE(c.expect.empty()) << c.name << " has no '# expect:' line";
  ASSERT_EQ(c.name[0] == 'y', c.expect == "OK") << c.name << ": y_ files expect OK, n_ files fail";
  StatusOr<Notification> n = ParseNotification(c.body, c.content_type, c.key);
  if (c.expect == "OK") {
    EXPECT_TRUE(n.ok()) << n.status().ToString();
  } else {
    ASSERT_FALSE(n.ok()) << c.name;
    EXPECT_EQ(ErrCodeName(n.status().code()), c.expect) << n.status().ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Files, NotificationFixture, ::testing::ValuesIn(LoadFixtures()),
                         [](const ::testing::TestParamInfo<FixtureCase>& p) {
                           return p.param.name;
                         });

TEST(NotificationFixtures, ThereAreBothValidAndInvalidCases) {
  std::vector<FixtureCase> all = LoadFixtures();
  EXPECT_GE(std::count_if(all.begin(), all.end(), [](auto& c) { return c.expect == "OK"; }), 2);
  EXPECT_GE(std::count_if(all.begin(), all.end(), [](auto& c) { return c.expect != "OK"; }), 5);
}

// --- typed values ----------------------------------------------------------

TEST(ParseNotification, TypesEveryFieldOfAPayment) {
  StatusOr<Notification> n = ParseNotification(Body(Payment()), kForm, kKey);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->notify_type, "payment");
  EXPECT_EQ(n->notify_id, "N20251128102601000001");
  EXPECT_EQ(n->merchantno, "10001");
  EXPECT_EQ(n->out_trade_no, "P10001-20251128102530123456");
  EXPECT_EQ(n->transaction_id, "4200001234202511281025301234");
  EXPECT_EQ(n->total_fee, 1230);
  EXPECT_EQ(n->pay_chnl, "wxpay");
  EXPECT_EQ(n->status, "SUCCESS");
  EXPECT_EQ(n->time_end, "2025-11-28 10:26:01");
  EXPECT_EQ(n->attach, "订单=1&x y");
  EXPECT_EQ(n->timestamp, 1764296761);
  EXPECT_EQ(n->signaturenonce, "12345678");
  EXPECT_EQ(n->version, "2.0");
  EXPECT_EQ(n->out_refund_no, "");
  EXPECT_EQ(n->refund_fee, 0);
  EXPECT_EQ(n->fields.size(), 14u);
}

TEST(ParseNotification, SignNotificationMatchesTheSignComputedOutside) {
  // fixtures/notify/y_payment.txt carries the same content; its sign was
  // computed with Python's hashlib.md5.
  StatusOr<Notification> n = ParseNotification(Body(Payment()), kForm, kKey);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->sign, "0378658ee4f21af0718c7eb63fc1acc3");
}

TEST(ParseNotification, TypesARefund) {
  NotificationContent c = Payment();
  c.notify_type = "refund";
  c.status = "REFUND";
  c.out_refund_no = "R1";
  c.refund_fee = 1;
  c.refund_status = "SUCCESS";
  c.time_refund = "2025-11-28 10:30:00";
  StatusOr<Notification> n = ParseNotification(Body(c), kForm, kKey);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->out_refund_no, "R1");
  EXPECT_EQ(n->refund_fee, 1);
  EXPECT_EQ(n->refund_status, "SUCCESS");
  EXPECT_EQ(n->time_refund, "2025-11-28 10:30:00");
}

TEST(ParseNotification, TamperedAmountIsSignError) {
  std::string body = Body(Payment());
  size_t at = body.find("total_fee=12.3");
  ASSERT_NE(at, std::string::npos) << body;
  body.replace(at, 14, "total_fee=0.01");
  StatusOr<Notification> n = ParseNotification(body, kForm, kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kSignError) << n.status().ToString();
  // The message shows the masked canonical string, never the key.
  EXPECT_NE(n.status().message().find("total_fee=0.01"), std::string::npos) << n.status().message();
  EXPECT_EQ(n.status().message().find(kKey), std::string::npos);
}

TEST(ParseNotification, WrongKeyIsSignError) {
  StatusOr<Notification> n = ParseNotification(Body(Payment()), kForm, "not-the-key");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kSignError);
}

TEST(ParseNotification, MissingNotifyIdIsNamed) {
  NotificationContent c = Payment();
  c.notify_id = "";  // SignNotification sends it empty: still missing
  StatusOr<Notification> n = ParseNotification(Body(c), kForm, kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kMissingField);
  EXPECT_NE(n.status().message().find("notify_id"), std::string::npos) << n.status().message();
}

TEST(ParseNotification, MissingOutTradeNoIsNamed) {
  NotificationContent c = Payment();
  c.out_trade_no = "";
  StatusOr<Notification> n = ParseNotification(Body(c), kForm, kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kMissingField);
  EXPECT_NE(n.status().message().find("out_trade_no"), std::string::npos) << n.status().message();
}

TEST(ParseNotification, JsonBodyIsRefusedByContentType) {
  Fields f = SignNotification(Payment(), 1764296761, "12345678", kKey);
  StatusOr<Notification> n = ParseNotification(f.ToJson(), "application/json; charset=utf-8", kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kInvalidContentType);
  EXPECT_NE(n.status().message().find("application/json"), std::string::npos);
}

TEST(ParseNotification, JsonBodyLabelledAsAFormIsMissingFields) {
  Fields f = SignNotification(Payment(), 1764296761, "12345678", kKey);
  StatusOr<Notification> n = ParseNotification(f.ToJson(), kForm, kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kMissingField) << n.status().ToString();
}

TEST(ParseNotification, EmptyBodyIsBadForm) {
  StatusOr<Notification> n = ParseNotification("", kForm, kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kInvalidField);
}

TEST(ParseNotification, MissingContentTypeIsRefused) {
  StatusOr<Notification> n = ParseNotification(Body(Payment()), "", kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kInvalidContentType);
}

TEST(IsFormContentType, AcceptsParametersAndAnyCase) {
  EXPECT_TRUE(IsFormContentType("application/x-www-form-urlencoded"));
  EXPECT_TRUE(IsFormContentType("Application/X-WWW-Form-Urlencoded ; charset=utf-8"));
  EXPECT_FALSE(IsFormContentType("application/x-www-form-urlencodedx"));
  EXPECT_FALSE(IsFormContentType("multipart/form-data"));
  EXPECT_FALSE(IsFormContentType(""));
}

TEST(VerifyNotificationCompat, StillVerifiesDecodedForms) {
  StatusOr<Fields> f = DecodeForm(Body(Payment()));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(Client::VerifyNotification(*f, kKey).ok());
}

}  // namespace
}  // namespace vkspay::client
