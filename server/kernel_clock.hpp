// What the kernel knows about the system clock: its leap/sync state (adjtimex, read only) and
// how finely it can be read.
#pragma once

#include "ntpkit/wire/packet.hpp"

namespace ntpkit::server {

// Reads the kernel's NTP state without changing anything (modes = 0).
[[nodiscard]] Leap kernel_leap();
// log2 of the smallest step seen between two clock reads (RFC 5905 §7.3 precision).
[[nodiscard]] int8_t measure_precision();

}  // namespace ntpkit::server
