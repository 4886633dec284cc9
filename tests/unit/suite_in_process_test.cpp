// Every case and its failing twin (tests/twins.hpp), run by the probe's runner against
// ntp-server's respond() in-process (probe/in_process.hpp): no sockets, milliseconds per case,
// and under ASan with the rest of the unit label. The twin's server is built from the same
// arguments ntp-server takes, through its own option parser; its verdict is rendered by the
// same JSON writer the suite uses, and must name the same reason as over UDP.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "cli_common.hpp"
#include "escape.hpp"
#include "in_process.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "twins.hpp"

namespace ntpkit::probe {
namespace {

using namespace std::chrono_literals;
using test::kTwins;
using test::Twin;

// ntp-server's arguments to the server it would run.
InProcessServer server_from(const std::vector<std::string>& args) {
  CLI::App app;
  server::Options o;
  server::setup_options(app, o);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  app.parse(reversed);
  server::Config c;
  const std::string error = server::to_config(o, c);
  EXPECT_EQ(error, "");
  InProcessServer s;
  s.state = c.state;
  s.policy = c.policy;
  s.keys = c.keys;
  s.digests = c.digests;
  s.nts_jar = c.nts_jar;
  s.nts_aead = c.nts_aead;
  s.nts_ke = c.nts_ke;
  s.nts_tls = c.nts_tls;
  s.misbehaviour = c.misbehaviour;
  if (c.rate_limit) s.rate_limit = c.rate;
  return s;
}

const conformance::Case* find_case(std::string_view id) {
  for (const auto* c : conformance::all_cases()) {
    if (c->id == id) return c;
  }
  return nullptr;
}

// The probe's --keys FILE --key-id N, as its own option parser reads them; nothing without them.
std::optional<LoadedKeys> probe_keys(const std::vector<std::string>& args) {
  CLI::App app;
  KeyOptions o;
  add_key_options(app, o);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  auto loaded = load_keys(o);
  EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error());
  return loaded ? *loaded : std::nullopt;
}

// Paced retries are real time: here they start at 20 ms, for a limiter that allows one request
// every 50 ms.
Report run(const std::vector<const conformance::Case*>& cases, InProcessTransport& transport,
           std::chrono::milliseconds budget = 20s, unsigned jobs = 64, const std::optional<LoadedKeys>& keys = {}) {
  RunSettings s;
  const RequestKey key = keys ? keys->request_key() : RequestKey{};
  if (keys) s.judge.auth = &key;
  const conformance::NtsMaterial nts = nts_material(transport.server());
  if (nts.aead != nullptr) {
    s.judge.nts = &nts;
    s.ke_exchange = [&transport](const conformance::KeRequest& r) { return in_process_ke(transport.server(), r); };
  }
  s.jobs = jobs;
  s.retry_interval = 20ms;
  s.max_retry_interval = 160ms;
  s.budget = budget;
  s.target = {"127.0.0.1", 123, "127.0.0.1:123"};
  s.timeout = 500ms;
  s.transport = &transport;
  s.judge.now = SystemClock().now();
  s.judge.pivot_unix_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto result = run_cases(cases, s, {});
  Report r;
  r.suite = "in-process";
  r.target = r.address = "127.0.0.1:123";
  r.rate_limit = result.rate_limit;
  for (auto& c : result.results) r.entries.push_back({std::move(c), std::nullopt});
  return r;
}

class InProcessTwin : public ::testing::TestWithParam<Twin> {};

TEST_P(InProcessTwin, MisbehaviourMakesTheCaseFailForItsReason) {
  const Twin& t = GetParam();
  const conformance::Case* c = find_case(t.case_id);
  ASSERT_NE(c, nullptr) << t.case_id;
  InProcessTransport transport(server_from(t.server_args));
  const Report r = run({c}, transport, 20s, 64, probe_keys(t.probe_args));
  ASSERT_EQ(r.entries.size(), 1U);
  const std::string json = render_json(r);
  EXPECT_NE(json.find("\"outcome\":\"" + std::string(t.outcome) + "\""), std::string::npos) << json;
  EXPECT_TRUE(std::regex_search(json, std::regex(t.reason))) << "reason /" << t.reason << "/ not in\n" << json;
  if (!c->ke_stimulus) {
    EXPECT_GT(transport.requests(), 0U);  // an nts-ke case talks TLS, not UDP
  }
}

TEST_P(InProcessTwin, ThePlainServerPassesTheCase) {
  const Twin& t = GetParam();
  const conformance::Case* c = find_case(t.case_id);
  ASSERT_NE(c, nullptr);
  InProcessTransport transport(server_from(t.plain_server_args));
  const Report r = run({c}, transport, 20s, 64, probe_keys(t.probe_args));
  ASSERT_EQ(r.entries.size(), 1U);
  const auto outcome = r.entries[0].result.outcome;
  // A MAY or a choice the RFC leaves open is reported as info, a kiss-o'-death check with no
  // kiss-o'-death is skipped; nothing fails, warns or stays open.
  EXPECT_TRUE(outcome == conformance::Outcome::Pass || outcome == conformance::Outcome::Info ||
              outcome == conformance::Outcome::Skip)
      << render_json(r);
}

INSTANTIATE_TEST_SUITE_P(EveryCase, InProcessTwin, ::testing::ValuesIn(kTwins), [](const auto& p) {
  std::string n = p.param.case_id;
  for (auto& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

TEST(InProcessSuite, EveryCaseHasATwin) {
  std::set<std::string> twins;
  for (const auto& t : kTwins) twins.insert(t.case_id);
  for (const auto* c : conformance::all_cases()) EXPECT_EQ(twins.count(std::string(c->id)), 1U) << c->id;
  EXPECT_EQ(twins.size(), kTwins.size()) << "a case is listed twice";
}

TEST(InProcessSuite, ThePlainServerPassesEverySuiteAtOnce) {
  InProcessTransport transport(server_from({"--keys", NTPKIT_TEST_KEYS}));
  const Report r =
      run(conformance::all_cases(), transport, 20s, 64, probe_keys({"--keys", NTPKIT_TEST_KEYS, "--key-id", "2"}));
  const Summary s = summarize(r);
  EXPECT_EQ(s.fail, 0U) << render_json(r);
  EXPECT_EQ(s.warn, 0U) << render_json(r);
  EXPECT_EQ(s.inconclusive, 0U) << render_json(r);
  EXPECT_FALSE(r.rate_limit.detected);
}

// Without --keys the auth suite sends nothing and says why; with keys the server does not share
// (another secret under the same id, or a server that refuses every key) nothing fails: a
// crypto-NAK says the keys differ, not that the server is wrong.
TEST(InProcessSuite, TheAuthSuiteNeedsAKeyAndAKeyMismatchIsNoFailure) {
  const auto* auth = conformance::find_suite("auth");
  ASSERT_NE(auth, nullptr);
  {
    InProcessTransport transport(server_from({"--keys", NTPKIT_TEST_KEYS}));
    const Report r = run(auth->cases, transport);
    for (const auto& e : r.entries) {
      EXPECT_EQ(e.result.outcome, conformance::Outcome::Skip) << e.result.test->id;
      EXPECT_EQ(e.result.judgement.summary, "needs a key: give --keys FILE --key-id N");
    }
    EXPECT_EQ(transport.requests(), 0U);
  }
  const std::string other = std::string(TEST_WORK_DIR_IN_PROCESS) + "/other.keys";
  {
    std::ofstream f(other);
    f << "3 AES128 HEX:ff0102030405060708090a0b0c0d0e0f\n";
  }
  for (const auto& [server_args, key_file] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--keys", NTPKIT_TEST_KEYS}, other},
           {{"--keys", NTPKIT_TEST_KEYS, "--misbehave", "auth-always-nak"}, NTPKIT_TEST_KEYS},
           {{}, NTPKIT_TEST_KEYS}}) {
    InProcessTransport transport(server_from(server_args));
    const Report r = run(auth->cases, transport, 20s, 64, probe_keys({"--keys", key_file, "--key-id", "3"}));
    const Summary s = summarize(r);
    EXPECT_EQ(s.fail, 0U) << render_json(r);
    EXPECT_EQ(s.warn, 0U) << render_json(r);
    for (const auto& e : r.entries) {
      if (e.result.test->id == "auth/authenticated-reply") {
        EXPECT_EQ(e.result.outcome, conformance::Outcome::Inconclusive) << render_json(r);
        EXPECT_NE(e.result.judgement.summary.find("a crypto-NAK: the server could not verify key 3 (AES128CMAC)"),
                  std::string::npos)
            << e.result.judgement.summary;
      }
    }
  }
}

// An unsynchronised server (LI 3, stratum 16, as ntpsec answers while it starts) authenticates
// its replies all the same: the auth cases judge the MAC, not the clock (ef-then-mac once took
// such a reply for no authenticated reply against ntpsec).
TEST(InProcessSuite, AnUnsynchronisedServerIsJudgedOnItsMacs) {
  InProcessTransport transport(server_from({"--keys", NTPKIT_TEST_KEYS, "--leap", "3", "--stratum", "16"}));
  const Report r = run(conformance::find_suite("auth")->cases, transport, 20s, 64,
                       probe_keys({"--keys", NTPKIT_TEST_KEYS, "--key-id", "3"}));
  for (const auto& e : r.entries) {
    const auto o = e.result.outcome;
    EXPECT_TRUE(o == conformance::Outcome::Pass || o == conformance::Outcome::Info) << render_json(r);
    if (e.result.test->id == "auth/ef-then-mac") {
      EXPECT_EQ(o, conformance::Outcome::Pass) << render_json(r);
    }
  }
}

// A server that answers garbage breaks the cases about how replies name their requests; the
// cases about the interleaved transmit have nothing to judge and say so, rather than warn about a
// transmit they never saw.
TEST(InProcessSuite, GarbageFailsTheInterleavedOriginCasesAndLeavesTheOthersOpen) {
  InProcessTransport transport(server_from({"--misbehave", "garbage-reply"}));
  const Report r = run(conformance::find_suite("interleaved")->cases, transport);
  for (const auto& e : r.entries) {
    const std::string_view id = e.result.test->id;
    const auto o = e.result.outcome;
    if (id == "interleaved/previous-transmit" || id == "interleaved/distinct-timestamps") {
      EXPECT_EQ(o, conformance::Outcome::Inconclusive) << id << ": " << e.result.judgement.summary;
    }
    if (id == "interleaved/origin") {
      EXPECT_EQ(o, conformance::Outcome::Fail) << e.result.judgement.summary;
    }
  }
}

// The runner's rate-limit logic against ntp-server's own limiter, deterministic: from one
// address the limit is seen, named, and nothing fails.
TEST(InProcessSuite, ARateLimitedServerGivesNoFailureAndIsNamed) {
  InProcessTransport transport(server_from({"--rate-limit", "--rate-burst", "4", "--rate-interval", "0.05"}));
  const Report r = run(conformance::all_cases(), transport);
  const Summary s = summarize(r);
  EXPECT_EQ(s.fail, 0U) << render_json(r);
  EXPECT_TRUE(r.rate_limit.detected) << describe_rate_limit(r.rate_limit);
  EXPECT_GT(r.rate_limit.rate_kisses, 0U);
  EXPECT_GT(r.rate_limit.concluded, 0U) << describe_rate_limit(r.rate_limit);
}

}  // namespace
}  // namespace ntpkit::probe

namespace ntpkit::probe {
namespace {

// A server that drops at random (as chrony's `leak` answers a random share of what it limits): a
// case whose requests all went unanswered next to an answered bracket is no proof of a fault.
// One job, so that the server's random sequence falls on the same requests every run: without
// "answered only when sent again" as a sign of limiting, rfc5905/8/origin-copy-low-bits fails
// here ("no reply within the timeout"), as rfc4330/6/vn-copy-v3 did against chronyd in CI.
TEST(InProcessSuite, AServerThatDropsAtRandomGivesNoFailure) {
  InProcessTransport transport(server_from({"--misbehave", "drop-percent=20"}));
  const Report r = run(conformance::all_cases(), transport, 4s, 1);
  const Summary s = summarize(r);
  EXPECT_EQ(s.fail, 0U) << render_text(r, false, false);
  EXPECT_GT(r.rate_limit.dropped, 0U) << describe_rate_limit(r.rate_limit);
}

}  // namespace
}  // namespace ntpkit::probe

namespace ntpkit::probe {
namespace {

// The catalogue's "shown by" column is true: each case a misbehaviour names fails, warns or
// reports against a server that misbehaves so (in-process), and passes against the plain one.
TEST(InProcessSuite, EveryMisbehaviourIsCaughtByTheCasesItNames) {
  for (const FaultInfo& info : fault_catalogue()) {
    if (info.shown_by.empty()) continue;
    std::string spec(info.name);
    if (!info.examples.empty()) spec += "=" + std::string(info.examples.substr(0, info.examples.find(',')));
    SCOPED_TRACE(spec);
    std::vector<const conformance::Case*> cases;
    for (size_t at = 0; at < info.shown_by.size();) {
      const size_t comma = std::min(info.shown_by.find(',', at), info.shown_by.size());
      const auto* c = find_case(info.shown_by.substr(at, comma - at));
      EXPECT_NE(c, nullptr) << info.shown_by.substr(at, comma - at);
      if (c != nullptr) cases.push_back(c);
      at = comma + 1;
    }
    // Each case against a server of its own: what one case leaves in the server (the interleaved
    // cases' per-client state) must not decide another's verdict.
    for (const auto* c : cases) {
      std::vector<std::string> args = {"--keys", NTPKIT_TEST_KEYS, "--misbehave", spec};
      if (spec.rfind("nts-", 0) == 0) {
        args.insert(args.end(),
                    {"--nts-cert", NTPKIT_TEST_NTS_CERT, "--nts-key", NTPKIT_TEST_NTS_KEY, "--nts-port", "0"});
      }
      InProcessTransport transport(server_from(args));
      const Report r = run({c}, transport, 20s, 64, probe_keys({"--keys", NTPKIT_TEST_KEYS, "--key-id", "3"}));
      const auto& e = r.entries.front();
      EXPECT_NE(e.result.outcome, conformance::Outcome::Pass) << e.result.test->id << " does not catch " << spec;
      EXPECT_NE(e.result.outcome, conformance::Outcome::Inconclusive)
          << e.result.test->id << ": " << e.result.judgement.summary;
      EXPECT_NE(e.result.outcome, conformance::Outcome::Skip)
          << e.result.test->id << ": " << e.result.judgement.summary;
    }
  }
}

}  // namespace
}  // namespace ntpkit::probe

namespace ntpkit::probe {
namespace {

// A reproduction line's key file path survives a shell whatever it holds.
TEST(Reproduction, PathsAreQuotedForTheShell) {
  EXPECT_EQ(shell_quote("/etc/chrony/chrony.keys"), "/etc/chrony/chrony.keys");
  EXPECT_EQ(shell_quote("my keys"), "'my keys'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
  EXPECT_EQ(shell_quote(""), "''");
}

}  // namespace
}  // namespace ntpkit::probe
