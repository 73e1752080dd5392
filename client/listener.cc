#include "vkspay/client/listener.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "url.h"
#include "vkspay/protocol/amount.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/errors.h"
#include "vkspay/protocol/notification.h"

namespace vkspay::client {
namespace {

constexpr char kJson[] = "application/json";

std::string FailBody(std::string_view msg) {
  nlohmann::ordered_json j = {{"code", "FAIL"}, {"msg", msg}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string Text(const Fields& f, std::string_view name) {
  const Value* v = f.Find(name);
  return v == nullptr ? std::string() : JsString(*v);
}


// "http://host:port/path?q" -> origin and path (default "/").
bool SplitUrl(std::string_view url, std::string& origin, std::string& path) {
  if (!internal::SplitHttpUrl(url, origin, path)) return false;
  if (path.empty()) path = "/";
  return true;
}

}  // namespace

std::string_view FailModeName(FailMode mode) {
  switch (mode) {
    case FailMode::kNone:
      return "none";
    case FailMode::kHttp500:
      return "500";
    case FailMode::kTimeout:
      return "timeout";
    case FailMode::kWrongBody:
      return "wrong-body";
  }
  return "none";
}

StatusOr<FailMode> ParseFailMode(std::string_view text) {
  if (text == "none" || text == "ok") return FailMode::kNone;
  if (text == "500" || text == "fail500") return FailMode::kHttp500;
  if (text == "timeout") return FailMode::kTimeout;
  if (text == "wrong-body") return FailMode::kWrongBody;
  return Status(ErrorCode::kInvalidField,
                "--fail 应为 none, 500, timeout 或 wrong-body, 收到 \"" + std::string(text) + "\"");
}

double FailDraw(uint64_t seed, std::string_view notify_id, int attempt) {
  // FNV-1a of the notify_id, mixed with the seed and the attempt: the draw
  // depends only on these, not on arrival order or thread timing.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : notify_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  uint64_t x = SplitMix64(SplitMix64(seed) ^ h ^ (static_cast<uint64_t>(attempt) << 32));
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

bool IsAckAnswer(int http_status, std::string_view body) {
  if (http_status < 200 || http_status > 299) return false;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto code = j.find("code");
  return code != j.end() && code->is_string() && code->get_ref<const std::string&>() == "SUCCESS";
}

nlohmann::ordered_json StatsJson(const NotifyListenerStats& s) {
  return nlohmann::ordered_json{{"received", s.received},
                                {"verified", s.verified},
                                {"invalid", s.invalid},
                                {"acked", s.acked},
                                {"failed", s.failed},
                                {"forward_errors", s.forward_errors},
                                {"duplicates", s.duplicates},
                                {"unique", s.unique},
                                {"acked_out_trade_nos", s.acked_out_trade_nos}};
}

std::string FormatEventLine(const NotifyEvent& e) {
  const Fields& f = e.fields;
  auto or_dash = [](std::string s) { return s.empty() ? std::string("-") : s; };
  std::string line = FormatDisplayTime(e.received_us / 1'000'000);
  line += "  " + or_dash(Text(f, "notify_type"));
  line += "  " + or_dash(Text(f, "out_trade_no"));
  line += "  " + or_dash(Text(f, "total_fee"));
  line += "  " + or_dash(Text(f, "pay_chnl"));
  if (Text(f, "notify_type") == "refund") {
    line += "  refund " + or_dash(Text(f, "out_refund_no")) + " " + or_dash(Text(f, "refund_fee"));
  }
  line += "  notify_id=" + or_dash(Text(f, "notify_id"));
  if (e.verified) {
    line += "  VERIFIED";
    if (e.attempt > 1) line += " attempt=" + std::to_string(e.attempt);
    if (e.duplicate) line += " DUPLICATE";
  } else {
    std::string why = std::string(ErrCodeName(e.error.code())) + ": " + e.error.message();
    for (char& c : why) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    line += "  INVALID (" + why + ")";
  }
  // "-> ack 200", "-> ack 200 (forwarded)", "-> fail 500 (fail-500)".
  line += "  -> " + std::string(e.acked ? "ack " : "fail ") + std::to_string(e.http_status);
  if (e.answered != "ack") {
    line += " (" + e.answered + (e.forward_error.empty() ? "" : ": " + e.forward_error) + ")";
  }
  return line;
}

nlohmann::ordered_json EventJson(const NotifyEvent& e) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const Field& field : e.fields.items()) j[field.name] = JsString(field.value);
  j["received_at"] = FormatDisplayTime(e.received_us / 1'000'000);
  j["received_us"] = e.received_us;
  j["path"] = e.path;
  j["verified"] = e.verified;
  j["error"] = e.verified ? std::string()
                          : std::string(ErrCodeName(e.error.code())) + ": " + e.error.message();
  j["attempt"] = e.attempt;
  j["duplicate"] = e.duplicate;
  j["answered"] = e.answered;
  j["http_status"] = e.http_status;
  j["acked"] = e.acked;
  if (!e.forward_error.empty()) j["forward_error"] = e.forward_error;
  return j;
}

// ---------------------------------------------------------------------------

NotifyListener::NotifyListener(NotifyListenerOptions options)
    : options_(std::move(options)), clock_(options_.clock) {
  if (clock_ == nullptr) {
    owned_clock_ = std::make_unique<SystemClock>();
    clock_ = owned_clock_.get();
  }
}

NotifyListener::~NotifyListener() { Stop(); }

std::string NotifyListener::url() const {
  std::string host = options_.host;
  if (host == "0.0.0.0" || host == "::" || host.empty()) host = "127.0.0.1";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  std::string path =
      options_.path.empty() || options_.path.front() != '/' ? "/" + options_.path : options_.path;
  return "http://" + host + ":" + std::to_string(port_) + path;
}

NotifyListenerStats NotifyListener::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

StatusOr<int> NotifyListener::Start() {
  if (started_) return Status(ErrorCode::kInternal, "NotifyListener 已经启动过");
  if (options_.keys.empty()) {
    return Status(ErrorCode::kInvalidField, "没有商户密钥: 至少需要一个 merchantno -> key");
  }
  if (!(options_.fail_rate >= 0 && options_.fail_rate <= 1)) {
    return Status(ErrorCode::kInvalidField,
                  "fail_rate 应在 [0, 1] 之内, 收到 " + std::to_string(options_.fail_rate));
  }
  if (options_.fail_first < 0) {
    return Status(ErrorCode::kInvalidField, "fail_first 不能为负数");
  }
  if (!options_.forward_to.empty() &&
      !SplitUrl(options_.forward_to, forward_origin_, forward_path_)) {
    return Status(
        ErrorCode::kInvalidField,
        "forward_to 应为 http(s)://host[:port][/path], 收到 \"" + options_.forward_to + "\"");
  }
  started_ = true;

  http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *http_;
  // See ../shared/httplib-0.11-notes.md: Nagle adds ~40 ms per keep-alive
  // request, the default keep-alive max of 5 halves throughput.
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(100000);
  // Short: on Stop(), httplib lets each worker serve its keep-alive connection
  // until this timeout, so a stopping listener could still ack for seconds.
  http.set_keep_alive_timeout(1);
  http.set_read_timeout(10);
  http.set_write_timeout(10);
  http.set_payload_max_length(1 << 20);
  const size_t threads = static_cast<size_t>(std::max(2, options_.threads));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR only: the default SO_REUSEPORT lets a second listener bind
  // the same port and silently take half the notifications.
  http.set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_.store(sock);
  });

  http.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    Answer answer;
    Handle(req.path, req.get_header_value("Content-Type"), req.body, answer);
    res.status = answer.status;
    res.set_content(answer.body, answer.content_type.c_str());
  });
  http.Get("/_listen/stats", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(StatsJson(stats()).dump(), kJson);
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "vkspay listen: POST notifications to any path; GET /_listen/stats for counters\n",
        "text/plain; charset=utf-8");
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(FailBody("vkspay listen: internal error"), kJson);
      });

  int port = options_.port == 0
                 ? http.bind_to_any_port(options_.host)
                 : (http.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port <= 0) {
    return Status(ErrorCode::kInternal, "无法监听 " + options_.host + ":" +
                                            std::to_string(options_.port) +
                                            " (地址已被占用或不可用)");
  }
  port_ = port;
  // httplib listens with a backlog of 5; a burst of deliveries would see
  // dropped SYNs and 1 s stalls. Listening again only raises the backlog.
  if (int fd = listen_fd_.load(); fd >= 0) ::listen(fd, 1024);
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void NotifyListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  // Close kept-alive connections to the forward target now, not whenever the
  // listener is destroyed: the target may be waiting for them to stop.
  std::vector<std::unique_ptr<httplib::Client>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle.swap(idle_forwarders_);
  }
}

std::optional<std::string> NotifyListener::KeyFor(const Fields& fields) const {
  auto it = options_.keys.find(Text(fields, "merchantno"));
  if (it == options_.keys.end()) return std::nullopt;
  return it->second;
}

void NotifyListener::Handle(const std::string& path, const std::string& content_type,
                            const std::string& body, Answer& answer) {
  NotifyEvent e;
  e.received_us = clock_->NowMicros();
  e.path = path;
  e.content_type = content_type;

  StatusOr<Fields> fields = DecodeNotificationBody(body, content_type);
  if (fields.ok()) {
    e.fields = *fields;
    std::optional<std::string> key = KeyFor(e.fields);
    if (!key.has_value()) {
      e.error = Status(ErrorCode::kUnknownMerchant,
                       "未配置商户 \"" + Text(e.fields, "merchantno") + "\" 的密钥");
    } else {
      StatusOr<Notification> n = NotificationFromFields(std::move(fields).value(), *key);
      if (n.ok()) {
        e.notification = std::move(n).value();
        e.verified = true;
      } else {
        e.error = n.status();
      }
    }
  } else {
    e.error = fields.status();
  }

  if (!e.verified) {
    answer.status = 400;
    answer.body = FailBody(std::string(ErrCodeName(e.error.code())) + ": " + e.error.message());
    e.answered = "invalid";
    e.http_status = 400;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.received;
      ++stats_.invalid;
    }
    Emit(e);
    return;
  }

  const std::string& notify_id = e.notification->notify_id;
  bool fail = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.received;
    ++stats_.verified;
    int& n = attempts_[notify_id];
    if (n == 0) ++stats_.unique;
    e.attempt = ++n;
    e.duplicate = acked_ids_.count(notify_id) != 0;
    if (e.duplicate) ++stats_.duplicates;
  }
  if (e.attempt <= options_.fail_first) fail = true;
  if (options_.fail_rate > 0 &&
      FailDraw(options_.seed, notify_id, e.attempt) < options_.fail_rate) {
    fail = true;
  }
  if (options_.fail_mode != FailMode::kNone && options_.fail_first == 0 &&
      options_.fail_rate == 0) {
    fail = true;
  }

  if (fail) {
    const FailMode mode =
        options_.fail_mode == FailMode::kNone ? FailMode::kHttp500 : options_.fail_mode;
    switch (mode) {
      case FailMode::kWrongBody:
        answer.status = 200;
        answer.body = R"({"code":"WRONG","msg":"vkspay listen --fail wrong-body"})";
        e.answered = "wrong-body";
        break;
      case FailMode::kTimeout:
        answer.status = 500;
        answer.body = FailBody("vkspay listen --fail timeout");
        e.answered = "timeout";
        break;
      default:
        answer.status = 500;
        answer.body = FailBody("vkspay listen --fail 500");
        e.answered = "fail-500";
        break;
    }
    e.http_status = answer.status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.failed;
    }
    Emit(e);
    if (mode == FailMode::kTimeout) {
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, options_.timeout, [this] { return stopping_; });
    }
    return;
  }

  if (!options_.forward_to.empty()) {
    std::string error;
    if (Forward(content_type, body, answer, error)) {
      e.answered = "forwarded";
      e.acked = IsAckAnswer(answer.status, answer.body);
    } else {
      answer.status = 502;
      answer.body = FailBody("vkspay listen: 转发到 " + options_.forward_to + " 失败: " + error);
      answer.content_type = kJson;
      e.answered = "forward-failed";
      e.forward_error = error;
    }
  } else {
    answer.status = 200;
    answer.body = kNotifyAckBody;
    e.answered = "ack";
    e.acked = true;
  }
  e.http_status = answer.status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!e.forward_error.empty()) ++stats_.forward_errors;
    if (e.acked) {
      ++stats_.acked;
      acked_ids_.insert(notify_id);
      if (acked_trade_nos_.insert(e.notification->out_trade_no).second) {
        stats_.acked_out_trade_nos.push_back(e.notification->out_trade_no);
      }
    }
  }
  Emit(e);
}

bool NotifyListener::Forward(const std::string& content_type, const std::string& body,
                             Answer& answer, std::string& error) {
  std::unique_ptr<httplib::Client> client;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_forwarders_.empty()) {
      client = std::move(idle_forwarders_.back());
      idle_forwarders_.pop_back();
    }
  }
  if (!client) {
    client = std::make_unique<httplib::Client>(forward_origin_);
    client->set_tcp_nodelay(true);
    client->set_keep_alive(true);
    client->set_follow_location(false);
    client->set_connection_timeout(options_.forward_timeout);
    client->set_read_timeout(options_.forward_timeout);
    client->set_write_timeout(options_.forward_timeout);
  }
  httplib::Result res = client->Post(forward_path_, body, content_type);
  bool ok = static_cast<bool>(res);
  if (ok) {
    answer.status = res->status;
    answer.body = res->body;
    std::string ct = res->get_header_value("Content-Type");
    answer.content_type = ct.empty() ? "text/plain" : ct;
  } else {
    error = httplib::to_string(res.error());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A failed connection is not reused.
    if (ok) idle_forwarders_.push_back(std::move(client));
  }
  return ok;
}

void NotifyListener::Emit(const NotifyEvent& event) {
  std::lock_guard<std::mutex> lock(out_mu_);
  if (options_.out != nullptr) {
    if (options_.json) {
      *options_.out << EventJson(event).dump(-1, ' ', false,
                                             nlohmann::ordered_json::error_handler_t::replace)
                    << std::endl;
    } else {
      *options_.out << FormatEventLine(event) << std::endl;
    }
  }
  if (callback_) callback_(event);
}

}  // namespace vkspay::client
