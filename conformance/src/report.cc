#include "vkspay/conformance/report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "nlohmann/json.hpp"

namespace vkspay::conformance {

Counts CountVerdicts(const Report& report) {
  Counts c;
  for (const CaseResult& r : report.results) {
    ++c.total;
    switch (r.outcome.verdict) {
      case Verdict::kPass:
        ++c.pass;
        break;
      case Verdict::kWarn:
        ++c.warn;
        break;
      case Verdict::kFail:
        ++c.fail;
        break;
      case Verdict::kSkip:
        ++c.skip;
        break;
    }
  }
  return c;
}

int ExitCodeFor(const Report& report) {
  const Counts c = CountVerdicts(report);
  if (c.fail > 0) return 1;
  return report.skip_is_incomplete && c.skip > 0 ? 3 : 0;
}

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The text as at most `max_chars` code points on one line.
std::string OneLine(std::string_view s, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t len = Utf8At(s, i, &cp);
    if (chars == max_chars) {
      out += "...";
      break;
    }
    if (len == 0) {
      out += kReplacement;
      i += 1;
    } else if (cp == '\n' || cp == '\r' || cp == '\t') {
      out += ' ';
      i += 1;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
    ++chars;
  }
  return out;
}

// The text on lines of at most `width` code points (at least 1), broken at
// spaces where it can; line breaks and tabs count as spaces, runs of spaces
// collapse, and a word longer than a line is split.
std::vector<std::string> Wrap(std::string_view s, size_t width) {
  if (width == 0) width = 1;
  const std::string flat = OneLine(s, std::string::npos);
  std::vector<std::string> words;  // with their lengths in code points
  std::vector<size_t> lengths;
  for (size_t i = 0; i < flat.size();) {
    if (flat[i] == ' ') {
      ++i;
      continue;
    }
    std::string word;
    size_t chars = 0;
    while (i < flat.size() && flat[i] != ' ') {
      uint32_t cp = 0;
      const size_t len = std::max<size_t>(1, Utf8At(flat, i, &cp));
      if (chars == width) {  // split an over-long word
        words.push_back(word);
        lengths.push_back(chars);
        word.clear();
        chars = 0;
      }
      word.append(flat, i, len);
      i += len;
      ++chars;
    }
    words.push_back(word);
    lengths.push_back(chars);
  }
  std::vector<std::string> lines;
  std::string line;
  size_t line_chars = 0;
  for (size_t w = 0; w < words.size(); ++w) {
    if (line_chars > 0 && line_chars + 1 + lengths[w] > width) {
      lines.push_back(line);
      line.clear();
      line_chars = 0;
    }
    if (line_chars > 0) {
      line += ' ';
      ++line_chars;
    }
    line += words[w];
    line_chars += lengths[w];
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace

std::string JUnitXml(const Report& report) {
  // Groups in first-seen order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const CaseResult*>> groups;
  for (const CaseResult& r : report.results) {
    const std::string g = GroupOf(r.id);
    if (!groups.count(g)) order.push_back(g);
    groups[g].push_back(&r);
  }
  const Counts all = CountVerdicts(report);
  std::ostringstream x;
  const auto attr = [](std::string_view s) { return XmlEscape(s, /*attribute=*/true); };
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"vkspay-conformance " << attr(report.mode) << "\" tests=\"" << all.total
    << "\" failures=\"" << all.fail << "\" errors=\"0\" skipped=\"" << all.skip << "\" time=\""
    << Seconds(report.seconds) << "\">\n";
  for (const std::string& g : order) {
    Report part;
    double seconds = 0;
    for (const CaseResult* r : groups[g]) {
      part.results.push_back(*r);
      seconds += r->seconds;
    }
    const Counts c = CountVerdicts(part);
    x << "  <testsuite name=\"" << attr(report.mode + "/" + g) << "\" tests=\"" << c.total
      << "\" failures=\"" << c.fail << "\" errors=\"0\" skipped=\"" << c.skip << "\" time=\""
      << Seconds(seconds) << "\" timestamp=\"" << attr(report.started_at) << "\">\n";
    x << "    <properties>\n      <property name=\"target\" value=\"" << attr(report.target)
      << "\"/>\n    </properties>\n";
    for (const CaseResult* r : groups[g]) {
      x << "    <testcase name=\"" << attr(r->id) << "\" classname=\""
        << attr("vkspay-conformance." + report.mode + "." + g) << "\" time=\""
        << Seconds(r->seconds) << "\"";
      const Outcome& o = r->outcome;
      switch (o.verdict) {
        case Verdict::kPass:
          x << "/>\n";
          break;
        case Verdict::kWarn:
          x << ">\n      <properties>\n        <property name=\"verdict\" value=\"WARN\"/>\n"
            << "      </properties>\n      <system-out>WARN: " << XmlEscape(o.reason)
            << "</system-out>\n    </testcase>\n";
          break;
        case Verdict::kFail:
          x << ">\n      <failure message=\"" << attr(OneLine(o.reason, 400)) << "\" type=\"FAIL\">"
            << XmlEscape(r->summary + "\n" + o.reason) << "</failure>\n    </testcase>\n";
          break;
        case Verdict::kSkip:
          x << ">\n      <skipped message=\"" << attr(OneLine(o.reason, 400))
            << "\"/>\n    </testcase>\n";
          break;
      }
    }
    x << "  </testsuite>\n";
  }
  x << "</testsuites>\n";
  return x.str();
}

std::string JsonReport(const Report& report) {
  nlohmann::json j;
  j["tool"] = "vkspay-conformance";
  j["mode"] = report.mode;
  j["target"] = report.target;
  j["started_at"] = report.started_at;
  j["seconds"] = report.seconds;
  const Counts c = CountVerdicts(report);
  j["counts"] = {
      {"total", c.total}, {"pass", c.pass}, {"warn", c.warn}, {"fail", c.fail}, {"skip", c.skip}};
  j["exit_code"] = ExitCodeFor(report);
  j["results"] = nlohmann::json::array();
  for (const CaseResult& r : report.results) {
    j["results"].push_back({{"id", r.id},
                            {"group", GroupOf(r.id)},
                            {"summary", r.summary},
                            {"verdict", std::string(VerdictName(r.outcome.verdict))},
                            {"reason", r.outcome.reason},
                            {"seconds", r.seconds}});
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string ConsoleTable(const Report& report, size_t width) {
  size_t id_width = 2;
  for (const CaseResult& r : report.results) id_width = std::max(id_width, r.id.size());
  const size_t reason_width = width > id_width + 10 ? width - id_width - 10 : 40;
  std::ostringstream out;
  const auto pad = [](std::string s, size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
  };
  out << pad("VERDICT", 8) << pad("ID", id_width + 2) << "REASON\n";
  for (const CaseResult& r : report.results) {
    // Wrapped, not cut: the reason is what a CI log reader needs whole.
    const std::vector<std::string> lines = Wrap(r.outcome.reason, reason_width);
    out << pad(std::string(VerdictName(r.outcome.verdict)), 8) << pad(r.id, id_width + 2)
        << lines[0] << "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
      out << std::string(8 + id_width + 2, ' ') << lines[i] << "\n";
    }
  }
  const Counts c = CountVerdicts(report);
  out << c.total << (c.total == 1 ? " case: " : " cases: ") << c.pass << " pass, " << c.warn
      << " warn, " << c.fail << " fail, " << c.skip << " skip (" << report.mode << " mode, "
      << report.target << ", " << Seconds(report.seconds) << " s)\n";
  return out.str();
}

Status WriteFile(const std::string& path, std::string_view content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status(ErrorCode::kInternal, "cannot open " + path + " for writing");
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  f.close();
  if (!f) return Status(ErrorCode::kInternal, "cannot write " + path);
  return Status::Ok();
}

}  // namespace vkspay::conformance
