// Timestamp conversions and era resolution: exact round trips, no overflow (UBSan watches).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_check.hpp"
#include "ntpkit/wire/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  if (size < 16) return 0;
  uint64_t raw = 0, pivot_bits = 0;
  std::memcpy(&raw, data, 8);
  std::memcpy(&pivot_bits, data + 8, 8);
  // Pivots between 1850 and 2150: unix nanoseconds of every instant within 68 years of them
  // (1782 to 2218) fit in int64, which ends in 2262.
  const int64_t pivot = -3'786'825'600 + static_cast<int64_t>(pivot_bits % 9'467'280'000ULL);
  const Timestamp t = Timestamp::from_raw(raw);

  const int64_t ns = t.to_unix_nanoseconds(pivot);
  const int64_t distance = ns / 1'000'000'000 - pivot;
  NTPKIT_FUZZ_CHECK(distance >= -(int64_t{1} << 31) - 1 && distance <= (int64_t{1} << 31) + 1);
  const Timestamp back = Timestamp::from_unix_nanoseconds(ns);
  // Nanoseconds are coarser than 2^-32 s (one ns is 4.29 units): rounding to the nearest ns and
  // back lands within 2.15 + 0.5 units, so at most 2.
  const int64_t err = (back - t).raw();
  NTPKIT_FUZZ_CHECK(err >= -2 && err <= 2);
  NTPKIT_FUZZ_CHECK(Timestamp::from_unix_nanoseconds(back.to_unix_nanoseconds(pivot)) == back);
  const timespec ts = t.to_timespec(pivot);
  NTPKIT_FUZZ_CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1'000'000'000);
  NTPKIT_FUZZ_CHECK(Timestamp::from_timespec(ts) == back);

  // Durations: nanoseconds round-trip exactly within ±2^31 s.
  const auto d_ns = static_cast<int64_t>(raw % (uint64_t{1} << 61)) - (int64_t{1} << 60);
  NTPKIT_FUZZ_CHECK(Duration::from_nanoseconds(d_ns).to_nanoseconds() == d_ns);
  const Duration diff = t - Timestamp::from_raw(pivot_bits);
  NTPKIT_FUZZ_CHECK(Timestamp::from_raw(pivot_bits) + diff == t);
  NTPKIT_FUZZ_CHECK(!format_utc(t, pivot).empty() && !format_seconds(diff).empty());
  (void)ShortTime::from_duration(diff).to_duration();
  return 0;
}
