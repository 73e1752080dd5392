// vkspay-bench scale: preload many orders, then measure start-up, the API,
// notifications and memory at each stored-order level.
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>

#include "bench/api_measure.h"
#include "bench/load.h"
#include "bench/notify_measure.h"
#include "bench/sections.h"
#include "sandbox/store/store.h"

namespace vkspay::bench {

std::string PreloadedOrderNo(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "S%09lld", static_cast<long long>(i));
  return buf;
}

namespace {

// Closes the connection on every path.
struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db != nullptr) sqlite3_close(db);
  }
  std::string Exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string e = std::string(sql) + ": " + (msg ? msg : "?");
      sqlite3_free(msg);
      return e;
    }
    return "";
  }
};

struct Stmt {
  sqlite3_stmt* st = nullptr;
  ~Stmt() { sqlite3_finalize(st); }
};

void BindText(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

}  // namespace

std::string PreloadDatabase(const std::string& db_path, int64_t orders, int64_t refunds) {
  namespace fs = std::filesystem;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db_path + suffix);
  {
    // The store creates the schema (every migration), so the rows below
    // match what this build of the sandbox expects.
    sandbox::SqliteStoreOptions options;
    options.path = db_path;
    StatusOr<std::unique_ptr<sandbox::Store>> store = sandbox::OpenSqliteStore(options);
    if (!store.ok()) return store.status().ToString();
  }
  Db db;
  if (sqlite3_open(db_path.c_str(), &db.db) != SQLITE_OK) return "cannot open " + db_path;
  std::string err = db.Exec("PRAGMA synchronous = OFF");
  if (!err.empty()) return err;
  // The store has no bulk insert, so this writes its schema directly: the
  // column lists of sandbox/store/sqlite_store.cc (migration 1), 100,000 rows
  // per transaction. Orders are SUCCESS (paid) so that orderquery reads and
  // never closes an expired order; the first `refunds` are REFUND with one
  // refund each. No notification rows (the outbox of these payments is
  // considered delivered long ago).
  Stmt order, refund;
  const char* kOrder =
      "INSERT INTO orders (merchantno, out_trade_no, trade_type, total_fee, pay_chnl, subject, "
      "body, attach, notify_url, return_url, client_ip, auth_code, cashier_token, status, "
      "transaction_id, created_at, expires_at, paid_at, closed_at, refunded_fee, refund_count) "
      "VALUES ('10001', ?1, 'webpay', ?2, 'wxpay', '压测商品', '', '', "
      "'http://127.0.0.1:9000/notify', '', '', '', ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10)";
  const char* kRefund =
      "INSERT INTO refunds (merchantno, out_trade_no, out_refund_no, refund_fee, status, "
      "created_at, success_at) VALUES ('10001', ?1, ?2, ?3, 'SUCCESS', ?4, ?4)";
  if (sqlite3_prepare_v2(db.db, kOrder, -1, &order.st, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db.db, kRefund, -1, &refund.st, nullptr) != SQLITE_OK) {
    return std::string("prepare: ") + sqlite3_errmsg(db.db);
  }
  const int64_t now = UnixSeconds();
  const int64_t kBatch = 100'000;
  for (int64_t i = 0; i < orders; ++i) {
    if (i % kBatch == 0 && !(err = db.Exec("BEGIN")).empty()) return err;
    const int64_t fee = 100 + i % 9900;
    const bool refunded = i < refunds;
    const int64_t created = now - 86400 * 30 + i % (86400 * 30);
    char token[32], txn[40];
    std::snprintf(token, sizeof token, "b%023llx", static_cast<unsigned long long>(i));
    std::snprintf(txn, sizeof txn, "4200000000%018lld", static_cast<long long>(i));
    sqlite3_reset(order.st);
    BindText(order.st, 1, PreloadedOrderNo(i));
    sqlite3_bind_int64(order.st, 2, fee);
    BindText(order.st, 3, token);
    BindText(order.st, 4, refunded ? "REFUND" : "SUCCESS");
    BindText(order.st, 5, txn);
    sqlite3_bind_int64(order.st, 6, created);
    sqlite3_bind_int64(order.st, 7, created + 7200);
    sqlite3_bind_int64(order.st, 8, created + 60);
    sqlite3_bind_int64(order.st, 9, refunded ? fee / 2 : 0);
    sqlite3_bind_int64(order.st, 10, refunded ? 1 : 0);
    if (sqlite3_step(order.st) != SQLITE_DONE) {
      return "insert order " + PreloadedOrderNo(i) + ": " + sqlite3_errmsg(db.db);
    }
    if (refunded) {
      sqlite3_reset(refund.st);
      BindText(refund.st, 1, PreloadedOrderNo(i));
      BindText(refund.st, 2, "R" + PreloadedOrderNo(i).substr(1));
      sqlite3_bind_int64(refund.st, 3, fee / 2);
      sqlite3_bind_int64(refund.st, 4, created + 3600);
      if (sqlite3_step(refund.st) != SQLITE_DONE) {
        return "insert refund " + PreloadedOrderNo(i) + ": " + sqlite3_errmsg(db.db);
      }
    }
    if ((i + 1) % kBatch == 0 || i + 1 == orders) {
      if (!(err = db.Exec("COMMIT")).empty()) return err;
      Progress::Get().Note("scale preload " + std::to_string(i + 1) + "/" + std::to_string(orders));
    }
  }
  return db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Json RunScale(const CommonOptions& common, const ScaleOptions& options) {
  Json levels = Json::array();
  Json runs = Json::array();
  for (int64_t level : options.levels) {
    const std::string label =
        level >= 1'000'000 && level % 1'000'000 == 0 ? std::to_string(level / 1'000'000) + "M"
        : level >= 1000 && level % 1000 == 0         ? std::to_string(level / 1000) + "k"
                                                     : std::to_string(level);
    Progress::Get().Step("scale preload " + label);
    TempDir dir("vkspay-bench-scale");
    if (common.keep_temp) dir.keep();
    const std::string db = dir.path() + "/sandbox.db";
    const int64_t refunds =
        static_cast<int64_t>(static_cast<double>(level) * options.refund_fraction);
    const int64_t t0 = NowNs();
    std::string err = PreloadDatabase(db, level, refunds);
    const double preload_s = static_cast<double>(NowNs() - t0) / 1e9;
    Json lj{{"orders", level}, {"refunds", refunds}, {"label", label}, {"preload_s", preload_s}};
    if (!err.empty()) {
      lj["error"] = "preload: " + err;
      levels.push_back(lj);
      continue;
    }
    lj["db_bytes"] = DbBytes(db);
    SandboxProcess sandbox;
    err = sandbox.Start(common.sandbox_bin, db, dir.path(),
                        NotifySandboxArgs(common, options.notify));
    if (!err.empty()) {
      lj["error"] = err;
      levels.push_back(lj);
      continue;
    }
    lj["startup_ms"] = sandbox.startup_ms();
    lj["rss_after_start_mib"] = sandbox.RssMiB();
    ApiRuns api;
    MeasureApi(
        sandbox.port(), sandbox.pid(), options.api, common.reps, "sc" + label,
        [level](std::mt19937_64& rng) {
          return PreloadedOrderNo(static_cast<int64_t>(rng() % static_cast<uint64_t>(level)));
        },
        &api);
    for (Run* r : {&api.health, &api.webpay, &api.orderquery}) {
      r->section = "scale";
      r->name = label + " " + r->name;
      r->extra["stored_orders"] = level;
      runs.push_back(ToJson(*r));
    }
    // orderquery once more with one client: latency without the queueing
    // of 8 clients saturating 2 cores.
    {
      ApiOptions one = options.api;
      one.threads = 1;
      Run single;
      single.section = "scale";
      single.name = label + " orderquery 1 client";
      single.unit = "req/s";
      single.description = "POST /api orderquery, one keep-alive client (latency without queueing)";
      single.extra["stored_orders"] = level;
      for (int rep = 0; rep < common.reps; ++rep) {
        Progress::Get().Note("scale " + label + " orderquery 1 client " + std::to_string(rep + 1));
        LoadSpec spec;
        spec.path = "/api";
        spec.post = true;
        spec.threads = 1;
        spec.duration_s = one.duration_s;
        spec.warmup_s = one.warmup_s;
        spec.server_pid = sandbox.pid();
        std::mt19937_64 rng(7 + rep);
        spec.body = [&](int, uint64_t) {
          return SignedOrderQuery(
              PreloadedOrderNo(static_cast<int64_t>(rng() % static_cast<uint64_t>(level))));
        };
        spec.ok = [](int, uint64_t, const std::string& body) {
          return body.find("\"return_code\":\"SUCCESS\"") != std::string::npos;
        };
        single.reps.push_back(RunLoad(sandbox.port(), spec));
      }
      runs.push_back(ToJson(single));
    }
    Receiver receiver(options.notify.receiver_threads, options.notify.orders);
    Run notify;
    notify.section = "scale";
    notify.name = label + " notify";
    notify.unit = "notifications/s";
    notify.description = "notify throughput, 0% receiver failures, " + label + " orders stored";
    notify.extra["stored_orders"] = level;
    for (int rep = 0; rep < common.reps; ++rep) {
      Progress::Get().Step("scale " + label + " notify " + std::to_string(rep + 1) + "/" +
                           std::to_string(common.reps));
      notify.reps.push_back(MeasureNotifyRep(sandbox.port(), sandbox.pid(), receiver,
                                             NextNotifyTag(), options.notify.orders,
                                             options.notify.pay_threads, 0, 0));
    }
    runs.push_back(ToJson(notify));
    lj["peak_rss_mib"] = sandbox.PeakRssMiB();
    lj["db_bytes_after"] = DbBytes(db);
    lj["api_ratios"] = ApiRatios(api);
    sandbox.Stop();
    levels.push_back(lj);
  }
  // How each figure changes from the smallest to the largest level
  // (largest / smallest, medians).
  Json changes;
  if (levels.size() >= 2) {
    const std::string lo = levels.front().value("label", ""), hi = levels.back().value("label", "");
    auto find = [&runs](const std::string& name) -> const Json* {
      for (const Json& r : runs) {
        if (r.value("name", "") == name) return &r;
      }
      return nullptr;
    };
    for (const char* what : {"health", "webpay", "orderquery", "notify"}) {
      const Json* a = find(lo + " " + what);
      const Json* b = find(hi + " " + what);
      if (a == nullptr || b == nullptr) continue;
      const double ta = (*a)["throughput"].value("median", 0.0);
      const double tb = (*b)["throughput"].value("median", 0.0);
      const double pa = (*a)["latency_ms"]["p99"].value("median", 0.0);
      const double pb = (*b)["latency_ms"]["p99"].value("median", 0.0);
      if (ta > 0) changes[std::string(what) + " throughput " + hi + "/" + lo] = tb / ta;
      if (pa > 0) changes[std::string(what) + " p99 " + hi + "/" + lo] = pb / pa;
    }
  }
  Json j;
  j["ratios"] = changes;
  j["levels"] = levels;
  j["runs"] = runs;
  j["settings"] = {{"levels", options.levels},
                   {"refund_fraction", options.refund_fraction},
                   {"client_threads", options.api.threads},
                   {"duration_s", options.api.duration_s},
                   {"notify_orders_per_rep", options.notify.orders},
                   {"reps", common.reps},
                   {"preload",
                    "direct SQL against the store's schema, 100,000 rows per "
                    "transaction; orders paid (SUCCESS/REFUND), no notification rows"}};
  return j;
}

}  // namespace vkspay::bench
