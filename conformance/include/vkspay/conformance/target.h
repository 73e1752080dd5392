// HTTP access to the graded server: raw POSTs to <base>/api, the optional
// sandbox control API, and the suite's estimate of the server's clock.
// Not thread-safe: one Target per suite run, used from one thread.
#ifndef VKSPAY_CONFORMANCE_TARGET_H_
#define VKSPAY_CONFORMANCE_TARGET_H_

#include <cstdint>
#include <memory>
#include <mutex>
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

// Waits until something answers HTTP at `url`: GETs <url><probe> (server
// mode: probe "/_sandbox/health", the sandbox's health route; merchant mode:
// probe "", the notify URL itself) every 200 ms until any HTTP answer arrives
// (a server without the control API answering 404 is up too) or `wait_s`
// seconds have passed; `wait_s` 0 is a single try. A try's connect/read
// timeout is `timeout_s`, cut to what is left of the wait.
// Errors: kInvalidField naming `flag` for a bad URL; kInternal when nothing
// answered: "nothing answers at <url> (GET <path>): connection refused; is the
// server running?", saying how long it waited when it did.
Status WaitForAnswer(std::string_view flag, const std::string& url, std::string_view probe,
                     double wait_s, int timeout_s);

struct TargetOptions {
  std::string base_url;  // requests go to <base_url>/api
  std::string merchantno;
  std::string key;
  std::string control_url;  // "" = no control API
  std::string control_token;
  int timeout_s = 10;
  uint64_t seed = 0;  // nonces and order numbers; 0 = from the system
};

// The sandbox clock's moves during a run, and the way back. The cases move
// the clock forward (about 26 h in all against the sandbox); a clock left
// there refuses every later request stamped with the real time, and
// POST /_sandbox/reset does not move it. Restore puts it back to where the
// run found it: at the end of the run, or from a signal watcher on Ctrl-C.
// Thread-safe: Advance and Restore exclude each other, so an advance in
// flight when Restore starts is undone too, and none starts after it.
class ClockKeeper {
 public:
  // Uses its own HTTP client to options.control_url (which must be valid).
  explicit ClockKeeper(const TargetOptions& options);
  ~ClockKeeper();

  // The offset the run found (the "offset_s" of the first GET /_sandbox/clock).
  void set_initial_offset_s(double seconds);
  // POST /_sandbox/clock/advance. Errors: kInvalidField with the control API's
  // answer; kInternal once Restore has been called (the run is ending).
  Status Advance(double seconds);
  // If an advance was made: POST /_sandbox/clock/reset, then an advance by the
  // initial offset when it was not 0. Later Advance calls are refused; a second
  // Restore does nothing. Errors: kInvalidField with the control API's answer
  // (a sandbox older than /_sandbox/clock/reset answers 404).
  Status Restore();
  // Whether the clock is (possibly) away from where the run found it.
  bool moved() const;

 private:
  Status PostChecked(const std::string& path, const nlohmann::json& body);

  TargetOptions options_;
  std::string prefix_;
  mutable std::mutex mu_;
  std::unique_ptr<httplib::Client> client_;  // guarded by mu_
  double initial_offset_s_ = 0;              // guarded by mu_
  bool moved_ = false;                       // guarded by mu_
  bool restoring_ = false;                   // guarded by mu_
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
  // POST /_sandbox/clock/advance (through clock_keeper()), then SyncClock.
  // Errors: kInvalidField when the target refuses (e.g. a clock that cannot
  // move), with its message; kInternal once the keeper is restoring.
  Status AdvanceClock(double seconds);
  // Null without a control API. Shared so a signal watcher can restore the
  // clock while the run's thread is inside a case.
  std::shared_ptr<ClockKeeper> clock_keeper() const { return keeper_; }

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
  std::shared_ptr<ClockKeeper> keeper_;
  bool synced_ = false;
  SystemClock clock_;
  int64_t offset_s_ = 0;
  std::unique_ptr<SeededRandom> random_;
  std::string run_id_;
  int64_t order_seq_ = 0;
};

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_TARGET_H_
