#include "ntpkit/util/clock.hpp"

#include <ctime>

namespace ntpkit {

Timestamp SystemClock::now() const {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timestamp::from_timespec(ts);
}

}  // namespace ntpkit
