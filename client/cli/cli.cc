#include "cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <set>
#include <string>
#include <vector>

#include "vkspay/client/client.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/errors.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::client {
namespace {

constexpr char kFooter[] =
    "Exit codes: 0 success; 1 VksPay answered FAIL, or the sandbox could not be reached\n"
    "or answered something unreadable (stderr: \"vkspay: <ERR_CODE>: <message>\");\n"
    "2 bad command line or invalid amount; 3 query: the order exists but is not paid.";

// Everything the command line can set, bound to CLI11 options.
struct Args {
  std::string base_url = "http://127.0.0.1:8080";
  std::string merchantno = "10001";
  std::string key = "sandbox-demo-key-0123456789abcdef";
  std::string control_token;
  double timeout_seconds = 10;
  bool json = false;

  // sign
  std::vector<std::string> pairs;
  std::string sign_body;
  std::vector<std::string> numbers;
  bool show_key = false;

  // webpay / micropay
  std::string total_fee;
  std::string notify_url, out_trade_no, subject, body, attach, return_url, pay_chnl;
  std::string auth_code, client_ip, cashier, kuantai, source, pay_cate = "pay";

  // query / refund / refund-query / pay
  std::string out_refund_no;
  std::string refund_fee;
  std::string channel = "auto";
  std::string outcome = "success";
};

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

int Fail(std::ostream& err, const Status& st, int code = kExitFailed) {
  err << "vkspay: " << ErrCodeName(st.code()) << ": " << OneLine(st.message()) << "\n";
  return code;
}

void Line(std::ostream& out, std::string_view label, std::string_view value) {
  out << std::left << std::setw(16) << std::string(label) << value << "\n";
}

void PrintOrder(std::ostream& out, const Order& o) {
  Line(out, "out_trade_no", o.out_trade_no);
  if (!o.transaction_id.empty()) Line(out, "transaction_id", o.transaction_id);
  Line(out, "trade_type", o.trade_type);
  Line(out, "total_fee", FormatYuan(o.total_fee));
  Line(out, "status", o.status);
  if (!o.pay_chnl.empty()) Line(out, "pay_chnl", o.pay_chnl);
  if (!o.subject.empty()) Line(out, "subject", o.subject);
  if (!o.attach.empty()) Line(out, "attach", o.attach);
  Line(out, "time_create", o.time_create);
  if (!o.time_expire.empty()) Line(out, "time_expire", o.time_expire);
  if (!o.time_end.empty()) Line(out, "time_end", o.time_end);
  if (o.refund_count > 0) {
    Line(out, "refund_fee", FormatYuan(o.refund_fee));
    Line(out, "refund_count", std::to_string(o.refund_count));
  }
  if (!o.qrcode.empty()) Line(out, "pay_url", o.qrcode);
}

void PrintRefund(std::ostream& out, const Refund& r) {
  Line(out, "out_trade_no", r.out_trade_no);
  Line(out, "out_refund_no", r.out_refund_no);
  Line(out, "refund_fee", FormatYuan(r.refund_fee));
  Line(out, "total_fee", FormatYuan(r.total_fee));
  Line(out, "refunded_fee", FormatYuan(r.refunded_fee));
  Line(out, "status", r.status);
  Line(out, "time_refund", r.time_refund);
}

// Local validation of an amount flag; the message names the flag.
StatusOr<int64_t> Amount(std::string_view flag, const std::string& text) {
  return ParseYuanText(flag, text);
}

std::optional<std::string> IfGiven(const CLI::Option* opt, const std::string& v) {
  if (opt->count() == 0) return std::nullopt;
  return v;
}

int RunSign(const Args& a, std::ostream& out, std::ostream& err) {
  Fields fields;
  if (!a.sign_body.empty()) {
    StatusOr<Fields> parsed = ParseFlatJson(a.sign_body);
    if (!parsed.ok()) {
      return Fail(err, Status(parsed.status().code(), "--body: " + parsed.status().message()),
                  kExitUsage);
    }
    fields = std::move(parsed).value();
  }
  std::set<std::string> numbers(a.numbers.begin(), a.numbers.end());
  std::set<std::string> seen;
  for (const std::string& pair : a.pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(
          err, Status(ErrorCode::kInvalidField, "字段参数应为 name=value, 收到 \"" + pair + "\""),
          kExitUsage);
    }
    std::string name = pair.substr(0, eq);
    std::string text = pair.substr(eq + 1);
    seen.insert(name);
    if (numbers.count(name) != 0) {
      nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_number()) {
        return Fail(err,
                    Status(ErrorCode::kInvalidField,
                           "--number " + name + ": \"" + text + "\" 不是 JSON 数字"),
                    kExitUsage);
      }
      fields.Set(name, j.get<double>());
    } else {
      fields.Set(name, text);
    }
  }
  for (const std::string& n : numbers) {
    if (seen.count(n) == 0) {
      return Fail(err,
                  Status(ErrorCode::kInvalidField,
                         "--number " + n + ": 没有名为 " + n + " 的 name=value 参数"),
                  kExitUsage);
    }
  }
  if (fields.empty()) {
    return Fail(err, Status(ErrorCode::kMissingField, "没有要签名的字段 (name=value 或 --body)"),
                kExitUsage);
  }
  const std::string canonical =
      a.show_key ? CanonicalString(fields, a.key) : MaskedCanonicalString(fields);
  const std::string sign = Sign(fields, a.key);
  const Value* given = fields.Find("sign");
  Status verified = given != nullptr ? VerifySign(fields, a.key) : Status::Ok();
  const std::string body = WithSign(fields, a.key).ToJson();
  if (a.json) {
    nlohmann::ordered_json j = {{"canonical", canonical}, {"sign", sign}, {"body", body}};
    if (given != nullptr) j["given_sign_matches"] = verified.ok();
    out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    Line(out, "canonical", canonical);
    Line(out, "sign", sign);
    Line(out, "body", body);
  }
  if (!verified.ok()) {
    return Fail(err, Status(ErrorCode::kSignError, "给出的 sign \"" + JsString(*given) +
                                                       "\" 与计算结果 " + sign + " 不符"));
  }
  return kExitOk;
}

// Runs an API call: --json prints the raw answer, otherwise `print` the
// decoded value. Returns the exit code.
template <typename T, typename Decode, typename Print>
int Finish(const Args& a, const StatusOr<RawAnswer>& raw, Decode decode, Print print,
           std::ostream& out, std::ostream& err) {
  if (!raw.ok()) return Fail(err, raw.status());
  if (a.json) out << raw->body << (raw->body.ends_with('\n') ? "" : "\n");
  StatusOr<T> v = decode(raw->json);
  if (!v.ok()) return Fail(err, v.status());
  if (!a.json) print(*v);
  return kExitOk;
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Args a;
  CLI::App app("vkspay: call VksPay (or the vkspay-sandbox) from the command line", "vkspay");
  app.footer(kFooter);
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--base-url", a.base_url, "VksPay base URL; requests go to <base>/api")
      ->envname("VKSPAY_BASE_URL")
      ->capture_default_str();
  app.add_option("--merchantno", a.merchantno, "merchant number")
      ->envname("VKSPAY_MERCHANTNO")
      ->capture_default_str();
  app.add_option("--key", a.key, "merchant signing key")
      ->envname("VKSPAY_KEY")
      ->capture_default_str();
  app.add_option("--control-token", a.control_token, "sandbox control API token (pay)")
      ->envname("VKSPAY_CONTROL_TOKEN");
  app.add_option("--timeout", a.timeout_seconds, "connect/read timeout in seconds")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  app.add_flag("--json", a.json, "print the raw answer JSON instead of a summary");

  CLI::App* sign = app.add_subcommand(
      "sign",
      "print the canonical string and MD5 sign of the given fields (signs exactly "
      "them, no envelope is added)");
  sign->add_option("fields", a.pairs, "name=value (a string unless named by --number)");
  sign->add_option("--body", a.sign_body,
                   "a flat JSON object of fields (name=value args "
                   "are applied on top)");
  sign->add_option("--number", a.numbers, "treat name=value's value as a JSON number")
      ->allow_extra_args(false);
  sign->add_flag("--show-key", a.show_key, "show the key in the canonical string");

  CLI::App* webpay = app.add_subcommand("webpay", "create a QR-code/web payment order");
  webpay->add_option("--total-fee", a.total_fee, "amount in yuan, e.g. 0.01")->required();
  auto* o_notify = webpay->add_option("--notify-url", a.notify_url, "payment notification URL");
  auto* o_w_otn = webpay->add_option("--out-trade-no", a.out_trade_no, "merchant order number");
  auto* o_w_subject = webpay->add_option("--subject", a.subject, "order title");
  auto* o_w_body = webpay->add_option("--body", a.body, "order description");
  auto* o_w_attach = webpay->add_option("--attach", a.attach, "merchant data echoed back");
  auto* o_return = webpay->add_option("--return-url", a.return_url, "page after payment");
  auto* o_w_chnl = webpay->add_option("--pay-chnl", a.pay_chnl, "wxpay, alipay or auto")
                       ->check(CLI::IsMember({"wxpay", "alipay", "auto"}));

  CLI::App* micropay = app.add_subcommand("micropay", "charge a buyer's pay code (auth code)");
  micropay->add_option("--total-fee", a.total_fee, "amount in yuan, e.g. 0.01")->required();
  micropay->add_option("--auth-code", a.auth_code, "the buyer's pay code")->required();
  micropay->add_option("--pay-chnl", a.pay_chnl, "wxpay or alipay (default: from the auth code prefix)");
  micropay->add_option("--client-ip", a.client_ip, "sent as given (default empty)");
  micropay->add_option("--cashier", a.cashier, "sent as given (default empty)");
  micropay->add_option("--kuantai", a.kuantai, "sent as given (default empty)");
  micropay->add_option("--source", a.source, "sent as given (default empty)");
  micropay->add_option("--pay-cate", a.pay_cate, "sent as given")->capture_default_str();
  auto* o_m_otn = micropay->add_option("--out-trade-no", a.out_trade_no, "merchant order number");
  auto* o_m_subject = micropay->add_option("--subject", a.subject, "order title");
  auto* o_m_attach = micropay->add_option("--attach", a.attach, "merchant data echoed back");

  CLI::App* query = app.add_subcommand("query", "query an order (exit 3 if not paid)");
  query->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();

  CLI::App* refund = app.add_subcommand("refund", "refund part or all of a paid order");
  refund->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  refund->add_option("--refund-fee", a.refund_fee, "amount in yuan, e.g. 0.01")->required();
  auto* o_orn = refund->add_option("--out-refund-no", a.out_refund_no, "merchant refund number");

  CLI::App* refund_query = app.add_subcommand("refund-query", "query a refund");
  refund_query->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  refund_query->add_option("out_refund_no", a.out_refund_no, "merchant refund number")->required();

  CLI::App* pay =
      app.add_subcommand("pay", "sandbox only: act as the buyer on an unpaid order (control API)");
  pay->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  pay->add_option("--channel", a.channel, "wxpay, alipay or auto")
      ->check(CLI::IsMember({"wxpay", "alipay", "auto"}))
      ->capture_default_str();
  pay->add_option("--outcome", a.outcome, "success, fail or cancel")
      ->check(CLI::IsMember({"success", "fail", "cancel"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e, out, err);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (sign->parsed()) return RunSign(a, out, err);

    // Validate amounts before connecting anywhere.
    int64_t total_fen = 0;
    int64_t refund_fen = 0;
    if (webpay->parsed() || micropay->parsed()) {
      StatusOr<int64_t> fen = Amount("--total-fee", a.total_fee);
      if (!fen.ok()) return Fail(err, fen.status(), kExitUsage);
      total_fen = *fen;
    }
    if (refund->parsed()) {
      StatusOr<int64_t> fen = Amount("--refund-fee", a.refund_fee);
      if (!fen.ok()) return Fail(err, fen.status(), kExitUsage);
      refund_fen = *fen;
    }

    ClientOptions opts;
    opts.base_url = a.base_url;
    opts.merchantno = a.merchantno;
    opts.key = a.key;
    opts.control_token = a.control_token;
    opts.timeout =
        std::chrono::milliseconds(static_cast<int64_t>(a.timeout_seconds * 1000.0 + 0.5));
    StatusOr<std::unique_ptr<Client>> created = Client::Create(opts);
    if (!created.ok()) return Fail(err, created.status(), kExitUsage);
    Client& c = **created;

    auto print_order = [&](const Order& o) { PrintOrder(out, o); };
    auto print_refund = [&](const Refund& r) { PrintRefund(out, r); };
    auto decode_order = [](const nlohmann::json& j) { return DecodeOrderAnswer(j, false); };

    if (webpay->parsed()) {
      WebPayRequest req;
      req.total_fee = total_fen;
      req.notify_url = IfGiven(o_notify, a.notify_url);
      req.out_trade_no = IfGiven(o_w_otn, a.out_trade_no);
      req.subject = IfGiven(o_w_subject, a.subject);
      req.body = IfGiven(o_w_body, a.body);
      req.attach = IfGiven(o_w_attach, a.attach);
      req.return_url = IfGiven(o_return, a.return_url);
      req.pay_chnl = IfGiven(o_w_chnl, a.pay_chnl);
      return Finish<Order>(a, c.Call("webpay", ToFields(req)), decode_order, print_order, out, err);
    }
    if (micropay->parsed()) {
      MicroPayRequest req;
      req.total_fee = total_fen;
      req.auth_code = a.auth_code;
      req.pay_chnl = a.pay_chnl;
      if (req.pay_chnl.empty() && a.auth_code.size() >= 2) {
        // The wallets' pay-code prefixes: 10-15 WeChat, 25-30 Alipay.
        const int prefix = std::atoi(a.auth_code.substr(0, 2).c_str());
        if (prefix >= 10 && prefix <= 15) req.pay_chnl = "wxpay";
        if (prefix >= 25 && prefix <= 30) req.pay_chnl = "alipay";
      }
      req.client_ip = a.client_ip;
      req.cashier = a.cashier;
      req.kuantai = a.kuantai;
      req.source = a.source;
      req.pay_cate = a.pay_cate;
      req.out_trade_no = IfGiven(o_m_otn, a.out_trade_no);
      req.subject = IfGiven(o_m_subject, a.subject);
      req.attach = IfGiven(o_m_attach, a.attach);
      return Finish<Order>(a, c.Call("micropay", ToFields(req)), decode_order, print_order, out,
                           err);
    }
    if (query->parsed()) {
      StatusOr<RawAnswer> raw = c.Call("orderquery", ToFields(OrderQueryRequest{a.out_trade_no}));
      if (!raw.ok()) return Fail(err, raw.status());
      if (a.json) out << raw->body << (raw->body.ends_with('\n') ? "" : "\n");
      StatusOr<Order> order = DecodeOrderAnswer(raw->json, /*allow_not_paid=*/true);
      if (!order.ok()) return Fail(err, order.status());
      if (!a.json) PrintOrder(out, *order);
      return order->paid ? kExitOk : kExitNotPaid;
    }
    if (refund->parsed()) {
      OrderRefundRequest req;
      req.out_trade_no = a.out_trade_no;
      req.refund_fee = refund_fen;
      req.out_refund_no = IfGiven(o_orn, a.out_refund_no);
      return Finish<Refund>(a, c.Call("orderrefund", ToFields(req)), DecodeRefundAnswer,
                            print_refund, out, err);
    }
    if (refund_query->parsed()) {
      OrderRefundQueryRequest req{a.out_trade_no, a.out_refund_no};
      return Finish<Refund>(a, c.Call("orderrefundquery", ToFields(req)), DecodeRefundAnswer,
                            print_refund, out, err);
    }
    if (pay->parsed()) {
      return Finish<Order>(a, c.PayRaw(a.out_trade_no, a.channel, a.outcome), DecodeControlAnswer,
                           print_order, out, err);
    }
    return Fail(err, Status(ErrorCode::kInvalidField, "未知子命令"), kExitUsage);
  } catch (const std::exception& e) {
    // A bug, not an expected failure: report it without a stack of internals.
    return Fail(err, Status(ErrorCode::kInternal, e.what()));
  }
}

}  // namespace vkspay::client
