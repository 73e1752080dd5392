#include "vkspay/protocol/form.h"

#include <array>
#include <string_view>
#include <unordered_set>
#include <variant>

#include "url_decode.h"

namespace vkspay {

namespace {

// The bytes httplib::detail::encode_query_param (0.11) leaves as they are:
// ASCII letters and digits (std::isalnum in the "C" locale) and -_.!~*'().
// Everything else becomes %XX with uppercase hex. Its output is the contract
// (form_test compares the two on random and Chinese input); this table only
// avoids its ostringstream, which cost ~20 µs per notification body.
constexpr std::array<bool, 256> MakeUnreserved() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("-_.!~*'()")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kUnreserved = MakeUnreserved();

void AppendEncoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (kUnreserved[c]) {
      out.push_back(ch);
    } else {
      const char esc[3] = {'%', kHex[c >> 4], kHex[c & 0xF]};
      out.append(esc, 3);
    }
  }
}

}  // namespace

std::string EncodeForm(const Fields& fields) {
  std::string out;
  size_t estimate = 0;
  for (const Field& f : fields.items()) {
    const auto* s = std::get_if<std::string>(&f.value);
    estimate += f.name.size() + 2 + (s != nullptr ? s->size() * 3 : 24);
  }
  out.reserve(estimate);
  for (const Field& f : fields.items()) {
    if (!out.empty()) out.push_back('&');
    AppendEncoded(out, f.name);
    out.push_back('=');
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      AppendEncoded(out, *s);
    } else {
      AppendEncoded(out, JsString(f.value));
    }
  }
  return out;
}

StatusOr<Fields> DecodeForm(std::string_view body, const ParseLimits& limits) {
  if (body.empty()) return Status(ErrorCode::kInvalidField, "表单为空");
  Fields out;
  std::unordered_set<std::string> seen;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = internal::PercentDecode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : internal::PercentDecode(pair.substr(eq + 1), true);
    if (name.empty()) {
      return Status(ErrorCode::kInvalidField, "表单中有没有名字的字段");
    }
    if (!seen.insert(name).second) {
      return Status(ErrorCode::kDuplicateField, "字段 \"" + name + "\" 出现了两次");
    }
    if (seen.size() > limits.max_fields) {
      return Status(ErrorCode::kBodyTooLarge,
                    "字段数超过上限 " + std::to_string(limits.max_fields));
    }
    if (value.size() > limits.max_value_bytes) {
      return Status(ErrorCode::kBodyTooLarge, "字段 \"" + name + "\" 的值超过上限 " +
                                                  std::to_string(limits.max_value_bytes) + " 字节");
    }
    out.Set(std::move(name), std::move(value));
  }
  if (out.empty()) return Status(ErrorCode::kInvalidField, "表单为空");
  return out;
}

}  // namespace vkspay
