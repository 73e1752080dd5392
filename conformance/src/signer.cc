#include "vkspay/conformance/signer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

namespace vkspay::conformance {

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

std::string CanonicalString(std::vector<std::pair<std::string, std::string>> pairs,
                            std::string_view key) {
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : pairs) {
    out += name;
    out += '=';
    out += value;
    out += '&';
  }
  out += "key=";
  out += key;
  return out;
}

std::string SignPairs(std::vector<std::pair<std::string, std::string>> pairs,
                      std::string_view key) {
  return Md5Hex(CanonicalString(std::move(pairs), key));
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

RawBody& RawBody::Put(RawField f) {
  for (RawField& existing : fields_) {
    if (existing.name == f.name) {
      existing = std::move(f);
      return *this;
    }
  }
  fields_.push_back(std::move(f));
  return *this;
}

RawBody& RawBody::Str(std::string name, std::string value) {
  std::string json = JsonQuote(value);
  return Put({std::move(name), std::move(json), std::move(value)});
}

RawBody& RawBody::Lit(std::string name, std::string json_literal, std::string canonical) {
  return Put({std::move(name), std::move(json_literal), std::move(canonical)});
}

RawBody& RawBody::Num(std::string name, std::string literal) {
  std::string canonical = literal;
  return Put({std::move(name), std::move(literal), std::move(canonical)});
}

RawBody& RawBody::Remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const RawField& f) { return f.name == name; }),
                fields_.end());
  return *this;
}

bool RawBody::Has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const RawField& f) { return f.name == name; });
}

std::string RawBody::Canonical(std::string_view name) const {
  for (const RawField& f : fields_) {
    if (f.name == name) return f.canonical;
  }
  return "";
}

std::string RawBody::CanonicalString(std::string_view key) const {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const RawField& f : fields_) pairs.emplace_back(f.name, f.canonical);
  return conformance::CanonicalString(std::move(pairs), key);
}

std::string RawBody::Sign(std::string_view key) const { return Md5Hex(CanonicalString(key)); }

std::string RawBody::Json(std::string_view extra_members) const {
  std::string out = "{";
  bool first = true;
  for (const RawField& f : fields_) {
    if (!first) out += ',';
    first = false;
    out += JsonQuote(f.name);
    out += ':';
    out += f.json;
  }
  if (!extra_members.empty()) {
    if (!first) out += ',';
    out += extra_members;
  }
  out += '}';
  return out;
}

std::string RawBody::JsonWithSign(std::string_view sign, std::string_view extra_members) const {
  std::string members = "\"sign\":" + JsonQuote(sign);
  if (!extra_members.empty()) members = std::string(extra_members) + "," + members;
  return Json(members);
}

}  // namespace vkspay::conformance
