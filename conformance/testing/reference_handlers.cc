#include "reference_handlers.h"

#include <httplib.h>

#include <cmath>

#include "nlohmann/json.hpp"
#include "vkspay/conformance/signer.h"
#include "vkspay/protocol/form.h"

namespace vkspay::conformance::testing {
namespace {

const std::string kAck = R"({"code":"SUCCESS","msg":"SUCCESS"})";

std::pair<int, std::string> Refuse(int status, const std::string& why) {
  return {status, nlohmann::json{{"code", "FAIL"}, {"msg", why}}.dump()};
}

// Yuan text to fen, or -1.
int64_t Fen(const std::string& yuan) {
  if (yuan.empty() || yuan.find_first_not_of("0123456789.") != std::string::npos) return -1;
  return std::llround(std::strtod(yuan.c_str(), nullptr) * 100);
}

}  // namespace

ReferenceHandler::ReferenceHandler(HandlerOptions options) : options_(std::move(options)) {
  for (const MerchantOrder& o : options_.orders) orders_[o.out_trade_no].total_fee = o.total_fee;
}

ReferenceHandler::~ReferenceHandler() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

StatusOr<std::unique_ptr<ReferenceHandler>> ReferenceHandler::Start(HandlerOptions options,
                                                                    const std::string& host,
                                                                    int port) {
  std::unique_ptr<ReferenceHandler> h(new ReferenceHandler(std::move(options)));
  h->host_ = host;
  h->server_ = std::make_unique<httplib::Server>();
  ReferenceHandler* self = h.get();
  h->server_->Post("/notify", [self](const httplib::Request& req, httplib::Response& res) {
    auto [status, body] = self->options_.kind == HandlerKind::kNaive ? self->HandleNaive(req.body)
                                                                     : self->Handle(req.body);
    res.status = status;
    res.set_content(body, "application/json");
  });
  h->server_->Get("/state", [self](const httplib::Request& req, httplib::Response& res) {
    const std::string no = req.get_param_value("out_trade_no");
    std::lock_guard<std::mutex> lock(self->mu_);
    auto it = self->orders_.find(no);
    nlohmann::json j;
    j["out_trade_no"] = no;
    j["exists"] = it != self->orders_.end();
    j["paid"] = it != self->orders_.end() && it->second.paid;
    j["refunded"] = it != self->orders_.end() && it->second.refunded;
    j["processed"] = it != self->orders_.end() ? it->second.processed : 0;
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
  return "http://" + host_ + ":" + std::to_string(port_) + "/notify";
}

std::string ReferenceHandler::state_url() const {
  return "http://" + host_ + ":" + std::to_string(port_) + "/state";
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
  std::lock_guard<std::mutex> lock(mu_);
  // 3. Our own order, with our own amount.
  auto it = orders_.find(f["out_trade_no"]);
  if (it == orders_.end()) return Refuse(404, "unknown order");
  OrderState& order = it->second;
  if (Fen(f["total_fee"]) != Fen(order.total_fee) || Fen(order.total_fee) < 0) {
    return Refuse(400, "total_fee " + f["total_fee"] + " is not the order's " + order.total_fee);
  }
  // 4. Each notify_id once: a repeat is acked and ignored.
  if (seen_notify_ids_.count(notify_id)) return {200, kAck};
  const std::string& type = f["notify_type"];
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
