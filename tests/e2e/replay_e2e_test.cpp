// ntp-probe replay on real captures: the public ones read in place from ../shared (skipped when
// absent), and damaged copies of them.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "child_process.hpp"

namespace ntpkit {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const fs::path kPublic = SHARED_CAPTURES;

struct Expected {
  const char* file;
  int exit_code;
  const char* counts;  // a regex over the JSON report
};

// Cross-checked with the tshark readings in ../shared/captures/public/SOURCES.md; where the
// two differ, the comment says why.
// clang-format off
const std::vector<Expected> kCaptures = {
    {"tcpdump-ntp.pcap", 0, R"("exchanges":4,"unanswered":0)"},
    {"tcpdump-ntp-control.pcap", 0, R"("mode6":\{"requests":8,"request_bytes":96,"responses":13)"},
    {"tcpdump-ntp-mode7.pcap", 0, R"("mode7":\{"requests":4,"request_bytes":768,"responses":4)"},
    {"tcpdump-ntp-time.pcap", 0, R"("exchanges":1,)"},
    {"tcpdump-ntp-time-ef.pcap", 0, R"("exchanges":1,)"},
    {"ndpi-NTPv2.pcap", 0, R"("mode7":\{"requests":0,"request_bytes":0,"responses":1,"response_bytes":368)"},
    {"ndpi-NTPv3.pcap", 0, R"("exchanges":0,"unanswered":0,"unsolicited":1)"},
    {"ndpi-NTPv4.pcap", 0, R"("exchanges":0,"unanswered":1,"unsolicited":0)"},
    {"ndpi-android.pcap", 0, R"("exchanges":1,"unanswered":0)"},
    // tshark does not look at poll; the server (17.253.54.251) answers poll 0 with poll 3.
    {"ndpi-tls_certificate_too_long.pcap", 0, R"("exchanges":4,"unanswered":0.*"rule":"rfc5905/8/poll-echo")"},
    {"zeek-ntp.pcap", 0, R"("exchanges":6,"unanswered":0)"},
    {"zeek-ntp-ntp.pcap", 0, R"("exchanges":16,"unanswered":0)"},
    {"zeek-ntp2.pcap", 0, R"("exchanges":17,"unanswered":0.*"mode7":\{"requests":1,)"},
    {"zeek-NTP-digest.pcap", 0, R"("requests":40,"replies":0,"exchanges":0,"unanswered":40)"},
    {"zeek-NTP_sync.pcap", 0, R"("symmetric":\{"packets":30,"origin_checks":15,"origin_failures":0\})"},
    {"zeek-misordered-ntp.pcap", 0, R"("exchanges":1,"unanswered":0,"unsolicited":0,"replies_before_request":1)"},
    {"zeek-gre-sample.pcap", 0, R"("exchanges":3,"unanswered":0)"},
    // NTPv4 request answered with VN 3: the one MUST broken among the recorded captures.
    {"suricata-verify-vxlan.pcap", 1, R"("exchanges":1,.*"rule":"rfc5905/A.5.1/vn4")"},
    {"pcapplusplus-Ntp.pcap", 0, R"("requests":2,"replies":3,"exchanges":0,"unanswered":2,"unsolicited":3)"},
    // Interfaces of two link types: libpcap refuses the file, lib/'s pcapng reader takes over.
    {"pcapplusplus-many_interfaces-1.pcapng", 0, R"("link_type":"BSD loopback \+ Ethernet","frames":64.*"exchanges":1,)"},
    {"leapsecond-ntp.pcap", 0, R"("requests":100,"replies":94,"exchanges":94,"unanswered":6)"},
    {"leapsecond-ntp_2P.pcap", 0, R"("requests":224,"replies":215,"exchanges":215,"unanswered":9)"},
    // tshark labels 7 TCP/123 segments NTP; they are not exchanges (19 TCP segments on port 123 in all).
    {"nts-ke-dissector-go_embeded.pcapng", 0, R"("exchanges":1,.*"tcp_on_ntp_port":19)"},
    {"nts-ke-dissector-ntske-sample-dsb.pcapng", 0, R"("ntp_datagrams":0,)"},
    {"testrun-ntp.pcap", 0, R"("requests":146,"replies":142,"exchanges":142,"unanswered":4.*"icmp_errors":4)"},
    {"ipfixprobe-ntp.pcap", 0, R"("exchanges":28,"unanswered":0)"},
    // Three IPv4 fragments whose third runs past the end the last one sets: inconsistent, so
    // given up and reported; tshark reassembles them into a malformed NTP packet.
    {"crafted/zeek-fragmented-1.pcap", 0, R"("ntp_datagrams":0,.*"fragments_given_up":1)"},
    {"crafted/zeek-ntp-no-extensions-mac.pcap", 0, R"("replies":1,"exchanges":0,"unanswered":0,"unsolicited":1)"},
    // Both replies have origin 0: paired by flow, and the origin copy fails (SOURCES.md's tshark
    // script also counts the two requests as unanswered; they are answered, badly).
    {"crafted/suricata-verify-ntp-keywords.pcap", 1, R"("exchanges":2,"unanswered":0.*"paired_by_flow":2.*"rule":"rfc5905/8/origin-copy".*"rule":"rfc5905/8/origin-copy")"},
};
// clang-format on

class PublicCapture : public ::testing::TestWithParam<Expected> {};

TEST_P(PublicCapture, ReplayAgreesWithTheReading) {
  const Expected& e = GetParam();
  const fs::path file = kPublic / e.file;
  if (!fs::exists(file)) GTEST_SKIP() << file << " is not here (../shared is absent)";
  const auto r = test::run_command({NTP_PROBE_BIN, "replay", "--format", "json", file.string()}, 30000ms);
  EXPECT_EQ(r.exit_code, e.exit_code) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(e.counts))) << "/" << e.counts << "/ not in\n" << r.out;
  EXPECT_EQ(r.out.find("\"error\""), std::string::npos) << r.out;
}

void PrintTo(const Expected& e, std::ostream* os) {
  *os << e.file;
}

INSTANTIATE_TEST_SUITE_P(Public, PublicCapture, ::testing::ValuesIn(kCaptures), [](const auto& param_info) {
  std::string n = param_info.param.file;
  for (auto& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
});

TEST(PublicCaptures, EveryFileIsInTheTable) {
  if (!fs::exists(kPublic)) GTEST_SKIP() << "../shared is absent";
  std::set<std::string> listed;
  for (const auto& e : kCaptures) listed.insert(e.file);
  for (const auto& entry : fs::recursive_directory_iterator(kPublic)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    const std::string rel = fs::relative(entry.path(), kPublic).string();
    EXPECT_EQ(listed.count(rel), 1U) << rel << " has no expected reading";
  }
}

// A copy cut in the middle of a packet: a one-line error with the byte offset, the findings
// read before the damage kept, exit 3.
TEST(DamagedCapture, TruncatedFileKeepsWhatWasRead) {
  const fs::path src = kPublic / "ipfixprobe-ntp.pcap";
  if (!fs::exists(src)) GTEST_SKIP() << "../shared is absent";
  const fs::path cut = fs::path(TEST_WORK_DIR) / "ipfixprobe-cut.pcap";
  {
    std::ifstream in(src, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    bytes.resize(bytes.size() / 2 + 7);
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const auto r = test::run_command({NTP_PROBE_BIN, "replay", "--format", "json", cut.string()}, 30000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"("error":"damaged after frame \d+ \(the record at byte offset \d+\): truncated)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"("exchanges":1\d,)"))) << r.out;
}

TEST(DamagedCapture, GarbageIsOneLineAndExit3) {
  const fs::path junk = fs::path(TEST_WORK_DIR) / "junk.pcap";
  std::ofstream(junk, std::ios::binary) << "this is not a capture file at all, not even close";
  test::ChildProcess p({NTP_PROBE_BIN, "replay", junk.string()});
  EXPECT_EQ(p.wait(10000ms), 3);
  const auto err = p.read_error_line(1000ms);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("cannot read the capture"), std::string::npos) << *err;
  EXPECT_FALSE(p.read_error_line(200ms).has_value()) << "more than one line";
}

TEST(ReplayReports, JUnitAndTap) {
  const fs::path file = kPublic / "suricata-verify-vxlan.pcap";
  if (!fs::exists(file)) GTEST_SKIP() << "../shared is absent";
  const std::string junit = std::string(TEST_WORK_DIR) + "/replay.junit.xml";
  {
    const auto r = test::run_command({NTP_PROBE_BIN, "replay", "--format", "junit", file.string()}, 30000ms);
    EXPECT_EQ(r.exit_code, 1);
    std::ofstream(junit) << r.out;
  }
  const auto check =
      test::run_command({"/usr/bin/python3", CHECK_JUNIT, junit, "29", "1", "rfc5905/A.5.1/vn4"}, 20000ms);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  const auto tap = test::run_command({NTP_PROBE_BIN, "replay", "--format", "tap", file.string()}, 30000ms);
  EXPECT_NE(tap.out.find("not ok 7 - " + file.string() + ": rfc5905/A.5.1/vn4"), std::string::npos) << tap.out;
  // Without --keys the MAC rule judges nothing: skipped, said why, never a pass.
  EXPECT_NE(tap.out.find(": auth/authenticated-reply # SKIP needs --keys FILE"), std::string::npos) << tap.out;
}

// Live replay: the capture's requests resent to ntp-server; its answers judged by the same
// rules, and compared with the recorded ones.
struct LiveServer {
  explicit LiveServer(std::vector<std::string> extra)
      : proc([&] {
          std::vector<std::string> argv = {NTP_SERVER_BIN, "--listen", "127.0.0.1:0"};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return test::ChildProcess(argv);
        }()) {
    const auto line = proc.read_line(5000ms).value_or("");
    port = line.substr(line.rfind(':') + 1);
  }
  test::ChildProcess proc;
  std::string port;
};

TEST(LiveReplay, AConformingTargetAnswersEveryRecordedRequest) {
  const fs::path file = kPublic / "zeek-ntp-ntp.pcap";
  if (!fs::exists(file)) GTEST_SKIP() << "../shared is absent";
  LiveServer server({});
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "replay", file.string(), "--target", "127.0.0.1:" + server.port, "--format", "json"}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(
      r.out.find(R"("requests_in_capture":16,"sent":16,"answered":16,"received":16,"not_judged":0,"findings":[])"),
      std::string::npos)
      << r.out;
  // The recorded server (85.199.214.99) answered poll 6 with poll 4; ours echoes it.
  EXPECT_NE(r.out.find("recorded server sent poll 4, target sent 6"), std::string::npos) << r.out;
}

// replay --keys: authenticated exchanges recorded by the suite's --pcap-out against ntp-server
// --keys are judged by their MACs, offline and live; a server that answers a signed request
// without a MAC is found under auth/authenticated-reply, the reason named.
TEST(ReplayKeys, SignedExchangesAreVerifiedOfflineAndLive) {
  const std::string keys = std::string(TEST_WORK_DIR) + "/replay.keys";
  std::ofstream(keys) << "3 AES128 HEX:000102030405060708090a0b0c0d0e0f\n";
  const std::string good = std::string(TEST_WORK_DIR) + "/signed-good.pcap";
  const std::string bad = std::string(TEST_WORK_DIR) + "/signed-unsigned-reply.pcap";
  std::map<std::string, std::string> port;  // the recorded server's, for replay --port
  for (const auto& [file, misbehaviour] :
       {std::pair{good, std::string()}, std::pair{bad, std::string("auth-unsigned-reply")}}) {
    std::vector<std::string> args = {"--keys", keys};
    if (!misbehaviour.empty()) args.insert(args.end(), {"--misbehave", misbehaviour});
    LiveServer server(args);
    port[file] = server.port;
    (void)test::run_command({NTP_PROBE_BIN, "--suite", "auth", "--case", "auth/authenticated-reply", "--keys", keys,
                             "--key-id", "3", "--pcap-out", file, "127.0.0.1:" + server.port},
                            20000ms);
  }
  auto r = test::run_command({NTP_PROBE_BIN, "replay", good, "--port", port[good], "--keys", keys, "--color", "never"},
                             20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("signed (--keys) 1 request(s): 1 reply MAC(s) verified, 0 crypto-NAK(s)"), std::string::npos)
      << r.out;
  r = test::run_command({NTP_PROBE_BIN, "replay", bad, "--port", port[bad], "--keys", keys, "--format", "json"},
                        20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(R"("rule":"auth/authenticated-reply")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("an unauthenticated reply to a request signed with key 3"), std::string::npos) << r.out;
  r = test::run_command({NTP_PROBE_BIN, "replay", bad, "--port", port[bad], "--format", "json"},
                        20000ms);  // no keys: not judged
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("auth/authenticated-reply"), std::string::npos) << r.out;
  // Live: the recorded signed request sent to a server that does not sign its replies.
  LiveServer unsigned_server({"--keys", keys, "--misbehave", "auth-unsigned-reply"});
  r = test::run_command({NTP_PROBE_BIN, "replay", good, "--port", port[good], "--keys", keys, "--target",
                         "127.0.0.1:" + unsigned_server.port, "--format", "json"},
                        20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("an unauthenticated reply to a request signed with key 3"), std::string::npos) << r.out;
  r = test::run_command({NTP_PROBE_BIN, "replay", good, "--keys", "/nonexistent.keys"}, 20000ms);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("--keys /nonexistent.keys"), std::string::npos) << r.err;
}

// ntp-server in RFC 9769 interleaved mode, with a client that asks for it (the interop tests'
// client, Python standard library only): every request after the first is answered interleaved,
// the recording replays without a finding; --no-interleaved answers every one in basic mode.
TEST(Interleaved, NtpServerAnswersAnInterleavedClientAndTheRecordingReplaysClean) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  for (const bool on : {true, false}) {
    SCOPED_TRACE(on ? "interleaved" : "--no-interleaved");
    LiveServer server(on ? std::vector<std::string>{} : std::vector<std::string>{"--no-interleaved"});
    const std::string pcap = std::string(TEST_WORK_DIR) + (on ? "/xleave.pcap" : "/basic.pcap");
    auto r = test::run_command({"/usr/bin/python3", INTERLEAVED_CLIENT, "127.0.0.1", server.port, "6", pcap}, 20000ms);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    size_t interleaved = 0;
    for (size_t at = r.out.find("interleaved reply"); at != std::string::npos;
         at = r.out.find("interleaved reply", at + 1)) {
      ++interleaved;
    }
    EXPECT_EQ(interleaved, on ? 5U : 0U) << r.out;
    r = test::run_command({NTP_PROBE_BIN, "replay", pcap, "--port", server.port, "--format", "json"}, 20000ms);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("\"exchanges\":6"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"interleaved\":" + std::to_string(interleaved)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"findings\":[]"), std::string::npos) << r.out;
    if (!on) continue;
    // The departures it reported are the kernel's transmit timestamps (SO_TIMESTAMPING) of the
    // replies to the five requests that asked, where the kernel gives them; else (0) the clock
    // read right after each send.
    server.proc.signal(SIGUSR1);
    const auto counters = server.proc.read_error_line(3000ms).value_or("");
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(counters, m, std::regex(R"(interleaved 5 \(departures stamped by the kernel (\d+)\))")))
        << counters;
    EXPECT_TRUE(m[1] == "5" || m[1] == "0") << counters;
    if (m[1] == "0") std::printf("note: no software transmit timestamps on this loopback\n");
  }
}

TEST(LiveReplay, ATargetThatDoesNotEchoTheVersionFails) {
  const fs::path file = kPublic / "zeek-ntp-ntp.pcap";
  if (!fs::exists(file)) GTEST_SKIP() << "../shared is absent";
  LiveServer server({"--misbehave", "vn-fixed-4"});
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "replay", file.string(), "--target", "127.0.0.1:" + server.port, "--color", "never"}, 30000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL rfc5905/A.5.1/vn3 MUST request of capture frame 31"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("frame 31: recorded server sent VN 3, target sent 4"), std::string::npos) << r.out;
}

TEST(LiveReplay, ATargetThatBreaksTheOriginCopyIsJudgedNotLost) {
  const fs::path file = kPublic / "zeek-ntp.pcap";
  if (!fs::exists(file)) GTEST_SKIP() << "../shared is absent";
  LiveServer server({"--misbehave", "no-origin-copy"});
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "replay", file.string(), "--target", "127.0.0.1:" + server.port, "--format", "json"}, 30000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(R"("sent":6,"answered":6)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("differs in bits 0000000000000001"), std::string::npos) << r.out;
}

// A classic pcap (raw IPv4) of NTP client requests from 192.0.2.1:40000 to 198.51.100.1:123, one
// at each capture time given (seconds).
std::string requests_pcap(const std::string& name, const std::vector<uint32_t>& seconds) {
  std::vector<uint8_t> b;
  const auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(0xa1b2c3d4);
  put32(0x00040002);  // version 2.4
  put32(0);
  put32(0);
  put32(65535);
  put32(101);
  for (size_t n = 0; n < seconds.size(); ++n) {
    std::vector<uint8_t> ip = {0x45, 0, 0,   76, 0,   0, 0,    0,    64, 17,  0, 0,  192, 0,
                               2,    1, 198, 51, 100, 1, 0x9c, 0x40, 0,  123, 0, 56, 0,   0};
    std::vector<uint8_t> ntp(48, 0);
    ntp[0] = 0x23;
    ntp[47] = static_cast<uint8_t>(n + 1);  // a distinct transmit timestamp each
    ntp[40] = 0xe0;
    ip.insert(ip.end(), ntp.begin(), ntp.end());
    put32(seconds[n]);
    put32(0);
    put32(static_cast<uint32_t>(ip.size()));
    put32(static_cast<uint32_t>(ip.size()));
    b.insert(b.end(), ip.begin(), ip.end());
  }
  const std::string path = std::string(TEST_WORK_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return path;
}

// --timing recorded keeps the capture's spacing, each silence cut to --max-gap: requests 4e9 s
// apart (more than 2^31 s) go out 0.2 s apart, not never.
TEST(LiveReplay, RecordedTimingCutsLongSilencesToMaxGap) {
  const std::string file = requests_pcap("max-gap.pcap", {1000, 1001, 4'000'000'000U});
  LiveServer server({});
  const auto r = test::run_command({NTP_PROBE_BIN, "replay", file, "--target", "127.0.0.1:" + server.port, "--timing",
                                    "recorded", "--max-gap", "0.2", "--format", "json"},
                                   20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("requests_in_capture":3,"sent":3,"answered":3)"), std::string::npos) << r.out;
  const auto bad = test::run_command({NTP_PROBE_BIN, "replay", file, "--max-gap", "1"}, 20000ms);
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

TEST(LiveReplay, ASilentTargetExits3) {
  const fs::path file = kPublic / "zeek-ntp.pcap";
  if (!fs::exists(file)) GTEST_SKIP() << "../shared is absent";
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "replay", file.string(), "--target", "127.0.0.1:9", "--timeout", "0.2"}, 30000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
}

TEST(DamagedCapture, MissingFileExit3) {
  const auto r = test::run_command({NTP_PROBE_BIN, "replay", "/nonexistent.pcap"}, 10000ms);
  EXPECT_EQ(r.exit_code, 3);
}

}  // namespace
}  // namespace ntpkit

namespace ntpkit::test {
namespace {

// A real NTS exchange (time.cloudflare.com, in ../shared's public captures) replays clean; the
// same capture with the reply's Unique Identifier changed by one bit, or its authenticator's type
// changed (an unprotected reply to an NTS request), is found under the nts suite's cases.
TEST(ReplayNts, ARealNtsExchangeIsCleanAndItsMutationsAreFound) {
  const fs::path file = kPublic / "tcpdump-ntp-time-ef.pcap";
  if (!fs::exists(file)) GTEST_SKIP() << "../shared is absent";
  auto r = run_command({NTP_PROBE_BIN, "replay", file.string()}, 30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("NTS (RFC 8915) 1 exchange(s)"), std::string::npos) << r.out;
  std::ifstream in(file, std::ios::binary);
  const std::vector<uint8_t> original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The Unique Identifier field's header (type 0x0104, length 36): the request's first, the reply's second.
  const std::vector<uint8_t> uid_header = {0x01, 0x04, 0x00, 0x24};
  std::vector<size_t> uids;
  for (auto it = std::search(original.begin(), original.end(), uid_header.begin(), uid_header.end());
       it != original.end(); it = std::search(it + 1, original.end(), uid_header.begin(), uid_header.end())) {
    uids.push_back(static_cast<size_t>(it - original.begin()));
  }
  ASSERT_EQ(uids.size(), 2U);
  const std::vector<uint8_t> auth_header = {0x04, 0x04};
  const auto last_auth = std::find_end(original.begin(), original.end(), auth_header.begin(), auth_header.end());
  ASSERT_NE(last_auth, original.end());
  struct Mutation {
    size_t at;
    uint8_t flip;
    const char* rule;
  };
  for (const Mutation& m :
       {Mutation{uids[1] + 10, 0x01, "nts/uid-echo"},
        Mutation{static_cast<size_t>(last_auth - original.begin()) + 1, 0x01, "nts/authenticated-reply"}}) {
    SCOPED_TRACE(m.rule);
    auto bytes = original;
    bytes[m.at] ^= m.flip;
    const std::string mutated = std::string(TEST_WORK_DIR) + "/nts-mutated.pcap";
    std::ofstream(mutated, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    r = run_command({NTP_PROBE_BIN, "replay", mutated}, 30000ms);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find(m.rule), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace ntpkit::test
