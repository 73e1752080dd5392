// The content of the notifications the sandbox POSTs to a merchant's
// notify_url (form-encoded, all values strings, signed with the merchant key
// by the request algorithm). See docs/notify.md.
//
// The sample only says a notification carries at least out_trade_no and is
// answered {"code":"SUCCESS","msg":"SUCCESS"}; everything else here is the
// sandbox's documented assumption.
#ifndef VKSPAY_PROTOCOL_NOTIFICATION_H_
#define VKSPAY_PROTOCOL_NOTIFICATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "vkspay/protocol/fields.h"

namespace vkspay {

// What a notification says, before the per-attempt envelope is added.
struct NotificationContent {
  std::string notify_type;  // "payment" or "refund"
  std::string notify_id;    // the same on every retry of one event
  std::string merchantno;
  std::string out_trade_no;
  std::string transaction_id;
  int64_t total_fee = 0;    // fen
  std::string pay_chnl;     // "wxpay" or "alipay"
  std::string status;       // the order's status: "SUCCESS" (or "REFUND")
  std::string time_end;     // payment time, "yyyy-MM-dd HH:mm:ss" China time
  std::string attach;       // sent only if not empty
  // Refund notifications only.
  std::string out_refund_no;
  int64_t refund_fee = 0;   // fen
  std::string refund_status;  // "SUCCESS"
  std::string time_refund;
};

// The content fields in a fixed order (no envelope, no sign).
Fields NotificationFields(const NotificationContent& content);

// Adds timestamp, signaturenonce, version "2.0" and sign (key-signed) to the
// content, as sent on one delivery attempt.
Fields SignNotification(const NotificationContent& content, int64_t timestamp,
                        std::string_view nonce, std::string_view key);

// The acknowledgement the official sample answers.
inline constexpr char kNotifyAckBody[] = R"({"code":"SUCCESS","msg":"SUCCESS"})";

}  // namespace vkspay

#endif  // VKSPAY_PROTOCOL_NOTIFICATION_H_
