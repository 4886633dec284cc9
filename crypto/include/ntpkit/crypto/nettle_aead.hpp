// AEAD_AES_SIV_CMAC_256 (RFC 5297; RFC 8915 §5.6's mandatory algorithm), computed by nettle's
// siv-cmac: a 32-octet key (two AES-128 keys), the nonce as the last associated-data component,
// output = the 16-octet synthetic IV || the ciphertext. Seals an empty plaintext, which an NTS
// client request is (OpenSSL 3.0's AES-SIV cannot). lib/ sees only nts::Aead.
#pragma once

#include "ntpkit/nts/aead.hpp"

namespace ntpkit::crypto {

class AesSivCmac256 final : public nts::Aead {
 public:
  [[nodiscard]] uint16_t id() const override { return 15; }
  [[nodiscard]] size_t key_length() const override { return 32; }
  [[nodiscard]] size_t tag_length() const override { return 16; }
  [[nodiscard]] bool seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                          std::span<const uint8_t> associated, std::span<const uint8_t> plaintext,
                          std::span<uint8_t> out) const override;
  [[nodiscard]] bool open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                          std::span<const uint8_t> associated, std::span<const uint8_t> ciphertext,
                          std::span<uint8_t> out) const override;
};

}  // namespace ntpkit::crypto
