#include "sandbox/faults/magic_amounts.h"

#include <fstream>
#include <sstream>

#include "sandbox/faults/directive.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {
namespace {

using Json = nlohmann::json;

struct DefaultEntry {
  const char* amount;
  const char* directive;
  const char* description;
};

// Keep identical to fixtures/faults/magic_amounts.json (magic_amounts_test
// compares them).
constexpr DefaultEntry kDefaultEntries[] = {
    {"1001.01", "pay=fail", "the buyer's payment fails: the order becomes PAYERROR"},
    {"1001.02", "pay=cancel", "the buyer cancels: the order becomes CLOSED"},
    {"1001.03", "notify=drop:3", "the first 3 notification attempts fail; the 4th arrives"},
    {"1001.04", "notify=dup", "every notification arrives twice within one second"},
    {"1001.05", "refund=processing:10s:success", "refunds stay PROCESSING for 10 s, then succeed"},
    {"1001.06", "api=fail:SYSTEM_ERROR",
     "the API answers FAIL with err_code SYSTEM_ERROR before doing anything"},
    {"1001.07", "notify=badsign", "notifications carry a signature that does not verify"},
    {"1001.08", "pay=userpaying:5s:success",
     "micropay answers USERPAYING; the payment succeeds 5 s later"},
    {"1001.09", "api=close", "the order is created, then the connection closes without an answer"},
    {"1001.10", "notify=tamper:100",
     "the notification's total_fee is 1 yuan higher, with the original signature"},
    {"1001.11", "refund=fail", "refunds fail"},
    {"1001.12", "api=http:503", "the API answers HTTP 503 with an empty body"},
};

Status Invalid(const std::string& path, const std::string& what) {
  return Status(ErrorCode::kInvalidField, path + ": " + what);
}

StatusOr<MagicAmount> MakeEntry(const std::string& path, const std::string& amount,
                                const std::string& directive, const std::string& description) {
  MagicAmount m;
  StatusOr<int64_t> fen = ParseYuanText(path + ".amount", amount);
  if (!fen.ok()) {
    return Invalid(path + ".amount",
                   "expected yuan text such as \"1001.01\", got \"" + amount + "\"");
  }
  m.fen = *fen;
  StatusOr<std::vector<Fault>> faults = ParseHeaderDirective(directive);
  if (!faults.ok()) return Invalid(path + ".directive", faults.status().message());
  if (faults->empty()) return Invalid(path + ".directive", "expected a directive such as pay=fail");
  m.directive = directive;
  m.description = description;
  m.faults = *faults;
  return m;
}

}  // namespace

const MagicAmountTable& MagicAmountTable::Default() {
  static const MagicAmountTable* table = [] {
    auto* t = new MagicAmountTable();
    size_t i = 0;
    for (const DefaultEntry& e : kDefaultEntries) {
      StatusOr<MagicAmount> m =
          MakeEntry("amounts[" + std::to_string(i++) + "]", e.amount, e.directive, e.description);
      // The compiled-in table is ours: a bad entry is a bug caught by the tests.
      if (m.ok()) t->entries_.push_back(*m);
    }
    return t;
  }();
  return *table;
}

StatusOr<MagicAmountTable> MagicAmountTable::Parse(std::string_view json_text) {
  Json j = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kInvalidJson, "magic amounts: expected a JSON object");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "amounts" && key != "$comment") {
      return Invalid(key, "unknown key; expected amounts");
    }
  }
  auto list = j.find("amounts");
  if (list == j.end() || !list->is_array()) return Invalid("amounts", "expected a list");
  MagicAmountTable table;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = "amounts[" + std::to_string(i) + "]";
    const Json& e = (*list)[i];
    if (!e.is_object()) return Invalid(path, "expected an object");
    for (const auto& [key, value] : e.items()) {
      if (key != "amount" && key != "directive" && key != "description") {
        return Invalid(path + "." + key, "unknown key; expected amount, directive, description");
      }
      if (!value.is_string())
        return Invalid(path + "." + key, "expected a string, got " + ShowJson(value));
    }
    StatusOr<MagicAmount> m = MakeEntry(path, e.value("amount", ""), e.value("directive", ""),
                                        e.value("description", ""));
    if (!m.ok()) return m.status();
    if (table.Find(m->fen) != nullptr) {
      return Invalid(path + ".amount", "duplicate amount " + FormatYuan(m->fen));
    }
    table.entries_.push_back(*m);
  }
  return table;
}

StatusOr<MagicAmountTable> MagicAmountTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "cannot read magic amounts file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<MagicAmountTable> t = Parse(ss.str());
  if (!t.ok()) return Status(t.status().code(), path + ": " + t.status().message());
  return t;
}

const MagicAmount* MagicAmountTable::Find(int64_t fen) const {
  for (const MagicAmount& m : entries_) {
    if (m.fen == fen) return &m;
  }
  return nullptr;
}

// "1001.10": always two decimals, as the table is written.
std::string TwoDecimals(int64_t fen) {
  std::string cents = std::to_string(fen % 100);
  if (cents.size() < 2) cents.insert(0, "0");
  return std::to_string(fen / 100) + "." + cents;
}

nlohmann::ordered_json MagicAmountTable::ToJson() const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const MagicAmount& m : entries_) {
    list.push_back({{"amount", TwoDecimals(m.fen)},
                    {"directive", m.directive},
                    {"description", m.description}});
  }
  return {{"amounts", list}};
}

}  // namespace vkspay::sandbox
