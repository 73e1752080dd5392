#include "vkspay/protocol/form.h"

#include <httplib.h>

#include <unordered_set>

namespace vkspay {

std::string EncodeForm(const Fields& fields) {
  std::string out;
  for (const Field& f : fields.items()) {
    if (!out.empty()) out.push_back('&');
    out += httplib::detail::encode_query_param(f.name);
    out.push_back('=');
    out += httplib::detail::encode_query_param(JsString(f.value));
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
    std::string name = httplib::detail::decode_url(std::string(pair.substr(0, eq)), true);
    std::string value =
        eq == std::string_view::npos
            ? std::string()
            : httplib::detail::decode_url(std::string(pair.substr(eq + 1)), true);
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
                                                  std::to_string(limits.max_value_bytes) +
                                                  " 字节");
    }
    out.Set(std::move(name), std::move(value));
  }
  if (out.empty()) return Status(ErrorCode::kInvalidField, "表单为空");
  return out;
}

}  // namespace vkspay
