#include "sandbox/cashier/cashier_routes.h"

#include <functional>
#include <string>
#include <string_view>

#include "sandbox/cashier/cashier_page.h"
#include "sandbox/core/payments.h"
#include "sandbox/core/views.h"
#include "sandbox/telemetry/log.h"

namespace vkspay::sandbox {
namespace {

constexpr char kHtml[] = "text/html; charset=utf-8";

void SendHtml(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, kHtml);
}

// The payment URL shown as the QR code: the configured public base, else the
// sandbox's own address as the browser reached it (a phone on the same
// network can open it), never the Host header (issue #13 finding 7).
using LinkBase = std::function<std::string(const httplib::Request&)>;

std::string PayUrl(const SandboxContext& ctx, const httplib::Request& req, std::string_view token,
                   const LinkBase& link_base) {
  std::string base = ctx.config->settings.public_base_url;
  if (base.empty())
    base = link_base ? link_base(req) : SocketBaseUrl(req.local_addr, req.local_port);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/pay/" + std::string(token);
}

std::string MerchantName(const SandboxContext& ctx, const Order& order) {
  const Merchant* merchant = ctx.config->FindMerchant(order.merchantno);
  if (merchant != nullptr && !merchant->name.empty()) return merchant->name;
  return order.merchantno;
}

// "订单已支付 (ORDER_PAID): <message>" for the flash box.
std::string FlashFor(const Status& status) {
  const ErrorInfo& info = InfoFor(status.code());
  std::string out(info.title);
  out += " (";
  out += info.err_code;
  out += ")";
  if (!status.message().empty()) out += ": " + status.message();
  return out;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidField:
    case ErrorCode::kMissingField:
      return 400;
    case ErrorCode::kOrderPaid:
    case ErrorCode::kOrderClosed:
    case ErrorCode::kOrderPayError:
      return 409;
    case ErrorCode::kOrderNotExist:
      return 404;
    default:
      return 500;
  }
}

// Looks the order up by token and renders it with `flash` and `status`, or
// the not-found / internal error page.
void RenderOrder(const SandboxContext& ctx, const LinkBase& link_base, const httplib::Request& req,
                 httplib::Response& res, const std::string& token, int status, std::string flash) {
  StatusOr<Order> order = ctx.store->GetOrderByToken(token, ctx.clock->NowSeconds());
  if (!order.ok()) {
    if (order.status().code() == ErrorCode::kOrderNotExist) {
      SendHtml(res, 404, RenderUnknownTokenPage());
    } else {
      SendHtml(res, 500, RenderInternalErrorPage());
    }
    return;
  }
  CashierView view;
  view.merchant_name = MerchantName(ctx, *order);
  view.pay_url = PayUrl(ctx, req, token, link_base);
  view.flash = std::move(flash);
  view.order = std::move(order).value();
  if (view.order.status == OrderStatus::kSuccess || view.order.status == OrderStatus::kRefund) {
    NotificationFilter filter;
    filter.merchantno = view.order.merchantno;
    filter.out_trade_no = view.order.out_trade_no;
    filter.limit = -1;
    // Newest first; a page without the line beats an error page.
    if (auto list = ctx.store->ListNotifications(filter); list.ok()) {
      for (Notification& n : *list) {
        if (n.type == "payment") {
          view.payment_notification = std::move(n);
          break;
        }
      }
    }
  }
  SendHtml(res, status, RenderCashierPage(view));
}

void HandleGet(const SandboxContext& ctx, const LinkBase& link_base, const httplib::Request& req,
               httplib::Response& res) {
  const std::string token = req.matches[1];
  if (!IsCashierTokenShape(token)) {
    SendHtml(res, 404, RenderUnknownTokenPage());
    return;
  }
  RenderOrder(ctx, link_base, req, res, token, 200, "");
}

// One line per buyer action on the page (never the cashier token: it is
// the page's secret): the order, what the buyer chose, and how it ended.
void LogBuyer(const SandboxContext& ctx, const Order* order, const httplib::Request& req,
              int http_status, const Status& status) {
  if (ctx.logger == nullptr || !ctx.logger->Enabled(LogLevel::kInfo)) return;
  LogEvent e("buyer");
  e.Str("via", "cashier");
  if (order != nullptr) {
    e.Str("merchant", order->merchantno).Str("out_trade_no", order->out_trade_no);
  }
  e.Str("action", req.get_param_value("outcome").substr(0, 32));
  e.Str("channel", req.get_param_value("channel").empty()
                       ? std::string("auto")
                       : req.get_param_value("channel").substr(0, 32));
  e.Str("result", status.ok() ? "OK" : std::string(InfoFor(status.code()).err_code));
  if (!status.ok()) e.Str("reason", status.message());
  e.Int("status", http_status);
  ctx.logger->Event(LogLevel::kInfo, e);
}

void HandlePost(const SandboxContext& ctx, const LinkBase& link_base, const httplib::Request& req,
                httplib::Response& res) {
  const std::string token = req.matches[1];
  if (!IsCashierTokenShape(token)) {
    LogBuyer(ctx, nullptr, req, 404,
             Status(ErrorCode::kOrderNotExist, "not a cashier token's shape"));
    SendHtml(res, 404, RenderUnknownTokenPage());
    return;
  }
  StatusOr<Order> order = ctx.store->GetOrderByToken(token, ctx.clock->NowSeconds());
  if (!order.ok()) {
    if (order.status().code() == ErrorCode::kOrderNotExist) {
      LogBuyer(ctx, nullptr, req, 404,
               Status(ErrorCode::kOrderNotExist, "no order has this token"));
      SendHtml(res, 404, RenderUnknownTokenPage());
    } else {
      LogBuyer(ctx, nullptr, req, 500, order.status());
      SendHtml(res, 500, RenderInternalErrorPage());
    }
    return;
  }

  // httplib parses an application/x-www-form-urlencoded body into params
  // (together with any query string parameters).
  if (!req.has_param("outcome")) {
    const Status missing(ErrorCode::kMissingField,
                         "表单缺少 outcome 字段 (success、fail 或 cancel)");
    LogBuyer(ctx, &*order, req, 400, missing);
    RenderOrder(ctx, link_base, req, res, token, 400, FlashFor(missing));
    return;
  }
  StatusOr<PayOutcome> outcome = ParsePayOutcome(req.get_param_value("outcome"));
  if (!outcome.ok()) {
    LogBuyer(ctx, &*order, req, 400, outcome.status());
    RenderOrder(ctx, link_base, req, res, token, 400, FlashFor(outcome.status()));
    return;
  }
  const std::string channel = req.get_param_value("channel");

  StatusOr<Order> acted =
      ActAsBuyer(ctx, order->merchantno, order->out_trade_no, channel, *outcome);
  if (!acted.ok()) {
    const int http_status = HttpStatusFor(acted.status().code());
    LogBuyer(ctx, &*order, req, http_status, acted.status());
    if (http_status == 500) {
      SendHtml(res, 500, RenderInternalErrorPage());
      return;
    }
    RenderOrder(ctx, link_base, req, res, token, http_status, FlashFor(acted.status()));
    return;
  }
  LogBuyer(ctx, &*order, req, 303, Status::Ok());
  // Post/Redirect/Get: a reload shows the new state instead of re-posting.
  const std::string location = "/pay/" + token;
  res.set_redirect(location, 303);
  SendHtml(res, 303,
           "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>VksPay "
           "沙箱收银台</title><a href=\"" +
               location + "\">继续 / continue</a></html>\n");
}

}  // namespace

void RegisterCashierRoutes(httplib::Server& server, const SandboxContext& ctx,
                           std::function<std::string(const httplib::Request&)> link_base) {
  // Match everything under /pay/ so that malformed tokens get our 404 page
  // rather than the server's empty default.
  server.Get(R"(/pay/(.*))",
             [&ctx, link_base](const httplib::Request& req, httplib::Response& res) {
               HandleGet(ctx, link_base, req, res);
             });
  server.Post(R"(/pay/(.*))",
              [&ctx, link_base](const httplib::Request& req, httplib::Response& res) {
                HandlePost(ctx, link_base, req, res);
              });
}

}  // namespace vkspay::sandbox
