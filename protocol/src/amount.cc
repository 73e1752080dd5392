#include "vkspay/protocol/amount.h"

namespace vkspay {
namespace {

std::string Show(std::string_view s) {
  std::string out = "\"";
  out += s.substr(0, 40);
  if (s.size() > 40) out += "...";
  out += "\"";
  return out;
}

}  // namespace

StatusOr<int64_t> ParseYuanText(std::string_view field, std::string_view text,
                                int64_t max_fen) {
  const std::string expect = "字段 " + std::string(field) +
                             " 必须是以元为单位、最多两位小数的正数金额 (如 0.01), 收到 " +
                             Show(text);
  size_t i = 0;
  int64_t yuan = 0;
  size_t int_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (int_digits == 0 && i + 1 < text.size() && text[i] == '0' && text[i + 1] >= '0' &&
        text[i + 1] <= '9') {
      return Status(ErrorCode::kInvalidAmount, expect + " (不允许前导零)");
    }
    // Past max_fen / 100 the amount is over the limit whatever follows: keep
    // going only to validate. (Comparing with max_fen itself let yuan * 10
    // and yuan * 100 overflow int64 for a large configured max_fen.)
    if (yuan > max_fen / 100) {
      ++i;
      ++int_digits;
      continue;
    }
    yuan = yuan * 10 + (text[i] - '0');
    ++i;
    ++int_digits;
  }
  if (int_digits == 0) return Status(ErrorCode::kInvalidAmount, expect);
  int64_t cents = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (frac == 2) {
        return Status(ErrorCode::kInvalidAmount, expect + " (最多两位小数)");
      }
      cents = cents * 10 + (text[i] - '0');
      ++frac;
      ++i;
    }
    if (frac == 0) return Status(ErrorCode::kInvalidAmount, expect);
    if (frac == 1) cents *= 10;
  }
  if (i != text.size()) return Status(ErrorCode::kInvalidAmount, expect);
  // yuan <= max_fen / 100 here unless over the limit, so yuan * 100 cannot
  // overflow; fen > max_fen is tested as yuan * 100 > max_fen - cents so that
  // adding the cents cannot either.
  if (yuan > max_fen / 100 || (max_fen >= cents && yuan * 100 > max_fen - cents)) {
    return Status(ErrorCode::kInvalidAmount,
                  "字段 " + std::string(field) + " 超过上限 " + FormatYuan(max_fen) +
                      " 元, 收到 " + Show(text));
  }
  const int64_t fen = yuan * 100 + cents;
  if (fen <= 0) {
    return Status(ErrorCode::kInvalidAmount,
                  "字段 " + std::string(field) + " 必须大于 0, 收到 " + Show(text));
  }
  if (fen > max_fen) {
    return Status(ErrorCode::kInvalidAmount,
                  "字段 " + std::string(field) + " 超过上限 " + FormatYuan(max_fen) +
                      " 元, 收到 " + Show(text));
  }
  return fen;
}

StatusOr<int64_t> ParseYuan(std::string_view field, const Value& v, int64_t max_fen) {
  if (std::holds_alternative<double>(v) || std::holds_alternative<std::string>(v)) {
    return ParseYuanText(field, JsString(v), max_fen);
  }
  return Status(ErrorCode::kInvalidAmount,
                "字段 " + std::string(field) +
                    " 必须是以元为单位的金额 (JSON 数字或数字字符串, 如 0.01), 收到 " +
                    std::string(TypeName(v)) + " " + ToJsonText(v));
}

std::string FormatYuan(int64_t fen) {
  std::string out;
  if (fen < 0) {
    out.push_back('-');
    fen = -fen;
  }
  out += std::to_string(fen / 100);
  int64_t cents = fen % 100;
  if (cents != 0) {
    out.push_back('.');
    out.push_back(static_cast<char>('0' + cents / 10));
    if (cents % 10 != 0) out.push_back(static_cast<char>('0' + cents % 10));
  }
  return out;
}

nlohmann::json YuanJson(int64_t fen) {
  if (fen % 100 == 0) return fen / 100;
  return static_cast<double>(fen) / 100.0;
}

}  // namespace vkspay
