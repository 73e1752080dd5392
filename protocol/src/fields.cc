#include "vkspay/protocol/fields.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/js_number.h"

namespace vkspay {

std::string JsString(const Value& v) {
  struct Visitor {
    std::string operator()(std::nullptr_t) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(double d) const { return JsNumberToString(d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, v);
}

std::string_view TypeName(const Value& v) {
  static constexpr std::string_view kNames[] = {"null", "boolean", "number", "string"};
  return kNames[v.index()];
}

namespace {

nlohmann::json ToJson(const Value& v) {
  struct Visitor {
    nlohmann::json operator()(std::nullptr_t) const { return nullptr; }
    nlohmann::json operator()(bool b) const { return b; }
    nlohmann::json operator()(double d) const {
      // Whole numbers as integers so that 100 prints as 100, not 100.0.
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
        return static_cast<int64_t>(d);
      }
      return d;
    }
    nlohmann::json operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, v);
}

std::string Truncate(std::string s, size_t max) { return TruncateUtf8(std::move(s), max); }

// Builds Fields from SAX events, refusing anything but one flat object.
class FlatSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit FlatSax(const ParseLimits& limits) : limits_(limits) {}

  Status TakeStatus() { return std::move(status_); }
  Fields TakeFields() { return std::move(fields_); }
  bool saw_object() const { return saw_object_; }

  bool null() override { return Add(nullptr); }
  bool boolean(bool val) override { return Add(val); }
  bool number_integer(number_integer_t val) override { return Add(static_cast<double>(val)); }
  bool number_unsigned(number_unsigned_t val) override { return Add(static_cast<double>(val)); }
  bool number_float(number_float_t val, const string_t&) override { return Add(val); }
  bool string(string_t& val) override {
    if (val.size() > limits_.max_value_bytes) {
      return Fail(ErrorCode::kBodyTooLarge, "字段 " + Quoted(key_) + " 的值有 " +
                                                std::to_string(val.size()) + " 字节, 上限 " +
                                                std::to_string(limits_.max_value_bytes) + " 字节");
    }
    return Add(std::move(val));
  }
  bool binary(binary_t&) override {
    return Fail(ErrorCode::kInvalidJson, "请求体必须是 JSON 对象");
  }
  bool start_object(std::size_t) override {
    if (depth_ == 0 && !saw_object_) {
      depth_ = 1;
      saw_object_ = true;
      return true;
    }
    return Fail(ErrorCode::kNotFlat, "字段 " + Quoted(key_) +
                                         " 的值是对象; 请求体必须是扁平的 JSON 对象 "
                                         "(字段值只能是字符串、数字、布尔或 null)");
  }
  bool key(string_t& val) override {
    if (!seen_.insert(val).second) {
      return Fail(ErrorCode::kDuplicateField,
                  "字段 " + Quoted(val) + " 出现了两次; 每个字段只能出现一次");
    }
    if (seen_.size() > limits_.max_fields) {
      return Fail(ErrorCode::kBodyTooLarge, "字段数超过上限 " + std::to_string(limits_.max_fields));
    }
    key_ = std::move(val);
    in_value_ = true;
    return true;
  }
  bool end_object() override {
    depth_ = 0;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return Fail(ErrorCode::kInvalidJson, "请求体必须是 JSON 对象, 收到数组");
    return Fail(ErrorCode::kNotFlat, "字段 " + Quoted(key_) +
                                         " 的值是数组; 请求体必须是扁平的 JSON 对象 "
                                         "(字段值只能是字符串、数字、布尔或 null)");
  }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    if (status_.ok()) {
      std::string what = ex.what();
      // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
      if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
      // Inside a field's value (a bad string, 1e400), name the field: the
      // byte offset alone is hard to map back to a 60 KB body.
      std::string where = "字节 " + std::to_string(position);
      if (in_value_ && depth_ == 1) where += ", 字段 " + Quoted(key_);
      status_ = Status(ErrorCode::kInvalidJson, "JSON 解析失败 (" + where + "): " + what);
    }
    return false;
  }

 private:
  static std::string Quoted(const std::string& s) { return "\"" + Truncate(s, 64) + "\""; }

  bool Add(Value v) {
    in_value_ = false;
    if (depth_ != 1) {
      return Fail(ErrorCode::kInvalidJson,
                  "请求体必须是 JSON 对象, 收到 " + std::string(TypeName(v)));
    }
    fields_.Set(key_, std::move(v));
    return true;
  }
  bool Fail(ErrorCode code, std::string msg) {
    if (status_.ok()) status_ = Status(code, std::move(msg));
    return false;
  }

  const ParseLimits& limits_;
  Status status_;
  Fields fields_;
  std::unordered_set<std::string> seen_;
  std::string key_;
  int depth_ = 0;
  bool saw_object_ = false;
  // Between a key and its value: a parse error here is in that field.
  bool in_value_ = false;
};

}  // namespace

std::string ToJsonText(const Value& v) { return ToJson(v).dump(); }

std::string TruncateUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

std::string ShowJson(const nlohmann::json& j, size_t max_bytes) {
  if (j.is_array() || j.is_object()) {
    for (const nlohmann::json& member : j) {
      if (member.is_array() || member.is_object()) {
        return j.is_array() ? "[an array of " + std::to_string(j.size()) + " items]"
                            : "{an object of " + std::to_string(j.size()) + " fields}";
      }
    }
  }
  // At most one level deep here, so dump() recurses once. A huge flat
  // container is dumped whole before the cut; its size is bounded by the
  // body limit of whoever parsed it.
  return TruncateUtf8(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), max_bytes);
}

const Value* Fields::Find(std::string_view name) const {
  for (const Field& f : items_) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

void Fields::Set(std::string name, Value value) {
  for (Field& f : items_) {
    if (f.name == name) {
      f.value = std::move(value);
      return;
    }
  }
  items_.push_back(Field{std::move(name), std::move(value)});
}

void Fields::Erase(std::string_view name) {
  std::erase_if(items_, [&](const Field& f) { return f.name == name; });
}

std::string Fields::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const Field& f : items_) j[f.name] = vkspay::ToJson(f.value);
  return j.dump();
}

StatusOr<Fields> ParseFlatJson(std::string_view body, const ParseLimits& limits) {
  FlatSax sax(limits);
  bool ok = nlohmann::json::sax_parse(body.begin(), body.end(), &sax,
                                      nlohmann::json::input_format_t::json,
                                      /*strict=*/true);
  Status st = sax.TakeStatus();
  if (!st.ok()) return st;
  if (!ok) return Status(ErrorCode::kInvalidJson, "JSON 解析失败");
  if (!sax.saw_object()) {
    return Status(ErrorCode::kInvalidJson, "请求体必须是 JSON 对象");
  }
  return sax.TakeFields();
}

}  // namespace vkspay
