// capture/pcapng: the block decoder for files libpcap refuses. Both byte orders, timestamp
// resolutions, and every way a block can lie about itself.
#include "ntpkit/capture/pcapng.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ntpkit::pcapng {
namespace {

// Blocks written field by field, in either byte order.
struct Writer {
  bool big = false;
  void u16(std::vector<uint8_t>& b, uint16_t v) const {
    if (big) {
      b.insert(b.end(), {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
    } else {
      b.insert(b.end(), {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)});
    }
  }
  void u32(std::vector<uint8_t>& b, uint32_t v) const {
    if (big) {
      u16(b, static_cast<uint16_t>(v >> 16));
      u16(b, static_cast<uint16_t>(v));
    } else {
      u16(b, static_cast<uint16_t>(v));
      u16(b, static_cast<uint16_t>(v >> 16));
    }
  }
  std::vector<uint8_t> block(uint32_t type, const std::vector<uint8_t>& body) const {
    std::vector<uint8_t> b;
    u32(b, type);
    u32(b, static_cast<uint32_t>(12 + body.size()));
    b.insert(b.end(), body.begin(), body.end());
    u32(b, static_cast<uint32_t>(12 + body.size()));
    return b;
  }
  std::vector<uint8_t> shb() const {
    std::vector<uint8_t> body;
    u32(body, 0x1A2B3C4D);
    u16(body, 1);
    u16(body, 0);
    u32(body, 0xFFFFFFFF);  // section length: unknown
    u32(body, 0xFFFFFFFF);
    return block(kSectionHeader, body);
  }
  std::vector<uint8_t> idb(uint16_t link, std::optional<uint8_t> tsresol = std::nullopt) const {
    std::vector<uint8_t> body;
    u16(body, link);
    u16(body, 0);
    u32(body, 65535);
    if (tsresol) {
      u16(body, 9);
      u16(body, 1);
      body.insert(body.end(), {*tsresol, 0, 0, 0});
      u16(body, 0);
      u16(body, 0);
    }
    return block(kInterfaceDescription, body);
  }
  std::vector<uint8_t> epb(uint32_t interface, uint64_t ts, const std::vector<uint8_t>& data,
                           std::optional<uint32_t> caplen = std::nullopt) const {
    std::vector<uint8_t> body;
    u32(body, interface);
    u32(body, static_cast<uint32_t>(ts >> 32));
    u32(body, static_cast<uint32_t>(ts));
    u32(body, caplen.value_or(static_cast<uint32_t>(data.size())));
    u32(body, static_cast<uint32_t>(data.size()));
    body.insert(body.end(), data.begin(), data.end());
    while (body.size() % 4 != 0) body.push_back(0);
    return block(kEnhancedPacket, body);
  }
};

// Feeds one block to the reader as replay does: its first 12 bytes, then the whole of it.
Result<std::optional<PacketRecord>, std::string> feed(Reader& r, const std::vector<uint8_t>& b) {
  auto s = r.start(std::span<const uint8_t>(b).first(std::min<size_t>(12, b.size())));
  if (!s) return Failure{s.error()};
  EXPECT_EQ(s->total_length, b.size());
  return r.block(b);
}

class BothByteOrders : public ::testing::TestWithParam<bool> {};

TEST_P(BothByteOrders, APacketWithItsInterfaceAndNanosecondTime) {
  Writer w{GetParam()};
  Reader r;
  ASSERT_TRUE(feed(r, w.shb()).ok());
  ASSERT_TRUE(feed(r, w.idb(1, 9)).ok());  // Ethernet, 10^-9 s
  ASSERT_TRUE(feed(r, w.idb(101)).ok());   // raw IP, the default 10^-6 s
  ASSERT_EQ(r.interfaces().size(), 2U);
  EXPECT_EQ(r.interfaces()[0].units_per_second, 1'000'000'000U);
  EXPECT_EQ(r.interfaces()[1].link_type, 101U);
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5};
  // A record's data points into its block: the block must outlive it.
  const auto block0 = w.epb(0, 1'700'000'000'123'456'789ULL, data);
  auto p = feed(r, block0);
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->time_ns, 1'700'000'000'123'456'789LL);
  EXPECT_EQ(std::vector<uint8_t>((*p)->data.begin(), (*p)->data.end()), data);
  const auto block1 = w.epb(1, 1'700'000'000'123'456ULL, data);  // microseconds on interface 1
  p = feed(r, block1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->interface, 1U);
  EXPECT_EQ((*p)->time_ns, 1'700'000'000'123'456'000LL);
}

INSTANTIATE_TEST_SUITE_P(Pcapng, BothByteOrders, ::testing::Values(false, true));

TEST(Pcapng, APowerOfTwoResolution) {
  Writer w;
  Reader r;
  ASSERT_TRUE(feed(r, w.shb()).ok());
  ASSERT_TRUE(feed(r, w.idb(1, 0x80 | 10)).ok());               // 2^-10 s
  const auto block = w.epb(0, (uint64_t{5} << 10) | 512, {9});  // 5.5 s
  auto p = feed(r, block);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->time_ns, 5'500'000'000LL);
}

TEST(Pcapng, HostileTimestampsAreClampedNotOverflowed) {
  Writer w;
  Reader r;
  ASSERT_TRUE(feed(r, w.shb()).ok());
  ASSERT_TRUE(feed(r, w.idb(1, 0)).ok());  // 10^0: whole seconds
  const auto block = w.epb(0, ~uint64_t{0}, {9});
  auto p = feed(r, block);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->time_ns, 4'000'000'000LL * 1'000'000'000);
}

TEST(Pcapng, EveryLieIsAnErrorSentence) {
  Writer w;
  {
    Reader r;
    EXPECT_NE(feed(r, w.idb(1)).error().find("does not start with a pcapng section header"), std::string::npos);
  }
  Reader r;
  ASSERT_TRUE(feed(r, w.shb()).ok());
  EXPECT_NE(feed(r, w.epb(0, 0, {1})).error().find("names interface 0, which is not described"), std::string::npos);
  ASSERT_TRUE(feed(r, w.idb(1)).ok());
  EXPECT_NE(feed(r, w.epb(0, 0, {1, 2, 3, 4}, 4000)).error().find("overruns its block"), std::string::npos);
  auto lengths = w.epb(0, 0, {1, 2, 3, 4});
  lengths[lengths.size() - 4] ^= 4;  // the trailing length disagrees
  EXPECT_NE(r.block(lengths).error().find("disagree"), std::string::npos);
  auto odd = w.epb(0, 0, {1, 2, 3, 4});
  odd[4] = 13;  // a block length that is not a multiple of 4
  EXPECT_NE(r.start(std::span<const uint8_t>(odd).first(12)).error().find("not a multiple of 4"), std::string::npos);
  EXPECT_NE(feed(r, w.idb(1, 0x80 | 64)).error().find("resolution out of range"), std::string::npos);
  EXPECT_NE(feed(r, w.idb(1, 20)).error().find("resolution out of range"), std::string::npos);
  const std::vector<uint8_t> tiny = {1, 0, 0, 0, 8, 0, 0, 0};
  EXPECT_FALSE(r.block(tiny).ok());  // shorter than any block: refused, not read past
  auto bad_magic = w.shb();
  bad_magic[8] = 0;
  Reader fresh;
  EXPECT_NE(fresh.start(std::span<const uint8_t>(bad_magic).first(12)).error().find("byte-order magic"),
            std::string::npos);
}

TEST(Pcapng, UnknownBlocksAreSkippedAndASimplePacketNeedsAnInterface) {
  Writer w;
  Reader r;
  ASSERT_TRUE(feed(r, w.shb()).ok());
  auto nrb = feed(r, w.block(0x00000004, {0, 0, 0, 0}));  // name resolution
  ASSERT_TRUE(nrb.ok());
  EXPECT_FALSE(nrb->has_value());
  std::vector<uint8_t> spb_body;
  w.u32(spb_body, 3);
  spb_body.insert(spb_body.end(), {7, 7, 7, 0});
  EXPECT_NE(feed(r, w.block(kSimplePacket, spb_body)).error().find("before any interface"), std::string::npos);
  ASSERT_TRUE(feed(r, w.idb(101)).ok());
  const auto spb_block = w.block(kSimplePacket, spb_body);
  auto spb = feed(r, spb_block);
  ASSERT_TRUE(spb.ok());
  EXPECT_EQ((*spb)->data.size(), 3U);
  // A new section forgets the interfaces of the one before.
  ASSERT_TRUE(feed(r, w.shb()).ok());
  EXPECT_TRUE(r.interfaces().empty());
}

}  // namespace
}  // namespace ntpkit::pcapng
