// The sandbox HTTP server: wires the API, the cashier page, the control
// API and GET /metrics onto one cpp-httplib router behind the HTTP front (http_front.h:
// framing limits, deadlines, pipelining, an elastic pool), tuned as
// docs/architecture.md explains (TCP_NODELAY, backlog 1024, SO_REUSEADDR
// only). Used by main and by every integration test (on port 0).
// Any other path, or a known path with the wrong method, is answered with
// a JSON 404 or 405 naming POST /api, and logged.
//
// Start() and Stop() are called from one thread; handlers run on the pool.
#ifndef VKSPAY_SANDBOX_SERVER_SANDBOX_SERVER_H_
#define VKSPAY_SANDBOX_SERVER_SANDBOX_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "sandbox/api/api_service.h"
#include "sandbox/core/context.h"
#include "sandbox/server/http_front.h"

namespace vkspay::sandbox {

class FrontedServer;  // http_front.h
class Logger;         // sandbox/telemetry/log.h

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  // HTTP worker threads: `threads` always, more on demand up to
  // `max_threads` (raised to `threads` if below). Idle and slow clients hold
  // no thread (http_front.h).
  int threads = 16;
  int max_threads = 256;
  // A request head must arrive within this many ms of its first byte, its
  // body within body_timeout_ms of its head: else 408 and close.
  int64_t head_timeout_ms = 5000;
  int64_t body_timeout_ms = 10000;
  // An idle keep-alive connection is closed after this many ms.
  int64_t idle_timeout_ms = 60000;
  std::string control_token;  // see ControlOptions
  // The request log (docs/observability.md): one event per API request
  // (info), per control call that changes state or fails (info), per
  // unknown route or wrong method (warn), per operator note (warn); null:
  // none. Must outlive the server.
  const Logger* logger = nullptr;
  // Receives one line per request the HTTP front refuses (status, peer,
  // reason); empty: not logged.
  std::function<void(const std::string&)> refusal_log;
  // Serve HTTPS with this context (sandbox/tls/tls_files.h) through the same
  // front; null: plain HTTP.
  std::shared_ptr<SSL_CTX> tls;
  // With `tls`: the host name payment links use when settings.public_base_url
  // is empty ("https://<link_host>[:port]", the port left out for 443);
  // empty: the address the client reached, as for plain HTTP.
  std::string link_host;
};

class SandboxServer {
 public:
  SandboxServer(const SandboxContext& ctx, ServerOptions options);
  ~SandboxServer();
  SandboxServer(const SandboxServer&) = delete;
  SandboxServer& operator=(const SandboxServer&) = delete;

  // Binds and starts serving on a background thread; returns once the
  // server accepts connections. Errors: kInternal naming host and port.
  StatusOr<int> Start();
  // Stops accepting, finishes in-flight requests, closes every connection,
  // joins. Idempotent.
  void Stop();
  // What the HTTP front holds now (connections, threads, refusals).
  FrontStats front_stats() const;

  int port() const { return port_; }
  // "http://127.0.0.1:8080"; with TLS "https://127.0.0.1:8443" (the
  // address, not link_host).
  std::string base_url() const;
  // The base of payment links for a request that reached local_ip:local_port
  // when settings.public_base_url is empty: SocketBaseUrl for plain HTTP;
  // with TLS https://, and link_host instead of the address when set.
  std::string LinkBase(const std::string& local_ip, int local_port) const;

 private:
  // One line per API request (and a warning for an operator note).
  void LogApi(const ApiResponse& out, int64_t latency_us) const;
  // The JSON 404/405 for a request no route took, logged.
  void AnswerUnrouted(const httplib::Request& req, httplib::Response& res) const;
  // One line per control call that changes state or fails.
  void LogControl(const httplib::Request& req, const httplib::Response& res) const;

  SandboxContext ctx_;
  ServerOptions options_;
  ApiService api_;
  std::unique_ptr<FrontedServer> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> listen_fd_{-1};
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_SERVER_SANDBOX_SERVER_H_
