// Every conformance case has a failing twin (tests/twins.hpp): ntp-server, told to misbehave
// (or configured badly), makes the case fail or warn for the stated reason, over UDP. The same
// twins run in-process in tests/unit/suite_in_process_test.cpp. And the plain reference server
// passes the whole suite.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "child_process.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "twins.hpp"

namespace ntpkit {
namespace {

using namespace std::chrono_literals;

using test::kTwins;
using test::RunningServer;
using test::Twin;

// The "NTS-KE server listening on ADDR:PORT" line of a server started with --nts-cert.
std::string nts_ke_of(RunningServer& server) {
  for (int i = 0; i < 3; ++i) {
    const auto line = server.proc.read_line(5000ms).value_or("");
    const std::string prefix = "NTS-KE server listening on ";
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

class SuiteTwin : public ::testing::TestWithParam<Twin> {};

TEST_P(SuiteTwin, MisbehaviourMakesTheCaseFailForItsReason) {
  const Twin& t = GetParam();
  RunningServer server(t.server_args);
  ASSERT_FALSE(server.port.empty()) << "ntp-server did not start";
  std::vector<std::string> args = {NTP_PROBE_BIN, "--suite", "all", "--case", t.case_id,
                                   "--format",    "json",    "-t",  "0.5"};
  args.insert(args.end(), t.probe_args.begin(), t.probe_args.end());
  if (std::find(t.server_args.begin(), t.server_args.end(), "--nts-cert") != t.server_args.end()) {
    // NTS: key establishment with the KE server it printed; the NTP server is the one it names.
    const std::string ke = nts_ke_of(server);
    ASSERT_FALSE(ke.empty()) << "no NTS-KE server line";
    args.insert(args.end(), {"--nts", ke, "--ca", NTPKIT_TEST_NTS_CERT});
  } else {
    args.push_back("127.0.0.1:" + server.port);
  }
  const auto r = test::run_command(args, 20000ms);
  EXPECT_EQ(r.exit_code, std::string(t.outcome) == "fail" ? 1 : 0) << r.out;
  EXPECT_NE(r.out.find("\"outcome\":\"" + std::string(t.outcome) + "\""), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(t.reason))) << "reason /" << t.reason << "/ not in\n" << r.out;
}

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
  const auto r =
      test::run_command({NTP_PROBE_BIN, "--suite", "rfc5905", "--color", "never", "127.0.0.1:" + server.port}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\d+ passed, 0 failed, 0 warnings, \d+ info, 0 skipped, 0 inconclusive)")))
      << r.out;
}

TEST(SuiteReference, PlainServerPassesEverySuite) {
  RunningServer server({});
  ASSERT_FALSE(server.port.empty());
  for (const char* suite : {"rfc4330", "rfc7822", "security", "ratelimit", "interleaved"}) {
    const auto r =
        test::run_command({NTP_PROBE_BIN, "--suite", suite, "--format", "json", "127.0.0.1:" + server.port}, 30000ms);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("\"fail\":0,\"warn\":0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"inconclusive\":0"), std::string::npos) << r.out;
  }
}

// The auth suite over UDP, for each key type the server and the probe share: nothing fails, warns
// or stays open; MD5 is reported (RFC 8573 deprecates it). Without --keys every case is skipped.
TEST(SuiteReference, PlainServerWithKeysPassesTheAuthSuite) {
  RunningServer server({"--keys", NTPKIT_TEST_KEYS});
  ASSERT_FALSE(server.port.empty());
  for (const char* id : {"1", "2", "3"}) {
    SCOPED_TRACE(id);
    const auto r = test::run_command({NTP_PROBE_BIN, "--suite", "auth", "--keys", NTPKIT_TEST_KEYS, "--key-id", id,
                                      "--format", "json", "127.0.0.1:" + server.port},
                                     30000ms);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("\"fail\":0,\"warn\":0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"inconclusive\":0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("accepts key 1 (MD5), which RFC 8573 deprecates"), std::string::npos) << r.out;
    // The reproduction line names the suite and the keys: run as printed, it judges the case again.
    const std::string again = "ntp-probe --suite auth --case auth/bad-digest --keys " + std::string(NTPKIT_TEST_KEYS) +
                              " --key-id " + id + " 127.0.0.1:" + server.port + " -v";
    EXPECT_NE(r.out.find(again), std::string::npos) << r.out;
  }
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "--suite", "auth", "--color", "never", "-v", "127.0.0.1:" + server.port}, 30000ms);
  EXPECT_NE(r.out.find("needs a key: give --keys FILE --key-id N"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 0 failed, 0 warnings, 0 info, 7 skipped"), std::string::npos) << r.out;
}

// The systemd unit's --leap auto: whatever this machine's kernel says of its clock (synchronized
// or not), the server announces a consistent state and passes every suite without a warning.
TEST(SuiteReference, LeapAutoPassesEverySuiteWhateverTheKernelSays) {
  RunningServer server({"--leap", "auto"});
  ASSERT_FALSE(server.port.empty());
  const auto r =
      test::run_command({NTP_PROBE_BIN, "--suite", "all", "--format", "json", "127.0.0.1:" + server.port}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"fail\":0,\"warn\":0"), std::string::npos) << r.out;
}

// A closed port ends the run at once, in one line (as query and bench do); a server that answers
// nothing is given up after a bounded silence, said in a progress line, every case open.
TEST(SuiteReference, AClosedPortIsOneLineAndASilentServerIsGivenUp) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string silent = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto r = test::run_command(
      {NTP_PROBE_BIN, "--suite", "all", "--color", "never", "--interval", "0.25", "-t", "0.5", silent}, 60000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.err.find("no answer from the server in 5 s: giving up"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("0 failed, 0 warnings, 0 info, 35 skipped, 82 inconclusive"), std::string::npos) << r.out;
  close(fd);  // now the port is closed
  r = test::run_command({NTP_PROBE_BIN, "--suite", "all", silent}, 20000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "ntp-probe: " + silent + ": the server's port is closed (ICMP port unreachable); nothing to judge\n");
}

TEST(SuiteReference, RateLimitedServerAnswersTheBurstWithRateKod) {
  RunningServer server({"--rate-limit", "--rate-burst", "4"});
  ASSERT_FALSE(server.port.empty());
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "--suite", "ratelimit", "--color", "never", "127.0.0.1:" + server.port}, 30000ms);
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
  const auto check = test::run_command(
      {"/usr/bin/python3", CHECK_JUNIT, junit, "16", "4", "rfc5905/8/origin-copy", "rfc5905/8/origin-copy-all-ones",
       "rfc5905/8/origin-copy-era1", "rfc5905/8/origin-copy-low-bits"},
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
  auto r = test::run_command(
      {NTP_PROBE_BIN, "--case", "rfc5905/8/poll-echo", "--format", "tap", "-t", "0.5", "127.0.0.1:" + server.port},
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
                         "udp.checksum.status", "-e", "ntp.flags.mode", "-e", "ip.src", "-e", "ip.dst"},
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
  // The probe's real address, not the 0.0.0.0 its unconnected sockets are bound to.
  EXPECT_EQ(r.out.find("0.0.0.0"), std::string::npos) << r.out;
  EXPECT_EQ(good_checksums, frames) << r.out;
  EXPECT_EQ(short_one, 1U) << r.out;
}

}  // namespace
}  // namespace ntpkit
