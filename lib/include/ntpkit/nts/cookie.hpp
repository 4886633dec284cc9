// The reference server's NTS cookies (RFC 8915 §6's suggested format, which is non-normative:
// "servers should ... form a plaintext P consisting of ... The AEAD algorithm negotiated during
// NTS-KE. The S2C key. The C2S key." and encrypt it "under key K with nonce N and no associated
// data"): key id (4) || nonce (16) || AEAD_K(N, P). The server keeps no per-client state; any
// worker thread opens any cookie. The master key is rotated by the caller (rotate()), safely
// while worker threads make and open cookies; the key before keeps opening what it sealed, so a
// client's cookies live for one to two rotation periods. Pure: the AEAD comes through
// nts::Aead, the master keys and nonces from the caller.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "ntpkit/nts/aead.hpp"

namespace ntpkit::nts {

struct CookieContents {
  uint16_t aead = 15;
  std::vector<uint8_t> c2s;
  std::vector<uint8_t> s2c;
};

inline constexpr size_t kCookieNonceLength = 16;

class CookieJar {
 public:
  struct MasterKey {
    uint32_t id = 0;
    std::vector<uint8_t> key;  // aead.key_length() octets
  };
  // `current` seals new cookies; `previous` (if any) still opens the ones it sealed.
  CookieJar(const Aead& aead, MasterKey current, std::optional<MasterKey> previous = std::nullopt);
  // The cookie for these keys, sealed with `nonce` (16 octets, random).
  [[nodiscard]] std::vector<uint8_t> make(const CookieContents& c, std::span<const uint8_t> nonce) const;
  // Opens a cookie of ours (trailing zero padding allowed); nullopt for anything else.
  [[nodiscard]] std::optional<CookieContents> open(std::span<const uint8_t> cookie) const;
  // The length of every cookie this jar makes for keys of `key_length` octets.
  [[nodiscard]] size_t cookie_length(size_t key_length) const;
  // `next` seals from now on; the current key still opens the cookies it sealed, the previous one
  // no longer. Safe while other threads call make() and open().
  void rotate(MasterKey next);
  [[nodiscard]] uint32_t current_id() const;

 private:
  const Aead& aead_;
  mutable std::shared_mutex mutex_;  // guards the keys: shared by make/open, exclusive by rotate
  MasterKey current_;
  std::optional<MasterKey> previous_;
};

}  // namespace ntpkit::nts
