// The Store on SQLite: SQL, schema and migrations only; the payment rules are
// the Ledger's (sandbox/ledger/), run over this file's LedgerTxn (WriterTxn).
//
// Connections: one writer (under mu_), a pool of readers opened on demand
// (WAL: reads never wait for the writer) and a background checkpointer (its
// own connection and thread) so that no commit runs a WAL checkpoint.
//
// Writes are group-committed (Write/Submit/RunBatch): callers queue a job;
// the first in the queue leads, takes every queued job (up to max_batch),
// runs them in one BEGIN IMMEDIATE transaction, each in a savepoint (a
// refused or failed write rolls back to its savepoint, touching no other),
// commits once, and wakes the callers, who answer only then. If the
// transaction as a whole fails (BEGIN, COMMIT, an I/O error that makes SQLite
// roll back), every write of the batch gets that error and none of them
// remains. Work that must happen atomically with a state change (the outbox
// row of a payment) is written by the same ledger operation.
#include "sandbox/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <deque>
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

#include "sandbox/ledger/ledger.h"
#include "sandbox/ledger/ledger_txn.h"
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
// the WAL has CheckpointPages() pages after a commit, a TRUNCATE one when a
// PASSIVE one left more than 4x that in the log (readers or writers kept it
// from finishing), and a TRUNCATE one after a write failed with SQLITE_FULL,
// to give the WAL's space back.
//
// The threshold: every checkpoint fsyncs the WAL and the database, and
// copies back each page the WAL holds; at 512 pages (2 MiB) checkpoints took
// 23% of the sandbox's CPU under `vkspay-bench api` and 13% under `notify`,
// at 4,096 (16 MiB) a few percent (webpay 5,306 -> 7,150 req/s, notify 2,957
// -> 3,894/s in the same session). But the WAL must stay small on a small
// disk (with 1,000 pages the WAL alone filled the 4 MiB tmpfs of
// disk_full_test under ASan), so it takes at most 1/8 of the space free at
// start-up, and never less than 512 pages.
constexpr int kMinCheckpointPages = 512;
constexpr int kMaxCheckpointPages = 4096;

int CheckpointPages(const std::string& db_file) {
  const size_t slash = db_file.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : db_file.substr(0, slash + 1);
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return kMinCheckpointPages;
  const double free_pages = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize) /
                            4096.0;
  return static_cast<int>(std::clamp(free_pages / 8, double{kMinCheckpointPages},
                                     double{kMaxCheckpointPages}));
}

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
// The outbox cursor: only rows past (next_attempt_at, id), still from the
// index alone.
constexpr std::string_view kSelectPendingNotificationIdsAfter =
    "SELECT id, next_attempt_at FROM notifications WHERE state = 'pending' "
    "AND (next_attempt_at, id) > (?1, ?2) ORDER BY next_attempt_at, id";
constexpr std::string_view kSelectNotificationById =
    "SELECT " VKSPAY_NOTIFY_COLUMNS " FROM notifications WHERE id = ?1";
constexpr std::string_view kSelectNotificationByNotifyId =
    "SELECT " VKSPAY_NOTIFY_COLUMNS " FROM notifications WHERE notify_id = ?1";
constexpr std::string_view kSelectAttempts =
    "SELECT " VKSPAY_ATTEMPT_COLUMNS " FROM notify_attempts WHERE notification_id = ?1 ORDER BY n";
// The attempt, numbered after the notification's last one (no row is
// inserted if the notification is gone: a reset meanwhile).
constexpr std::string_view kInsertNextAttempt =
    "INSERT INTO notify_attempts (" VKSPAY_ATTEMPT_COLUMNS
    ") SELECT id, total_attempts + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM notifications "
    "WHERE id = ?1";
// Every attempt counts and names where it went; its outcome applies only if
// nothing (a resend) started a new series meanwhile. One statement: SQLite
// evaluates every SET expression on the row as it was.
constexpr std::string_view kApplyAttempt =
    "UPDATE notifications SET total_attempts = total_attempts + 1, delivered_to = ?8, "
    "attempts = CASE WHEN state = 'pending' AND attempts = ?2 THEN attempts + 1 ELSE attempts END, "
    "state = CASE WHEN state = 'pending' AND attempts = ?2 THEN ?3 ELSE state END, "
    "next_attempt_at = CASE WHEN state = 'pending' AND attempts = ?2 THEN ?4 "
    "ELSE next_attempt_at END, "
    "updated_at = CASE WHEN state = 'pending' AND attempts = ?2 THEN ?5 ELSE updated_at END, "
    "acked_at = CASE WHEN state = 'pending' AND attempts = ?2 THEN ?6 ELSE acked_at END, "
    "last_error = CASE WHEN state = 'pending' AND attempts = ?2 THEN ?7 ELSE last_error END "
    "WHERE id = ?1";
constexpr std::string_view kResendNotification =
    "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = ?2, "
    "updated_at = ?3 WHERE id = ?1";
constexpr std::string_view kResendNotificationsInState =
    "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = ?3, "
    "updated_at = ?4 WHERE state = ?1 AND updated_at >= ?2";
constexpr std::string_view kCountNotifications =
    "SELECT state, count(*) FROM notifications GROUP BY state";
// Reads the pending rows through the index notifications_due (state, ...).
constexpr std::string_view kOldestPendingNotification =
    "SELECT min(created_at) FROM notifications WHERE state = 'pending'";

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

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One SQLite connection and its prepared statements (SQLITE_PREPARE_PERSISTENT,
// keyed by SQL text). Not thread-safe: the store gives each connection to
// one thread at a time (the writer under mu_, readers through ReaderPool).
class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { Close(); }

  // On failure the handle (kept for the message) is closed by Close().
  Status Open(const std::string& path, int flags, const std::string& vfs) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_EXRESCODE,
                                   vfs.empty() ? nullptr : vfs.c_str());
    const std::string where = "打开数据库 " + Quote(path);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, where);
    const int r = sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    if (r != SQLITE_OK) return SqliteError(db_, r, where + ", 设置 busy_timeout");
    return Status::Ok();
  }
  void Close() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    stmts_.clear();
    if (db_ != nullptr) {
      [[maybe_unused]] const int rc = sqlite3_close(db_);
      assert(rc == SQLITE_OK && "every statement is finalized above");
      db_ = nullptr;
    }
  }
  sqlite3* db() const { return db_; }

  StatusOr<Stmt> Prepare(std::string_view sql) {
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
  // A cached statement, prepared now if needed (BEGIN, COMMIT, ...).
  StatusOr<sqlite3_stmt*> Cached(std::string_view sql) {
    StatusOr<Stmt> st = Prepare(sql);
    if (!st.ok()) return st.status();
    return stmts_.find(sql)->second;
  }
  // Runs one cached statement that returns no rows.
  Status Exec(std::string_view sql) {
    StatusOr<Stmt> st = Prepare(sql);
    if (!st.ok()) return st.status();
    return st->Run();
  }
  // Runs uncached SQL (possibly several statements): migrations, pragmas.
  Status ExecScript(const std::string& sql) {
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
  // The first row of QueryRows, or absent() if there is none (a function,
  // so that the message is built only when the row is missing).
  template <typename T, typename Absent, typename... Args>
  StatusOr<T> QueryOne(StatusOr<T> (*read)(const Stmt&), const Absent& absent,
                       std::string_view sql, const Args&... args) {
    StatusOr<Stmt> st = Prepare(sql);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(args...));
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absent();
    return read(*st);
  }
  // The first column of the first row as an integer (`absent` if no row or
  // NULL).
  template <typename... Args>
  StatusOr<int64_t> QueryInt(int64_t absent, std::string_view sql, const Args&... args) {
    StatusOr<Stmt> st = Prepare(sql);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(args...));
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    return *row && !st->IsNull(0) ? st->Int(0) : absent;
  }

  // kOrderNotExist if absent.
  StatusOr<Order> LoadOrder(std::string_view merchantno, std::string_view out_trade_no) {
    return QueryOne(
        ReadOrder, [&] { return OrderNotExistError(merchantno, out_trade_no); },
        kSelectOrderByKey, merchantno, out_trade_no);
  }
  StatusOr<Order> LoadOrderByToken(std::string_view cashier_token) {
    return QueryOne(
        ReadOrder,
        [&] {
          return Status(ErrorCode::kOrderNotExist,
                        "没有 cashier_token=" + std::string(cashier_token) + " 的订单");
        },
        kSelectOrderByToken, cashier_token);
  }
  // kRefundNotExist if absent.
  StatusOr<Refund> LoadRefund(std::string_view merchantno, std::string_view out_refund_no) {
    return QueryOne(
        ReadRefund, [&] { return RefundNotExistError(merchantno, out_refund_no); },
        kSelectRefundByKey, merchantno, out_refund_no);
  }
  // `key` is the numeric id or the notify_id. kNotFound if absent.
  StatusOr<Notification> LoadNotification(std::string_view key) {
    auto absent = [&] {
      return Status(ErrorCode::kNotFound, "没有 id 或 notify_id 为 " + Quote(key) + " 的通知");
    };
    if (std::optional<int64_t> id = NumericId(key)) {
      return QueryOne(ReadNotification, absent, kSelectNotificationById, *id);
    }
    return QueryOne(ReadNotification, absent, kSelectNotificationByNotifyId, key);
  }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*, StringHash, std::equal_to<>> stmts_;
};

// Read connections, opened on demand up to a limit and handed to one thread
// at a time. In WAL mode each read sees the last commit and never waits for
// (or blocks) the writer.
class ReaderPool {
 public:
  ReaderPool(std::string path, std::string vfs, size_t max)
      : path_(std::move(path)), vfs_(std::move(vfs)), max_(max) {}
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // A connection for the lifetime of the lease.
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->Return(std::move(conn_));
    }
    Conn& operator*() const { return *conn_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  // Waits while every connection is leased and the limit is reached.
  StatusOr<Lease> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    auto conn = std::make_unique<Conn>();
    Status s = conn->Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs_);
    // A reader must never write (the writer's transactions are the only
    // writes, so group commit sees every one).
    if (s.ok()) s = conn->ExecScript("PRAGMA query_only = 1");
    if (!s.ok()) {
      conn.reset();
      lock.lock();
      --open_;
      cv_.notify_one();
      return s;
    }
    return Lease(this, std::move(conn));
  }

  // Closes every idle connection (the leased ones must be back).
  void CloseAll() {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.clear();
    open_ = 0;
  }

 private:
  void Return(std::unique_ptr<Conn> conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back(std::move(conn));
    }
    cv_.notify_one();
  }

  const std::string path_;
  const std::string vfs_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  size_t open_ = 0;                           // guarded by mu_; idle or leased
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
    checkpoint_pages_ = CheckpointPages(path);
    Status s = conn_.Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs);
    if (s.ok()) s = conn_.ExecScript("PRAGMA synchronous = " + sync);
    if (!s.ok()) {
      conn_.Close();
      return Status(s.code(), s.message() + " (检查点连接)");
    }
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  // Called from the writer's WAL hook (inside its commit): wakes the thread
  // when the WAL has grown past the threshold.
  void Poke(int wal_pages) {
    if (wal_pages < checkpoint_pages_) return;
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
    conn_.Close();
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
      int rc = sqlite3_wal_checkpoint_v2(conn_.db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                         &done);
      if (truncate || (rc == SQLITE_OK && log > 4 * checkpoint_pages_)) {
        // Bound the WAL file: waits for the writer (busy timeout), copies
        // everything back and truncates the file to zero bytes.
        sqlite3_wal_checkpoint_v2(conn_.db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                  nullptr);
      }
      lock.lock();
    }
  }

  Conn conn_;  // only the thread uses it between Start and Stop
  int checkpoint_pages_ = kMinCheckpointPages;  // set in Start, then only read
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;       // guarded by mu_
  bool truncate_ = false;  // guarded by mu_
  bool stop_ = false;      // guarded by mu_
};

// The LedgerTxn of the writer connection's open transaction: SQL only.
class WriterTxn final : public LedgerTxn {
 public:
  WriterTxn(Conn& conn, const std::string& notify_salt) : conn_(conn), notify_salt_(notify_salt) {}

  Conn& conn() { return conn_; }
  int64_t changes() const { return sqlite3_changes64(conn_.db()); }

  StatusOr<Order> LoadOrder(std::string_view merchantno, std::string_view out_trade_no) override {
    return conn_.LoadOrder(merchantno, out_trade_no);
  }
  StatusOr<Order> LoadOrderByToken(std::string_view cashier_token) override {
    return conn_.LoadOrderByToken(cashier_token);
  }
  StatusOr<Refund> LoadRefund(std::string_view merchantno,
                              std::string_view out_refund_no) override {
    return conn_.LoadRefund(merchantno, out_refund_no);
  }
  StatusOr<int64_t> SumProcessingRefunds(std::string_view merchantno,
                                         std::string_view out_trade_no) override {
    return conn_.QueryInt(0, kSumProcessingRefunds, merchantno, out_trade_no);
  }
  Status InsertOrder(const Order& o) override {
    StatusOr<Stmt> st = conn_.Prepare(kInsertOrder);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(
        st->Bind(o.merchantno, o.out_trade_no, o.trade_type, o.total_fee, o.pay_chnl, o.subject,
                 o.body, o.attach, o.notify_url, o.return_url, o.client_ip, o.auth_code,
                 NullIfEmpty{o.cashier_token}, ToString(o.status), o.transaction_id,
                 o.created_at, o.expires_at, o.paid_at, o.closed_at, o.refunded_fee,
                 o.refund_count, o.fault_header));
    return st->Run();
  }
  Status UpdateOrder(const Order& o) override {
    StatusOr<Stmt> st = conn_.Prepare(kUpdateOrderState);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(o.merchantno, o.out_trade_no, ToString(o.status), o.pay_chnl,
                                    o.transaction_id, o.paid_at, o.closed_at, o.refunded_fee,
                                    o.refund_count));
    VKSPAY_RETURN_IF_ERROR(st->Run());
    if (changes() != 1) {
      return Status(ErrorCode::kInternal,
                    "数据库错误: 更新订单 out_trade_no=" + o.out_trade_no + " 时它已不存在");
    }
    return Status::Ok();
  }
  Status InsertRefund(const Refund& r) override {
    StatusOr<Stmt> st = conn_.Prepare(kInsertRefund);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(r.merchantno, r.out_trade_no, r.out_refund_no, r.refund_fee,
                                    ToString(r.status), r.created_at, r.success_at));
    return st->Run();
  }
  Status UpdateRefund(const Refund& r) override {
    StatusOr<Stmt> st = conn_.Prepare(kUpdateRefundState);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(std::string_view(r.merchantno),
                                    std::string_view(r.out_refund_no), ToString(r.status),
                                    r.success_at));
    return st->Run();
  }
  StatusOr<std::string> InsertNotification(const NewNotification& n) override {
    {
      StatusOr<Stmt> st = conn_.Prepare(kInsertNotification);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(
          std::string_view(n.type), std::string_view(n.merchantno),
          std::string_view(n.out_trade_no), std::string_view(n.out_refund_no),
          std::string_view(n.notify_url), n.first_attempt_us, n.created_at,
          std::string_view(n.fault_plan)));
      VKSPAY_RETURN_IF_ERROR(st->Run());
    }
    const int64_t id = sqlite3_last_insert_rowid(conn_.db());
    NotificationContent c = n.content;
    c.notify_id = MakeNotifyId(notify_salt_, id);
    StatusOr<Stmt> st = conn_.Prepare(kNameNotification);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(
        st->Bind(id, std::string_view(c.notify_id), NotificationFields(c).ToJson()));
    VKSPAY_RETURN_IF_ERROR(st->Run());
    return std::move(c.notify_id);
  }
  Status InsertAction(const ScheduledAction& a, int64_t now) override {
    StatusOr<Stmt> st = conn_.Prepare(kInsertAction);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(
        ToString(a.kind), std::string_view(a.merchantno), std::string_view(a.out_trade_no),
        std::string_view(a.out_refund_no), a.due_us, std::max<int64_t>(0, a.delay_us),
        ToString(a.outcome), std::string_view(a.channel), std::string_view(a.transaction_id),
        std::string_view(a.note), now));
    return st->Run();
  }
  StatusOr<bool> DeleteAction(int64_t id) override {
    StatusOr<Stmt> st = conn_.Prepare(kDeleteAction);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(id));
    VKSPAY_RETURN_IF_ERROR(st->Run());
    return changes() == 1;
  }
  Status MoveLateSuccess(std::string_view merchantno, std::string_view out_trade_no,
                         int64_t base_us) override {
    StatusOr<Stmt> st = conn_.Prepare(kMoveLateSuccess);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(merchantno, out_trade_no, base_us));
    return st->Run();
  }

 private:
  Conn& conn_;
  const std::string& notify_salt_;
};

// Thread-safe. Writes go through the group-commit queue (Write): the first
// waiting thread leads, runs the queued writes (up to max_batch) in one
// transaction on the writer connection under mu_, each in a savepoint,
// commits, and wakes the others. Reads use the ReaderPool (or, without one,
// the writer connection under mu_). Several SqliteStores may open the same
// file (in this or another process); BEGIN IMMEDIATE and the busy timeout
// serialise their transactions.
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
  void SetNotifyPlanner(NotifyPlanner planner) override {
    ledger_.SetNotifyPlanner(std::move(planner));
  }
  using Store::ClaimDueNotifications;
  StatusOr<DueNotifications> ClaimDueNotifications(
      int64_t now_us, size_t limit, const std::unordered_set<int64_t>& exclude,
      const std::optional<OutboxCursor>& after) override;
  Status RecordNotifyAttempt(const NotifyAttempt& attempt, const NotifyUpdate& update) override;
  StatusOr<std::vector<Notification>> ListNotifications(const NotificationFilter& filter) override;
  StatusOr<Notification> GetNotification(std::string_view key) override;
  StatusOr<std::vector<NotifyAttempt>> ListNotifyAttempts(int64_t notification_id) override;
  StatusOr<Notification> ResendNotification(std::string_view key, int64_t now_us) override;
  StatusOr<int64_t> ResendNotifications(NotifyState state, int64_t since, int64_t now_us) override;
  StatusOr<std::map<NotifyState, int64_t>> CountNotifications() override;
  StatusOr<std::optional<int64_t>> OldestPendingNotification() override;

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
  // One write waiting in the group-commit queue.
  struct WriteJob {
    // Runs the write inside the shared transaction; returns its status.
    std::function<Status(WriterTxn&, LedgerEffects&)> run;
    LedgerEffects fx;
    // Set when the transaction holding the write did not commit: the
    // caller's answer (nothing of the write remains).
    Status failed = Status::Ok();
    bool done = false;  // guarded by queue_mu_
    std::condition_variable cv;
  };

  // Runs body(WriterTxn&, LedgerEffects&) in the next group-committed
  // transaction and returns what it returned, or the transaction's error if
  // the transaction failed.
  template <typename Body>
  auto Write(Body&& body) -> std::invoke_result_t<Body&, WriterTxn&, LedgerEffects&>;
  // Queues the job and returns once it is done (leading a batch if it
  // reaches the front of the queue first).
  void Submit(WriteJob* job);
  // Runs one batch in one transaction; needs mu_. True if a committed write
  // made a notification due.
  bool RunBatch(const std::vector<WriteJob*>& batch);
  // Runs read(Conn&) on a read connection, or on the writer's under mu_.
  template <typename Read>
  auto WithReader(Read&& read) -> std::invoke_result_t<Read&, Conn&>;

  // Need mu_.
  void RollbackIfOpen();
  // After a failed write: if SQLite's last error is SQLITE_FULL, asks the
  // checkpointer to truncate the WAL (Checkpointer::DiskFull).
  void NoteDiskFull();
  Status RunCached(sqlite3_stmt* stmt) { return Stmt(writer_.db(), stmt).Run(); }
  StatusOr<int64_t> UserVersion();
  Status Migrate();

  // An order as a reader read it; if it has expired unpaid, closes it
  // through a write and returns it as that write left it.
  StatusOr<Order> LazyClose(StatusOr<Order> read, int64_t now);
  // Tells the observer, if any; called without mu_ and queue_mu_.
  void NotifyObserver() const {
    if (observer_) observer_();
  }

  const std::string path_;
  size_t max_batch_ = 128;  // set in Open

  std::mutex queue_mu_;
  std::deque<WriteJob*> queue_;  // guarded by queue_mu_; the front one leads

  std::mutex mu_;   // the writer connection
  Conn writer_;     // guarded by mu_ (after Open)
  // BEGIN IMMEDIATE, COMMIT, ROLLBACK and the savepoint statements of
  // writer_, prepared at open; guarded by mu_.
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* savepoint_ = nullptr;
  sqlite3_stmt* release_ = nullptr;
  sqlite3_stmt* rollback_to_ = nullptr;
  // This database's notify_id salt, read at open, then only read.
  std::string notify_salt_;
  // Orders + refunds stored at open (StartupSalt); set in Open, then only read.
  int64_t startup_salt_ = 0;
  // Null: reads use writer_ under mu_ (in-memory database, custom VFS,
  // read_connections 0).
  std::unique_ptr<ReaderPool> readers_;
  // Null for an in-memory database and with a custom VFS (the fault-injection
  // tests count each operation's I/O calls, which a background thread would
  // make vary): SQLite's own autocheckpoint then runs inside commits.
  std::unique_ptr<Checkpointer> checkpointer_;
  // Set before the store is shared, then only read.
  std::function<void()> observer_;
  Ledger ledger_;
};

SqliteStore::~SqliteStore() {
  // First: their connections must close before the writer's, so that the
  // last close (the writer's) checkpoints and removes the WAL.
  if (checkpointer_ != nullptr) checkpointer_->Stop();
  if (readers_ != nullptr) readers_->CloseAll();
  writer_.Close();
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
  if (options.max_batch < 1) {
    return Status(ErrorCode::kInvalidField,
                  "max_batch 必须至少为 1, 收到 " + std::to_string(options.max_batch));
  }
  max_batch_ = static_cast<size_t>(options.max_batch);
  const std::string where = "打开数据库 " + Quote(path_);
  Status s = writer_.Open(path_,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                          options.vfs);
  if (!s.ok()) return s;

  auto annotate = [&](const Status& e) {
    return Status(e.code(), e.message() + " (" + where + ")");
  };
  s = writer_.Exec("PRAGMA foreign_keys = ON");
  if (!s.ok()) return annotate(s);
  {
    StatusOr<Stmt> st = writer_.Prepare("PRAGMA journal_mode = WAL");
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
  s = writer_.ExecScript("PRAGMA synchronous = " + sync);
  if (!s.ok()) return annotate(s);
  for (auto [sql, out] :
       {std::pair{"BEGIN IMMEDIATE", &begin_}, std::pair{"COMMIT", &commit_},
        std::pair{"ROLLBACK", &rollback_}, std::pair{"SAVEPOINT w", &savepoint_},
        std::pair{"RELEASE w", &release_}, std::pair{"ROLLBACK TO w", &rollback_to_}}) {
    StatusOr<sqlite3_stmt*> st = writer_.Cached(sql);  // finalized with the connection
    if (!st.ok()) return annotate(st.status());
    *out = *st;
  }
  s = Migrate();
  if (!s.ok()) return annotate(s);
  {
    StatusOr<Stmt> st = writer_.Prepare("SELECT salt FROM notify_meta LIMIT 1");
    if (!st.ok()) return annotate(st.status());
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return annotate(row.status());
    if (!*row) {
      return Status(ErrorCode::kInternal, "数据库错误: notify_meta 表为空 (" + where + ")");
    }
    notify_salt_ = st->Text(0);
  }
  {
    StatusOr<int64_t> n = writer_.QueryInt(
        0, "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM refunds)");
    if (!n.ok()) return annotate(n.status());
    startup_salt_ = *n;
  }
  const char* file = sqlite3_db_filename(writer_.db(), "main");
  const bool on_disk = options.vfs.empty() && file != nullptr && *file != '\0';
  if (on_disk) {
    auto checkpointer = std::make_unique<Checkpointer>();
    s = checkpointer->Start(file, options.vfs, sync);
    if (!s.ok()) return annotate(s);
    checkpointer_ = std::move(checkpointer);
    // Replaces the autocheckpoint (which is itself a WAL hook).
    sqlite3_wal_hook(
        writer_.db(),
        [](void* arg, sqlite3*, const char*, int pages) -> int {
          static_cast<Checkpointer*>(arg)->Poke(pages);
          return SQLITE_OK;
        },
        checkpointer_.get());
    if (options.read_connections > 0) {
      readers_ = std::make_unique<ReaderPool>(file, options.vfs,
                                              static_cast<size_t>(options.read_connections));
    }
  }
  return Status::Ok();
}

void SqliteStore::RollbackIfOpen() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_NOMEM) make
  // SQLite roll back by itself; a second ROLLBACK would only fail.
  if (sqlite3_get_autocommit(writer_.db()) != 0) return;
  [[maybe_unused]] Status s = RunCached(rollback_);
  assert(sqlite3_get_autocommit(writer_.db()) != 0 && "ROLLBACK left the transaction open");
}

void SqliteStore::NoteDiskFull() {
  if (checkpointer_ != nullptr && (sqlite3_errcode(writer_.db()) & 0xff) == SQLITE_FULL) {
    checkpointer_->DiskFull();
  }
}

template <typename Body>
auto SqliteStore::Write(Body&& body) -> std::invoke_result_t<Body&, WriterTxn&, LedgerEffects&> {
  using Result = std::invoke_result_t<Body&, WriterTxn&, LedgerEffects&>;
  std::optional<Result> result;
  WriteJob job;
  job.run = [&](WriterTxn& txn, LedgerEffects& fx) -> Status {
    result.emplace(body(txn, fx));
    return StatusOf(*result);
  };
  Submit(&job);
  if (!job.failed.ok()) return Result(job.failed);
  return std::move(*result);
}

void SqliteStore::Submit(WriteJob* job) {
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_.push_back(job);
  while (!job->done && queue_.front() != job) job->cv.wait(lock);
  if (job->done) return;  // a leader ran it
  // This thread leads: the jobs queued now (itself first) form the batch;
  // those arriving while it runs wait for the next one.
  std::vector<WriteJob*> batch(queue_.begin(),
                               queue_.begin() + static_cast<std::ptrdiff_t>(
                                                    std::min(queue_.size(), max_batch_)));
  lock.unlock();
  bool notified = false;
  {
    std::lock_guard<std::mutex> db_lock(mu_);
    notified = RunBatch(batch);
  }
  lock.lock();
  for (WriteJob* done : batch) {
    assert(queue_.front() == done);
    queue_.pop_front();
    done->done = true;
    if (done != job) done->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();  // the next leader
  lock.unlock();
  if (notified) NotifyObserver();
}

bool SqliteStore::RunBatch(const std::vector<WriteJob*>& batch) {
  assert(sqlite3_get_autocommit(writer_.db()) != 0 && "a transaction was left open");
  auto fail_all = [&](const Status& why) {
    NoteDiskFull();
    RollbackIfOpen();
    for (WriteJob* j : batch) j->failed = why;
    return false;
  };
  Status begin = RunCached(begin_);
  if (!begin.ok()) return fail_all(begin);
  WriterTxn txn(writer_, notify_salt_);
  // One write alone needs no savepoint: the transaction is its savepoint.
  const bool savepoints = batch.size() > 1;
  for (WriteJob* j : batch) {
    if (savepoints) {
      Status s = RunCached(savepoint_);
      if (!s.ok()) return fail_all(s);
    }
    Status s = Status::Ok();
    try {
      s = j->run(txn, j->fx);
    } catch (const std::exception& e) {
      // The other writes of the batch must not pay for it (and the queue
      // must move on): this write alone fails.
      s = Status(ErrorCode::kInternal, std::string("内部错误: 写入时抛出异常: ") + e.what());
    }
    if (sqlite3_get_autocommit(writer_.db()) != 0) {
      // SQLite rolled the whole transaction back (I/O error, disk full):
      // every write of the batch is gone.
      return fail_all(s.ok() ? Status(ErrorCode::kInternal, "数据库错误: 事务已被 SQLite 回滚")
                             : s);
    }
    const bool keep =
        s.ok() || (j->fx.keep_writes_on_error && s.code() != ErrorCode::kInternal);
    if (!keep) {
      if (s.code() == ErrorCode::kInternal) NoteDiskFull();
      j->fx.notified = false;
      if (!savepoints) {
        RollbackIfOpen();
        return false;  // its own answer (the refusal) stands
      }
      Status r = RunCached(rollback_to_);
      if (!r.ok()) return fail_all(r);
    }
    if (savepoints) {
      Status r = RunCached(release_);
      if (!r.ok()) return fail_all(r);
    }
  }
  Status committed = RunCached(commit_);
  if (!committed.ok()) return fail_all(committed);
  return std::any_of(batch.begin(), batch.end(), [](const WriteJob* j) { return j->fx.notified; });
}

template <typename Read>
auto SqliteStore::WithReader(Read&& read) -> std::invoke_result_t<Read&, Conn&> {
  if (readers_ == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    return read(writer_);
  }
  StatusOr<ReaderPool::Lease> lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  return read(**lease);
}

StatusOr<int64_t> SqliteStore::UserVersion() {
  StatusOr<Stmt> st = writer_.Prepare("PRAGMA user_version");
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
  VKSPAY_RETURN_IF_ERROR(RunCached(begin_));
  Status s = [&]() -> Status {
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
      VKSPAY_RETURN_IF_ERROR(writer_.ExecScript(std::string(migrations[static_cast<size_t>(v)])));
    }
    VKSPAY_RETURN_IF_ERROR(writer_.ExecScript("PRAGMA user_version = " + std::to_string(latest)));
    return RunCached(commit_);
  }();
  if (!s.ok()) RollbackIfOpen();
  return s;
}

// --- orders and refunds ---

StatusOr<Order> SqliteStore::LazyClose(StatusOr<Order> read, int64_t now) {
  // The common case is a plain read, which never waited for the writer.
  if (!read.ok() || !IsExpiredUnpaid(*read, now)) return read;
  // Read again in the write transaction, by the order's key: it may have
  // been paid or closed meanwhile.
  return Write([&](WriterTxn& txn, LedgerEffects& fx) {
    return ledger_.CloseIfExpired(txn, fx, read->merchantno, read->out_trade_no, now);
  });
}

StatusOr<CreateOrderResult> SqliteStore::CreateOrder(const Order& order, bool must_be_new,
                                                     int64_t now) {
  return CreateOrderWithActions(order, must_be_new, now, {});
}

StatusOr<CreateOrderResult> SqliteStore::CreateOrderWithActions(
    const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) {
    return ledger_.CreateOrder(txn, fx, order, must_be_new, now, on_create);
  });
}

StatusOr<CreateOrderResult> SqliteStore::CreateAndPay(
    const Order& order, bool must_be_new, int64_t now,
    const std::vector<ScheduledAction>& on_create, const PaymentStep& pay) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) {
    return ledger_.CreateAndPay(txn, fx, order, must_be_new, now, on_create, pay);
  });
}

StatusOr<Order> SqliteStore::GetOrder(std::string_view merchantno, std::string_view out_trade_no,
                                      int64_t now) {
  return LazyClose(WithReader([&](Conn& c) { return c.LoadOrder(merchantno, out_trade_no); }),
                   now);
}

StatusOr<Order> SqliteStore::GetOrderByToken(std::string_view cashier_token, int64_t now) {
  if (cashier_token.empty()) {
    return Status(ErrorCode::kOrderNotExist, "cashier_token 为空");
  }
  return LazyClose(WithReader([&](Conn& c) { return c.LoadOrderByToken(cashier_token); }), now);
}

StatusOr<Order> SqliteStore::CompletePayment(std::string_view merchantno,
                                             std::string_view out_trade_no, PayOutcome outcome,
                                             std::string_view channel,
                                             std::string_view transaction_id, int64_t now) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) {
    return ledger_.Pay(txn, fx, merchantno, out_trade_no, outcome, channel, transaction_id, now);
  });
}

StatusOr<Refund> SqliteStore::CreateRefund(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now) {
  StatusOr<RefundResult> r =
      CreateRefundWithOrder(merchantno, out_trade_no, requested_out_refund_no,
                            generated_out_refund_no, refund_fee, now, nullptr);
  if (!r.ok()) return r.status();
  return std::move(r->refund);
}

StatusOr<Refund> SqliteStore::CreateProcessingRefund(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction& then) {
  StatusOr<RefundResult> r =
      CreateRefundWithOrder(merchantno, out_trade_no, requested_out_refund_no,
                            generated_out_refund_no, refund_fee, now, &then);
  if (!r.ok()) return r.status();
  return std::move(r->refund);
}

StatusOr<RefundResult> SqliteStore::CreateRefundWithOrder(
    std::string_view merchantno, std::string_view out_trade_no,
    const std::optional<std::string>& requested_out_refund_no,
    std::string_view generated_out_refund_no, int64_t refund_fee, int64_t now,
    const ScheduledAction* then) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) {
    return ledger_.CreateRefund(txn, fx, merchantno, out_trade_no, requested_out_refund_no,
                                generated_out_refund_no, refund_fee, now, then);
  });
}

StatusOr<Refund> SqliteStore::GetRefund(std::string_view merchantno, std::string_view out_trade_no,
                                        std::string_view out_refund_no) {
  StatusOr<Refund> r = WithReader([&](Conn& c) { return c.LoadRefund(merchantno, out_refund_no); });
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
  return WithReader([&](Conn& c) {
    return c.QueryRows(ReadRefund, kSelectRefundsOfOrder, merchantno, out_trade_no);
  });
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
    glue = " AND ";
  }
  if (!filter.out_trade_no.empty()) {
    sql += glue;
    sql += "out_trade_no = ?3";
  }
  sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?4 OFFSET ?5";
  const std::string_view status = filter.status ? ToString(*filter.status) : "";
  const int64_t limit = filter.limit < 0 ? -1 : filter.limit;  // SQLite: negative = no limit
  const int64_t offset = filter.offset < 0 ? 0 : filter.offset;
  return WithReader([&](Conn& c) {
    return c.QueryRows(ReadOrder, sql, filter.merchantno, status, filter.out_trade_no, limit,
                       offset);
  });
}

Status SqliteStore::Reset() {
  return Write([&](WriterTxn& txn, LedgerEffects&) -> Status {
    for (std::string_view sql :
         {"DELETE FROM scheduled_actions", "DELETE FROM notify_attempts",
          "DELETE FROM notifications", "DELETE FROM refunds", "DELETE FROM orders"}) {
      VKSPAY_RETURN_IF_ERROR(txn.conn().Exec(sql));
    }
    return Status::Ok();
  });
}

// --- notifications ---

StatusOr<DueNotifications> SqliteStore::ClaimDueNotifications(
    int64_t now_us, size_t limit, const std::unordered_set<int64_t>& exclude,
    const std::optional<OutboxCursor>& after) {
  return WithReader([&](Conn& c) -> StatusOr<DueNotifications> {
    // First the ids, from the index alone: the dispatcher may hold thousands
    // of due rows (queued behind a slow host), and reading each one's whole
    // row only to skip it made this scan the sandbox's largest cost under a
    // burst of payments (22% of its CPU in `vkspay-bench notify`). With a
    // cursor it starts behind the rows already passed.
    std::vector<int64_t> ids;
    DueNotifications out;
    {
      StatusOr<Stmt> st =
          after ? c.Prepare(kSelectPendingNotificationIdsAfter)
                : c.Prepare(kSelectPendingNotificationIds);
      if (!st.ok()) return st.status();
      if (after) VKSPAY_RETURN_IF_ERROR(st->Bind(after->due_us, after->id));
      for (;;) {
        StatusOr<bool> row = st->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        const int64_t id = st->Int(0);
        const int64_t due_us = st->Int(1);
        // Rows come in due order: the first one not excluded and not due yet
        // ends the scan.
        if (due_us <= now_us && exclude.count(id)) {
          out.last = OutboxCursor{due_us, id};
          continue;
        }
        if (due_us > now_us) {
          out.next_due_us = due_us;
          break;
        }
        if (ids.size() >= limit) {
          out.next_due_us = now_us;  // more are due already
          break;
        }
        ids.push_back(id);
        out.last = OutboxCursor{due_us, id};
      }
    }
    auto absent = [] { return Status(ErrorCode::kNotFound, ""); };
    for (int64_t id : ids) {
      StatusOr<Notification> n = c.QueryOne(ReadNotification, absent, kSelectNotificationById, id);
      if (!n.ok()) {
        if (n.status().code() == ErrorCode::kNotFound) continue;  // reset meanwhile
        return n.status();
      }
      // Settled meanwhile by an attempt committed after the id scan.
      if (n->state != NotifyState::kPending) continue;
      out.due.push_back(std::move(n).value());
    }
    return out;
  });
}

Status SqliteStore::RecordNotifyAttempt(const NotifyAttempt& attempt, const NotifyUpdate& update) {
  return Write([&](WriterTxn& txn, LedgerEffects&) -> Status {
    Conn& c = txn.conn();
    std::string_view head = attempt.response_head;
    head = head.substr(0, kResponseHeadBytes);
    {
      StatusOr<Stmt> st = c.Prepare(kInsertNextAttempt);
      if (!st.ok()) return st.status();
      VKSPAY_RETURN_IF_ERROR(st->Bind(attempt.notification_id, attempt.at_us,
                                      std::string_view(attempt.url),
                                      static_cast<int64_t>(attempt.http_status),
                                      attempt.latency_us, head, std::string_view(attempt.error),
                                      static_cast<int64_t>(attempt.acked ? 1 : 0)));
      VKSPAY_RETURN_IF_ERROR(st->Run());
      if (txn.changes() == 0) {
        return Status(ErrorCode::kNotFound,
                      "通知 id=" + std::to_string(attempt.notification_id) + " 已不存在");
      }
    }
    StatusOr<Stmt> st = c.Prepare(kApplyAttempt);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(
        attempt.notification_id, update.expected_attempts, ToString(update.state),
        update.state == NotifyState::kPending ? update.next_attempt_us : int64_t{0}, update.now,
        update.state == NotifyState::kAcked ? update.now : int64_t{0},
        std::string_view(update.last_error), std::string_view(attempt.url)));
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
  return WithReader([&](Conn& c) {
    return c.QueryRows(ReadNotification, sql, std::string_view(filter.merchantno),
                       std::string_view(filter.out_trade_no), state, limit);
  });
}

StatusOr<Notification> SqliteStore::GetNotification(std::string_view key) {
  return WithReader([&](Conn& c) { return c.LoadNotification(key); });
}

StatusOr<std::vector<NotifyAttempt>> SqliteStore::ListNotifyAttempts(int64_t notification_id) {
  return WithReader([&](Conn& c) -> StatusOr<std::vector<NotifyAttempt>> {
    StatusOr<Stmt> st = c.Prepare(kSelectAttempts);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(notification_id));
    std::vector<NotifyAttempt> out;
    for (;;) {
      StatusOr<bool> row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(ReadAttempt(*st));
    }
  });
}

StatusOr<Notification> SqliteStore::ResendNotification(std::string_view key, int64_t now_us) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) -> StatusOr<Notification> {
    Conn& c = txn.conn();
    StatusOr<Notification> n = c.LoadNotification(key);
    if (!n.ok()) return n;
    StatusOr<Stmt> st = c.Prepare(kResendNotification);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(n->id, now_us, now_us / 1'000'000));
    VKSPAY_RETURN_IF_ERROR(st->Run());
    fx.notified = true;
    return c.LoadNotification(key);
  });
}

StatusOr<int64_t> SqliteStore::ResendNotifications(NotifyState state, int64_t since,
                                                   int64_t now_us) {
  if (state != NotifyState::kFailed && state != NotifyState::kBlocked) {
    return Status(ErrorCode::kInvalidField,
                  "只能重发 failed 或 blocked 状态的通知, 收到 " + Quote(ToString(state)));
  }
  return Write([&](WriterTxn& txn, LedgerEffects& fx) -> StatusOr<int64_t> {
    StatusOr<Stmt> st = txn.conn().Prepare(kResendNotificationsInState);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(ToString(state), since, now_us, now_us / 1'000'000));
    VKSPAY_RETURN_IF_ERROR(st->Run());
    const int64_t changed = txn.changes();
    fx.notified = changed > 0;
    return changed;
  });
}

StatusOr<std::map<NotifyState, int64_t>> SqliteStore::CountNotifications() {
  return WithReader([&](Conn& c) -> StatusOr<std::map<NotifyState, int64_t>> {
    std::map<NotifyState, int64_t> out = {{NotifyState::kPending, 0},
                                          {NotifyState::kAcked, 0},
                                          {NotifyState::kFailed, 0},
                                          {NotifyState::kBlocked, 0}};
    StatusOr<Stmt> st = c.Prepare(kCountNotifications);
    if (!st.ok()) return st.status();
    for (;;) {
      StatusOr<bool> row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      std::optional<NotifyState> state = ParseNotifyState(st->Text(0));
      if (state) out[*state] = st->Int(1);
    }
  });
}

StatusOr<std::optional<int64_t>> SqliteStore::OldestPendingNotification() {
  return WithReader([&](Conn& c) -> StatusOr<std::optional<int64_t>> {
    StatusOr<Stmt> st = c.Prepare(kOldestPendingNotification);
    if (!st.ok()) return st.status();
    StatusOr<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row || st->IsNull(0)) return std::optional<int64_t>();
    return std::optional<int64_t>(st->Int(0));
  });
}

// --- scheduled actions ---

StatusOr<Order> SqliteStore::StartUserPaying(std::string_view merchantno,
                                             std::string_view out_trade_no,
                                             const ScheduledAction& then, int64_t now) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) {
    return ledger_.StartUserPaying(txn, fx, merchantno, out_trade_no, then, now);
  });
}

StatusOr<AppliedActions> SqliteStore::ApplyDueActions(int64_t now_us) {
  constexpr int64_t kBatch = 256;
  StatusOr<std::vector<ScheduledAction>> due = WithReader(
      [&](Conn& c) { return c.QueryRows(ReadAction, kSelectDueActions, now_us, kBatch); });
  if (!due.ok()) return due.status();
  AppliedActions out;
  Status failed = Status::Ok();
  for (const ScheduledAction& a : *due) {
    // Each in its own transaction: one that fails stays for the next call
    // and the others still apply.
    Status s = Write([&](WriterTxn& txn, LedgerEffects& fx) {
      return ledger_.ApplyAction(txn, fx, a, now_us);
    });
    if (!s.ok()) {
      if (failed.ok()) failed = s;
      continue;
    }
    ++out.applied;
  }
  StatusOr<int64_t> next =
      WithReader([&](Conn& c) { return c.QueryInt(-1, kSelectNextActionDue); });
  if (!next.ok()) return next.status();
  if (*next >= 0) out.next_due_us = *next;
  if (!failed.ok()) return failed;
  return out;
}

StatusOr<std::vector<ScheduledAction>> SqliteStore::ListActions(std::string_view merchantno,
                                                                std::string_view out_trade_no) {
  return WithReader([&](Conn& c) {
    if (out_trade_no.empty()) return c.QueryRows(ReadAction, kSelectActionsOfMerchant, merchantno);
    return c.QueryRows(ReadAction, kSelectActionsOfOrder, merchantno, out_trade_no);
  });
}

StatusOr<int64_t> SqliteStore::ReleaseHeldPayment(std::string_view merchantno,
                                                  std::string_view out_trade_no, int64_t now_us) {
  return Write([&](WriterTxn& txn, LedgerEffects& fx) -> StatusOr<int64_t> {
    StatusOr<Stmt> st = txn.conn().Prepare(kReleaseHeldPayment);
    if (!st.ok()) return st.status();
    VKSPAY_RETURN_IF_ERROR(st->Bind(merchantno, out_trade_no, now_us));
    VKSPAY_RETURN_IF_ERROR(st->Run());
    const int64_t changed = txn.changes();
    fx.notified = changed > 0;
    return changed;
  });
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
