// Monitoring outputs end to end: `ntp-probe query --nagios` against ntp-server (its clock
// shifted by a misbehaviour, so that each threshold is crossed on purpose) exits as the
// monitoring-plugins do, 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN, with one status line; and
// `--format prometheus` is the text exposition format, checked line by line.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace ntpkit::test {
namespace {

using namespace std::chrono_literals;

RunResult nagios(const std::string& port, std::vector<std::string> extra) {
  std::vector<std::string> argv = {NTP_PROBE_BIN, "query", "--nagios", "-t", "1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("127.0.0.1:" + port);
  return run_command(argv, 10000ms);
}

// One line, "NTP STATE: ...|perfdata".
void expect_one_status_line(const RunResult& r, const std::string& state) {
  EXPECT_EQ(r.out.rfind("NTP " + state + ": ", 0), 0U) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
}

// A server 5 s ahead: OK under both thresholds, WARNING past -w, CRITICAL past -c, and the
// offset in the perfdata with the thresholds.
TEST(Nagios, ExitCodesAtEachThreshold) {
  RunningServer ahead({"--misbehave", "time-offset=5"});
  ASSERT_FALSE(ahead.port.empty());
  auto r = nagios(ahead.port, {"-w", "10", "-c", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_one_status_line(r, "OK");
  EXPECT_TRUE(r.out.find("|offset=4.99") != std::string::npos || r.out.find("|offset=5.00") != std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("s;10.000000;20.000000;"), std::string::npos) << r.out;
  r = nagios(ahead.port, {"-w", "4.9", "-c", "20"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_one_status_line(r, "WARNING");
  r = nagios(ahead.port, {"-w", "1", "-c", "4.9"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  expect_one_status_line(r, "CRITICAL");
  EXPECT_TRUE(r.out.find("Offset 4.99") != std::string::npos || r.out.find("Offset 5.00") != std::string::npos)
      << r.out;
  // The defaults are check_ntp_time's: 60 s and 120 s.
  r = nagios(ahead.port, {});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("s;60.000000;120.000000;"), std::string::npos) << r.out;
  // Without --nagios, -c is still the count.
  r = run_command({NTP_PROBE_BIN, "query", "-c", "2", "-i", "0", "--format", "json", "127.0.0.1:" + ahead.port},
                  10000ms);
  EXPECT_NE(r.out.find(R"("sent":2)"), std::string::npos) << r.out;
}

// No time to judge is CRITICAL, and the line says why: a kiss-o'-death (its code named), a
// reply that is not usable, no reply at all.
TEST(Nagios, NoTimeIsCriticalAndSaysWhy) {
  RunningServer kiss({"--misbehave", "kiss=RATE"});
  RunningServer bogus({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(kiss.port.empty());
  ASSERT_FALSE(bogus.port.empty());
  auto r = nagios(kiss.port, {});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  expect_one_status_line(r, "CRITICAL");
  EXPECT_NE(r.out.find("kiss-o'-death RATE from 127.0.0.1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("offset=U;"), std::string::npos) << r.out;
  r = nagios(bogus.port, {});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no usable reply from 127.0.0.1:" + bogus.port + " ("), std::string::npos) << r.out;
  r = nagios("1", {});  // nothing listens on port 1
  EXPECT_EQ(r.exit_code, 2) << r.out;
  expect_one_status_line(r, "CRITICAL");
  EXPECT_NE(r.out.find("No response from NTP server 127.0.0.1:1"), std::string::npos) << r.out;
}

// A problem with the command line is UNKNOWN (3), on stdout, where the monitor reads it.
TEST(Nagios, UsageProblemsAreUnknown) {
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--bogus"}, {"-w", "10", "-c", "5"}, {"--format", "json"}, {"-w", "nan"}}) {
    std::vector<std::string> argv = {NTP_PROBE_BIN, "query", "--nagios"};
    argv.insert(argv.end(), bad.begin(), bad.end());
    argv.push_back("127.0.0.1:1");
    const auto r = run_command(argv, 10000ms);
    EXPECT_EQ(r.exit_code, 3) << bad.front() << ": " << r.out << r.err;
    expect_one_status_line(r, "UNKNOWN");
  }
  const auto r = run_command({NTP_PROBE_BIN, "query", "--nagios", "host.invalid"}, 10000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  expect_one_status_line(r, "UNKNOWN");
}

// The text exposition format: every family with HELP and TYPE before its samples, every sample
// NAME{LABELS} VALUE with its labels quoted; the kiss code as a label.
void expect_exposition_format(const std::string& text) {
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? )"
                                 R"(([-+]?[0-9.]+(e[-+]?[0-9]+)?|NaN|[-+]Inf)$)");
  std::istringstream in(text);
  std::string line, help, type;
  size_t samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      help = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      type = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(type, help) << line;
      EXPECT_NE(line.find(" gauge"), std::string::npos) << line;
      continue;
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
    EXPECT_EQ(m[1].str(), type) << line;
    ++samples;
  }
  EXPECT_GT(samples, 0U);
}

TEST(Prometheus, QueryWritesTheTextExpositionFormat) {
  RunningServer good({});
  RunningServer kiss({"--misbehave", "kiss=DENY"});
  ASSERT_FALSE(good.port.empty());
  auto r = run_command({NTP_PROBE_BIN, "query", "--format", "prometheus", "127.0.0.1:" + good.port}, 10000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_exposition_format(r.out);
  EXPECT_NE(
      r.out.find("ntp_probe_up{server=\"127.0.0.1:" + good.port + "\",address=\"127.0.0.1:" + good.port + "\"} 1\n"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ntp_probe_offset_seconds{"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ntp_probe_stratum{"), std::string::npos) << r.out;
  r = run_command({NTP_PROBE_BIN, "query", "--format", "prometheus", "-t", "1", "127.0.0.1:" + kiss.port}, 10000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  expect_exposition_format(r.out);
  EXPECT_NE(r.out.find("} 0\n"), std::string::npos) << r.out;  // up 0
  EXPECT_NE(r.out.find(",code=\"DENY\"} 1\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ntp_probe_offset_seconds"), std::string::npos) << r.out;  // no time, no offset
}

// The suites' report as gauges: counts by outcome, one sample per case, the exit code; the
// failing twin of origin-copy shows as a failure in them.
TEST(Prometheus, TheSuitesWriteTheirVerdictsAsGauges) {
  RunningServer good({});
  RunningServer bad({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(good.port.empty());
  ASSERT_FALSE(bad.port.empty());
  auto r =
      run_command({NTP_PROBE_BIN, "--suite", "rfc5905", "--format", "prometheus", "127.0.0.1:" + good.port}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out.substr(0, 400);
  expect_exposition_format(r.out);
  EXPECT_NE(r.out.find(",outcome=\"fail\"} 0\n"), std::string::npos) << r.out.substr(0, 800);
  EXPECT_NE(r.out.find("case=\"rfc5905/8/origin-copy\",level=\"MUST\",outcome=\"pass\"} 1\n"), std::string::npos);
  r = run_command({NTP_PROBE_BIN, "--suite", "rfc5905", "--format", "prometheus", "127.0.0.1:" + bad.port}, 30000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out.substr(0, 400);
  expect_exposition_format(r.out);
  EXPECT_NE(r.out.find("case=\"rfc5905/8/origin-copy\",level=\"MUST\",outcome=\"fail\"} 1\n"), std::string::npos)
      << r.out.substr(0, 800);
  EXPECT_NE(r.out.find("ntp_probe_exit_code{suite=\"rfc5905\",target=\"127.0.0.1:" + bad.port), std::string::npos);
  EXPECT_NE(r.out.find("\"} 1\n# HELP ntp_probe_rate_limited"), std::string::npos) << r.out.substr(r.out.size() - 600);
}

}  // namespace
}  // namespace ntpkit::test
