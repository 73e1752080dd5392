#include "vkspay/client/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "fake_vkspay.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::client {
namespace {

using testing::FakeVksPay;

constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";
// 2025-11-28 10:25:30 China time.
constexpr int64_t kNowSeconds = 1'764'296'730;

// Next() returns 0, 1, 2, ... so Digits(8, '1') is "12345678": a nonce a
// person can work out by hand.
class CountingRandom final : public Random {
 public:
  uint64_t Next() override { return next_++; }

 private:
  uint64_t next_ = 0;
};

constexpr char kOrderJson[] =
    R"({"merchantno":"10001","out_trade_no":"P10001-20251128102530123456",)"
    R"("transaction_id":"4200001234202511281025301234","trade_type":"webpay",)"
    R"("total_fee":12.3,"status":"SUCCESS","pay_chnl":"wxpay","subject":"测试商品",)"
    R"("body":"","attach":"a=1","time_create":"2025-11-28 10:25:30",)"
    R"("time_expire":"2025-11-28 12:25:30","time_end":"2025-11-28 10:26:01",)"
    R"("refund_fee":0.01,"refund_count":1,"qrcode":"http://127.0.0.1:8080/pay/abc"})";

std::string Success(const std::string& data) {
  return R"({"return_code":"SUCCESS","return_msg":"OK","data":)" + data + "}";
}

std::set<std::string> Names(const Fields& f) {
  std::set<std::string> out;
  for (const Field& field : f.items()) out.insert(field.name);
  return out;
}

std::string Str(const Fields& f, std::string_view name) {
  const Value* v = f.Find(name);
  if (v == nullptr) return "<absent>";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return "<" + std::string(TypeName(*v)) + " " + JsString(*v) + ">";
}

double Num(const Fields& f, std::string_view name) {
  const Value* v = f.Find(name);
  if (v == nullptr || !std::holds_alternative<double>(*v)) return -1;
  return std::get<double>(*v);
}

const std::set<std::string> kEnvelope = {"method",    "merchantno",     "version",
                                         "timestamp", "signaturenonce", "sign"};

std::set<std::string> WithEnvelope(std::set<std::string> names) {
  names.insert(kEnvelope.begin(), kEnvelope.end());
  return names;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClientOptions opts;
    opts.base_url = fake_.base_url();
    opts.merchantno = "10001";
    opts.key = kKey;
    opts.timeout = std::chrono::seconds(5);
    opts.control_token = "tok-123";
    auto c = Client::Create(opts, &clock_, &rng_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  FakeVksPay fake_{kKey};
  FakeClock clock_{kNowSeconds * 1'000'000 + 999'999};
  CountingRandom rng_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, CanonicalStringOfAFixedRequestMatchesHandComputedLiteral) {
  fake_.Answer(Success(kOrderJson));
  WebPayRequest req;
  req.total_fee = 1;
  req.notify_url = "http://127.0.0.1:9/notify";
  req.subject = "测试商品";
  ASSERT_TRUE(client_->WebPay(req).ok());
  const auto r = fake_.last();
  ASSERT_TRUE(r.fields.has_value()) << r.parse_status.ToString();
  // Names in ASCII order, amounts as JavaScript prints the parsed number,
  // the nonce from CountingRandom, the timestamp in whole seconds.
  EXPECT_EQ(CanonicalString(*r.fields, kKey),
            "merchantno=10001&method=webpay&notify_url=http://127.0.0.1:9/notify"
            "&signaturenonce=12345678&subject=测试商品&timestamp=1764296730"
            "&total_fee=0.01&version=2.0&key=sandbox-demo-key-0123456789abcdef");
  // md5sum of the string above, computed outside this code base.
  EXPECT_EQ(Str(*r.fields, "sign"), "ba661235580ff61a05aabc2b1f00adb8");
}

TEST_F(ClientTest, SignatureVerifiesOnTheServer) {
  fake_.Answer(Success(kOrderJson));
  ASSERT_TRUE(client_->OrderQuery({"P1"}).ok());
  EXPECT_TRUE(fake_.last().sign_status.ok()) << fake_.last().sign_status.ToString();
}

TEST_F(ClientTest, PostsJsonWithUtf8ContentTypeToApi) {
  fake_.Answer(Success(kOrderJson));
  ASSERT_TRUE(client_->OrderQuery({"P1"}).ok());
  EXPECT_EQ(fake_.last().path, "/api");
  EXPECT_EQ(fake_.last().content_type, "application/json; charset=utf-8");
  EXPECT_EQ(fake_.last().authorization, "");  // the control token is not sent to /api
}

TEST_F(ClientTest, EnvelopeHasTypesTheSamplesUse) {
  fake_.Answer(Success(kOrderJson));
  ASSERT_TRUE(client_->OrderQuery({"P1"}).ok());
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Str(f, "method"), "orderquery");
  EXPECT_EQ(Str(f, "merchantno"), "10001");  // a string, not a number
  EXPECT_EQ(Str(f, "version"), "2.0");
  EXPECT_EQ(Num(f, "timestamp"), static_cast<double>(kNowSeconds));  // a JSON number
  EXPECT_NE(fake_.last().body.find("\"timestamp\":1764296730,"), std::string::npos)
      << fake_.last().body;
}

TEST_F(ClientTest, NonceIsEightDigitsOneToNine) {
  ClientOptions opts;
  opts.base_url = fake_.base_url();
  opts.merchantno = "10001";
  opts.key = kKey;
  auto c = Client::Create(opts);  // its own random-seeded generator
  ASSERT_TRUE(c.ok());
  std::set<std::string> nonces;
  for (int i = 0; i < 20; ++i) {
    Fields f = (*c)->BuildRequest("orderquery", {});
    std::string nonce = Str(f, "signaturenonce");
    ASSERT_EQ(nonce.size(), 8u) << nonce;
    for (char ch : nonce) EXPECT_TRUE(ch >= '1' && ch <= '9') << nonce;
    nonces.insert(nonce);
  }
  EXPECT_GT(nonces.size(), 15u);
}

TEST_F(ClientTest, SameSeedGivesSameRequest) {
  ClientOptions opts;
  opts.base_url = fake_.base_url();
  opts.merchantno = "10001";
  opts.key = kKey;
  SeededRandom r1(7);
  SeededRandom r2(7);
  auto c1 = Client::Create(opts, &clock_, &r1);
  auto c2 = Client::Create(opts, &clock_, &r2);
  ASSERT_TRUE(c1.ok() && c2.ok());
  EXPECT_EQ((*c1)->BuildRequest("orderquery", {}).ToJson(),
            (*c2)->BuildRequest("orderquery", {}).ToJson());
}

TEST_F(ClientTest, TimestampFollowsTheInjectedClock) {
  fake_.Answer(Success(kOrderJson));
  clock_.AdvanceSeconds(100);
  ASSERT_TRUE(client_->OrderQuery({"P1"}).ok());
  EXPECT_EQ(Num(*fake_.last().fields, "timestamp"), static_cast<double>(kNowSeconds + 100));
}

TEST_F(ClientTest, WebPaySendsOnlyTheFieldsTheCallerSet) {
  fake_.Answer(Success(kOrderJson));
  WebPayRequest req;
  req.total_fee = 1230;
  req.notify_url = "http://m.example/notify";
  req.attach = "";  // set, even if empty: sent
  ASSERT_TRUE(client_->WebPay(req).ok());
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Names(f), WithEnvelope({"total_fee", "notify_url", "attach"}));
  EXPECT_EQ(Num(f, "total_fee"), 12.3);
  EXPECT_EQ(Str(f, "attach"), "");
  EXPECT_NE(fake_.last().body.find("\"total_fee\":12.3"), std::string::npos);
}

TEST_F(ClientTest, WebPaySendsEveryOptionalFieldWhenSet) {
  fake_.Answer(Success(kOrderJson));
  WebPayRequest req;
  req.total_fee = 10000;
  req.notify_url = "n";
  req.out_trade_no = "o";
  req.subject = "s";
  req.body = "b";
  req.attach = "a";
  req.return_url = "r";
  req.pay_chnl = "alipay";
  ASSERT_TRUE(client_->WebPay(req).ok());
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Names(f), WithEnvelope({"total_fee", "notify_url", "out_trade_no", "subject", "body",
                                    "attach", "return_url", "pay_chnl"}));
  EXPECT_EQ(Str(f, "method"), "webpay");
  EXPECT_EQ(Str(f, "pay_chnl"), "alipay");
  // 100 yuan is the JSON integer 100, as JSON.stringify writes it.
  EXPECT_NE(fake_.last().body.find("\"total_fee\":100,"), std::string::npos) << fake_.last().body;
}

TEST_F(ClientTest, MicroPaySendsTheSampleFieldsEmptyStringsIncluded) {
  fake_.Answer(Success(kOrderJson));
  MicroPayRequest req;
  req.total_fee = 1;
  req.auth_code = "134567890123456789";
  ASSERT_TRUE(client_->MicroPay(req).ok());
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Names(f), WithEnvelope({"total_fee", "pay_chnl", "client_ip", "auth_code", "cashier",
                                    "kuantai", "source", "pay_cate"}));
  EXPECT_EQ(Str(f, "method"), "micropay");
  EXPECT_EQ(Num(f, "total_fee"), 0.01);
  EXPECT_EQ(Str(f, "auth_code"), "134567890123456789");
  EXPECT_EQ(Str(f, "pay_chnl"), "");
  EXPECT_EQ(Str(f, "client_ip"), "");
  EXPECT_EQ(Str(f, "cashier"), "");
  EXPECT_EQ(Str(f, "kuantai"), "");
  EXPECT_EQ(Str(f, "source"), "");
  EXPECT_EQ(Str(f, "pay_cate"), "pay");
  EXPECT_TRUE(fake_.last().sign_status.ok()) << fake_.last().sign_status.ToString();
}

TEST_F(ClientTest, OrderQuerySendsOutTradeNo) {
  fake_.Answer(Success(kOrderJson));
  ASSERT_TRUE(client_->OrderQuery({"P10001-1"}).ok());
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Names(f), WithEnvelope({"out_trade_no"}));
  EXPECT_EQ(Str(f, "method"), "orderquery");
  EXPECT_EQ(Str(f, "out_trade_no"), "P10001-1");
}

constexpr char kRefundAnswer[] =
    R"({"return_code":"SUCCESS","return_msg":"OK","out_refund_no":"R1",)"
    R"("data":{"out_trade_no":"P1","out_refund_no":"R1","refund_fee":0.05,)"
    R"("total_fee":12.3,"refunded_fee":1.05,"status":"SUCCESS",)"
    R"("time_refund":"2025-11-28 10:30:00"}})";

TEST_F(ClientTest, OrderRefundSendsFieldsAndDecodesTheRefund) {
  fake_.Answer(kRefundAnswer);
  OrderRefundRequest req;
  req.out_trade_no = "P1";
  req.refund_fee = 5;
  StatusOr<Refund> r = client_->OrderRefund(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Names(f), WithEnvelope({"out_trade_no", "refund_fee"}));
  EXPECT_EQ(Str(f, "method"), "orderrefund");
  EXPECT_EQ(Num(f, "refund_fee"), 0.05);
  EXPECT_EQ(r->out_trade_no, "P1");
  EXPECT_EQ(r->out_refund_no, "R1");
  EXPECT_EQ(r->refund_fee, 5);
  EXPECT_EQ(r->total_fee, 1230);
  EXPECT_EQ(r->refunded_fee, 105);
  EXPECT_EQ(r->status, "SUCCESS");
  EXPECT_EQ(r->time_refund, "2025-11-28 10:30:00");
}

TEST_F(ClientTest, OrderRefundSendsOutRefundNoWhenSet) {
  fake_.Answer(kRefundAnswer);
  OrderRefundRequest req;
  req.out_trade_no = "P1";
  req.refund_fee = 5;
  req.out_refund_no = "R1";
  ASSERT_TRUE(client_->OrderRefund(req).ok());
  EXPECT_EQ(Names(*fake_.last().fields),
            WithEnvelope({"out_trade_no", "refund_fee", "out_refund_no"}));
}

TEST_F(ClientTest, OrderRefundQuerySendsBothNumbers) {
  fake_.Answer(kRefundAnswer);
  StatusOr<Refund> r = client_->OrderRefundQuery({"P1", "R1"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Fields f = *fake_.last().fields;
  EXPECT_EQ(Names(f), WithEnvelope({"out_trade_no", "out_refund_no"}));
  EXPECT_EQ(Str(f, "method"), "orderrefundquery");
  EXPECT_EQ(Str(f, "out_refund_no"), "R1");
}

TEST_F(ClientTest, DecodesEveryOrderField) {
  fake_.Answer(Success(kOrderJson));
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->merchantno, "10001");
  EXPECT_EQ(o->out_trade_no, "P10001-20251128102530123456");
  EXPECT_EQ(o->transaction_id, "4200001234202511281025301234");
  EXPECT_EQ(o->trade_type, "webpay");
  EXPECT_EQ(o->total_fee, 1230);
  EXPECT_EQ(o->status, "SUCCESS");
  EXPECT_EQ(o->pay_chnl, "wxpay");
  EXPECT_EQ(o->subject, "测试商品");
  EXPECT_EQ(o->attach, "a=1");
  EXPECT_EQ(o->time_create, "2025-11-28 10:25:30");
  EXPECT_EQ(o->time_end, "2025-11-28 10:26:01");
  EXPECT_EQ(o->refund_fee, 1);
  EXPECT_EQ(o->refund_count, 1);
  EXPECT_EQ(o->qrcode, "http://127.0.0.1:8080/pay/abc");
  EXPECT_TRUE(o->paid);
}

TEST_F(ClientTest, UnpaidOrderQueryReturnsTheOrderNotPaid) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"订单未支付","err_code":"ORDER_NOT_PAID",)"
               R"("data":{"out_trade_no":"P1","status":"NOTPAY","total_fee":0.01,"time_end":""}})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->paid);
  EXPECT_EQ(o->status, "NOTPAY");
  EXPECT_EQ(o->total_fee, 1);
}

TEST_F(ClientTest, OrderNotPaidWithoutDataIsAnError) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"订单未支付","err_code":"ORDER_NOT_PAID"})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kOrderNotPaid);
}

TEST_F(ClientTest, OrderNotPaidIsAnErrorForOtherMethods) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"x","err_code":"ORDER_NOT_PAID",)"
               R"("data":{"out_trade_no":"P1","status":"NOTPAY"}})");
  WebPayRequest req;
  req.total_fee = 1;
  StatusOr<Order> o = client_->WebPay(req);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kOrderNotPaid);
}

TEST_F(ClientTest, MicroPayUserPayingReturnsTheOrderUnpaid) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"用户支付中","err_code":"USERPAYING",)"
               R"("data":{"out_trade_no":"M1","status":"USERPAYING","total_fee":1001.08}})");
  MicroPayRequest req;
  req.total_fee = 100108;
  req.auth_code = "134567890123456789";
  StatusOr<Order> o = client_->MicroPay(req);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->paid);
  EXPECT_EQ(o->status, "USERPAYING");
  EXPECT_EQ(o->total_fee, 100108);
}

TEST_F(ClientTest, UserPayingWithoutDataIsAnErrorNamedUserPaying) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"用户支付中","err_code":"USERPAYING"})");
  MicroPayRequest req;
  req.total_fee = 1;
  req.auth_code = "134567890123456789";
  StatusOr<Order> o = client_->MicroPay(req);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kUserPaying);
  EXPECT_EQ(o.status().message().find("未知"), std::string::npos) << o.status().message();
}

TEST_F(ClientTest, FailAnswerMapsErrCodeAndKeepsReturnMsg) {
  fake_.Answer(
      R"({"return_code":"FAIL","return_msg":"签名错误: 签名不匹配","err_code":"SIGN_ERROR"})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kSignError);
  EXPECT_EQ(o.status().message(), "签名错误: 签名不匹配");
}

TEST_F(ClientTest, FailAnswerMapsRefundErrCodes) {
  fake_.Answer(
      R"({"return_code":"FAIL","return_msg":"退款金额超出","err_code":"REFUND_EXCEEDS_PAID"})");
  StatusOr<Refund> r = client_->OrderRefund({"P1", 100, std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kRefundExceedsPaid);
}

TEST_F(ClientTest, UnknownErrCodeMapsToInternalAndNamesIt) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"奇怪","err_code":"NEW_THING"})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInternal);
  EXPECT_NE(o.status().message().find("NEW_THING"), std::string::npos);
}

TEST_F(ClientTest, SystemErrorMapsToInternal) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"系统错误","err_code":"SYSTEM_ERROR"})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(o.status().message(), "系统错误");
}

// A server that sends a client-side code is not a transport failure.
TEST_F(ClientTest, ServerSentTimeoutErrCodeMapsToInternal) {
  fake_.Answer(R"({"return_code":"FAIL","return_msg":"上游超时","err_code":"TIMEOUT"})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(o.status().message(), "上游超时 (未知 err_code \"TIMEOUT\")");
}

TEST_F(ClientTest, NonJsonAnswerIsInvalidJson) {
  fake_.Answer("<html>502 Bad Gateway</html>", 502);
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInvalidJson);
  EXPECT_NE(o.status().message().find("HTTP 502"), std::string::npos) << o.status().message();
}

TEST_F(ClientTest, JsonArrayAnswerIsInvalidJson) {
  fake_.Answer("[1,2]");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInvalidJson);
}

TEST_F(ClientTest, AnswerWithoutReturnCodeIsInvalidJson) {
  fake_.Answer(R"({"data":{}})");
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInvalidJson);
}

TEST_F(ClientTest, OrderFieldOfWrongTypeIsInvalidJsonNamingIt) {
  fake_.Answer(Success(R"({"out_trade_no":"P1","status":"SUCCESS","total_fee":{"a":1}})"));
  StatusOr<Order> o = client_->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kInvalidJson);
  EXPECT_NE(o.status().message().find("data.total_fee"), std::string::npos) << o.status().message();
}

TEST_F(ClientTest, CallReturnsFailAnswersRaw) {
  const std::string body = R"({"return_code":"FAIL","return_msg":"m","err_code":"SIGN_ERROR"})";
  fake_.Answer(body);
  StatusOr<RawAnswer> a = client_->Call("orderquery", Fields{{"out_trade_no", "P1"}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->http_status, 200);
  EXPECT_EQ(a->body, body);
  EXPECT_EQ(a->json["err_code"], "SIGN_ERROR");
}

TEST_F(ClientTest, CallExtraFieldsOverrideTheEnvelopeAndAreSigned) {
  StatusOr<RawAnswer> a =
      client_->Call("orderquery", Fields{{"version", "1.0"}, {"total_fee", 0.5}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const auto r = fake_.last();
  EXPECT_EQ(Str(*r.fields, "version"), "1.0");
  EXPECT_EQ(Num(*r.fields, "total_fee"), 0.5);
  EXPECT_TRUE(r.sign_status.ok()) << r.sign_status.ToString();
}

TEST_F(ClientTest, BaseUrlPathPrefixIsKept) {
  ClientOptions opts;
  opts.base_url = fake_.base_url() + "/prefix/";
  opts.merchantno = "10001";
  opts.key = kKey;
  auto c = Client::Create(opts, &clock_, &rng_);
  ASSERT_TRUE(c.ok());
  fake_.Answer(Success(kOrderJson));
  ASSERT_TRUE((*c)->OrderQuery({"P1"}).ok());
  EXPECT_EQ(fake_.last().path, "/prefix/api");
}

TEST(ClientCreate, RefusesABaseUrlWithoutScheme) {
  ClientOptions opts;
  opts.base_url = "127.0.0.1:8080";
  opts.merchantno = "10001";
  auto c = Client::Create(opts);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidField);
}

TEST(ClientCreate, RefusesAnEmptyMerchantno) {
  ClientOptions opts;
  auto c = Client::Create(opts);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidField);
}

// A port nothing listens on: bind a socket to a free port, then close it.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(ClientTransport, UnreachableServerFailsQuicklyNamingTheUrl) {
  const int port = ClosedPort();
  ClientOptions opts;
  opts.base_url = "http://127.0.0.1:" + std::to_string(port);
  opts.merchantno = "10001";
  opts.key = kKey;
  opts.timeout = std::chrono::milliseconds(500);
  auto c = Client::Create(opts);
  ASSERT_TRUE(c.ok());
  const auto start = std::chrono::steady_clock::now();
  StatusOr<Order> o = (*c)->OrderQuery({"P1"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(o.ok());
  // Regression (issue #14): this was SYSTEM_ERROR, like a server-side failure.
  EXPECT_EQ(o.status().code(), ErrorCode::kConnectError);
  EXPECT_EQ(o.status().message().rfind("无法连接 " + opts.base_url + "/api: ", 0), 0u)
      << o.status().message();
  EXPECT_NE(o.status().message().find("Connection"), std::string::npos) << o.status().message();
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

// A socket that listens but never accepts: the kernel completes the TCP
// handshake (backlog), so connecting and sending succeed and no answer ever
// comes. Closed at the end of scope.
struct SilentServer {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  SilentServer() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 && ::listen(fd, 8) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  ~SilentServer() { ::close(fd); }
};

TEST(ClientTransport, NoAnswerWithinTheTimeoutIsTimeoutNamingTheSeconds) {
  SilentServer silent;
  ASSERT_GT(silent.port, 0);
  ClientOptions opts;
  opts.base_url = "http://127.0.0.1:" + std::to_string(silent.port);
  opts.merchantno = "10001";
  opts.key = kKey;
  opts.timeout = std::chrono::milliseconds(250);
  auto c = Client::Create(opts);
  ASSERT_TRUE(c.ok());
  StatusOr<Order> o = (*c)->OrderQuery({"P1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kTimeout);
  EXPECT_EQ(o.status().message(), opts.base_url + "/api: timed out after 0.25 s");
}

TEST(ClientTransport, BaseUrlEndingInApiSaysDropApiOnA404) {
  // The sandbox serves /api; a base URL of <sandbox>/api sends to /api/api.
  httplib::Server sandbox;
  sandbox.Post("/api", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  const int port = sandbox.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { sandbox.listen_after_bind(); });
  while (!sandbox.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ClientOptions opts;
  opts.base_url = "http://127.0.0.1:" + std::to_string(port) + "/api";
  opts.merchantno = "10001";
  opts.key = kKey;
  auto c = Client::Create(opts);
  ASSERT_TRUE(c.ok());
  StatusOr<Order> o = (*c)->OrderQuery({"P1"});
  sandbox.stop();
  t.join();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(o.status().message().find(opts.base_url + "/api 不存在"), std::string::npos)
      << o.status().message();
  EXPECT_NE(o.status().message().find("drop /api"), std::string::npos) << o.status().message();
  EXPECT_EQ(o.status().message().find("太旧"), std::string::npos) << o.status().message();
}

TEST_F(ClientTest, PaySendsControlBodyWithBearerToken) {
  fake_.Answer(std::string(R"({"ok":true,"order":)") + kOrderJson + "}");
  StatusOr<Order> o = client_->Pay("P1", "alipay", "success");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->paid);
  const auto r = fake_.last();
  EXPECT_EQ(r.path, "/_sandbox/pay");
  EXPECT_EQ(r.authorization, "Bearer tok-123");
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(r.body,
            R"({"merchantno":"10001","out_trade_no":"P1","channel":"alipay","outcome":"success"})");
}

TEST_F(ClientTest, PayWithoutTokenSendsNoAuthorization) {
  ClientOptions opts;
  opts.base_url = fake_.base_url();
  opts.merchantno = "10001";
  auto c = Client::Create(opts);
  ASSERT_TRUE(c.ok());
  fake_.Answer(R"({"ok":false,"err_code":"UNAUTHORIZED","message":"需要令牌"})", 401);
  StatusOr<Order> o = (*c)->Pay("P1", "auto", "success");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(o.status().message(), "需要令牌");
  EXPECT_EQ(fake_.last().authorization, "");
}

TEST_F(ClientTest, PayRefusalMapsErrCode) {
  fake_.Answer(R"({"ok":false,"err_code":"ORDER_PAID","message":"订单已支付"})", 409);
  StatusOr<Order> o = client_->Pay("P1", "auto", "success");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kOrderPaid);
}

TEST(VerifyNotification, AcceptsANotificationSignedWithTheKey) {
  Fields form{
      {"merchantno", "10001"}, {"out_trade_no", "P1"}, {"total_fee", 0.01}, {"status", "SUCCESS"}};
  EXPECT_TRUE(Client::VerifyNotification(WithSign(form, kKey), kKey).ok());
}

TEST(VerifyNotification, RefusesATamperedNotification) {
  Fields form = WithSign(Fields{{"out_trade_no", "P1"}, {"total_fee", 0.01}}, kKey);
  form.Set("total_fee", 100.0);
  Status st = Client::VerifyNotification(form, kKey);
  EXPECT_EQ(st.code(), ErrorCode::kSignError);
}

TEST(VerifyNotification, RefusesAnUnsignedNotification) {
  Status st = Client::VerifyNotification(Fields{{"out_trade_no", "P1"}}, kKey);
  EXPECT_EQ(st.code(), ErrorCode::kMissingField);
}

TEST(ErrorCodeFromName, MapsEveryCatalogueEntryBack) {
  for (const ErrorInfo& info : AllErrors()) {
    EXPECT_EQ(ErrorCodeFromName(info.err_code), info.code) << info.err_code;
  }
  EXPECT_EQ(ErrorCodeFromName("NO_SUCH_CODE"), ErrorCode::kInternal);
}

}  // namespace
}  // namespace vkspay::client
