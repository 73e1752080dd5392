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
// Both serve POST <notify path> and GET /state?out_trade_no=NO, answering
// {"exists","paid","refunded","processed"} (the --state-url contract of
// docs/conformance.md). Thread-safe: one mutex around the order book.
#ifndef VKSPAY_CONFORMANCE_TESTING_REFERENCE_HANDLERS_H_
#define VKSPAY_CONFORMANCE_TESTING_REFERENCE_HANDLERS_H_

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
class Server;
}

namespace vkspay::conformance::testing {

enum class HandlerKind { kCorrect, kNaive };

struct HandlerOptions {
  HandlerKind kind = HandlerKind::kCorrect;
  std::string merchantno = "10001";
  std::string key = "sandbox-demo-key-0123456789abcdef";
  std::vector<MerchantOrder> orders;  // the merchant's own (unpaid) orders
  int64_t max_age_s = 300;
  const Clock* clock = nullptr;  // null: the system clock
};

class ReferenceHandler {
 public:
  // Starts on host:port (0 = any free port). Errors: kInternal if it cannot bind.
  static StatusOr<std::unique_ptr<ReferenceHandler>> Start(HandlerOptions options,
                                                           const std::string& host = "127.0.0.1",
                                                           int port = 0);
  ~ReferenceHandler();  // stops and joins

  std::string notify_url() const;
  std::string state_url() const;
  int port() const { return port_; }

 private:
  struct OrderState {
    std::string total_fee;
    bool paid = false;
    bool refunded = false;
    int64_t processed = 0;
  };
  explicit ReferenceHandler(HandlerOptions options);
  // Returns the HTTP status and body to answer.
  std::pair<int, std::string> Handle(const std::string& body);
  std::pair<int, std::string> HandleNaive(const std::string& body);

  HandlerOptions options_;
  SystemClock system_clock_;
  std::string host_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, OrderState> orders_;  // guarded by mu_
  std::set<std::string> seen_notify_ids_;     // guarded by mu_
};

}  // namespace vkspay::conformance::testing

#endif  // VKSPAY_CONFORMANCE_TESTING_REFERENCE_HANDLERS_H_
