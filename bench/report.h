// The report of a vkspay-bench run: targets from the issue checked against
// the figures, and the three files a run writes (JSON, Markdown, SVG chart).
#ifndef VKSPAY_BENCH_REPORT_H_
#define VKSPAY_BENCH_REPORT_H_

#include <string>

#include "bench/bench_common.h"

namespace vkspay::bench {

// The targets for a 2-core machine, each with what was measured,
// "met" and by how much it is met or missed. Targets whose section did not
// run are left out.
Json EvaluateTargets(const Json& report);

std::string RenderMarkdown(const Json& report, const std::string& svg_name);
std::string RenderSvg(const Json& report);

// Writes <dir>/<base>.json, .md and .svg (creating dir). Returns an error
// text or "".
std::string WriteReport(const Json& report, const std::string& dir, const std::string& base);

// "2026-12-01-<host>" for today (UTC).
std::string DefaultReportBase();

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_REPORT_H_
