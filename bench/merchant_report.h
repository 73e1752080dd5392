// The report of `vkspay-bench merchant` (a merchant's own notify handler
// under load): Markdown, SVG and JUnit renderings of the run's JSON, and the
// files a run writes. Pure functions of the JSON; no I/O but WriteMerchantReport.
//
// The JSON ("schema": "vkspay-bench-merchant/1"); every figure in ms is a
// double, counts are integers; absent parts are null or missing:
//
//   "generated_at", "command", "machine" (as vkspay-bench's MachineInfo)
//   "target":  {"notify_url", "merchantno", "sandbox" ("started at <url>" or the
//               --base-url), "state_url" ("" if none)}
//   "load":    {"model": "open"|"ramp"|"closed", "rate", "rate_to", "step",
//               "step_duration_s", "concurrency", "duration_s", "count",
//               "warmup_s", "drain_s", "duplicates", "notify_profile",
//               "time_scale", "seed"}
//   "window":  {"measured_s", "drain_waited_s"}
//   "results": {"scheduled", "measured" (scheduled after the warm-up),
//               "acked", "acked_per_s",
//               "latency_ms": {"from_schedule": L, "send_to_ack": L},
//                 L = {"count","mean","p50","p90","p99","p999","max"}
//               "attempts", "retries", "duplicates_sent", "duplicates_acked",
//               "non_acks": {"connect_error","timeout","http_status",
//                            "wrong_ack_body","other"},
//               "http_statuses": {"500": n, ...}, "non_ack_examples": [text],
//               "error_rate" (non-acked attempts / attempts, 0..1),
//               "late_payments", "pay_lag_ms": {"p99","max"},
//               "orderquery_callbacks": {"count","per_notification","errors",
//                                        "latency_ms": {"p50","p99","max"}}}
//   "ledger":  {"scheduled","acked","failed","pending","blocked","dropped",
//               "balanced": bool, "void_reasons": [text]}
//   "sandbox": {"cores", "cpu_percent": {"mean","max"} (100 = one core),
//               "queue_depth": {"mean","max"},
//               "ceiling": {"orders","rate_per_s","p99_ms","error"} or null,
//               "limit": "handler"|"sandbox"|"unclear", "limit_reason"}
//   "exactly_once": {"checked","violations","examples":[text]} or null
//   "steps":   [{"rate","start_s","duration_s","scheduled","acked",
//                "acked_per_s","p50_ms","p99_ms","non_acks"}]  (one per ramp
//               step; one step for open and closed runs)
//   "series":  [{"t" (s since the first scheduled payment),"scheduled",
//                "acked","non_acks","p50_ms","p99_ms","max_ms",
//                "sandbox_cpu_percent","queue_depth"}]  one per second
//   "histogram": [{"from_ms","to_ms","count"}]  from-schedule latency,
//               non-empty buckets, ascending
//   "histogram_kind": text saying how the buckets are laid out
//   "thresholds": [{"name","flag","expected","measured","passed": bool}]
//   "verdict": {"exit_code", "text", "hint"} (hint: "" or a question about
//               the likely cause of non-acks, merchant.h's NonAckHint)
#ifndef VKSPAY_BENCH_MERCHANT_REPORT_H_
#define VKSPAY_BENCH_MERCHANT_REPORT_H_

#include <string>

#include "bench/bench_common.h"

namespace vkspay::bench {

// What the ledger says about acks, in the verdict's words: "" when some
// notification was acked and none is left unacked; else "nothing was acked:
// ..." or "N of M notifications still unacked after the drain (P pending,
// ...)" (M: payments the sandbox took; the unacked are failed, blocked and
// pending).
std::string UnackedText(const Json& ledger);

// What a reader needs first: the verdict (and its hint), figures, non-acks, ledger, the
// sandbox's headroom, thresholds, steps; links `svg_name`.
std::string RenderMerchantMarkdown(const Json& report, const std::string& svg_name);

// Three panels: latency over time (p50, p99, max per second, log axis), the
// latency histogram (log axis), scheduled and acked per second.
std::string RenderMerchantSvg(const Json& report);

// A JUnit XML testsuite "vkspay-bench merchant": one testcase per threshold,
// plus "ledger balances", "every notification acked" (with a ledger; its
// failure is UnackedText and the verdict's hint) and, with exactly_once,
// "each order processed exactly once"; a missed one is a <failure> saying
// expected and measured.
std::string RenderMerchantJUnit(const Json& report);

// Writes <dir>/<base>.json, .md and .svg (creating dir). Returns an error
// text or "".
std::string WriteMerchantReport(const Json& report, const std::string& dir,
                                const std::string& base);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_MERCHANT_REPORT_H_
