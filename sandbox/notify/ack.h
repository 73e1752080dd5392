// Whether a merchant's answer to a notification attempt acknowledges it.
//
// Never an ack, whatever the mode: no HTTP answer (refused, reset, timeout,
// TLS failure), a redirect (never followed), an answer longer than the cap
// (truncated), a status other than 2xx. Then, by the merchant's ack_mode:
//   json (default): the body is a JSON object whose "code" is "SUCCESS", as
//                   the official sample answers {"code":"SUCCESS","msg":"SUCCESS"}
//   text:           that, or a plain body "success" or "SUCCESS"
//   any2xx:         any body
// Surrounding whitespace in the body is ignored.
#ifndef VKSPAY_SANDBOX_NOTIFY_ACK_H_
#define VKSPAY_SANDBOX_NOTIFY_ACK_H_

#include <string>

#include "sandbox/config/config.h"
#include "sandbox/notify/http_sender.h"

namespace vkspay::sandbox {

struct AckDecision {
  bool acked = false;
  // Why it is not an ack ("HTTP 500", "redirect 302 to /login (not
  // followed)", ...), for last_error and the log; "" when acked.
  std::string reason;
};

AckDecision DecideAck(const SendResult& result, AckMode mode);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_ACK_H_
