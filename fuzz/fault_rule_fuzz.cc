// Fault rules and the "faults" config section (sandbox/faults/rule.h). Input:
// JSON text. Properties: ParseFaultsConfigText gives rules or
// INVALID_JSON/INVALID_FIELD with a message; every accepted rule survives
// RuleJson -> ParseRuleJson unchanged (the header's contract); the same text
// as a single rule or a single action never crashes.
#include <algorithm>

#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"
#include "sandbox/faults/rule.h"

using namespace vkspay;
using namespace vkspay::sandbox;

namespace {

void CheckRoundTrip(FaultRule rule) {
  // An absent id is left empty for the engine to assign (rule.h); RuleJson
  // of an engine-held rule always has one.
  if (rule.id.empty()) rule.id = "fuzz-rule";
  nlohmann::ordered_json j = RuleJson(rule);
  const std::string text = j.dump();
  StatusOr<FaultRule> again = ParseRuleJson("rule", nlohmann::json::parse(text));
  FUZZ_CHECK(again.ok(), "RuleJson output refused: " + again.status().ToString() + " " + text);
  FUZZ_CHECK(RuleJson(*again).dump() == text, text + " vs " + RuleJson(*again).dump());
  FUZZ_CHECK(again->action == rule.action, text);
}

void CheckError(const Status& st) {
  FUZZ_CHECK(st.code() == ErrorCode::kInvalidField || st.code() == ErrorCode::kInvalidJson,
             st.ToString());
  FUZZ_CHECK(!st.message().empty(), "an error without a message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  // Error messages quote values with ShowJson (bounded, not recursive):
  // found here, dump() of a 5,000-deep value overflowed the stack. Corpus:
  // deep_nesting_dump_recursion.json.
  StatusOr<FaultsConfig> config = ParseFaultsConfigText(text);
  if (config.ok()) {
    for (const FaultRule& rule : config->rules) CheckRoundTrip(rule);
  } else {
    CheckError(config.status());
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  StatusOr<FaultRule> rule = ParseRuleJson("rule", j);
  if (rule.ok()) {
    CheckRoundTrip(*rule);
  } else {
    CheckError(rule.status());
  }
  StatusOr<Fault> action = ParseFaultJson("action", j);
  if (action.ok()) {
    FUZZ_CHECK(ValidateFault("action", *action).ok(), FaultJson(*action).dump());
  } else {
    CheckError(action.status());
  }
  return 0;
}
