// Invariants under random operations: a seeded random walk over everything a
// merchant, a buyer and time can do to the sandbox, checked after every step.
//
// Each step is drawn from a SeededRandom: create an order (webpay, micropay,
// a fresh or an already used out_trade_no), the buyer pays, fails or cancels
// (the control API's act-as-buyer path), time runs out (the sandbox clock is
// advanced past the expiry), a refund (partial, full, over the limit, a
// duplicate out_refund_no, of an unpaid order), a query, a notification
// round whose merchant acks or fails, a restart (every component destroyed
// and the store reopened on the same file). Requests go through ApiService
// (signed, as a merchant sends them) against the SQLite store, in process,
// on a FakeClock, so the walk runs the real code paths.
//
// After every step the checker reads the touched order straight from the
// database (its own SQLite connection, not through the Store) and checks:
//   - only a legal state transition happened (see IsLegalTransition), and it
//     is the one the documented behaviour predicts for that step;
//   - the sum of the order's successful refunds equals refunded_fee and never
//     exceeds the paid amount; refunded totals only grow;
//   - a paid order has exactly one payment event in the outbox (the
//     notifications table), an unpaid one none, each refund exactly one;
//   - the API answer agrees (return_code / err_code, amounts).
// Every `full_check_every` steps, after each restart and at the end, every
// order and notification is compared with the model, and at the end PRAGMA
// integrity_check must be ok. The first violation stops the walk; its report
// names the seed and the step so that `random_walk --seed S --steps N`
// replays it exactly.
//
// Not thread-safe (a walk is one thread); independent walks may run at once
// in different directories.
#ifndef VKSPAY_SANDBOX_SOAK_RANDOM_WALK_H_
#define VKSPAY_SANDBOX_SOAK_RANDOM_WALK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vkspay::sandbox::walk {

// One order as the checker reads it from the database.
struct OrderView {
  std::string out_trade_no;
  std::string status;  // as stored: NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED, PAYERROR
  int64_t total_fee = 0;
  int64_t refunded_fee = 0;
  int64_t refund_count = 0;
  int64_t paid_at = 0;
  std::string transaction_id;
  int64_t refunds_sum = 0;     // sum of the SUCCESS rows in `refunds`
  int64_t refunds_rows = 0;    // how many SUCCESS rows
  int64_t payment_events = 0;  // rows in `notifications` of type payment
  int64_t refund_events = 0;   // rows of type refund
};

// Whether an order may go from status `from` to `to` (the same status
// included). NOTPAY/USERPAYING -> SUCCESS, PAYERROR, CLOSED; SUCCESS ->
// REFUND; nothing leaves REFUND, CLOSED or PAYERROR. (A fault-injected late
// success, CLOSED -> SUCCESS, is outside the walk, which injects no faults.)
bool IsLegalTransition(std::string_view from, std::string_view to);

// The invariants of one order on its own. Returns "" or what is wrong.
std::string CheckOrderView(const OrderView& v);

// The invariants of one order between two observations (before: null when
// the order is new; after: null when it vanished), CheckOrderView of `after`
// included. Returns "" or what is wrong.
std::string CheckOrderTransition(const OrderView* before, const OrderView* after);

// A bug planted on purpose, to show that the checker catches it: applied with
// raw SQL to the order the step touched, right after the step, before it is
// checked.
enum class Plant {
  kNone,
  kReopenOrder,         // a CLOSED or PAYERROR order back to NOTPAY
  kSecondPaymentEvent,  // a copy of a paid order's payment notification
  kLoseRefund,          // a refund row deleted, refunded_fee left as it was
  kShrinkRefundedFee,   // refunded_fee lowered along with one refund row
  kDropPaymentEvent,    // a paid order's payment notification deleted
};
std::string_view ToString(Plant p);
std::optional<Plant> ParsePlant(std::string_view s);

struct WalkOptions {
  uint64_t seed = 1;
  int64_t steps = 5000;
  // Where the database lives ("" : a fresh directory under the temp dir,
  // removed at the end unless the walk failed or keep_dir is set).
  std::string dir;
  bool keep_dir = false;
  int64_t full_check_every = 1000;  // 0: only after restarts and at the end
  // Steps that are restarts, per mille of all steps.
  int64_t restart_per_mille = 3;
  // Plant `plant` at the first step >= plant_at_step whose order can take it.
  Plant plant = Plant::kNone;
  int64_t plant_at_step = 0;
  // Receives one line per step (the operation and its answer); empty: none.
  std::function<void(const std::string&)> trace;
};

struct WalkResult {
  bool ok = true;
  int64_t steps_run = 0;
  // On a violation: the step (1-based) and what was wrong, with the seed and
  // the replay command.
  int64_t failed_step = 0;
  std::string violation;
  std::map<std::string, int64_t> op_counts;  // e.g. "refund.partial" -> 812
  std::map<std::string, int64_t> answers;    // "SUCCESS", "ORDER_CLOSED", ... -> count
  int64_t planted_step = 0;                  // the step a planted bug was applied at (0: none)
  int64_t orders = 0;
  int64_t refunds = 0;
  int64_t notifications = 0;
  int64_t restarts = 0;
  int64_t full_checks = 0;
  std::string integrity;  // PRAGMA integrity_check at the end ("ok")
  std::string db_path;
};

// Runs the walk. Never throws; setup failures are reported as a violation at
// step 0.
WalkResult RunRandomWalk(const WalkOptions& options);

// "seed=S steps=N orders=... refunds=..." plus the op and answer counts.
std::string Summary(const WalkResult& r);

}  // namespace vkspay::sandbox::walk

#endif  // VKSPAY_SANDBOX_SOAK_RANDOM_WALK_H_
