#include "test_report.hpp"

#include <array>
#include <cstdio>

#include "escape.hpp"

namespace ntpkit::probe {
namespace {

std::string seconds_attr(double s) {
  if (s < 0) return "";
  std::array<char, 64> b{};
  std::snprintf(b.data(), b.size(), "%.3f", s);
  return std::string(" time=\"") + b.data() + "\"";
}

bool is_failure(const TestCase& c) {
  return c.status == TestCase::Status::Fail;
}
bool is_error(const TestCase& c) {
  return c.status == TestCase::Status::Error;
}
bool is_skip(const TestCase& c) {
  return c.status == TestCase::Status::Skip;
}

}  // namespace

std::string junit_xml(std::string_view tool, const std::vector<TestSuite>& suites) {
  size_t tests = 0, failures = 0, errors = 0;
  double seconds = 0;
  bool timed = true;
  for (const auto& s : suites) {
    tests += s.cases.size();
    for (const auto& c : s.cases) {
      failures += is_failure(c) ? 1 : 0;
      errors += is_error(c) ? 1 : 0;
    }
    if (s.seconds < 0) timed = false;
    seconds += s.seconds;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"" + xml_escape(tool) + "\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"" + std::to_string(errors) + "\"" +
         seconds_attr(timed ? seconds : -1) + ">\n";
  for (const auto& s : suites) {
    size_t f = 0, e = 0, k = 0;
    for (const auto& c : s.cases) {
      f += is_failure(c) ? 1 : 0;
      e += is_error(c) ? 1 : 0;
      k += is_skip(c) ? 1 : 0;
    }
    out += "  <testsuite name=\"" + xml_escape(s.name) + "\" tests=\"" + std::to_string(s.cases.size()) +
           "\" failures=\"" + std::to_string(f) + "\" errors=\"" + std::to_string(e) + "\" skipped=\"" +
           std::to_string(k) + "\"" + seconds_attr(s.seconds) +
           (s.hostname.empty() ? "" : " hostname=\"" + xml_escape(s.hostname) + "\"") + ">\n";
    if (!s.properties.empty()) {
      out += "    <properties>\n";
      for (const auto& [name, value] : s.properties) {
        out += "      <property name=\"" + xml_escape(name) + "\" value=\"" + xml_escape(value) + "\"/>\n";
      }
      out += "    </properties>\n";
    }
    for (const auto& c : s.cases) {
      out += "    <testcase classname=\"" + xml_escape(s.name) + "\" name=\"" + xml_escape(c.name) + "\" time=\"0\">\n";
      const std::string msg = xml_escape(c.message);
      switch (c.status) {
        case TestCase::Status::Pass: break;
        case TestCase::Status::Fail:
          out += "      <failure message=\"" + msg + "\" type=\"" + xml_escape(c.type) + "\">" + xml_escape(c.detail) +
                 "</failure>\n";
          break;
        case TestCase::Status::Error:
          out += "      <error message=\"" + msg + "\" type=\"" + xml_escape(c.type) + "\">" + xml_escape(c.detail) +
                 "</error>\n";
          break;
        case TestCase::Status::Skip: out += "      <skipped message=\"" + msg + "\"/>\n"; break;
        case TestCase::Status::Note:
          out += "      <system-out>" + msg + (c.detail.empty() ? "" : "\n" + xml_escape(c.detail)) + "</system-out>\n";
          break;
      }
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

std::string tap(const std::vector<TestSuite>& suites, const std::vector<std::string>& comments) {
  std::string body;
  size_t n = 0;
  for (const auto& s : suites) {
    for (const auto& c : s.cases) {
      const bool ok = c.status != TestCase::Status::Fail;
      body += std::string(ok ? "ok " : "not ok ") + std::to_string(++n) + " - " + (s.tap_prefix ? s.name + ": " : "") +
              c.name;
      if (c.tap_directive) {
        if (!c.tap_directive->empty()) body += " " + *c.tap_directive;
      } else if (c.status == TestCase::Status::Skip || c.status == TestCase::Status::Error) {
        body += " # SKIP " + c.message;
      }
      body += "\n";
      if (!c.yaml.empty()) {
        body += "  ---\n";
        for (const auto& [key, value] : c.yaml) body += "  " + key + ": " + value + "\n";
        body += "  ...\n";
      }
    }
  }
  std::string out = "TAP version 13\n1.." + std::to_string(n) + "\n" + body;
  for (const auto& line : comments) out += "# " + line + "\n";
  return out;
}

}  // namespace ntpkit::probe
