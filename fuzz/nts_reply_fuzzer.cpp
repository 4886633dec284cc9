// An NTS-protected reply from a hostile server (nts/extension with crypto/'s AES-SIV-CMAC-256):
// never a crash, never a read past the datagram; a reply this harness sealed itself around the
// input's extension fields opens, and any changed octet before its tag does not.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/wire/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  const crypto::AesSivCmac256 aead;
  const std::vector<uint8_t> key(32, 0x5A), uid(32, 0x33), nonce(16, 0x44);
  const std::span<const uint8_t> in(data, size);
  auto p = parse(in);
  if (!p) return 0;
  const auto o = nts::open_reply(*p, uid, aead, key);
  NTPKIT_FUZZ_CHECK(o.authenticated || !o.problem.empty());
  for (const auto& f : nts::fields_of(*p).authenticators) (void)nts::parse_authenticator(f);

  // The input's header and extension fields (no MAC), sealed here with what follows as plaintext.
  if (p->mac || size > 1024) return 0;
  std::vector<uint8_t> sealed(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(p->extensions_end));
  NTPKIT_FUZZ_CHECK(nts::append_authenticator(sealed, aead, key, nonce, in.subspan(p->extensions_end)));
  auto q = parse(sealed);
  if (!q) return 0;  // the trailer read as a MAC, not a field: nothing to check
  const auto f = nts::fields_of(*q);
  if (f.authenticators.size() != 1 || f.after_authenticator != 0) return 0;
  NTPKIT_FUZZ_CHECK(nts::open_reply(*q, uid, aead, key).authenticated);
  sealed[size / 2 % p->extensions_end] ^= 0x01;
  if (auto t = parse(sealed); t && nts::fields_of(*t).authenticators.size() == 1) {
    NTPKIT_FUZZ_CHECK(!nts::open_reply(*t, uid, aead, key).authenticated);
  }
  return 0;
}
