// Canonical string, signing and verification. Input: "<key>\n<flat JSON>"
// (a body that is not flat JSON is signed as one string field "data").
// Properties: the sign is 32 lowercase hex digits; sign -> verify round trips;
// an existing sign is ignored by Sign; the masked string is the canonical
// string with the key replaced by ***; a tampered field or another key fails
// with SIGN_ERROR, whose message never shows the key. Also verifies the raw
// body as sent (whatever sign it holds) without crashing.
#include "fuzz/fuzz_check.h"
#include "vkspay/protocol/signature.h"

using namespace vkspay;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  std::string key(fuzz::TakeLine(&text));
  StatusOr<Fields> parsed = ParseFlatJson(text);
  if (parsed.ok()) {
    Status raw = VerifySign(*parsed, key);
    FUZZ_CHECK(
        raw.ok() || raw.code() == ErrorCode::kMissingField || raw.code() == ErrorCode::kSignError,
        raw.ToString());
  }
  Fields f = parsed.ok() ? *parsed : Fields{{"data", std::string(text)}};

  const std::string sign = Sign(f, key);
  FUZZ_CHECK(sign.size() == 32, sign);
  for (char c : sign) FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), sign);

  Fields signed_fields = WithSign(f, key);
  FUZZ_CHECK(Sign(signed_fields, key) == sign, "Sign does not ignore the sign field");
  Status ok = VerifySign(signed_fields, key);
  FUZZ_CHECK(ok.ok(), "sign -> verify failed: " + ok.ToString());

  const std::string canonical = CanonicalString(f, key);
  const std::string masked = MaskedCanonicalString(f);
  FUZZ_CHECK(masked.size() >= 3 && masked.substr(masked.size() - 3) == "***", masked);
  FUZZ_CHECK(masked.substr(0, masked.size() - 3) + key == canonical, masked);
  FUZZ_CHECK(Md5Hex(canonical) == sign, "sign is not MD5 of the canonical string");

  // Another key never verifies, and its message does not show that key.
  const std::string other = key + "#other-key-canary";
  Status wrong_key = VerifySign(signed_fields, other);
  FUZZ_CHECK(wrong_key.code() == ErrorCode::kSignError, wrong_key.ToString());
  if (MaskedCanonicalString(signed_fields).find(other) == std::string::npos) {
    // (unless a field value holds that text itself)
    FUZZ_CHECK(wrong_key.message().find(other) == std::string::npos, wrong_key.message());
  }

  // Tampering with any field other than sign breaks the signature.
  for (const Field& field : f.items()) {
    if (field.name == "sign") continue;
    Fields tampered = signed_fields;
    tampered.Set(field.name, JsString(field.value) + "0");
    Status st = VerifySign(tampered, key);
    FUZZ_CHECK(st.code() == ErrorCode::kSignError, field.name + ": " + st.ToString());
    break;
  }
  return 0;
}
