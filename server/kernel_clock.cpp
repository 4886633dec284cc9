#include "kernel_clock.hpp"

#include <sys/timex.h>

#include <cmath>
#include <ctime>

namespace ntpkit::server {

Leap kernel_leap() {
  timex tx{};
  tx.modes = 0;  // read only: this server never adjusts the clock
  const int state = adjtimex(&tx);
  if (state < 0 || state == TIME_ERROR || (tx.status & STA_UNSYNC) != 0) return Leap::Unsynchronized;
  if (state == TIME_INS) return Leap::AddSecond;
  if (state == TIME_DEL) return Leap::DeleteSecond;
  return Leap::NoWarning;
}

int8_t measure_precision() {
  long best = 1'000'000'000;
  timespec a{}, b{};
  for (int i = 0; i < 2000; ++i) {
    clock_gettime(CLOCK_REALTIME, &a);
    do {
      clock_gettime(CLOCK_REALTIME, &b);
    } while (b.tv_sec == a.tv_sec && b.tv_nsec == a.tv_nsec);
    const long d = (b.tv_sec - a.tv_sec) * 1'000'000'000L + (b.tv_nsec - a.tv_nsec);
    if (d > 0 && d < best) best = d;
  }
  const double p = std::ceil(std::log2(static_cast<double>(best) * 1e-9));
  return static_cast<int8_t>(p < -32 ? -32 : p);
}

}  // namespace ntpkit::server
