// Smoke test of vkspay-bench: `api` and `notify` run briefly (--quick, one
// repetition) against the real sandbox binary; the report must have its
// structure, zero errors, and the Markdown and SVG files. Speed is not
// asserted anywhere (timing belongs to the bench, not to tests).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BenchSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vkspay-bench-smoke-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  // Runs vkspay-bench with `args`, writing report `name` into dir_; returns
  // the parsed JSON report (null if it could not be read).
  Json Run(const std::string& name, const std::string& args) {
    const std::string log = (dir_ / (name + ".log")).string();
    const std::string cmd = std::string("'") + VKSPAY_BENCH_BINARY +
                            "' --quick --reps 1 --no-progress --out-dir '" + dir_.string() +
                            "' --name " + name + " " + args + " > '" + log + "' 2>&1";
    const int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << "\n" << ReadFile(log);
    Json j = Json::parse(ReadFile(dir_ / (name + ".json")), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "no JSON report; log:\n" << ReadFile(log);
    const std::string md = ReadFile(dir_ / (name + ".md"));
    EXPECT_NE(md.find("# vkspay-bench report"), std::string::npos);
    EXPECT_NE(md.find("](" + name + ".svg)"), std::string::npos) << "Markdown links the chart";
    const std::string svg = ReadFile(dir_ / (name + ".svg"));
    EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    return j.is_discarded() ? Json() : j;
  }

  static void ExpectRunShape(const Json& run) {
    SCOPED_TRACE(run.value("name", "?"));
    for (const char* k : {"median", "min", "max"}) {
      EXPECT_TRUE(run["throughput"][k].is_number()) << k;
      for (const char* p : {"p50", "p99", "p999"}) EXPECT_TRUE(run["latency_ms"][p][k].is_number());
    }
    EXPECT_GT(run["throughput"]["median"].get<double>(), 0);
    EXPECT_GT(run["count"].get<int64_t>(), 0);
    EXPECT_EQ(run["errors"].get<int64_t>(), 0) << run.dump(2);
    EXPECT_EQ(run["reps"].size(), 1u);
  }

  fs::path dir_;
};

TEST_F(BenchSmoke, ApiMeasuresHealthWebpayOrderqueryWithoutErrors) {
  Json j = Run("api", "api --threads 2");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["schema"], "vkspay-bench/1");
  EXPECT_TRUE(j["machine"]["cpus"].is_number());
  const Json& api = j["sections"]["api"];
  ASSERT_EQ(api["runs"].size(), 5u) << api.dump(2);
  EXPECT_EQ(api["runs"][0]["name"], "health");
  EXPECT_TRUE(api["runs"][0]["baseline"].get<bool>());
  EXPECT_EQ(api["runs"][1]["name"], "webpay");
  EXPECT_EQ(api["runs"][2]["name"], "orderquery");
  EXPECT_EQ(api["runs"][3]["name"], "store CreateOrder");  // the store alone, no HTTP
  EXPECT_EQ(api["runs"][4]["name"], "store GetOrder");
  for (const Json& r : api["runs"]) ExpectRunShape(r);
  EXPECT_TRUE(api["ratios"]["webpay_vs_health"].is_number());
  EXPECT_GT(api["sandbox"]["peak_rss_mib"].get<double>(), 0);
  bool webpay_target = false;
  for (const Json& t : j["targets"]) {
    if (t["what"].get<std::string>().find("webpay throughput") != std::string::npos) {
      webpay_target = t["met"].is_boolean() && t["measured"].is_number();
    }
  }
  EXPECT_TRUE(webpay_target) << j["targets"].dump(2);
}

TEST_F(BenchSmoke, NotifyDeliversEveryNotificationWithAndWithoutFailures) {
  Json j = Run("notify", "notify --orders 300 --fail-rates 0 0.1 --pay-threads 4");
  ASSERT_TRUE(j.is_object());
  const Json& n = j["sections"]["notify"];
  ASSERT_EQ(n["runs"].size(), 7u) << n.dump(2);
  EXPECT_EQ(n["runs"][0]["name"], "receiver");
  EXPECT_TRUE(n["runs"][0]["baseline"].get<bool>());
  EXPECT_EQ(n["runs"][1]["name"], "fail 0%");
  EXPECT_EQ(n["runs"][2]["name"], "fail 10%");
  EXPECT_EQ(n["runs"][3]["name"], "drain");
  EXPECT_EQ(n["runs"][4]["name"], "drain beside a dead host");
  EXPECT_EQ(n["runs"][5]["name"], "drain 10% failing");
  EXPECT_EQ(n["runs"][6]["name"].get<std::string>().rfind("paced ", 0), 0u);
  // Every drain delivered every notification to the receiver, none early.
  for (size_t i = 3; i < 6; ++i) {
    const Json& rep = n["runs"][i]["reps"][0];
    EXPECT_EQ(rep["count"].get<int64_t>(), 300) << n["runs"][i].dump(2);
    EXPECT_EQ(rep["errors"].get<int64_t>(), 0) << n["runs"][i].dump(2);
  }
  EXPECT_EQ(n["runs"][4]["reps"][0]["dead_orders"].get<int64_t>(), 30);
  EXPECT_TRUE(n["ratios"]["drain_vs_receiver"].is_number());
  EXPECT_TRUE(n["ratios"]["drain_beside_dead_vs_drain"].is_number());
  for (const Json& r : n["runs"]) ExpectRunShape(r);
  for (size_t i = 1; i < 3; ++i) {
    const Json& rep = n["runs"][i]["reps"][0];
    EXPECT_EQ(rep["count"].get<int64_t>(), 300) << "every order's notification acked";
    EXPECT_TRUE(rep["duplicates"].is_number());
    EXPECT_TRUE(rep["first_attempt_p99_ms"].is_number());
  }
  // 10% of first and second attempts fail at the receiver: retries happened.
  EXPECT_GT(n["runs"][2]["reps"][0]["failed_on_purpose"].get<int64_t>(), 0);
  EXPECT_GT(n["runs"][2]["reps"][0]["attempts"].get<int64_t>(), 300);
  EXPECT_TRUE(n["ratios"]["fail 0%_vs_receiver"].is_number());
}

}  // namespace
