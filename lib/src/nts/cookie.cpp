#include "ntpkit/nts/cookie.hpp"

#include <algorithm>

namespace ntpkit::nts {

CookieJar::CookieJar(const Aead& aead, MasterKey current, std::optional<MasterKey> previous)
    : aead_(aead), current_(std::move(current)), previous_(std::move(previous)) {}

size_t CookieJar::cookie_length(size_t key_length) const {
  return 4 + kCookieNonceLength + 4 + 2 * key_length + aead_.tag_length();
}

std::vector<uint8_t> CookieJar::make(const CookieContents& c, std::span<const uint8_t> nonce) const {
  std::vector<uint8_t> plaintext;
  plaintext.push_back(static_cast<uint8_t>(c.aead >> 8));
  plaintext.push_back(static_cast<uint8_t>(c.aead));
  plaintext.push_back(0);  // reserved: the cookie's length a multiple of 4 (chrony's client requires it)
  plaintext.push_back(0);
  plaintext.insert(plaintext.end(), c.s2c.begin(), c.s2c.end());
  plaintext.insert(plaintext.end(), c.c2s.begin(), c.c2s.end());
  if (nonce.size() < kCookieNonceLength) return {};
  const std::shared_lock lock(mutex_);
  // Sized once (GCC 12 at -O3 warns, wrongly, about pushing the id and inserting the nonce).
  const size_t at = 4 + kCookieNonceLength;
  std::vector<uint8_t> out(at + plaintext.size() + aead_.tag_length());
  for (size_t i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(current_.id >> (24 - 8 * i));
  std::copy_n(nonce.begin(), kCookieNonceLength, out.begin() + 4);
  if (!aead_.seal(current_.key, nonce.first(kCookieNonceLength), {}, plaintext, std::span(out).subspan(at))) {
    return {};
  }
  return out;
}

std::optional<CookieContents> CookieJar::open(std::span<const uint8_t> cookie) const {
  if (cookie.size() < cookie_length(32)) return std::nullopt;
  const uint32_t id = static_cast<uint32_t>(cookie[0]) << 24 | static_cast<uint32_t>(cookie[1]) << 16 |
                      static_cast<uint32_t>(cookie[2]) << 8 | cookie[3];
  const std::shared_lock lock(mutex_);
  const MasterKey* k = id == current_.id ? &current_ : previous_ && previous_->id == id ? &*previous_ : nullptr;
  if (k == nullptr) return std::nullopt;
  // Our cookies are of one length for 32-octet keys; what follows it in an extension field is padding.
  const size_t length = cookie_length(32);
  if (cookie.size() < length) return std::nullopt;
  const auto nonce = cookie.subspan(4, kCookieNonceLength);
  const auto ciphertext = cookie.subspan(4 + kCookieNonceLength, length - 4 - kCookieNonceLength);
  std::vector<uint8_t> plaintext(ciphertext.size() - aead_.tag_length());
  if (!aead_.open(k->key, nonce, {}, ciphertext, plaintext)) return std::nullopt;
  CookieContents c;
  c.aead = static_cast<uint16_t>(plaintext[0] << 8 | plaintext[1]);
  c.s2c.assign(plaintext.begin() + 4, plaintext.begin() + 36);
  c.c2s.assign(plaintext.begin() + 36, plaintext.end());
  return c;
}

void CookieJar::rotate(MasterKey next) {
  const std::unique_lock lock(mutex_);
  previous_ = std::move(current_);
  current_ = std::move(next);
}

uint32_t CookieJar::current_id() const {
  const std::shared_lock lock(mutex_);
  return current_.id;
}

}  // namespace ntpkit::nts
