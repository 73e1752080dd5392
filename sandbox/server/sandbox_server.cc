#include "sandbox/server/sandbox_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <utility>

#include "nlohmann/json.hpp"
#include "sandbox/cashier/cashier_routes.h"
#include "sandbox/control/control_routes.h"
#include "sandbox/control/metrics_routes.h"
#include "sandbox/control/notify_routes.h"
#include "sandbox/control/stats_routes.h"
#include "sandbox/dashboard/dashboard_routes.h"
#include "sandbox/faults/directive.h"
#include "sandbox/telemetry/log.h"
#include "sandbox/telemetry/telemetry.h"

namespace vkspay::sandbox {

namespace {
constexpr char kVersion[] = "0.1.0";

// When the control call this thread is answering was routed (a request is
// routed, handled and logged on one thread).
thread_local std::chrono::steady_clock::time_point tl_control_start;
// Set while this thread answers a request no route took (already logged).
thread_local bool tl_unrouted = false;

bool IsControlPath(const std::string& path) { return path.rfind("/_sandbox/", 0) == 0; }

// The methods a known path takes, "" for an unknown path.
std::string AllowedMethods(const std::string& path) {
  if (path == "/api") return "POST";
  if (path == "/metrics" || path == "/" || path == "/_sandbox/health") return "GET";
  if (path.rfind("/pay/", 0) == 0) return "GET, POST";
  return "";
}

// Scalar fields of a control call's JSON body worth a log line (never a
// token or a key: only these names are read).
constexpr const char* kControlLogFields[] = {"merchantno", "out_trade_no", "out_refund_no",
                                             "outcome",    "channel",      "state",
                                             "profile",    "seconds",      "name"};

}  // namespace

void SandboxServer::LogApi(const ApiResponse& out, int64_t us) const {
  const Logger& log = *options_.logger;
  const std::string method = out.method.empty() ? "-" : out.method;
  const std::string merchant = out.merchantno.empty() ? "-" : out.merchantno;
  // A note is for the operator (a misconfiguration): a warning, kept under
  // --quiet.
  if (!out.log_note.empty() && log.Enabled(LogLevel::kWarn)) {
    LogEvent e("api");
    e.Str("method", method).Str("merchant", merchant);
    e.StrIfSet("out_trade_no", out.out_trade_no).StrIfSet("err_code", out.err_code);
    e.Str("note", out.log_note);
    log.Event(LogLevel::kWarn, e);
  }
  if (!log.Enabled(LogLevel::kInfo)) return;
  LogEvent e("api");
  e.Str("method", method).Str("merchant", merchant);
  e.StrIfSet("out_trade_no", out.out_trade_no).StrIfSet("out_refund_no", out.out_refund_no);
  e.Str("result", out.err_code.empty() ? "SUCCESS" : "FAIL");
  e.StrIfSet("err_code", out.err_code).StrIfSet("reason", out.reason);
  if (!out.injected.empty()) e.Int("http_status", out.http_status).Str("fault", out.injected);
  e.Int("latency_us", us);
  log.Event(LogLevel::kInfo, e);
}

void SandboxServer::AnswerUnrouted(const httplib::Request& req, httplib::Response& res) const {
  const std::string allowed = AllowedMethods(req.path);
  const bool wrong_method = !allowed.empty();
  std::string path = req.path;
  if (path.rfind("/pay/", 0) == 0) path = "/pay/***";  // a cashier token is a secret
  if (path.size() > 200) path = path.substr(0, 200) + "...";
  const std::string msg =
      (wrong_method ? req.method + " is not allowed on " + path + " (" + allowed + " only)"
                    : "no route " + req.method + " " + path) +
      "; the VksPay API is POST /api with a JSON body, the control API is under /_sandbox/, "
      "metrics at GET /metrics (README.md)" +
      (path.size() > 4 && path.compare(path.size() - 4, 4, "/api") == 0
           ? "; the path ends in /api: the client's base URL probably already ends in /api "
             "(drop it)"
           : "");
  nlohmann::ordered_json j;
  j["return_code"] = "FAIL";
  j["return_msg"] = "不存在: " + msg;
  j["err_code"] = "NOT_FOUND";
  j["ok"] = false;
  j["message"] = msg;
  res.status = wrong_method ? 405 : 404;
  if (wrong_method) res.set_header("Allow", allowed);
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
  tl_unrouted = true;
  if (options_.logger != nullptr && options_.logger->Enabled(LogLevel::kWarn)) {
    LogEvent e("http");
    e.Str("method", req.method).Str("path", path).Int("status", res.status);
    e.Str("peer", req.remote_addr).Str("reason", wrong_method ? "wrong method" : "no route");
    options_.logger->Event(LogLevel::kWarn, e);
  }
}

void SandboxServer::LogControl(const httplib::Request& req, const httplib::Response& res) const {
  // Reads are logged only when they fail: a dashboard or a --wait poll
  // would flood the log.
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (read && res.status < 400) return;
  const Logger& log = *options_.logger;
  if (!log.Enabled(LogLevel::kInfo)) return;
  LogEvent e("control");
  e.Str("method", req.method).Str("path", req.path).Int("status", res.status);
  for (const char* name : {"merchantno", "out_trade_no", "state"}) {
    if (req.has_param(name)) e.Str(name, req.get_param_value(name).substr(0, 64));
  }
  if (!req.body.empty() && req.body.size() <= 64 * 1024) {
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_object()) {
      for (const char* name : kControlLogFields) {
        auto it = body.find(name);
        if (it == body.end()) continue;
        if (it->is_string()) e.Str(name, it->get<std::string>().substr(0, 64));
        if (it->is_number_integer()) e.Int(name, it->get<int64_t>());
      }
    }
  }
  if (res.status >= 400) {
    const nlohmann::json body = nlohmann::json::parse(res.body, nullptr, false);
    if (body.is_object()) {
      if (auto it = body.find("err_code"); it != body.end() && it->is_string()) {
        e.Str("err_code", it->get<std::string>());
      }
      if (auto it = body.find("message"); it != body.end() && it->is_string()) {
        e.Str("reason", it->get<std::string>());
      }
    }
  }
  e.Int("latency_us", std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - tl_control_start)
                          .count());
  log.Event(LogLevel::kInfo, e);
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

SandboxServer::SandboxServer(const SandboxContext& ctx, ServerOptions options)
    : ctx_(ctx), options_(std::move(options)), api_(ctx_) {}

SandboxServer::~SandboxServer() { Stop(); }

std::string SandboxServer::base_url() const {
  std::string host = options_.host;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return (options_.tls ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

std::string SandboxServer::LinkBase(const std::string& local_ip, int local_port) const {
  std::string plain = SocketBaseUrl(local_ip, local_port);  // "http://ip:port"
  if (!options_.tls) return plain;
  if (options_.link_host.empty()) return "https" + plain.substr(4);
  return "https://" + options_.link_host +
         (local_port == 443 ? std::string() : ":" + std::to_string(local_port));
}

StatusOr<int> SandboxServer::Start() {
  FrontOptions front;
  // Room above max_body_bytes so that ApiService answers BODY_TOO_LARGE as a
  // VksPay FAIL; far larger bodies get the front's 413.
  front.limits.max_body_bytes =
      std::max<size_t>(ctx_.config->settings.max_body_bytes * 4, 1 << 20);
  front.min_threads = static_cast<size_t>(std::max(options_.threads, 1));
  front.max_threads = static_cast<size_t>(std::max(options_.max_threads, options_.threads));
  front.head_timeout = std::chrono::milliseconds(options_.head_timeout_ms);
  front.body_timeout = std::chrono::milliseconds(options_.body_timeout_ms);
  front.idle_timeout = std::chrono::milliseconds(options_.idle_timeout_ms);
  front.log = options_.refusal_log;
  front.tls = options_.tls;
  http_ = std::make_unique<FrontedServer>(std::move(front));
  FrontedServer& http = *http_;
  // Without TCP_NODELAY, Nagle plus delayed ACKs add ~40 ms to every
  // keep-alive request (../shared/httplib-0.11-notes.md); the front sets it
  // on every connection, this on the listening socket.
  http.set_tcp_nodelay(true);
  // Only for the Keep-Alive header cpp-httplib writes: the front closes idle
  // connections itself, after idle_timeout, and never by count.
  http.set_keep_alive_max_count(100000);
  http.set_keep_alive_timeout(std::max<time_t>(1, options_.idle_timeout_ms / 1000));
  http.set_write_timeout(10);
  http.set_payload_max_length(front.limits.max_body_bytes);
  // SO_REUSEADDR only: the default SO_REUSEPORT lets a second server bind the
  // same port silently. Also remember the fd to raise the backlog.
  http.set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_.store(sock);
  });

  http.Post("/api", [this](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    ApiRequest api_req;
    api_req.content_type = req.get_header_value("Content-Type");
    api_req.body = req.body;
    api_req.base_url = req.local_port > 0 ? LinkBase(req.local_addr, req.local_port) : base_url();
    api_req.fault_header = req.get_header_value(kFaultHeader);
    ApiResponse out = api_.Handle(api_req);
    res.status = out.http_status;
    if (!out.injected.empty()) res.set_header("X-Sandbox-Fault-Injected", out.injected);
    if (out.close_connection) {
      // api.close: httplib sends the head, then the provider fails before any
      // body byte, and httplib closes the connection; the client sees the
      // connection end without a complete answer (a transport error).
      res.set_content_provider(
          1, "application/json; charset=utf-8",
          [](size_t, size_t, httplib::DataSink&) { return false; });
    } else {
      res.set_content(out.body, out.content_type);
    }
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    if (ctx_.telemetry != nullptr) ctx_.telemetry->api.Record(out.method, out.err_code, us);
    if (options_.logger != nullptr) LogApi(out, us);
  });
  ControlOptions control{options_.control_token, kVersion};
  RegisterControlRoutes(http, ctx_, control);
  RegisterNotifyRoutes(http, ctx_, control);
  RegisterStatsRoutes(http, ctx_, control);
  MetricsSources metrics;
  metrics.replay_cache_entries = [this] { return api_.replay_cache_size(); };
  metrics.replay_cache_bytes = [this] { return api_.replay_cache_bytes(); };
  RegisterMetricsRoute(http, ctx_, control, std::move(metrics));
  RegisterCashierRoutes(http, ctx_, [this](const httplib::Request& req) {
    return LinkBase(req.local_addr, req.local_port);
  });
  // Unknown routes and wrong methods: a JSON answer naming POST /api
  // instead of httplib's empty 404, and a warning in the log.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (res.status != 404 || !res.body.empty() || res.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;  // a handler's own answer
        }
        AnswerUnrouted(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  // Control calls: timed from routing, logged once answered.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    tl_unrouted = false;
    if (IsControlPath(req.path)) tl_control_start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const bool unrouted = std::exchange(tl_unrouted, false);  // logged by AnswerUnrouted
    if (!unrouted && options_.logger != nullptr && IsControlPath(req.path)) LogControl(req, res);
  });
  RegisterDashboardRoutes(http, ctx_, DashboardOptions{options_.control_token});
  // A browser gets a page linking to the dashboard; curl and scripts the
  // one line they always got, now naming the dashboard too.
  http.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    const std::string line = "vkspay-sandbox " + std::string(kVersion) +
                             ": POST /api speaks VksPay v2.0; /_sandbox/ is the control API; "
                             "/_sandbox/ui/ is the dashboard; see README.md\n";
    if (req.get_header_value("Accept").find("text/html") != std::string::npos) {
      res.set_content("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<title>vkspay-sandbox</title></head><body><p>vkspay-sandbox " +
                          std::string(kVersion) +
                          ": POST /api speaks VksPay v2.0; /_sandbox/ is the control API.</p>"
                          "<p><a id=\"dashboard-link\" href=\"/_sandbox/ui/\">控制台 / "
                          "dashboard: /_sandbox/ui/</a></p></body></html>\n",
                      "text/html; charset=utf-8");
      return;
    }
    res.set_content(line, "text/plain; charset=utf-8");
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(R"({"return_code":"FAIL","return_msg":"系统错误","err_code":"SYSTEM_ERROR"})",
                        "application/json; charset=utf-8");
      });

  int port = options_.port == 0 ? http.bind_to_any_port(options_.host)
                                : (http.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port <= 0) {
    return Status(ErrorCode::kInternal, "cannot listen on " + options_.host + ":" +
                                            std::to_string(options_.port) +
                                            " (address in use or not available)");
  }
  port_ = port;
  // httplib listens with a backlog of 5; bursts of new connections then see
  // dropped SYNs and 1 s stalls. Listening again only raises the backlog.
  if (int fd = listen_fd_.load(); fd >= 0) ::listen(fd, 1024);
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void SandboxServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  if (http_) http_->Shutdown();
}

FrontStats SandboxServer::front_stats() const { return http_ ? http_->stats() : FrontStats{}; }

}  // namespace vkspay::sandbox
