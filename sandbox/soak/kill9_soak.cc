// The "never lost" proof for notifications: pays orders while the sandbox is
// killed with SIGKILL again and again, then checks that every paid order's
// notification was acknowledged by the receiver at least once, and that the
// database passes PRAGMA integrity_check.
//
//   kill9_soak --sandbox build/sandbox/vkspay-sandbox [--orders 3000] [--kills 15]
//              [--threads 4] [--seed 1] [--dir /tmp/x]
//
// The receiver runs in this process and verifies every signature. Exit 0 and
// a summary line when nothing was lost; 1 otherwise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include <httplib.h>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "vkspay/protocol/form.h"
#include "vkspay/protocol/notification.h"
#include "vkspay/protocol/signature.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr char kKey[] = "sandbox-demo-key-0123456789abcdef";

// A port that was free a moment ago (the sandbox binds with SO_REUSEADDR, so
// restarts on it work while old connections linger in TIME_WAIT).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Receives notifications, verifies them, acks, and remembers what it acked.
class Receiver {
 public:
  Receiver() {
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(100000);
    server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
    server_.Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      auto fields = vkspay::DecodeForm(req.body);
      if (!fields.ok() || !vkspay::VerifySign(*fields, kKey).ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++invalid_;
        res.status = 400;
        res.set_content(R"({"code":"FAIL","msg":"bad signature"})", "application/json");
        return;
      }
      const std::string type = vkspay::JsString(*fields->Find("notify_type"));
      const std::string no = vkspay::JsString(*fields->Find("out_trade_no"));
      const std::string id = vkspay::JsString(*fields->Find("notify_id"));
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++received_;
        if (type == "payment") acked_orders_.insert(no);
        if (++acks_per_id_[id] > 1) ++duplicates_;
      }
      res.set_content(vkspay::kNotifyAckBody, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::set<std::string> acked_orders() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_orders_;
  }
  void Counts(int64_t* received, int64_t* duplicates, int64_t* invalid) {
    std::lock_guard<std::mutex> lock(mu_);
    *received = received_;
    *duplicates = duplicates_;
    *invalid = invalid_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::set<std::string> acked_orders_;
  std::unordered_map<std::string, int> acks_per_id_;
  int64_t received_ = 0, duplicates_ = 0, invalid_ = 0;
};

pid_t StartSandbox(const std::string& bin, int port, const std::string& db,
                   const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    f = std::freopen("/dev/null", "w", stdout);
    (void)f;
    std::string listen = "127.0.0.1:" + std::to_string(port);
    execl(bin.c_str(), bin.c_str(), "--listen", listen.c_str(), "--db", db.c_str(), "--quiet",
          "--notify-profile", "fast", "--time-scale", "0.05", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

bool WaitHealthy(int port, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(0, 200000);
    auto res = c.Get("/_sandbox/health");
    if (res && res->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string SignedWebPay(int64_t ts, const std::string& nonce, const std::string& notify_url,
                         const std::string& out_trade_no) {
  vkspay::Fields f{{"method", std::string("webpay")},
                   {"merchantno", std::string("10001")},
                   {"total_fee", 0.01},
                   {"notify_url", notify_url},
                   {"out_trade_no", out_trade_no},
                   {"timestamp", static_cast<double>(ts)},
                   {"signaturenonce", nonce},
                   {"version", std::string("2.0")}};
  return vkspay::WithSign(f, kKey).ToJson();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kill -9 soak: no paid order's notification may be lost"};
  std::string sandbox_bin;
  int orders = 3000, kills = 15, threads = 4;
  uint64_t seed = 1;
  std::string dir;
  app.add_option("--sandbox", sandbox_bin, "path to vkspay-sandbox")->required();
  app.add_option("--orders", orders, "orders to create and pay");
  app.add_option("--kills", kills, "SIGKILLs to deliver while paying");
  app.add_option("--threads", threads, "client threads");
  app.add_option("--seed", seed, "seed for kill timing");
  app.add_option("--dir", dir, "working directory (default: a new temp dir)");
  CLI11_PARSE(app, argc, argv);
  if (dir.empty()) {
    dir = (std::filesystem::temp_directory_path() / ("vkspay-kill9-" + std::to_string(getpid())))
              .string();
  }
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/sandbox.db";
  const std::string log = dir + "/sandbox.log";
  std::filesystem::remove(db);

  Receiver receiver;
  const std::string notify_url =
      "http://127.0.0.1:" + std::to_string(receiver.port()) + "/notify";
  const int port = FreePort();
  std::atomic<pid_t> pid{StartSandbox(sandbox_bin, port, db, log)};
  if (!WaitHealthy(port, std::chrono::seconds(10))) {
    std::cerr << "kill9_soak: sandbox did not start; see " << log << "\n";
    return 1;
  }

  std::atomic<int> next_order{0};
  std::atomic<int64_t> paid_confirmed{0}, errors{0};
  std::mutex confirmed_mu;
  std::set<std::string> confirmed;  // orders whose pay call answered 200
  auto worker = [&](int t) {
    std::mt19937_64 nonce_rng(seed * 1000 + static_cast<uint64_t>(t));
    httplib::Client c("127.0.0.1", port);
    c.set_tcp_nodelay(true);
    c.set_keep_alive(true);
    c.set_connection_timeout(0, 300000);
    c.set_read_timeout(2);
    for (;;) {
      int i = next_order.fetch_add(1);
      if (i >= orders) return;
      const std::string no = "K" + std::to_string(seed) + "-" + std::to_string(i);
      // Retry the order until both calls succeed: a kill can interrupt either.
      for (int attempt = 0;; ++attempt) {
        std::string nonce;
        for (int d = 0; d < 8; ++d) nonce.push_back(static_cast<char>('1' + nonce_rng() % 9));
        const int64_t ts = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        auto w = c.Post("/api", SignedWebPay(ts, nonce, notify_url, no),
                        "application/json; charset=utf-8");
        if (!w) {
          ++errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        json wj = json::parse(w->body, nullptr, false);
        if (wj.is_discarded() || (wj["return_code"] != "SUCCESS" && wj["err_code"] != "ORDER_PAID")) {
          ++errors;
          continue;
        }
        if (wj["err_code"] == "ORDER_PAID") {  // paid before a kill hid the answer
          std::lock_guard<std::mutex> lock(confirmed_mu);
          confirmed.insert(no);
          break;
        }
        json body = {{"out_trade_no", no}, {"channel", (i % 2) ? "alipay" : "wxpay"}};
        auto p = c.Post("/_sandbox/pay", body.dump(), "application/json");
        if (!p) {
          ++errors;
          continue;
        }
        if (p->status == 200 || p->status == 409) {  // 409: paid before a kill hid the answer
          std::lock_guard<std::mutex> lock(confirmed_mu);
          confirmed.insert(no);
          ++paid_confirmed;
          break;
        }
        ++errors;
      }
    }
  };
  std::vector<std::thread> pool;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);

  // The killer: SIGKILL at random moments while orders are being paid.
  std::mt19937_64 kill_rng(seed);
  int kills_done = 0;
  while (kills_done < kills && next_order.load() < orders) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + kill_rng() % 250));
    ::kill(pid.load(), SIGKILL);
    ::waitpid(pid.load(), nullptr, 0);
    ++kills_done;
    pid = StartSandbox(sandbox_bin, port, db, log);
    if (!WaitHealthy(port, std::chrono::seconds(10))) {
      std::cerr << "kill9_soak: sandbox did not restart; see " << log << "\n";
      return 1;
    }
  }
  for (auto& t : pool) t.join();

  // Wait for the outbox to drain: every paid order acknowledged.
  std::set<std::string> paid_in_db;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  std::set<std::string> acked;
  for (;;) {
    paid_in_db.clear();
    httplib::Client c("127.0.0.1", port);
    for (int offset = 0;; offset += 10000) {
      auto res = c.Get(("/_sandbox/orders?limit=10000&offset=" + std::to_string(offset)).c_str());
      if (!res || res->status != 200) break;
      json j = json::parse(res->body);
      for (const auto& o : j["orders"]) {
        if (o["status"] == "SUCCESS" || o["status"] == "REFUND") paid_in_db.insert(o["out_trade_no"]);
      }
      if (j["orders"].size() < 10000) break;
    }
    acked = receiver.acked_orders();
    bool all = true;
    for (const auto& no : paid_in_db) all = all && acked.count(no);
    for (const auto& no : confirmed) all = all && acked.count(no);
    if (all || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid.load(), SIGTERM);
  ::waitpid(pid.load(), nullptr, 0);

  int64_t lost = 0;
  for (const auto& no : paid_in_db) lost += acked.count(no) ? 0 : 1;
  int64_t lost_confirmed = 0;
  for (const auto& no : confirmed) lost_confirmed += acked.count(no) ? 0 : 1;
  int64_t received = 0, duplicates = 0, invalid = 0;
  receiver.Counts(&received, &duplicates, &invalid);

  std::string integrity = "(not run)";
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) {
      integrity = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);

  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "kill9_soak: orders=" << orders << " paid_in_db=" << paid_in_db.size()
            << " confirmed_paid=" << confirmed.size() << " kills=" << kills_done
            << " lost=" << lost << " lost_confirmed=" << lost_confirmed
            << " notifications_received=" << received << " duplicates_delivered=" << duplicates
            << " invalid_signatures=" << invalid << " client_errors=" << errors.load()
            << " integrity_check=" << integrity << " seconds=" << secs << std::endl;
  const bool ok = lost == 0 && lost_confirmed == 0 && invalid == 0 && integrity == "ok" &&
                  paid_in_db.size() >= confirmed.size() &&
                  static_cast<int>(confirmed.size()) == orders;
  if (ok) std::filesystem::remove_all(dir);
  else std::cerr << "kill9_soak: FAILED; files kept in " << dir << "\n";
  return ok ? 0 : 1;
}
