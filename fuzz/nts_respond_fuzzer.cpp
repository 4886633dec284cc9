// The reference server's NTS answer path (RFC 8915 §5.7): respond() with a cookie jar of two
// master keys (current and previous) and AES-SIV-CMAC-256, fed either the input as a datagram
// or a well-formed NTS request built from it (keys, Unique Identifier, placeholders, nonce from
// the input) with, optionally, one octet of it changed.
//
// Oracles: any reply parses and is never longer than the request plus the three octets of
// padding RFC 8915 allows; an authenticated reply opens under the S2C key its cookie holds, with
// our Unique Identifier echoed and one plus the placeholders new cookies that open to the same
// keys; an NTSN carries no cookie and no authenticator; a well-formed request is answered with
// authenticated time; a request with one octet changed never is.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/server/server.hpp"
#include "ntpkit/wire/parse.hpp"

namespace {

// control (1) | c2s (32) | s2c (32) | position (2) | unique id length (1) | the rest.
constexpr size_t kPrefix = 68;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  if (size < kPrefix) return 0;
  static const crypto::AesSivCmac256 aead;
  static const nts::CookieJar jar(aead, {2, std::vector<uint8_t>(32, 0xA2)},
                                  nts::CookieJar::MasterKey{1, std::vector<uint8_t>(32, 0xA1)});
  static const nts::CookieJar old_jar(aead, {1, std::vector<uint8_t>(32, 0xA1)});
  const uint8_t control = data[0];
  const bool build = (control & 1) != 0;
  const size_t placeholders = (control >> 1) & 7;
  const bool corrupt = (control & 0x10) != 0;
  const bool previous_key = (control & 0x20) != 0;
  const nts::CookieContents keys{15, std::vector<uint8_t>(data + 1, data + 33),
                                 std::vector<uint8_t>(data + 33, data + 65)};
  const size_t position = static_cast<size_t>(data[65]) << 8 | data[66];
  const size_t uid_length = std::max<size_t>(32, data[67]);  // RFC 8915 §5.3: at least 32 octets
  const std::span<const uint8_t> rest(data + kPrefix, size - kPrefix);

  std::vector<uint8_t> request;
  std::vector<uint8_t> uid;
  if (build) {
    uid.assign(uid_length, 0x33);
    std::copy_n(rest.begin(), std::min(rest.size(), uid.size()), uid.begin());
    std::array<uint8_t, 16> nonce{};
    std::copy_n(data + 1, nonce.size(), nonce.begin());
    const auto cookie = (previous_key ? old_jar : jar).make(keys, nonce);
    nts::RequestParts p;
    p.header = client_request(4, Timestamp::from_raw(0x1122334455667788));
    p.unique_id = uid;
    p.cookie = cookie;
    p.placeholders = placeholders;
    p.nonce = nonce;
    auto built = nts::build_request(p, aead, keys.c2s);
    NTPKIT_FUZZ_CHECK(built.has_value());
    request = std::move(*built);
    if (corrupt) request[position % request.size()] ^= 0x01;
  } else {
    request.assign(rest.begin(), rest.end());
  }

  Policy policy;
  policy.nts = &jar;
  policy.nts_aead = &aead;
  RequestContext ctx{Timestamp::from_raw(0xE6C69F5F10000000), RateVerdict::Allow, 1};
  std::copy_n(data + 33, ctx.nonce_seed.size(), ctx.nonce_seed.begin());
  const FixedClock clock(Timestamp::from_raw(0xE6C69F5F20000000));
  const ServerState state;
  const Misbehaviour none;
  static std::array<uint8_t, 70000> out;
  const Action a = respond(request, ctx, clock, state, policy, none, out);

  if (build && !corrupt) NTPKIT_FUZZ_CHECK(a.is_reply() && a.nts);  // a well-formed request gets time
  if (build && corrupt) NTPKIT_FUZZ_CHECK(!a.nts);                  // one changed octet never does
  if (!a.is_reply()) return 0;
  NTPKIT_FUZZ_CHECK(a.length <= request.size() + 3);  // RFC 8915 §5.7: padding of up to three octets
  const auto reply = parse(std::span<const uint8_t>(out.data(), a.length));
  NTPKIT_FUZZ_CHECK(reply.ok());
  const auto fields = nts::fields_of(*reply);
  if (a.nts_nak) {
    NTPKIT_FUZZ_CHECK(a.kiss_of_death && reply->header.stratum == 0);
    NTPKIT_FUZZ_CHECK(fields.cookies.empty() && fields.authenticators.empty());
  }
  if (a.nts) {
    // Only our own well-formed requests open, so the keys are the ones built into the cookie.
    NTPKIT_FUZZ_CHECK(build);
    const auto opened = nts::open_reply(*reply, uid, aead, keys.s2c);
    NTPKIT_FUZZ_CHECK(opened.authenticated && opened.unique_id_echoed);
    NTPKIT_FUZZ_CHECK(opened.cookies.size() == 1 + placeholders);
    for (const auto& c : opened.cookies) {
      const auto back = jar.open(c);
      NTPKIT_FUZZ_CHECK(back && back->c2s == keys.c2s && back->s2c == keys.s2c);
    }
  }
  return 0;
}
