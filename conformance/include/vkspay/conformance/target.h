// HTTP access to the graded server: raw POSTs to <base>/api, the optional
// sandbox control API, and the suite's estimate of the server's clock.
// Not thread-safe: one Target per suite run, used from one thread.
#ifndef VKSPAY_CONFORMANCE_TARGET_H_
#define VKSPAY_CONFORMANCE_TARGET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "vkspay/conformance/signer.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/status.h"

namespace httplib {
class Client;
}

namespace vkspay::conformance {

// An HTTP exchange as seen by the suite.
struct HttpAnswer {
  bool transport_ok = false;  // false: no HTTP answer (error says why)
  std::string error;
  int status = 0;
  std::string body;
  std::string content_type;
  nlohmann::json json;  // the body parsed, or discarded (is_discarded()) if not JSON
};

// An answer of POST /api, with the envelope fields read out.
struct ApiReply {
  HttpAnswer http;
  std::string return_code;  // "SUCCESS", "FAIL" or "" when absent
  std::string err_code;     // "" when absent (real VksPay sends none)
  std::string return_msg;
  nlohmann::json data;  // object or null

  bool success() const { return return_code == "SUCCESS"; }
  // One line for reasons: "FAIL SIGN_ERROR 签名错误: ..." or the transport error.
  std::string Describe() const;
};

// Splits "http://host:port/prefix" into "http://host:port" and "/prefix"
// ("" when none). Errors: kInvalidField naming `what` for anything but an
// http(s) URL with a host.
Status SplitUrl(std::string_view what, const std::string& url, std::string* origin,
                std::string* path);

struct TargetOptions {
  std::string base_url;  // requests go to <base_url>/api
  std::string merchantno;
  std::string key;
  std::string control_url;  // "" = no control API
  std::string control_token;
  int timeout_s = 10;
  uint64_t seed = 0;  // nonces and order numbers; 0 = from the system
};

class Target {
 public:
  // Errors: kInvalidField naming the flag for a bad URL.
  static StatusOr<std::unique_ptr<Target>> Create(const TargetOptions& options);
  ~Target();

  const TargetOptions& options() const { return options_; }
  bool has_control() const { return control_ != nullptr; }

  // POSTs `body` to <base>/api as is.
  ApiReply PostRaw(const std::string& body,
                   const std::string& content_type = "application/json; charset=utf-8");
  // Signs `body` with the key and POSTs it.
  ApiReply Call(const RawBody& body);

  // The envelope of a request: method, merchantno, a fresh 8-digit nonce, the
  // server's current time, version "2.0".
  RawBody Envelope(std::string_view method);
  // A fresh order number: "CF<run>-<tag>-<n>" (at most 64 allowed characters).
  std::string NewOrderNo(std::string_view tag);
  std::string NewNonce();
  // The server's clock in unix seconds, as estimated (system clock plus the
  // offset read from the control API, if any).
  int64_t Now() const;

  // Control API (only when has_control()). Paths start with "/_sandbox/".
  HttpAnswer ControlGet(const std::string& path_and_query);
  HttpAnswer ControlPost(const std::string& path, const nlohmann::json& body);
  // Re-reads the server clock (GET /_sandbox/clock) and updates the offset.
  Status SyncClock();
  // POST /_sandbox/clock/advance, then SyncClock. Errors: kInvalidField when
  // the target refuses (e.g. a clock that cannot move), with its message.
  Status AdvanceClock(double seconds);

  // GET of an absolute URL (for the payment link), same timeouts.
  HttpAnswer GetUrl(const std::string& url);

 private:
  explicit Target(TargetOptions options);
  HttpAnswer Exchange(httplib::Client& client, const std::string& method, const std::string& path,
                      const std::string& body, const std::string& content_type, bool control);

  TargetOptions options_;
  std::string api_path_;
  std::string control_prefix_;
  std::unique_ptr<httplib::Client> api_;
  std::unique_ptr<httplib::Client> control_;
  SystemClock clock_;
  int64_t offset_s_ = 0;
  std::unique_ptr<SeededRandom> random_;
  std::string run_id_;
  int64_t order_seq_ = 0;
};

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_TARGET_H_
