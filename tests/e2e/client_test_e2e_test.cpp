// `ntp-probe client-test` end to end: the test clients of tests/tools/sntp_client.py under every
// scenario. The careful client passes everything (the reported scenarios aside); each
// deliberately broken one fails exactly where its flaw is, so every scenario is shown to tell a
// good client from a bad one: --sloppy takes whatever comes and retries after a kiss, --backwards
// reports the offset with the wrong sign, --deaf takes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace ntpkit::test {
namespace {

using namespace std::chrono_literals;

// One run of client-test with the test client in `mode`: exit code and "id -> outcome".
struct Verdicts {
  int exit_code = -1;
  std::map<std::string, std::string> outcome;
  std::string json;
};

// client-test's JSON report as "id -> outcome" (written under `name` in the work dir, read by Python's json).
Verdicts verdicts(const RunResult& r, const std::string& name) {
  Verdicts v;
  v.exit_code = r.exit_code;
  v.json = r.out;
  const std::string file = std::string(TEST_WORK_DIR) + "/client_test_" + name + ".json";
  std::ofstream(file) << r.out;
  const auto parsed = run_command(
      {"/usr/bin/python3", "-c",
       "import json, sys\nfor c in json.load(open(sys.argv[1]))['cases']: print(c['id'], c['outcome'])", file},
      20000ms);
  std::istringstream in(parsed.out);
  std::string id, outcome;
  while (in >> id >> outcome) v.outcome[id] = outcome;
  return v;
}

Verdicts run(const std::string& mode) {
  return verdicts(
      run_command({NTP_PROBE_BIN, "client-test", "--offset-regex", "offset ([-+0-9.e]+)", "-t", "5", "--format", "json",
                   "--", "/usr/bin/python3", SNTP_CLIENT, "--" + mode, "{host}", "{port}"},
                  120000ms),
      mode);
}

const std::vector<std::string> kRefused = {"client/origin-mismatch", "client/origin-zero", "client/transmit-zero",
                                           "client/mode-3-reply",    "client/stratum-0",   "client/stratum-16",
                                           "client/leap-alarm",      "client/other-port"};
const std::vector<std::string> kKisses = {"client/kiss-deny", "client/kiss-rstr", "client/kiss-rate",
                                          "client/kiss-unknown"};
const std::vector<std::string> kReported = {"client/mode-5-reply", "client/version-not-echoed", "client/receive-zero",
                                            "client/oversize-reply", "client/mac-unknown-key"};

TEST(ClientTest, TheCarefulClientPassesEveryScenario) {
  const auto v = run("careful");
  EXPECT_EQ(v.exit_code, 0) << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.size(), 28U) << v.json.substr(0, 400);
  for (const auto& [id, outcome] : v.outcome) {
    const bool reported = std::find(kReported.begin(), kReported.end(), id) != kReported.end();
    EXPECT_EQ(outcome, reported ? "info" : "pass") << id << "\n" << v.json.substr(0, 400);
  }
  // The hour's offset as the client printed it, a few microseconds either side of 3600.
  EXPECT_TRUE(v.json.find("\"accepted\":true,\"offset_s\":3599.99") != std::string::npos ||
              v.json.find("\"accepted\":true,\"offset_s\":3600.00") != std::string::npos)
      << v.json;
}

TEST(ClientTest, TheSloppyClientFailsEveryReplyItShouldHaveRefused) {
  const auto v = run("sloppy");
  EXPECT_EQ(v.exit_code, 1) << v.json.substr(0, 400);
  for (const auto& id : kRefused) EXPECT_EQ(v.outcome.at(id), "warn") << id;  // SHOULD
  for (const auto& id : kKisses) EXPECT_EQ(v.outcome.at(id), "fail") << id;   // MUST
  EXPECT_EQ(v.outcome.at("client/request/stop-after-deny"), "fail");          // it retries after a kiss
  EXPECT_EQ(v.outcome.at("client/request/stop-after-rstr"), "fail");
  EXPECT_EQ(v.outcome.at("client/request/rate-backoff"), "fail");   // straight back after RATE
  EXPECT_EQ(v.outcome.at("client/request/retry-backoff"), "warn");  // a second apart, four times (SHOULD)
  EXPECT_EQ(v.outcome.at("client/no-reply"), "pass");               // it makes up no time
  EXPECT_EQ(v.outcome.at("client/era-1"), "warn");                  // no era: 1900 + a few months
  EXPECT_EQ(v.outcome.at("client/request/minimal"), "info");        // its clock in the origin field
  EXPECT_EQ(v.outcome.at("client/good-reply"), "pass");
  EXPECT_NE(v.json.find("the client took the time of a DENY kiss-o'-death"), std::string::npos);
}

TEST(ClientTest, AnOffsetWithTheWrongSignIsFound) {
  const auto v = run("backwards");
  EXPECT_EQ(v.exit_code, 0) << v.json.substr(0, 400);  // SHOULD-level findings only
  EXPECT_EQ(v.outcome.at("client/offset-hour"), "warn") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/era-1"), "warn");
  EXPECT_EQ(v.outcome.at("client/good-reply"), "pass");  // +0 and -0 are one offset
  EXPECT_NE(v.json.find("the client reported a wrong offset for a server an hour ahead"), std::string::npos);
}

TEST(ClientTest, AClientThatTakesNothingFailsTheGoodReply) {
  const auto v = run("deaf");
  EXPECT_EQ(v.exit_code, 1) << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/good-reply"), "fail");
  EXPECT_EQ(v.outcome.at("client/duplicate-reply"), "warn");
  for (const auto& id : kRefused) EXPECT_EQ(v.outcome.at(id), "pass") << id;
}

// A command that never reaches the server, or cannot start, concludes nothing: exit 3.
TEST(ClientTest, AClientThatNeverAsksConcludesNothing) {
  const auto r =
      run_command({NTP_PROBE_BIN, "client-test", "--scenario", "client/good-reply", "--", "/bin/true"}, 20000ms);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("the client sent no request to the scenario's server"), std::string::npos) << r.out;
  const auto missing = run_command(
      {NTP_PROBE_BIN, "client-test", "--scenario", "client/good-reply", "--", "/nonexistent/client"}, 20000ms);
  EXPECT_EQ(missing.exit_code, 3) << missing.out << missing.err;
  EXPECT_NE(missing.out.find("cannot run /nonexistent/client"), std::string::npos) << missing.out;
}

// A client that never ends is stopped at --timeout, with what it printed kept.
TEST(ClientTest, AClientThatHangsIsStoppedAtTheTimeout) {
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_command({NTP_PROBE_BIN, "client-test", "--scenario", "client/good-reply", "-t", "1", "--format",
                              "json", "--", "/bin/sh", "-c", "echo waiting; sleep 30"},
                             20000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("\"timed_out\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"output\":\"waiting\\n\""), std::string::npos) << r.out;
}

// Each adapter reads its client's way of printing (the careful client printing as chronyd -Q,
// check_ntp_time, rdate -p and systemd-timesyncd do): a server an hour ahead is taken, with +3600 s read back.
TEST(ClientTest, EachAdapterReadsItsClientsOutput) {
  for (const std::string adapter : {"chronyd", "check_ntp_time", "rdate", "timesyncd"}) {
    SCOPED_TRACE(adapter);
    const auto r = run_command({NTP_PROBE_BIN, "client-test", "--adapter", adapter, "--scenario", "client/offset-hour",
                                "--scenario", "client/kiss-deny", "--format", "json", "--", "/usr/bin/python3",
                                SNTP_CLIENT, "--careful", "--print", adapter, "{host}", "{port}"},
                               60000ms);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("\"outcome\":\"pass\",\"summary\":\"took the time of a server an hour ahead, offset +3"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\"adapter\":\"" + adapter + "\""), std::string::npos);
  }
}

// A client that sends three requests at once and stops at the kiss has sent nothing after it,
// though the scenario server reads the three behind a reply it holds back 100 ms: arrival is
// the kernel's stamp, not when the server got to it.
TEST(ClientTest, ABurstBeforeTheKissIsNotGoingOnAfterIt) {
  const char* burst =
      "import socket, sys, os, time\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "s.connect((sys.argv[1], int(sys.argv[2])))\n"
      "for i in range(3): s.send(bytes([0x23]) + bytes(39) + os.urandom(8))\n"
      "s.settimeout(2)\n"
      "d = s.recv(100)\n"
      "print('kiss' if d[1] == 0 else 'time')\n"
      "time.sleep(0.5)\n"
      "sys.exit(1 if d[1] == 0 else 0)\n";
  const auto r = run_command({NTP_PROBE_BIN, "client-test", "--scenario", "client/request/stop-after-deny", "--format",
                              "json", "--", "/usr/bin/python3", "-c", burst, "{host}", "{port}"},
                             30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"summary\":\"no request after DENY\""), std::string::npos) << r.out;
}

// A client that leaves a writer behind, one that closes its output and sleeps on, one that prints
// bytes that are not UTF-8: each run ends about --timeout, and the JSON report still parses.
TEST(ClientTest, OddClientsEndAtTheTimeoutAndTheReportStaysValid) {
  for (const char* script : {"(for i in $(seq 400); do echo x; sleep 0.05; done) & exit 0", "exec >&- 2>&-; sleep 30",
                             "printf 'bad \\377\\376 bytes\\n'; sleep 30"}) {
    SCOPED_TRACE(script);
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_command({NTP_PROBE_BIN, "client-test", "--scenario", "client/good-reply", "-t", "1", "--format",
                                "json", "--", "/bin/sh", "-c", script},
                               30000ms);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;  // it never asked
    const std::string file = std::string(TEST_WORK_DIR) + "/client_test_odd.json";
    std::ofstream(file) << r.out;
    EXPECT_EQ(run_command({"/usr/bin/python3", "-c", "import json, sys; json.load(open(sys.argv[1]))", file}, 20000ms)
                  .exit_code,
              0)
        << r.out;
  }
}

// --netns: server and client in a private network namespace, the server on port 123 (the careful
// client is told the port; ntpdig, which asks 123 only, runs this way in interop.client-test).
TEST(ClientTest, NetnsServesPort123InANamespaceOfItsOwn) {
  if (geteuid() != 0) GTEST_SKIP() << "--netns needs root";
  const auto r = run_command(
      {NTP_PROBE_BIN, "client-test", "--netns", "--scenario", "client/good-reply", "--format", "json", "--offset-regex",
       "offset ([-+0-9.e]+)", "--", "/usr/bin/python3", SNTP_CLIENT, "--careful", "{host}", "{port}"},
      60000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"reproduce\":\"ntp-probe client-test --offset-regex 'offset ([-+0-9.e]+)' --netns --scenario"),
            std::string::npos)
      << r.out.substr(0, 400);
  EXPECT_NE(r.out.find(" --careful 127.0.0.1 123\""), std::string::npos) << r.out;  // {port} was 123
}

// A hostile client: 100,000 datagrams of garbage and of requests as fast as it can. The harness
// counts them all, keeps 64 as evidence, answers at most 10,000, and ends when the client does.
TEST(ClientTest, AFloodingClientIsCountedNotKept) {
  const char* flood =
      "import socket, sys\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "a = (sys.argv[1], int(sys.argv[2]))\n"
      "req = bytes([0x23]) + bytes(47)\n"
      "for i in range(100000):\n"
      "    try: s.sendto(req if i % 2 else b'\\xff' * (i % 300), a)\n"
      "    except OSError: pass\n"
      "print('done')\n";
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_command({NTP_PROBE_BIN, "client-test", "--scenario", "client/good-reply", "-t", "20", "--format",
                              "json", "--", "/usr/bin/python3", "-c", flood, "{host}", "{port}"},
                             60000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 40s);
  // It exits 0 ("took the time") and did ask; its garbage fails the request check (MUST).
  EXPECT_EQ(r.exit_code, 1) << r.out.substr(0, 2000) << r.err;
  EXPECT_NE(r.out.find("\"summary\":\"a request shorter than an NTP header\""), std::string::npos)
      << r.out.substr(0, 2000);
  const auto at = r.out.find("\"requests\":");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stoul(r.out.substr(at + 11)), 1000U);  // counted (loopback may drop some)
  EXPECT_LT(r.out.size(), 200'000U);                    // 64 datagrams of evidence, not 100,000
}

// --daemon: one run of a client that polls until it is ended, each scenario served to it in
// turn (-t seconds each), what it printed meanwhile read as its verdict. The careful one doubles
// its interval at RATE and stops after DENY, so the RSTR after it finds it silent.
Verdicts run_daemon(const std::string& mode, std::vector<std::string> scenarios) {
  std::vector<std::string> argv = {NTP_PROBE_BIN,    "client-test",         "--daemon", "-t",  "1.2",
                                   "--offset-regex", "offset ([-+0-9.e]+)", "--format", "json"};
  for (const auto& sc : scenarios) {
    argv.push_back("--scenario");
    argv.push_back(sc);
  }
  for (const std::string a :
       {"--", "/usr/bin/python3", SNTP_CLIENT, "--loop", "--wait", "0.3", "--interval", "0.1", "{host}", "{port}"})
    argv.push_back(a);
  argv.insert(argv.end() - 2, "--" + mode);
  return verdicts(run_command(argv, 120000ms), "daemon_" + mode);
}

const std::vector<std::string> kDaemonScenarios = {
    "client/good-reply", "client/offset-hour",  "client/origin-mismatch",     "client/kiss-deny",
    "client/kiss-rstr",  "client/request/mode", "client/request/rate-backoff"};

TEST(ClientTest, ADaemonIsServedEachScenarioInTurn) {
  const auto v = run_daemon("careful", kDaemonScenarios);
  EXPECT_EQ(v.exit_code, 0) << v.json.substr(0, 400);  // the RSTR after DENY concludes nothing, the rest passes
  EXPECT_EQ(v.outcome.at("client/good-reply"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/offset-hour"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/origin-mismatch"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/kiss-rate"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/request/rate-backoff"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/kiss-deny"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/request/stop-after-deny"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/kiss-rstr"), "inconclusive") << v.json.substr(0, 400);
  EXPECT_NE(v.json.find("sent no request while this scenario was served"), std::string::npos) << v.json.substr(0, 400);
  EXPECT_NE(v.json.find("\"reproduce\":\"ntp-probe client-test --offset-regex 'offset ([-+0-9.e]+)' --daemon -t 1.2 "
                        "--scenario client/good-reply -v -- "),
            std::string::npos)
      << v.json;
  // The order a daemon is served in: RATE and the kisses that end an association last.
  EXPECT_LT(v.json.find("\"client/origin-mismatch\""), v.json.find("\"client/kiss-rate\""));
  EXPECT_LT(v.json.find("\"client/kiss-rate\""), v.json.find("\"client/kiss-deny\""));
}

TEST(ClientTest, ASloppyDaemonFailsTheKissesItKeepsPollingThrough) {
  const auto v = run_daemon("sloppy", kDaemonScenarios);
  EXPECT_EQ(v.exit_code, 1) << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/good-reply"), "pass") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/origin-mismatch"), "warn") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/kiss-deny"), "fail") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/request/stop-after-deny"), "fail") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/request/stop-after-rstr"), "fail") << v.json.substr(0, 400);
  EXPECT_EQ(v.outcome.at("client/request/rate-backoff"), "fail") << v.json.substr(0, 400);
}

// --exclude leaves a request case out even when the scenario it is judged on is served.
TEST(ClientTest, ExcludeLeavesOutARequestCaseWhoseScenarioRuns) {
  const auto r =
      run_command({NTP_PROBE_BIN, "client-test", "--scenario", "client/no-reply", "--exclude", "client/request/*", "-t",
                   "2", "--format", "json", "--", "/usr/bin/python3", SNTP_CLIENT, "--careful", "{host}", "{port}"},
                  30000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out.substr(0, 400) << r.err;
  EXPECT_NE(r.out.find("\"total\":1,"), std::string::npos) << r.out.substr(0, 400);
  EXPECT_EQ(r.out.find("client/request/retry-backoff"), std::string::npos);
}

// What --daemon needs, said before anything runs; a daemon that ends early concludes nothing.
TEST(ClientTest, DaemonUsageAndADaemonThatEnds) {
  const auto generic = run_command({NTP_PROBE_BIN, "client-test", "--daemon", "--", "/bin/true"}, 20000ms);
  EXPECT_EQ(generic.exit_code, 2) << generic.err;
  EXPECT_NE(generic.err.find("--daemon reads a running client's output"), std::string::npos) << generic.err;
  const auto long_run = run_command(
      {NTP_PROBE_BIN, "client-test", "--daemon", "--adapter", "chronyd-daemon", "-t", "600", "--", "/bin/true"},
      20000ms);
  EXPECT_EQ(long_run.exit_code, 2) << long_run.err;
  EXPECT_NE(long_run.err.find("more than the hour a run may take"), std::string::npos) << long_run.err;
  const auto ends = run_command({NTP_PROBE_BIN, "client-test", "--daemon", "--offset-regex", "offset (.*)", "-t", "1",
                                 "--scenario", "client/good-reply", "--scenario", "client/offset-hour", "--format",
                                 "json", "--", "/bin/sh", "-c", "echo bye; exit 4"},
                                20000ms);
  EXPECT_EQ(ends.exit_code, 3) << ends.out << ends.err;
  EXPECT_NE(ends.out.find("the client was not running: it ended (exit 4) before this scenario was over; it printed: "
                          "bye"),
            std::string::npos)
      << ends.out;
}

}  // namespace
}  // namespace ntpkit::test
