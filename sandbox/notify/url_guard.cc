#include "sandbox/notify/url_guard.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

namespace vkspay::sandbox {
namespace {

using Cidr = UrlGuard::Cidr;

Status Refused(std::string message) {
  return Status(ErrorCode::kNotifyUrlRefused, std::move(message));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses a numeric IPv4 or IPv6 address (no brackets, no zone id) as a /32 or
// /128. IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address.
std::optional<Cidr> ParseIp(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  Cidr out;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out.family = 4;
    std::memcpy(out.bytes.data(), &v4, 4);
    out.prefix = 32;
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(&v6, kMappedPrefix, 12) == 0) {
      out.family = 4;
      std::memcpy(out.bytes.data(), reinterpret_cast<const uint8_t*>(&v6) + 12, 4);
      out.prefix = 32;
      return out;
    }
    out.family = 6;
    std::memcpy(out.bytes.data(), &v6, 16);
    out.prefix = 128;
    return out;
  }
  return std::nullopt;
}

Cidr MustParseCidr(const char* ip, int prefix) {
  Cidr c = *ParseIp(ip);
  c.prefix = prefix;
  return c;
}

// True if the first `bits` bits of a and b are equal.
bool PrefixEqual(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int full = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[static_cast<size_t>(full)] & mask) == (b[static_cast<size_t>(full)] & mask);
}

bool Contains(const Cidr& net, const Cidr& addr) {
  return net.family == addr.family && net.prefix <= addr.prefix &&
         PrefixEqual(net.bytes, addr.bytes, net.prefix);
}

void MaskHostBits(Cidr& c) {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(c.prefix - i * 8, 0, 8);
    c.bytes[static_cast<size_t>(i)] &= static_cast<uint8_t>(0xff << (8 - keep));
  }
}

struct DangerousRange {
  Cidr net;
  const char* what;
};

// Refused even for a listed host name: only a listed IP/CIDR inside the range
// itself lets them through, so "0.0.0.0/0" does not open cloud metadata.
const std::vector<DangerousRange>& DangerousRanges() {
  static const std::vector<DangerousRange> kRanges = {
      {MustParseCidr("0.0.0.0", 8), "in 0.0.0.0/8 (this host)"},
      {MustParseCidr("169.254.0.0", 16), "link-local (169.254.0.0/16, cloud metadata)"},
      {MustParseCidr("224.0.0.0", 4), "multicast (224.0.0.0/4)"},
      {MustParseCidr("255.255.255.255", 32), "the broadcast address"},
      {MustParseCidr("::", 128), "the unspecified address (::)"},
      {MustParseCidr("fe80::", 10), "link-local (fe80::/10)"},
      {MustParseCidr("ff00::", 8), "multicast (ff00::/8)"},
  };
  return kRanges;
}

bool IsLoopback(const Cidr& addr) {
  static const Cidr kV4 = MustParseCidr("127.0.0.0", 8);
  static const Cidr kV6 = MustParseCidr("::1", 128);
  return Contains(kV4, addr) || Contains(kV6, addr);
}

// Empty if `host` is an acceptable DNS name (letters, digits, '-', '_', dots
// between non-empty labels), else the reason.
std::string HostNameError(std::string_view host) {
  if (host.empty()) return "host is empty";
  if (host.size() > 253) return "host is longer than 253 characters";
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return "host " + std::string(host) + " has an empty label";
    if (label.size() > 63) return "host " + std::string(host) + " has a label longer than 63";
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) {
        return "host " + std::string(host) + " contains '" + std::string(1, c) +
               "' (expected letters, digits, '-' or '.')";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return "host " + std::string(host) + " has a label that starts or ends with '-'";
    }
    if (dot == std::string_view::npos) {
      // getaddrinfo reads "2130706433", "0x7f.1" or "127.1" as IPv4; only
      // the dotted quad is accepted, so what is checked is what is dialled.
      std::string last = Lower(label);
      if (AllDigits(last) || last.rfind("0x", 0) == 0) {
        return "host " + std::string(host) + " is not a valid IPv4 address (expected a.b.c.d)";
      }
      return "";
    }
    start = dot + 1;
  }
}

struct ParsedUrl {
  bool https = false;
  std::string host;  // lower case, no brackets
  bool host_is_ip = false;
  int port = 0;
  std::string path;
};

StatusOr<ParsedUrl> ParseUrl(std::string_view url) {
  if (url.empty()) return Refused("URL is empty");
  for (size_t i = 0; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (c <= 0x20 || c == 0x7f) {
      return Refused("URL contains whitespace or a control character at offset " +
                     std::to_string(i));
    }
    if (c >= 0x80) {
      return Refused("URL contains a non-ASCII byte at offset " + std::to_string(i) +
                     " (percent-encode it; use punycode for host names)");
    }
    if (c == '\\') return Refused("URL contains a backslash at offset " + std::to_string(i));
  }
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Refused("scheme is missing (expected http:// or https://)");
  }
  std::string scheme = Lower(url.substr(0, sep));
  ParsedUrl out;
  if (scheme == "http") {
    out.https = false;
  } else if (scheme == "https") {
    out.https = true;
  } else {
    return Refused("scheme " + std::string(url.substr(0, sep)) +
                   " is not allowed (only http and https)");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);

  if (authority.find('@') != std::string_view::npos) {
    return Refused("host: userinfo (user@host) is not allowed");
  }
  if (authority.empty()) return Refused("host is empty");

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Refused("host: '[' without a closing ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Refused("host: unexpected characters after ']' (expected ':port')");
      }
      has_port = true;
      port_text = after.substr(1);
    }
    auto ip = ParseIp(host);
    if (host.find('%') != std::string_view::npos || !ip ||
        host.find(':') == std::string_view::npos) {
      return Refused("host [" + std::string(host) + "] is not a valid IPv6 address");
    }
    out.host_is_ip = true;
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return Refused("host: an IPv6 address must be in brackets, as in http://[::1]:8080/");
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host.empty()) return Refused("host is empty");
    if (ParseIp(host)) {
      out.host_is_ip = true;
    } else if (std::string err = HostNameError(host); !err.empty()) {
      return Refused(err);
    }
  }
  out.host = Lower(host);

  if (has_port) {
    if (port_text.empty()) return Refused("port is empty after ':'");
    if (!AllDigits(port_text)) {
      return Refused("port " + std::string(port_text) + " is not a number");
    }
    if (port_text.size() > 5 || std::stoi(std::string(port_text)) < 1 ||
        std::stoi(std::string(port_text)) > 65535) {
      return Refused("port " + std::string(port_text) + " is out of range 1-65535");
    }
    out.port = std::stoi(std::string(port_text));
  } else {
    out.port = out.https ? 443 : 80;
  }

  // The fragment is never sent.
  tail = tail.substr(0, tail.find('#'));
  if (tail.empty()) {
    out.path = "/";
  } else if (tail.front() == '?') {
    out.path = "/" + std::string(tail);
  } else {
    out.path = std::string(tail);
  }
  return out;
}

StatusOr<std::vector<std::string>> GetAddrInfo(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0) return Refused(gai_strerror(rc));
  std::vector<std::string> out;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* src = nullptr;
    if (ai->ai_family == AF_INET) {
      src = &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr;
    } else if (ai->ai_family == AF_INET6) {
      src = &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (inet_ntop(ai->ai_family, src, buf, sizeof buf) == nullptr) continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  freeaddrinfo(result);
  return out;
}

// The numeric addresses of the machine's interfaces (getifaddrs); empty if
// they cannot be listed.
std::vector<std::string> GetLocalAddresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    const void* src = nullptr;
    if (it->ifa_addr->sa_family == AF_INET) {
      src = &reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr;
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      src = &reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr;
    } else {
      continue;
    }
    if (inet_ntop(it->ifa_addr->sa_family, src, buf, sizeof buf) != nullptr) out.emplace_back(buf);
  }
  freeifaddrs(list);
  return out;
}

bool IsUnspecified(const Cidr& addr) {
  static const Cidr kV4 = MustParseCidr("0.0.0.0", 32);
  static const Cidr kV6 = MustParseCidr("::", 128);
  return Contains(kV4, addr) || Contains(kV6, addr);
}

// Empty if the CIDR text parses, else the reason; the result goes to *out.
std::string ParseCidr(std::string_view text, Cidr* out) {
  size_t slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') {
    addr = addr.substr(1, addr.size() - 2);
  }
  auto ip = ParseIp(addr);
  if (!ip) return std::string(addr) + " is not an IP address";
  if (slash == std::string_view::npos) {
    *out = *ip;
    return "";
  }
  std::string_view prefix_text = text.substr(slash + 1);
  bool v6_text = addr.find(':') != std::string_view::npos;
  int max = v6_text ? 128 : 32;
  if (!AllDigits(prefix_text) || prefix_text.size() > 3 ||
      std::stoi(std::string(prefix_text)) > max) {
    return "prefix /" + std::string(prefix_text) + " is not in 0-" + std::to_string(max);
  }
  int prefix = std::stoi(std::string(prefix_text));
  if (v6_text && ip->family == 4) {
    // An IPv4-mapped network such as ::ffff:10.0.0.0/104.
    if (prefix < 96) return "an IPv4-mapped network needs a prefix of at least /96";
    prefix -= 96;
  }
  ip->prefix = prefix;
  MaskHostBits(*ip);
  *out = *ip;
  return "";
}

}  // namespace

UrlGuard::UrlGuard(UrlGuardOptions options) : options_(std::move(options)) {
  if (!options_.resolve) options_.resolve = GetAddrInfo;
  if (!options_.local_addresses) options_.local_addresses = GetLocalAddresses;
  for (const std::string& entry : options_.allow) AddAllowEntry(entry);
}

void UrlGuard::AddAllowEntry(std::string_view entry) {
  while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
  while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
  if (entry.empty()) return;
  std::string lower = Lower(entry);
  Cidr cidr;
  bool looks_numeric = lower.find('/') != std::string::npos ||
                       lower.find(':') != std::string::npos || lower.front() == '[' ||
                       ParseIp(lower).has_value();
  if (looks_numeric) {
    std::string err = ParseCidr(lower, &cidr);
    if (err.empty()) {
      allowed_cidrs_.push_back(cidr);
    } else if (allow_list_error_.empty()) {
      allow_list_error_ = "allow entry " + std::string(entry) + ": " + err;
    }
    return;
  }
  if (std::string err = HostNameError(lower); !err.empty()) {
    if (allow_list_error_.empty()) {
      allow_list_error_ = "allow entry " + std::string(entry) + ": " + err;
    }
    return;
  }
  if (std::find(allowed_names_.begin(), allowed_names_.end(), lower) == allowed_names_.end()) {
    allowed_names_.push_back(lower);
  }
}

void UrlGuard::AllowHostOf(std::string_view url) {
  auto parsed = ParseUrl(url);
  if (!parsed.ok()) {
    if (allow_list_error_.empty()) {
      allow_list_error_ = "configured URL " + std::string(url) + ": " + parsed.status().message();
    }
    return;
  }
  if (parsed->host_is_ip) {
    allowed_cidrs_.push_back(*ParseIp(parsed->host));
  } else {
    AddAllowEntry(parsed->host);
  }
}

Status UrlGuard::SetOwnListener(const std::string& host, int port) {
  if (port < 1 || port > 65535) {
    return Status(ErrorCode::kInvalidField,
                  "own listener: port must be 1-65535, got " + std::to_string(port));
  }
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  auto own = std::make_shared<OwnListener>();
  own->port = port;
  own->shown = (bare.find(':') != std::string::npos ? "[" + bare + "]" : bare) + ":" +
               std::to_string(port);
  std::vector<std::string> addresses;
  if (ParseIp(bare)) {
    addresses.push_back(bare);
  } else {
    auto resolved = options_.resolve(Lower(bare));
    if (!resolved.ok() || resolved->empty()) {
      return Status(ErrorCode::kInvalidField,
                    "own listener: cannot resolve " + bare + ": " +
                        (resolved.ok() ? std::string("no addresses") : resolved.status().message()));
    }
    addresses = *std::move(resolved);
  }
  for (const std::string& text : addresses) {
    auto addr = ParseIp(text);
    if (!addr) continue;
    if (IsUnspecified(*addr)) own->wildcard = true;
    if (IsLoopback(*addr)) own->loopback = true;
    own->addrs.push_back(*addr);
  }
  std::lock_guard<std::mutex> lock(own_->mu);
  own_->listener = std::move(own);
  return Status::Ok();
}

std::string UrlGuard::OwnAddressReason(const Cidr& addr, const std::string& text, int port) const {
  std::shared_ptr<const OwnListener> own;
  {
    std::lock_guard<std::mutex> lock(own_->mu);
    own = own_->listener;
  }
  if (own == nullptr || port != own->port) return "";
  bool self = IsUnspecified(addr);  // Linux connects 0.0.0.0 and :: to this host
  for (const Cidr& a : own->addrs) self = self || Contains(a, addr);
  if (!self && (own->wildcard || own->loopback)) self = IsLoopback(addr);
  if (!self && own->wildcard) {
    if (!self) {
      for (const std::string& local : options_.local_addresses()) {
        auto l = ParseIp(local);
        if (l && Contains(*l, addr)) {
          self = true;
          break;
        }
      }
    }
  }
  if (!self) return "";
  const std::string shown_addr = text.find(':') != std::string::npos ? "[" + text + "]" : text;
  return "the sandbox's own address " + shown_addr + ":" + std::to_string(port) +
         " (it listens on " + own->shown +
         "); a notification must not call the sandbox's own API";
}

Status UrlGuard::CheckAllowList() const {
  if (allow_list_error_.empty()) return Status::Ok();
  return Status(ErrorCode::kInvalidField, allow_list_error_);
}

Status UrlGuard::CheckSyntax(std::string_view url) const {
  auto parsed = ParseUrl(url);
  return parsed.ok() ? Status::Ok() : parsed.status();
}

StatusOr<OutboundTarget> UrlGuard::Resolve(std::string_view url) const {
  auto parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status();

  std::vector<std::string> addresses;
  if (parsed->host_is_ip) {
    addresses.push_back(parsed->host);
  } else {
    auto resolved = options_.resolve(parsed->host);
    if (!resolved.ok()) {
      return Refused("cannot resolve " + parsed->host + ": " + resolved.status().message());
    }
    if (resolved->empty()) return Refused("cannot resolve " + parsed->host + ": no addresses");
    addresses = *std::move(resolved);
  }
  bool name_listed = !parsed->host_is_ip &&
                     std::any_of(allowed_names_.begin(), allowed_names_.end(),
                                 [&](const std::string& n) { return IEquals(n, parsed->host); });

  std::string reasons;
  std::string permit;  // the --notify-allow entry that would permit it, if any may
  for (const std::string& text : addresses) {
    std::string reason;
    auto addr = ParseIp(text);
    if (!addr) {
      reason = "the resolver returned " + text + ", which is not a numeric address";
    } else if (std::string own = OwnAddressReason(*addr, text, parsed->port); !own.empty()) {
      reason = std::move(own);  // no allow-list entry opens it
    } else {
      static const DangerousRange kLoopbackV4{MustParseCidr("127.0.0.0", 8),
                                              "loopback (127.0.0.0/8; notify_refuse_loopback or strict_notify_url is on)"};
      static const DangerousRange kLoopbackV6{MustParseCidr("::1", 128),
                                              "loopback (::1; notify_refuse_loopback or strict_notify_url is on)"};
      const DangerousRange* danger = nullptr;
      for (const DangerousRange& d : DangerousRanges()) {
        if (Contains(d.net, *addr)) danger = &d;
      }
      // Refused loopback is a dangerous range: a listed host name (whose DNS
      // can be pointed at 127.0.0.1) does not open it, a listed CIDR inside
      // it does.
      if (danger == nullptr && !options_.allow_loopback && IsLoopback(*addr)) {
        danger = Contains(kLoopbackV4.net, *addr) ? &kLoopbackV4 : &kLoopbackV6;
      }
      bool in_listed_cidr = false;
      for (const Cidr& c : allowed_cidrs_) {
        if (!Contains(c, *addr)) continue;
        // Inside a dangerous range only a CIDR within that range counts.
        if (danger != nullptr && !Contains(danger->net, c)) continue;
        in_listed_cidr = true;
      }
      bool allowed = in_listed_cidr;
      if (danger == nullptr) allowed = allowed || name_listed || IsLoopback(*addr);
      if (allowed) {
        OutboundTarget target;
        target.url = std::string(url);
        target.https = parsed->https;
        target.host = parsed->host;
        target.port = parsed->port;
        target.path = parsed->path;
        target.connect_ip = text;
        return target;
      }
      if (danger != nullptr) {
        reason = text + " is " + danger->what + " and refused unless listed as a CIDR";
        // Only loopback is worth opening on purpose (a local handler); the
        // other dangerous ranges get no suggestion.
        if (danger == &kLoopbackV4 || danger == &kLoopbackV6) {
          if (permit.empty()) {
            permit = text + (text.find(':') == std::string::npos ? "/32" : "/128");
          }
        }
      } else {
        reason = text + " is not in the allow-list";
        if (permit.empty()) permit = parsed->host_is_ip ? text : parsed->host;
      }
    }
    if (!reasons.empty()) reasons += "; ";
    reasons += reason;
  }
  if (!permit.empty()) {
    reasons += " (--notify-allow " + permit + ", or notify_allow in the config, permits it)";
  }
  if (parsed->host_is_ip) return Refused(reasons);
  return Refused(parsed->host + ": " + reasons);
}

}  // namespace vkspay::sandbox
