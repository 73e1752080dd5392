#include "bench/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vkspay::bench {

namespace {

std::string Fmt(double v, int digits = -1) { return FormatFigure(v, digits); }

std::string Pct(double ratio) { return Fmt(ratio * 100, 0) + "%"; }

const Json* FindRun(const Json& report, const std::string& section, const std::string& name) {
  const Json* s = &report["sections"];
  if (!s->contains(section) || !(*s)[section].contains("runs")) return nullptr;
  for (const Json& r : (*s)[section]["runs"]) {
    if (r.value("name", "") == name) return &r;
  }
  return nullptr;
}

double Median(const Json& fig) { return fig.value("median", 0.0); }

// A target: `higher` means the measured value must be >= target.
Json Target(const std::string& what, double target, double measured, const std::string& unit,
            bool higher) {
  const bool met = higher ? measured >= target : measured < target;
  std::string margin;
  if (target > 0) {
    const double rel = higher ? measured / target - 1 : 1 - measured / target;
    margin = met ? Fmt(std::fabs(rel) * 100, 0) + "% to spare"
                 : "by " + Fmt(std::fabs(rel) * 100, 0) + "%";
    if (!met && higher) margin += " (" + Fmt(target - measured) + " " + unit + " short)";
    if (!met && !higher) margin += " (" + Fmt(measured - target) + " " + unit + " over)";
  }
  return Json{
      {"what", what},         {"target", (higher ? ">= " : "< ") + Fmt(target) + " " + unit},
      {"measured", measured}, {"unit", unit},
      {"met", met},           {"margin", margin}};
}

}  // namespace

Json EvaluateTargets(const Json& report) {
  Json t = Json::array();
  const Json& s = report["sections"];
  if (s.contains("micro") && s["micro"].contains("ratios")) {
    const Json& r = s["micro"]["ratios"];
    if (r.contains("sign_typical_vs_md5")) {
      t.push_back(Target("signing a typical webpay, fraction of raw MD5 speed (same bytes)", 50,
                         r["sign_typical_vs_md5"].get<double>() * 100, "%", true));
    }
    if (r.contains("sign_large_vs_md5")) {
      t.push_back(Target("signing a 50-field Chinese body, fraction of raw MD5 speed", 50,
                         r["sign_large_vs_md5"].get<double>() * 100, "%", true));
    }
  }
  // The median over the repetitions of a per-repetition figure of a run.
  auto rep_median = [](const Json& run, const char* key) {
    std::vector<double> v;
    for (const Json& rep : run["reps"]) {
      if (rep.contains(key)) v.push_back(rep[key].get<double>());
    }
    return Summarize(v).median;
  };
  const Json* health = FindRun(report, "api", "health");
  if (const Json* w = FindRun(report, "api", "webpay")) {
    t.push_back(Target("webpay throughput (with its SQLite write)", 15000,
                       Median((*w)["throughput"]), "req/s", true));
    if (s["api"].contains("ratios") && s["api"]["ratios"].contains("webpay_vs_health")) {
      t.push_back(Target("webpay vs the health-endpoint baseline", 50,
                         s["api"]["ratios"]["webpay_vs_health"].get<double>() * 100, "%", true));
    }
    t.push_back(Target("webpay p99 latency", 10, Median((*w)["latency_ms"]["p99"]), "ms", false));
    if (health != nullptr && rep_median(*health, "server_cpu_us_per_req") > 0) {
      t.push_back(Target(
          "sandbox CPU per webpay, multiple of health's", 3,
          rep_median(*w, "server_cpu_us_per_req") / rep_median(*health, "server_cpu_us_per_req"),
          "x", false));
    }
  }
  if (const Json* q = FindRun(report, "api", "orderquery")) {
    if (s["api"].contains("ratios") && s["api"]["ratios"].contains("orderquery_vs_health")) {
      t.push_back(Target("orderquery vs the health-endpoint baseline", 70,
                         s["api"]["ratios"]["orderquery_vs_health"].get<double>() * 100, "%",
                         true));
    }
    if (health != nullptr && rep_median(*health, "server_cpu_us_per_req") > 0) {
      t.push_back(Target(
          "sandbox CPU per orderquery, multiple of health's", 2,
          rep_median(*q, "server_cpu_us_per_req") / rep_median(*health, "server_cpu_us_per_req"),
          "x", false));
    }
  }
  if (s.contains("notify") && s["notify"].contains("ratios")) {
    const Json& ratios = s["notify"]["ratios"];
    if (const Json* d = FindRun(report, "notify", "drain")) {
      t.push_back(Target("notifications acked per second, all due at once (drain, defaults)", 10000,
                         Median((*d)["throughput"]), "notifications/s", true));
      if (ratios.contains("drain_vs_receiver")) {
        t.push_back(Target("drain vs the receiver baseline", 30,
                           ratios["drain_vs_receiver"].get<double>() * 100, "%", true));
      }
    }
    if (const Json* d = FindRun(report, "notify", "drain 10% failing")) {
      t.push_back(Target("drain with 10% of attempts 1-2 failing", 8000, Median((*d)["throughput"]),
                         "notifications/s", true));
    }
    if (ratios.contains("drain_beside_dead_vs_drain")) {
      t.push_back(Target("drain beside a dead host, fraction of the drain alone", 80,
                         ratios["drain_beside_dead_vs_drain"].get<double>() * 100, "%", true));
    }
  }
  if (const Json* n = FindRun(report, "notify", "fail 0%")) {
    t.push_back(Target("pay-and-deliver: payments through the control API, acked per second", 10000,
                       Median((*n)["throughput"]), "notifications/s", true));
  }
  if (s.contains("notify") && s["notify"].contains("runs")) {
    for (const Json& r : s["notify"]["runs"]) {
      if (r.contains("paced_payments_per_s")) {
        t.push_back(Target("pay-to-first-attempt p99 at " +
                               Fmt(r["paced_payments_per_s"].get<double>(), 0) + " payments/s",
                           20, Median(r["first_attempt_ms"]["p99"]), "ms", false));
      }
    }
  }
  if (s.contains("scale") && s["scale"].contains("levels") && !s["scale"]["levels"].empty()) {
    const Json& top = s["scale"]["levels"].back();
    const std::string label = top.value("label", "");
    if (const Json* q = FindRun(report, "scale", label + " orderquery")) {
      t.push_back(Target("orderquery p99 with " + label + " orders stored (8 clients, saturated)",
                         2, Median((*q)["latency_ms"]["p99"]), "ms", false));
    }
    if (const Json* q = FindRun(report, "scale", label + " orderquery 1 client")) {
      t.push_back(Target("orderquery p99 with " + label + " orders stored (1 client)", 2,
                         Median((*q)["latency_ms"]["p99"]), "ms", false));
    }
  }
  // Peak RSS over every sandbox the run started.
  double rss = 0;
  if (s.contains("api") && s["api"].contains("sandbox")) {
    rss = std::max(rss, s["api"]["sandbox"].value("peak_rss_mib", 0.0));
  }
  if (s.contains("notify") && s["notify"].contains("runs")) {
    for (const Json& r : s["notify"]["runs"])
      rss = std::max(rss, r.value("sandbox_peak_rss_mib", 0.0));
  }
  if (s.contains("scale") && s["scale"].contains("levels")) {
    for (const Json& l : s["scale"]["levels"]) rss = std::max(rss, l.value("peak_rss_mib", 0.0));
  }
  if (rss > 0) {
    t.push_back(Target("sandbox peak resident memory (VmHWM), every sandbox of the run", 150,
                       rss * 1.048576, "MB", false));
  }
  return t;
}

std::string RenderMarkdown(const Json& report, const std::string& svg_name) {
  std::ostringstream md;
  const Json& m = report["machine"];
  md << "# vkspay-bench report\n\n";
  md << "- When: " << report.value("generated_at", "") << " ("
     << Fmt(report.value("wall_s", 0.0), 0) << " s wall)\n";
  md << "- Machine: " << m.value("host", "") << ", " << m.value("cpus", 0) << " CPUs ("
     << m.value("cpu_model", "?") << "), " << m.value("kernel", "") << ", load average "
     << m.value("loadavg_1m_at_start", 0.0) << " at start\n";
  md << "- Build: " << m.value("build_type", "") << ", " << m.value("compiler", "") << "\n";
  md << "- Command: `" << report.value("command", "") << "`\n";
  for (const Json& note : report.value("notes", Json::array()))
    md << "- Note: " << note.get<std::string>() << "\n";
  md << "\nEvery figure is the median of the repetitions, with min and max beside it. Latencies\n"
        "are per request (client send to answer), or for notifications from the payment request\n"
        "to the receiver's ack. Compare a figure with the baseline of the same run, not with\n"
        "figures of another machine or another run.\n\n";
  md << "![chart](" << svg_name << ")\n\n";

  if (report.contains("targets") && !report["targets"].empty()) {
    md << "## Targets (issues #6 and #11, 2-core machine)\n\n| What | Target | Measured | Verdict "
          "|\n|---|---|---|---|\n";
    for (const Json& t : report["targets"]) {
      md << "| " << t.value("what", "") << " | " << t.value("target", "") << " | "
         << Fmt(t.value("measured", 0.0)) << " " << t.value("unit", "") << " | "
         << (t.value("met", false) ? "**met**, " : "**missed** ") << t.value("margin", "")
         << " |\n";
    }
    md << "\n";
  }
  const Json& s = report["sections"];
  if (s.contains("micro")) {
    md << "## Micro-benchmarks (protocol_bench)\n\n";
    if (s["micro"].contains("error"))
      md << "Error: " << s["micro"]["error"].get<std::string>() << "\n\n";
    if (s["micro"].contains("benchmarks")) {
      md << "| Benchmark | median ns | min | max | bytes |\n|---|---|---|---|---|\n";
      for (const Json& b : s["micro"]["benchmarks"]) {
        md << "| " << b.value("name", "") << " | " << Fmt(Median(b["ns"])) << " | "
           << Fmt(b["ns"].value("min", 0.0)) << " | " << Fmt(b["ns"].value("max", 0.0)) << " | "
           << (b.contains("bytes") ? Fmt(b["bytes"].get<double>(), 0) : "") << " |\n";
      }
      md << "\n";
      for (auto& [k, v] : s["micro"]["ratios"].items()) {
        md << "- `" << k << "`: " << Fmt(v.get<double>(), 2) << "\n";
      }
      md << "\n";
    }
  }
  for (const char* name : {"api", "notify", "scale"}) {
    if (!s.contains(name)) continue;
    const Json& sec = s[name];
    md << "## " << name << "\n\n";
    if (sec.contains("error")) md << "Error: " << sec["error"].get<std::string>() << "\n\n";
    if (std::string(name) == "scale" && sec.contains("levels")) {
      md << "| Stored orders | refunds | preload s | DB size MiB | start-up ms | RSS after start "
            "MiB | peak RSS MiB |\n"
            "|---|---|---|---|---|---|---|\n";
      for (const Json& l : sec["levels"]) {
        md << "| " << Fmt(l.value("orders", 0.0), 0) << " | " << Fmt(l.value("refunds", 0.0), 0)
           << " | " << Fmt(l.value("preload_s", 0.0)) << " | "
           << Fmt(l.value("db_bytes", 0.0) / 1048576.0) << " | " << Fmt(l.value("startup_ms", 0.0))
           << " | " << Fmt(l.value("rss_after_start_mib", 0.0)) << " | "
           << Fmt(l.value("peak_rss_mib", 0.0)) << " |";
        if (l.contains("error")) md << " error: " << l["error"].get<std::string>();
        md << "\n";
      }
      md << "\n";
    }
    if (!sec.contains("runs")) continue;
    md << "| Run | throughput (min-max) | p50 ms | p99 ms | p99.9 ms | errors | what |\n"
          "|---|---|---|---|---|---|---|\n";
    for (const Json& r : sec["runs"]) {
      const Json& tp = r["throughput"];
      const Json& l = r["latency_ms"];
      md << "| " << r.value("name", "") << (r.value("baseline", false) ? " (baseline)" : "")
         << " | " << Fmt(Median(tp), 0) << " " << r.value("unit", "") << " ("
         << Fmt(tp.value("min", 0.0), 0) << "-" << Fmt(tp.value("max", 0.0), 0) << ") | "
         << Fmt(Median(l["p50"])) << " | " << Fmt(Median(l["p99"])) << " | "
         << Fmt(Median(l["p999"])) << " | " << r.value("errors", 0) << " | "
         << r.value("description", "");
      if (r.contains("first_attempt_ms")) {
        md << "; pay-to-first-attempt p50 " << Fmt(Median(r["first_attempt_ms"]["p50"]))
           << " ms, p99 " << Fmt(Median(r["first_attempt_ms"]["p99"])) << " ms";
      }
      // Where the CPU went (medians over the repetitions).
      auto rep_median = [&r](const char* key) {
        std::vector<double> v;
        for (const Json& rep : r["reps"]) {
          if (rep.contains(key)) v.push_back(rep[key].get<double>());
        }
        return Summarize(v);
      };
      if (Figure sc = rep_median("server_cpu_us_per_req"); sc.n > 0) {
        md << "; CPU per request: sandbox " << Fmt(sc.median) << " µs, bench client "
           << Fmt(rep_median("client_cpu_us_per_req").median) << " µs";
      }
      if (Figure sc = rep_median("sandbox_cpu_us_per_notification"); sc.n > 0) {
        md << "; CPU per notification: sandbox " << Fmt(sc.median) << " µs, bench "
           << Fmt(rep_median("bench_cpu_us_per_notification").median) << " µs";
      }
      int64_t dups = 0, retries = 0;
      bool has_dups = false;
      for (const Json& rep : r["reps"]) {
        if (rep.contains("duplicates")) {
          has_dups = true;
          dups += rep["duplicates"].get<int64_t>();
          retries += rep.value("failed_on_purpose", int64_t{0});
        }
      }
      if (has_dups) md << "; duplicates " << dups << ", failed on purpose " << retries;
      md << " |\n";
    }
    md << "\n";
    if (sec.contains("ratios") && !sec["ratios"].empty()) {
      for (auto& [k, v] : sec["ratios"].items())
        md << "- `" << k << "`: " << Pct(v.get<double>()) << "\n";
      md << "\n";
    }
  }
  md << "Raw figures, every repetition: the JSON file beside this one.\n";
  return md.str();
}

std::string RenderSvg(const Json& report) {
  struct Row {
    std::string label, section;
    bool header = false, baseline = false;
    double tp = 0, tp_min = 0, tp_max = 0, p50 = 0, p99 = 0, p99_min = 0, p99_max = 0;
    std::string unit;
  };
  std::vector<Row> rows;
  double max_tp = 1;
  const Json& s = report["sections"];
  for (const char* name : {"api", "notify", "scale"}) {
    if (!s.contains(name) || !s[name].contains("runs")) continue;
    Row h;
    h.header = true;
    h.label = name;
    rows.push_back(h);
    for (const Json& r : s[name]["runs"]) {
      Row row;
      row.section = name;
      row.label = r.value("name", "");
      row.baseline = r.value("baseline", false);
      row.unit = r.value("unit", "");
      row.tp = Median(r["throughput"]);
      row.tp_min = r["throughput"].value("min", 0.0);
      row.tp_max = r["throughput"].value("max", 0.0);
      row.p50 = Median(r["latency_ms"]["p50"]);
      row.p99 = Median(r["latency_ms"]["p99"]);
      row.p99_min = r["latency_ms"]["p99"].value("min", 0.0);
      row.p99_max = r["latency_ms"]["p99"].value("max", 0.0);
      // The store-alone runs (ops/s) may be far faster than anything over
      // HTTP: they do not set the axis, their bars are clipped and marked.
      if (row.unit != "ops/s") max_tp = std::max(max_tp, row.tp_max);
      rows.push_back(row);
    }
  }
  const int label_w = 190, panel_w = 360, gap = 70, row_h = 22, top = 78;
  const int width = label_w + panel_w * 2 + gap + 110;
  const int height = top + static_cast<int>(rows.size()) * row_h + 60;
  const int tp_x = label_w, lat_x = label_w + panel_w + gap;
  // Latency on a log axis from 0.01 ms to 10 s.
  const double lmin = std::log10(0.01), lmax = std::log10(10000.0);
  auto lat_pos = [&](double ms) {
    const double v = std::log10(std::max(ms, 0.01));
    return lat_x + static_cast<int>((std::min(v, lmax) - lmin) / (lmax - lmin) * panel_w);
  };
  // Round the throughput axis up to a nice number.
  double nice = std::pow(10, std::floor(std::log10(max_tp)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (nice * m >= max_tp) {
      nice *= m;
      break;
    }
  }
  const double tp_axis = nice;
  auto tp_pos = [&](double v) {
    return tp_x + static_cast<int>(std::min(v / tp_axis, 1.04) * panel_w);
  };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const Json& m = report["machine"];
  o << "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">vkspay-bench: "
    << XmlEscape(m.value("host", ""), true) << ", " << m.value("cpus", 0) << " CPUs, "
    << XmlEscape(report.value("generated_at", ""), true) << "</text>\n";
  o << "<text x=\"10\" y=\"38\" fill=\"#555\">Bars: median of repetitions; whiskers: min-max. "
       "Grey: the baseline measured in the same run.</text>\n";
  o << "<text x=\"" << tp_x << "\" y=\"60\" font-weight=\"bold\">Throughput (per second)</text>\n";
  o << "<text x=\"" << lat_x
    << "\" y=\"60\" font-weight=\"bold\">Latency ms, log scale (bar p99, tick p50)</text>\n";
  const int axis_y = top + static_cast<int>(rows.size()) * row_h;
  // Grid and axis labels.
  for (int i = 0; i <= 4; ++i) {
    const double v = tp_axis * i / 4;
    const int x = tp_pos(v);
    o << "<line x1=\"" << x << "\" y1=\"" << top - 6 << "\" x2=\"" << x << "\" y2=\"" << axis_y
      << "\" stroke=\"#eee\"/>\n";
    o << "<text x=\"" << x << "\" y=\"" << axis_y + 14 << "\" text-anchor=\"middle\" fill=\"#555\">"
      << Fmt(v, 0) << "</text>\n";
  }
  for (double ms : {0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0}) {
    const int x = lat_pos(ms);
    o << "<line x1=\"" << x << "\" y1=\"" << top - 6 << "\" x2=\"" << x << "\" y2=\"" << axis_y
      << "\" stroke=\"#eee\"/>\n";
    o << "<text x=\"" << x << "\" y=\"" << axis_y + 14 << "\" text-anchor=\"middle\" fill=\"#555\">"
      << (ms < 1 ? Fmt(ms, ms < 0.1 ? 2 : 1) : Fmt(ms, 0)) << "</text>\n";
  }
  int y = top;
  for (const Row& r : rows) {
    if (r.header) {
      o << "<text x=\"10\" y=\"" << y + 15 << "\" font-weight=\"bold\" font-size=\"12\">"
        << XmlEscape(r.label, true) << "</text>\n";
      y += row_h;
      continue;
    }
    const std::string color = r.baseline              ? "#9e9e9e"
                              : r.section == "notify" ? "#2e7d32"
                              : r.section == "scale"  ? "#6a1b9a"
                                                      : "#1565c0";
    o << "<text x=\"20\" y=\"" << y + 15 << "\">" << XmlEscape(r.label, true)
      << (r.baseline ? " (baseline)" : "") << "</text>\n";
    const int bx = tp_pos(r.tp);
    o << "<rect x=\"" << tp_x << "\" y=\"" << y + 4 << "\" width=\"" << std::max(1, bx - tp_x)
      << "\" height=\"" << row_h - 8 << "\" fill=\"" << color << "\"/>\n";
    o << "<line x1=\"" << tp_pos(r.tp_min) << "\" y1=\"" << y + row_h / 2 << "\" x2=\""
      << tp_pos(r.tp_max) << "\" y2=\"" << y + row_h / 2 << "\" stroke=\"black\"/>\n";
    for (double v : {r.tp_min, r.tp_max}) {
      o << "<line x1=\"" << tp_pos(v) << "\" y1=\"" << y + 6 << "\" x2=\"" << tp_pos(v)
        << "\" y2=\"" << y + row_h - 6 << "\" stroke=\"black\"/>\n";
    }
    if (r.tp > tp_axis) {  // clipped: the figure inside the bar's end
      o << "<text x=\"" << tp_x + panel_w - 4 << "\" y=\"" << y + 15
        << "\" text-anchor=\"end\" fill=\"white\">" << Fmt(r.tp, 0) << " &#9656;</text>\n";
    } else {
      o << "<text x=\"" << std::max(bx, tp_pos(r.tp_max)) + 4 << "\" y=\"" << y + 15 << "\">"
        << Fmt(r.tp, 0) << "</text>\n";
    }
    if (r.p99 > 0) {
      const int lx = lat_pos(r.p99);
      o << "<rect x=\"" << lat_x << "\" y=\"" << y + 4 << "\" width=\"" << std::max(1, lx - lat_x)
        << "\" height=\"" << row_h - 8 << "\" fill=\"" << color << "\" fill-opacity=\"0.55\"/>\n";
      const int px = lat_pos(r.p50);
      o << "<line x1=\"" << px << "\" y1=\"" << y + 2 << "\" x2=\"" << px << "\" y2=\""
        << y + row_h - 2 << "\" stroke=\"black\" stroke-width=\"2\"/>\n";
      o << "<line x1=\"" << lat_pos(r.p99_min) << "\" y1=\"" << y + row_h / 2 << "\" x2=\""
        << lat_pos(r.p99_max) << "\" y2=\"" << y + row_h / 2 << "\" stroke=\"black\"/>\n";
      o << "<text x=\"" << std::max(lx, lat_pos(r.p99_max)) + 4 << "\" y=\"" << y + 15 << "\">p99 "
        << Fmt(r.p99) << "</text>\n";
    }
    y += row_h;
  }
  std::string command = report.value("command", "");
  if (command.size() > 160) command = command.substr(0, 157) + "...";
  o << "<text x=\"10\" y=\"" << height - 12 << "\" fill=\"#555\">" << XmlEscape(command, true)
    << "</text>\n";
  o << "</svg>\n";
  return o.str();
}

std::string WriteReport(const Json& report, const std::string& dir, const std::string& base) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  const std::string svg_name = base + ".svg";
  struct Out {
    std::string path, text;
  };
  for (const Out& out : {Out{dir + "/" + base + ".json", report.dump(2) + "\n"},
                         Out{dir + "/" + base + ".md", RenderMarkdown(report, svg_name)},
                         Out{dir + "/" + svg_name, RenderSvg(report)}}) {
    std::ofstream f(out.path, std::ios::binary);
    f << out.text;
    if (!f) return "cannot write " + out.path;
  }
  return "";
}

std::string DefaultReportBase() {
  const std::string date = UtcNow("%Y-%m-%d");
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string h = host;
  for (char& c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  }
  return date + "-" + (h.empty() ? "host" : h);
}

}  // namespace vkspay::bench
