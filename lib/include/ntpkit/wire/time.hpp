// NTP time types (RFC 5905 §6): integer only; double appears only in display helpers.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <ctime>
#include <string>

namespace ntpkit {

// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01).
inline constexpr int64_t kUnixEpochInNtpSeconds = 2'208'988'800;

// A signed span of time in units of 2^-32 s (about ±68 years).
class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration from_raw(int64_t raw) { return Duration(raw); }
  static constexpr Duration from_seconds(int64_t s) {
    return Duration(static_cast<int64_t>(static_cast<uint64_t>(s) << 32));
  }
  // Exact within rounding: from_nanoseconds(n).to_nanoseconds() == n for every n in range.
  static Duration from_nanoseconds(int64_t ns);
  template <class Rep, class Period>
  static Duration from_chrono(std::chrono::duration<Rep, Period> d) {
    return from_nanoseconds(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }

  [[nodiscard]] constexpr int64_t raw() const { return raw_; }
  [[nodiscard]] int64_t to_nanoseconds() const;  // rounded to nearest
  [[nodiscard]] double to_seconds() const;       // display only

  constexpr Duration operator+(Duration o) const { return Duration(wrap_add(raw_, o.raw_)); }
  constexpr Duration operator-(Duration o) const { return Duration(wrap_sub(raw_, o.raw_)); }
  constexpr Duration operator-() const { return Duration(wrap_sub(0, raw_)); }
  // Halving rounds toward minus infinity (arithmetic shift), as RFC 5905's reference code does.
  [[nodiscard]] constexpr Duration half() const { return Duration(raw_ >> 1); }
  [[nodiscard]] constexpr Duration abs() const { return raw_ < 0 ? -*this : *this; }
  // floor((a + b) / 2) without the overflow of a + b: RFC 5905 §8's offset is the midpoint of
  // two differences that may each be near ±68 years.
  static constexpr Duration midpoint(Duration a, Duration b) {
    return Duration((a.raw_ >> 1) + (b.raw_ >> 1) + (a.raw_ & b.raw_ & 1));
  }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(int64_t raw) : raw_(raw) {}
  static constexpr int64_t wrap_add(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  }
  static constexpr int64_t wrap_sub(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  }
  int64_t raw_ = 0;
};

// 64-bit NTP timestamp (32.32, seconds since the start of its era). Era-less: differences wrap,
// so they are right across the 2036 rollover as long as the two instants are < 68 years apart.
class Timestamp {
 public:
  constexpr Timestamp() = default;
  static constexpr Timestamp from_raw(uint64_t raw) { return Timestamp(raw); }
  static constexpr Timestamp from_parts(uint32_t seconds, uint32_t fraction) {
    return Timestamp((static_cast<uint64_t>(seconds) << 32) | fraction);
  }
  // Unix time (nanoseconds since 1970, may be negative) to the era-less timestamp; exact.
  static Timestamp from_unix_nanoseconds(int64_t unix_ns);
  static Timestamp from_timespec(const timespec& ts);
  static Timestamp from_chrono(std::chrono::system_clock::time_point tp);

  [[nodiscard]] constexpr uint64_t raw() const { return raw_; }
  [[nodiscard]] constexpr uint32_t seconds() const { return static_cast<uint32_t>(raw_ >> 32); }
  [[nodiscard]] constexpr uint32_t fraction() const { return static_cast<uint32_t>(raw_); }
  [[nodiscard]] constexpr bool is_zero() const { return raw_ == 0; }

  // Era resolution (RFC 5905 §6): the instant with these era-less bits that lies within
  // ±2^31 s of pivot (Unix seconds). Era 1 starts 2036-02-07T06:28:16Z.
  [[nodiscard]] int64_t to_unix_nanoseconds(int64_t pivot_unix_seconds) const;
  [[nodiscard]] timespec to_timespec(int64_t pivot_unix_seconds) const;
  [[nodiscard]] std::chrono::system_clock::time_point to_chrono(int64_t pivot_unix_seconds) const;
  [[nodiscard]] int32_t era(int64_t pivot_unix_seconds) const;

  constexpr Duration operator-(Timestamp o) const { return Duration::from_raw(static_cast<int64_t>(raw_ - o.raw_)); }
  constexpr Timestamp operator+(Duration d) const { return Timestamp(raw_ + static_cast<uint64_t>(d.raw())); }
  constexpr Timestamp operator-(Duration d) const { return Timestamp(raw_ - static_cast<uint64_t>(d.raw())); }
  constexpr bool operator==(const Timestamp&) const = default;
  // No ordering operator: era-less timestamps are ordered only through a difference.

 private:
  constexpr explicit Timestamp(uint64_t raw) : raw_(raw) {}
  uint64_t raw_ = 0;
};

// 32-bit NTP short format (16.16), used for root delay and root dispersion.
class ShortTime {
 public:
  constexpr ShortTime() = default;
  static constexpr ShortTime from_raw(uint32_t raw) { return ShortTime(raw); }
  // Saturates at 0 and at 65535.99998 s; the short format is unsigned.
  static ShortTime from_duration(Duration d);
  [[nodiscard]] constexpr uint32_t raw() const { return raw_; }
  [[nodiscard]] constexpr Duration to_duration() const { return Duration::from_raw(static_cast<int64_t>(raw_) << 16); }
  constexpr bool operator==(const ShortTime&) const = default;

 private:
  constexpr explicit ShortTime(uint32_t raw) : raw_(raw) {}
  uint32_t raw_ = 0;
};

// Display helpers (the only places where text is produced from time values).
// "2026-11-21T09:53:56.123456789Z"
[[nodiscard]] std::string format_utc(Timestamp t, int64_t pivot_unix_seconds);
// "+0.000012345" (seconds, nanosecond resolution, explicit sign)
[[nodiscard]] std::string format_seconds(Duration d);
// "0x e6f1a2b3.00000001"-style raw view: "e6f1a2b3.00000001"
[[nodiscard]] std::string format_raw(Timestamp t);

}  // namespace ntpkit
