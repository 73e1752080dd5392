// The sandbox's HTTP front: cpp-httplib's routing and handlers behind a
// connection layer that slow, idle, pipelining and hostile clients cannot
// take down (issue #13, docs/reliability.md#hostile-clients-and-secrets-13).
//
// cpp-httplib 0.11 gives each connection a pool thread for its whole life,
// reads heads without limits, inflates compressed bodies before it checks
// their size and drops pipelined requests. FrontedServer keeps its routing
// (handlers are registered on it as on any httplib::Server) and replaces the
// connection handling:
//
//   - One reactor thread (epoll) watches every connection that has no
//     complete request yet: idle keep-alive connections and clients still
//     sending a head or body cost a file descriptor and a buffer, no thread.
//   - When bytes arrive, a worker reads them and frames the request
//     (request_framing.h): head within `limits` (else 431/400/415/417/501/
//     505), body by Content-Length or dechunked, 100-continue answered; a
//     chunked body whose framing overflows the read buffer (head and body
//     limits plus 64 KiB) before it ends is 413.
//     Only a complete request is handed to cpp-httplib, through a stream
//     holding exactly its bytes, so nothing after it is lost: pipelined
//     requests are answered in order.
//   - A head must arrive within `head_timeout` of its first byte and a body
//     within `body_timeout` of its head (else 408 and close); a connection
//     idle for `idle_timeout` is closed. The reactor checks deadlines every
//     100 ms.
//   - Workers come from an elastic pool: `min_threads` always, more on
//     demand up to `max_threads` (only handlers hold them: long polls, slow
//     writes), shed after 30 s idle.
//   - After answering, a worker waits up to `stay_on_connection` for the
//     same client's next request, but only while no other request waits
//     for a worker: a busy keep-alive client is then served without the
//     reactor's two extra wake-ups per request, and an idle one is parked.
//
// Every refusal is logged (one line: status, peer, reason) and answered
// with Connection: close; none reaches a handler, so none changes state.
//
// HTTPS (issue #18): with `tls` set, every connection is a non-blocking
// OpenSSL SSL* driven by the same reactor and workers, so every limit above
// holds over TLS. The handshake counts against `head_timeout` from the
// accept (a client that never finishes it is closed without a thread held
// and counted in tls_failed); a first byte that is not a TLS handshake
// record is plain HTTP sent to the HTTPS port: answered 400 in plain text
// and closed. Reads go through SSL_read into the framing buffer; a
// connection with bytes already decrypted inside OpenSSL (SSL_pending) is
// served again instead of parked, since epoll cannot see them; writes go
// through SSL_write, waiting for whichever direction it wants; a closing
// connection sends close_notify. Plain connections take the same path
// with one pointer test per read or write.
//
// Thread safety: register handlers, set limits and bind before
// listen_after_bind(); stop() (httplib's) then Shutdown() from one thread.
#ifndef VKSPAY_SANDBOX_SERVER_HTTP_FRONT_H_
#define VKSPAY_SANDBOX_SERVER_HTTP_FRONT_H_

#include <httplib.h>
#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "sandbox/server/request_framing.h"

namespace vkspay::sandbox {

// A thread pool whose threads grow on demand: `min` always run; while a job
// has waited `grow_after` with no idle thread to take it, one more starts
// (up to `max`); a thread idle for `idle` exits while more than `min` run.
// A burst of short jobs is taken by the threads there are; only jobs stuck
// behind busy threads (long polls, slow handlers) grow the pool. Shutdown()
// runs what is queued, then joins every thread; TryEnqueue() refuses jobs
// from then on.
class ElasticThreadPool {
 public:
  ElasticThreadPool(size_t min, size_t max,
                    std::chrono::milliseconds grow_after = std::chrono::milliseconds(2),
                    std::chrono::milliseconds idle = std::chrono::seconds(30));
  ~ElasticThreadPool();  // Shutdown()
  ElasticThreadPool(const ElasticThreadPool&) = delete;
  ElasticThreadPool& operator=(const ElasticThreadPool&) = delete;

  // False after Shutdown() began: the job will not run.
  bool TryEnqueue(std::function<void()> fn);
  // Starts a thread if the oldest job has waited grow_after; the owner calls
  // it at least every grow_after while Waiting() (the reactor does).
  void Grow();
  bool Waiting() const;  // jobs are queued
  // An eventfd, readable while a job is queued that no idle thread was
  // there to take: a thread that waits on something else of its own
  // (FrontedServer's stay on a connection) polls it too, to come back.
  int wanted_fd() const { return wanted_fd_; }
  void Shutdown();

  size_t threads() const;       // running now
  size_t peak_threads() const;  // the most that ever ran at once

 private:
  using Clock = std::chrono::steady_clock;
  void Work();
  void GrowLocked(Clock::time_point now);  // requires mu_

  const size_t min_, max_;
  const std::chrono::milliseconds grow_after_, idle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;      // a job or shutdown
  std::condition_variable exited_;  // a thread left Work()
  // Guarded by mu_: jobs with the time they were queued.
  std::deque<std::pair<Clock::time_point, std::function<void()>>> jobs_;
  size_t threads_ = 0;       // guarded by mu_
  size_t idle_threads_ = 0;  // guarded by mu_
  size_t peak_ = 0;          // guarded by mu_
  const int wanted_fd_;
  bool wanted_ = false;  // guarded by mu_: wanted_fd_ holds a count
  bool shutdown_ = false;    // guarded by mu_
};

struct FrontOptions {
  FramingLimits limits;
  std::chrono::milliseconds head_timeout{5000};
  std::chrono::milliseconds body_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{10000};
  // How long a worker that answered a request waits for the next one on the
  // same connection while nothing else waits (0: park at once).
  std::chrono::microseconds stay_on_connection{2000};
  size_t min_threads = 16;
  size_t max_threads = 256;
  // Connections held at once (idle, reading or in a handler); one more is
  // answered 503 and closed. Raised RLIMIT_NOFILE permitting.
  size_t max_connections = 10000;
  // One line per refusal; empty: no log.
  std::function<void(const std::string&)> log;
  // Serve HTTPS with this context (configured; shared with the caller);
  // null: plain HTTP.
  std::shared_ptr<SSL_CTX> tls;
};

// Counters for /_sandbox/stats and the tests.
struct FrontStats {
  size_t connections = 0;     // open now
  size_t parked = 0;          // open and waiting in the reactor
  size_t threads = 0;         // pool threads running now
  size_t peak_threads = 0;
  uint64_t requests = 0;      // handed to handlers
  uint64_t pipelined = 0;     // of which arrived behind another request
  uint64_t refused = 0;       // answered by the front (4xx/5xx) and closed
  uint64_t timed_out = 0;     // of which 408
  uint64_t tls_failed = 0;    // TLS handshakes that failed or did not finish in head_timeout
};

class FrontedServer final : public httplib::Server {
 public:
  explicit FrontedServer(FrontOptions options);
  ~FrontedServer() override;

  // Stops the reactor and closes every connection it holds; call after
  // httplib's stop() and after listen_after_bind() returned. Idempotent.
  void Shutdown();

  FrontStats stats() const;

  struct Conn;  // one connection's state (http_front.cc)

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Reads what `c` has, frames and serves every complete request in it, then
  // parks it in the reactor or closes it. Runs on a pool thread that owns c.
  void Serve(std::shared_ptr<Conn> c);
  // Hands `c` back to the reactor (or closes it when stopping).
  void Park(const std::shared_ptr<Conn>& c);
  // True when the client's next bytes arrived within stay_on_connection
  // while no other request waited for a worker.
  bool NextRequestArrives(const Conn& c);
  void Close(const std::shared_ptr<Conn>& c);
  void Refuse(const std::shared_ptr<Conn>& c, int status, const std::string& reason);
  // Sends `bytes` without waiting (refusals are small); false if not all went.
  static bool SendNow(const Conn& c, const std::string& bytes);
  // Drives c's TLS handshake (c owned by the caller). True when it is done;
  // false when it must wait (parked) or failed (closed or refused).
  bool Handshake(const std::shared_ptr<Conn>& c);
  // Closes c's socket (and ends its TLS session); c owned by the caller.
  static void Release(Conn& c);
  void ReactorLoop();

  FrontOptions options_;
  ElasticThreadPool pool_;  // httplib's task queue forwards to it
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop
  std::thread reactor_;
  mutable std::mutex mu_;
  std::unordered_map<int, std::shared_ptr<Conn>> conns_;  // guarded by mu_, by fd
  bool stopping_ = false;                                 // guarded by mu_
  bool swept_ = false;  // guarded by mu_: Shutdown() closed the parked connections
  FrontStats counters_;                                   // guarded by mu_ (not threads)
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_SERVER_HTTP_FRONT_H_
