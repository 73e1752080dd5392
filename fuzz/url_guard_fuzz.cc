// The outbound URL guard (sandbox/notify/url_guard.h), parsing part only: the
// resolver is injected, no DNS. Input lines: the URL, then what the resolver
// answers (one address per line; lines starting "allow " are allow-list
// entries instead). Properties: an allowed target passed CheckSyntax, has a
// port in 1..65535 and connects to an address the resolver gave (or the
// numeric host); with an empty allow-list only loopback is ever allowed; a
// refusal is NOTIFY_URL_REFUSED (or INVALID_FIELD for the URL) with a reason.
#include <arpa/inet.h>

#include <algorithm>

#include "fuzz/fuzz_check.h"
#include "sandbox/notify/url_guard.h"

using namespace vkspay;
using namespace vkspay::sandbox;

namespace {

bool IsLoopbackText(std::string ip) {
  if (!ip.empty() && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
  static const uint8_t kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (std::equal(v6.s6_addr, v6.s6_addr + 16, kLoop)) return true;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(v6.s6_addr, v6.s6_addr + 12, kMapped) && v6.s6_addr[12] == 127;
}

void CheckRefusal(const Status& st) {
  FUZZ_CHECK(st.code() == ErrorCode::kNotifyUrlRefused || st.code() == ErrorCode::kInvalidField,
             st.ToString());
  FUZZ_CHECK(!st.message().empty(), "refused without a reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  const std::string url(fuzz::TakeLine(&text));
  std::vector<std::string> answers;
  std::vector<std::string> allow;
  while (!text.empty()) {
    std::string line(fuzz::TakeLine(&text));
    if (line.rfind("allow ", 0) == 0) {
      allow.push_back(line.substr(6));
    } else {
      answers.push_back(line);
    }
  }
  auto resolver = [&answers](const std::string&) -> StatusOr<std::vector<std::string>> {
    if (answers.empty()) return Status(ErrorCode::kNotFound, "no such host");
    return answers;
  };

  UrlGuardOptions listed;
  listed.allow = allow;
  listed.resolve = resolver;
  UrlGuard guard(listed);
  Status list = guard.CheckAllowList();
  FUZZ_CHECK(list.ok() || list.code() == ErrorCode::kInvalidField, list.ToString());

  Status syntax = guard.CheckSyntax(url);
  StatusOr<OutboundTarget> target = guard.Resolve(url);
  if (target.ok()) {
    FUZZ_CHECK(syntax.ok(), url);
    FUZZ_CHECK(target->port >= 1 && target->port <= 65535, std::to_string(target->port));
    FUZZ_CHECK(!target->path.empty() && target->path.front() == '/', target->path);
    bool from_resolver =
        std::find(answers.begin(), answers.end(), target->connect_ip) != answers.end();
    FUZZ_CHECK(from_resolver || target->connect_ip == target->host ||
                   "[" + target->connect_ip + "]" == target->host,
               "connects to " + target->connect_ip + ", which nobody gave");
  } else {
    CheckRefusal(target.status());
  }

  // Nothing listed: only loopback may ever be reached.
  UrlGuardOptions bare;
  bare.resolve = resolver;
  UrlGuard strict(bare);
  StatusOr<OutboundTarget> t2 = strict.Resolve(url);
  if (t2.ok()) {
    FUZZ_CHECK(IsLoopbackText(t2->connect_ip), url + " reaches " + t2->connect_ip);
  } else {
    CheckRefusal(t2.status());
  }
  return 0;
}
