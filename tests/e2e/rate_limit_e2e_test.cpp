// Verdicts that stay true against servers that limit or misbehave on purpose: a rate-limiting
// ntp-server judged from one address (no FAIL, the limit reported, within the budget) and from
// many (the same verdicts as an unlimited server), a kiss-o'-death never judged as time, and a
// server that floods every request with copies (the probe's memory stays bounded).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <regex>
#include <thread>

#include "child_process.hpp"

namespace ntpkit {
namespace {

using namespace std::chrono_literals;

using test::RunningServer;

// case id -> outcome, from the probe's JSON report.
std::map<std::string, std::string> outcomes(const std::string& json) {
  std::map<std::string, std::string> out;
  static const std::regex re(
      R"re("id":"([^"]+)","rfc":"[^"]*","section":"[^"]*","level":"[^"]*","requirement":"(?:[^"\\]|\\.)*","outcome":"([a-z]+)")re");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

TEST(RateLimitedServer, FromOneAddressNoCaseFailsAndTheLimitIsReported) {
  RunningServer server({"--rate-limit"});
  ASSERT_FALSE(server.port.empty());
  const auto started = std::chrono::steady_clock::now();
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "--suite", "all", "--budget", "15", "--format", "json", "127.0.0.1:" + server.port}, 40000ms);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"fail\":0,\"warn\":0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"rate_limiting\":{\"detected\":true"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"("rate_kisses":[1-9])"))) << r.out;
  EXPECT_NE(r.out.find("rate limited"), std::string::npos) << r.out;  // the cases left open say why
  EXPECT_LT(took, 25.0) << "the --budget of 15 s was not kept";
  EXPECT_NE(r.err.find("the server limits this client"), std::string::npos) << r.err;
}

TEST(RateLimitedServer, FromManyAddressesTheVerdictsAreTheUnlimitedServers) {
  RunningServer plain({});
  RunningServer limited({"--rate-limit"});
  ASSERT_FALSE(plain.port.empty());
  ASSERT_FALSE(limited.port.empty());
  const auto a =
      test::run_command({NTP_PROBE_BIN, "--suite", "all", "--format", "json", "127.0.0.1:" + plain.port}, 30000ms);
  const auto b = test::run_command({NTP_PROBE_BIN, "--suite", "all", "--format", "json", "--source-address",
                                    "127.0.1.1-127.0.1.80", "127.0.0.1:" + limited.port},
                                   30000ms);
  EXPECT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(b.exit_code, 0) << b.out;
  auto want = outcomes(a.out);
  auto got = outcomes(b.out);
  ASSERT_EQ(want.size(), 117U) << a.out;
  ASSERT_EQ(got.size(), 117U) << b.out;
  // What differs is what limiting is: the burst is answered with RATE, whose origin is judged.
  EXPECT_EQ(want["ratelimit/burst"], "info");
  EXPECT_EQ(got["ratelimit/burst"], "pass");
  EXPECT_EQ(want["security/kod-origin"], "skip");
  EXPECT_EQ(got["security/kod-origin"], "pass");
  for (const char* id : {"ratelimit/burst", "security/kod-origin"}) {
    want.erase(id);
    got.erase(id);
  }
  EXPECT_EQ(want, got) << b.out;
}

TEST(RateLimitedServer, AKissOfDeathIsNeverJudgedAsTime) {
  RunningServer server({"--misbehave", "kod-rate-always"});
  ASSERT_FALSE(server.port.empty());
  const auto r = test::run_command({NTP_PROBE_BIN, "--case", "rfc5905/8/offset", "--case", "rfc4330/6/originate-copy",
                                    "--case", "rfc5905/7.4/kiss-code", "--suite", "all", "--budget", "5", "--format",
                                    "json", "-t", "0.3", "127.0.0.1:" + server.port},
                                   20000ms);
  const auto o = outcomes(r.out);
  EXPECT_EQ(o.at("rfc5905/8/offset"), "inconclusive") << r.out;  // not "warn: +2909... s"
  EXPECT_EQ(o.at("rfc4330/6/originate-copy"), "inconclusive") << r.out;
  EXPECT_EQ(o.at("rfc5905/7.4/kiss-code"), "pass") << r.out;  // the case that judges kiss codes does
  EXPECT_EQ(r.out.find("+29"), std::string::npos) << r.out;
}

// Answers every request with `copies` datagrams of `size` bytes: the first 48 a valid reply
// (reference time 0), or, with a `shape`, all zeros, all ones, or the request echoed.
enum class Shape { Reply, Zeros, Ones, Echo };
class FloodServer {
 public:
  FloodServer(size_t copies, size_t size, Shape shape = Shape::Reply) : copies_(copies), size_(size), shape_(shape) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = std::to_string(ntohs(a.sin_port));
    thread_ = std::thread([this] { serve(); });
  }
  ~FloodServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string port;

 private:
  void serve() {
    std::vector<uint8_t> in(2048), out(size_);
    const auto deadline = std::chrono::steady_clock::now() + 60s;  // bounded, whatever happens
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd_, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 48) continue;
      out.assign(size_, shape_ == Shape::Ones ? 0xFF : 0);
      if (shape_ == Shape::Echo) std::copy(in.begin(), in.begin() + std::min<ssize_t>(n, size_), out.begin());
      if (shape_ == Shape::Reply) {
        out[0] = 0x24;  // LI 0, VN 4, mode 4
        out[1] = 2;
        std::copy(in.begin() + 40, in.begin() + 48, out.begin() + 24);  // origin = their transmit
        for (int i = 32; i < 48; ++i) out[i] = static_cast<uint8_t>(0xe6 + (i & 1));
      }
      for (size_t c = 0; c < copies_ && !stop_; ++c) {
        sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }
  size_t copies_, size_;
  Shape shape_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(HostileServer, TenThousandCopiesOfEveryReplyKeepTheProbesMemoryBounded) {
  // The basic exchange's 13 cases at once, each request answered 10,000 times (1,000 times with
  // 60,000-byte copies: what loopback carries in the time).
  for (const auto& [copies, size] : {std::pair<size_t, size_t>{10000, 48}, std::pair<size_t, size_t>{1000, 60000}}) {
    FloodServer flood(copies, size);
    test::ChildProcess probe({NTP_PROBE_BIN, "--case", "rfc5905/8/*", "-t", "0.5", "--budget", "30", "--format", "json",
                              "127.0.0.1:" + flood.port});
    ASSERT_TRUE(probe.started());
    const std::string out = probe.drain_output(45000ms);
    long peak_kib = 0;
    const auto code = probe.wait_with_peak_rss(5000ms, peak_kib);
    ASSERT_TRUE(code.has_value()) << "the probe did not end";
    // Every copy is counted, the first few kept as evidence: one reply per request is a SHOULD
    // (a warning); the large copies are amplification, a MUST. (The flood server answers one
    // request at a time, so some cases may also see their answer too late.)
    if (size == 48) {
      EXPECT_TRUE(std::regex_search(out, std::regex(R"(rfc5905/8/one-reply.{0,400}"outcome":"warn")"))) << out;
    } else {
      EXPECT_EQ(*code, 1) << out;
      EXPECT_NE(out.find("a reply of 60000 bytes"), std::string::npos) << out;
    }
#if !defined(__SANITIZE_ADDRESS__)  // ASan's shadow memory and quarantine are not the probe's
    EXPECT_LT(peak_kib, 64 * 1024) << size << "-byte copies: peak RSS " << peak_kib << " KiB";
#endif
    std::printf("%zu-byte copies: peak RSS %ld KiB\n", size, peak_kib);
  }
}

// Live replay judges whatever comes back on the request's socket as its reply: a target that
// answers garbage, zeros, all-ones or an echo breaks MUSTs and exits 1 (it used to exit 0 with
// "findings 0", better than a dead server's 3).
TEST(HostileServer, LiveReplayNamesGarbageZerosOnesAndEchoes) {
  const std::string capture = std::string(CAPTURES_DIR) + "/ntp-server-baseline.pcap";
  for (const auto& [name, shape] :
       {std::pair{"zeros", Shape::Zeros}, std::pair{"ones", Shape::Ones}, std::pair{"echo", Shape::Echo}}) {
    FloodServer server(1, 48, shape);
    const auto r = test::run_command({NTP_PROBE_BIN, "replay", capture, "--target", "127.0.0.1:" + server.port,
                                      "--timeout", "0.5", "--format", "json"},
                                     20000ms);
    EXPECT_EQ(r.exit_code, 1) << name << ": " << r.out << r.err;
    EXPECT_NE(r.out.find(R"("rule":"rfc5905/8/reply-mode","level":"MUST")"), std::string::npos)
        << name << ": " << r.out;
  }
  RunningServer garbage({"--misbehave", "garbage-reply"});
  const auto r = test::run_command(
      {NTP_PROBE_BIN, "replay", capture, "--target", "127.0.0.1:" + garbage.port, "--timeout", "0.5"}, 20000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL rfc5905/8/origin-copy MUST"), std::string::npos) << r.out;
}

// query names duplicates, prints a zero reference time as none (with a warning: LI is 0), and
// stays within its timeout however many copies come.
TEST(HostileServer, QueryNamesDuplicatesAndAZeroReferenceTime) {
  FloodServer server(3, 48);
  const auto started = std::chrono::steady_clock::now();
  auto r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + server.port, "--timeout", "1"}, 10000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // usable, with warnings
  EXPECT_NE(r.out.find("duplicates   2 more copies of this reply"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reference    none (0: never synchronized)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the reference time is 0 (never synchronized) though LI is not 3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("2036"), std::string::npos) << r.out;
  r = test::run_command({NTP_PROBE_BIN, "query", "127.0.0.1:" + server.port, "--format", "json"}, 10000ms);
  EXPECT_NE(r.out.find(R"("duplicates":2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("reference_time":null)"), std::string::npos) << r.out;

  FloodServer flood(10000, 48);  // a flood of copies: still one timeout
  const auto t0 = std::chrono::steady_clock::now();
  r = test::run_command(
      {NTP_PROBE_BIN, "query", "127.0.0.1:" + flood.port, "--timeout", "1", "--count", "2", "--interval", "0"},
      20000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms) << r.out;
  EXPECT_NE(r.out.find("duplicates"), std::string::npos) << r.out;
}

// security/replay-fresh compares the answers to the two requests, not a reply with its copy.
TEST(HostileServer, ADuplicatedReplyIsNotACachedOne) {
  RunningServer dup({"--misbehave", "duplicate-reply"});
  auto r = test::run_command({NTP_PROBE_BIN, "--suite", "security", "--case", "security/replay-fresh", "--format",
                              "json", "127.0.0.1:" + dup.port},
                             20000ms);
  EXPECT_NE(r.out.find(R"("outcome":"pass")"), std::string::npos) << r.out;
  RunningServer frozen({"--misbehave", "frozen-clock"});  // its twin still warns
  r = test::run_command({NTP_PROBE_BIN, "--suite", "security", "--case", "security/replay-fresh", "--format", "json",
                         "127.0.0.1:" + frozen.port},
                        20000ms);
  EXPECT_NE(r.out.find(R"("outcome":"warn")"), std::string::npos) << r.out;
}

// A reply to a must-be-dropped stimulus that comes late, while the bracket after it waits, is
// the stimulus's answer, judged as such; it used to be taken for the bracket's and the case passed.
TEST(HostileServer, ALateAnswerToTheStimulusIsNotTheBracketsAnswer) {
  RunningServer server({"--misbehave", "answer-all-versions", "--misbehave", "delay=700"});
  ASSERT_FALSE(server.port.empty());
  const auto r = test::run_command({NTP_PROBE_BIN, "--suite", "rfc5905", "--case", "rfc5905/A.5.1/vn5", "-t", "0.5",
                                    "--format", "json", "127.0.0.1:" + server.port},
                                   20000ms);
  EXPECT_NE(r.out.find(R"("outcome":"warn","summary":"the server answered")"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ntpkit
