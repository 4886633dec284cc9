// The NTS-KE client (crypto::KeSession, through `query --nts` and `--suite nts-ke`) against
// hostile NTS-KE servers (tests/tools/hostile_ke_server.py): garbage, an endless stream of
// records, 1 MiB of them, a header claiming 65535 octets, TLS that never finishes, no answer, an
// answer one octet at a time, a close or a reset in the middle of a record. Each run must end by
// itself (the timeouts below only guard against a hang), with exit 1 once a TLS session came
// about and 3 when none did (README.md, "Over NTS"), one line saying what went wrong, no garbage
// judged a pass, and little memory: the probe's 64 KiB read limit, not the server, ends the
// endless ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace ntpkit::test {
namespace {

using namespace std::chrono_literals;

struct Mode {
  const char* name;   // hostile_ke_server.py --mode
  int exit_code;      // of query, and of the suite unless `cut`
  const char* said;   // in query's one line (and the suite's)
  bool slow = false;  // every case waits its whole timeout: nts-ke/incomplete-request's 12 s left out
  bool cut = false;   // our wait or our 64 KiB limit ends the response: no case blames the framing
};

// What each misbehaviour must be called. The octet counts are the server's (fixed, seeded) except
// where timing decides them.
const Mode kModes[] = {
    {"garbage", 1,
     "no End of Message in 4096 octets (the server closed the connection); NTS-KE record at byte 0: a body of"},
    {"raw-garbage", 1, "no End of Message in 0 octets (the server closed the connection: "},
    {"endless", 1, "no End of Message in 65536 octets (too long: the probe reads no more)", false, true},
    {"huge", 1,
     "no End of Message in 65536 octets (too long: the probe reads no more); NTS-KE record at byte 0: a body of "
     "65535 octets runs past the 65532 that follow its header",
     false, true},
    {"huge-header", 1,
     "no End of Message in 104 octets (nothing more within the timeout); NTS-KE record at byte 0: a body of 65535 "
     "octets runs past the 100 that follow its header",
     true, true},
    {"stall-handshake", 3, "failed: not done within 1000 ms"},
    {"stall-after-handshake", 1, "no End of Message in 0 octets (nothing more within the timeout)", true},
    {"slowloris", 1, " octets (nothing more within the timeout)", true, true},  // a record may or may not be cut
    {"close-mid-record", 1,
     "no End of Message in 11 octets (the server closed the connection); NTS-KE record at byte 6: a body of 2 "
     "octets runs past the 1 that follow its header"},
    {"reset-mid-record", 1, "(the server closed the connection: Connection reset by peer)"},
};

// The cases that may pass against every mode: the hostile server is a real TLS 1.3-only server
// that selects ntske/1, and these two judge the handshake alone.
const std::set<std::string> kJudgeTlsAlone = {"nts-ke/tls13-only", "nts-ke/alpn"};

struct HostileServer {
  explicit HostileServer(const std::string& mode)
      : proc({"/usr/bin/python3", HOSTILE_KE_SERVER, "--mode", mode, "--cert", NTS_CERT, "--key", NTS_KEY}) {
    const std::string prefix = "listening on ";
    const auto line = proc.read_line(10000ms).value_or("");
    if (line.rfind(prefix, 0) == 0) ke = line.substr(prefix.size());
  }
  ChildProcess proc;  // exits by itself within 30 s; killed by PID with the object
  std::string ke;     // "127.0.0.1:PORT"
};

struct Measured {
  int exit_code = -1;  // -1: still running at the hang guard; 128 + N: killed by signal N
  std::string out, err;
  long peak_kib = 0;
  double seconds = 0;
};

// run_command, with the peak resident set size and the wall time.
Measured run_measured(const std::vector<std::string>& argv, std::chrono::milliseconds guard) {
  const auto started = std::chrono::steady_clock::now();
  ChildProcess p(argv);
  Measured m;
  const auto deadline = started + guard;
  while (auto line = p.read_line(
             std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
    m.out += *line + "\n";
  }
  while (auto line = p.read_error_line(200ms)) m.err += *line + "\n";
  m.exit_code = p.wait_with_peak_rss(2000ms, m.peak_kib).value_or(-1);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return m;
}

// The suite's JSON report parsed by Python's json module: one "id<TAB>outcome<TAB>summary" line
// per case, and "exit_code<TAB>N" first.
constexpr const char* kOutcomes =
    "import json, sys\n"
    "r = json.load(open(sys.argv[1]))\n"
    "print('exit_code', r['exit_code'], sep='\\t')\n"
    "for c in r['cases']: print(c['id'], c['outcome'], c['summary'].replace('\\n', ' '), sep='\\t')\n";

size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

void expect_small(const Measured& m, const char* what) {
#if !defined(__SANITIZE_ADDRESS__)  // ASan's shadow memory and quarantine are not the probe's
  EXPECT_LT(m.peak_kib, 32 * 1024) << what << ": peak RSS " << m.peak_kib << " KiB";
#endif
  std::printf("%s: exit %d in %.2f s, peak RSS %ld KiB\n", what, m.exit_code, m.seconds, m.peak_kib);
}

// GoogleTest names a parameter by its mode.
void PrintTo(const Mode& m, std::ostream* os) {
  *os << m.name;
}

class NtsHostile : public ::testing::TestWithParam<Mode> {};

TEST_P(NtsHostile, TheClientEndsWithACleanVerdict) {
  const Mode& mode = GetParam();
  HostileServer server(mode.name);
  ASSERT_FALSE(server.ke.empty()) << "the hostile server did not start";
  std::vector<std::string> suite = {NTP_PROBE_BIN, "--suite", "nts-ke", "--nts",    server.ke, "--ca",
                                    NTS_CERT,      "-t",      "1",      "--format", "json"};
  if (mode.slow) suite.insert(suite.end(), {"--exclude", "nts-ke/incomplete-request"});
  // Both at once, against the one server: the test takes the longer of the two.
  auto suite_run = std::async(std::launch::async, [&] { return run_measured(suite, 45000ms); });
  const Measured q =
      run_measured({NTP_PROBE_BIN, "query", "--nts", server.ke, "--ca", NTS_CERT, "--timeout", "1"}, 15000ms);
  const Measured s = suite_run.get();
  expect_small(q, "query");
  expect_small(s, "suite");

  // query: the exit code README.md gives, nothing on stdout, one line naming what went wrong.
  EXPECT_EQ(q.exit_code, mode.exit_code) << q.out << q.err;
  EXPECT_EQ(q.out, "");
  EXPECT_EQ(lines(q.err), 1U) << q.err;
  EXPECT_EQ(q.err.rfind("ntp-probe query: NTS-KE", 0), 0U) << q.err;
  EXPECT_NE(q.err.find(mode.said), std::string::npos) << q.err;

  // The suite: the same line on stderr, then the cases judged (none without a TLS session).
  // Where our wait or our limit cut the response, the cases it decides are inconclusive, not
  // failed (the server may only be slow, or verbose): no failure, exit 0, the KE line on stderr.
  EXPECT_EQ(s.exit_code, mode.cut ? 0 : mode.exit_code) << s.out << s.err;
  EXPECT_EQ(lines(s.err), 1U) << s.err;
  EXPECT_NE(s.err.find(mode.said), std::string::npos) << s.err;
  if (mode.exit_code == 3) {
    EXPECT_EQ(s.out, "") << "no TLS session: nothing to judge";
    EXPECT_NE(s.err.find("; nothing to judge"), std::string::npos) << s.err;
    return;
  }
  const std::string report = std::string(TEST_WORK_DIR) + "/nts_hostile_" + mode.name + ".json";
  std::ofstream(report) << s.out;
  const auto parsed = run_command({"/usr/bin/python3", "-c", kOutcomes, report}, 20000ms);
  ASSERT_EQ(parsed.exit_code, 0) << "the report is not JSON: " << parsed.err << s.out;
  std::istringstream in(parsed.out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "exit_code\t" + std::to_string(s.exit_code));
  size_t cases = 0;
  while (std::getline(in, line)) {
    ++cases;
    const auto tab = line.find('\t');
    const auto tab2 = line.find('\t', tab + 1);
    ASSERT_NE(tab2, std::string::npos) << line;
    const std::string id = line.substr(0, tab), outcome = line.substr(tab + 1, tab2 - tab - 1);
    EXPECT_GT(line.size(), tab2 + 1) << "a verdict without a reason: " << line;
    if (outcome == "pass") {
      EXPECT_TRUE(kJudgeTlsAlone.count(id) != 0) << "a pass on a hostile server's response: " << line;
    }
    if (mode.cut) {
      EXPECT_EQ(line.find("does not frame"), std::string::npos)
          << "a response we stopped reading blamed on the server's framing: " << line;
    }
  }
  // Every case of the suite (as --list gives them) judged, but the one left out.
  const auto list = run_command({NTP_PROBE_BIN, "--suite", "nts-ke", "--list"}, 10000ms);
  size_t listed = 0;
  for (std::istringstream l(list.out); std::getline(l, line);) listed += line.rfind("nts-ke/", 0) == 0 ? 1 : 0;
  EXPECT_EQ(cases, listed - (mode.slow ? 1 : 0)) << parsed.out;
}

INSTANTIATE_TEST_SUITE_P(Modes, NtsHostile, ::testing::ValuesIn(kModes), [](const auto& p) {
  std::string name = p.param.name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace ntpkit::test
