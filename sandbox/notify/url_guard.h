// Decides where the sandbox may send notifications, on the address actually
// connected to, not only the URL string (a host name that resolves to a
// refused address is refused). See docs/notify.md, "Outbound safety".
//
// Thread-safe after construction (AllowHostOf may be called only before the
// guard is shared).
#ifndef VKSPAY_SANDBOX_NOTIFY_URL_GUARD_H_
#define VKSPAY_SANDBOX_NOTIFY_URL_GUARD_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

// A parsed, resolved, allowed notify URL.
struct OutboundTarget {
  std::string url;        // as given
  bool https = false;
  std::string host;       // as in the URL (for Host and TLS SNI), no brackets
  int port = 0;           // explicit or 80/443
  std::string path;       // path and query, "/" if empty
  std::string connect_ip; // the resolved address that passed the checks
};

struct UrlGuardOptions {
  // Entries are host names ("merchant.test"), IP addresses or CIDRs
  // ("10.0.0.0/8", "::1/128"). Loopback (127.0.0.0/8, ::1) is allowed by
  // default; set allow_loopback=false to refuse it unless listed.
  std::vector<std::string> allow;
  bool allow_loopback = true;
  // Resolver, injectable for tests: host -> addresses (numeric strings).
  // Default: getaddrinfo.
  std::function<StatusOr<std::vector<std::string>>(const std::string& host)> resolve;
};

class UrlGuard {
 public:
  explicit UrlGuard(UrlGuardOptions options);

  // Adds the host of a configured notify_url or forward_to to the allow-list.
  void AllowHostOf(std::string_view url);

  // Parses the URL (only http and https, a host, an optional port), resolves
  // the host and returns the first address that is allowed: the host name is
  // on the list, or the address is loopback (if allowed) or inside a listed
  // IP/CIDR. Errors: kNotifyUrlRefused with the reason ("scheme ftp is not
  // allowed", "169.254.169.254 is not in the allow-list", "cannot resolve
  // merchant.test").
  StatusOr<OutboundTarget> Resolve(std::string_view url) const;

  // Only the URL checks (scheme, host, port), no resolution: for refusing a
  // webpay up front under the `strict` setting.
  Status CheckSyntax(std::string_view url) const;

  // OK, or kInvalidField naming the first `allow` entry (or AllowHostOf URL)
  // that is neither a host name, an IP address nor a CIDR such as
  // "10.0.0.0/33". Such entries are ignored, so they allow nothing.
  Status CheckAllowList() const;

  // An address or network. IPv4 (and IPv4-mapped IPv6) is stored as family 4
  // in the first 4 bytes, so "::ffff:10.0.0.1" and "10.0.0.1" compare equal.
  struct Cidr {
    int family = 4;  // 4 or 6
    std::array<uint8_t, 16> bytes{};
    int prefix = 32;
  };

 private:
  void AddAllowEntry(std::string_view entry);

  UrlGuardOptions options_;
  std::vector<std::string> allowed_names_;  // lower case
  std::vector<Cidr> allowed_cidrs_;
  std::string allow_list_error_;  // first entry that could not be parsed
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_URL_GUARD_H_
