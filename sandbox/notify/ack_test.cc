#include "sandbox/notify/ack.h"

#include <gtest/gtest.h>

#include "vkspay/protocol/notification.h"

namespace vkspay::sandbox {
namespace {

SendResult Answer(int status, std::string body) {
  SendResult r;
  r.http_status = status;
  r.body = std::move(body);
  return r;
}

TEST(Ack, Http200WithTheSampleJsonIsAnAck) {
  for (AckMode mode : {AckMode::kJson, AckMode::kText, AckMode::kAny2xx}) {
    AckDecision d = DecideAck(Answer(200, kNotifyAckBody), mode);
    EXPECT_TRUE(d.acked) << ToString(mode);
    EXPECT_EQ(d.reason, "");
  }
}

TEST(Ack, JsonModeNeedsCodeSuccessOnly) {
  EXPECT_TRUE(DecideAck(Answer(200, R"({"code":"SUCCESS"})"), AckMode::kJson).acked);
  EXPECT_TRUE(
      DecideAck(Answer(204, " {\"msg\":\"x\",\"code\":\"SUCCESS\"}\n"), AckMode::kJson).acked);
  EXPECT_FALSE(DecideAck(Answer(200, R"({"code":"FAIL","msg":"SUCCESS"})"), AckMode::kJson).acked);
  EXPECT_FALSE(DecideAck(Answer(200, R"({"code":"success"})"), AckMode::kJson).acked);
  EXPECT_FALSE(DecideAck(Answer(200, R"(["SUCCESS"])"), AckMode::kJson).acked);
  EXPECT_FALSE(DecideAck(Answer(200, ""), AckMode::kJson).acked);
}

TEST(Ack, Http200WithAnotherBodyIsNotAnAckAndSaysWhy) {
  AckDecision d = DecideAck(Answer(200, "ok"), AckMode::kJson);
  EXPECT_FALSE(d.acked);
  EXPECT_EQ(d.reason, "HTTP 200 but \"ok\" is not {\"code\":\"SUCCESS\",...}");
  // Plain success is text mode only.
  EXPECT_FALSE(DecideAck(Answer(200, "success"), AckMode::kJson).acked);
}

TEST(Ack, TextModeAlsoAcceptsPlainSuccess) {
  EXPECT_TRUE(DecideAck(Answer(200, "success"), AckMode::kText).acked);
  EXPECT_TRUE(DecideAck(Answer(200, "SUCCESS\r\n"), AckMode::kText).acked);
  EXPECT_FALSE(DecideAck(Answer(200, "Success"), AckMode::kText).acked);
  EXPECT_FALSE(DecideAck(Answer(200, "fail"), AckMode::kText).acked);
}

TEST(Ack, Any2xxModeAcceptsAnyBody) {
  EXPECT_TRUE(DecideAck(Answer(200, "whatever"), AckMode::kAny2xx).acked);
  EXPECT_TRUE(DecideAck(Answer(201, ""), AckMode::kAny2xx).acked);
  EXPECT_FALSE(DecideAck(Answer(500, kNotifyAckBody), AckMode::kAny2xx).acked);
}

TEST(Ack, ServerErrorIsNeverAnAck) {
  AckDecision d = DecideAck(Answer(500, kNotifyAckBody), AckMode::kJson);
  EXPECT_FALSE(d.acked);
  EXPECT_EQ(d.reason, "HTTP 500");
  EXPECT_FALSE(DecideAck(Answer(404, kNotifyAckBody), AckMode::kText).acked);
}

TEST(Ack, RedirectIsNeverAnAckNorFollowed) {
  SendResult r = Answer(302, kNotifyAckBody);
  r.location = "http://127.0.0.1:1/login";
  for (AckMode mode : {AckMode::kJson, AckMode::kText, AckMode::kAny2xx}) {
    AckDecision d = DecideAck(r, mode);
    EXPECT_FALSE(d.acked);
    EXPECT_EQ(d.reason, "redirect 302 to http://127.0.0.1:1/login (not followed)");
  }
}

TEST(Ack, TruncatedAnswerIsNeverAnAck) {
  SendResult r = Answer(200, kNotifyAckBody);
  r.body_truncated = true;
  for (AckMode mode : {AckMode::kJson, AckMode::kText, AckMode::kAny2xx}) {
    AckDecision d = DecideAck(r, mode);
    EXPECT_FALSE(d.acked);
    EXPECT_NE(d.reason.find("longer than the cap"), std::string::npos) << d.reason;
  }
}

TEST(Ack, TransportErrorIsNeverAnAckAndIsTheReason) {
  SendResult r;
  r.error = "timeout after 5000 ms";
  for (AckMode mode : {AckMode::kJson, AckMode::kText, AckMode::kAny2xx}) {
    AckDecision d = DecideAck(r, mode);
    EXPECT_FALSE(d.acked);
    EXPECT_EQ(d.reason, "timeout after 5000 ms");
  }
  EXPECT_EQ(DecideAck(SendResult{}, AckMode::kAny2xx).reason, "no HTTP answer");
}

}  // namespace
}  // namespace vkspay::sandbox
