// The message authentication code of an NTP packet (RFC 5905 §7.3 and §9.2; RFC 8573): a 32-bit
// key identifier and a digest over everything before it (header and extension fields). The
// core computes nothing itself: the digest functions come through Digests, bound to nettle in
// crypto/, so lib/ stays pure.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "ntpkit/auth/keys.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::auth {

inline constexpr size_t kMaxDigest = 20;
using Digest = std::array<uint8_t, kMaxDigest>;

class Digests {
 public:
  virtual ~Digests() = default;
  // The digest of `message` under `key` (MD5 and SHA1: of key || message; AES128CMAC: CMAC
  // of message with key); digest_length(key.type) octets of `out` are written.
  virtual void compute(const Key& key, std::span<const uint8_t> message, Digest& out) const = 0;
};

enum class MacCheck : uint8_t {
  Valid,        // a known key, its digest verifies over the packet
  NoMac,        // unauthenticated
  CryptoNak,    // a bare 4-octet key identifier (RFC 5905 §7.4): the peer could not authenticate
  UnknownKey,   // a key identifier we do not hold
  WrongLength,  // a digest of another length than the key's type gives
  BadDigest,    // a known key, a digest that does not verify
};
[[nodiscard]] std::string_view to_string(MacCheck c);

struct MacResult {
  MacCheck check = MacCheck::NoMac;
  uint32_t key_id = 0;
  const Key* key = nullptr;  // when the key is known
};

// Verifies the MAC of a parsed packet (compares in constant time).
[[nodiscard]] MacResult verify_mac(const PacketView& packet, const KeyStore& keys, const Digests& digests);

// Appends key.id and the digest over out[0, length) to `out` at `length`; returns the new
// length, or 0 when `out` cannot hold them.
[[nodiscard]] size_t append_mac(std::span<uint8_t> out, size_t length, const Key& key, const Digests& digests);

}  // namespace ntpkit::auth
