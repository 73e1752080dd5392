// Server mode: is this a correct VksPay server? Every request is a body
// written here as text (RawBody) and signed by the suite's own signer; every
// state change is checked by a later query, never by the answer alone.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "vkspay/conformance/receiver.h"
#include "vkspay/conformance/signer.h"
#include "vkspay/conformance/suites.h"
#include "vkspay/protocol/form.h"

namespace vkspay::conformance {
namespace {

using nlohmann::json;
using Problem = std::optional<Outcome>;
using std::chrono::milliseconds;

#define CF_TRY(expr)                                                  \
  do {                                                                \
    if (::vkspay::conformance::Problem cf_p_ = (expr)) return *cf_p_; \
  } while (0)

constexpr const char* kDeadNotifyUrl = "http://127.0.0.1:9/conformance-notify";

// The retry delays (seconds) of the sandbox's named profiles (docs/notify.md).
const std::map<std::string, std::vector<double>>& KnownProfiles() {
  static const std::map<std::string, std::vector<double>> profiles = {
      {"vkspay",
       {15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600}},
      {"alipay", {240, 600, 600, 3600, 7200, 21600, 54000}},
      {"fast", {1, 2, 5, 10}},
  };
  return profiles;
}

// "yyyy-MM-dd HH:mm:ss" → seconds on a linear scale (days from civil), for
// differences only. nullopt if the text has another shape.
std::optional<int64_t> ParseDisplayTime(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (s.size() != 19 ||
      std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) {
    return std::nullopt;
  }
  y -= mo <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + h * 3600 + mi * 60 + se;
}

// A JSON value as JavaScript's String() would show it, for comparing amounts
// answered as numbers or strings. Numbers use the shortest round-trip form
// via %.17g trimming, enough for two-decimal amounts.
std::string ShowValue(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    const double d = v.get<double>();
    for (int precision = 1; precision <= 17; ++precision) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.*g", precision, d);
      if (std::strtod(buf, nullptr) == d) return buf;
    }
  }
  if (v.is_null()) return "null";
  return v.dump();
}

bool SameAmount(const json& v, const std::string& yuan) {
  if (v.is_string()) return v.get<std::string>() == yuan;
  if (v.is_number()) return std::fabs(v.get<double>() - std::strtod(yuan.c_str(), nullptr)) < 1e-9;
  return false;
}

std::string DataString(const json& data, const char* name) {
  if (!data.is_object()) return "";
  auto it = data.find(name);
  if (it == data.end()) return "";
  return it->is_string() ? it->get<std::string>() : ShowValue(*it);
}

// Everything the cases share: the target, the options, and the notes that
// turn a passing case into a Warn.
class Kit {
 public:
  Kit(Target* target, ServerSuiteOptions options) : t_(target), options_(std::move(options)) {}

  Target& t() { return *t_; }
  const ServerSuiteOptions& options() const { return options_; }
  bool has_target() const { return t_ != nullptr; }

  void BeginCase() { notes_.clear(); }
  void Note(std::string note) {
    if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) notes_.push_back(note);
  }
  // Pass, or Warn when a note was made along the way.
  Outcome Done(const std::string& reason) {
    if (notes_.empty()) return Outcome::Pass(reason);
    std::string all;
    for (const std::string& n : notes_) all += (all.empty() ? "" : "; ") + n;
    return Outcome::Warn(all + " (" + reason + ")");
  }

  Problem NeedControl() {
    if (!t_->has_control()) {
      return Outcome::Skip(
          "needs the control API (--control-url and --control-token) to act as "
          "the buyer or move the clock");
    }
    return std::nullopt;
  }

  // The answer must be a FAIL with one of `codes` (when the target sends
  // err_code at all).
  Problem ExpectRefused(const ApiReply& r, const std::vector<std::string_view>& codes,
                        const std::string& what) {
    if (!r.http.transport_ok) return Outcome::Fail(what + ": " + r.Describe());
    if (!r.http.json.is_object())
      return Outcome::Fail(what + ": answer is not JSON: " + r.Describe());
    if (r.success()) return Outcome::Fail(what + " was accepted: " + r.Describe());
    if (r.return_code != "FAIL") {
      return Outcome::Fail(what + ": return_code should be FAIL: " + r.Describe());
    }
    if (r.http.status != 200) {
      Note("failures answered with HTTP " + std::to_string(r.http.status) +
           " (VksPay answers 200)");
    }
    if (r.err_code.empty()) {
      Note("no err_code in FAIL answers, so the reason cannot be checked");
    } else if (!codes.empty() && std::find(codes.begin(), codes.end(), r.err_code) == codes.end()) {
      std::string expected;
      for (std::string_view c : codes)
        expected += (expected.empty() ? "" : " or ") + std::string(c);
      return Outcome::Fail(what + ": expected err_code " + expected + ", got " + r.Describe());
    }
    if (r.return_msg.empty()) Note("FAIL answers without return_msg");
    return std::nullopt;
  }

  Problem ExpectSuccess(const ApiReply& r, const std::string& what) {
    if (!r.http.transport_ok) return Outcome::Fail(what + ": " + r.Describe());
    if (!r.success()) return Outcome::Fail(what + " should succeed: " + r.Describe());
    if (!r.data.is_object()) return Outcome::Fail(what + ": SUCCESS without a data object");
    return std::nullopt;
  }

  // A webpay of `fee` (a JS-form literal) for `no`, to `notify_url`.
  RawBody Webpay(const std::string& no, const std::string& fee,
                 const std::string& notify_url = kDeadNotifyUrl) {
    RawBody b = t_->Envelope("webpay");
    b.Num("total_fee", fee).Str("notify_url", notify_url);
    if (!no.empty()) b.Str("out_trade_no", no);
    return b;
  }

  Problem CreateOrder(const std::string& no, const std::string& fee,
                      const std::string& notify_url = kDeadNotifyUrl) {
    ApiReply r = t_->Call(Webpay(no, fee, notify_url));
    CF_TRY(ExpectSuccess(r, "webpay of " + no));
    return std::nullopt;
  }

  ApiReply Query(const std::string& no) {
    RawBody b = t_->Envelope("orderquery");
    b.Str("out_trade_no", no);
    return t_->Call(b);
  }

  ApiReply Refund(const std::string& no, const std::string& fee,
                  const std::string& refund_no = "") {
    RawBody b = t_->Envelope("orderrefund");
    b.Str("out_trade_no", no).Num("refund_fee", fee);
    if (!refund_no.empty()) b.Str("out_refund_no", refund_no);
    return t_->Call(b);
  }

  // A later query must say the order does not exist: nothing was created.
  Problem ExpectNoOrder(const std::string& no) {
    ApiReply q = Query(no);
    if (!q.http.transport_ok) return Outcome::Fail("orderquery after the refusal: " + q.Describe());
    if (q.success() || (q.data.is_object() && DataString(q.data, "out_trade_no") == no)) {
      return Outcome::Fail("the refused request still created order " + no + ": " + q.Describe());
    }
    if (!q.err_code.empty() && q.err_code != "ORDER_NOT_EXIST") {
      return Outcome::Fail("orderquery after the refusal: expected ORDER_NOT_EXIST, got " +
                           q.Describe());
    }
    return std::nullopt;
  }

  // The order's status as a query shows it ("" and a Problem on failure).
  Problem QueryStatus(const std::string& no, std::string* status, json* data = nullptr) {
    ApiReply q = Query(no);
    if (!q.http.transport_ok) return Outcome::Fail("orderquery " + no + ": " + q.Describe());
    if (!q.data.is_object() || DataString(q.data, "out_trade_no") != no) {
      return Outcome::Fail("orderquery " + no +
                           " answered without the order in data: " + q.Describe());
    }
    *status = DataString(q.data, "status");
    const bool paid = *status == "SUCCESS" || *status == "REFUND";
    if (paid != q.success()) {
      return Outcome::Fail("orderquery " + no + ": return_code " + q.return_code + " but status " +
                           *status + " (SUCCESS only when paid)");
    }
    if (!paid && !q.err_code.empty() && q.err_code != "ORDER_NOT_PAID") {
      return Outcome::Fail("orderquery of an unpaid order: expected ORDER_NOT_PAID, got " +
                           q.Describe());
    }
    if (data) *data = q.data;
    return std::nullopt;
  }

  Problem ExpectStatus(const std::string& no, const std::string& expected, json* data = nullptr) {
    std::string status;
    CF_TRY(QueryStatus(no, &status, data));
    if (status != expected) {
      return Outcome::Fail("order " + no + " has status " + status + ", expected " + expected);
    }
    return std::nullopt;
  }

  // Acts as the buyer through the control API.
  Problem Pay(const std::string& no, const std::string& outcome = "success",
              const std::string& channel = "wxpay") {
    HttpAnswer a = t_->ControlPost("/_sandbox/pay", {{"merchantno", t_->options().merchantno},
                                                     {"out_trade_no", no},
                                                     {"channel", channel},
                                                     {"outcome", outcome}});
    if (!a.transport_ok || a.status != 200) {
      return Outcome::Fail("control API pay " + no + " (" + outcome + "): HTTP " +
                           std::to_string(a.status) + " " + a.error + a.body.substr(0, 200));
    }
    return std::nullopt;
  }

  // The control API's record of the notification(s) of an order, newest first.
  Problem Notifications(const std::string& no, json* list) {
    HttpAnswer a = t_->ControlGet("/_sandbox/notifications?merchantno=" + t_->options().merchantno +
                                  "&out_trade_no=" + no);
    if (!a.transport_ok || a.status != 200 || !a.json.is_object() ||
        !a.json.contains("notifications") || !a.json["notifications"].is_array()) {
      return Outcome::Fail("control API notifications of " + no + ": HTTP " +
                           std::to_string(a.status) + " " + a.error + a.body.substr(0, 200));
    }
    *list = a.json["notifications"];
    return std::nullopt;
  }

  Problem NotificationDetail(const std::string& id, json* n) {
    HttpAnswer a = t_->ControlGet("/_sandbox/notifications/" + id);
    if (!a.transport_ok || a.status != 200 || !a.json.is_object() ||
        !a.json.contains("notification")) {
      return Outcome::Fail("control API notification " + id + ": HTTP " + std::to_string(a.status) +
                           " " + a.error + a.body.substr(0, 200));
    }
    *n = a.json["notification"];
    return std::nullopt;
  }

  std::string NotifyUrl(const Receiver& r) const {
    return r.Url(options_.receiver_advertised_host);
  }

 private:
  Target* t_;
  ServerSuiteOptions options_;
  std::vector<std::string> notes_;
};

// ---------------------------------------------------------------- notifications

// Checks one delivered notification: form body, valid signature (the suite's
// signer), the documented fields. Fills `fields` with the decoded values.
Problem CheckNotification(Kit& k, const Receiver::Hit& hit, const std::string& type,
                          const std::map<std::string, std::string>& expect,
                          std::map<std::string, std::string>* fields) {
  if (hit.method != "POST") return Outcome::Fail("notification sent with " + hit.method);
  if (hit.content_type.rfind("application/x-www-form-urlencoded", 0) != 0) {
    return Outcome::Fail("notification Content-Type is \"" + hit.content_type +
                         "\", expected application/x-www-form-urlencoded");
  }
  StatusOr<Fields> decoded = DecodeForm(hit.body);
  if (!decoded.ok()) {
    return Outcome::Fail("notification body is not a form: " + decoded.status().ToString());
  }
  fields->clear();
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string sign;
  for (const Field& f : decoded->items()) {
    const std::string value = std::get<std::string>(f.value);
    (*fields)[f.name] = value;
    if (f.name == "sign") {
      sign = value;
    } else {
      pairs.emplace_back(f.name, value);
    }
  }
  if (sign.empty()) return Outcome::Fail("notification without sign: " + hit.body.substr(0, 200));
  const std::string want = SignPairs(pairs, k.t().options().key);
  if (sign != want) {
    return Outcome::Fail("notification sign " + sign + " does not verify (expected " + want +
                         " over " + CanonicalString(pairs, "***").substr(0, 300) + ")");
  }
  std::vector<std::string> required = {
      "notify_type", "notify_id", "merchantno", "out_trade_no", "transaction_id", "total_fee",
      "pay_chnl",    "status",    "time_end",   "timestamp",    "signaturenonce", "version"};
  if (type == "refund") {
    for (const char* n : {"out_refund_no", "refund_fee", "refund_status", "time_refund"}) {
      required.push_back(n);
    }
  }
  for (const std::string& name : required) {
    if (!fields->count(name)) {
      return Outcome::Fail("notification lacks documented field " + name + ": " +
                           hit.body.substr(0, 300));
    }
  }
  for (const auto& [name, value] : expect) {
    auto it = fields->find(name);
    if (it == fields->end() || it->second != value) {
      return Outcome::Fail("notification field " + name + " is \"" +
                           (it == fields->end() ? std::string("(absent)") : it->second) +
                           "\", expected \"" + value + "\"");
    }
  }
  const std::string& nonce = (*fields)["signaturenonce"];
  if (nonce.size() != 8 || nonce.find_first_not_of("123456789") != std::string::npos) {
    return Outcome::Fail("notification signaturenonce \"" + nonce + "\" is not 8 digits 1-9");
  }
  const int64_t ts = std::atoll((*fields)["timestamp"].c_str());
  if (std::llabs(ts - k.t().Now()) > 300) {
    return Outcome::Fail("notification timestamp " + (*fields)["timestamp"] + " is " +
                         std::to_string(ts - k.t().Now()) + " s from the server clock");
  }
  if (!ParseDisplayTime((*fields)["time_end"])) {
    return Outcome::Fail("notification time_end \"" + (*fields)["time_end"] +
                         "\" is not yyyy-MM-dd HH:mm:ss");
  }
  const std::string& chnl = (*fields)["pay_chnl"];
  if (chnl != "wxpay" && chnl != "alipay") {
    return Outcome::Fail("notification pay_chnl \"" + chnl + "\", expected wxpay or alipay");
  }
  if ((*fields)["notify_id"].empty() || (*fields)["transaction_id"].empty()) {
    return Outcome::Fail("notification with an empty notify_id or transaction_id");
  }
  return std::nullopt;
}

Problem WaitHits(Kit& k, Receiver& r, size_t n, const std::string& what) {
  if (!r.WaitFor(n, std::chrono::seconds(k.options().notify_wait_s))) {
    return Outcome::Fail(what + ": no delivery within " +
                         std::to_string(k.options().notify_wait_s) + " s (" +
                         std::to_string(r.hits().size()) + " received so far)");
  }
  return std::nullopt;
}

// Polls the control API until the order's newest notification satisfies
// `done` (at most ~5 s).
Problem PollNotification(Kit& k, const std::string& no,
                         const std::function<bool(const json&)>& done, json* out,
                         const std::string& what) {
  for (int i = 0; i < 250; ++i) {
    json list;
    CF_TRY(k.Notifications(no, &list));
    if (!list.empty() && done(list[0])) {
      *out = list[0];
      return std::nullopt;
    }
    if (i == 249) {
      return Outcome::Fail(
          what + ": " +
          (list.empty() ? std::string("no notification recorded") : list[0].dump().substr(0, 300)));
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- the cases

class ServerSuite {
 public:
  ServerSuite(Target* target, const ServerSuiteOptions& options) : k_(target, options) {}

  std::vector<Case> Build() {
    AddSigning();
    AddEnvelope();
    AddOrders();
    AddLifecycle();
    AddNotify();
    return std::move(cases_);
  }

 private:
  void Add(std::string id, std::string summary, std::function<Outcome(Kit&)> fn) {
    Kit* k = &k_;
    cases_.push_back({std::move(id), std::move(summary), [k, fn = std::move(fn)]() {
                        if (!k->has_target()) return Outcome::Skip("no target");
                        k->BeginCase();
                        return fn(*k);
                      }});
  }

  // A refused webpay of a fresh order, then a query showing it does not exist.
  void AddRefusedWebpay(std::string id, std::string summary,
                        std::function<std::string(Kit&, const std::string& no)> body,
                        std::vector<std::string_view> codes, std::string what) {
    Add(std::move(id), std::move(summary), [body, codes, what](Kit& k) {
      const std::string no = k.t().NewOrderNo("refused");
      ApiReply r = k.t().PostRaw(body(k, no));
      CF_TRY(k.ExpectRefused(r, codes, what));
      CF_TRY(k.ExpectNoOrder(no));
      return k.Done("refused with " + (r.err_code.empty() ? r.return_code : r.err_code) +
                    "; no order created");
    });
  }

  void AddSigning() {
    Add("signing/suite-signer-known-answers",
        "the suite's own signer reproduces every Node.js known-answer vector (no network)",
        [](Kit& k) {
          for (const SigningVector& v : SigningVectors()) {
            if (Md5Hex(v.canonical) != v.sign) {
              return Outcome::Fail("vector " + v.name + ": MD5 of its canonical string is " +
                                   Md5Hex(v.canonical) + ", the vector says " + v.sign);
            }
            const auto pairs = VectorPairs(v);
            if (pairs.empty() && v.body != "{}") {
              return Outcome::Fail("vector " + v.name + ": cannot split its canonical string");
            }
            if (CanonicalString(pairs, v.key) != v.canonical) {
              return Outcome::Fail("vector " + v.name + ": canonical string rebuilt as " +
                                   CanonicalString(pairs, v.key));
            }
          }
          return k.Done(std::to_string(SigningVectors().size()) + " vectors reproduced");
        });

    Add("signing/correct-request-accepted",
        "a webpay shaped like the official sample's, signed correctly, is accepted", [](Kit& k) {
          const std::string no = k.t().NewOrderNo("ok");
          ApiReply r = k.t().Call(k.Webpay(no, "0.01"));
          CF_TRY(k.ExpectSuccess(r, "a correctly signed webpay"));
          if (DataString(r.data, "out_trade_no") != no) {
            return Outcome::Fail("data.out_trade_no is \"" + DataString(r.data, "out_trade_no") +
                                 "\", sent " + no);
          }
          CF_TRY(k.ExpectStatus(no, "NOTPAY"));
          return k.Done("accepted; a later query finds the order NOTPAY");
        });

    auto refused_sign =
        [this](std::string id, std::string summary,
               std::function<std::string(const RawBody&, const std::string& sign)> mutate,
               std::vector<std::string_view> codes) {
          AddRefusedWebpay(
              std::move(id), std::move(summary),
              [mutate](Kit& k, const std::string& no) {
                RawBody b = k.Webpay(no, "0.01");
                return mutate(b, b.Sign(k.t().options().key));
              },
              std::move(codes), "the request");
        };
    refused_sign("signing/wrong-sign-refused", "a well-formed but wrong sign is refused",
                 [](const RawBody& b, const std::string& sign) {
                   std::string wrong = sign;
                   wrong[0] = wrong[0] == '0' ? '1' : '0';
                   return b.JsonWithSign(wrong);
                 },
                 {"SIGN_ERROR"});
    refused_sign("signing/missing-sign-refused", "a request without sign is refused",
                 [](const RawBody& b, const std::string&) { return b.Json(); },
                 {"MISSING_FIELD", "SIGN_ERROR"});
    refused_sign("signing/uppercase-sign-refused",
                 "the right sign in uppercase hex is refused (assumption: lowercase only)",
                 [](const RawBody& b, const std::string& sign) {
                   std::string upper = sign;
                   for (char& c : upper)
                     c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                   return b.JsonWithSign(upper);
                 },
                 {"SIGN_ERROR"});
    refused_sign("signing/truncated-sign-refused", "the right sign cut to 31 characters is refused",
                 [](const RawBody& b, const std::string& sign) {
                   return b.JsonWithSign(sign.substr(0, 31));
                 },
                 {"SIGN_ERROR"});
    refused_sign("signing/empty-sign-refused", "an empty sign is refused",
                 [](const RawBody& b, const std::string&) { return b.JsonWithSign(""); },
                 {"SIGN_ERROR", "MISSING_FIELD"});
    refused_sign("signing/field-changed-after-signing-refused",
                 "total_fee changed after signing (0.01 signed, 100 sent) is refused",
                 [](const RawBody& b, const std::string& sign) {
                   RawBody changed = b;
                   changed.Num("total_fee", "100");
                   return changed.JsonWithSign(sign);
                 },
                 {"SIGN_ERROR"});
    refused_sign("signing/unknown-field-added-after-signing-refused",
                 "an unknown field added after signing is refused: unknown fields are signed",
                 [](const RawBody& b, const std::string& sign) {
                   return b.JsonWithSign(sign, "\"extra_field\":\"x\"");
                 },
                 {"SIGN_ERROR"});
    refused_sign("signing/sign-with-another-key-refused",
                 "a request signed with another merchant's key is refused",
                 [](const RawBody& b, const std::string&) {
                   return b.JsonWithSign(b.Sign("not-the-merchant-key"));
                 },
                 {"SIGN_ERROR"});

    Add("signing/unknown-fields-take-part",
        "unknown fields (a string and a number) signed with the request are accepted", [](Kit& k) {
          const std::string no = k.t().NewOrderNo("unknown");
          RawBody b = k.Webpay(no, "0.01");
          b.Str("extra_field", "x").Lit("Zeta", "1", "1");
          ApiReply r = k.t().Call(b);
          CF_TRY(k.ExpectSuccess(r, "a webpay with signed unknown fields"));
          CF_TRY(k.ExpectStatus(no, "NOTPAY"));
          return k.Done("accepted; the order exists");
        });

    Add("signing/empty-strings-signed",
        "empty strings take part as name= (micropay-style cashier/kuantai/source empty)",
        [](Kit& k) {
          const std::string no = k.t().NewOrderNo("empty");
          RawBody b = k.Webpay(no, "0.01");
          b.Str("subject", "").Str("body", "").Str("attach", "");
          ApiReply r = k.t().Call(b);
          CF_TRY(k.ExpectSuccess(r, "a webpay with empty subject, body and attach"));
          return k.Done("accepted");
        });

    // One case per known-answer vector whose fields do not collide with the
    // orderquery envelope: its fields ride along as unknown fields of an
    // orderquery, signed with the canonical values the vector gives.
    for (const SigningVector& v : SigningVectors()) {
      static const std::set<std::string> kEnvelope = {
          "method", "merchantno", "out_trade_no", "signaturenonce", "timestamp", "version", "sign"};
      const auto pairs = VectorPairs(v);
      if (pairs.empty()) continue;
      bool collides = false;
      for (const auto& [name, value] : pairs) collides = collides || kEnvelope.count(name) > 0;
      // A vector that carries its own sign field (sign_field_excluded) would
      // send two sign fields; the suite-signer case covers it.
      if (collides || v.body.find("\"sign\"") != std::string::npos) continue;
      std::string id = "signing/vector/" + v.name;
      std::replace(id.begin(), id.end(), '_', '-');
      Add(id,
          "fields of vector " + v.name + " (" + v.body.substr(0, 60) +
              (v.body.size() > 60 ? "..." : "") + ") are canonicalised as the vector says",
          [v, pairs](Kit& k) {
            const std::string no = k.t().NewOrderNo("vec");
            CF_TRY(k.CreateOrder(no, "0.01"));
            RawBody b = k.t().Envelope("orderquery");
            b.Str("out_trade_no", no);
            std::vector<std::pair<std::string, std::string>> all;
            for (const RawField& f : b.fields()) all.emplace_back(f.name, f.canonical);
            all.insert(all.end(), pairs.begin(), pairs.end());
            const std::string sign = SignPairs(all, k.t().options().key);
            ApiReply r = k.t().PostRaw(b.JsonWithSign(sign, VectorMembers(v)));
            if (!r.http.transport_ok) return Outcome::Fail(r.Describe());
            if (!r.data.is_object() || DataString(r.data, "out_trade_no") != no) {
              return Outcome::Fail(
                  "refused, so the server canonicalises differently from the "
                  "vector (" +
                  CanonicalString(pairs, "***") + "): " + r.Describe());
            }
            return k.Done("accepted (orderquery answered the order)");
          });
    }
  }

  void AddEnvelope() {
    auto webpay_with = [](std::function<void(RawBody&)> change) {
      return [change](Kit& k, const std::string& no) {
        RawBody b = k.Webpay(no, "0.01");
        change(b);
        return b.JsonWithSign(b.Sign(k.t().options().key));
      };
    };
    AddRefusedWebpay("envelope/wrong-version-refused", "version \"1.0\" is refused",
                     webpay_with([](RawBody& b) { b.Str("version", "1.0"); }),
                     {"UNSUPPORTED_VERSION"}, "version 1.0");
    AddRefusedWebpay("envelope/numeric-version-refused",
                     "version as the number 2.0 (signs as \"2\") is refused (assumption)",
                     webpay_with([](RawBody& b) { b.Lit("version", "2.0", "2"); }),
                     {"UNSUPPORTED_VERSION", "INVALID_FIELD"}, "numeric version");
    AddRefusedWebpay("envelope/unknown-method-refused", "method \"refundall\" is refused",
                     webpay_with([](RawBody& b) { b.Str("method", "refundall"); }),
                     {"UNKNOWN_METHOD"}, "method refundall");
    AddRefusedWebpay("envelope/unknown-merchant-refused",
                     "an unknown merchantno is refused, even signed with a valid key",
                     webpay_with([](RawBody& b) { b.Str("merchantno", "99999998"); }),
                     {"UNKNOWN_MERCHANT"}, "merchantno 99999998");
    AddRefusedWebpay(
        "envelope/numeric-merchantno-refused",
        "merchantno as a JSON number is refused (assumption)",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          const std::string m = k.t().options().merchantno;
          if (m.find_first_not_of("0123456789") == std::string::npos && !m.empty()) {
            b.Lit("merchantno", m, m);
          } else {
            b.Lit("merchantno", "1", "1");
          }
          return b.JsonWithSign(b.Sign(k.t().options().key));
        },
        {"INVALID_FIELD", "UNKNOWN_MERCHANT"}, "numeric merchantno");
    AddRefusedWebpay(
        "envelope/stale-timestamp-refused",
        "a timestamp one hour before the server clock is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          b.Num("timestamp", std::to_string(k.t().Now() - 3600));
          return b.JsonWithSign(b.Sign(k.t().options().key));
        },
        {"TIMESTAMP_EXPIRED"}, "a stale timestamp");
    AddRefusedWebpay(
        "envelope/future-timestamp-refused",
        "a timestamp one hour after the server clock is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          b.Num("timestamp", std::to_string(k.t().Now() + 3600));
          return b.JsonWithSign(b.Sign(k.t().options().key));
        },
        {"TIMESTAMP_EXPIRED"}, "a future timestamp");
    Add("envelope/timestamp-within-window-accepted",
        "a timestamp two minutes behind the server clock is accepted (clock skew within ±300 s)",
        [](Kit& k) {
          const std::string no = k.t().NewOrderNo("skew");
          RawBody b = k.Webpay(no, "0.01");
          b.Num("timestamp", std::to_string(k.t().Now() - 120));
          CF_TRY(k.ExpectSuccess(k.t().Call(b), "a timestamp 120 s old"));
          CF_TRY(k.ExpectStatus(no, "NOTPAY"));
          return k.Done("accepted");
        });
    AddRefusedWebpay(
        "envelope/string-timestamp-refused", "timestamp as a string is refused (assumption)",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          b.Str("timestamp", std::to_string(k.t().Now()));
          return b.JsonWithSign(b.Sign(k.t().options().key));
        },
        {"INVALID_FIELD"}, "a string timestamp");
    AddRefusedWebpay("envelope/missing-timestamp-refused", "a request without timestamp is refused",
                     webpay_with([](RawBody& b) { b.Remove("timestamp"); }), {"MISSING_FIELD"},
                     "no timestamp");
    AddRefusedWebpay("envelope/missing-nonce-refused",
                     "a request without signaturenonce is refused",
                     webpay_with([](RawBody& b) { b.Remove("signaturenonce"); }), {"MISSING_FIELD"},
                     "no signaturenonce");
    AddRefusedWebpay("envelope/bad-nonce-refused",
                     "signaturenonce \"1234\" (not 8 digits 1-9) is refused (assumption)",
                     webpay_with([](RawBody& b) { b.Str("signaturenonce", "1234"); }),
                     {"INVALID_FIELD"}, "nonce 1234");
    AddRefusedWebpay(
        "envelope/malformed-json-refused", "a body that is not valid JSON is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          std::string s = b.JsonWithSign(b.Sign(k.t().options().key));
          s.pop_back();  // drop the closing brace
          return s;
        },
        {"INVALID_JSON"}, "truncated JSON");
    AddRefusedWebpay(
        "envelope/not-an-object-refused", "a JSON array body is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          return "[" + b.JsonWithSign(b.Sign(k.t().options().key)) + "]";
        },
        {"INVALID_JSON", "NOT_FLAT"}, "an array body");
    AddRefusedWebpay(
        "envelope/non-flat-json-refused",
        "a field whose value is an object is refused (bodies are flat)",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          return b.JsonWithSign(b.Sign(k.t().options().key), "\"extra\":{\"a\":1}");
        },
        {"NOT_FLAT"}, "a nested object");
    AddRefusedWebpay(
        "envelope/array-value-refused", "a field whose value is an array is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          return b.JsonWithSign(b.Sign(k.t().options().key), "\"extra\":[1,2]");
        },
        {"NOT_FLAT"}, "an array value");
    AddRefusedWebpay(
        "envelope/duplicate-field-refused",
        "the same field twice (total_fee 0.01 then 100) is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          return b.JsonWithSign(b.Sign(k.t().options().key), "\"total_fee\":100");
        },
        {"DUPLICATE_FIELD"}, "a duplicate field");
    for (const auto& [suffix, ctype] : std::vector<std::pair<std::string, std::string>>{
             {"text-plain", "text/plain"},
             {"form", "application/x-www-form-urlencoded"},
             {"gbk-charset", "application/json; charset=gbk"}}) {
      const std::string content_type = ctype;
      Add("envelope/content-type-" + suffix + "-refused",
          "a correctly signed body sent as " + content_type + " is refused",
          [content_type](Kit& k) {
            const std::string no = k.t().NewOrderNo("ctype");
            RawBody b = k.Webpay(no, "0.01");
            ApiReply r = k.t().PostRaw(b.JsonWithSign(b.Sign(k.t().options().key)), content_type);
            CF_TRY(k.ExpectRefused(r, {"INVALID_CONTENT_TYPE"}, "Content-Type " + content_type));
            CF_TRY(k.ExpectNoOrder(no));
            return k.Done("refused; no order created");
          });
    }
    for (const auto& [suffix, ctype] : std::vector<std::pair<std::string, std::string>>{
             {"without-charset", "application/json"},
             {"charset-uppercase", "application/json;charset=UTF-8"}}) {
      const std::string content_type = ctype;
      Add("envelope/content-type-" + suffix + "-accepted",
          "Content-Type " + content_type +
              " is accepted (media types and charsets are "
              "case-insensitive; Java clients send this)",
          [content_type](Kit& k) {
            const std::string no = k.t().NewOrderNo("ctype");
            RawBody b = k.Webpay(no, "0.01");
            ApiReply r = k.t().PostRaw(b.JsonWithSign(b.Sign(k.t().options().key)), content_type);
            CF_TRY(k.ExpectSuccess(r, "Content-Type " + content_type));
            return k.Done("accepted");
          });
    }
    Add("envelope/replayed-request-refused",
        "the exact same signed request sent twice: the second is refused, one order exists",
        [](Kit& k) {
          const std::string no = k.t().NewOrderNo("replay");
          RawBody b = k.Webpay(no, "0.01");
          const std::string body = b.JsonWithSign(b.Sign(k.t().options().key));
          ApiReply first = k.t().PostRaw(body);
          CF_TRY(k.ExpectSuccess(first, "the first request"));
          ApiReply second = k.t().PostRaw(body);
          CF_TRY(k.ExpectRefused(second, {"NONCE_REPLAYED"}, "the replayed request"));
          CF_TRY(k.ExpectStatus(no, "NOTPAY"));
          return k.Done("replay refused with " + second.err_code + "; the order is unchanged");
        });
    Add("envelope/replayed-query-refused",
        "a replayed orderquery is refused too (replay protection is for every method)", [](Kit& k) {
          const std::string no = k.t().NewOrderNo("replayq");
          CF_TRY(k.CreateOrder(no, "0.01"));
          RawBody b = k.t().Envelope("orderquery");
          b.Str("out_trade_no", no);
          const std::string body = b.JsonWithSign(b.Sign(k.t().options().key));
          ApiReply first = k.t().PostRaw(body);
          if (!first.data.is_object()) return Outcome::Fail("the first query: " + first.Describe());
          ApiReply second = k.t().PostRaw(body);
          CF_TRY(k.ExpectRefused(second, {"NONCE_REPLAYED"}, "the replayed query"));
          return k.Done("refused");
        });
  }

  void AddAmountCase(const std::string& id, const std::string& summary, const std::string& literal,
                     const std::string& canonical, bool as_string) {
    AddRefusedWebpay(
        id, summary,
        [literal, canonical, as_string](Kit& k, const std::string& no) {
          RawBody b = k.Webpay(no, "0.01");
          if (as_string) {
            b.Str("total_fee", literal);
          } else {
            b.Lit("total_fee", literal, canonical);
          }
          return b.JsonWithSign(b.Sign(k.t().options().key));
        },
        {"INVALID_AMOUNT"}, "total_fee " + literal);
  }

  void AddOrders() {
    Add("orders/webpay-answer-fields",
        "webpay answers SUCCESS with the documented data fields and the amount as sent",
        [](Kit& k) {
          const std::string no = k.t().NewOrderNo("fields");
          RawBody b = k.Webpay(no, "0.01");
          b.Str("subject", "一致性测试").Str("attach", "备注=值&x y");
          ApiReply r = k.t().Call(b);
          CF_TRY(k.ExpectSuccess(r, "webpay"));
          for (const char* name : {"out_trade_no", "qrcode"}) {  // the sample's
            if (!r.data.contains(name)) return Outcome::Fail(std::string("data lacks ") + name);
          }
          for (const char* name : {"merchantno", "transaction_id", "trade_type", "total_fee",
                                   "status", "pay_chnl", "subject", "body", "attach", "time_create",
                                   "time_expire", "time_end", "refund_fee", "refund_count"}) {
            if (!r.data.contains(name)) {
              return Outcome::Fail(std::string("data lacks documented field ") + name + ": " +
                                   r.data.dump().substr(0, 300));
            }
          }
          if (DataString(r.data, "out_trade_no") != no)
            return Outcome::Fail("out_trade_no differs");
          if (!SameAmount(r.data["total_fee"], "0.01")) {
            return Outcome::Fail("data.total_fee is " + ShowValue(r.data["total_fee"]) +
                                 ", sent 0.01");
          }
          if (DataString(r.data, "status") != "NOTPAY") {
            return Outcome::Fail("data.status is " + DataString(r.data, "status") +
                                 ", expected NOTPAY");
          }
          const std::string qr = DataString(r.data, "qrcode");
          if (qr.rfind("http://", 0) != 0 && qr.rfind("https://", 0) != 0) {
            return Outcome::Fail("data.qrcode \"" + qr + "\" is not an http(s) link");
          }
          if (DataString(r.data, "merchantno") != k.t().options().merchantno) {
            return Outcome::Fail("data.merchantno is " + DataString(r.data, "merchantno"));
          }
          if (DataString(r.data, "attach") != "备注=值&x y") {
            return Outcome::Fail("data.attach \"" + DataString(r.data, "attach") +
                                 "\" is not the attach sent");
          }
          auto created = ParseDisplayTime(DataString(r.data, "time_create"));
          auto expires = ParseDisplayTime(DataString(r.data, "time_expire"));
          if (!created || !expires || *expires <= *created) {
            return Outcome::Fail("time_create/time_expire not yyyy-MM-dd HH:mm:ss in order: " +
                                 DataString(r.data, "time_create") + " / " +
                                 DataString(r.data, "time_expire"));
          }
          return k.Done("all documented fields present; expires after " +
                        std::to_string(*expires - *created) + " s");
        });

    Add("orders/webpay-generates-out-trade-no",
        "a webpay without out_trade_no gets a generated one that a query finds", [](Kit& k) {
          ApiReply r = k.t().Call(k.Webpay("", "0.01"));
          CF_TRY(k.ExpectSuccess(r, "webpay without out_trade_no"));
          const std::string no = DataString(r.data, "out_trade_no");
          if (no.empty()) return Outcome::Fail("no out_trade_no generated");
          CF_TRY(k.ExpectStatus(no, "NOTPAY"));
          return k.Done("generated " + no);
        });

    Add("orders/payment-link-opens",
        "the webpay answer's qrcode link opens (HTTP 200, names the order)", [](Kit& k) {
          const std::string no = k.t().NewOrderNo("link");
          ApiReply r = k.t().Call(k.Webpay(no, "0.01"));
          CF_TRY(k.ExpectSuccess(r, "webpay"));
          const std::string qr = DataString(r.data, "qrcode");
          HttpAnswer page = k.t().GetUrl(qr);
          if (!page.transport_ok) return Outcome::Fail("GET " + qr + ": " + page.error);
          if (page.status != 200 || page.body.empty()) {
            return Outcome::Fail("GET " + qr + " answered HTTP " + std::to_string(page.status));
          }
          if (page.body.find(no) == std::string::npos) {
            k.Note("the payment page does not show the out_trade_no");
          }
          return k.Done("GET " + qr + " → 200, " + std::to_string(page.body.size()) + " bytes");
        });

    Add("orders/micropay-answer-fields",
        "a micropay shaped like the sample's (empty cashier/kuantai/source) pays at once",
        [](Kit& k) {
          const std::string no = k.t().NewOrderNo("micro");
          RawBody b = k.t().Envelope("micropay");
          b.Num("total_fee", "1")
              .Str("pay_chnl", "wxpay")
              .Str("client_ip", "127.0.0.1")
              .Str("auth_code", "134567890123456789")
              .Str("cashier", "")
              .Str("kuantai", "")
              .Str("source", "")
              .Str("pay_cate", "pay")
              .Str("out_trade_no", no);
          ApiReply r = k.t().Call(b);
          CF_TRY(k.ExpectSuccess(r, "micropay"));
          if (DataString(r.data, "out_trade_no") != no)
            return Outcome::Fail("out_trade_no differs");
          if (DataString(r.data, "status") != "SUCCESS") {
            return Outcome::Fail("data.status is " + DataString(r.data, "status") +
                                 ", expected SUCCESS");
          }
          if (!SameAmount(r.data.value("total_fee", json()), "1")) {
            return Outcome::Fail("data.total_fee is " +
                                 ShowValue(r.data.value("total_fee", json())));
          }
          if (DataString(r.data, "transaction_id").empty()) {
            return Outcome::Fail("a paid micropay without transaction_id");
          }
          json data;
          CF_TRY(k.ExpectStatus(no, "SUCCESS", &data));
          return k.Done("paid; transaction_id " + DataString(r.data, "transaction_id"));
        });

    AddRefusedWebpay(
        "orders/micropay-wrong-wallet-code-refused",
        "an Alipay auth_code with pay_chnl wxpay is refused",
        [](Kit& k, const std::string& no) {
          RawBody b = k.t().Envelope("micropay");
          b.Num("total_fee", "1")
              .Str("pay_chnl", "wxpay")
              .Str("client_ip", "127.0.0.1")
              .Str("auth_code", "284567890123456789")
              .Str("out_trade_no", no);
          return b.JsonWithSign(b.Sign(k.t().options().key));
        },
        {"AUTH_CODE_INVALID"}, "an Alipay code for WeChat");

    Add("orders/same-out-trade-no-same-amount-idempotent",
        "the same out_trade_no and amount again answers the same order and link", [](Kit& k) {
          const std::string no = k.t().NewOrderNo("idem");
          ApiReply a = k.t().Call(k.Webpay(no, "0.5"));
          CF_TRY(k.ExpectSuccess(a, "the first webpay"));
          ApiReply b = k.t().Call(k.Webpay(no, "0.5"));
          CF_TRY(k.ExpectSuccess(b, "the repeated webpay"));
          if (DataString(a.data, "qrcode") != DataString(b.data, "qrcode")) {
            return Outcome::Fail(
                "the repeat answered another link: " + DataString(a.data, "qrcode") + " then " +
                DataString(b.data, "qrcode"));
          }
          json data;
          CF_TRY(k.ExpectStatus(no, "NOTPAY", &data));
          if (!SameAmount(data.value("total_fee", json()), "0.5")) {
            return Outcome::Fail("the order's amount is " +
                                 ShowValue(data.value("total_fee", json())));
          }
          return k.Done("same order, same link");
        });

    Add("orders/same-out-trade-no-other-amount-refused",
        "the same out_trade_no with another amount is refused and the order keeps its amount",
        [](Kit& k) {
          const std::string no = k.t().NewOrderNo("idem2");
          CF_TRY(k.CreateOrder(no, "0.5"));
          ApiReply b = k.t().Call(k.Webpay(no, "0.6"));
          CF_TRY(k.ExpectRefused(b, {"OUT_TRADE_NO_USED"}, "another amount for " + no));
          json data;
          CF_TRY(k.ExpectStatus(no, "NOTPAY", &data));
          if (!SameAmount(data.value("total_fee", json()), "0.5")) {
            return Outcome::Fail("the order's amount became " +
                                 ShowValue(data.value("total_fee", json())));
          }
          return k.Done("refused; the order still has 0.5");
        });

    auto accepted_amount = [this](std::string id, std::string summary, std::string literal,
                                  bool as_string, std::string expect) {
      Add(std::move(id), std::move(summary), [literal, as_string, expect](Kit& k) {
        const std::string no = k.t().NewOrderNo("amount");
        RawBody b = k.Webpay(no, "0.01");
        if (as_string) {
          b.Str("total_fee", literal);
        } else {
          b.Num("total_fee", literal);
        }
        ApiReply r = k.t().Call(b);
        CF_TRY(k.ExpectSuccess(r, "total_fee " + literal));
        json data;
        CF_TRY(k.ExpectStatus(no, "NOTPAY", &data));
        if (!SameAmount(data.value("total_fee", json()), expect)) {
          return Outcome::Fail("the order's amount is " +
                               ShowValue(data.value("total_fee", json())) + ", expected " + expect);
        }
        return k.Done("accepted as " + expect + " yuan");
      });
    };
    accepted_amount("orders/amount-two-decimals-accepted", "total_fee 12.34 is accepted exactly",
                    "12.34", false, "12.34");
    accepted_amount("orders/amount-numeric-string-accepted",
                    "total_fee as the string \"0.01\" is accepted (assumption)", "0.01", true,
                    "0.01");
    accepted_amount("orders/amount-maximum-accepted", "total_fee 1000000 (the maximum) is accepted",
                    "1000000", false, "1000000");
    AddAmountCase("orders/amount-three-decimals-refused", "total_fee 0.001 is refused", "0.001",
                  "0.001", false);
    AddAmountCase("orders/amount-half-fen-refused", "total_fee 1.005 is refused", "1.005", "1.005",
                  false);
    AddAmountCase("orders/amount-zero-refused", "total_fee 0 is refused", "0", "0", false);
    AddAmountCase("orders/amount-negative-refused", "total_fee -0.01 is refused", "-0.01", "-0.01",
                  false);
    AddAmountCase("orders/amount-exponent-refused", "total_fee 1e-7 (signs as 1e-7) is refused",
                  "1e-7", "1e-7", false);
    AddAmountCase("orders/amount-leading-zero-refused", "total_fee \"01\" is refused", "01", "01",
                  true);
    AddAmountCase("orders/amount-above-maximum-refused", "total_fee 1000000.01 is refused",
                  "1000000.01", "1000000.01", false);
    AddAmountCase("orders/amount-not-a-number-refused", "total_fee \"abc\" is refused", "abc",
                  "abc", true);

    auto refused_field = [this](std::string id, std::string summary,
                                std::function<void(RawBody&, const std::string& no)> change,
                                std::vector<std::string_view> codes, std::string what) {
      AddRefusedWebpay(
          std::move(id), std::move(summary),
          [change](Kit& k, const std::string& no) {
            RawBody b = k.Webpay(no, "0.01");
            change(b, no);
            return b.JsonWithSign(b.Sign(k.t().options().key));
          },
          std::move(codes), std::move(what));
    };
    refused_field(
        "orders/missing-total-fee-refused", "a webpay without total_fee is refused",
        [](RawBody& b, const std::string&) { b.Remove("total_fee"); }, {"MISSING_FIELD"},
        "no total_fee");
    refused_field(
        "orders/bad-notify-url-refused",
        "notify_url ftp://example.com/n (not http or https) is refused",
        [](RawBody& b, const std::string&) { b.Str("notify_url", "ftp://example.com/n"); },
        {"NOTIFY_URL_REFUSED"}, "an ftp notify_url");
    refused_field(
        "orders/bad-pay-chnl-refused", "pay_chnl \"unionpay\" is refused (assumption)",
        [](RawBody& b, const std::string&) { b.Str("pay_chnl", "unionpay"); }, {"INVALID_FIELD"},
        "pay_chnl unionpay");
    refused_field(
        "orders/out-trade-no-bad-characters-refused",
        "an out_trade_no with a space is refused (assumption: A-Za-z0-9_-|*)",
        [](RawBody& b, const std::string& no) { b.Str("out_trade_no", no + " X"); },
        {"INVALID_FIELD"}, "out_trade_no with a space");
    refused_field(
        "orders/out-trade-no-too-long-refused",
        "an out_trade_no of 65 characters is refused (assumption: at most 64)",
        [](RawBody& b, const std::string& no) {
          b.Str("out_trade_no", no + std::string(65 - std::min<size_t>(no.size(), 64), 'X'));
        },
        {"INVALID_FIELD"}, "a 65-character out_trade_no");
    Add("orders/unknown-order-query",
        "orderquery of an order never created answers ORDER_NOT_EXIST", [](Kit& k) {
          ApiReply r = k.Query(k.t().NewOrderNo("never"));
          CF_TRY(k.ExpectRefused(r, {"ORDER_NOT_EXIST"}, "orderquery of an unknown order"));
          return k.Done("refused with " + r.err_code);
        });
  }

  void AddLifecycle() {
    Add("lifecycle/unpaid-query-not-paid",
        "orderquery of an unpaid order: FAIL ORDER_NOT_PAID with data.status NOTPAY", [](Kit& k) {
          const std::string no = k.t().NewOrderNo("unpaid");
          CF_TRY(k.CreateOrder(no, "0.01"));
          CF_TRY(k.ExpectStatus(no, "NOTPAY"));
          return k.Done("not paid");
        });
    Add("lifecycle/paid-query-paid",
        "after the buyer pays, orderquery answers SUCCESS with status SUCCESS and a transaction_id",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("paid");
          CF_TRY(k.CreateOrder(no, "0.01"));
          CF_TRY(k.Pay(no, "success", "alipay"));
          json data;
          CF_TRY(k.ExpectStatus(no, "SUCCESS", &data));
          if (DataString(data, "transaction_id").empty() || DataString(data, "time_end").empty()) {
            return Outcome::Fail("a paid order without transaction_id or time_end: " +
                                 data.dump().substr(0, 300));
          }
          if (DataString(data, "pay_chnl") != "alipay") {
            return Outcome::Fail("paid with alipay, pay_chnl is " + DataString(data, "pay_chnl"));
          }
          return k.Done("paid, transaction_id " + DataString(data, "transaction_id"));
        });
    Add("lifecycle/paid-order-not-created-again",
        "webpay of a paid out_trade_no is refused with ORDER_PAID", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("paid2");
          CF_TRY(k.CreateOrder(no, "0.01"));
          CF_TRY(k.Pay(no));
          ApiReply r = k.t().Call(k.Webpay(no, "0.01"));
          CF_TRY(k.ExpectRefused(r, {"ORDER_PAID"}, "webpay of a paid order"));
          CF_TRY(k.ExpectStatus(no, "SUCCESS"));
          return k.Done("refused; still paid");
        });
    Add("lifecycle/cancelled-order-closed",
        "a cancelled order is CLOSED: not paid, cannot be created again or refunded", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("cancel");
          CF_TRY(k.CreateOrder(no, "0.01"));
          CF_TRY(k.Pay(no, "cancel"));
          CF_TRY(k.ExpectStatus(no, "CLOSED"));
          ApiReply again = k.t().Call(k.Webpay(no, "0.01"));
          CF_TRY(k.ExpectRefused(again, {"ORDER_CLOSED"}, "webpay of a closed order"));
          ApiReply refund = k.Refund(no, "0.01");
          CF_TRY(k.ExpectRefused(refund, {"REFUND_NOT_ALLOWED"}, "refund of a closed order"));
          CF_TRY(k.ExpectStatus(no, "CLOSED"));
          return k.Done("CLOSED; webpay and refund refused");
        });
    Add("lifecycle/failed-payment-payerror", "a failed payment leaves the order PAYERROR, not paid",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("payfail");
          CF_TRY(k.CreateOrder(no, "0.01"));
          CF_TRY(k.Pay(no, "fail"));
          CF_TRY(k.ExpectStatus(no, "PAYERROR"));
          return k.Done("PAYERROR");
        });
    Add("lifecycle/expired-order-closed",
        "an order past time_expire (clock moved forward) is CLOSED and cannot be paid", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("expire");
          ApiReply r = k.t().Call(k.Webpay(no, "0.01"));
          CF_TRY(k.ExpectSuccess(r, "webpay"));
          auto created = ParseDisplayTime(DataString(r.data, "time_create"));
          auto expires = ParseDisplayTime(DataString(r.data, "time_expire"));
          if (!created || !expires)
            return Outcome::Fail("no time_create/time_expire in the answer");
          Status st = k.t().AdvanceClock(static_cast<double>(*expires - *created + 2));
          if (!st.ok()) return Outcome::Skip("the target's clock cannot be moved: " + st.message());
          CF_TRY(k.ExpectStatus(no, "CLOSED"));
          HttpAnswer pay = k.t().ControlPost(
              "/_sandbox/pay", {{"merchantno", k.t().options().merchantno}, {"out_trade_no", no}});
          if (pay.status == 200) return Outcome::Fail("an expired order could be paid");
          CF_TRY(k.ExpectStatus(no, "CLOSED"));
          return k.Done("CLOSED after " + std::to_string(*expires - *created) + " s; pay refused");
        });
    Add("lifecycle/refund-unpaid-refused", "orderrefund of an unpaid order is refused", [](Kit& k) {
      const std::string no = k.t().NewOrderNo("refund0");
      CF_TRY(k.CreateOrder(no, "1"));
      ApiReply r = k.Refund(no, "0.5");
      CF_TRY(k.ExpectRefused(r, {"REFUND_NOT_ALLOWED"}, "refund of an unpaid order"));
      CF_TRY(k.ExpectStatus(no, "NOTPAY"));
      return k.Done("refused; still NOTPAY");
    });
    Add("lifecycle/refund-partial",
        "a partial refund succeeds; the order becomes REFUND with the refunded sum", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("refund1");
          CF_TRY(k.CreateOrder(no, "1"));
          CF_TRY(k.Pay(no));
          ApiReply r = k.Refund(no, "0.3");
          CF_TRY(k.ExpectSuccess(r, "refund of 0.3"));
          if (!SameAmount(r.data.value("refund_fee", json()), "0.3") ||
              !SameAmount(r.data.value("refunded_fee", json()), "0.3")) {
            return Outcome::Fail("refund answer: " + r.data.dump().substr(0, 300));
          }
          if (!r.http.json.contains("out_refund_no") ||
              r.http.json["out_refund_no"] != r.data.value("out_refund_no", json())) {
            return Outcome::Fail(
                "out_refund_no missing at the top level (the sample reads it there)");
          }
          json data;
          CF_TRY(k.ExpectStatus(no, "REFUND", &data));
          if (!SameAmount(data.value("refund_fee", json()), "0.3")) {
            return Outcome::Fail("after the refund the order's refund_fee is " +
                                 ShowValue(data.value("refund_fee", json())));
          }
          return k.Done("refunded 0.3 of 1; order REFUND");
        });
    Add("lifecycle/refunds-add-up-over-refund-refused",
        "0.3 + 0.7 refund the whole order; one fen more is refused; the sum stays 1", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("refund2");
          CF_TRY(k.CreateOrder(no, "1"));
          CF_TRY(k.Pay(no));
          CF_TRY(k.ExpectSuccess(k.Refund(no, "0.3"), "refund 0.3"));
          ApiReply full = k.Refund(no, "0.7");
          CF_TRY(k.ExpectSuccess(full, "refund 0.7"));
          if (!SameAmount(full.data.value("refunded_fee", json()), "1")) {
            return Outcome::Fail("refunded_fee after 0.3 + 0.7 is " +
                                 ShowValue(full.data.value("refunded_fee", json())));
          }
          ApiReply over = k.Refund(no, "0.01");
          CF_TRY(k.ExpectRefused(over, {"REFUND_EXCEEDS_PAID"}, "refund past the paid amount"));
          json data;
          CF_TRY(k.ExpectStatus(no, "REFUND", &data));
          if (!SameAmount(data.value("refund_fee", json()), "1") ||
              ShowValue(data.value("refund_count", json())) != "2") {
            return Outcome::Fail("after the refusal: refund_fee " +
                                 ShowValue(data.value("refund_fee", json())) + ", refund_count " +
                                 ShowValue(data.value("refund_count", json())));
          }
          return k.Done("1 refunded in 2 refunds; over-refund refused");
        });
    Add("lifecycle/single-over-refund-refused",
        "a refund above the paid amount is refused and records nothing", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("refund3");
          CF_TRY(k.CreateOrder(no, "1"));
          CF_TRY(k.Pay(no));
          CF_TRY(k.ExpectRefused(k.Refund(no, "1.01"), {"REFUND_EXCEEDS_PAID"}, "refund of 1.01"));
          json data;
          CF_TRY(k.ExpectStatus(no, "SUCCESS", &data));
          if (!SameAmount(data.value("refund_fee", json()), "0")) {
            return Outcome::Fail("refund_fee became " +
                                 ShowValue(data.value("refund_fee", json())));
          }
          return k.Done("refused; the order is still SUCCESS with nothing refunded");
        });
    Add("lifecycle/refund-idempotent-out-refund-no",
        "the same out_refund_no and amount is one refund; another amount is refused", [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("refund4");
          const std::string rno = k.t().NewOrderNo("R");
          CF_TRY(k.CreateOrder(no, "1"));
          CF_TRY(k.Pay(no));
          ApiReply a = k.Refund(no, "0.3", rno);
          CF_TRY(k.ExpectSuccess(a, "refund " + rno));
          ApiReply b = k.Refund(no, "0.3", rno);
          CF_TRY(k.ExpectSuccess(b, "the same refund again"));
          if (DataString(b.data, "out_refund_no") != rno ||
              !SameAmount(b.data.value("refunded_fee", json()), "0.3")) {
            return Outcome::Fail("the repeat refunded again: " + b.data.dump().substr(0, 300));
          }
          ApiReply c = k.Refund(no, "0.4", rno);
          CF_TRY(k.ExpectRefused(c, {"OUT_REFUND_NO_USED"}, rno + " with another amount"));
          json data;
          CF_TRY(k.ExpectStatus(no, "REFUND", &data));
          if (!SameAmount(data.value("refund_fee", json()), "0.3")) {
            return Outcome::Fail("refund_fee is " + ShowValue(data.value("refund_fee", json())) +
                                 ", expected 0.3");
          }
          return k.Done("one refund of 0.3");
        });
    Add("lifecycle/refund-query",
        "orderrefundquery finds a refund by out_refund_no; an unknown one is REFUND_NOT_EXIST",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          const std::string no = k.t().NewOrderNo("refund5");
          CF_TRY(k.CreateOrder(no, "1"));
          CF_TRY(k.Pay(no));
          ApiReply r = k.Refund(no, "0.25");
          CF_TRY(k.ExpectSuccess(r, "refund 0.25"));
          const std::string rno = DataString(r.data, "out_refund_no");
          RawBody q = k.t().Envelope("orderrefundquery");
          q.Str("out_trade_no", no).Str("out_refund_no", rno);
          ApiReply found = k.t().Call(q);
          CF_TRY(k.ExpectSuccess(found, "orderrefundquery " + rno));
          if (DataString(found.data, "out_refund_no") != rno ||
              !SameAmount(found.data.value("refund_fee", json()), "0.25")) {
            return Outcome::Fail("refund query answered " + found.data.dump().substr(0, 300));
          }
          RawBody q2 = k.t().Envelope("orderrefundquery");
          q2.Str("out_trade_no", no).Str("out_refund_no", rno + "X");
          CF_TRY(
              k.ExpectRefused(k.t().Call(q2), {"REFUND_NOT_EXIST"}, "query of an unknown refund"));
          return k.Done("found " + rno);
        });
  }

  void AddNotify() {
    Add("notify/payment-notification",
        "a paid order's notification reaches the suite's receiver: form POST, valid sign, "
        "documented fields, attach verbatim",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          Receiver receiver(k.options().receiver_host);
          if (!receiver.started()) return Outcome::Fail("the receiver could not bind");
          const std::string no = k.t().NewOrderNo("notify");
          RawBody b = k.Webpay(no, "0.07", k.NotifyUrl(receiver));
          b.Str("attach", "订单=1&x y");
          CF_TRY(k.ExpectSuccess(k.t().Call(b), "webpay"));
          CF_TRY(k.Pay(no, "success", "wxpay"));
          CF_TRY(WaitHits(k, receiver, 1, "payment notification"));
          std::map<std::string, std::string> fields;
          CF_TRY(CheckNotification(k, receiver.hits()[0], "payment",
                                   {{"notify_type", "payment"},
                                    {"out_trade_no", no},
                                    {"merchantno", k.t().options().merchantno},
                                    {"total_fee", "0.07"},
                                    {"status", "SUCCESS"},
                                    {"pay_chnl", "wxpay"},
                                    {"version", "2.0"},
                                    {"attach", "订单=1&x y"}},
                                   &fields));
          json n;
          CF_TRY(PollNotification(
              k, no, [](const json& x) { return x.value("state", "") == "acked"; }, &n,
              "the acked notification is not recorded as acked"));
          return k.Done("notify_id " + fields["notify_id"] + " verified and acked");
        });

    Add("notify/refund-notification",
        "a refund is notified too: notify_type refund with out_refund_no, refund_fee, "
        "refund_status",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          Receiver receiver(k.options().receiver_host);
          if (!receiver.started()) return Outcome::Fail("the receiver could not bind");
          const std::string no = k.t().NewOrderNo("notifyr");
          CF_TRY(k.CreateOrder(no, "2", k.NotifyUrl(receiver)));
          CF_TRY(k.Pay(no, "success", "alipay"));
          CF_TRY(WaitHits(k, receiver, 1, "payment notification"));
          ApiReply r = k.Refund(no, "0.5");
          CF_TRY(k.ExpectSuccess(r, "refund 0.5"));
          CF_TRY(WaitHits(k, receiver, 2, "refund notification"));
          std::map<std::string, std::string> pay_fields, fields;
          CF_TRY(CheckNotification(k, receiver.hits()[0], "payment", {{"notify_type", "payment"}},
                                   &pay_fields));
          CF_TRY(CheckNotification(k, receiver.hits()[1], "refund",
                                   {{"notify_type", "refund"},
                                    {"out_trade_no", no},
                                    {"out_refund_no", DataString(r.data, "out_refund_no")},
                                    {"refund_fee", "0.5"},
                                    {"total_fee", "2"},
                                    {"refund_status", "SUCCESS"},
                                    {"status", "REFUND"},
                                    {"pay_chnl", "alipay"}},
                                   &fields));
          if (fields["notify_id"] == pay_fields["notify_id"]) {
            return Outcome::Fail("the refund notification reuses the payment's notify_id " +
                                 fields["notify_id"]);
          }
          return k.Done("refund " + fields["out_refund_no"] + " notified as " +
                        fields["notify_id"]);
        });

    Add("notify/failed-ack-retried-on-schedule",
        "HTTP 500, then 200 with {\"code\":\"FAIL\"}, are retried after the profile's delays "
        "(clock "
        "moved forward); the same notify_id, a fresh nonce and sign each time; then acked",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          Status st = k.t().SyncClock();
          if (!st.ok()) return Outcome::Fail(st.message());
          HttpAnswer clock = k.t().ControlGet("/_sandbox/clock");
          const std::string profile = clock.json.value("notify_profile", "");
          const double scale = clock.json.value("time_scale", 1.0);
          Receiver receiver(k.options().receiver_host, [](size_t n) {
            if (n == 0) return Receiver::Reply{500, "server error"};
            if (n == 1) return Receiver::Reply{200, "{\"code\":\"FAIL\",\"msg\":\"not yet\"}"};
            return Receiver::Reply{};
          });
          if (!receiver.started()) return Outcome::Fail("the receiver could not bind");
          const std::string no = k.t().NewOrderNo("retry");
          CF_TRY(k.CreateOrder(no, "0.02", k.NotifyUrl(receiver)));
          CF_TRY(k.Pay(no));
          CF_TRY(WaitHits(k, receiver, 1, "first attempt"));
          std::string gaps;
          for (int attempt = 1; attempt <= 2; ++attempt) {
            json n;
            CF_TRY(PollNotification(
                k, no,
                [attempt](const json& x) {
                  return x.value("attempts", 0) >= attempt && x.value("state", "") == "pending";
                },
                &n,
                "after failed attempt " + std::to_string(attempt) +
                    " the notification is not pending"));
            json detail;
            CF_TRY(k.NotificationDetail(std::to_string(n.value("id", int64_t{0})), &detail));
            const json& log = detail["attempt_log"];
            if (!log.is_array() || log.size() < static_cast<size_t>(attempt)) {
              return Outcome::Fail("attempt log has " + std::to_string(log.size()) + " entries");
            }
            const json& last = log[static_cast<size_t>(attempt) - 1];
            if (last.value("acked", false)) {
              return Outcome::Fail("attempt " + std::to_string(attempt) + " (answered " +
                                   (attempt == 1 ? "HTTP 500" : "{\"code\":\"FAIL\"}") +
                                   ") was recorded as acked");
            }
            const int64_t gap_us =
                n.value("next_attempt_us", int64_t{0}) - last.value("at_us", int64_t{0});
            gaps += (gaps.empty() ? "" : ", ") + std::to_string(gap_us / 1000) + " ms";
            auto known = KnownProfiles().find(profile);
            if (known != KnownProfiles().end()) {
              const double expect_us =
                  known->second[static_cast<size_t>(attempt) - 1] * scale * 1e6;
              if (gap_us < expect_us - 50'000 || gap_us > expect_us + 3'000'000) {
                return Outcome::Fail(
                    "retry " + std::to_string(attempt) + " is due " +
                    std::to_string(gap_us / 1000) + " ms after attempt " + std::to_string(attempt) +
                    "; profile " + profile + " × " + ShowValue(scale) + " says " +
                    std::to_string(static_cast<int64_t>(expect_us / 1000)) + " ms");
              }
            } else {
              k.Note("profile \"" + profile + "\" unknown to the suite: delays not compared");
            }
            HttpAnswer now = k.t().ControlGet("/_sandbox/clock");
            const double wait_s = static_cast<double>(n.value("next_attempt_us", int64_t{0}) -
                                                      now.json.value("now_us", int64_t{0})) /
                                      1e6 +
                                  0.05;
            if (wait_s > 0) {
              Status adv = k.t().AdvanceClock(wait_s);
              if (!adv.ok()) {
                if (wait_s > 20) return Outcome::Skip("cannot move the clock: " + adv.message());
                k.Note("clock could not be moved; waited in real time");
              }
            }
            CF_TRY(WaitHits(k, receiver, static_cast<size_t>(attempt) + 1,
                            "retry " + std::to_string(attempt)));
          }
          json n;
          CF_TRY(PollNotification(
              k, no, [](const json& x) { return x.value("state", "") == "acked"; }, &n,
              "after the ack the notification is not acked"));
          if (n.value("attempts", 0) != 3) {
            return Outcome::Fail("acked after " + std::to_string(n.value("attempts", 0)) +
                                 " attempts, expected 3");
          }
          std::set<std::string> ids, nonces, signs;
          for (const Receiver::Hit& hit : receiver.hits()) {
            std::map<std::string, std::string> fields;
            CF_TRY(CheckNotification(k, hit, "payment", {{"out_trade_no", no}}, &fields));
            ids.insert(fields["notify_id"]);
            nonces.insert(fields["signaturenonce"]);
            signs.insert(fields["sign"]);
          }
          if (ids.size() != 1) return Outcome::Fail("notify_id changed between attempts");
          if (nonces.size() != receiver.hits().size()) {
            return Outcome::Fail("a retry reused a signaturenonce");
          }
          return k.Done("3 attempts (retries due after " + gaps + ", profile " + profile +
                        "), one notify_id, acked");
        });

    Add("notify/resend-keeps-notify-id",
        "a notification resent through the control API arrives again with the same notify_id "
        "and a fresh nonce and sign",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          Receiver receiver(k.options().receiver_host);
          if (!receiver.started()) return Outcome::Fail("the receiver could not bind");
          const std::string no = k.t().NewOrderNo("resend");
          CF_TRY(k.CreateOrder(no, "0.04", k.NotifyUrl(receiver)));
          CF_TRY(k.Pay(no));
          CF_TRY(WaitHits(k, receiver, 1, "payment notification"));
          json n;
          CF_TRY(PollNotification(
              k, no, [](const json& x) { return x.value("state", "") == "acked"; }, &n,
              "the acked notification is not recorded as acked"));
          HttpAnswer resend = k.t().ControlPost(
              "/_sandbox/notifications/" + std::to_string(n.value("id", int64_t{0})) + "/resend",
              json::object());
          if (!resend.transport_ok || resend.status != 200) {
            return Outcome::Fail("control API resend: HTTP " + std::to_string(resend.status) + " " +
                                 resend.error + resend.body.substr(0, 200));
          }
          CF_TRY(WaitHits(k, receiver, 2, "the resent notification"));
          std::map<std::string, std::string> first, second;
          CF_TRY(
              CheckNotification(k, receiver.hits()[0], "payment", {{"out_trade_no", no}}, &first));
          CF_TRY(
              CheckNotification(k, receiver.hits()[1], "payment", {{"out_trade_no", no}}, &second));
          if (first["notify_id"] != second["notify_id"]) {
            return Outcome::Fail("the resend has notify_id " + second["notify_id"] +
                                 ", the original " + first["notify_id"] +
                                 ": a merchant deduplicating on it would process "
                                 "the payment twice");
          }
          if (first["signaturenonce"] == second["signaturenonce"] ||
              first["sign"] == second["sign"]) {
            return Outcome::Fail("the resend reused the original's nonce or sign");
          }
          return k.Done("resent as " + second["notify_id"] + " with a fresh nonce");
        });

    Add("notify/ack-stops-retries",
        "once acked, a notification is not sent again, even a day of sandbox time later",
        [](Kit& k) {
          CF_TRY(k.NeedControl());
          Receiver receiver(k.options().receiver_host);
          if (!receiver.started()) return Outcome::Fail("the receiver could not bind");
          const std::string no = k.t().NewOrderNo("acked");
          CF_TRY(k.CreateOrder(no, "0.03", k.NotifyUrl(receiver)));
          CF_TRY(k.Pay(no));
          CF_TRY(WaitHits(k, receiver, 1, "payment notification"));
          json n;
          CF_TRY(PollNotification(
              k, no, [](const json& x) { return x.value("state", "") == "acked"; }, &n,
              "the acked notification is not recorded as acked"));
          Status adv = k.t().AdvanceClock(86400);
          if (!adv.ok()) return Outcome::Skip("cannot move the clock: " + adv.message());
          receiver.WaitFor(2, milliseconds(1500));
          if (receiver.hits().size() != 1) {
            return Outcome::Fail("an acked notification was delivered " +
                                 std::to_string(receiver.hits().size()) + " times");
          }
          json after;
          CF_TRY(PollNotification(
              k, no, [](const json& x) { return x.value("state", "") == "acked"; }, &after,
              "state changed after the ack"));
          if (after.value("attempts", 0) != 1) {
            return Outcome::Fail("attempts went to " + std::to_string(after.value("attempts", 0)));
          }
          return k.Done("one delivery, still acked after the clock moved a day");
        });
  }

  Kit k_;
  std::vector<Case> cases_;
};

}  // namespace

std::vector<Case> ServerCases(Target* target, const ServerSuiteOptions& options) {
  // The suite object must outlive the cases' closures: keep it alive with them.
  auto suite = std::make_shared<ServerSuite>(target, options);
  std::vector<Case> cases = suite->Build();
  for (Case& c : cases) {
    c.run = [suite, run = std::move(c.run)]() { return run(); };
  }
  return cases;
}

}  // namespace vkspay::conformance
