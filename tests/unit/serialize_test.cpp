// Serialization: exact wire bytes, the parse -> to_packet -> serialize round trip, and
// deliberately malformed output that the parser must reject with the matching error.
#include "ntpkit/wire/serialize.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <vector>

#include "ntpkit/wire/parse.hpp"

namespace ntpkit {
namespace {

using Bytes = std::vector<uint8_t>;

// Seed for the randomized loops: random per run, replayable with NTPKIT_TEST_SEED=<seed>.
uint64_t test_seed() {
  if (const char* env = std::getenv("NTPKIT_TEST_SEED")) return std::strtoull(env, nullptr, 0);
  std::random_device rd;
  return (uint64_t{rd()} << 32) | rd();
}

Header sample_header() {
  Header h;
  h.leap = Leap::Unsynchronized;
  h.version = 4;
  h.mode = Mode::Server;
  h.stratum = 2;
  h.poll = -6;
  h.precision = -20;
  h.root_delay = ShortTime::from_raw(0x00012345U);
  h.root_dispersion = ShortTime::from_raw(0x0000abcdU);
  h.reference_id = ReferenceId::from_ipv4({192, 0, 2, 1});
  h.reference = Timestamp::from_raw(0xe6f1a2b300000001ULL);
  h.origin = Timestamp::from_raw(0x0102030405060708ULL);
  h.receive = Timestamp::from_raw(0x8090a0b0c0d0e0f0ULL);
  h.transmit = Timestamp::from_raw(0xfffffffffffffffeULL);
  return h;
}

Packet packet_with_version(uint8_t version) {
  Packet p;
  p.header.version = version;
  p.header.mode = Mode::Server;
  return p;
}

TEST(SerializeHeader, WritesEveryFieldBigEndian) {
  const Bytes expected = {
      0xe4, 0x02, 0xfa, 0xec,                          //
      0x00, 0x01, 0x23, 0x45,                          //
      0x00, 0x00, 0xab, 0xcd,                          //
      0xc0, 0x00, 0x02, 0x01,                          //
      0xe6, 0xf1, 0xa2, 0xb3, 0x00, 0x00, 0x00, 0x01,  //
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  //
      0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0,  //
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,  //
  };
  const auto out = serialize_header(sample_header());
  EXPECT_EQ(Bytes(out.begin(), out.end()), expected);
  EXPECT_EQ(parse_header(out), sample_header());
}

TEST(SerializeHeader, VersionIsMaskedToThreeBits) {
  Header h;
  h.leap = Leap::NoWarning;
  h.mode = Mode::Client;
  h.version = 9;  // 0b1001: only 0b001 reaches the wire
  EXPECT_EQ(serialize_header(h)[0], 0x0b);
}

TEST(Serialize, HeaderOnlyIs48Bytes) {
  Packet p;
  p.header = sample_header();
  EXPECT_EQ(serialized_size(p), 48U);
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 48U);
  const auto h = serialize_header(p.header);
  EXPECT_EQ(out, Bytes(h.begin(), h.end()));
}

TEST(Serialize, ExtensionFieldsThenMacThenTrailing) {
  Packet p = packet_with_version(4);
  p.extensions.push_back({0x0104, Bytes(12, 0x11), std::nullopt});
  p.mac = Mac{0x01020304U, Bytes(16, 0xaa)};
  p.trailing = {0xee};
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 48U + 16 + 20 + 1);
  EXPECT_EQ(serialized_size(p), out.size());
  const Bytes ef_header(out.begin() + 48, out.begin() + 52);
  EXPECT_EQ(ef_header, (Bytes{0x01, 0x04, 0x00, 0x10}));
  EXPECT_EQ(Bytes(out.begin() + 52, out.begin() + 64), Bytes(12, 0x11));
  EXPECT_EQ(Bytes(out.begin() + 64, out.begin() + 68), (Bytes{0x01, 0x02, 0x03, 0x04}));
  EXPECT_EQ(Bytes(out.begin() + 68, out.begin() + 84), Bytes(16, 0xaa));
  EXPECT_EQ(out.back(), 0xee);
}

TEST(Serialize, CryptoNakIsTheKeyIdAlone) {
  Packet p = packet_with_version(4);
  p.mac = Mac{0, {}};
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 52U);
  EXPECT_EQ(Bytes(out.begin() + 48, out.end()), (Bytes{0, 0, 0, 0}));
  auto v = parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->mac->kind, MacKind::CryptoNak);
}

// --- Malformed on purpose ----------------------------------------------------------------------

struct Malformed {
  const char* what;
  uint16_t length_override;
  size_t value_size;
  ParseErrorCode code;
};

TEST(SerializeMalformed, LengthOverrideIsWrittenVerbatimAndRejected) {
  const Malformed cases[] = {
      {"below minimum", 15, 12, ParseErrorCode::ExtensionTooShort},
      {"zero", 0, 12, ParseErrorCode::ExtensionTooShort},
      {"not aligned", 18, 24, ParseErrorCode::ExtensionNotAligned},
      {"past the end", 64, 24, ParseErrorCode::ExtensionOverrun},
      {"one word past the end", 32, 24, ParseErrorCode::ExtensionOverrun},
  };
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.what);
    Packet p = packet_with_version(4);
    p.extensions.push_back({0x0104, Bytes(c.value_size, 0x5a), c.length_override});
    const Bytes out = serialize(p);
    ASSERT_EQ(out.size(), 48 + 4 + c.value_size);
    EXPECT_EQ(out[48], 0x01);
    EXPECT_EQ(out[49], 0x04);
    EXPECT_EQ(out[50], static_cast<uint8_t>(c.length_override >> 8));
    EXPECT_EQ(out[51], static_cast<uint8_t>(c.length_override));
    auto r = parse(out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), (ParseError{c.code, 50}));
  }
}

TEST(SerializeMalformed, OverrideOnTheSecondFieldPointsAtItsLengthField) {
  Packet p = packet_with_version(4);
  p.extensions.push_back({1, Bytes(12, 0), std::nullopt});
  p.extensions.push_back({2, Bytes(24, 0), uint16_t{20}});  // 28 bytes on the wire, says 20
  // Field 2 consumes 20 of its 28 bytes; the remaining 8 are neither a field nor a MAC.
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 48U + 16 + 28);
  EXPECT_EQ(out[66], 0);
  EXPECT_EQ(out[67], 20);
  auto r = parse(out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (ParseError{ParseErrorCode::TrailerTooShort, 84}));
}

TEST(SerializeMalformed, TrailingBytesAfterTheHeader) {
  Packet p = packet_with_version(4);
  p.trailing = {1, 2, 3};
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 51U);
  EXPECT_EQ(Bytes(out.begin() + 48, out.end()), (Bytes{1, 2, 3}));
  auto r = parse(out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (ParseError{ParseErrorCode::TrailerTooShort, 48}));

  Packet v3 = packet_with_version(3);
  v3.trailing = {1, 2};
  auto r3 = parse(serialize(v3));
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error(), (ParseError{ParseErrorCode::MacTooShort, 48}));
}

TEST(SerializeMalformed, TrailingBytesAfterAnExtensionField) {
  Packet p = packet_with_version(4);
  p.extensions.push_back({1, Bytes(24, 0x77), std::nullopt});
  p.trailing = {9, 9, 9, 9, 9};
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 48U + 28 + 5);
  EXPECT_EQ(Bytes(out.end() - 5, out.end()), Bytes(5, 9));
  auto r = parse(out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (ParseError{ParseErrorCode::TrailerTooShort, 76}));
}

TEST(SerializeMalformed, UnpaddedValueIsNotAligned) {
  Packet p = packet_with_version(4);
  p.extensions.push_back({1, Bytes(13, 0), std::nullopt});  // length 17 written as is
  const Bytes out = serialize(p);
  ASSERT_EQ(out.size(), 65U);
  EXPECT_EQ(out[51], 17);
  auto r = parse(out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (ParseError{ParseErrorCode::ExtensionNotAligned, 50}));
}

// --- serialize_into -----------------------------------------------------------------------------

TEST(SerializeInto, TooSmallBufferReturnsZero) {
  Packet p = packet_with_version(4);
  p.extensions.push_back({1, Bytes(12, 0), std::nullopt});
  p.mac = Mac{1, Bytes(16, 0)};
  ASSERT_EQ(serialized_size(p), 84U);

  Bytes small(83, 0xcc);
  EXPECT_EQ(serialize_into(p, small), 0U);
  Bytes tiny(47, 0xcc);
  EXPECT_EQ(serialize_into(p, tiny), 0U);
  EXPECT_EQ(serialize_into(p, std::span<uint8_t>{}), 0U);

  Bytes exact(84, 0xcc);
  EXPECT_EQ(serialize_into(p, exact), 84U);
  EXPECT_EQ(exact, serialize(p));
}

TEST(SerializeInto, LargerBufferIsWrittenOnlyAsFarAsThePacket) {
  Packet p = packet_with_version(4);
  p.trailing = {1, 2, 3, 4};
  Bytes big(100, 0xcc);
  ASSERT_EQ(serialize_into(p, big), 52U);
  EXPECT_EQ(Bytes(big.begin(), big.begin() + 52), serialize(p));
  for (size_t i = 52; i < big.size(); ++i) EXPECT_EQ(big[i], 0xcc) << i;

  Packet header_only = packet_with_version(4);
  Bytes exact(48, 0);
  EXPECT_EQ(serialize_into(header_only, exact), 48U);
}

// --- Round trip ------------------------------------------------------------------------------

// A random packet the parser accepts and to_packet reproduces: RFC 7822 lengths (multiples of 4,
// at least 16; the last at least 28 without a MAC) and no layout where the remainder at a field
// would have a MAC's size.
Packet random_valid_packet(std::mt19937_64& rng) {
  auto u8 = [&] { return static_cast<uint8_t>(rng()); };
  auto pick = [&](uint64_t n) { return rng() % n; };
  Packet p;
  Header& h = p.header;
  h.leap = static_cast<Leap>(pick(4));
  h.version = static_cast<uint8_t>(pick(8));
  h.mode = static_cast<Mode>(pick(8));
  h.stratum = u8();
  h.poll = static_cast<int8_t>(u8());
  h.precision = static_cast<int8_t>(u8());
  h.root_delay = ShortTime::from_raw(static_cast<uint32_t>(rng()));
  h.root_dispersion = ShortTime::from_raw(static_cast<uint32_t>(rng()));
  h.reference_id = ReferenceId::from_raw(static_cast<uint32_t>(rng()));
  h.reference = Timestamp::from_raw(rng());
  h.origin = Timestamp::from_raw(rng());
  h.receive = Timestamp::from_raw(rng());
  h.transmit = Timestamp::from_raw(rng());

  constexpr size_t kDigestSizes[] = {0, 16, 20};
  const bool has_mac = pick(2) == 0;
  size_t digest_size = kDigestSizes[pick(3)];
  if (h.version < kCurrentVersion) {
    // Before NTPv4 the whole trailer is a MAC; legacy sizes are allowed as well.
    if (has_mac) {
      if (pick(4) == 0) digest_size = 8;
      Bytes digest(digest_size);
      for (auto& b : digest) b = u8();
      p.mac = Mac{static_cast<uint32_t>(rng()), digest};
    }
    return p;
  }

  const size_t count = pick(4);
  for (size_t i = 0; i < count; ++i) {
    const bool last = i + 1 == count;
    size_t min_length = 16;
    if (last && !has_mac) min_length = 28;
    if (last && has_mac && digest_size == 0) min_length = 24;  // 16 + 4 or 20 + 4 would read as a MAC
    const size_t length = min_length + 4 * pick(13);
    ExtensionField ef;
    ef.type = static_cast<uint16_t>(rng());
    ef.value.resize(length - 4);
    for (auto& b : ef.value) b = u8();
    p.extensions.push_back(std::move(ef));
  }
  if (has_mac) {
    Bytes digest(digest_size);
    for (auto& b : digest) b = u8();
    p.mac = Mac{static_cast<uint32_t>(rng()), digest};
  }
  return p;
}

TEST(SerializeRoundTrip, RandomValidPacketsSurviveParseToPacketSerialize) {
  const uint64_t seed = test_seed();
  std::cout << "[ seed     ] NTPKIT_TEST_SEED=" << seed << '\n';
  SCOPED_TRACE("NTPKIT_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  size_t with_extensions = 0;
  size_t with_mac = 0;
  for (int i = 0; i < 20'000; ++i) {
    const Packet original = random_valid_packet(rng);
    const Bytes bytes = serialize(original);
    ASSERT_EQ(bytes.size(), serialized_size(original)) << "packet " << i;
    auto view = parse(bytes);
    ASSERT_TRUE(view.ok()) << "packet " << i << ": " << describe(view.error());
    ASSERT_EQ(view->extension_count, original.extensions.size()) << "packet " << i;
    const Packet back = to_packet(*view);
    ASSERT_EQ(back, original) << "packet " << i;
    ASSERT_EQ(serialize(back), bytes) << "packet " << i;
    with_extensions += original.extensions.empty() ? 0 : 1;
    with_mac += original.mac ? 1 : 0;
  }
  // The generator reaches the interesting shapes.
  EXPECT_GT(with_extensions, 1000U);
  EXPECT_GT(with_mac, 1000U);
}

}  // namespace
}  // namespace ntpkit
