// The client's side of an exchange: offset and delay from T1..T4 (RFC 5905 §8), root distance,
// and assess_reply's verdict on crafted replies.
#include "ntpkit/conformance/exchange.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "ntpkit/wire/serialize.hpp"

namespace ntpkit {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int64_t kSecond = int64_t{1} << 32;

// A timestamp of `s` seconds and `frac` 2^-32 s units; the fractions below are exact binary.
Timestamp at(uint32_t s, uint32_t frac = 0) {
  return Timestamp::from_parts(s, frac);
}
constexpr uint32_t kQuarter = 0x40000000U;
constexpr uint32_t kHalf = 0x80000000U;
constexpr uint32_t kEighth = 0x20000000U;

// --- compute_sample ------------------------------------------------------------------------------

TEST(ComputeSample, PositiveOffsetFromHandComputedTimestamps) {
  // T1 1000, T2 1010.25, T3 1010.5, T4 1001:
  // offset = (10.25 + 9.5) / 2 = 9.875 s, delay = 1 - 0.25 = 0.75 s.
  const Sample s = compute_sample(at(1000), at(1010, kQuarter), at(1010, kHalf), at(1001));
  EXPECT_EQ(s.offset.raw(), 9 * kSecond + 7 * (kSecond / 8));
  EXPECT_EQ(s.delay.raw(), 3 * (kSecond / 4));
}

TEST(ComputeSample, NegativeOffsetWhenTheServerIsBehind) {
  // T1 1000, T2 995, T3 995.125, T4 1000.25:
  // offset = (-5 + -5.125) / 2 = -5.0625 s, delay = 0.25 - 0.125 = 0.125 s.
  const Sample s = compute_sample(at(1000), at(995), at(995, kEighth), at(1000, kQuarter));
  EXPECT_EQ(s.offset.raw(), -(5 * kSecond + kSecond / 16));
  EXPECT_EQ(s.delay.raw(), kSecond / 8);
}

TEST(ComputeSample, SymmetricPathWithSynchronisedClocksHasZeroOffset) {
  const Sample s = compute_sample(at(2000), at(2000, kQuarter), at(2000, kHalf), at(2000, kHalf + kQuarter));
  EXPECT_EQ(s.offset.raw(), 0);
  EXPECT_EQ(s.delay.raw(), kSecond / 2);
}

TEST(ComputeSample, OddSumHalvesTowardMinusInfinity) {
  const Timestamp t = at(5000, 12345);
  // (T2 - T1) + (T3 - T4) = 0 + (-1) = -1 unit: offset -1 unit (not 0), delay 1 unit.
  const Sample s = compute_sample(t, t, t, t + Duration::from_raw(1));
  EXPECT_EQ(s.offset.raw(), -1);
  EXPECT_EQ(s.delay.raw(), 1);
  // +1 unit halves to 0.
  const Sample p = compute_sample(t, t + Duration::from_raw(1), t + Duration::from_raw(1), t + Duration::from_raw(1));
  EXPECT_EQ(p.offset.raw(), 0);
  EXPECT_EQ(p.delay.raw(), 1);
}

TEST(ComputeSample, AcrossTheEra1Rollover) {
  // T1 1 s before the rollover, T2 1.25 s after T1, T3 1.5 s, T4 2 s (seconds field wrapped).
  const Sample s = compute_sample(at(0xffffffffU), at(0, kQuarter), at(0, kHalf), at(1));
  // offset = (1.25 + (-0.5)) / 2 = 0.375 s, delay = 2 - 0.25 = 1.75 s.
  EXPECT_EQ(s.offset.raw(), 3 * (kSecond / 8));
  EXPECT_EQ(s.delay.raw(), kSecond + 3 * (kSecond / 4));
  // Identical to the same exchange well inside era 0.
  const Sample ref = compute_sample(at(1000), at(1001, kQuarter), at(1001, kHalf), at(1002));
  EXPECT_EQ(s.offset, ref.offset);
  EXPECT_EQ(s.delay, ref.delay);
}

TEST(ComputeSample, ServerInEra1ClientInEra0) {
  // The client's clock is 10 s behind: it stamps 0xfffffff6 (era 0) while the server is at 0.
  const Sample s = compute_sample(at(0xfffffff6U), at(0), at(0, kHalf), at(0xfffffff6U, kHalf + kQuarter));
  // offset = (10 + (10 - 0.25)) / 2 = 9.875 s, delay = 0.75 - 0.5 = 0.25 s.
  EXPECT_EQ(s.offset.raw(), 9 * kSecond + 7 * (kSecond / 8));
  EXPECT_EQ(s.delay.raw(), kSecond / 4);
}

// --- root_distance ---------------------------------------------------------------------------

TEST(RootDistance, IsHalfTheRootDelayPlusRootDispersion) {
  Header h;
  h.root_delay = ShortTime::from_raw(0x00010000U);       // 1 s
  h.root_dispersion = ShortTime::from_raw(0x00008000U);  // 0.5 s
  EXPECT_EQ(root_distance(h), Duration::from_seconds(1));

  h.root_delay = ShortTime::from_raw(1);  // 2^-16 s: half of it is 2^-17 s, kept exactly
  h.root_dispersion = ShortTime::from_raw(0);
  EXPECT_EQ(root_distance(h).raw(), int64_t{1} << 15);

  h.root_delay = ShortTime::from_raw(0);
  h.root_dispersion = ShortTime::from_raw(0);
  EXPECT_EQ(root_distance(h), Duration{});

  h.root_delay = ShortTime::from_raw(0xffffffffU);
  h.root_dispersion = ShortTime::from_raw(0xffffffffU);
  EXPECT_EQ(root_distance(h).raw(), (int64_t{0xffffffff} << 15) + (int64_t{0xffffffff} << 16));
}

// --- assess_reply ----------------------------------------------------------------------------

Header request() {
  Header h;
  h.version = 4;
  h.mode = Mode::Client;
  h.transmit = Timestamp::from_raw(0xe6f1a2b312345678ULL);
  return h;
}

Header good_reply() {
  const Header req = request();
  Header h;
  h.leap = Leap::NoWarning;
  h.version = 4;
  h.mode = Mode::Server;
  h.stratum = 2;
  h.poll = 6;
  h.precision = -20;
  h.reference_id = ReferenceId::from_ipv4({192, 0, 2, 1});
  h.reference = req.transmit - Duration::from_seconds(30);
  h.origin = req.transmit;
  h.receive = req.transmit + Duration::from_nanoseconds(1'000'000);
  h.transmit = h.receive + Duration::from_raw(100);
  return h;
}

Bytes wire(const Header& h) {
  const auto a = serialize_header(h);
  return {a.begin(), a.end()};
}

std::vector<ReplyProblem> problems_of(const Header& reply) {
  return assess_reply(request(), wire(reply)).problems;
}

using Problems = std::vector<ReplyProblem>;

TEST(AssessReply, GoodReplyHasNoProblems) {
  const Bytes bytes = wire(good_reply());
  const ReplyAssessment a = assess_reply(request(), bytes);
  EXPECT_TRUE(a.problems.empty());
  EXPECT_TRUE(a.usable());
  EXPECT_FALSE(a.parse_error.has_value());
  ASSERT_TRUE(a.packet.has_value());
  EXPECT_EQ(a.packet->header, good_reply());
  EXPECT_EQ(a.packet->bytes.data(), bytes.data());
}

TEST(AssessReply, ReplyWithMacIsStillGood) {
  Packet p;
  p.header = good_reply();
  p.mac = Mac{1, Bytes(16, 0xab)};
  const Bytes bytes = serialize(p);
  const ReplyAssessment a = assess_reply(request(), bytes, bytes.size());  // to a request as long, with its MAC
  EXPECT_TRUE(a.problems.empty());
  ASSERT_TRUE(a.packet.has_value());
  EXPECT_TRUE(a.packet->mac.has_value());
}

TEST(AssessReply, WrongModeIsNotServerMode) {
  for (Mode m : {Mode::Client, Mode::Broadcast, Mode::SymmetricPassive, Mode::Reserved}) {
    SCOPED_TRACE(std::string(to_string(m)));
    Header h = good_reply();
    h.mode = m;
    EXPECT_EQ(problems_of(h), Problems{ReplyProblem::NotServerMode});
  }
}

TEST(AssessReply, OriginOffByTheLowestBitIsAMismatch) {
  Header h = good_reply();
  h.origin = Timestamp::from_raw(request().transmit.raw() ^ 1);
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::OriginMismatch});
  h.origin = Timestamp{};
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::OriginMismatch});
}

TEST(AssessReply, ZeroTransmit) {
  Header h = good_reply();
  h.transmit = Timestamp{};
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::ZeroTransmit});
}

TEST(AssessReply, ZeroReceive) {
  Header h = good_reply();
  h.receive = Timestamp{};
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::ZeroReceive});
}

TEST(AssessReply, StratumZeroIsAKissOfDeath) {
  Header h = good_reply();
  h.stratum = 0;
  h.reference_id = ReferenceId::from_kiss(KissCode::RATE);
  const ReplyAssessment a = assess_reply(request(), wire(h));
  EXPECT_EQ(a.problems, Problems{ReplyProblem::KissOfDeath});
  EXPECT_FALSE(a.usable());
  ASSERT_TRUE(a.packet.has_value());
  EXPECT_EQ(a.packet->header.reference_id.kiss_code(), KissCode::RATE);
}

TEST(AssessReply, StratumBoundaries) {
  Header h = good_reply();
  h.stratum = 1;
  EXPECT_TRUE(problems_of(h).empty());
  h.stratum = 15;
  EXPECT_TRUE(problems_of(h).empty());
  h.stratum = 16;
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::Unsynchronized});
  h.stratum = 17;
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::StratumInvalid});
  h.stratum = 255;
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::StratumInvalid});
}

TEST(AssessReply, LeapIndicator3IsUnsynchronized) {
  Header h = good_reply();
  h.leap = Leap::Unsynchronized;
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::Unsynchronized});
  h.leap = Leap::AddSecond;
  EXPECT_TRUE(problems_of(h).empty());
  h.leap = Leap::DeleteSecond;
  EXPECT_TRUE(problems_of(h).empty());
}

TEST(AssessReply, ReceiveAfterTransmit) {
  Header h = good_reply();
  h.receive = h.transmit + Duration::from_raw(1);
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::ReceiveAfterTransmit});
  h.receive = h.transmit;  // equal is allowed
  EXPECT_TRUE(problems_of(h).empty());
}

TEST(AssessReply, ReceiveBeforeTransmitAcrossTheRolloverIsFine) {
  Header h = good_reply();
  h.receive = Timestamp::from_parts(0xffffffffU, kHalf);
  h.transmit = Timestamp::from_parts(0, kHalf);
  EXPECT_TRUE(problems_of(h).empty());
  std::swap(h.receive, h.transmit);
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::ReceiveAfterTransmit});
}

TEST(AssessReply, VersionMismatchIsAWarningNotFatal) {
  Header h = good_reply();
  h.version = 3;
  const ReplyAssessment a = assess_reply(request(), wire(h));
  EXPECT_EQ(a.problems, Problems{ReplyProblem::VersionMismatch});
  EXPECT_TRUE(a.usable());
}

TEST(AssessReply, SeveralProblemsAreAllReported) {
  Header h = good_reply();
  h.mode = Mode::Client;
  h.stratum = 0;
  h.transmit = Timestamp{};
  h.version = 2;
  const ReplyAssessment a = assess_reply(request(), wire(h));
  // Stratum 0 with an address for a reference ID and LI 0: no kiss code, not unsynchronized.
  EXPECT_EQ(a.problems, (Problems{ReplyProblem::NotServerMode, ReplyProblem::ZeroTransmit,
                                  ReplyProblem::VersionMismatch, ReplyProblem::StratumZero}));
  EXPECT_FALSE(a.usable());
}

TEST(AssessReply, MalformedBytesGiveMalformedWithTheParseError) {
  const Bytes good = wire(good_reply());

  const Bytes short_bytes(good.begin(), good.begin() + 47);
  const ReplyAssessment a = assess_reply(request(), short_bytes);
  EXPECT_EQ(a.problems, Problems{ReplyProblem::Malformed});
  ASSERT_TRUE(a.parse_error.has_value());
  EXPECT_EQ(*a.parse_error, (ParseError{ParseErrorCode::TooShort, 47}));
  EXPECT_FALSE(a.packet.has_value());
  EXPECT_FALSE(a.usable());

  Bytes bad_ef = good;
  bad_ef.insert(bad_ef.end(), {0x01, 0x04, 0x00, 0x0f});
  bad_ef.resize(bad_ef.size() + 12, 0);
  const ReplyAssessment b = assess_reply(request(), bad_ef);
  EXPECT_EQ(b.problems, Problems{ReplyProblem::Malformed});
  ASSERT_TRUE(b.parse_error.has_value());
  EXPECT_EQ(*b.parse_error, (ParseError{ParseErrorCode::ExtensionTooShort, 50}));

  const ReplyAssessment c = assess_reply(request(), Bytes{});
  EXPECT_EQ(c.problems, Problems{ReplyProblem::Malformed});
  EXPECT_EQ(*c.parse_error, (ParseError{ParseErrorCode::TooShort, 0}));
}

TEST(ReplyProblem, OnlyTheWarningsAreNotFatalAndEveryProblemHasText) {
  const ReplyProblem all[] = {
      ReplyProblem::Malformed,       ReplyProblem::NotServerMode,  ReplyProblem::OriginMismatch,
      ReplyProblem::ZeroTransmit,    ReplyProblem::ZeroReceive,    ReplyProblem::KissOfDeath,
      ReplyProblem::StratumInvalid,  ReplyProblem::Unsynchronized, ReplyProblem::ReceiveAfterTransmit,
      ReplyProblem::VersionMismatch, ReplyProblem::StratumZero,    ReplyProblem::VersionUnknown,
      ReplyProblem::Amplified,       ReplyProblem::NoReference,    ReplyProblem::Duplicated};
  std::set<std::string> texts;
  for (ReplyProblem p : all) {
    const bool warning =
        p == ReplyProblem::VersionMismatch || p == ReplyProblem::NoReference || p == ReplyProblem::Duplicated;
    EXPECT_EQ(is_fatal(p), !warning) << to_string(p);
    ReplyProblems set;
    set.add(p);
    EXPECT_EQ(set.usable(), warning) << to_string(p);
    EXPECT_FALSE(to_string(p).empty());
    EXPECT_NE(to_string(p), "?");
    texts.insert(std::string(to_string(p)));
  }
  EXPECT_EQ(texts.size(), std::size(all));
}

// One definition of a kiss-o'-death: an unsynchronized server's INIT is not one.
TEST(AssessReply, UnsynchronizedInitIsNotAKissOfDeath) {
  Header h = good_reply();
  h.stratum = 0;
  h.leap = Leap::Unsynchronized;
  h.reference_id = ReferenceId::from_kiss(KissCode::INIT);
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::Unsynchronized});
  h.reference_id = {};  // chrony and openntpd: refid 0
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::Unsynchronized});
}

// What bench used to count as valid: zero timestamps, stratum 200, VN 7, a reply longer than the
// request. The one judge calls each unusable.
TEST(AssessReply, WhatALoadGeneratorMustNotCountAsValid) {
  const Header sent = request();
  Header h = good_reply();
  h.receive = h.transmit = Timestamp{};
  EXPECT_FALSE(judge_reply(sent, kHeaderLength, wire(h)).usable());
  h = good_reply();
  h.stratum = 200;
  EXPECT_FALSE(judge_reply(sent, kHeaderLength, wire(h)).usable());
  h = good_reply();
  h.version = 7;
  EXPECT_TRUE(judge_reply(sent, kHeaderLength, wire(h)).has(ReplyProblem::VersionUnknown));
  EXPECT_FALSE(judge_reply(sent, kHeaderLength, wire(h)).usable());
  Bytes big = wire(good_reply());
  big.resize(1000, 0);  // not a valid packet either, but amplification is named when it parses:
  Packet p;
  p.header = good_reply();
  p.mac = Mac{1, Bytes(16, 0xab)};
  EXPECT_TRUE(judge_reply(sent, kHeaderLength, serialize(p)).has(ReplyProblem::Amplified));
  EXPECT_FALSE(judge_reply(sent, kHeaderLength, big).usable());
  EXPECT_TRUE(judge_reply(sent, kHeaderLength, wire(good_reply())).usable());
  EXPECT_TRUE(judge_reply(sent, kHeaderLength, wire(good_reply())).empty());
}

TEST(AssessReply, AZeroReferenceTimeWithoutLi3IsAWarning) {
  Header h = good_reply();
  h.reference = Timestamp{};
  const ReplyAssessment a = assess_reply(request(), wire(h));
  EXPECT_EQ(a.problems, Problems{ReplyProblem::NoReference});
  EXPECT_TRUE(a.usable());
  h.leap = Leap::Unsynchronized;
  EXPECT_EQ(problems_of(h), Problems{ReplyProblem::Unsynchronized});
}

TEST(ComputeSample, OffsetsBeyond34YearsKeepTheirSign) {
  // Each difference is within ±68 years, but their sum is not: the midpoint must not wrap.
  const Timestamp t1 = Timestamp::from_parts(0xE6C69F5F, 0);
  const Duration off = -Duration::from_seconds(int64_t{1} << 30) - Duration::from_seconds(1);  // about -34 years
  const Sample s = compute_sample(t1, t1 + off, t1 + off, t1);
  EXPECT_EQ(s.offset, off);
  EXPECT_EQ(s.delay.raw(), 0);
  EXPECT_EQ(Duration::midpoint(Duration::from_raw(3), Duration::from_raw(4)).raw(), 3);
  EXPECT_EQ(Duration::midpoint(Duration::from_raw(-3), Duration::from_raw(-4)).raw(), -4);
}

}  // namespace
}  // namespace ntpkit
