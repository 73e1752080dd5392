// Fault rules: "when a call matches this, inject that, with this probability,
// at most this many times, drawing from this seed", and the "faults" section
// of the config file that holds them.
//
// Rule JSON (every key but action optional):
//
//   {"id": "slow-webpay",                       // [A-Za-z0-9_.:-]{1,64}; generated if absent
//    "match": {"methods": ["webpay", "micropay"],
//              "merchantno": "10001",
//              "out_trade_no": "T-*",             // glob: * any run, ? one byte
//              "amount": "1001.01"                // yuan, exact; or {"min": "1", "max": "5.00"}
//              /* or "amount_fen": 100101 or {"min": 100, "max": 500} */,
//              "channel": "wxpay"},               // wxpay | alipay | auto
//    "action": {"kind": "api.delay", "params": {"ms": 200, "max_ms": 800}},
//    "probability": 0.02,                         // 0..1, default 1
//    "count": 0,                                  // max firings, 0 = unlimited
//    "seed": 42}                                  // default: derived from the id
//
// Config file section:
//
//   "faults": {"profile": "realistic", "rules": [ ... ], "magic_amounts": true}
//
// All parse errors are kInvalidField and name the path of the bad entry
// ("faults.rules[2].action.kind: expected one of api.fail, ..., got \"x\"").
#ifndef VKSPAY_SANDBOX_FAULTS_RULE_H_
#define VKSPAY_SANDBOX_FAULTS_RULE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/faults/fault.h"
#include "vkspay/text.h"

namespace vkspay::sandbox {

// What a hook knows about the call it is deciding for. Filled by the caller;
// a field left empty (or amount_fen 0) never matches a criterion that names
// it, and every other criterion still applies.
struct FaultContext {
  // The VksPay method: the request's at the api hooks; the method that created
  // the order ("webpay" or "micropay") at order, payment and payment-notify
  // hooks; "orderrefund" at the refund hook and for refund notifications.
  std::string method;
  std::string merchantno;
  std::string out_trade_no;
  // The order's total_fee in fen when known (webpay/micropay requests, and
  // every hook that has the order); 0 when unknown (orderquery on an order not
  // loaded). Magic amounts and amount criteria look at this.
  int64_t amount_fen = 0;
  // "wxpay", "alipay" or "auto" (the request's or the order's pay_chnl).
  std::string channel;
  // The X-Sandbox-Fault header value ("" when absent). Only the api hooks and
  // hooks reached inside the same request (micropay payment, orderrefund,
  // notifications enqueued by that request) have one.
  std::string header_directive;
  // The verified attach of the request or of the order ("" when none).
  std::string attach;
};

// Which calls a rule applies to. Empty criteria match everything.
struct FaultMatch {
  std::vector<std::string> methods;  // any of these
  std::string merchantno;            // exact
  std::string out_trade_no;          // glob: '*' any run of bytes, '?' one byte
  std::optional<int64_t> min_fen;    // inclusive
  std::optional<int64_t> max_fen;    // inclusive
  std::string channel;               // exact

  bool Matches(const FaultContext& ctx) const;
};

struct FaultRule {
  std::string id;
  FaultMatch match;
  Fault action;
  double probability = 1.0;
  int64_t count = 0;             // max firings, 0 = unlimited
  std::optional<uint64_t> seed;  // absent: derived from the id (see FaultEngine)
};

// The "faults" section of the config file.
struct FaultsConfig {
  std::string profile = "strict";
  std::vector<FaultRule> rules;
  bool magic_amounts = true;  // apply the magic amount table
};

// Rules match out_trade_no with GlobMatch (vkspay/text.h).

// Parses one rule. `path` prefixes errors ("faults.rules[2]"). The id is left
// empty when absent (the engine assigns one). Errors: kInvalidField naming the
// path, for unknown keys, wrong types, a bad method or channel, a bad amount or
// range (min > max), probability outside [0, 1], negative count, bad action.
StatusOr<FaultRule> ParseRuleJson(std::string_view path, const nlohmann::json& j);
// The JSON form; ParseRuleJson of it gives the rule back.
nlohmann::ordered_json RuleJson(const FaultRule& rule);

// Parses the "faults" section (its value, not the whole file). Errors as
// ParseRuleJson with paths under "faults", plus duplicate rule ids.
StatusOr<FaultsConfig> ParseFaultsConfig(const nlohmann::json& section);
// Parses text holding either a whole config file (uses its "faults" key; the
// other keys are not looked at) or a bare section. Errors: kInvalidJson, and
// those of ParseFaultsConfig.
StatusOr<FaultsConfig> ParseFaultsConfigText(std::string_view json_text);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_RULE_H_
