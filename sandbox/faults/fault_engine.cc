#include "sandbox/faults/fault_engine.h"

#include "sandbox/faults/directive.h"
#include "vkspay/protocol/amount.h"

namespace vkspay::sandbox {
namespace {

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// A uniform double in [0, 1) from 53 random bits.
double UnitDraw(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace

nlohmann::ordered_json InjectedFaultJson(const InjectedFault& f) {
  nlohmann::ordered_json j;
  j["seq"] = f.seq;
  j["time_us"] = f.time_us;
  j["source"] = f.source;
  j["rule_id"] = f.rule_id;
  j["hook"] = HookName(f.hook);
  j["kind"] = KindName(f.fault.kind);
  j["params"] = FaultJson(f.fault)["params"];
  j["method"] = f.method;
  j["merchantno"] = f.merchantno;
  j["out_trade_no"] = f.out_trade_no;
  if (f.amount_fen > 0) {
    j["amount"] = YuanJson(f.amount_fen);
  } else {
    j["amount"] = nullptr;
  }
  return j;
}

Status ValidateDirectives(std::string_view header, std::string_view attach) {
  StatusOr<std::vector<Fault>> h = ParseHeaderDirective(header);
  if (!h.ok()) return h.status();
  StatusOr<std::vector<Fault>> a = ParseAttachDirective(attach);
  if (!a.ok()) return a.status();
  return Status::Ok();
}

FaultEngine::FaultEngine(const Clock& clock, FaultEngineOptions options)
    : clock_(clock),
      options_(std::move(options)),
      magic_enabled_(options_.magic_amounts),
      engine_rng_(options_.seed) {}

FaultEngine::ActiveRule FaultEngine::MakeActive(FaultRule rule, std::string source) const {
  if (!rule.seed) rule.seed = options_.seed ^ Fnv1a(rule.id);
  ActiveRule r{RuleState{std::move(rule), std::move(source), 0}, std::mt19937_64()};
  r.rng.seed(*r.state.rule.seed);
  return r;
}

bool FaultEngine::IdTaken(std::string_view id) const {
  for (const ActiveRule& r : rules_) {
    if (r.state.rule.id == id) return true;
  }
  for (const ActiveRule& r : profile_rules_) {
    if (r.state.rule.id == id) return true;
  }
  return false;
}

Status FaultEngine::Configure(const FaultsConfig& config) {
  StatusOr<FaultProfile> profile = LoadProfile(config.profile, options_.profiles_dir);
  if (!profile.ok()) return Status(profile.status().code(), "faults." + profile.status().message());
  std::vector<ActiveRule> profile_rules;
  for (const FaultRule& r : profile->rules) profile_rules.push_back(MakeActive(r, "profile"));
  std::vector<ActiveRule> rules;
  uint64_t next = 1;
  for (size_t i = 0; i < config.rules.size(); ++i) {
    FaultRule rule = config.rules[i];
    const std::string path = "faults.rules[" + std::to_string(i) + "]";
    VKSPAY_RETURN_IF_ERROR(ValidateFault(path + ".action", rule.action));
    if (rule.id.empty()) rule.id = "rule-" + std::to_string(next++);
    auto taken = [&](const std::vector<ActiveRule>& list) {
      for (const ActiveRule& r : list) {
        if (r.state.rule.id == rule.id) return true;
      }
      return false;
    };
    if (taken(rules) || taken(profile_rules)) {
      return Status(ErrorCode::kInvalidField, path + ".id: duplicate id \"" + rule.id + "\"");
    }
    rules.push_back(MakeActive(std::move(rule), "rule"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  profile_ = profile->name;
  profile_rules_ = std::move(profile_rules);
  rules_ = std::move(rules);
  next_rule_number_ = next;
  magic_enabled_ = config.magic_amounts;
  return Status::Ok();
}

void FaultEngine::Fire(Fault fault, std::string source, std::string rule_id, FaultHook hook,
                       const FaultContext& ctx, std::mt19937_64* rng,
                       std::vector<FaultDecision>* out) {
  FaultParams& p = fault.params;
  if ((fault.kind == FaultKind::kApiDelay || fault.kind == FaultKind::kNotifyDelay) &&
      p.max_ms > p.ms) {
    const uint64_t span = static_cast<uint64_t>(p.max_ms - p.ms) + 1;
    p.ms += static_cast<int64_t>((*rng)() % span);
    p.max_ms = 0;
  }
  InjectedFault rec;
  rec.seq = ++last_seq_;
  rec.time_us = clock_.NowMicros();
  rec.source = source;
  rec.rule_id = rule_id;
  rec.hook = hook;
  rec.fault = fault;
  rec.method = ctx.method;
  rec.merchantno = ctx.merchantno;
  rec.out_trade_no = ctx.out_trade_no;
  rec.amount_fen = ctx.amount_fen;
  log_.push_back(rec);
  while (log_.size() > options_.log_capacity) log_.pop_front();
  if (callback_) callback_(rec);
  out->push_back(FaultDecision{std::move(fault), std::move(source), std::move(rule_id), rec.seq});
}

void FaultEngine::TryRule(ActiveRule& r, FaultHook hook, const FaultContext& ctx,
                          std::vector<FaultDecision>* out) {
  const FaultRule& rule = r.state.rule;
  if (HookOf(rule.action) != hook) return;
  if (!rule.match.Matches(ctx)) return;
  if (rule.count > 0 && r.state.fired >= rule.count) return;
  if (rule.probability <= 0.0) return;
  if (rule.probability < 1.0 && UnitDraw(r.rng) >= rule.probability) return;
  ++r.state.fired;
  Fire(rule.action, r.state.source, rule.id, hook, ctx, &r.rng, out);
}

std::vector<FaultDecision> FaultEngine::Decide(FaultHook hook, const FaultContext& ctx) {
  std::vector<FaultDecision> out;
  if (hook == FaultHook::kMerchant) return out;  // see RecordDelivery
  std::lock_guard<std::mutex> lock(mu_);
  if (hook == FaultHook::kApiBefore) {
    auto it = standing_.find(ctx.merchantno);
    if (it != standing_.end() && it->second.suspended) {
      Fault f = DefaultFault(FaultKind::kApiFail);
      f.params.err_code = kMerchantSuspendedErrCode;
      f.params.message = "商户 " + ctx.merchantno + " 因通知连续 " +
                         std::to_string(it->second.consecutive_failures) +
                         " 次投递失败已被暂停 (sandbox: merchant suspended after " +
                         std::to_string(it->second.consecutive_failures) +
                         " consecutive failed notification deliveries; reset with POST "
                         "/_sandbox/faults/merchants/" +
                         ctx.merchantno + "/reset)";
      Fire(std::move(f), "suspended", it->second.rule_id, hook, ctx, &engine_rng_, &out);
      return out;
    }
  }
  auto directive = [&](StatusOr<std::vector<Fault>> faults, const char* source) {
    if (!faults.ok()) return;
    for (const Fault& f : *faults) {
      if (HookOf(f) == hook) Fire(f, source, source, hook, ctx, &engine_rng_, &out);
    }
  };
  directive(ParseHeaderDirective(ctx.header_directive), "header");
  directive(ParseAttachDirective(ctx.attach), "attach");
  if (magic_enabled_ && ctx.amount_fen > 0) {
    if (const MagicAmount* m = options_.magic.Find(ctx.amount_fen)) {
      // Two decimals, as the table spells it ("amount:1001.10").
      const std::string fen = std::to_string(ctx.amount_fen % 100);
      const std::string id = "amount:" + std::to_string(ctx.amount_fen / 100) + "." +
                             (fen.size() < 2 ? "0" : "") + fen;
      for (const Fault& f : m->faults) {
        if (HookOf(f) == hook) Fire(f, "amount", id, hook, ctx, &engine_rng_, &out);
      }
    }
  }
  for (ActiveRule& r : rules_) TryRule(r, hook, ctx, &out);
  for (ActiveRule& r : profile_rules_) TryRule(r, hook, ctx, &out);
  return out;
}

bool FaultEngine::RecordDelivery(const FaultContext& ctx, bool acked) {
  std::lock_guard<std::mutex> lock(mu_);
  Standing& s = standing_[ctx.merchantno];
  if (acked) {
    if (!s.suspended) s.consecutive_failures = 0;
    return false;
  }
  ++s.consecutive_failures;
  if (s.suspended) return false;
  std::vector<FaultDecision> fired;
  auto consider = [&](std::vector<ActiveRule>& list) {
    for (ActiveRule& r : list) {
      if (!fired.empty()) return;
      const FaultRule& rule = r.state.rule;
      if (rule.action.kind != FaultKind::kMerchantSuspendAfter) continue;
      if (s.consecutive_failures < rule.action.params.count) continue;
      TryRule(r, FaultHook::kMerchant, ctx, &fired);
    }
  };
  consider(rules_);
  consider(profile_rules_);
  if (fired.empty()) return false;
  s.suspended = true;
  s.rule_id = fired.front().rule_id;
  return true;
}

bool FaultEngine::IsSuspended(std::string_view merchantno) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = standing_.find(merchantno);
  return it != standing_.end() && it->second.suspended;
}

bool FaultEngine::ResetMerchant(std::string_view merchantno) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = standing_.find(merchantno);
  if (it == standing_.end()) return false;
  const bool was = it->second.suspended;
  standing_.erase(it);
  return was;
}

std::vector<std::pair<std::string, int64_t>> FaultEngine::SuspendedMerchants() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [no, s] : standing_) {
    if (s.suspended) out.emplace_back(no, s.consecutive_failures);
  }
  return out;
}

StatusOr<std::string> FaultEngine::AddRule(FaultRule rule) {
  VKSPAY_RETURN_IF_ERROR(ValidateFault("action", rule.action));
  std::lock_guard<std::mutex> lock(mu_);
  if (rule.id.empty()) {
    do {
      rule.id = "rule-" + std::to_string(next_rule_number_++);
    } while (IdTaken(rule.id));
  } else if (IdTaken(rule.id)) {
    return Status(ErrorCode::kInvalidField, "id: duplicate id \"" + rule.id + "\"");
  }
  std::string id = rule.id;
  rules_.push_back(MakeActive(std::move(rule), "rule"));
  return id;
}

Status FaultEngine::RemoveRule(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->state.rule.id == id) {
      rules_.erase(it);
      return Status::Ok();
    }
  }
  return Status(ErrorCode::kNotFound, "no runtime rule with id \"" + std::string(id) + "\"");
}

std::vector<RuleState> FaultEngine::ListRules() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RuleState> out;
  for (const ActiveRule& r : rules_) out.push_back(r.state);
  for (const ActiveRule& r : profile_rules_) out.push_back(r.state);
  return out;
}

void FaultEngine::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
  profile_rules_.clear();
  profile_ = "strict";
}

Status FaultEngine::SetProfile(std::string_view name) {
  StatusOr<FaultProfile> profile = LoadProfile(name, options_.profiles_dir);
  if (!profile.ok()) return profile.status();
  std::vector<ActiveRule> rules;
  for (const FaultRule& r : profile->rules) rules.push_back(MakeActive(r, "profile"));
  std::lock_guard<std::mutex> lock(mu_);
  for (const ActiveRule& p : rules) {
    for (const ActiveRule& r : rules_) {
      if (r.state.rule.id == p.state.rule.id) {
        return Status(ErrorCode::kInvalidField, "profile " + profile->name + ": rule id \"" +
                                                    p.state.rule.id +
                                                    "\" is already a runtime rule's");
      }
    }
  }
  profile_ = profile->name;
  profile_rules_ = std::move(rules);
  return Status::Ok();
}

std::string FaultEngine::profile() const {
  std::lock_guard<std::mutex> lock(mu_);
  return profile_;
}

std::vector<std::string> FaultEngine::profile_names() const {
  return ListProfiles(options_.profiles_dir);
}

std::vector<InjectedFault> FaultEngine::Log(uint64_t since_seq, size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InjectedFault> out;
  for (const InjectedFault& f : log_) {
    if (out.size() >= limit) break;
    if (f.seq > since_seq) out.push_back(f);
  }
  return out;
}

bool FaultEngine::magic_amounts_enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return magic_enabled_;
}

uint64_t FaultEngine::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_seq_;
}

void FaultEngine::SetLogCallback(std::function<void(const InjectedFault&)> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  callback_ = std::move(callback);
}

}  // namespace vkspay::sandbox
