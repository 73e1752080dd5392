// Fault injection end to end (issue 4): a real SandboxServer on port 0 with a
// FaultEngine, the real dispatcher and an in-process merchant receiver
// (fault_harness.h). Scenario tests of the kinds wired first, each checked
// twice: what the caller sees, and what GET /_sandbox/faults/log recorded.
// faults_e2e_test.cc covers every kind through every trigger, table-driven.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "nlohmann/json.hpp"
#include "sandbox/core/payments.h"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/faults/fault_engine.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/server/fault_harness.h"
#include "sandbox/server/sandbox_server.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using namespace fault_testing;
using nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// One trigger of one kind: how to ask for it and what to find in the record.
struct Trigger {
  std::string route;    // "header", "attach", "amount", "rule"
  std::string header;   // X-Sandbox-Fault
  std::string attach;   // attach of the webpay
  std::string fee = "0.01";
  json rule;            // POSTed to /_sandbox/faults/rules before the call
  std::string rule_id;  // expected rule_id in the record
};

std::string Label(const std::string& kind, const Trigger& t) { return kind + " via " + t.route; }

// Sets up `t`, sends a webpay for order `no`, and checks that exactly one
// fault of `kind` was recorded at `hook` from the trigger's source.
Seen TriggerWebPay(FaultHarness& h, const std::string& kind, const std::string& hook,
                   const Trigger& t, const std::string& no) {
  if (!t.rule.is_null()) h.Call("POST", "/_sandbox/faults/rules", t.rule);
  const uint64_t since = h.engine_.last_seq();
  Seen seen = h.WebPay(no, t.fee, t.attach, t.header);
  json log = h.Log(since);
  EXPECT_EQ(log.size(), 1u) << Label(kind, t) << ": " << log.dump();
  if (log.size() == 1) {
    EXPECT_EQ(log[0]["kind"], kind) << Label(kind, t);
    EXPECT_EQ(log[0]["hook"], hook) << Label(kind, t);
    EXPECT_EQ(log[0]["source"], t.route) << Label(kind, t);
    EXPECT_EQ(log[0]["rule_id"], t.rule_id) << Label(kind, t);
    EXPECT_EQ(log[0]["method"], "webpay") << Label(kind, t);
    EXPECT_EQ(log[0]["out_trade_no"], no) << Label(kind, t);
  }
  if (!t.rule.is_null()) h.Call("POST", "/_sandbox/faults/clear", json::object());
  return seen;
}

json Rule(const std::string& id, const std::string& kind, json params) {
  return {{"id", id},
          {"match", {{"methods", {"webpay"}}}},
          {"action", {{"kind", kind}, {"params", std::move(params)}}},
          {"count", 1}};
}

TEST(FaultsIntegration, ApiFailAnswersFailBeforeTheMethodRuns) {
  FaultHarness h;
  const std::vector<std::pair<Trigger, std::string>> cases = {
      {{"header", "api=fail:RATE_LIMITED", "", "0.01", nullptr, "header"}, "RATE_LIMITED"},
      {{"attach", "", "sandbox:api=fail", "0.01", nullptr, "attach"}, "SYSTEM_ERROR"},
      {{"amount", "", "", "1001.06", nullptr, "amount:1001.06"}, "SYSTEM_ERROR"},
      {{"rule", "", "", "0.01", Rule("r-fail", "api.fail", {{"err_code", "SYSTEM_ERROR"}}),
        "r-fail"},
       "SYSTEM_ERROR"},
  };
  int i = 0;
  for (const auto& [t, err_code] : cases) {
    const std::string no = "FAIL-" + std::to_string(i++);
    Seen seen = TriggerWebPay(h, "api.fail", "api_before", t, no);
    ASSERT_TRUE(seen.transport_ok) << Label("api.fail", t);
    EXPECT_EQ(seen.status, 200);
    EXPECT_EQ(seen.j["return_code"], "FAIL") << seen.body;
    EXPECT_EQ(seen.j["err_code"], err_code) << seen.body;
    // Before the method: no order was created.
    h.Call("GET", "/_sandbox/order?out_trade_no=" + no, nullptr, 404);
  }
}

TEST(FaultsIntegration, ApiHttpStatusAnswersThatStatusWithEmptyOrHtmlBody) {
  FaultHarness h;
  struct Case {
    Trigger t;
    int status;
    bool html;
  };
  const std::vector<Case> cases = {
      {{"header", "api=http:500", "", "0.01", nullptr, "header"}, 500, false},
      {{"attach", "", "sandbox:api=http:502:html", "0.01", nullptr, "attach"}, 502, true},
      {{"amount", "", "", "1001.12", nullptr, "amount:1001.12"}, 503, false},
      {{"rule", "", "", "0.01", Rule("r-429", "api.http_status", {{"status", 429}}), "r-429"},
       429,
       false},
  };
  int i = 0;
  for (const Case& c : cases) {
    Seen seen = TriggerWebPay(h, "api.http_status", "api_before", c.t, "HTTP-" + std::to_string(i++));
    ASSERT_TRUE(seen.transport_ok) << Label("api.http_status", c.t);
    EXPECT_EQ(seen.status, c.status) << Label("api.http_status", c.t);
    if (c.html) {
      EXPECT_NE(seen.body.find("<html>"), std::string::npos) << seen.body;
      EXPECT_EQ(seen.content_type.rfind("text/html", 0), 0u) << seen.content_type;
    } else {
      EXPECT_EQ(seen.body, "") << Label("api.http_status", c.t);
    }
  }
}

TEST(FaultsIntegration, ApiDelayAnswersLater) {
  FaultHarness h;
  const std::vector<Trigger> cases = {
      {"header", "api=delay:150ms", "", "0.01", nullptr, "header"},
      {"attach", "", "sandbox:api=delay:150ms@after", "0.01", nullptr, "attach"},
      {"rule", "", "", "0.01", Rule("r-slow", "api.delay", {{"ms", 150}}), "r-slow"},
  };
  int i = 0;
  for (const Trigger& t : cases) {
    const std::string hook = t.attach.find("@after") != std::string::npos ? "api_after" : "api_before";
    Seen seen = TriggerWebPay(h, "api.delay", hook, t, "SLOW-" + std::to_string(i++));
    ASSERT_TRUE(seen.transport_ok);
    EXPECT_EQ(seen.j["return_code"], "SUCCESS") << seen.body;
    EXPECT_GE(seen.elapsed_ms, 150) << Label("api.delay", t);
  }
}

TEST(FaultsIntegration, ApiCloseEndsTheConnectionAfterTheOrderWasCreated) {
  FaultHarness h;
  const std::vector<Trigger> cases = {
      {"header", "api=close", "", "0.01", nullptr, "header"},
      {"attach", "", "sandbox:api=close", "0.01", nullptr, "attach"},
      {"amount", "", "", "1001.09", nullptr, "amount:1001.09"},
      {"rule", "", "", "0.01", Rule("r-close", "api.close", json::object()), "r-close"},
  };
  int i = 0;
  for (const Trigger& t : cases) {
    const std::string no = "CLOSE-" + std::to_string(i++);
    Seen seen = TriggerWebPay(h, "api.close", "api_after", t, no);
    EXPECT_FALSE(seen.transport_ok) << Label("api.close", t) << ": got " << seen.status << " "
                                    << seen.body;
    // The method ran and committed: the order exists, unpaid.
    EXPECT_EQ(h.OrderStatus(no), "NOTPAY") << Label("api.close", t);
  }
}

TEST(FaultsIntegration, ApiBodyFaultsChangeOnlyTheAnswer) {
  FaultHarness h;
  {
    Trigger t{"header", "api=truncate:12", "", "0.01", nullptr, "header"};
    Seen seen = TriggerWebPay(h, "api.truncate", "api_after", t, "TRUNC-1");
    EXPECT_EQ(seen.body.size(), 12u) << seen.body;
    EXPECT_TRUE(seen.j.is_discarded());
    EXPECT_EQ(h.OrderStatus("TRUNC-1"), "NOTPAY");
  }
  {
    Trigger t{"attach", "", "sandbox:api=notjson:text", "0.01", nullptr, "attach"};
    Seen seen = TriggerWebPay(h, "api.not_json", "api_after", t, "NOTJSON-1");
    EXPECT_EQ(seen.status, 200);
    EXPECT_EQ(seen.content_type.rfind("text/plain", 0), 0u) << seen.content_type;
    EXPECT_TRUE(seen.j.is_discarded()) << seen.body;
  }
  {
    Trigger t{"rule", "", "", "0.01",
              Rule("r-wrong", "api.wrong_amount", {{"delta_fen", 5}}), "r-wrong"};
    Seen seen = TriggerWebPay(h, "api.wrong_amount", "api_after", t, "WRONG-1");
    EXPECT_EQ(seen.j["return_code"], "SUCCESS");
    EXPECT_EQ(seen.j["data"]["total_fee"].dump(), "0.06") << seen.body;
  }
}

TEST(FaultsIntegration, BadDirectiveIsRefusedAsInvalidField) {
  FaultHarness h;
  Seen seen = h.WebPay("BAD-1", "0.01", "", "api=delay:500");
  EXPECT_EQ(seen.j["err_code"], "INVALID_FIELD") << seen.body;
  EXPECT_NE(seen.j["return_msg"].get<std::string>().find("X-Sandbox-Fault"), std::string::npos);
  seen = h.WebPay("BAD-2", "0.01", "sandbox:pay=nope");
  EXPECT_EQ(seen.j["err_code"], "INVALID_FIELD") << seen.body;
  EXPECT_TRUE(h.Log().empty());
  // Ordinary attach is data, not a directive.
  EXPECT_EQ(h.WebPay("OK-1", "0.01", "order=42").j["return_code"], "SUCCESS");
}

TEST(FaultsIntegration, BuyerFailAndCancelThroughEveryRoute) {
  FaultHarness h;
  struct Case {
    std::string kind, route, attach, fee, rule_id, status;
    json rule;
  };
  const std::vector<Case> cases = {
      {"pay.fail", "attach", "sandbox:pay=fail", "0.01", "attach", "PAYERROR", nullptr},
      {"pay.fail", "amount", "", "1001.01", "amount:1001.01", "PAYERROR", nullptr},
      {"pay.cancel", "amount", "", "1001.02", "amount:1001.02", "CLOSED", nullptr},
      {"pay.cancel", "rule", "", "0.01", "r-cancel", "CLOSED",
       {{"id", "r-cancel"}, {"action", {{"kind", "pay.cancel"}}}}},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string no = "BUYER-" + std::to_string(i++);
    ASSERT_EQ(h.WebPay(no, c.fee, c.attach).j["return_code"], "SUCCESS");
    if (!c.rule.is_null()) h.Call("POST", "/_sandbox/faults/rules", c.rule);
    const uint64_t since = h.engine_.last_seq();
    // The buyer chose success; the fault overrides it.
    h.Call("POST", "/_sandbox/pay", {{"out_trade_no", no}}, 200);
    EXPECT_EQ(h.OrderStatus(no), c.status) << c.kind << " via " << c.route;
    json log = h.Log(since);
    ASSERT_EQ(log.size(), 1u) << log.dump();
    EXPECT_EQ(log[0]["kind"], c.kind);
    EXPECT_EQ(log[0]["hook"], "payment");
    EXPECT_EQ(log[0]["source"], c.route);
    EXPECT_EQ(log[0]["rule_id"], c.rule_id);
    if (!c.rule.is_null()) h.Call("POST", "/_sandbox/faults/clear", json::object());
  }
  // The cashier page's form goes through the same path.
  Seen w = h.WebPay("BUYER-CASHIER", "1001.01");
  ASSERT_EQ(w.j["return_code"], "SUCCESS") << w.body;
  const std::string qrcode = w.j["data"]["qrcode"];
  const std::string token = qrcode.substr(qrcode.rfind("/pay/") + 5);
  auto res = h.Client().Post(("/pay/" + token).c_str(), "outcome=success",
                             "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(h.OrderStatus("BUYER-CASHIER"), "PAYERROR");
}

TEST(FaultsIntegration, MicropayBuyerFailFromTheHeaderAnswersOrderPayError) {
  FaultHarness h;
  Fields f{{"total_fee", std::string("0.01")},
           {"pay_chnl", std::string("wxpay")},
           {"auth_code", std::string("134567890123456789")},
           {"out_trade_no", std::string("MICRO-1")}};
  Seen seen = h.Api("micropay", f, "pay=fail");
  EXPECT_EQ(seen.j["return_code"], "FAIL") << seen.body;
  EXPECT_EQ(seen.j["err_code"], "ORDER_PAY_ERROR");
  EXPECT_EQ(seen.j["data"]["status"], "PAYERROR") << seen.body;
  json log = h.Log();
  ASSERT_EQ(log.size(), 1u) << log.dump();
  EXPECT_EQ(log[0]["kind"], "pay.fail");
  EXPECT_EQ(log[0]["source"], "header");
  EXPECT_EQ(log[0]["method"], "micropay");
  EXPECT_EQ(log[0]["out_trade_no"], "MICRO-1");
}

TEST(FaultsIntegration, ExpireEarlyClosesTheOrderAfterItsSeconds) {
  FaultHarness h;
  ASSERT_EQ(h.WebPay("EXP-1", "0.01", "sandbox:pay=expire:30s").j["return_code"], "SUCCESS");
  json log = h.Log();
  ASSERT_EQ(log.size(), 1u) << log.dump();
  EXPECT_EQ(log[0]["kind"], "pay.expire_early");
  EXPECT_EQ(log[0]["hook"], "order");
  EXPECT_EQ(h.OrderStatus("EXP-1"), "NOTPAY");
  h.Call("POST", "/_sandbox/clock/advance", {{"seconds", 31}});
  EXPECT_EQ(h.OrderStatus("EXP-1"), "CLOSED");
}

TEST(FaultsIntegration, RefundFailAnswersRefundFailedAndRecordsNoRefund) {
  FaultHarness h;
  struct Case {
    std::string route, attach, fee, header, rule_id;
  };
  const std::vector<Case> cases = {
      {"attach", "sandbox:refund=fail", "0.01", "", "attach"},
      {"amount", "", "1001.11", "", "amount:1001.11"},
      {"header", "", "0.01", "refund=fail", "header"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string no = "REFUND-" + std::to_string(i++);
    ASSERT_EQ(h.WebPay(no, c.fee, c.attach).j["return_code"], "SUCCESS");
    h.Call("POST", "/_sandbox/pay", {{"out_trade_no", no}});
    const uint64_t since = h.engine_.last_seq();
    Seen seen = h.Api("orderrefund",
                      {{"out_trade_no", no}, {"refund_fee", std::string("0.01")}}, c.header);
    EXPECT_EQ(seen.j["err_code"], "REFUND_FAILED") << c.route << ": " << seen.body;
    EXPECT_EQ(h.OrderStatus(no), "SUCCESS");
    json log = h.Log(since);
    ASSERT_EQ(log.size(), 1u) << log.dump();
    EXPECT_EQ(log[0]["kind"], "refund.fail");
    EXPECT_EQ(log[0]["hook"], "refund");
    EXPECT_EQ(log[0]["source"], c.route);
    EXPECT_EQ(log[0]["rule_id"], c.rule_id);
    EXPECT_EQ(log[0]["method"], "orderrefund");
  }
}

TEST(FaultsIntegration, MerchantIsSuspendedAfterFailedDeliveriesUntilReset) {
  Receiver receiver;
  receiver.set_status(500);
  FaultHarness h;
  h.notify_url_ = receiver.url();
  h.Call("POST", "/_sandbox/faults/rules",
         {{"id", "suspend-2"},
          {"action", {{"kind", "merchant.suspend_after"}, {"params", {{"failures", 2}}}}}});
  ASSERT_EQ(h.WebPay("SUSP-1", "0.01").j["return_code"], "SUCCESS");
  h.Call("POST", "/_sandbox/pay", {{"out_trade_no", "SUSP-1"}});
  ASSERT_TRUE(Eventually([&] { return h.engine_.IsSuspended(kDemoMerchantNo); }))
      << "receiver saw " << receiver.hits() << " attempts";
  Seen seen = h.WebPay("SUSP-2", "0.01");
  EXPECT_EQ(seen.j["return_code"], "FAIL");
  EXPECT_EQ(seen.j["err_code"], "MERCHANT_SUSPENDED") << seen.body;
  json suspended = h.Call("GET", "/_sandbox/faults/merchants")["suspended"];
  ASSERT_EQ(suspended.size(), 1u);
  EXPECT_EQ(suspended[0]["merchantno"], "10001");
  bool recorded = false;
  for (const json& f : h.Log()) {
    if (f["kind"] == "merchant.suspend_after" && f["rule_id"] == "suspend-2") recorded = true;
  }
  EXPECT_TRUE(recorded) << h.Log().dump();
  h.Call("POST", "/_sandbox/faults/merchants/10001/reset", json::object());
  EXPECT_EQ(h.WebPay("SUSP-3", "0.01").j["return_code"], "SUCCESS");
}

TEST(FaultsIntegration, ControlRoutesNeedTheControlToken) {
  SystemClock system_clock;
  SandboxClock clock(&system_clock);
  SeededRandom rng(1);
  FaultEngine engine(clock, FaultEngineOptions{});
  SandboxConfig config = SandboxConfig::Demo();
  auto store = OpenSqliteStore(SqliteStoreOptions{}).value();
  SandboxContext ctx{&config, store.get(), &clock, &rng, &clock, nullptr, &engine};
  ServerOptions opts;
  opts.port = 0;
  opts.control_token = "s3cret";
  SandboxServer server(ctx, opts);
  const int port = *server.Start();
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/_sandbox/faults/log");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = c.Get("/_sandbox/faults/log", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

// Notification kinds: webpay (with the trigger), pay through the control API,
// then look at what the merchant received and at the record.
TEST(FaultsIntegration, NotificationFaultsThroughEveryRoute) {
  Receiver receiver;
  FaultHarness h;
  h.notify_url_ = receiver.url();
  struct Case {
    std::string kind, route, attach, fee, rule_id;
    json setup;  // a rule, or {"profile": name}
    std::function<void(const std::vector<Receiver::Hit>&, const json& notification,
                       Steady::time_point paid)>
        check;
    size_t hits;
  };
  auto form_of = [](const Receiver::Hit& hit) { return DecodeForm(hit.body).value(); };
  auto field = [](const Fields& f, const char* name) {
    const Value* v = f.Find(name);
    return v == nullptr ? std::string("(absent)") : JsString(*v);
  };
  auto dup = [&](const std::vector<Receiver::Hit>& hits, const json&, Steady::time_point) {
    EXPECT_EQ(hits[0].body, hits[1].body);
    // Planned 1000 ms apart (the fault plan says so, and an idle machine
    // delivers it so); the bound only catches a copy that waited for something
    // else, since a loaded 2-core CI box can stall a thread for seconds. The
    // equal bodies above already tell a copy from a retry (fresh sign).
    EXPECT_LE(hits[1].at - hits[0].at, milliseconds(10000));
  };
  auto bad_sign = [&](const std::vector<Receiver::Hit>& hits, const json&, Steady::time_point) {
    EXPECT_EQ(VerifySign(form_of(hits[0]), kDemoKey).code(), ErrorCode::kSignError);
  };
  auto tamper = [&](const std::vector<Receiver::Hit>& hits, const json&, Steady::time_point) {
    const Fields f = form_of(hits[0]);
    EXPECT_EQ(field(f, "total_fee"), "1002.1");
    EXPECT_EQ(VerifySign(f, kDemoKey).code(), ErrorCode::kSignError);
  };
  auto dropped = [&](size_t n) {
    return [n](const std::vector<Receiver::Hit>&, const json& notification, Steady::time_point) {
      const json& attempts = notification["attempt_log"];
      ASSERT_EQ(attempts.size(), n + 1) << notification.dump();
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(attempts[i]["error"], "dropped by fault injection");
        EXPECT_EQ(attempts[i]["acked"], false);
      }
      EXPECT_EQ(attempts[n]["acked"], true);
    };
  };
  auto delayed = [&](const std::vector<Receiver::Hit>& hits, const json&,
                     Steady::time_point paid) { EXPECT_GE(hits[0].at - paid, milliseconds(250)); };
  const std::vector<Case> cases = {
      {"notify.duplicate", "attach", "sandbox:notify=dup", "0.01", "attach", nullptr, dup, 2},
      {"notify.duplicate", "amount", "", "1001.04", "amount:1001.04", nullptr, dup, 2},
      {"notify.duplicate", "profile", "", "0.01", "realistic.notify-duplicate", {{"profile", "realistic"}}, dup,
       2},
      {"notify.drop_first", "attach", "sandbox:notify=drop:2", "0.01", "attach", nullptr,
       dropped(2), 1},
      {"notify.drop_first", "amount", "", "1001.03", "amount:1001.03", nullptr, dropped(3), 1},
      {"notify.bad_sign", "attach", "sandbox:notify=badsign", "0.01", "attach", nullptr, bad_sign,
       1},
      {"notify.bad_sign", "amount", "", "1001.07", "amount:1001.07", nullptr, bad_sign, 1},
      {"notify.bad_sign", "rule", "", "0.01", "r-sign",
       {{"id", "r-sign"}, {"action", {{"kind", "notify.bad_sign"}}}}, bad_sign, 1},
      {"notify.tamper_amount", "amount", "", "1001.10", "amount:1001.10", nullptr, tamper, 1},
      {"notify.delay", "attach", "sandbox:notify=delay:300ms", "0.01", "attach", nullptr, delayed,
       1},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.kind + " via " + c.route);
    const std::string no = "NOTIFY-" + std::to_string(i++);
    if (c.setup.contains("profile")) {
      h.Call("POST", "/_sandbox/faults/profile", {{"name", c.setup["profile"]}});
    } else if (!c.setup.is_null()) {
      h.Call("POST", "/_sandbox/faults/rules", c.setup);
    }
    const size_t before = receiver.all().size();
    const uint64_t since = h.engine_.last_seq();
    ASSERT_EQ(h.WebPay(no, c.fee, c.attach).j["return_code"], "SUCCESS");
    const Steady::time_point paid = Steady::now();
    h.Call("POST", "/_sandbox/pay", {{"out_trade_no", no}});
    ASSERT_TRUE(Eventually([&] { return receiver.all().size() >= before + c.hits; }));
    json list = h.Call("GET", "/_sandbox/notifications?out_trade_no=" + no);
    ASSERT_EQ(list["notifications"].size(), 1u);
    const std::string id = list["notifications"][0]["notify_id"];
    ASSERT_TRUE(Eventually([&] {
      return h.Call("GET", "/_sandbox/notifications/" + id)["notification"]["state"] == "acked";
    }));
    // Let duplicates and late copies land before counting.
    std::this_thread::sleep_for(milliseconds(c.hits > 1 ? 1100 : 50));
    std::vector<Receiver::Hit> hits = receiver.all();
    hits.erase(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(before));
    ASSERT_EQ(hits.size(), c.hits);
    const json notification = h.Call("GET", "/_sandbox/notifications/" + id)["notification"];
    EXPECT_TRUE(notification["fault_plan"].is_object()) << notification.dump();
    c.check(hits, notification, paid);
    json log = h.Log(since);
    ASSERT_EQ(log.size(), 1u) << log.dump();
    EXPECT_EQ(log[0]["kind"], c.kind);
    EXPECT_EQ(log[0]["hook"], "notify");
    EXPECT_EQ(log[0]["source"], c.route);
    EXPECT_EQ(log[0]["rule_id"], c.rule_id);
    EXPECT_EQ(log[0]["out_trade_no"], no);
    if (!c.setup.is_null()) h.Call("POST", "/_sandbox/faults/clear", json::object());
  }
}

// The same seed and the same requests give the same injected record.
TEST(FaultsIntegration, SameSeedSameRequestsSameFaults) {
  auto run = [](uint64_t seed) {
    FaultHarness h(seed);
    h.Call("POST", "/_sandbox/faults/rules",
           {{"id", "coin"},
            {"match", {{"methods", {"webpay"}}}},
            {"action", {{"kind", "api.fail"}}},
            {"probability", 0.5}});
    std::vector<std::string> fired;
    for (int i = 0; i < 24; ++i) {
      const std::string no = "DET-" + std::to_string(i);
      Seen seen = h.WebPay(no, "0.01");
      if (seen.j["return_code"] == "FAIL") fired.push_back(no);
    }
    std::vector<std::string> logged;
    for (const json& f : h.Log()) logged.push_back(f["out_trade_no"].get<std::string>());
    EXPECT_EQ(fired, logged);
    return logged;
  };
  const std::vector<std::string> a = run(11);
  EXPECT_FALSE(a.empty());
  EXPECT_LT(a.size(), 24u);
  EXPECT_EQ(a, run(11));
}

}  // namespace
}  // namespace vkspay::sandbox
