// The suite's own signer and raw body builder.
//
// Written apart from the protocol library's signature code on purpose: the
// cases send bodies built here as text, signed over canonical values given
// explicitly (and checked against the Node.js known-answer vectors), so a bug
// shared by the sandbox and the reference client cannot make a case pass.
#ifndef VKSPAY_CONFORMANCE_SIGNER_H_
#define VKSPAY_CONFORMANCE_SIGNER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vkspay::conformance {

// MD5 of the bytes, 32 lowercase hex characters.
std::string Md5Hex(std::string_view bytes);

// name=value pairs sorted by name (ASCII byte order), joined with '&', then
// "&key=" and the key: the string VksPay signs.
std::string CanonicalString(std::vector<std::pair<std::string, std::string>> pairs,
                            std::string_view key);

// Md5Hex(CanonicalString(pairs, key)).
std::string SignPairs(std::vector<std::pair<std::string, std::string>> pairs, std::string_view key);

// A JSON string literal (quotes included), escaping what JSON requires.
std::string JsonQuote(std::string_view s);

// One field of a body: its JSON text and the text it is signed as.
struct RawField {
  std::string name;
  std::string json;       // the value as written in the body
  std::string canonical;  // String(value) as JavaScript renders it
};

// A flat JSON body written field by field, in order. A value type.
class RawBody {
 public:
  // A string field (signed as the raw string).
  RawBody& Str(std::string name, std::string value);
  // A field written as `json_literal`, signed as `canonical` (e.g. 100.50 signs
  // as "100.5"): the caller states the JavaScript rendering, from the vectors.
  RawBody& Lit(std::string name, std::string json_literal, std::string canonical);
  // A number literal already in JavaScript's shortest form ("0.01", "1700000000").
  RawBody& Num(std::string name, std::string literal);
  RawBody& Remove(std::string_view name);
  bool Has(std::string_view name) const;
  // The canonical value of a field ("" if absent).
  std::string Canonical(std::string_view name) const;

  std::string CanonicalString(std::string_view key) const;
  std::string Sign(std::string_view key) const;
  // The body text without a sign field (plus `extra_members`, raw JSON members
  // appended inside the braces, e.g. "\"a\":1").
  std::string Json(std::string_view extra_members = "") const;
  // The body with "sign":"<sign>" appended.
  std::string JsonWithSign(std::string_view sign, std::string_view extra_members = "") const;

  const std::vector<RawField>& fields() const { return fields_; }

 private:
  RawBody& Put(RawField f);
  std::vector<RawField> fields_;
};

// One known-answer vector (fixtures/vectors/signing.json, compiled in).
struct SigningVector {
  std::string name;
  std::string key;
  std::string body;       // a JSON object text
  std::string canonical;  // the string signed, "&key=<key>" included
  std::string sign;
};

// The compiled-in vectors. Never empty (the build embeds the fixture).
const std::vector<SigningVector>& SigningVectors();

// The vector's fields as (name, canonical value) pairs in ASCII order, cut out
// of its canonical string by the field names of its body. Empty when the body
// cannot be read or the canonical string does not have the expected shape.
std::vector<std::pair<std::string, std::string>> VectorPairs(const SigningVector& v);

// The members of the vector's body without the braces (`"a":1,"b":"x"`), to
// splice into a request body.
std::string VectorMembers(const SigningVector& v);

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_SIGNER_H_
