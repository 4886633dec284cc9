// The MAC verification path (auth/mac with crypto/'s nettle digests) on hostile packets: never
// a crash, never a read past the datagram, and a packet this harness authenticated itself
// always verifies while any change to it does not.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "ntpkit/auth/mac.hpp"
#include "ntpkit/crypto/nettle_digests.hpp"

namespace {

const ntpkit::auth::KeyStore& keys() {
  using namespace ntpkit::auth;
  static const KeyStore store({{1, KeyType::Md5, {'k', 'e', 'y'}},
                               {2, KeyType::Sha1, std::vector<uint8_t>(20, 0x42)},
                               {3, KeyType::Aes128Cmac, std::vector<uint8_t>(16, 0x07)}});
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  const crypto::NettleDigests digests;
  const std::span<const uint8_t> in(data, size);
  if (auto p = parse(in)) (void)auth::verify_mac(*p, keys(), digests);

  // Whatever parses as a packet without a MAC, authenticated here with each key, verifies.
  if (size < kHeaderLength || size > 512) return 0;
  auto p = parse(in);
  if (!p || p->mac || p->header.version < kCurrentVersion) return 0;
  for (uint32_t id : {1U, 2U, 3U}) {
    std::vector<uint8_t> buf(size + 4 + auth::kMaxDigest);
    std::copy(in.begin(), in.end(), buf.begin());
    const size_t n = auth::append_mac(buf, size, *keys().find(id), digests);
    NTPKIT_FUZZ_CHECK(n > size);
    buf.resize(n);
    auto signed_packet = parse(buf);
    // Extension fields then a MAC: a parse may see the MAC as a field only if the sizes collide;
    // then there is nothing to check.
    if (!signed_packet || !signed_packet->mac) continue;
    NTPKIT_FUZZ_CHECK(auth::verify_mac(*signed_packet, keys(), digests).check == auth::MacCheck::Valid);
    buf[size / 2] ^= 0x80;
    if (auto tampered = parse(buf); tampered && tampered->mac && tampered->mac->key_id == id) {
      NTPKIT_FUZZ_CHECK(auth::verify_mac(*tampered, keys(), digests).check != auth::MacCheck::Valid);
    }
  }
  return 0;
}
