#include "sandbox/config/config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "nlohmann/json.hpp"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/fields.h"

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
  Merchant demo;
  demo.merchantno = kDemoMerchantNo;
  demo.key = kDemoKey;
  demo.name = "VksPay 沙箱演示商户";
  c.merchants.push_back(std::move(demo));
  return c;
}

std::string_view ToString(AckMode mode) {
  switch (mode) {
    case AckMode::kJson:
      return "json";
    case AckMode::kText:
      return "text";
    case AckMode::kAny2xx:
      return "any2xx";
  }
  return "json";
}

StatusOr<AckMode> ParseAckMode(std::string_view name) {
  for (AckMode mode : {AckMode::kJson, AckMode::kText, AckMode::kAny2xx}) {
    if (ToString(mode) == name) return mode;
  }
  return Status(ErrorCode::kInvalidField,
                "ack_mode must be \"json\", \"text\" or \"any2xx\", got \"" + std::string(name) +
                    "\"");
}

namespace {

Status Bad(const std::string& path, const std::string& expected, const json& got) {
  const std::string shown = got.is_null() ? "nothing" : ShowJson(got, 60);
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

bool IsHttpUrl(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    const size_t n = std::char_traits<char>::length(scheme);
    if (url.size() > n && url.compare(0, n, scheme) == 0 && url[n] != '/') return true;
  }
  return false;
}

}  // namespace

Status NormalizePublicUrl(std::string_view what, std::string* url) {
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kInvalidField,
                  std::string(what) +
                      " must be an http:// or https:// URL such as https://sandbox.example.com "
                      "(" + why + "), got " + ShowJson(json(*url), 80));
  };
  for (char c : *url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("no whitespace, control or non-ASCII characters");
    if (c == '?' || c == '#' || c == '\\' || c == '"' || c == '<' || c == '>') {
      return bad("no query, fragment, backslash, quote or angle bracket");
    }
  }
  size_t scheme_end = url->find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url->substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return bad("the scheme is http or https");
  const size_t host_start = scheme_end + 3;
  const size_t path_start = url->find('/', host_start);
  const std::string authority = url->substr(
      host_start, path_start == std::string::npos ? std::string::npos : path_start - host_start);
  if (authority.find('@') != std::string::npos) return bad("no user@ before the host");
  std::string host = authority;
  std::string port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return bad("an IPv6 host in [brackets]");
    host = authority.substr(0, close + 1);
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad("':port' after ']'");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (const size_t colon = authority.find(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty() || host == "[]") return bad("a host after the scheme");
  if (has_port && (port.empty() || port.size() > 5 ||
                   port.find_first_not_of("0123456789") != std::string::npos ||
                   std::stoi(port) < 1 || std::stoi(port) > 65535)) {
    return bad("the port is 1-65535");
  }
  while (url->size() > host_start && url->back() == '/') url->pop_back();
  return Status::Ok();
}

namespace {

Status ReadUrl(const json& obj, const std::string& path, const char* name, std::string* out) {
  VKSPAY_RETURN_IF_ERROR(ReadString(obj, path, name, out, false));
  if (!out->empty() && !IsHttpUrl(*out)) {
    return Bad(path + "." + name, "an http:// or https:// URL", obj[name]);
  }
  return Status::Ok();
}

Status ReadNotifySettings(const json& s, Settings* out) {
  if (auto it = s.find("notify_profile"); it != s.end()) {
    static const std::set<std::string> kProfiles = {"vkspay", "alipay", "fast", "custom"};
    if (!it->is_string() || !kProfiles.count(it->get<std::string>())) {
      return Bad("settings.notify_profile", "\"vkspay\", \"alipay\", \"fast\" or \"custom\"",
                 *it);
    }
    out->notify_profile = it->get<std::string>();
  }
  if (auto it = s.find("notify_schedule"); it != s.end()) {
    const std::string what = "a non-empty array of seconds (numbers > 0)";
    if (!it->is_array() || it->empty()) return Bad("settings.notify_schedule", what, *it);
    out->notify_schedule.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 30 * 86400.0) {
        return Bad("settings.notify_schedule[" + std::to_string(i) + "]",
                   "seconds, a number > 0 and at most 30 days", v);
      }
      out->notify_schedule.push_back(v.get<double>());
    }
    if (s.find("notify_profile") == s.end()) out->notify_profile = "custom";
    if (out->notify_profile != "custom") {
      return Bad("settings.notify_schedule", "no schedule unless notify_profile is \"custom\"",
                 *it);
    }
  }
  if (out->notify_profile == "custom" && out->notify_schedule.empty()) {
    return Bad("settings.notify_schedule", "a schedule, since notify_profile is \"custom\"",
               json());
  }
  VKSPAY_RETURN_IF_ERROR(ReadInt(s, "settings", "notify_timeout_ms", 1, &out->notify_timeout_ms));
  VKSPAY_RETURN_IF_ERROR(ReadInt(s, "settings", "notify_workers", 1, &out->notify_workers));
  VKSPAY_RETURN_IF_ERROR(ReadInt(s, "settings", "notify_per_host", 1, &out->notify_per_host));
  VKSPAY_RETURN_IF_ERROR(
      ReadInt(s, "settings", "notify_per_host_max", 1, &out->notify_per_host_max));
  if (out->notify_workers > 256) {
    return Bad("settings.notify_workers", "an integer from 1 to 256", s["notify_workers"]);
  }
  if (out->notify_per_host > 256) {
    return Bad("settings.notify_per_host", "an integer from 1 to 256", s.at("notify_per_host"));
  }
  if (!s.contains("notify_per_host_max")) {
    // notify_per_host alone above the default cap: no adaptation above it.
    out->notify_per_host_max = std::max(out->notify_per_host_max, out->notify_per_host);
  } else if (out->notify_per_host_max > 256 ||
             out->notify_per_host_max < out->notify_per_host) {
    return Bad("settings.notify_per_host_max",
               "an integer from notify_per_host (" + std::to_string(out->notify_per_host) +
                   ") to 256",
               s.at("notify_per_host_max"));
  }
  if (auto it = s.find("time_scale"); it != s.end()) {
    if (!it->is_number() || it->get<double>() <= 0 || it->get<double>() > 1000) {
      return Bad("settings.time_scale", "a number > 0 and at most 1000 (such as 0.001)", *it);
    }
    out->time_scale = it->get<double>();
  }
  VKSPAY_RETURN_IF_ERROR(ReadUrl(s, "settings", "forward_to", &out->forward_to));
  if (auto it = s.find("notify_allow"); it != s.end()) {
    if (!it->is_array()) return Bad("settings.notify_allow", "an array of strings", *it);
    out->notify_allow.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_string() || v.get<std::string>().empty()) {
        return Bad("settings.notify_allow[" + std::to_string(i) + "]",
                   "a host, IP address or CIDR such as \"10.0.0.0/8\"", v);
      }
      out->notify_allow.push_back(v.get<std::string>());
    }
  }
  if (auto it = s.find("strict_notify_url"); it != s.end()) {
    if (!it->is_boolean()) return Bad("settings.strict_notify_url", "true or false", *it);
    out->strict_notify_url = it->get<bool>();
  }
  if (auto it = s.find("notify_refuse_loopback"); it != s.end()) {
    if (!it->is_boolean()) return Bad("settings.notify_refuse_loopback", "true or false", *it);
    out->notify_refuse_loopback = it->get<bool>();
  }
  return ReadString(s, "settings", "notify_ca_file", &out->notify_ca_file, false);
}

Status ReadSettings(const json& s, Settings* out) {
  if (!s.is_object()) return Bad("settings", "an object", s);
  static const std::set<std::string> kKnown = {
      "timestamp_window_s", "order_expiry_s",    "max_total_fee",   "strict_nonce",
      "max_body_bytes",     "public_base_url",   "control_token",   "seed",
      "notify_profile",     "notify_schedule",   "notify_timeout_ms", "notify_workers",
      "notify_per_host",    "notify_per_host_max", "time_scale",        "forward_to",      "notify_allow",
      "strict_notify_url",  "notify_ca_file",    "notify_refuse_loopback"};
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
    const std::string text = it->is_string()   ? it->get<std::string>()
                             : it->is_number() ? it->dump()
                                               : std::string();
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
  if (!out->public_base_url.empty()) {
    VKSPAY_RETURN_IF_ERROR(
        NormalizePublicUrl("config settings.public_base_url", &out->public_base_url));
  }
  VKSPAY_RETURN_IF_ERROR(ReadString(s, "settings", "control_token", &out->control_token, false));
  return ReadNotifySettings(s, out);
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
    if (it.key() != "merchants" && it.key() != "settings" && it.key() != "faults" &&
        it.key() != "$comment") {
      return Bad(it.key(), "\"merchants\", \"settings\", \"faults\" or \"$comment\"", *it);
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
    static const std::set<std::string> kKnown = {"merchantno", "key",      "name",
                                                 "notify_url", "ack_mode", "forward_to"};
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!kKnown.count(it.key())) {
        return Bad(path + "." + it.key(), "a known merchant field (see docs/protocol.md)", *it);
      }
    }
    Merchant merchant;
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "merchantno", &merchant.merchantno, true));
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "key", &merchant.key, true));
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "name", &merchant.name, false));
    VKSPAY_RETURN_IF_ERROR(ReadString(m, path, "notify_url", &merchant.notify_url, false));
    VKSPAY_RETURN_IF_ERROR(ReadUrl(m, path, "forward_to", &merchant.forward_to));
    if (auto it = m.find("ack_mode"); it != m.end()) {
      StatusOr<AckMode> mode =
          it->is_string() ? ParseAckMode(it->get<std::string>()) : ParseAckMode("");
      if (!mode.ok()) return Bad(path + ".ack_mode", "\"json\", \"text\" or \"any2xx\"", *it);
      merchant.ack_mode = *mode;
    }
    if (!seen.insert(merchant.merchantno).second) {
      return Bad(path + ".merchantno", "a merchantno not used before", m["merchantno"]);
    }
    if (merchant.name.empty()) merchant.name = merchant.merchantno;
    config.merchants.push_back(std::move(merchant));
  }
  if (auto s = root.find("settings"); s != root.end()) {
    VKSPAY_RETURN_IF_ERROR(ReadSettings(*s, &config.settings));
  }
  if (auto f = root.find("faults"); f != root.end()) {
    StatusOr<FaultsConfig> faults = ParseFaultsConfig(*f);
    if (!faults.ok()) return faults.status();
    config.faults = std::move(*faults);
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
