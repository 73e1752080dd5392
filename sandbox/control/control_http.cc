#include "sandbox/control/control_http.h"

#include <openssl/crypto.h>

#include <utility>

namespace vkspay::sandbox::control {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kNotFound:
    case ErrorCode::kOrderNotExist:
    case ErrorCode::kRefundNotExist:
      return 404;
    case ErrorCode::kOrderPaid:
    case ErrorCode::kOrderClosed:
    case ErrorCode::kOrderPayError:
      return 409;
    case ErrorCode::kInternal:
      return 500;
    default:
      return 400;
  }
}

void Reply(httplib::Response& res, int status, const Json& j) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void ReplyError(httplib::Response& res, const Status& st, int status) {
  Json j;
  j["ok"] = false;
  j["err_code"] = ErrCodeName(st.code());
  j["message"] = st.message();
  Reply(res, status != 0 ? status : HttpStatusFor(st.code()), j);
}

bool Authorized(const httplib::Request& req, const std::string& token) {
  if (token.empty()) return true;
  std::string given = req.get_header_value("X-Sandbox-Token");
  std::string auth = req.get_header_value("Authorization");
  if (given.empty() && auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

std::string UnauthorizedMessage(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  const bool given = !req.get_header_value("X-Sandbox-Token").empty() ||
                     (auth.rfind("Bearer ", 0) == 0 && auth.size() > 7);
  return std::string(given ? "wrong token" : "no token") +
         ": this control API needs Authorization: Bearer <token>, the sandbox's --control-token "
         "(printed at start when generated); vkspay and vkspay-conformance take "
         "--control-token or VKSPAY_CONTROL_TOKEN";
}

Handler Guarded(const std::string& token, Handler handler) {
  return
      [token, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        if (!Authorized(req, token)) {
          ReplyError(res, Status(ErrorCode::kUnauthorized, UnauthorizedMessage(req)));
          return;
        }
        handler(req, res);
      };
}

StatusOr<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t dflt, int64_t min,
                           int64_t max) {
  if (!req.has_param(name)) return dflt;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size() && n >= min && n <= max) return n;
  } catch (const std::exception&) {
  }
  return Status(ErrorCode::kInvalidField, std::string(name) + " must be an integer in [" +
                                              std::to_string(min) + ", " + std::to_string(max) +
                                              "], got \"" + v + "\"");
}

}  // namespace vkspay::sandbox::control
