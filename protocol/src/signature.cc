#include "vkspay/protocol/signature.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace vkspay {
namespace {

// Appends "a=1&b=2" for all fields but `sign`, names in ASCII byte order.
void AppendSortedPairs(const Fields& fields, std::string& out) {
  std::vector<const Field*> sorted;
  sorted.reserve(fields.size());
  for (const Field& f : fields.items()) {
    if (f.name != "sign") sorted.push_back(&f);
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
      out += JsString(f->value);
    }
  }
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
    return Status(ErrorCode::kSignError,
                  "签名不匹配; 服务端签名的字符串是: " + MaskedCanonicalString(fields));
  }
  return Status::Ok();
}

}  // namespace vkspay
