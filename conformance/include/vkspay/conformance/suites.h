// The two suites: the cases of server mode (grading a VksPay server) and of
// merchant mode (grading a merchant's notify handler). Every case id is
// stable and documented in docs/conformance.md.
#ifndef VKSPAY_CONFORMANCE_SUITES_H_
#define VKSPAY_CONFORMANCE_SUITES_H_

#include <string>
#include <vector>

#include "vkspay/conformance/runner.h"
#include "vkspay/conformance/target.h"

namespace vkspay::conformance {

struct ServerSuiteOptions {
  // Where the notify cases' receiver listens, and the host name the server
  // is told to deliver to (defaults to the listen host).
  std::string receiver_host = "127.0.0.1";
  std::string receiver_advertised_host;
  int notify_wait_s = 15;  // how long to wait for one delivery
};

// The server-mode cases, in run order. `target` may be null to list them
// (running a case then answers Skip).
std::vector<Case> ServerCases(Target* target, const ServerSuiteOptions& options);

struct MerchantOrder {
  std::string out_trade_no;
  std::string total_fee;  // yuan, as the merchant's order has it ("0.01")
};

// Parses "NO=YUAN" (e.g. "CONF-1=0.01"). Errors: kInvalidField naming --order.
StatusOr<MerchantOrder> ParseMerchantOrder(const std::string& spec);

struct MerchantSuiteOptions {
  std::string notify_url;
  std::string merchantno;
  std::string key;
  std::string state_url;  // "" = none; GET <state_url>?out_trade_no=NO (docs/conformance.md)
  std::vector<MerchantOrder> orders;  // unpaid orders the merchant created for the run
  int timeout_s = 10;
  uint64_t seed = 0;
};

// How many --order the merchant suite uses (one fresh unpaid order per case
// that needs one).
constexpr size_t kMerchantOrdersNeeded = 8;

// The merchant-mode cases, in run order (run them with the same options).
std::vector<Case> MerchantCases(const MerchantSuiteOptions& options);

// The preflight of merchant mode with a state URL: every --order must be an
// order the merchant holds unpaid (exists, not paid, not refunded), or the
// cases would grade a correct handler wrong (a second run with the same
// orders finds them paid). Ok without a state URL. Errors: kInvalidField
// naming the --order and what the state URL said, or what it answered when
// that is not the documented JSON.
Status CheckOrdersUnpaid(const MerchantSuiteOptions& options);

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_SUITES_H_
