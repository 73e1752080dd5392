// The VksPay v2.0 API: POST /api with a signed flat JSON body whose `method`
// is webpay, micropay, orderquery, orderrefund or orderrefundquery.
//
// ApiService checks the envelope (content type, JSON, required fields,
// version, merchant, signature, timestamp window, replay) and then runs the
// method against the store. It never throws and never answers with anything
// but a VksPay answer: {"return_code":"SUCCESS"|"FAIL","return_msg":...,
// "err_code" (on FAIL), "data":{...}}. A request that fails changes no order
// or refund. Thread-safe; the context must outlive it.
#ifndef VKSPAY_SANDBOX_API_API_SERVICE_H_
#define VKSPAY_SANDBOX_API_API_SERVICE_H_

#include <string>

#include "nlohmann/json.hpp"
#include "sandbox/api/replay_cache.h"
#include "sandbox/core/context.h"
#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {

struct ApiRequest {
  std::string content_type;  // the Content-Type header as sent
  std::string body;
  // Base URL the caller reached the sandbox at ("http://127.0.0.1:8080"),
  // used for payment links unless settings.public_base_url is set.
  std::string base_url;
};

struct ApiResponse {
  int http_status = 200;
  std::string body;  // JSON
  // For logs: method, merchantno and err_code ("" on success).
  std::string method;
  std::string merchantno;
  std::string err_code;
};

class ApiService {
 public:
  explicit ApiService(const SandboxContext& ctx);

  ApiResponse Handle(const ApiRequest& request);

 private:
  using Json = nlohmann::ordered_json;
  struct Call {
    const Fields* fields;
    const Merchant* merchant;
    std::string base_url;
  };

  // Under settings.strict_notify_url: kNotifyUrlRefused with the guard's
  // reason if the URL would not be allowed.
  Status CheckStrictNotifyUrl(const Merchant& merchant, const std::string& url) const;
  StatusOr<Json> WebPay(const Call& call);
  StatusOr<Json> MicroPay(const Call& call);
  StatusOr<Json> OrderQuery(const Call& call, Json* fail_data);
  StatusOr<Json> OrderRefund(const Call& call);
  StatusOr<Json> OrderRefundQuery(const Call& call);

  SandboxContext ctx_;
  ReplayCache replay_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_API_API_SERVICE_H_
