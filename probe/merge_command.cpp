#include "merge_command.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "html_matrix.hpp"

namespace ntpkit::probe {
namespace {

using nlohmann::json;

constexpr size_t kMaxLine = 64 * 1024 * 1024;  // one report: the largest, verbose, is a few MiB
constexpr int kMaxDepth = 32;                  // our reports nest 5 deep

// A line, at most kMaxLine bytes of it (the rest skipped, `too_long` set); false at the end.
bool read_line(std::istream& in, std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  char c = 0;
  bool any = false;
  while (in.get(c)) {
    any = true;
    if (c == '\n') return true;
    if (line.size() < kMaxLine) {
      line.push_back(c);
    } else {
      too_long = true;
    }
  }
  return any;
}

// The report objects of one line: an object, or an array of them. Throws with the reason.
std::vector<json> reports_of(const std::string& line) {
  const json::parser_callback_t depth_limit = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) throw std::runtime_error("nested deeper than any report");
    return true;
  };
  json v = json::parse(line, depth_limit);
  std::vector<json> out;
  const auto check = [&](json o) {
    if (!o.is_object() || !o.contains("target") || !o["target"].is_string() || !o.contains("suite") ||
        !o["suite"].is_string() || !o.contains("exit_code") || !o["exit_code"].is_number_integer()) {
      throw std::runtime_error("not an ntp-probe report (no suite, target and exit_code)");
    }
    out.push_back(std::move(o));
  };
  if (v.is_array()) {
    for (auto& o : v) check(std::move(o));
  } else {
    check(std::move(v));
  }
  return out;
}

int worst(int a, int b) {
  const auto rank = [](int e) { return e == 1 ? 3 : e == 3 ? 2 : e == 0 ? 0 : 1; };
  return rank(b) > rank(a) ? b : a;
}

std::string count(const json& summary, const char* key) {
  if (!summary.is_object() || !summary.contains(key) || !summary[key].is_number_integer()) return "-";
  return std::to_string(summary[key].get<int64_t>());
}

}  // namespace

void setup_merge(CLI::App& app, MergeOptions& o) {
  app.add_option("files", o.files,
                 "JSON reports: JSON Lines (--format jsonl), --format json of one or many targets; "
                 "- for standard input")
      ->required();
  app.add_option(
         "--format", o.format,
         "the merged report on stdout: text (a table), json (an array), jsonl or html (the matrix, cases by targets)")
      ->check(CLI::IsMember({"text", "json", "jsonl", "html"}))
      ->capture_default_str();
  app.add_option("--json", o.json_file, "also write the merged JSON array to FILE");
}

int run_merge(const MergeOptions& o) {
  if (auto e = check_writable("--json", o.json_file); !e.empty()) {
    std::fprintf(stderr, "ntp-probe merge: %s\n", e.c_str());
    return 2;
  }
  std::map<std::pair<std::string, std::string>, json> reports;  // (suite, target): the last one read
  size_t replaced = 0, bad_lines = 0;
  for (const auto& name : o.files) {
    std::ifstream file;
    if (name != "-") {
      file.open(name, std::ios::binary);
      if (!file) {
        std::fprintf(stderr, "ntp-probe merge: %s: cannot read it\n", name.c_str());
        ++bad_lines;
        continue;
      }
    }
    std::istream& in = name == "-" ? std::cin : file;
    std::string line;
    bool too_long = false;
    for (size_t number = 1; read_line(in, line, too_long); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (too_long) {
        std::fprintf(stderr, "ntp-probe merge: %s line %zu: longer than %zu MiB; skipped\n", name.c_str(), number,
                     kMaxLine >> 20);
        ++bad_lines;
        continue;
      }
      try {
        for (auto& r : reports_of(line)) {
          auto key = std::make_pair(r["suite"].get<std::string>(), r["target"].get<std::string>());
          replaced += reports.count(key);
          reports[std::move(key)] = std::move(r);
        }
      } catch (const std::exception& e) {
        std::string why = e.what();
        if (const auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
        std::fprintf(stderr, "ntp-probe merge: %s line %zu: %s; skipped\n", name.c_str(), number, why.c_str());
        ++bad_lines;
      }
    }
  }
  if (replaced > 0) {
    std::fprintf(stderr, "ntp-probe merge: %zu report(s) of a suite and target read again: the later kept\n", replaced);
  }
  int code = 0;
  json array = json::array();
  for (const auto& [key, r] : reports) {
    code = worst(code, static_cast<int>(r["exit_code"].get<int64_t>()));
    array.push_back(r);
  }
  if (o.format == "jsonl") {
    for (const auto& r : array) std::printf("%s\n", r.dump().c_str());
  } else if (o.format == "json") {
    std::printf("%s\n", array.dump().c_str());
  } else if (o.format == "html") {
    std::fputs(render_html_matrix(std::vector<json>(array.begin(), array.end())).c_str(), stdout);
  } else {
    std::printf("%-5s %5s %5s %5s %5s %5s %5s  %-10s %s\n", "EXIT", "PASS", "FAIL", "WARN", "INFO", "SKIP", "INCON",
                "SUITE", "TARGET");
    for (const auto& r : array) {
      const json summary = r.contains("summary") ? r["summary"] : json();
      std::printf(
          "%-5lld %5s %5s %5s %5s %5s %5s  %-10s %s%s\n", static_cast<long long>(r["exit_code"].get<int64_t>()),
          count(summary, "pass").c_str(), count(summary, "fail").c_str(), count(summary, "warn").c_str(),
          count(summary, "info").c_str(), count(summary, "skip").c_str(), count(summary, "inconclusive").c_str(),
          r["suite"].get<std::string>().c_str(), r["target"].get<std::string>().c_str(),
          r.contains("error") && r["error"].is_string() ? ("  (" + r["error"].get<std::string>() + ")").c_str() : "");
    }
    std::printf("%zu report(s), exit %d\n", reports.size(), reports.empty() ? 3 : worst(code, bad_lines > 0 ? 3 : 0));
  }
  if (!o.json_file.empty() && !write_file(o.json_file, array.dump() + "\n")) {
    std::fprintf(stderr, "ntp-probe merge: cannot write %s\n", o.json_file.c_str());
    return 3;
  }
  if (reports.empty()) {
    std::fprintf(stderr, "ntp-probe merge: no report read\n");
    return 3;
  }
  return bad_lines > 0 ? worst(code, 3) : code;
}

}  // namespace ntpkit::probe
