// Decides where the sandbox may send notifications, on the address actually
// connected to, not only the URL string (a host name that resolves to a
// refused address is refused). The sender dials OutboundTarget::connect_ip,
// the address checked here, and never resolves the host again. See
// docs/notify.md, "Outbound safety".
//
// Never allowed, whatever the allow-list says: the sandbox's own listening
// address (SetOwnListener), so that a notify_url cannot call the sandbox's
// own API (/_sandbox/reset wiped every merchant's orders; a resend endpoint
// re-queued itself forever: issue #13 finding 6).
//
// Thread-safe after construction (AllowHostOf may be called only before the
// guard is shared; SetOwnListener at any time).
#ifndef VKSPAY_SANDBOX_NOTIFY_URL_GUARD_H_
#define VKSPAY_SANDBOX_NOTIFY_URL_GUARD_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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
  // default. allow_loopback=false (settings.notify_refuse_loopback, and
  // strict_notify_url) refuses it like the always-refused ranges: only a
  // listed IP or CIDR inside loopback lets it through, never a listed host
  // name (whose DNS may be pointed at 127.0.0.1 later).
  std::vector<std::string> allow;
  bool allow_loopback = true;
  // Resolver, injectable for tests: host -> addresses (numeric strings).
  // Default: getaddrinfo.
  std::function<StatusOr<std::vector<std::string>>(const std::string& host)> resolve;
  // The machine's interface addresses (numeric strings), injectable for
  // tests. Asked only while the sandbox listens on every address (0.0.0.0 or
  // ::) and a destination uses its port. Default: getifaddrs.
  std::function<std::vector<std::string>()> local_addresses;
};

class UrlGuard {
 public:
  explicit UrlGuard(UrlGuardOptions options);

  // Adds the host of a configured notify_url or forward_to to the allow-list.
  void AllowHostOf(std::string_view url);

  // The address the sandbox listens on (main calls it once the server has
  // bound; `host` as given to --listen, `port` the bound port). From then on
  // Resolve refuses every address that reaches the sandbox on `port`: host
  // itself (a name is resolved now), 0.0.0.0 and :: (Linux connects those to
  // the local host), all of loopback (127.0.0.0/8 and ::1, erring on the safe
  // side) when host is a loopback address, and when host is 0.0.0.0 or ::,
  // all loopback and every
  // interface address of the machine (looked up at each check, so an
  // address added later counts). Spellings are covered because the check is
  // on the resolved, parsed address: localhost, LOCALHOST, [::1],
  // [::ffff:127.0.0.1], a DNS name resolving there; 127.1, 2130706433,
  // 0x7f000001 and "localhost." are refused as malformed before that.
  // The reason given: "the sandbox's own address <ip>:<port> (...)".
  // Thread-safe. Errors: kInvalidField if `host` cannot be resolved or port
  // is not 1-65535 (nothing changes then).
  Status SetOwnListener(const std::string& host, int port);

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
  struct OwnListener {
    int port = 0;
    bool wildcard = false;    // listening on 0.0.0.0 or ::
    bool loopback = false;    // listening on a loopback address: all of loopback counts
    std::vector<Cidr> addrs;  // what `host` resolved to (not for a wildcard)
    std::string shown;        // "127.0.0.1:8080", for the reason
  };

  void AddAllowEntry(std::string_view entry);
  // "the sandbox's own address ..." if `addr`:`port` reaches the sandbox,
  // else "".
  std::string OwnAddressReason(const Cidr& addr, const std::string& text, int port) const;

  // Behind a pointer so that the guard stays movable.
  struct OwnSlot {
    std::mutex mu;
    std::shared_ptr<const OwnListener> listener;  // guarded by mu; null until set
  };

  UrlGuardOptions options_;
  std::shared_ptr<OwnSlot> own_ = std::make_shared<OwnSlot>();
  std::vector<std::string> allowed_names_;  // lower case
  std::vector<Cidr> allowed_cidrs_;
  std::string allow_list_error_;  // first entry that could not be parsed
};

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_NOTIFY_URL_GUARD_H_
