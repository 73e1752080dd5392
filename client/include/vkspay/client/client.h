// The VksPay client: what a merchant embeds to call VksPay (or the sandbox).
//
// Builds each request the way the official samples do (a flat JSON body with
// the method's fields plus method, merchantno, timestamp, signaturenonce,
// version "2.0" and the MD5 sign), POSTs it to {base_url}/api and turns the
// answer into a typed value or a Status from the error catalogue.
//
// Amounts are integer fen in every struct here; they travel as yuan JSON
// numbers (1 fen -> 0.01).
#ifndef VKSPAY_CLIENT_CLIENT_H_
#define VKSPAY_CLIENT_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/fields.h"
#include "vkspay/protocol/status.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace vkspay::client {

struct ClientOptions {
  // Scheme, host, optional port and optional path prefix:
  // "http://127.0.0.1:8080" or "https://pay.example.com/vkspay".
  std::string base_url = "http://127.0.0.1:8080";
  std::string merchantno;
  std::string key;
  // Applied to connecting, reading and writing separately.
  std::chrono::milliseconds timeout{10'000};
  // Sent as "Authorization: Bearer <token>" to the sandbox control API only;
  // empty means no header.
  std::string control_token;
  // https:// base URLs: trust the CA certificates in this PEM file instead
  // of the system store (the sandbox's --tls-self-signed ca.pem); empty:
  // the system store. The server's certificate is always verified.
  std::string ca_file;
};

// An order as VksPay reports it (data of webpay, micropay and orderquery).
struct Order {
  std::string merchantno;
  std::string out_trade_no;
  std::string transaction_id;
  std::string trade_type;  // "webpay" or "micropay"
  int64_t total_fee = 0;   // fen
  // "NOTPAY", "USERPAYING", "SUCCESS", "REFUND", "CLOSED" or "PAYERROR".
  std::string status;
  std::string pay_chnl;
  std::string subject;
  std::string body;
  std::string attach;
  std::string time_create;  // "2026-11-28 10:25:30" (China time)
  std::string time_expire;
  std::string time_end;    // empty until paid
  int64_t refund_fee = 0;  // fen refunded so far
  int64_t refund_count = 0;
  std::string qrcode;  // webpay only: the payment page URL
  // True when the order has been paid (status SUCCESS, or REFUND after a
  // payment). False for an orderquery answered ORDER_NOT_PAID.
  bool paid = false;
};

// A refund as VksPay reports it (orderrefund and orderrefundquery).
struct Refund {
  std::string out_trade_no;
  std::string out_refund_no;
  int64_t refund_fee = 0;    // fen, this refund
  int64_t total_fee = 0;     // fen, the order
  int64_t refunded_fee = 0;  // fen, the order's refunds so far
  std::string status;        // "SUCCESS"
  std::string time_refund;
};

// The method-specific fields of each request. An unset std::optional is not
// sent at all; a set one is sent even when empty.
struct WebPayRequest {
  int64_t total_fee = 0;                  // fen, required
  std::optional<std::string> notify_url;  // required unless the merchant has a default
  std::optional<std::string> out_trade_no;
  std::optional<std::string> subject;
  std::optional<std::string> body;
  std::optional<std::string> attach;
  std::optional<std::string> return_url;
  std::optional<std::string> pay_chnl;  // "wxpay", "alipay" or "auto"
};

// The official micropay sample sends every plain member below, empty strings
// included, so this does too.
struct MicroPayRequest {
  int64_t total_fee = 0;  // fen, required
  std::string auth_code;  // the buyer's pay code, required
  std::string pay_chnl;   // "wxpay", "alipay" or empty
  std::string client_ip;
  std::string cashier;
  std::string kuantai;
  std::string source;
  std::string pay_cate = "pay";
  std::optional<std::string> out_trade_no;
  std::optional<std::string> subject;
  std::optional<std::string> attach;
  // Without it the sandbox notifies the merchant's configured default, or
  // holds the notification as blocked when there is none.
  std::optional<std::string> notify_url;
};

struct OrderQueryRequest {
  std::string out_trade_no;
};

struct OrderRefundRequest {
  std::string out_trade_no;
  int64_t refund_fee = 0;  // fen
  std::optional<std::string> out_refund_no;
};

struct OrderRefundQueryRequest {
  std::string out_trade_no;
  std::string out_refund_no;
};

// A notification VksPay (or the sandbox) POSTed to a notify_url, checked and
// typed. Amounts are fen. Refund fields are empty/0 for payments.
struct Notification {
  std::string notify_type;  // "payment" or "refund"
  std::string notify_id;    // the same on every retry of one event
  std::string merchantno;
  std::string out_trade_no;
  std::string transaction_id;
  int64_t total_fee = 0;  // fen; 0 if absent
  std::string pay_chnl;
  std::string status;
  std::string time_end;
  std::string attach;
  std::string out_refund_no;
  int64_t refund_fee = 0;  // fen; 0 if absent
  std::string refund_status;
  std::string time_refund;
  int64_t timestamp = 0;  // unix seconds of this delivery attempt; 0 if absent
  std::string signaturenonce;
  std::string version;
  std::string sign;
  Fields fields;  // every field exactly as received, in body order
};

// True when content_type's media type is application/x-www-form-urlencoded
// (any case, parameters such as charset allowed).
bool IsFormContentType(std::string_view content_type);

// The first two steps of ParseNotification, for a receiver that must read
// merchantno before it knows which key to check with. Errors:
// kInvalidContentType if content_type is not form-encoded (a JSON body is
// refused here), or DecodeForm's errors (kInvalidField, kDuplicateField,
// kBodyTooLarge).
StatusOr<Fields> DecodeNotificationBody(std::string_view body, std::string_view content_type);

// Checks and types decoded notification fields. Errors, in this order:
// kMissingField naming out_trade_no or notify_id when absent or empty;
// VerifySign's (kMissingField without sign, kSignError on a mismatch, the
// message showing the masked canonical string); kInvalidAmount naming
// total_fee or refund_fee when present but not yuan text; kInvalidField for a
// timestamp that is not whole seconds.
StatusOr<Notification> NotificationFromFields(Fields fields, std::string_view key);

// DecodeNotificationBody then NotificationFromFields: everything a merchant
// does with a notification before trusting it (it must still make sure it has
// not already handled notify_id).
StatusOr<Notification> ParseNotification(std::string_view body, std::string_view content_type,
                                         std::string_view key);

// ---------------------------------------------------------------------------
// Sandbox control API: notification delivery records.

// One delivery attempt of a notification, as the sandbox logged it.
struct DeliveryAttempt {
  int64_t n = 0;            // 1-based attempt number
  std::string at;           // display time of the attempt
  int64_t at_us = 0;        // unix microseconds
  std::string url;          // where it was POSTed
  int64_t http_status = 0;  // 0 when no answer arrived
  double latency_ms = 0;
  std::string response_head;  // first bytes of the answer
  std::string error;          // empty when an answer arrived
  bool acked = false;
};

// A notification as the sandbox's outbox holds it.
struct NotificationRecord {
  std::string id;  // the control API's id (a number or a string on the wire)
  std::string notify_id;
  std::string type;  // "payment" or "refund"
  std::string merchantno;
  std::string out_trade_no;
  std::string out_refund_no;
  std::string notify_url;    // what the request named
  std::string delivered_to;  // where it is actually sent (forward_to, if set)
  std::string state;         // "pending", "acked", "failed" or "blocked"
  int64_t attempts = 0;
  int64_t total_attempts = 0;  // the schedule's length
  std::string next_attempt_at;
  int64_t next_attempt_us = 0;
  std::string created_at;
  std::string acked_at;
  std::string last_error;
  nlohmann::json payload = nlohmann::json::object();  // the form fields sent
  std::vector<DeliveryAttempt> attempt_log;           // only in the detail answer
};

// Filter for ListNotifications; empty strings and 0 are not sent.
struct NotificationFilter {
  std::string out_trade_no;
  std::string state;
  int64_t limit = 0;
};

// Filter for ListOrders; empty strings and 0 are not sent (the sandbox then
// answers its newest 100).
struct OrderListFilter {
  std::string status;  // NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED or PAYERROR
  int64_t limit = 0;
  int64_t offset = 0;
};

// The status a control answer stands for: OK for {"ok":true}, else the
// catalogue entry named by err_code (kInternal if unknown, or one of the
// client-side CONNECT_ERROR and TIMEOUT) with `message`. kInvalidJson
// without a boolean "ok".
Status ControlStatus(const nlohmann::json& answer);
// Decoders for the notification control answers. Errors: ControlStatus's,
// kInvalidJson naming a missing member or a field of the wrong type.
StatusOr<NotificationRecord> DecodeNotificationRecord(const nlohmann::json& n);
// {"ok":true,"notifications":[N...]}
StatusOr<std::vector<NotificationRecord>> DecodeNotificationList(const nlohmann::json& answer);
// {"ok":true,"notification":N}
StatusOr<NotificationRecord> DecodeNotificationAnswer(const nlohmann::json& answer);
// {"ok":true,"resent":count}
StatusOr<int64_t> DecodeResentAnswer(const nlohmann::json& answer);
// {"ok":true,"orders":[order...]} (GET /_sandbox/orders)
StatusOr<std::vector<Order>> DecodeOrderList(const nlohmann::json& answer);
// {"ok":true,"refunds":[refund...]} (GET /_sandbox/refunds); the control API
// leaves total_fee and refunded_fee out, so they are 0.
StatusOr<std::vector<Refund>> DecodeRefundList(const nlohmann::json& answer);

// The method's own fields, in the order they are sent (no envelope, no sign).
Fields ToFields(const WebPayRequest& req);
Fields ToFields(const MicroPayRequest& req);
Fields ToFields(const OrderQueryRequest& req);
Fields ToFields(const OrderRefundRequest& req);
Fields ToFields(const OrderRefundQueryRequest& req);

// An answer as received: any HTTP status whose body is a JSON object.
struct RawAnswer {
  int http_status = 0;
  std::string body;     // exactly as received
  nlohmann::json json;  // body parsed; always an object
};

// The error a FAIL answer stands for: the catalogue entry named by err_code
// (kInternal for an unknown or missing one, and for the client-side
// CONNECT_ERROR and TIMEOUT) with return_msg as the message.
// OK for return_code "SUCCESS". kInvalidJson if return_code is missing or
// neither SUCCESS nor FAIL.
Status AnswerStatus(const nlohmann::json& answer);
// The catalogue entry whose err_code is `name`, or kInternal if none is.
ErrorCode ErrorCodeFromName(std::string_view name);

// Decoders for answers; the typed methods below use them, and callers that
// hold a RawAnswer (the CLI's --json) can too.
// A FAIL answer gives AnswerStatus(answer), except that with
// allow_not_paid an ORDER_NOT_PAID or USERPAYING answer carrying `data` gives
// that order with paid=false (MicroPay and OrderQuery allow it). kInvalidJson if `data` is missing or has a field of the
// wrong type (naming it).
StatusOr<Order> DecodeOrderAnswer(const nlohmann::json& answer, bool allow_not_paid);
StatusOr<Refund> DecodeRefundAnswer(const nlohmann::json& answer);
// Control API answer: {"ok":true,"order":{...}} or
// {"ok":false,"err_code":"...","message":"..."}.
StatusOr<Order> DecodeControlAnswer(const nlohmann::json& answer);

// One merchant's connection to VksPay.
//
// Thread-safe: calls from several threads are serialized on one keep-alive
// connection (use one Client per thread for parallelism). The Clock and
// Random passed to Create must outlive the Client.
class Client {
 public:
  // Errors: kInvalidField if base_url is not http(s)://host[:port][/prefix]
  // or merchantno is empty. A null clock means the system clock; a null rng
  // means a generator seeded from std::random_device, owned by the client.
  static StatusOr<std::unique_ptr<Client>> Create(ClientOptions options,
                                                  const Clock* clock = nullptr,
                                                  Random* rng = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Each returns the typed answer, or:
  //  kTimeout "<url>: timed out after <timeout> s" when no answer came within
  //  options().timeout (connecting, sending or reading);
  //  kConnectError "无法连接 <url>: <httplib error>" when the server could not
  //  be reached, or "<url>: 连接在应答前断开 (...)" when it dropped the
  //  connection before answering;
  //  kNotFound when the server has no such route (a non-JSON 404; the message
  //  says "drop /api" when base_url ends in /api);
  //  kInvalidJson when the answer is not a JSON object or misses a field;
  //  the catalogue entry named by err_code when VksPay answers FAIL.
  StatusOr<Order> WebPay(const WebPayRequest& req);
  StatusOr<Order> MicroPay(const MicroPayRequest& req);
  // An unpaid order (ORDER_NOT_PAID with data) is returned with paid=false.
  StatusOr<Order> OrderQuery(const OrderQueryRequest& req);
  StatusOr<Refund> OrderRefund(const OrderRefundRequest& req);
  StatusOr<Refund> OrderRefundQuery(const OrderRefundQueryRequest& req);

  // Sends `method` with `extra` fields. The envelope (method, merchantno,
  // version, timestamp, signaturenonce) is set first, then each extra field
  // is set (so extra may override the envelope, which conformance tests
  // need), then sign. Returns the answer whatever its return_code; errors
  // only for transport (kTimeout, kConnectError) and a body that is not a
  // JSON object (kInvalidJson, or kNotFound for a non-JSON 404).
  StatusOr<RawAnswer> Call(std::string_view method, const Fields& extra);

  // The body Call would send (signed), for inspection and tests.
  Fields BuildRequest(std::string_view method, const Fields& extra);

  // Sandbox control API: acts as the buyer on an unpaid order.
  // POST {base}/_sandbox/pay {"merchantno","out_trade_no","channel","outcome"}.
  // channel: "wxpay", "alipay", "auto" or empty; outcome: "success", "fail"
  // or "cancel". Errors as for the methods above, with err_code from the
  // control answer (kUnauthorized without a valid token).
  StatusOr<Order> Pay(std::string_view out_trade_no, std::string_view channel,
                      std::string_view outcome);
  // The same, returning the answer whatever its "ok".
  StatusOr<RawAnswer> PayRaw(std::string_view out_trade_no, std::string_view channel,
                             std::string_view outcome);

  // Sandbox control API, notifications (Authorization: Bearer control_token).
  // Each returns the answer whatever its "ok" (decode it with the Decode*
  // functions above); errors only for transport (kTimeout, kConnectError), a body that is
  // not a JSON object (kInvalidJson), or kNotFound when the sandbox answers
  // 404 without JSON (a sandbox that has no such endpoint).
  // GET /_sandbox/notifications?merchantno=&out_trade_no=&state=&limit=
  StatusOr<RawAnswer> ListNotifications(const NotificationFilter& filter);
  // GET /_sandbox/notifications/<id>
  StatusOr<RawAnswer> GetNotification(std::string_view id);
  // POST /_sandbox/notifications/<id>/resend
  StatusOr<RawAnswer> ResendNotification(std::string_view id);
  // POST /_sandbox/notifications/resend {"state":"failed"[,"since":unix_seconds]}
  StatusOr<RawAnswer> ResendFailed(std::optional<int64_t> since);
  // Sandbox control API, orders and refunds; errors as for the notification
  // calls above.
  // GET /_sandbox/orders?merchantno=&status=&limit=&offset= (newest first)
  StatusOr<RawAnswer> ListOrders(const OrderListFilter& filter);
  // GET /_sandbox/refunds?merchantno=&out_trade_no=
  StatusOr<RawAnswer> ListRefunds(std::string_view out_trade_no);
  // POST /_sandbox/reset: deletes every order, refund and notification of
  // every merchant (not only options().merchantno). Answers {"ok":true}.
  StatusOr<RawAnswer> Reset();
  // GET /_sandbox/clock; POST /_sandbox/clock/advance {"seconds":N} (N > 0);
  // POST /_sandbox/clock/reset (the offset back to 0). Each answers the
  // clock: {"ok":true,"now":...,"time":"<China time>","offset_s":...}.
  StatusOr<RawAnswer> GetClock();
  StatusOr<RawAnswer> AdvanceClock(int64_t seconds);
  StatusOr<RawAnswer> ResetClock();

  // Checks a payment notification VksPay sent to notify_url (the fields of
  // its form or JSON body). Returns VerifySign(form, key): kMissingField
  // without sign, kSignError on a mismatch.
  static Status VerifyNotification(const Fields& form, std::string_view key);

  const ClientOptions& options() const { return options_; }

 private:
  Client(ClientOptions options, std::string origin, std::string prefix, const Clock* clock,
         Random* rng);
  StatusOr<RawAnswer> Post(const std::string& path, const std::string& body, bool control);
  StatusOr<RawAnswer> Get(const std::string& path_and_query);
  StatusOr<RawAnswer> Decode(const std::string& url, int http_status, std::string body);

  const ClientOptions options_;
  const std::string origin_;  // "http://host:port"
  const std::string prefix_;  // "" or "/prefix"
  const Clock* clock_;
  Random* rng_;
  std::unique_ptr<SystemClock> owned_clock_;
  std::unique_ptr<SeededRandom> owned_rng_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace vkspay::client

#endif  // VKSPAY_CLIENT_CLIENT_H_
