// The VksPay v2.0 API: POST /api with a signed flat JSON body whose `method`
// is webpay, micropay, orderquery, orderrefund or orderrefundquery.
//
// ApiService checks the envelope (content type, JSON, required fields,
// version, merchant, signature, timestamp window, replay) and then runs the
// method against the store. It never throws and never answers with anything
// but a VksPay answer: {"return_code":"SUCCESS"|"FAIL","return_msg":...,
// "err_code" (on FAIL), "data":{...}}. A request that fails changes no order
// or refund. Thread-safe; the context must outlive it.
//
// With a fault engine in the context (docs/faults.md), after the signature
// is verified: the X-Sandbox-Fault header and a `sandbox:` attach are checked
// (FAIL INVALID_FIELD), the api_before faults may delay the call or answer
// instead of the method (a suspended merchant answers FAIL
// MERCHANT_SUSPENDED), webpay/micropay ask the order and payment hooks,
// orderrefund the refund hook, and the api_after faults may change the
// answer the method produced.
#ifndef VKSPAY_SANDBOX_API_API_SERVICE_H_
#define VKSPAY_SANDBOX_API_API_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/api/replay_cache.h"
#include "sandbox/core/context.h"
#include "sandbox/core/views.h"  // SocketBaseUrl, for ApiRequest::base_url
#include "sandbox/faults/rule.h"
#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {

struct ApiRequest {
  std::string content_type;  // the Content-Type header as sent
  std::string body;
  // The sandbox's own address as the caller reached it
  // ("http://127.0.0.1:8080", SocketBaseUrl of the connection; never taken
  // from a request header), used for payment links unless
  // settings.public_base_url is set.
  std::string base_url;
  // The X-Sandbox-Fault header ("" when absent); see docs/faults.md.
  std::string fault_header;
};

// What the HTTP layer sends. Without injected faults: HTTP 200 and a VksPay
// JSON answer. An injected fault (docs/faults.md) may change the status, the
// content type and the body, or ask for the connection to be closed without
// an answer.
struct ApiResponse {
  int http_status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  // api.close: send nothing and close the connection.
  bool close_connection = false;
  // The faults that shaped this answer ("api.fail (header header)"), for the
  // X-Sandbox-Fault-Injected header and the log; "" when none.
  std::string injected;
  // For logs and metrics: method, merchantno, the order and refund numbers
  // as far as they are known ("" otherwise), err_code ("" on success) and
  // the return_msg of a FAIL with every configured merchant key and the
  // request's sign replaced by "***" (never a secret in a log).
  std::string method;
  std::string merchantno;
  std::string out_trade_no;
  std::string out_refund_no;
  std::string err_code;
  std::string reason;
  // For the sandbox's log only, never the caller: what the operator can fix
  // (UNKNOWN_MERCHANT: the merchant numbers configured). "" when none.
  std::string log_note;
};

class ApiService {
 public:
  explicit ApiService(const SandboxContext& ctx);

  ApiResponse Handle(const ApiRequest& request);

  // Requests the replay cache remembers now, and the bytes its tables hold
  // (for GET /metrics).
  size_t replay_cache_size() const { return replay_.size(); }
  size_t replay_cache_bytes() const { return replay_.bytes(); }

 private:
  using Json = nlohmann::ordered_json;
  struct Call {
    const Fields* fields;
    const Merchant* merchant;
    std::string base_url;
    // What fault rules match on for this request (header directive included);
    // null when no fault engine is configured.
    const FaultContext* faults;
    // Data to send with a FAIL answer (orderquery of an unpaid order,
    // micropay whose buyer failed).
    Json* fail_data;
    // The order as RequestFaultContext read it for this very request, when
    // no injected delay happened since (orderquery answers from it instead of
    // reading the order a second time); null otherwise.
    const Order* order = nullptr;
    // The response's log_note, for a created order's operator note
    // (UndeliverableNote); null in tests that build a Call themselves.
    std::string* log_note = nullptr;
  };

  // The request's fault context: its own fields for webpay/micropay, the
  // order's amount, channel and attach for the other methods.
  // The order it read, if any, goes to *order.
  FaultContext RequestFaultContext(const Fields& f, const std::string& method,
                                   const std::string& merchantno, const std::string& header,
                                   std::optional<Order>* order) const;

  // Under settings.strict_notify_url: kNotifyUrlRefused with the guard's
  // reason if the URL would not be allowed.
  Status CheckStrictNotifyUrl(const Merchant& merchant, const std::string& url) const;
  // Without strict_notify_url, an order whose notify_url the URL guard
  // refuses is still created and its notifications are held as blocked;
  // this says so at order time, for the log: "notify_url ... will not be
  // delivered ...: <the guard's reason, naming the --notify-allow entry that
  // would permit it>". Checked only for an IP literal or localhost (no DNS
  // on the request path; a host name's refusal shows at delivery). "" when
  // the URL will be tried, or strict mode or a forward_to applies.
  std::string UndeliverableNote(const Merchant& merchant, const std::string& url) const;
  // Asks the order hook for a new order: sets its expiry
  // (settings.order_expiry_s, or pay.expire_early's) and the X-Sandbox-Fault
  // header it keeps, and returns the actions to schedule with it
  // (pay.late_success).
  std::vector<ScheduledAction> PlanNewOrder(const Call& call, Order& order, int64_t now) const;
  // Inserts the order with `insert` (one store transaction), drawing a new
  // cashier token (and out_trade_no, when `generated`) on a collision: a
  // generated id or a token that another order holds is drawn again; only
  // the merchant's own out_trade_no, held by the merchant's order, is a real
  // conflict. The store's idempotency rules apply.
  using InsertOrder = std::function<StatusOr<CreateOrderResult>(const Order&)>;
  StatusOr<CreateOrderResult> CreateWithFreshIds(Order order, bool generated, int64_t now,
                                                 const InsertOrder& insert);
  // Where generated ids are drawn from: the context's Random mixed with the
  // store's StartupSalt.
  Random& IdRandom() { return ids_rng_ != nullptr ? *ids_rng_ : *ctx_.rng; }
  StatusOr<Json> WebPay(const Call& call);
  StatusOr<Json> MicroPay(const Call& call);
  StatusOr<Json> OrderQuery(const Call& call);
  StatusOr<Json> OrderRefund(const Call& call);
  StatusOr<Json> OrderRefundQuery(const Call& call);

  SandboxContext ctx_;
  ReplayCache replay_;
  std::unique_ptr<Random> ids_rng_;  // null when the context has no Random
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_API_API_SERVICE_H_
