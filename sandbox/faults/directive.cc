#include "sandbox/faults/directive.h"

#include <charconv>
#include <optional>
#include <string>

namespace vkspay::sandbox {
namespace {

struct Token {
  std::string_view text;
  size_t column;  // 1-based, over the whole input
};

class DirectiveParser {
 public:
  DirectiveParser(std::string_view source, std::string_view input)
      : source_(source), input_(input) {}

  StatusOr<std::vector<Fault>> Parse(size_t start) {
    pos_ = start;
    std::vector<Fault> faults;
    SkipSpace();
    if (AtEnd()) return Error(pos_, "an item such as pay=fail or notify=dup", "the end");
    while (!AtEnd()) {
      SkipSpace();
      const size_t key_pos = pos_;
      while (!AtEnd() && input_[pos_] >= 'a' && input_[pos_] <= 'z') ++pos_;
      const std::string_view key = input_.substr(key_pos, pos_ - key_pos);
      if (key != "api" && key != "pay" && key != "notify" && key != "refund") {
        return Error(key_pos, "one of api, pay, notify, refund", Rest(key_pos, "=;"));
      }
      SkipSpace();
      if (AtEnd() || input_[pos_] != '=') {
        return Error(pos_, "\"=\" after \"" + std::string(key) + "\"", Rest(pos_, ";,"));
      }
      ++pos_;
      while (true) {
        SkipSpace();
        const size_t value_pos = pos_;
        while (!AtEnd() && input_[pos_] != ',' && input_[pos_] != ';') ++pos_;
        std::string_view value = input_.substr(value_pos, pos_ - value_pos);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.remove_suffix(1);
        }
        StatusOr<Fault> fault = ParseValue(key, Token{value, value_pos + 1});
        if (!fault.ok()) return fault.status();
        faults.push_back(*fault);
        if (AtEnd() || input_[pos_] == ';') break;
        ++pos_;  // ','
      }
      if (!AtEnd()) {
        ++pos_;  // ';'
        SkipSpace();
      }
    }
    return faults;
  }

 private:
  bool AtEnd() const { return pos_ >= input_.size(); }
  void SkipSpace() {
    while (!AtEnd() && (input_[pos_] == ' ' || input_[pos_] == '\t')) ++pos_;
  }
  // The text from `from` up to (not including) any of `stops`, quoted.
  std::string Rest(size_t from, std::string_view stops) const {
    if (from >= input_.size()) return "the end";
    size_t end = input_.find_first_of(stops, from);
    if (end == from) end = from + 1;
    return Quote(input_.substr(from, end == std::string_view::npos ? end : end - from));
  }
  static std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

  Status Error(size_t pos, const std::string& expected, const std::string& got) const {
    return ErrorAtColumn(pos + 1, expected, got);
  }
  Status ErrorAtColumn(size_t column, const std::string& expected, const std::string& got) const {
    return Status(ErrorCode::kInvalidField,
                  std::string(source_) + ": sandbox directive at column " + std::to_string(column) +
                      ": expected " + expected + ", got " + got);
  }

  // Splits "name:arg:arg@phase" into tokens with their columns.
  StatusOr<Fault> ParseValue(std::string_view key, Token value) {
    if (value.text.empty()) {
      return ErrorAtColumn(value.column, "a value after \"" + std::string(key) + "=\"", "nothing");
    }
    std::optional<Token> phase;
    std::string_view body = value.text;
    if (size_t at = body.find('@'); at != std::string_view::npos) {
      phase = Token{body.substr(at + 1), value.column + at + 1};
      body = body.substr(0, at);
      if (key != "api") {
        return ErrorAtColumn(value.column + at, "no \"@\" (only api values take @before/@after)",
                             Quote(value.text.substr(at)));
      }
    }
    std::vector<Token> parts;
    size_t start = 0;
    while (true) {
      size_t colon = body.find(':', start);
      parts.push_back(
          Token{body.substr(start, colon == std::string_view::npos ? std::string_view::npos
                                                                   : colon - start),
                value.column + start});
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    StatusOr<Fault> fault = key == "api"      ? Api(parts)
                            : key == "pay"    ? Pay(parts)
                            : key == "notify" ? Notify(parts)
                                              : Refund(parts);
    if (!fault.ok()) return fault;
    if (phase) {
      if (phase->text == "before") {
        fault->params.phase = ApiPhase::kBefore;
      } else if (phase->text == "after") {
        fault->params.phase = ApiPhase::kAfter;
      } else {
        return ErrorAtColumn(phase->column, "before or after after \"@\"", Quote(phase->text));
      }
    }
    // Ranges and cross-parameter rules are those of the JSON form.
    StatusOr<Fault> checked = ParseFaultJson("", FaultJson(*fault));
    if (!checked.ok()) {
      std::string what = checked.status().message();
      if (what.rfind(".params.", 0) == 0) what = what.substr(8);
      return Status(ErrorCode::kInvalidField,
                    std::string(source_) + ": sandbox directive at column " +
                        std::to_string(value.column) + ": " + Quote(value.text) + ": " + what);
    }
    return checked;
  }

  Status NoMoreArgs(const std::vector<Token>& parts, size_t allowed) const {
    if (parts.size() <= allowed + 1) return Status::Ok();
    const Token& extra = parts[allowed + 1];
    return ErrorAtColumn(extra.column - 1,
                         allowed == 0
                             ? "no argument after \"" + std::string(parts[0].text) + "\""
                             : "at most " + std::to_string(allowed) + " argument(s) after \"" +
                                   std::string(parts[0].text) + "\"",
                         Quote(":" + std::string(extra.text)));
  }

  StatusOr<int64_t> Integer(const Token& t, const std::string& what) const {
    int64_t n = 0;
    const char* first = t.text.data();
    const char* last = first + t.text.size();
    auto [ptr, ec] = std::from_chars(first, last, n);
    if (t.text.empty() || ec != std::errc() || ptr != last) {
      return ErrorAtColumn(t.column, what, Quote(t.text));
    }
    return n;
  }

  // Milliseconds from "500ms", "5s" or "2m".
  StatusOr<int64_t> DurationMs(const Token& t) const {
    const std::string want = "a duration such as 500ms, 5s or 2m";
    size_t digits = 0;
    while (digits < t.text.size() && t.text[digits] >= '0' && t.text[digits] <= '9') ++digits;
    const std::string_view unit = t.text.substr(digits);
    if (digits == 0 || digits > 9 || (unit != "ms" && unit != "s" && unit != "m")) {
      return ErrorAtColumn(t.column, want, Quote(t.text));
    }
    int64_t n = 0;
    std::from_chars(t.text.data(), t.text.data() + digits, n);
    return unit == "ms" ? n : unit == "s" ? n * 1000 : n * 60'000;
  }
  StatusOr<int64_t> DurationSeconds(const Token& t) const {
    StatusOr<int64_t> ms = DurationMs(t);
    if (!ms.ok()) return ms;
    if (*ms % 1000 != 0) {
      return ErrorAtColumn(t.column, "whole seconds such as 5s or 2m", Quote(t.text));
    }
    return *ms / 1000;
  }
  StatusOr<std::string> Choice(const Token& t,
                               std::initializer_list<std::string_view> choices) const {
    std::string list;
    for (std::string_view c : choices) {
      if (t.text == c) return std::string(c);
      list += list.empty() ? "" : ", ";
      list += c;
    }
    return ErrorAtColumn(t.column, "one of " + list, Quote(t.text));
  }
  Status Unknown(const Token& t, std::string_view key, std::string_view names) const {
    return ErrorAtColumn(t.column,
                         "one of " + std::string(names) + " after \"" + std::string(key) + "=\"",
                         Quote(t.text));
  }

#define VKSPAY_ASSIGN(lhs, expr)                    \
  do {                                              \
    auto vkspay_v_ = (expr);                        \
    if (!vkspay_v_.ok()) return vkspay_v_.status(); \
    lhs = *vkspay_v_;                               \
  } while (0)

  StatusOr<Fault> Pay(const std::vector<Token>& p) {
    const std::string_view name = p[0].text;
    if (name == "fail" || name == "cancel") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 0));
      return DefaultFault(name == "fail" ? FaultKind::kPayFail : FaultKind::kPayCancel);
    }
    if (name == "userpaying") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 2));
      Fault f = DefaultFault(FaultKind::kPayUserPaying);
      if (p.size() > 1) VKSPAY_ASSIGN(f.params.seconds, DurationSeconds(p[1]));
      if (p.size() > 2) VKSPAY_ASSIGN(f.params.then, Choice(p[2], {"success", "fail", "cancel"}));
      return f;
    }
    if (name == "expire") {
      if (p.size() < 2)
        return ErrorAtColumn(p[0].column + name.size(), "\":<duration>\" such as expire:30s",
                             "the end");
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kPayExpireEarly);
      VKSPAY_ASSIGN(f.params.seconds, DurationSeconds(p[1]));
      return f;
    }
    if (name == "late") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kPayLateSuccess);
      if (p.size() > 1) VKSPAY_ASSIGN(f.params.seconds, DurationSeconds(p[1]));
      return f;
    }
    return Unknown(p[0], "pay", "fail, cancel, userpaying, expire, late");
  }

  StatusOr<Fault> Notify(const std::vector<Token>& p) {
    const std::string_view name = p[0].text;
    if (name.rfind("dup", 0) == 0) {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 0));
      Fault f = DefaultFault(FaultKind::kNotifyDuplicate);
      if (name.size() > 3) {
        VKSPAY_ASSIGN(f.params.count, Integer(Token{name.substr(3), p[0].column + 3},
                                              "a number of deliveries (2-10) after \"dup\""));
      }
      return f;
    }
    auto needs_arg = [&](std::string_view example) -> Status {
      if (p.size() < 2) {
        return ErrorAtColumn(p[0].column + name.size(),
                             "\":<argument>\" such as " + std::string(example), "the end");
      }
      return Status::Ok();
    };
    if (name == "times") {
      VKSPAY_RETURN_IF_ERROR(needs_arg("times:3"));
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 2));
      Fault f = DefaultFault(FaultKind::kNotifyTimes);
      VKSPAY_ASSIGN(f.params.count, Integer(p[1], "a number of deliveries such as 3"));
      if (p.size() > 2) VKSPAY_ASSIGN(f.params.interval_s, DurationSeconds(p[2]));
      return f;
    }
    if (name == "drop") {
      VKSPAY_RETURN_IF_ERROR(needs_arg("drop:2"));
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kNotifyDropFirst);
      VKSPAY_ASSIGN(f.params.count, Integer(p[1], "a number of attempts such as 2"));
      return f;
    }
    if (name == "delay") {
      VKSPAY_RETURN_IF_ERROR(needs_arg("delay:500ms"));
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kNotifyDelay);
      VKSPAY_ASSIGN(f.params.ms, DurationMs(p[1]));
      return f;
    }
    if (name == "badsign") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 0));
      return DefaultFault(FaultKind::kNotifyBadSign);
    }
    if (name == "tamper") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kNotifyTamperAmount);
      if (p.size() > 1)
        VKSPAY_ASSIGN(f.params.delta_fen, Integer(p[1], "a number of fen such as 100 or -1"));
      return f;
    }
    if (name == "refundfirst") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kNotifyRefundFirst);
      if (p.size() > 1) VKSPAY_ASSIGN(f.params.seconds, DurationSeconds(p[1]));
      return f;
    }
    if (name == "replay") {
      VKSPAY_RETURN_IF_ERROR(needs_arg("replay:60s"));
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kNotifyReplay);
      VKSPAY_ASSIGN(f.params.seconds, DurationSeconds(p[1]));
      return f;
    }
    return Unknown(p[0], "notify",
                   "dup, dup<N>, times, drop, delay, badsign, tamper, refundfirst, replay");
  }

  StatusOr<Fault> Api(const std::vector<Token>& p) {
    const std::string_view name = p[0].text;
    if (name == "fail") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kApiFail);
      if (p.size() > 1) f.params.err_code = std::string(p[1].text);
      return f;
    }
    if (name == "http") {
      if (p.size() < 2) {
        return ErrorAtColumn(p[0].column + name.size(), "\":<status>\" such as http:503",
                             "the end");
      }
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 2));
      Fault f = DefaultFault(FaultKind::kApiHttpStatus);
      VKSPAY_ASSIGN(f.params.status, Integer(p[1], "one of 429, 500, 502, 503"));
      if (p.size() > 2) VKSPAY_ASSIGN(f.params.body, Choice(p[2], {"empty", "html"}));
      return f;
    }
    if (name == "delay") {
      if (p.size() < 2) {
        return ErrorAtColumn(p[0].column + name.size(), "\":<duration>\" such as delay:200ms",
                             "the end");
      }
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kApiDelay);
      VKSPAY_ASSIGN(f.params.ms, DurationMs(p[1]));
      return f;
    }
    if (name == "close") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 0));
      return DefaultFault(FaultKind::kApiClose);
    }
    if (name == "truncate") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kApiTruncate);
      if (p.size() > 1)
        VKSPAY_ASSIGN(f.params.keep_bytes, Integer(p[1], "a number of bytes such as 20"));
      return f;
    }
    if (name == "notjson") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kApiNotJson);
      if (p.size() > 1) VKSPAY_ASSIGN(f.params.body, Choice(p[1], {"html", "text"}));
      return f;
    }
    if (name == "wrongamount") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 1));
      Fault f = DefaultFault(FaultKind::kApiWrongAmount);
      if (p.size() > 1)
        VKSPAY_ASSIGN(f.params.delta_fen, Integer(p[1], "a number of fen such as 1 or -100"));
      return f;
    }
    return Unknown(p[0], "api", "fail, http, delay, close, truncate, notjson, wrongamount");
  }

  StatusOr<Fault> Refund(const std::vector<Token>& p) {
    const std::string_view name = p[0].text;
    if (name == "processing") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 2));
      Fault f = DefaultFault(FaultKind::kRefundProcessing);
      if (p.size() > 1) VKSPAY_ASSIGN(f.params.seconds, DurationSeconds(p[1]));
      if (p.size() > 2) VKSPAY_ASSIGN(f.params.then, Choice(p[2], {"success", "fail"}));
      return f;
    }
    if (name == "fail") {
      VKSPAY_RETURN_IF_ERROR(NoMoreArgs(p, 0));
      return DefaultFault(FaultKind::kRefundFail);
    }
    return Unknown(p[0], "refund", "processing, fail");
  }
#undef VKSPAY_ASSIGN

  std::string_view source_;
  std::string_view input_;
  size_t pos_ = 0;
};

std::string Duration(int64_t ms) {
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

StatusOr<std::vector<Fault>> ParseAttachDirective(std::string_view attach) {
  if (attach.rfind(kDirectivePrefix, 0) != 0) return std::vector<Fault>();
  return DirectiveParser("attach", attach).Parse(std::string_view(kDirectivePrefix).size());
}

StatusOr<std::vector<Fault>> ParseHeaderDirective(std::string_view header) {
  size_t start = 0;
  while (start < header.size() && (header[start] == ' ' || header[start] == '\t')) ++start;
  if (start == header.size()) return std::vector<Fault>();
  if (header.substr(start).rfind(kDirectivePrefix, 0) == 0) {
    start += std::string_view(kDirectivePrefix).size();
  }
  return DirectiveParser(kFaultHeader, header).Parse(start);
}

std::string DirectiveText(const Fault& f) {
  const FaultParams& p = f.params;
  const Fault d = DefaultFault(f.kind);
  std::string s;
  switch (f.kind) {
    case FaultKind::kApiFail:
      s = "api=fail:" + p.err_code;
      break;
    case FaultKind::kApiHttpStatus:
      s = "api=http:" + std::to_string(p.status) + ":" + p.body;
      break;
    case FaultKind::kApiDelay:
      s = "api=delay:" + Duration(p.ms);
      break;
    case FaultKind::kApiClose:
      s = "api=close";
      break;
    case FaultKind::kApiTruncate:
      s = "api=truncate:" + std::to_string(p.keep_bytes);
      break;
    case FaultKind::kApiNotJson:
      s = "api=notjson:" + p.body;
      break;
    case FaultKind::kApiWrongAmount:
      s = "api=wrongamount:" + std::to_string(p.delta_fen);
      break;
    case FaultKind::kPayFail:
      return "pay=fail";
    case FaultKind::kPayCancel:
      return "pay=cancel";
    case FaultKind::kPayUserPaying:
      return "pay=userpaying:" + Duration(p.seconds * 1000) + ":" + p.then;
    case FaultKind::kPayExpireEarly:
      return "pay=expire:" + Duration(p.seconds * 1000);
    case FaultKind::kPayLateSuccess:
      return "pay=late:" + Duration(p.seconds * 1000);
    case FaultKind::kNotifyDelay:
      return "notify=delay:" + Duration(p.ms);
    case FaultKind::kNotifyDuplicate:
      return "notify=dup" + std::to_string(p.count);
    case FaultKind::kNotifyTimes:
      return "notify=times:" + std::to_string(p.count) + ":" + Duration(p.interval_s * 1000);
    case FaultKind::kNotifyDropFirst:
      return "notify=drop:" + std::to_string(p.count);
    case FaultKind::kNotifyBadSign:
      return "notify=badsign";
    case FaultKind::kNotifyTamperAmount:
      return "notify=tamper:" + std::to_string(p.delta_fen);
    case FaultKind::kNotifyRefundFirst:
      return "notify=refundfirst:" + Duration(p.seconds * 1000);
    case FaultKind::kNotifyReplay:
      return "notify=replay:" + Duration(p.seconds * 1000);
    case FaultKind::kRefundProcessing:
      return "refund=processing:" + Duration(p.seconds * 1000) + ":" + p.then;
    case FaultKind::kRefundFail:
      return "refund=fail";
    case FaultKind::kMerchantSuspendAfter:
      return "merchant.suspend_after:" + std::to_string(p.count);  // rules only
  }
  if (p.phase != d.params.phase) s += "@" + std::string(PhaseName(p.phase));
  return s;
}

}  // namespace vkspay::sandbox
