// Every conformance case has a failing twin: ntp-server, told to misbehave (or configured
// badly), makes the case fail or warn for the stated reason. And the plain reference server
// passes the whole suite.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <set>

#include "child_process.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit {
namespace {

using namespace std::chrono_literals;

struct Twin {
  const char* case_id;
  std::vector<std::string> server_args;
  const char* outcome;  // "fail" or "warn"; "info" for a MAY case, which reports a choice
  const char* reason;   // regex over the case's summary, expected and actual
};

// clang-format off
const std::vector<Twin> kTwins = {
    {"rfc5905/8/reply-mode", {"--misbehave", "wrong-mode"}, "fail", "actual\":\"mode 3 \\(client\\)"},
    {"rfc5905/8/one-reply", {"--misbehave", "duplicate-reply"}, "warn", "2 replies"},
    {"rfc5905/8/origin-copy", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc5905/8/origin-copy-all-ones", {"--misbehave", "no-origin-copy"}, "fail", "origin ffffffff.fffffffe"},
    {"rfc5905/8/origin-copy-era1", {"--misbehave", "origin-zero"}, "fail", "origin 00000000.00000000"},
    {"rfc5905/8/origin-copy-low-bits", {"--misbehave", "no-origin-copy"}, "fail", "origin [0-9a-f]{8}\\.00000000 "},
    {"rfc5905/8/transmit-nonzero", {"--misbehave", "transmit-zero"}, "fail", "transmit 00000000.00000000"},
    {"rfc5905/8/receive-before-transmit", {"--misbehave", "receive-after-transmit"}, "fail", "\\+1.000000000 s after transmit"},
    {"rfc5905/8/transmit-after-receive", {"--misbehave", "transmit-equals-receive"}, "info", "transmit equals receive .*allowed in basic mode"},
    {"rfc5905/8/poll-echo", {"--misbehave", "poll-not-echoed"}, "warn", "actual\":\"poll 10"},
    {"rfc5905/8/offset", {"--misbehave", "time-offset=5"}, "warn", "offset \\+(4\\.9|5\\.0)"},
    {"rfc5905/8/reply-source", {"--misbehave", "reply-from-other-port"}, "fail", "a reply from 127.0.0.1:[0-9]+"},
    {"rfc5905/8/no-amplification", {"--misbehave", "oversize-reply"}, "fail", "a reply of 64 bytes"},
    {"rfc5905/7.3/stratum-range", {"--misbehave", "stratum=17"}, "fail", "stratum 17 \\(reserved\\)"},
    {"rfc5905/7.4/kiss-code", {"--misbehave", "stratum-0-without-kiss"}, "warn", "127.0.0.1\\), no kiss code"},
    {"rfc5905/7.3/well-formed", {"--misbehave", "truncated-reply"}, "warn", "47 bytes; "},
    {"rfc5905/7.3/refid-stratum1", {"--refid", "1.2.3.4"}, "warn", "reference ID 1.2.3.4"},
    {"rfc5905/7.3/leap-consistent", {"--misbehave", "leap-alarm"}, "warn", "LI 3 .* with stratum 1"},
    {"rfc5905/7.3/precision", {"--precision", "0"}, "warn", "precision 2\\^0 s"},
    {"rfc5905/7.3/root-distance", {"--root-dispersion", "2"}, "warn", "root distance \\+2.000000000 s"},
    {"rfc5905/7.3/reference-before-transmit", {"--misbehave", "reference-future"}, "warn", "\\+3600.000000000 s after transmit"},
    {"rfc5905/7.3/reference-fresh", {"--misbehave", "reference-stale"}, "warn", "\\+864000.000000000 s before transmit"},
    {"rfc5905/A.5.1/vn0", {"--misbehave", "answer-all-versions"}, "warn", "VN 0, mode 4"},
    {"rfc5905/A.5.1/vn1", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc5905/A.5.1/vn2", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc5905/A.5.1/vn3", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc5905/A.5.1/vn4", {"--misbehave", "vn-fixed-3"}, "fail", "actual\":\"VN 3"},
    {"rfc5905/A.5.1/vn5", {"--misbehave", "answer-all-versions"}, "warn", "VN 5, mode 4"},
    {"rfc5905/A.5.1/vn6", {"--misbehave", "answer-all-versions"}, "warn", "VN 6, mode 4"},
    {"rfc5905/A.5.1/vn7", {"--misbehave", "answer-all-versions"}, "warn", "VN 7, mode 4"},
    {"rfc5905/9.2/mode0", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode1", {"--misbehave", "answer-all-modes"}, "fail", "expected\":\"mode 2 .*actual\":\"mode 4"},
    {"rfc5905/9.2/mode2", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode4", {"--misbehave", "answer-all-modes"}, "fail", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode5", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode6", {"--misbehave", "answer-all-modes", "--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/9.2/mode7", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 2, mode 4"},
    {"rfc5905/7.3/length-0", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.3/length-1", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.3/length-12", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.3/length-47", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.5/length-49", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc5905/7.5/length-50", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc5905/7.5/length-52", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc5905/7.5/length-1000", {"--misbehave", "echo-extension-fields"}, "warn", "1 extension field\\(s\\) of type 0x7e01"},
    {"rfc7822/3/ef-unknown", {"--misbehave", "echo-extension-fields"}, "warn", "1 extension field\\(s\\) of type 0x7e01"},
    {"rfc7822/3/ef-too-short", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc7822/3/ef-not-aligned", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc7822/3/ef-overrun", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc5905/7.4/mac-md5-unknown-key", {"--misbehave", "ignore-mac"}, "warn", "without a crypto-NAK"},
    {"rfc5905/7.4/mac-sha1-unknown-key", {"--misbehave", "ignore-mac"}, "warn", "without a crypto-NAK"},
    {"rfc7822/3/ef-then-mac", {"--misbehave", "ignore-mac"}, "warn", "without a crypto-NAK"},
    {"rfc5905/8/data-minimised-request", {"--misbehave", "wrong-mode=5"}, "fail", "actual\":\"mode 5"},
    {"rfc5905/8/full-request", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc5905/8/zero-transmit", {"--misbehave", "no-origin-copy"}, "fail", "origin 00000000.00000001"},
    {"rfc5905/8/unsynchronized-client", {"--misbehave", "wrong-mode"}, "fail", "actual\":\"mode 3"},
    {"rfc7822/3/two-unknown-efs", {"--misbehave", "echo-extension-fields"}, "warn", "2 extension field\\(s\\)"},
    {"rfc7822/3/ef-padded", {"--misbehave", "echo-extension-fields"}, "warn", "of type 0x7e02"},
    {"rfc7822/3/last-ef-short", {"--misbehave", "echo-extension-fields"}, "warn", "of type 0x7e01"},
    {"rfc4330/6/vn-copy-v3", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc4330/6/vn-copy-v4", {"--misbehave", "vn-fixed-3"}, "fail", "actual\":\"VN 3"},
    {"rfc4330/6/mode", {"--misbehave", "wrong-mode"}, "fail", "actual\":\"mode 3"},
    {"rfc4330/6/poll-copy", {"--misbehave", "poll-not-echoed"}, "fail", "actual\":\"poll 6"},
    {"rfc4330/6/originate-copy", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc4330/6/timestamps", {"--misbehave", "transmit-zero"}, "fail", "transmit 00000000.00000000"},
    {"rfc4330/6/unsynchronized", {"--misbehave", "leap-alarm"}, "warn", "LI 3 .* with stratum 1"},
    {"rfc4330/6/mode1", {"--misbehave", "answer-all-modes"}, "warn", "actual\":\"mode 4"},
    {"security/mode6-readvar", {"--misbehave", "answer-all-modes", "--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"security/mode7-monlist", {"--misbehave", "answer-all-modes"}, "warn", "1 packet\\(s\\), 48 bytes for 1 packet\\(s\\), 48 bytes"},
    {"security/mode7-peerlist", {"--misbehave", "answer-all-modes"}, "warn", "1 packet\\(s\\), 48 bytes for 1 packet\\(s\\), 48 bytes"},
    {"security/cve-2015-7871", {"--symmetric", "reply", "--misbehave", "ignore-mac"}, "fail", "a crypto-NAK mobilised a symmetric association"},
    {"security/kod-origin", {"--misbehave", "kod-without-origin"}, "fail", "kiss-o'-death 'RATE' with origin 00000000.00000000"},
    {"security/replay-fresh", {"--misbehave", "frozen-clock"}, "warn", "the replayed request got the same timestamps"},
    {"ratelimit/burst", {"--misbehave", "kod-without-origin"}, "fail", "does not carry our origin"},
};
// clang-format on

using test::RunningServer;

class SuiteTwin : public ::testing::TestWithParam<Twin> {};

TEST_P(SuiteTwin, MisbehaviourMakesTheCaseFailForItsReason) {
  const Twin& t = GetParam();
  RunningServer server(t.server_args);
  ASSERT_FALSE(server.port.empty()) << "ntp-server did not start";
  const auto r = test::run_command({NTP_PROBE_BIN, "--suite", "all", "--case", t.case_id, "--format", "json", "-t", "0.5",
                                    "127.0.0.1:" + server.port},
                                   20000ms);
  EXPECT_EQ(r.exit_code, std::string(t.outcome) == "fail" ? 1 : 0) << r.out;
  EXPECT_NE(r.out.find("\"outcome\":\"" + std::string(t.outcome) + "\""), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(t.reason))) << "reason /" << t.reason << "/ not in\n" << r.out;
}

void PrintTo(const Twin& t, std::ostream* os) { *os << t.case_id; }

INSTANTIATE_TEST_SUITE_P(Rfc5905, SuiteTwin, ::testing::ValuesIn(kTwins), [](const auto& param_info) {
  std::string n = param_info.param.case_id;
  for (auto& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
});

TEST(SuiteTwins, EveryCaseOfTheSuiteHasATwin) {
  std::set<std::string> twins;
  for (const auto& t : kTwins) twins.insert(t.case_id);
  for (const auto* c : conformance::all_cases()) {
    EXPECT_TRUE(twins.count(std::string(c->id)) == 1) << c->id << " has no failing twin";
  }
  EXPECT_EQ(twins.size(), kTwins.size()) << "a case is listed twice";
}

TEST(SuiteReference, PlainServerPassesTheWholeSuite) {
  RunningServer server({});
  ASSERT_FALSE(server.port.empty());
  const auto r = test::run_command({NTP_PROBE_BIN, "--suite", "rfc5905", "--color", "never", "127.0.0.1:" + server.port}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\d+ passed, 0 failed, 0 warnings, \d+ info, 0 skipped, 0 inconclusive)")))
      << r.out;
}

TEST(SuiteReference, PlainServerPassesEverySuite) {
  RunningServer server({});
  ASSERT_FALSE(server.port.empty());
  for (const char* suite : {"rfc4330", "rfc7822", "security", "ratelimit"}) {
    const auto r = test::run_command({NTP_PROBE_BIN, "--suite", suite, "--format", "json", "127.0.0.1:" + server.port}, 30000ms);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("\"fail\":0,\"warn\":0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"inconclusive\":0"), std::string::npos) << r.out;
  }
}

TEST(SuiteReference, RateLimitedServerAnswersTheBurstWithRateKod) {
  RunningServer server({"--rate-limit", "--rate-burst", "4"});
  ASSERT_FALSE(server.port.empty());
  const auto r = test::run_command({NTP_PROBE_BIN, "--suite", "ratelimit", "--color", "never", "127.0.0.1:" + server.port}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("PASS  ratelimit/burst"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("limits with a well-formed RATE kiss-o'-death"), std::string::npos) << r.out;
}

TEST(SuiteReports, JUnitIsReadByAJUnitConsumer) {
  RunningServer server({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(server.port.empty());
  const std::string junit = std::string(TEST_WORK_DIR) + "/twins-" + server.port + ".junit.xml";
  const auto r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/origin-copy*", "--case", "rfc5905/7.3/*",
                                    "--junit", junit, "-t", "0.5", "127.0.0.1:" + server.port},
                                   20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const auto check = test::run_command({"/usr/bin/python3", CHECK_JUNIT, junit, "16", "4", "rfc5905/8/origin-copy",
                                        "rfc5905/8/origin-copy-all-ones", "rfc5905/8/origin-copy-era1",
                                        "rfc5905/8/origin-copy-low-bits"},
                                       20000ms);
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST(SuiteReports, WaiversTurnKnownFailuresIntoExpectedOnesAndStaleOnesIntoFailures) {
  RunningServer server({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(server.port.empty());
  const std::string waivers = std::string(TEST_WORK_DIR) + "/waivers-" + server.port + ".txt";
  {
    std::ofstream f(waivers);
    f << "# known bugs\nrfc5905/8/origin-copy*  issue 123: origin is rounded\n";
  }
  auto r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/origin-copy*", "--expect-fail", waivers, "--color",
                              "never", "-t", "0.5", "127.0.0.1:" + server.port},
                             20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("XFAIL rfc5905/8/origin-copy "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 expected failures"), std::string::npos) << r.out;

  RunningServer good({});
  r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/origin-copy", "--expect-fail", waivers, "--color", "never",
                         "-t", "0.5", "127.0.0.1:" + good.port},
                        20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("XPASS rfc5905/8/origin-copy"), std::string::npos) << r.out;
}

TEST(SuiteReports, TapAndStrict) {
  RunningServer server({"--misbehave", "poll-not-echoed"});
  ASSERT_FALSE(server.port.empty());
  auto r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/poll-echo", "--format", "tap", "-t", "0.5",
                              "127.0.0.1:" + server.port},
                             20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;  // a SHOULD: a warning
  EXPECT_NE(r.out.find("TAP version 13\n1..1\nok 1 - rfc5905/8/poll-echo"), std::string::npos) << r.out;
  r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/poll-echo", "--strict", "--format", "tap", "-t", "0.5",
                         "127.0.0.1:" + server.port},
                        20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;  // --strict: the warning fails
  EXPECT_NE(r.out.find("not ok 1 - rfc5905/8/poll-echo"), std::string::npos) << r.out;
}

TEST(SuiteReports, PcapOutIsReadByTshark) {
  if (access("/usr/bin/tshark", X_OK) != 0) GTEST_SKIP() << "tshark is not installed";
  RunningServer server({});
  ASSERT_FALSE(server.port.empty());
  const std::string pcap = std::string(TEST_WORK_DIR) + "/session-" + server.port + ".pcap";
  auto r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/origin-copy", "--case", "rfc5905/7.3/length-12",
                              "--pcap-out", pcap, "-t", "0.3", "127.0.0.1:" + server.port},
                             20000ms);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // origin-copy: request + reply. length-12: bracket, its reply, the 12-byte stimulus (no
  // reply), bracket, its reply. Every UDP checksum must be right.
  r = test::run_command({"/usr/bin/tshark", "-r", pcap, "-o", "udp.check_checksum:TRUE", "-d",
                         "udp.port==" + server.port + ",ntp", "-T", "fields", "-e", "udp.length", "-e",
                         "udp.checksum.status", "-e", "ntp.flags.mode"},
                        20000ms);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  size_t frames = 0, good_checksums = 0, short_one = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    ++frames;
    if (line.find("\t1\t") != std::string::npos) ++good_checksums;
    if (line.rfind("20\t", 0) == 0) ++short_one;  // 8 + 12 bytes
  }
  EXPECT_EQ(frames, 7U) << r.out;
  EXPECT_EQ(good_checksums, frames) << r.out;
  EXPECT_EQ(short_one, 1U) << r.out;
}

}  // namespace
}  // namespace ntpkit
