// A stand-in for crypto/'s digests (lib/ tests link no crypto library): deterministic, keyed,
// and different for any change of key or message, which is all the core relies on.
#pragma once

#include <cstdint>
#include <span>

#include "ntpkit/auth/mac.hpp"

namespace ntpkit::test {

class FakeDigests final : public auth::Digests {
 public:
  void compute(const auth::Key& key, std::span<const uint8_t> message, auth::Digest& out) const override {
    uint64_t h = 1469598103934665603ULL ^ static_cast<uint64_t>(key.type);
    for (uint8_t b : key.secret) h = (h ^ b) * 1099511628211ULL;
    for (uint8_t b : message) h = (h ^ b) * 1099511628211ULL;
    for (size_t i = 0; i < out.size(); ++i) {
      h = (h ^ i) * 1099511628211ULL;
      out[i] = static_cast<uint8_t>(h >> 56);
    }
  }
};

}  // namespace ntpkit::test
