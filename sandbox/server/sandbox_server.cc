#include "sandbox/server/sandbox_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>

#include "sandbox/cashier/cashier_routes.h"
#include "sandbox/control/control_routes.h"
#include "sandbox/control/notify_routes.h"
#include "sandbox/control/stats_routes.h"
#include "sandbox/faults/directive.h"
#include "sandbox/telemetry/telemetry.h"

namespace vkspay::sandbox {

namespace {
constexpr char kVersion[] = "0.1.0";
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
    if (ctx_.telemetry != nullptr) ctx_.telemetry->api.Record(out.method, us, out.err_code.empty());
    // A note is for the operator (a misconfiguration): logged even when the
    // per-request log is off.
    if (!out.log_note.empty() && options_.refusal_log) {
      options_.refusal_log("api " + (out.method.empty() ? "-" : out.method) + " merchant=" +
                           (out.merchantno.empty() ? "-" : out.merchantno) + " FAIL " +
                           out.err_code + ": " + out.log_note);
    }
    if (options_.log) {
      options_.log("api " + (out.method.empty() ? "-" : out.method) + " merchant=" +
                   (out.merchantno.empty() ? "-" : out.merchantno) + " " +
                   (out.err_code.empty() ? "SUCCESS" : "FAIL " + out.err_code) + " " +
                   (out.injected.empty() ? "" : "HTTP " + std::to_string(out.http_status) +
                                                    " fault=" + out.injected + " ") +
                   std::to_string(us) + "us");
    }
  });
  ControlOptions control{options_.control_token, kVersion};
  RegisterControlRoutes(http, ctx_, control);
  RegisterNotifyRoutes(http, ctx_, control);
  RegisterStatsRoutes(http, ctx_, control);
  RegisterCashierRoutes(http, ctx_, [this](const httplib::Request& req) {
    return LinkBase(req.local_addr, req.local_port);
  });
  http.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "vkspay-sandbox " + std::string(kVersion) +
            ": POST /api speaks VksPay v2.0; /_sandbox/ is the control API; see README.md\n",
        "text/plain; charset=utf-8");
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
