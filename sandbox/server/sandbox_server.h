// The sandbox HTTP server: wires the API, the cashier page and the control
// API onto one cpp-httplib server, tuned as docs/architecture.md explains
// (TCP_NODELAY, long keep-alive, backlog 1024, SO_REUSEADDR only, a sized
// thread pool). Used by main and by every integration test (on port 0).
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

namespace httplib {
class Server;
}

namespace vkspay::sandbox {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  int threads = 16;
  std::string control_token;  // see ControlOptions
  // Receives one line per API request; empty: no request log.
  std::function<void(const std::string&)> log;
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
  // Stops accepting, finishes in-flight requests, joins. Idempotent.
  void Stop();

  int port() const { return port_; }
  // "http://127.0.0.1:8080".
  std::string base_url() const;

 private:
  SandboxContext ctx_;
  ServerOptions options_;
  ApiService api_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> listen_fd_{-1};
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_SERVER_SANDBOX_SERVER_H_
