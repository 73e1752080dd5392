// Shared pieces of vkspay-bench: figures with their spread, latency
// percentiles, a child vkspay-sandbox process, signed request bodies, a
// progress bar, XML escaping. Not thread-safe unless a comment says so.
#ifndef VKSPAY_BENCH_BENCH_COMMON_H_
#define VKSPAY_BENCH_BENCH_COMMON_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "vkspay/text.h"

namespace vkspay::bench {

using Json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

inline constexpr char kMerchantNo[] = "10001";
inline constexpr char kMerchantKey[] = "sandbox-demo-key-0123456789abcdef";

// Nanoseconds on the steady clock (comparable across threads of this process).
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}
inline int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One figure over several repetitions: median, min, max.
struct Figure {
  double median = 0, min = 0, max = 0;
  int n = 0;
};
Figure Summarize(std::vector<double> values);
Json ToJson(const Figure& f);

// The q-quantile (0..1) of latency samples in nanoseconds, in milliseconds;
// nearest-rank. 0 for no samples. Reorders `ns`.
double PercentileMs(std::vector<int64_t>& ns, double q);

// What one repetition of one measured configuration gave.
struct RepResult {
  double throughput = 0;  // per second
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  int64_t count = 0;  // requests or notifications measured
  int64_t errors = 0;
  Json extra = Json::object();  // anything else, per repetition
};

// A measured configuration over its repetitions, as the report shows it.
struct Run {
  std::string section;      // "api", "notify", "scale"
  std::string name;         // "webpay", "health", ...
  std::string unit;         // "req/s", "notifications/s"
  bool baseline = false;    // the same-run reference of its section
  std::string description;  // one line: what was measured
  std::vector<RepResult> reps;
  Json extra = Json::object();
};
// {"section", "name", ..., "throughput":{median,min,max}, "latency_ms":{...}, "errors", "reps":[]}
Json ToJson(const Run& run);

// A unique 8-digit nonce of digits 1-9 (the sandbox's strict format), from a
// process-wide counter: never repeats within 9^8 calls. Thread-safe.
std::string NextNonce();

// Signed JSON bodies for POST /api (demo merchant, current unix time).
std::string SignedWebPay(const std::string& out_trade_no, const std::string& notify_url,
                         int64_t total_fee_fen = 1);
// The same for any merchant.
std::string SignedWebPayFor(const std::string& merchantno, const std::string& key,
                            const std::string& out_trade_no, const std::string& notify_url,
                            int64_t total_fee_fen);
std::string SignedOrderQuery(const std::string& out_trade_no);

// A temporary directory removed (with its content) when destroyed, unless
// `keep`.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// A vkspay-sandbox child process on 127.0.0.1 with a free port. Its stdout
// is read for the ready line; stderr goes to <dir>/sandbox.log. The
// destructor stops it (SIGTERM, then SIGKILL after 10 s) and reaps it.
class SandboxProcess {
 public:
  SandboxProcess() = default;
  ~SandboxProcess();
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  // Starts `binary --listen <listen> --db <db> --quiet <extra_args>` and
  // waits (up to 60 s) for its ready line. `listen` must be on 127.0.0.1.
  // Returns an error text (with the end of the sandbox's log when it
  // exited), or "" on success.
  std::string Start(const std::string& binary, const std::string& db, const std::string& dir,
                    const std::vector<std::string>& extra_args,
                    const std::string& listen = "127.0.0.1:0");
  // SIGTERM and wait; returns the exit status text ("exit 0", "signal 9").
  std::string Stop();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Fork to ready line, milliseconds.
  double startup_ms() const { return startup_ms_; }
  // /proc/<pid>/status VmHWM and VmRSS in MiB (0 if unreadable).
  double PeakRssMiB() const;
  double RssMiB() const;
  std::string log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
  double startup_ms_ = 0;
  std::string log_path_;
};

// CPU seconds (user + system) a process has used so far: /proc/<pid>/stat
// for another process (0 if unreadable), getrusage for this one.
double ProcessCpuSeconds(pid_t pid);
double SelfCpuSeconds();

// SIGINT/SIGTERM to the bench first SIGTERM every live SandboxProcess.
void InstallSignalHandlers();

// Where the sandbox (and protocol_bench) binary is: --sandbox if given; else
// beside this binary (bin/, or lib/vkspay-sandbox/ of an installed package);
// else the build tree's path CMake configured; else ../sandbox/. "" if none.
std::string FindSandboxBinary(const std::string& flag);
std::string FindProtocolBench(const std::string& flag);

// A one-line progress bar on stderr ("[#####.....] 12/40 api webpay 2/3").
// Thread-safe.
class Progress {
 public:
  static Progress& Get();
  void SetTotal(int total);
  void Step(const std::string& what);  // starts step `what`
  void Note(const std::string& what);  // redraws with a new text, same step
  void Finish();
  bool enabled = true;

 private:
  void Draw();
  int total_ = 0, done_ = -1;
  std::string what_;
  SteadyClock::time_point start_ = SteadyClock::now();
};

// Runs `fn(thread_index)` on `threads` threads and joins them.
void RunThreads(int threads, const std::function<void(int)>& fn);

// The current UTC time through strftime's `format` ("%Y-%m-%dT%H:%M:%SZ").
std::string UtcNow(const char* format);

// A figure for a report: `digits` decimals, or (-1) 0-3 by magnitude;
// whole numbers of 10,000 and more get thousands separators.
std::string FormatFigure(double v, int digits = -1);

// SVG and JUnit text: XmlEscape(text, /*attribute=*/true) from vkspay/text.h.

// Host name, CPU count, kernel, compiler, build type for the report.
Json MachineInfo();

// The size of a file plus its -wal and -shm companions, bytes.
int64_t DbBytes(const std::string& db);

}  // namespace vkspay::bench

#endif  // VKSPAY_BENCH_BENCH_COMMON_H_
