// The one reply classification (time, unsynchronized, kiss-o'-death) and what evaluate() makes of
// a kiss-o'-death: outside the cases that judge kiss codes it leaves the case open.
#include <gtest/gtest.h>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::conformance {
namespace {

Header header(uint8_t stratum, Leap leap, ReferenceId refid) {
  Header h;
  h.mode = Mode::Server;
  h.stratum = stratum;
  h.leap = leap;
  h.reference_id = refid;
  h.transmit = Timestamp::from_parts(0xe6c69f5f, 1);
  h.receive = Timestamp::from_parts(0xe6c69f5f, 0);
  return h;
}

TEST(Classify, OneDefinitionOfAKissOfDeath) {
  EXPECT_EQ(classify(header(2, Leap::NoWarning, ReferenceId::from_ascii("LOCL"))), ReplyKind::Time);
  EXPECT_EQ(classify(header(16, Leap::Unsynchronized, {})), ReplyKind::Time);  // judged; unusable for query
  EXPECT_EQ(classify(header(0, Leap::Unsynchronized, ReferenceId::from_kiss(KissCode::INIT))),
            ReplyKind::Unsynchronized);
  EXPECT_EQ(classify(header(0, Leap::Unsynchronized, ReferenceId::from_kiss(KissCode::STEP))),
            ReplyKind::Unsynchronized);
  EXPECT_EQ(classify(header(0, Leap::Unsynchronized, {})), ReplyKind::Unsynchronized);  // chrony, openntpd unsynced
  // ntpd and ntpsec send RATE with LI 3; our server with LI 0: both are kiss-o'-death.
  EXPECT_EQ(classify(header(0, Leap::Unsynchronized, ReferenceId::from_kiss(KissCode::RATE))), ReplyKind::KissOfDeath);
  EXPECT_EQ(classify(header(0, Leap::NoWarning, ReferenceId::from_kiss(KissCode::RATE))), ReplyKind::KissOfDeath);
  EXPECT_EQ(classify(header(0, Leap::NoWarning, ReferenceId::from_kiss(KissCode::DENY))), ReplyKind::KissOfDeath);
  EXPECT_EQ(classify(header(0, Leap::NoWarning, ReferenceId::from_ascii("XFOO"))), ReplyKind::KissOfDeath);
  EXPECT_TRUE(is_rate_limit(header(0, Leap::NoWarning, ReferenceId::from_kiss(KissCode::RATE))));
  EXPECT_FALSE(is_rate_limit(header(0, Leap::NoWarning, ReferenceId::from_kiss(KissCode::DENY))));
  // Stratum 0, LI 0, no code: a broken header, judged as time (and by check_kiss_shape).
  EXPECT_EQ(classify(header(0, Leap::NoWarning, ReferenceId::from_ipv4({127, 0, 0, 1}))), ReplyKind::Time);
}

TEST(KissShape, StratumZeroNeedsAnAsciiCodeEvenUnderLi3) {
  EXPECT_FALSE(check_kiss_shape(header(0, Leap::Unsynchronized, ReferenceId::from_kiss(KissCode::INIT))));
  EXPECT_FALSE(check_kiss_shape(header(0, Leap::NoWarning, ReferenceId::from_ascii("XFOO"))));  // experimental
  EXPECT_FALSE(check_kiss_shape(header(3, Leap::NoWarning, {})));
  const auto zero = check_kiss_shape(header(0, Leap::Unsynchronized, {}));
  ASSERT_TRUE(zero);
  EXPECT_NE(zero->actual.find("stratum 0 (LI 3) with reference ID 0x00000000, no kiss code"), std::string::npos)
      << zero->actual;
  EXPECT_TRUE(check_kiss_shape(header(0, Leap::NoWarning, ReferenceId::from_ipv4({127, 0, 0, 1}))));
  EXPECT_TRUE(check_kiss_shape(header(0, Leap::NoWarning, ReferenceId::from_ascii("ABCD"))));  // not registered, not X
}

const Case& find_case(std::string_view id) {
  for (const Case* c : find_suite("all")->cases) {
    if (c->id == id) return *c;
  }
  ADD_FAILURE() << "no case " << id;
  return *find_suite("all")->cases.front();
}

// A request and its answer as the runner would record them.
Observation exchange(const Header& reply_header) {
  Header rq;
  rq.mode = Mode::Client;
  rq.version = 4;
  rq.transmit = Timestamp::from_parts(0xe6c69f5f, 0x1234);
  Header rp = reply_header;
  rp.origin = rq.transmit;
  // A RATE kiss-o'-death from ntpd copies the request's transmit into every timestamp.
  const auto rq_bytes = serialize_header(rq);
  const auto rp_bytes = serialize_header(rp);
  Observation o;
  o.sent.push_back({{rq_bytes.begin(), rq_bytes.end()}, rq.transmit});
  o.received.push_back({{rp_bytes.begin(), rp_bytes.end()}, rq.transmit, true, "127.0.0.1:123"});
  return o;
}

JudgeContext context() {
  return {Timestamp::from_parts(0xe6c69f5f, 0), 1'700'000'000};
}

TEST(Evaluate, ARateKissOfDeathIsNotJudgedAsTime) {
  Header kod = header(0, Leap::Unsynchronized, ReferenceId::from_kiss(KissCode::RATE));
  kod.transmit = Timestamp::from_parts(0x10000000, 0);  // decades away: judged as time it would warn
  kod.receive = Timestamp::from_parts(0x20000000, 0);   // and fail receive-before-transmit
  for (const char* id : {"rfc5905/8/offset", "rfc5905/8/receive-before-transmit", "rfc4330/6/originate-copy",
                         "rfc5905/8/no-amplification"}) {
    const CaseResult r = evaluate(find_case(id), exchange(kod), context(), false);
    EXPECT_EQ(r.outcome, Outcome::Inconclusive) << id << ": " << r.judgement.summary;
    EXPECT_EQ(r.limit, Limit::RateKiss) << id;
    EXPECT_NE(r.judgement.summary.find("rate limited"), std::string::npos) << r.judgement.summary;
  }
  // The same timestamps in a time reply fail: the test above is not vacuous.
  Header bad = kod;
  bad.stratum = 2;
  bad.reference_id = ReferenceId::from_ascii("LOCL");
  bad.leap = Leap::NoWarning;
  EXPECT_EQ(evaluate(find_case("rfc5905/8/receive-before-transmit"), exchange(bad), context(), false).outcome,
            Outcome::Fail);
}

TEST(Evaluate, OtherKissCodesAreNamedNotJudged) {
  const Header deny = header(0, Leap::NoWarning, ReferenceId::from_kiss(KissCode::DENY));
  const CaseResult r = evaluate(find_case("rfc5905/8/origin-copy"), exchange(deny), context(), false);
  EXPECT_EQ(r.outcome, Outcome::Inconclusive);
  EXPECT_EQ(r.limit, Limit::Denied);
  EXPECT_NE(r.judgement.summary.find("'DENY'"), std::string::npos) << r.judgement.summary;
}

TEST(Evaluate, TheKissCasesJudgeKissOfDeathThemselves) {
  const Header rate = header(0, Leap::Unsynchronized, ReferenceId::from_kiss(KissCode::RATE));
  const CaseResult r = evaluate(find_case("rfc5905/7.4/kiss-code"), exchange(rate), context(), false);
  EXPECT_EQ(r.outcome, Outcome::Pass) << r.judgement.summary;
  EXPECT_EQ(r.limit, Limit::None);
}

TEST(Evaluate, AnUnsynchronizedServerWithoutAKissCodeWarns) {
  const CaseResult r =
      evaluate(find_case("rfc5905/7.4/kiss-code"), exchange(header(0, Leap::Unsynchronized, {})), context(), false);
  EXPECT_EQ(r.outcome, Outcome::Warn) << r.judgement.summary;
  // RFC 4330 asks nothing of the reference ID here.
  const CaseResult r4330 =
      evaluate(find_case("rfc4330/6/unsynchronized"), exchange(header(0, Leap::Unsynchronized, {})), context(), false);
  EXPECT_EQ(r4330.outcome, Outcome::Pass) << r4330.judgement.summary;
}

TEST(Evaluate, AmplificationIsJudgedOnTheWireLengthOfAKeptPrefix) {
  Observation o = exchange(header(2, Leap::NoWarning, ReferenceId::from_ascii("LOCL")));
  o.received.front().length = 65507;  // the runner kept only the first bytes
  const CaseResult r = evaluate(find_case("rfc5905/8/origin-copy"), o, context(), false);
  EXPECT_EQ(r.outcome, Outcome::Fail);
  EXPECT_TRUE(r.amplified);
  EXPECT_NE(r.judgement.actual.find("65507 bytes"), std::string::npos) << r.judgement.actual;
}

}  // namespace
}  // namespace ntpkit::conformance
