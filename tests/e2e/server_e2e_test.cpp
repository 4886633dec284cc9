// ntp-server and ntp-probe query over loopback, as a user runs them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "child_process.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;

// A UDP socket on loopback for hand-made datagrams.
class Socket {
 public:
  explicit Socket(int family = AF_INET) : family_(family), fd_(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    timeval tv{0, 300'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Socket() { close(fd_); }
  void send_to(uint16_t port, std::span<const uint8_t> bytes) const {
    if (family_ == AF_INET) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      a.sin6_addr = in6addr_loopback;
      sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
  }
  // One datagram, or empty after the 300 ms receive timeout.
  std::vector<uint8_t> receive() const {
    std::vector<uint8_t> buf(4096);
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }

 private:
  int family_;
  int fd_;
};

std::vector<uint8_t> client_request(Timestamp transmit, uint8_t version = 4) {
  Header h;
  h.version = version;
  h.mode = Mode::Client;
  h.poll = 7;
  h.transmit = transmit;
  const auto b = serialize_header(h);
  return {b.begin(), b.end()};
}

// Starts ntp-server with the given arguments and returns its first listening port.
struct Server {
  explicit Server(std::vector<std::string> args)
      : proc([&] {
          args.insert(args.begin(), NTP_SERVER_BIN);
          return ChildProcess(args);
        }()) {}
  ChildProcess proc;
  uint16_t port() {
    auto line = proc.read_line(5000ms);
    EXPECT_TRUE(line.has_value()) << "no start-up line";
    std::smatch m;
    const std::string l = line.value_or("");
    EXPECT_TRUE(std::regex_search(l, m, std::regex(R"(^NTP server listening on (.*):(\d+)$)"))) << l;
    return m.empty() ? 0 : static_cast<uint16_t>(std::stoi(m[2]));
  }
};

TEST(ServerE2E, AnswersAClientRequestOverLoopback) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  Socket sock;
  const auto t = Timestamp::from_parts(0xDEADBEEF, 0x01234567);
  sock.send_to(port, client_request(t));
  const auto reply = sock.receive();
  ASSERT_EQ(reply.size(), kHeaderLength);
  auto parsed = parse(reply);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.mode, Mode::Server);
  EXPECT_EQ(parsed->header.origin, t);
  EXPECT_EQ(parsed->header.poll, 7);
  EXPECT_EQ(parsed->header.leap, Leap::NoWarning);  // default --leap 0
  EXPECT_GE((parsed->header.transmit - parsed->header.receive).raw(), 0);
}

TEST(ServerE2E, MalformedInputIsDroppedAndServiceContinues) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  Socket sock;
  std::vector<std::vector<uint8_t>> bad = {{}, {0x23}, std::vector<uint8_t>(47, 0x23), std::vector<uint8_t>(49, 0x23)};
  std::vector<uint8_t> junk(1000);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 131 + 7);
  bad.push_back(junk);
  for (uint16_t bad_length : {uint16_t{15}, uint16_t{18}, uint16_t{400}}) {
    Packet p;
    p.header.mode = Mode::Client;
    p.extensions.push_back({0x1234, std::vector<uint8_t>(24, 0), bad_length});
    bad.push_back(serialize(p));
  }
  uint32_t n = 1;
  for (const auto& b : bad) {
    SCOPED_TRACE("datagram of " + std::to_string(b.size()) + " bytes");
    sock.send_to(port, b);
    EXPECT_TRUE(sock.receive().empty());  // silence
    const auto t = Timestamp::from_parts(n++, 42);
    sock.send_to(port, client_request(t));
    const auto reply = sock.receive();
    ASSERT_EQ(reply.size(), kHeaderLength) << "the server stopped answering";
    EXPECT_EQ(parse(reply)->header.origin, t);
  }
  s.proc.signal(SIGTERM);
  EXPECT_EQ(s.proc.wait(5000ms), 0);
  const std::string out = s.proc.drain_output(500ms);
  EXPECT_NE(out.find("malformed"), std::string::npos) << out;
}

TEST(ServerE2E, DropsUnsupportedVersionsAndModes) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  Socket sock;
  for (uint8_t vn : {uint8_t{0}, uint8_t{5}, uint8_t{7}}) {
    sock.send_to(port, client_request(Timestamp::from_parts(1, vn), vn));
    EXPECT_TRUE(sock.receive().empty()) << "VN " << int{vn};
  }
  auto control = client_request(Timestamp::from_parts(1, 1));
  control[0] = (2 << 3) | 6;  // mode 6
  sock.send_to(port, control);
  EXPECT_TRUE(sock.receive().empty());
}

TEST(ServerE2E, PositionalPortListensOnEveryAddress) {
  // "ntp-server 0": the classic form with an ephemeral port; IPv4 always, IPv6 where the host has it.
  Server s({"0"});
  const uint16_t port = s.port();
  ASSERT_NE(port, 0);
  Socket sock;
  sock.send_to(port, client_request(Timestamp::from_parts(5, 5)));
  EXPECT_EQ(sock.receive().size(), kHeaderLength);
}

TEST(ServerE2E, ServesIPv6Loopback) {
  Socket probe6(AF_INET6);
  Server s({"--listen", "[::1]:0"});
  auto line = s.proc.read_line(5000ms);
  if (!line || line->find("listening on [::1]") == std::string::npos) GTEST_SKIP() << "no IPv6 loopback here";
  const uint16_t port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  probe6.send_to(port, client_request(Timestamp::from_parts(6, 6)));
  EXPECT_EQ(probe6.receive().size(), kHeaderLength);
}

TEST(ServerE2E, CountersOnSigusr1AndCleanExitOnSigint) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  Socket sock;
  sock.send_to(port, client_request(Timestamp::from_parts(9, 9)));
  ASSERT_FALSE(sock.receive().empty());
  s.proc.signal(SIGUSR1);
  const auto counters = s.proc.read_error_line(3000ms);
  ASSERT_TRUE(counters.has_value());
  EXPECT_NE(counters->find("received 1, answered 1"), std::string::npos) << *counters;
  s.proc.signal(SIGINT);
  EXPECT_EQ(s.proc.wait(5000ms), 0);
}

// SIGHUP (systemctl reload, a closed terminal) prints the counters and the server goes on; a
// reply held back by --misbehave delay counts as answered once it has left, not before.
TEST(ServerE2E, SighupPrintsCountersAndDelayedRepliesCountWhenSent) {
  Server s({"--listen", "127.0.0.1:0", "--misbehave", "delay=600"});
  const uint16_t port = s.port();
  (void)s.proc.read_line(2000ms);  // the misbehaviour's announcement
  Socket sock;
  sock.send_to(port, client_request(Timestamp::from_parts(7, 7)));
  std::this_thread::sleep_for(100ms);
  s.proc.signal(SIGHUP);
  auto counters = s.proc.read_error_line(3000ms);
  ASSERT_TRUE(counters.has_value());
  EXPECT_NE(counters->find("received 1, answered 0"), std::string::npos) << *counters;
  std::vector<uint8_t> reply;
  for (int i = 0; i < 10 && reply.empty(); ++i) reply = sock.receive();  // it comes 600 ms late
  ASSERT_FALSE(reply.empty()) << "the server did not survive SIGHUP";
  s.proc.signal(SIGHUP);
  counters = s.proc.read_error_line(3000ms);
  ASSERT_TRUE(counters.has_value());
  EXPECT_NE(counters->find("received 1, answered 1"), std::string::npos) << *counters;
  s.proc.signal(SIGTERM);
  EXPECT_EQ(s.proc.wait(5000ms), 0);
}

TEST(ServerE2E, MisbehaviourIsAnnouncedAndApplied) {
  Server s({"--listen", "127.0.0.1:0", "--misbehave", "origin-zero"});
  const uint16_t port = s.port();
  const auto announce = s.proc.read_line(2000ms);
  ASSERT_TRUE(announce.has_value());
  EXPECT_NE(announce->find("origin-zero"), std::string::npos);
  Socket sock;
  sock.send_to(port, client_request(Timestamp::from_parts(3, 3)));
  const auto reply = sock.receive();
  ASSERT_EQ(reply.size(), kHeaderLength);
  EXPECT_TRUE(parse(reply)->header.origin.is_zero());
}

TEST(ServerE2E, VerbosePrintsOneLinePerRequest) {
  Server s({"--listen", "127.0.0.1:0", "-v"});
  const uint16_t port = s.port();
  Socket sock;
  sock.send_to(port, client_request(Timestamp::from_parts(3, 3), 5));
  const auto line = s.proc.read_line(3000ms);
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("v5 mode 3 -> dropped: unsupported-version"), std::string::npos) << *line;
}

TEST(ServerE2E, BadFlagsGiveOneLineAndExitCode2) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--misbehave", "nonsense"}, {"--refid", "TOOLONG"}, {"--stratum", "0"}, {"--listen", "nonsense"}}) {
    std::vector<std::string> argv = {NTP_SERVER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv);
    const auto code = p.wait(5000ms);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0) << args[0];
    const auto err = p.read_error_line(1000ms);
    ASSERT_TRUE(err.has_value()) << args[0];
    EXPECT_FALSE(err->empty());
  }
}

TEST(ServerE2E, SeveralWorkersShareThePortAndTheCounters) {
  Server s({"--listen", "127.0.0.1:0", "--threads", "3"});
  const uint16_t port = s.port();
  const auto workers = s.proc.read_line(2000ms);
  ASSERT_TRUE(workers.has_value());
  EXPECT_EQ(*workers, "3 workers (SO_REUSEPORT)");
  // Many source ports, so SO_REUSEPORT's hash spreads them over the workers.
  int answered = 0;
  for (uint32_t i = 0; i < 60; ++i) {
    Socket sock;
    const auto t = Timestamp::from_parts(100 + i, i);
    sock.send_to(port, client_request(t));
    const auto reply = sock.receive();
    if (reply.size() == kHeaderLength && parse(reply)->header.origin == t) ++answered;
  }
  EXPECT_EQ(answered, 60);
  s.proc.signal(SIGUSR1);
  const auto counters = s.proc.read_error_line(3000ms);
  ASSERT_TRUE(counters.has_value());
  EXPECT_NE(counters->find("received 60, answered 60"), std::string::npos) << *counters;
  s.proc.signal(SIGTERM);
  EXPECT_EQ(s.proc.wait(5000ms), 0);
}

TEST(ServerE2E, RateLimitAnswersExcessWithOneRateKissOfDeath) {
  Server s({"--listen", "127.0.0.1:0", "--rate-limit", "--rate-interval", "60", "--rate-burst", "3"});
  const uint16_t port = s.port();
  Socket sock;
  int served = 0, kod = 0, silent = 0;
  for (uint32_t i = 1; i <= 6; ++i) {
    const auto t = Timestamp::from_parts(i, i);
    sock.send_to(port, client_request(t));
    const auto reply = sock.receive();
    if (reply.empty()) {
      ++silent;
      continue;
    }
    const auto h = parse(reply)->header;
    EXPECT_EQ(h.origin, t);  // a KoD carries the origin too
    if (h.stratum == 0 && h.reference_id.kiss_code() == KissCode::RATE)
      ++kod;
    else
      ++served;
  }
  EXPECT_EQ(served, 3);
  EXPECT_EQ(kod, 1);
  EXPECT_EQ(silent, 2);
}

TEST(ServerE2E, DropsPrivilegesAfterBinding) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  Server s({"--listen", "127.0.0.1:0", "--user", "nobody"});
  const uint16_t port = s.port();
  Socket sock;
  sock.send_to(port, client_request(Timestamp::from_parts(8, 8)));
  EXPECT_EQ(sock.receive().size(), kHeaderLength);
  std::ifstream status("/proc/" + std::to_string(s.proc.pid()) + "/status");
  std::string line, uid_line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) uid_line = line;
  }
  EXPECT_EQ(uid_line.find("\t0\t"), std::string::npos) << uid_line;
  EXPECT_FALSE(uid_line.empty());
}

TEST(ProbeE2E, QueryReportsOffsetAndDelayFromOurServer) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  const auto r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + std::to_string(port)}, 10000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("offset       "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verdict      usable"), std::string::npos) << r.out;
}

TEST(ProbeE2E, QueryJsonCountsReplies) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "query", "127.0.0.1:" + std::to_string(port), "--format", "json", "-c", "3", "-i", "0.05"},
      10000ms);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find(R"("sent":3,"received":3,"usable":3)"), std::string::npos) << r.out;
}

// query and bench write the same JUnit and TAP as the suite: read by a JUnit consumer.
TEST(ProbeE2E, QueryAndBenchWriteJUnitAndTap) {
  test::RunningServer good({});
  test::RunningServer bad({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(good.port.empty());
  ASSERT_FALSE(bad.port.empty());
  const std::string dir = TEST_WORK_DIR;
  const std::string q_good = dir + "/query-good.junit.xml", q_bad = dir + "/query-bad.junit.xml",
                    b_good = dir + "/bench-good.junit.xml";
  auto r = test::run_command(
      {NTP_PROBE_BIN, "query", "127.0.0.1:" + good.port, "-c", "2", "-i", "0.05", "--junit", q_good}, 10000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("verdict      usable"), std::string::npos) << r.out;  // text on stdout as well
  r = test::run_command({"/usr/bin/python3", CHECK_JUNIT, q_good, "2", "0"}, 20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = test::run_command(
      {NTP_PROBE_BIN, "query", "127.0.0.1:" + bad.port, "-t", "0.5", "--format", "junit", "--junit", q_bad}, 10000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("<failure message=\"unusable: "), std::string::npos) << r.out;
  r = test::run_command({"/usr/bin/python3", CHECK_JUNIT, q_bad, "1", "1", "request 1"}, 20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + bad.port, "-t", "0.5", "--format", "tap"}, 10000ms);
  EXPECT_NE(r.out.find("TAP version 13\n1..1\nnot ok 1 - request 1"), std::string::npos) << r.out;
  r = test::run_command(
      {NTP_PROBE_BIN, "bench", "127.0.0.1:" + good.port, "-d", "0.3", "-k", "4", "--format", "tap", "--junit", b_good},
      20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ok 1 - valid-replies"), std::string::npos) << r.out;
  r = test::run_command({"/usr/bin/python3", CHECK_JUNIT, b_good, "2", "0"}, 20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

// Authenticated NTP over UDP: ntp-server --keys answers ntp-probe query --keys with a MAC of the
// request's key, for each key type, and each of its auth misbehaviours makes the reply unusable.
TEST(ProbeE2E, AuthenticatedQueryAgainstAServerWithKeys) {
  const std::string keys = std::string(TEST_WORK_DIR) + "/auth.keys";
  std::ofstream(keys) << "# chrony keyfile\n1 MD5 ASCII:secret\n2 SHA1 HEX:0123456789abcdef0123456789abcdef01234567\n"
                         "3 AES128 HEX:000102030405060708090a0b0c0d0e0f\n";
  test::RunningServer server({"--keys", keys});
  ASSERT_FALSE(server.port.empty());
  for (const char* id : {"1", "2", "3"}) {
    const auto r = test::run_command(
        {NTP_PROBE_BIN, "query", "127.0.0.1:" + server.port, "--keys", keys, "--key-id", id, "-t", "1"}, 10000ms);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("reply MAC of key " + std::string(id) + ", verified"), std::string::npos) << r.out;
  }
  auto json = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + server.port, "--keys", keys, "--key-id", "3",
                                 "-t", "1", "--format", "json"},
                                10000ms);
  EXPECT_NE(json.out.find(R"("auth":{"request_key_id":3,"key_type":"AES128CMAC","reply_mac":3,"verified":true})"),
            std::string::npos)
      << json.out;
  const std::string wrong = std::string(TEST_WORK_DIR) + "/auth-wrong.keys";
  std::ofstream(wrong) << "3 AES128 HEX:ff0102030405060708090a0b0c0d0e0f\n";
  auto r = test::run_command(
      {NTP_PROBE_BIN, "query", "127.0.0.1:" + server.port, "--keys", wrong, "--key-id", "3", "-t", "1"}, 10000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("crypto-NAK"), std::string::npos) << r.out;
  for (const char* fault : {"auth-bad-digest", "auth-other-key", "auth-unsigned-reply", "auth-always-nak"}) {
    test::RunningServer bad({"--keys", keys, "--misbehave", fault});
    ASSERT_FALSE(bad.port.empty());
    r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + bad.port, "--keys", keys, "--key-id", "3", "-t", "1"},
                          10000ms);
    EXPECT_EQ(r.exit_code, 1) << fault << "\n" << r.out;
  }
  r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + server.port, "--keys", keys, "--key-id", "9"}, 10000ms);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("--key-id 9: no such key"), std::string::npos) << r.err;
}

TEST(ProbeE2E, QuerySaysPlainlyWhenTheReplyIsUnusable) {
  for (const char* fault : {"no-origin-copy", "kod-rate-always", "wrong-mode", "transmit-zero", "garbage-reply"}) {
    SCOPED_TRACE(fault);
    Server s({"--listen", "127.0.0.1:0", "--misbehave", fault});
    const uint16_t port = s.port();
    const auto r =
        test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + std::to_string(port), "-t", "0.5"}, 10000ms);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find("unusable"), std::string::npos) << r.out;
  }
}

TEST(ProbeE2E, QueryOverIPv6) {
  Server s({"--listen", "[::1]:0"});
  auto line = s.proc.read_line(5000ms);
  if (!line || line->find("listening on [::1]") == std::string::npos) GTEST_SKIP() << "no IPv6 loopback here";
  const std::string port = line->substr(line->rfind(':') + 1);
  const auto r = test::run_command({NTP_PROBE_BIN, "query", "[::1]:" + port, "-6"}, 10000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("server       [::1]:" + port), std::string::npos) << r.out;
}

TEST(ProbeE2E, QueryResolvesHostnames) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  const auto r = test::run_command({NTP_PROBE_BIN, "query", "localhost:" + std::to_string(port), "-4"}, 10000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(ProbeE2E, QueryWithoutAServerExits3) {
  // Nothing listens on the discard port of loopback here: ICMP port unreachable, or silence.
  const auto r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:9", "-t", "0.3"}, 10000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
}

// The first number after "key": in a JSON document (top-level fields come before "steps").
double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + R"(\":(-?[0-9.]+))"))) return -1e300;
  return std::stod(m[1]);
}

std::vector<std::string> bench_args(uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> a{NTP_PROBE_BIN, "bench", "127.0.0.1:" + std::to_string(port), "--format", "json",
                             "-t",          "0.2"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(BenchE2E, ClosedLoopCountsEveryReplyAndTheServersCpu) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  const auto r = test::run_command(
      bench_args(port, {"-d", "0.5", "-k", "16", "--server-pid", std::to_string(s.proc.pid())}), 20000ms);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(R"("mode":"closed","outstanding":16)"), std::string::npos) << r.out;
  const double sent = json_number(r.out, "sent"), valid = json_number(r.out, "valid");
  EXPECT_GT(valid, 100) << r.out;
  EXPECT_EQ(json_number(r.out, "lost"), 0) << r.out;
  EXPECT_EQ(json_number(r.out, "invalid"), 0) << r.out;
  EXPECT_EQ(sent, valid) << r.out;
  EXPECT_EQ(json_number(r.out, "count"), valid) << "one round trip per valid reply: " << r.out;
  EXPECT_GT(json_number(r.out, "p50"), 0) << r.out;
  EXPECT_GT(json_number(r.out, "server_cpu_per_reply_us"), 0) << r.out;
}

TEST(BenchE2E, OpenLoopKeepsTheRateAndSpreadsSourceAddresses) {
  Server s({"--listen", "127.0.0.1:0", "-v"});
  const uint16_t port = s.port();
  // The server prints a line per request; read them as they come, or its pipe fills and it stops.
  std::set<std::string> sources;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      if (auto line = s.proc.read_line(100ms)) sources.insert(line->substr(0, line->find(':')));
    }
  });
  const auto r =
      test::run_command(bench_args(port, {"-d", "0.5", "-r", "2000", "-s", "8", "--source-addresses", "4"}), 20000ms);
  std::this_thread::sleep_for(300ms);
  done = true;
  reader.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NEAR(json_number(r.out, "sent"), 1000, 50) << r.out;
  EXPECT_EQ(json_number(r.out, "lost"), 0) << r.out;
  EXPECT_EQ(sources, (std::set<std::string>{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}));
}

TEST(BenchE2E, RampFindsARateAndListsItsSteps) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  const auto r = test::run_command(
      bench_args(port, {"--ramp", "--ramp-start", "1000", "--ramp-factor", "2", "--step", "0.2", "-d", "0.7"}),
      20000ms);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(R"("mode":"ramp")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("steps":[{"rate":1000,)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"({"rate":4000,)"), std::string::npos)
      << "three steps of 0.2 s (and their last replies) fit in 0.7 s: " << r.out;
  EXPECT_EQ(json_number(r.out, "max_rate"), 4000) << r.out;
}

TEST(BenchE2E, RampCountsKissOfDeathAgainstTheServer) {
  // Every request answered, none served: no rate passes, however fast the answers come.
  Server s({"--listen", "127.0.0.1:0", "--misbehave", "kod-rate-always"});
  const uint16_t port = s.port();
  const auto r = test::run_command(
      bench_args(port, {"--ramp", "--ramp-start", "1000", "--ramp-factor", "2", "--step", "0.2", "-d", "1"}), 20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(R"("max_rate":null)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("steps":[{"rate":1000,)"), std::string::npos) << r.out;
}

TEST(BenchE2E, MisbehavingServersAreNotCountedValid) {
  struct Case {
    const char* fault;
    const char* counter;  // the one that must be positive
    int exit_code;
  };
  for (const Case& c : {Case{"wrong-mode", "invalid", 1}, Case{"kod-rate-always", "kiss_of_death", 1},
                        Case{"no-origin-copy", "unmatched", 1}, Case{"drop-percent=50", "lost", 0}}) {
    SCOPED_TRACE(c.fault);
    Server s({"--listen", "127.0.0.1:0", "--misbehave", c.fault});
    const uint16_t port = s.port();
    const auto r = test::run_command(bench_args(port, {"-d", "0.5", "-r", "1000"}), 20000ms);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
    EXPECT_GT(json_number(r.out, c.counter), 0) << r.out;
    if (c.exit_code == 1) {
      EXPECT_EQ(json_number(r.out, "valid"), 0) << r.out;
      EXPECT_NE(r.err.find("no reply was valid"), std::string::npos) << r.err;
    } else {
      EXPECT_NEAR(json_number(r.out, "loss"), 0.5, 0.15) << r.out;
    }
  }
}

TEST(BenchE2E, ServerTimeGoingBackwardsIsCountedNegative) {
  Server s({"--listen", "127.0.0.1:0", "--misbehave", "receive-after-transmit"});
  const uint16_t port = s.port();
  const auto r = test::run_command(bench_args(port, {"-d", "0.3", "-r", "500"}), 20000ms);
  // Receive after transmit breaks a MUST: no reply is valid (exit 1), yet each is timed.
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(json_number(r.out, "valid"), 0) << r.out;
  EXPECT_GT(json_number(r.out, "negative"), 0) << r.out;
  const auto server = r.out.substr(r.out.find(R"("server_us":)"));
  EXPECT_GT(json_number(r.out, "min"), 0) << "the round trip is positive: " << r.out;
  EXPECT_NEAR(json_number(server, "min"), -1e6, 1) << "transmit a second before receive: " << r.out;
}

TEST(BenchE2E, TextReportForPeople) {
  Server s({"--listen", "127.0.0.1:0"});
  const uint16_t port = s.port();
  const auto r = test::run_command({NTP_PROBE_BIN, "bench", "127.0.0.1:" + std::to_string(port), "-d", "0.3"}, 20000ms);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* want : {"closed loop, 64 outstanding; 64 sockets from 1 address", "valid ", "round trip    min",
                           "server T3-T2  min", "loss 0.000 %"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
}

TEST(BenchE2E, NothingListeningExits3) {
  const auto r = test::run_command({NTP_PROBE_BIN, "bench", "127.0.0.1:9", "-d", "0.3", "-t", "0.2"}, 20000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.err.find("nothing to measure"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ntpkit
