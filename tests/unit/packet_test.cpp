// The packet model: reference-id views, kiss codes and the enum names.
#include "ntpkit/wire/packet.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>

#include "ntpkit/wire/parse.hpp"

namespace ntpkit {
namespace {

constexpr size_t kKissCodeCount = 15;

TEST(ReferenceId, FromAsciiPadsWithZerosOnTheRight) {
  EXPECT_EQ(ReferenceId::from_ascii("LOCL").raw(), 0x4c4f434cU);
  EXPECT_EQ(ReferenceId::from_ascii("GPS").raw(), 0x47505300U);
  EXPECT_EQ(ReferenceId::from_ascii("").raw(), 0U);
  EXPECT_EQ(ReferenceId::from_ascii("TOOLONG").raw(), ReferenceId::from_ascii("TOOL").raw());
}

TEST(ReferenceId, AsciiDropsTrailingNuls) {
  EXPECT_EQ(ReferenceId::from_ascii("LOCL").ascii(), "LOCL");
  EXPECT_EQ(ReferenceId::from_ascii("GPS").ascii(), "GPS");
  EXPECT_EQ(ReferenceId::from_raw(0).ascii(), "");
}

TEST(ReferenceId, AsciiEscapesNonPrintableBytes) {
  EXPECT_EQ(ReferenceId::from_raw(0x41014200U).ascii(), "A\\x01B");
  EXPECT_EQ(ReferenceId::from_raw(0x00000041U).ascii(), "\\x00\\x00\\x00A");  // only trailing NULs drop
  EXPECT_EQ(ReferenceId::from_raw(0x7f80ff20U).ascii(), "\\x7f\\x80\\xff ");
  EXPECT_EQ(ReferenceId::from_raw(0x1f7e0000U).ascii(), "\\x1f~");
  // A backslash is escaped too, so the text is unambiguous.
  EXPECT_EQ(ReferenceId::from_raw(0x5c000000U).ascii(), "\\x5c");
}

TEST(ReferenceId, IsPrintableAscii) {
  EXPECT_TRUE(ReferenceId::from_ascii("LOCL").is_printable_ascii());
  EXPECT_TRUE(ReferenceId::from_ascii("GPS").is_printable_ascii());
  EXPECT_FALSE(ReferenceId::from_raw(0).is_printable_ascii());
  EXPECT_FALSE(ReferenceId::from_raw(0x41014200U).is_printable_ascii());
  EXPECT_FALSE(ReferenceId::from_raw(0x41004200U).is_printable_ascii());  // NUL inside
  EXPECT_FALSE(ReferenceId::from_ipv4({192, 0, 2, 1}).is_printable_ascii());
}

TEST(ReferenceId, Ipv4IsADottedQuadInNetworkOrder) {
  const ReferenceId id = ReferenceId::from_ipv4({192, 0, 2, 1});
  EXPECT_EQ(id.raw(), 0xc0000201U);
  EXPECT_EQ(id.ipv4(), "192.0.2.1");
  EXPECT_EQ((id.bytes()), (std::array<uint8_t, 4>{192, 0, 2, 1}));
  EXPECT_EQ(ReferenceId::from_raw(0xffffffffU).ipv4(), "255.255.255.255");
  EXPECT_EQ(ReferenceId::from_raw(0).ipv4(), "0.0.0.0");
}

TEST(KissCode, EveryCodeRoundTripsThroughTheReferenceId) {
  std::set<std::string> names;
  for (size_t i = 0; i < kKissCodeCount; ++i) {
    const auto k = static_cast<KissCode>(i);
    SCOPED_TRACE(std::string(to_string(k)));
    const ReferenceId id = ReferenceId::from_kiss(k);
    ASSERT_TRUE(id.kiss_code().has_value());
    EXPECT_EQ(*id.kiss_code(), k);
    EXPECT_EQ(id.ascii(), to_string(k));
    EXPECT_EQ(to_string(k).size(), 4U);
    EXPECT_TRUE(id.is_printable_ascii());
    EXPECT_FALSE(describe(k).empty());
    names.insert(std::string(to_string(k)));
  }
  EXPECT_EQ(names.size(), kKissCodeCount);
}

TEST(KissCode, KnownCodesHaveTheirRfcSpelling) {
  EXPECT_EQ(ReferenceId::from_kiss(KissCode::RATE).raw(), 0x52415445U);
  EXPECT_EQ(ReferenceId::from_kiss(KissCode::DENY).ascii(), "DENY");
  EXPECT_EQ(ReferenceId::from_kiss(KissCode::NTSN).ascii(), "NTSN");
  EXPECT_EQ(ReferenceId::from_ascii("RSTR").kiss_code(), KissCode::RSTR);
}

TEST(KissCode, NonKissReferenceIdsGiveNullopt) {
  EXPECT_FALSE(ReferenceId::from_ascii("LOCL").kiss_code().has_value());
  EXPECT_FALSE(ReferenceId::from_ascii("GPS").kiss_code().has_value());
  EXPECT_FALSE(ReferenceId::from_ascii("RAT").kiss_code().has_value());   // a prefix
  EXPECT_FALSE(ReferenceId::from_ascii("rate").kiss_code().has_value());  // case matters
  EXPECT_FALSE(ReferenceId::from_raw(0).kiss_code().has_value());
  EXPECT_FALSE(ReferenceId::from_ipv4({127, 0, 0, 1}).kiss_code().has_value());
  EXPECT_FALSE(ReferenceId::from_raw(0x52415446U).kiss_code().has_value());  // "RATF": one bit off
}

TEST(EnumNames, EveryModeHasADistinctName) {
  std::set<std::string> names;
  for (uint8_t m = 0; m < 8; ++m) {
    const std::string_view s = to_string(static_cast<Mode>(m));
    EXPECT_FALSE(s.empty()) << int{m};
    EXPECT_NE(s, "?") << int{m};
    names.insert(std::string(s));
  }
  EXPECT_EQ(names.size(), 8U);
  EXPECT_EQ(to_string(Mode::Server), "server");
  EXPECT_EQ(to_string(Mode::Client), "client");
}

TEST(EnumNames, EveryLeapIndicatorHasADistinctName) {
  std::set<std::string> names;
  for (uint8_t l = 0; l < 4; ++l) {
    const std::string_view s = to_string(static_cast<Leap>(l));
    EXPECT_FALSE(s.empty()) << int{l};
    EXPECT_NE(s, "?") << int{l};
    names.insert(std::string(s));
  }
  EXPECT_EQ(names.size(), 4U);
}

TEST(EnumNames, EveryMacKindHasADistinctName) {
  std::set<std::string> names;
  for (MacKind k : {MacKind::CryptoNak, MacKind::Md5, MacKind::Sha1, MacKind::Legacy}) {
    const std::string_view s = to_string(k);
    EXPECT_FALSE(s.empty());
    EXPECT_NE(s, "?");
    names.insert(std::string(s));
  }
  EXPECT_EQ(names.size(), 4U);
}

TEST(ToPacket, CopiesHeaderExtensionsAndMacOutOfTheView) {
  std::vector<uint8_t> bytes(48 + 16 + 20, 0);
  bytes[0] = 0x24;  // LI 0, VN 4, mode 4
  bytes[1] = 2;
  // Extension field: type 0x0104, length 16, value 12 bytes 1..12.
  bytes[48] = 0x01;
  bytes[49] = 0x04;
  bytes[51] = 16;
  for (uint8_t i = 0; i < 12; ++i) bytes[52 + i] = static_cast<uint8_t>(i + 1);
  // MAC: key id 7, digest 0xaa x 16.
  bytes[67] = 7;
  for (size_t i = 68; i < bytes.size(); ++i) bytes[i] = 0xaa;

  auto view = parse(bytes);
  ASSERT_TRUE(view.ok());
  const Packet p = to_packet(*view);
  EXPECT_EQ(p.header, view->header);
  EXPECT_EQ(p.header.stratum, 2);
  ASSERT_EQ(p.extensions.size(), 1U);
  EXPECT_EQ(p.extensions[0].type, 0x0104);
  EXPECT_EQ(p.extensions[0].value, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_FALSE(p.extensions[0].length_override.has_value());
  ASSERT_TRUE(p.mac.has_value());
  EXPECT_EQ(p.mac->key_id, 7U);
  EXPECT_EQ(p.mac->digest, std::vector<uint8_t>(16, 0xaa));
  EXPECT_TRUE(p.trailing.empty());
}

}  // namespace
}  // namespace ntpkit
