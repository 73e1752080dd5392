// Cases and the runner: a case is a stable id, a one-line summary and a
// function that returns an Outcome. The runner filters, runs in order and
// times them. Not thread-safe: one runner runs one suite on one thread.
#ifndef VKSPAY_CONFORMANCE_RUNNER_H_
#define VKSPAY_CONFORMANCE_RUNNER_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vkspay/conformance/verdict.h"

namespace vkspay::conformance {

struct Case {
  std::string id;       // stable, "group/name" (e.g. "signing/uppercase-sign-refused")
  std::string summary;  // what it checks, one line
  std::function<Outcome()> run;
};

struct CaseResult {
  std::string id;
  std::string summary;
  Outcome outcome;
  double seconds = 0;
};

// The group of an id: "signing" for "signing/uppercase-sign-refused".
std::string GroupOf(std::string_view id);

// Whether `id` is selected by `filter`: a comma-separated list of patterns,
// each a glob (`*` any run of characters, `?` one) when it holds one of them,
// else a prefix ("signing" and "signing/" select every signing case). An empty
// filter selects everything.
bool MatchesFilter(std::string_view id, std::string_view filter);

// Runs the selected cases in order. A case that throws is a Fail naming the
// exception (cases should not throw; this is the last boundary). `on_result`,
// if set, is called after each case (for progress output).
std::vector<CaseResult> RunCases(const std::vector<Case>& cases, std::string_view filter,
                                 const std::function<void(const CaseResult&)>& on_result = {});

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_RUNNER_H_
