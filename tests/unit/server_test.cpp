// respond(): RFC 5905 server behaviour, every mode x VN, every policy and every misbehaviour.
#include "ntpkit/server/server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "fake_digests.hpp"
#include "ntpkit/auth/mac.hpp"
#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/server/interleave.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

// Every allocation in this test program is counted, so that a test can show that respond()
// makes none: the server calls it for every datagram.
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace
// GCC pairs the inlined free() with the library's operator new, not this one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace ntpkit {
namespace {

const Timestamp kReceive = Timestamp::from_parts(0xE6C69F5F, 0x10000000);
const Timestamp kNow = Timestamp::from_parts(0xE6C69F5F, 0x20000000);
const Timestamp kClientTransmit = Timestamp::from_parts(0x12345678, 0x9ABCDEF1);

ServerState test_state() {
  ServerState s;
  s.leap = Leap::NoWarning;
  s.stratum = 2;
  s.precision = -23;
  s.root_delay = ShortTime::from_raw(0x00000123);
  s.root_dispersion = ShortTime::from_raw(0x00000456);
  s.reference_id = ReferenceId::from_ipv4({192, 0, 2, 1});
  s.reference_time = Timestamp::from_parts(0xE6C69F00, 0);
  return s;
}

Packet request(uint8_t version = 4, Mode mode = Mode::Client) {
  Packet p;
  p.header.version = version;
  p.header.mode = mode;
  p.header.poll = 6;
  p.header.transmit = kClientTransmit;
  return p;
}

struct Outcome {
  Action action;
  std::vector<uint8_t> bytes;
  std::optional<Header> header() const {
    auto parsed = parse(bytes);
    if (!parsed) return std::nullopt;
    return parsed->header;
  }
};

using test::FakeDigests;

const auth::KeyStore& test_keys() {
  static const auth::KeyStore keys(
      {{1, auth::KeyType::Aes128Cmac, std::vector<uint8_t>(16, 0x11)}, {2, auth::KeyType::Sha1, {'s', 'h', 'a'}}});
  return keys;
}
const FakeDigests kFakeDigests;

// A request authenticated with `key_id` (of test_keys()), its digest broken if asked.
std::vector<uint8_t> signed_request(const Packet& p, uint32_t key_id, bool break_digest = false) {
  std::vector<uint8_t> b = serialize(p);
  const size_t n = b.size();
  b.resize(n + 4 + auth::kMaxDigest);
  b.resize(auth::append_mac(b, n, *test_keys().find(key_id), kFakeDigests));
  if (break_digest) b.back() ^= 1;
  return b;
}

struct Fixture {
  ServerState state = test_state();
  Policy policy;
  Misbehaviour mb;
  RequestContext ctx{kReceive, RateVerdict::Allow, 42};

  Outcome run(const std::vector<uint8_t>& req) const {
    FixedClock clock(kNow);
    std::vector<uint8_t> out(req.size() + kOversizePadding);
    Outcome o;
    o.action = respond(req, ctx, clock, state, policy, mb, out);
    if (o.action.is_reply()) o.bytes.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(o.action.length));
    return o;
  }
  Outcome run(const Packet& p) const { return run(serialize(p)); }
};

Misbehaviour with(std::string_view spec) {
  Misbehaviour m;
  auto r = add_misbehaviour(m, spec);
  EXPECT_TRUE(r.ok()) << spec;
  return m;
}

// RFC 9769 §2, interleaved client/server mode: a request whose origin is the receive timestamp
// of the client's last reply (and whose receive field is set) is answered with that reply's
// precise transmit time and the request's receive field as origin; anything else in basic mode.
const InterleaveSlot kPrevious{Timestamp::from_parts(0xE6C69F5E, 0x100), Timestamp::from_parts(0xE6C69F5E, 0x900)};

Packet interleaved_request(Timestamp origin) {
  Packet p = request();
  p.header.origin = origin;
  p.header.receive = Timestamp::from_parts(0xE6C69F5E, 0x5000);  // the client's receive time of that reply
  return p;
}

TEST(Interleaved, AnInterleavedRequestGetsTheEarlierRepliesTransmit) {
  Fixture f;
  f.ctx.previous = kPrevious;
  const Packet p = interleaved_request(kPrevious.receive);
  const auto o = f.run(p);
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_TRUE(o.action.interleaved);
  EXPECT_TRUE(o.action.remember);
  EXPECT_TRUE(o.action.stamp_departure);  // its client will want this reply's departure next
  const Header h = o.header().value();
  EXPECT_EQ(h.origin, p.header.receive);
  EXPECT_EQ(h.receive, kReceive);
  EXPECT_EQ(h.transmit, kPrevious.transmit);
  EXPECT_EQ(o.action.receive, kReceive);
  EXPECT_TRUE(conformance::is_interleaved(p.header, h));
}

TEST(Interleaved, AnythingElseIsAnsweredInBasicMode) {
  Fixture f;
  f.ctx.previous = kPrevious;
  for (const Packet& p :
       {request(), interleaved_request(Timestamp::from_parts(1, 2)), interleaved_request(kPrevious.transmit)}) {
    const auto o = f.run(p);
    ASSERT_TRUE(o.action.is_reply());
    EXPECT_FALSE(o.action.interleaved);
    EXPECT_EQ(o.header()->origin, p.header.transmit);
    EXPECT_EQ(o.header()->transmit, kNow);
  }
  EXPECT_FALSE(f.run(request()).action.stamp_departure);  // a basic client costs no kernel stamp
  Packet no_receive = interleaved_request(kPrevious.receive);
  no_receive.header.receive = Timestamp{};  // no receive field: nothing to copy as the origin
  EXPECT_FALSE(f.run(no_receive).action.interleaved);
  f.ctx.previous.reset();  // the table lost the client (a collision): basic
  EXPECT_FALSE(f.run(interleaved_request(kPrevious.receive)).action.interleaved);
  f.ctx.previous = kPrevious;
  f.policy.interleaved = false;  // --no-interleaved
  const auto o = f.run(interleaved_request(kPrevious.receive));
  EXPECT_FALSE(o.action.interleaved);
  EXPECT_FALSE(o.action.stamp_departure);
  EXPECT_EQ(o.header()->origin, kClientTransmit);
  f.policy.interleaved = true;
  f.ctx.rate = RateVerdict::KissOfDeath;  // a kiss-o'-death is never interleaved, nor remembered
  const auto kod = f.run(interleaved_request(kPrevious.receive));
  EXPECT_FALSE(kod.action.interleaved);
  EXPECT_FALSE(kod.action.remember);
}

TEST(Interleaved, ReceiveIsUniqueAndTransmitDiffersFromIt) {
  Fixture f;
  f.ctx.previous = InterleaveSlot{kReceive, kNow};
  auto h = f.run(request()).header().value();
  EXPECT_EQ(h.receive.raw(), kReceive.raw() + 1);  // not the last reply's: the client's origin names one reply
  f.ctx.previous.reset();
  f.ctx.receive = kNow;  // a clock too coarse to tell receive from transmit
  h = f.run(request()).header().value();
  EXPECT_EQ(h.receive, kNow);
  EXPECT_EQ(h.transmit.raw(), kNow.raw() + 1);
  f.policy.interleaved = false;  // a basic-only server may send them equal (RFC 5905 allows it)
  h = f.run(request()).header().value();
  EXPECT_EQ(h.transmit, h.receive);
}

TEST(Misbehave, InterleavedMisbehaviours) {
  Fixture f;
  f.ctx.previous = kPrevious;
  f.mb = with("interleaved-wrong-transmit");
  auto o = f.run(interleaved_request(kPrevious.receive));
  EXPECT_TRUE(o.action.interleaved);
  EXPECT_EQ(o.header()->transmit, kNow);  // its own, read now: after its receive, not the earlier reply's
  f.mb = with("interleaved-wrong-origin");
  o = f.run(interleaved_request(kPrevious.receive));
  EXPECT_TRUE(o.action.interleaved);
  EXPECT_EQ(o.header()->origin, kPrevious.receive);  // the request's origin: matches nothing the client sent
  f.mb = with("interleaved-always");
  const Packet basic = request();
  Packet asked_basic = basic;
  asked_basic.header.receive = Timestamp::from_parts(0xE6C69F5E, 0x7000);
  o = f.run(asked_basic);
  EXPECT_TRUE(o.action.interleaved);
  EXPECT_EQ(o.header()->origin, asked_basic.header.receive);  // not the request's transmit: a basic client drops it
}

TEST(InterleaveTableTest, BoundedByAddressAndACollisionReplaces) {
  InterleaveTable t(8);
  EXPECT_EQ(t.capacity(), 8U);
  const std::array<uint8_t, 4> a{127, 0, 0, 1};
  const std::array<uint8_t, 16> six{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1};
  EXPECT_FALSE(t.find(a).has_value());
  t.record(a, kPrevious);
  ASSERT_TRUE(t.find(a).has_value());
  EXPECT_EQ(t.find(a)->transmit, kPrevious.transmit);
  EXPECT_FALSE(t.find(six).has_value());  // another address, whatever its last bytes
  // Many clients: the table never grows; each client finds its own slot or nothing.
  for (uint32_t i = 0; i < 1000; ++i) {
    const std::array<uint8_t, 4> c{10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                   static_cast<uint8_t>(i)};
    t.record(c, {Timestamp::from_raw(i + 1), Timestamp::from_raw(i + 2)});
    const auto got = t.find(c);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->receive.raw(), i + 1U);
  }
  EXPECT_EQ(t.capacity(), 8U);
}

// --keys: RFC 5905 §9.2 and RFC 8573. A MAC that verifies gets a reply with a MAC of the same
// key over the reply; any other gets a crypto-NAK (or nothing); mode 1 only when it verifies.
TEST(Authentication, AValidMacGetsAReplyAuthenticatedWithTheSameKey) {
  Fixture f;
  f.policy.keys = &test_keys();
  f.policy.digests = &kFakeDigests;
  for (uint32_t id : {1U, 2U}) {
    const auto req = signed_request(request(), id);
    const auto o = f.run(req);
    ASSERT_TRUE(o.action.is_reply());
    EXPECT_TRUE(o.action.authenticated);
    EXPECT_EQ(o.bytes.size(), req.size());  // as long as the request, never longer
    const auto reply = parse(o.bytes);
    ASSERT_TRUE(reply.ok());
    const auto m = auth::verify_mac(*reply, test_keys(), kFakeDigests);
    EXPECT_EQ(m.check, auth::MacCheck::Valid);
    EXPECT_EQ(m.key_id, id);
  }
}

TEST(Authentication, AnUnknownKeyOrABadDigestGetsACryptoNakOrNothing) {
  Fixture f;
  f.policy.keys = &test_keys();
  f.policy.digests = &kFakeDigests;
  for (const auto& req : {signed_request(request(), 1, true), [] {
                            auto b = signed_request(request(), 1);
                            b[kHeaderLength + 3] = 7;  // key 7: not held
                            return b;
                          }()}) {
    auto o = f.run(req);
    ASSERT_TRUE(o.action.is_reply());
    EXPECT_TRUE(o.action.crypto_nak);
    EXPECT_FALSE(o.action.authenticated);
    EXPECT_EQ(o.bytes.size(), kHeaderLength + kCryptoNakLength);
    f.policy.unknown_key = UnknownKeyPolicy::Drop;
    o = f.run(req);
    EXPECT_FALSE(o.action.is_reply());
    f.policy.unknown_key = UnknownKeyPolicy::CryptoNak;
  }
  f.policy.unknown_key = UnknownKeyPolicy::Drop;
  EXPECT_EQ(f.run(signed_request(request(), 1, true)).action.reason, DropReason::BadMac);
}

TEST(Authentication, ModeOneIsAnsweredOnlyWhenItAuthenticates) {
  Fixture f;
  f.policy.keys = &test_keys();
  f.policy.digests = &kFakeDigests;
  f.policy.symmetric = SymmetricPolicy::Reply;
  Packet p = request();
  p.header.mode = Mode::SymmetricActive;
  const auto good = f.run(signed_request(p, 1));
  ASSERT_TRUE(good.action.is_reply());
  EXPECT_EQ(parse(good.bytes)->header.mode, Mode::SymmetricPassive);
  EXPECT_TRUE(good.action.authenticated);
  EXPECT_FALSE(f.run(signed_request(p, 1, true)).action.is_reply());  // CVE-2015-7871: never a mode 2
}

TEST(Respond, ClientRequestGetsFastXmitReply) {
  Fixture f;
  const auto o = f.run(request());
  ASSERT_TRUE(o.action.is_reply());
  ASSERT_EQ(o.bytes.size(), kHeaderLength);
  const auto h = o.header().value();
  EXPECT_EQ(h.mode, Mode::Server);
  EXPECT_EQ(h.version, 4);
  EXPECT_EQ(h.poll, 6);
  EXPECT_EQ(h.origin, kClientTransmit);  // byte for byte
  EXPECT_EQ(h.receive, kReceive);
  EXPECT_EQ(h.transmit, kNow);
  EXPECT_EQ(h.leap, Leap::NoWarning);
  EXPECT_EQ(h.stratum, 2);
  EXPECT_EQ(h.precision, -23);
  EXPECT_EQ(h.root_delay, f.state.root_delay);
  EXPECT_EQ(h.root_dispersion, f.state.root_dispersion);
  EXPECT_EQ(h.reference_id, f.state.reference_id);
  EXPECT_EQ(h.reference, f.state.reference_time);
}

TEST(Respond, AllocatesNothing) {
  Fixture f;
  Packet with_ef = request();
  with_ef.extensions.push_back({0x7777, std::vector<uint8_t>(28, 0), std::nullopt});
  Packet with_mac = request();
  with_mac.mac = Mac{7, std::vector<uint8_t>(16, 0xAB)};
  const std::vector<std::vector<uint8_t>> requests{serialize(request()), serialize(with_ef), serialize(with_mac),
                                                   serialize(request(0)), std::vector<uint8_t>(47, 0x23)};
  const FixedClock clock(kNow);
  std::array<uint8_t, 512> out{};
  {
    const uint64_t before = g_allocations.load();
    std::vector<uint8_t> probe(requests.size() * 3);
    ASSERT_GT(g_allocations.load(), before) << "the counter must see an allocation: " << probe.size();
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    for (RateVerdict rate : {RateVerdict::Allow, RateVerdict::KissOfDeath, RateVerdict::Drop}) {
      RequestContext ctx{kReceive, rate, 42};
      const uint64_t before = g_allocations.load();
      const Action a = respond(requests[i], ctx, clock, f.state, f.policy, f.mb, out);
      EXPECT_EQ(g_allocations.load(), before) << "request " << i;
      (void)a;
    }
  }
}

TEST(Respond, OriginIsCopiedBitForBitForOddTransmitValues) {
  Fixture f;
  for (uint64_t raw :
       {uint64_t{0}, ~uint64_t{0}, uint64_t{1}, uint64_t{0x00000001FFFFFFFF}, uint64_t{0x8000000000000000}}) {
    Packet p = request();
    p.header.transmit = Timestamp::from_raw(raw);
    const auto h = f.run(p).header().value();
    EXPECT_EQ(h.origin.raw(), raw);
  }
}

TEST(Respond, TransmitIsReadFromTheClockLast) {
  Fixture f;
  FixedClock clock(kNow, Duration::from_raw(1));
  std::vector<uint8_t> out(128);
  const auto req = serialize(request());
  const Action a = respond(req, f.ctx, clock, f.state, f.policy, f.mb, out);
  ASSERT_TRUE(a.is_reply());
  // The clock was read exactly once, for the transmit timestamp.
  EXPECT_EQ(clock.now(), kNow + Duration::from_raw(1));
}

TEST(Respond, EveryModeAndVersionCombination) {
  Fixture f;
  for (uint8_t vn = 0; vn <= 7; ++vn) {
    for (uint8_t m = 0; m <= 7; ++m) {
      SCOPED_TRACE("VN " + std::to_string(vn) + " mode " + std::to_string(m));
      const auto o = f.run(request(vn, static_cast<Mode>(m)));
      const bool version_ok = vn >= 1 && vn <= 4;
      const bool client = m == 3 || (vn == 1 && m == 0);
      if (version_ok && client) {
        ASSERT_TRUE(o.action.is_reply());
        const auto h = o.header().value();
        EXPECT_EQ(h.mode, Mode::Server);
        EXPECT_EQ(h.version, vn);  // VN echoed for 1..4
        EXPECT_EQ(h.origin, kClientTransmit);
      } else {
        ASSERT_FALSE(o.action.is_reply());
        if (!version_ok) {
          EXPECT_EQ(o.action.reason, DropReason::UnsupportedVersion);
        } else if (m == 1) {
          EXPECT_EQ(o.action.reason, DropReason::SymmetricIgnored);
        } else {
          EXPECT_EQ(o.action.reason, DropReason::ModeNotServed);
        }
      }
    }
  }
}

TEST(Respond, SymmetricReplyPolicyAnswersMode1WithMode2) {
  Fixture f;
  f.policy.symmetric = SymmetricPolicy::Reply;
  const auto o = f.run(request(4, Mode::SymmetricActive));
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_EQ(o.header()->mode, Mode::SymmetricPassive);
  EXPECT_EQ(o.header()->origin, kClientTransmit);
}

TEST(Respond, SymmetricActiveWithCryptoNakIsNeverAnswered) {
  // CVE-2015-7871: a mode-1 packet carrying a crypto-NAK must not get a valid mode 2.
  Fixture f;
  f.policy.symmetric = SymmetricPolicy::Reply;
  Packet p = request(4, Mode::SymmetricActive);
  p.mac = Mac{0, {}};
  const auto o = f.run(p);
  ASSERT_FALSE(o.action.is_reply());
  EXPECT_EQ(o.action.reason, DropReason::UnknownKey);
}

TEST(Respond, Version1Mode0Policy) {
  Fixture f;
  EXPECT_TRUE(f.run(request(1, Mode::Reserved)).action.is_reply());
  f.policy.version1_mode0 = Version1Mode0Policy::Ignore;
  const auto o = f.run(request(1, Mode::Reserved));
  ASSERT_FALSE(o.action.is_reply());
  EXPECT_EQ(o.action.reason, DropReason::ModeNotServed);
  // Mode 0 with other versions is never a client.
  f.policy.version1_mode0 = Version1Mode0Policy::Client;
  EXPECT_FALSE(f.run(request(2, Mode::Reserved)).action.is_reply());
}

TEST(Respond, UnknownKeyGetsCryptoNakNoLongerThanRequest) {
  Fixture f;
  for (size_t digest : {size_t{0}, size_t{16}, size_t{20}}) {
    Packet p = request();
    p.mac = Mac{7, std::vector<uint8_t>(digest, 0xAB)};
    const auto req = serialize(p);
    const auto o = f.run(req);
    ASSERT_TRUE(o.action.is_reply());
    EXPECT_TRUE(o.action.crypto_nak);
    ASSERT_EQ(o.bytes.size(), kHeaderLength + 4);
    EXPECT_LE(o.bytes.size(), req.size());
    auto parsed = parse(o.bytes);
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(parsed->mac.has_value());
    EXPECT_EQ(parsed->mac->kind, MacKind::CryptoNak);
    EXPECT_EQ(parsed->mac->key_id, 0U);
  }
}

TEST(Respond, UnknownKeyDropPolicy) {
  Fixture f;
  f.policy.unknown_key = UnknownKeyPolicy::Drop;
  Packet p = request();
  p.mac = Mac{7, std::vector<uint8_t>(16, 1)};
  const auto o = f.run(p);
  ASSERT_FALSE(o.action.is_reply());
  EXPECT_EQ(o.action.reason, DropReason::UnknownKey);
}

TEST(Respond, LegacyVersion3MacIsAnUnknownKey) {
  Fixture f;
  Packet p = request(3);
  p.mac = Mac{1, std::vector<uint8_t>(8, 0)};  // a 12-byte DES-era authenticator
  const auto o = f.run(p);
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_TRUE(o.action.crypto_nak);
}

TEST(Respond, UnknownExtensionFieldsAreIgnoredNotEchoed) {
  Fixture f;
  Packet p = request();
  p.extensions.push_back({0x7777, std::vector<uint8_t>(24, 0x55), std::nullopt});
  const auto req = serialize(p);
  const auto o = f.run(req);
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_EQ(o.bytes.size(), kHeaderLength);
  EXPECT_EQ(o.header()->origin, kClientTransmit);
}

TEST(Respond, MalformedFramingIsDropped) {
  Fixture f;
  const auto good = serialize(request());
  for (size_t n : {size_t{0}, size_t{1}, size_t{12}, size_t{47}}) {
    const auto o = f.run(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_FALSE(o.action.is_reply()) << n;
    EXPECT_EQ(o.action.reason, DropReason::Malformed) << n;
  }
  auto longer = good;
  longer.push_back(0);  // 49 bytes
  EXPECT_EQ(f.run(longer).action.reason, DropReason::Malformed);
  Packet bad = request();
  bad.extensions.push_back({1, std::vector<uint8_t>(24, 0), uint16_t{15}});
  EXPECT_EQ(f.run(bad).action.reason, DropReason::Malformed);
  bad.extensions.back().length_override = 200;  // overruns
  EXPECT_EQ(f.run(bad).action.reason, DropReason::Malformed);
}

TEST(Respond, AThousandBytesOfJunkIsDroppedOrAnsweredWithinLength) {
  Fixture f;
  std::vector<uint8_t> junk(1000);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 37 + 11);
  const auto o = f.run(junk);
  if (o.action.is_reply()) {
    EXPECT_LE(o.bytes.size(), junk.size());
  }
}

TEST(Respond, ReplyIsNeverLongerThanRequestWithoutMisbehaviour) {
  Fixture f;
  f.policy.symmetric = SymmetricPolicy::Reply;
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> req(48 + rng() % 80);
    for (auto& b : req) b = static_cast<uint8_t>(rng());
    if (i % 2 == 0) req[0] = static_cast<uint8_t>((rng() % 8) << 3 | 3);  // mostly client requests
    const auto o = f.run(req);
    if (o.action.is_reply()) {
      ASSERT_LE(o.bytes.size(), req.size()) << "iteration " << i;
    }
  }
}

TEST(Respond, RateLimitVerdicts) {
  Fixture f;
  f.ctx.rate = RateVerdict::KissOfDeath;
  const auto kod = f.run(request());
  ASSERT_TRUE(kod.action.is_reply());
  EXPECT_TRUE(kod.action.kiss_of_death);
  const auto h = kod.header().value();
  EXPECT_EQ(h.stratum, 0);
  EXPECT_EQ(h.reference_id.kiss_code(), KissCode::RATE);
  EXPECT_EQ(h.leap, Leap::Unsynchronized);
  EXPECT_EQ(h.origin, kClientTransmit);  // a KoD must carry the origin (RFC 5905 §7.4)
  f.ctx.rate = RateVerdict::Drop;
  EXPECT_EQ(f.run(request()).action.reason, DropReason::RateLimited);
}

// Each misbehaviour, and the field it breaks.
TEST(Misbehave, NoOriginCopyFlipsTheLowestBit) {
  Fixture f;
  f.mb = with("no-origin-copy");
  EXPECT_EQ(f.run(request()).header()->origin.raw(), kClientTransmit.raw() ^ 1U);
}

TEST(Misbehave, OriginZero) {
  Fixture f;
  f.mb = with("origin-zero");
  EXPECT_TRUE(f.run(request()).header()->origin.is_zero());
}

TEST(Misbehave, WrongMode) {
  Fixture f;
  f.mb = with("wrong-mode");
  EXPECT_EQ(f.run(request()).header()->mode, Mode::Client);
  f.mb = with("wrong-mode=5");
  EXPECT_EQ(f.run(request()).header()->mode, Mode::Broadcast);
}

TEST(Misbehave, FixedVersions) {
  Fixture f;
  f.mb = with("vn-fixed-3");
  EXPECT_EQ(f.run(request(4)).header()->version, 3);
  f.mb = with("vn-fixed-4");
  EXPECT_EQ(f.run(request(3)).header()->version, 4);
}

TEST(Misbehave, PollNotEchoed) {
  Fixture f;
  f.mb = with("poll-not-echoed");
  for (int8_t poll : {int8_t{6}, int8_t{10}, int8_t{-3}}) {
    Packet p = request();
    p.header.poll = poll;
    EXPECT_NE(f.run(p).header()->poll, poll);
  }
}

TEST(Misbehave, TransmitFaults) {
  Fixture f;
  f.mb = with("transmit-zero");
  EXPECT_TRUE(f.run(request()).header()->transmit.is_zero());
  f.mb = with("transmit-equals-receive");
  auto h = f.run(request()).header().value();
  EXPECT_EQ(h.transmit, h.receive);
  f.mb = with("receive-after-transmit");
  h = f.run(request()).header().value();
  EXPECT_LT((h.transmit - h.receive).raw(), 0);
}

TEST(Misbehave, Stratum0WithoutKiss) {
  Fixture f;
  f.mb = with("stratum-0-without-kiss");
  const auto h = f.run(request()).header().value();
  EXPECT_EQ(h.stratum, 0);
  EXPECT_FALSE(h.reference_id.kiss_code().has_value());
}

TEST(Misbehave, KissOfDeathFaults) {
  Fixture f;
  f.mb = with("kod-rate-always");
  auto h = f.run(request()).header().value();
  EXPECT_EQ(h.stratum, 0);
  EXPECT_EQ(h.reference_id.kiss_code(), KissCode::RATE);
  EXPECT_EQ(h.origin, kClientTransmit);
  f.mb = with("kod-without-origin");
  h = f.run(request()).header().value();
  EXPECT_EQ(h.reference_id.kiss_code(), KissCode::RATE);
  EXPECT_TRUE(h.origin.is_zero());
}

TEST(Misbehave, LeapAlarm) {
  Fixture f;
  f.mb = with("leap-alarm");
  const auto h = f.run(request()).header().value();
  EXPECT_EQ(h.leap, Leap::Unsynchronized);
  EXPECT_EQ(h.stratum, 2);
}

TEST(Misbehave, AnswerAllVersionsAndModes) {
  Fixture f;
  f.mb = with("answer-all-versions");
  for (uint8_t vn : {uint8_t{0}, uint8_t{5}, uint8_t{6}, uint8_t{7}}) {
    const auto o = f.run(request(vn));
    ASSERT_TRUE(o.action.is_reply()) << int{vn};
    EXPECT_EQ(o.header()->version, vn);
  }
  f.mb = with("answer-all-modes");
  for (uint8_t m : {uint8_t{0}, uint8_t{2}, uint8_t{4}, uint8_t{5}, uint8_t{6}, uint8_t{7}}) {
    const auto o = f.run(request(4, static_cast<Mode>(m)));
    ASSERT_TRUE(o.action.is_reply()) << int{m};
    EXPECT_EQ(o.header()->mode, Mode::Server);
  }
}

TEST(Misbehave, OversizeReplyIsLongerThanTheRequest) {
  Fixture f;
  f.mb = with("oversize-reply");
  const auto req = serialize(request());
  const auto o = f.run(req);
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_GT(o.bytes.size(), req.size());
  EXPECT_TRUE(parse(o.bytes).ok());  // still well framed: only its length is wrong
}

// A MAC of key 65000 after the header: 4 octets of key id and 16 of digest, parsed as a MAC.
TEST(Misbehave, MacUnknownKeyAppendsAMacNoKeyVerifies) {
  Fixture f;
  f.mb = with("mac-unknown-key");
  const auto o = f.run(serialize(request()));
  ASSERT_TRUE(o.action.is_reply());
  ASSERT_EQ(o.bytes.size(), kHeaderLength + 20);
  EXPECT_EQ(o.bytes[kHeaderLength + 2], 0xFD);
  EXPECT_EQ(o.bytes[kHeaderLength + 3], 0xE8);
  auto parsed = parse(o.bytes);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->mac.has_value());
  EXPECT_EQ(parsed->mac->key_id, 65000U);
}

TEST(Misbehave, EchoExtensionFields) {
  Fixture f;
  f.mb = with("echo-extension-fields");
  Packet p = request();
  p.extensions.push_back({0x7777, std::vector<uint8_t>(24, 0x55), std::nullopt});
  const auto o = f.run(p);
  auto parsed = parse(o.bytes);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->extension_count, 1U);
  EXPECT_EQ((*parsed->extensions().begin()).type, 0x7777);
}

TEST(Misbehave, GarbageReplyHasTheRequestsLength) {
  Fixture f;
  f.mb = with("garbage-reply");
  const auto req = serialize(request());
  const auto o = f.run(req);
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_EQ(o.bytes.size(), req.size());
  EXPECT_NE(o.header().value_or(Header{}).origin, kClientTransmit);
}

TEST(Misbehave, TruncatedReplyIsShortOfAHeader) {
  Fixture f;
  f.mb = with("truncated-reply");
  const auto o = f.run(request());
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_EQ(o.bytes.size(), kHeaderLength - 1);
  EXPECT_FALSE(parse(o.bytes).ok());
}

TEST(Misbehave, DuplicateDelayAndDrop) {
  Fixture f;
  f.mb = with("duplicate-reply");
  EXPECT_EQ(f.run(request()).action.copies, 2);
  f.mb = with("delay=250");
  EXPECT_EQ(f.run(request()).action.delay_ms, 250U);
  f.mb = with("drop-percent=100");
  EXPECT_EQ(f.run(request()).action.reason, DropReason::Misbehaviour);
  f.mb = with("drop-percent=0");
  EXPECT_TRUE(f.run(request()).action.is_reply());
  // 50 %: over many random draws both outcomes occur, roughly half each.
  f.mb = with("drop-percent=50");
  int dropped = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    f.ctx.random = i * 0x9E3779B97F4A7C15ULL;
    dropped += f.run(request()).action.is_reply() ? 0 : 1;
  }
  EXPECT_GT(dropped, 400);
  EXPECT_LT(dropped, 600);
}

TEST(Misbehave, OversizeReplyWithMalformedRequestsOfEveryShortLength) {
  // The padding is computed from the reply, so a request shorter than a header cannot make it
  // wrap around (it once did, and wrote past the buffer).
  Fixture f;
  f.mb = with("answer-malformed");
  ASSERT_TRUE(add_misbehaviour(f.mb, "oversize-reply").ok());
  const auto full = serialize(request());
  for (size_t n = 0; n <= kHeaderLength; ++n) {
    const auto o = f.run(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    ASSERT_TRUE(o.action.is_reply()) << n;
    EXPECT_GT(o.bytes.size(), n) << n;
    EXPECT_TRUE(parse(o.bytes).ok()) << n;  // the padding is a well-formed extension field
  }
}

TEST(Misbehave, AnswerMalformedAnswersShortDatagrams) {
  Fixture f;
  f.mb = with("answer-malformed");
  const auto req = serialize(request());
  const auto o = f.run(std::vector<uint8_t>(req.begin(), req.begin() + 12));
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_EQ(o.bytes.size(), kHeaderLength);  // longer than the 12-byte request: that is the fault
}

TEST(Misbehave, IgnoreMacAnswersWithoutCryptoNak) {
  Fixture f;
  f.mb = with("ignore-mac");
  Packet p = request();
  p.mac = Mac{7, std::vector<uint8_t>(16, 1)};
  const auto o = f.run(p);
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_FALSE(o.action.crypto_nak);
  EXPECT_EQ(o.bytes.size(), kHeaderLength);
}

// auth-header-only-digest: the digest checked over the header alone, so a MAC after an
// extension field (computed, as RFC 5905 §7.3 says, over both) is refused; without one it verifies.
TEST(Misbehave, HeaderOnlyDigestRefusesAMacAfterAnExtensionField) {
  Fixture f;
  f.policy.keys = &test_keys();
  f.policy.digests = &kFakeDigests;
  f.mb = with("auth-header-only-digest");
  Packet with_ef = request();
  with_ef.extensions.push_back({0x7777, std::vector<uint8_t>(24, 0x55), std::nullopt});
  auto o = f.run(signed_request(with_ef, 1));
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_TRUE(o.action.crypto_nak);
  o = f.run(signed_request(request(), 1));
  ASSERT_TRUE(o.action.is_reply());
  EXPECT_TRUE(o.action.authenticated);
  f.mb = Misbehaviour{};
  o = f.run(signed_request(with_ef, 1));  // the plain server verifies over both
  EXPECT_TRUE(o.action.authenticated);
}

TEST(Misbehave, StratumAndReferenceFaults) {
  Fixture f;
  f.mb = with("stratum=17");
  EXPECT_EQ(f.run(request()).header()->stratum, 17);
  f.mb = with("reference-stale");
  auto h = f.run(request()).header().value();
  EXPECT_EQ(h.transmit - h.reference, Duration::from_seconds(864000));
  f.mb = with("reference-future");
  h = f.run(request()).header().value();
  EXPECT_EQ(h.reference - h.transmit, Duration::from_seconds(3600));
}

TEST(Misbehave, TimeOffsetShiftsServerTimestamps) {
  Fixture f;
  f.mb = with("time-offset=-2.5");
  const auto h = f.run(request()).header().value();
  EXPECT_EQ(h.receive - kReceive, -Duration::from_nanoseconds(2'500'000'000));
  EXPECT_EQ(h.transmit - kNow, -Duration::from_nanoseconds(2'500'000'000));
  EXPECT_EQ(h.origin, kClientTransmit);
}

TEST(Misbehave, EveryCatalogueEntryChangesTheOutcome) {
  // A misbehaviour that changes nothing would make its probe case unfailable.
  Fixture plain;
  Packet p = request();
  p.extensions.push_back({0x7777, std::vector<uint8_t>(24, 0x55), std::nullopt});
  for (const auto& info : fault_catalogue()) {
    SCOPED_TRACE(std::string(info.name));
    Fixture f;
    std::string spec(info.name);
    if (!info.examples.empty()) spec += "=" + std::string(info.examples.substr(0, info.examples.find(',')));
    f.mb = with(spec);
    // The NTS misbehaviours act on NTS requests and on the KE server: nts_server_test pins them.
    if (info.name.rfind("nts-", 0) == 0) continue;
    if (info.name.rfind("auth-", 0) == 0) {
      // The authentication misbehaviours act on authenticated requests of a server with keys.
      for (Fixture* x : {&f, &plain}) {
        x->policy.keys = &test_keys();
        x->policy.digests = &kFakeDigests;
      }
      // auth-header-only-digest shows only where the MAC follows an extension field.
      const auto req = signed_request(info.fault == Fault::AuthHeaderOnlyDigest ? p : request(), 1,
                                      info.fault == Fault::AuthAcceptBadDigest);
      const auto o = f.run(req);
      const auto base = plain.run(req);
      EXPECT_FALSE(o.action.is_reply() == base.action.is_reply() && o.bytes == base.bytes);
      plain.policy = Policy{};
      continue;
    }
    Packet q = p;
    plain.ctx.previous.reset();
    if (info.fault == Fault::AnswerAllVersions) q.header.version = 5;
    if (info.fault == Fault::AnswerAllModes) q.header.mode = Mode::Control;
    if (info.fault == Fault::VnFixed4) q.header.version = 3;
    if (info.fault == Fault::AnswerMalformed) q.extensions.back().length_override = 15;
    if (info.fault == Fault::IgnoreMac) q.mac = Mac{5, std::vector<uint8_t>(16, 0)};
    if (info.fault == Fault::InterleavedWrongTransmit || info.fault == Fault::InterleavedWrongOrigin ||
        info.fault == Fault::InterleavedAlways || info.fault == Fault::InterleavedReuse) {
      // They act on a client with an earlier exchange: one that asks for interleaved mode, or not.
      f.ctx.previous = plain.ctx.previous = kPrevious;
      q.header.receive = Timestamp::from_parts(0xE6C69F5E, 0x5000);
      if (info.fault != Fault::InterleavedAlways) q.header.origin = kPrevious.receive;
    }
    const auto o = f.run(q);
    if (info.fault == Fault::AnswerAllVersions || info.fault == Fault::AnswerAllModes) {
      EXPECT_TRUE(o.action.is_reply());
      EXPECT_FALSE(plain.run(q).action.is_reply());
      continue;
    }
    const auto base = plain.run(q);
    const bool same = o.action.is_reply() == base.action.is_reply() && o.bytes == base.bytes &&
                      o.action.copies == base.action.copies && o.action.delay_ms == base.action.delay_ms &&
                      o.action.from_other_port == base.action.from_other_port &&
                      o.action.remember == base.action.remember;
    EXPECT_FALSE(same);
  }
}

}  // namespace
}  // namespace ntpkit

namespace ntpkit {
namespace {

// --leap auto: the kernel's state decides LI, and an unsynchronized clock is announced as
// stratum 0 with INIT, never LI 3 beside a synchronized stratum (rfc5905/7.3/leap-consistent).
TEST(Announce, AnUnsynchronizedClockIsStratumZeroWithInit) {
  ServerState configured;
  configured.stratum = 2;
  configured.reference_id = ReferenceId::from_ipv4({192, 0, 2, 1});
  const ServerState s = announce(configured, Leap::Unsynchronized);
  EXPECT_EQ(s.leap, Leap::Unsynchronized);
  EXPECT_EQ(s.stratum, 0);
  ASSERT_TRUE(s.reference_id.kiss_code().has_value());
  EXPECT_EQ(*s.reference_id.kiss_code(), KissCode::INIT);
  Header h;
  h.leap = s.leap;
  h.stratum = s.stratum;
  h.reference_id = s.reference_id;
  EXPECT_EQ(conformance::classify(h), conformance::ReplyKind::Unsynchronized);
}

TEST(Announce, ASynchronizedClockKeepsTheConfiguredStratumAndRefid) {
  ServerState configured;
  configured.stratum = 2;
  configured.reference_id = ReferenceId::from_ipv4({192, 0, 2, 1});
  for (Leap l : {Leap::NoWarning, Leap::AddSecond, Leap::DeleteSecond}) {
    const ServerState s = announce(configured, l);
    EXPECT_EQ(s.leap, l);
    EXPECT_EQ(s.stratum, 2);
    EXPECT_EQ(s.reference_id, configured.reference_id);
  }
}

}  // namespace
}  // namespace ntpkit
