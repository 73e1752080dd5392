#include "sandbox/notify/http_sender.h"

#include <httplib.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace vkspay::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using ClientPtr = std::shared_ptr<httplib::ClientImpl>;

constexpr size_t kMaxIdlePerTarget = 64;  // >= the per-host limit's cap
constexpr size_t kMaxIdleTotal = 256;
// Servers close idle keep-alive connections after a few seconds (cpp-httplib:
// 5 s); a client idle longer is dropped rather than probed.
constexpr auto kIdleTtl = std::chrono::seconds(30);
constexpr auto kSweepInterval = std::chrono::seconds(5);

// Bounds the whole attempt. cpp-httplib 0.11.4 has per-read timeouts only, so
// a peer trickling header bytes would hold a worker forever; the only way to
// interrupt a request in flight is ClientImpl::stop() from another thread,
// which shuts the socket down and makes the blocked read fail.
//
// Thread-safe. One thread per sender, idle unless a deadline is pending.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  uint64_t Arm(ClientPtr client, Clock::time_point deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = next_id_++;
    entries_.emplace(id, Entry{std::move(client), deadline});
    cv_.notify_all();
    return id;
  }

  // Returns whether the deadline fired. Afterwards the watchdog no longer
  // touches the client (it waits for a stop() in progress to finish), so the
  // client may be reused by another thread.
  bool Disarm(uint64_t id) {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    done_cv_.wait(lock, [&] { return !it->second.stopping; });
    bool fired = it->second.fired;
    entries_.erase(it);
    return fired;
  }

 private:
  struct Entry {
    ClientPtr client;
    Clock::time_point deadline;
    bool fired = false;
    bool stopping = false;
  };

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      auto next = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.fired) continue;
        if (next == entries_.end() || it->second.deadline < next->second.deadline) next = it;
      }
      if (next == entries_.end()) {
        cv_.wait(lock);
        continue;
      }
      if (Clock::now() < next->second.deadline) {
        const Clock::time_point when = next->second.deadline;  // the entry may go
        cv_.wait_until(lock, when);
        continue;
      }
      next->second.fired = true;
      next->second.stopping = true;
      ClientPtr client = next->second.client;
      // stop() may wait for a connect in progress (it holds the client's
      // socket mutex), so it runs without mu_ held.
      lock.unlock();
      client->stop();
      lock.lock();
      next->second.stopping = false;
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;         // new entry or stopping_
  std::condition_variable done_cv_;    // a stop() finished
  std::map<uint64_t, Entry> entries_;  // guarded by mu_
  uint64_t next_id_ = 1;               // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::thread thread_;
};

std::string HostHeader(const OutboundTarget& target) {
  std::string host =
      target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  int default_port = target.https ? 443 : 80;
  if (target.port != default_port) host += ":" + std::to_string(target.port);
  return host;
}

// cpp-httplib 0.11.4 reports every failed connect as Error::Connection and
// keeps the cause (SO_ERROR) to itself, so a second, bounded connect finds it.
// Only run after a connect already failed; a peer may see an empty connection.
std::string ConnectFailure(const std::string& ip, int port, int64_t timeout_ms) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (getaddrinfo(ip.c_str(), std::to_string(port).c_str(), &hints, &ai) != 0) {
    return "connection failed";
  }
  int err = 0;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        err = ETIMEDOUT;
        if (poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout_ms, 1000))) == 1) {
          socklen_t len = sizeof err;
          if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
      }
    }
    close(fd);
  }
  freeaddrinfo(ai);
  switch (err) {
    case ECONNREFUSED:
      return "connection refused";
    case ENETUNREACH:
    case EHOSTUNREACH:
      return "host unreachable";
    default:
      return "connection failed";
  }
}

std::string TimeoutText(int64_t ms, const char* phase) {
  return "timeout after " + std::to_string(ms) + " ms (" + phase + ")";
}

void SetTimeouts(httplib::ClientImpl& cli, int64_t ms) {
  auto sec = static_cast<time_t>(ms / 1000);
  auto usec = static_cast<time_t>((ms % 1000) * 1000);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
}

// Reads every certificate of a PEM file; empty error on success.
std::string LoadPemCerts(const std::string& path, std::vector<X509*>* out) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return "cannot open ca_file " + path + ": " + std::strerror(errno);
  while (X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr)) out->push_back(cert);
  std::fclose(f);
  ERR_clear_error();  // the loop ends on "no start line"
  if (out->empty()) return "ca_file " + path + " holds no PEM certificate";
  return "";
}

class CppHttplibSender final : public HttpSender {
 public:
  explicit CppHttplibSender(HttpSenderOptions options) : options_(std::move(options)) {
    if (!options_.ca_file.empty()) ca_error_ = LoadPemCerts(options_.ca_file, &extra_cas_);
  }
  ~CppHttplibSender() override {
    for (X509* cert : extra_cas_) X509_free(cert);
  }

  SendResult Post(const OutboundTarget& target, const std::string& body,
                  const std::string& content_type, const SendOptions& options) override;

 private:
  struct Key {
    bool https = false;
    std::string host;
    int port = 0;
    std::string connect_ip;
    auto operator<=>(const Key&) const = default;
  };
  struct Idle {
    ClientPtr client;
    Clock::time_point since;
  };

  ClientPtr Take(const Key& key);
  void Give(const Key& key, ClientPtr client);
  ClientPtr NewClient(const Key& key);

  const HttpSenderOptions options_;
  std::vector<X509*> extra_cas_;  // owned; copied (up-ref'd) into each store
  std::string ca_error_;          // why ca_file could not be used

  std::mutex mu_;
  std::map<Key, std::vector<Idle>> idle_;        // guarded by mu_; newest last
  size_t idle_count_ = 0;                        // guarded by mu_
  Clock::time_point last_sweep_ = Clock::now();  // guarded by mu_

  Watchdog watchdog_;
};

ClientPtr CppHttplibSender::Take(const Key& key) {
  std::vector<ClientPtr> expired;  // destroyed outside the lock
  ClientPtr client;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = Clock::now();
    if (now - last_sweep_ > kSweepInterval) {
      last_sweep_ = now;
      for (auto it = idle_.begin(); it != idle_.end();) {
        auto& list = it->second;
        for (auto& idle : list) {
          if (now - idle.since > kIdleTtl) expired.push_back(std::move(idle.client));
        }
        std::erase_if(list, [](const Idle& idle) { return idle.client == nullptr; });
        it = list.empty() ? idle_.erase(it) : std::next(it);
      }
      idle_count_ = 0;
      for (const auto& [k, list] : idle_) idle_count_ += list.size();
    }
    auto it = idle_.find(key);
    if (it != idle_.end() && !it->second.empty()) {
      client = std::move(it->second.back().client);
      it->second.pop_back();
      --idle_count_;
      if (it->second.empty()) idle_.erase(it);
    }
  }
  return client ? client : NewClient(key);
}

void CppHttplibSender::Give(const Key& key, ClientPtr client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& list = idle_[key];
  if (list.size() >= kMaxIdlePerTarget || idle_count_ >= kMaxIdleTotal) {
    if (list.empty()) idle_.erase(key);
    return;  // client is destroyed when the caller's last reference goes
  }
  list.push_back(Idle{std::move(client), Clock::now()});
  ++idle_count_;
}

ClientPtr CppHttplibSender::NewClient(const Key& key) {
  ClientPtr client;
  if (key.https) {
    auto ssl = std::make_shared<httplib::SSLClient>(key.host, key.port);
    ssl->enable_server_certificate_verification(options_.verify_tls);
    if (!extra_cas_.empty()) {
      // Without a ca_cert path cpp-httplib adds the system default paths to
      // this store when it first verifies, so ca_file adds to them.
      X509_STORE* store = X509_STORE_new();
      for (X509* cert : extra_cas_) X509_STORE_add_cert(store, cert);
      ssl->set_ca_cert_store(store);  // the SSL_CTX takes ownership
    }
    client = std::move(ssl);
  } else {
    client = std::make_shared<httplib::ClientImpl>(key.host, key.port);
  }
  // TLS SNI, certificate checks and the Host header use key.host; the TCP
  // connection goes to the address the UrlGuard approved, never re-resolved.
  client->set_hostname_addr_map({{key.host, key.connect_ip}});
  client->set_tcp_nodelay(true);
  client->set_keep_alive(true);
  client->set_follow_location(false);
  client->set_url_encode(false);  // the UrlGuard passed the path as it will be sent
  return client;
}

SendResult CppHttplibSender::Post(const OutboundTarget& target, const std::string& body,
                                  const std::string& content_type, const SendOptions& options) {
  const auto start = Clock::now();
  SendResult out;
  auto finish = [&]() -> SendResult {
    out.latency_us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    return out;
  };
  if (target.https && !ca_error_.empty()) {
    out.error = ca_error_;
    return finish();
  }
  const int64_t timeout_ms = std::max<int64_t>(options.timeout_ms, 1);
  const int64_t total_ms = options.total_timeout_ms > 0 ? options.total_timeout_ms : 3 * timeout_ms;
  const auto deadline = start + std::chrono::milliseconds(total_ms);

  Key key{target.https, target.host, target.port, target.connect_ip};
  ClientPtr client = Take(key);
  SetTimeouts(*client, timeout_ms);

  std::string answer;
  bool truncated = false;
  bool past_deadline = false;
  httplib::Request req;
  req.method = "POST";
  req.path = target.path.empty() ? "/" : target.path;
  req.headers.emplace("Host", HostHeader(target));
  req.headers.emplace("Content-Type", content_type);
  req.headers.emplace("Accept-Encoding", "identity");
  req.headers.emplace("User-Agent", "vkspay-sandbox");
  req.body = body;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    size_t room = options.max_response_bytes - answer.size();
    if (n > room) {
      answer.append(data, room);
      truncated = true;
      return false;  // stop reading: the connection is dropped
    }
    answer.append(data, n);
    if (Clock::now() >= deadline) {
      past_deadline = true;
      return false;
    }
    return true;
  };

  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  uint64_t watch = watchdog_.Arm(client, deadline);
  bool ok = client->send(req, res, err);
  int saved_errno = errno;
  bool fired = watchdog_.Disarm(watch);
  const int64_t elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();

  if (ok || (err == httplib::Error::Canceled && truncated && !fired)) {
    out.http_status = res.status;
    out.body = std::move(answer);
    out.body_truncated = truncated;
    if (res.status >= 300 && res.status < 400) out.location = res.get_header_value("Location");
    // A truncated answer leaves unread bytes on the connection, which
    // cpp-httplib has already closed; the client object is still reusable.
    Give(key, std::move(client));
    return finish();
  }

  // Transport failure: the client is dropped (not returned to the pool).
  if (fired || past_deadline) {
    out.error = TimeoutText(total_ms, "whole attempt");
    return finish();
  }
  switch (err) {
    case httplib::Error::Connection:
      out.error = saved_errno == ECONNREFUSED
                      ? "connection refused"
                      : ConnectFailure(target.connect_ip, target.port, timeout_ms);
      break;
    case httplib::Error::ConnectionTimeout:
      out.error = TimeoutText(timeout_ms, "connecting");
      break;
    case httplib::Error::Read:
      if (saved_errno == ECONNRESET) {
        out.error = "connection reset";
      } else if (elapsed_ms >= timeout_ms) {
        out.error = TimeoutText(timeout_ms, "waiting for the answer");
      } else {
        out.error = "connection closed before a complete answer";
      }
      break;
    case httplib::Error::Write:
      out.error = saved_errno == ETIMEDOUT || saved_errno == EAGAIN || elapsed_ms >= timeout_ms
                      ? TimeoutText(timeout_ms, "sending the request")
                      : "connection reset while sending the request";
      break;
    case httplib::Error::SSLConnection:
      out.error = "TLS handshake failed";
      break;
    case httplib::Error::SSLLoadingCerts:
      out.error = "TLS: cannot load the CA certificates";
      break;
    case httplib::Error::SSLServerVerification: {
      long verify = 0;
      if (auto* ssl = dynamic_cast<httplib::SSLClient*>(client.get())) {
        verify = ssl->get_openssl_verify_result();
      }
      out.error =
          verify != X509_V_OK
              ? std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify)
              : "certificate verify failed: the certificate does not match host " + target.host;
      break;
    }
    default:
      out.error = "request failed: " + httplib::to_string(err);
      break;
  }
  return finish();
}

}  // namespace

std::unique_ptr<HttpSender> MakeHttpSender(const HttpSenderOptions& options) {
  // cpp-httplib 0.11.4 writes with send(..., 0), so a peer that resets the
  // connection raises SIGPIPE; httplib::Server's constructor ignores it
  // process-wide, and a sender without a server in the process needs the same.
  std::signal(SIGPIPE, SIG_IGN);
  return std::make_unique<CppHttplibSender>(options);
}

}  // namespace vkspay::sandbox
