// Closed-loop HTTP load on 127.0.0.1: N client threads, one keep-alive
// connection each (httplib::Client, TCP_NODELAY), for a fixed time.
#ifndef VKSPAY_BENCH_LOAD_H_
#define VKSPAY_BENCH_LOAD_H_

#include <cstdint>
#include <functional>
#include <string>

#include "bench/bench_common.h"

namespace vkspay::bench {

struct LoadSpec {
  std::string path = "/_sandbox/health";
  bool post = false;
  std::string content_type = "application/json; charset=utf-8";
  // The body of request `i` of `thread` (POST only). Called on that thread.
  std::function<std::string(int thread, uint64_t i)> body;
  // True if the answer is what a success looks like (status is already 200).
  // Called on the client thread. Empty: any 200 passes.
  std::function<bool(int thread, uint64_t i, const std::string& answer)> ok;
  int threads = 8;
  double duration_s = 3;
  double warmup_s = 0.3;  // requests in this first part are sent but not measured
  // The server's pid, for extra.server_cpu_us_per_req (0: not reported).
  pid_t server_pid = 0;
};

// Runs the load against 127.0.0.1:port. throughput = measured requests /
// measured seconds; latency percentiles over every measured request; errors =
// transport failures, non-200 answers and answers `ok` refused (counted in
// warm-up too). extra.first_errors holds up to 5 of them, described;
// extra.client_cpu_us_per_req (this process) and server_cpu_us_per_req
// (server_pid) say where the CPU went during the measured part.
RepResult RunLoad(int port, const LoadSpec& spec);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_LOAD_H_
