// Two reference notify handlers for merchant mode, kept with the tests:
//
//   kCorrect verifies the sign, checks merchantno, rejects notifications
//            stamped more than max_age_s away from its clock, knows its own
//            orders and checks total_fee against them, processes each
//            notify_id once (and a paid order once), and refuses a refund of
//            an order it has not seen paid (so VksPay retries it later).
//   kNaive   trusts every notification: no sign check, no dedupe, creates
//            unknown orders, marks paid or refunded, always acks.
//
// Both serve POST /notify, GET /state?out_trade_no=NO, answering
// {"exists","paid","refunded","processed"} (the --state-url contract of
// docs/conformance.md), and GET /stats, answering HandlerStats as JSON.
//
// The same handlers are the reference merchants of `vkspay-bench merchant`,
// so HandlerOptions can also make them behave like real handlers under load
// (bench mode): learn orders the bench created on the merchant's behalf, call
// back orderquery before acking as the official sample does, answer slowly,
// fail a fraction on purpose, stall now and then, handle one notification at
// a time. Each notification goes through these steps, in order:
//   1. counted in `received` (its 1-based sequence number is that count);
//   2. with `serial`, waits for the one-at-a-time mutex, held to the answer;
//   3. every stall_every-th waits stall_ms; then every one waits delay_ms;
//   4. with fail_rate, the seeded draw for its sequence number may answer
//      HTTP 500 {"code":"FAIL","msg":"failing on purpose"} here, nothing
//      processed;
//   5. the kind's own checks and processing (kCorrect: with learn_orders and
//      orderquery_url as documented on them), answering the ack
//      {"code":"SUCCESS","msg":"SUCCESS"} or a refusal.
// The waits and the call-back never hold the order book's mutex, so without
// `serial` other notifications proceed meanwhile. learn_orders and
// orderquery_url change kCorrect only (kNaive learns every order already);
// the other options apply to both kinds.
//
// Thread-safe: one mutex around the order book, atomics for the stats, and a
// mutex each for `serial` and for the call-back's client pool.
#ifndef VKSPAY_CONFORMANCE_TESTING_REFERENCE_HANDLERS_H_
#define VKSPAY_CONFORMANCE_TESTING_REFERENCE_HANDLERS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vkspay/conformance/suites.h"
#include "vkspay/protocol/clock.h"

namespace httplib {
class Client;
class Server;
}  // namespace httplib

namespace vkspay::conformance::testing {

enum class HandlerKind { kCorrect, kNaive };

struct HandlerOptions {
  HandlerKind kind = HandlerKind::kCorrect;
  std::string merchantno = "10001";
  std::string key = "sandbox-demo-key-0123456789abcdef";
  std::vector<MerchantOrder> orders;  // the merchant's own (unpaid) orders
  int64_t max_age_s = 300;
  const Clock* clock = nullptr;  // null: the system clock

  // Bench mode: the bench creates orders on the merchant's behalf, so a
  // notification for an order the handler has never heard of is not refused
  // 404. Once the sign, merchantno and timestamp checks pass, the order is
  // learned with the notification's total_fee (or, with orderquery_url, the
  // call-back's, which must be the same) and processed as usual: dedupe by
  // notify_id, `processed` counted once, /state answers for it.
  bool learn_orders = false;

  // "" (default): no call-back. Otherwise VksPay's API endpoint, e.g.
  // "http://127.0.0.1:8080/api" (http only): as in the official sample,
  // before acking a payment notification (not a refund, not a repeated
  // notify_id, which is acked from the order book) the handler POSTs a
  // signed v2.0 orderquery for its out_trade_no, and acks only if the answer
  // is return_code SUCCESS with data.status SUCCESS or REFUND (paid, as
  // docs/protocol.md defines it) and data.total_fee equal to the
  // notification's. Anything else (transport error, HTTP status other than
  // 200, an unreadable answer, FAIL, not paid, another amount) is answered
  // HTTP 500 {"code":"FAIL","msg":"<why>"} so that VksPay retries, and
  // counted in orderquery_errors. Keep-alive clients from a small pool, TCP
  // no-delay, 5 s connect, read and write timeouts. Start refuses a URL that
  // is not http://HOST:PORT/PATH.
  std::string orderquery_url;

  // Every notification is answered at least this long after it was taken up
  // (a slow handler: p50 ≈ delay_ms). >= 0.
  int64_t delay_ms = 0;

  // This fraction (0..1) of notifications is answered HTTP 500 {"code":"FAIL",
  // "msg":"failing on purpose"} before anything is processed, so VksPay
  // retries them. Decided by sequence number: one notification of each run
  // of about 1/fail_rate consecutive ones, at a place drawn by SplitMix64 of
  // seed and the run's index. So over N notifications N * fail_rate fail,
  // within one, and the same seed and arrival order fail the same ones.
  double fail_rate = 0;
  uint64_t seed = 1;

  // Every stall_every-th notification received (1-based: with 1000, the
  // 1000th, 2000th, ...) waits stall_ms more before it is handled (a GC pause,
  // a lock held too long). 0: never. Both >= 0.
  int64_t stall_every = 0;
  int64_t stall_ms = 1000;

  // One notification at a time, as a single-threaded handler (PHP's built-in
  // server, one Node worker): a mutex held for the whole handling, delay,
  // stall and call-back included. Without it notifications are handled
  // concurrently on the server's threads.
  bool serial = false;

  // HTTP worker threads of the handler's server, 1..1024. A kept-alive
  // connection holds a worker while it stays open (cpp-httplib 0.11), so a
  // client should open at most this many connections at once: 64 is above
  // the sandbox dispatcher's most attempts in flight per host (32), or a
  // 33rd connection would wait out a keep-alive timeout.
  int threads = 64;

  // Where the handler serves notifications and its state (an app's own
  // routes, e.g. "/pay/notify" and "/test/order-state"). Each starts with
  // '/' and has no '?', '#' or whitespace; Start refuses others.
  std::string notify_path = "/notify";
  std::string state_path = "/state";
};

// What a handler has done since it started (GET /stats answers the same
// fields as JSON). received = acked + refused + failed_on_purpose once every
// notification has been answered.
struct HandlerStats {
  int64_t received = 0;           // notifications taken up
  int64_t acked = 0;              // answered HTTP 200 (kAck)
  int64_t refused = 0;            // answered another status (the checks, the call-back)
  int64_t failed_on_purpose = 0;  // answered 500 by fail_rate
  int64_t stalls = 0;             // stall_ms waits
  int64_t orderqueries = 0;       // call-backs sent
  int64_t orderquery_errors = 0;  // call-backs that did not confirm the payment
  int64_t max_concurrent = 0;     // most notifications handled at once (after the serial wait)
};

class ReferenceHandler {
 public:
  // Starts on host:port (0 = any free port). Errors: kInvalidField naming
  // the option (fail_rate outside 0..1, threads outside 1..1024, a negative
  // delay_ms, stall_every or stall_ms, an orderquery_url not
  // http://HOST:PORT/PATH); kInternal if it cannot bind.
  static StatusOr<std::unique_ptr<ReferenceHandler>> Start(HandlerOptions options,
                                                           const std::string& host = "127.0.0.1",
                                                           int port = 0);
  ~ReferenceHandler();  // stops and joins

  std::string notify_url() const;
  std::string state_url() const;
  std::string stats_url() const;
  int port() const { return port_; }
  HandlerStats stats() const;

 private:
  struct OrderState {
    std::string total_fee;
    bool paid = false;
    bool refunded = false;
    int64_t processed = 0;
  };
  explicit ReferenceHandler(HandlerOptions options);
  // Steps 1-4 of the contract above, then the kind's handler; counts the
  // answer. Returns the HTTP status and body to answer.
  std::pair<int, std::string> HandleNotification(const std::string& body);
  std::pair<int, std::string> Handle(const std::string& body);
  std::pair<int, std::string> HandleNaive(const std::string& body);
  // The orderquery call-back: "" if the sandbox confirms out_trade_no paid
  // with total_fee (yuan text), else why not.
  std::string ConfirmPaid(const std::string& out_trade_no, const std::string& total_fee);
  bool FailsOnPurpose(uint64_t sequence) const;

  HandlerOptions options_;
  SystemClock system_clock_;
  std::string host_;
  int port_ = 0;
  std::string orderquery_base_;  // "http://HOST:PORT" of orderquery_url
  std::string orderquery_path_;  // "/api"
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, OrderState> orders_;  // guarded by mu_
  std::set<std::string> seen_notify_ids_;     // guarded by mu_
  // Held for a whole notification with options_.serial; never with mu_ held
  // first (mu_ is taken inside it), so the two cannot deadlock.
  std::mutex serial_mu_;
  std::mutex clients_mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_clients_;  // guarded by clients_mu_

  std::atomic<int64_t> received_{0};
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> failed_on_purpose_{0};
  std::atomic<int64_t> stalls_{0};
  std::atomic<int64_t> orderqueries_{0};
  std::atomic<int64_t> orderquery_errors_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> max_concurrent_{0};
};

}  // namespace vkspay::conformance::testing

#endif  // VKSPAY_CONFORMANCE_TESTING_REFERENCE_HANDLERS_H_
