// Whether a merchant's answer acknowledges a notification (sandbox/notify/
// ack.h). Input: byte 0 picks the HTTP status (0, 2xx, 3xx, 4xx, 5xx), byte 1
// the truncated flag, the rest is the body. Properties: an ack needs a 2xx
// answer that was not truncated; the modes are ordered (json ack => text ack
// => any2xx ack); a refusal says why.
#include "fuzz/fuzz_check.h"
#include "sandbox/notify/ack.h"

using namespace vkspay;
using namespace vkspay::sandbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const int kStatuses[] = {0, 200, 201, 204, 299, 301, 302, 400, 404, 500, 503, 100};
  SendResult r;
  r.http_status = kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  r.body_truncated = (data[1] & 1) != 0;
  if (r.http_status == 0) r.error = "connection refused";
  if (r.http_status / 100 == 3) r.location = "http://10.0.0.1/";
  r.body = std::string(fuzz::AsText(data + 2, size - 2));

  AckDecision json = DecideAck(r, AckMode::kJson);
  AckDecision text = DecideAck(r, AckMode::kText);
  AckDecision any = DecideAck(r, AckMode::kAny2xx);
  for (const AckDecision* d : {&json, &text, &any}) {
    if (d->acked) {
      FUZZ_CHECK(r.http_status >= 200 && r.http_status < 300 && !r.body_truncated,
                 "acked HTTP " + std::to_string(r.http_status));
      FUZZ_CHECK(d->reason.empty(), d->reason);
    } else {
      FUZZ_CHECK(!d->reason.empty(), "refused without a reason");
    }
  }
  FUZZ_CHECK(!json.acked || text.acked, "json ack but not text ack: " + r.body);
  FUZZ_CHECK(!text.acked || any.acked, "text ack but not any2xx ack: " + r.body);
  return 0;
}
