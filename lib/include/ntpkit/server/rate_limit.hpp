// Per-client rate limiting for the server (RFC 5905 §7.4: a server may answer a client that
// exceeds its rate with a RATE kiss-o'-death). Pure: time is passed in, no allocation after
// construction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ntpkit/server/server.hpp"
#include "ntpkit/wire/time.hpp"

namespace ntpkit {

struct RateLimitConfig {
  Duration interval = Duration::from_seconds(2);  // average spacing a client may keep up
  uint32_t burst = 8;                             // requests allowed back to back
  size_t slots = 4096;                            // clients tracked (a hash table; collisions reset)
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitConfig config);
  // `address` is the client's address bytes (4 or 16); longer input is truncated to 16.
  // A limited client gets at most one KoD per interval; other excess requests are dropped.
  [[nodiscard]] RateVerdict check(std::span<const uint8_t> address, Timestamp now);

 private:
  struct Slot {
    std::array<uint8_t, 16> key{};
    uint8_t key_length = 0;
    bool used = false;
    Timestamp last;
    Timestamp last_kod;
    bool kod_sent = false;
    int64_t debt = 0;  // in 2^-32 s: interval added per request, time elapsed paid back
  };
  RateLimitConfig config_;
  std::vector<Slot> slots_;
};

}  // namespace ntpkit
