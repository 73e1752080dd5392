#include "vkspay/protocol/form.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdint>
#include <random>
#include <string>

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

// EncodeForm has its own percent-encoder (httplib's ostringstream one cost
// ~20 us per notification body); its output must stay byte for byte what
// httplib::detail::encode_query_param gives, since that is what was shipped.
std::string HttplibPair(const std::string& name, const std::string& value) {
  return httplib::detail::encode_query_param(name) + "=" +
         httplib::detail::encode_query_param(value);
}

TEST(FormEncoder, EveryByteEncodesLikeHttplib) {
  for (int c = 0; c < 256; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(EncodeForm(Fields{{"k", s}}), HttplibPair("k", s)) << "byte " << c;
  }
}

TEST(FormEncoder, RandomBytesEncodeLikeHttplib) {
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 2000; ++i) {
    std::string name, value;
    const size_t name_len = 1 + rng() % 12, value_len = rng() % 64;
    for (size_t j = 0; j < name_len; ++j) name.push_back(static_cast<char>(rng() % 256));
    for (size_t j = 0; j < value_len; ++j) value.push_back(static_cast<char>(rng() % 256));
    ASSERT_EQ(EncodeForm(Fields{{name, value}}), HttplibPair(name, value)) << "case " << i;
  }
}

// Appends the UTF-8 encoding of a code point in the BMP.
void AppendUtf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

TEST(FormEncoder, ChineseAndPunctuationEncodeLikeHttplib) {
  std::mt19937_64 rng(7);
  const std::string punct = " &=+%#?/:;,.!~*'()-_@[]{}<>\"|^`$\t\n";
  for (int i = 0; i < 2000; ++i) {
    Fields f;
    std::string expected;
    const int fields = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < fields; ++k) {
      std::string value;
      const int chars = static_cast<int>(rng() % 20);
      for (int j = 0; j < chars; ++j) {
        switch (rng() % 4) {
          case 0:
            AppendUtf8(value, 0x4E00 + static_cast<uint32_t>(rng() % 0x51A6));
            break;
          case 1:
            AppendUtf8(value, 0x3000 + static_cast<uint32_t>(rng() % 0x40));
            break;
          case 2:
            value.push_back(punct[rng() % punct.size()]);
            break;
          default:
            value.push_back(static_cast<char>(0x20 + rng() % 0x5F));
            break;
        }
      }
      const std::string name = "f" + std::to_string(k);
      f.Set(name, value);
      if (!expected.empty()) expected.push_back('&');
      expected += HttplibPair(name, value);
    }
    ASSERT_EQ(EncodeForm(f), expected) << "case " << i;
  }
}

TEST(FormEncoder, NonStringValuesEncodeTheirJsString) {
  Fields f{{"total_fee", 0.01}, {"flag", true}, {"none", nullptr}, {"big", 1e21}};
  EXPECT_EQ(EncodeForm(f), "total_fee=0.01&flag=true&none=null&big=1e%2B21");
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
