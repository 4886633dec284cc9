// Time types: exact nanosecond conversions, era handling around the 2036 rollover, the short
// format, and the display helpers.
#include "ntpkit/wire/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <random>

namespace ntpkit {
namespace {

constexpr int64_t kNs = 1'000'000'000;
constexpr int64_t kTwo31 = int64_t{1} << 31;
// Unix second at which NTP era 1 starts: 2036-02-07T06:28:16Z.
constexpr int64_t kEra1StartUnix = (int64_t{1} << 32) - kUnixEpochInNtpSeconds;
static_assert(kEra1StartUnix == 2'085'978'496);

// Seed for the randomized loops: random per run, replayable with NTPKIT_TEST_SEED=<seed>.
uint64_t test_seed() {
  if (const char* env = std::getenv("NTPKIT_TEST_SEED")) return std::strtoull(env, nullptr, 0);
  std::random_device rd;
  return (uint64_t{rd()} << 32) | rd();
}

uint64_t announce_seed() {
  const uint64_t seed = test_seed();
  std::cout << "[ seed     ] NTPKIT_TEST_SEED=" << seed << '\n';
  return seed;
}

// --- Duration ------------------------------------------------------------------------------

TEST(Duration, NanosecondEdgeValuesRoundTripExactly) {
  const int64_t values[] = {0,
                            1,
                            -1,
                            999'999'999,
                            -999'999'999,
                            kNs,
                            -kNs,
                            kNs + 1,
                            -kNs - 1,
                            1'000'000'000'000'000'000,
                            -1'000'000'000'000'000'000,
                            kTwo31 * kNs - 1,  // the largest representable second, last nanosecond
                            -kTwo31 * kNs};    // the most negative representable instant
  for (int64_t ns : values) {
    SCOPED_TRACE(ns);
    EXPECT_EQ(Duration::from_nanoseconds(ns).to_nanoseconds(), ns);
  }
}

TEST(Duration, RandomNanosecondsRoundTripExactly) {
  const uint64_t seed = announce_seed();
  SCOPED_TRACE("NTPKIT_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> wide(-kTwo31 * kNs, kTwo31 * kNs - 1);
  std::uniform_int_distribution<int64_t> narrow(-3 * kNs, 3 * kNs);
  for (int i = 0; i < 200'000; ++i) {
    const int64_t ns = (i % 2 == 0) ? wide(rng) : narrow(rng);
    ASSERT_EQ(Duration::from_nanoseconds(ns).to_nanoseconds(), ns) << "ns=" << ns;
  }
}

TEST(Duration, WholeSecondsAreExactInRawUnits) {
  EXPECT_EQ(Duration::from_nanoseconds(kNs).raw(), int64_t{1} << 32);
  EXPECT_EQ(Duration::from_nanoseconds(-kNs).raw(), -(int64_t{1} << 32));
  EXPECT_EQ(Duration::from_nanoseconds(kNs / 2).raw(), int64_t{1} << 31);
  EXPECT_EQ(Duration::from_nanoseconds(-kNs / 4).raw(), -(int64_t{1} << 30));
  EXPECT_EQ(Duration::from_seconds(-3).raw(), -3 * (int64_t{1} << 32));
  EXPECT_EQ(Duration::from_nanoseconds(0).raw(), 0);
}

TEST(Duration, FromChronoConvertsEveryPeriod) {
  EXPECT_EQ(Duration::from_chrono(std::chrono::milliseconds(1500)), Duration::from_nanoseconds(1'500'000'000));
  EXPECT_EQ(Duration::from_chrono(std::chrono::seconds(-2)), Duration::from_seconds(-2));
  EXPECT_EQ(Duration::from_chrono(std::chrono::microseconds(-1)).to_nanoseconds(), -1000);
  EXPECT_EQ(Duration::from_chrono(std::chrono::nanoseconds(7)).to_nanoseconds(), 7);
}

TEST(Duration, HalfRoundsTowardMinusInfinity) {
  EXPECT_EQ(Duration::from_raw(4).half().raw(), 2);
  EXPECT_EQ(Duration::from_raw(3).half().raw(), 1);
  EXPECT_EQ(Duration::from_raw(1).half().raw(), 0);
  EXPECT_EQ(Duration::from_raw(0).half().raw(), 0);
  EXPECT_EQ(Duration::from_raw(-1).half().raw(), -1);
  EXPECT_EQ(Duration::from_raw(-3).half().raw(), -2);
  EXPECT_EQ(Duration::from_raw(-4).half().raw(), -2);
  EXPECT_EQ(Duration::from_seconds(3).half(), Duration::from_nanoseconds(1'500'000'000));
}

TEST(Duration, ArithmeticAndAbs) {
  const Duration a = Duration::from_seconds(5);
  const Duration b = Duration::from_nanoseconds(250'000'000);
  EXPECT_EQ((a + b).to_nanoseconds(), 5'250'000'000);
  EXPECT_EQ((b - a).to_nanoseconds(), -4'750'000'000);
  EXPECT_EQ((-a).to_nanoseconds(), -5'000'000'000);
  EXPECT_EQ((b - a).abs().to_nanoseconds(), 4'750'000'000);
  EXPECT_EQ(a.abs(), a);
  EXPECT_LT(b - a, Duration{});
  EXPECT_GT(a, b);
}

// --- Timestamp: Unix conversions and eras ----------------------------------------------------

TEST(Timestamp, UnixEpochIsNtpSecond2208988800) {
  const Timestamp t = Timestamp::from_unix_nanoseconds(0);
  EXPECT_EQ(t.seconds(), 2'208'988'800U);
  EXPECT_EQ(t.fraction(), 0U);
  EXPECT_EQ(t.to_unix_nanoseconds(0), 0);
}

TEST(Timestamp, OneNanosecondBeforeUnixEpoch) {
  const Timestamp t = Timestamp::from_unix_nanoseconds(-1);
  EXPECT_EQ(t.seconds(), 2'208'988'799U);
  EXPECT_EQ(t.fraction(), 4'294'967'292U);  // round(999999999 * 2^32 / 1e9)
  EXPECT_EQ(t.to_unix_nanoseconds(0), -1);
}

TEST(Timestamp, Era1StartsWithRawSecondsZero) {
  const Timestamp t = Timestamp::from_unix_nanoseconds(kEra1StartUnix * kNs);
  EXPECT_EQ(t.raw(), 0U);
  EXPECT_TRUE(t.is_zero());
  EXPECT_EQ(t.to_unix_nanoseconds(kEra1StartUnix), kEra1StartUnix * kNs);
  // The last nanosecond of era 0 is the top of the 32-bit seconds.
  const Timestamp before = Timestamp::from_unix_nanoseconds(kEra1StartUnix * kNs - 1);
  EXPECT_EQ(before.seconds(), 0xffffffffU);
  EXPECT_EQ(before.to_unix_nanoseconds(kEra1StartUnix), kEra1StartUnix * kNs - 1);
}

TEST(Timestamp, EraIsResolvedAgainstThePivot) {
  const Timestamp zero = Timestamp::from_raw(0);
  EXPECT_EQ(zero.era(kEra1StartUnix), 1);
  EXPECT_EQ(zero.era(0), 1);               // 1970 is within 68 years of 2036, not of 1900
  EXPECT_EQ(zero.era(-2'208'988'800), 0);  // a pivot at 1900-01-01 picks the prime epoch
  EXPECT_EQ(zero.to_unix_nanoseconds(-2'208'988'800), -2'208'988'800 * kNs);

  const Timestamp now_ish = Timestamp::from_unix_nanoseconds(int64_t{1'700'000'000} * kNs);
  EXPECT_EQ(now_ish.era(1'700'000'000), 0);
  EXPECT_EQ(Timestamp::from_parts(0xffffffffU, 0).era(kEra1StartUnix), 0);
  EXPECT_EQ(Timestamp::from_parts(1, 0).era(kEra1StartUnix - 10), 1);
}

TEST(Timestamp, PivotWindowIsMinus2To31UpToPlus2To31MinusOneSecond) {
  const int64_t pivot = 1'700'000'000;
  // Just inside the window on both sides: resolved to the same instant.
  for (int64_t unix_s : {pivot + kTwo31 - 1, pivot - kTwo31}) {
    SCOPED_TRACE(unix_s);
    const Timestamp t = Timestamp::from_unix_nanoseconds(unix_s * kNs);
    EXPECT_EQ(t.to_unix_nanoseconds(pivot), unix_s * kNs);
  }
  // Just outside: the same era-less bits resolve one era earlier.
  const Timestamp far = Timestamp::from_unix_nanoseconds((pivot + kTwo31) * kNs);
  EXPECT_EQ(far.to_unix_nanoseconds(pivot), (pivot + kTwo31 - (int64_t{1} << 32)) * kNs);
  EXPECT_EQ(far.era(pivot), 0);
}

TEST(Timestamp, RandomUnixNanosecondsRoundTripExactlyAcrossEras) {
  const uint64_t seed = announce_seed();
  SCOPED_TRACE("NTPKIT_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Pivots from 1811 to 2128 (eras -1 to 1), instants within the pivot's ±2^31 s window; the
  // range keeps Unix nanoseconds inside int64_t.
  std::uniform_int_distribution<int64_t> pivots(-5'000'000'000, 5'000'000'000);
  std::uniform_int_distribution<int64_t> offsets(-kTwo31 * kNs, (kTwo31 - 1) * kNs + (kNs - 1));
  for (int i = 0; i < 200'000; ++i) {
    const int64_t pivot = pivots(rng);
    const int64_t unix_ns = pivot * kNs + offsets(rng);
    const Timestamp t = Timestamp::from_unix_nanoseconds(unix_ns);
    ASSERT_EQ(t.to_unix_nanoseconds(pivot), unix_ns) << "pivot=" << pivot << " unix_ns=" << unix_ns;
    const int64_t ntp_s = unix_ns / kNs - (unix_ns % kNs < 0 ? 1 : 0) + kUnixEpochInNtpSeconds;
    const int64_t era = ntp_s >= 0 ? ntp_s >> 32 : -((-ntp_s + 0xffffffff) >> 32);
    ASSERT_EQ(t.era(pivot), era) << "pivot=" << pivot << " unix_ns=" << unix_ns;
  }
}

TEST(Timestamp, DifferencesWrapAcrossTheEraBoundary) {
  const Timestamp before = Timestamp::from_parts(0xffffffffU, 0);  // 1 s before the rollover
  const Timestamp after = Timestamp::from_parts(1, 0);             // 1 s after it
  EXPECT_EQ(before - after, Duration::from_seconds(-2));
  EXPECT_EQ(after - before, Duration::from_seconds(2));
  EXPECT_EQ(before + Duration::from_seconds(2), after);
  EXPECT_EQ(after - Duration::from_seconds(2), before);

  // The same through the Unix conversions.
  const Timestamp a = Timestamp::from_unix_nanoseconds((kEra1StartUnix - 1) * kNs);
  const Timestamp b = Timestamp::from_unix_nanoseconds((kEra1StartUnix + 1) * kNs);
  EXPECT_EQ(a, before);
  EXPECT_EQ(b, after);
  EXPECT_EQ((a - b).to_nanoseconds(), -2 * kNs);
  // Smallest step across the rollover.
  EXPECT_EQ((Timestamp::from_raw(0) - Timestamp::from_raw(~uint64_t{0})).raw(), 1);
}

TEST(Timestamp, FromTimespecNormalisesNanoseconds) {
  EXPECT_EQ(Timestamp::from_timespec(timespec{0, 0}), Timestamp::from_unix_nanoseconds(0));
  EXPECT_EQ(Timestamp::from_timespec(timespec{-1, 500'000'000}), Timestamp::from_unix_nanoseconds(-500'000'000));
  EXPECT_EQ(Timestamp::from_timespec(timespec{5, -1}), Timestamp::from_unix_nanoseconds(5 * kNs - 1));
  EXPECT_EQ(Timestamp::from_timespec(timespec{5, 1'500'000'000}), Timestamp::from_unix_nanoseconds(6'500'000'000));
  EXPECT_EQ(Timestamp::from_timespec(timespec{kEra1StartUnix, 0}).raw(), 0U);
}

TEST(Timestamp, ToTimespecHasNanosecondsInRange) {
  const timespec neg = Timestamp::from_unix_nanoseconds(-1).to_timespec(0);
  EXPECT_EQ(neg.tv_sec, -1);
  EXPECT_EQ(neg.tv_nsec, 999'999'999);

  const timespec era1 = Timestamp::from_parts(0, 0x80000000U).to_timespec(kEra1StartUnix);
  EXPECT_EQ(era1.tv_sec, kEra1StartUnix);
  EXPECT_EQ(era1.tv_nsec, 500'000'000);

  const timespec in{1'700'000'000, 123'456'789};
  const timespec out = Timestamp::from_timespec(in).to_timespec(1'700'000'000);
  EXPECT_EQ(out.tv_sec, in.tv_sec);
  EXPECT_EQ(out.tv_nsec, in.tv_nsec);
}

TEST(Timestamp, ChronoRoundTripIsExact) {
  using std::chrono::system_clock;
  const auto ns = std::chrono::nanoseconds(int64_t{1'700'000'000} * kNs + 987'654'321);
  const system_clock::time_point tp(std::chrono::duration_cast<system_clock::duration>(ns));
  const Timestamp t = Timestamp::from_chrono(tp);
  EXPECT_EQ(t, Timestamp::from_unix_nanoseconds(ns.count()));
  EXPECT_EQ(t.to_chrono(1'700'000'000), tp);

  const system_clock::time_point before_1970(std::chrono::seconds(-86'400));
  EXPECT_EQ(Timestamp::from_chrono(before_1970).to_chrono(0), before_1970);
}

TEST(Timestamp, PartsAndRawAgree) {
  const Timestamp t = Timestamp::from_parts(0xe6f1a2b3U, 0x00000001U);
  EXPECT_EQ(t.raw(), 0xe6f1a2b300000001ULL);
  EXPECT_EQ(t.seconds(), 0xe6f1a2b3U);
  EXPECT_EQ(t.fraction(), 1U);
  EXPECT_FALSE(t.is_zero());
  EXPECT_EQ(format_raw(t), "e6f1a2b3.00000001");
  EXPECT_EQ(format_raw(Timestamp{}), "00000000.00000000");
}

// --- ShortTime -------------------------------------------------------------------------------

TEST(ShortTime, ToDurationShiftsBy16Bits) {
  EXPECT_EQ(ShortTime::from_raw(0x00018000U).to_duration(), Duration::from_nanoseconds(1'500'000'000));
  EXPECT_EQ(ShortTime::from_raw(1).to_duration().raw(), int64_t{1} << 16);
  EXPECT_EQ(ShortTime::from_raw(0xffffffffU).to_duration().raw(), int64_t{0xffffffff} << 16);
  EXPECT_EQ(ShortTime::from_raw(0).to_duration(), Duration{});
}

TEST(ShortTime, FromDurationTruncatesAndSaturatesAtZero) {
  EXPECT_EQ(ShortTime::from_duration(Duration::from_seconds(-1)).raw(), 0U);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_raw(-1)).raw(), 0U);
  EXPECT_EQ(ShortTime::from_duration(Duration{}).raw(), 0U);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_raw(0xffff)).raw(), 0U);  // below one 2^-16 unit
  EXPECT_EQ(ShortTime::from_duration(Duration::from_raw(0x10000)).raw(), 1U);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_nanoseconds(1'500'000'000)).raw(), 0x00018000U);
}

TEST(ShortTime, FromDurationSaturatesAtMaximum) {
  EXPECT_EQ(ShortTime::from_duration(Duration::from_seconds(65535)).raw(), 0xffff0000U);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_seconds(65536) - Duration::from_raw(1)).raw(), 0xffffffffU);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_seconds(65536)).raw(), 0xffffffffU);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_seconds(1'000'000)).raw(), 0xffffffffU);
  EXPECT_EQ(ShortTime::from_duration(Duration::from_raw(INT64_MAX)).raw(), 0xffffffffU);
}

// --- Display ---------------------------------------------------------------------------------

TEST(FormatUtc, KnownInstants) {
  EXPECT_EQ(format_utc(Timestamp::from_unix_nanoseconds(0), 0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(format_utc(Timestamp::from_raw(0), kEra1StartUnix), "2036-02-07T06:28:16.000000000Z");
  EXPECT_EQ(format_utc(Timestamp::from_raw(0), -2'208'988'800), "1900-01-01T00:00:00.000000000Z");
  EXPECT_EQ(format_utc(Timestamp::from_parts(0xffffffffU, 0), kEra1StartUnix), "2036-02-07T06:28:15.000000000Z");
  EXPECT_EQ(format_utc(Timestamp::from_unix_nanoseconds(1'709'210'096 * kNs + 123'456'789), 1'709'210'096),
            "2024-02-29T12:34:56.123456789Z");
  EXPECT_EQ(format_utc(Timestamp::from_unix_nanoseconds(951'868'799 * kNs), 951'868'799),
            "2000-02-29T23:59:59.000000000Z");
  EXPECT_EQ(format_utc(Timestamp::from_unix_nanoseconds(4'107'542'400 * kNs), 4'107'542'400),
            "2100-03-01T00:00:00.000000000Z");  // 2100 is not a leap year
  EXPECT_EQ(format_utc(Timestamp::from_unix_nanoseconds(-1), 0), "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatSeconds, SignAndNineDigitPadding) {
  EXPECT_EQ(format_seconds(Duration{}), "+0.000000000");
  EXPECT_EQ(format_seconds(Duration::from_nanoseconds(1)), "+0.000000001");
  EXPECT_EQ(format_seconds(Duration::from_nanoseconds(-1)), "-0.000000001");
  EXPECT_EQ(format_seconds(Duration::from_nanoseconds(-1'500'000'000)), "-1.500000000");
  EXPECT_EQ(format_seconds(Duration::from_nanoseconds(12'345)), "+0.000012345");
  EXPECT_EQ(format_seconds(Duration::from_seconds(123)), "+123.000000000");
  EXPECT_EQ(format_seconds(Duration::from_nanoseconds(-kTwo31 * kNs)), "-2147483648.000000000");
  // Less than half a nanosecond rounds to zero, which carries a plus sign.
  EXPECT_EQ(format_seconds(Duration::from_raw(1)), "+0.000000000");
  EXPECT_EQ(format_seconds(Duration::from_raw(-1)), "+0.000000000");
}

}  // namespace
}  // namespace ntpkit
