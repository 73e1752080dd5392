// The narrow interface the payment rules (sandbox/ledger/ledger.h) work
// through: load, insert and update the rows of one open write transaction.
//
// A LedgerTxn is a view of one transaction that the store opened and will
// commit or roll back; the ledger never begins, commits or rolls back
// anything, and never sees SQL. Every call either does what it says or
// returns an error (kInternal for a database failure) and leaves the
// transaction for the store to roll back. Reads see the transaction's own
// writes. Not thread-safe: one transaction, one thread.
//
// A second backend (PostgreSQL, an in-memory fake in tests) implements this
// interface and the store's read paths; the rules stay where they are.
#ifndef VKSPAY_SANDBOX_LEDGER_LEDGER_TXN_H_
#define VKSPAY_SANDBOX_LEDGER_LEDGER_TXN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "sandbox/store/store.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

// A new outbox row as the ledger decided it. The transaction assigns the
// id and the notify_id (content.notify_id is left empty by the ledger and
// filled in by InsertNotification before the payload is stored).
struct NewNotification {
  std::string type;  // "payment" or "refund"
  std::string merchantno;
  std::string out_trade_no;
  std::string out_refund_no;  // refunds only
  std::string notify_url;
  int64_t first_attempt_us = 0;  // sandbox clock
  int64_t created_at = 0;        // unix seconds
  std::string fault_plan;        // NotifyFaultPlan::plan_json
  NotificationContent content;   // everything but notify_id
};

class LedgerTxn {
 public:
  virtual ~LedgerTxn() = default;

  // kOrderNotExist if there is no such order.
  virtual StatusOr<Order> LoadOrder(std::string_view merchantno,
                                    std::string_view out_trade_no) = 0;
  // kOrderNotExist if no order has this cashier token.
  virtual StatusOr<Order> LoadOrderByToken(std::string_view cashier_token) = 0;
  // kRefundNotExist if the merchant has no refund with this number.
  virtual StatusOr<Refund> LoadRefund(std::string_view merchantno,
                                      std::string_view out_refund_no) = 0;
  // The sum of the order's PROCESSING refunds, fen (0 if none).
  virtual StatusOr<int64_t> SumProcessingRefunds(std::string_view merchantno,
                                                 std::string_view out_trade_no) = 0;

  virtual Status InsertOrder(const Order& order) = 0;
  // Writes everything about an order that changes after it is created
  // (status, pay_chnl, transaction_id, paid_at, closed_at, refunded_fee,
  // refund_count). kInternal if the order does not exist.
  virtual Status UpdateOrder(const Order& order) = 0;
  virtual Status InsertRefund(const Refund& refund) = 0;
  // Writes status and success_at.
  virtual Status UpdateRefund(const Refund& refund) = 0;
  // Inserts a pending outbox row; returns its notify_id.
  virtual StatusOr<std::string> InsertNotification(const NewNotification& n) = 0;

  // Inserts the action (its id is assigned; a.id is ignored).
  virtual Status InsertAction(const ScheduledAction& action, int64_t now) = 0;
  // Deletes the action; false if it was gone already.
  virtual StatusOr<bool> DeleteAction(int64_t id) = 0;
  // The buyer closed the order: its kLateSuccess actions fall due at
  // base_us + their delay_us.
  virtual Status MoveLateSuccess(std::string_view merchantno, std::string_view out_trade_no,
                                 int64_t base_us) = 0;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_LEDGER_LEDGER_TXN_H_
