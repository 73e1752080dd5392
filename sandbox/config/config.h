// Sandbox configuration: merchants and settings, from a JSON file or the
// built-in demo. Immutable after start-up, so safe to share across threads.
#ifndef VKSPAY_SANDBOX_CONFIG_CONFIG_H_
#define VKSPAY_SANDBOX_CONFIG_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

inline constexpr char kDemoMerchantNo[] = "10001";
inline constexpr char kDemoKey[] = "sandbox-demo-key-0123456789abcdef";

struct Merchant {
  std::string merchantno;
  std::string key;
  std::string name;        // shown on the cashier page
  std::string notify_url;  // used when a webpay names none
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
  // Base of payment URLs ("http://host:port"); empty: from the request's Host.
  std::string public_base_url;
  // Token for /_sandbox/ (Authorization: Bearer <token>). Required when the
  // sandbox listens beyond loopback; generated at start-up if not set then.
  std::string control_token;
  // Seed for generated ids; 0 means seed from the clock at start-up.
  uint64_t seed = 0;
};

struct SandboxConfig {
  std::vector<Merchant> merchants;
  Settings settings;

  // nullptr if merchantno is not configured.
  const Merchant* FindMerchant(std::string_view merchantno) const;
  // One merchant, 10001 with the documented demo key.
  static SandboxConfig Demo();
};

// Parses a config file's JSON text. Errors: kInvalidField naming the path of
// the bad entry ("merchants[1].key") and what was expected.
StatusOr<SandboxConfig> ParseConfig(std::string_view json_text);
// Reads and parses a config file. Errors: as ParseConfig, or kNotFound.
StatusOr<SandboxConfig> LoadConfigFile(const std::string& path);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_CONFIG_CONFIG_H_
