#include "vkspay/conformance/runner.h"

#include <chrono>
#include <exception>
#include "vkspay/text.h"

namespace vkspay::conformance {

std::string GroupOf(std::string_view id) {
  const size_t slash = id.find('/');
  return std::string(slash == std::string_view::npos ? id : id.substr(0, slash));
}

namespace {

bool MatchesOne(std::string_view id, std::string_view pattern) {
  if (pattern.find_first_of("*?") != std::string_view::npos) return GlobMatch(pattern, id);
  return id.substr(0, pattern.size()) == pattern;
}

}  // namespace

bool MatchesFilter(std::string_view id, std::string_view filter) {
  if (filter.empty()) return true;
  size_t start = 0;
  while (start <= filter.size()) {
    size_t comma = filter.find(',', start);
    if (comma == std::string_view::npos) comma = filter.size();
    std::string_view pattern = filter.substr(start, comma - start);
    while (!pattern.empty() && pattern.front() == ' ') pattern.remove_prefix(1);
    while (!pattern.empty() && pattern.back() == ' ') pattern.remove_suffix(1);
    if (!pattern.empty() && MatchesOne(id, pattern)) return true;
    start = comma + 1;
  }
  return false;
}

std::vector<CaseResult> RunCases(const std::vector<Case>& cases, std::string_view filter,
                                 const std::function<void(const CaseResult&)>& on_result) {
  std::vector<CaseResult> results;
  for (const Case& c : cases) {
    if (!MatchesFilter(c.id, filter)) continue;
    CaseResult r;
    r.id = c.id;
    r.summary = c.summary;
    const auto start = std::chrono::steady_clock::now();
    try {
      r.outcome = c.run ? c.run() : Outcome::Skip("case has no body");
    } catch (const std::exception& e) {
      r.outcome = Outcome::Fail(std::string("the case threw (a bug in the suite): ") + e.what());
    } catch (...) {
      r.outcome = Outcome::Fail("the case threw (a bug in the suite)");
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (on_result) on_result(r);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace vkspay::conformance
