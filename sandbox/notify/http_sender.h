// Sends one notification attempt: an HTTP(S) POST to an already-checked
// target, never following redirects, reading at most a capped number of
// bytes of the answer, bounded by a timeout.
#ifndef VKSPAY_SANDBOX_NOTIFY_HTTP_SENDER_H_
#define VKSPAY_SANDBOX_NOTIFY_HTTP_SENDER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "sandbox/notify/url_guard.h"

namespace vkspay::sandbox {

struct SendOptions {
  int64_t timeout_ms = 5000;          // connect + write + read, each
  size_t max_response_bytes = 64 * 1024;
  // The whole attempt, from the first connect to the last byte read, so a
  // peer that trickles bytes cannot hold a worker past it. 0: 3 x timeout_ms.
  int64_t total_timeout_ms = 0;
};

struct SendResult {
  // 0 if no HTTP answer arrived (refused, reset, timeout, TLS failure).
  int http_status = 0;
  std::string body;        // at most max_response_bytes
  bool body_truncated = false;  // the answer was longer than the cap
  std::string location;    // the Location header of a 3xx (not followed)
  int64_t latency_us = 0;
  // Empty on an HTTP answer; else what went wrong ("connection refused",
  // "timeout after 5000 ms", "certificate verify failed").
  std::string error;
};

// Thread-safe implementations may keep keep-alive connections per target.
class HttpSender {
 public:
  virtual ~HttpSender() = default;
  virtual SendResult Post(const OutboundTarget& target, const std::string& body,
                          const std::string& content_type, const SendOptions& options) = 0;
};

struct HttpSenderOptions {
  std::string ca_file;  // extra CA bundle to trust (local test certificates)
  bool verify_tls = true;
};

// The real sender (cpp-httplib, TCP_NODELAY, keep-alive connections reused
// per target host and port, connecting to target.connect_ip).
std::unique_ptr<HttpSender> MakeHttpSender(const HttpSenderOptions& options);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_HTTP_SENDER_H_
