// The Store on SQLite: one connection, one mutex, cached prepared statements,
// and a background checkpointer (its own connection and thread) so that no
// commit runs a WAL checkpoint.
//
// Every mutating method is one InWriteTxn(...) call: BEGIN IMMEDIATE, a body
// that reads and writes through the helpers below, then COMMIT, or ROLLBACK
// on any error. Work that must happen atomically with a state change (such as
// a future notification outbox row) belongs inside that same body.
#include "sandbox/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sandbox/store/store.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {
namespace internal {
namespace {

// Append only. Amounts are INTEGER fen, times INTEGER unix seconds, statuses
// their TEXT names (store.cc); the CHECKs restate the store's invariants so a
// bug cannot persist an impossible row.
constexpr std::array<std::string_view, 4> kMigrations = {
    // 1: orders and their refunds.
    R"sql(
CREATE TABLE orders (
  merchantno     TEXT    NOT NULL,
  out_trade_no   TEXT    NOT NULL,
  trade_type     TEXT    NOT NULL,
  total_fee      INTEGER NOT NULL CHECK (total_fee > 0),
  pay_chnl       TEXT    NOT NULL,
  subject        TEXT    NOT NULL,
  body           TEXT    NOT NULL,
  attach         TEXT    NOT NULL,
  notify_url     TEXT    NOT NULL,
  return_url     TEXT    NOT NULL,
  client_ip      TEXT    NOT NULL,
  auth_code      TEXT    NOT NULL,
  cashier_token  TEXT    UNIQUE,  -- NULL when the order has none (micropay)
  status         TEXT    NOT NULL CHECK (status IN
                   ('NOTPAY', 'USERPAYING', 'SUCCESS', 'REFUND', 'CLOSED', 'PAYERROR')),
  transaction_id TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  paid_at        INTEGER NOT NULL,
  closed_at      INTEGER NOT NULL,
  refunded_fee   INTEGER NOT NULL CHECK (refunded_fee >= 0 AND refunded_fee <= total_fee),
  refund_count   INTEGER NOT NULL CHECK (refund_count >= 0),
  PRIMARY KEY (merchantno, out_trade_no)
);
CREATE INDEX orders_by_merchant_created ON orders (merchantno, created_at);
CREATE INDEX orders_by_status ON orders (status, created_at);
CREATE TABLE refunds (
  merchantno    TEXT    NOT NULL,
  out_trade_no  TEXT    NOT NULL,
  out_refund_no TEXT    NOT NULL,
  refund_fee    INTEGER NOT NULL CHECK (refund_fee > 0),
  status        TEXT    NOT NULL CHECK (status IN ('SUCCESS', 'PROCESSING', 'FAIL')),
  created_at    INTEGER NOT NULL,
  success_at    INTEGER NOT NULL,
  PRIMARY KEY (merchantno, out_refund_no),
  FOREIGN KEY (merchantno, out_trade_no) REFERENCES orders (merchantno, out_trade_no)
    ON DELETE CASCADE
);
CREATE INDEX refunds_by_order ON refunds (merchantno, out_trade_no);
)sql",
    // 2: the notification outbox and its delivery log. Times: *_us columns
    // and next_attempt_at are unix microseconds of the sandbox clock, the
    // others unix seconds. notify_id is NULL only between the INSERT and the
    // UPDATE that names the row (one transaction). AUTOINCREMENT: ids, and so
    // notify_ids, are never reused, not even after a reset.
    R"sql(
CREATE TABLE notify_meta (
  salt TEXT NOT NULL CHECK (length(salt) = 16)
);
INSERT INTO notify_meta (salt) VALUES (lower(hex(randomblob(8))));
CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  notify_id       TEXT    UNIQUE,
  type            TEXT    NOT NULL CHECK (type IN ('payment', 'refund')),
  merchantno      TEXT    NOT NULL,
  out_trade_no    TEXT    NOT NULL,
  out_refund_no   TEXT    NOT NULL,
  payload         TEXT    NOT NULL,
  notify_url      TEXT    NOT NULL,
  delivered_to    TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'acked', 'failed', 'blocked')),
  attempts        INTEGER NOT NULL CHECK (attempts >= 0),
  total_attempts  INTEGER NOT NULL CHECK (total_attempts >= attempts),
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  acked_at        INTEGER NOT NULL,
  last_error      TEXT    NOT NULL,
  FOREIGN KEY (merchantno, out_trade_no) REFERENCES orders (merchantno, out_trade_no)
    ON DELETE CASCADE
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
CREATE INDEX notifications_by_order ON notifications (merchantno, out_trade_no);
CREATE TABLE notify_attempts (
  notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  n               INTEGER NOT NULL CHECK (n >= 1),
  at_us           INTEGER NOT NULL,
  url             TEXT    NOT NULL,
  http_status     INTEGER NOT NULL,
  latency_us      INTEGER NOT NULL,
  response_head   TEXT    NOT NULL,
  error           TEXT    NOT NULL,
  acked           INTEGER NOT NULL CHECK (acked IN (0, 1)),
  PRIMARY KEY (notification_id, n)
);
)sql",
    // 3: the fault injection plan of a notification (NotifyPlanJson,
    // sandbox/faults/fault_effects.h), written with the row so it survives a
    // restart; '' when none.
    R"sql(
ALTER TABLE notifications ADD COLUMN fault_plan TEXT NOT NULL DEFAULT '';
)sql",
    // 4: fault injection that acts later (store.h, ScheduledAction): the
    // X-Sandbox-Fault header kept with the order, and the actions due on the
    // sandbox clock (due_us, delay_us: microseconds), so a restart applies
    // them (an overdue one at once).
    R"sql(
ALTER TABLE orders ADD COLUMN fault_header TEXT NOT NULL DEFAULT '';
CREATE TABLE scheduled_actions (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind           TEXT    NOT NULL CHECK (kind IN ('pay_outcome', 'late_success', 'refund_outcome')),
  merchantno     TEXT    NOT NULL,
  out_trade_no   TEXT    NOT NULL,
  out_refund_no  TEXT    NOT NULL,
  due_us         INTEGER NOT NULL,
  delay_us       INTEGER NOT NULL CHECK (delay_us >= 0),
  outcome        TEXT    NOT NULL CHECK (outcome IN ('success', 'fail', 'cancel')),
  channel        TEXT    NOT NULL,
  transaction_id TEXT    NOT NULL,
  note           TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  FOREIGN KEY (merchantno, out_trade_no) REFERENCES orders (merchantno, out_trade_no)
    ON DELETE CASCADE
);
CREATE INDEX scheduled_actions_due ON scheduled_actions (due_us, id);
CREATE INDEX scheduled_actions_by_order ON scheduled_actions (merchantno, out_trade_no);
)sql",
};

}  // namespace

std::span<const std::string_view> SqliteMigrations() { return kMigrations; }

}  // namespace internal

namespace {

constexpr int kBusyTimeoutMs = 5000;
// The background checkpointer (see Checkpointer): a PASSIVE checkpoint once
// the WAL has this many pages after a commit (2 MiB with 4 KiB pages; half of
// SQLite's autocheckpoint default, so that the WAL's high-water mark stays
// small on a small disk: with 1,000 pages the WAL alone filled the 4 MiB
// tmpfs of disk_full_test under ASan; 256 pages also passed but checkpointed
// so often that `vkspay-bench notify` lost 10%), a TRUNCATE one when a
// PASSIVE one left more than kTruncateWalPages in the log (readers or writers
// kept it from finishing), and a TRUNCATE one after a write failed with
// SQLITE_FULL, to give the WAL's space back.
constexpr int kCheckpointWalPages = 512;
constexpr int kTruncateWalPages = 16 * kCheckpointWalPages;

// Column lists shared by every SELECT and INSERT, in the order ReadOrder and
// ReadRefund expect.
#define VKSPAY_ORDER_COLUMNS                                                           \
  "merchantno, out_trade_no, trade_type, total_fee, pay_chnl, subject, body, attach, " \
  "notify_url, return_url, client_ip, auth_code, cashier_token, status, "              \
  "transaction_id, created_at, expires_at, paid_at, closed_at, refunded_fee, refund_count, " \
  "fault_header"
#define VKSPAY_REFUND_COLUMNS \
  "merchantno, out_trade_no, out_refund_no, refund_fee, status, created_at, success_at"

constexpr std::string_view kSelectOrderByKey =
    "SELECT " VKSPAY_ORDER_COLUMNS " FROM orders WHERE merchantno = ?1 AND out_trade_no = ?2";
constexpr std::string_view kSelectOrderByToken =
    "SELECT " VKSPAY_ORDER_COLUMNS " FROM orders WHERE cashier_token = ?1";
constexpr std::string_view kInsertOrder =
    "INSERT INTO orders (" VKSPAY_ORDER_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
    "?18, ?19, ?20, ?21, ?22)";
// Everything about an order that changes after it is created.
constexpr std::string_view kUpdateOrderState =
    "UPDATE orders SET status = ?3, pay_chnl = ?4, transaction_id = ?5, paid_at = ?6, "
    "closed_at = ?7, refunded_fee = ?8, refund_count = ?9 "
    "WHERE merchantno = ?1 AND out_trade_no = ?2";
constexpr std::string_view kSelectRefundByKey =
    "SELECT " VKSPAY_REFUND_COLUMNS " FROM refunds WHERE merchantno = ?1 AND out_refund_no = ?2";
constexpr std::string_view kSelectRefundsOfOrder =
    "SELECT " VKSPAY_REFUND_COLUMNS
    " FROM refunds WHERE merchantno = ?1 AND out_trade_no = ?2 ORDER BY created_at, rowid";
constexpr std::string_view kInsertRefund =
    "INSERT INTO refunds (" VKSPAY_REFUND_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr std::string_view kUpdateRefundState =
    "UPDATE refunds SET status = ?3, success_at = ?4 WHERE merchantno = ?1 AND out_refund_no = ?2";
// What PROCESSING refunds of an order hold back from the refundable amount.
constexpr std::string_view kSumProcessingRefunds =
    "SELECT COALESCE(SUM(refund_fee), 0) FROM refunds "
    "WHERE merchantno = ?1 AND out_trade_no = ?2 AND status = 'PROCESSING'";

#define VKSPAY_ACTION_COLUMNS                                                                  \
  "id, kind, merchantno, out_trade_no, out_refund_no, due_us, delay_us, outcome, channel, " \
  "transaction_id, note, created_at"
constexpr std::string_view kInsertAction =
    "INSERT INTO scheduled_actions (kind, merchantno, out_trade_no, out_refund_no, due_us, "
    "delay_us, outcome, channel, transaction_id, note, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr std::string_view kSelectDueActions =
    "SELECT " VKSPAY_ACTION_COLUMNS
    " FROM scheduled_actions WHERE due_us <= ?1 ORDER BY due_us, id LIMIT ?2";
constexpr std::string_view kSelectNextActionDue = "SELECT MIN(due_us) FROM scheduled_actions";
constexpr std::string_view kSelectActionsOfOrder =
    "SELECT " VKSPAY_ACTION_COLUMNS
    " FROM scheduled_actions WHERE merchantno = ?1 AND out_trade_no = ?2 ORDER BY due_us, id";
constexpr std::string_view kSelectActionsOfMerchant =
    "SELECT " VKSPAY_ACTION_COLUMNS
    " FROM scheduled_actions WHERE ?1 = '' OR merchantno = ?1 ORDER BY due_us, id";
constexpr std::string_view kDeleteAction = "DELETE FROM scheduled_actions WHERE id = ?1";
// The buyer cancelled: a late success counts from now.
constexpr std::string_view kMoveLateSuccess =
    "UPDATE scheduled_actions SET due_us = ?3 + delay_us "
    "WHERE kind = 'late_success' AND merchantno = ?1 AND out_trade_no = ?2";
// notify.refund_first: the held payment notification falls due now.
constexpr std::string_view kReleaseHeldPayment =
    "UPDATE notifications SET next_attempt_at = ?3 "
    "WHERE merchantno = ?1 AND out_trade_no = ?2 AND type = 'payment' AND state = 'pending' "
    "AND total_attempts = 0 AND next_attempt_at > ?3 AND fault_plan <> '' "
    "AND json_extract(fault_plan, '$.refund_first_hold_s') > 0";

#define VKSPAY_NOTIFY_COLUMNS                                                               \
  "id, notify_id, type, merchantno, out_trade_no, out_refund_no, payload, notify_url, "     \
  "delivered_to, state, attempts, total_attempts, next_attempt_at, created_at, updated_at, " \
  "acked_at, last_error, fault_plan"
#define VKSPAY_ATTEMPT_COLUMNS \
  "notification_id, n, at_us, url, http_status, latency_us, response_head, error, acked"

constexpr std::string_view kInsertNotification =
    "INSERT INTO notifications (type, merchantno, out_trade_no, out_refund_no, payload, "
    "notify_url, delivered_to, state, attempts, total_attempts, next_attempt_at, created_at, "
    "updated_at, acked_at, last_error, fault_plan) "
    "VALUES (?1, ?2, ?3, ?4, '', ?5, '', 'pending', 0, 0, ?6, ?7, ?7, 0, '', ?8)";
constexpr std::string_view kNameNotification =
    "UPDATE notifications SET notify_id = ?2, payload = ?3 WHERE id = ?1";
// Covered by the index notifications_due (state, next_attempt_at, rowid): the
// scan skips rows the dispatcher already holds without reading their payload.
constexpr std::string_view kSelectPendingNotificationIds =
    "SELECT id, next_attempt_at FROM notifications WHERE state = 'pending' "
    "ORDER BY next_attempt_at, id";
constexpr std::string_view kSelectNotificationById =
    "SELECT " VKSPAY_NOTIFY_COLUMNS " FROM notifications WHERE id = ?1";
constexpr std::string_view kSelectNotificationByNotifyId =
    "SELECT " VKSPAY_NOTIFY_COLUMNS " FROM notifications WHERE notify_id = ?1";
constexpr std::string_view kSelectAttempts =
    "SELECT " VKSPAY_ATTEMPT_COLUMNS " FROM notify_attempts WHERE notification_id = ?1 ORDER BY n";
constexpr std::string_view kInsertAttempt =
    "INSERT INTO notify_attempts (" VKSPAY_ATTEMPT_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
// Every attempt counts and names where it went.
constexpr std::string_view kCountAttempt =
    "UPDATE notifications SET total_attempts = ?2, delivered_to = ?3 WHERE id = ?1";
// The attempt's outcome, only if nothing (a resend) started a new series.
constexpr std::string_view kApplyAttempt =
    "UPDATE notifications SET attempts = attempts + 1, state = ?3, next_attempt_at = ?4, "
    "updated_at = ?5, acked_at = ?6, last_error = ?7 "
    "WHERE id = ?1 AND state = 'pending' AND attempts = ?2";
constexpr std::string_view kResendNotification =
    "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = ?2, "
    "updated_at = ?3 WHERE id = ?1";
constexpr std::string_view kResendNotificationsInState =
    "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = ?3, "
    "updated_at = ?4 WHERE state = ?1 AND updated_at >= ?2";
constexpr std::string_view kCountNotifications =
    "SELECT state, count(*) FROM notifications GROUP BY state";

// At most this much of a merchant's answer is kept per attempt.
constexpr size_t kResponseHeadBytes = 256;

// Converts a failed sqlite3_* return code. SQLite's own message is the most
// specific one it has (sqlite3_errmsg on the connection when there is one).
Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "数据库错误: " + std::string(what) + ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (SQLite 错误码 " + std::to_string(rc) + ")";
  return Status(ErrorCode::kInternal, std::move(msg));
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The start of a statement's SQL, to say which one failed.
std::string Describe(sqlite3_stmt* stmt) {
  std::string_view sql = sqlite3_sql(stmt);
  constexpr size_t kMax = 60;
  if (sql.size() <= kMax) return "执行 " + Quote(sql);
  return "执行 " + Quote(std::string(sql.substr(0, kMax)) + "...");
}

// A text parameter that is bound as NULL when empty (for UNIQUE columns where
// "none" must not collide with another "none").
struct NullIfEmpty {
  std::string_view text;
};

// One use of a cached prepared statement. On destruction it resets the
// statement and clears its bindings, so the next use starts clean even after
// an error. Movable, not copyable; used only under SqliteStore::mu_.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ != nullptr) {
      // reset() repeats the last step's error code, which was already reported.
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  // Binds args to ?1, ?2, ... in order.
  template <typename... Args>
  Status Bind(const Args&... args) {
    int index = 0;
    int rc = SQLITE_OK;
    ((rc = rc == SQLITE_OK ? BindOne(++index, args) : rc), ...);
    if (rc != SQLITE_OK) {
      return SqliteError(db_, rc,
                         "绑定第 " + std::to_string(index) + " 个参数, " + Describe(stmt_));
    }
    return Status::Ok();
  }

  // True when a row is ready, false when the statement is done.
  StatusOr<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, Describe(stmt_));
  }

  // Steps a statement that returns no rows.
  Status Run() {
    StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (*row) {
      return Status(ErrorCode::kInternal, "数据库错误: " + Describe(stmt_) + " 意外返回了数据行");
    }
    return Status::Ok();
  }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    if (p == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  int BindOne(int i, int64_t v) { return sqlite3_bind_int64(stmt_, i, v); }
  int BindOne(int i, std::string_view v) {
    // A null data pointer would bind NULL; an empty string must stay "".
    return sqlite3_bind_text64(stmt_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  }
  int BindOne(int i, NullIfEmpty v) {
    if (v.text.empty()) return sqlite3_bind_null(stmt_, i);
    return BindOne(i, v.text);
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

StatusOr<Order> ReadOrder(const Stmt& st) {
  Order o;
  o.merchantno = st.Text(0);
  o.out_trade_no = st.Text(1);
  o.trade_type = st.Text(2);
  o.total_fee = st.Int(3);
  o.pay_chnl = st.Text(4);
  o.subject = st.Text(5);
  o.body = st.Text(6);
  o.attach = st.Text(7);
  o.notify_url = st.Text(8);
  o.return_url = st.Text(9);
  o.client_ip = st.Text(10);
  o.auth_code = st.Text(11);
  o.cashier_token = st.Text(12);
  const std::string status = st.Text(13);
  std::optional<OrderStatus> parsed = ParseOrderStatus(status);
  if (!parsed) {
    return Status(ErrorCode::kInternal, "数据库错误: 订单 out_trade_no=" + o.out_trade_no +
                                            " 的 status 无效: " + Quote(status));
  }
  o.status = *parsed;
  o.transaction_id = st.Text(14);
  o.created_at = st.Int(15);
  o.expires_at = st.Int(16);
  o.paid_at = st.Int(17);
  o.closed_at = st.Int(18);
  o.refunded_fee = st.Int(19);
  o.refund_count = st.Int(20);
  o.fault_header = st.Text(21);
  return o;
}

std::optional<RefundStatus> ParseRefundStatus(std::string_view s) {
  for (RefundStatus status :
       {RefundStatus::kSuccess, RefundStatus::kProcessing, RefundStatus::kFail}) {
    if (ToString(status) == s) return status;
  }
  return std::nullopt;
}

StatusOr<Refund> ReadRefund(const Stmt& st) {
  Refund r;
  r.merchantno = st.Text(0);
  r.out_trade_no = st.Text(1);
  r.out_refund_no = st.Text(2);
  r.refund_fee = st.Int(3);
  const std::string status = st.Text(4);
  std::optional<RefundStatus> parsed = ParseRefundStatus(status);
  if (!parsed) {
    return Status(ErrorCode::kInternal, "数据库错误: 退款单 out_refund_no=" + r.out_refund_no +
                                            " 的 status 无效: " + Quote(status));
  }
  r.status = *parsed;
  r.created_at = st.Int(5);
  r.success_at = st.Int(6);
  return r;
}

StatusOr<Notification> ReadNotification(const Stmt& st) {
  Notification n;
  n.id = st.Int(0);
  n.notify_id = st.Text(1);
  n.type = st.Text(2);
  n.merchantno = st.Text(3);
  n.out_trade_no = st.Text(4);
  n.out_refund_no = st.Text(5);
  n.payload = st.Text(6);
  n.notify_url = st.Text(7);
  n.delivered_to = st.Text(8);
  const std::string state = st.Text(9);
  std::optional<NotifyState> parsed = ParseNotifyState(state);
  if (!parsed) {
    return Status(ErrorCode::kInternal, "数据库错误: 通知 id=" + std::to_string(n.id) +
                                            " 的 state 无效: " + Quote(state));
  }
  n.state = *parsed;
  n.attempts = st.Int(10);
  n.total_attempts = st.Int(11);
  n.next_attempt_us = st.Int(12);
  n.created_at = st.Int(13);
  n.updated_at = st.Int(14);
  n.acked_at = st.Int(15);
  n.last_error = st.Text(16);
  n.fault_plan = st.Text(17);
  return n;
}

NotifyAttempt ReadAttempt(const Stmt& st) {
  NotifyAttempt a;
  a.notification_id = st.Int(0);
  a.n = st.Int(1);
  a.at_us = st.Int(2);
  a.url = st.Text(3);
  a.http_status = static_cast<int>(st.Int(4));
  a.latency_us = st.Int(5);
  a.response_head = st.Text(6);
  a.error = st.Text(7);
  a.acked = st.Int(8) != 0;
  return a;
}

StatusOr<ScheduledAction> ReadAction(const Stmt& st) {
  ScheduledAction a;
  a.id = st.Int(0);
  const std::string kind = st.Text(1);
  std::optional<ActionKind> k = ParseActionKind(kind);
  const std::string outcome = st.Text(7);
  std::optional<PayOutcome> o = ParsePayOutcomeName(outcome);
  if (!k || !o) {
    return Status(ErrorCode::kInternal, "数据库错误: 计划动作 id=" + std::to_string(a.id) +
                                            " 的 kind/outcome 无效: " + Quote(kind) + "/" +
                                            Quote(outcome));
  }
  a.kind = *k;
  a.merchantno = st.Text(2);
  a.out_trade_no = st.Text(3);
  a.out_refund_no = st.Text(4);
  a.due_us = st.Int(5);
  a.delay_us = st.Int(6);
  a.outcome = *o;
  a.channel = st.Text(8);
  a.transaction_id = st.Text(9);
  a.note = st.Text(10);
  a.created_at = st.Int(11);
  return a;
}

// "N" + the database's 16-hex salt + the row id as 16 hex digits.
std::string MakeNotifyId(std::string_view salt, int64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "N";
  out += salt;
  for (int shift = 60; shift >= 0; shift -= 4) {
    out.push_back(kHex[(static_cast<uint64_t>(id) >> shift) & 0xf]);
  }
  return out;
}

// A key that is all digits names the row id; anything else a notify_id.
std::optional<int64_t> NumericId(std::string_view key) {
  if (key.empty() || key.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool IsUnpaid(OrderStatus s) { return s == OrderStatus::kNotPay || s == OrderStatus::kUserPaying; }

// The buyer's outcome on an unpaid order (in memory; the caller writes it):
// SUCCESS with channel and transaction id, PAYERROR or CLOSED.
void SetPayOutcome(Order& o, PayOutcome outcome, std::string_view channel,
                   std::string_view transaction_id, int64_t now) {
  switch (outcome) {
    case PayOutcome::kSuccess:
      o.status = OrderStatus::kSuccess;
      o.pay_chnl = std::string(channel);
      o.transaction_id = std::string(transaction_id);
      o.paid_at = now;
      break;
    case PayOutcome::kFail:
      o.status = OrderStatus::kPayError;
      o.closed_at = now;
      break;
    case PayOutcome::kCancel:
      o.status = OrderStatus::kClosed;
      o.closed_at = now;
      break;
  }
}

// An unpaid order whose time ran out counts as closed. expires_at 0 means the
// order never expires.
bool IsExpiredUnpaid(const Order& o, int64_t now) {
  return IsUnpaid(o.status) && o.expires_at > 0 && now >= o.expires_at;
}

Status OrderNotExist(std::string_view merchantno, std::string_view out_trade_no) {
  return Status(ErrorCode::kOrderNotExist, "merchantno=" + std::string(merchantno) +
                                               " 下没有 out_trade_no=" + std::string(out_trade_no) +
                                               " 的订单");
}

Status OrderExpired(const Order& o) {
  return Status(ErrorCode::kOrderClosed, "out_trade_no=" + o.out_trade_no + " 已于 " +
                                             FormatDisplayTime(o.expires_at) + " 过期未支付");
}

// The error for acting on an order that is no longer unpaid.
Status NotUnpaid(const Order& o) {
  const std::string name = "out_trade_no=" + o.out_trade_no;
  switch (o.status) {
    case OrderStatus::kSuccess:
    case OrderStatus::kRefund:
      return Status(ErrorCode::kOrderPaid, "" + name + " 已于 " +
                                               FormatDisplayTime(o.paid_at) + " 支付 " +
                                               FormatYuan(o.total_fee) + " 元");
    case OrderStatus::kClosed:
      return Status(ErrorCode::kOrderClosed, "" + name + " 的状态为 CLOSED");
    case OrderStatus::kPayError:
      return Status(ErrorCode::kOrderPayError,
                    "" + name + " 的状态为 PAYERROR, 不能再支付");
    case OrderStatus::kNotPay:
    case OrderStatus::kUserPaying:
      break;
  }
  return Status(ErrorCode::kInternal, "内部错误: " + name + " 未支付, 不应走到这里");
}

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Runs WAL checkpoints on its own connection and thread, so that no commit
// pays for one (with synchronous=NORMAL a checkpoint fsyncs the WAL and the
// database, milliseconds on a disk). The writer connection has no
// autocheckpoint; its WAL hook calls Poke() after every commit with the WAL's
// size. Durability is unchanged: a commit is in the WAL (and, with FULL,
// synced) when it returns; the checkpoint only copies committed pages back.
class Checkpointer {
 public:
  Checkpointer() = default;
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;
  ~Checkpointer() { Stop(); }

  // Opens the second connection (same file, same VFS and synchronous) and
  // starts the thread.
  Status Start(const std::string& path, const std::string& vfs, const std::string& sync) {
    int rc = sqlite3_open_v2(path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                             vfs.empty() ? nullptr : vfs.c_str());
    if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    if (rc == SQLITE_OK) {
      rc = sqlite3_exec(db_, ("PRAGMA synchronous = " + sync).c_str(), nullptr, nullptr,
                        nullptr);
    }
    if (rc != SQLITE_OK) {
      Status s = SqliteError(db_, rc, "打开检查点连接 " + Quote(path));
      sqlite3_close(db_);
      db_ = nullptr;
      return s;
    }
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  // Called from the writer's WAL hook (inside its commit): wakes the thread
  // when the WAL has grown past the threshold.
  void Poke(int wal_pages) {
    if (wal_pages < kCheckpointWalPages) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (due_) return;
      due_ = true;
    }
    cv_.notify_one();
  }

  // Called after a write failed with SQLITE_FULL: a TRUNCATE checkpoint
  // copies the WAL back and shrinks it to zero bytes, freeing its space (the
  // pages it holds are mostly versions of the same few database pages).
  void DiskFull() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      truncate_ = true;
      due_ = true;
    }
    cv_.notify_one();
  }

  // Stops the thread and closes the connection; idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    if (db_ != nullptr) {
      sqlite3_close(db_);
      db_ = nullptr;
    }
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) return;
      due_ = false;
      const bool truncate = std::exchange(truncate_, false);
      lock.unlock();
      int log = 0, done = 0;
      // PASSIVE never waits for (or blocks) a writer; SQLITE_BUSY (another
      // checkpoint running) is fine: the next poke tries again.
      int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      if (truncate || (rc == SQLITE_OK && log > kTruncateWalPages)) {
        // Bound the WAL file: waits for the writer (busy timeout), copies
        // everything back and truncates the file to zero bytes.
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  sqlite3* db_ = nullptr;  // only the thread uses it between Start and Stop
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;       // guarded by mu_
  bool truncate_ = false;  // guarded by mu_
  bool stop_ = false;      // guarded by mu_
};

// Thread-safe: every public method takes mu_ for its whole duration, so the
// one connection runs one transaction at a time. Several SqliteStores may
// open the same file (in this or another process); BEGIN IMMEDIATE and the
// busy timeout serialise their writes.
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Opens, configures and migrates. Called once, before the store is shared.
  Status Open(const SqliteStoreOptions& options);

  StatusOr<CreateOrderResult> CreateOrder(const Order& order, bool must_be_new,
                                          int64_t now) override;
  StatusOr<Order> GetOrder(std::string_view merchantno, std::string_view out_trade_no,
                           int64_t now) override;
  StatusOr<Order> GetOrderByToken(std::string_view cashier_token, int64_t now) override;
  StatusOr<Order> CompletePayment(std::string_view merchantno, std::string_view out_trade_no,
                                  PayOutcome outcome, std::string_view channel,
                                  std::string_view transaction_id, int64_t now) override;
  StatusOr<Refund> CreateRefund(std::string_view merchantno, std::string_view out_trade_no,
                                const std::optional<std::string>& requested_out_refund_no,
                                std::string_view generated_out_refund_no, int64_t refund_fee,
                                int64_t now) override;
  StatusOr<Refund> GetRefund(std::string_view merchantno, std::string_view out_trade_no,
                             std::string_view out_refund_no) override;
  StatusOr<std::vector<Refund>> ListRefunds(std::string_view merchantno,
                                            std::string_view out_trade_no) override;
  StatusOr<std::vector<Order>> ListOrders(const OrderFilter& filter) override;
  Status Reset() override;

  void SetOutboxObserver(std::function<void()> observer) override {
    observer_ = std::move(observer);
  }
  void SetNotifyPlanner(NotifyPlanner planner) override { planner_ = std::move(planner); }
  StatusOr<DueNotifications> ClaimDueNotifications(
      int64_t now_us, size_t limit, const std::unordered_set<int64_t>& exclude) override;
  Status RecordNotifyAttempt(const NotifyAttempt& attempt, const NotifyUpdate& update) override;
  StatusOr<std::vector<Notification>> ListNotifications(const NotificationFilter& filter) override;
  StatusOr<Notification> GetNotification(std::string_view key) override;
  StatusOr<std::vector<NotifyAttempt>> ListNotifyAttempts(int64_t notification_id) override;
  StatusOr<Notification> ResendNotification(std::string_view key, int64_t now_us) override;
  StatusOr<int64_t> ResendNotifications(NotifyState state, int64_t since, int64_t now_us) override;
  StatusOr<std::map<NotifyState, int64_t>> CountNotifications() override;

  StatusOr<CreateOrderResult> CreateOrderWithActions(
      const Order& order, bool must_be_new, int64_t now,
      const std::vector<ScheduledAction>& on_create) override;
  StatusOr<Order> StartUserPaying(std::string_view merchantno, std::string_view out_trade_no,
                                  const ScheduledAction& then, int64_t now) override;
  StatusOr<Refund> CreateProcessingRefund(std::string_view merchantno,
                                          std::string_view out_trade_no,
                                          const std::optional<std::string>& requested_out_refund_no,
                                          std::string_view generated_out_refund_no,
                                          int64_t refund_fee, int64_t now,
                                          const ScheduledAction& then) override;
  StatusOr<AppliedActions> ApplyDueActions(int64_t now_us) override;
  StatusOr<std::vector<ScheduledAction>> ListActions(std::string_view merchantno,
                                                     std::string_view out_trade_no) override;
  StatusOr<int64_t> ReleaseHeldPayment(std::string_view merchantno,
                                       std::string_view out_trade_no, int64_t now_us) override;
  StatusOr<CreateOrderResult> CreateAndPay(const Order& order, bool must_be_new, int64_t now,
                                           const std::vector<ScheduledAction>& on_create,
                                           const PaymentStep& pay) override;
  StatusOr<RefundResult> CreateRefundWithOrder(
      std::string_view merchantno, std::string_view out_trade_no,
      const std::optional<std::string>& requested_out_refund_no,
      std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
      const ScheduledAction* then) override;
  int64_t StartupSalt() const override { return startup_salt_; }

 private:
  // Handed to a transaction body.
  struct Txn {
    // Commit what the body wrote even though it returns a (non-kInternal)
    // error: used when an expired order is closed and then reported closed.
    bool keep_writes_on_error = false;
  };

  // Everything below requires mu_ held.

  StatusOr<Stmt> Prepare(std::string_view sql);
  // Runs one cached statement that returns no rows.
  Status Exec(std::string_view sql);
  // Runs uncached SQL (possibly several statements): migrations, pragmas.
  Status ExecScript(const std::string& sql);
  void RollbackIfOpen();
  // After a failed write: if SQLite's last error is SQLITE_FULL, asks the
  // checkpointer to truncate the WAL (Checkpointer::DiskFull).
  void NoteDiskFull();
  // Runs body(Txn&) between BEGIN IMMEDIATE and COMMIT; rolls back if it
  // fails (see Txn) or if COMMIT fails. Returns what body returned.
  template <typename Body>
  auto InWriteTxn(Body&& body) -> std::invoke_result_t<Body&, Txn&>;
  StatusOr<int64_t> UserVersion();
  Status Migrate();

  // Runs `sql` with `args` bound and reads every row with `read`.
  template <typename T, typename... Args>
  StatusOr<std::vector<T>> QueryRows(StatusOr<T> (*read)(const Stmt&), std::string_view sql,
                                     const Args&... args) {
    StatusOr<Stmt> st = Prepare(sql);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(args...));
    std::vector<T> out;
    for (;;) {
      StatusOr<bool> row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      StatusOr<T> item = read(*st);
      if (!item.ok()) return item.status();
      out.push_back(std::move(item).value());
    }
  }
  template <typename... Args>
  StatusOr<std::vector<Order>> QueryOrders(std::string_view sql, const Args&... args) {
    return QueryRows(ReadOrder, sql, args...);
  }
  template <typename... Args>
  StatusOr<std::vector<Refund>> QueryRefunds(std::string_view sql, const Args&... args) {
    return QueryRows(ReadRefund, sql, args...);
  }
  // kOrderNotExist if absent.
  StatusOr<Order> LoadOrder(std::string_view merchantno, std::string_view out_trade_no);
  StatusOr<Order> LoadOrderByToken(std::string_view cashier_token);
  // kRefundNotExist if absent.
  StatusOr<Refund> LoadRefund(std::string_view merchantno, std::string_view out_refund_no);
  Status InsertOrder(const Order& o);
  Status UpdateOrderState(const Order& o);
  Status InsertRefund(const Refund& r);
  // Marks an expired unpaid order CLOSED as of its expiry, in the database
  // and in `o`.
  Status CloseExpired(Order& o);
  // Loads an order with `load`, closing it first if it has expired.
  template <typename Load>
  StatusOr<Order> GetWithLazyClose(const Load& load, int64_t now);
  template <typename... Args>
  StatusOr<std::vector<Notification>> QueryNotifications(std::string_view sql,
                                                         const Args&... args) {
    return QueryRows(ReadNotification, sql, args...);
  }
  // kNotFound if absent.
  StatusOr<Notification> LoadNotification(std::string_view key);
  // Writes the outbox row for a payment (refund == nullptr) or a new refund
  // of `order` (as it is after the change), due at once.
  Status InsertNotification(const Order& order, const Refund* refund, int64_t now);
  Status InsertAction(const ScheduledAction& a, int64_t now);
  Status UpdateRefundState(const Refund& r);
  template <typename... Args>
  StatusOr<std::vector<ScheduledAction>> QueryActions(std::string_view sql, const Args&... args) {
    return QueryRows(ReadAction, sql, args...);
  }
  // Applies one due action and deletes it, in one transaction. Sets
  // *notified when it wrote a notification.
  Status ApplyAction(const ScheduledAction& a, int64_t now_us, bool* notified);
  // Both refund paths; `then` null: SUCCESS at once with its notification.
  StatusOr<RefundResult> CreateRefundImpl(
      std::string_view merchantno, std::string_view out_trade_no,
      const std::optional<std::string>& requested_out_refund_no,
      std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
      const ScheduledAction* then);
  StatusOr<Order> CompletePaymentLocked(std::string_view merchantno,
                                        std::string_view out_trade_no, PayOutcome outcome,
                                        std::string_view channel,
                                        std::string_view transaction_id, int64_t now);
  // The bodies of CreateOrderWithActions, CompletePayment and StartUserPaying,
  // to run inside a transaction (CreateAndPay runs two of them in one).
  StatusOr<CreateOrderResult> CreateOrderInTxn(Txn& txn, const Order& order, bool must_be_new,
                                               int64_t now,
                                               const std::vector<ScheduledAction>& on_create);
  StatusOr<Order> PayInTxn(Txn& txn, Order o, PayOutcome outcome, std::string_view channel,
                           std::string_view transaction_id, int64_t now);
  StatusOr<Order> StartUserPayingInTxn(Txn& txn, Order o, const ScheduledAction& then,
                                       int64_t now);
  // Tells the observer, if any; called without mu_.
  void NotifyObserver() const {
    if (observer_) observer_();
  }

  const std::string path_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;  // guarded by mu_
  // Prepared once with SQLITE_PREPARE_PERSISTENT, keyed by SQL text; guarded
  // by mu_.
  std::unordered_map<std::string, sqlite3_stmt*, StringHash, std::equal_to<>> stmts_;
  // This database's notify_id salt, read at open; guarded by mu_.
  std::string notify_salt_;
  // Orders + refunds stored at open (StartupSalt); set in Open, then only read.
  int64_t startup_salt_ = 0;
  // BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared at open; guarded by mu_.
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  // Null for an in-memory database and with a custom VFS (the fault-injection
  // tests count each operation's I/O calls, which a background thread would
  // make vary): SQLite's own autocheckpoint then runs inside commits.
  std::unique_ptr<Checkpointer> checkpointer_;
  // Set before the store is shared, then only read.
  std::function<void()> observer_;
  NotifyPlanner planner_;
};

SqliteStore::~SqliteStore() {
  // First: its connection must close before ours, so that the last close
  // (ours) checkpoints and removes the WAL.
  if (checkpointer_ != nullptr) checkpointer_->Stop();
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  stmts_.clear();
  if (db_ != nullptr) {
    [[maybe_unused]] const int rc = sqlite3_close(db_);
    assert(rc == SQLITE_OK && "every statement is finalized above");
  }
}

Status SqliteStore::Open(const SqliteStoreOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string sync;
  for (char c : options.synchronous) {
    sync.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  if (sync != "NORMAL" && sync != "FULL") {
    return Status(ErrorCode::kInvalidField,
                  "synchronous 必须是 NORMAL 或 FULL, 收到 " + Quote(options.synchronous));
  }
  const std::string where = "打开数据库 " + Quote(path_);
  const int rc = sqlite3_open_v2(
      path_.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      options.vfs.empty() ? nullptr : options.vfs.c_str());
  // On failure db_ may still hold a handle (for the message); the destructor
  // closes it.
  if (rc != SQLITE_OK) return SqliteError(db_, rc, where);
  int r = sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  if (r != SQLITE_OK) return SqliteError(db_, r, where + ", 设置 busy_timeout");

  auto annotate = [&](const Status& s) {
    return Status(s.code(), s.message() + " (" + where + ")");
  };
  Status s = Exec("PRAGMA foreign_keys = ON");
  if (!s.ok()) return annotate(s);
  {
    StatusOr<Stmt> st = Prepare("PRAGMA journal_mode = WAL");
    if (!st.ok()) return annotate(st.status());
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return annotate(row.status());
    // An in-memory database has no WAL and keeps "memory".
    const std::string mode = *row ? st->Text(0) : "";
    if (mode != "wal" && mode != "memory") {
      return Status(ErrorCode::kInternal, "数据库错误: 无法启用 WAL 模式, journal_mode 为 " +
                                              Quote(mode) + " (" + where + ")");
    }
  }
  s = ExecScript("PRAGMA synchronous = " + sync);
  if (!s.ok()) return annotate(s);
  for (auto [sql, out] : {std::pair{"BEGIN IMMEDIATE", &begin_}, std::pair{"COMMIT", &commit_},
                          std::pair{"ROLLBACK", &rollback_}}) {
    StatusOr<Stmt> st = Prepare(sql);  // owned by stmts_, finalized with them
    if (!st.ok()) return annotate(st.status());
    *out = stmts_.find(std::string_view(sql))->second;
  }
  s = Migrate();
  if (!s.ok()) return annotate(s);
  {
    StatusOr<Stmt> st = Prepare("SELECT salt FROM notify_meta LIMIT 1");
    if (!st.ok()) return annotate(st.status());
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return annotate(row.status());
    if (!*row) {
      return Status(ErrorCode::kInternal, "数据库错误: notify_meta 表为空 (" + where + ")");
    }
    notify_salt_ = st->Text(0);
  }
  {
    StatusOr<Stmt> st =
        Prepare("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM refunds)");
    if (!st.ok()) return annotate(st.status());
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return annotate(row.status());
    startup_salt_ = *row ? st->Int(0) : 0;
  }
  const char* file = sqlite3_db_filename(db_, "main");
  if (options.vfs.empty() && file != nullptr && *file != '\0') {
    auto checkpointer = std::make_unique<Checkpointer>();
    s = checkpointer->Start(file, options.vfs, sync);
    if (!s.ok()) return annotate(s);
    checkpointer_ = std::move(checkpointer);
    // Replaces the autocheckpoint (which is itself a WAL hook).
    sqlite3_wal_hook(
        db_,
        [](void* arg, sqlite3*, const char*, int pages) -> int {
          static_cast<Checkpointer*>(arg)->Poke(pages);
          return SQLITE_OK;
        },
        checkpointer_.get());
  }
  return Status::Ok();
}

StatusOr<Stmt> SqliteStore::Prepare(std::string_view sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(db_, rc, "准备语句 " + Quote(sql));
    }
    it = stmts_.emplace(std::string(sql), stmt).first;
  }
  return Stmt(db_, it->second);
}

Status SqliteStore::Exec(std::string_view sql) {
  StatusOr<Stmt> st = Prepare(sql);
  if (!st.ok()) return st.status();
  return st->Run();
}

Status SqliteStore::ExecScript(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // the same text as sqlite3_errmsg, which SqliteError uses
  if (rc != SQLITE_OK) {
    const size_t start = sql.find_first_not_of(" \n");
    const std::string head = start == std::string::npos ? sql : sql.substr(start, 60);
    return SqliteError(db_, rc, "执行 " + Quote(head));
  }
  return Status::Ok();
}

void SqliteStore::RollbackIfOpen() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_NOMEM) make
  // SQLite roll back by itself; a second ROLLBACK would only fail.
  if (sqlite3_get_autocommit(db_) != 0) return;
  [[maybe_unused]] Status s = Stmt(db_, rollback_).Run();
  assert(sqlite3_get_autocommit(db_) != 0 && "ROLLBACK left the transaction open");
}

void SqliteStore::NoteDiskFull() {
  if (checkpointer_ != nullptr && (sqlite3_errcode(db_) & 0xff) == SQLITE_FULL) {
    checkpointer_->DiskFull();
  }
}

template <typename Body>
auto SqliteStore::InWriteTxn(Body&& body) -> std::invoke_result_t<Body&, Txn&> {
  assert(sqlite3_get_autocommit(db_) != 0 && "a transaction was left open");
  Status begin = Stmt(db_, begin_).Run();
  if (!begin.ok()) {
    RollbackIfOpen();
    return begin;
  }
  Txn txn;
  auto result = body(txn);
  const Status& s = StatusOf(result);
  const bool commit = s.ok() || (txn.keep_writes_on_error && s.code() != ErrorCode::kInternal);
  if (!commit) {
    NoteDiskFull();
    RollbackIfOpen();
    return result;
  }
  Status committed = Stmt(db_, commit_).Run();
  if (!committed.ok()) {
    NoteDiskFull();
    RollbackIfOpen();
    return committed;
  }
  return result;
}

StatusOr<int64_t> SqliteStore::UserVersion() {
  StatusOr<Stmt> st = Prepare("PRAGMA user_version");
  if (!st.ok()) return st.status();
  StatusOr<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status(ErrorCode::kInternal, "数据库错误: PRAGMA user_version 没有返回值");
  return st->Int(0);
}

Status SqliteStore::Migrate() {
  const auto migrations = internal::SqliteMigrations();
  const auto latest = static_cast<int64_t>(migrations.size());
  StatusOr<int64_t> version = UserVersion();
  if (!version.ok()) return version.status();
  if (*version == latest) return Status::Ok();
  return InWriteTxn([&](Txn&) -> Status {
    // Read again under the write lock: another connection may have migrated
    // the file in between.
    StatusOr<int64_t> current = UserVersion();
    if (!current.ok()) return current.status();
    if (*current < 0 || *current > latest) {
      return Status(ErrorCode::kInternal, "数据库错误: 数据库结构版本 (user_version) 为 " +
                                              std::to_string(*current) + ", 本程序只支持到 " +
                                              std::to_string(latest) + ", 请升级 vkspay-sandbox");
    }
    for (int64_t v = *current; v < latest; ++v) {
      VKSPAY_RETURN_IF_ERROR(ExecScript(std::string(migrations[static_cast<size_t>(v)])));
    }
    return ExecScript("PRAGMA user_version = " + std::to_string(latest));
  });
}

StatusOr<Order> SqliteStore::LoadOrder(std::string_view merchantno, std::string_view out_trade_no) {
  StatusOr<std::vector<Order>> rows = QueryOrders(kSelectOrderByKey, merchantno, out_trade_no);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return OrderNotExist(merchantno, out_trade_no);
  return std::move(rows->front());
}

StatusOr<Order> SqliteStore::LoadOrderByToken(std::string_view cashier_token) {
  StatusOr<std::vector<Order>> rows = QueryOrders(kSelectOrderByToken, cashier_token);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(ErrorCode::kOrderNotExist,
                  "没有 cashier_token=" + std::string(cashier_token) + " 的订单");
  }
  return std::move(rows->front());
}

StatusOr<Refund> SqliteStore::LoadRefund(std::string_view merchantno,
                                         std::string_view out_refund_no) {
  StatusOr<std::vector<Refund>> rows = QueryRefunds(kSelectRefundByKey, merchantno, out_refund_no);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(ErrorCode::kRefundNotExist,
                  "merchantno=" + std::string(merchantno) +
                      " 下没有 out_refund_no=" + std::string(out_refund_no) + " 的退款单");
  }
  return std::move(rows->front());
}

Status SqliteStore::InsertOrder(const Order& o) {
  StatusOr<Stmt> st = Prepare(kInsertOrder);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(
      st->Bind(o.merchantno, o.out_trade_no, o.trade_type, o.total_fee, o.pay_chnl, o.subject,
               o.body, o.attach, o.notify_url, o.return_url, o.client_ip, o.auth_code,
               NullIfEmpty{o.cashier_token}, ToString(o.status), o.transaction_id, o.created_at,
               o.expires_at, o.paid_at, o.closed_at, o.refunded_fee, o.refund_count,
               o.fault_header));
  return st->Run();
}

Status SqliteStore::UpdateOrderState(const Order& o) {
  StatusOr<Stmt> st = Prepare(kUpdateOrderState);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(st->Bind(o.merchantno, o.out_trade_no, ToString(o.status), o.pay_chnl,
                                  o.transaction_id, o.paid_at, o.closed_at, o.refunded_fee,
                                  o.refund_count));
  VKSPAY_RETURN_IF_ERROR(st->Run());
  if (sqlite3_changes64(db_) != 1) {
    return Status(ErrorCode::kInternal,
                  "数据库错误: 更新订单 out_trade_no=" + o.out_trade_no + " 时它已不存在");
  }
  return Status::Ok();
}

Status SqliteStore::InsertRefund(const Refund& r) {
  StatusOr<Stmt> st = Prepare(kInsertRefund);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(st->Bind(r.merchantno, r.out_trade_no, r.out_refund_no, r.refund_fee,
                                  ToString(r.status), r.created_at, r.success_at));
  return st->Run();
}

Status SqliteStore::CloseExpired(Order& o) {
  Order closed = o;
  closed.status = OrderStatus::kClosed;
  closed.closed_at = o.expires_at;
  VKSPAY_RETURN_IF_ERROR(UpdateOrderState(closed));
  o = std::move(closed);
  return Status::Ok();
}

template <typename Load>
StatusOr<Order> SqliteStore::GetWithLazyClose(const Load& load, int64_t now) {
  // The common case is a plain read, which never waits for writers.
  StatusOr<Order> order = load();
  if (!order.ok() || !IsExpiredUnpaid(*order, now)) return order;
  const std::string merchantno = order->merchantno;
  const std::string out_trade_no = order->out_trade_no;
  return InWriteTxn([&](Txn&) -> StatusOr<Order> {
    // Read again under the write lock: another connection may have paid or
    // closed it meanwhile.
    StatusOr<Order> current = LoadOrder(merchantno, out_trade_no);
    if (!current.ok()) return current;
    if (IsExpiredUnpaid(*current, now)) VKSPAY_RETURN_IF_ERROR(CloseExpired(*current));
    return current;
  });
}

StatusOr<CreateOrderResult> SqliteStore::CreateOrder(const Order& order, bool must_be_new,
                                                     int64_t now) {
  return CreateOrderWithActions(order, must_be_new, now, {});
}

StatusOr<CreateOrderResult> SqliteStore::CreateOrderWithActions(
    const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create) {
  std::lock_guard<std::mutex> lock(mu_);
  return InWriteTxn([&](Txn& txn) -> StatusOr<CreateOrderResult> {
    return CreateOrderInTxn(txn, order, must_be_new, now, on_create);
  });
}

StatusOr<CreateOrderResult> SqliteStore::CreateAndPay(
    const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create, const PaymentStep& pay) {
  StatusOr<CreateOrderResult> result = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return InWriteTxn([&](Txn& txn) -> StatusOr<CreateOrderResult> {
      StatusOr<CreateOrderResult> created =
          CreateOrderInTxn(txn, order, must_be_new, now, on_create);
      if (!created.ok()) return created;
      StatusOr<Order> paid =
          pay.userpaying
              ? StartUserPayingInTxn(txn, std::move(created->order), *pay.userpaying, now)
              : PayInTxn(txn, std::move(created->order), pay.outcome, pay.channel,
                         pay.transaction_id, now);
      if (!paid.ok()) return paid.status();
      return CreateOrderResult{std::move(paid).value(), created->created};
    });
  }();
  if (result.ok() && result->order.status == OrderStatus::kSuccess && !pay.userpaying &&
      pay.outcome == PayOutcome::kSuccess) {
    NotifyObserver();
  }
  return result;
}

StatusOr<CreateOrderResult> SqliteStore::CreateOrderInTxn(
    Txn& txn, const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create) {
  if (order.total_fee <= 0) {
    return Status(ErrorCode::kInvalidAmount, "total_fee 必须大于 0, 收到 " +
                                                 std::to_string(order.total_fee) + " 分");
  }
  Order fresh = order;
  fresh.status = OrderStatus::kNotPay;
  fresh.transaction_id.clear();
  fresh.paid_at = 0;
  fresh.closed_at = 0;
  fresh.refunded_fee = 0;
  fresh.refund_count = 0;
  if (fresh.created_at == 0) fresh.created_at = now;
  StatusOr<Order> existing = LoadOrder(order.merchantno, order.out_trade_no);
  if (existing.ok()) {
    Order& e = *existing;
    if (must_be_new) {
      return Status(ErrorCode::kOutTradeNoUsed, "out_trade_no=" + e.out_trade_no +
                                                    " 已被使用 (状态 " +
                                                    std::string(ToString(e.status)) + ")");
    }
    if (IsExpiredUnpaid(e, now)) {
      VKSPAY_RETURN_IF_ERROR(CloseExpired(e));
      txn.keep_writes_on_error = true;
      return OrderExpired(e);
    }
    if (e.status == OrderStatus::kPayError) {
      // Creating again is not paying again: a failed order is simply over.
      return Status(ErrorCode::kOrderClosed,
                    "out_trade_no=" + e.out_trade_no +
                        " 的状态为 PAYERROR (支付失败), 请使用新的订单号");
    }
    if (!IsUnpaid(e.status)) return NotUnpaid(e);
    if (e.total_fee != order.total_fee) {
      return Status(ErrorCode::kOutTradeNoUsed, "out_trade_no=" + e.out_trade_no +
                                                    " 已用于金额 " + FormatYuan(e.total_fee) +
                                                    " 元的订单, 本次 total_fee 为 " +
                                                    FormatYuan(order.total_fee) + " 元");
    }
    return CreateOrderResult{std::move(e), false};
  }
  if (existing.status().code() != ErrorCode::kOrderNotExist) return existing.status();

  if (!fresh.cashier_token.empty()) {
    StatusOr<Order> holder = LoadOrderByToken(fresh.cashier_token);
    if (holder.ok()) {
      // Never names the token or the other order: the caller (which drew
      // the token) draws again; the message must not reach a merchant.
      return Status(ErrorCode::kOutTradeNoUsed, "生成的支付链接标识与已有订单冲突, 需重新生成");
    }
    if (holder.status().code() != ErrorCode::kOrderNotExist) return holder.status();
  }
  VKSPAY_RETURN_IF_ERROR(InsertOrder(fresh));
  for (ScheduledAction a : on_create) {
    a.merchantno = fresh.merchantno;  // the order's, whatever the caller drew
    a.out_trade_no = fresh.out_trade_no;
    VKSPAY_RETURN_IF_ERROR(InsertAction(a, now));
  }
  return CreateOrderResult{fresh, true};
}

StatusOr<Order> SqliteStore::GetOrder(std::string_view merchantno, std::string_view out_trade_no,
                                      int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetWithLazyClose([&] { return LoadOrder(merchantno, out_trade_no); }, now);
}

StatusOr<Order> SqliteStore::GetOrderByToken(std::string_view cashier_token, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cashier_token.empty()) {
    return Status(ErrorCode::kOrderNotExist, "cashier_token 为空");
  }
  return GetWithLazyClose([&] { return LoadOrderByToken(cashier_token); }, now);
}

StatusOr<Order> SqliteStore::CompletePayment(std::string_view merchantno,
                                             std::string_view out_trade_no, PayOutcome outcome,
                                             std::string_view channel,
                                             std::string_view transaction_id, int64_t now) {
  StatusOr<Order> result = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return CompletePaymentLocked(merchantno, out_trade_no, outcome, channel, transaction_id, now);
  }();
  if (result.ok() && outcome == PayOutcome::kSuccess) NotifyObserver();
  return result;
}

StatusOr<Order> SqliteStore::CompletePaymentLocked(std::string_view merchantno,
                                                   std::string_view out_trade_no,
                                                   PayOutcome outcome, std::string_view channel,
                                                   std::string_view transaction_id, int64_t now) {
  return InWriteTxn([&](Txn& txn) -> StatusOr<Order> {
    StatusOr<Order> order = LoadOrder(merchantno, out_trade_no);
    if (!order.ok()) return order;
    return PayInTxn(txn, std::move(order).value(), outcome, channel, transaction_id, now);
  });
}

StatusOr<Order> SqliteStore::PayInTxn(Txn& txn, Order o, PayOutcome outcome,
                                      std::string_view channel, std::string_view transaction_id,
                                      int64_t now) {
  if (IsExpiredUnpaid(o, now)) {
    VKSPAY_RETURN_IF_ERROR(CloseExpired(o));
    txn.keep_writes_on_error = true;
    return OrderExpired(o);
  }
  if (!IsUnpaid(o.status)) return NotUnpaid(o);
  SetPayOutcome(o, outcome, channel, transaction_id, now);
  VKSPAY_RETURN_IF_ERROR(UpdateOrderState(o));
  if (outcome == PayOutcome::kSuccess) VKSPAY_RETURN_IF_ERROR(InsertNotification(o, nullptr, now));
  if (outcome == PayOutcome::kCancel) {
    StatusOr<Stmt> st = Prepare(kMoveLateSuccess);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(o.merchantno, o.out_trade_no, now * 1'000'000));
    VKSPAY_RETURN_IF_ERROR(st->Run());
  }
  return o;
}

StatusOr<Refund> SqliteStore::CreateRefund(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now) {
  StatusOr<RefundResult> r = CreateRefundImpl(merchantno, out_trade_no, requested_out_refund_no,
                                              generated_out_refund_no, refund_fee, now, nullptr);
  if (!r.ok()) return r.status();
  return std::move(r->refund);
}

StatusOr<Refund> SqliteStore::CreateProcessingRefund(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction& then) {
  StatusOr<RefundResult> r = CreateRefundImpl(merchantno, out_trade_no, requested_out_refund_no,
                                              generated_out_refund_no, refund_fee, now, &then);
  if (!r.ok()) return r.status();
  return std::move(r->refund);
}

StatusOr<RefundResult> SqliteStore::CreateRefundWithOrder(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction* then) {
  return CreateRefundImpl(merchantno, out_trade_no, requested_out_refund_no,
                          generated_out_refund_no, refund_fee, now, then);
}

StatusOr<RefundResult> SqliteStore::CreateRefundImpl(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction* then) {
  if (refund_fee <= 0) {
    return Status(ErrorCode::kInvalidAmount,
                  "refund_fee 必须大于 0, 收到 " + std::to_string(refund_fee) + " 分");
  }
  const std::string out_refund_no =
      requested_out_refund_no ? *requested_out_refund_no : std::string(generated_out_refund_no);

  bool created = false;
  std::unique_lock<std::mutex> lock(mu_);
  StatusOr<RefundResult> result = InWriteTxn([&](Txn&) -> StatusOr<RefundResult> {
    StatusOr<Refund> existing = LoadRefund(merchantno, out_refund_no);
    if (existing.ok()) {
      if (requested_out_refund_no && existing->out_trade_no == out_trade_no &&
          existing->refund_fee == refund_fee) {
        // The same request again.
        StatusOr<Order> order = LoadOrder(merchantno, out_trade_no);
        if (!order.ok()) return order.status();
        return RefundResult{std::move(existing).value(), std::move(order).value()};
      }
      return Status(ErrorCode::kOutRefundNoUsed,
                    "out_refund_no=" + out_refund_no + " 已用于订单 out_trade_no=" +
                        existing->out_trade_no + " 的 " + FormatYuan(existing->refund_fee) +
                        " 元退款, 本次申请订单 out_trade_no=" + std::string(out_trade_no) +
                        " 退款 " + FormatYuan(refund_fee) + " 元");
    }
    if (existing.status().code() != ErrorCode::kRefundNotExist) return existing.status();

    StatusOr<Order> order = LoadOrder(merchantno, out_trade_no);
    if (!order.ok()) return order.status();
    Order& o = *order;
    if (!IsPaid(o.status)) {
      return Status(ErrorCode::kRefundNotAllowed,
                    "out_trade_no=" + o.out_trade_no + " 的状态为 " +
                        std::string(ToString(o.status)) + ", 只有已支付的订单可以退款");
    }
    // PROCESSING refunds are not in refunded_fee yet but their money is
    // spoken for: counting them here keeps over-refunding impossible.
    int64_t processing = 0;
    {
      StatusOr<Stmt> st = Prepare(kSumProcessingRefunds);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(merchantno, out_trade_no));
      StatusOr<bool> row = st->Step();
      if (!row.ok()) return row.status();
      if (*row) processing = st->Int(0);
    }
    if (refund_fee > o.total_fee - o.refunded_fee - processing) {
      return Status(ErrorCode::kRefundExceedsPaid,
                    "订单金额 " + FormatYuan(o.total_fee) + " 元, 已退 " +
                        FormatYuan(o.refunded_fee) + " 元" +
                        (processing > 0 ? ", 退款处理中 " + FormatYuan(processing) + " 元"
                                        : std::string()) +
                        ", 本次申请 " + FormatYuan(refund_fee) + " 元");
    }
    Refund r;
    r.merchantno = std::string(merchantno);
    r.out_trade_no = std::string(out_trade_no);
    r.out_refund_no = out_refund_no;
    r.refund_fee = refund_fee;
    r.created_at = now;
    if (then != nullptr) {
      r.status = RefundStatus::kProcessing;
      r.success_at = 0;
      VKSPAY_RETURN_IF_ERROR(InsertRefund(r));
      ScheduledAction a = *then;
      a.kind = ActionKind::kRefundOutcome;
      a.merchantno = r.merchantno;
      a.out_trade_no = r.out_trade_no;
      a.out_refund_no = r.out_refund_no;
      VKSPAY_RETURN_IF_ERROR(InsertAction(a, now));
      return RefundResult{std::move(r), std::move(o)};
    }
    r.status = RefundStatus::kSuccess;
    r.success_at = now;
    VKSPAY_RETURN_IF_ERROR(InsertRefund(r));
    o.refunded_fee += refund_fee;
    ++o.refund_count;
    o.status = OrderStatus::kRefund;
    VKSPAY_RETURN_IF_ERROR(UpdateOrderState(o));
    VKSPAY_RETURN_IF_ERROR(InsertNotification(o, &r, now));
    created = true;
    return RefundResult{std::move(r), std::move(o)};
  });
  lock.unlock();
  if (result.ok() && created) NotifyObserver();
  return result;
}

StatusOr<Refund> SqliteStore::GetRefund(std::string_view merchantno, std::string_view out_trade_no,
                                        std::string_view out_refund_no) {
  std::lock_guard<std::mutex> lock(mu_);
  StatusOr<Refund> r = LoadRefund(merchantno, out_refund_no);
  const bool absent = !r.ok() && r.status().code() == ErrorCode::kRefundNotExist;
  if (absent || (r.ok() && r->out_trade_no != out_trade_no)) {
    return Status(ErrorCode::kRefundNotExist,
                  "订单 out_trade_no=" + std::string(out_trade_no) +
                      " 下没有 out_refund_no=" + std::string(out_refund_no) + " 的退款单");
  }
  return r;
}

StatusOr<std::vector<Refund>> SqliteStore::ListRefunds(std::string_view merchantno,
                                                       std::string_view out_trade_no) {
  std::lock_guard<std::mutex> lock(mu_);
  return QueryRefunds(kSelectRefundsOfOrder, merchantno, out_trade_no);
}

StatusOr<std::vector<Order>> SqliteStore::ListOrders(const OrderFilter& filter) {
  // Unused parameters may be bound: SQLite sizes the list by the highest ?N.
  std::string sql = "SELECT " VKSPAY_ORDER_COLUMNS " FROM orders";
  const char* glue = " WHERE ";
  if (!filter.merchantno.empty()) {
    sql += glue;
    sql += "merchantno = ?1";
    glue = " AND ";
  }
  if (filter.status) {
    sql += glue;
    sql += "status = ?2";
  }
  sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4";
  const std::string_view status = filter.status ? ToString(*filter.status) : "";
  const int64_t limit = filter.limit < 0 ? -1 : filter.limit;  // SQLite: negative = no limit
  const int64_t offset = filter.offset < 0 ? 0 : filter.offset;

  std::lock_guard<std::mutex> lock(mu_);
  return QueryOrders(sql, filter.merchantno, status, limit, offset);
}

Status SqliteStore::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  return InWriteTxn([&](Txn&) -> Status {
    VKSPAY_RETURN_IF_ERROR(Exec("DELETE FROM scheduled_actions"));
    VKSPAY_RETURN_IF_ERROR(Exec("DELETE FROM notify_attempts"));
    VKSPAY_RETURN_IF_ERROR(Exec("DELETE FROM notifications"));
    VKSPAY_RETURN_IF_ERROR(Exec("DELETE FROM refunds"));
    return Exec("DELETE FROM orders");
  });
}

// --- notifications ---

StatusOr<Notification> SqliteStore::LoadNotification(std::string_view key) {
  std::optional<int64_t> id = NumericId(key);
  StatusOr<std::vector<Notification>> rows =
      id ? QueryNotifications(kSelectNotificationById, *id)
         : QueryNotifications(kSelectNotificationByNotifyId, key);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(ErrorCode::kNotFound, "没有 id 或 notify_id 为 " + Quote(key) + " 的通知");
  }
  return std::move(rows->front());
}

Status SqliteStore::InsertNotification(const Order& o, const Refund* refund, int64_t now) {
  const char* type = refund != nullptr ? "refund" : "payment";
  const NotifyFaultPlan plan = planner_ ? planner_(o, refund) : NotifyFaultPlan{};
  {
    StatusOr<Stmt> st = Prepare(kInsertNotification);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(std::string_view(type), o.merchantno, o.out_trade_no,
                                    refund != nullptr ? std::string_view(refund->out_refund_no)
                                                      : std::string_view(),
                                    o.notify_url, std::max<int64_t>(now * 1'000'000, plan.first_attempt_us),
                                    now, std::string_view(plan.plan_json)));
    VKSPAY_RETURN_IF_ERROR(st->Run());
  }
  const int64_t id = sqlite3_last_insert_rowid(db_);
  NotificationContent c;
  c.notify_type = type;
  c.notify_id = MakeNotifyId(notify_salt_, id);
  c.merchantno = o.merchantno;
  c.out_trade_no = o.out_trade_no;
  c.transaction_id = o.transaction_id;
  c.total_fee = o.total_fee;
  c.pay_chnl = o.pay_chnl;
  c.status = std::string(ToString(o.status));
  c.time_end = o.paid_at > 0 ? FormatDisplayTime(o.paid_at) : "";
  c.attach = o.attach;
  if (refund != nullptr) {
    c.out_refund_no = refund->out_refund_no;
    c.refund_fee = refund->refund_fee;
    c.refund_status = std::string(ToString(refund->status));
    c.time_refund = FormatDisplayTime(refund->success_at > 0 ? refund->success_at : now);
  }
  StatusOr<Stmt> st = Prepare(kNameNotification);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(
      st->Bind(id, std::string_view(c.notify_id), NotificationFields(c).ToJson()));
  return st->Run();
}

StatusOr<DueNotifications> SqliteStore::ClaimDueNotifications(
    int64_t now_us, size_t limit, const std::unordered_set<int64_t>& exclude) {
  std::lock_guard<std::mutex> lock(mu_);
  // First the ids, from the index alone: the dispatcher may hold thousands
  // of due rows (queued behind a slow host), and reading each one's whole row
  // only to skip it made this scan the sandbox's largest cost under a burst
  // of payments (22% of its CPU in `vkspay-bench notify`).
  std::vector<int64_t> ids;
  DueNotifications out;
  {
    StatusOr<Stmt> st = Prepare(kSelectPendingNotificationIds);
    if (!st.ok()) return st.status();
    for (;;) {
      StatusOr<bool> row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      // Rows come in due order: the first one not excluded and not due yet
      // ends the scan.
      if (exclude.count(st->Int(0))) continue;
      if (st->Int(1) > now_us) {
        out.next_due_us = st->Int(1);
        break;
      }
      if (ids.size() >= limit) {
        out.next_due_us = now_us;  // more are due already
        break;
      }
      ids.push_back(st->Int(0));
    }
  }
  for (int64_t id : ids) {
    StatusOr<std::vector<Notification>> rows = QueryNotifications(kSelectNotificationById, id);
    if (!rows.ok()) return rows.status();
    // Another connection may have settled it in between: only pending rows.
    if (rows->empty() || rows->front().state != NotifyState::kPending) continue;
    out.due.push_back(std::move(rows->front()));
  }
  return out;
}

Status SqliteStore::RecordNotifyAttempt(const NotifyAttempt& attempt, const NotifyUpdate& update) {
  std::lock_guard<std::mutex> lock(mu_);
  return InWriteTxn([&](Txn&) -> Status {
    StatusOr<std::vector<Notification>> rows =
        QueryNotifications(kSelectNotificationById, attempt.notification_id);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) {
      return Status(ErrorCode::kNotFound,
                    "通知 id=" + std::to_string(attempt.notification_id) + " 已不存在");
    }
    const int64_t n = rows->front().total_attempts + 1;
    std::string_view head = attempt.response_head;
    head = head.substr(0, kResponseHeadBytes);
    {
      StatusOr<Stmt> st = Prepare(kInsertAttempt);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(attempt.notification_id, n, attempt.at_us,
                                      std::string_view(attempt.url),
                                      static_cast<int64_t>(attempt.http_status),
                                      attempt.latency_us, head, std::string_view(attempt.error),
                                      static_cast<int64_t>(attempt.acked ? 1 : 0)));
      VKSPAY_RETURN_IF_ERROR(st->Run());
    }
    {
      StatusOr<Stmt> st = Prepare(kCountAttempt);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(
          st->Bind(attempt.notification_id, n, std::string_view(attempt.url)));
      VKSPAY_RETURN_IF_ERROR(st->Run());
    }
    StatusOr<Stmt> st = Prepare(kApplyAttempt);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(
        attempt.notification_id, update.expected_attempts, ToString(update.state),
        update.state == NotifyState::kPending ? update.next_attempt_us : int64_t{0}, update.now,
        update.state == NotifyState::kAcked ? update.now : int64_t{0},
        std::string_view(update.last_error)));
    return st->Run();
  });
}

StatusOr<std::vector<Notification>> SqliteStore::ListNotifications(
    const NotificationFilter& filter) {
  std::string sql = "SELECT " VKSPAY_NOTIFY_COLUMNS " FROM notifications";
  const char* glue = " WHERE ";
  if (!filter.merchantno.empty()) {
    sql += glue;
    sql += "merchantno = ?1";
    glue = " AND ";
  }
  if (!filter.out_trade_no.empty()) {
    sql += glue;
    sql += "out_trade_no = ?2";
    glue = " AND ";
  }
  if (filter.state) {
    sql += glue;
    sql += "state = ?3";
  }
  sql += " ORDER BY id DESC LIMIT ?4";
  const std::string_view state = filter.state ? ToString(*filter.state) : "";
  const int64_t limit = filter.limit < 0 ? -1 : filter.limit;
  std::lock_guard<std::mutex> lock(mu_);
  return QueryNotifications(sql, std::string_view(filter.merchantno),
                            std::string_view(filter.out_trade_no), state, limit);
}

StatusOr<Notification> SqliteStore::GetNotification(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadNotification(key);
}

StatusOr<std::vector<NotifyAttempt>> SqliteStore::ListNotifyAttempts(int64_t notification_id) {
  std::lock_guard<std::mutex> lock(mu_);
  StatusOr<Stmt> st = Prepare(kSelectAttempts);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(st->Bind(notification_id));
  std::vector<NotifyAttempt> out;
  for (;;) {
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadAttempt(*st));
  }
}

StatusOr<Notification> SqliteStore::ResendNotification(std::string_view key, int64_t now_us) {
  StatusOr<Notification> result = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return InWriteTxn([&](Txn&) -> StatusOr<Notification> {
      StatusOr<Notification> n = LoadNotification(key);
      if (!n.ok()) return n;
      StatusOr<Stmt> st = Prepare(kResendNotification);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(n->id, now_us, now_us / 1'000'000));
      VKSPAY_RETURN_IF_ERROR(st->Run());
      return LoadNotification(key);
    });
  }();
  if (result.ok()) NotifyObserver();
  return result;
}

StatusOr<int64_t> SqliteStore::ResendNotifications(NotifyState state, int64_t since,
                                                   int64_t now_us) {
  if (state != NotifyState::kFailed && state != NotifyState::kBlocked) {
    return Status(ErrorCode::kInvalidField,
                  "只能重发 failed 或 blocked 状态的通知, 收到 " + Quote(ToString(state)));
  }
  StatusOr<int64_t> result = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return InWriteTxn([&](Txn&) -> StatusOr<int64_t> {
      StatusOr<Stmt> st = Prepare(kResendNotificationsInState);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(ToString(state), since, now_us, now_us / 1'000'000));
      VKSPAY_RETURN_IF_ERROR(st->Run());
      return static_cast<int64_t>(sqlite3_changes64(db_));
    });
  }();
  if (result.ok() && *result > 0) NotifyObserver();
  return result;
}

StatusOr<std::map<NotifyState, int64_t>> SqliteStore::CountNotifications() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<NotifyState, int64_t> out = {{NotifyState::kPending, 0},
                                        {NotifyState::kAcked, 0},
                                        {NotifyState::kFailed, 0},
                                        {NotifyState::kBlocked, 0}};
  StatusOr<Stmt> st = Prepare(kCountNotifications);
  if (!st.ok()) return st.status();
  for (;;) {
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    std::optional<NotifyState> state = ParseNotifyState(st->Text(0));
    if (state) out[*state] = st->Int(1);
  }
}

// --- scheduled actions ---

Status SqliteStore::InsertAction(const ScheduledAction& a, int64_t now) {
  StatusOr<Stmt> st = Prepare(kInsertAction);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(st->Bind(ToString(a.kind), std::string_view(a.merchantno),
                                  std::string_view(a.out_trade_no),
                                  std::string_view(a.out_refund_no), a.due_us,
                                  std::max<int64_t>(0, a.delay_us), ToString(a.outcome),
                                  std::string_view(a.channel), std::string_view(a.transaction_id),
                                  std::string_view(a.note), now));
  return st->Run();
}

Status SqliteStore::UpdateRefundState(const Refund& r) {
  StatusOr<Stmt> st = Prepare(kUpdateRefundState);
  if (!st.ok()) return st.status();
  VKSPAY_RETURN_IF_ERROR(st->Bind(std::string_view(r.merchantno), std::string_view(r.out_refund_no),
                                  ToString(r.status), r.success_at));
  return st->Run();
}

StatusOr<Order> SqliteStore::StartUserPaying(std::string_view merchantno,
                                             std::string_view out_trade_no,
                                             const ScheduledAction& then, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  return InWriteTxn([&](Txn& txn) -> StatusOr<Order> {
    StatusOr<Order> order = LoadOrder(merchantno, out_trade_no);
    if (!order.ok()) return order;
    return StartUserPayingInTxn(txn, std::move(order).value(), then, now);
  });
}

StatusOr<Order> SqliteStore::StartUserPayingInTxn(Txn& txn, Order o, const ScheduledAction& then,
                                                  int64_t now) {
  if (IsExpiredUnpaid(o, now)) {
    VKSPAY_RETURN_IF_ERROR(CloseExpired(o));
    txn.keep_writes_on_error = true;
    return OrderExpired(o);
  }
  if (!IsUnpaid(o.status)) return NotUnpaid(o);
  if (o.status == OrderStatus::kUserPaying) return o;  // already waiting: one outcome
  o.status = OrderStatus::kUserPaying;
  VKSPAY_RETURN_IF_ERROR(UpdateOrderState(o));
  ScheduledAction a = then;
  a.kind = ActionKind::kPayOutcome;
  a.merchantno = o.merchantno;
  a.out_trade_no = o.out_trade_no;
  a.out_refund_no.clear();
  VKSPAY_RETURN_IF_ERROR(InsertAction(a, now));
  return o;
}

Status SqliteStore::ApplyAction(const ScheduledAction& a, int64_t now_us, bool* notified) {
  const int64_t now = now_us / 1'000'000;
  return InWriteTxn([&](Txn&) -> Status {
    {
      StatusOr<Stmt> st = Prepare(kDeleteAction);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(a.id));
      VKSPAY_RETURN_IF_ERROR(st->Run());
      if (sqlite3_changes64(db_) != 1) return Status::Ok();  // applied by another connection
    }
    StatusOr<Order> order = LoadOrder(a.merchantno, a.out_trade_no);
    if (!order.ok()) {
      // Reset meanwhile (the cascade should have removed the action): moot.
      return order.status().code() == ErrorCode::kOrderNotExist ? Status::Ok() : order.status();
    }
    Order& o = *order;
    switch (a.kind) {
      case ActionKind::kPayOutcome: {
        if (IsExpiredUnpaid(o, now)) return CloseExpired(o);
        // The buyer (or the control API) finished the payment meanwhile.
        if (o.status != OrderStatus::kUserPaying) return Status::Ok();
        SetPayOutcome(o, a.outcome, a.channel, a.transaction_id, now);
        VKSPAY_RETURN_IF_ERROR(UpdateOrderState(o));
        if (a.outcome == PayOutcome::kCancel) {
          StatusOr<Stmt> st = Prepare(kMoveLateSuccess);
          if (!st.ok()) return st.status();
          VKSPAY_RETURN_IF_ERROR(st->Bind(o.merchantno, o.out_trade_no, now_us));
          VKSPAY_RETURN_IF_ERROR(st->Run());
        }
        if (a.outcome != PayOutcome::kSuccess) return Status::Ok();
        *notified = true;
        return InsertNotification(o, nullptr, now);
      }
      case ActionKind::kLateSuccess: {
        if (IsExpiredUnpaid(o, now)) VKSPAY_RETURN_IF_ERROR(CloseExpired(o));
        // Only a closed order gets the late payment; paid, failed or never
        // expiring orders have nothing to be late for.
        if (o.status != OrderStatus::kClosed) return Status::Ok();
        o.status = OrderStatus::kSuccess;
        o.pay_chnl = a.channel;
        o.transaction_id = a.transaction_id;
        o.paid_at = now;  // closed_at stays: it was closed first
        VKSPAY_RETURN_IF_ERROR(UpdateOrderState(o));
        *notified = true;
        return InsertNotification(o, nullptr, now);
      }
      case ActionKind::kRefundOutcome: {
        StatusOr<Refund> refund = LoadRefund(a.merchantno, a.out_refund_no);
        if (!refund.ok()) {
          return refund.status().code() == ErrorCode::kRefundNotExist ? Status::Ok()
                                                                      : refund.status();
        }
        Refund& r = *refund;
        if (r.status != RefundStatus::kProcessing) return Status::Ok();
        if (a.outcome == PayOutcome::kSuccess) {
          r.status = RefundStatus::kSuccess;
          r.success_at = now;
          o.refunded_fee += r.refund_fee;
          ++o.refund_count;
          o.status = OrderStatus::kRefund;
          VKSPAY_RETURN_IF_ERROR(UpdateOrderState(o));
        } else {
          r.status = RefundStatus::kFail;
          r.success_at = 0;
        }
        VKSPAY_RETURN_IF_ERROR(UpdateRefundState(r));
        // The merchant learns the outcome either way (refund_status says which).
        *notified = true;
        return InsertNotification(o, &r, now);
      }
    }
    return Status::Ok();
  });
}

StatusOr<AppliedActions> SqliteStore::ApplyDueActions(int64_t now_us) {
  constexpr int64_t kBatch = 256;
  AppliedActions out;
  bool notified = false;
  Status failed = Status::Ok();
  {
    std::lock_guard<std::mutex> lock(mu_);
    StatusOr<std::vector<ScheduledAction>> due = QueryActions(kSelectDueActions, now_us, kBatch);
    if (!due.ok()) return due.status();
    for (const ScheduledAction& a : *due) {
      Status s = ApplyAction(a, now_us, &notified);
      if (!s.ok()) {
        // Left in place and tried again at the next call; the others go on.
        if (failed.ok()) failed = s;
        continue;
      }
      ++out.applied;
    }
    StatusOr<Stmt> st = Prepare(kSelectNextActionDue);
    if (!st.ok()) return st.status();
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    // MIN() over no rows is NULL, which Int() would read as 0.
    if (*row && !st->IsNull(0)) out.next_due_us = st->Int(0);
  }
  if (notified) NotifyObserver();
  if (!failed.ok()) return failed;
  return out;
}

StatusOr<std::vector<ScheduledAction>> SqliteStore::ListActions(std::string_view merchantno,
                                                                std::string_view out_trade_no) {
  std::lock_guard<std::mutex> lock(mu_);
  if (out_trade_no.empty()) return QueryActions(kSelectActionsOfMerchant, merchantno);
  return QueryActions(kSelectActionsOfOrder, merchantno, out_trade_no);
}

StatusOr<int64_t> SqliteStore::ReleaseHeldPayment(std::string_view merchantno,
                                                  std::string_view out_trade_no, int64_t now_us) {
  StatusOr<int64_t> result = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return InWriteTxn([&](Txn&) -> StatusOr<int64_t> {
      StatusOr<Stmt> st = Prepare(kReleaseHeldPayment);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(merchantno, out_trade_no, now_us));
      VKSPAY_RETURN_IF_ERROR(st->Run());
      return static_cast<int64_t>(sqlite3_changes64(db_));
    });
  }();
  if (result.ok() && *result > 0) NotifyObserver();
  return result;
}

#undef VKSPAY_ACTION_COLUMNS
#undef VKSPAY_ORDER_COLUMNS
#undef VKSPAY_REFUND_COLUMNS
#undef VKSPAY_NOTIFY_COLUMNS
#undef VKSPAY_ATTEMPT_COLUMNS

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options) {
  auto store = std::make_unique<SqliteStore>(options.path);
  Status s = store->Open(options);
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace vkspay::sandbox
