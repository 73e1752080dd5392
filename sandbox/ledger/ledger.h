// The payment rules: the order state machine, refund arithmetic, the outbox
// rows a change writes and the scheduled actions (fault injection) it
// schedules or applies. Pure rules over a LedgerTxn (ledger_txn.h): no SQL,
// no locking, no commit. The store opens a transaction, runs one or more
// ledger operations in it (group commit runs many, each in a savepoint) and
// commits; whatever an operation wrote is rolled back with its savepoint
// when it returns an error, unless it set LedgerEffects::keep_writes_on_error.
//
// Rules, as VksPay behaves (docs/protocol.md lists the assumptions):
// - An order is created NOTPAY. Creating it again with the same out_trade_no
//   and amount while it is unpaid returns it (idempotent); another amount,
//   or a paid, closed or failed order, is refused (kOutTradeNoUsed,
//   kOrderPaid, kOrderClosed).
// - An unpaid order whose expires_at has passed is CLOSED as of its expiry,
//   lazily, by whichever operation touches it first; that close is kept even
//   though the operation then reports the order closed.
// - A successful payment (at once, after USERPAYING, or late after a close)
//   writes one "payment" outbox row in the same transaction; a SUCCESS refund
//   writes one "refund" row; a PROCESSING refund writes its row when it ends.
// - Refunds never add up to more than total_fee: PROCESSING ones count
//   against the refundable amount at once.
//
// Thread-safe once set up (every operation is const); each call needs its
// own LedgerTxn.
#ifndef VKSPAY_SANDBOX_LEDGER_LEDGER_H_
#define VKSPAY_SANDBOX_LEDGER_LEDGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/ledger/ledger_txn.h"
#include "sandbox/store/store.h"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

// What an operation asks of the transaction around it.
struct LedgerEffects {
  // Commit this operation's writes even though it returns an error (never
  // for kInternal): an expired order was closed, then reported closed.
  bool keep_writes_on_error = false;
  // It wrote an outbox row: the store tells its observer after the commit.
  bool notified = false;
};

// True for NOTPAY and USERPAYING.
bool IsUnpaid(OrderStatus s);
// An unpaid order whose time ran out (expires_at 0: never expires).
bool IsExpiredUnpaid(const Order& o, int64_t now);
// The errors a LedgerTxn returns for absent rows, worded for people.
Status OrderNotExistError(std::string_view merchantno, std::string_view out_trade_no);
Status RefundNotExistError(std::string_view merchantno, std::string_view out_refund_no);

class Ledger {
 public:
  Ledger() = default;
  // Decides each new notification's fault plan (see NotifyPlanner); set
  // before the ledger is shared.
  void SetNotifyPlanner(NotifyPlanner planner) { planner_ = std::move(planner); }

  // Store::CreateOrderWithActions.
  StatusOr<CreateOrderResult> CreateOrder(LedgerTxn& txn, LedgerEffects& fx, const Order& order,
                                          bool must_be_new, int64_t now,
                                          const std::vector<ScheduledAction>& on_create) const;
  // Store::CompletePayment.
  StatusOr<Order> Pay(LedgerTxn& txn, LedgerEffects& fx, std::string_view merchantno,
                      std::string_view out_trade_no, PayOutcome outcome,
                      std::string_view channel, std::string_view transaction_id,
                      int64_t now) const;
  // Store::CreateAndPay: CreateOrder, then the payment step on that order.
  StatusOr<CreateOrderResult> CreateAndPay(LedgerTxn& txn, LedgerEffects& fx, const Order& order,
                                           bool must_be_new, int64_t now,
                                           const std::vector<ScheduledAction>& on_create,
                                           const PaymentStep& pay) const;
  // Store::StartUserPaying.
  StatusOr<Order> StartUserPaying(LedgerTxn& txn, LedgerEffects& fx, std::string_view merchantno,
                                  std::string_view out_trade_no, const ScheduledAction& then,
                                  int64_t now) const;
  // Store::CreateRefundWithOrder: `then` null gives a SUCCESS refund with
  // its notification, else a PROCESSING one ending with `then`.
  StatusOr<RefundResult> CreateRefund(LedgerTxn& txn, LedgerEffects& fx, std::string_view merchantno,
                                      std::string_view out_trade_no,
                                      const std::optional<std::string>& requested_out_refund_no,
                                      std::string_view generated_out_refund_no,
                                      int64_t refund_fee, int64_t now,
                                      const ScheduledAction* then) const;
  // The lazy close of a read: loads the order and closes it if it expired
  // unpaid.
  StatusOr<Order> CloseIfExpired(LedgerTxn& txn, LedgerEffects& fx, std::string_view merchantno,
                                 std::string_view out_trade_no, int64_t now) const;
  // One due scheduled action (Store::ApplyDueActions): deletes it and applies
  // its effect; an action whose order or refund moved on is dropped. OK
  // without effect if another transaction applied it first.
  Status ApplyAction(LedgerTxn& txn, LedgerEffects& fx, const ScheduledAction& action,
                     int64_t now_us) const;

 private:
  StatusOr<Order> PayOrder(LedgerTxn& txn, LedgerEffects& fx, Order o, PayOutcome outcome,
                           std::string_view channel, std::string_view transaction_id,
                           int64_t now) const;
  StatusOr<Order> StartUserPayingOrder(LedgerTxn& txn, LedgerEffects& fx, Order o,
                                       const ScheduledAction& then, int64_t now) const;
  // Writes the outbox row for a payment (refund null) or a refund of
  // `order` as it is after the change.
  Status Notify(LedgerTxn& txn, LedgerEffects& fx, const Order& order, const Refund* refund,
                int64_t now) const;

  NotifyPlanner planner_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_LEDGER_LEDGER_H_
