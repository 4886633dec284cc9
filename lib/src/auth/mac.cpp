#include "ntpkit/auth/mac.hpp"

#include <algorithm>

namespace ntpkit::auth {

std::string_view to_string(MacCheck c) {
  switch (c) {
    case MacCheck::Valid: return "valid";
    case MacCheck::NoMac: return "no MAC";
    case MacCheck::CryptoNak: return "crypto-NAK";
    case MacCheck::UnknownKey: return "unknown key";
    case MacCheck::WrongLength: return "a digest of the wrong length for its key";
    case MacCheck::BadDigest: return "a digest that does not verify";
  }
  return "?";
}

MacResult verify_mac(const PacketView& packet, const KeyStore& keys, const Digests& digests) {
  MacResult r;
  if (!packet.mac) return r;
  const MacView& m = *packet.mac;
  r.key_id = m.key_id;
  if (m.kind == MacKind::CryptoNak) {
    r.check = MacCheck::CryptoNak;
    return r;
  }
  r.key = keys.find(m.key_id);
  if (r.key == nullptr) {
    r.check = MacCheck::UnknownKey;
    return r;
  }
  if (m.digest.size() != digest_length(r.key->type)) {
    r.check = MacCheck::WrongLength;
    return r;
  }
  Digest want{};
  digests.compute(*r.key, packet.bytes.first(m.offset), want);
  // Constant time: how much of a forged digest is right must not show in the time taken.
  uint8_t diff = 0;
  for (size_t i = 0; i < m.digest.size(); ++i) diff |= static_cast<uint8_t>(want[i] ^ m.digest[i]);
  r.check = diff == 0 ? MacCheck::Valid : MacCheck::BadDigest;
  return r;
}

size_t append_mac(std::span<uint8_t> out, size_t length, const Key& key, const Digests& digests) {
  const size_t n = digest_length(key.type);
  if (length > out.size() || out.size() - length < 4 + n) return 0;
  Digest d{};
  digests.compute(key, out.first(length), d);
  out[length] = static_cast<uint8_t>(key.id >> 24);
  out[length + 1] = static_cast<uint8_t>(key.id >> 16);
  out[length + 2] = static_cast<uint8_t>(key.id >> 8);
  out[length + 3] = static_cast<uint8_t>(key.id);
  std::copy_n(d.begin(), n, out.begin() + static_cast<std::ptrdiff_t>(length + 4));
  return length + 4 + n;
}

}  // namespace ntpkit::auth
