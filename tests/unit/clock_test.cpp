// util/clock: the injected clocks. FixedClock holds still or steps exactly; SystemClock reads
// the real clock in NTP time.
#include "ntpkit/util/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace ntpkit {
namespace {

TEST(FixedClock, HoldsStillWithoutAStep) {
  const Timestamp t = Timestamp::from_parts(3'900'000'000U, 0x80000000U);
  FixedClock c(t);
  EXPECT_EQ(c.now(), t);
  EXPECT_EQ(c.now(), t);
}

TEST(FixedClock, EachReadAdvancesByTheStepAndSetMovesIt) {
  const Timestamp t = Timestamp::from_parts(100, 0);
  FixedClock c(t, Duration::from_nanoseconds(250'000'000));
  EXPECT_EQ(c.now(), t);
  EXPECT_EQ(c.now() - t, Duration::from_nanoseconds(250'000'000));
  EXPECT_EQ(c.now() - t, Duration::from_nanoseconds(500'000'000));
  const Timestamp u = Timestamp::from_parts(0xFFFFFFFFU, 0xFFFFFFFFU);  // the era's last instant
  c.set(u);
  EXPECT_EQ(c.now(), u);
  EXPECT_EQ(c.now(), Timestamp::from_raw(u.raw() + (uint64_t{1} << 30)));  // wraps into era 1
}

TEST(SystemClock, ReadsTheRealClockInNtpTime) {
  const int64_t pivot =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto before = std::chrono::system_clock::now();
  const Timestamp t = SystemClock().now();
  const auto after = std::chrono::system_clock::now();
  const int64_t ns = t.to_unix_nanoseconds(pivot);
  const auto as_ns = [](std::chrono::system_clock::time_point p) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(p.time_since_epoch()).count();
  };
  // Both read CLOCK_REALTIME: the NTP reading lies between the two others (NTP time has a
  // resolution of 2^-32 s, under a nanosecond).
  EXPECT_GE(ns, as_ns(before) - 1);
  EXPECT_LE(ns, as_ns(after) + 1);
}

}  // namespace
}  // namespace ntpkit
