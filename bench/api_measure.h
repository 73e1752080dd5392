// The API measurement shared by `api` and `scale`.
#ifndef VKSPAY_BENCH_API_MEASURE_H_
#define VKSPAY_BENCH_API_MEASURE_H_

#include <functional>
#include <random>
#include <string>

#include "bench/bench_common.h"
#include "bench/sections.h"

namespace vkspay::bench {

struct ApiRuns {
  Run health, webpay, orderquery;
};

// `reps` rounds of health, webpay, orderquery against 127.0.0.1:port.
// orderquery asks for preloaded_order(rng) if set, else for orders the webpay
// runs created. pid: the sandbox's, for CPU per request. New order numbers start with `prefix`
// (unique per database).
void MeasureApi(int port, pid_t pid, const ApiOptions& options, int reps, const std::string& prefix,
                const std::function<std::string(std::mt19937_64&)>& preloaded_order, ApiRuns* out);

// {"webpay_vs_health": ..., "orderquery_vs_health": ...} from the medians.
Json ApiRatios(const ApiRuns& runs);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_API_MEASURE_H_
