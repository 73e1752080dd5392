// Private to the control API: the JSON answers, the error mapping and the
// token guard shared by every /_sandbox/ route file.
#ifndef VKSPAY_SANDBOX_CONTROL_CONTROL_HTTP_H_
#define VKSPAY_SANDBOX_CONTROL_CONTROL_HTTP_H_

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <string>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox::control {

using Json = nlohmann::ordered_json;
using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// 401 unauthorized, 404 not found, 409 conflicts with the order's state,
// 500 internal, else 400.
int HttpStatusFor(ErrorCode code);

// Answers `j` as JSON with `status` (invalid UTF-8 replaced, never thrown).
void Reply(httplib::Response& res, int status, const Json& j);
// {"ok":false,"err_code":...,"message":...} with HttpStatusFor(code), or
// `status` when given.
void ReplyError(httplib::Response& res, const Status& st, int status = 0);

// True if no token is set or the request carries it (Authorization: Bearer,
// or X-Sandbox-Token), compared in constant time.
bool Authorized(const httplib::Request& req, const std::string& token);
// The UNAUTHORIZED message for a request Authorized() refused: whether the
// token was missing or wrong, and where a client sets it. Never echoes it.
std::string UnauthorizedMessage(const httplib::Request& req);
// Wraps a handler with the token check (401 when it fails).
Handler Guarded(const std::string& token, Handler handler);

// An integer query parameter in [min, max], `dflt` when absent. Errors:
// kInvalidField naming the parameter.
StatusOr<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t dflt, int64_t min,
                           int64_t max);

}  // namespace vkspay::sandbox::control

#endif  // VKSPAY_SANDBOX_CONTROL_CONTROL_HTTP_H_
