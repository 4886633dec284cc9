#include "ntpkit/server/rate_limit.hpp"

#include <algorithm>

namespace ntpkit {
namespace {

uint64_t fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

}  // namespace

RateLimiter::RateLimiter(RateLimitConfig config) : config_(config), slots_(std::max<size_t>(config.slots, 1)) {}

RateVerdict RateLimiter::check(std::span<const uint8_t> address, Timestamp now) {
  const auto key = address.first(std::min<size_t>(address.size(), 16));
  Slot& s = slots_[fnv1a(key) % slots_.size()];
  const bool same = s.used && s.key_length == key.size() && std::equal(key.begin(), key.end(), s.key.begin());
  if (!same) {
    s = Slot{};
    std::copy(key.begin(), key.end(), s.key.begin());
    s.key_length = static_cast<uint8_t>(key.size());
    s.used = true;
    s.last = now;
  }
  // Leaky bucket: each request owes one interval, elapsed time pays the debt back.
  const int64_t elapsed = std::max<int64_t>(0, (now - s.last).raw());
  s.debt = std::max<int64_t>(0, s.debt - elapsed);
  s.last = now;
  const int64_t limit = config_.interval.raw() * static_cast<int64_t>(config_.burst);
  if (s.debt + config_.interval.raw() <= limit) {
    s.debt += config_.interval.raw();
    return RateVerdict::Allow;
  }
  if (!s.kod_sent || (now - s.last_kod).raw() >= config_.interval.raw()) {
    s.kod_sent = true;
    s.last_kod = now;
    return RateVerdict::KissOfDeath;
  }
  return RateVerdict::Drop;
}

}  // namespace ntpkit
