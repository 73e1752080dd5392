#include "sandbox/notify/url_guard.h"

#include <gtest/gtest.h>

#include <map>

namespace vkspay::sandbox {
namespace {

// A resolver that answers from a table; names not in it fail like NXDOMAIN.
auto FakeResolver(std::map<std::string, std::vector<std::string>> table) {
  return [table = std::move(table)](const std::string& host) -> StatusOr<std::vector<std::string>> {
    auto it = table.find(host);
    if (it == table.end()) {
      return Status(ErrorCode::kNotifyUrlRefused, "Name or service not known");
    }
    return it->second;
  };
}

UrlGuard Guard(std::vector<std::string> allow, bool allow_loopback = true) {
  UrlGuardOptions options;
  options.allow = std::move(allow);
  options.allow_loopback = allow_loopback;
  options.resolve = FakeResolver({
      {"merchant.test", {"10.1.2.3"}},
      {"metadata.test", {"169.254.169.254"}},
      {"two.test", {"192.0.2.1", "10.9.9.9"}},
      {"local.test", {"127.0.0.1"}},
      {"v6.test", {"2001:db8::5"}},
      {"mapped.test", {"::ffff:127.0.0.1"}},
      {"zero.test", {"0.0.0.0"}},
      {"multi.test", {"239.1.1.1"}},
      {"linklocal6.test", {"fe80::1"}},
      {"empty.test", {}},
  });
  return UrlGuard(std::move(options));
}

// The refusal message, or "OK: <connect_ip>".
std::string Outcome(const UrlGuard& guard, std::string_view url) {
  auto r = guard.Resolve(url);
  if (r.ok()) return "OK: " + r->connect_ip;
  EXPECT_EQ(r.status().code(), ErrorCode::kNotifyUrlRefused);
  return r.status().message();
}

std::string SyntaxError(std::string_view url) {
  Status s = Guard({}).CheckSyntax(url);
  if (s.ok()) return "OK";
  EXPECT_EQ(s.code(), ErrorCode::kNotifyUrlRefused);
  return s.message();
}

TEST(UrlGuardParse, SplitsHttpsUrlIntoParts) {
  auto r = Guard({"merchant.test"}).Resolve("HTTPS://Merchant.Test:8443/notify?a=1#frag");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->https);
  EXPECT_EQ(r->host, "merchant.test");
  EXPECT_EQ(r->port, 8443);
  EXPECT_EQ(r->path, "/notify?a=1");
  EXPECT_EQ(r->connect_ip, "10.1.2.3");
  EXPECT_EQ(r->url, "HTTPS://Merchant.Test:8443/notify?a=1#frag");
}

TEST(UrlGuardParse, DefaultsPortAndPath) {
  auto http = Guard({}).Resolve("http://127.0.0.1");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(http->path, "/");
  auto https = Guard({}).Resolve("https://127.0.0.1?x=1");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->path, "/?x=1");
}

TEST(UrlGuardParse, AcceptsBracketedIpv6) {
  auto r = Guard({}).Resolve("http://[::1]:9000/n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->connect_ip, "::1");
  EXPECT_EQ(r->port, 9000);
}

TEST(UrlGuardParse, RefusesOtherSchemes) {
  EXPECT_EQ(SyntaxError("ftp://merchant.test/"), "scheme ftp is not allowed (only http and https)");
  EXPECT_EQ(SyntaxError("file:///etc/passwd"), "scheme file is not allowed (only http and https)");
  EXPECT_EQ(SyntaxError("merchant.test/notify"),
            "scheme is missing (expected http:// or https://)");
}

TEST(UrlGuardParse, RefusesUserinfo) {
  EXPECT_EQ(SyntaxError("http://user:pw@merchant.test/"),
            "host: userinfo (user@host) is not allowed");
  EXPECT_EQ(SyntaxError("http://merchant.test@169.254.169.254/"),
            "host: userinfo (user@host) is not allowed");
}

TEST(UrlGuardParse, RefusesWhitespaceAndControlCharacters) {
  EXPECT_EQ(SyntaxError("http://merchant.test/a b"),
            "URL contains whitespace or a control character at offset 22");
  EXPECT_EQ(SyntaxError(std::string("http://merchant.test/\r\nX: y")),
            "URL contains whitespace or a control character at offset 21");
  EXPECT_EQ(SyntaxError(" http://merchant.test/"),
            "URL contains whitespace or a control character at offset 0");
  EXPECT_EQ(SyntaxError(std::string("http://a\0b/", 11)),
            "URL contains whitespace or a control character at offset 8");
  EXPECT_EQ(SyntaxError("http://merchant.test\\@evil.test/"),
            "URL contains a backslash at offset 20");
}

TEST(UrlGuardParse, RefusesEmptyOrMalformedHost) {
  EXPECT_EQ(SyntaxError(""), "URL is empty");
  EXPECT_EQ(SyntaxError("http:///notify"), "host is empty");
  EXPECT_EQ(SyntaxError("http://:8080/"), "host is empty");
  EXPECT_EQ(SyntaxError("http://a..b/"), "host a..b has an empty label");
  EXPECT_EQ(SyntaxError("http://-a.test/"),
            "host -a.test has a label that starts or ends with '-'");
  EXPECT_EQ(SyntaxError("http://a%2eb/"),
            "host a%2eb contains '%' (expected letters, digits, '-' or '.')");
  EXPECT_EQ(SyntaxError("http://[::1/"), "host: '[' without a closing ']'");
  EXPECT_EQ(SyntaxError("http://[fe80::1%25eth0]/"),
            "host [fe80::1%25eth0] is not a valid IPv6 address");
  EXPECT_EQ(SyntaxError("http://[127.0.0.1]/"), "host [127.0.0.1] is not a valid IPv6 address");
  EXPECT_EQ(SyntaxError("http://::1/"),
            "host: an IPv6 address must be in brackets, as in http://[::1]:8080/");
  EXPECT_EQ(SyntaxError("http://[::1]x/"),
            "host: unexpected characters after ']' (expected ':port')");
}

// getaddrinfo would read these as 127.0.0.1: only the dotted quad is accepted.
TEST(UrlGuardParse, RefusesNonCanonicalIpv4Forms) {
  EXPECT_EQ(SyntaxError("http://2130706433/"),
            "host 2130706433 is not a valid IPv4 address (expected a.b.c.d)");
  EXPECT_EQ(SyntaxError("http://127.1/"),
            "host 127.1 is not a valid IPv4 address (expected a.b.c.d)");
  EXPECT_EQ(SyntaxError("http://0x7f.0.0.1/"),
            "host 0x7f.0.0.1 is not a valid IPv4 address (expected a.b.c.d)");
  EXPECT_EQ(SyntaxError("http://1.2.3.999/"),
            "host 1.2.3.999 is not a valid IPv4 address (expected a.b.c.d)");
}

TEST(UrlGuardParse, RefusesBadPorts) {
  EXPECT_EQ(SyntaxError("http://merchant.test:/"), "port is empty after ':'");
  EXPECT_EQ(SyntaxError("http://merchant.test:0/"), "port 0 is out of range 1-65535");
  EXPECT_EQ(SyntaxError("http://merchant.test:65536/"), "port 65536 is out of range 1-65535");
  EXPECT_EQ(SyntaxError("http://merchant.test:99999999999/"),
            "port 99999999999 is out of range 1-65535");
  EXPECT_EQ(SyntaxError("http://merchant.test:8o/"), "port 8o is not a number");
  EXPECT_EQ(SyntaxError("http://merchant.test:-1/"), "port -1 is not a number");
  EXPECT_EQ(SyntaxError("http://merchant.test:65535/"), "OK");
  EXPECT_EQ(SyntaxError("http://merchant.test:1/"), "OK");
}

TEST(UrlGuardParse, RefusesNonAscii) {
  EXPECT_EQ(SyntaxError("http://商户.test/"),
            "URL contains a non-ASCII byte at offset 7 (percent-encode it; use punycode for host "
            "names)");
}

TEST(UrlGuardResolve, ListedNameAllowsWhatItResolvesTo) {
  EXPECT_EQ(Outcome(Guard({"MERCHANT.test"}), "http://merchant.test/n"), "OK: 10.1.2.3");
}

TEST(UrlGuardResolve, UnlistedNameIsRefusedOnItsAddress) {
  EXPECT_EQ(Outcome(Guard({}), "http://merchant.test/n"),
            "merchant.test: 10.1.2.3 is not in the allow-list (--notify-allow merchant.test, "
            "or notify_allow in the config, permits it)");
}

// The cloud metadata service: a listed name must not open it.
TEST(UrlGuardResolve, ListedNameResolvingToMetadataIsRefused) {
  EXPECT_EQ(Outcome(Guard({"metadata.test"}), "http://metadata.test/"),
            "metadata.test: 169.254.169.254 is link-local (169.254.0.0/16, cloud "
            "metadata) and refused unless listed as a CIDR");
  EXPECT_EQ(Outcome(Guard({"0.0.0.0/0"}), "http://169.254.169.254/"),
            "169.254.169.254 is link-local (169.254.0.0/16, cloud metadata) and refused unless "
            "listed as a CIDR");
  EXPECT_EQ(Outcome(Guard({"169.254.0.0/16"}), "http://metadata.test/"), "OK: 169.254.169.254");
  EXPECT_EQ(Outcome(Guard({"169.254.169.254"}), "http://169.254.169.254/"), "OK: 169.254.169.254");
}

TEST(UrlGuardResolve, OtherAlwaysRefusedRanges) {
  EXPECT_EQ(Outcome(Guard({"zero.test"}), "http://zero.test/"),
            "zero.test: 0.0.0.0 is in 0.0.0.0/8 (this host) and refused unless listed "
            "as a CIDR");
  EXPECT_EQ(Outcome(Guard({"multi.test", "0.0.0.0/0"}), "http://multi.test/"),
            "multi.test: 239.1.1.1 is multicast (224.0.0.0/4) and refused unless "
            "listed as a CIDR");
  EXPECT_EQ(Outcome(Guard({"linklocal6.test", "::/0"}), "http://linklocal6.test/"),
            "linklocal6.test: fe80::1 is link-local (fe80::/10) and refused unless "
            "listed as a CIDR");
  EXPECT_EQ(Outcome(Guard({"::/0"}), "http://[::]/"),
            ":: is the unspecified address (::) and refused unless listed as a CIDR");
  EXPECT_EQ(Outcome(Guard({"::/0"}), "http://[ff02::1]/"),
            "ff02::1 is multicast (ff00::/8) and refused unless listed as a CIDR");
  EXPECT_EQ(Outcome(Guard({"fe80::/64"}), "http://linklocal6.test/"), "OK: fe80::1");
}

TEST(UrlGuardResolve, ReturnsFirstAllowedAddress) {
  EXPECT_EQ(Outcome(Guard({"10.0.0.0/8"}), "http://two.test/"), "OK: 10.9.9.9");
  EXPECT_EQ(Outcome(Guard({"192.0.2.0/24", "10.0.0.0/8"}), "http://two.test/"), "OK: 192.0.2.1");
  EXPECT_EQ(Outcome(Guard({}), "http://two.test/"),
            "two.test: 192.0.2.1 is not in the allow-list; 10.9.9.9 is not in the allow-list "
            "(--notify-allow two.test, or notify_allow in the config, permits it)");
}

TEST(UrlGuardResolve, DnsFailureIsRefused) {
  EXPECT_EQ(Outcome(Guard({"nowhere.test"}), "http://nowhere.test/"),
            "cannot resolve nowhere.test: Name or service not known");
  EXPECT_EQ(Outcome(Guard({"empty.test"}), "http://empty.test/"),
            "cannot resolve empty.test: no addresses");
}

TEST(UrlGuardResolve, LoopbackAllowedByDefaultOnly) {
  EXPECT_EQ(Outcome(Guard({}), "http://local.test/"), "OK: 127.0.0.1");
  EXPECT_EQ(Outcome(Guard({}), "http://127.8.9.10/"), "OK: 127.8.9.10");
  EXPECT_EQ(Outcome(Guard({}), "http://mapped.test/"), "OK: ::ffff:127.0.0.1");
  EXPECT_EQ(Outcome(Guard({}, false), "http://[::1]/"),
            "::1 is loopback (::1; notify_refuse_loopback or strict_notify_url is on) and ref"
            "used unless listed as a CIDR (--notify-allow ::1/128, or notify_allow in the con"
            "fig, permits it)");
  EXPECT_EQ(Outcome(Guard({}, false), "http://mapped.test/"),
            "mapped.test: ::ffff:127.0.0.1 is loopback (127.0.0.0/8; notify_refuse_loopback o"
            "r strict_notify_url is on) and refused unless listed as a CIDR (--notify-allow :"
            ":ffff:127.0.0.1/128, or notify_allow in the config, permits it)");
  EXPECT_EQ(Outcome(Guard({"127.0.0.1"}, false), "http://local.test/"), "OK: 127.0.0.1");
  EXPECT_EQ(Outcome(Guard({"127.0.0.0/8"}, false), "http://127.8.9.10/"), "OK: 127.8.9.10");
}

// With loopback refused, a listed host name does not open it: whoever runs
// that name's DNS could point it at 127.0.0.1 and reach the machine's own
// services. A CIDR spanning loopback (0.0.0.0/0) does not either.
TEST(UrlGuardResolve, RefusedLoopbackIsNotOpenedByANameOrAWideCidr) {
  EXPECT_EQ(Outcome(Guard({"local.test"}, false), "http://local.test/"),
            "local.test: 127.0.0.1 is loopback (127.0.0.0/8; notify_refuse_loopback or strict"
            "_notify_url is on) and refused unless listed as a CIDR (--notify-allow 127.0.0.1"
            "/32, or notify_allow in the config, permits it)");
  EXPECT_EQ(Outcome(Guard({"0.0.0.0/0"}, false), "http://127.0.0.1/"),
            "127.0.0.1 is loopback (127.0.0.0/8; notify_refuse_loopback or strict_notify_url "
            "is on) and refused unless listed as a CIDR (--notify-allow 127.0.0.1/32, or noti"
            "fy_allow in the config, permits it)");
  // Unspecified and link-local stay refused as before.
  EXPECT_NE(Outcome(Guard({}, false), "http://zero.test/").find("0.0.0.0 is in 0.0.0.0/8"),
            std::string::npos);
  EXPECT_NE(Outcome(Guard({}, false), "http://linklocal6.test/").find("link-local"),
            std::string::npos);
}

// Issue #13 finding 6: a notify_url on the sandbox's own /_sandbox/reset
// wiped every merchant's orders when paid. Every spelling of the sandbox's
// own address is refused, on the address resolved, whatever is listed.
UrlGuard OwnGuard(const std::string& listen_host, bool allow_loopback = true) {
  UrlGuardOptions options;
  options.allow = {"0.0.0.0/0", "::/0", "192.0.2.7", "own.test", "127.0.0.1"};
  options.allow_loopback = allow_loopback;
  options.resolve = FakeResolver({
      {"localhost", {"127.0.0.1", "::1"}},
      {"own.test", {"127.0.0.1"}},
      {"lan.test", {"192.0.2.7"}},
      {"split.test", {"127.0.0.1", "10.1.2.3"}},
  });
  options.local_addresses = [] {
    return std::vector<std::string>{"127.0.0.1", "::1", "192.0.2.7", "2001:db8::7"};
  };
  UrlGuard guard(std::move(options));
  EXPECT_TRUE(guard.SetOwnListener(listen_host, 8080).ok());
  return guard;
}

bool IsOwnAddress(const std::string& outcome) {
  return outcome.find("the sandbox's own address") != std::string::npos;
}

TEST(UrlGuardOwnAddress, EverySpellingOfTheListeningAddressIsRefused) {
  UrlGuard guard = OwnGuard("127.0.0.1");
  for (const char* url : {
           "http://127.0.0.1:8080/_sandbox/reset",
           "http://localhost:8080/_sandbox/reset",
           "http://LOCALHOST:8080/_sandbox/reset",
           "HTTP://LocalHost:8080/_sandbox/reset",
           "http://own.test:8080/_sandbox/reset",  // a DNS name resolving to it, even listed
           "http://[::ffff:127.0.0.1]:8080/_sandbox/reset",
           "http://[::ffff:7f00:1]:8080/_sandbox/reset",
           "http://0.0.0.0:8080/_sandbox/reset",  // Linux connects it to this host
           "http://[::]:8080/_sandbox/reset",
       }) {
    const std::string outcome = Outcome(guard, url);
    EXPECT_TRUE(IsOwnAddress(outcome)) << url << ": " << outcome;
  }
  EXPECT_EQ(Outcome(guard, "http://127.0.0.1:8080/x"),
            "the sandbox's own address 127.0.0.1:8080 (it listens on 127.0.0.1:8080); a "
            "notification must not call the sandbox's own API");
  // Refused as malformed before any resolution: never dialled either.
  for (const char* url : {"http://127.1:8080/", "http://2130706433:8080/",
                          "http://0x7f000001:8080/", "http://0x7f.1:8080/",
                          "http://localhost.:8080/", "http://[::1%lo]:8080/"}) {
    const std::string outcome = Outcome(guard, url);
    EXPECT_EQ(outcome.rfind("OK", 0), std::string::npos) << url << ": " << outcome;
  }
  // Listening on loopback, all of loopback on that port counts as the
  // sandbox (127.0.0.2, ::1: on the safe side).
  EXPECT_TRUE(IsOwnAddress(Outcome(guard, "http://127.0.0.2:8080/")));
  EXPECT_TRUE(IsOwnAddress(Outcome(guard, "http://[::1]:8080/")));
  // Another port is a local receiver as before.
  EXPECT_EQ(Outcome(guard, "http://127.0.0.1:9000/notify"), "OK: 127.0.0.1");
  EXPECT_EQ(Outcome(guard, "http://localhost:9000/notify"), "OK: 127.0.0.1");
  // A name with another, allowed address is dialled on that one.
  EXPECT_EQ(Outcome(guard, "http://split.test:8080/notify"), "OK: 10.1.2.3");
}

TEST(UrlGuardOwnAddress, ListeningOnEveryAddressRefusesEveryLocalAddress) {
  for (const char* listen : {"0.0.0.0", "::", "[::]"}) {
    SCOPED_TRACE(listen);
    UrlGuard guard = OwnGuard(listen);
    for (const char* url : {"http://127.0.0.1:8080/", "http://127.0.0.2:8080/",
                            "http://[::1]:8080/", "http://localhost:8080/",
                            "http://192.0.2.7:8080/", "http://lan.test:8080/",
                            "http://[2001:db8::7]:8080/", "http://[::ffff:192.0.2.7]:8080/",
                            "http://0.0.0.0:8080/"}) {
      const std::string outcome = Outcome(guard, url);
      EXPECT_TRUE(IsOwnAddress(outcome)) << url << ": " << outcome;
    }
    EXPECT_EQ(Outcome(guard, "http://192.0.2.7:9000/"), "OK: 192.0.2.7");
  }
}

TEST(UrlGuardOwnAddress, ListeningOnANameRefusesWhatItResolvesTo) {
  UrlGuard guard = OwnGuard("localhost");
  EXPECT_TRUE(IsOwnAddress(Outcome(guard, "http://[::1]:8080/")));
  EXPECT_TRUE(IsOwnAddress(Outcome(guard, "http://127.0.0.1:8080/")));
  // Not bound there: 192.0.2.7 is another interface.
  EXPECT_EQ(Outcome(guard, "http://192.0.2.7:8080/"), "OK: 192.0.2.7");
}

TEST(UrlGuardOwnAddress, NothingIsRefusedBeforeTheListenerIsKnown) {
  UrlGuardOptions options;
  options.allow = {"127.0.0.1"};
  UrlGuard guard(options);
  EXPECT_EQ(Outcome(guard, "http://127.0.0.1:8080/"), "OK: 127.0.0.1");
  ASSERT_TRUE(guard.SetOwnListener("127.0.0.1", 8080).ok());
  EXPECT_TRUE(IsOwnAddress(Outcome(guard, "http://127.0.0.1:8080/")));
  EXPECT_EQ(guard.SetOwnListener("127.0.0.1", 0).code(), ErrorCode::kInvalidField);
}

TEST(UrlGuardCidr, Ipv4Boundaries) {
  UrlGuard guard = Guard({"10.0.0.0/8", "192.168.1.128/25", "203.0.113.7/32"}, false);
  EXPECT_EQ(Outcome(guard, "http://10.0.0.0/"), "OK: 10.0.0.0");
  EXPECT_EQ(Outcome(guard, "http://10.255.255.255/"), "OK: 10.255.255.255");
  EXPECT_EQ(Outcome(guard, "http://11.0.0.0/"), "11.0.0.0 is not in the allow-list (--notify-allow 11.0.0.0, or notify_allow in t"
            "he config, permits it)");
  EXPECT_EQ(Outcome(guard, "http://9.255.255.255/"), "9.255.255.255 is not in the allow-list (--notify-allow 9.255.255.255, or notify_"
            "allow in the config, permits it)");
  EXPECT_EQ(Outcome(guard, "http://192.168.1.128/"), "OK: 192.168.1.128");
  EXPECT_EQ(Outcome(guard, "http://192.168.1.255/"), "OK: 192.168.1.255");
  EXPECT_EQ(Outcome(guard, "http://192.168.1.127/"), "192.168.1.127 is not in the allow-list (--notify-allow 192.168.1.127, or notify_"
            "allow in the config, permits it)");
  EXPECT_EQ(Outcome(guard, "http://203.0.113.7/"), "OK: 203.0.113.7");
  EXPECT_EQ(Outcome(guard, "http://203.0.113.8/"), "203.0.113.8 is not in the allow-list (--notify-allow 203.0.113.8, or notify_allo"
            "w in the config, permits it)");
}

TEST(UrlGuardCidr, HostBitsAreMaskedAndZeroPrefixMatchesAll) {
  EXPECT_EQ(Outcome(Guard({"10.1.2.3/8"}, false), "http://10.200.0.1/"), "OK: 10.200.0.1");
  EXPECT_EQ(Outcome(Guard({"0.0.0.0/0"}, false), "http://198.51.100.1/"), "OK: 198.51.100.1");
  EXPECT_EQ(Outcome(Guard({"0.0.0.0/0"}, false), "http://[2001:db8::1]/"),
            "2001:db8::1 is not in the allow-list (--notify-allow 2001:db8::1, or notify_allo"
            "w in the config, permits it)");
}

TEST(UrlGuardCidr, Ipv6) {
  UrlGuard guard = Guard({"2001:db8::/33", "[2001:db9::1]"}, false);
  EXPECT_EQ(Outcome(guard, "http://[2001:db8:7fff::1]/"), "OK: 2001:db8:7fff::1");
  EXPECT_EQ(Outcome(guard, "http://[2001:db8:8000::1]/"),
            "2001:db8:8000::1 is not in the allow-list (--notify-allow 2001:db8:8000::1, or n"
            "otify_allow in the config, permits it)");
  EXPECT_EQ(Outcome(guard, "http://v6.test/"), "OK: 2001:db8::5");
  EXPECT_EQ(Outcome(guard, "http://[2001:DB9::1]/"), "OK: 2001:db9::1");
  EXPECT_EQ(Outcome(guard, "http://[2001:db9::2]/"), "2001:db9::2 is not in the allow-list (--notify-allow 2001:db9::2, or notify_allo"
            "w in the config, permits it)");
  EXPECT_EQ(Outcome(guard, "http://10.0.0.1/"), "10.0.0.1 is not in the allow-list (--notify-allow 10.0.0.1, or notify_allow in t"
            "he config, permits it)");
}

TEST(UrlGuardCidr, Ipv4MappedComparesAsIpv4) {
  EXPECT_EQ(Outcome(Guard({"10.0.0.0/8"}, false), "http://[::ffff:10.1.1.1]/"),
            "OK: ::ffff:10.1.1.1");
  EXPECT_EQ(Outcome(Guard({"::ffff:10.0.0.0/104"}, false), "http://10.2.2.2/"), "OK: 10.2.2.2");
  EXPECT_EQ(Outcome(Guard({"::ffff:10.0.0.0/104"}, false), "http://11.2.2.2/"),
            "11.2.2.2 is not in the allow-list (--notify-allow 11.2.2.2, or notify_allow in t"
            "he config, permits it)");
  EXPECT_EQ(Outcome(Guard({"10.0.0.0/8"}, false), "http://[::ffff:169.254.169.254]/"),
            "::ffff:169.254.169.254 is link-local (169.254.0.0/16, cloud metadata) and refused "
            "unless listed as a CIDR");
}

TEST(UrlGuardAllowList, ReportsBadEntries) {
  EXPECT_TRUE(Guard({"merchant.test", "10.0.0.0/8", "::1/128"}).CheckAllowList().ok());
  Status s = Guard({"10.0.0.0/33"}).CheckAllowList();
  EXPECT_EQ(s.code(), ErrorCode::kInvalidField);
  EXPECT_EQ(s.message(), "allow entry 10.0.0.0/33: prefix /33 is not in 0-32");
  EXPECT_EQ(Guard({"::/129"}).CheckAllowList().message(),
            "allow entry ::/129: prefix /129 is not in 0-128");
  EXPECT_EQ(Guard({"10.0.0/8"}).CheckAllowList().message(),
            "allow entry 10.0.0/8: 10.0.0 is not an IP address");
  EXPECT_EQ(Guard({"bad host"}).CheckAllowList().message(),
            "allow entry bad host: host bad host contains ' ' (expected letters, digits, '-' or "
            "'.')");
  // A bad entry allows nothing.
  EXPECT_EQ(Outcome(Guard({"10.0.0.0/33"}), "http://10.0.0.1/"),
            "10.0.0.1 is not in the allow-list (--notify-allow 10.0.0.1, or notify_allow in t"
            "he config, permits it)");
}

TEST(UrlGuardAllowList, AllowHostOfAddsTheHost) {
  UrlGuard guard = Guard({}, false);
  guard.AllowHostOf("https://Merchant.test:8443/notify");
  guard.AllowHostOf("http://[2001:db8::9]/x");
  guard.AllowHostOf("ftp://bad/");
  EXPECT_EQ(Outcome(guard, "http://merchant.test/other"), "OK: 10.1.2.3");
  EXPECT_EQ(Outcome(guard, "http://[2001:db8::9]/"), "OK: 2001:db8::9");
  EXPECT_EQ(guard.CheckAllowList().message(),
            "configured URL ftp://bad/: scheme ftp is not allowed (only http and https)");
}

TEST(UrlGuardResolve, ResolverIsNotCalledForIpLiterals) {
  UrlGuardOptions options;
  int calls = 0;
  options.resolve = [&](const std::string&) -> StatusOr<std::vector<std::string>> {
    ++calls;
    return std::vector<std::string>{"127.0.0.1"};
  };
  UrlGuard guard(std::move(options));
  EXPECT_TRUE(guard.Resolve("http://127.0.0.1:1/").ok());
  EXPECT_EQ(calls, 0);
}

TEST(UrlGuardResolve, DefaultResolverResolvesLocalhost) {
  UrlGuard guard(UrlGuardOptions{});
  auto r = guard.Resolve("http://localhost:8080/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->connect_ip == "127.0.0.1" || r->connect_ip == "::1") << r->connect_ip;
}

}  // namespace
}  // namespace vkspay::sandbox
