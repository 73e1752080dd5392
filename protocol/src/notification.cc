#include "vkspay/protocol/notification.h"

#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/signature.h"

namespace vkspay {

Fields NotificationFields(const NotificationContent& c) {
  Fields f;
  f.Set("notify_type", c.notify_type);
  f.Set("notify_id", c.notify_id);
  f.Set("merchantno", c.merchantno);
  f.Set("out_trade_no", c.out_trade_no);
  f.Set("transaction_id", c.transaction_id);
  f.Set("total_fee", FormatYuan(c.total_fee));
  f.Set("pay_chnl", c.pay_chnl);
  f.Set("status", c.status);
  f.Set("time_end", c.time_end);
  if (!c.attach.empty()) f.Set("attach", c.attach);
  if (c.notify_type == "refund") {
    f.Set("out_refund_no", c.out_refund_no);
    f.Set("refund_fee", FormatYuan(c.refund_fee));
    f.Set("refund_status", c.refund_status);
    f.Set("time_refund", c.time_refund);
  }
  return f;
}

Fields SignNotification(const NotificationContent& content, int64_t timestamp,
                        std::string_view nonce, std::string_view key) {
  Fields f = NotificationFields(content);
  f.Set("timestamp", std::to_string(timestamp));
  f.Set("signaturenonce", std::string(nonce));
  f.Set("version", std::string("2.0"));
  return WithSign(std::move(f), key);
}

}  // namespace vkspay
