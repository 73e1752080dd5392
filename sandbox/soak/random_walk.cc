#include "sandbox/soak/random_walk.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "sandbox/api/api_service.h"
#include "sandbox/config/config.h"
#include "sandbox/core/context.h"
#include "sandbox/core/payments.h"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/notify/http_sender.h"
#include "sandbox/notify/retry_schedule.h"
#include "sandbox/notify/url_guard.h"
#include "sandbox/store/store.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/errors.h"
#include "vkspay/protocol/fields.h"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox::walk {

bool IsLegalTransition(std::string_view from, std::string_view to) {
  if (from == to) return true;
  if (from == "NOTPAY") {
    return to == "USERPAYING" || to == "SUCCESS" || to == "PAYERROR" || to == "CLOSED";
  }
  if (from == "USERPAYING") return to == "SUCCESS" || to == "PAYERROR" || to == "CLOSED";
  if (from == "SUCCESS") return to == "REFUND";
  return false;  // REFUND, CLOSED and PAYERROR are final
}

namespace {

bool IsPaidStatus(std::string_view s) { return s == "SUCCESS" || s == "REFUND"; }

std::string Fen(int64_t fen) { return std::to_string(fen) + " fen"; }

}  // namespace

std::string CheckOrderView(const OrderView& v) {
  const std::string who = "order " + v.out_trade_no + " (" + v.status + "): ";
  static const std::set<std::string_view> kStatuses = {"NOTPAY", "USERPAYING", "SUCCESS",
                                                       "REFUND", "CLOSED",     "PAYERROR"};
  if (kStatuses.count(v.status) == 0) return who + "unknown status";
  if (v.refunds_sum != v.refunded_fee) {
    return who + "its refunds add up to " + Fen(v.refunds_sum) + " but refunded_fee is " +
           Fen(v.refunded_fee);
  }
  if (v.refunds_rows != v.refund_count) {
    return who + std::to_string(v.refunds_rows) + " refund rows but refund_count is " +
           std::to_string(v.refund_count);
  }
  if (v.refunds_sum > v.total_fee) {
    return who + "refunds of " + Fen(v.refunds_sum) + " exceed the paid amount " + Fen(v.total_fee);
  }
  const bool paid = IsPaidStatus(v.status);
  if (!paid && v.refunds_rows > 0) return who + "refunded although it was never paid";
  if (paid && v.payment_events != 1) {
    return who + "paid, with " + std::to_string(v.payment_events) +
           " payment events in the outbox (want exactly 1)";
  }
  if (!paid && v.payment_events != 0) {
    return who + "unpaid, with " + std::to_string(v.payment_events) + " payment events";
  }
  if (v.refund_events != v.refunds_rows) {
    return who + std::to_string(v.refunds_rows) + " refunds but " +
           std::to_string(v.refund_events) + " refund events in the outbox";
  }
  if (paid && (v.paid_at <= 0 || v.transaction_id.empty())) {
    return who + "paid without paid_at or transaction_id";
  }
  if (v.status == "REFUND" && v.refund_count == 0) return who + "REFUND without a refund";
  if (v.status == "SUCCESS" && v.refund_count > 0) return who + "SUCCESS with refunds";
  return "";
}

std::string CheckOrderTransition(const OrderView* before, const OrderView* after) {
  if (after == nullptr) {
    return "order " + (before != nullptr ? before->out_trade_no : std::string("?")) +
           " vanished from the database";
  }
  if (std::string e = CheckOrderView(*after); !e.empty()) return e;
  if (before == nullptr) return "";
  const std::string who = "order " + after->out_trade_no + ": ";
  if (after->total_fee != before->total_fee) {
    return who + "total_fee changed from " + Fen(before->total_fee) + " to " +
           Fen(after->total_fee);
  }
  if (after->refunded_fee < before->refunded_fee) {
    return who + "refunded total went down from " + Fen(before->refunded_fee) + " to " +
           Fen(after->refunded_fee);
  }
  if (after->refund_count < before->refund_count) {
    return who + "refund_count went down from " + std::to_string(before->refund_count) + " to " +
           std::to_string(after->refund_count);
  }
  if (!IsLegalTransition(before->status, after->status)) {
    return who + "illegal transition " + before->status + " -> " + after->status;
  }
  if (IsPaidStatus(before->status) &&
      (after->paid_at != before->paid_at || after->transaction_id != before->transaction_id)) {
    return who + "paid_at or transaction_id changed after payment";
  }
  return "";
}

std::string_view ToString(Plant p) {
  switch (p) {
    case Plant::kNone:
      return "none";
    case Plant::kReopenOrder:
      return "reopen-order";
    case Plant::kSecondPaymentEvent:
      return "second-payment-event";
    case Plant::kLoseRefund:
      return "lose-refund";
    case Plant::kShrinkRefundedFee:
      return "shrink-refunded-fee";
    case Plant::kDropPaymentEvent:
      return "drop-payment-event";
  }
  return "?";
}

std::optional<Plant> ParsePlant(std::string_view s) {
  for (Plant p : {Plant::kNone, Plant::kReopenOrder, Plant::kSecondPaymentEvent, Plant::kLoseRefund,
                  Plant::kShrinkRefundedFee, Plant::kDropPaymentEvent}) {
    if (ToString(p) == s) return p;
  }
  return std::nullopt;
}

std::string Summary(const WalkResult& r) {
  std::ostringstream out;
  out << (r.ok ? "ok" : "VIOLATION") << " steps=" << r.steps_run << " orders=" << r.orders
      << " refunds=" << r.refunds << " notifications=" << r.notifications
      << " restarts=" << r.restarts << " full_checks=" << r.full_checks
      << " integrity_check=" << (r.integrity.empty() ? "-" : r.integrity) << "\n  ops:";
  for (const auto& [op, n] : r.op_counts) out << " " << op << "=" << n;
  out << "\n  answers:";
  for (const auto& [code, n] : r.answers) out << " " << code << "=" << n;
  if (!r.ok) out << "\n  " << r.violation;
  return out.str();
}

namespace {

using Json = nlohmann::json;

constexpr int64_t kT0 = 1'764'300'000;  // unix seconds, the walk's start
constexpr int64_t kSec = 1'000'000;
constexpr char kNotifyUrl[] = "http://127.0.0.1:9/notify";

// --- the checker's own view of the database ---

// A read/write connection of the checker's own, on the default VFS, never
// holding a transaction between calls. Statements are cached.
class Db {
 public:
  ~Db() {
    for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
    if (db_ != nullptr) sqlite3_close(db_);
  }

  std::string Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      return "checker cannot open " + path + ": " + sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
    return "";
  }

  // Runs `sql` with text/integer parameters and calls row() for each row.
  template <typename RowFn>
  std::string Query(const std::string& sql, const std::vector<std::string>& params, RowFn row) {
    sqlite3_stmt* st = Prepare(sql);
    if (st == nullptr) return "checker SQL error: " + std::string(sqlite3_errmsg(db_));
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    std::string err =
        rc == SQLITE_DONE ? "" : "checker SQL error: " + std::string(sqlite3_errmsg(db_));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
  }

  std::string Exec(const std::string& sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    std::string err = rc == SQLITE_OK ? "" : std::string(msg != nullptr ? msg : "?");
    sqlite3_free(msg);
    return err;
  }

  static std::string Text(sqlite3_stmt* st, int col) {
    const unsigned char* p = sqlite3_column_text(st, col);
    return p != nullptr ? reinterpret_cast<const char*>(p) : "";
  }
  static int64_t Int(sqlite3_stmt* st, int col) { return sqlite3_column_int64(st, col); }

 private:
  sqlite3_stmt* Prepare(const std::string& sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return it->second;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return nullptr;
    stmts_.emplace(sql, st);
    return st;
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

constexpr char kOrderViewSelect[] =
    "SELECT o.out_trade_no, o.status, o.total_fee, o.refunded_fee, o.refund_count, o.paid_at, "
    "o.transaction_id, "
    "(SELECT coalesce(sum(r.refund_fee), 0) FROM refunds r WHERE r.merchantno = o.merchantno "
    "  AND r.out_trade_no = o.out_trade_no AND r.status = 'SUCCESS'), "
    "(SELECT count(*) FROM refunds r WHERE r.merchantno = o.merchantno "
    "  AND r.out_trade_no = o.out_trade_no AND r.status = 'SUCCESS'), "
    "(SELECT count(*) FROM notifications n WHERE n.merchantno = o.merchantno "
    "  AND n.out_trade_no = o.out_trade_no AND n.type = 'payment'), "
    "(SELECT count(*) FROM notifications n WHERE n.merchantno = o.merchantno "
    "  AND n.out_trade_no = o.out_trade_no AND n.type = 'refund') "
    "FROM orders o";

OrderView ReadView(sqlite3_stmt* st) {
  OrderView v;
  v.out_trade_no = Db::Text(st, 0);
  v.status = Db::Text(st, 1);
  v.total_fee = Db::Int(st, 2);
  v.refunded_fee = Db::Int(st, 3);
  v.refund_count = Db::Int(st, 4);
  v.paid_at = Db::Int(st, 5);
  v.transaction_id = Db::Text(st, 6);
  v.refunds_sum = Db::Int(st, 7);
  v.refunds_rows = Db::Int(st, 8);
  v.payment_events = Db::Int(st, 9);
  v.refund_events = Db::Int(st, 10);
  return v;
}

struct NotifyRow {
  int64_t id = 0;
  std::string notify_id;
  std::string type;
  std::string out_trade_no;
  std::string out_refund_no;
  std::string state;
  int64_t attempts = 0;
  int64_t total_attempts = 0;
  int64_t next_attempt_at = 0;
  int64_t acked_at = 0;
  std::string notify_url;
};
constexpr char kNotifySelect[] =
    "SELECT id, notify_id, type, out_trade_no, out_refund_no, state, attempts, total_attempts, "
    "next_attempt_at, acked_at, notify_url FROM notifications";
NotifyRow ReadNotifyRow(sqlite3_stmt* st) {
  NotifyRow n;
  n.id = Db::Int(st, 0);
  n.notify_id = Db::Text(st, 1);
  n.type = Db::Text(st, 2);
  n.out_trade_no = Db::Text(st, 3);
  n.out_refund_no = Db::Text(st, 4);
  n.state = Db::Text(st, 5);
  n.attempts = Db::Int(st, 6);
  n.total_attempts = Db::Int(st, 7);
  n.next_attempt_at = Db::Int(st, 8);
  n.acked_at = Db::Int(st, 9);
  n.notify_url = Db::Text(st, 10);
  return n;
}

// --- the merchant's notification endpoint ---

// Answers each attempt with an ack with probability ack_per_mille and
// remembers what it was sent. Verifies every signature.
class ScriptedSender final : public HttpSender {
 public:
  struct Sent {
    std::string notify_id;
    std::string notify_type;
    std::string out_trade_no;
    bool acked = false;
    bool sign_ok = false;
  };
  explicit ScriptedSender(Random* rng) : rng_(rng) {}

  SendResult Post(const OutboundTarget&, const std::string& body, const std::string&,
                  const SendOptions&) override {
    Sent s;
    StatusOr<Fields> form = DecodeForm(body);
    if (form.ok()) {
      s.sign_ok = VerifySign(*form, kDemoKey).ok();
      auto text = [&](std::string_view name) {
        const Value* v = form->Find(name);
        const auto* str = v != nullptr ? std::get_if<std::string>(v) : nullptr;
        return str != nullptr ? *str : std::string();
      };
      s.notify_id = text("notify_id");
      s.notify_type = text("notify_type");
      s.out_trade_no = text("out_trade_no");
    }
    s.acked = static_cast<int64_t>(rng_->Uniform(1000)) < ack_per_mille;
    sent.push_back(s);
    SendResult r;
    r.http_status = s.acked ? 200 : 500;
    r.body = s.acked ? kNotifyAckBody : "try again";
    r.latency_us = 100;
    return r;
  }

  int64_t ack_per_mille = 1000;
  std::vector<Sent> sent;

 private:
  Random* rng_;
};

// --- the model: what the database should hold ---

struct ModelOrder {
  std::string out_trade_no;
  int64_t total_fee = 0;
  int64_t expires_at = 0;
  std::string status = "NOTPAY";  // as stored (an expired order is closed lazily)
  int64_t refunded = 0;
  std::map<std::string, int64_t> refunds;  // out_refund_no -> fee
  std::string transaction_id;
  int64_t paid_at = 0;
  std::vector<int64_t> notification_ids;
  std::optional<OrderView> seen;  // the last observation
};

struct ModelNotification {
  std::string type;
  std::string out_trade_no;
  std::string out_refund_no;
  std::string state = "pending";
  int64_t attempts = 0;
  bool has_url = true;
};

// Member `key` of a JSON object; null when absent or not an object.
const Json& Field(const Json& obj, const char* key) {
  static const Json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}
std::string StrField(const Json& obj, const char* key) {
  const Json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

struct Answer {
  bool ok = false;       // return_code SUCCESS
  std::string err_code;  // "" when ok
  Json j;
};

// What a step expects of the notifications of its order: new rows.
struct NewEvent {
  std::string type;
  std::string out_refund_no;
};

#define WALK_TRY(expr)                        \
  do {                                        \
    std::string walk_err_ = (expr);           \
    if (!walk_err_.empty()) return walk_err_; \
  } while (0)

// The walk: the sandbox under test (store, API, dispatcher on a FakeClock
// behind the sandbox clock), the model of what its database should hold, and
// the checks. The walk's choices, the sandbox's generated ids and the request
// nonces come from three SeededRandoms derived from the seed, so a seed
// replays exactly. One thread.
class Walker {
 public:
  explicit Walker(const WalkOptions& options)
      : options_(options),
        choose_(options.seed),
        ids_(options.seed * 0x9E3779B97F4A7C15ull + 1),
        base_clock_(kT0 * kSec),
        clock_(&base_clock_),
        guard_(UrlGuardOptions{}),
        sender_(&choose_) {
    config_ = SandboxConfig::Demo();
    expiry_s_ = config_.settings.order_expiry_s;
    schedule_ = *ScheduleForProfile("fast");
  }

  WalkResult Run();

 private:
  // Setup and restarts.
  std::string OpenSandbox();
  void CloseSandbox();

  // One step: returns "" or the violation.
  std::string Step(int64_t step);
  std::string OpCreate(bool micropay);
  std::string OpPay(PayOutcome outcome);
  std::string OpRefund();
  std::string OpQuery();
  std::string OpRefundQuery();
  std::string OpNotify();
  std::string OpExpire();
  std::string OpRestart();

  // Checks after a step.
  std::string CheckOrder(ModelOrder& m, const std::vector<NewEvent>& new_events,
                         bool check_refunds);
  std::string FullCheck(const std::string& why);
  std::string MaybePlant(ModelOrder& m);

  // Helpers.
  int64_t U(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(choose_.Uniform(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Chance(int64_t per_mille) { return U(0, 999) < per_mille; }
  int64_t RandomFee() {
    switch (U(0, 9)) {
      case 0:
        return 1;
      case 1:
        return U(2, 10);
      default:
        return U(11, 200'000);
    }
  }
  int64_t Now() const { return clock_.NowSeconds(); }
  ModelOrder* PickOrder(bool prefer_paid);
  ModelOrder* Find(const std::string& no) {
    auto it = by_no_.find(no);
    return it == by_no_.end() ? nullptr : &orders_[it->second];
  }
  ModelOrder& AddOrder(const std::string& no, int64_t fee, int64_t expires_at) {
    by_no_[no] = orders_.size();
    ModelOrder m;
    m.out_trade_no = no;
    m.total_fee = fee;
    m.expires_at = expires_at;
    orders_.push_back(std::move(m));
    return orders_.back();
  }
  // The store's lazy close: an unpaid order whose time ran out is closed by
  // whatever reads it through GetOrder (or pays or re-creates it).
  void LazyClose(ModelOrder& m) {
    if (m.status == "NOTPAY" && m.expires_at > 0 && Now() >= m.expires_at) m.status = "CLOSED";
  }
  Answer Call(const std::string& method, Fields f);
  void Note(const std::string& op) {
    op_ = op;
    ++result_.op_counts[op];
  }
  void Trace(const std::string& line) {
    if (options_.trace) options_.trace(line);
  }
  std::string Expect(const Answer& a, const std::string& want_err) {
    ++result_.answers[a.ok ? "SUCCESS" : a.err_code];
    if (want_err.empty() && !a.ok)
      return "answer FAIL " + a.err_code + ", expected SUCCESS: " + a.j.dump();
    if (!want_err.empty() && a.ok)
      return "answer SUCCESS, expected FAIL " + want_err + ": " + a.j.dump();
    if (!want_err.empty() && a.err_code != want_err) {
      return "answer FAIL " + a.err_code + ", expected FAIL " + want_err + ": " + a.j.dump();
    }
    return "";
  }
  static int64_t FenOf(const Json& v) {
    return v.is_number() ? std::llround(v.get<double>() * 100) : -1;
  }

  const WalkOptions options_;
  SeededRandom choose_;  // the walk's choices
  SeededRandom ids_;     // the sandbox's generated ids
  SeededRandom nonces_{7};
  FakeClock base_clock_;
  SandboxClock clock_;
  SandboxConfig config_;
  UrlGuard guard_;
  ScriptedSender sender_;
  RetrySchedule schedule_;
  int64_t expiry_s_ = 7200;

  std::string db_path_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiService> api_;
  std::unique_ptr<Dispatcher> dispatcher_;
  SandboxContext ctx_;
  Db db_;

  std::vector<ModelOrder> orders_;
  std::unordered_map<std::string, size_t> by_no_;
  std::vector<size_t> paid_;                         // indices of orders that were paid, in order
  std::map<std::string, std::string> refund_owner_;  // out_refund_no -> out_trade_no
  std::map<int64_t, ModelNotification> notes_;
  int64_t counter_ = 0;  // for merchant-chosen ids
  std::string op_;
  int64_t step_ = 0;
  bool planted_ = false;
  WalkResult result_;
};

std::string Walker::OpenSandbox() {
  SqliteStoreOptions o;
  o.path = db_path_;
  StatusOr<std::unique_ptr<Store>> s = OpenSqliteStore(o);
  if (!s.ok()) return "cannot open the store: " + s.status().ToString();
  store_ = std::move(s).value();
  ctx_ = SandboxContext{&config_, store_.get(), &clock_, &ids_, &clock_, &guard_, nullptr};
  api_ = std::make_unique<ApiService>(ctx_);
  DispatcherOptions d;
  d.schedule = schedule_;
  d.workers = 1;
  dispatcher_ = std::make_unique<Dispatcher>(ctx_, &guard_, &sender_, d);
  return "";
}

void Walker::CloseSandbox() {
  dispatcher_.reset();
  api_.reset();
  store_.reset();
}

Answer Walker::Call(const std::string& method, Fields f) {
  f.Set("method", method);
  f.Set("merchantno", std::string(kDemoMerchantNo));
  f.Set("timestamp", static_cast<double>(Now()));
  f.Set("signaturenonce", nonces_.Digits(8, '1'));
  f.Set("version", std::string("2.0"));
  const Fields signed_f = WithSign(std::move(f), kDemoKey);
  ApiResponse r = api_->Handle(
      {"application/json; charset=utf-8", signed_f.ToJson(), "http://sandbox.test", ""});
  Answer a;
  a.j = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (r.http_status != 200 || !a.j.is_object() || !a.j.contains("return_code")) {
    a.err_code = "(not a VksPay answer: HTTP " + std::to_string(r.http_status) + " " + r.body + ")";
    return a;
  }
  a.ok = a.j["return_code"] == "SUCCESS";
  if (!a.ok) a.err_code = StrField(a.j, "err_code");
  if (!a.ok && a.err_code.empty()) a.err_code = "(FAIL without err_code)";
  return a;
}

ModelOrder* Walker::PickOrder(bool prefer_paid) {
  if (prefer_paid && !paid_.empty() && Chance(850)) {
    const size_t n = paid_.size();
    size_t i =
        Chance(700)
            ? n - 1 - static_cast<size_t>(U(0, std::min<int64_t>(15, static_cast<int64_t>(n) - 1)))
            : static_cast<size_t>(U(0, static_cast<int64_t>(n) - 1));
    return &orders_[paid_[i]];
  }
  if (orders_.empty()) return nullptr;
  const int64_t n = static_cast<int64_t>(orders_.size());
  const int64_t i = Chance(700) ? n - 1 - U(0, std::min<int64_t>(15, n - 1)) : U(0, n - 1);
  return &orders_[static_cast<size_t>(i)];
}

std::string Walker::CheckOrder(ModelOrder& m, const std::vector<NewEvent>& new_events,
                               bool check_refunds) {
  std::optional<OrderView> view;
  WALK_TRY(
      db_.Query(std::string(kOrderViewSelect) + " WHERE o.merchantno = ?1 AND o.out_trade_no = ?2",
                {kDemoMerchantNo, m.out_trade_no}, [&](sqlite3_stmt* st) { view = ReadView(st); }));
  WALK_TRY(CheckOrderTransition(m.seen ? &*m.seen : nullptr, view ? &*view : nullptr));
  const OrderView& v = *view;
  const std::string who = "order " + m.out_trade_no + ": ";
  if (v.status != m.status) return who + "status " + v.status + ", expected " + m.status;
  if (v.total_fee != m.total_fee)
    return who + "total_fee " + Fen(v.total_fee) + ", expected " + Fen(m.total_fee);
  if (v.refunded_fee != m.refunded) {
    return who + "refunded_fee " + Fen(v.refunded_fee) + ", expected " + Fen(m.refunded);
  }
  if (v.refund_count != static_cast<int64_t>(m.refunds.size())) {
    return who + "refund_count " + std::to_string(v.refund_count) + ", expected " +
           std::to_string(m.refunds.size());
  }
  if (IsPaidStatus(v.status) && (v.transaction_id != m.transaction_id || v.paid_at != m.paid_at)) {
    return who + "transaction_id/paid_at " + v.transaction_id + "/" + std::to_string(v.paid_at) +
           " differ from the answer's " + m.transaction_id + "/" + std::to_string(m.paid_at);
  }
  if (check_refunds) {
    std::map<std::string, int64_t> got;
    WALK_TRY(db_.Query(
        "SELECT out_refund_no, refund_fee FROM refunds WHERE merchantno = ?1 AND out_trade_no = ?2 "
        "AND status = 'SUCCESS'",
        {kDemoMerchantNo, m.out_trade_no},
        [&](sqlite3_stmt* st) { got[Db::Text(st, 0)] = Db::Int(st, 1); }));
    if (got != m.refunds) return who + "its refund rows differ from the refunds that succeeded";
  }
  // The outbox rows of this order: the known ones plus exactly new_events.
  std::vector<NotifyRow> rows;
  WALK_TRY(db_.Query(
      std::string(kNotifySelect) + " WHERE merchantno = ?1 AND out_trade_no = ?2 ORDER BY id",
      {kDemoMerchantNo, m.out_trade_no},
      [&](sqlite3_stmt* st) { rows.push_back(ReadNotifyRow(st)); }));
  std::vector<NewEvent> fresh;
  std::set<int64_t> known(m.notification_ids.begin(), m.notification_ids.end());
  for (const NotifyRow& r : rows) {
    auto it = notes_.find(r.id);
    if (known.count(r.id) == 0) {
      if (it != notes_.end())
        return who + "notification id " + std::to_string(r.id) + " moved between orders";
      if (r.state != "pending" || r.attempts != 0 || r.total_attempts != 0) {
        return who + "new notification " + r.notify_id + " is " + r.state + " after " +
               std::to_string(r.attempts) + " attempts, expected pending and never attempted";
      }
      fresh.push_back({r.type, r.out_refund_no});
      ModelNotification n;
      n.type = r.type;
      n.out_trade_no = r.out_trade_no;
      n.out_refund_no = r.out_refund_no;
      n.has_url = !r.notify_url.empty();
      notes_[r.id] = n;
      m.notification_ids.push_back(r.id);
      continue;
    }
    known.erase(r.id);
    if (it->second.type != r.type || it->second.out_refund_no != r.out_refund_no) {
      return who + "notification " + r.notify_id + " changed its type or refund";
    }
  }
  if (!known.empty())
    return who + "notification id " + std::to_string(*known.begin()) + " vanished";
  auto key = [](const NewEvent& e) { return e.type + "/" + e.out_refund_no; };
  std::multiset<std::string> want, got;
  for (const NewEvent& e : new_events) want.insert(key(e));
  for (const NewEvent& e : fresh) got.insert(key(e));
  if (want != got) {
    std::string w, g;
    for (const auto& s : want) w += s + " ";
    for (const auto& s : got) g += s + " ";
    return who + "new outbox rows [" + g + "], expected [" + w + "]";
  }
  m.seen = v;
  return "";
}

std::string Walker::MaybePlant(ModelOrder& m) {
  if (options_.plant == Plant::kNone || planted_ || step_ < options_.plant_at_step) return "";
  const std::string key = "merchantno = '" + std::string(kDemoMerchantNo) +
                          "' AND out_trade_no = '" + m.out_trade_no + "'";
  const bool was_final = m.seen && (m.seen->status == "CLOSED" || m.seen->status == "PAYERROR") &&
                         m.status == m.seen->status;
  const bool paid = IsPaidStatus(m.status);
  std::string sql;
  switch (options_.plant) {
    case Plant::kNone:
      return "";
    case Plant::kReopenOrder:
      if (!was_final) return "";
      sql = "UPDATE orders SET status = 'NOTPAY', closed_at = 0 WHERE " + key;
      break;
    case Plant::kSecondPaymentEvent:
      if (!paid) return "";
      sql =
          "INSERT INTO notifications (type, merchantno, out_trade_no, out_refund_no, payload, "
          "notify_url, delivered_to, state, attempts, total_attempts, next_attempt_at, created_at, "
          "updated_at, acked_at, last_error) SELECT type, merchantno, out_trade_no, out_refund_no, "
          "payload, notify_url, delivered_to, 'pending', 0, 0, next_attempt_at, created_at, "
          "updated_at, 0, '' FROM notifications WHERE type = 'payment' AND " +
          key;
      break;
    case Plant::kLoseRefund:
      if (m.refunds.empty()) return "";
      sql =
          "DELETE FROM refunds WHERE rowid = (SELECT rowid FROM refunds WHERE " + key + " LIMIT 1)";
      break;
    case Plant::kShrinkRefundedFee: {
      if (m.refunds.empty()) return "";
      const auto& [no, fee] = *m.refunds.begin();
      sql = "DELETE FROM refunds WHERE merchantno = '" + std::string(kDemoMerchantNo) +
            "' AND out_refund_no = '" + no +
            "'; DELETE FROM notifications WHERE type = 'refund' AND " + "out_refund_no = '" + no +
            "'; UPDATE orders SET refunded_fee = refunded_fee - " + std::to_string(fee) +
            ", refund_count = refund_count - 1, status = CASE WHEN "
            "refund_count = 1 THEN 'SUCCESS' ELSE status END WHERE " +
            key;
      break;
    }
    case Plant::kDropPaymentEvent:
      if (!paid) return "";
      sql = "DELETE FROM notifications WHERE type = 'payment' AND " + key;
      break;
  }
  planted_ = true;
  result_.planted_step = step_;
  Trace("  planted " + std::string(ToString(options_.plant)) + " on " + m.out_trade_no);
  std::string err = db_.Exec(sql);
  return err.empty() ? "" : "planting failed: " + err;
}

std::string Walker::OpCreate(bool micropay) {
  const int64_t fee = RandomFee();
  Fields f;
  ModelOrder* existing = nullptr;
  bool same_fee = true;
  std::string given;
  const int64_t kind = U(0, 99);
  if (kind < 60) {
    Note(micropay ? "micropay.new" : "webpay.new");
  } else if (kind < 80 || orders_.empty()) {
    Note(micropay ? "micropay.given_new" : "webpay.given_new");
    given = "G" + std::to_string(options_.seed) + "-" + std::to_string(++counter_);
  } else {
    existing = PickOrder(false);
    given = existing->out_trade_no;
    same_fee = Chance(750);
    Note(std::string(micropay ? "micropay" : "webpay") +
         (same_fee ? ".again" : ".again_other_fee"));
  }
  const int64_t sent_fee = existing == nullptr ? fee
                           : same_fee          ? existing->total_fee
                                               : existing->total_fee + U(1, 50);
  f.Set("total_fee", FormatYuan(sent_fee));
  f.Set("subject", std::string("walk"));
  if (!given.empty()) f.Set("out_trade_no", given);
  std::string channel = "wxpay";
  if (micropay) {
    channel = Chance(500) ? "wxpay" : "alipay";
    f.Set("pay_chnl", channel);
    f.Set("auth_code", (channel == "wxpay" ? "13" : "28") + choose_.Digits(16));
    if (Chance(500)) f.Set("notify_url", std::string(kNotifyUrl));
  } else {
    f.Set("notify_url", std::string(kNotifyUrl));
  }
  const int64_t now = Now();

  // What the documented behaviour predicts.
  std::string want_err;
  bool creates = existing == nullptr;
  bool pays = false;
  if (existing != nullptr) {
    ModelOrder& e = *existing;
    const bool expired = e.status == "NOTPAY" && now >= e.expires_at;
    if (expired) {
      e.status = "CLOSED";
      want_err = "ORDER_CLOSED";
    } else if (e.status == "PAYERROR" || e.status == "CLOSED") {
      want_err = "ORDER_CLOSED";
    } else if (IsPaidStatus(e.status)) {
      want_err = "ORDER_PAID";
    } else if (!same_fee) {
      want_err = "OUT_TRADE_NO_USED";
    } else {
      pays = micropay;
    }
  } else {
    pays = micropay;
  }

  Answer a = Call(micropay ? "micropay" : "webpay", std::move(f));
  Trace("  " + op_ + " " + FormatYuan(sent_fee) + " -> " + (a.ok ? "SUCCESS" : a.err_code));
  WALK_TRY(Expect(a, want_err));
  ModelOrder* m = existing;
  if (a.ok) {
    const Json& d = Field(a.j, "data");
    const std::string no = StrField(d, "out_trade_no");
    if (FenOf(Field(d, "total_fee")) != sent_fee)
      return "answer's total_fee differs from the request: " + a.j.dump();
    if (creates) {
      if (!given.empty() && no != given)
        return "answer names out_trade_no " + no + ", sent " + given;
      if (Find(no) != nullptr) return "a new order reused out_trade_no " + no;
      m = &AddOrder(no, sent_fee, now + expiry_s_);
    } else if (no != m->out_trade_no) {
      return "answer names out_trade_no " + no + ", expected " + m->out_trade_no;
    }
  }
  if (m == nullptr) return "";
  std::vector<NewEvent> events;
  if (pays) {
    m->status = "SUCCESS";
    const Json& d = Field(a.j, "data");
    if (StrField(d, "status") != "SUCCESS")
      return "micropay answered status " + StrField(d, "status");
    m->transaction_id = StrField(d, "transaction_id");
    m->paid_at = now;
    paid_.push_back(by_no_[m->out_trade_no]);
    events.push_back({"payment", ""});
  } else if (a.ok && StrField(Field(a.j, "data"), "status") != m->status) {
    return "answer's status " + StrField(Field(a.j, "data"), "status") + ", expected " + m->status;
  }
  WALK_TRY(MaybePlant(*m));
  return CheckOrder(*m, events, false);
}

std::string Walker::OpPay(PayOutcome outcome) {
  static const char* kNames[] = {"pay.success", "pay.fail", "pay.cancel"};
  Note(kNames[static_cast<int>(outcome)]);
  ModelOrder* m = PickOrder(false);
  const bool unknown = m == nullptr || Chance(20);
  const std::string no = unknown ? "NOPE-" + std::to_string(U(1, 1'000'000)) : m->out_trade_no;
  const std::string channel =
      std::vector<std::string>{"wxpay", "alipay", "auto"}[static_cast<size_t>(U(0, 2))];
  ErrorCode want = ErrorCode::kOk;
  std::string want_status;
  if (unknown) {
    want = ErrorCode::kOrderNotExist;
  } else {
    LazyClose(*m);
    if (m->status == "NOTPAY") {
      want_status = outcome == PayOutcome::kSuccess ? "SUCCESS"
                    : outcome == PayOutcome::kFail  ? "PAYERROR"
                                                    : "CLOSED";
    } else if (IsPaidStatus(m->status)) {
      want = ErrorCode::kOrderPaid;
    } else if (m->status == "CLOSED") {
      want = ErrorCode::kOrderClosed;
    } else {
      want = ErrorCode::kOrderPayError;
    }
  }
  StatusOr<Order> got = ActAsBuyer(ctx_, kDemoMerchantNo, no, channel, outcome);
  const ErrorCode code = got.ok() ? ErrorCode::kOk : got.status().code();
  Trace("  " + op_ + " " + no + " " + channel + " -> " +
        std::string(got.ok() ? "OK" : ErrCodeName(code)));
  ++result_.answers[got.ok() ? "SUCCESS" : std::string(ErrCodeName(code))];
  if (code != want) {
    return "act-as-buyer answered " + std::string(got.ok() ? "OK" : got.status().ToString()) +
           ", expected " + (want == ErrorCode::kOk ? "OK" : std::string(ErrCodeName(want)));
  }
  if (unknown) return "";
  std::vector<NewEvent> events;
  if (got.ok()) {
    if (std::string(ToString(got->status)) != want_status) {
      return "act-as-buyer left status " + std::string(ToString(got->status)) + ", expected " +
             want_status;
    }
    m->status = want_status;
    if (outcome == PayOutcome::kSuccess) {
      m->transaction_id = got->transaction_id;
      m->paid_at = got->paid_at;
      paid_.push_back(by_no_[m->out_trade_no]);
      events.push_back({"payment", ""});
    }
  }
  WALK_TRY(MaybePlant(*m));
  return CheckOrder(*m, events, false);
}

std::string Walker::OpRefund() {
  ModelOrder* m = PickOrder(true);
  if (m == nullptr) return OpCreate(false);
  const int64_t remaining = m->total_fee - m->refunded;
  int64_t fee = 0;
  std::optional<std::string> requested;
  const int64_t kind = U(0, 99);
  if (kind < 40) {
    Note("refund.partial");
    fee = remaining >= 2 ? U(1, remaining - 1) : 1;
  } else if (kind < 60) {
    Note("refund.full");
    fee = std::max<int64_t>(remaining, 1);
  } else if (kind < 75) {
    Note("refund.over_limit");
    fee = remaining + U(1, 1000);
  } else if (kind < 92 && !refund_owner_.empty()) {
    // A duplicate out_refund_no: the same request again, or another amount
    // or order under a used number.
    auto it = refund_owner_.begin();
    std::advance(it, U(0, static_cast<int64_t>(refund_owner_.size()) - 1));
    requested = it->first;
    ModelOrder& owner = *Find(it->second);
    const int64_t owner_fee = owner.refunds.at(it->first);
    const int64_t how = U(0, 9);
    if (how < 6) {
      Note("refund.duplicate_same");
      m = &owner;
      fee = owner_fee;
    } else if (how < 8) {
      Note("refund.duplicate_other_fee");
      m = &owner;
      fee = owner_fee + 1;
    } else {
      Note("refund.duplicate_other_order");
      fee = 1;
    }
  } else {
    Note("refund.any_order");
    m = PickOrder(false);
    fee = U(1, 100);
  }
  if (!requested && Chance(500))
    requested = "F" + std::to_string(options_.seed) + "-" + std::to_string(++counter_);

  std::string want_err;
  bool creates = false;
  if (requested && refund_owner_.count(*requested) > 0) {
    const std::string& owner = refund_owner_[*requested];
    const ModelOrder& o = *Find(owner);
    if (!(owner == m->out_trade_no && o.refunds.at(*requested) == fee))
      want_err = "OUT_REFUND_NO_USED";
  } else if (!IsPaidStatus(m->status)) {
    want_err = "REFUND_NOT_ALLOWED";  // no lazy close on this path
  } else if (fee > m->total_fee - m->refunded) {
    want_err = "REFUND_EXCEEDS_PAID";
  } else {
    creates = true;
  }

  Fields f;
  f.Set("out_trade_no", m->out_trade_no);
  f.Set("refund_fee", FormatYuan(fee));
  if (requested) f.Set("out_refund_no", *requested);
  Answer a = Call("orderrefund", std::move(f));
  Trace("  " + op_ + " " + m->out_trade_no + " " + FormatYuan(fee) +
        (requested ? " " + *requested : "") + " -> " + (a.ok ? "SUCCESS" : a.err_code));
  WALK_TRY(Expect(a, want_err));
  std::vector<NewEvent> events;
  if (a.ok) {
    const Json& d = Field(a.j, "data");
    const std::string no = StrField(a.j, "out_refund_no");
    if (FenOf(Field(d, "refund_fee")) != fee)
      return "refund answer's refund_fee differs: " + a.j.dump();
    if (requested && no != *requested)
      return "refund answer names " + no + ", requested " + *requested;
    if (creates) {
      if (refund_owner_.count(no) > 0) return "a new refund reused out_refund_no " + no;
      m->refunds[no] = fee;
      m->refunded += fee;
      m->status = "REFUND";
      refund_owner_[no] = m->out_trade_no;
      events.push_back({"refund", no});
    }
    if (FenOf(Field(d, "refunded_fee")) != m->refunded) {
      return "refund answer's refunded_fee " + Field(d, "refunded_fee").dump() + ", expected " +
             FormatYuan(m->refunded);
    }
  }
  WALK_TRY(MaybePlant(*m));
  return CheckOrder(*m, events, true);
}

std::string Walker::OpQuery() {
  Note("query.order");
  ModelOrder* m = PickOrder(false);
  const bool unknown = m == nullptr || Chance(20);
  const std::string no = unknown ? "NOPE-" + std::to_string(U(1, 1'000'000)) : m->out_trade_no;
  std::string want_err;
  if (unknown) {
    want_err = "ORDER_NOT_EXIST";
  } else {
    LazyClose(*m);
    if (!IsPaidStatus(m->status)) want_err = "ORDER_NOT_PAID";
  }
  Fields f;
  f.Set("out_trade_no", no);
  Answer a = Call("orderquery", std::move(f));
  Trace("  " + op_ + " " + no + " -> " + (a.ok ? "SUCCESS" : a.err_code));
  WALK_TRY(Expect(a, want_err));
  if (unknown) return "";
  const Json& d = Field(a.j, "data");
  if (StrField(d, "status") != m->status) {
    return "orderquery answered status " + StrField(d, "status") + ", expected " + m->status;
  }
  if (m->refunded > 0 && FenOf(Field(d, "refund_fee")) != m->refunded) {
    return "orderquery answered refund_fee " + Field(d, "refund_fee").dump() + ", expected " +
           FormatYuan(m->refunded);
  }
  WALK_TRY(MaybePlant(*m));
  return CheckOrder(*m, {}, false);
}

std::string Walker::OpRefundQuery() {
  Note("query.refund");
  ModelOrder* m = PickOrder(true);
  if (m == nullptr) return OpQuery();
  std::string refund_no = "NOREFUND-" + std::to_string(U(1, 1'000'000));
  if (!m->refunds.empty() && Chance(600)) {
    auto it = m->refunds.begin();
    std::advance(it, U(0, static_cast<int64_t>(m->refunds.size()) - 1));
    refund_no = it->first;
  } else if (!refund_owner_.empty() && Chance(500)) {
    refund_no = refund_owner_.rbegin()->first;
  }
  LazyClose(*m);
  const bool mine = m->refunds.count(refund_no) > 0;
  Fields f;
  f.Set("out_trade_no", m->out_trade_no);
  f.Set("out_refund_no", refund_no);
  Answer a = Call("orderrefundquery", std::move(f));
  Trace("  " + op_ + " " + m->out_trade_no + " " + refund_no + " -> " +
        (a.ok ? "SUCCESS" : a.err_code));
  WALK_TRY(Expect(a, mine ? "" : "REFUND_NOT_EXIST"));
  if (mine && FenOf(Field(Field(a.j, "data"), "refund_fee")) != m->refunds[refund_no]) {
    return "orderrefundquery answered refund_fee " + Field(Field(a.j, "data"), "refund_fee").dump();
  }
  WALK_TRY(MaybePlant(*m));
  return CheckOrder(*m, {}, false);
}

std::string Walker::OpNotify() {
  const int64_t mode = U(0, 2);
  sender_.ack_per_mille = mode == 0 ? 1000 : mode == 1 ? 0 : 500;
  Note(mode == 0 ? "notify.ack" : mode == 1 ? "notify.fail" : "notify.mixed");
  const int64_t now_us = clock_.NowMicros();
  std::map<int64_t, NotifyRow> due;
  WALK_TRY(
      db_.Query(std::string(kNotifySelect) + " WHERE state = 'pending' AND next_attempt_at <= ?1",
                {std::to_string(now_us)}, [&](sqlite3_stmt* st) {
                  NotifyRow r = ReadNotifyRow(st);
                  due[r.id] = r;
                }));
  sender_.sent.clear();
  const int made = dispatcher_->DeliverDueNow();
  Trace("  " + op_ + " due=" + std::to_string(due.size()) + " attempted=" + std::to_string(made) +
        " sent=" + std::to_string(sender_.sent.size()));
  if (made != static_cast<int>(due.size())) {
    return "the dispatcher made " + std::to_string(made) + " attempts, " +
           std::to_string(due.size()) + " notifications were due";
  }
  std::map<std::string, const ScriptedSender::Sent*> sent;
  for (const ScriptedSender::Sent& s : sender_.sent) {
    if (!s.sign_ok) return "notification " + s.notify_id + " arrived with a bad signature";
    if (!sent.emplace(s.notify_id, &s).second)
      return "notification " + s.notify_id + " sent twice in one round";
  }
  size_t matched = 0;
  for (const auto& [id, before] : due) {
    NotifyRow after;
    bool found = false;
    WALK_TRY(db_.Query(std::string(kNotifySelect) + " WHERE id = ?1", {std::to_string(id)},
                       [&](sqlite3_stmt* st) {
                         after = ReadNotifyRow(st);
                         found = true;
                       }));
    const std::string who =
        "notification " + before.notify_id + " (" + before.type + " " + before.out_trade_no + "): ";
    if (!found) return who + "vanished";
    if (after.attempts != before.attempts + 1 || after.total_attempts != after.attempts) {
      return who + "attempts " + std::to_string(before.attempts) + " -> " +
             std::to_string(after.attempts) + " (total " + std::to_string(after.total_attempts) +
             "), expected one more";
    }
    auto s = sent.find(before.notify_id);
    std::string want;
    if (s == sent.end()) {
      if (!before.notify_url.empty()) return who + "was due but not sent";
      want = "blocked";
    } else {
      ++matched;
      if (s->second->out_trade_no != before.out_trade_no || s->second->notify_type != before.type) {
        return who + "the form carried out_trade_no " + s->second->out_trade_no + " type " +
               s->second->notify_type;
      }
      if (s->second->acked) {
        want = "acked";
      } else {
        want = after.attempts >= schedule_.max_attempts() ? "failed" : "pending";
      }
    }
    if (after.state != want) return who + "state " + after.state + ", expected " + want;
    if (want == "acked" && after.acked_at != Now()) return who + "acked without acked_at";
    if (want == "pending" && after.next_attempt_at <= now_us)
      return who + "retry not scheduled later";
    if (notes_.count(id) == 0) return who + "was never seen being written";
    ModelNotification& n = notes_[id];
    if (n.state != "pending" || n.attempts != before.attempts) {
      return who + "the model had it " + n.state + " after " + std::to_string(n.attempts) +
             " attempts";
    }
    n.state = want;
    n.attempts = after.attempts;
    ++result_.answers["notify." + want];
  }
  if (matched != sent.size()) return "the merchant received notifications that were not due";
  return "";
}

std::string Walker::OpExpire() {
  Note("clock.expire");
  const int64_t s = U(expiry_s_ / 2, expiry_s_ * 2);
  Trace("  advance the sandbox clock " + std::to_string(s) + " s");
  Status st = clock_.AdvanceMicros(s * kSec);
  return st.ok() ? "" : "clock advance failed: " + st.ToString();
}

std::string Walker::OpRestart() {
  Note("restart");
  ++result_.restarts;
  CloseSandbox();
  WALK_TRY(OpenSandbox());
  return FullCheck("after restart");
}

std::string Walker::FullCheck(const std::string& why) {
  ++result_.full_checks;
  std::map<std::string, OrderView> views;
  WALK_TRY(db_.Query(std::string(kOrderViewSelect) + " WHERE o.merchantno = ?1", {kDemoMerchantNo},
                     [&](sqlite3_stmt* st) {
                       OrderView v = ReadView(st);
                       views[v.out_trade_no] = v;
                     }));
  const std::string pre = "full check " + why + ": ";
  if (views.size() != orders_.size()) {
    return pre + std::to_string(views.size()) + " orders in the database, " +
           std::to_string(orders_.size()) + " created";
  }
  for (ModelOrder& m : orders_) {
    auto it = views.find(m.out_trade_no);
    WALK_TRY(CheckOrderTransition(m.seen ? &*m.seen : nullptr,
                                  it == views.end() ? nullptr : &it->second));
    const OrderView& v = it->second;
    if (v.status != m.status || v.refunded_fee != m.refunded ||
        v.refund_count != static_cast<int64_t>(m.refunds.size())) {
      return pre + "order " + m.out_trade_no + " is " + v.status + " refunded " +
             Fen(v.refunded_fee) + ", expected " + m.status + " refunded " + Fen(m.refunded);
    }
    m.seen = v;
  }
  std::map<std::string, std::pair<std::string, int64_t>> refunds;
  WALK_TRY(db_.Query(
      "SELECT out_refund_no, out_trade_no, refund_fee FROM refunds WHERE status = 'SUCCESS'", {},
      [&](sqlite3_stmt* st) {
        refunds[Db::Text(st, 0)] = {Db::Text(st, 1), Db::Int(st, 2)};
      }));
  if (refunds.size() != refund_owner_.size()) {
    return pre + std::to_string(refunds.size()) + " refunds in the database, " +
           std::to_string(refund_owner_.size()) + " succeeded";
  }
  for (const auto& [no, owner] : refund_owner_) {
    auto it = refunds.find(no);
    if (it == refunds.end() || it->second.first != owner ||
        it->second.second != Find(owner)->refunds.at(no)) {
      return pre + "refund " + no + " differs from what succeeded";
    }
  }
  int64_t rows = 0;
  std::string err;
  WALK_TRY(db_.Query(std::string(kNotifySelect), {}, [&](sqlite3_stmt* st) {
    ++rows;
    if (!err.empty()) return;
    NotifyRow r = ReadNotifyRow(st);
    auto it = notes_.find(r.id);
    if (it == notes_.end()) {
      err = pre + "unexpected notification " + r.notify_id + " (" + r.type + " " + r.out_trade_no +
            ")";
    } else if (it->second.state != r.state || it->second.attempts != r.attempts ||
               it->second.type != r.type || it->second.out_trade_no != r.out_trade_no ||
               it->second.out_refund_no != r.out_refund_no) {
      err = pre + "notification " + r.notify_id + " is " + r.state + " after " +
            std::to_string(r.attempts) + " attempts, expected " + it->second.state + " after " +
            std::to_string(it->second.attempts);
    }
  }));
  WALK_TRY(err);
  if (rows != static_cast<int64_t>(notes_.size())) {
    return pre + std::to_string(rows) + " notifications in the database, " +
           std::to_string(notes_.size()) + " expected";
  }
  return "";
}

std::string Walker::Step(int64_t step) {
  step_ = step;
  // Time passes between a merchant's calls.
  base_clock_.AdvanceMicros(U(0, 2 * kSec));
  Trace("step " + std::to_string(step) + " t=+" + std::to_string(Now() - kT0) + "s");
  // The mix, per mille: restarts (restart_per_mille), webpay (the rest of
  // 160), micropay 60, buyer pays 180, fails 40, cancels 40, clock past the
  // expiry 20, refund 220, orderquery 80, orderrefundquery 40, notification
  // round 160.
  const int64_t r = U(0, 999);
  std::string err;
  if (r < options_.restart_per_mille) {
    err = OpRestart();
  } else if (r < 160) {
    err = OpCreate(false);
  } else if (r < 220) {
    err = OpCreate(true);
  } else if (r < 400) {
    err = OpPay(PayOutcome::kSuccess);
  } else if (r < 440) {
    err = OpPay(PayOutcome::kFail);
  } else if (r < 480) {
    err = OpPay(PayOutcome::kCancel);
  } else if (r < 500) {
    err = OpExpire();
  } else if (r < 720) {
    err = OpRefund();
  } else if (r < 800) {
    err = OpQuery();
  } else if (r < 840) {
    err = OpRefundQuery();
  } else {
    err = OpNotify();
  }
  if (err.empty() && options_.full_check_every > 0 && step % options_.full_check_every == 0) {
    err = FullCheck("at step " + std::to_string(step));
  }
  return err;
}

WalkResult Walker::Run() {
  namespace fs = std::filesystem;
  fs::path dir = options_.dir;
  const bool own_dir = dir.empty();
  std::error_code ec;
  if (own_dir) {
    // tmpfs when there is a roomy one: the walk checks invariants, not the
    // disk (100,000 steps make a database of some tens of MB).
    const bool shm = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 &&
                     fs::space("/dev/shm", ec).available >= (uintmax_t{512} << 20);
    const fs::path tmp = shm ? fs::path("/dev/shm") : fs::temp_directory_path();
    dir = tmp / ("vkspay_walk_" + std::to_string(::getpid()) + "_" + std::to_string(options_.seed));
    fs::remove_all(dir, ec);
  }
  fs::create_directories(dir, ec);
  db_path_ = (dir / "walk.db").string();
  fs::remove(db_path_, ec);
  fs::remove(db_path_ + "-wal", ec);
  fs::remove(db_path_ + "-shm", ec);
  result_.db_path = db_path_;
  auto fail = [&](int64_t step, const std::string& what) {
    result_.ok = false;
    result_.failed_step = step;
    result_.violation = "seed=" + std::to_string(options_.seed) + " step=" + std::to_string(step) +
                        (op_.empty() ? "" : " op=" + op_) + ": " + what +
                        "\n  replay: random_walk --seed " + std::to_string(options_.seed) +
                        " --steps " + std::to_string(step) + " --trace --keep";
  };
  std::string err = OpenSandbox();
  if (err.empty()) err = db_.Open(db_path_);
  if (!err.empty()) {
    fail(0, err);
    return result_;
  }
  for (int64_t step = 1; step <= options_.steps; ++step) {
    err = Step(step);
    result_.steps_run = step;
    if (!err.empty()) {
      fail(step, err);
      break;
    }
  }
  if (result_.ok) {
    op_.clear();
    err = FullCheck("at the end");
    if (!err.empty()) fail(options_.steps, err);
  }
  std::string integrity;
  (void)db_.Query("PRAGMA integrity_check", {}, [&](sqlite3_stmt* st) {
    if (!integrity.empty()) integrity += "; ";
    integrity += Db::Text(st, 0);
  });
  result_.integrity = integrity;
  if (result_.ok && integrity != "ok") fail(options_.steps, "PRAGMA integrity_check: " + integrity);
  result_.orders = static_cast<int64_t>(orders_.size());
  result_.refunds = static_cast<int64_t>(refund_owner_.size());
  result_.notifications = static_cast<int64_t>(notes_.size());
  CloseSandbox();
  if (own_dir && result_.ok && !options_.keep_dir) fs::remove_all(dir, ec);
  return result_;
}

}  // namespace

WalkResult RunRandomWalk(const WalkOptions& options) {
  try {
    auto walker = std::make_unique<Walker>(options);
    return walker->Run();
  } catch (const std::exception& e) {
    WalkResult r;
    r.ok = false;
    r.violation = "seed=" + std::to_string(options.seed) + ": the walk threw " + e.what();
    return r;
  }
}

}  // namespace vkspay::sandbox::walk
