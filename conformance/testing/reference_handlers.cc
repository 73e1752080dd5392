#include "reference_handlers.h"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <random>
#include <regex>

#include "nlohmann/json.hpp"
#include "vkspay/conformance/signer.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::conformance::testing {
namespace {

using nlohmann::json;

const std::string kAck = R"({"code":"SUCCESS","msg":"SUCCESS"})";

std::pair<int, std::string> Refuse(int status, const std::string& why) {
  return {status, json{{"code", "FAIL"}, {"msg", why}}.dump(-1, ' ', false,
                                                            json::error_handler_t::replace)};
}

// Yuan text to fen, or -1.
int64_t Fen(const std::string& yuan) {
  if (yuan.empty() || yuan.find_first_not_of("0123456789.") != std::string::npos) return -1;
  return std::llround(std::strtod(yuan.c_str(), nullptr) * 100);
}

// A fresh orderquery nonce: 8 digits 1-9, as the sample draws them. A
// process-wide counter, so no two call-backs of the process share one (the
// sandbox refuses a replayed sign); it starts at a random point so that a
// restarted handler does not repeat the last run's nonces within the
// sandbox's replay window.
std::string NextNonce() {
  constexpr uint64_t kNonces = 43'046'721;  // 9^8
  static std::atomic<uint64_t> counter{std::random_device{}() % kNonces};
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) % kNonces;
  std::string s(8, '1');
  for (size_t i = 8; i-- > 0;) {
    s[i] = static_cast<char>('1' + n % 9);
    n /= 9;
  }
  return s;
}

// o[name] if it is a string, else "" (answers are untrusted: a number where a
// string belongs must not throw).
std::string StringMember(const json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void SleepMillis(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Counts a notification in flight for as long as it lives and keeps the
// highest count seen.
class InFlight {
 public:
  InFlight(std::atomic<int64_t>& in_flight, std::atomic<int64_t>& max_seen)
      : in_flight_(in_flight) {
    const int64_t now = in_flight_.fetch_add(1) + 1;
    int64_t prev = max_seen.load();
    while (now > prev && !max_seen.compare_exchange_weak(prev, now)) {
    }
  }
  ~InFlight() { in_flight_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int64_t>& in_flight_;
};

Status InvalidOption(const std::string& name, const std::string& expected, const std::string& got) {
  return Status(ErrorCode::kInvalidField, name + ": expected " + expected + ", got " + got);
}

}  // namespace

ReferenceHandler::ReferenceHandler(HandlerOptions options) : options_(std::move(options)) {
  for (const MerchantOrder& o : options_.orders) orders_[o.out_trade_no].total_fee = o.total_fee;
}

ReferenceHandler::~ReferenceHandler() {
  if (!server_) return;  // Start refused the options before making one
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

StatusOr<std::unique_ptr<ReferenceHandler>> ReferenceHandler::Start(HandlerOptions options,
                                                                    const std::string& host,
                                                                    int port) {
  if (!(options.fail_rate >= 0 && options.fail_rate <= 1)) {
    return InvalidOption("fail_rate", "a fraction from 0 to 1", std::to_string(options.fail_rate));
  }
  if (options.threads < 1 || options.threads > 1024) {
    return InvalidOption("threads", "1 to 1024", std::to_string(options.threads));
  }
  const std::pair<const char*, int64_t> non_negative[] = {{"delay_ms", options.delay_ms},
                                                          {"stall_every", options.stall_every},
                                                          {"stall_ms", options.stall_ms}};
  for (const auto& [name, value] : non_negative) {
    if (value < 0) return InvalidOption(name, "0 or more", std::to_string(value));
  }
  const std::pair<const char*, const std::string*> paths[] = {
      {"notify_path", &options.notify_path}, {"state_path", &options.state_path}};
  for (const auto& [name, path] : paths) {
    if (path->empty() || path->front() != '/' ||
        path->find_first_of("?# \t\r\n") != std::string::npos) {
      return InvalidOption(name, "a path starting with / (no ?, # or spaces)", "\"" + *path + "\"");
    }
  }
  if (options.notify_path == options.state_path || options.notify_path == "/stats" ||
      options.state_path == "/stats") {
    return InvalidOption("state_path", "a path other than notify_path and /stats",
                         "\"" + options.state_path + "\"");
  }
  std::unique_ptr<ReferenceHandler> h(new ReferenceHandler(std::move(options)));
  if (!h->options_.orderquery_url.empty()) {
    // http only: the library is used without TLS here, and the sandbox
    // serves plain HTTP.
    static const std::regex kUrl(
        R"(^(http://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?)(/[^?#\s]*)$)");
    std::smatch m;
    if (!std::regex_match(h->options_.orderquery_url, m, kUrl)) {
      return InvalidOption("orderquery_url",
                           "http://HOST:PORT/PATH such as http://127.0.0.1:8080/api",
                           "\"" + h->options_.orderquery_url + "\"");
    }
    h->orderquery_base_ = m[1];
    h->orderquery_path_ = m[4];
  }
  h->host_ = host;
  h->server_ = std::make_unique<httplib::Server>();
  const size_t threads = static_cast<size_t>(h->options_.threads);
  h->server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  h->server_->set_tcp_nodelay(true);
  // A load test keeps its connections for the whole run: closing one every
  // few requests (httplib's default is 5) would measure reconnects.
  h->server_->set_keep_alive_max_count(1'000'000);
  ReferenceHandler* self = h.get();
  h->server_->Post(h->options_.notify_path, [self](const httplib::Request& req, httplib::Response& res) {
    auto [status, body] = self->HandleNotification(req.body);
    res.status = status;
    res.set_content(body, "application/json");
  });
  h->server_->Get(h->options_.state_path, [self](const httplib::Request& req, httplib::Response& res) {
    const std::string no = req.get_param_value("out_trade_no");
    std::lock_guard<std::mutex> lock(self->mu_);
    auto it = self->orders_.find(no);
    json j;
    j["out_trade_no"] = no;
    j["exists"] = it != self->orders_.end();
    j["paid"] = it != self->orders_.end() && it->second.paid;
    j["refunded"] = it != self->orders_.end() && it->second.refunded;
    j["processed"] = it != self->orders_.end() ? it->second.processed : 0;
    res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  });
  h->server_->Get("/stats", [self](const httplib::Request&, httplib::Response& res) {
    const HandlerStats s = self->stats();
    const json j = {{"received", s.received},
                    {"acked", s.acked},
                    {"refused", s.refused},
                    {"failed_on_purpose", s.failed_on_purpose},
                    {"stalls", s.stalls},
                    {"orderqueries", s.orderqueries},
                    {"orderquery_errors", s.orderquery_errors},
                    {"max_concurrent", s.max_concurrent}};
    res.set_content(j.dump(), "application/json");
  });
  if (port == 0) {
    h->port_ = h->server_->bind_to_any_port(host);
  } else if (h->server_->bind_to_port(host, port)) {
    h->port_ = port;
  }
  if (h->port_ <= 0) {
    return Status(ErrorCode::kInternal,
                  "reference handler cannot bind " + host + ":" + std::to_string(port));
  }
  h->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  for (int i = 0; i < 2000 && !h->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return h;
}

std::string ReferenceHandler::notify_url() const {
  return "http://" + host_ + ":" + std::to_string(port_) + options_.notify_path;
}

std::string ReferenceHandler::state_url() const {
  return "http://" + host_ + ":" + std::to_string(port_) + options_.state_path;
}

std::string ReferenceHandler::stats_url() const {
  return "http://" + host_ + ":" + std::to_string(port_) + "/stats";
}

HandlerStats ReferenceHandler::stats() const {
  HandlerStats s;
  s.received = received_.load();
  s.acked = acked_.load();
  s.refused = refused_.load();
  s.failed_on_purpose = failed_on_purpose_.load();
  s.stalls = stalls_.load();
  s.orderqueries = orderqueries_.load();
  s.orderquery_errors = orderquery_errors_.load();
  s.max_concurrent = max_concurrent_.load();
  return s;
}

bool ReferenceHandler::FailsOnPurpose(uint64_t sequence) const {
  const double rate = options_.fail_rate;
  if (rate <= 0) return false;
  // Sequence numbers fall into runs of about 1/rate (run j holds those whose
  // (sequence - 1) * rate rounds down to j), and exactly one of each run
  // fails, at a place drawn from the seed and j. An independent draw per
  // notification would be off by a few standard deviations over a short run
  // (74 of 1000 at 10% with seed 1); this is within one of N * rate.
  auto run = [rate](uint64_t s) {
    return static_cast<uint64_t>(std::floor(static_cast<double>(s - 1) * rate));
  };
  const uint64_t j = run(sequence);
  // The run's first and one-past-last sequence numbers: estimated, then
  // corrected against run() itself so that rounding cannot split or overlap
  // runs.
  uint64_t begin = static_cast<uint64_t>(std::ceil(static_cast<double>(j) / rate)) + 1;
  while (begin > 1 && run(begin - 1) == j) --begin;
  while (run(begin) < j) ++begin;
  uint64_t end = static_cast<uint64_t>(std::ceil(static_cast<double>(j + 1) / rate)) + 1;
  while (run(end) <= j) ++end;
  while (end - 1 > begin && run(end - 1) > j) --end;
  const uint64_t draw = SplitMix64(SplitMix64(options_.seed) + j);
  return sequence == begin + draw % (end - begin);
}

std::pair<int, std::string> ReferenceHandler::HandleNotification(const std::string& body) {
  const uint64_t sequence = static_cast<uint64_t>(received_.fetch_add(1) + 1);
  std::unique_lock<std::mutex> serial(serial_mu_, std::defer_lock);
  if (options_.serial) serial.lock();
  // Counted after the serial wait: a queued request is not being handled.
  InFlight in_flight(in_flight_, max_concurrent_);
  if (options_.stall_every > 0 && sequence % static_cast<uint64_t>(options_.stall_every) == 0) {
    stalls_.fetch_add(1);
    SleepMillis(options_.stall_ms);
  }
  SleepMillis(options_.delay_ms);
  if (FailsOnPurpose(sequence)) {
    failed_on_purpose_.fetch_add(1);
    return Refuse(500, "failing on purpose");
  }
  std::pair<int, std::string> answer =
      options_.kind == HandlerKind::kNaive ? HandleNaive(body) : Handle(body);
  (answer.first == 200 ? acked_ : refused_).fetch_add(1);
  return answer;
}

std::pair<int, std::string> ReferenceHandler::Handle(const std::string& body) {
  StatusOr<Fields> form = DecodeForm(body);
  if (!form.ok()) return Refuse(400, "not a form: " + form.status().message());
  std::map<std::string, std::string> f;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const Field& field : form->items()) {
    const std::string& value = std::get<std::string>(field.value);
    f[field.name] = value;
    if (field.name != "sign") pairs.emplace_back(field.name, value);
  }
  // 1. The signature, before believing anything else.
  if (f["sign"].empty() || f["sign"] != SignPairs(pairs, options_.key)) {
    return Refuse(400, "sign does not verify");
  }
  if (f["merchantno"] != options_.merchantno) return Refuse(400, "not our merchantno");
  // 2. Freshness: VksPay stamps every attempt, so an old stamp is a replay.
  const Clock& clock = options_.clock ? *options_.clock : system_clock_;
  const int64_t ts = std::atoll(f["timestamp"].c_str());
  if (f["timestamp"].empty() || std::llabs(clock.NowSeconds() - ts) > options_.max_age_s) {
    return Refuse(400, "timestamp outside ±" + std::to_string(options_.max_age_s) + " s");
  }
  const std::string& notify_id = f["notify_id"];
  if (notify_id.empty()) return Refuse(400, "no notify_id");
  const std::string& no = f["out_trade_no"];
  const std::string& type = f["notify_type"];
  if (!options_.orderquery_url.empty() && type == "payment") {
    // Ask VksPay before believing the payment, outside mu_ (the call-back
    // takes a round trip). Not for what the order book already settles: an
    // unknown order without learn_orders, another amount, a repeated
    // notify_id or an order already paid (acked without asking, as a real
    // handler finds it in its own database).
    bool ask = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = orders_.find(no);
      if (it == orders_.end() && !options_.learn_orders) return Refuse(404, "unknown order");
      if (it != orders_.end()) {
        const OrderState& order = it->second;
        if (Fen(f["total_fee"]) != Fen(order.total_fee) || Fen(order.total_fee) < 0) {
          return Refuse(400,
                        "total_fee " + f["total_fee"] + " is not the order's " + order.total_fee);
        }
        ask = !order.paid;
      }
      if (seen_notify_ids_.count(notify_id)) ask = false;
    }
    if (ask) {
      const std::string why = ConfirmPaid(no, f["total_fee"]);
      if (!why.empty()) return Refuse(500, why);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  // 3. Our own order, with our own amount (or, in bench mode, one the bench
  // created for us: learned with the notification's amount, which the
  // call-back, if any, has confirmed).
  auto it = orders_.find(no);
  if (it == orders_.end()) {
    if (!options_.learn_orders) return Refuse(404, "unknown order");
    // Its amount is the notification's, so that must be an amount.
    StatusOr<int64_t> fen = ParseYuanText("total_fee", f["total_fee"]);
    if (!fen.ok()) return Refuse(400, fen.status().message());
    it = orders_.emplace(no, OrderState{}).first;
    it->second.total_fee = f["total_fee"];
  }
  OrderState& order = it->second;
  if (Fen(f["total_fee"]) != Fen(order.total_fee) || Fen(order.total_fee) < 0) {
    return Refuse(400, "total_fee " + f["total_fee"] + " is not the order's " + order.total_fee);
  }
  // 4. Each notify_id once: a repeat is acked and ignored.
  if (seen_notify_ids_.count(notify_id)) return {200, kAck};
  if (type == "payment") {
    if (!order.paid) {
      order.paid = true;
      ++order.processed;
    }
  } else if (type == "refund") {
    // Not paid yet as far as we know: refuse, VksPay retries after the payment.
    if (!order.paid) return Refuse(409, "refund before payment");
    order.refunded = true;
    ++order.processed;
  } else {
    return Refuse(400, "unknown notify_type");
  }
  seen_notify_ids_.insert(notify_id);
  return {200, kAck};
}

std::string ReferenceHandler::ConfirmPaid(const std::string& out_trade_no,
                                          const std::string& total_fee) {
  orderqueries_.fetch_add(1);
  auto fail = [this](std::string why) {
    orderquery_errors_.fetch_add(1);
    return "orderquery " + options_.orderquery_url + ": " + why;
  };
  const Clock& clock = options_.clock ? *options_.clock : system_clock_;
  Fields query{
      {"method", std::string("orderquery")}, {"merchantno", options_.merchantno},
      {"out_trade_no", out_trade_no},        {"timestamp", static_cast<double>(clock.NowSeconds())},
      {"signaturenonce", NextNonce()},       {"version", std::string("2.0")}};
  const std::string body = WithSign(std::move(query), options_.key).ToJson();

  std::unique_ptr<httplib::Client> client;
  {
    std::lock_guard<std::mutex> lock(clients_mu_);
    if (!idle_clients_.empty()) {
      client = std::move(idle_clients_.back());
      idle_clients_.pop_back();
    }
  }
  if (!client) {
    client = std::make_unique<httplib::Client>(orderquery_base_);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    client->set_connection_timeout(5, 0);
    client->set_read_timeout(5, 0);
    client->set_write_timeout(5, 0);
  }
  httplib::Result res =
      client->Post(orderquery_path_.c_str(), body, "application/json; charset=utf-8");
  if (!res) return fail(httplib::to_string(res.error()));  // the client is dropped, not reused
  {
    // At most one idle client per server thread: more could never be in use.
    std::lock_guard<std::mutex> lock(clients_mu_);
    if (idle_clients_.size() < static_cast<size_t>(options_.threads)) {
      idle_clients_.push_back(std::move(client));
    }
  }
  if (res->status != 200) return fail("answered HTTP " + std::to_string(res->status));
  const json answer = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return fail("the answer is not JSON: " + TruncateUtf8(res->body, 64));
  if (!answer.is_object()) return fail("the answer is not a JSON object: " + ShowJson(answer));
  auto data = answer.find("data");
  const std::string return_code = StringMember(answer, "return_code");
  if (return_code != "SUCCESS") {
    // ORDER_NOT_PAID carries the order, whose status says why (NOTPAY,
    // USERPAYING, CLOSED, PAYERROR).
    const std::string status =
        data != answer.end() && data->is_object() ? StringMember(*data, "status") : "";
    return fail(TruncateUtf8("return_code " + (return_code.empty() ? "missing" : return_code) +
                                 " (" + StringMember(answer, "err_code") + " " +
                                 StringMember(answer, "return_msg") + ")" +
                                 (status.empty() ? "" : ", data.status " + status),
                             200));
  }
  if (data == answer.end() || !data->is_object()) return fail("the answer has no data object");
  const std::string answered_no = StringMember(*data, "out_trade_no");
  if (!answered_no.empty() && answered_no != out_trade_no) {
    return fail("answered for order " + TruncateUtf8(answered_no, 64));
  }
  const std::string status = StringMember(*data, "status");
  if (status != "SUCCESS" && status != "REFUND") {
    return fail("data.status is " + (status.empty() ? "missing" : TruncateUtf8(status, 32)) +
                ", not paid (SUCCESS or REFUND)");
  }
  auto fee_json = data->find("total_fee");
  if (fee_json == data->end()) return fail("data.total_fee is missing");
  Value fee_value = nullptr;
  if (fee_json->is_number()) fee_value = fee_json->get<double>();
  if (fee_json->is_string()) fee_value = fee_json->get<std::string>();
  StatusOr<int64_t> paid_fen = ParseYuan("data.total_fee", fee_value);
  if (!paid_fen.ok()) return fail(paid_fen.status().message());
  StatusOr<int64_t> notified_fen = ParseYuanText("total_fee", total_fee);
  if (!notified_fen.ok() || *paid_fen != *notified_fen) {
    return fail("data.total_fee " + FormatYuan(*paid_fen) + " is not the notification's " +
                TruncateUtf8(total_fee, 32));
  }
  return "";
}

std::pair<int, std::string> ReferenceHandler::HandleNaive(const std::string& body) {
  StatusOr<Fields> form = DecodeForm(body);
  if (!form.ok()) return {200, kAck};
  std::string no, type;
  for (const Field& field : form->items()) {
    if (field.name == "out_trade_no") no = std::get<std::string>(field.value);
    if (field.name == "notify_type") type = std::get<std::string>(field.value);
  }
  std::lock_guard<std::mutex> lock(mu_);
  OrderState& order = orders_[no];
  if (type == "refund") {
    order.refunded = true;
  } else {
    order.paid = true;
  }
  ++order.processed;
  return {200, kAck};
}

}  // namespace vkspay::conformance::testing
