// The client scenarios' judges (lib/src/conformance/client.cpp) on made-up runs: what each
// reading of a client's run gives, where no real client could show it (a request in another
// mode, a request just in flight when a kiss-o'-death left).
#include <gtest/gtest.h>

#include <string>

#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/server/misbehaviour.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::conformance {
namespace {

const Case& scenario(std::string_view id) {
  for (const auto& s : client_scenarios()) {
    if (s.test->id == id) return *s.test;
  }
  ADD_FAILURE() << "no scenario " << id;
  return *client_scenarios().front().test;
}
const Case& request_case(std::string_view id) {
  for (const auto& r : client_request_cases()) {
    if (r.test->id == id) return *r.test;
  }
  ADD_FAILURE() << "no request case " << id;
  return *client_request_cases().front().test;
}

Received request(Mode mode, Timestamp at, bool minimal = true) {
  Header h = client_request(4, Timestamp::from_raw(0x1122334455667788));
  h.mode = mode;
  if (!minimal) h.origin = Timestamp::from_raw(0x0102030405060708);
  const auto b = serialize_header(h);
  Received r;
  r.bytes.assign(b.begin(), b.end());
  r.local_time = at;
  r.source = "127.0.0.1:40000";
  return r;
}

Observation run(bool accepted, std::optional<double> offset = std::nullopt) {
  Observation o;
  o.received.push_back(request(Mode::Client, Timestamp::from_parts(0xEEC00000, 0)));
  o.received_total = 1;
  ClientRun c;
  c.started = true;
  c.exit_code = accepted ? 0 : 1;
  c.accepted = accepted;
  c.offset_s = offset;
  c.output = accepted ? "offset 0.000010\n" : "refused\n";
  o.client = c;
  return o;
}

JudgeContext context(double expected = 0) {
  JudgeContext j{Timestamp::from_parts(0xEEC00000, 0), 1'790'000'000};
  j.max_offset = Duration::from_nanoseconds(500'000'000);
  j.expected_offset = Duration::from_nanoseconds(static_cast<int64_t>(expected * 1e9));
  return j;
}

TEST(ClientScenarios, EveryScenarioIsARowOfTheReferenceServersMisbehaviours) {
  EXPECT_EQ(client_scenarios().size(), 22U);
  for (const auto& s : client_scenarios()) {
    ASSERT_NE(s.test, nullptr);
    Misbehaviour m;
    for (const auto& spec : s.misbehaviours) EXPECT_TRUE(add_misbehaviour(m, spec).ok()) << s.test->id << ": " << spec;
    EXPECT_EQ(s.misbehaviours.empty(), s.test->id == "client/good-reply") << s.test->id;
  }
}

TEST(ClientScenarios, AcceptingScenariosJudgeTheOffsetWithinTheTolerance) {
  const Case& hour = scenario("client/offset-hour");
  EXPECT_EQ(evaluate_client(hour, run(true, 3600.2), context(3600), false).outcome, Outcome::Pass);
  const auto wrong = evaluate_client(hour, run(true, -3600.0), context(3600), false);
  EXPECT_EQ(wrong.outcome, Outcome::Warn);
  EXPECT_NE(wrong.judgement.actual.find("offset -3600.000000 s"), std::string::npos) << wrong.judgement.actual;
  // Taken, but no offset read: nothing to check the hour against.
  EXPECT_EQ(evaluate_client(hour, run(true), context(3600), false).outcome, Outcome::Inconclusive);
  EXPECT_EQ(evaluate_client(scenario("client/good-reply"), run(true), context(), false).outcome, Outcome::Pass);
  EXPECT_EQ(evaluate_client(scenario("client/good-reply"), run(false), context(), false).outcome, Outcome::Fail);
}

TEST(ClientScenarios, RefusingScenariosFailATakenReplyAtTheirLevel) {
  EXPECT_EQ(evaluate_client(scenario("client/kiss-deny"), run(true, 0.0), context(), false).outcome, Outcome::Fail);
  EXPECT_EQ(evaluate_client(scenario("client/origin-zero"), run(true, 0.0), context(), false).outcome, Outcome::Warn);
  EXPECT_EQ(evaluate_client(scenario("client/origin-zero"), run(true, 0.0), context(), true).outcome, Outcome::Fail);
  EXPECT_EQ(evaluate_client(scenario("client/origin-zero"), run(false), context(), false).outcome, Outcome::Pass);
  EXPECT_EQ(evaluate_client(scenario("client/mode-5-reply"), run(true, 0.0), context(), false).outcome, Outcome::Info);
}

TEST(ClientScenarios, ACrashOnABadReplyIsNoRefusal) {
  Observation crashed = run(false);
  crashed.client->exit_code = -1;
  crashed.client->killed_by_signal = true;
  const auto r = evaluate_client(scenario("client/mode-3-reply"), crashed, context(), false);
  EXPECT_EQ(r.outcome, Outcome::Inconclusive);
  EXPECT_NE(r.judgement.summary.find("ended by a signal"), std::string::npos);
}

TEST(ClientScenarios, NoRequestOrNoStartConcludesNothing) {
  Observation silent = run(true);
  silent.received.clear();
  const auto r = evaluate_client(scenario("client/kiss-deny"), silent, context(), false);
  EXPECT_EQ(r.outcome, Outcome::Inconclusive);
  EXPECT_NE(r.judgement.summary.find("sent no request"), std::string::npos);
  Observation unstarted = run(false);
  unstarted.client->started = false;
  EXPECT_EQ(evaluate_client(scenario("client/good-reply"), unstarted, context(), false).outcome, Outcome::Inconclusive);
}

TEST(ClientScenarios, RequestsInAnotherModeOrWithTheClockInThemAreFound) {
  Observation o = run(true, 0.0);
  EXPECT_EQ(evaluate_client(request_case("client/request/mode"), o, context(), false).outcome, Outcome::Pass);
  o.received.push_back(request(Mode::SymmetricActive, Timestamp::from_parts(0xEEC00001, 0)));
  const auto r = evaluate_client(request_case("client/request/mode"), o, context(), false);
  EXPECT_EQ(r.outcome, Outcome::Fail);
  EXPECT_EQ(r.judgement.actual, "mode 1");
  Observation clocky = run(true, 0.0);
  clocky.received.front() = request(Mode::Client, Timestamp::from_parts(0xEEC00000, 0), false);
  EXPECT_EQ(evaluate_client(request_case("client/request/minimal"), clocky, context(), false).outcome, Outcome::Info);
}

// The kiss leaves 100 ms after the request it answers: what a client sent together has arrived by
// then; a request more than 10 ms after it was sent once the client had it.
TEST(ClientScenarios, StoppingAfterDenyCountsOnlyWhatCameAfterTheKiss) {
  const Case& stop = request_case("client/request/stop-after-deny");
  const Timestamp kiss = Timestamp::from_parts(0xEEC00000, 0x10000000);
  Observation o = run(false);
  o.sent.push_back({std::vector<uint8_t>(48, 0), kiss});
  for (int i = 0; i < 3; ++i) o.received.push_back(request(Mode::Client, Timestamp::from_parts(0xEEC00000, 10 + i)));
  EXPECT_EQ(evaluate_client(stop, o, context(), false).outcome, Outcome::Pass);  // a burst, before the kiss
  o.received.push_back(request(Mode::Client, kiss + Duration::from_nanoseconds(2'000'000)));  // on its way
  EXPECT_EQ(evaluate_client(stop, o, context(), false).outcome, Outcome::Pass);
  o.received.push_back(request(Mode::Client, kiss + Duration::from_seconds(2)));  // a retry later on
  const auto r = evaluate_client(stop, o, context(), false);
  EXPECT_EQ(r.outcome, Outcome::Fail);
  EXPECT_NE(r.judgement.actual.find("1 more request(s)"), std::string::npos) << r.judgement.actual;
}

// Requests at these seconds after a base time, as the scenario's server logged them.
Observation requests_at(std::initializer_list<double> seconds) {
  Observation o = run(false);
  o.received.clear();
  for (double s : seconds) {
    o.received.push_back(request(Mode::Client, Timestamp::from_parts(0xEEC00000, 0) +
                                                   Duration::from_nanoseconds(static_cast<int64_t>(s * 1e9))));
  }
  o.received_total = o.received.size();
  return o;
}

// RFC 4330 §10: retries to a silent server at growing intervals; none or one retry has nothing
// to compare; a steady pace (rdate's 0.6 s, chronyd -Q's iburst 2 s) or a flood does not back off.
TEST(ClientScenarios, RetriesToASilentServerMustBackOff) {
  const Case& backoff = request_case("client/request/retry-backoff");
  EXPECT_EQ(evaluate_client(backoff, requests_at({0}), context(), false).outcome, Outcome::Pass);
  EXPECT_EQ(evaluate_client(backoff, requests_at({0, 1}), context(), false).outcome, Outcome::Pass);
  EXPECT_EQ(evaluate_client(backoff, requests_at({0, 1, 3, 7}), context(), false).outcome, Outcome::Pass);
  const auto steady = evaluate_client(backoff, requests_at({0, 0.6, 1.2, 1.8}), context(), false);
  EXPECT_EQ(steady.outcome, Outcome::Warn);  // a SHOULD
  EXPECT_NE(steady.judgement.actual.find("0.600 s, 0.600 s, 0.600 s"), std::string::npos) << steady.judgement.actual;
  EXPECT_EQ(evaluate_client(backoff, requests_at({0, 0.6, 1.2, 1.8}), context(), true).outcome, Outcome::Fail);
  EXPECT_EQ(evaluate_client(backoff, requests_at({0, 0.0001, 0.0002, 0.0003}), context(), false).outcome,
            Outcome::Warn);
  // A little jitter on a steady pace is no back-off; growth past it is.
  EXPECT_EQ(evaluate_client(backoff, requests_at({0, 1, 2.004, 3.01}), context(), false).outcome, Outcome::Warn);
  EXPECT_EQ(evaluate_client(backoff, requests_at({0, 1, 2.2, 3.6}), context(), false).outcome, Outcome::Pass);
}

// RFC 5905 §7.4: every reply is RATE; from the request the first kiss answered, each interval
// longer than the one before; stopping is the longest.
TEST(ClientScenarios, RateMeansEachIntervalLongerThanTheLast) {
  const Case& rate = request_case("client/request/rate-backoff");
  const Timestamp base = Timestamp::from_parts(0xEEC00000, 0);
  const auto kissed_at = [&](Observation o, double s) {
    o.sent.push_back({std::vector<uint8_t>(48, 0), base + Duration::from_nanoseconds(static_cast<int64_t>(s * 1e9))});
    return o;
  };
  EXPECT_EQ(evaluate_client(rate, requests_at({0}), context(), false).outcome, Outcome::Inconclusive);  // no kiss
  EXPECT_EQ(evaluate_client(rate, kissed_at(requests_at({0}), 0.1), context(), false).outcome, Outcome::Pass);
  // A burst before the kiss, then two growing waits.
  EXPECT_EQ(evaluate_client(rate, kissed_at(requests_at({0, 0.01, 0.02, 2, 6}), 0.1), context(), false).outcome,
            Outcome::Pass);
  // Straight back at the same pace (the sloppy client), or the same fixed back-off each time.
  const auto same = evaluate_client(rate, kissed_at(requests_at({0, 0.1, 0.2, 0.3}), 0.1), context(), false);
  EXPECT_EQ(same.outcome, Outcome::Fail);
  EXPECT_NE(same.judgement.actual.find("0.100 s"), std::string::npos) << same.judgement.actual;
  EXPECT_EQ(evaluate_client(rate, kissed_at(requests_at({0, 4.4, 8.8, 13.2}), 0.1), context(), false).outcome,
            Outcome::Fail);
  // One retry that waits longer than the pace before the kiss, and no more: reduced once, never kissed again.
  EXPECT_EQ(evaluate_client(rate, kissed_at(requests_at({0, 1, 5}), 1.1), context(), false).outcome, Outcome::Pass);
}

TEST(ClientScenarios, ADaemonsSilenceInAScenarioIsExplained) {
  Observation o = run(false);
  o.received.clear();
  o.client->daemon = true;
  const auto r = evaluate_client(scenario("client/kiss-rstr"), o, context(), false);
  EXPECT_EQ(r.outcome, Outcome::Inconclusive);
  EXPECT_NE(r.judgement.summary.find("while this scenario was served"), std::string::npos) << r.judgement.summary;
}

}  // namespace
}  // namespace ntpkit::conformance
