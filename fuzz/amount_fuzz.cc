// Amounts: ParseYuanText / ParseYuan. Input: the yuan text. Properties: an
// accepted amount is in (0, max]; FormatYuan of it parses back to the same fen
// (parse -> format -> parse identity); the same amount sent as a JSON number
// (what JavaScript would send) parses to the same fen; a refusal is
// INVALID_AMOUNT naming the field. The text read as a double is checked too.
#include <cmath>
#include <cstdlib>

#include "fuzz/fuzz_check.h"
#include "vkspay/protocol/amount.h"

using namespace vkspay;

namespace {

void CheckAccepted(int64_t fen, int64_t max_fen, std::string_view from) {
  FUZZ_CHECK(fen > 0 && fen <= max_fen, std::string(from) + " -> " + std::to_string(fen));
  const std::string text = FormatYuan(fen);
  StatusOr<int64_t> again = ParseYuanText("total_fee", text, max_fen);
  FUZZ_CHECK(again.ok() && *again == fen,
             std::string(from) + " -> " + std::to_string(fen) + " -> " + text + " -> " +
                 (again.ok() ? std::to_string(*again) : again.status().ToString()));
  // The same amount as the JSON number JavaScript would send (exact while
  // fen/100 has at most 15 significant digits).
  if (fen > 1'000'000'000'000'000) return;
  StatusOr<int64_t> as_number =
      ParseYuan("total_fee", Value(static_cast<double>(fen) / 100.0), max_fen);
  FUZZ_CHECK(as_number.ok() && *as_number == fen,
             text + " as a number: " +
                 (as_number.ok() ? std::to_string(*as_number) : as_number.status().ToString()));
}

void CheckRefused(const Status& st, std::string_view from) {
  FUZZ_CHECK(st.code() == ErrorCode::kInvalidAmount, std::string(from) + ": " + st.ToString());
  FUZZ_CHECK(st.message().find("total_fee") != std::string::npos, st.message());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  for (int64_t max_fen : {kDefaultMaxFen, int64_t{100}, INT64_MAX}) {
    StatusOr<int64_t> fen = ParseYuanText("total_fee", text, max_fen);
    if (fen.ok()) {
      CheckAccepted(*fen, max_fen, text);
    } else {
      CheckRefused(fen.status(), text);
    }
    StatusOr<int64_t> as_string = ParseYuan("total_fee", Value(std::string(text)), max_fen);
    FUZZ_CHECK(as_string.ok() == fen.ok() && (!fen.ok() || *as_string == *fen), std::string(text));
  }
  // The text as a number (JSON number semantics: a double).
  std::string z(text);
  char* end = nullptr;
  double d = std::strtod(z.c_str(), &end);
  if (!z.empty() && end == z.c_str() + z.size() && std::isfinite(d)) {
    StatusOr<int64_t> fen = ParseYuan("total_fee", Value(d));
    if (fen.ok()) {
      CheckAccepted(*fen, kDefaultMaxFen, z);
      FUZZ_CHECK(std::fabs(static_cast<double>(*fen) - d * 100.0) < 0.5, z);
    } else {
      CheckRefused(fen.status(), z);
    }
  }
  return 0;
}
