#include "ntpkit/wire/time.hpp"

#include <array>
#include <cstdio>

namespace ntpkit {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kTwo32 = uint64_t{1} << 32;

// Floor division and modulo for a positive divisor.
constexpr int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && (a < 0));
}
constexpr int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

// Nanoseconds in [0, 1e9) to a 2^-32 fraction, rounded to nearest. Because 2^32 > 1e9 the
// inverse (fraction_to_ns) recovers the nanoseconds exactly.
constexpr uint32_t ns_to_fraction(uint64_t ns) {
  return static_cast<uint32_t>(((ns << 32) + kNsPerSecond / 2) / kNsPerSecond);
}
// A 2^-32 fraction to nanoseconds, rounded to nearest; may return 1e9 for fractions near 1.
constexpr uint64_t fraction_to_ns(uint32_t fraction) {
  return (static_cast<uint64_t>(fraction) * kNsPerSecond + kTwo32 / 2) >> 32;
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};
constexpr CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

}  // namespace

Duration Duration::from_nanoseconds(int64_t ns) {
  const int64_t s = floor_div(ns, kNsPerSecond);
  const auto rem = static_cast<uint64_t>(floor_mod(ns, kNsPerSecond));
  const uint64_t raw = (static_cast<uint64_t>(s) << 32) + ns_to_fraction(rem);
  return Duration(static_cast<int64_t>(raw));
}

int64_t Duration::to_nanoseconds() const {
  const int64_t s = raw_ >> 32;  // arithmetic shift: floor
  const auto frac = static_cast<uint32_t>(raw_);
  return s * kNsPerSecond + static_cast<int64_t>(fraction_to_ns(frac));
}

double Duration::to_seconds() const {
  return static_cast<double>(raw_) / static_cast<double>(kTwo32);
}

Timestamp Timestamp::from_unix_nanoseconds(int64_t unix_ns) {
  const int64_t s = floor_div(unix_ns, kNsPerSecond) + kUnixEpochInNtpSeconds;
  const auto rem = static_cast<uint64_t>(floor_mod(unix_ns, kNsPerSecond));
  // The era is dropped here by design: seconds are taken modulo 2^32.
  return from_parts(static_cast<uint32_t>(static_cast<uint64_t>(s)), ns_to_fraction(rem));
}

Timestamp Timestamp::from_timespec(const timespec& ts) {
  const int64_t s = static_cast<int64_t>(ts.tv_sec) + kUnixEpochInNtpSeconds + floor_div(ts.tv_nsec, kNsPerSecond);
  return from_parts(static_cast<uint32_t>(static_cast<uint64_t>(s)),
                    ns_to_fraction(static_cast<uint64_t>(floor_mod(ts.tv_nsec, kNsPerSecond))));
}

Timestamp Timestamp::from_chrono(std::chrono::system_clock::time_point tp) {
  return from_unix_nanoseconds(std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count());
}

namespace {
// Full NTP seconds (since 1900, any era) of the instant nearest the pivot.
int64_t resolve_seconds(uint32_t seconds, int64_t pivot_unix_seconds) {
  const int64_t pivot_ntp = pivot_unix_seconds + kUnixEpochInNtpSeconds;
  const auto diff = static_cast<int32_t>(seconds - static_cast<uint32_t>(static_cast<uint64_t>(pivot_ntp)));
  return pivot_ntp + diff;
}
}  // namespace

int64_t Timestamp::to_unix_nanoseconds(int64_t pivot_unix_seconds) const {
  const int64_t full = resolve_seconds(seconds(), pivot_unix_seconds);
  return (full - kUnixEpochInNtpSeconds) * kNsPerSecond + static_cast<int64_t>(fraction_to_ns(fraction()));
}

timespec Timestamp::to_timespec(int64_t pivot_unix_seconds) const {
  const int64_t ns = to_unix_nanoseconds(pivot_unix_seconds);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(floor_div(ns, kNsPerSecond));
  ts.tv_nsec = static_cast<long>(floor_mod(ns, kNsPerSecond));
  return ts;
}

std::chrono::system_clock::time_point Timestamp::to_chrono(int64_t pivot_unix_seconds) const {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(to_unix_nanoseconds(pivot_unix_seconds))));
}

int32_t Timestamp::era(int64_t pivot_unix_seconds) const {
  return static_cast<int32_t>(floor_div(resolve_seconds(seconds(), pivot_unix_seconds), int64_t{1} << 32));
}

ShortTime ShortTime::from_duration(Duration d) {
  if (d.raw() <= 0) return ShortTime(0);
  const int64_t raw = d.raw() >> 16;
  if (raw > int64_t{0xffffffff}) return ShortTime(0xffffffffU);
  return ShortTime(static_cast<uint32_t>(raw));
}

std::string format_utc(Timestamp t, int64_t pivot_unix_seconds) {
  const int64_t ns = t.to_unix_nanoseconds(pivot_unix_seconds);
  const int64_t secs = floor_div(ns, kNsPerSecond);
  const int64_t sub = floor_mod(ns, kNsPerSecond);
  const CivilDate date = civil_from_days(floor_div(secs, 86400));
  const int64_t sod = floor_mod(secs, 86400);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                static_cast<long long>(date.year), date.month, date.day, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60), static_cast<long long>(sub));
  return buf.data();
}

std::string format_seconds(Duration d) {
  const int64_t ns = d.to_nanoseconds();
  const uint64_t mag = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::array<char, 48> buf{};
  std::snprintf(buf.data(), buf.size(), "%c%llu.%09llu", ns < 0 ? '-' : '+',
                static_cast<unsigned long long>(mag / kNsPerSecond),
                static_cast<unsigned long long>(mag % kNsPerSecond));
  return buf.data();
}

std::string format_raw(Timestamp t) {
  std::array<char, 24> buf{};
  std::snprintf(buf.data(), buf.size(), "%08x.%08x", t.seconds(), t.fraction());
  return buf.data();
}

}  // namespace ntpkit
