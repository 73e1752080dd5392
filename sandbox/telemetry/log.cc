#include "sandbox/telemetry/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "nlohmann/json.hpp"

namespace vkspay::sandbox {

std::optional<LogFormat> ParseLogFormat(std::string_view s) {
  if (s == "text") return LogFormat::kText;
  if (s == "json") return LogFormat::kJson;
  return std::nullopt;
}

LogEvent& LogEvent::Str(std::string key, std::string value) {
  fields_.emplace_back(std::move(key), std::move(value));
  return *this;
}

LogEvent& LogEvent::Int(std::string key, int64_t value) {
  fields_.emplace_back(std::move(key), value);
  return *this;
}

LogEvent& LogEvent::StrIfSet(std::string key, std::string value) {
  if (!value.empty()) Str(std::move(key), std::move(value));
  return *this;
}

std::string LogEvent::Get(std::string_view key) const {
  for (const auto& [k, v] : fields_) {
    if (k != key) continue;
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return std::to_string(std::get<int64_t>(v));
  }
  return "";
}

std::string LogfmtValue(std::string_view value) {
  bool quote = value.empty();
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=' || c == '\\') {
      quote = true;
      break;
    }
  }
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string LogEvent::Text(LogLevel level) const {
  std::string out = kind_;
  if (level == LogLevel::kWarn) out += " level=warn";
  for (const auto& [k, v] : fields_) {
    out += ' ';
    out += k;
    out += '=';
    if (const auto* s = std::get_if<std::string>(&v)) {
      out += LogfmtValue(*s);
    } else {
      out += std::to_string(std::get<int64_t>(v));
    }
  }
  return out;
}

namespace {
const char* LevelName(LogLevel level) { return level == LogLevel::kWarn ? "warn" : "info"; }
}  // namespace

std::string LogEvent::Json(LogLevel level, const std::string& ts) const {
  nlohmann::ordered_json j;
  j["ts"] = ts;
  j["level"] = LevelName(level);
  j["kind"] = kind_;
  for (const auto& [k, v] : fields_) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      j[k] = *s;
    } else {
      j[k] = std::get<int64_t>(v);
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Rfc3339Micros(int64_t unix_us) {
  const time_t secs = static_cast<time_t>(unix_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((unix_us / 1000) % 1000));
  return buf;
}

std::string Logger::Now() const {
  const int64_t us = options_.now_us ? options_.now_us()
                                     : std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count();
  return Rfc3339Micros(us);
}

void Logger::Event(LogLevel level, const LogEvent& event) const {
  if (!Enabled(level)) return;
  options_.write(options_.format == LogFormat::kJson ? event.Json(level, Now())
                                                     : event.Text(level));
}

void Logger::Message(LogLevel level, std::string_view kind, const std::string& text) const {
  if (!Enabled(level)) return;
  if (options_.format == LogFormat::kText) {
    options_.write(text);
    return;
  }
  nlohmann::ordered_json j;
  j["ts"] = Now();
  j["level"] = LevelName(level);
  j["kind"] = kind;
  j["msg"] = text;
  options_.write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::function<void(const std::string&)> Logger::Sink(LogLevel level, std::string kind) const {
  return [this, level, kind = std::move(kind)](const std::string& line) {
    Message(level, kind, line);
  };
}

}  // namespace vkspay::sandbox
