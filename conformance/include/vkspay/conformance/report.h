// Reports of a conformance run: a console table, JUnit XML and JSON. Pure
// functions of a Report (no I/O besides the explicit file writer).
#ifndef VKSPAY_CONFORMANCE_REPORT_H_
#define VKSPAY_CONFORMANCE_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "vkspay/conformance/runner.h"
#include "vkspay/protocol/status.h"
#include "vkspay/text.h"

namespace vkspay::conformance {

struct Report {
  std::string mode;        // "server" or "merchant"
  std::string target;      // the base URL or notify URL graded
  std::string started_at;  // ISO 8601 UTC
  double seconds = 0;
  std::vector<CaseResult> results;
  // A skip makes the run incomplete (exit 3): merchant mode, where every skip
  // is for want of input (--order), unless --allow-skip.
  bool skip_is_incomplete = false;
};

struct Counts {
  int total = 0, pass = 0, warn = 0, fail = 0, skip = 0;
};
Counts CountVerdicts(const Report& report);

// 1 when a case failed; else 3 when a case was skipped and
// skip_is_incomplete is set; else 0 (warnings, and skips otherwise, do not
// fail a run).
int ExitCodeFor(const Report& report);

// XmlEscape (vkspay/text.h) escapes report text for the JUnit file.

// JUnit XML: <testsuites> with one <testsuite> per group ("signing", ...),
// one <testcase name="<id>" classname="vkspay-conformance.<mode>.<group>">
// per case; a Fail has <failure message=...>, a Skip <skipped message=...>,
// a Warn passes and carries <system-out>WARN: reason</system-out> and a
// property verdict=WARN. Counts in the suite attributes match the children.
std::string JUnitXml(const Report& report);

// {"mode", "target", "started_at", "seconds", "counts": {...},
//  "results": [{"id","group","summary","verdict","reason","seconds"}]}.
// Invalid UTF-8 in reasons is replaced by U+FFFD.
std::string JsonReport(const Report& report);

// The console summary: one row per case (verdict, id, reason wrapped at
// spaces onto continuation lines, indented to the reason column, so every row
// stays within `width` code points) and a totals line.
std::string ConsoleTable(const Report& report, size_t width = 120);

// Writes `content` to `path` (truncating). Errors: kInternal naming the path.
Status WriteFile(const std::string& path, std::string_view content);

}  // namespace vkspay::conformance

#endif  // VKSPAY_CONFORMANCE_REPORT_H_
