// Magic amounts: order totals that trigger a failure, in the spirit of
// Stripe's test cards, for testers who can only type an amount. The values sit
// at 1001.xx yuan, which no normal test types by accident (not round, not
// 0.01, not a price ending in .99 or .00).
//
// The table is data: fixtures/faults/magic_amounts.json, loaded at start-up;
// the compiled-in default (MagicAmountTable::Default()) is identical to that
// file, and a test keeps the two in step. Each entry names its faults in the
// directive syntax of directive.h:
//
//   {"amounts": [{"amount": "1001.01", "directive": "pay=fail",
//                 "description": "the buyer's payment fails (PAYERROR)"}, ...]}
//
// Immutable once built; safe to share across threads.
#ifndef VKSPAY_SANDBOX_FAULTS_MAGIC_AMOUNTS_H_
#define VKSPAY_SANDBOX_FAULTS_MAGIC_AMOUNTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/faults/fault.h"

namespace vkspay::sandbox {

struct MagicAmount {
  int64_t fen = 0;
  std::string directive;      // e.g. "notify=drop:3"
  std::string description;    // one line for docs and logs
  std::vector<Fault> faults;  // the parsed directive
};

class MagicAmountTable {
 public:
  MagicAmountTable() = default;  // empty: no magic amounts

  // The compiled-in table (identical to fixtures/faults/magic_amounts.json).
  static const MagicAmountTable& Default();
  // Parses the JSON form. Errors: kInvalidJson; kInvalidField naming the entry
  // ("amounts[3].directive: X-Sandbox-Fault: sandbox directive at column ...")
  // for a bad amount, a bad directive, an unknown key or a duplicate amount.
  static StatusOr<MagicAmountTable> Parse(std::string_view json_text);
  // Reads and parses a file. Errors: kNotFound, and those of Parse.
  static StatusOr<MagicAmountTable> Load(const std::string& path);

  // The entry for exactly this amount, or nullptr.
  const MagicAmount* Find(int64_t fen) const;
  const std::vector<MagicAmount>& entries() const { return entries_; }
  // The JSON form (amounts as yuan text), as in the fixture file.
  nlohmann::ordered_json ToJson() const;

 private:
  std::vector<MagicAmount> entries_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_MAGIC_AMOUNTS_H_
