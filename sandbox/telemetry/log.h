// The sandbox's log: one line per event, as text (logfmt-like) or as JSON
// (--log-format text|json), with warnings kept and everything else dropped
// under --quiet. See docs/observability.md for every kind of line.
//
// A LogEvent is a kind ("api", "buyer", "control", "http") and ordered
// fields. Text: `api method=webpay merchant=10001 result=FAIL ...`, a value
// quoted (with \" \\ \n escapes) when it is empty or holds a space, a quote,
// '=' or a control character. JSON: {"ts":"2026-12-05T12:00:00.123Z",
// "level":"info","kind":"api",<fields>}, one object per line, invalid UTF-8
// replaced. Lines other components write as plain text (the dispatcher's
// attempts, injected faults) go through Message(): unchanged as text, as
// {"ts","level","kind","msg"} as JSON.
//
// Callers mask secrets before they add a field (merchant keys, signatures,
// cashier tokens never reach a log): the logger does not know them.
//
// Thread-safe: a Logger is immutable once built; `write` must be thread-safe
// (main's writes each line with one write() under a mutex).
#ifndef VKSPAY_SANDBOX_TELEMETRY_LOG_H_
#define VKSPAY_SANDBOX_TELEMETRY_LOG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vkspay::sandbox {

enum class LogFormat { kText, kJson };
enum class LogLevel { kInfo, kWarn };

// "text" or "json"; nullopt otherwise.
std::optional<LogFormat> ParseLogFormat(std::string_view s);

class LogEvent {
 public:
  explicit LogEvent(std::string kind) : kind_(std::move(kind)) {}

  LogEvent& Str(std::string key, std::string value);
  LogEvent& Int(std::string key, int64_t value);
  // Adds the field only when `value` is not empty.
  LogEvent& StrIfSet(std::string key, std::string value);

  const std::string& kind() const { return kind_; }
  // The value of a field as text ("" if absent); for tests.
  std::string Get(std::string_view key) const;

  // `kind k=v k=v`; a warning starts `kind level=warn`.
  std::string Text(LogLevel level) const;
  // One JSON object, no newline. `ts` is an RFC 3339 UTC time.
  std::string Json(LogLevel level, const std::string& ts) const;

 private:
  std::string kind_;
  std::vector<std::pair<std::string, std::variant<std::string, int64_t>>> fields_;
};

// A value as text would show it: bare, or quoted and escaped.
std::string LogfmtValue(std::string_view value);
// "2026-12-05T12:00:00.123Z" for unix microseconds.
std::string Rfc3339Micros(int64_t unix_us);

struct LoggerOptions {
  LogFormat format = LogFormat::kText;
  bool quiet = false;  // only warnings
  // Receives each line, without its newline; empty: nothing is logged.
  std::function<void(const std::string&)> write;
  // Wall-clock unix microseconds for the JSON "ts"; empty: the system clock.
  std::function<int64_t()> now_us;
};

class Logger {
 public:
  explicit Logger(LoggerOptions options) : options_(std::move(options)) {}

  // False when the line would be dropped (no sink, or info under quiet):
  // callers skip building an event nobody reads.
  bool Enabled(LogLevel level) const {
    return options_.write && (level == LogLevel::kWarn || !options_.quiet);
  }
  LogFormat format() const { return options_.format; }

  void Event(LogLevel level, const LogEvent& event) const;
  // A line written as plain text by a component that knows no events.
  void Message(LogLevel level, std::string_view kind, const std::string& text) const;
  // A sink for such a component: Message(level, kind, line) per line. The
  // logger must outlive it.
  std::function<void(const std::string&)> Sink(LogLevel level, std::string kind) const;

 private:
  std::string Now() const;
  LoggerOptions options_;
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TELEMETRY_LOG_H_
