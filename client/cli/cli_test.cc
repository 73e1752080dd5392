#include "cli.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "fake_vkspay.h"
#include "vkspay/version.h"

namespace vkspay::client {
namespace {

using testing::FakeVksPay;

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";

constexpr char kPaidOrder[] =
    R"({"return_code":"SUCCESS","return_msg":"OK","data":{"merchantno":"10001",)"
    R"("out_trade_no":"P1","transaction_id":"T1","trade_type":"webpay","total_fee":0.01,)"
    R"("status":"SUCCESS","pay_chnl":"wxpay","subject":"","body":"","attach":"",)"
    R"("time_create":"2025-11-28 10:25:30","time_expire":"2025-11-28 12:25:30",)"
    R"("time_end":"2025-11-28 10:26:01","refund_fee":0,"refund_count":0,)"
    R"("qrcode":"http://127.0.0.1:8080/pay/tok"}})";

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI in-process with exactly these arguments.
CliRun RunRaw(const std::vector<std::string>& all) {
  std::vector<const char*> argv;
  for (const std::string& s : all) argv.push_back(s.c_str());
  std::ostringstream out;
  std::ostringstream err;
  CliRun r;
  r.code = RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  // Runs `vkspay --base-url <fake> --key <kKey> args...`.
  CliRun Vkspay(std::initializer_list<std::string> args) {
    std::vector<std::string> all = {"vkspay", "--base-url", fake_.base_url(), "--key", kKey};
    all.insert(all.end(), args.begin(), args.end());
    return RunRaw(all);
  }

  FakeVksPay fake_{kKey};
};

std::string Str(const Fields& f, std::string_view name) {
  const Value* v = f.Find(name);
  if (v == nullptr) return "<absent>";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return "<" + std::string(TypeName(*v)) + " " + JsString(*v) + ">";
}

TEST_F(CliTest, WebPayPrintsThePaymentUrl) {
  fake_.Answer(kPaidOrder);
  CliRun r = Vkspay({"webpay", "--total-fee", "0.01", "--notify-url", "http://m/n"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("pay_url         http://127.0.0.1:8080/pay/tok\n"), std::string::npos)
      << r.out;
  const auto req = fake_.last();
  ASSERT_TRUE(req.fields.has_value());
  EXPECT_TRUE(req.sign_status.ok()) << req.sign_status.ToString();
  EXPECT_EQ(Str(*req.fields, "total_fee"), "<number 0.01>");
  EXPECT_EQ(Str(*req.fields, "notify_url"), "http://m/n");
  EXPECT_EQ(Str(*req.fields, "subject"), "<absent>");
  EXPECT_EQ(Str(*req.fields, "merchantno"), "10001");
}

TEST_F(CliTest, InvalidAmountFailsLocallyNamingTheFlag) {
  CliRun r = Vkspay({"webpay", "--total-fee", "0.001", "--notify-url", "http://m/n"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err.rfind("vkspay: INVALID_AMOUNT: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("--total-fee"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_F(CliTest, RefundFeeIsValidatedToo) {
  CliRun r = Vkspay({"refund", "P1", "--refund-fee", "-1"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--refund-fee"), std::string::npos) << r.err;
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_F(CliTest, FailAnswerIsOneLineOnStderrAndExitOne) {
  fake_.Answer(
      R"({"return_code":"FAIL","return_msg":"订单不存在: P9","err_code":"ORDER_NOT_EXIST"})");
  CliRun r = Vkspay({"query", "P9"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "vkspay: ORDER_NOT_EXIST: 订单不存在: P9\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, QueryOfAnUnpaidOrderExitsThree) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"订单未支付","err_code":"ORDER_NOT_PAID",)"
               R"("data":{"out_trade_no":"P1","status":"NOTPAY","total_fee":0.01}})");
  CliRun r = Vkspay({"query", "P1"});
  EXPECT_EQ(r.code, kExitNotPaid) << r.err;
  EXPECT_NE(r.out.find("status          NOTPAY\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, QueryOfAPaidOrderExitsZero) {
  fake_.Answer(kPaidOrder);
  CliRun r = Vkspay({"query", "P1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("status          SUCCESS\n"), std::string::npos) << r.out;
  EXPECT_EQ(Str(*fake_.last().fields, "method"), "orderquery");
}

TEST_F(CliTest, JsonPrintsTheRawAnswerEvenAfterTheSubcommand) {
  fake_.Answer(kPaidOrder);
  CliRun r = Vkspay({"query", "P1", "--json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, std::string(kPaidOrder) + "\n");
}

TEST_F(CliTest, MicroPaySendsEmptyStringsAndPayCate) {
  fake_.Answer(kPaidOrder);
  CliRun r = Vkspay({"micropay", "--total-fee", "1.5", "--auth-code", "134567890123456789"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Str(f, "total_fee"), "<number 1.5>");
  EXPECT_EQ(Str(f, "client_ip"), "");
  EXPECT_EQ(Str(f, "kuantai"), "");
  EXPECT_EQ(Str(f, "pay_cate"), "pay");
  EXPECT_EQ(Str(f, "out_trade_no"), "<absent>");
  EXPECT_EQ(Str(f, "notify_url"), "<absent>");
}

TEST_F(CliTest, MicroPayUserPayingPrintsTheOrderAndExitsNotPaid) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"用户支付中","err_code":"USERPAYING",)"
               R"("data":{"out_trade_no":"M1","status":"USERPAYING","total_fee":1001.08}})");
  CliRun r = Vkspay({"micropay", "--total-fee", "1001.08", "--auth-code", "134567890123456789"});
  EXPECT_EQ(r.code, kExitNotPaid) << r.err;
  EXPECT_NE(r.out.find("USERPAYING"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("SYSTEM_ERROR"), std::string::npos) << r.err;
}

TEST_F(CliTest, RefundQuerySendsBothPositionals) {
  fake_.Answer(R"({"return_code":"SUCCESS","return_msg":"OK","out_refund_no":"R1","data":{)"
               R"("out_trade_no":"P1","out_refund_no":"R1","refund_fee":0.01,"total_fee":0.01,)"
               R"("refunded_fee":0.01,"status":"SUCCESS","time_refund":"2025-11-28 10:30:00"}})");
  CliRun r = Vkspay({"refund-query", "P1", "R1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Str(*fake_.last().fields, "method"), "orderrefundquery");
  EXPECT_EQ(Str(*fake_.last().fields, "out_refund_no"), "R1");
  EXPECT_NE(r.out.find("refunded_fee    0.01\n"), std::string::npos) << r.out;
}

TEST_F(CliTest, PayUsesTheControlTokenAndDefaults) {
  fake_.Answer(R"({"ok":true,"order":{"out_trade_no":"P1","status":"SUCCESS"}})");
  CliRun r = Vkspay({"--control-token", "t0k", "pay", "P1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake_.last().path, "/_sandbox/pay");
  EXPECT_EQ(fake_.last().authorization, "Bearer t0k");
  EXPECT_EQ(fake_.last().body,
            R"({"merchantno":"10001","out_trade_no":"P1","channel":"auto","outcome":"success"})");
}

// Regression (issue #14): pay exited 0 whatever the order became, so a
// script could not tell that a fault or magic amount had failed the payment.
TEST_F(CliTest, PayThatDidNotReachTheAskedOutcomeExitsThree) {
  fake_.Answer(R"({"ok":true,"order":{"out_trade_no":"P1","status":"PAYERROR"}})");
  CliRun r = Vkspay({"pay", "P1"});
  EXPECT_EQ(r.code, kExitNotPaid) << r.err;
  EXPECT_NE(r.out.find("status          PAYERROR\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "vkspay: pay: order P1 is PAYERROR, not SUCCESS as --outcome success asked\n");
}

TEST_F(CliTest, PayFailThatFailedExitsZero) {
  fake_.Answer(R"({"ok":true,"order":{"out_trade_no":"P1","status":"PAYERROR"}})");
  CliRun r = Vkspay({"pay", "P1", "--outcome", "fail"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, PayCancelThatLeftTheOrderUnpaidExitsThree) {
  fake_.Answer(R"({"ok":true,"order":{"out_trade_no":"P1","status":"USERPAYING"}})");
  CliRun r = Vkspay({"--json", "pay", "P1", "--outcome", "cancel"});
  EXPECT_EQ(r.code, kExitNotPaid) << r.err;
  EXPECT_EQ(r.out, R"({"ok":true,"order":{"out_trade_no":"P1","status":"USERPAYING"}})"
                   "\n");
  EXPECT_NE(r.err.find("is USERPAYING, not CLOSED"), std::string::npos) << r.err;
}

TEST_F(CliTest, MicroPaySendsNotifyUrlWhenGiven) {
  fake_.Answer(kPaidOrder);
  CliRun r = Vkspay({"micropay", "--total-fee", "0.01", "--auth-code", "134567890123456789",
                     "--notify-url", "http://127.0.0.1:9000/notify"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Str(*fake_.last().fields, "notify_url"), "http://127.0.0.1:9000/notify");
}

TEST_F(CliTest, PayRejectsAnUnknownOutcomeAsUsage) {
  CliRun r = Vkspay({"pay", "P1", "--outcome", "maybe"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_F(CliTest, MerchantnoComesFromTheEnvironment) {
  ::setenv("VKSPAY_MERCHANTNO", "20002", 1);
  fake_.Answer(kPaidOrder);
  CliRun r = Vkspay({"query", "P1"});
  ::unsetenv("VKSPAY_MERCHANTNO");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Str(*fake_.last().fields, "merchantno"), "20002");
}

TEST(CliSign, PrintsMaskedCanonicalStringAndSign) {
  CliRun r = RunRaw({"vkspay", "--key", "k1", "sign", "b=x y", "a=1", "--number", "a"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  // md5sum of "a=1&b=x y&key=k1", computed outside this code base.
  EXPECT_EQ(
      r.out,
      "canonical       a=1&b=x y&key=***\n"
      "sign            53291b72b79e709f7ad3fc6417209a25\n"
      "body            {\"b\":\"x y\",\"a\":1,\"sign\":\"53291b72b79e709f7ad3fc6417209a25\"}\n");
}

TEST(CliSign, ShowKeyPrintsTheKey) {
  CliRun r =
      RunRaw({"vkspay", "--key", "k1", "sign", "--show-key", "--body", R"({"a":1,"b":"x y"})"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("canonical       a=1&b=x y&key=k1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("53291b72b79e709f7ad3fc6417209a25"), std::string::npos) << r.out;
}

TEST(CliSign, StringAndNumberSignDifferently) {
  CliRun as_string = RunRaw({"vkspay", "--key", "k1", "sign", "a=1.50"});
  CliRun as_number = RunRaw({"vkspay", "--key", "k1", "sign", "a=1.50", "--number", "a"});
  EXPECT_NE(as_string.out.find("a=1.50&key=***"), std::string::npos) << as_string.out;
  EXPECT_NE(as_number.out.find("a=1.5&key=***"), std::string::npos) << as_number.out;
}

TEST(CliSign, AGivenWrongSignIsReported) {
  CliRun r =
      RunRaw({"vkspay", "--key", "k1", "sign", "a=1", "sign=00000000000000000000000000000000"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err.rfind("vkspay: SIGN_ERROR: ", 0), 0u) << r.err;
}

TEST(CliSign, ArgumentWithoutEqualsIsUsage) {
  CliRun r = RunRaw({"vkspay", "sign", "novalue"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err.rfind("vkspay: INVALID_FIELD: ", 0), 0u) << r.err;
}

TEST(CliUsage, UnknownFlagIsUsage) {
  CliRun r = RunRaw({"vkspay", "query", "P1", "--bogus"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST(CliUsage, NoSubcommandIsUsage) {
  CliRun r = RunRaw({"vkspay"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST(CliUsage, EverySubcommandsHelpShowsAnExample) {
  for (const char* sub : {"sign", "webpay", "micropay", "query", "refund", "refund-query", "pay",
                          "listen", "notifications", "resend", "orders", "refunds", "reset",
                          "clock"}) {
    CliRun r = RunRaw({"vkspay", sub, "--help"});
    EXPECT_EQ(r.code, kExitOk) << sub << ": " << r.err;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << sub << ":\n" << r.out;
    const std::string example = std::string("\n  vkspay ") + sub;
    const size_t at = r.out.find(example);
    ASSERT_NE(at, std::string::npos) << sub << ":\n" << r.out;
    const char after = r.out[at + example.size()];
    EXPECT_TRUE(after == ' ' || after == '\n') << sub << ":\n" << r.out;
  }
}

TEST(CliUsage, EverySubcommandsHelpShowsTheGlobalOptions) {
  for (const char* sub : {"sign", "webpay", "micropay", "query", "refund", "refund-query", "pay",
                          "listen", "notifications", "resend", "orders", "refunds", "reset",
                          "clock"}) {
    CliRun r = RunRaw({"vkspay", sub, "--help"});
    EXPECT_EQ(r.code, kExitOk) << sub << ": " << r.err;
    const size_t global = r.out.find("Global options");
    ASSERT_NE(global, std::string::npos) << sub << ":\n" << r.out;
    for (const char* want : {"--base-url=http://127.0.0.1:8080 (env VKSPAY_BASE_URL)",
                             "--merchantno=10001 (env VKSPAY_MERCHANTNO)", "(env VKSPAY_KEY)",
                             "--control-token VALUE (env VKSPAY_CONTROL_TOKEN)", "--timeout=10",
                             "\n  --json\n"}) {
      EXPECT_NE(r.out.find(want, global), std::string::npos) << sub << ": no " << want << "\n"
                                                             << r.out;
    }
  }
  CliRun nested = RunRaw({"vkspay", "clock", "advance", "--help"});
  EXPECT_NE(nested.out.find("Global options"), std::string::npos) << nested.out;
}

TEST(CliUsage, AGlobalOptionAfterTheSubcommandIsTaken) {
  // Nothing listens on port 9 of 127.0.0.1 (discard): the error names the
  // URL given after the subcommand, so the option reached the client.
  CliRun r = RunRaw({"vkspay", "query", "T1", "--base-url", "http://127.0.0.1:9", "--timeout",
                     "1"});
  EXPECT_EQ(r.code, kExitConnect) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:9"), std::string::npos) << r.err;
}

TEST(CliUsage, VersionNamesTheCommitAndExitsZero) {
  CliRun r = RunRaw({"vkspay", "--version"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, VersionLine("vkspay") + "\n");
}

TEST(CliUsage, HelpExitsZero) {
  CliRun r = RunRaw({"vkspay", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
}

constexpr char kHint[] = " (is the sandbox running? --base-url / VKSPAY_BASE_URL)\n";

// Regression (issue #14): a refused connection was "SYSTEM_ERROR: 无法连接
// ...", exit 1, the same as a server-side failure.
TEST(CliTransport, UnreachableSandboxIsConnectErrorWithHintAndExitFour) {
  // Port 1 on loopback: nothing listens there, connecting is refused at once.
  CliRun r =
      RunRaw({"vkspay", "--base-url", "http://127.0.0.1:1", "--timeout", "1", "query", "P1"});
  EXPECT_EQ(r.code, kExitConnect);
  EXPECT_EQ(r.err.rfind("vkspay: CONNECT_ERROR: 无法连接 http://127.0.0.1:1/api: ", 0), 0u)
      << r.err;
  EXPECT_TRUE(r.err.ends_with(kHint)) << r.err;
}

TEST(CliTransport, NoAnswerIsTimeoutWithTheSecondsAndExitFive) {
  // Listens but never accepts: connecting succeeds, no answer ever comes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  CliRun r = RunRaw({"vkspay", "--base-url", base, "--timeout", "0.2", "query", "P1"});
  ::close(fd);
  EXPECT_EQ(r.code, kExitTimeout);
  EXPECT_EQ(r.err, "vkspay: TIMEOUT: " + base + "/api: timed out after 0.2 s" + kHint);
}

}  // namespace
}  // namespace vkspay::client
