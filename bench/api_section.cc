// vkspay-bench api: health (baseline), webpay, orderquery on one sandbox.
#include <algorithm>
#include <atomic>
#include <random>

#include "bench/api_measure.h"
#include "bench/load.h"
#include "bench/sections.h"
#include "sandbox/store/store.h"

namespace vkspay::bench {

namespace {
bool IsSuccessAnswer(const std::string& body) {
  return body.find("\"return_code\":\"SUCCESS\"") != std::string::npos;
}
}  // namespace

void MeasureApi(int port, pid_t pid, const ApiOptions& options, int reps, const std::string& prefix,
                const std::function<std::string(std::mt19937_64&)>& preloaded_order, ApiRuns* out) {
  out->health.section = out->webpay.section = out->orderquery.section = "api";
  out->health.name = "health";
  out->health.baseline = true;
  out->health.unit = out->webpay.unit = out->orderquery.unit = "req/s";
  out->health.description = "GET /_sandbox/health: the HTTP layer's own limit (baseline)";
  out->webpay.name = "webpay";
  out->webpay.description = "POST /api webpay, signed, a new out_trade_no each (one SQLite write)";
  out->orderquery.name = "orderquery";
  out->orderquery.description =
      preloaded_order ? "POST /api orderquery, signed, a random preloaded (paid) order"
                      : "POST /api orderquery, signed, a random order of the webpay runs (unpaid: "
                        "answered ORDER_NOT_PAID)";
  std::vector<std::string> created;
  auto wanted = [&options](const char* name) {
    return options.only.empty() ||
           std::find(options.only.begin(), options.only.end(), name) != options.only.end();
  };
  for (int rep = 0; rep < reps; ++rep) {
    Progress::Get().Step(prefix + " health " + std::to_string(rep + 1) + "/" +
                         std::to_string(reps));
    LoadSpec health;
    health.threads = options.threads;
    health.duration_s = options.duration_s;
    health.warmup_s = options.warmup_s;
    health.server_pid = pid;
    if (wanted("health")) out->health.reps.push_back(RunLoad(port, health));

    Progress::Get().Step(prefix + " webpay " + std::to_string(rep + 1) + "/" +
                         std::to_string(reps));
    std::vector<std::vector<std::string>> made(static_cast<size_t>(options.threads));
    LoadSpec webpay = health;
    webpay.path = "/api";
    webpay.post = true;
    const std::string tag = prefix + "R" + std::to_string(rep) + "T";
    webpay.body = [&](int t, uint64_t i) {
      return SignedWebPay(tag + std::to_string(t) + "N" + std::to_string(i),
                          "http://127.0.0.1:9/notify");
    };
    webpay.ok = [&](int t, uint64_t i, const std::string& body) {
      if (!IsSuccessAnswer(body)) return false;
      auto& mine = made[static_cast<size_t>(t)];
      if (mine.size() < 20000) mine.push_back(tag + std::to_string(t) + "N" + std::to_string(i));
      return true;
    };
    if (wanted("webpay")) out->webpay.reps.push_back(RunLoad(port, webpay));
    for (auto& m : made) created.insert(created.end(), m.begin(), m.end());

    Progress::Get().Step(prefix + " orderquery " + std::to_string(rep + 1) + "/" +
                         std::to_string(reps));
    LoadSpec query = webpay;
    std::vector<std::mt19937_64> rngs;
    for (int t = 0; t < options.threads; ++t) rngs.emplace_back(1000 * rep + t);
    query.body = [&](int t, uint64_t) {
      auto& rng = rngs[static_cast<size_t>(t)];
      if (preloaded_order) return SignedOrderQuery(preloaded_order(rng));
      if (created.empty()) return SignedOrderQuery("missing");
      return SignedOrderQuery(created[rng() % created.size()]);
    };
    // An unpaid order's correct answer is FAIL with ORDER_NOT_PAID (the
    // webpay runs' orders are unpaid; preloaded ones are paid).
    query.ok = [](int, uint64_t, const std::string& body) {
      return IsSuccessAnswer(body) ||
             body.find("\"err_code\":\"ORDER_NOT_PAID\"") != std::string::npos;
    };
    if (wanted("orderquery")) out->orderquery.reps.push_back(RunLoad(port, query));
  }
}

Json ApiRatios(const ApiRuns& runs) {
  Json ratios;
  auto tp = [](const Run& r) {
    std::vector<double> v;
    for (const RepResult& rep : r.reps) v.push_back(rep.throughput);
    return Summarize(v).median;
  };
  const double base = tp(runs.health);
  if (base > 0) {
    ratios["webpay_vs_health"] = tp(runs.webpay) / base;
    ratios["orderquery_vs_health"] = tp(runs.orderquery) / base;
  }
  return ratios;
}

// The store alone, no HTTP: one thread calling CreateOrder (one BEGIN
// IMMEDIATE transaction each, as webpay does) and then GetOrder on a file
// database for `seconds` each. The ceiling the store puts on webpay and
// orderquery on this machine.
void MeasureStoreDirect(const std::string& db, double seconds, Run* create, Run* get) {
  sandbox::SqliteStoreOptions so;
  so.path = db;
  StatusOr<std::unique_ptr<sandbox::Store>> store = sandbox::OpenSqliteStore(so);
  RepResult c, g;
  if (!store.ok()) {
    c.errors = g.errors = 1;
    c.extra["first_errors"] = Json::array({store.status().ToString()});
    create->reps.push_back(c);
    get->reps.push_back(g);
    return;
  }
  const int64_t now = UnixSeconds();
  static std::atomic<int> run{0};
  const std::string prefix = "D" + std::to_string(run.fetch_add(1)) + "N";
  std::vector<int64_t> lat;
  int64_t n = 0;
  const int64_t end = NowNs() + static_cast<int64_t>(seconds * 1e9);
  int64_t t0 = NowNs();
  const int64_t start = t0;
  for (; t0 < end; ++n) {
    sandbox::Order o;
    o.merchantno = kMerchantNo;
    o.out_trade_no = prefix + std::to_string(n);
    o.trade_type = "webpay";
    o.total_fee = 1;
    o.subject = "bench";
    o.notify_url = "http://127.0.0.1:9/notify";
    o.cashier_token = "c" + o.out_trade_no;
    o.created_at = now;
    o.expires_at = now + 7200;
    auto r = (*store)->CreateOrder(o, true, now);
    const int64_t t1 = NowNs();
    if (!r.ok()) ++c.errors;
    lat.push_back(t1 - t0);
    t0 = t1;
  }
  c.count = n;
  c.throughput = static_cast<double>(n) / (static_cast<double>(t0 - start) / 1e9);
  c.p50_ms = PercentileMs(lat, 0.5);
  c.p99_ms = PercentileMs(lat, 0.99);
  c.p999_ms = PercentileMs(lat, 0.999);
  create->reps.push_back(c);
  lat.clear();
  std::mt19937_64 rng(42);
  int64_t m = 0;
  const int64_t end2 = NowNs() + static_cast<int64_t>(seconds * 1e9);
  t0 = NowNs();
  const int64_t start2 = t0;
  for (; t0 < end2 && n > 0; ++m) {
    auto r = (*store)->GetOrder(kMerchantNo,
                                prefix + std::to_string(rng() % static_cast<uint64_t>(n)), now);
    const int64_t t1 = NowNs();
    if (!r.ok()) ++g.errors;
    lat.push_back(t1 - t0);
    t0 = t1;
  }
  g.count = m;
  g.throughput = m > 0 ? static_cast<double>(m) / (static_cast<double>(t0 - start2) / 1e9) : 0;
  g.p50_ms = PercentileMs(lat, 0.5);
  g.p99_ms = PercentileMs(lat, 0.99);
  g.p999_ms = PercentileMs(lat, 0.999);
  get->reps.push_back(g);
}

Json RunApi(const CommonOptions& common, const ApiOptions& options) {
  TempDir dir("vkspay-bench-api");
  if (common.keep_temp) dir.keep();
  SandboxProcess sandbox;
  const std::string db = dir.path() + "/sandbox.db";
  std::string err = sandbox.Start(common.sandbox_bin, db, dir.path(), common.sandbox_args);
  if (!err.empty()) return Json{{"error", err}};
  ApiRuns runs;
  MeasureApi(sandbox.port(), sandbox.pid(), options, common.reps, "api", nullptr, &runs);
  Json j;
  j["runs"] = Json::array();
  for (const Run* r : {&runs.health, &runs.webpay, &runs.orderquery}) {
    if (!r->reps.empty()) j["runs"].push_back(ToJson(*r));
  }
  j["ratios"] = ApiRatios(runs);
  j["settings"] = {{"client_threads", options.threads},
                   {"duration_s", options.duration_s},
                   {"warmup_s", options.warmup_s},
                   {"reps", common.reps},
                   {"db", "file in a temp dir (WAL, synchronous=NORMAL)"}};
  j["sandbox"] = {{"startup_ms", sandbox.startup_ms()},
                  {"peak_rss_mib", sandbox.PeakRssMiB()},
                  {"db_bytes_after", DbBytes(db)}};
  sandbox.Stop();

  // The store alone, for where webpay's time goes.
  Run create, get;
  create.section = get.section = "api";
  create.name = "store CreateOrder";
  get.name = "store GetOrder";
  create.unit = get.unit = "ops/s";
  create.description =
      "the store library alone, 1 thread, no HTTP: CreateOrder (one transaction each), a file DB";
  get.description = "the store library alone, 1 thread, no HTTP: GetOrder of a random order";
  for (int rep = 0; rep < common.reps; ++rep) {
    Progress::Get().Note("api store direct " + std::to_string(rep + 1));
    MeasureStoreDirect(dir.path() + "/direct.db", std::min(1.0, options.duration_s), &create, &get);
  }
  j["runs"].push_back(ToJson(create));
  j["runs"].push_back(ToJson(get));
  return j;
}

}  // namespace vkspay::bench
