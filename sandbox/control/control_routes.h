// The sandbox's own JSON control API under /_sandbox/ (not part of VksPay):
// act as the buyer, inspect orders and refunds, reset state, health.
//
//   GET  /_sandbox/health                     {"status":"ok",...}
//   POST /_sandbox/pay    {"merchantno","out_trade_no","channel","outcome"}
//   GET  /_sandbox/orders?merchantno=&status=&limit=&offset=
//   GET  /_sandbox/order?merchantno=&out_trade_no=   order and its refunds
//   GET  /_sandbox/refunds?merchantno=&out_trade_no=
//   POST /_sandbox/reset                      deletes every order and refund
//   /_sandbox/faults/...                      with ctx.faults: faults_routes.h
//
// Answers: 2xx {"ok":true,...}; errors 4xx/5xx {"ok":false,"err_code","message"}.
// When a token is set, every route but health needs
// "Authorization: Bearer <token>" (or "X-Sandbox-Token: <token>").
#ifndef VKSPAY_SANDBOX_CONTROL_CONTROL_ROUTES_H_
#define VKSPAY_SANDBOX_CONTROL_CONTROL_ROUTES_H_

#include <string>

#include "sandbox/core/context.h"

namespace httplib {
class Server;
}

namespace vkspay::sandbox {

struct ControlOptions {
  std::string token;  // empty: no token needed (loopback only)
  std::string version;
};

// Registers the routes; ctx must outlive the server.
void RegisterControlRoutes(httplib::Server& server, const SandboxContext& ctx,
                           const ControlOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONTROL_CONTROL_ROUTES_H_
