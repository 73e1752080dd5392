// FaultEngine: decides which faults fire, deterministically, and records every
// firing. One per sandbox, owned by main (or a test); thread-safe: every
// public method may be called from any thread.
//
// Where the sandbox asks (entry points for the API handler, the buyer paths,
// the refund path and the notification dispatcher; see also fault_effects.h,
// which turns decisions into concrete behaviour):
//
//   API handler, after VerifySign (so `attach` is the verified one):
//     Status st = ValidateDirectives(header, attach);   // FAIL INVALID_FIELD if bad
//     auto before = engine.Decide(FaultHook::kApiBefore, ctx);
//     ApiEffect e = PlanApiBefore(before);               // delay, or answer instead
//     ... run the method (if !e.replace) ...
//     auto after = engine.Decide(FaultHook::kApiAfter, ctx);
//     ApiEffect a = PlanApiAfter(after, produced_answer);
//   webpay/micropay creating an order:
//     OrderPlan o = PlanOrder(engine.Decide(FaultHook::kOrder, ctx));
//   buyer paying (cashier page, POST /_sandbox/pay, micropay):
//     PaymentPlan p = PlanPayment(engine.Decide(FaultHook::kPayment, ctx));
//   orderrefund creating a refund:
//     RefundPlan r = PlanRefund(engine.Decide(FaultHook::kRefund, ctx));
//   enqueuing a notification (in the same transaction as the state change,
//   store the plan with the outbox row so it survives a restart):
//     NotifyPlan n = PlanNotify(engine.Decide(FaultHook::kNotify, ctx));
//   the dispatcher, after every delivery attempt (dropped ones count as failed):
//     engine.RecordDelivery(ctx, acked);
//
// Which faults fire for a call, in this order (the order of the result, which
// is also the precedence when two exclusive faults fire):
//   1. a suspended merchant (api_before only): api.fail MERCHANT_SUSPENDED,
//      and nothing else;
//   2. the X-Sandbox-Fault header directive (source "header");
//   3. the attach directive (source "attach");
//   4. the magic amount table for ctx.amount_fen (source "amount");
//   5. runtime/config rules in the order they were added (source "rule");
//   6. the active profile's rules (source "profile").
// Only faults whose HookOf() is the asked hook are considered. A rule fires
// when its match accepts ctx, its count limit is not reached and a draw from
// its own generator (mt19937_64 seeded with the rule's seed, or with
// engine seed ^ FNV-1a(id)) is below its probability (no draw when the
// probability is 0 or 1). So the same seed and the same sequence of Decide
// calls give the same decisions. Directives and magic amounts always fire.
//
// Every firing is appended to a bounded in-memory record (the oldest entries
// are dropped past capacity) and passed to the log callback.
#ifndef VKSPAY_SANDBOX_FAULTS_FAULT_ENGINE_H_
#define VKSPAY_SANDBOX_FAULTS_FAULT_ENGINE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/faults/fault.h"
#include "sandbox/faults/magic_amounts.h"
#include "sandbox/faults/profiles.h"
#include "sandbox/faults/rule.h"
#include "vkspay/protocol/clock.h"

namespace vkspay::sandbox {

// The err_code a suspended merchant's API calls answer with.
inline constexpr char kMerchantSuspendedErrCode[] = "MERCHANT_SUSPENDED";

// One fault that fired for one call.
struct FaultDecision {
  Fault fault;          // parameters resolved (a delay range is drawn to one ms)
  std::string source;   // "header", "attach", "amount", "rule", "profile", "suspended"
  std::string rule_id;  // the rule's id; "header"/"attach"; "amount:1001.01";
                        // for "suspended" the suspending rule's id
  uint64_t seq = 0;     // the record's sequence number
};

// One entry of the record: what was injected, when, why, into which call.
struct InjectedFault {
  uint64_t seq = 0;     // 1, 2, 3, ... in firing order; never reused
  int64_t time_us = 0;  // the engine's clock
  std::string source;
  std::string rule_id;
  FaultHook hook = FaultHook::kApiBefore;
  Fault fault;
  std::string method;
  std::string merchantno;
  std::string out_trade_no;
  int64_t amount_fen = 0;
};
nlohmann::ordered_json InjectedFaultJson(const InjectedFault& f);

// A rule as the engine holds it, for listing.
struct RuleState {
  FaultRule rule;      // seed filled in (explicit or derived)
  std::string source;  // "rule" or "profile"
  int64_t fired = 0;   // times it fired so far
};

struct FaultEngineOptions {
  uint64_t seed = 0;             // derives the seeds of rules without one
  size_t log_capacity = 10'000;  // record entries kept
  std::string profiles_dir;      // scenario files; "" = built-ins only
  bool magic_amounts = true;
  MagicAmountTable magic = MagicAmountTable::Default();
};

// Checks the per-request directives before any state changes. Errors:
// kInvalidField from ParseHeaderDirective / ParseAttachDirective, whose
// message names the header or attach and the column.
Status ValidateDirectives(std::string_view header, std::string_view attach);

class FaultEngine {
 public:
  // `clock` must outlive the engine. Starts with the "strict" profile, no
  // rules and an empty record.
  FaultEngine(const Clock& clock, FaultEngineOptions options);
  FaultEngine(const FaultEngine&) = delete;
  FaultEngine& operator=(const FaultEngine&) = delete;

  // Applies the config file's "faults" section: the profile, then the rules
  // (replacing any), and whether magic amounts apply. Errors: those of
  // SetProfile and AddRule; on error nothing changes.
  Status Configure(const FaultsConfig& config);

  // The faults that fire at `hook` for this call, recorded; see the file
  // comment. Never fails: an invalid directive (ValidateDirectives not called)
  // is ignored. The log callback runs before this returns.
  std::vector<FaultDecision> Decide(FaultHook hook, const FaultContext& ctx);

  // Reports one notification delivery attempt for ctx.merchantno (ctx also
  // carries what merchant.suspend_after rules match on). An ack resets the
  // merchant's consecutive-failure count; a failure increments it, and when
  // it reaches a matching rule's `failures` the merchant is suspended (one
  // record entry, hook "merchant"). Returns true when this call suspended it.
  bool RecordDelivery(const FaultContext& ctx, bool acked);
  bool IsSuspended(std::string_view merchantno) const;
  // Lifts a suspension and zeroes the failure count. Returns false if the
  // merchant was not suspended.
  bool ResetMerchant(std::string_view merchantno);
  // Suspended merchants and their consecutive failures.
  std::vector<std::pair<std::string, int64_t>> SuspendedMerchants() const;

  // Adds a runtime rule after the existing ones and returns its id (generated
  // "rule-<n>" when empty). Errors: kInvalidField for a duplicate id (also
  // against the profile's rules) or a fault that fails ValidateFault.
  StatusOr<std::string> AddRule(FaultRule rule);
  // Errors: kNotFound if no runtime rule has this id (profile rules are
  // removed by changing the profile).
  Status RemoveRule(std::string_view id);
  // Runtime rules, then the profile's.
  std::vector<RuleState> ListRules() const;
  // Removes every runtime rule and sets the profile to "strict". The record
  // and merchant suspensions stay.
  void Clear();

  // Replaces the profile's rules by those of LoadProfile(name). Errors: those
  // of LoadProfile, or kInvalidField if a profile rule's id is already a
  // runtime rule's; on error the profile does not change.
  Status SetProfile(std::string_view name);
  std::string profile() const;
  std::vector<std::string> profile_names() const;

  // Record entries with seq > since_seq, oldest first, at most `limit`.
  std::vector<InjectedFault> Log(uint64_t since_seq, size_t limit = 1000) const;
  // The last seq assigned (0 before the first firing).
  uint64_t last_seq() const;
  // Called for every firing, under the engine's lock: it must not call back
  // into the engine. Replaces any earlier callback; nullptr removes it.
  void SetLogCallback(std::function<void(const InjectedFault&)> callback);

  const MagicAmountTable& magic_amounts() const { return options_.magic; }
  // Whether the magic amount table applies (options, then Configure).
  bool magic_amounts_enabled() const;

 private:
  struct ActiveRule {
    RuleState state;
    std::mt19937_64 rng;
  };

  ActiveRule MakeActive(FaultRule rule, std::string source) const;
  // Runs one rule for a call; appends a decision if it fires. Needs mu_.
  void TryRule(ActiveRule& r, FaultHook hook, const FaultContext& ctx,
               std::vector<FaultDecision>* out);
  // Resolves ranges, records and appends. Needs mu_.
  void Fire(Fault fault, std::string source, std::string rule_id, FaultHook hook,
            const FaultContext& ctx, std::mt19937_64* rng, std::vector<FaultDecision>* out);
  bool IdTaken(std::string_view id) const;  // needs mu_

  const Clock& clock_;
  const FaultEngineOptions options_;

  mutable std::mutex mu_;
  std::vector<ActiveRule> rules_;                       // guarded by mu_
  std::vector<ActiveRule> profile_rules_;               // guarded by mu_
  std::string profile_ = "strict";                      // guarded by mu_
  bool magic_enabled_;                                  // guarded by mu_
  uint64_t next_rule_number_ = 1;                       // guarded by mu_
  std::mt19937_64 engine_rng_;                          // guarded by mu_; directive/amount ranges
  std::deque<InjectedFault> log_;                       // guarded by mu_
  uint64_t last_seq_ = 0;                               // guarded by mu_
  std::function<void(const InjectedFault&)> callback_;  // guarded by mu_
  struct Standing {
    int64_t consecutive_failures = 0;
    bool suspended = false;
    std::string rule_id;
  };
  std::map<std::string, Standing, std::less<>> standing_;  // guarded by mu_
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_FAULTS_FAULT_ENGINE_H_
