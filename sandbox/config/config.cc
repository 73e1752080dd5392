#include "sandbox/config/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/amount.h"

namespace vkspay::sandbox {

using nlohmann::json;

const Merchant* SandboxConfig::FindMerchant(std::string_view merchantno) const {
  for (const Merchant& m : merchants) {
    if (m.merchantno == merchantno) return &m;
  }
  return nullptr;
}

SandboxConfig SandboxConfig::Demo() {
  SandboxConfig c;
  c.merchants.push_back(Merchant{kDemoMerchantNo, kDemoKey, "VksPay 沙箱演示商户", ""});
  return c;
}

namespace {

Status Bad(const std::string& path, const std::string& expected, const json& got) {
  std::string shown = got.is_null() ? "nothing" : got.dump();
  if (shown.size() > 60) shown = shown.substr(0, 60) + "...";
  return Status(ErrorCode::kInvalidField,
                "config " + path + ": expected " + expected + ", got " + shown);
}

Status ReadString(const json& obj, const std::string& path, const char* name, std::string* out,
                  bool required) {
  auto it = obj.find(name);
  if (it == obj.end()) {
    return required ? Bad(path + "." + name, "a string", json()) : Status::Ok();
  }
  if (!it->is_string()) return Bad(path + "." + name, "a string", *it);
  *out = it->get<std::string>();
  if (required && out->empty()) return Bad(path + "." + name, "a non-empty string", *it);
  return Status::Ok();
}

Status ReadInt(const json& obj, const std::string& path, const char* name, int64_t min,
               int64_t* out) {
  auto it = obj.find(name);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_number_integer() || it->get<int64_t>() < min) {
    return Bad(path + "." + name, "an integer >= " + std::to_string(min), *it);
  }
  *out = it->get<int64_t>();
  return Status::Ok();
}

Status ReadSettings(const json& s, Settings* out) {
  if (!s.is_object()) return Bad("settings", "an object", s);
  static const std::set<std::string> kKnown = {
      "timestamp_window_s", "order_expiry_s", "max_total_fee", "strict_nonce",
      "max_body_bytes",     "public_base_url", "control_token", "seed"};
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (!kKnown.count(it.key())) {
      return Bad("settings." + it.key(), "a known setting (see docs/protocol.md)", *it);
    }
  }
  VKSPAY_RETURN_IF_ERROR(ReadInt(s, "settings", "timestamp_window_s", 1, &out->timestamp_window_s));
  VKSPAY_RETURN_IF_ERROR(ReadInt(s, "settings", "order_expiry_s", 1, &out->order_expiry_s));
  int64_t body = static_cast<int64_t>(out->max_body_bytes);
  VKSPAY_RETURN_IF_ERROR(ReadInt(s, "settings", "max_body_bytes", 1024, &body));
  out->max_body_bytes = static_cast<size_t>(body);
  if (auto it = s.find("max_total_fee"); it != s.end()) {
    std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    StatusOr<int64_t> fen = ParseYuanText("settings.max_total_fee", text, INT64_MAX / 200);
    if (!fen.ok()) return Bad("settings.max_total_fee", "a yuan amount such as \"1000000.00\"", *it);
    out->max_total_fee_fen = *fen;
  }
  if (auto it = s.find("strict_nonce"); it != s.end()) {
    if (!it->is_boolean()) return Bad("settings.strict_nonce", "true or false", *it);
    out->strict_nonce = it->get<bool>();
  }
  if (auto it = s.find("seed"); it != s.end()) {
    if (!it->is_number_unsigned()) return Bad("settings.seed", "a non-negative integer", *it);
    out->seed = it->get<uint64_t>();
  }
  VKSPAY_RETURN_IF_ERROR(ReadString(s, "settings", "public_base_url", &out->public_base_url, false));
  VKSPAY_RETURN_IF_ERROR(ReadString(s, "settings", "control_token", &out->control_token, false));
  return Status::Ok();
}

}  // namespace

StatusOr<SandboxConfig> ParseConfig(std::string_view json_text) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return Status(ErrorCode::kInvalidJson, "config: not valid JSON");
  }
  if (!root.is_object()) return Bad("(root)", "an object", root);
  SandboxConfig config;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() != "merchants" && it.key() != "settings" && it.key() != "$comment") {
      return Bad(it.key(), "\"merchants\", \"settings\" or \"$comment\"", *it);
    }
  }
  auto merchants = root.find("merchants");
  if (merchants == root.end() || !merchants->is_array() || merchants->empty()) {
    return Bad("merchants", "a non-empty array",
               merchants == root.end() ? json() : *merchants);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < merchants->size(); ++i) {
    const json& m = (*merchants)[i];
    const std::string path = "merchants[" + std::to_string(i) + "]";
    if (!m.is_object()) return Bad(path, "an object", m);
    Merchant merchant;
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "merchantno", &merchant.merchantno, true));
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "key", &merchant.key, true));
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "name", &merchant.name, false));
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "notify_url", &merchant.notify_url, false));
    if (!seen.insert(merchant.merchantno).second) {
      return Bad(path + ".merchantno", "a merchantno not used before", m["merchantno"]);
    }
    if (merchant.name.empty()) merchant.name = merchant.merchantno;
    config.merchants.push_back(std::move(merchant));
  }
  if (auto s = root.find("settings"); s != root.end()) {
    VKSPAY_RETURN_IF_ERROR(ReadSettings(*s, &config.settings));
  }
  return config;
}

StatusOr<SandboxConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kNotFound, "config file not readable: " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<SandboxConfig> c = ParseConfig(ss.str());
  if (!c.ok()) return Status(c.status().code(), path + ": " + c.status().message());
  return c;
}

}  // namespace vkspay::sandbox
