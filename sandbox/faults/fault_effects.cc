#include "sandbox/faults/fault_effects.h"

#include <cmath>

#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::sandbox {
namespace {

using OJson = nlohmann::ordered_json;

std::string Dump(const OJson& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Injected(const FaultDecision& d) {
  return std::string(KindName(d.fault.kind)) + " (" + d.source +
         (d.rule_id != d.source ? " " + d.rule_id : std::string()) + ")";
}

std::string_view ReasonPhrase(int64_t status) {
  switch (status) {
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    default:
      return "Service Temporarily Unavailable";
  }
}

// The error page a reverse proxy in front of the real service would send.
std::string NginxPage(int64_t status) {
  const std::string line = std::to_string(status) + " " + std::string(ReasonPhrase(status));
  return "<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n<center><h1>" + line +
         "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
}

// Answers that replace whatever the method would produce, or nullopt.
std::optional<WireAnswer> Replacement(const Fault& f) {
  WireAnswer a;
  switch (f.kind) {
    case FaultKind::kApiFail:
      a.body = FailAnswerBody(f.params);
      return a;
    case FaultKind::kApiHttpStatus:
      a.http_status = static_cast<int>(f.params.status);
      if (f.params.body == "html") {
        a.content_type = "text/html";
        a.body = NginxPage(f.params.status);
      } else {
        a.content_type = "text/plain";
      }
      return a;
    case FaultKind::kApiClose:
      a.close_connection = true;
      a.content_type.clear();
      return a;
    case FaultKind::kApiNotJson:
      if (f.params.body == "html") {
        a.content_type = "text/html";
        a.body = NginxPage(502);
      } else {
        a.content_type = "text/plain";
        a.body =
            "upstream connect error or disconnect/reset before headers. reset reason: "
            "connection termination";
      }
      return a;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string FailAnswerBody(const FaultParams& params) {
  std::string title = "请求失败";
  for (const ErrorInfo& info : AllErrors()) {
    if (info.err_code == params.err_code) title = std::string(info.title);
  }
  if (params.err_code == kMerchantSuspendedErrCode) title = "商户已暂停";
  if (params.err_code == "RATE_LIMITED") title = "请求过于频繁";
  OJson j;
  j["return_code"] = "FAIL";
  j["return_msg"] =
      title + ": " +
      (params.message.empty() ? "沙箱注入的故障 (sandbox fault injection)" : params.message);
  j["err_code"] = params.err_code;
  return Dump(j);
}

std::string WrongAmountBody(const std::string& body, int64_t delta_fen) {
  OJson j = OJson::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return body;
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return body;
  // Order answers carry refund_fee too (what was refunded so far); only a
  // refund answer (it names out_refund_no) echoes the refund's amount.
  const bool refund_answer = data->contains("out_refund_no") || j.contains("out_refund_no");
  const char* field = refund_answer && data->contains("refund_fee") ? "refund_fee" : "total_fee";
  auto v = data->find(field);
  if (v == data->end() || !v->is_number()) return body;
  const int64_t fen = std::llround(v->get<double>() * 100.0);
  int64_t moved = fen + delta_fen;
  if (moved <= 0) moved = fen + (delta_fen < 0 ? -delta_fen : delta_fen);
  *v = OJson(YuanJson(moved));
  return Dump(j);
}

ApiEffect PlanApiBefore(const std::vector<FaultDecision>& decisions) {
  ApiEffect e;
  for (const FaultDecision& d : decisions) {
    if (d.fault.kind == FaultKind::kApiDelay) {
      e.delay_ms += d.fault.params.ms;
      if (e.injected.empty()) e.injected = Injected(d);
      continue;
    }
    if (e.replace) continue;
    if (std::optional<WireAnswer> a = Replacement(d.fault)) {
      e.replace = true;
      e.answer = *a;
      e.injected = Injected(d);
    }
  }
  return e;
}

ApiEffect PlanApiAfter(const std::vector<FaultDecision>& decisions, const WireAnswer& produced) {
  ApiEffect e;
  e.answer = produced;
  for (const FaultDecision& d : decisions) {
    const Fault& f = d.fault;
    if (f.kind == FaultKind::kApiDelay) {
      e.delay_ms += f.params.ms;
      if (e.injected.empty()) e.injected = Injected(d);
      continue;
    }
    if (e.replace) continue;
    if (std::optional<WireAnswer> a = Replacement(f)) {
      e.answer = *a;
    } else if (f.kind == FaultKind::kApiTruncate) {
      const size_t keep = f.params.keep_bytes > 0 ? static_cast<size_t>(f.params.keep_bytes)
                                                  : produced.body.size() / 2;
      e.answer.body = produced.body.substr(0, std::min(keep, produced.body.size()));
    } else if (f.kind == FaultKind::kApiWrongAmount) {
      e.answer.body = WrongAmountBody(produced.body, f.params.delta_fen);
    } else {
      continue;
    }
    e.replace = true;
    e.injected = Injected(d);
  }
  return e;
}

OrderPlan PlanOrder(const std::vector<FaultDecision>& decisions) {
  OrderPlan p;
  for (const FaultDecision& d : decisions) {
    if (d.fault.kind == FaultKind::kPayExpireEarly && !p.expire_after_s) {
      p.expire_after_s = d.fault.params.seconds;
    } else if (d.fault.kind == FaultKind::kPayLateSuccess && !p.late_success_after_s) {
      p.late_success_after_s = d.fault.params.seconds;
    }
  }
  return p;
}

std::string_view OutcomeName(PlannedOutcome o) {
  switch (o) {
    case PlannedOutcome::kSuccess:
      return "success";
    case PlannedOutcome::kFail:
      return "fail";
    case PlannedOutcome::kCancel:
      return "cancel";
  }
  return "success";
}

PaymentPlan PlanPayment(const std::vector<FaultDecision>& decisions) {
  PaymentPlan p;
  for (const FaultDecision& d : decisions) {
    if (p.outcome || p.userpaying_s) break;
    switch (d.fault.kind) {
      case FaultKind::kPayFail:
        p.outcome = PlannedOutcome::kFail;
        break;
      case FaultKind::kPayCancel:
        p.outcome = PlannedOutcome::kCancel;
        break;
      case FaultKind::kPayUserPaying:
        p.userpaying_s = d.fault.params.seconds;
        p.after_userpaying = d.fault.params.then == "fail"     ? PlannedOutcome::kFail
                             : d.fault.params.then == "cancel" ? PlannedOutcome::kCancel
                                                               : PlannedOutcome::kSuccess;
        break;
      default:
        break;
    }
  }
  return p;
}

RefundPlan PlanRefund(const std::vector<FaultDecision>& decisions) {
  RefundPlan p;
  for (const FaultDecision& d : decisions) {
    if (d.fault.kind == FaultKind::kRefundFail) {
      p.fail = true;
      return p;
    }
    if (d.fault.kind == FaultKind::kRefundProcessing) {
      p.processing_s = d.fault.params.seconds;
      p.then_fail = d.fault.params.then == "fail";
      return p;
    }
  }
  return p;
}

bool NotifyPlan::empty() const { return *this == NotifyPlan(); }

NotifyPlan PlanNotify(const std::vector<FaultDecision>& decisions) {
  NotifyPlan p;
  bool seen[32] = {};
  for (const FaultDecision& d : decisions) {
    const size_t k = static_cast<size_t>(d.fault.kind);
    if (k >= 32 || seen[k]) continue;
    seen[k] = true;
    const FaultParams& f = d.fault.params;
    switch (d.fault.kind) {
      case FaultKind::kNotifyDelay:
        p.delay_ms = f.ms;
        break;
      case FaultKind::kNotifyDuplicate:
        p.copies = f.count;
        p.copies_within_ms = f.within_ms;
        break;
      case FaultKind::kNotifyTimes:
        p.times = f.count;
        p.times_interval_s = f.interval_s;
        break;
      case FaultKind::kNotifyDropFirst:
        p.drop_first = f.count;
        break;
      case FaultKind::kNotifyBadSign:
        p.bad_sign = true;
        break;
      case FaultKind::kNotifyTamperAmount:
        p.tamper_delta_fen = f.delta_fen;
        break;
      case FaultKind::kNotifyRefundFirst:
        p.refund_first_hold_s = f.seconds;
        break;
      case FaultKind::kNotifyReplay:
        p.replay_after_s = f.seconds;
        break;
      default:
        break;
    }
  }
  return p;
}

nlohmann::ordered_json NotifyPlanJson(const NotifyPlan& p) {
  OJson j;
  j["delay_ms"] = p.delay_ms;
  j["copies"] = p.copies;
  j["copies_within_ms"] = p.copies_within_ms;
  j["times"] = p.times;
  j["times_interval_s"] = p.times_interval_s;
  j["drop_first"] = p.drop_first;
  j["bad_sign"] = p.bad_sign;
  j["tamper_delta_fen"] = p.tamper_delta_fen;
  j["refund_first_hold_s"] = p.refund_first_hold_s;
  j["replay_after_s"] = p.replay_after_s;
  return j;
}

StatusOr<NotifyPlan> ParseNotifyPlanJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status(ErrorCode::kInvalidField, "notify plan: expected an object");
  NotifyPlan p;
  struct IntField {
    const char* name;
    int64_t NotifyPlan::*field;
  };
  static constexpr IntField kInts[] = {
      {"delay_ms", &NotifyPlan::delay_ms},
      {"copies", &NotifyPlan::copies},
      {"copies_within_ms", &NotifyPlan::copies_within_ms},
      {"times", &NotifyPlan::times},
      {"times_interval_s", &NotifyPlan::times_interval_s},
      {"drop_first", &NotifyPlan::drop_first},
      {"tamper_delta_fen", &NotifyPlan::tamper_delta_fen},
      {"refund_first_hold_s", &NotifyPlan::refund_first_hold_s},
      {"replay_after_s", &NotifyPlan::replay_after_s},
  };
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const IntField& f : kInts) {
      if (key == f.name) {
        if (!value.is_number_integer()) {
          return Status(ErrorCode::kInvalidField,
                        "notify plan." + key + ": expected an integer, got " + ShowJson(value));
        }
        p.*(f.field) = value.get<int64_t>();
        known = true;
      }
    }
    if (key == "bad_sign") {
      if (!value.is_boolean()) {
        return Status(ErrorCode::kInvalidField, "notify plan.bad_sign: expected true or false");
      }
      p.bad_sign = value.get<bool>();
      known = true;
    }
    if (!known) return Status(ErrorCode::kInvalidField, "notify plan." + key + ": unknown key");
  }
  return p;
}

std::vector<int64_t> DuplicateOffsetsMs(const NotifyPlan& plan) {
  std::vector<int64_t> out;
  const int64_t n = plan.copies < 1 ? 1 : plan.copies;
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(n == 1 ? 0 : plan.copies_within_ms * i / (n - 1));
  }
  return out;
}

bool IsAttemptDropped(const NotifyPlan& plan, int64_t attempt) {
  return attempt >= 1 && attempt <= plan.drop_first;
}

Fields ApplyNotifyFieldFaults(Fields f, const NotifyPlan& plan) {
  if (plan.tamper_delta_fen != 0) {
    const Value* type = f.Find("notify_type");
    const bool refund = type != nullptr && JsString(*type) == "refund" && f.Find("refund_fee");
    const char* field = refund ? "refund_fee" : "total_fee";
    if (const Value* v = f.Find(field)) {
      StatusOr<int64_t> fen = ParseYuanText(field, JsString(*v));
      if (fen.ok()) {
        int64_t moved = *fen + plan.tamper_delta_fen;
        if (moved <= 0) moved = *fen + std::abs(plan.tamper_delta_fen);
        f.Set(field, FormatYuan(moved));
      }
    }
  }
  if (plan.bad_sign) {
    const Value* sign = f.Find("sign");
    f.Set("sign", Md5Hex("sandbox-bad-sign:" + (sign ? JsString(*sign) : std::string())));
  }
  return f;
}

}  // namespace vkspay::sandbox
