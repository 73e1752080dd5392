// Form bodies: the notifications the sandbox sends and a merchant decodes
// (protocol DecodeForm/EncodeForm, client DecodeNotificationBody and
// ParseNotification). Input: the form body. Properties: decode -> encode ->
// decode gives the same names and values in the same order; decoded fields
// signed with the key, encoded and parsed by the client never fail on the
// signature; the client only accepts a body whose signature verifies; a
// refusal has a documented code and a message.
#include "fuzz/fuzz_check.h"
#include "vkspay/client/client.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/signature.h"

using namespace vkspay;

namespace {
constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";
constexpr char kForm[] = "application/x-www-form-urlencoded";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::AsText(data, size);
  const ParseLimits limit_sets[] = {ParseLimits{}, ParseLimits{4, 16}};
  for (const ParseLimits& limits : limit_sets) {
    StatusOr<Fields> f = DecodeForm(body, limits);
    if (!f.ok()) {
      ErrorCode c = f.status().code();
      FUZZ_CHECK(c == ErrorCode::kInvalidField || c == ErrorCode::kDuplicateField ||
                     c == ErrorCode::kBodyTooLarge,
                 f.status().ToString());
      FUZZ_CHECK(!f.status().message().empty(), "an error without a message");
      continue;
    }
    FUZZ_CHECK(!f->empty() && f->size() <= limits.max_fields, std::to_string(f->size()));
    std::string encoded = EncodeForm(*f);
    StatusOr<Fields> g = DecodeForm(encoded, limits);
    FUZZ_CHECK(g.ok(), "EncodeForm output refused: " + g.status().ToString() + " " + encoded);
    FUZZ_CHECK(g->size() == f->size(), encoded);
    for (size_t i = 0; i < f->size(); ++i) {
      FUZZ_CHECK(f->items()[i].name == g->items()[i].name, encoded);
      FUZZ_CHECK(JsString(f->items()[i].value) == JsString(g->items()[i].value), encoded);
    }
  }

  // What a merchant does with the body as received.
  StatusOr<client::Notification> n = client::ParseNotification(body, kForm, kKey);
  if (n.ok()) {
    StatusOr<Fields> f = client::DecodeNotificationBody(body, kForm);
    FUZZ_CHECK(f.ok() && VerifySign(*f, kKey).ok(), "accepted without a valid signature");
  }
  StatusOr<Fields> decoded = client::DecodeNotificationBody(body, "application/json");
  FUZZ_CHECK(decoded.status().code() == ErrorCode::kInvalidContentType, "a JSON body was decoded");

  // The same fields, signed by the sandbox: the signature always verifies.
  StatusOr<Fields> f = DecodeForm(body);
  if (f.ok()) {
    Fields signed_fields = WithSign(*f, kKey);
    std::string sent = EncodeForm(signed_fields);
    StatusOr<client::Notification> m = client::ParseNotification(sent, kForm, kKey);
    FUZZ_CHECK(m.ok() || m.status().code() != ErrorCode::kSignError,
               "signed, encoded, decoded: " + m.status().ToString() + "\n" + sent);
  }
  return 0;
}
