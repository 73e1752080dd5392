#include "sandbox/faults/rule.h"

#include <array>

#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/fields.h"

namespace vkspay::sandbox {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr std::array<std::string_view, 5> kMethods = {"webpay", "micropay", "orderquery",
                                                      "orderrefund", "orderrefundquery"};
constexpr std::array<std::string_view, 3> kChannels = {"wxpay", "alipay", "auto"};

Status Invalid(const std::string& path, const std::string& what) {
  return Status(ErrorCode::kInvalidField, path + ": " + what);
}

Status CheckKeys(const std::string& path, const Json& j,
                 std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    std::string list;
    for (std::string_view a : allowed) {
      known = known || a == key;
      list += list.empty() ? "" : ", ";
      list += a;
    }
    if (!known) return Invalid(path + "." + key, "unknown key; expected one of " + list);
  }
  return Status::Ok();
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A yuan amount (number or string) into fen.
StatusOr<int64_t> Yuan(const std::string& path, const Json& v) {
  if (v.is_string()) {
    StatusOr<int64_t> fen = ParseYuanText(path, v.get<std::string>());
    if (!fen.ok()) return Invalid(path, "expected yuan such as \"1001.01\", got " + ShowJson(v));
    return fen;
  }
  if (v.is_number()) {
    StatusOr<int64_t> fen = ParseYuan(path, Value(v.get<double>()));
    if (!fen.ok()) return Invalid(path, "expected yuan such as \"1001.01\", got " + ShowJson(v));
    return fen;
  }
  return Invalid(path, "expected yuan such as \"1001.01\", got " + ShowJson(v));
}

StatusOr<int64_t> Fen(const std::string& path, const Json& v) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kDefaultMaxFen) {
    return Invalid(path, "expected an integer number of fen in [1, " +
                             std::to_string(kDefaultMaxFen) + "], got " + ShowJson(v));
  }
  return v.get<int64_t>();
}

// "amount" (yuan) or "amount_fen": exact, or {"min", "max"} (either optional).
Status ParseAmount(const std::string& path, const Json& v, bool yuan, FaultMatch* m) {
  auto one = [&](const std::string& p, const Json& x) { return yuan ? Yuan(p, x) : Fen(p, x); };
  if (v.is_object()) {
    VKSPAY_RETURN_IF_ERROR(CheckKeys(path, v, {"min", "max"}));
    if (v.contains("min")) {
      StatusOr<int64_t> n = one(path + ".min", v["min"]);
      if (!n.ok()) return n.status();
      m->min_fen = *n;
    }
    if (v.contains("max")) {
      StatusOr<int64_t> n = one(path + ".max", v["max"]);
      if (!n.ok()) return n.status();
      m->max_fen = *n;
    }
    if (!m->min_fen && !m->max_fen) return Invalid(path, "expected min, max or both");
    if (m->min_fen && m->max_fen && *m->min_fen > *m->max_fen) {
      return Invalid(path, "min (" + FormatYuan(*m->min_fen) + ") is above max (" +
                               FormatYuan(*m->max_fen) + ")");
    }
    return Status::Ok();
  }
  StatusOr<int64_t> n = one(path, v);
  if (!n.ok()) return n.status();
  m->min_fen = *n;
  m->max_fen = *n;
  return Status::Ok();
}

StatusOr<std::string> String(const std::string& path, const Json& v, size_t max_len = 128) {
  if (!v.is_string() || v.get<std::string>().size() > max_len) {
    return Invalid(path, "expected a string of at most " + std::to_string(max_len) +
                             " bytes, got " + ShowJson(v));
  }
  return v.get<std::string>();
}

StatusOr<FaultMatch> ParseMatch(const std::string& path, const Json& j) {
  FaultMatch m;
  if (j.is_null()) return m;
  if (!j.is_object()) return Invalid(path, "expected an object, got " + ShowJson(j));
  VKSPAY_RETURN_IF_ERROR(CheckKeys(
      path, j, {"methods", "merchantno", "out_trade_no", "amount", "amount_fen", "channel"}));
  if (auto it = j.find("methods"); it != j.end()) {
    Json list = it->is_string() ? Json::array({*it}) : *it;
    if (!list.is_array()) {
      return Invalid(path + ".methods", "expected a list of methods, got " + ShowJson(*it));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string p = path + ".methods[" + std::to_string(i) + "]";
      bool ok = false;
      for (std::string_view name : kMethods) ok = ok || (list[i].is_string() && list[i] == name);
      if (!ok) {
        return Invalid(p,
                       "expected one of webpay, micropay, orderquery, orderrefund, "
                       "orderrefundquery, got " +
                           ShowJson(list[i]));
      }
      m.methods.push_back(list[i].get<std::string>());
    }
  }
  if (auto it = j.find("merchantno"); it != j.end()) {
    StatusOr<std::string> s = String(path + ".merchantno", *it);
    if (!s.ok()) return s.status();
    m.merchantno = *s;
  }
  if (auto it = j.find("out_trade_no"); it != j.end()) {
    StatusOr<std::string> s = String(path + ".out_trade_no", *it);
    if (!s.ok()) return s.status();
    m.out_trade_no = *s;
  }
  if (j.contains("amount") && j.contains("amount_fen")) {
    return Invalid(path + ".amount_fen", "give amount (yuan) or amount_fen, not both");
  }
  if (auto it = j.find("amount"); it != j.end()) {
    VKSPAY_RETURN_IF_ERROR(ParseAmount(path + ".amount", *it, true, &m));
  }
  if (auto it = j.find("amount_fen"); it != j.end()) {
    VKSPAY_RETURN_IF_ERROR(ParseAmount(path + ".amount_fen", *it, false, &m));
  }
  if (auto it = j.find("channel"); it != j.end()) {
    bool ok = false;
    for (std::string_view c : kChannels) ok = ok || (it->is_string() && *it == c);
    if (!ok)
      return Invalid(path + ".channel",
                     "expected one of wxpay, alipay, auto, got " + ShowJson(*it));
    m.channel = it->get<std::string>();
  }
  return m;
}

}  // namespace

bool FaultMatch::Matches(const FaultContext& ctx) const {
  if (!methods.empty()) {
    bool any = false;
    for (const std::string& m : methods) any = any || m == ctx.method;
    if (!any) return false;
  }
  if (!merchantno.empty() && merchantno != ctx.merchantno) return false;
  if (!out_trade_no.empty() && !GlobMatch(out_trade_no, ctx.out_trade_no)) return false;
  if ((min_fen || max_fen) && ctx.amount_fen <= 0) return false;
  if (min_fen && ctx.amount_fen < *min_fen) return false;
  if (max_fen && ctx.amount_fen > *max_fen) return false;
  if (!channel.empty() && channel != ctx.channel) return false;
  return true;
}

StatusOr<FaultRule> ParseRuleJson(std::string_view path_view, const nlohmann::json& j) {
  const std::string path(path_view);
  if (!j.is_object()) return Invalid(path, "expected a rule object, got " + ShowJson(j));
  VKSPAY_RETURN_IF_ERROR(
      CheckKeys(path, j, {"id", "match", "action", "probability", "count", "seed", "$comment"}));
  FaultRule rule;
  if (auto it = j.find("id"); it != j.end()) {
    if (!it->is_string() || !ValidId(it->get<std::string>())) {
      return Invalid(path + ".id", "expected 1-64 of A-Z a-z 0-9 _ . : -, got " + ShowJson(*it));
    }
    rule.id = it->get<std::string>();
  }
  StatusOr<FaultMatch> match = ParseMatch(path + ".match", j.value("match", Json()));
  if (!match.ok()) return match.status();
  rule.match = *match;
  auto action = j.find("action");
  if (action == j.end()) return Invalid(path + ".action", "is required");
  StatusOr<Fault> fault = ParseFaultJson(path + ".action", *action);
  if (!fault.ok()) return fault.status();
  rule.action = *fault;
  if (auto it = j.find("probability"); it != j.end()) {
    if (!it->is_number() || it->get<double>() < 0.0 || it->get<double>() > 1.0) {
      return Invalid(path + ".probability", "expected a number in [0, 1], got " + ShowJson(*it));
    }
    rule.probability = it->get<double>();
  }
  if (auto it = j.find("count"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Invalid(path + ".count",
                     "expected a non-negative integer (0 = unlimited), got " + ShowJson(*it));
    }
    rule.count = it->get<int64_t>();
  }
  if (auto it = j.find("seed"); it != j.end()) {
    if (!it->is_number_unsigned()) {
      return Invalid(path + ".seed", "expected a non-negative integer, got " + ShowJson(*it));
    }
    rule.seed = it->get<uint64_t>();
  }
  return rule;
}

nlohmann::ordered_json RuleJson(const FaultRule& rule) {
  OJson j;
  j["id"] = rule.id;
  OJson m = OJson::object();
  if (!rule.match.methods.empty()) m["methods"] = rule.match.methods;
  if (!rule.match.merchantno.empty()) m["merchantno"] = rule.match.merchantno;
  if (!rule.match.out_trade_no.empty()) m["out_trade_no"] = rule.match.out_trade_no;
  if (rule.match.min_fen || rule.match.max_fen) {
    OJson a = OJson::object();
    if (rule.match.min_fen) a["min"] = *rule.match.min_fen;
    if (rule.match.max_fen) a["max"] = *rule.match.max_fen;
    m["amount_fen"] = a;
  }
  if (!rule.match.channel.empty()) m["channel"] = rule.match.channel;
  j["match"] = m;
  j["action"] = FaultJson(rule.action);
  j["probability"] = rule.probability;
  j["count"] = rule.count;
  if (rule.seed) j["seed"] = *rule.seed;
  return j;
}

StatusOr<FaultsConfig> ParseFaultsConfig(const nlohmann::json& section) {
  const std::string path = "faults";
  if (!section.is_object()) return Invalid(path, "expected an object, got " + ShowJson(section));
  VKSPAY_RETURN_IF_ERROR(
      CheckKeys(path, section, {"profile", "rules", "magic_amounts", "$comment"}));
  FaultsConfig cfg;
  if (auto it = section.find("profile"); it != section.end()) {
    if (!it->is_string() || it->get<std::string>().empty()) {
      return Invalid(
          path + ".profile",
          "expected a profile name such as \"strict\" or \"realistic\", got " + ShowJson(*it));
    }
    cfg.profile = it->get<std::string>();
  }
  if (auto it = section.find("magic_amounts"); it != section.end()) {
    if (!it->is_boolean())
      return Invalid(path + ".magic_amounts", "expected true or false, got " + ShowJson(*it));
    cfg.magic_amounts = it->get<bool>();
  }
  if (auto it = section.find("rules"); it != section.end()) {
    if (!it->is_array())
      return Invalid(path + ".rules", "expected a list of rules, got " + ShowJson(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string p = path + ".rules[" + std::to_string(i) + "]";
      StatusOr<FaultRule> rule = ParseRuleJson(p, (*it)[i]);
      if (!rule.ok()) return rule.status();
      for (const FaultRule& earlier : cfg.rules) {
        if (!rule->id.empty() && earlier.id == rule->id) {
          return Invalid(p + ".id", "duplicate id \"" + rule->id + "\"");
        }
      }
      cfg.rules.push_back(*rule);
    }
  }
  return cfg;
}

StatusOr<FaultsConfig> ParseFaultsConfigText(std::string_view json_text) {
  Json j = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kInvalidJson, "faults config: expected a JSON object");
  }
  if (auto it = j.find("faults"); it != j.end()) return ParseFaultsConfig(*it);
  return ParseFaultsConfig(j);
}

}  // namespace vkspay::sandbox
