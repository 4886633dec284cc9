#include "ntpkit/crypto/nettle_aead.hpp"

#include <nettle/siv-cmac.h>

namespace ntpkit::crypto {

// nettle asserts a nonce of at least SIV_MIN_NONCE_SIZE octets: a hostile peer's empty nonce is
// refused here, never passed on.
bool AesSivCmac256::seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                         std::span<const uint8_t> associated, std::span<const uint8_t> plaintext,
                         std::span<uint8_t> out) const {
  if (key.size() != SIV_CMAC_AES128_KEY_SIZE || nonce.size() < SIV_MIN_NONCE_SIZE ||
      out.size() != plaintext.size() + SIV_DIGEST_SIZE) {
    return false;
  }
  siv_cmac_aes128_ctx ctx;
  siv_cmac_aes128_set_key(&ctx, key.data());
  siv_cmac_aes128_encrypt_message(&ctx, nonce.size(), nonce.data(), associated.size(), associated.data(), out.size(),
                                  out.data(), plaintext.data());
  return true;
}

bool AesSivCmac256::open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                         std::span<const uint8_t> associated, std::span<const uint8_t> ciphertext,
                         std::span<uint8_t> out) const {
  if (key.size() != SIV_CMAC_AES128_KEY_SIZE || nonce.size() < SIV_MIN_NONCE_SIZE ||
      ciphertext.size() < SIV_DIGEST_SIZE || out.size() != ciphertext.size() - SIV_DIGEST_SIZE) {
    return false;
  }
  siv_cmac_aes128_ctx ctx;
  siv_cmac_aes128_set_key(&ctx, key.data());
  return siv_cmac_aes128_decrypt_message(&ctx, nonce.size(), nonce.data(), associated.size(), associated.data(),
                                         out.size(), out.data(), ciphertext.data()) == 1;
}

}  // namespace ntpkit::crypto
