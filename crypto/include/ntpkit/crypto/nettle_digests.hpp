// The digests of authenticated NTP, computed by nettle (Debian's libnettle): MD5 and SHA1 over
// key || message (RFC 5905 §7.3, as ntpd and chrony compute them) and AES-CMAC-128 (RFC 4493)
// over the message (RFC 8573). lib/ sees only the Digests interface.
#pragma once

#include "ntpkit/auth/mac.hpp"

namespace ntpkit::crypto {

class NettleDigests final : public auth::Digests {
 public:
  void compute(const auth::Key& key, std::span<const uint8_t> message, auth::Digest& out) const override;
};

}  // namespace ntpkit::crypto
