#include "bench/load.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace vkspay::bench {

RepResult RunLoad(int port, const LoadSpec& spec) {
  struct PerThread {
    std::vector<int64_t> lat_ns;
    int64_t measured = 0;
    int64_t errors = 0;
  };
  std::vector<PerThread> per(static_cast<size_t>(spec.threads));
  std::mutex err_mu;
  Json first_errors = Json::array();
  auto note_error = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(err_mu);
    if (first_errors.size() < 5) first_errors.push_back(what.substr(0, 300));
  };
  const int64_t start = NowNs();
  const int64_t measure_from = start + static_cast<int64_t>(spec.warmup_s * 1e9);
  const int64_t end = measure_from + static_cast<int64_t>(spec.duration_s * 1e9);
  std::atomic<bool> cpu_marked{false};
  double client_cpu0 = 0, server_cpu0 = 0, client_cpu1 = 0, server_cpu1 = 0;
  // A watcher samples CPU at the start and end of the measured part.
  std::thread watcher([&] {
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::max<int64_t>(0, measure_from - NowNs())));
    client_cpu0 = SelfCpuSeconds();
    server_cpu0 = ProcessCpuSeconds(spec.server_pid);
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(0, end - NowNs())));
    client_cpu1 = SelfCpuSeconds();
    server_cpu1 = ProcessCpuSeconds(spec.server_pid);
    cpu_marked = true;
  });
  RunThreads(spec.threads, [&](int t) {
    PerThread& me = per[static_cast<size_t>(t)];
    me.lat_ns.reserve(1 << 16);
    httplib::Client client("127.0.0.1", port);
    client.set_tcp_nodelay(true);
    client.set_keep_alive(true);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(10, 0);
    client.set_write_timeout(10, 0);
    for (uint64_t i = 0;; ++i) {
      std::string body;
      if (spec.post && spec.body) body = spec.body(t, i);
      const int64_t t0 = NowNs();
      if (t0 >= end) break;
      httplib::Result res = spec.post
                                ? client.Post(spec.path.c_str(), body, spec.content_type.c_str())
                                : client.Get(spec.path.c_str());
      const int64_t t1 = NowNs();
      bool good = false;
      if (!res) {
        note_error("transport: " + httplib::to_string(res.error()));
      } else if (res->status != 200) {
        note_error("HTTP " + std::to_string(res->status) + ": " + res->body);
      } else if (spec.ok && !spec.ok(t, i, res->body)) {
        note_error("unexpected answer: " + res->body);
      } else {
        good = true;
      }
      if (!good) ++me.errors;
      if (t0 >= measure_from) {
        ++me.measured;
        me.lat_ns.push_back(t1 - t0);
      }
    }
  });
  watcher.join();
  RepResult r;
  std::vector<int64_t> all;
  for (PerThread& p : per) {
    r.count += p.measured;
    r.errors += p.errors;
    all.insert(all.end(), p.lat_ns.begin(), p.lat_ns.end());
  }
  const double secs = static_cast<double>(end - measure_from) / 1e9;
  r.throughput = static_cast<double>(r.count) / secs;
  r.p50_ms = PercentileMs(all, 0.50);
  r.p99_ms = PercentileMs(all, 0.99);
  r.p999_ms = PercentileMs(all, 0.999);
  if (cpu_marked && r.count > 0) {
    r.extra["client_cpu_us_per_req"] =
        (client_cpu1 - client_cpu0) * 1e6 / static_cast<double>(r.count);
    if (spec.server_pid > 0) {
      r.extra["server_cpu_us_per_req"] =
          (server_cpu1 - server_cpu0) * 1e6 / static_cast<double>(r.count);
      r.extra["server_cpu_cores"] = (server_cpu1 - server_cpu0) / secs;
    }
    r.extra["client_cpu_cores"] = (client_cpu1 - client_cpu0) / secs;
  }
  if (!first_errors.empty()) r.extra["first_errors"] = first_errors;
  return r;
}

}  // namespace vkspay::bench
