// Many targets in one run: positional targets and --targets FILE, JSON Lines written as each
// target finishes, --shard K/N's deterministic shares (three shards together are the unsharded
// run), --max-rate over the whole run, and the worst exit code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace ntpkit::test {
namespace {

using namespace std::chrono_literals;

// "target exit_code pass fail" for each line of a JSON Lines report, read by Python's json (so
// every line must be one JSON document).
std::multiset<std::string> lines_of(const std::string& jsonl, const std::string& name) {
  const std::string file = std::string(TEST_WORK_DIR) + "/" + name + ".jsonl";
  std::ofstream(file) << jsonl;
  const auto r = run_command({"/usr/bin/python3", "-c",
                              "import json, sys\n"
                              "for line in open(sys.argv[1]):\n"
                              "    o = json.loads(line)\n"
                              "    s = o.get('summary', {})\n"
                              "    print(o['target'], o['exit_code'], s.get('pass', '-'), s.get('fail', '-'))",
                              file},
                             20000ms);
  EXPECT_EQ(r.exit_code, 0) << r.err << jsonl.substr(0, 400);
  std::multiset<std::string> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) out.insert(line);
  return out;
}

std::string write_targets(const std::string& name, const std::string& text) {
  const std::string file = std::string(TEST_WORK_DIR) + "/" + name;
  std::ofstream(file) << text;
  return file;
}

TEST(Targets, EachTargetIsALineAndTheWorstExitCodeIsTheRuns) {
  RunningServer good({});
  RunningServer bad({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(good.port.empty());
  ASSERT_FALSE(bad.port.empty());
  const std::string file =
      write_targets("fleet.txt", "# a fleet\n127.0.0.1:" + good.port + "\n\n  127.0.0.1:" + bad.port +
                                     "   # the bad one\n127.0.0.1:1\n");
  const auto r = run_command({NTP_PROBE_BIN, "--targets", file, "--format", "jsonl"}, 60000ms);
  EXPECT_EQ(r.exit_code, 1) << r.out.substr(0, 400) << r.err;  // a failure outranks the unreachable one
  const auto lines = lines_of(r.out, "fleet");
  ASSERT_EQ(lines.size(), 3U) << r.out.substr(0, 600);
  EXPECT_EQ(lines.count("127.0.0.1:1 3 - -"), 1U);
  bool good_seen = false, bad_seen = false;
  for (const auto& l : lines) {
    good_seen = good_seen || l.rfind("127.0.0.1:" + good.port + " 0 ", 0) == 0;
    bad_seen = bad_seen || (l.rfind("127.0.0.1:" + bad.port + " 1 ", 0) == 0 && l.substr(l.size() - 2) != " 0");
  }
  EXPECT_TRUE(good_seen && bad_seen) << r.out.substr(0, 600);
  EXPECT_NE(r.out.find("port is closed"), std::string::npos);
  // Positional targets, text: each report in turn; all good: 0.
  const auto two = run_command({NTP_PROBE_BIN, "127.0.0.1:" + good.port, "127.0.0.1:" + good.port}, 60000ms);
  EXPECT_EQ(two.exit_code, 0) << two.out.substr(0, 400);
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), '\n') > 10, true);
  EXPECT_NE(two.out.find("rfc5905: 59 cases"), two.out.rfind("rfc5905: 59 cases"));  // two summaries
}

// Three shards, run one after another, judge exactly the targets of one unsharded run, with the
// same verdicts; the share is the same every time.
TEST(Targets, ThreeShardsAreOneRun) {
  RunningServer good({});
  RunningServer bad({"--misbehave", "transmit-zero"});
  ASSERT_FALSE(good.port.empty());
  ASSERT_FALSE(bad.port.empty());
  std::string list;
  for (int i = 0; i < 4; ++i) list += "127.0.0.1:" + good.port + "\n127.0.0.1:" + bad.port + "\n";
  list += "127.0.0.1:1\n";
  const std::string file = write_targets("shards.txt", list);
  const auto whole = run_command({NTP_PROBE_BIN, "--targets", file, "--format", "jsonl"}, 120000ms);
  const auto all = lines_of(whole.out, "whole");
  ASSERT_EQ(all.size(), 9U);
  std::multiset<std::string> merged;
  int worst = 0;
  for (const std::string shard : {"1/3", "2/3", "3/3"}) {
    const auto r = run_command({NTP_PROBE_BIN, "--targets", file, "--shard", shard, "--format", "jsonl"}, 120000ms);
    const auto part = lines_of(r.out, "shard" + shard.substr(0, 1));
    EXPECT_EQ(part.size(), 3U) << shard;
    merged.insert(part.begin(), part.end());
    worst = std::max(worst, r.exit_code == 1 ? 2 : r.exit_code == 3 ? 1 : 0);
  }
  EXPECT_EQ(merged, all);
  EXPECT_EQ(worst, whole.exit_code == 1 ? 2 : whole.exit_code == 3 ? 1 : 0);
}

// The verdicts of a merged report, ignoring what differs from run to run (times, timestamps):
// "suite target exit_code id:outcome ..." a line, as Python's json reads them.
std::string verdicts_of(const std::string& jsonl, const std::string& name) {
  const std::string file = std::string(TEST_WORK_DIR) + "/" + name + ".merged.jsonl";
  std::ofstream(file) << jsonl;
  return run_command({"/usr/bin/python3", "-c",
                      "import json, sys\n"
                      "for line in open(sys.argv[1]):\n"
                      "    o = json.loads(line)\n"
                      "    print(o['suite'], o['target'], o['exit_code'], "
                      "' '.join(c['id'] + ':' + c['outcome'] for c in o.get('cases', [])))",
                      file},
                     20000ms)
      .out;
}

// `merge` of three shards' JSON Lines gives the verdicts of `merge` of the unsharded run, in
// the same order, with the same exit code.
TEST(Targets, MergedShardsAreTheUnshardedRun) {
  RunningServer good({});
  RunningServer bad({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(good.port.empty());
  ASSERT_FALSE(bad.port.empty());
  const std::string list = write_targets("merge.txt", "127.0.0.1:" + good.port + "\n127.0.0.1:" + bad.port +
                                                          "\n127.0.0.1:1\nlocalhost:" + good.port + "\n");
  const std::string dir = std::string(TEST_WORK_DIR) + "/";
  const auto whole = run_command({NTP_PROBE_BIN, "--targets", list, "--json", dir + "whole.json"}, 120000ms);
  std::vector<std::string> merge_shards = {NTP_PROBE_BIN, "merge", "--format", "jsonl"};
  for (const std::string k : {"1", "2", "3"}) {
    const auto r = run_command({NTP_PROBE_BIN, "--targets", list, "--shard", k + "/3", "--format", "jsonl"}, 120000ms);
    std::ofstream(dir + "shard" + k + ".jsonl") << r.out;
    merge_shards.push_back(dir + "shard" + k + ".jsonl");
  }
  const auto merged = run_command(merge_shards, 30000ms);
  const auto merged_whole = run_command({NTP_PROBE_BIN, "merge", "--format", "jsonl", dir + "whole.json"}, 30000ms);
  EXPECT_EQ(merged.exit_code, merged_whole.exit_code) << merged.err;
  EXPECT_EQ(merged.exit_code, whole.exit_code);
  EXPECT_EQ(merged.exit_code, 1);
  const std::string a = verdicts_of(merged.out, "shards"), b = verdicts_of(merged_whole.out, "whole");
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 4) << a;
  EXPECT_NE(a.find("rfc5905/8/origin-copy:pass"), std::string::npos) << a;
  EXPECT_NE(a.find("rfc5905/8/origin-copy:fail"), std::string::npos) << a;
  // The text table: one row a target, the worst exit code.
  const auto table = run_command({NTP_PROBE_BIN, "merge", dir + "whole.json"}, 30000ms);
  EXPECT_NE(table.out.find("4 report(s), exit 1"), std::string::npos) << table.out;
}

// Lines that are not reports are skipped, each named with its file and line, and the rest is
// merged: garbage, a JSON object of something else, nesting no report has, a truncated line.
TEST(Targets, MergeSkipsWhatIsNotAReport) {
  const std::string dir = std::string(TEST_WORK_DIR) + "/";
  {
    std::ofstream f(dir + "corrupt.jsonl");
    f << "garbage\n{\"a\":1}\n"
      << std::string(100000, '[') << "\n"
      << R"({"suite":"rfc5905","target":"x:1","exit_code":3,"error":"closed"})"
      << "\n"
      << R"({"suite":"rfc5905","target":"y:1","exit_code":0,"summ)"
      << "\n";
  }
  const auto r =
      run_command({NTP_PROBE_BIN, "merge", "--format", "jsonl", dir + "corrupt.jsonl", dir + "none"}, 30000ms);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "{\"error\":\"closed\",\"exit_code\":3,\"suite\":\"rfc5905\",\"target\":\"x:1\"}\n");
  for (const std::string where :
       {"corrupt.jsonl line 1: ", "corrupt.jsonl line 2: not an ntp-probe report",
        "corrupt.jsonl line 3: nested deeper than any report", "corrupt.jsonl line 5: ", "none: cannot read it"}) {
    EXPECT_NE(r.err.find(where), std::string::npos) << where << "\n" << r.err;
  }
  std::ofstream(dir + "empty.jsonl") << "\n";
  const auto empty = run_command({NTP_PROBE_BIN, "merge", dir + "empty.jsonl"}, 30000ms);
  EXPECT_EQ(empty.exit_code, 3);
  EXPECT_NE(empty.err.find("no report read"), std::string::npos) << empty.err;
}

// Headless Chromium (Debian's chromium), in a network namespace of its own when we are root so
// that it reaches nothing, with no background traffic asked of it either.
std::vector<std::string> chromium(const std::string& profile) {
  std::vector<std::string> argv;
  if (geteuid() == 0) argv = {"/usr/bin/unshare", "--net", "--"};
  for (const std::string a : {"/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              "--disable-extensions", "--disable-default-apps"})
    argv.push_back(a);
  argv.push_back("--user-data-dir=" + profile);
  return argv;
}

// The HTML matrix of a fleet (a good server, a failing one, one that cannot be reached) rendered
// by headless Chromium: the DOM it builds shows every target and every case, with the failing
// twin's cell a fail; the screenshot is a PNG of the page.
TEST(Targets, TheHtmlMatrixRendersInHeadlessChromium) {
  if (access("/usr/bin/chromium", X_OK) != 0)
    GTEST_SKIP() << "no /usr/bin/chromium (scripts/install-deps.sh installs it)";
  RunningServer good({});
  RunningServer bad({"--misbehave", "no-origin-copy"});
  ASSERT_FALSE(good.port.empty());
  ASSERT_FALSE(bad.port.empty());
  const std::string dir = std::string(TEST_WORK_DIR) + "/";
  const std::vector<std::string> targets = {"127.0.0.1:" + good.port, "127.0.0.1:" + bad.port, "127.0.0.1:1"};
  const auto run = run_command(
      {NTP_PROBE_BIN, "--format", "html", "--json", dir + "matrix.json", targets[0], targets[1], targets[2]}, 120000ms);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  std::ofstream(dir + "matrix.html") << run.out;
  EXPECT_EQ(run.out.find("<script"), std::string::npos);  // self-contained: nothing to fetch or run
  EXPECT_EQ(run.out.find("http"), std::string::npos);
  // The same matrix from merge.
  const auto merged = run_command({NTP_PROBE_BIN, "merge", "--format", "html", dir + "matrix.json"}, 30000ms);
  EXPECT_EQ(merged.exit_code, 1);
  EXPECT_NE(merged.out.find("<table id=\"matrix\">"), std::string::npos);

  auto dom_argv = chromium(dir + "chromium-profile");
  dom_argv.push_back("--dump-dom");
  dom_argv.push_back("file://" + dir + "matrix.html");
  const auto dom = run_command(dom_argv, 90000ms);
  ASSERT_EQ(dom.exit_code, 0) << dom.err.substr(0, 2000);
  for (const auto& t : targets) EXPECT_NE(dom.out.find("<th>" + t + "</th>"), std::string::npos) << t;
  // Every case of the suite is a row (rfc5905 --list ends "N cases").
  const auto list = run_command({NTP_PROBE_BIN, "--list"}, 10000ms);
  std::istringstream in(list.out);
  std::string line;
  size_t cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ' || line.find(" cases") != std::string::npos) continue;
    const std::string id = line.substr(0, line.find(' '));
    ++cases;
    EXPECT_NE(dom.out.find("<td class=\"case\" id=\"" + id + "\">"), std::string::npos) << id;
  }
  EXPECT_GT(cases, 50U);
  EXPECT_NE(dom.out.find("<td class=\"fail\"><details><summary>fail</summary>"), std::string::npos);
  EXPECT_NE(dom.out.find("port is closed"), std::string::npos);

  auto shot_argv = chromium(dir + "chromium-profile");
  shot_argv.push_back("--screenshot=" + dir + "matrix.png");
  shot_argv.push_back("--window-size=1600,1200");
  shot_argv.push_back("file://" + dir + "matrix.html");
  std::remove((dir + "matrix.png").c_str());
  const auto shot = run_command(shot_argv, 90000ms);
  ASSERT_EQ(shot.exit_code, 0) << shot.err.substr(0, 2000);
  std::ifstream png(dir + "matrix.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.size(), 20000U);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

// What a run of many targets cannot take is said before anything is sent.
TEST(Targets, BadListsAndOptionsAreRefusedFirst) {
  const auto bad_line =
      run_command({NTP_PROBE_BIN, "--targets", write_targets("bad.txt", "127.0.0.1\na b\n")}, 10000ms);
  EXPECT_EQ(bad_line.exit_code, 2);
  EXPECT_NE(bad_line.err.find("line 2: one HOST[:PORT] a line"), std::string::npos) << bad_line.err;
  const auto ambiguous = run_command({NTP_PROBE_BIN, "127.0.0.1", "::1:123"}, 10000ms);
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("target 2 (::1:123)"), std::string::npos) << ambiguous.err;
  for (const std::string shard : {"0/3", "4/3", "1/0", "x", "1/2/3"}) {
    const auto r = run_command({NTP_PROBE_BIN, "127.0.0.1", "--shard", shard}, 10000ms);
    EXPECT_EQ(r.exit_code, 2) << shard;
    EXPECT_NE(r.err.find("--shard " + shard + ": give K/N"), std::string::npos) << r.err;
  }
  const auto junit = run_command({NTP_PROBE_BIN, "127.0.0.1", "127.0.0.2", "--format", "junit"}, 10000ms);
  EXPECT_EQ(junit.exit_code, 2);
  EXPECT_NE(junit.err.find("JUnit, TAP and Prometheus take one target"), std::string::npos) << junit.err;
  const auto missing = run_command({NTP_PROBE_BIN, "--targets", "/nonexistent/list"}, 10000ms);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read it"), std::string::npos) << missing.err;
}

// Under a descriptor limit that --parallel x -j would pass, each target gets fewer cases in
// flight, said once, and every target is still judged.
TEST(Targets, ManyTargetsFitTheDescriptorLimit) {
  RunningServer good({});
  ASSERT_FALSE(good.port.empty());
  const std::string t = "127.0.0.1:" + good.port;
  const auto r = run_command(
      {"/usr/bin/prlimit", "--nofile=200:200", NTP_PROBE_BIN, "--parallel", "4", "--format", "jsonl", t, t, t, t},
      60000ms);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out.substr(0, 400);
  EXPECT_NE(r.err.find("4 targets at once with -j 64 would need more than the 72 sockets we may open: -j 18 for each"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(lines_of(r.out, "fds").size(), 4U);
}

// --max-rate spaces every datagram of every target: two runs of the suite (some 240 datagrams)
// at 50 a second take most of five seconds, where without it they take one.
TEST(Targets, MaxRateCapsTheWholeRun) {
  RunningServer good({});
  ASSERT_FALSE(good.port.empty());
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_command(
      {NTP_PROBE_BIN, "--max-rate", "50", "--format", "jsonl", "127.0.0.1:" + good.port, "127.0.0.1:" + good.port},
      60000ms);
  EXPECT_EQ(r.exit_code, 0) << r.out.substr(0, 400);
  EXPECT_GT(std::chrono::steady_clock::now() - started, 3s);  // a lower bound: never late, whatever the load
}

}  // namespace
}  // namespace ntpkit::test
