#include "bench/merchant_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace vkspay::bench {

namespace {

// ---- Reading the report ----------------------------------------------------
//
// The report is assembled elsewhere and a run that stopped early leaves parts
// null or missing; nlohmann's value() throws on a null parent or a null
// member, so every read goes through these and rendering never throws.

const Json& At(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const Json& Arr(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  const Json& v = At(j, key);
  return v.is_array() ? v : kEmpty;
}

double Num(const Json& j, const char* key, double def = 0) {
  const Json& v = At(j, key);
  if (!v.is_number()) return def;
  const double d = v.get<double>();
  return std::isfinite(d) ? d : def;
}

int64_t Int(const Json& j, const char* key, int64_t def = 0) {
  const Json& v = At(j, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::fabs(d) < 9e18) return std::llround(d);
  }
  return def;
}

std::string Str(const Json& j, const char* key, const std::string& def = "") {
  const Json& v = At(j, key);
  return v.is_string() ? v.get<std::string>() : def;
}

bool Bool(const Json& j, const char* key, bool def = false) {
  const Json& v = At(j, key);
  return v.is_boolean() ? v.get<bool>() : def;
}

// ---- Formatting --------------------------------------------------------------

std::string Fmt(double v, int digits = -1) { return FormatFigure(v, digits); }

std::string Count(int64_t n) { return Fmt(static_cast<double>(n), 0); }

// A ratio (0..1) as a percentage; small error rates keep their digits, since
// 0.004% and 0.04% are different verdicts on a handler.
std::string Pct(double ratio) {
  const double p = ratio * 100;
  return Fmt(p, p == 0 ? 0 : std::fabs(p) < 0.1 ? 4 : 2) + "%";
}

// A threshold's expected or measured value exactly as the run recorded it:
// "0.5%" stays a string, 500 stays 500, 12.3456 keeps its digits (a verdict
// of 50.004 against 50 must not read "50.00 > 50").
std::string Text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  if (v.is_null()) return "-";
  return v.dump();
}

// One line of Markdown from arbitrary text (a non-ack example can be a whole
// HTML error page): no line breaks, cut short at a character boundary, and
// in a table cell no '|' that would end the cell.
std::string OneLine(const std::string& s, size_t max_bytes = 200, bool in_table = false) {
  std::string out;
  size_t end = s.size();
  bool cut = false;
  if (end > max_bytes) {
    end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    cut = true;
  }
  for (size_t i = 0; i < end; ++i) {
    const char c = s[i];
    if (c == '\n' || c == '\r' || c == '\t') {
      out.push_back(' ');
    } else if (c == '|' && in_table) {
      out += "\\|";
    } else {
      out.push_back(c);
    }
  }
  if (cut) out += "...";
  return out;
}

std::string Cell(const std::string& s) { return OneLine(s, 200, true); }

// Text quoted from the handler or its state URL, as an inline code span:
// an HTML error body then shows as text instead of being rendered.
std::string Quoted(const Json& v) {
  const std::string line = OneLine(v.is_string() ? v.get<std::string>() : v.dump());
  // The fence must be longer than any run of backticks inside, and padded
  // when the text itself starts or ends with one.
  size_t run = 0, longest = 0;
  for (char c : line) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !line.empty() && (line.front() == '`' || line.back() == '`');
  return fence + (pad ? " " : "") + line + (pad ? " " : "") + fence;
}

std::string Join(const Json& texts, const std::string& sep, size_t max_items) {
  std::string out;
  size_t n = 0;
  for (const Json& t : texts) {
    if (n == max_items) {
      out += sep + "...";
      break;
    }
    if (n++ > 0) out += sep;
    out += t.is_string() ? t.get<std::string>() : t.dump();
  }
  return out;
}

// Rates as the user typed them: 300, not 300.0; 12.5 stays 12.50.
std::string Rate(double r) { return r == std::floor(r) ? Fmt(r, 0) : Fmt(r); }

std::string Seconds(double s) { return Fmt(s, s == std::floor(s) ? 0 : 1) + " s"; }

// "p50 / p90 / p99 / p99.9 / max ms (n, mean)" of one latency object.
std::string LatencyCells(const Json& l) {
  if (!l.is_object()) return "not measured";
  return Fmt(Num(l, "p50")) + " / " + Fmt(Num(l, "p90")) + " / " + Fmt(Num(l, "p99")) + " / " +
         Fmt(Num(l, "p999")) + " / " + Fmt(Num(l, "max")) + " (n = " + Count(Int(l, "count")) +
         ", mean " + Fmt(Num(l, "mean")) + ")";
}

// What each kind of non-ack means to the merchant reading the table.
std::string NonAckMeaning(const std::string& kind) {
  if (kind == "connect_error") return "the connection was refused or reset";
  if (kind == "timeout") return "no answer within the sandbox's notify timeout";
  if (kind == "http_status") return "answered with an HTTP status other than 200";
  if (kind == "wrong_ack_body") return "200, but not the ack body the protocol asks for";
  return "anything else";
}

// ---- SVG ---------------------------------------------------------------------

constexpr int kSvgWidth = 900;
constexpr double kPlotLeft = 70, kPlotWidth = 700;  // legends to the right
constexpr double kPanelHeight = 250, kPlotTop = 28, kPlotHeight = 170;
constexpr double kHeaderHeight = 54;
constexpr double kLogLatencyLo = 0.1, kLogLatencyHi = 10000;  // ms

// SVG coordinates with one decimal: enough on a 900 px canvas, and the same
// report always gives the same bytes.
std::string P(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// The smallest of 1, 2, 5 x 10^k that is >= v (1 for v <= 0).
double NiceStep(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (p * m >= v * (1 - 1e-12)) return p * m;
  }
  return p * 10;
}

// A linear axis from 0 covering vmax in about four steps; `min_step` keeps
// the ticks of counts whole.
struct LinearAxis {
  double max = 1, step = 1;
};
LinearAxis MakeLinearAxis(double vmax, double min_step, int steps) {
  LinearAxis a;
  a.step = std::max(min_step, NiceStep(vmax / steps));
  a.max = std::max(a.step, std::ceil(vmax / a.step - 1e-9) * a.step);
  return a;
}

std::string AxisNumber(double v) { return Fmt(v, v == std::floor(v) ? 0 : 2); }

std::string LatencyLabel(double ms) {
  if (ms >= 1000) return AxisNumber(ms / 1000) + " s";
  if (ms >= 1) return AxisNumber(ms) + " ms";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g ms", ms);
  return buf;
}

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
  double bottom() const { return y + h; }
  double right() const { return x + w; }
};

// A panel's title and frame; returns the plot area.
Box Panel(std::ostringstream& o, double top, const std::string& title) {
  const Box b{kPlotLeft, top + kPlotTop, kPlotWidth, kPlotHeight};
  o << "<text x=\"10\" y=\"" << P(top + 16) << "\" font-size=\"13\" font-weight=\"bold\">"
    << XmlEscape(title, true) << "</text>\n";
  o << "<rect x=\"" << P(b.x) << "\" y=\"" << P(b.y) << "\" width=\"" << P(b.w) << "\" height=\""
    << P(b.h) << "\" fill=\"none\" stroke=\"#bbb\"/>\n";
  return b;
}

void NoData(std::ostringstream& o, const Box& b) {
  o << "<text x=\"" << P(b.x + b.w / 2) << "\" y=\"" << P(b.y + b.h / 2)
    << "\" text-anchor=\"middle\" fill=\"#888\" font-size=\"14\">no data</text>\n";
}

void GridX(std::ostringstream& o, const Box& b, double x, const std::string& label) {
  o << "<line x1=\"" << P(x) << "\" y1=\"" << P(b.y) << "\" x2=\"" << P(x) << "\" y2=\""
    << P(b.bottom()) << "\" stroke=\"#eee\"/>\n";
  o << "<text x=\"" << P(x) << "\" y=\"" << P(b.bottom() + 14)
    << "\" text-anchor=\"middle\" fill=\"#555\">" << XmlEscape(label, true) << "</text>\n";
}

void GridY(std::ostringstream& o, const Box& b, double y, const std::string& label) {
  o << "<line x1=\"" << P(b.x) << "\" y1=\"" << P(y) << "\" x2=\"" << P(b.right()) << "\" y2=\""
    << P(y) << "\" stroke=\"#eee\"/>\n";
  o << "<text x=\"" << P(b.x - 5) << "\" y=\"" << P(y + 4)
    << "\" text-anchor=\"end\" fill=\"#555\">" << XmlEscape(label, true) << "</text>\n";
}

void AxisTitle(std::ostringstream& o, const Box& b, const std::string& text) {
  o << "<text x=\"" << P(b.x + b.w / 2) << "\" y=\"" << P(b.bottom() + 30)
    << "\" text-anchor=\"middle\" fill=\"#555\">" << XmlEscape(text, true) << "</text>\n";
}

struct Series {
  std::string label, color, dash;
  std::vector<std::pair<double, double>> points;  // y NaN: no value that second
};

// Polylines through the points; a point without a value breaks the line, so
// a second with nothing acked shows as a gap, not as a dive to the axis. An
// isolated point is a dot (a one-point polyline draws nothing).
void Lines(std::ostringstream& o, const Series& s) {
  std::vector<std::pair<double, double>> run;
  auto flush = [&] {
    if (run.size() == 1) {
      o << "<circle cx=\"" << P(run[0].first) << "\" cy=\"" << P(run[0].second)
        << "\" r=\"2\" fill=\"" << s.color << "\"/>\n";
    } else if (run.size() > 1) {
      o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\"";
      if (!s.dash.empty()) o << " stroke-dasharray=\"" << s.dash << "\"";
      o << " points=\"";
      for (size_t i = 0; i < run.size(); ++i) {
        o << (i ? " " : "") << P(run[i].first) << "," << P(run[i].second);
      }
      o << "\"/>\n";
    }
    run.clear();
  };
  for (const auto& pt : s.points) {
    if (std::isnan(pt.second)) {
      flush();
    } else {
      run.push_back(pt);
    }
  }
  flush();
}

void Legend(std::ostringstream& o, const Box& b, const std::vector<Series>& series) {
  double y = b.y + 10;
  for (const Series& s : series) {
    const double x = b.right() + 12;
    o << "<line x1=\"" << P(x) << "\" y1=\"" << P(y) << "\" x2=\"" << P(x + 22) << "\" y2=\""
      << P(y) << "\" stroke=\"" << s.color << "\" stroke-width=\"2\"";
    if (!s.dash.empty()) o << " stroke-dasharray=\"" << s.dash << "\"";
    o << "/>\n<text x=\"" << P(x + 28) << "\" y=\"" << P(y + 4) << "\">" << XmlEscape(s.label, true)
      << "</text>\n";
    y += 16;
  }
}

// The time axis of panels (a) and (c): seconds since the first scheduled
// payment, in whole-second steps (the series has one point a second).
LinearAxis TimeAxis(const Json& series) {
  double tmax = 0;
  for (const Json& p : series) tmax = std::max(tmax, Num(p, "t"));
  return MakeLinearAxis(std::max(tmax, 1.0), 1, 6);
}

void DrawTimeGrid(std::ostringstream& o, const Box& b, const LinearAxis& t) {
  for (double v = 0; v <= t.max + 1e-9; v += t.step) GridX(o, b, b.x + v / t.max * b.w, Fmt(v, 0));
  AxisTitle(o, b, "seconds since the first scheduled payment");
}

double LogPos(double v, double lo, double hi, double len) {
  const double c = std::clamp(v, lo, hi);
  return (std::log10(c) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * len;
}

// (a) p50, p99 and max of each second on a log axis, 0.1 ms to 10 s.
void LatencyPanel(std::ostringstream& o, double top, const Json& report) {
  const Box b = Panel(o, top, "Latency over time (from schedule; p50, p99, max of each second)");
  const Json& series = Arr(report, "series");
  for (double ms = kLogLatencyLo; ms <= kLogLatencyHi * 1.001; ms *= 10) {
    GridY(o, b, b.bottom() - LogPos(ms, kLogLatencyLo, kLogLatencyHi, b.h), LatencyLabel(ms));
  }
  if (series.empty()) {
    NoData(o, b);
    return;
  }
  const LinearAxis t = TimeAxis(series);
  DrawTimeGrid(o, b, t);
  std::vector<Series> lines = {
      {"p50", "#1565c0", "", {}}, {"p99", "#ef6c00", "", {}}, {"max", "#c62828", "4,3", {}}};
  const char* keys[] = {"p50_ms", "p99_ms", "max_ms"};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Json& p : series) {
    const double x = b.x + Num(p, "t") / t.max * b.w;
    for (size_t i = 0; i < lines.size(); ++i) {
      const double v = Num(p, keys[i], -1);
      // No value (or 0: nothing acked that second) is a gap, not 0.1 ms.
      lines[i].points.emplace_back(
          x, v > 0 ? b.bottom() - LogPos(v, kLogLatencyLo, kLogLatencyHi, b.h) : nan);
    }
  }
  for (const Series& s : lines) Lines(o, s);
  Legend(o, b, lines);
}

// (b) The from-schedule histogram: bucket bounds on a log axis, counts linear,
// with the report's own p50, p99 and p99.9 marked (they come from the same
// samples, so they must fall inside the bars).
void HistogramPanel(std::ostringstream& o, double top, const Json& report) {
  // The layout is explained in the Markdown; the title must fit the panel.
  const Box b = Panel(o, top, "Latency histogram (from schedule; log-linear buckets)");
  struct Bucket {
    double from, to, count;
  };
  std::vector<Bucket> buckets;
  double lo = std::numeric_limits<double>::infinity(), hi = 0, max_count = 0;
  for (const Json& h : Arr(report, "histogram")) {
    Bucket k{Num(h, "from_ms"), Num(h, "to_ms"), Num(h, "count")};
    if (!(k.to > 0) || k.count < 0) continue;
    buckets.push_back(k);
    lo = std::min(lo, k.from > 0 ? k.from : k.to / 2);
    hi = std::max(hi, k.to);
    max_count = std::max(max_count, k.count);
  }
  if (buckets.empty()) {
    NoData(o, b);
    return;
  }
  // Whole decades, at least one, and not below a microsecond.
  const double x_lo = std::max(1e-3, std::pow(10, std::floor(std::log10(lo))));
  double x_hi = std::pow(10, std::ceil(std::log10(hi)));
  if (x_hi <= x_lo) x_hi = x_lo * 10;
  auto xpos = [&](double ms) { return b.x + LogPos(ms, x_lo, x_hi, b.w); };
  for (double ms = x_lo; ms <= x_hi * 1.001; ms *= 10) GridX(o, b, xpos(ms), LatencyLabel(ms));
  const LinearAxis y = MakeLinearAxis(std::max(max_count, 1.0), 1, 4);
  for (double v = 0; v <= y.max + 1e-9; v += y.step) {
    GridY(o, b, b.bottom() - v / y.max * b.h, Fmt(v, 0));
  }
  AxisTitle(o, b, "latency from schedule (log scale); bars: payments per bucket");
  for (const Bucket& k : buckets) {
    const double x0 = xpos(std::max(k.from, x_lo));
    const double w = std::max(1.0, xpos(k.to) - x0);
    const double h = k.count / y.max * b.h;
    o << "<rect x=\"" << P(x0) << "\" y=\"" << P(b.bottom() - h) << "\" width=\"" << P(w)
      << "\" height=\"" << P(h) << "\" fill=\"#1565c0\" fill-opacity=\"0.6\"/>\n";
  }
  const Json& lat = At(At(At(report, "results"), "latency_ms"), "from_schedule");
  const std::pair<const char*, const char*> marks[] = {
      {"p50", "p50"}, {"p99", "p99"}, {"p999", "p99.9"}};
  double label_y = b.y + 12;
  for (const auto& [key, label] : marks) {
    const double v = Num(lat, key);
    if (!(v > 0)) continue;
    const double x = xpos(v);
    o << "<line x1=\"" << P(x) << "\" y1=\"" << P(b.y) << "\" x2=\"" << P(x) << "\" y2=\""
      << P(b.bottom()) << "\" stroke=\"#c62828\" stroke-dasharray=\"3,3\"/>\n";
    // Labels stacked downwards, so close percentiles do not overprint.
    const bool left = x > b.right() - 110;
    o << "<text x=\"" << P(left ? x - 3 : x + 3) << "\" y=\"" << P(label_y) << "\" text-anchor=\""
      << (left ? "end" : "start") << "\" fill=\"#c62828\">" << label << " " << Fmt(v)
      << " ms</text>\n";
    label_y += 13;
  }
}

// (c) Payments scheduled and acked, and non-acked attempts, each second.
void RatePanel(std::ostringstream& o, double top, const Json& report) {
  const Box b = Panel(o, top, "Payments per second (scheduled, acked; non-acked attempts)");
  const Json& series = Arr(report, "series");
  if (series.empty()) {
    NoData(o, b);
    return;
  }
  const LinearAxis t = TimeAxis(series);
  DrawTimeGrid(o, b, t);
  std::vector<Series> lines = {{"scheduled/s", "#757575", "4,3", {}},
                               {"acked/s", "#2e7d32", "", {}},
                               {"non-acks/s", "#c62828", "", {}}};
  const char* keys[] = {"scheduled", "acked", "non_acks"};
  double vmax = 0;
  for (const Json& p : series) {
    for (const char* k : keys) vmax = std::max(vmax, Num(p, k));
  }
  const LinearAxis y = MakeLinearAxis(std::max(vmax, 1.0), 1, 4);
  for (double v = 0; v <= y.max + 1e-9; v += y.step) {
    GridY(o, b, b.bottom() - v / y.max * b.h, Fmt(v, 0));
  }
  for (const Json& p : series) {
    const double x = b.x + Num(p, "t") / t.max * b.w;
    for (size_t i = 0; i < lines.size(); ++i) {
      lines[i].points.emplace_back(x, b.bottom() - Num(p, keys[i]) / y.max * b.h);
    }
  }
  for (const Series& s : lines) Lines(o, s);
  Legend(o, b, lines);
}

}  // namespace

std::string UnackedText(const Json& ledger) {
  const int64_t scheduled = Int(ledger, "scheduled"), dropped = Int(ledger, "dropped");
  const int64_t acked = Int(ledger, "acked"), failed = Int(ledger, "failed");
  const int64_t blocked = Int(ledger, "blocked"), pending = Int(ledger, "pending");
  const int64_t notifications = scheduled - dropped, unacked = failed + blocked + pending;
  if (acked > 0 && unacked == 0) return "";
  if (acked == 0 && notifications <= 0) {
    return scheduled > 0 ? "nothing was acked: the sandbox refused all " +
                               std::to_string(scheduled) + " payments"
                         : "nothing was acked: no payment was made";
  }
  std::string parts;
  for (const auto& [n, what] : {std::pair<int64_t, const char*>{pending, "pending"},
                                {failed, "failed"},
                                {blocked, "blocked"}}) {
    if (n > 0) parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  }
  return std::string(acked == 0 ? "nothing was acked: " : "") + std::to_string(unacked) + " of " +
         std::to_string(notifications) + " notifications still unacked after the drain (" + parts +
         ")";
}

std::string RenderMerchantMarkdown(const Json& report, const std::string& svg_name) {
  std::ostringstream md;
  const Json& target = At(report, "target");
  const Json& load = At(report, "load");
  const Json& window = At(report, "window");
  const Json& results = At(report, "results");
  const Json& verdict = At(report, "verdict");
  const Json& machine = At(report, "machine");

  md << "# vkspay-bench merchant: " << Str(target, "notify_url", "(no notify URL)") << "\n\n";
  if (verdict.is_object()) {
    md << "**" << OneLine(Str(verdict, "text", "no verdict text"), 400) << "** (exit code "
       << Int(verdict, "exit_code", -1) << ")\n\n";
    if (!Str(verdict, "hint").empty())
      md << "Hint: " << OneLine(Str(verdict, "hint"), 400) << "\n\n";
  } else {
    md << "**No verdict: the run did not finish.**\n\n";
  }
  md << "- When: " << Str(report, "generated_at", "?") << "\n";
  if (machine.is_object()) {
    md << "- Machine: " << Str(machine, "host") << ", " << Int(machine, "cpus") << " CPUs ("
       << Str(machine, "cpu_model", "?") << "), " << Str(machine, "kernel") << "; build "
       << Str(machine, "build_type") << ", " << Str(machine, "compiler") << "\n";
  }
  md << "- Command: `" << Str(report, "command") << "`\n";
  md << "- Merchant " << Str(target, "merchantno", "?") << ", sandbox "
     << Str(target, "sandbox", "?");
  if (!Str(target, "state_url").empty()) md << ", state URL " << Str(target, "state_url");
  md << "\n\n";

  md << "## Figures\n\n| Figure | Value |\n|---|---|\n";
  md << "| Payments scheduled | " << Count(Int(results, "scheduled")) << " |\n";
  md << "| Measured (scheduled after the warm-up) | " << Count(Int(results, "measured")) << " |\n";
  md << "| Acked | " << Count(Int(results, "acked")) << " |\n";
  md << "| Acked per second | " << Fmt(Num(results, "acked_per_s")) << " |\n";
  const Json& latency = At(results, "latency_ms");
  md << "| Latency from schedule, ms: p50 / p90 / p99 / p99.9 / max | "
     << LatencyCells(At(latency, "from_schedule")) << " |\n";
  md << "| Latency send to ack, ms: p50 / p90 / p99 / p99.9 / max | "
     << LatencyCells(At(latency, "send_to_ack")) << " |\n";
  md << "| Attempts (retries) | " << Count(Int(results, "attempts")) << " ("
     << Count(Int(results, "retries")) << ") |\n";
  md << "| Duplicates sent / acked | " << Count(Int(results, "duplicates_sent")) << " / "
     << Count(Int(results, "duplicates_acked")) << " |\n";
  md << "| Error rate (non-acked attempts / attempts) | " << Pct(Num(results, "error_rate"))
     << " |\n";
  const Json& lag = At(results, "pay_lag_ms");
  md << "| Late payments (paid behind schedule); pay lag p99 / max | "
     << Count(Int(results, "late_payments")) << "; " << Fmt(Num(lag, "p99")) << " / "
     << Fmt(Num(lag, "max")) << " ms |\n";
  const Json& oq = At(results, "orderquery_callbacks");
  md << "| Orderquery call-backs by the handler | ";
  if (oq.is_object()) {
    const Json& oq_lat = At(oq, "latency_ms");
    md << Count(Int(oq, "count")) << " (" << Fmt(Num(oq, "per_notification"), 2)
       << " per notification, " << Count(Int(oq, "errors")) << " errors); p50 "
       << Fmt(Num(oq_lat, "p50")) << " ms, p99 " << Fmt(Num(oq_lat, "p99")) << " ms";
  } else {
    md << "not counted";
  }
  md << " |\n\n";

  const Json& non_acks = At(results, "non_acks");
  int64_t non_ack_total = 0;
  if (non_acks.is_object()) {
    for (const auto& [kind, n] : non_acks.items()) non_ack_total += Int(non_acks, kind.c_str());
  }
  if (non_ack_total > 0) {
    md << "## Non-acks by kind\n\n| Kind | Attempts | What it means |\n|---|---|---|\n";
    for (const auto& [kind, n] : non_acks.items()) {
      const int64_t count = Int(non_acks, kind.c_str());
      if (count == 0) continue;
      md << "| " << Cell(kind) << " | " << Count(count) << " | " << NonAckMeaning(kind);
      const Json& statuses = At(results, "http_statuses");
      if (kind == "http_status" && statuses.is_object() && !statuses.empty()) {
        md << " (";
        const char* sep = "";
        for (const auto& [status, m] : statuses.items()) {
          md << sep << Cell(status) << ": " << Count(Int(statuses, status.c_str()));
          sep = ", ";
        }
        md << ")";
      }
      md << " |\n";
    }
    const Json& examples = Arr(results, "non_ack_examples");
    if (!examples.empty()) {
      md << "\nExamples:\n\n";
      size_t shown = 0;
      for (const Json& e : examples) {
        if (shown++ == 5) break;
        md << "- " << Quoted(e) << "\n";
      }
    }
    md << "\n";
  }

  const Json& ledger = At(report, "ledger");
  if (ledger.is_object()) {
    md << "**Ledger**: scheduled " << Count(Int(ledger, "scheduled")) << " = acked "
       << Count(Int(ledger, "acked")) << " + failed " << Count(Int(ledger, "failed"))
       << " + pending " << Count(Int(ledger, "pending")) << " + blocked "
       << Count(Int(ledger, "blocked")) << " + dropped " << Count(Int(ledger, "dropped")) << ": ";
    if (Bool(ledger, "balanced")) {
      md << "balanced.\n\n";
    } else {
      md << "**VOID: " << OneLine(Join(Arr(ledger, "void_reasons"), "; ", 10), 1000)
         << "** (the figures above cannot be trusted).\n\n";
    }
  } else {
    md << "**Ledger**: not balanced (the run did not get that far).\n\n";
  }

  md << "## The sandbox's headroom\n\n";
  const Json& sandbox = At(report, "sandbox");
  if (sandbox.is_object()) {
    const Json& cpu = At(sandbox, "cpu_percent");
    const Json& queue = At(sandbox, "queue_depth");
    md << "- Sandbox CPU: mean " << Fmt(Num(cpu, "mean"), 0) << "%, max " << Fmt(Num(cpu, "max"), 0)
       << "% of one core (" << Int(sandbox, "cores") << " cores on the machine)\n";
    if (const Json& busy = At(sandbox, "machine_cpu_percent"); busy.is_object()) {
      md << "- Machine CPU (bench, sandbox and handler together when they share it): mean "
         << Fmt(Num(busy, "mean"), 0) << "%, max " << Fmt(Num(busy, "max"), 0)
         << "% of all cores\n";
    }
    md << "- Notifications queued in the sandbox: mean " << Fmt(Num(queue, "mean"), 1) << ", max "
       << Count(Int(queue, "max")) << "\n";
    const Json& ceiling = At(sandbox, "ceiling");
    md << "- Ceiling (the sandbox alone, delivering to the bench's own receiver): ";
    if (!ceiling.is_object()) {
      md << "not measured\n";
    } else if (!Str(ceiling, "error").empty()) {
      md << "could not be measured: " << OneLine(Str(ceiling, "error"), 400) << "\n";
    } else {
      const double rate = Num(ceiling, "rate_per_s");
      md << Fmt(rate) << " acked/s over " << Count(Int(ceiling, "orders")) << " orders, p99 "
         << Fmt(Num(ceiling, "p99_ms")) << " ms";
      if (rate > 0) md << "; this run used " << Pct(Num(results, "acked_per_s") / rate) << " of it";
      md << "\n";
    }
    md << "- What limited the run: **" << Str(sandbox, "limit", "unclear") << "**";
    if (!Str(sandbox, "limit_reason").empty()) {
      md << ": " << OneLine(Str(sandbox, "limit_reason"), 400);
    }
    md << "\n\n";
  } else {
    md << "Not measured.\n\n";
  }

  const Json& once = At(report, "exactly_once");
  if (once.is_object()) {
    md << "## Exactly once\n\nThe handler's state URL was asked about "
       << Count(Int(once, "checked")) << " orders: " << Count(Int(once, "violations"))
       << " not processed exactly once.\n";
    size_t shown = 0;
    for (const Json& e : Arr(once, "examples")) {
      if (shown++ == 5) break;
      md << (shown == 1 ? "\n" : "") << "- " << Quoted(e) << "\n";
    }
    md << "\n";
  }

  md << "## Thresholds\n\n";
  const Json& thresholds = Arr(report, "thresholds");
  if (thresholds.empty()) {
    md << "None set (no --expect-* flag).\n\n";
  } else {
    md << "| Threshold | Flag | Expected | Measured | Verdict |\n|---|---|---|---|---|\n";
    for (const Json& t : thresholds) {
      md << "| " << Cell(Str(t, "name")) << " | `" << Str(t, "flag") << "` | "
         << Cell(Text(At(t, "expected"))) << " | " << Cell(Text(At(t, "measured"))) << " | "
         << (Bool(t, "passed") ? "PASS" : "**FAIL**") << " |\n";
    }
    md << "\n";
  }

  // One step says nothing the figures do not; several are the ramp, read for
  // the knee where acked/s stops following the rate and p99 climbs.
  const Json& steps = Arr(report, "steps");
  if (steps.size() > 1) {
    md << "## Steps (the ramp: the knee is where acked/s stops following the rate)\n\n"
          "| Rate /s | From s | Scheduled | Acked/s | p50 ms | p99 ms | Non-acks |\n"
          "|---|---|---|---|---|---|---|\n";
    for (const Json& s : steps) {
      md << "| " << Rate(Num(s, "rate")) << " | " << Fmt(Num(s, "start_s"), 1) << " | "
         << Count(Int(s, "scheduled")) << " | " << Fmt(Num(s, "acked_per_s")) << " | "
         << Fmt(Num(s, "p50_ms")) << " | " << Fmt(Num(s, "p99_ms")) << " | "
         << Count(Int(s, "non_acks")) << " |\n";
    }
    md << "\n";
  }

  md << "## Load\n\n";
  const std::string model = Str(load, "model", "?");
  md << "- Model: " << model;
  if (model == "open") {
    md << ", " << Rate(Num(load, "rate")) << " payments/s whatever the handler does";
  } else if (model == "ramp") {
    md << ", " << Rate(Num(load, "rate")) << " to " << Rate(Num(load, "rate_to"))
       << " payments/s, +" << Rate(Num(load, "step")) << " every "
       << Seconds(Num(load, "step_duration_s"));
  } else if (model == "closed") {
    md << ", " << Int(load, "concurrency")
       << " buyers, each waiting for its notification's ack before paying again";
  }
  md << "\n";
  if (Num(load, "duration_s") > 0) {
    md << "- Duration: " << Seconds(Num(load, "duration_s")) << "\n";
  } else if (Int(load, "count") > 0) {
    md << "- Count: " << Count(Int(load, "count")) << " payments\n";
  }
  md << "- Warm-up (not measured): " << Seconds(Num(load, "warmup_s")) << "; drain: up to "
     << Seconds(Num(load, "drain_s")) << ", waited " << Seconds(Num(window, "drain_waited_s"))
     << "; measured window " << Seconds(Num(window, "measured_s")) << "\n";
  md << "- Duplicates: " << Pct(Num(load, "duplicates")) << " of orders delivered twice\n";
  md << "- Notify profile " << Str(load, "notify_profile", "?") << ", time scale "
     << Text(At(load, "time_scale")) << ", seed " << Text(At(load, "seed")) << "\n\n";

  md << "![charts](" << svg_name << ")\n\n";

  md << "## How to read this\n\n"
        "Latency from schedule runs from the moment a payment was due by the schedule to its\n"
        "notification's ack, so it counts the time a payment waited because the handler (or the\n"
        "sandbox) was behind: a slow handler cannot hide its latency by slowing the load down\n"
        "(no coordinated omission). Send to ack is the time of the acked attempt alone, what a\n"
        "closed-loop tool would show; a wide gap between the two is queueing, not handler work.\n"
        "Histogram buckets: "
     << Str(report, "histogram_kind", "(their layout was not recorded)")
     << ". Raw figures: the JSON file beside this one.\n";
  return md.str();
}

std::string RenderMerchantSvg(const Json& report) {
  const double height = kHeaderHeight + 3 * kPanelHeight + 10;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kSvgWidth << "\" height=\""
    << P(height) << "\" viewBox=\"0 0 " << kSvgWidth << " " << P(height)
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">vkspay-bench merchant: "
    << XmlEscape(Str(At(report, "target"), "notify_url"), true) << "</text>\n";
  const Json& verdict = At(report, "verdict");
  o << "<text x=\"10\" y=\"38\" fill=\"#555\">" << XmlEscape(Str(verdict, "text", "no verdict"), true)
    << " (exit " << Int(verdict, "exit_code", -1) << "); "
    << XmlEscape(Str(At(report, "machine"), "host"), true) << ", "
    << XmlEscape(Str(report, "generated_at"), true) << "</text>\n";
  LatencyPanel(o, kHeaderHeight, report);
  HistogramPanel(o, kHeaderHeight + kPanelHeight, report);
  RatePanel(o, kHeaderHeight + 2 * kPanelHeight, report);
  o << "</svg>\n";
  return o.str();
}

std::string RenderMerchantJUnit(const Json& report) {
  struct Case {
    std::string name, failure, detail;  // failure "" when it passed
  };
  std::vector<Case> cases;
  for (const Json& t : Arr(report, "thresholds")) {
    Case c;
    const std::string expected = Text(At(t, "expected"));
    c.name = Str(t, "name", "threshold") + " (" + Str(t, "flag") + " " + expected + ")";
    if (!Bool(t, "passed")) {
      c.failure = "expected " + expected + ", measured " + Text(At(t, "measured"));
    }
    cases.push_back(std::move(c));
  }
  const Json& ledger = At(report, "ledger");
  Case lc{"ledger balances", "", ""};
  if (!ledger.is_object()) {
    // No ledger means nothing shows that every payment was accounted for.
    lc.failure = "the report has no ledger (the run did not finish)";
  } else if (!Bool(ledger, "balanced")) {
    const Json& reasons = Arr(ledger, "void_reasons");
    lc.failure =
        "the run is void: " + (reasons.empty() ? "no reason given" : Join(reasons, "; ", 10));
    lc.detail = "scheduled " + std::to_string(Int(ledger, "scheduled")) + " = acked " +
                std::to_string(Int(ledger, "acked")) + " + failed " +
                std::to_string(Int(ledger, "failed")) + " + pending " +
                std::to_string(Int(ledger, "pending")) + " + blocked " +
                std::to_string(Int(ledger, "blocked")) + " + dropped " +
                std::to_string(Int(ledger, "dropped"));
  }
  cases.push_back(std::move(lc));
  if (ledger.is_object()) {
    Case ac{"every notification acked", UnackedText(ledger), ""};
    const std::string hint = Str(At(report, "verdict"), "hint");
    if (!ac.failure.empty() && !hint.empty()) ac.failure += "; " + hint;
    cases.push_back(std::move(ac));
  }
  const Json& once = At(report, "exactly_once");
  if (once.is_object()) {
    Case oc{"each order processed exactly once", "", ""};
    const int64_t violations = Int(once, "violations");
    if (violations > 0) {
      oc.failure = std::to_string(violations) + " of " + std::to_string(Int(once, "checked")) +
                   " orders not processed exactly once";
      const Json& examples = Arr(once, "examples");
      if (!examples.empty()) oc.failure += ": " + Join(examples, "; ", 3);
    }
    cases.push_back(std::move(oc));
  }

  size_t failures = 0;
  for (const Case& c : cases) failures += c.failure.empty() ? 0u : 1u;
  char time[32];
  std::snprintf(time, sizeof time, "%.3f", Num(At(report, "window"), "measured_s"));
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
    << "<testsuite name=\"vkspay-bench merchant\" tests=\"" << cases.size() << "\" failures=\""
    << failures << "\" time=\"" << time << "\">\n";
  for (const Case& c : cases) {
    x << "  <testcase classname=\"vkspay-bench.merchant\" name=\"" << XmlEscape(c.name, true) << "\"";
    if (c.failure.empty()) {
      x << "/>\n";
      continue;
    }
    x << ">\n    <failure message=\"" << XmlEscape(c.failure, true) << "\"";
    if (c.detail.empty()) {
      x << "/>\n";
    } else {
      x << ">" << XmlEscape(c.detail, true) << "</failure>\n";
    }
    x << "  </testcase>\n";
  }
  x << "</testsuite>\n</testsuites>\n";
  return x.str();
}

std::string WriteMerchantReport(const Json& report, const std::string& dir,
                                const std::string& base) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  const std::string svg_name = base + ".svg";
  struct Out {
    std::string path, text;
  };
  // The JSON may hold a handler's bytes (non-ack examples) that are not
  // UTF-8; dump() would throw on them, so they become U+FFFD.
  const std::string json = report.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  for (const Out& out : {Out{dir + "/" + base + ".json", json},
                         Out{dir + "/" + base + ".md", RenderMerchantMarkdown(report, svg_name)},
                         Out{dir + "/" + svg_name, RenderMerchantSvg(report)}}) {
    std::ofstream f(out.path, std::ios::binary);
    f << out.text;
    f.close();  // a full disk shows at the flush
    if (!f) return "cannot write " + out.path;
  }
  return "";
}

}  // namespace vkspay::bench
