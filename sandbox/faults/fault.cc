#include "sandbox/faults/fault.h"

#include <array>
#include <vector>

#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr std::array kKinds = {
    FaultKind::kApiFail,
    FaultKind::kApiHttpStatus,
    FaultKind::kApiDelay,
    FaultKind::kApiClose,
    FaultKind::kApiTruncate,
    FaultKind::kApiNotJson,
    FaultKind::kApiWrongAmount,
    FaultKind::kPayFail,
    FaultKind::kPayCancel,
    FaultKind::kPayUserPaying,
    FaultKind::kPayExpireEarly,
    FaultKind::kPayLateSuccess,
    FaultKind::kNotifyDelay,
    FaultKind::kNotifyDuplicate,
    FaultKind::kNotifyTimes,
    FaultKind::kNotifyDropFirst,
    FaultKind::kNotifyBadSign,
    FaultKind::kNotifyTamperAmount,
    FaultKind::kNotifyRefundFirst,
    FaultKind::kNotifyReplay,
    FaultKind::kRefundProcessing,
    FaultKind::kRefundFail,
    FaultKind::kMerchantSuspendAfter,
};

enum class ParamType { kInt, kString, kPhase };

// One JSON parameter of one kind, bound to its FaultParams member.
struct ParamSpec {
  std::string_view name;
  ParamType type;
  int64_t FaultParams::*int_field = nullptr;
  std::string FaultParams::*str_field = nullptr;
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string_view> choices;  // strings: allowed values (empty: free)
  std::vector<int64_t> int_choices;       // ints: allowed values (empty: [min, max])
};

ParamSpec Int(std::string_view name, int64_t FaultParams::*field, int64_t min, int64_t max) {
  return ParamSpec{name, ParamType::kInt, field, nullptr, min, max, {}, {}};
}
ParamSpec Str(std::string_view name, std::string FaultParams::*field,
              std::vector<std::string_view> choices, int64_t max_len = 256) {
  return ParamSpec{name, ParamType::kString, nullptr, field, 0, max_len, std::move(choices), {}};
}
ParamSpec Phase() { return ParamSpec{"phase", ParamType::kPhase, nullptr, nullptr, 0, 0, {}, {}}; }

constexpr int64_t kMaxMs = 600'000;
constexpr int64_t kMaxSeconds = 86'400;
constexpr int64_t kMaxDeltaFen = 100'000'000;

const std::vector<ParamSpec>& SpecsOf(FaultKind kind) {
  using P = FaultParams;
  static const auto* table = [] {
    auto* t = new std::vector<std::vector<ParamSpec>>(kKinds.size());
    auto set = [&](FaultKind k, std::vector<ParamSpec> specs) {
      (*t)[static_cast<size_t>(k)] = std::move(specs);
    };
    set(FaultKind::kApiFail,
        {Str("err_code", &P::err_code, {}, 64), Str("message", &P::message, {}), Phase()});
    {
      ParamSpec status = Int("status", &P::status, 429, 503);
      status.int_choices = {429, 500, 502, 503};
      set(FaultKind::kApiHttpStatus, {status, Str("body", &P::body, {"empty", "html"}), Phase()});
    }
    set(FaultKind::kApiDelay,
        {Int("ms", &P::ms, 0, kMaxMs), Int("max_ms", &P::max_ms, 0, kMaxMs), Phase()});
    set(FaultKind::kApiClose, {Phase()});
    set(FaultKind::kApiTruncate, {Int("keep_bytes", &P::keep_bytes, 0, 1 << 20), Phase()});
    set(FaultKind::kApiNotJson, {Str("body", &P::body, {"html", "text"}), Phase()});
    set(FaultKind::kApiWrongAmount,
        {Int("delta_fen", &P::delta_fen, -kMaxDeltaFen, kMaxDeltaFen), Phase()});
    set(FaultKind::kPayFail, {});
    set(FaultKind::kPayCancel, {});
    set(FaultKind::kPayUserPaying, {Int("seconds", &P::seconds, 1, kMaxSeconds),
                                    Str("then", &P::then, {"success", "fail", "cancel"})});
    set(FaultKind::kPayExpireEarly, {Int("seconds", &P::seconds, 0, kMaxSeconds)});
    set(FaultKind::kPayLateSuccess, {Int("seconds", &P::seconds, 0, kMaxSeconds)});
    set(FaultKind::kNotifyDelay,
        {Int("ms", &P::ms, 0, kMaxMs), Int("max_ms", &P::max_ms, 0, kMaxMs)});
    set(FaultKind::kNotifyDuplicate,
        {Int("copies", &P::count, 2, 10), Int("within_ms", &P::within_ms, 0, 60'000)});
    set(FaultKind::kNotifyTimes,
        {Int("times", &P::count, 2, 100), Int("interval_s", &P::interval_s, 0, kMaxSeconds)});
    set(FaultKind::kNotifyDropFirst, {Int("attempts", &P::count, 1, 100)});
    set(FaultKind::kNotifyBadSign, {});
    set(FaultKind::kNotifyTamperAmount,
        {Int("delta_fen", &P::delta_fen, -kMaxDeltaFen, kMaxDeltaFen)});
    set(FaultKind::kNotifyRefundFirst, {Int("seconds", &P::seconds, 1, kMaxSeconds)});
    set(FaultKind::kNotifyReplay, {Int("seconds", &P::seconds, 1, kMaxSeconds)});
    set(FaultKind::kRefundProcessing,
        {Int("seconds", &P::seconds, 1, kMaxSeconds), Str("then", &P::then, {"success", "fail"})});
    set(FaultKind::kRefundFail, {});
    set(FaultKind::kMerchantSuspendAfter, {Int("failures", &P::count, 1, 1000)});
    return t;
  }();
  return (*table)[static_cast<size_t>(kind)];
}

bool IsApiKind(FaultKind kind) {
  return kind >= FaultKind::kApiFail && kind <= FaultKind::kApiWrongAmount;
}

std::string Quote(std::string_view s) {
  return TruncateUtf8(Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace),
                      80);
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

Status Invalid(std::string_view path, const std::string& what) {
  return Status(ErrorCode::kInvalidField, std::string(path) + ": " + what);
}

bool ValidErrCode(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::string_view KindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kApiFail:
      return "api.fail";
    case FaultKind::kApiHttpStatus:
      return "api.http_status";
    case FaultKind::kApiDelay:
      return "api.delay";
    case FaultKind::kApiClose:
      return "api.close";
    case FaultKind::kApiTruncate:
      return "api.truncate";
    case FaultKind::kApiNotJson:
      return "api.not_json";
    case FaultKind::kApiWrongAmount:
      return "api.wrong_amount";
    case FaultKind::kPayFail:
      return "pay.fail";
    case FaultKind::kPayCancel:
      return "pay.cancel";
    case FaultKind::kPayUserPaying:
      return "pay.userpaying";
    case FaultKind::kPayExpireEarly:
      return "pay.expire_early";
    case FaultKind::kPayLateSuccess:
      return "pay.late_success";
    case FaultKind::kNotifyDelay:
      return "notify.delay";
    case FaultKind::kNotifyDuplicate:
      return "notify.duplicate";
    case FaultKind::kNotifyTimes:
      return "notify.times";
    case FaultKind::kNotifyDropFirst:
      return "notify.drop_first";
    case FaultKind::kNotifyBadSign:
      return "notify.bad_sign";
    case FaultKind::kNotifyTamperAmount:
      return "notify.tamper_amount";
    case FaultKind::kNotifyRefundFirst:
      return "notify.refund_first";
    case FaultKind::kNotifyReplay:
      return "notify.replay";
    case FaultKind::kRefundProcessing:
      return "refund.processing";
    case FaultKind::kRefundFail:
      return "refund.fail";
    case FaultKind::kMerchantSuspendAfter:
      return "merchant.suspend_after";
  }
  return "unknown";
}

std::span<const FaultKind> AllKinds() { return kKinds; }

StatusOr<FaultKind> ParseKindName(std::string_view path, std::string_view name) {
  for (FaultKind k : kKinds) {
    if (KindName(k) == name) return k;
  }
  std::vector<std::string_view> names;
  for (FaultKind k : kKinds) names.push_back(KindName(k));
  return Invalid(path, "expected one of " + JoinNames(names) + ", got " + Quote(name));
}

FaultHook HookOf(const Fault& fault) {
  if (IsApiKind(fault.kind)) {
    return fault.params.phase == ApiPhase::kBefore ? FaultHook::kApiBefore : FaultHook::kApiAfter;
  }
  switch (fault.kind) {
    case FaultKind::kPayExpireEarly:
    case FaultKind::kPayLateSuccess:
      return FaultHook::kOrder;
    case FaultKind::kPayFail:
    case FaultKind::kPayCancel:
    case FaultKind::kPayUserPaying:
      return FaultHook::kPayment;
    case FaultKind::kRefundProcessing:
    case FaultKind::kRefundFail:
      return FaultHook::kRefund;
    case FaultKind::kMerchantSuspendAfter:
      return FaultHook::kMerchant;
    default:
      return FaultHook::kNotify;
  }
}

std::string_view HookName(FaultHook hook) {
  switch (hook) {
    case FaultHook::kApiBefore:
      return "api_before";
    case FaultHook::kApiAfter:
      return "api_after";
    case FaultHook::kOrder:
      return "order";
    case FaultHook::kPayment:
      return "payment";
    case FaultHook::kNotify:
      return "notify";
    case FaultHook::kRefund:
      return "refund";
    case FaultHook::kMerchant:
      return "merchant";
  }
  return "unknown";
}

std::string_view PhaseName(ApiPhase phase) {
  return phase == ApiPhase::kBefore ? "before" : "after";
}

Fault DefaultFault(FaultKind kind) {
  Fault f;
  f.kind = kind;
  FaultParams& p = f.params;
  switch (kind) {
    case FaultKind::kApiFail:
      break;
    case FaultKind::kApiHttpStatus:
      break;
    case FaultKind::kApiDelay:
      p.ms = 1000;
      break;
    case FaultKind::kApiClose:
      p.phase = ApiPhase::kAfter;
      break;
    case FaultKind::kApiTruncate:
      p.phase = ApiPhase::kAfter;
      break;
    case FaultKind::kApiNotJson:
      p.body = "html";
      p.phase = ApiPhase::kAfter;
      break;
    case FaultKind::kApiWrongAmount:
      p.delta_fen = 1;
      p.phase = ApiPhase::kAfter;
      break;
    case FaultKind::kPayFail:
    case FaultKind::kPayCancel:
      break;
    case FaultKind::kPayUserPaying:
      p.seconds = 5;
      break;
    case FaultKind::kPayExpireEarly:
      p.seconds = 60;
      break;
    case FaultKind::kPayLateSuccess:
      p.seconds = 10;
      break;
    case FaultKind::kNotifyDelay:
      p.ms = 1000;
      break;
    case FaultKind::kNotifyDuplicate:
      p.count = 2;
      break;
    case FaultKind::kNotifyTimes:
      p.count = 3;
      break;
    case FaultKind::kNotifyDropFirst:
      p.count = 1;
      break;
    case FaultKind::kNotifyBadSign:
      break;
    case FaultKind::kNotifyTamperAmount:
      p.delta_fen = 100;
      break;
    case FaultKind::kNotifyRefundFirst:
      p.seconds = 60;
      break;
    case FaultKind::kNotifyReplay:
      p.seconds = 60;
      break;
    case FaultKind::kRefundProcessing:
      p.seconds = 10;
      break;
    case FaultKind::kRefundFail:
      break;
    case FaultKind::kMerchantSuspendAfter:
      p.count = 5;
      break;
  }
  return f;
}

Status ValidateFault(std::string_view path, const Fault& f) {
  const FaultParams& p = f.params;
  const std::string params = std::string(path) + ".params";
  switch (f.kind) {
    case FaultKind::kApiFail:
      if (!ValidErrCode(p.err_code)) {
        return Invalid(
            params + ".err_code",
            "expected 1-64 of A-Z, 0-9 and _ (such as SYSTEM_ERROR), got " + Quote(p.err_code));
      }
      break;
    case FaultKind::kApiDelay:
    case FaultKind::kNotifyDelay:
      if (p.max_ms != 0 && p.max_ms < p.ms) {
        return Invalid(params + ".max_ms", "expected 0 or at least ms (" + std::to_string(p.ms) +
                                               "), got " + std::to_string(p.max_ms));
      }
      break;
    case FaultKind::kApiTruncate:
    case FaultKind::kApiWrongAmount:
      if (p.phase != ApiPhase::kAfter) {
        return Invalid(params + ".phase", std::string("expected \"after\" for ") +
                                              std::string(KindName(f.kind)) +
                                              " (it changes an answer the method produced), "
                                              "got \"before\"");
      }
      if (f.kind == FaultKind::kApiWrongAmount && p.delta_fen == 0) {
        return Invalid(params + ".delta_fen", "expected a non-zero number of fen, got 0");
      }
      break;
    case FaultKind::kNotifyTamperAmount:
      if (p.delta_fen == 0) {
        return Invalid(params + ".delta_fen", "expected a non-zero number of fen, got 0");
      }
      break;
    default:
      break;
  }
  return Status::Ok();
}

StatusOr<Fault> ParseFaultJson(std::string_view path, const nlohmann::json& action) {
  if (!action.is_object()) {
    return Invalid(
        path, "expected an object {\"kind\": ..., \"params\": {...}}, got " + ShowJson(action));
  }
  for (const auto& [key, value] : action.items()) {
    if (key != "kind" && key != "params") {
      return Invalid(std::string(path) + "." + key, "unknown key; expected kind or params");
    }
  }
  const std::string kind_path = std::string(path) + ".kind";
  auto kind_it = action.find("kind");
  if (kind_it == action.end()) return Invalid(kind_path, "is required");
  if (!kind_it->is_string()) {
    return Invalid(kind_path, "expected a string such as \"api.fail\", got " + ShowJson(*kind_it));
  }
  StatusOr<FaultKind> kind = ParseKindName(kind_path, kind_it->get<std::string>());
  if (!kind.ok()) return kind.status();
  Fault fault = DefaultFault(*kind);
  const std::string params_path = std::string(path) + ".params";
  auto params_it = action.find("params");
  if (params_it != action.end() && !params_it->is_null()) {
    if (!params_it->is_object()) {
      return Invalid(params_path, "expected an object, got " + ShowJson(*params_it));
    }
    const std::vector<ParamSpec>& specs = SpecsOf(*kind);
    for (const auto& [name, value] : params_it->items()) {
      const std::string p = params_path + "." + name;
      const ParamSpec* spec = nullptr;
      for (const ParamSpec& s : specs) {
        if (s.name == name) spec = &s;
      }
      if (spec == nullptr) {
        std::vector<std::string_view> names;
        for (const ParamSpec& s : specs) names.push_back(s.name);
        return Invalid(p, "unknown parameter of " + std::string(KindName(*kind)) + "; " +
                              (names.empty() ? std::string("it takes none")
                                             : "expected one of " + JoinNames(names)));
      }
      switch (spec->type) {
        case ParamType::kInt: {
          const std::string range = spec->int_choices.empty()
                                        ? "an integer in [" + std::to_string(spec->min) + ", " +
                                              std::to_string(spec->max) + "]"
                                        : std::string("one of 429, 500, 502, 503");
          if (!value.is_number_integer())
            return Invalid(p, "expected " + range + ", got " + ShowJson(value));
          const int64_t n = value.get<int64_t>();
          bool ok = n >= spec->min && n <= spec->max;
          if (!spec->int_choices.empty()) {
            ok = false;
            for (int64_t c : spec->int_choices) ok = ok || c == n;
          }
          if (!ok) return Invalid(p, "expected " + range + ", got " + ShowJson(value));
          fault.params.*(spec->int_field) = n;
          break;
        }
        case ParamType::kString: {
          const std::string want =
              spec->choices.empty() ? "a string of at most " + std::to_string(spec->max) + " bytes"
                                    : "one of " + JoinNames(spec->choices);
          if (!value.is_string())
            return Invalid(p, "expected " + want + ", got " + ShowJson(value));
          const std::string s = value.get<std::string>();
          bool ok = spec->choices.empty() ? static_cast<int64_t>(s.size()) <= spec->max : false;
          for (std::string_view c : spec->choices) ok = ok || c == s;
          if (!ok) return Invalid(p, "expected " + want + ", got " + ShowJson(value));
          fault.params.*(spec->str_field) = s;
          break;
        }
        case ParamType::kPhase: {
          if (value == "before") {
            fault.params.phase = ApiPhase::kBefore;
          } else if (value == "after") {
            fault.params.phase = ApiPhase::kAfter;
          } else {
            return Invalid(p, "expected one of before, after, got " + ShowJson(value));
          }
          break;
        }
      }
    }
  }
  VKSPAY_RETURN_IF_ERROR(ValidateFault(path, fault));
  return fault;
}

nlohmann::ordered_json FaultJson(const Fault& fault) {
  OJson j;
  j["kind"] = KindName(fault.kind);
  OJson params = OJson::object();
  for (const ParamSpec& s : SpecsOf(fault.kind)) {
    switch (s.type) {
      case ParamType::kInt:
        params[std::string(s.name)] = fault.params.*(s.int_field);
        break;
      case ParamType::kString:
        params[std::string(s.name)] = fault.params.*(s.str_field);
        break;
      case ParamType::kPhase:
        params["phase"] = PhaseName(fault.params.phase);
        break;
    }
  }
  j["params"] = std::move(params);
  return j;
}

}  // namespace vkspay::sandbox
