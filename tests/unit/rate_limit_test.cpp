// The leaky-bucket rate limiter: burst, one KoD per interval, debt repaid by elapsed time, and
// per-address state. Time is passed in, so every instant below is exact.
#include "ntpkit/server/rate_limit.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace ntpkit {
namespace {

constexpr uint32_t kBurst = 8;
const Duration kInterval = Duration::from_seconds(2);
const Timestamp kT0 = Timestamp::from_parts(3'900'000'000U, 0);

RateLimitConfig config(size_t slots = size_t{1} << 16) {
  RateLimitConfig c;
  c.interval = kInterval;
  c.burst = kBurst;
  c.slots = slots;
  return c;
}

const std::array<uint8_t, 4> kAddrA = {192, 0, 2, 1};
const std::array<uint8_t, 4> kAddrB = {192, 0, 2, 2};

// Spends the whole burst at `now`; every request must be allowed.
void exhaust(RateLimiter& rl, std::span<const uint8_t> addr, Timestamp now) {
  for (uint32_t i = 0; i < kBurst; ++i) ASSERT_EQ(rl.check(addr, now), RateVerdict::Allow) << "request " << i;
}

TEST(RateLimiter, BurstIsAllowedThenOneKissOfDeathThenDrops) {
  RateLimiter rl(config());
  exhaust(rl, kAddrA, kT0);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::Drop);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::Drop);
  EXPECT_EQ(rl.check(kAddrA, kT0 + Duration::from_seconds(1)), RateVerdict::Drop);
}

TEST(RateLimiter, BurstOfOneAllowsASingleRequest) {
  RateLimitConfig c = config();
  c.burst = 1;
  RateLimiter rl(c);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::Allow);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
}

TEST(RateLimiter, OneIntervalRepaysOneRequest) {
  RateLimiter rl(config());
  exhaust(rl, kAddrA, kT0);
  ASSERT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
  // One 2^-32 s short of an interval: still over the limit, and too early for another KoD.
  EXPECT_EQ(rl.check(kAddrA, kT0 + kInterval - Duration::from_raw(1)), RateVerdict::Drop);
  // A full interval after the burst: exactly one request's debt is repaid.
  EXPECT_EQ(rl.check(kAddrA, kT0 + kInterval), RateVerdict::Allow);
}

TEST(RateLimiter, SecondKissOfDeathOnlyAfterAnInterval) {
  RateLimiter rl(config());
  exhaust(rl, kAddrA, kT0);
  ASSERT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
  const Timestamp t1 = kT0 + kInterval;
  ASSERT_EQ(rl.check(kAddrA, t1), RateVerdict::Allow);  // the interval repaid one request
  EXPECT_EQ(rl.check(kAddrA, t1), RateVerdict::KissOfDeath);
  EXPECT_EQ(rl.check(kAddrA, t1), RateVerdict::Drop);
}

TEST(RateLimiter, DebtRepaidOverTimeAllowsAFullBurstAgain) {
  RateLimiter rl(config());
  exhaust(rl, kAddrA, kT0);
  ASSERT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
  // burst * interval of silence pays the whole debt back.
  const Timestamp later = kT0 + Duration::from_seconds(2 * kBurst);
  exhaust(rl, kAddrA, later);
  EXPECT_EQ(rl.check(kAddrA, later), RateVerdict::KissOfDeath);
}

TEST(RateLimiter, ClientKeepingTheAverageRateIsNeverLimited) {
  RateLimiter rl(config());
  Timestamp t = kT0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(rl.check(kAddrA, t), RateVerdict::Allow) << "request " << i;
    t = t + kInterval;
  }
}

TEST(RateLimiter, ClientSlightlyFasterThanTheAverageIsLimitedAfterItsBurst) {
  RateLimiter rl(config());
  const Duration step = kInterval - Duration::from_nanoseconds(250'000'000);
  Timestamp t = kT0;
  int allowed = 0;
  for (int i = 0; i < 100 && rl.check(kAddrA, t) == RateVerdict::Allow; ++i, t = t + step) ++allowed;
  // The first request leaves 14 s of headroom; each later one adds 0.25 s of debt net, so 56 more
  // fit: request k (from 1) sees 0.25 * (k - 1) s of debt, allowed while that is at most 14 s.
  EXPECT_EQ(allowed, 57);
}

TEST(RateLimiter, TimeGoingBackwardsRepaysNothing) {
  RateLimiter rl(config());
  exhaust(rl, kAddrA, kT0);
  EXPECT_EQ(rl.check(kAddrA, kT0 - Duration::from_seconds(100)), RateVerdict::KissOfDeath);
}

TEST(RateLimiter, DifferentAddressesAreIndependent) {
  RateLimiter rl(config());
  exhaust(rl, kAddrA, kT0);
  ASSERT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
  exhaust(rl, kAddrB, kT0);
  EXPECT_EQ(rl.check(kAddrB, kT0), RateVerdict::KissOfDeath);
  // B's requests did not reset A's state.
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::Drop);
}

TEST(RateLimiter, SameBytesAsIpv4AndIpv6AreDifferentClients) {
  const std::array<uint8_t, 4> v4 = {10, 0, 0, 1};
  const std::array<uint8_t, 16> v6 = {10, 0, 0, 1};  // same leading bytes, then zeros
  for (size_t slots : {size_t{1}, size_t{1} << 16}) {
    SCOPED_TRACE(slots);
    RateLimiter rl(config(slots));
    exhaust(rl, v4, kT0);
    ASSERT_EQ(rl.check(v4, kT0), RateVerdict::KissOfDeath);
    EXPECT_EQ(rl.check(v6, kT0), RateVerdict::Allow);
  }
}

TEST(RateLimiter, AddressesLongerThan16BytesAreTruncated) {
  RateLimiter rl(config());
  std::vector<uint8_t> v6(16, 0x20);
  std::vector<uint8_t> longer = v6;
  longer.push_back(0x99);
  exhaust(rl, v6, kT0);
  EXPECT_EQ(rl.check(longer, kT0), RateVerdict::KissOfDeath);
}

TEST(RateLimiter, CollidingSlotStartsAfresh) {
  // With a single slot every address collides; the documented behaviour is a reset.
  RateLimiter rl(config(1));
  exhaust(rl, kAddrA, kT0);
  ASSERT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
  EXPECT_EQ(rl.check(kAddrB, kT0), RateVerdict::Allow);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::Allow);
}

TEST(RateLimiter, ZeroSlotsIsTreatedAsOne) {
  RateLimiter rl(config(0));
  exhaust(rl, kAddrA, kT0);
  EXPECT_EQ(rl.check(kAddrA, kT0), RateVerdict::KissOfDeath);
}

TEST(RateLimiter, WorksAcrossTheEraRollover) {
  RateLimiter rl(config());
  const Timestamp before = Timestamp::from_parts(0xffffffffU, 0);
  exhaust(rl, kAddrA, before);
  ASSERT_EQ(rl.check(kAddrA, before), RateVerdict::KissOfDeath);
  // 2 s later the seconds field has wrapped to 1; one request's debt is repaid.
  const Timestamp after = Timestamp::from_parts(1, 0);
  EXPECT_EQ(rl.check(kAddrA, after), RateVerdict::Allow);
  EXPECT_EQ(rl.check(kAddrA, after), RateVerdict::KissOfDeath);
}

}  // namespace
}  // namespace ntpkit
