#include "vkspay/protocol/form.h"

#include <gtest/gtest.h>

#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay {
namespace {

TEST(Form, EncodesAndDecodesRoundTrip) {
  Fields f{{"out_trade_no", std::string("P1")},
           {"attach", std::string("a=1&b=2 中文+")},
           {"empty", std::string("")}};
  std::string body = EncodeForm(f);
  EXPECT_EQ(body.find(' '), std::string::npos);
  EXPECT_EQ(body.find("a=1&b"), std::string::npos);  // & and = inside values are escaped
  auto back = DecodeForm(body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(JsString(*back->Find("attach")), "a=1&b=2 中文+");
  EXPECT_EQ(JsString(*back->Find("empty")), "");
}

TEST(Form, PlusIsASpaceWhenDecoding) {
  EXPECT_EQ(JsString(*DecodeForm("a=x+y%2B").value().Find("a")), "x y+");
}

TEST(Form, RefusesDuplicatesAndEmptyBodies) {
  EXPECT_EQ(DecodeForm("a=1&a=2").status().code(), ErrorCode::kDuplicateField);
  EXPECT_EQ(DecodeForm("").status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(DecodeForm("=x").status().code(), ErrorCode::kInvalidField);
}

TEST(Notification, SignedFormVerifiesAfterTheWireRoundTrip) {
  NotificationContent c;
  c.notify_type = "payment";
  c.notify_id = "N1";
  c.merchantno = "10001";
  c.out_trade_no = "P1";
  c.transaction_id = "4200000000202611280000000001";
  c.total_fee = 1;
  c.pay_chnl = "wxpay";
  c.status = "SUCCESS";
  c.time_end = "2026-11-28 10:00:00";
  c.attach = "x=1&y=测试";
  Fields signed_fields = SignNotification(c, 1764300000, "12345678", "k");
  auto decoded = DecodeForm(EncodeForm(signed_fields));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(VerifySign(*decoded, "k").ok());
  EXPECT_EQ(JsString(*decoded->Find("total_fee")), "0.01");
  EXPECT_EQ(decoded->Find("out_refund_no"), nullptr);
  // Known answer, computed by hand from the documented field list.
  EXPECT_EQ(CanonicalString(*decoded, "k"),
            "attach=x=1&y=测试&merchantno=10001&notify_id=N1&notify_type=payment&"
            "out_trade_no=P1&pay_chnl=wxpay&signaturenonce=12345678&status=SUCCESS&"
            "time_end=2026-11-28 10:00:00&timestamp=1764300000&total_fee=0.01&"
            "transaction_id=4200000000202611280000000001&version=2.0&key=k");
  decoded->Set("total_fee", std::string("100"));
  EXPECT_EQ(VerifySign(*decoded, "k").code(), ErrorCode::kSignError);
}

}  // namespace
}  // namespace vkspay
