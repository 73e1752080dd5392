// NotifyListener: a local receiver for VksPay notifications, like
// `stripe listen`. It is what `vkspay listen` runs, and what tests and
// benchmarks use as the merchant's notify_url.
//
// Every POST (on any path) is decoded as a form body and its signature checked
// with the key of its merchantno. A verified notification is answered with the
// ack (HTTP 200, kNotifyAckBody), or forwarded, or failed on purpose as the
// options say; anything else is answered 400 {"code":"FAIL","msg":...} and
// never acked. GET /_listen/stats answers the counters as JSON.
#ifndef VKSPAY_CLIENT_LISTENER_H_
#define VKSPAY_CLIENT_LISTENER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "nlohmann/json.hpp"
#include "vkspay/client/client.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/status.h"

namespace httplib {
class Server;
class Client;
}  // namespace httplib

namespace vkspay::client {

// How a verified notification is answered when the listener decides to fail
// it (see NotifyListenerOptions::fail_first and fail_rate).
enum class FailMode {
  kNone,       // never fail on purpose (fail_first / fail_rate then use kHttp500)
  kHttp500,    // 500 {"code":"FAIL","msg":...}
  kTimeout,    // hold the answer timeout ms, then 500 (the sender has usually given up)
  kWrongBody,  // 200 with a JSON body whose code is not SUCCESS
};

// "none", "500", "timeout", "wrong-body".
std::string_view FailModeName(FailMode mode);
// Parses FailModeName's names ("ok" and "fail500" are accepted too).
// Errors: kInvalidField quoting the text.
StatusOr<FailMode> ParseFailMode(std::string_view text);

struct NotifyListenerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                  // 0: any free port
  std::string path = "/notify";  // shown in url(); POSTs on any path are accepted
  // merchantno -> key. A notification from a merchant not listed is invalid.
  std::map<std::string, std::string> keys;

  // When to fail a verified notification on purpose. attempt is the number of
  // times its notify_id has arrived (verified), this one included:
  //   attempt <= fail_first, or
  //   fail_rate > 0 and Draw(seed, notify_id, attempt) < fail_rate, or
  //   fail_mode != kNone and fail_first == 0 and fail_rate == 0 (always).
  FailMode fail_mode = FailMode::kNone;
  int fail_first = 0;
  double fail_rate = 0;  // in [0, 1]
  uint64_t seed = 1;
  std::chrono::milliseconds timeout{10'000};  // kTimeout's hold

  // When set, a verified notification that is not failed on purpose is
  // POSTed to this URL with the same body and Content-Type, and the answer
  // (status, body, Content-Type) is relayed; 502 if the forward fails.
  std::string forward_to;
  std::chrono::milliseconds forward_timeout{10'000};

  int threads = 16;  // server worker threads; a held (timeout) answer holds one

  // Output: one line per notification to *out (nullptr: quiet), human
  // (FormatEventLine) or JSON (EventJson). Written under the listener's lock
  // and flushed; the stream must outlive the listener.
  std::ostream* out = nullptr;
  bool json = false;

  // Time for the printed lines; nullptr means the system clock. Must outlive
  // the listener.
  const Clock* clock = nullptr;
};

// What happened to one POST: filled in before the answer is sent.
struct NotifyEvent {
  int64_t received_us = 0;  // Clock time
  std::string path;
  std::string content_type;
  Fields fields;  // as decoded; empty if the body was not a form
  bool verified = false;
  Status error;                              // why it is not verified (OK when verified)
  std::optional<Notification> notification;  // set when verified
  int attempt = 0;         // nth verified arrival of this notify_id (0 if invalid)
  bool duplicate = false;  // its notify_id was acked before
  // "ack", "invalid", "fail-500", "timeout", "wrong-body", "forwarded",
  // "forward-failed".
  std::string answered;
  int http_status = 0;
  bool acked = false;  // the answer was an ack (2xx, JSON code SUCCESS)
  std::string forward_error;
};

// The counters, as GET /_listen/stats answers them.
struct NotifyListenerStats {
  int64_t received = 0;  // POSTs
  int64_t verified = 0;  // valid signature
  int64_t invalid = 0;   // answered 400
  int64_t acked = 0;     // answers that were acks (forwarded ones included)
  int64_t failed = 0;    // failed on purpose
  int64_t forward_errors = 0;
  int64_t duplicates = 0;  // verified arrivals whose notify_id had been acked before
  int64_t unique = 0;      // distinct verified notify_ids
  std::vector<std::string> acked_out_trade_nos;  // distinct, in order of first ack
};

nlohmann::ordered_json StatsJson(const NotifyListenerStats& stats);
// One human line: time, notify_type, out_trade_no, total_fee, pay_chnl,
// notify_id, VERIFIED/INVALID, and the answer. No newline.
std::string FormatEventLine(const NotifyEvent& event);
// The form fields, then received_at, path, verified, error, attempt,
// duplicate, answered, http_status, acked (these win over a form field of the
// same name).
nlohmann::ordered_json EventJson(const NotifyEvent& event);
// The deterministic draw in [0, 1) behind fail_rate.
double FailDraw(uint64_t seed, std::string_view notify_id, int attempt);
// True for a 2xx answer whose body is a JSON object with "code":"SUCCESS".
bool IsAckAnswer(int http_status, std::string_view body);

// Thread-safe: the server threads and the owner share state under mu_.
// Start once; Stop (or the destructor) stops the server, wakes held answers
// and joins.
class NotifyListener {
 public:
  using Callback = std::function<void(const NotifyEvent&)>;

  explicit NotifyListener(NotifyListenerOptions options);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  // Called for every POST, from a server thread, before the answer is sent
  // (for kTimeout: before the hold). Set before Start.
  void set_callback(Callback cb) { callback_ = std::move(cb); }

  // Binds, starts serving and returns the bound port once the server runs.
  // Errors: kInvalidField for bad options (no keys, fail_rate out of range,
  // forward_to not http(s)://host[:port][/path]); kInternal if the address
  // cannot be bound or Start was already called.
  StatusOr<int> Start();
  void Stop();

  int port() const { return port_; }
  // "http://host:port/path" (0.0.0.0 shown as 127.0.0.1).
  std::string url() const;
  NotifyListenerStats stats() const;

 private:
  struct Answer {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  void Handle(const std::string& path, const std::string& content_type, const std::string& body,
              Answer& answer);
  std::optional<std::string> KeyFor(const Fields& fields) const;
  bool Forward(const std::string& content_type, const std::string& body, Answer& answer,
               std::string& error);
  void Emit(const NotifyEvent& event);

  const NotifyListenerOptions options_;
  std::unique_ptr<SystemClock> owned_clock_;
  const Clock* clock_;
  Callback callback_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<int> listen_fd_{-1};
  int port_ = 0;
  bool started_ = false;
  std::string forward_origin_;  // "http://host:port"
  std::string forward_path_;    // "/path?query"

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;                          // guarded by mu_
  NotifyListenerStats stats_;                      // guarded by mu_
  std::unordered_map<std::string, int> attempts_;  // notify_id -> arrivals, guarded by mu_
  std::set<std::string> acked_ids_;                // guarded by mu_
  std::set<std::string> acked_trade_nos_;          // guarded by mu_
  std::vector<std::unique_ptr<httplib::Client>> idle_forwarders_;  // guarded by mu_

  std::mutex out_mu_;  // serializes lines to options_.out and callbacks
};

}  // namespace vkspay::client

#endif  // VKSPAY_CLIENT_LISTENER_H_
