#include "cli.h"

#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "vkspay/client/client.h"
#include "vkspay/client/listener.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/errors.h"
#include "vkspay/protocol/signature.h"
#include "vkspay/version.h"

namespace vkspay::client {
namespace {

constexpr char kFooter[] =
    "Exit codes: 0 success; 1 VksPay answered FAIL, or answered something unreadable\n"
    "(stderr: \"vkspay: <ERR_CODE>: <message>\"); 2 bad command line or invalid amount;\n"
    "3 query: the order exists but is not paid, micropay: USERPAYING, pay: the order did not\n"
    "reach the asked outcome (status on stdout); 4 CONNECT_ERROR: the server could not be\n"
    "reached; 5 TIMEOUT: no answer within --timeout.";

// What to check when nothing answered at all.
constexpr char kTransportHint[] = " (is the sandbox running? --base-url / VKSPAY_BASE_URL)";

// Everything the command line can set, bound to CLI11 options.
struct Args {
  std::string base_url = "http://127.0.0.1:8080";
  std::string merchantno = "10001";
  std::string key = "sandbox-demo-key-0123456789abcdef";
  std::string control_token;
  std::string cacert;
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

  // listen
  std::string listen_host = "127.0.0.1";
  int listen_port = 9000;
  std::string listen_path = "/notify";
  std::string forward_to;
  std::string fail = "none";
  int fail_first = 0;
  double fail_rate = 0;
  uint64_t seed = 1;
  int64_t timeout_ms = 10'000;
  int listen_threads = 16;
  bool quiet = false;
  std::vector<std::string> merchant_keys;

  // orders
  int64_t offset = 0;

  // notifications / resend
  std::string notification_id;
  std::string state;
  int64_t limit = 0;
  bool failed = false;
  int64_t since = 0;

  // clock advance
  int64_t advance_seconds = 0;
};

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// Prints the error line and returns `code`, except that a transport failure
// (CONNECT_ERROR, TIMEOUT) gets its own exit code and a hint.
int Fail(std::ostream& err, const Status& st, int code = kExitFailed) {
  std::string hint;
  if (st.code() == ErrorCode::kConnectError || st.code() == ErrorCode::kTimeout) {
    code = st.code() == ErrorCode::kConnectError ? kExitConnect : kExitTimeout;
    hint = kTransportHint;
  }
  err << "vkspay: " << ErrCodeName(st.code()) << ": " << OneLine(st.message()) << hint << "\n";
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

// ---------------------------------------------------------------------------
// listen

int RunListen(const Args& a, std::ostream& out, std::ostream& err) {
  StatusOr<FailMode> mode = ParseFailMode(a.fail);
  if (!mode.ok()) return Fail(err, mode.status(), kExitUsage);
  NotifyListenerOptions opts;
  opts.host = a.listen_host;
  opts.port = a.listen_port;
  opts.path =
      a.listen_path.empty() || a.listen_path.front() != '/' ? "/" + a.listen_path : a.listen_path;
  opts.keys[a.merchantno] = a.key;
  for (const std::string& mk : a.merchant_keys) {
    size_t eq = mk.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == mk.size()) {
      return Fail(err,
                  Status(ErrorCode::kInvalidField,
                         "--merchant-key 应为 MERCHANTNO=KEY, 收到 \"" + mk + "\""),
                  kExitUsage);
    }
    opts.keys[mk.substr(0, eq)] = mk.substr(eq + 1);
  }
  opts.fail_mode = *mode;
  opts.fail_first = a.fail_first;
  opts.fail_rate = a.fail_rate;
  opts.seed = a.seed;
  opts.timeout = std::chrono::milliseconds(a.timeout_ms);
  opts.forward_to = a.forward_to;
  opts.forward_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.timeout_seconds * 1000.0 + 0.5));
  opts.threads = a.listen_threads;
  opts.out = a.quiet ? nullptr : &out;
  opts.json = a.json;

  // Block SIGINT/SIGTERM before the server threads start, so they inherit the
  // mask and this thread can take the signal with sigwait (as sandbox/main.cc).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{old_mask};

  NotifyListener listener(opts);
  StatusOr<int> port = listener.Start();
  if (!port.ok()) {
    return Fail(err, port.status(),
                port.status().code() == ErrorCode::kInvalidField ? kExitUsage : kExitFailed);
  }
  std::string merchants;
  for (const auto& [mno, key] : opts.keys) merchants += (merchants.empty() ? "" : ", ") + mno;
  // With --json, stdout carries only JSON lines (one per notification, then
  // the stats) so it can be piped to jq; the ready line goes to stderr.
  std::ostream& ready = a.json ? err : out;
  ready << "vkspay listen: listening on " << listener.url() << " ("
        << (opts.keys.size() == 1 ? "merchant " : "merchants ") << merchants << ")" << std::endl;
  if (!a.json) {
    if (!opts.forward_to.empty()) out << "  forwarding to " << opts.forward_to << "\n";
    if (opts.fail_mode != FailMode::kNone || opts.fail_first > 0 || opts.fail_rate > 0) {
      out << "  failing on purpose: "
          << FailModeName(opts.fail_mode == FailMode::kNone ? FailMode::kHttp500 : opts.fail_mode);
      if (opts.fail_first > 0)
        out << ", first " << opts.fail_first << " attempts of each notify_id";
      if (opts.fail_rate > 0) out << ", rate " << opts.fail_rate << " (seed " << opts.seed << ")";
      out << "\n";
    }
    std::string stats_url = listener.url();
    stats_url = stats_url.substr(0, stats_url.find('/', stats_url.find("://") + 3));
    out << "  counters: GET " << stats_url << "/_listen/stats; Ctrl-C to stop" << std::endl;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  listener.Stop();
  const NotifyListenerStats st = listener.stats();
  if (a.json) {
    nlohmann::ordered_json j = {{"stats", StatsJson(st)}};
    out << j.dump() << std::endl;
  } else {
    out << "vkspay listen: stopped (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "): received "
        << st.received << ", verified " << st.verified << ", invalid " << st.invalid << ", acked "
        << st.acked << ", failed " << st.failed << ", duplicates " << st.duplicates << ", unique "
        << st.unique;
    if (st.forward_errors > 0) out << ", forward errors " << st.forward_errors;
    out << std::endl;
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// notifications / resend

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string AttemptsText(const NotificationRecord& r) {
  std::string t = std::to_string(r.attempts);
  if (r.total_attempts > 0) t += "/" + std::to_string(r.total_attempts);
  return t;
}

void PrintNotificationList(std::ostream& out, const std::vector<NotificationRecord>& list) {
  if (list.empty()) {
    out << "no notifications\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "TYPE", "OUT_TRADE_NO", "STATE", "ATTEMPTS", "NEXT/ACKED", "LAST_ERROR"}};
  for (const NotificationRecord& r : list) {
    std::string when = r.state == "acked" ? r.acked_at : r.next_attempt_at;
    std::string trade = r.out_trade_no;
    if (!r.out_refund_no.empty()) trade += " (" + r.out_refund_no + ")";
    rows.push_back({r.id, OrDash(r.type), trade, OrDash(r.state), AttemptsText(r), OrDash(when),
                    OrDash(OneLine(r.last_error))});
  }
  PrintTable(out, rows);
}

void PrintNotificationRecord(std::ostream& out, const NotificationRecord& r) {
  Line(out, "id", r.id);
  Line(out, "notify_id", r.notify_id);
  Line(out, "type", r.type);
  Line(out, "merchantno", r.merchantno);
  Line(out, "out_trade_no", r.out_trade_no);
  if (!r.out_refund_no.empty()) Line(out, "out_refund_no", r.out_refund_no);
  Line(out, "state", r.state);
  Line(out, "attempts", AttemptsText(r));
  Line(out, "notify_url", OrDash(r.notify_url));
  if (!r.delivered_to.empty() && r.delivered_to != r.notify_url) {
    Line(out, "delivered_to", r.delivered_to);
  }
  Line(out, "created_at", OrDash(r.created_at));
  if (!r.next_attempt_at.empty()) Line(out, "next_attempt_at", r.next_attempt_at);
  if (!r.acked_at.empty()) Line(out, "acked_at", r.acked_at);
  if (!r.last_error.empty()) Line(out, "last_error", OneLine(r.last_error));
  if (!r.payload.empty()) {
    Line(out, "payload", r.payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

void PrintAttemptLog(std::ostream& out, const NotificationRecord& r) {
  if (r.attempt_log.empty()) {
    out << "attempt_log     (no attempts yet)\n";
    return;
  }
  out << "attempt_log\n";
  std::vector<std::vector<std::string>> rows = {
      {"  #", "AT", "URL", "HTTP", "LATENCY", "RESULT", "ANSWER/ERROR"}};
  for (const DeliveryAttempt& at : r.attempt_log) {
    std::ostringstream latency;
    latency << std::fixed << std::setprecision(1) << at.latency_ms << " ms";
    std::string what = at.error.empty() ? at.response_head : at.error;
    rows.push_back({"  " + std::to_string(at.n), OrDash(at.at), OrDash(at.url),
                    at.http_status > 0 ? std::to_string(at.http_status) : "-", latency.str(),
                    at.acked ? "acked" : "failed", OrDash(OneLine(what))});
  }
  PrintTable(out, rows);
}

void PrintOrderList(std::ostream& out, const std::vector<Order>& list) {
  if (list.empty()) {
    out << "no orders\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"OUT_TRADE_NO", "STATUS", "TOTAL_FEE", "REFUNDED", "PAY_CHNL", "TIME_CREATE", "SUBJECT"}};
  for (const Order& o : list) {
    rows.push_back({o.out_trade_no, o.status, FormatYuan(o.total_fee),
                    o.refund_fee > 0 ? FormatYuan(o.refund_fee) : "-", OrDash(o.pay_chnl),
                    OrDash(o.time_create), OrDash(OneLine(o.subject))});
  }
  PrintTable(out, rows);
}

void PrintRefundList(std::ostream& out, const std::vector<Refund>& list) {
  if (list.empty()) {
    out << "no refunds\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"OUT_REFUND_NO", "REFUND_FEE", "STATUS", "TIME_REFUND"}};
  for (const Refund& r : list) {
    rows.push_back(
        {r.out_refund_no, FormatYuan(r.refund_fee), OrDash(r.status), OrDash(r.time_refund)});
  }
  PrintTable(out, rows);
}

// The order status `vkspay pay --outcome` asks the sandbox to reach.
std::string StatusForOutcome(const std::string& outcome) {
  if (outcome == "fail") return "PAYERROR";
  if (outcome == "cancel") return "CLOSED";
  return "SUCCESS";
}

// "Global options ..." for the subcommands' help, from the app's own options
// (name, value or default, environment variable, description).
std::string GlobalOptionsHelp(const CLI::App& app) {
  std::string text = "Global options (before or after the subcommand):";
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty()) continue;
    const std::string name = "--" + opt->get_lnames().front();
    if (name == "--help" || name == "--version") continue;
    std::string line = "\n  " + name;
    if (opt->get_items_expected_max() != 0) {
      line += opt->get_default_str().empty() ? " VALUE" : "=" + opt->get_default_str();
    }
    if (!opt->get_envname().empty()) line += " (env " + opt->get_envname() + ")";
    text += line + "\n      " + opt->get_description();
  }
  return text;
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Args a;
  CLI::App app("vkspay: call VksPay (or the vkspay-sandbox) from the command line", "vkspay");
  app.footer(kFooter);
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionLine("vkspay"));
  app.add_option("--base-url", a.base_url, "VksPay base URL; requests go to <base>/api")
      ->envname("VKSPAY_BASE_URL")
      ->capture_default_str();
  app.add_option("--merchantno", a.merchantno, "merchant number")
      ->envname("VKSPAY_MERCHANTNO")
      ->capture_default_str();
  app.add_option("--key", a.key, "merchant signing key")
      ->envname("VKSPAY_KEY")
      ->capture_default_str();
  app.add_option("--control-token", a.control_token,
                 "sandbox control API token (pay, orders, refunds, reset, notifications, resend)")
      ->envname("VKSPAY_CONTROL_TOKEN");
  app.add_option("--cacert", a.cacert,
                 "https base URLs: trust this PEM CA file (e.g. the sandbox's "
                 "--tls-self-signed ca.pem) instead of the system store")
      ->envname("VKSPAY_CACERT")
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", a.timeout_seconds, "connect/read timeout in seconds")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  app.add_flag("--json", a.json,
               "print the raw answer JSON instead of a summary (listen: one JSON object per "
               "notification)");

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
  sign->footer("Example:\n  vkspay sign method=orderquery merchantno=10001 out_trade_no=T1");

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
  webpay->footer(
      "Example:\n  vkspay webpay --total-fee 0.01 --notify-url http://127.0.0.1:9000/notify "
      "--subject test");

  CLI::App* micropay = app.add_subcommand("micropay", "charge a buyer's pay code (auth code)");
  micropay->add_option("--total-fee", a.total_fee, "amount in yuan, e.g. 0.01")->required();
  micropay->add_option("--auth-code", a.auth_code, "the buyer's pay code")->required();
  micropay->add_option("--pay-chnl", a.pay_chnl,
                       "wxpay or alipay (default: from the auth code prefix)");
  micropay->add_option("--client-ip", a.client_ip, "sent as given (default empty)");
  micropay->add_option("--cashier", a.cashier, "sent as given (default empty)");
  micropay->add_option("--kuantai", a.kuantai, "sent as given (default empty)");
  micropay->add_option("--source", a.source, "sent as given (default empty)");
  micropay->add_option("--pay-cate", a.pay_cate, "sent as given")->capture_default_str();
  auto* o_m_otn = micropay->add_option("--out-trade-no", a.out_trade_no, "merchant order number");
  auto* o_m_subject = micropay->add_option("--subject", a.subject, "order title");
  auto* o_m_attach = micropay->add_option("--attach", a.attach, "merchant data echoed back");
  auto* o_m_notify =
      micropay->add_option("--notify-url", a.notify_url,
                           "payment notification URL (default: the merchant's configured one)");
  micropay->footer(
      "Example:\n  vkspay micropay --total-fee 0.01 --auth-code 134567890123456789 "
      "--notify-url http://127.0.0.1:9000/notify\n"
      "Exit 3 when the buyer must still confirm (USERPAYING): poll with `vkspay query`.");

  CLI::App* query = app.add_subcommand("query", "query an order (exit 3 if not paid)");
  query->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  query->footer("Example:\n  vkspay query P10001-20261128104124560195");

  CLI::App* refund = app.add_subcommand("refund", "refund part or all of a paid order");
  refund->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  refund->add_option("--refund-fee", a.refund_fee, "amount in yuan, e.g. 0.01")->required();
  auto* o_orn = refund->add_option("--out-refund-no", a.out_refund_no, "merchant refund number");
  refund->footer("Example:\n  vkspay refund P10001-20261128104124560195 --refund-fee 0.30");

  CLI::App* refund_query = app.add_subcommand("refund-query", "query a refund");
  refund_query->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  refund_query->add_option("out_refund_no", a.out_refund_no, "merchant refund number")->required();
  refund_query->footer(
      "Example:\n  vkspay refund-query P10001-20261128104124560195 R10001-20261128104130123456");

  CLI::App* pay = app.add_subcommand(
      "pay",
      "sandbox only: act as the buyer on an unpaid order (control API); exit 3 if the order "
      "did not reach the asked outcome (a fault or magic amount decided otherwise)");
  pay->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  pay->add_option("--channel", a.channel, "wxpay, alipay or auto")
      ->check(CLI::IsMember({"wxpay", "alipay", "auto"}))
      ->capture_default_str();
  pay->add_option("--outcome", a.outcome,
                  "success, fail or cancel (order status SUCCESS, PAYERROR or CLOSED)")
      ->check(CLI::IsMember({"success", "fail", "cancel"}))
      ->capture_default_str();
  pay->footer(
      "Examples:\n  vkspay pay P10001-20261128104124560195 --channel wxpay\n"
      "  vkspay pay P10001-20261128104124560195 --outcome fail   # exit 0: the order is PAYERROR");

  CLI::App* listen = app.add_subcommand(
      "listen",
      "receive notifications locally: verify each signature (--merchantno/--key), print it, "
      "answer the ack (or forward it, or fail on purpose); stop with Ctrl-C");
  listen->add_option("--host", a.listen_host, "address to listen on")->capture_default_str();
  listen->add_option("--port", a.listen_port, "port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  listen
      ->add_option("--path", a.listen_path,
                   "path shown in the URL (POSTs to any path are accepted)")
      ->capture_default_str();
  listen->add_option("--forward-to", a.forward_to,
                     "relay each verified notification (same body and Content-Type) to this URL "
                     "and answer with its answer (502 if it cannot be reached within --timeout)");
  listen->add_option("--fail", a.fail, "how to fail on purpose: none, 500, timeout, wrong-body")
      ->check(CLI::IsMember({"none", "ok", "500", "fail500", "timeout", "wrong-body"}))
      ->capture_default_str();
  listen
      ->add_option("--fail-first", a.fail_first,
                   "fail the first N attempts of each notify_id, then ack")
      ->check(CLI::Range(0, 1000000));
  listen
      ->add_option("--fail-rate", a.fail_rate,
                   "fail each attempt with probability P (deterministic for a --seed)")
      ->check(CLI::Range(0.0, 1.0));
  listen->add_option("--seed", a.seed, "seed for --fail-rate")->capture_default_str();
  listen->add_option("--timeout-ms", a.timeout_ms, "how long --fail timeout holds an answer")
      ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}))
      ->capture_default_str();
  listen->add_option("--threads", a.listen_threads, "server worker threads")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  listen
      ->add_option("--merchant-key", a.merchant_keys,
                   "also accept merchant MERCHANTNO=KEY (repeatable)")
      ->allow_extra_args(false);
  listen->add_flag("--quiet", a.quiet, "print only the ready line and the final counters");
  listen->footer(
      "Examples:\n  vkspay listen --port 9000 --fail-first 2\n"
      "  vkspay listen --json | jq .out_trade_no   # with --json the ready line is on stderr");

  CLI::App* notifications = app.add_subcommand(
      "notifications",
      "sandbox only: list this merchant's notifications, or show one with every delivery "
      "attempt (control API)");
  notifications->add_option("id", a.notification_id, "notification id: show its attempts");
  notifications->add_option("--order", a.out_trade_no, "only this out_trade_no");
  notifications->add_option("--state", a.state, "pending, acked, failed or blocked")
      ->check(CLI::IsMember({"pending", "acked", "failed", "blocked"}));
  notifications->add_option("--limit", a.limit, "at most N")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  notifications->footer(
      "Examples:\n  vkspay notifications --state failed\n"
      "  vkspay notifications 41   # every delivery attempt of notification 41");

  CLI::App* resend = app.add_subcommand(
      "resend",
      "sandbox only: deliver a notification again now, or every failed one (control API)");
  auto* o_resend_id = resend->add_option("id", a.notification_id, "notification id");
  auto* o_failed = resend->add_flag("--failed", a.failed, "resend every failed notification");
  auto* o_since =
      resend->add_option("--since", a.since, "with --failed: only those failed since UNIX_SECONDS")
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  o_since->needs(o_failed);
  o_resend_id->excludes(o_failed);
  resend->footer("Examples:\n  vkspay resend 41\n  vkspay resend --failed --since 1764296761");

  CLI::App* orders = app.add_subcommand(
      "orders", "sandbox only: list this merchant's orders, newest first (control API)");
  orders->add_option("--status", a.state, "NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED or PAYERROR")
      ->check(CLI::IsMember({"NOTPAY", "USERPAYING", "SUCCESS", "REFUND", "CLOSED", "PAYERROR"}));
  orders->add_option("--limit", a.limit, "at most N (the sandbox's default: 100)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  orders->add_option("--offset", a.offset, "skip the N newest")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  orders->footer("Example:\n  vkspay orders --status SUCCESS --limit 20");

  CLI::App* refunds =
      app.add_subcommand("refunds", "sandbox only: list the refunds of an order (control API)");
  refunds->add_option("out_trade_no", a.out_trade_no, "merchant order number")->required();
  refunds->footer("Example:\n  vkspay refunds P10001-20261128104124560195");

  CLI::App* reset = app.add_subcommand(
      "reset",
      "sandbox only: delete every order, refund and notification of every merchant "
      "(control API)");
  reset->footer("Example:\n  vkspay reset");

  CLI::App* clock = app.add_subcommand(
      "clock", "sandbox only: show the sandbox clock, move it forward, or put it back (control API)");
  clock->footer(
      "Examples:\n  vkspay clock                 # now, and the offset from the system clock\n"
      "  vkspay clock advance 3600    # retries due in the next hour go out at once\n"
      "  vkspay clock reset           # offset back to 0");
  CLI::App* clock_advance =
      clock->add_subcommand("advance", "move the sandbox clock forward by SECONDS");
  clock_advance->add_option("seconds", a.advance_seconds, "seconds, 1 or more")
      ->required()
      ->check(CLI::Range(int64_t{1}, int64_t{10} * 365 * 24 * 3600));
  clock_advance->footer("Example:\n  vkspay clock advance 3600");
  CLI::App* clock_reset =
      clock->add_subcommand("reset", "put the sandbox clock back to the system clock (offset 0)");
  clock_reset->footer("Example:\n  vkspay clock reset");

  // Every subcommand's help ends with the global options (they go before or
  // after the subcommand: `vkspay webpay --base-url URL ...` works too).
  const std::string global = GlobalOptionsHelp(app);
  std::vector<CLI::App*> subs = app.get_subcommands({});
  for (size_t i = 0; i < subs.size(); ++i) {
    for (CLI::App* nested : subs[i]->get_subcommands({})) subs.push_back(nested);
    subs[i]->footer(subs[i]->get_footer() + "\n\n" + global);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e, out, err);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (sign->parsed()) return RunSign(a, out, err);
    if (listen->parsed()) return RunListen(a, out, err);
    if (resend->parsed() && a.notification_id.empty() && !a.failed) {
      return Fail(err, Status(ErrorCode::kMissingField, "resend: 需要通知 ID 或 --failed"),
                  kExitUsage);
    }

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
    opts.ca_file = a.cacert;
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
      req.notify_url = IfGiven(o_m_notify, a.notify_url);
      // USERPAYING: print the order and exit 3, as `query` does for an unpaid order.
      StatusOr<RawAnswer> raw = c.Call("micropay", ToFields(req));
      if (!raw.ok()) return Fail(err, raw.status());
      if (a.json) out << raw->body << (raw->body.ends_with('\n') ? "" : "\n");
      StatusOr<Order> order = DecodeOrderAnswer(raw->json, /*allow_not_paid=*/true);
      if (!order.ok()) return Fail(err, order.status());
      if (!a.json) PrintOrder(out, *order);
      return order->paid ? kExitOk : kExitNotPaid;
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
      StatusOr<RawAnswer> raw = c.PayRaw(a.out_trade_no, a.channel, a.outcome);
      if (!raw.ok()) return Fail(err, raw.status());
      if (a.json) out << raw->body << (raw->body.ends_with('\n') ? "" : "\n");
      StatusOr<Order> order = DecodeControlAnswer(raw->json);
      if (!order.ok()) return Fail(err, order.status());
      if (!a.json) PrintOrder(out, *order);
      // Fault injection (a magic amount, a rule, pay.userpaying) may decide
      // otherwise than asked; a script must not take that for success.
      const std::string want = StatusForOutcome(a.outcome);
      if (order->status != want) {
        err << "vkspay: pay: order " << order->out_trade_no << " is " << order->status << ", not "
            << want << " as --outcome " << a.outcome << " asked\n";
        return kExitNotPaid;
      }
      return kExitOk;
    }
    if (orders->parsed()) {
      OrderListFilter filter{a.state, a.limit, a.offset};
      return Finish<std::vector<Order>>(
          a, c.ListOrders(filter), DecodeOrderList,
          [&](const std::vector<Order>& list) { PrintOrderList(out, list); }, out, err);
    }
    if (refunds->parsed()) {
      return Finish<std::vector<Refund>>(
          a, c.ListRefunds(a.out_trade_no), DecodeRefundList,
          [&](const std::vector<Refund>& list) { PrintRefundList(out, list); }, out, err);
    }
    if (clock->parsed()) {
      StatusOr<RawAnswer> answer = clock_advance->parsed() ? c.AdvanceClock(a.advance_seconds)
                                   : clock_reset->parsed() ? c.ResetClock()
                                                           : c.GetClock();
      return Finish<nlohmann::json>(
          a, std::move(answer),
          [](const nlohmann::json& j) -> StatusOr<nlohmann::json> {
            VKSPAY_RETURN_IF_ERROR(ControlStatus(j));
            return j;
          },
          [&](const nlohmann::json& j) {
            const int64_t offset = j.value("offset_s", int64_t{0});
            out << "sandbox clock  " << j.value("time", std::string("?")) << " (unix "
                << j.value("now", int64_t{0}) << "), offset "
                << (offset > 0 ? "+" : "") << offset << " s";
            if (j.contains("removed_s")) out << " (removed " << j.value("removed_s", int64_t{0}) << " s)";
            out << "\n";
          },
          out, err);
    }
    if (reset->parsed()) {
      return Finish<bool>(
          a, c.Reset(),
          [](const nlohmann::json& j) -> StatusOr<bool> {
            VKSPAY_RETURN_IF_ERROR(ControlStatus(j));
            return true;
          },
          [&](bool) { out << "reset: every order, refund and notification deleted\n"; }, out, err);
    }
    if (notifications->parsed()) {
      if (!a.notification_id.empty()) {
        return Finish<NotificationRecord>(
            a, c.GetNotification(a.notification_id), DecodeNotificationAnswer,
            [&](const NotificationRecord& r) {
              PrintNotificationRecord(out, r);
              PrintAttemptLog(out, r);
            },
            out, err);
      }
      NotificationFilter filter{a.out_trade_no, a.state, a.limit};
      return Finish<std::vector<NotificationRecord>>(
          a, c.ListNotifications(filter), DecodeNotificationList,
          [&](const std::vector<NotificationRecord>& list) { PrintNotificationList(out, list); },
          out, err);
    }
    if (resend->parsed()) {
      if (a.failed) {
        std::optional<int64_t> since;
        if (o_since->count() > 0) since = a.since;
        return Finish<int64_t>(
            a, c.ResendFailed(since), DecodeResentAnswer,
            [&](int64_t n) {
              out << "resent " << n << " failed notification" << (n == 1 ? "" : "s") << "\n";
            },
            out, err);
      }
      return Finish<NotificationRecord>(
          a, c.ResendNotification(a.notification_id), DecodeNotificationAnswer,
          [&](const NotificationRecord& r) {
            out << "resent notification " << r.id << "\n";
            PrintNotificationRecord(out, r);
          },
          out, err);
    }
    return Fail(err, Status(ErrorCode::kInvalidField, "未知子命令"), kExitUsage);
  } catch (const std::exception& e) {
    // A bug, not an expected failure: report it without a stack of internals.
    return Fail(err, Status(ErrorCode::kInternal, e.what()));
  }
}

}  // namespace vkspay::client
