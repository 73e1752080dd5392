// Sandbox configuration: merchants and settings, from a JSON file or the
// built-in demo. Immutable after start-up, so safe to share across threads.
#ifndef VKSPAY_SANDBOX_CONFIG_CONFIG_H_
#define VKSPAY_SANDBOX_CONFIG_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/faults/rule.h"
#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

inline constexpr char kDemoMerchantNo[] = "10001";
inline constexpr char kDemoKey[] = "sandbox-demo-key-0123456789abcdef";

// What a merchant's answer to a notification must be to count as an ack
// (docs/notify.md). Every mode needs HTTP 2xx, no redirect, an answer within
// the cap.
enum class AckMode {
  kJson,    // "json" (default): a JSON object whose "code" is "SUCCESS"
  kText,    // "text": that, or a plain body "success" / "SUCCESS"
  kAny2xx,  // "any2xx": any 2xx answer
};
std::string_view ToString(AckMode mode);
// Errors: kInvalidField naming the accepted names.
StatusOr<AckMode> ParseAckMode(std::string_view name);

struct Merchant {
  std::string merchantno;
  std::string key;
  std::string name;        // shown on the cashier page
  std::string notify_url;  // used when a webpay names none
  AckMode ack_mode = AckMode::kJson;
  // Deliver every notification of this merchant here instead of its
  // notify_url (the log shows both). Overrides settings.forward_to.
  std::string forward_to;
};

struct Settings {
  // |timestamp - now| must be at most this many seconds.
  int64_t timestamp_window_s = 300;
  // Unpaid orders close after this many seconds.
  int64_t order_expiry_s = 7200;
  // Largest accepted amount, fen (1,000,000.00 yuan).
  int64_t max_total_fee_fen = 100'000'000;
  // Require signaturenonce to be 8 digits 1-9, as the official sample makes it.
  bool strict_nonce = true;
  // Largest accepted request body, bytes.
  size_t max_body_bytes = 64 * 1024;
  // Base of payment URLs ("https://sandbox.example.com", --public-url),
  // checked by NormalizePublicUrl; empty: the sandbox's own address as the
  // client reached it (never a request header; sandbox/core/views.h
  // SocketBaseUrl).
  std::string public_base_url;
  // Token for /_sandbox/ (Authorization: Bearer <token>). Required when the
  // sandbox listens beyond loopback; generated at start-up (from a CSPRNG)
  // if not set then.
  std::string control_token;
  // Seed for fault-injection decisions only (rules without a seed of their
  // own); 0 means drawn at start-up. Tokens, generated ids and nonces never
  // come from it (issue #13 finding 5).
  uint64_t seed = 0;

  // --- notification delivery (docs/notify.md) ---
  // Retry schedule: "vkspay" (WeChat Pay's), "alipay", "fast" or "custom"
  // (notify_schedule).
  std::string notify_profile = "vkspay";
  // Seconds to wait after each failed attempt, for "custom".
  std::vector<double> notify_schedule;
  // Per attempt: connect, write and read, each.
  int64_t notify_timeout_ms = 5000;
  // Delivery worker threads: the most attempts in flight at once, over all
  // hosts (each blocks on its merchant's answer; idle threads cost nothing).
  int64_t notify_workers = 64;
  // Attempts in flight per host:port to start with and after any failure,
  // so one dead merchant cannot hold more than this many workers.
  int64_t notify_per_host = 2;
  // The most a host that acknowledges fast and well grows to (adaptive, see
  // sandbox/notify/dispatcher.h).
  int64_t notify_per_host_max = 32;
  // Multiplies every schedule delay (0.001 turns a day into ~90 s). The
  // sandbox clock itself is not scaled.
  double time_scale = 1.0;
  // Deliver every notification here (unless the merchant has its own).
  std::string forward_to;
  // Hosts, IPs or CIDRs notifications may go to, besides loopback and the
  // hosts of configured notify_url / forward_to.
  std::vector<std::string> notify_allow;
  // Refuse a webpay whose notify_url is not allowed (FAIL NOTIFY_URL_REFUSED)
  // instead of accepting it and holding its notification as blocked. Also
  // implies notify_refuse_loopback.
  bool strict_notify_url = false;
  // Refuse loopback destinations (127.0.0.0/8, ::1) as the always-refused
  // ranges (unspecified, link-local, multicast) are: unless an IP or CIDR in
  // notify_allow (or a configured notify_url / forward_to given by IP)
  // lists them; a listed host name does not open them. For shared
  // deployments, where loopback reaches other services of the machine.
  bool notify_refuse_loopback = false;
  // Extra CA bundle for https notify URLs (local test certificates).
  std::string notify_ca_file;
};

struct SandboxConfig {
  std::vector<Merchant> merchants;
  Settings settings;
  // The "faults" section (sandbox/faults/rule.h, docs/faults.md): profile,
  // rules and magic amounts; strict with no rules when absent.
  FaultsConfig faults;

  // nullptr if merchantno is not configured.
  const Merchant* FindMerchant(std::string_view merchantno) const;
  // One merchant, 10001 with the documented demo key.
  static SandboxConfig Demo();
};

// Checks a public base URL (--public-url, settings.public_base_url) and
// strips trailing '/': http:// or https://, a host, an optional port and
// path; no user info, query, fragment, whitespace or control characters.
// Errors: kInvalidField "<what> must be an http:// or https:// URL such as
// https://sandbox.example.com (...), got \"...\"".
Status NormalizePublicUrl(std::string_view what, std::string* url);

// Parses a config file's JSON text. Errors: kInvalidField naming the path of
// the bad entry ("merchants[1].key") and what was expected.
StatusOr<SandboxConfig> ParseConfig(std::string_view json_text);
// Reads and parses a config file. Errors: as ParseConfig, or kNotFound.
StatusOr<SandboxConfig> LoadConfigFile(const std::string& path);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONFIG_CONFIG_H_
