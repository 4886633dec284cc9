// The server's answer logic, fed a structured prefix (receive time, policy switches) and the
// datagram, the way ntp.org's OSS-Fuzz harness feeds receive(). No misbehaviour is on.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "ntpkit/server/server.hpp"
#include "ntpkit/wire/parse.hpp"

namespace {
constexpr size_t kPrefix = 9;  // 8 bytes receive time, 1 byte policy bits
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  if (size < kPrefix) return 0;
  uint64_t rx = 0;
  for (size_t i = 0; i < 8; ++i) rx = rx << 8 | data[i];
  const uint8_t bits = data[8];
  const std::span<const uint8_t> request(data + kPrefix, size - kPrefix);

  Policy policy;
  policy.symmetric = (bits & 1) != 0 ? SymmetricPolicy::Reply : SymmetricPolicy::Ignore;
  policy.unknown_key = (bits & 2) != 0 ? UnknownKeyPolicy::Drop : UnknownKeyPolicy::CryptoNak;
  policy.version1_mode0 = (bits & 4) != 0 ? Version1Mode0Policy::Ignore : Version1Mode0Policy::Client;
  policy.interleaved = (bits & 0x20) == 0;
  RequestContext ctx{Timestamp::from_raw(rx), static_cast<RateVerdict>((bits >> 3) % 3), rx};
  // A client with an earlier exchange (RFC 9769): its saved receive is the request's origin
  // (an interleaved request) or the receive about to be stamped (a clash made unique).
  if ((bits & 0x40) != 0 && request.size() >= kHeaderLength) {
    const Header h = parse_header(request.first<kHeaderLength>());
    ctx.previous = InterleaveSlot{(bits & 0x80) != 0 ? h.origin : Timestamp::from_raw(rx), Timestamp::from_raw(rx - 5)};
  }
  const FixedClock clock(Timestamp::from_raw(rx + 1000));
  const ServerState state;
  const Misbehaviour none;
  static std::array<uint8_t, 70000> out;
  const Action a = respond(request, ctx, clock, state, policy, none, out);
  if (!a.is_reply()) return 0;

  NTPKIT_FUZZ_CHECK(a.length <= request.size());  // never amplifies
  const auto req = parse(request);
  NTPKIT_FUZZ_CHECK(req.ok());
  const auto reply = parse(std::span<const uint8_t>(out.data(), a.length));
  NTPKIT_FUZZ_CHECK(reply.ok());
  const Header& rq = req->header;
  const Header& rp = reply->header;
  NTPKIT_FUZZ_CHECK(rq.version >= 1 && rq.version <= 4);
  NTPKIT_FUZZ_CHECK(rp.version == rq.version);
  NTPKIT_FUZZ_CHECK(rp.mode == Mode::Server || (rp.mode == Mode::SymmetricPassive && rq.mode == Mode::SymmetricActive &&
                                                policy.symmetric == SymmetricPolicy::Reply));
  NTPKIT_FUZZ_CHECK(rp.poll == rq.poll);
  if (a.interleaved) {
    // Only when asked: the request names the saved receive and carries a receive of its own.
    NTPKIT_FUZZ_CHECK(policy.interleaved && ctx.previous && rq.origin == ctx.previous->receive);
    NTPKIT_FUZZ_CHECK(!rq.receive.is_zero() && rq.receive != rq.transmit);
    NTPKIT_FUZZ_CHECK(rp.origin == rq.receive);
  } else {
    NTPKIT_FUZZ_CHECK(rp.origin == rq.transmit);
  }
  // Unique per client: a receive equal to the saved one is moved by one unit.
  NTPKIT_FUZZ_CHECK(rp.receive == ctx.receive || (ctx.previous && ctx.receive == ctx.previous->receive &&
                                                  rp.receive.raw() == ctx.receive.raw() + 1));
  if (policy.interleaved && !a.kiss_of_death) NTPKIT_FUZZ_CHECK(rp.transmit != rp.receive);
  return 0;
}
