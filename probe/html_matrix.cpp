#include "html_matrix.hpp"

#include <map>
#include <set>

#include "escape.hpp"

namespace ntpkit::probe {
namespace {

using nlohmann::json;

// HTML text and attribute values: XML's escaping serves (&apos; is HTML5 too).
std::string esc(const std::string& s) {
  return xml_escape(s);
}

std::string text_of(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}

std::string number_of(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].dump() : std::string("-");
}

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.case { max-width: 34em; }
td.case .req { color: #555; font-size: 0.9em; }
.pass { background: #d8f5d8; } .fail { background: #f8c9c9; } .warn { background: #fbeaa9; }
.info { background: #dde8f8; } .skip { background: #eee; color: #777; } .inconclusive { background: #f1dcf5; }
.none { background: #fafafa; color: #999; }
details summary { cursor: pointer; font-weight: 600; }
details div { font-size: 0.85em; white-space: pre-wrap; max-width: 28em; }
)";

}  // namespace

std::string render_html_matrix(const std::vector<json>& reports) {
  // The rows: every case id in the order first seen, with its citation; the columns: the reports.
  std::vector<std::string> rows;
  std::map<std::string, json> row_info;
  std::vector<std::map<std::string, const json*>> cells(reports.size());
  std::set<std::string> suites;
  for (size_t t = 0; t < reports.size(); ++t) {
    const json& r = reports[t];
    suites.insert(text_of(r, "suite"));
    if (!r.is_object() || !r.contains("cases") || !r["cases"].is_array()) continue;
    for (const json& c : r["cases"]) {
      const std::string id = text_of(c, "id");
      if (id.empty()) continue;
      if (!row_info.count(id)) {
        rows.push_back(id);
        row_info[id] = c;
      }
      cells[t][id] = &c;
    }
  }
  std::string suite_names;
  for (const auto& s : suites) suite_names += (suite_names.empty() ? "" : ", ") + s;

  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ntp-probe: " + esc(suite_names) +
      ", " + std::to_string(reports.size()) + " target(s)</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  h += "<h1>ntp-probe: suite " + esc(suite_names) + " against " + std::to_string(reports.size()) + " target(s)</h1>\n";

  // One row a target: its exit code and counts, or why it was not judged.
  h += "<table id=\"summary\">\n<tr><th>target</th><th>address</th><th>exit</th><th>pass</th><th>fail</th>"
       "<th>warn</th><th>info</th><th>skip</th><th>inconclusive</th><th>note</th></tr>\n";
  for (const json& r : reports) {
    const json summary = r.is_object() && r.contains("summary") ? r["summary"] : json();
    h += "<tr class=\"target\"><td>" + esc(text_of(r, "target")) + "</td><td>" + esc(text_of(r, "address")) +
         "</td><td>" + number_of(r, "exit_code") + "</td>";
    for (const char* k : {"pass", "fail", "warn", "info", "skip", "inconclusive"}) {
      h += "<td class=\"" + std::string(number_of(summary, k) != "0" && number_of(summary, k) != "-" ? k : "") + "\">" +
           number_of(summary, k) + "</td>";
    }
    h += "<td>" + esc(text_of(r, "error")) + "</td></tr>\n";
  }
  h += "</table>\n";

  // The matrix.
  h += "<table id=\"matrix\">\n<tr><th>case</th><th>level</th>";
  for (const json& r : reports) h += "<th>" + esc(text_of(r, "target")) + "</th>";
  h += "</tr>\n";
  for (const auto& id : rows) {
    const json& info = row_info[id];
    h += "<tr><td class=\"case\" id=\"" + esc(id) + "\"><b>" + esc(id) + "</b><br><span class=\"req\">" +
         esc(text_of(info, "rfc")) + " \xC2\xA7" + esc(text_of(info, "section")) + ": " +
         esc(text_of(info, "requirement")) + "</span></td><td>" + esc(text_of(info, "level")) + "</td>";
    for (size_t t = 0; t < reports.size(); ++t) {
      const auto it = cells[t].find(id);
      if (it == cells[t].end()) {
        h += "<td class=\"none\">&mdash;</td>";
        continue;
      }
      const json& c = *it->second;
      const std::string outcome = text_of(c, "outcome");
      h += "<td class=\"" + esc(outcome) + "\"><details><summary>" + esc(outcome) + "</summary><div>" +
           esc(text_of(c, "summary"));
      if (!text_of(c, "expected").empty()) h += "\nexpected: " + esc(text_of(c, "expected"));
      if (!text_of(c, "actual").empty()) h += "\nactual: " + esc(text_of(c, "actual"));
      if (!text_of(c, "reproduce").empty()) h += "\nreproduce: " + esc(text_of(c, "reproduce"));
      h += "</div></details></td>";
    }
    h += "</tr>\n";
  }
  h += "</table>\n</body>\n</html>\n";
  return h;
}

}  // namespace ntpkit::probe
