#include "sandbox/control/control_routes.h"

#include <httplib.h>

#include "nlohmann/json.hpp"
#include "sandbox/control/control_http.h"
#include "sandbox/control/faults_routes.h"
#include "sandbox/core/payments.h"
#include "sandbox/core/views.h"

namespace vkspay::sandbox {

using control::Guarded;
using control::IntParam;
using control::Json;
using control::Reply;
using control::ReplyError;

void RegisterControlRoutes(httplib::Server& server, const SandboxContext& ctx,
                           const ControlOptions& options) {
  const std::string token = options.token;
  auto guarded = [token](control::Handler handler) { return Guarded(token, std::move(handler)); };

  server.Get("/_sandbox/health", [ctx, options](const httplib::Request&, httplib::Response& res) {
    Json j;
    j["ok"] = true;
    j["status"] = "ok";
    j["version"] = options.version;
    j["time"] = ctx.clock->NowSeconds();
    j["merchants"] = ctx.config->merchants.size();
    Reply(res, 200, j);
  });

  server.Post("/_sandbox/pay", guarded([ctx](const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      ReplyError(res, Status(ErrorCode::kInvalidJson, "body must be a JSON object"));
      return;
    }
    auto str = [&](const char* name, const char* dflt) -> StatusOr<std::string> {
      auto it = body.find(name);
      if (it == body.end() || it->is_null()) return std::string(dflt);
      if (!it->is_string()) {
        return Status(ErrorCode::kInvalidField, std::string(name) + " must be a string");
      }
      return it->get<std::string>();
    };
    StatusOr<std::string> merchantno = str("merchantno", "");
    StatusOr<std::string> out_trade_no = str("out_trade_no", "");
    StatusOr<std::string> channel = str("channel", "auto");
    StatusOr<std::string> outcome_s = str("outcome", "success");
    for (const auto* s : {&merchantno, &out_trade_no, &channel, &outcome_s}) {
      if (!s->ok()) return ReplyError(res, s->status());
    }
    if (out_trade_no->empty()) {
      return ReplyError(res, Status(ErrorCode::kMissingField, "out_trade_no is required"));
    }
    if (merchantno->empty()) {
      if (ctx.config->merchants.size() != 1) {
        return ReplyError(res, Status(ErrorCode::kMissingField,
                                      "merchantno is required when several merchants exist"));
      }
      *merchantno = ctx.config->merchants[0].merchantno;
    }
    StatusOr<PayOutcome> outcome = ParsePayOutcome(*outcome_s);
    if (!outcome.ok()) return ReplyError(res, outcome.status());
    StatusOr<Order> order = ActAsBuyer(ctx, *merchantno, *out_trade_no, *channel, *outcome);
    if (!order.ok()) return ReplyError(res, order.status());
    Json j;
    j["ok"] = true;
    j["order"] = OrderJson(*order);
    Reply(res, 200, j);
  }));

  server.Get("/_sandbox/orders", guarded([ctx](const httplib::Request& req, httplib::Response& res) {
    OrderFilter filter;
    filter.merchantno = req.get_param_value("merchantno");
    if (req.has_param("status")) {
      filter.status = ParseOrderStatus(req.get_param_value("status"));
      if (!filter.status) {
        return ReplyError(res, Status(ErrorCode::kInvalidField,
                                      "status must be NOTPAY, USERPAYING, SUCCESS, REFUND, "
                                      "CLOSED or PAYERROR"));
      }
    }
    StatusOr<int64_t> limit = IntParam(req, "limit", 100, 1, 10000);
    if (!limit.ok()) return ReplyError(res, limit.status());
    StatusOr<int64_t> offset = IntParam(req, "offset", 0, 0, INT64_MAX);
    if (!offset.ok()) return ReplyError(res, offset.status());
    filter.limit = *limit;
    filter.offset = *offset;
    StatusOr<std::vector<Order>> orders = ctx.store->ListOrders(filter);
    if (!orders.ok()) return ReplyError(res, orders.status());
    Json j;
    j["ok"] = true;
    j["orders"] = Json::array();
    for (const Order& o : *orders) j["orders"].push_back(OrderJson(o));
    Reply(res, 200, j);
  }));

  auto order_and_refunds = [ctx](const httplib::Request& req, httplib::Response& res,
                                 bool with_order) {
    std::string merchantno = req.get_param_value("merchantno");
    if (merchantno.empty() && ctx.config->merchants.size() == 1) {
      merchantno = ctx.config->merchants[0].merchantno;
    }
    const std::string no = req.get_param_value("out_trade_no");
    if (no.empty()) {
      return ReplyError(res, Status(ErrorCode::kMissingField, "out_trade_no is required"));
    }
    StatusOr<Order> order = ctx.store->GetOrder(merchantno, no, ctx.clock->NowSeconds());
    if (!order.ok()) return ReplyError(res, order.status());
    StatusOr<std::vector<Refund>> refunds = ctx.store->ListRefunds(merchantno, no);
    if (!refunds.ok()) return ReplyError(res, refunds.status());
    Json j;
    j["ok"] = true;
    if (with_order) j["order"] = OrderJson(*order);
    j["refunds"] = Json::array();
    for (const Refund& r : *refunds) j["refunds"].push_back(RefundJson(r, nullptr));
    if (with_order) {
      // What fault injection will still do to it (docs/faults.md).
      StatusOr<std::vector<ScheduledAction>> actions = ctx.store->ListActions(merchantno, no);
      if (!actions.ok()) return ReplyError(res, actions.status());
      j["scheduled"] = Json::array();
      for (const ScheduledAction& a : *actions) {
        Json s;
        s["kind"] = ToString(a.kind);
        s["due_us"] = a.due_us;
        s["outcome"] = ToString(a.outcome);
        if (!a.out_refund_no.empty()) s["out_refund_no"] = a.out_refund_no;
        s["note"] = a.note;
        j["scheduled"].push_back(std::move(s));
      }
    }
    Reply(res, 200, j);
  };
  server.Get("/_sandbox/order",
             guarded([order_and_refunds](const httplib::Request& req, httplib::Response& res) {
               order_and_refunds(req, res, true);
             }));
  server.Get("/_sandbox/refunds",
             guarded([order_and_refunds](const httplib::Request& req, httplib::Response& res) {
               order_and_refunds(req, res, false);
             }));

  server.Post("/_sandbox/reset", guarded([ctx](const httplib::Request&, httplib::Response& res) {
    Status st = ctx.store->Reset();
    if (!st.ok()) return ReplyError(res, st);
    Json j;
    j["ok"] = true;
    Reply(res, 200, j);
  }));

  if (ctx.faults != nullptr) {
    RegisterFaultRoutes(server, *ctx.faults, [token](const httplib::Request& req) {
      return control::Authorized(req, token);
    });
  }
}

}  // namespace vkspay::sandbox
