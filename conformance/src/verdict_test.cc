#include "vkspay/conformance/verdict.h"

#include <gtest/gtest.h>

namespace vkspay::conformance {
namespace {

TEST(ClassifyAnswer, JsonSuccessIsTheSampleAck) {
  EXPECT_EQ(ClassifyAnswer(true, 200, R"({"code":"SUCCESS","msg":"SUCCESS"})"), Answer::kAckJson);
}
TEST(ClassifyAnswer, PlainSuccessTextIsATextAck) {
  EXPECT_EQ(ClassifyAnswer(true, 200, "success\n"), Answer::kAckText);
  EXPECT_EQ(ClassifyAnswer(true, 200, "SUCCESS"), Answer::kAckText);
}
TEST(ClassifyAnswer, JsonFailIsARefusal) {
  EXPECT_EQ(ClassifyAnswer(true, 200, R"({"code":"FAIL"})"), Answer::kRefused);
}
TEST(ClassifyAnswer, SuccessBodyWithAnErrorStatusIsARefusal) {
  EXPECT_EQ(ClassifyAnswer(true, 500, R"({"code":"SUCCESS"})"), Answer::kRefused);
}
TEST(ClassifyAnswer, NoTransportIsUnreachable) {
  EXPECT_EQ(ClassifyAnswer(false, 0, ""), Answer::kUnreachable);
}

TEST(GradeAttack, RefusedIsPass) {
  EXPECT_EQ(GradeAttack(AttackKind::kForgery, Answer::kRefused, std::nullopt, "x").verdict,
            Verdict::kPass);
  EXPECT_EQ(GradeAttack(AttackKind::kSigned, Answer::kRefused, false, "x").verdict, Verdict::kPass);
}
TEST(GradeAttack, ActingOnItIsFailEvenWhenRefused) {
  EXPECT_EQ(GradeAttack(AttackKind::kSigned, Answer::kRefused, true, "x").verdict, Verdict::kFail);
  EXPECT_EQ(GradeAttack(AttackKind::kSigned, Answer::kAckJson, true, "x").verdict, Verdict::kFail);
}
TEST(GradeAttack, AckedButNotActedOnIsWarnLikeTheOfficialSample) {
  EXPECT_EQ(GradeAttack(AttackKind::kForgery, Answer::kAckJson, false, "x").verdict,
            Verdict::kWarn);
}
TEST(GradeAttack, AckedForgeryWithUnknownStateIsFail) {
  EXPECT_EQ(GradeAttack(AttackKind::kForgery, Answer::kAckJson, std::nullopt, "x").verdict,
            Verdict::kFail);
}
TEST(GradeAttack, AckedSignedAttackWithUnknownStateIsWarn) {
  EXPECT_EQ(GradeAttack(AttackKind::kSigned, Answer::kAckText, std::nullopt, "x").verdict,
            Verdict::kWarn);
}
TEST(GradeAttack, UnreachableIsFail) {
  EXPECT_EQ(GradeAttack(AttackKind::kSigned, Answer::kUnreachable, std::nullopt, "x").verdict,
            Verdict::kFail);
}

TEST(GradeValid, JsonAckIsPass) {
  EXPECT_EQ(GradeValid(Answer::kAckJson, std::nullopt, "x").verdict, Verdict::kPass);
  EXPECT_EQ(GradeValid(Answer::kAckJson, true, "x").verdict, Verdict::kPass);
}
TEST(GradeValid, RefusedIsFail) {
  EXPECT_EQ(GradeValid(Answer::kRefused, std::nullopt, "x").verdict, Verdict::kFail);
}
TEST(GradeValid, AckedButNotPaidIsFail) {
  EXPECT_EQ(GradeValid(Answer::kAckJson, false, "x").verdict, Verdict::kFail);
}
TEST(GradeValid, TextAckIsWarn) {
  EXPECT_EQ(GradeValid(Answer::kAckText, true, "x").verdict, Verdict::kWarn);
}

TEST(GradeRepeat, BothAckedProcessedOnceIsPass) {
  EXPECT_EQ(GradeRepeat(false, Answer::kAckJson, Answer::kAckJson, 1, "x").verdict, Verdict::kPass);
}
TEST(GradeRepeat, ProcessedTwiceIsFail) {
  Outcome o = GradeRepeat(false, Answer::kAckJson, Answer::kAckJson, 2, "x");
  EXPECT_EQ(o.verdict, Verdict::kFail);
  EXPECT_NE(o.reason.find("processed 2 times"), std::string::npos) << o.reason;
}
TEST(GradeRepeat, NeverProcessedIsFail) {
  EXPECT_EQ(GradeRepeat(true, Answer::kAckJson, Answer::kAckJson, 0, "x").verdict, Verdict::kFail);
}
TEST(GradeRepeat, RefusedDuplicateIsWarnRefusedReplayIsPass) {
  EXPECT_EQ(GradeRepeat(false, Answer::kAckJson, Answer::kRefused, 1, "x").verdict, Verdict::kWarn);
  EXPECT_EQ(GradeRepeat(true, Answer::kAckJson, Answer::kRefused, 1, "x").verdict, Verdict::kPass);
}
TEST(GradeRepeat, FirstDeliveryRefusedIsFail) {
  EXPECT_EQ(GradeRepeat(false, Answer::kRefused, Answer::kAckJson, 1, "x").verdict, Verdict::kFail);
}
TEST(GradeRepeat, UnknownStateStillPassesButSaysSo) {
  Outcome o = GradeRepeat(false, Answer::kAckJson, Answer::kAckJson, std::nullopt, "x");
  EXPECT_EQ(o.verdict, Verdict::kPass);
  EXPECT_NE(o.reason.find("not checked"), std::string::npos) << o.reason;
}

}  // namespace
}  // namespace vkspay::conformance
