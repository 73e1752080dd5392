#include "bench/bench_common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "vkspay/protocol/fields.h"
#include "vkspay/protocol/signature.h"

namespace vkspay::bench {

namespace fs = std::filesystem;

Figure Summarize(std::vector<double> values) {
  Figure f;
  f.n = static_cast<int>(values.size());
  if (values.empty()) return f;
  std::sort(values.begin(), values.end());
  f.min = values.front();
  f.max = values.back();
  const size_t n = values.size();
  f.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return f;
}

namespace {
double Round(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}
}  // namespace

Json ToJson(const Figure& f) {
  return Json{{"median", Round(f.median, 4)}, {"min", Round(f.min, 4)}, {"max", Round(f.max, 4)}};
}

double PercentileMs(std::vector<int64_t>& ns, double q) {
  if (ns.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
  if (rank == 0) rank = 1;
  if (rank > ns.size()) rank = ns.size();
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(rank - 1), ns.end());
  return static_cast<double>(ns[rank - 1]) / 1e6;
}

Json ToJson(const Run& run) {
  std::vector<double> tp, p50, p99, p999;
  int64_t errors = 0, count = 0;
  Json reps = Json::array();
  for (const RepResult& r : run.reps) {
    tp.push_back(r.throughput);
    p50.push_back(r.p50_ms);
    p99.push_back(r.p99_ms);
    p999.push_back(r.p999_ms);
    errors += r.errors;
    count += r.count;
    Json j{{"throughput", Round(r.throughput, 1)},
           {"p50_ms", Round(r.p50_ms, 4)},
           {"p99_ms", Round(r.p99_ms, 4)},
           {"p999_ms", Round(r.p999_ms, 4)},
           {"count", r.count},
           {"errors", r.errors}};
    for (auto& [k, v] : r.extra.items()) j[k] = v;
    reps.push_back(std::move(j));
  }
  Json j{{"section", run.section},
         {"name", run.name},
         {"baseline", run.baseline},
         {"unit", run.unit},
         {"description", run.description},
         {"throughput", ToJson(Summarize(tp))},
         {"latency_ms",
          {{"p50", ToJson(Summarize(p50))},
           {"p99", ToJson(Summarize(p99))},
           {"p999", ToJson(Summarize(p999))}}},
         {"count", count},
         {"errors", errors},
         {"reps", std::move(reps)}};
  for (auto& [k, v] : run.extra.items()) j[k] = v;
  return j;
}

std::string NextNonce() {
  static std::atomic<uint64_t> counter{0};
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) % 43046721;  // 9^8
  std::string s(8, '1');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<size_t>(i)] = static_cast<char>('1' + n % 9);
    n /= 9;
  }
  return s;
}

std::string SignedWebPay(const std::string& out_trade_no, const std::string& notify_url,
                         int64_t total_fee_fen) {
  return SignedWebPayFor(kMerchantNo, kMerchantKey, out_trade_no, notify_url, total_fee_fen);
}

std::string SignedWebPayFor(const std::string& merchantno, const std::string& key,
                            const std::string& out_trade_no, const std::string& notify_url,
                            int64_t total_fee_fen) {
  Fields f{{"method", std::string("webpay")},
           {"merchantno", merchantno},
           {"total_fee", static_cast<double>(total_fee_fen) / 100.0},
           {"notify_url", notify_url},
           {"out_trade_no", out_trade_no},
           {"subject", std::string("bench")},
           {"timestamp", static_cast<double>(UnixSeconds())},
           {"signaturenonce", NextNonce()},
           {"version", std::string("2.0")}};
  return WithSign(std::move(f), key).ToJson();
}

std::string SignedOrderQuery(const std::string& out_trade_no) {
  Fields f{{"method", std::string("orderquery")}, {"merchantno", std::string(kMerchantNo)},
           {"out_trade_no", out_trade_no},        {"timestamp", static_cast<double>(UnixSeconds())},
           {"signaturenonce", NextNonce()},       {"version", std::string("2.0")}};
  return WithSign(std::move(f), kMerchantKey).ToJson();
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    std::perror("vkspay-bench: mkdtemp");
    std::exit(1);
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {
// Live children, so a SIGINT or SIGTERM to the bench stops them too.
constexpr int kMaxChildren = 64;
std::atomic<pid_t> g_children[kMaxChildren];

void TrackChild(pid_t pid, bool live) {
  for (auto& slot : g_children) {
    pid_t expected = live ? 0 : pid;
    if (slot.compare_exchange_strong(expected, live ? pid : 0)) return;
  }
}

extern "C" void StopChildrenAndExit(int sig) {
  for (auto& slot : g_children) {
    const pid_t pid = slot.load();
    if (pid > 0) kill(pid, SIGTERM);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}
}  // namespace

void InstallSignalHandlers() {
  signal(SIGINT, StopChildrenAndExit);
  signal(SIGTERM, StopChildrenAndExit);
}

SandboxProcess::~SandboxProcess() {
  if (pid_ > 0) Stop();
}

std::string SandboxProcess::Start(const std::string& binary, const std::string& db,
                                  const std::string& dir,
                                  const std::vector<std::string>& extra_args,
                                  const std::string& listen) {
  log_path_ = dir + "/sandbox.log";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "pipe failed";
  std::vector<std::string> args = {binary, "--listen", listen, "--db", db, "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const int64_t t0 = NowNs();
  pid_ = fork();
  if (pid_ < 0) return "fork failed";
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) dup2(log, STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  TrackChild(pid_, true);
  close(fds[1]);
  stdout_fd_ = fds[0];
  std::string seen;
  const int64_t deadline = t0 + 60'000'000'000LL;
  static const std::string kReady = "ready: listening on http://127.0.0.1:";
  while (NowNs() < deadline) {
    pollfd p{stdout_fd_, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r > 0) {
      char buf[4096];
      ssize_t n = read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
      size_t at = seen.find(kReady);
      if (at != std::string::npos) {
        size_t end = seen.find_first_not_of("0123456789", at + kReady.size());
        if (end != std::string::npos) {
          port_ = std::atoi(seen.substr(at + kReady.size(), end - at - kReady.size()).c_str());
          startup_ms_ = static_cast<double>(NowNs() - t0) / 1e6;
          // Drain the rest of stdout in the background, so the sandbox never
          // blocks on (or dies of) a full or closed pipe.
          std::thread([fd = stdout_fd_] {
            char sink[4096];
            while (read(fd, sink, sizeof sink) > 0) {
            }
            close(fd);
          }).detach();
          stdout_fd_ = -1;
          return "";
        }
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      TrackChild(pid_, false);
      pid_ = -1;
      std::ifstream log(log_path_);
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
      return "vkspay-sandbox exited before it was ready: " + text;
    }
  }
  Stop();
  return "vkspay-sandbox was not ready within 60 s; see " + log_path_;
}

std::string SandboxProcess::Stop() {
  if (pid_ <= 0) return "not running";
  kill(pid_, SIGTERM);
  int status = 0;
  const int64_t deadline = NowNs() + 10'000'000'000LL;
  pid_t r = 0;
  while ((r = waitpid(pid_, &status, WNOHANG)) == 0 && NowNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (r == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  TrackChild(pid_, false);
  pid_ = -1;
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "unknown";
}

namespace {
double ProcStatusMiB(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::atof(line.c_str() + key.size() + 1) / 1024.0;  // kB
    }
  }
  return 0;
}

std::string Resolve(const std::string& flag, const char* configured, const char* name) {
  if (!flag.empty()) return fs::exists(flag) ? flag : "";
  // Beside this binary first: an installed or unpacked package uses its own
  // files even where the build tree it was made from still exists.
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = self.parent_path();
    for (fs::path p : {dir / name, dir.parent_path() / "lib" / "vkspay-sandbox" / name}) {
      if (fs::exists(p)) return p.string();
    }
  }
  if (fs::exists(configured)) return configured;
  if (!ec) {
    fs::path p = self.parent_path().parent_path() / "sandbox" / name;
    if (fs::exists(p)) return p.string();
  }
  return "";
}
}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  // Fields after the command: state is field 3; utime 14, stime 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atof(f.c_str());
    if (i == 15) stime = std::atof(f.c_str());
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double SandboxProcess::PeakRssMiB() const { return pid_ > 0 ? ProcStatusMiB(pid_, "VmHWM") : 0; }
double SandboxProcess::RssMiB() const { return pid_ > 0 ? ProcStatusMiB(pid_, "VmRSS") : 0; }

std::string FindSandboxBinary(const std::string& flag) {
  return Resolve(flag, VKSPAY_BENCH_SANDBOX_BINARY, "vkspay-sandbox");
}
std::string FindProtocolBench(const std::string& flag) {
  return Resolve(flag, VKSPAY_BENCH_PROTOCOL_BENCH, "protocol_bench");
}

Progress& Progress::Get() {
  static Progress p;
  return p;
}

namespace {
std::mutex& ProgressMu() {
  static std::mutex mu;
  return mu;
}
}  // namespace

void Progress::SetTotal(int total) {
  std::lock_guard<std::mutex> lock(ProgressMu());
  total_ = total;
  done_ = -1;
  start_ = SteadyClock::now();
}

void Progress::Step(const std::string& what) {
  std::lock_guard<std::mutex> lock(ProgressMu());
  ++done_;
  what_ = what;
  Draw();
}

void Progress::Note(const std::string& what) {
  std::lock_guard<std::mutex> lock(ProgressMu());
  what_ = what;
  Draw();
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(ProgressMu());
  done_ = total_;
  what_ = "done";
  Draw();
  if (enabled) std::cerr << "\n";
}

void Progress::Draw() {
  if (!enabled || total_ <= 0) return;
  const int width = 30;
  const int done = std::clamp(done_, 0, total_);
  const int filled = done * width / total_;
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - start_).count();
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  std::string line = "[" + bar + "] " + std::to_string(done) + "/" + std::to_string(total_) + " " +
                     std::to_string(secs) + "s " + what_;
  if (line.size() > 100) line.resize(100);
  std::cerr << "\r" << line << "\033[K" << std::flush;
}

void RunThreads(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back(fn, t);
  for (std::thread& th : pool) th.join();
}

std::string UtcNow(const char* format) {
  char buf[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string FormatFigure(double v, int digits) {
  char buf[64];
  if (digits < 0) {
    const double a = std::fabs(v);
    digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
  }
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  // Thousands separators for big whole numbers.
  if (digits == 0 && std::fabs(v) >= 10000) {
    std::string out;
    const size_t start = s[0] == '-' ? 1 : 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i > start && (s.size() - i) % 3 == 0) out.push_back(',');
      out.push_back(s[i]);
    }
    return out;
  }
  return s;
}

Json MachineInfo() {
  Json j;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  j["host"] = host;
  j["cpus"] = std::thread::hardware_concurrency();
  utsname u{};
  if (uname(&u) == 0) j["kernel"] = std::string(u.sysname) + " " + u.release;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      j["cpu_model"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream load("/proc/loadavg");
  std::string l1;
  if (load >> l1) j["loadavg_1m_at_start"] = std::atof(l1.c_str());
#if defined(__clang__)
  j["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
  j["compiler"] = "gcc " __VERSION__;
#endif
  j["build_type"] = VKSPAY_BENCH_BUILD_TYPE;
  return j;
}

int64_t DbBytes(const std::string& db) {
  int64_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    auto n = fs::file_size(db + suffix, ec);
    if (!ec) total += static_cast<int64_t>(n);
  }
  return total;
}

}  // namespace vkspay::bench
