// vkspay-bench micro: protocol_bench's JSON output, summarised.
#include <cstdio>
#include <map>

#include "bench/sections.h"

namespace vkspay::bench {

namespace {

double ToNs(double t, const std::string& unit) {
  if (unit == "us") return t * 1e3;
  if (unit == "ms") return t * 1e6;
  if (unit == "s") return t * 1e9;
  return t;
}

}  // namespace

Json RunMicro(const std::string& protocol_bench, int reps, double min_time_s) {
  Progress::Get().Step("micro protocol_bench");
  char min_time[32];
  std::snprintf(min_time, sizeof min_time, "%g", min_time_s);
  const std::string cmd =
      "'" + protocol_bench +
      "' --benchmark_format=json --benchmark_repetitions=" + std::to_string(reps) +
      " --benchmark_min_time=" + min_time + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return Json{{"error", "cannot run " + protocol_bench}};
  std::string out;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  Json parsed = Json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (status != 0 || parsed.is_discarded() || !parsed.contains("benchmarks")) {
    return Json{{"error", "protocol_bench failed (exit " + std::to_string(status) +
                              ") or printed no JSON: " + cmd}};
  }
  // Iterations only (the aggregates are recomputed as median/min/max).
  std::map<std::string, std::vector<double>> ns;
  std::map<std::string, double> bytes;
  std::vector<std::string> order;
  for (const Json& b : parsed["benchmarks"]) {
    if (b.value("run_type", "iteration") != "iteration") continue;
    const std::string name = b.value("run_name", b.value("name", ""));
    if (!ns.count(name)) order.push_back(name);
    ns[name].push_back(ToNs(b.value("real_time", 0.0), b.value("time_unit", "ns")));
    if (b.contains("bytes")) bytes[name] = b["bytes"].get<double>();
  }
  Json benchmarks = Json::array();
  std::map<std::string, double> median;
  for (const std::string& name : order) {
    Figure f = Summarize(ns[name]);
    median[name] = f.median;
    Json j{{"name", name}, {"ns", ToJson(f)}};
    if (bytes.count(name)) j["bytes"] = bytes[name];
    benchmarks.push_back(j);
  }
  Json ratios;
  auto ratio = [&](const char* key, const char* fast, const char* slow) {
    if (median.count(fast) && median.count(slow) && median[slow] > 0) {
      ratios[key] = median[fast] / median[slow];
    }
  };
  // Fraction of the hashing limit: raw MD5 time / signing time, same bytes.
  ratio("sign_typical_vs_md5", "BM_Md5RawTypical", "BM_SignTypical");
  ratio("sign_large_vs_md5", "BM_Md5RawLarge", "BM_SignLarge");
  // Speed-up of the form encoder: httplib's time / ours (the "fast" slot
  // holds the numerator).
  ratio("form_encoder_speedup", "BM_FormEncodeHttplib", "BM_FormEncodeOnly");
  Json j;
  j["benchmarks"] = benchmarks;
  j["ratios"] = ratios;
  j["settings"] = {{"reps", reps}, {"min_time_s", min_time_s}, {"binary", protocol_bench}};
  if (parsed.contains("context")) j["context"] = parsed["context"];
  return j;
}

}  // namespace vkspay::bench
