// The sandbox's persistent state: orders and refunds, behind an interface so
// tests can use an in-memory database and later work can add fakes.
//
// Every method fully happens or fully does not. Writes that arrive together
// are group-committed: while one transaction commits, the next writes queue,
// and the next transaction runs them all, each in a savepoint, so one
// write's refusal touches only that write; a call returns only after the
// transaction holding its write has committed (or failed, and then nothing
// of it was written). The payment rules live in sandbox/ledger/ and reach the
// database only through a LedgerTxn. Implementations are thread-safe. Times are unix seconds from the caller's
// injected clock (the store never reads the clock itself). Amounts are fen.
#ifndef VKSPAY_SANDBOX_STORE_STORE_H_
#define VKSPAY_SANDBOX_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "vkspay/protocol/notification.h"
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
  int64_t refund_count = 0;  // successful refunds
  // The X-Sandbox-Fault header of the request that created the order ("" when
  // none), kept like `attach` so that it also reaches the order's later fault
  // hooks (payment, notifications). See docs/faults.md.
  std::string fault_header;
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

// --- Scheduled actions (fault injection) ---
//
// Something that happens to an order or a refund later, on the sandbox clock:
// the end of a USERPAYING payment, a payment that arrives after the order was
// closed, the end of a PROCESSING refund. Persisted in the same transaction
// as the change that schedules it, so it survives a restart; ApplyDueActions
// applies the due ones (an overdue one at the first call after start-up).
enum class ActionKind {
  kPayOutcome,     // "pay_outcome": a USERPAYING order becomes `outcome`
  kLateSuccess,    // "late_success": a CLOSED order becomes SUCCESS
  kRefundOutcome,  // "refund_outcome": a PROCESSING refund becomes SUCCESS or FAIL
};
std::string_view ToString(ActionKind k);
std::optional<ActionKind> ParseActionKind(std::string_view s);

// What the buyer did on the cashier page (or the control API said they did).
enum class PayOutcome { kSuccess, kFail, kCancel };
std::string_view ToString(PayOutcome o);  // "success", "fail", "cancel"
std::optional<PayOutcome> ParsePayOutcomeName(std::string_view s);

struct ScheduledAction {
  int64_t id = 0;  // assigned by the store
  ActionKind kind = ActionKind::kPayOutcome;
  std::string merchantno;
  std::string out_trade_no;
  std::string out_refund_no;  // kRefundOutcome
  // When it applies, unix microseconds of the sandbox clock. kLateSuccess:
  // the order's expiry + delay_us, moved to the close + delay_us when the
  // buyer cancels.
  int64_t due_us = 0;
  int64_t delay_us = 0;  // kLateSuccess: after the close
  // kPayOutcome: what the payment becomes; kRefundOutcome: kSuccess or kFail;
  // kLateSuccess: kSuccess.
  PayOutcome outcome = PayOutcome::kSuccess;
  std::string channel;         // kPayOutcome/kLateSuccess: "wxpay" or "alipay"
  std::string transaction_id;  // kPayOutcome/kLateSuccess success: the wallet's id
  std::string note;            // why, for people: "pay.userpaying (attach)"
  int64_t created_at = 0;      // unix seconds
};

struct AppliedActions {
  int64_t applied = 0;  // actions that were due and are gone (applied or moot)
  // The earliest due_us of the remaining actions; nullopt if none.
  std::optional<int64_t> next_due_us;
};

struct CreateOrderResult {
  Order order;
  bool created = false;  // false: an existing unpaid order with the same amount
};

// What happens to a new (or existing unpaid) order's payment in the same
// transaction that creates it (micropay): CompletePayment with outcome,
// channel and transaction_id, or, when `userpaying` is set, StartUserPaying
// with that kPayOutcome action.
struct PaymentStep {
  PayOutcome outcome = PayOutcome::kSuccess;
  std::string channel;         // "wxpay" or "alipay"
  std::string transaction_id;  // kSuccess
  std::optional<ScheduledAction> userpaying;
};

// A refund and its order, both as the refund's transaction committed them.
struct RefundResult {
  Refund refund;
  Order order;
};

struct OrderFilter {
  std::string merchantno;  // empty: all
  std::optional<OrderStatus> status;
  std::string out_trade_no;  // empty: all; else exactly this one
  int64_t limit = 100;
  int64_t offset = 0;
};

// --- Notifications (the outbox) ---
//
// Every successful payment and every new refund writes one notification row
// in the same transaction as the state change (the outbox), so a committed
// payment always has its notification, even across kill -9. The dispatcher
// (sandbox/notify/) delivers pending rows and records every attempt.

enum class NotifyState {
  kPending,  // "pending": waiting for its next attempt (next_attempt_us)
  kAcked,    // "acked": the merchant acknowledged it
  kFailed,   // "failed": the schedule ran out without an ack
  kBlocked,  // "blocked": not sent (URL refused, no notify_url, ...); see last_error
};
std::string_view ToString(NotifyState s);
std::optional<NotifyState> ParseNotifyState(std::string_view s);

struct Notification {
  int64_t id = 0;
  // "N" + 32 lowercase hex: 16 of a random salt drawn once per database
  // (when the table is created) and 16 of the row id (AUTOINCREMENT, so never
  // reused, even after Reset). Unique within a database, and across
  // databases with overwhelming probability; the same on every retry.
  std::string notify_id;
  std::string type;  // "payment" or "refund"
  std::string merchantno;
  std::string out_trade_no;
  std::string out_refund_no;  // refunds only
  // The content fields as a JSON object of strings (NotificationFields:
  // notify_type, notify_id, merchantno, out_trade_no, ... in order).
  std::string payload;
  std::string notify_url;    // as the order named it (may be empty: micropay)
  std::string delivered_to;  // the URL the latest attempt used ("" before one)
  NotifyState state = NotifyState::kPending;
  int64_t attempts = 0;        // in the current series (a resend starts a new one)
  int64_t total_attempts = 0;  // ever
  int64_t next_attempt_us = 0; // sandbox clock, unix microseconds
  int64_t created_at = 0;      // unix seconds
  int64_t updated_at = 0;      // unix seconds of the last state change
  int64_t acked_at = 0;        // unix seconds, 0 unless acked
  std::string last_error;
  // Fault injection plan (NotifyPlanJson, sandbox/faults/fault_effects.h)
  // decided when the row was written; "" when none.
  std::string fault_plan;
};

// What fault injection decided for a notification as it is written.
struct NotifyFaultPlan {
  std::string plan_json;  // stored as Notification::fault_plan; "" when none
  // When the first attempt is due (unix microseconds, sandbox clock); 0: at
  // once. The store's own times are whole seconds, too coarse for a delay in
  // ms, so the planner reads the clock.
  int64_t first_attempt_us = 0;
};
// Called inside the payment or refund transaction, under the store's lock,
// for every notification row written (refund is null for a payment). Must not
// call back into the store.
using NotifyPlanner = std::function<NotifyFaultPlan(const Order& order, const Refund* refund)>;

// One delivery attempt, as recorded.
struct NotifyAttempt {
  int64_t notification_id = 0;
  int64_t n = 0;        // 1-based over the notification's whole life
  int64_t at_us = 0;    // when it started, sandbox clock
  std::string url;      // the URL actually used (forward_to if set)
  int http_status = 0;  // 0: no HTTP answer
  int64_t latency_us = 0;
  std::string response_head;  // at most the first 256 bytes of the answer
  std::string error;          // "" on an HTTP answer
  bool acked = false;
};

// What an attempt changed. Applied only if the notification is still
// pending with `expected_attempts` attempts in its series (a resend or reset
// meanwhile wins); the attempt itself is always logged.
struct NotifyUpdate {
  int64_t expected_attempts = 0;
  NotifyState state = NotifyState::kPending;
  int64_t next_attempt_us = 0;  // for kPending
  int64_t now = 0;              // unix seconds: updated_at, acked_at if kAcked
  std::string last_error;
};

struct NotificationFilter {
  std::string merchantno;    // empty: all
  std::string out_trade_no;  // empty: all
  std::optional<NotifyState> state;
  int64_t limit = 100;  // negative: no limit
};

// A position in the outbox's due order: (next_attempt_us, id).
struct OutboxCursor {
  int64_t due_us = 0;
  int64_t id = 0;
};

struct DueNotifications {
  // Pending, next_attempt_us <= now, oldest due first, none excluded.
  std::vector<Notification> due;
  // The earliest next_attempt_us of a pending, not excluded row that is not
  // due yet; nullopt if there is none (or `due` was cut at the limit).
  std::optional<int64_t> next_due_us;
  // The position of the last due row the scan passed (returned or
  // excluded); nullopt if it passed none. A later scan `after` it reads only
  // rows that became due behind it: new rows and retries.
  std::optional<OutboxCursor> last;
};

// Turns a stored payload back into the content it was made from. Errors:
// kInternal naming the notification if the JSON is not what the store wrote.
StatusOr<NotificationContent> ParseNotificationPayload(std::string_view payload);

class Store {
 public:
  virtual ~Store() = default;

  // Called (outside any transaction and lock) after every commit that made a
  // notification due: a payment, a new refund, a resend. Set it before the
  // store is shared; the function must be thread-safe.
  virtual void SetOutboxObserver(std::function<void()> observer) = 0;
  // Sets the function that decides each new notification's fault plan (see
  // NotifyPlanner); none by default. Set it before the store is shared. A
  // store that keeps no plans ignores it.
  virtual void SetNotifyPlanner(NotifyPlanner) {}

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
  // pay_chnl=channel, transaction_id, paid_at=now, and (same transaction) a
  // pending "payment" notification due at once (next_attempt_us = now * 1e6). kFail: PAYERROR. kCancel:
  // CLOSED (and a scheduled kLateSuccess of the order now falls due at now + its delay). Errors: kOrderNotExist; kOrderPaid if already paid; kOrderClosed
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
  // number collides; the caller retries with another). A new refund also
  // writes a pending "refund" notification in the same transaction; an
  // idempotent repeat writes none.
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
  // Deletes every order, refund, notification, attempt and scheduled action.
  virtual Status Reset() = 0;

  // --- Fault injection (docs/faults.md). The defaults answer kInternal "not
  // supported" for stores that have no scheduled actions. ---

  // CreateOrder, plus `on_create` (due times set by the caller) inserted in
  // the same transaction when the order is new; an existing order returned
  // (created=false) gets none.
  virtual StatusOr<CreateOrderResult> CreateOrderWithActions(
      const Order& order, bool must_be_new, int64_t now,
      const std::vector<ScheduledAction>& on_create);
  // CreateOrderWithActions and then, in the same transaction, `pay` on the
  // order (new, or the existing unpaid one returned with created=false):
  // either everything commits (order, actions, payment, its notification) or
  // nothing does. Returns the order as paid. Errors: those of
  // CreateOrderWithActions, then those of CompletePayment/StartUserPaying.
  // The default runs the two steps one after the other (not atomically), for
  // stores without transactions.
  virtual StatusOr<CreateOrderResult> CreateAndPay(const Order& order, bool must_be_new,
                                                   int64_t now,
                                                   const std::vector<ScheduledAction>& on_create,
                                                   const PaymentStep& pay);
  // CreateRefund (then == null) or CreateProcessingRefund (then set), also
  // returning the order as that transaction left it, so that nothing has to
  // be read after the commit. The default reads the order afterwards.
  virtual StatusOr<RefundResult> CreateRefundWithOrder(
      std::string_view merchantno, std::string_view out_trade_no,
      const std::optional<std::string>& requested_out_refund_no,
      std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
      const ScheduledAction* then);
  // A number that tells this start-up's database apart from an earlier one,
  // mixed into generated ids (sandbox/core/payments.h SaltedRandom) so that a
  // restart with the same --seed does not draw the same ids again: the number
  // of orders and refunds stored when the store was opened (0 for an empty
  // database, so a fresh database keeps the seed's ids). Default 0.
  virtual int64_t StartupSalt() const { return 0; }
  // The buyer starts paying: an unpaid order becomes USERPAYING and `then`
  // (kPayOutcome) is scheduled, in one transaction. Errors: those of
  // CompletePayment (kOrderClosed if expired, kOrderPaid, ...).
  virtual StatusOr<Order> StartUserPaying(std::string_view merchantno,
                                          std::string_view out_trade_no,
                                          const ScheduledAction& then, int64_t now);
  // CreateRefund, but the new refund is PROCESSING: it counts against the
  // refundable amount at once (no over-refund), the order's refunded_fee and
  // status change only when `then` (kRefundOutcome) succeeds, and no
  // notification is written until then. An idempotent repeat schedules
  // nothing. Errors: those of CreateRefund.
  virtual StatusOr<Refund> CreateProcessingRefund(
      std::string_view merchantno, std::string_view out_trade_no,
      const std::optional<std::string>& requested_out_refund_no,
      std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
      const ScheduledAction& then);
  // Applies every action due at now_us (oldest first), each in its own
  // transaction with its effect (the state change and its notification): a
  // kPayOutcome on a still USERPAYING order sets the outcome; a kLateSuccess
  // on a CLOSED order (or one that expired unpaid, closed first) pays it; a
  // kRefundOutcome on a PROCESSING refund sets SUCCESS (adding to
  // refunded_fee, order REFUND) or FAIL, and writes the refund notification.
  // An action whose order or refund moved on meanwhile is dropped. Tells the
  // outbox observer when a notification was written. Errors: kInternal, the
  // first database error; an action that failed stays for the next call and
  // the others still apply.
  virtual StatusOr<AppliedActions> ApplyDueActions(int64_t now_us);
  // The actions of one order (every order when out_trade_no is empty), due
  // order.
  virtual StatusOr<std::vector<ScheduledAction>> ListActions(std::string_view merchantno,
                                                             std::string_view out_trade_no);
  // notify.refund_first: makes the order's held payment notification (pending,
  // never attempted, a refund_first plan, due later) due at now_us. Returns
  // how many rows changed (0 or 1) and tells the outbox observer if any.
  virtual StatusOr<int64_t> ReleaseHeldPayment(std::string_view merchantno,
                                               std::string_view out_trade_no, int64_t now_us);

  // Reads the pending notifications due at `now_us`, skipping the ids in
  // `exclude` (the ones the dispatcher holds in memory), at most `limit`;
  // with `after`, only rows past that position in due order (the outbox
  // cursor: a scan under load then reads only what is new instead of
  // stepping over every held row). Changes nothing: "in flight" lives only
  // in the dispatcher's memory, so a crash leaves the rows pending and they
  // are delivered again on restart. Never waits for a writer.
  virtual StatusOr<DueNotifications> ClaimDueNotifications(
      int64_t now_us, size_t limit, const std::unordered_set<int64_t>& exclude,
      const std::optional<OutboxCursor>& after) = 0;
  StatusOr<DueNotifications> ClaimDueNotifications(int64_t now_us, size_t limit,
                                                   const std::unordered_set<int64_t>& exclude) {
    return ClaimDueNotifications(now_us, limit, exclude, std::nullopt);
  }

  // Logs `attempt` and applies `update` (see NotifyUpdate) in one
  // transaction (group-committed with other writes arriving meanwhile).
  // Errors: kNotFound if the notification no longer exists (reset
  // meanwhile); kInternal.
  virtual Status RecordNotifyAttempt(const NotifyAttempt& attempt, const NotifyUpdate& update) = 0;

  // Newest first.
  virtual StatusOr<std::vector<Notification>> ListNotifications(
      const NotificationFilter& filter) = 0;
  // `key` is the numeric id or the notify_id. Errors: kNotFound naming it.
  virtual StatusOr<Notification> GetNotification(std::string_view key) = 0;
  // Oldest first.
  virtual StatusOr<std::vector<NotifyAttempt>> ListNotifyAttempts(int64_t notification_id) = 0;

  // Makes one notification pending again with a new series (attempts 0),
  // due at now_us, whatever its state. Errors: kNotFound.
  virtual StatusOr<Notification> ResendNotification(std::string_view key, int64_t now_us) = 0;
  // The same for every notification in `state` whose updated_at >= since
  // (unix seconds; 0: all). Returns how many. Errors: kInvalidField if state
  // is pending or acked.
  virtual StatusOr<int64_t> ResendNotifications(NotifyState state, int64_t since,
                                                int64_t now_us) = 0;
  // How many notifications are in each state (every state present, maybe 0).
  virtual StatusOr<std::map<NotifyState, int64_t>> CountNotifications() = 0;
  // created_at (unix seconds) of the oldest pending notification, nullopt
  // when none is pending (for GET /metrics). Errors: kInternal (also the
  // default, for a store that keeps no outbox).
  virtual StatusOr<std::optional<int64_t>> OldestPendingNotification() {
    return Status(ErrorCode::kInternal, "this store does not track pending notifications");
  }
};

struct SqliteStoreOptions {
  // A file path, or ":memory:" (one private in-memory database).
  std::string path = ":memory:";
  // "NORMAL" (survives a process crash such as kill -9; the default) or
  // "FULL" (also survives power loss, at a write-throughput cost).
  std::string synchronous = "NORMAL";
  // The SQLite VFS to open the file through ("": the default). Tests use it
  // to inject I/O faults (sandbox/store/faulty_vfs.h).
  std::string vfs;
  // Reads (queries, the outbox scan, the cashier and control views) run on
  // up to this many connections of their own, opened on demand, and never
  // wait for the writer (WAL readers see the last commit). 0, an in-memory
  // database or a custom VFS: reads share the writer's connection.
  int read_connections = 8;
  // Group commit: at most this many writes share one transaction.
  int max_batch = 128;
};

// Opens (creating if needed) and migrates the database. WAL mode, schema
// version in PRAGMA user_version, migrations applied in order at open.
// Errors: kInternal naming the path and SQLite's message.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_STORE_STORE_H_
