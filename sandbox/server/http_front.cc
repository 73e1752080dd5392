#include "sandbox/server/http_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace vkspay::sandbox {

using SteadyClock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// ElasticThreadPool

ElasticThreadPool::ElasticThreadPool(size_t min, size_t max, std::chrono::milliseconds grow_after,
                                     std::chrono::milliseconds idle)
    : min_(std::max<size_t>(min, 1)),
      max_(std::max(max, std::max<size_t>(min, 1))),
      grow_after_(grow_after),
      idle_(idle),
      wanted_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ElasticThreadPool::~ElasticThreadPool() {
  Shutdown();
  if (wanted_fd_ >= 0) ::close(wanted_fd_);
}

bool ElasticThreadPool::TryEnqueue(std::function<void()> fn) {
  const auto now = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) return false;
  jobs_.emplace_back(now, std::move(fn));
  if (jobs_.size() > idle_threads_ && !wanted_ && wanted_fd_ >= 0) {
    const uint64_t one = 1;
    wanted_ = ::write(wanted_fd_, &one, sizeof one) == static_cast<ssize_t>(sizeof one);
  }
  GrowLocked(now);
  lock.unlock();
  cv_.notify_one();
  return true;
}

void ElasticThreadPool::Grow() {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (!shutdown_) GrowLocked(now);
}

bool ElasticThreadPool::Waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !jobs_.empty();
}

void ElasticThreadPool::GrowLocked(Clock::time_point now) {
  if (threads_ >= max_) return;
  const bool stuck = !jobs_.empty() && jobs_.size() > idle_threads_ &&
                     now - jobs_.front().first >= grow_after_;
  if (threads_ < min_ || stuck) {
    ++threads_;
    peak_ = std::max(peak_, threads_);
    std::thread([this] { Work(); }).detach();
  }
}

void ElasticThreadPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_threads_;
    const bool woke = cv_.wait_for(lock, idle_, [&] { return !jobs_.empty() || shutdown_; });
    --idle_threads_;
    if (jobs_.empty()) {
      if (shutdown_ || (!woke && threads_ > min_)) break;
      continue;
    }
    std::function<void()> fn = std::move(jobs_.front().second);
    jobs_.pop_front();
    if (jobs_.empty() && wanted_) {
      uint64_t count = 0;
      (void)!::read(wanted_fd_, &count, sizeof count);
      wanted_ = false;
    }
    lock.unlock();
    fn();
    fn = nullptr;  // destroy what the job captured before taking the lock
    lock.lock();
  }
  --threads_;
  // Last touch of the pool: Shutdown() may destroy it once threads_ is 0.
  exited_.notify_all();
}

void ElasticThreadPool::Shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
  exited_.wait(lock, [&] { return threads_ == 0; });
}

size_t ElasticThreadPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_;
}

size_t ElasticThreadPool::peak_threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

// ---------------------------------------------------------------------------
// FrontedServer

namespace {

// httplib's task queue for the accept loop: forwards to the front's pool,
// which outlives it. A job refused after shutdown is a connection accepted
// while stopping: closed at once.
class PoolQueue final : public httplib::TaskQueue {
 public:
  explicit PoolQueue(ElasticThreadPool* pool) : pool_(pool) {}
  void enqueue(std::function<void()> fn) override { pool_->TryEnqueue(std::move(fn)); }
  void shutdown() override { pool_->Shutdown(); }

 private:
  ElasticThreadPool* pool_;
};

std::string IpOf(const sockaddr_storage& ss, int* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  }
  return buf;
}

constexpr auto kScanEvery = std::chrono::milliseconds(100);
// After a refusal the front stops writing and reads (and drops) what the
// client still sends for this long, so the client reads the answer instead
// of a reset (nginx's lingering close).
constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kLingerMaxBytes = 64 << 20;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kWriteBuffer = 64 * 1024;

}  // namespace

struct FrontedServer::Conn {
  int fd = -1;
  std::string in;  // received, not yet consumed
  std::string peer_ip, local_ip;
  int peer_port = 0, local_port = 0;
  bool busy = false;  // guarded by mu_: a worker owns the connection
  SteadyClock::time_point deadline;  // guarded by mu_ while parked
  bool deadline_is_idle = true;      // guarded by mu_: an expired idle deadline closes quietly
  // Per request, touched only by the worker that owns the connection.
  bool have_head = false;
  FramedHead head;
  SteadyClock::time_point head_started{};
  SteadyClock::time_point head_done{};
  bool continue_sent = false;
  // Refused: the answer is written; drop input until EOF or the deadline.
  bool lingering = false;
  size_t lingered = 0;
  // HTTPS only (FrontOptions::tls): owned, freed by Release.
  SSL* ssl = nullptr;
  bool tls_checked = false;  // the first byte was a TLS handshake record
  bool tls_ready = false;    // the handshake is done
  bool tls_broken = false;   // a fatal TLS error: no close_notify
  bool want_write = false;   // OpenSSL waits for the socket to take bytes
  SteadyClock::time_point accepted{};
};

namespace {

// One read from c: > 0 bytes; -1 with errno EAGAIN when nothing is there
// yet (for TLS also when OpenSSL must write first: c.want_write); 0 at the
// end of the stream or on an error. Plain connections (and lingering ones,
// whose bytes are dropped unread) read the socket.
ssize_t ReadSome(FrontedServer::Conn& c, char* buf, size_t size) {
  if (c.ssl == nullptr || c.lingering) return ::recv(c.fd, buf, size, 0);
  ERR_clear_error();
  size_t got = 0;
  const int r = SSL_read_ex(c.ssl, buf, size, &got);
  if (r == 1) return static_cast<ssize_t>(got);
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      c.want_write = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return 0;
    default:
      c.tls_broken = true;
      ERR_clear_error();
      return 0;
  }
}

// Sends [data, data + size) by `deadline`, waiting for the socket as
// needed (TLS: for whichever direction SSL_write wants). False when it did
// not all go.
bool SendAll(const FrontedServer::Conn& c, const char* data, size_t size,
             SteadyClock::time_point deadline) {
  size_t off = 0;
  while (off < size) {
    short wait_for = POLLOUT;
    if (c.ssl != nullptr && c.tls_ready) {
      ERR_clear_error();
      size_t sent = 0;
      const int r = SSL_write_ex(c.ssl, data + off, size - off, &sent);
      if (r == 1) {
        off += sent;
        continue;
      }
      const int e = SSL_get_error(c.ssl, r);
      if (e == SSL_ERROR_WANT_READ) {
        wait_for = POLLIN;
      } else if (e != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
      }
    } else {
      const ssize_t n = ::send(c.fd, data + off, size - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return false;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd p{c.fd, wait_for, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  }
  return true;
}

}  // namespace

// The stream cpp-httplib reads one framed request from and writes its answer
// to: reads come from `request`, writes are buffered and sent with a
// deadline.
class FrontStream final : public httplib::Stream {
 public:
  FrontStream(const FrontedServer::Conn& c, std::string request, std::chrono::milliseconds write_timeout)
      : c_(c), request_(std::move(request)), write_timeout_(write_timeout) {}

  bool is_readable() const override { return pos_ < request_.size(); }
  bool is_writable() const override { return !failed_; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, request_.size() - pos_);
    std::copy_n(request_.data() + pos_, n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    out_.append(ptr, size);
    if (out_.size() >= kWriteBuffer && !Flush()) return -1;
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.peer_ip;
    port = c_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

  // Sends what is buffered, waiting at most write_timeout for the client to
  // take it. False (and every later write fails) when it did not.
  bool Flush() {
    if (!failed_ && !out_.empty() &&
        !SendAll(c_, out_.data(), out_.size(), SteadyClock::now() + write_timeout_)) {
      failed_ = true;
    }
    out_.clear();
    return !failed_;
  }

 private:
  const FrontedServer::Conn& c_;
  std::string request_;
  size_t pos_ = 0;
  std::string out_;
  bool failed_ = false;
  std::chrono::milliseconds write_timeout_;
};

FrontedServer::FrontedServer(FrontOptions options)
    : options_(std::move(options)), pool_(options_.min_threads, options_.max_threads) {
  // Every connection is a file descriptor: take the hard limit (as nginx's
  // worker_rlimit_nofile does), and keep max_connections below it.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
      ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 256) {
      options_.max_connections =
          std::min<size_t>(options_.max_connections, static_cast<size_t>(rl.rlim_cur) - 128);
    }
  }
  new_task_queue = [this] { return new PoolQueue(&pool_); };
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  reactor_ = std::thread([this] { ReactorLoop(); });
}

FrontedServer::~FrontedServer() {
  Shutdown();
  pool_.Shutdown();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void FrontedServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (swept_) return;
    stopping_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
  if (reactor_.joinable()) reactor_.join();
  // Workers still serving close their connections themselves (stopping_,
  // swept_).
  std::vector<std::shared_ptr<Conn>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    swept_ = true;
    for (auto& [fd, c] : conns_) {
      if (!c->busy) {
        c->busy = true;
        idle.push_back(c);
      }
    }
  }
  for (auto& c : idle) Close(c);
}

FrontStats FrontedServer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  FrontStats s = counters_;
  s.connections = conns_.size();
  s.parked = 0;
  for (const auto& [fd, c] : conns_) s.parked += c->busy ? 0 : 1;
  s.threads = pool_.threads();
  s.peak_threads = pool_.peak_threads();
  return s;
}

bool FrontedServer::process_and_close_socket(socket_t sock) {
  auto c = std::make_shared<Conn>();
  c->fd = sock;
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  int yes = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    c->peer_ip = IpOf(ss, &c->peer_port);
  }
  len = sizeof ss;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    c->local_ip = IpOf(ss, &c->local_port);
  }
  c->busy = true;
  bool full = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    full = stopping_ || conns_.size() >= options_.max_connections;
    if (!full) {
      conns_[sock] = c;
      epoll_event ev{};
      ev.data.fd = sock;
      ev.events = 0;  // armed by Park
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sock, &ev);
    }
  }
  if (full) {
    SendNow(*c,
            RefusalResponse(503, "the sandbox holds " + std::to_string(options_.max_connections) +
                                     " connections, its limit"));
    if (options_.log) {
      options_.log("http refused 503 " + c->peer_ip + ":" + std::to_string(c->peer_port) +
                   ": connection limit " + std::to_string(options_.max_connections));
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return true;
  }
  if (options_.tls) {
    c->accepted = SteadyClock::now();
    c->ssl = SSL_new(options_.tls.get());
    if (c->ssl == nullptr || SSL_set_fd(c->ssl, sock) != 1) {
      ERR_clear_error();
      Close(c);
      return true;
    }
    SSL_set_accept_state(c->ssl);
  }
  Serve(std::move(c));
  return true;
}

bool FrontedServer::SendNow(const Conn& c, const std::string& bytes) {
  return SendAll(c, bytes.data(), bytes.size(), SteadyClock::now());
}

bool FrontedServer::Handshake(const std::shared_ptr<Conn>& c) {
  if (!c->tls_checked) {
    // A TLS connection opens with a handshake record (content type 22). A
    // letter is a plain HTTP request line: say so in plain text.
    unsigned char first = 0;
    const ssize_t n = ::recv(c->fd, &first, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      Park(c);
      return false;
    }
    if (n <= 0) {
      Close(c);
      return false;
    }
    c->tls_checked = true;
    if (first != 0x16) {
      Refuse(c, 400,
             "this port speaks HTTPS: the request arrived as plain HTTP; use an https:// URL");
      return false;
    }
  }
  c->want_write = false;
  ERR_clear_error();
  const int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->tls_ready = true;
    return true;
  }
  const int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    c->want_write = e == SSL_ERROR_WANT_WRITE;
    Park(c);
    return false;
  }
  // The client gave up (an unknown CA, a name mismatch: its alert says
  // which) or sent something that is not TLS.
  std::string why;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    why += why.empty() ? buf : std::string("; ") + buf;
  }
  if (why.empty()) why = "the connection closed during the handshake";
  c->tls_broken = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.tls_failed;
  }
  if (options_.log) {
    options_.log("https handshake failed " + c->peer_ip + ":" + std::to_string(c->peer_port) +
                 ": " + why);
  }
  Close(c);
  return false;
}

void FrontedServer::Release(Conn& c) {
  if (c.ssl != nullptr) {
    if (c.tls_ready && !c.tls_broken && !c.lingering) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);  // close_notify; the client's answer is not awaited
    }
    ERR_clear_error();
    SSL_free(c.ssl);
    c.ssl = nullptr;
  }
  ::shutdown(c.fd, SHUT_RDWR);
  ::close(c.fd);
}

void FrontedServer::Serve(std::shared_ptr<Conn> c) {
  const FramingLimits& limits = options_.limits;
  // Past this many buffered bytes the front stops reading until it has
  // served what it holds (a head and a body at their limits, plus room).
  const size_t cap = limits.max_head_bytes + limits.max_body_bytes + kReadChunk;
  if (c->ssl != nullptr && !c->tls_ready && !c->lingering && !Handshake(c)) return;
  c->want_write = false;
  bool eof = false;
  bool full = false;  // the buffer is at `cap` and nothing in it could be served
  while (true) {
    full = false;
    while (!eof) {
      if (c->in.size() >= cap && !c->lingering) {
        full = true;
        break;
      }
      char buf[kReadChunk];
      const ssize_t n = ReadSome(*c, buf, sizeof buf);
      if (n > 0) {
        if (c->lingering) {
          c->lingered += static_cast<size_t>(n);
          if (c->lingered > kLingerMaxBytes) eof = true;
        } else {
          c->in.append(buf, static_cast<size_t>(n));
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // closed by the client, or reset
    }
    if (c->lingering) {
      if (eof) return Close(c);
      return Park(c);
    }

    int served = 0;
    while (!c->in.empty()) {
      const auto now = SteadyClock::now();
      if (c->head_started == SteadyClock::time_point{}) c->head_started = now;
      if (!c->have_head) {
        FramingVerdict v = FrameHead(c->in, limits, &c->head);
        if (v.result == Framing::kRefused) return Refuse(c, v.status, v.reason);
        if (v.result == Framing::kNeedMore) break;
        c->have_head = true;
        c->head_done = now;
      }
      std::string body;
      size_t consumed = 0;
      bool complete = false;
      switch (c->head.framing) {
        case BodyFraming::kNone:
          complete = true;
          consumed = c->head.head_bytes;
          break;
        case BodyFraming::kLength:
          if (c->in.size() - c->head.head_bytes >= c->head.content_length) {
            complete = true;
            consumed = c->head.head_bytes + c->head.content_length;
            body.assign(c->in, c->head.head_bytes, c->head.content_length);
          }
          break;
        case BodyFraming::kChunked: {
          size_t used = 0;
          FramingVerdict v = DecodeChunked(std::string_view(c->in).substr(c->head.head_bytes),
                                           limits, &used, &body);
          if (v.result == Framing::kRefused) return Refuse(c, v.status, v.reason);
          if (v.result == Framing::kComplete) {
            complete = true;
            consumed = c->head.head_bytes + used;
          }
          break;
        }
      }
      if (!complete) {
        if (c->head.expect_continue && !c->continue_sent) {
          SendNow(*c, "HTTP/1.1 100 Continue\r\n\r\n");
          c->continue_sent = true;
        }
        break;
      }
      std::string request = std::move(c->head.rewritten);
      if (c->head.framing == BodyFraming::kChunked) {
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      }
      request += "\r\n";
      request += body;
      c->in.erase(0, consumed);
      c->have_head = false;
      c->continue_sent = false;
      c->head_started = c->in.empty() ? SteadyClock::time_point{} : now;
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping = stopping_;
        ++counters_.requests;
        if (served > 0) ++counters_.pipelined;
      }
      ++served;
      FrontStream strm(*c, std::move(request), options_.write_timeout);
      bool connection_closed = false;
      const bool ok = process_request(strm, /*close_connection=*/stopping, connection_closed,
                                      nullptr);
      const bool flushed = strm.Flush();
      if (!ok || !flushed || connection_closed || stopping) return Close(c);
    }
    if (eof) return Close(c);  // an incomplete request is abandoned with its client
    if (full && served > 0) continue;
    if (full) {
      // Nothing servable in `cap` bytes: only chunked framing can do that
      // (a head or a Content-Length body is refused or complete by then).
      // Reading no more, the connection would be served again at once for
      // as long as the body deadline (a core spinning); refuse now.
      return Refuse(c, 413,
                    "the chunked body's framing (chunk sizes and extensions) took more than " +
                        std::to_string(cap) + " bytes before the body ended");
    }
    if (served > 0 && c->in.empty() && NextRequestArrives(*c)) continue;
    break;
  }
  if (c->ssl != nullptr && !c->lingering && !full && SSL_pending(c->ssl) > 0) {
    // Bytes OpenSSL already decrypted are invisible to epoll: serve again.
    // (Not when the buffer is full with nothing servable: that waits for
    // its deadline parked, instead of spinning here.)
    if (!pool_.TryEnqueue([this, c] { Serve(c); })) Close(c);
    return;
  }
  Park(c);
}

bool FrontedServer::NextRequestArrives(const Conn& c) {
  if (c.lingering || options_.stay_on_connection.count() <= 0 || pool_.wanted_fd() < 0) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
  }
  // One wait, for the client's bytes or for a request queued with no idle
  // worker (then this worker goes to take it). Timer slices instead cost a
  // wake-up each on a machine already short of CPU.
  pollfd p[2] = {};
  p[0].fd = c.fd;
  p[0].events = POLLIN | POLLRDHUP;
  p[1].fd = pool_.wanted_fd();
  p[1].events = POLLIN;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stay_on_connection);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns.count() % 1'000'000'000);
  const int r = ::ppoll(p, 2, &ts, nullptr);  // EINTR: a shorter stay, harmless
  return r > 0 && p[1].revents == 0 && p[0].revents != 0;
}

void FrontedServer::Park(const std::shared_ptr<Conn>& c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (swept_) {
    // Shutdown() already swept the idle connections; nothing will wake this.
    conns_.erase(c->fd);
    Release(*c);
    return;
  }
  const auto now = SteadyClock::now();
  if (c->lingering) {
    c->deadline_is_idle = true;  // the refusal is written: close quietly
  } else if (c->ssl != nullptr && !c->tls_ready) {
    // The handshake counts against the head timeout, from the accept.
    c->deadline = c->accepted + options_.head_timeout;
    c->deadline_is_idle = false;
  } else if (c->in.empty()) {
    c->deadline = now + options_.idle_timeout;
    c->deadline_is_idle = true;
  } else {
    c->deadline = c->have_head ? c->head_done + options_.body_timeout
                               : c->head_started + options_.head_timeout;
    c->deadline_is_idle = false;
  }
  c->busy = false;
  epoll_event ev{};
  ev.data.fd = c->fd;
  ev.events = (c->want_write ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP | EPOLLONESHOT;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void FrontedServer::Close(const std::shared_ptr<Conn>& c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = conns_.find(c->fd);
    if (it != conns_.end() && it->second == c) conns_.erase(it);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  }
  Release(*c);
}

void FrontedServer::Refuse(const std::shared_ptr<Conn>& c, int status, const std::string& reason) {
  SendNow(*c, RefusalResponse(status, reason));
  if (c->ssl != nullptr && c->tls_ready && !c->tls_broken) {
    ERR_clear_error();
    SSL_shutdown(c->ssl);  // close_notify after the answer
    ERR_clear_error();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.refused;
    if (status == 408) ++counters_.timed_out;
  }
  if (options_.log) {
    options_.log("http refused " + std::to_string(status) + " " + c->peer_ip + ":" +
                 std::to_string(c->peer_port) + ": " + reason);
  }
  // Stop writing; read and drop what the client still sends for a while so
  // that it sees the answer, not a reset.
  ::shutdown(c->fd, SHUT_WR);
  c->in.clear();
  c->lingering = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    c->deadline = SteadyClock::now() + kLinger;
  }
  Park(c);
}

void FrontedServer::ReactorLoop() {
  std::vector<epoll_event> events(256);
  auto last_scan = SteadyClock::now();
  while (true) {
    // While jobs wait, wake often enough to grow the pool for them.
    const int wait_ms = pool_.Waiting() ? 1 : static_cast<int>(kScanEvery.count());
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    pool_.Grow();
    std::vector<std::shared_ptr<Conn>> ready;
    bool stop = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == wake_fd_) {
          stop = true;
          continue;
        }
        auto it = conns_.find(events[i].data.fd);
        if (it == conns_.end() || it->second->busy) continue;
        it->second->busy = true;
        ready.push_back(it->second);
      }
      stop = stop || stopping_;
    }
    for (auto& c : ready) {
      if (stop || !pool_.TryEnqueue([this, c] { Serve(c); })) Close(c);
    }
    if (stop) return;

    const auto now = SteadyClock::now();
    if (now - last_scan < kScanEvery) continue;
    last_scan = now;
    std::vector<std::shared_ptr<Conn>> quiet, late;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [fd, c] : conns_) {
        if (c->busy || now < c->deadline) continue;
        c->busy = true;
        (c->deadline_is_idle ? quiet : late).push_back(c);
      }
    }
    for (auto& c : quiet) Close(c);
    for (auto& c : late) {
      if (c->ssl != nullptr && !c->tls_ready) {
        // No TLS session to answer 408 in: log and close.
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++counters_.tls_failed;
          ++counters_.timed_out;
        }
        if (options_.log) {
          options_.log("https handshake timed out " + c->peer_ip + ":" +
                       std::to_string(c->peer_port) + ": not finished within " +
                       std::to_string(options_.head_timeout.count()) + " ms of the connection");
        }
        Close(c);
        continue;
      }
      const bool head = !c->have_head;
      const auto limit = head ? options_.head_timeout : options_.body_timeout;
      Refuse(c, 408,
             std::string(head ? "the request head" : "the request body") +
                 " did not arrive within " + std::to_string(limit.count()) + " ms (" +
                 std::to_string(c->in.size()) + " bytes received)");
    }
  }
}

}  // namespace vkspay::sandbox
