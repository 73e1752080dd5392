// The sandbox's persistent state: orders and refunds, behind an interface so
// tests can use an in-memory database and later work can add fakes.
//
// Every method is one SQLite transaction: it fully happens or fully does not.
// Implementations are thread-safe. Times are unix seconds from the caller's
// injected clock (the store never reads the clock itself). Amounts are fen.
#ifndef VKSPAY_SANDBOX_STORE_STORE_H_
#define VKSPAY_SANDBOX_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

// Order states, as VksPay (and WeChat Pay's trade_state) name them.
enum class OrderStatus {
  kNotPay,      // "NOTPAY": created, waiting for the buyer
  kUserPaying,  // "USERPAYING": buyer is entering a password (micropay)
  kSuccess,     // "SUCCESS": paid
  kRefund,      // "REFUND": paid, then partly or fully refunded
  kClosed,      // "CLOSED": expired or cancelled before payment
  kPayError,    // "PAYERROR": the buyer's payment failed
};
std::string_view ToString(OrderStatus s);
std::optional<OrderStatus> ParseOrderStatus(std::string_view s);
// True for SUCCESS and REFUND: the buyer's money arrived.
inline bool IsPaid(OrderStatus s) {
  return s == OrderStatus::kSuccess || s == OrderStatus::kRefund;
}

struct Order {
  std::string merchantno;
  std::string out_trade_no;
  std::string trade_type;  // "webpay" or "micropay"
  int64_t total_fee = 0;   // fen
  // Requested channel ("wxpay", "alipay" or "auto"); once paid, the one used.
  std::string pay_chnl = "auto";
  std::string subject;
  std::string body;
  std::string attach;
  std::string notify_url;
  std::string return_url;
  std::string client_ip;     // micropay
  std::string auth_code;     // micropay
  std::string cashier_token; // opaque id in the payment URL (/pay/<token>)
  OrderStatus status = OrderStatus::kNotPay;
  std::string transaction_id;  // the wallet's id, set when paid
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t paid_at = 0;    // 0 until paid
  int64_t closed_at = 0;  // 0 unless CLOSED or PAYERROR
  int64_t refunded_fee = 0;  // sum of successful refunds, fen
  int64_t refund_count = 0;
};

enum class RefundStatus { kSuccess, kProcessing, kFail };
std::string_view ToString(RefundStatus s);

struct Refund {
  std::string merchantno;
  std::string out_trade_no;
  std::string out_refund_no;
  int64_t refund_fee = 0;  // fen
  RefundStatus status = RefundStatus::kSuccess;
  int64_t created_at = 0;
  int64_t success_at = 0;
};

struct CreateOrderResult {
  Order order;
  bool created = false;  // false: an existing unpaid order with the same amount
};

// What the buyer did on the cashier page (or the control API said they did).
enum class PayOutcome { kSuccess, kFail, kCancel };

struct OrderFilter {
  std::string merchantno;  // empty: all
  std::optional<OrderStatus> status;
  int64_t limit = 100;
  int64_t offset = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts `order` (status NOTPAY). If an order with the same merchantno and
  // out_trade_no exists: with must_be_new, kOutTradeNoUsed; else if it is
  // unpaid (NOTPAY/USERPAYING, not expired at `now`) with the same total_fee,
  // returns it with created=false; with another amount kOutTradeNoUsed; paid
  // kOrderPaid; closed or failed kOrderClosed. Also kOutTradeNoUsed if
  // cashier_token is taken. kInternal on a database error.
  virtual StatusOr<CreateOrderResult> CreateOrder(const Order& order, bool must_be_new,
                                                  int64_t now) = 0;

  // Returns the order, first closing it (status CLOSED, closed_at=expires_at)
  // if it is NOTPAY and expired at `now`. kOrderNotExist if absent.
  virtual StatusOr<Order> GetOrder(std::string_view merchantno,
                                   std::string_view out_trade_no, int64_t now) = 0;
  virtual StatusOr<Order> GetOrderByToken(std::string_view cashier_token, int64_t now) = 0;

  // Records the buyer's action on an unpaid order. kSuccess: status SUCCESS,
  // pay_chnl=channel, transaction_id, paid_at=now. kFail: PAYERROR. kCancel:
  // CLOSED. Errors: kOrderNotExist; kOrderPaid if already paid; kOrderClosed
  // if closed or expired at `now`; kOrderPayError if PAYERROR.
  virtual StatusOr<Order> CompletePayment(std::string_view merchantno,
                                          std::string_view out_trade_no, PayOutcome outcome,
                                          std::string_view channel,
                                          std::string_view transaction_id, int64_t now) = 0;

  // Refunds part of a paid order, in one BEGIN IMMEDIATE transaction so that
  // concurrent refunds can never add up to more than total_fee. If
  // `requested_out_refund_no` is set and already exists for this merchant:
  // same order and amount returns it (idempotent), otherwise
  // kOutRefundNoUsed. Otherwise inserts a SUCCESS refund named
  // requested_out_refund_no (or generated_out_refund_no), adds to
  // refunded_fee and sets the order to REFUND. Errors: kOrderNotExist,
  // kRefundNotAllowed (not paid), kRefundExceedsPaid (message gives paid,
  // refunded and requested amounts), kOutRefundNoUsed (also when a generated
  // number collides; the caller retries with another).
  virtual StatusOr<Refund> CreateRefund(std::string_view merchantno,
                                        std::string_view out_trade_no,
                                        const std::optional<std::string>& requested_out_refund_no,
                                        std::string_view generated_out_refund_no,
                                        int64_t refund_fee, int64_t now) = 0;

  // kRefundNotExist if there is no such refund for this merchant and order.
  virtual StatusOr<Refund> GetRefund(std::string_view merchantno, std::string_view out_trade_no,
                                     std::string_view out_refund_no) = 0;
  // Refunds of one order, oldest first.
  virtual StatusOr<std::vector<Refund>> ListRefunds(std::string_view merchantno,
                                                    std::string_view out_trade_no) = 0;
  // Orders, newest first.
  virtual StatusOr<std::vector<Order>> ListOrders(const OrderFilter& filter) = 0;
  // Deletes every order and refund.
  virtual Status Reset() = 0;
};

struct SqliteStoreOptions {
  // A file path, or ":memory:" (one private in-memory database).
  std::string path = ":memory:";
  // "NORMAL" (survives a process crash such as kill -9; the default) or
  // "FULL" (also survives power loss, at a write-throughput cost).
  std::string synchronous = "NORMAL";
};

// Opens (creating if needed) and migrates the database. WAL mode, schema
// version in PRAGMA user_version, migrations applied in order at open.
// Errors: kInternal naming the path and SQLite's message.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_STORE_STORE_H_
