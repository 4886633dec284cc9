// The AEAD that protects NTS packets (RFC 8915 §5.6, RFC 5116's interface): the core names what
// it needs; crypto/ binds it to nettle (AEAD_AES_SIV_CMAC_256, RFC 5297). lib/ stays pure.
#pragma once

#include <cstdint>
#include <span>

namespace ntpkit::nts {

class Aead {
 public:
  virtual ~Aead() = default;
  [[nodiscard]] virtual uint16_t id() const = 0;  // RFC 5116 registry number (15: AES-SIV-CMAC-256)
  [[nodiscard]] virtual size_t key_length() const = 0;
  [[nodiscard]] virtual size_t tag_length() const = 0;  // the ciphertext is this much longer
  // ciphertext = tag || encrypted plaintext, out.size() == plaintext.size() + tag_length().
  // False when the key or nonce cannot be used (wrong key length, empty nonce).
  [[nodiscard]] virtual bool seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                                  std::span<const uint8_t> associated, std::span<const uint8_t> plaintext,
                                  std::span<uint8_t> out) const = 0;
  // False when the tag does not verify (or the inputs cannot be used); out.size() ==
  // ciphertext.size() - tag_length().
  [[nodiscard]] virtual bool open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                                  std::span<const uint8_t> associated, std::span<const uint8_t> ciphertext,
                                  std::span<uint8_t> out) const = 0;
};

}  // namespace ntpkit::nts
