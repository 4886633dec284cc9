// Framing: the header decode, RFC 7822 extension-field walk, MAC detection, and the error code
// and byte offset for each way a datagram can be malformed.
#include "ntpkit/wire/parse.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ntpkit {
namespace {

constexpr uint8_t kVn4Server = 0x24;  // LI 0, VN 4, mode 4
constexpr uint8_t kVn3Server = 0x1c;  // LI 0, VN 3, mode 4

using Bytes = std::vector<uint8_t>;

Bytes header(uint8_t li_vn_mode = kVn4Server) {
  Bytes b(kHeaderLength, 0);
  b[0] = li_vn_mode;
  return b;
}

void put_u16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// Appends an extension field of `size` bytes whose length field says `length_field`; the value
// bytes are `fill`.
void append_ef_sized(Bytes& b, uint16_t type, uint16_t length_field, size_t size, uint8_t fill = 0x5a) {
  const size_t at = b.size();
  b.resize(at + size, fill);
  put_u16(b, at, type);
  put_u16(b, at + 2, length_field);
}
void append_ef(Bytes& b, uint16_t type, uint16_t length, uint8_t fill = 0x5a) {
  append_ef_sized(b, type, length, length, fill);
}

void append_mac(Bytes& b, uint32_t key_id, size_t digest_size, uint8_t fill = 0xd1) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(key_id >> shift));
  b.insert(b.end(), digest_size, fill);
}

ParseError error_of(const Bytes& b) {
  auto r = parse(b);
  EXPECT_FALSE(r.ok()) << "size " << b.size() << " parsed";
  return r.ok() ? ParseError{} : r.error();
}

// --- Header decode -----------------------------------------------------------------------------

TEST(ParseHeader, EveryFieldFromHandWrittenBytes) {
  const std::array<uint8_t, kHeaderLength> b = {
      0xe4,                                            // LI 3, VN 4, mode 4
      0x02,                                            // stratum 2
      0xfa,                                            // poll -6
      0xec,                                            // precision -20
      0x00, 0x01, 0x23, 0x45,                          // root delay
      0x00, 0x00, 0xab, 0xcd,                          // root dispersion
      0xc0, 0x00, 0x02, 0x01,                          // reference id 192.0.2.1
      0xe6, 0xf1, 0xa2, 0xb3, 0x00, 0x00, 0x00, 0x01,  // reference
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // origin
      0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0,  // receive
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,  // transmit
  };
  const Header h = parse_header(b);
  EXPECT_EQ(h.leap, Leap::Unsynchronized);
  EXPECT_EQ(h.version, 4);
  EXPECT_EQ(h.mode, Mode::Server);
  EXPECT_EQ(h.stratum, 2);
  EXPECT_EQ(h.poll, -6);
  EXPECT_EQ(h.precision, -20);
  EXPECT_EQ(h.root_delay.raw(), 0x00012345U);
  EXPECT_EQ(h.root_dispersion.raw(), 0x0000abcdU);
  EXPECT_EQ(h.reference_id.ipv4(), "192.0.2.1");
  EXPECT_EQ(h.reference.raw(), 0xe6f1a2b300000001ULL);
  EXPECT_EQ(h.origin.raw(), 0x0102030405060708ULL);
  EXPECT_EQ(h.receive.raw(), 0x8090a0b0c0d0e0f0ULL);
  EXPECT_EQ(h.transmit.raw(), 0xfffffffffffffffeULL);

  // parse() decodes the same header.
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->header, h);
}

TEST(ParseHeader, LeapVersionModeBits) {
  struct Case {
    uint8_t byte;
    Leap leap;
    uint8_t version;
    Mode mode;
  };
  const Case cases[] = {
      {0x00, Leap::NoWarning, 0, Mode::Reserved},
      {0x1b, Leap::NoWarning, 3, Mode::Client},
      {0x23, Leap::NoWarning, 4, Mode::Client},
      {0x55, Leap::AddSecond, 2, Mode::Broadcast},
      {0x8e, Leap::DeleteSecond, 1, Mode::Control},
      {0xbf, Leap::DeleteSecond, 7, Mode::Private},
      {0xf9, Leap::Unsynchronized, 7, Mode::SymmetricActive},
      {0xc2, Leap::Unsynchronized, 0, Mode::SymmetricPassive},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(int{c.byte});
    std::array<uint8_t, kHeaderLength> b{};
    b[0] = c.byte;
    const Header h = parse_header(b);
    EXPECT_EQ(h.leap, c.leap);
    EXPECT_EQ(h.version, c.version);
    EXPECT_EQ(h.mode, c.mode);
  }
}

TEST(ParseHeader, PollAndPrecisionAreSigned) {
  std::array<uint8_t, kHeaderLength> b{};
  b[2] = 0x7f;
  b[3] = 0x80;
  EXPECT_EQ(parse_header(b).poll, 127);
  EXPECT_EQ(parse_header(b).precision, -128);
  b[2] = 0xff;
  b[3] = 0x00;
  EXPECT_EQ(parse_header(b).poll, -1);
  EXPECT_EQ(parse_header(b).precision, 0);
}

// --- Lengths without extension fields --------------------------------------------------------

TEST(ParseLength, ShorterThanTheHeaderIsTooShortAtItsSize) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{47}}) {
    SCOPED_TRACE(n);
    const Bytes b(n, 0x24);
    EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::TooShort, n}));
  }
}

TEST(ParseLength, ExactlyTheHeaderParses) {
  auto v = parse(header());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size(), 48U);
  EXPECT_EQ(v->extension_count, 0U);
  EXPECT_EQ(v->extensions_end, 48U);
  EXPECT_TRUE(v->extensions().empty());
  EXPECT_FALSE(v->mac.has_value());
}

TEST(ParseLength, OneTrailingByteIsTrailerTooShortForVn4) {
  Bytes b = header(kVn4Server);
  b.push_back(0);
  EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::TrailerTooShort, 48}));
}

TEST(ParseLength, OneToThreeTrailingBytesAreMacTooShortForVn3) {
  for (size_t extra : {size_t{1}, size_t{2}, size_t{3}}) {
    SCOPED_TRACE(extra);
    Bytes b = header(kVn3Server);
    b.resize(48 + extra, 0);
    EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::MacTooShort, 48}));
  }
}

TEST(ParseLength, Vn4TrailersBetweenMacSizesAreTrailerTooShort) {
  for (size_t extra : {size_t{3}, size_t{5}, size_t{8}, size_t{12}, size_t{15}}) {
    SCOPED_TRACE(extra);
    Bytes b = header(kVn4Server);
    b.resize(48 + extra, 0);
    EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::TrailerTooShort, 48}));
  }
}

TEST(ParseMac, FourBytesIsACryptoNakWithItsKeyId) {
  Bytes b = header();
  append_mac(b, 0, 0);
  ASSERT_EQ(b.size(), 52U);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::CryptoNak);
  EXPECT_EQ(v->mac->key_id, 0U);
  EXPECT_TRUE(v->mac->digest.empty());
  EXPECT_EQ(v->mac->offset, 48U);
  EXPECT_EQ(v->extension_count, 0U);

  Bytes nonzero = header();
  append_mac(nonzero, 0x01020304U, 0);
  auto w = parse(nonzero);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->mac->kind, MacKind::CryptoNak);
  EXPECT_EQ(w->mac->key_id, 0x01020304U);
}

TEST(ParseMac, TwentyBytesIsAnMd5Mac) {
  Bytes b = header();
  append_mac(b, 0xdeadbeefU, 16);
  ASSERT_EQ(b.size(), 68U);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Md5);
  EXPECT_EQ(v->mac->key_id, 0xdeadbeefU);
  EXPECT_EQ(v->mac->digest.size(), 16U);
  EXPECT_EQ(v->mac->digest.data(), b.data() + 52);
  EXPECT_EQ(v->mac->offset, 48U);
}

TEST(ParseMac, TwentyFourBytesIsASha1Mac) {
  Bytes b = header();
  append_mac(b, 42, 20);
  ASSERT_EQ(b.size(), 72U);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Sha1);
  EXPECT_EQ(v->mac->key_id, 42U);
  EXPECT_EQ(v->mac->digest.size(), 20U);
  EXPECT_EQ(v->extension_count, 0U);
}

TEST(ParseMac, Vn3TrailerOfOtherSizeIsALegacyMac) {
  Bytes b = header(kVn3Server);
  append_mac(b, 9, 8);  // 12 bytes, as with DES
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Legacy);
  EXPECT_EQ(v->mac->key_id, 9U);
  EXPECT_EQ(v->mac->digest.size(), 8U);
  EXPECT_EQ(v->mac->offset, 48U);
}

TEST(ParseMac, Vn3TrailerIsNeverAnExtensionField) {
  // What would be a valid 28-byte extension field for VN 4 is a legacy MAC for VN 3.
  Bytes b = header(kVn3Server);
  append_ef(b, 0x0104, 28);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_count, 0U);
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Legacy);
  EXPECT_EQ(v->mac->key_id, 0x0104001cU);
  EXPECT_EQ(v->mac->digest.size(), 24U);
}

TEST(ParseMac, Vn3MacsOfStandardSizesKeepTheirKind) {
  Bytes b = header(kVn3Server);
  append_mac(b, 1, 16);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->mac->kind, MacKind::Md5);
}

// --- Extension fields ----------------------------------------------------------------------

TEST(ParseExtension, LengthFifteenIsTooShortAtTheLengthField) {
  Bytes b = header();
  append_ef_sized(b, 1, 15, 16);
  EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::ExtensionTooShort, 50}));
}

TEST(ParseExtension, LengthsBelowSixteenAreTooShort) {
  for (uint16_t len : {uint16_t{0}, uint16_t{4}, uint16_t{12}}) {
    SCOPED_TRACE(len);
    Bytes b = header();
    append_ef_sized(b, 1, len, 28);
    EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::ExtensionTooShort, 50}));
  }
}

TEST(ParseExtension, LengthSixteenWithNothingAfterParses) {
  Bytes b = header();
  append_ef(b, 0x0002, 16);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_count, 1U);
  EXPECT_EQ(v->extensions_end, 64U);
  EXPECT_FALSE(v->mac.has_value());
  const auto ef = *v->extensions().begin();
  EXPECT_EQ(ef.type, 0x0002);
  EXPECT_EQ(ef.length, 16);
  EXPECT_EQ(ef.offset, 48U);
  EXPECT_EQ(ef.value.size(), 12U);
}

TEST(ParseExtension, LengthNotAMultipleOfFourIsNotAligned) {
  for (uint16_t len : {uint16_t{17}, uint16_t{18}, uint16_t{19}, uint16_t{30}}) {
    SCOPED_TRACE(len);
    Bytes b = header();
    append_ef_sized(b, 1, len, 32);
    EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::ExtensionNotAligned, 50}));
  }
}

TEST(ParseExtension, LengthPastTheEndIsAnOverrun) {
  Bytes b = header();
  append_ef_sized(b, 1, 32, 28);
  EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::ExtensionOverrun, 50}));

  Bytes max = header();
  append_ef_sized(max, 1, 0xfffc, 28);
  EXPECT_EQ(error_of(max), (ParseError{ParseErrorCode::ExtensionOverrun, 50}));

  // One field short of the end on both sides: 28 of 28 fits.
  Bytes exact = header();
  append_ef_sized(exact, 1, 28, 28);
  EXPECT_TRUE(parse(exact).ok());
}

TEST(ParseExtension, ErrorInTheSecondFieldPointsAtItsLengthField) {
  Bytes b = header();
  append_ef(b, 1, 16);
  append_ef_sized(b, 2, 32, 28);  // starts at 64, length field at 66
  EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::ExtensionOverrun, 66}));

  Bytes c = header();
  append_ef(c, 1, 16);
  append_ef_sized(c, 2, 30, 32);
  EXPECT_EQ(error_of(c), (ParseError{ParseErrorCode::ExtensionNotAligned, 66}));
}

TEST(ParseExtension, TrailerAfterAFieldThatIsTooShortForAnother) {
  Bytes b = header();
  append_ef(b, 1, 28);
  b.resize(b.size() + 8, 0);  // 8 bytes: neither a MAC nor an extension field
  EXPECT_EQ(error_of(b), (ParseError{ParseErrorCode::TrailerTooShort, 76}));
}

TEST(ParseExtension, TwentyEightWithoutMac) {
  Bytes b = header();
  append_ef(b, 0x0104, 28);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_count, 1U);
  EXPECT_EQ(v->extensions_end, 76U);
  EXPECT_FALSE(v->mac.has_value());
}

TEST(ParseExtension, FieldFollowedByAnMd5Mac) {
  Bytes b = header();
  append_ef(b, 0x0104, 16);
  append_mac(b, 5, 16);
  ASSERT_EQ(b.size(), 84U);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_count, 1U);
  EXPECT_EQ(v->extensions_end, 64U);
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Md5);
  EXPECT_EQ(v->mac->key_id, 5U);
  EXPECT_EQ(v->mac->offset, 64U);
}

TEST(ParseExtension, TwoFieldsFollowedByASha1Mac) {
  Bytes b = header();
  append_ef(b, 0x0104, 16, 0x11);
  append_ef(b, 0x8002, 28, 0x22);
  append_mac(b, 77, 20);
  ASSERT_EQ(b.size(), 116U);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_count, 2U);
  EXPECT_EQ(v->extensions_end, 92U);
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Sha1);
  EXPECT_EQ(v->mac->key_id, 77U);
  EXPECT_EQ(v->mac->offset, 92U);
}

TEST(ParseExtension, ARemainderOfMacSizeIsTheMac) {
  // RFC 7822 §3: 20 bytes after the header are a MAC even when they look like a field.
  Bytes b = header();
  append_ef(b, 0x0104, 20);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_count, 0U);
  ASSERT_TRUE(v->mac.has_value());
  EXPECT_EQ(v->mac->kind, MacKind::Md5);
  EXPECT_EQ(v->mac->key_id, 0x01040014U);
}

TEST(ParseExtension, RangeIteratesInOrderWithOffsetsTypesAndValues) {
  Bytes b = header();
  append_ef(b, 0x0000, 16, 0x11);
  append_ef(b, 0xffff, 32, 0x22);
  append_ef(b, 0x0104, 28, 0x33);
  auto v = parse(b);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->extension_count, 3U);

  struct Expected {
    uint16_t type;
    uint16_t length;
    size_t offset;
    uint8_t fill;
  };
  const Expected expected[] = {{0x0000, 16, 48, 0x11}, {0xffff, 32, 64, 0x22}, {0x0104, 28, 96, 0x33}};
  size_t i = 0;
  for (const ExtensionFieldView& ef : v->extensions()) {
    ASSERT_LT(i, 3U);
    SCOPED_TRACE(i);
    EXPECT_EQ(ef.type, expected[i].type);
    EXPECT_EQ(ef.length, expected[i].length);
    EXPECT_EQ(ef.offset, expected[i].offset);
    EXPECT_EQ(ef.value.size(), expected[i].length - 4U);
    EXPECT_EQ(ef.value.data(), b.data() + expected[i].offset + 4);
    for (uint8_t x : ef.value) EXPECT_EQ(x, expected[i].fill);
    ++i;
  }
  EXPECT_EQ(i, 3U);
  EXPECT_EQ(v->extensions_end, 124U);

  // Post-increment returns the old position.
  auto it = v->extensions().begin();
  auto old = it++;
  EXPECT_EQ((*old).offset, 48U);
  EXPECT_EQ((*it).offset, 64U);
}

TEST(ParseExtension, Vn5To7WalkExtensionFieldsLikeVn4) {
  for (uint8_t vn : {uint8_t{5}, uint8_t{7}}) {
    SCOPED_TRACE(int{vn});
    Bytes b = header(static_cast<uint8_t>(vn << 3 | 4));
    append_ef(b, 1, 16);
    auto v = parse(b);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->header.version, vn);
    EXPECT_EQ(v->extension_count, 1U);
  }
}

// --- Error text --------------------------------------------------------------------------------

// parse_bare is parse() for a datagram of exactly 48 bytes, the capture replay's common case:
// every field where parse_header reads it (each byte distinct, so a field read from the wrong
// offset or in the wrong order shows), and nothing after the header, for every LI/VN/mode byte.
TEST(ParseBare, EqualsParseForEveryFirstByte) {
  std::array<uint8_t, kHeaderLength> b{};
  for (size_t i = 1; i < b.size(); ++i) b[i] = static_cast<uint8_t>(0x11 * i + 7);
  for (int first = 0; first < 256; ++first) {
    SCOPED_TRACE(first);
    b[0] = static_cast<uint8_t>(first);
    const PacketView bare = parse_bare(b);
    auto full = parse(std::span<const uint8_t>(b));
    ASSERT_TRUE(full);
    EXPECT_EQ(bare.header, full->header);
    EXPECT_EQ(bare.header, parse_header(b));
    EXPECT_EQ(bare.bytes.data(), b.data());
    EXPECT_EQ(bare.size(), kHeaderLength);
    EXPECT_EQ(bare.extensions_end, full->extensions_end);
    EXPECT_EQ(bare.extension_count, 0u);
    EXPECT_EQ(full->extension_count, 0u);
    EXPECT_FALSE(bare.mac.has_value());
    EXPECT_FALSE(full->mac.has_value());
  }
  const Header h = parse_bare(b).header;
  EXPECT_EQ(h.stratum, 0x18);
  EXPECT_EQ(h.poll, static_cast<int8_t>(0x29));
  EXPECT_EQ(h.root_delay.raw(), 0x4b5c6d7eu);
  EXPECT_EQ(h.transmit.raw(), 0xafc0d1e2f3041526ULL);
}

TEST(ParseError, EveryCodeHasADistinctNameAndASentence) {
  std::set<std::string> names;
  for (size_t i = 0; i < kParseErrorCodeCount; ++i) {
    const auto code = static_cast<ParseErrorCode>(i);
    EXPECT_FALSE(to_string(code).empty()) << i;
    EXPECT_FALSE(name(code).empty()) << i;
    names.insert(std::string(name(code)));
  }
  EXPECT_EQ(names.size(), kParseErrorCodeCount);
  EXPECT_EQ(name(ParseErrorCode::ExtensionOverrun), "extension-overrun");
  EXPECT_EQ(name(ParseErrorCode::TooShort), "too-short");
}

TEST(ParseError, DescribeNamesTheOffset) {
  const std::string text = describe(ParseError{ParseErrorCode::ExtensionTooShort, 50});
  EXPECT_NE(text.find("50"), std::string::npos) << text;
  EXPECT_NE(text.find(to_string(ParseErrorCode::ExtensionTooShort)), std::string::npos) << text;
}

}  // namespace
}  // namespace ntpkit
