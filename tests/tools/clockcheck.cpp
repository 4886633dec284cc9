// clockcheck — print the system clock's state in one line, without changing it, so an
// interop test can prove afterwards that no peer stepped or steered the clock.
//
//   realtime_minus_monotonic_ns  CLOCK_REALTIME - CLOCK_MONOTONIC. Slewing moves both
//                                clocks alike; only a step (settimeofday, clock_settime,
//                                ADJ_SETOFFSET) changes the difference.
//   status freq offset tick      adjtimex(2) read with modes = 0, which only reads.
//                                A slew or a frequency change shows up here.
//   state                        adjtimex's return value (TIME_OK, TIME_ERROR, ...).
//
// Output: one line of key=value pairs, parsed by tests/interop/lib.sh. Exit 0, or 1 when a
// clock cannot be read.
#include <sys/timex.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace {

bool read_ns(clockid_t id, std::int64_t& ns) {
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return false;
  ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  return true;
}

}  // namespace

int main() {
  // Bracket the realtime read with two monotonic reads and use their midpoint, so the
  // difference does not carry the latency of one clock_gettime call.
  std::int64_t mono_a = 0;
  std::int64_t real = 0;
  std::int64_t mono_b = 0;
  if (!read_ns(CLOCK_MONOTONIC, mono_a) || !read_ns(CLOCK_REALTIME, real) || !read_ns(CLOCK_MONOTONIC, mono_b)) {
    std::fprintf(stderr, "clockcheck: clock_gettime: %s\n", std::strerror(errno));
    return 1;
  }
  const std::int64_t mono = mono_a + (mono_b - mono_a) / 2;

  struct timex tx {};
  tx.modes = 0;  // read only: with no mode bit set adjtimex changes nothing
  const int state = adjtimex(&tx);
  if (state == -1) {
    std::fprintf(stderr, "clockcheck: adjtimex: %s\n", std::strerror(errno));
    return 1;
  }

  std::printf("realtime_minus_monotonic_ns=%lld status=%d freq=%ld offset=%ld tick=%ld state=%d\n",
              static_cast<long long>(real - mono), tx.status, static_cast<long>(tx.freq), static_cast<long>(tx.offset),
              static_cast<long>(tx.tick), state);
  return 0;
}
