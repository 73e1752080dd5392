#include "vkspay/protocol/signature.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace vkspay {
namespace {

// How a value is written into the canonical string: VksPay's way
// (JavaScript's String(value)), or Python's str(value), a common mistake.
enum class Render { kJs, kPython };

std::string PyString(const Value& v) {
  if (std::holds_alternative<std::nullptr_t>(v)) return "None";
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "True" : "False";
  if (std::holds_alternative<double>(v)) {
    std::string js = JsString(v);
    // Python's str(1.0) is "1.0" where JavaScript's String(1) is "1".
    if (js.find_first_not_of("-0123456789") == std::string::npos) js += ".0";
    return js;
  }
  return JsString(v);
}

// Appends "a=1&b=2" for all fields but `sign`, names in ASCII byte order;
// with skip_empty, fields whose value is "" are left out (WeChat Pay's rule,
// not VksPay's).
void AppendSortedPairs(const Fields& fields, std::string& out, Render render = Render::kJs,
                       bool skip_empty = false) {
  std::vector<const Field*> sorted;
  sorted.reserve(fields.size());
  for (const Field& f : fields.items()) {
    if (f.name == "sign") continue;
    if (skip_empty) {
      const auto* s = std::get_if<std::string>(&f.value);
      if (s != nullptr && s->empty()) continue;
    }
    sorted.push_back(&f);
  }
  // std::string compares as unsigned bytes (char_traits<char>::compare uses
  // memcmp), which is ASCII order: 'A' < '_' < 'a'.
  std::sort(sorted.begin(), sorted.end(),
            [](const Field* a, const Field* b) { return a->name < b->name; });
  bool first = true;
  for (const Field* f : sorted) {
    if (!first) out.push_back('&');
    first = false;
    out += f->name;
    out.push_back('=');
    if (const auto* s = std::get_if<std::string>(&f->value)) {
      out += *s;
    } else {
      out += render == Render::kJs ? JsString(f->value) : PyString(f->value);
    }
  }
}

// When `sign` is what a known wrong recipe gives with this key, what that
// recipe got wrong (Chinese, then English); "" when it is none of them.
// Only run on a mismatch; each guess costs one MD5.
std::string DiagnoseMismatch(const Fields& fields, std::string_view key, std::string_view sign) {
  std::vector<std::string> empty, non_string;
  for (const Field& f : fields.items()) {
    if (f.name == "sign") continue;
    const auto* s = std::get_if<std::string>(&f.value);
    if (s != nullptr && s->empty()) empty.push_back(f.name);
    if (s == nullptr && PyString(f.value) != JsString(f.value)) non_string.push_back(f.name);
  }
  std::sort(empty.begin(), empty.end());
  std::sort(non_string.begin(), non_string.end());
  const auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  std::string pairs;
  if (!empty.empty()) {
    AppendSortedPairs(fields, pairs, Render::kJs, /*skip_empty=*/true);
    if (Md5Hex(pairs + "&key=" + std::string(key)) == sign) {
      return "; 提示: 你的签名跳过了空值字段 (" + join(empty) +
             "), VksPay 的签名包含空值 (写作 name=) / hint: your signature leaves out the "
             "empty fields (" + join(empty) + ") as WeChat Pay does; VksPay signs them as \"name=\"";
    }
    pairs.clear();
  }
  if (!non_string.empty()) {
    AppendSortedPairs(fields, pairs, Render::kPython);
    if (Md5Hex(pairs + "&key=" + std::string(key)) == sign) {
      return "; 提示: 数值按 Python 的 str() 写入了签名串 (" + join(non_string) +
             "), VksPay 按 JavaScript 的 String() 写 (1 而不是 1.0, true 而不是 True) / hint: "
             "the fields " + join(non_string) + " were written as Python's str() writes them "
             "(1.0, True, None); VksPay writes JavaScript's String() (1, true, null)";
    }
    pairs.clear();
  }
  AppendSortedPairs(fields, pairs);
  for (const std::string& wrong : {pairs + "&" + std::string(key), pairs + std::string(key),
                                   pairs + "key=" + std::string(key)}) {
    if (Md5Hex(wrong) == sign) {
      return "; 提示: 密钥要以 \"&key=密钥\" 接在签名串末尾 / hint: append the key as "
             "\"&key=<key>\" (your string had the key without \"&key=\")";
    }
  }
  return "";
}

bool IsLowerHex32(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string CanonicalString(const Fields& fields, std::string_view key) {
  std::string out;
  out.reserve(256);
  AppendSortedPairs(fields, out);
  out += "&key=";
  out += key;
  return out;
}

std::string MaskedCanonicalString(const Fields& fields) {
  return CanonicalString(fields, "***");
}

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

std::string Sign(const Fields& fields, std::string_view key) {
  return Md5Hex(CanonicalString(fields, key));
}

Fields WithSign(Fields fields, std::string_view key) {
  std::string sign = Sign(fields, key);
  fields.Set("sign", std::move(sign));
  return fields;
}

Status VerifySign(const Fields& fields, std::string_view key) {
  const Value* v = fields.Find("sign");
  if (v == nullptr) {
    return Status(ErrorCode::kMissingField, "缺少字段 sign (32 位小写十六进制 MD5 签名)");
  }
  const auto* s = std::get_if<std::string>(v);
  if (s == nullptr) {
    return Status(ErrorCode::kSignError, "sign 必须是字符串, 收到 " +
                                             std::string(TypeName(*v)));
  }
  if (!IsLowerHex32(*s)) {
    return Status(ErrorCode::kSignError,
                  "sign 必须是 32 位小写十六进制 MD5, 收到 \"" + s->substr(0, 64) +
                      "\" (" + std::to_string(s->size()) + " 个字符)");
  }
  if (*s != Sign(fields, key)) {
    return Status(ErrorCode::kSignError, "签名不匹配; 服务端签名的字符串是: " +
                                             MaskedCanonicalString(fields) +
                                             DiagnoseMismatch(fields, key, *s));
  }
  return Status::Ok();
}

}  // namespace vkspay
