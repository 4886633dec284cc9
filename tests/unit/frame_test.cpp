// Frame decoding: each link type, VLAN stacks, IPv4/IPv6 headers and their lengths, fragment
// reassembly (order, overlap, duplicates, timeout, memory), GRE and VXLAN tunnels, and the text
// forms of addresses. Every frame is built by hand below.
#include "ntpkit/capture/frame.hpp"
#include "ntpkit/capture/reassembly.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace ntpkit::net {
namespace {

using Bytes = std::vector<uint8_t>;
using Kind = DecodedFrame::Kind;

constexpr uint32_t kEthernet = static_cast<uint32_t>(LinkType::Ethernet);
constexpr int64_t kSecond = 1'000'000'000;

// --- Builders ----------------------------------------------------------------------------------

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void set16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes ntp_payload(uint8_t fill = 0x23) {
  Bytes p(48, fill);
  p[0] = 0x23;  // LI 0, VN 4, mode 3
  return p;
}

Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload.size()));
  put16(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes tcp(uint16_t sport, uint16_t dport, const Bytes& payload, uint8_t data_offset_words = 5) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1);  // sequence
  put32(b, 0);  // acknowledgment
  b.push_back(static_cast<uint8_t>(data_offset_words << 4));
  b.push_back(0x18);  // PSH ACK
  put16(b, 65535);
  put32(b, 0);  // checksum, urgent pointer
  if (data_offset_words > 5) b.resize(b.size() + (data_offset_words - 5u) * 4u, 0x01);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

struct Ip4 {
  uint8_t protocol = 17;
  std::array<uint8_t, 4> src{192, 0, 2, 1};
  std::array<uint8_t, 4> dst{198, 51, 100, 7};
  uint16_t id = 0x1234;
  bool more = false;
  size_t offset = 0;  // bytes, a multiple of 8
  Bytes options;      // a multiple of 4
};

Bytes ipv4(const Ip4& h, const Bytes& payload) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | (5 + h.options.size() / 4)));
  b.push_back(0);
  put16(b, static_cast<uint16_t>(20 + h.options.size() + payload.size()));
  put16(b, h.id);
  put16(b, static_cast<uint16_t>((h.more ? 0x2000 : 0) | (h.offset / 8)));
  b.push_back(64);
  b.push_back(h.protocol);
  put16(b, 0);
  b.insert(b.end(), h.src.begin(), h.src.end());
  b.insert(b.end(), h.dst.begin(), h.dst.end());
  b.insert(b.end(), h.options.begin(), h.options.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
Ip4 proto(uint8_t protocol) {
  Ip4 h;
  h.protocol = protocol;
  return h;
}
Ip4 between(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst) {
  Ip4 h;
  h.src = src;
  h.dst = dst;
  return h;
}
Bytes ipv4_udp(const Bytes& payload, uint16_t sport = 40000, uint16_t dport = 123) {
  return ipv4({}, udp(sport, dport, payload));
}

using Addr6 = std::array<uint8_t, 16>;
constexpr Addr6 kSrc6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
constexpr Addr6 kDst6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7b};

Bytes ipv6(uint8_t next, const Bytes& payload, const Addr6& src = kSrc6, const Addr6& dst = kDst6) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
// An option-style extension header (hop-by-hop, routing, destination options) of 8*(units+1)
// octets.
Bytes ext_header(uint8_t next, uint8_t units = 0) {
  Bytes b(8 * (units + 1u), 0);
  b[0] = next;
  b[1] = units;
  return b;
}
Bytes fragment_header(uint8_t next, size_t offset, bool more, uint32_t id) {
  Bytes b = {next, 0};
  put16(b, static_cast<uint16_t>((offset / 8) << 3 | (more ? 1 : 0)));
  put32(b, id);
  return b;
}

Bytes ether(uint16_t type, const Bytes& payload, std::initializer_list<uint16_t> tags = {}) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
  for (uint16_t tpid : tags) {
    put16(b, tpid);
    put16(b, 0x0064);  // VLAN 100
  }
  put16(b, type);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes gre(uint16_t protocol, const Bytes& payload, bool checksum = false, bool key = false, bool sequence = false) {
  Bytes b;
  put16(b, static_cast<uint16_t>((checksum ? 0x8000 : 0) | (key ? 0x2000 : 0) | (sequence ? 0x1000 : 0)));
  put16(b, protocol);
  if (checksum) put32(b, 0xabcd0000);
  if (key) put32(b, 0x00000042);
  if (sequence) put32(b, 7);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes vxlan(const Bytes& inner_ethernet, uint8_t flags = 0x08) {
  Bytes b = {flags, 0, 0, 0, 0, 0x12, 0x34, 0};  // VNI 0x1234
  b.insert(b.end(), inner_ethernet.begin(), inner_ethernet.end());
  return b;
}

FrameDecoder::Limits memory_limit(size_t bytes) {
  FrameDecoder::Limits l;
  l.max_reassembly_bytes = bytes;
  return l;
}
FrameDecoder::Limits timeout_limit(int64_t ns) {
  FrameDecoder::Limits l;
  l.fragment_timeout_ns = ns;
  return l;
}

// One frame through a fresh decoder. The result keeps the frame, since its payload points into it.
struct Decoded : DecodedFrame {
  Bytes frame;
};
Decoded decode(uint32_t linktype, Bytes frame) {
  Decoded out;
  out.frame = std::move(frame);
  FrameDecoder d;
  static_cast<DecodedFrame&>(out) = d.decode(linktype, out.frame, 0);
  return out;
}
Decoded decode(LinkType linktype, Bytes frame) {
  return decode(static_cast<uint32_t>(linktype), std::move(frame));
}

Bytes payload_of(const DecodedFrame& f) {
  return Bytes(f.payload.begin(), f.payload.end());
}

bool inside(std::span<const uint8_t> part, const Bytes& whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void expect_ntp_udp(const DecodedFrame& f, const Bytes& payload = ntp_payload()) {
  EXPECT_EQ(f.kind, Kind::Udp);
  EXPECT_EQ(f.destination.port, 123);
  EXPECT_EQ(payload_of(f), payload);
}

// --- Link layers -------------------------------------------------------------------------------

TEST(FrameLink, EthernetIpv4Udp) {
  const Bytes frame = ether(0x0800, ipv4_udp(ntp_payload()));
  const auto f = decode(LinkType::Ethernet, frame);
  expect_ntp_udp(f);
  EXPECT_EQ(f.source.to_string(), "192.0.2.1:40000");
  EXPECT_EQ(f.destination.to_string(), "198.51.100.7:123");
  EXPECT_TRUE(inside(f.payload, f.frame));
  EXPECT_EQ(f.payload.data(), f.frame.data() + 14 + 20 + 8);
  EXPECT_EQ(f.tunnels, 0);
  EXPECT_FALSE(f.reassembled);
}

TEST(FrameLink, EthernetIpv6Udp) {
  const auto f = decode(LinkType::Ethernet, ether(0x86dd, ipv6(17, udp(123, 123, ntp_payload()))));
  expect_ntp_udp(f);
  EXPECT_EQ(f.source.to_string(), "[2001:db8::1]:123");
  EXPECT_EQ(f.destination.to_string(), "[2001:db8::7b]:123");
}

TEST(FrameLink, VlanTagsSingleAndStacked) {
  const std::vector<std::vector<uint16_t>> stacks = {
      {0x8100}, {0x88a8, 0x8100}, {0x9100, 0x8100}, {0x88a8, 0x88a8, 0x8100}};
  for (const auto& tags : stacks) {
    Bytes frame = ether(0x0800, ipv4_udp(ntp_payload()));
    // Insert the tags after the MAC addresses.
    Bytes tagged(frame.begin(), frame.begin() + 12);
    for (uint16_t t : tags) {
      put16(tagged, t);
      put16(tagged, 0x0064);
    }
    tagged.insert(tagged.end(), frame.begin() + 12, frame.end());
    expect_ntp_udp(decode(LinkType::Ethernet, tagged));
  }
}

TEST(FrameLink, VlanTagCutShortIsTruncatedAtTheTag) {
  const Bytes frame = ether(0x8100, {0x00, 0x64, 0x08});  // TCI and one byte of the ethertype
  const auto f = decode(LinkType::Ethernet, frame);
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 14u);
  const Bytes qinq = ether(0x88a8, {0x00, 0x64, 0x81, 0x00, 0x00, 0x64, 0x08});
  EXPECT_EQ(decode(LinkType::Ethernet, qinq).truncated_at, 18u);
}

TEST(FrameLink, EthernetHeaderBoundary) {
  Bytes frame = ether(0x0806, {});
  ASSERT_EQ(frame.size(), 14u);
  EXPECT_EQ(decode(LinkType::Ethernet, frame).kind, Kind::NotIp);  // ARP, header only
  frame.pop_back();
  const auto f = decode(LinkType::Ethernet, frame);
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 0u);
}

TEST(FrameLink, Ieee8023LengthAndUnknownEthertypesAreNotIp) {
  const Bytes ip = ipv4_udp(ntp_payload());
  EXPECT_EQ(decode(LinkType::Ethernet, ether(1500, ip)).kind, Kind::NotIp);    // 802.3 length
  EXPECT_EQ(decode(LinkType::Ethernet, ether(0x0600, ip)).kind, Kind::NotIp);  // first ethertype
  EXPECT_EQ(decode(LinkType::Ethernet, ether(0x88cc, ip)).kind, Kind::NotIp);  // LLDP
  EXPECT_EQ(decode(LinkType::Ethernet, ether(0x0806, ip)).kind, Kind::NotIp);  // ARP
}

TEST(FrameLink, EthertypeAndIpVersionMustAgree) {
  EXPECT_EQ(decode(LinkType::Ethernet, ether(0x86dd, ipv4_udp(ntp_payload()))).kind, Kind::NotIp);
  EXPECT_EQ(decode(LinkType::Ethernet, ether(0x0800, ipv6(17, udp(1, 123, ntp_payload())))).kind, Kind::NotIp);
}

Bytes sll(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, 0);  // packet type: to us
  put16(b, 1);  // ARPHRD_ETHER
  put16(b, 6);  // address length
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});
  put16(b, protocol);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
Bytes sll2(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, protocol);
  put16(b, 0);     // reserved
  put32(b, 3);     // interface index
  put16(b, 1);     // ARPHRD_ETHER
  b.push_back(4);  // outgoing
  b.push_back(6);
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

TEST(FrameLink, LinuxCookedV1) {
  expect_ntp_udp(decode(LinkType::LinuxSll, sll(0x0800, ipv4_udp(ntp_payload()))));
  expect_ntp_udp(decode(LinkType::LinuxSll, sll(0x86dd, ipv6(17, udp(1, 123, ntp_payload())))));
  expect_ntp_udp(decode(LinkType::LinuxSll, sll(0x8100, cat({{0x00, 0x64, 0x08, 0x00}, ipv4_udp(ntp_payload())}))));
  EXPECT_EQ(decode(LinkType::LinuxSll, sll(0x0806, {})).kind, Kind::NotIp);
  Bytes header_only = sll(0x0800, {});
  ASSERT_EQ(header_only.size(), 16u);
  EXPECT_EQ(decode(LinkType::LinuxSll, header_only).truncated_at, 16u);  // the IPv4 header is missing
  header_only.pop_back();
  const auto f = decode(LinkType::LinuxSll, header_only);
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 0u);
}

TEST(FrameLink, LinuxCookedV2) {
  expect_ntp_udp(decode(LinkType::LinuxSll2, sll2(0x0800, ipv4_udp(ntp_payload()))));
  expect_ntp_udp(decode(LinkType::LinuxSll2, sll2(0x86dd, ipv6(17, udp(1, 123, ntp_payload())))));
  EXPECT_EQ(decode(LinkType::LinuxSll2, sll2(0x0806, {})).kind, Kind::NotIp);
  Bytes header_only = sll2(0x0800, {});
  ASSERT_EQ(header_only.size(), 20u);
  EXPECT_EQ(decode(LinkType::LinuxSll2, header_only).truncated_at, 20u);
  header_only.pop_back();
  EXPECT_EQ(decode(LinkType::LinuxSll2, header_only).truncated_at, 0u);
}

Bytes family(uint32_t af, bool little_endian) {
  Bytes b;
  if (little_endian) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(af >> (8 * i)));
  } else {
    put32(b, af);
  }
  return b;
}

TEST(FrameLink, BsdNullAcceptsEitherByteOrder) {
  for (bool le : {true, false}) {
    expect_ntp_udp(decode(LinkType::Null, cat({family(2, le), ipv4_udp(ntp_payload())})));
    for (uint32_t af : {24u, 28u, 30u}) {
      expect_ntp_udp(decode(LinkType::Null, cat({family(af, le), ipv6(17, udp(1, 123, ntp_payload()))})));
    }
    for (uint32_t af : {0u, 1u, 3u, 23u, 25u, 29u, 31u}) {
      EXPECT_EQ(decode(LinkType::Null, cat({family(af, le), ipv4_udp(ntp_payload())})).kind, Kind::NotIp) << af;
    }
  }
  const auto f = decode(LinkType::Null, {2, 0, 0});
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 0u);
  EXPECT_EQ(decode(LinkType::Null, {2, 0, 0, 0}).truncated_at, 4u);
}

TEST(FrameLink, LoopIsNetworkByteOrderOnly) {
  expect_ntp_udp(decode(LinkType::Loop, cat({family(2, false), ipv4_udp(ntp_payload())})));
  expect_ntp_udp(decode(LinkType::Loop, cat({family(24, false), ipv6(17, udp(1, 123, ntp_payload()))})));
  EXPECT_EQ(decode(LinkType::Loop, cat({family(2, true), ipv4_udp(ntp_payload())})).kind, Kind::NotIp);
  EXPECT_EQ(decode(LinkType::Loop, {0, 0, 0}).kind, Kind::Truncated);
}

TEST(FrameLink, RawIpByVersionNibble) {
  for (uint32_t lt : {static_cast<uint32_t>(LinkType::Raw), kDltRaw}) {
    expect_ntp_udp(decode(lt, ipv4_udp(ntp_payload())));
    expect_ntp_udp(decode(lt, ipv6(17, udp(1, 123, ntp_payload()))));
    Bytes v5 = ipv4_udp(ntp_payload());
    v5[0] = 0x55;
    EXPECT_EQ(decode(lt, v5).kind, Kind::NotIp);
    const auto f = decode(lt, {});
    EXPECT_EQ(f.kind, Kind::Truncated);
    EXPECT_EQ(f.truncated_at, 0u);
    EXPECT_EQ(decode(lt, {0x45}).kind, Kind::Truncated);
  }
}

TEST(FrameLink, Ipv4AndIpv6LinkTypesTakeOnlyTheirVersion) {
  expect_ntp_udp(decode(LinkType::Ipv4, ipv4_udp(ntp_payload())));
  expect_ntp_udp(decode(LinkType::Ipv6, ipv6(17, udp(1, 123, ntp_payload()))));
  EXPECT_EQ(decode(LinkType::Ipv4, ipv6(17, udp(1, 123, ntp_payload()))).kind, Kind::NotIp);
  Bytes v4_as_v6 = ipv4_udp(ntp_payload());
  EXPECT_EQ(decode(LinkType::Ipv6, v4_as_v6).kind, Kind::NotIp);
}

TEST(FrameLink, NamesAndSupport) {
  EXPECT_EQ(name(1), "Ethernet");
  EXPECT_EQ(name(113), "Linux cooked v1");
  EXPECT_EQ(name(276), "Linux cooked v2");
  EXPECT_EQ(name(0), "BSD loopback");
  EXPECT_EQ(name(108), "OpenBSD loopback");
  EXPECT_EQ(name(101), "Raw IP");
  EXPECT_EQ(name(228), "Raw IPv4");
  EXPECT_EQ(name(229), "Raw IPv6");
  for (uint32_t lt : {0u, 1u, 12u, 101u, 108u, 113u, 228u, 229u, 276u}) EXPECT_TRUE(is_supported(lt)) << lt;
  for (uint32_t lt : {2u, 9u, 105u, 127u, 147u, 230u, 275u, 277u, 0xffffffffu}) {
    EXPECT_FALSE(is_supported(lt)) << lt;
    EXPECT_EQ(name(lt), "unknown");
  }
  EXPECT_EQ(decode(127, ipv4_udp(ntp_payload())).kind, Kind::NotIp);
}

// --- IPv4 --------------------------------------------------------------------------------------

TEST(FrameIpv4, OptionsAreSkippedUpToTheLongestHeader) {
  for (size_t words : {1u, 2u, 10u}) {
    Ip4 h;
    h.options.assign(words * 4, 0x01);  // NOP options
    const Bytes frame = ether(0x0800, ipv4(h, udp(5000, 123, ntp_payload())));
    const auto f = decode(LinkType::Ethernet, frame);
    expect_ntp_udp(f);
    EXPECT_EQ(f.payload.data(), f.frame.data() + 14 + 20 + words * 4 + 8);
  }
}

TEST(FrameIpv4, HeaderLengthBelowFiveIsTruncated) {
  Bytes ip = ipv4_udp(ntp_payload());
  ip[0] = 0x44;
  const auto f = decode(LinkType::Ethernet, ether(0x0800, ip));
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 14u);
  ip[0] = 0x45;
  expect_ntp_udp(decode(LinkType::Ethernet, ether(0x0800, ip)));
}

TEST(FrameIpv4, HeaderLengthBeyondTheFrameIsTruncated) {
  Bytes ip = ipv4({}, {});  // 20 bytes, nothing after
  ip[0] = 0x46;             // says 24
  set16(ip, 2, 24);
  EXPECT_EQ(decode(LinkType::Ipv4, ip).kind, Kind::Truncated);
  ip.resize(24, 0x01);
  EXPECT_EQ(decode(LinkType::Ipv4, ip).kind, Kind::Truncated);  // now the UDP header is missing
  EXPECT_EQ(decode(LinkType::Ipv4, ip).truncated_at, 24u);
}

TEST(FrameIpv4, TotalLengthBoundsTheDatagram) {
  const Bytes ip = ipv4_udp(ntp_payload());
  // Ethernet pads short frames; trailing bytes (padding, an FCS) are not part of the datagram.
  Bytes padded = ether(0x0800, ip);
  padded.resize(padded.size() + 20, 0xee);
  expect_ntp_udp(decode(LinkType::Ethernet, padded));
  const Bytes small = ether(0x0800, ipv4_udp({0x01, 0x02}));
  Bytes min_frame = small;
  min_frame.resize(60, 0);
  const auto f = decode(LinkType::Ethernet, min_frame);
  EXPECT_EQ(f.kind, Kind::Udp);
  EXPECT_EQ(payload_of(f), (Bytes{0x01, 0x02}));

  // Total length = the bytes present: fine. One more: truncated at the IPv4 header.
  Bytes exact = ether(0x0800, ip);
  expect_ntp_udp(decode(LinkType::Ethernet, exact));
  exact.pop_back();
  const auto cut = decode(LinkType::Ethernet, exact);
  EXPECT_EQ(cut.kind, Kind::Truncated);
  EXPECT_EQ(cut.truncated_at, 14u);
  EXPECT_EQ(cut.source.address.to_string(), "192.0.2.1");  // the addresses were read
}

TEST(FrameIpv4, TotalLengthBelowTheHeaderIsTruncated) {
  Bytes ip = ipv4_udp(ntp_payload());
  set16(ip, 2, 19);
  EXPECT_EQ(decode(LinkType::Ipv4, ip).kind, Kind::Truncated);
  set16(ip, 2, 20);  // header only: the UDP header is missing
  const auto f = decode(LinkType::Ipv4, ip);
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 20u);
}

TEST(FrameIpv4, TruncatedAtEachHeader) {
  const Bytes frame = ether(0x0800, ipv4_udp(ntp_payload()));
  // Cut the frame anywhere: the header that no longer fits is named.
  for (size_t n = 0; n < frame.size(); ++n) {
    Bytes cut(frame.begin(), frame.begin() + n);
    const auto f = decode(LinkType::Ethernet, cut);
    ASSERT_EQ(f.kind, Kind::Truncated) << n;
    const size_t expected = n < 14 ? 0 : 14;  // before the IPv4 total length is satisfied
    EXPECT_EQ(f.truncated_at, expected) << n;
  }
  // With the IPv4 total length fixed to the cut, the UDP header or its length is what fails.
  for (size_t n = 20; n < 20 + 8 + 48; ++n) {
    Bytes ip = ipv4_udp(ntp_payload());
    ip.resize(n);
    set16(ip, 2, static_cast<uint16_t>(n));
    const auto f = decode(LinkType::Ipv4, ip);
    ASSERT_EQ(f.kind, Kind::Truncated) << n;
    EXPECT_EQ(f.truncated_at, 20u) << n;
  }
}

TEST(FrameIpv4, OtherProtocols) {
  Ip4 h;
  h.protocol = 4;  // IP in IP: not looked into
  const auto f = decode(LinkType::Ipv4, ipv4(h, ipv4_udp(ntp_payload())));
  EXPECT_EQ(f.kind, Kind::OtherIp);
  EXPECT_EQ(f.payload.size(), 20u + 8 + 48);
  h.protocol = 58;  // ICMPv6 number in IPv4
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(h, Bytes(8, 0))).kind, Kind::OtherIp);
}

// --- UDP, TCP, ICMP ----------------------------------------------------------------------------

TEST(FrameUdp, LengthFieldBoundsThePayload) {
  Bytes u = udp(40000, 123, ntp_payload());
  u.resize(u.size() + 4, 0xee);  // bytes after the UDP datagram inside the IP datagram
  const auto f = decode(LinkType::Ipv4, ipv4({}, u));
  expect_ntp_udp(f);

  Bytes exact = udp(40000, 123, ntp_payload());
  set16(exact, 4, static_cast<uint16_t>(exact.size() + 1));  // one byte past the data
  const auto g = decode(LinkType::Ipv4, ipv4({}, exact));
  EXPECT_EQ(g.kind, Kind::Truncated);
  EXPECT_EQ(g.truncated_at, 20u);
}

TEST(FrameUdp, LengthBelowTheHeader) {
  Bytes u = udp(1, 123, {});
  ASSERT_EQ(u.size(), 8u);
  const auto empty = decode(LinkType::Ipv4, ipv4({}, u));
  EXPECT_EQ(empty.kind, Kind::Udp);
  EXPECT_TRUE(empty.payload.empty());
  set16(u, 4, 7);
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4({}, u)).kind, Kind::Truncated);
  set16(u, 4, 0);  // only IPv6 jumbograms may say 0 (RFC 2675)
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4({}, u)).kind, Kind::Truncated);
  Bytes v6 = udp(1, 123, ntp_payload());
  set16(v6, 4, 0);
  expect_ntp_udp(decode(LinkType::Ipv6, ipv6(17, v6)));
}

TEST(FrameUdp, HeaderBoundary) {
  Bytes u = udp(1, 123, {});
  u.pop_back();
  const auto f = decode(LinkType::Ipv4, ipv4({}, u));
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 20u);
}

TEST(FrameTcp, PortOneTwoThreeIsTcpNotUdp) {
  const Bytes frame = ether(0x0800, ipv4(proto(6), tcp(40000, 123, ntp_payload())));
  const auto f = decode(LinkType::Ethernet, frame);
  EXPECT_EQ(f.kind, Kind::Tcp);
  EXPECT_EQ(f.source.port, 40000);
  EXPECT_EQ(f.destination.port, 123);
  EXPECT_EQ(payload_of(f), ntp_payload());
  const auto opts = decode(LinkType::Ipv6, ipv6(6, tcp(123, 40000, ntp_payload(), 8)));
  EXPECT_EQ(opts.kind, Kind::Tcp);
  EXPECT_EQ(payload_of(opts), ntp_payload());
}

TEST(FrameTcp, DataOffsetBoundaries) {
  Bytes t = tcp(1, 123, {});
  ASSERT_EQ(t.size(), 20u);
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(6), t)).kind, Kind::Tcp);
  t[12] = 0x40;  // 4 words: inside its own header
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(6), t)).kind, Kind::Truncated);
  t[12] = 0x60;  // 6 words, 20 bytes present
  const auto f = decode(LinkType::Ipv4, ipv4(proto(6), t));
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 20u);
  t.pop_back();
  t[12] = 0x50;
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(6), t)).kind, Kind::Truncated);
}

Bytes icmp(uint8_t type, const Bytes& quote) {
  Bytes b = {type, 3, 0, 0, 0, 0, 0, 0};
  b.insert(b.end(), quote.begin(), quote.end());
  return b;
}

TEST(FrameIcmp, ErrorQuotingNtpIsNotUdp) {
  // A port unreachable quoting the request: the quote holds a UDP/123 header and NTP bytes.
  const Bytes quoted = ipv4_udp(ntp_payload());
  const Bytes frame = ether(0x0800, ipv4(proto(1), icmp(3, quoted)));
  const auto f = decode(LinkType::Ethernet, frame);
  EXPECT_EQ(f.kind, Kind::IcmpError);
  EXPECT_EQ(payload_of(f), quoted);
  EXPECT_EQ(f.destination.port, 0);
  for (int t : {3, 4, 5, 11, 12}) {
    const auto type = static_cast<uint8_t>(t);
    EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(1), icmp(type, quoted))).kind, Kind::IcmpError) << +type;
  }
  for (int t : {0, 2, 6, 8, 10, 13, 255}) {
    const auto type = static_cast<uint8_t>(t);
    EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(1), icmp(type, quoted))).kind, Kind::OtherIp) << +type;
  }
}

TEST(FrameIcmp, Icmpv6ErrorsAreTypesOneToFour) {
  const Bytes quoted = ipv6(17, udp(1, 123, ntp_payload()));
  for (int t : {1, 2, 3, 4}) {
    const auto type = static_cast<uint8_t>(t);
    const auto f = decode(LinkType::Ipv6, ipv6(58, icmp(type, quoted)));
    EXPECT_EQ(f.kind, Kind::IcmpError) << +type;
    EXPECT_EQ(payload_of(f), quoted);
  }
  for (int t : {0, 5, 127, 128, 129, 135}) {
    const auto type = static_cast<uint8_t>(t);
    EXPECT_EQ(decode(LinkType::Ipv6, ipv6(58, icmp(type, quoted))).kind, Kind::OtherIp) << +type;
  }
  EXPECT_EQ(decode(LinkType::Ipv6, ipv6(1, icmp(3, quoted))).kind, Kind::OtherIp);  // ICMPv4 number in IPv6
}

TEST(FrameIcmp, HeaderBoundary) {
  Bytes m = icmp(3, {});
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(1), m)).kind, Kind::IcmpError);
  m.pop_back();
  const auto f = decode(LinkType::Ipv4, ipv4(proto(1), m));
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 20u);
}

// --- IPv4 fragments ----------------------------------------------------------------------------

// Splits an IPv4 datagram's payload into fragments of `size` bytes (a multiple of 8).
std::vector<Bytes> fragments4(const Bytes& payload, size_t size, uint16_t id = 0x1234, uint8_t protocol = 17) {
  std::vector<Bytes> out;
  for (size_t at = 0; at < payload.size(); at += size) {
    const size_t n = std::min(size, payload.size() - at);
    Ip4 h;
    h.protocol = protocol;
    h.id = id;
    h.offset = at;
    h.more = at + n < payload.size();
    out.push_back(ether(0x0800, ipv4(h, Bytes(payload.begin() + at, payload.begin() + at + n))));
  }
  return out;
}

const Bytes kNtpUdp = udp(40000, 123, ntp_payload(0x5a));  // 56 bytes

TEST(FrameFragments, InOrder) {
  const auto frags = fragments4(kNtpUdp, 24);
  ASSERT_EQ(frags.size(), 3u);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 1u);
  const auto held = d.decode(kEthernet, frags[1], 1);
  EXPECT_EQ(held.kind, Kind::FragmentHeld);
  EXPECT_EQ(held.source.address.to_string(), "192.0.2.1");
  const auto f = d.decode(kEthernet, frags[2], 2);
  expect_ntp_udp(f, ntp_payload(0x5a));
  EXPECT_TRUE(f.reassembled);
  EXPECT_EQ(f.source.to_string(), "192.0.2.1:40000");
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.fragments_evicted(), 0u);
}

TEST(FrameFragments, ReversedAndShuffled) {
  const auto frags = fragments4(kNtpUdp, 8);
  ASSERT_EQ(frags.size(), 7u);
  FrameDecoder d;
  for (size_t i = frags.size(); i-- > 1;) EXPECT_EQ(d.decode(kEthernet, frags[i], 0).kind, Kind::FragmentHeld);
  expect_ntp_udp(d.decode(kEthernet, frags[0], 0), ntp_payload(0x5a));
  for (const size_t i : {3u, 0u, 6u, 1u, 5u, 2u}) EXPECT_EQ(d.decode(kEthernet, frags[i], 0).kind, Kind::FragmentHeld);
  expect_ntp_udp(d.decode(kEthernet, frags[4], 0), ntp_payload(0x5a));
}

TEST(FrameFragments, PayloadOutlivesTheFrameUntilTheNextDecode) {
  auto frags = fragments4(kNtpUdp, 32);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
  const auto f = d.decode(kEthernet, frags[1], 0);
  frags.clear();  // the payload lives in the decoder, not in the frames
  expect_ntp_udp(f, ntp_payload(0x5a));
}

TEST(FrameFragments, DuplicatesAreIgnored) {
  const auto frags = fragments4(kNtpUdp, 24);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[1], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[1], 0).kind, Kind::FragmentHeld);
  expect_ntp_udp(d.decode(kEthernet, frags[2], 0), ntp_payload(0x5a));
  // The datagram is done: a late copy opens a new one, which the timeout will clear.
  EXPECT_EQ(d.decode(kEthernet, frags[2], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 1u);
}

TEST(FrameFragments, Ipv4OverlapKeepsTheFirstCopy) {
  // Fragment A: bytes 0-23; fragment B: bytes 16-55 with different content in 16-23.
  Bytes rewritten = kNtpUdp;
  std::fill(rewritten.begin() + 16, rewritten.begin() + 24, 0xff);
  Ip4 a;
  a.more = true;
  Ip4 b;
  b.offset = 16;
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, ether(0x0800, ipv4(a, Bytes(kNtpUdp.begin(), kNtpUdp.begin() + 24))), 0).kind,
            Kind::FragmentHeld);
  const auto f = d.decode(kEthernet, ether(0x0800, ipv4(b, Bytes(rewritten.begin() + 16, rewritten.end()))), 0);
  expect_ntp_udp(f, ntp_payload(0x5a));
  // A later fragment that covers an earlier one from both sides fills only the holes.
  FrameDecoder e;
  Ip4 mid;
  mid.offset = 16;
  mid.more = true;
  Ip4 head;
  head.more = true;
  Ip4 tail;
  tail.offset = 48;
  EXPECT_EQ(e.decode(kEthernet, ether(0x0800, ipv4(mid, Bytes(kNtpUdp.begin() + 16, kNtpUdp.begin() + 24))), 0).kind,
            Kind::FragmentHeld);
  Bytes other = kNtpUdp;
  std::fill(other.begin() + 16, other.begin() + 24, 0x00);
  EXPECT_EQ(e.decode(kEthernet, ether(0x0800, ipv4(head, Bytes(other.begin(), other.begin() + 48))), 0).kind,
            Kind::FragmentHeld);
  expect_ntp_udp(e.decode(kEthernet, ether(0x0800, ipv4(tail, Bytes(kNtpUdp.begin() + 48, kNtpUdp.end()))), 0),
                 ntp_payload(0x5a));
}

TEST(FrameFragments, DifferentKeysDoNotMix) {
  const auto one = fragments4(kNtpUdp, 32, 1);
  const auto two = fragments4(kNtpUdp, 32, 2);
  const auto tcp_id1 = fragments4(kNtpUdp, 32, 1, 6);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, one[0], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, two[1], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, tcp_id1[1], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 3u);
  expect_ntp_udp(d.decode(kEthernet, one[1], 0), ntp_payload(0x5a));
  expect_ntp_udp(d.decode(kEthernet, two[0], 0), ntp_payload(0x5a));
  EXPECT_EQ(d.fragments_pending(), 1u);
}

TEST(FrameFragments, TimeoutBoundary) {
  const auto frags = fragments4(kNtpUdp, 32);
  {
    FrameDecoder d;
    EXPECT_EQ(d.decode(kEthernet, frags[0], 100 * kSecond).kind, Kind::FragmentHeld);
    expect_ntp_udp(d.decode(kEthernet, frags[1], 130 * kSecond), ntp_payload(0x5a));  // exactly 30 s: kept
  }
  {
    FrameDecoder d;
    EXPECT_EQ(d.decode(kEthernet, frags[0], 100 * kSecond).kind, Kind::FragmentHeld);
    EXPECT_EQ(d.decode(kEthernet, frags[1], 130 * kSecond + 1).kind, Kind::FragmentHeld);  // a new datagram
    EXPECT_EQ(d.fragments_evicted(), 1u);
    EXPECT_EQ(d.fragments_pending(), 1u);
  }
  {
    FrameDecoder d(timeout_limit(kSecond));
    EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
    EXPECT_EQ(d.decode(kEthernet, ether(0x0806, {}), 2 * kSecond).kind, Kind::NotIp);  // any frame moves time on
    EXPECT_EQ(d.fragments_pending(), 0u);
    EXPECT_EQ(d.fragments_evicted(), 1u);
  }
}

TEST(FrameFragments, TimeRunningBackwardsEvictsNothing) {
  const auto frags = fragments4(kNtpUdp, 24);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[0], 500 * kSecond).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[1], -400 * kSecond).kind, Kind::FragmentHeld);
  expect_ntp_udp(d.decode(kEthernet, frags[2], 510 * kSecond), ntp_payload(0x5a));
  EXPECT_EQ(d.fragments_evicted(), 0u);
  // Extreme times must not overflow the age computation.
  EXPECT_EQ(d.decode(kEthernet, frags[0], INT64_MIN).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[1], INT64_MAX).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_evicted(), 1u);
}

TEST(FrameFragments, MemoryLimitBoundary) {
  // The datagram needs its bookkeeping and kNtpUdp.size() bytes at once (its last fragment
  // arrives first).
  const auto frags = fragments4(kNtpUdp, 32);
  const size_t needed = kFragmentBookkeepingBytes + kNtpUdp.size();
  {
    FrameDecoder d(memory_limit(needed));
    EXPECT_EQ(d.decode(kEthernet, frags[1], 0).kind, Kind::FragmentHeld);
    expect_ntp_udp(d.decode(kEthernet, frags[0], 0), ntp_payload(0x5a));
    EXPECT_EQ(d.fragments_evicted(), 0u);
  }
  {
    FrameDecoder d(memory_limit(needed - 1));
    EXPECT_EQ(d.decode(kEthernet, frags[1], 0).kind, Kind::FragmentHeld);
    EXPECT_EQ(d.fragments_pending(), 0u);
    EXPECT_EQ(d.fragments_evicted(), 1u);
    EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);  // fits alone (32 bytes)
    EXPECT_EQ(d.fragments_pending(), 1u);
  }
  for (size_t limit : {kFragmentBookkeepingBytes, kFragmentBookkeepingBytes - 1, size_t{0}}) {
    FrameDecoder d(memory_limit(limit));  // room for no data at all
    EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
    EXPECT_EQ(d.fragments_pending(), 0u);
    EXPECT_EQ(d.fragments_evicted(), 1u);
  }
}

TEST(FrameFragments, MemoryLimitEvictsTheOldestFirst) {
  // Each first fragment holds 32 bytes; the limit holds two of them.
  FrameDecoder d(memory_limit(2 * (kFragmentBookkeepingBytes + 32)));
  std::vector<std::vector<Bytes>> all;
  for (uint16_t id = 1; id <= 3; ++id) all.push_back(fragments4(kNtpUdp, 32, id));
  EXPECT_EQ(d.decode(kEthernet, all[0][0], 1).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, all[1][0], 2).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_evicted(), 0u);
  EXPECT_EQ(d.decode(kEthernet, all[2][0], 3).kind, Kind::FragmentHeld);  // datagram 1 goes
  EXPECT_EQ(d.fragments_evicted(), 1u);
  EXPECT_EQ(d.fragments_pending(), 2u);
  // Completing 2 needs 24 more bytes: 3 goes, not 2 though it is older.
  expect_ntp_udp(d.decode(kEthernet, all[1][1], 4), ntp_payload(0x5a));
  EXPECT_EQ(d.fragments_evicted(), 2u);
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.decode(kEthernet, all[0][1], 5).kind, Kind::FragmentHeld);  // 1 starts over, incomplete
  EXPECT_EQ(d.fragments_pending(), 1u);
}

TEST(FrameFragments, TinyFragmentsAreChargedTheirBookkeeping) {
  // A flood of 8-byte first fragments: the limit, not the bytes they carry, bounds how many are held.
  FrameDecoder d(memory_limit(3 * (kFragmentBookkeepingBytes + 8)));
  for (uint16_t id = 1; id <= 10; ++id) {
    Ip4 h;
    h.id = id;
    h.more = true;
    EXPECT_EQ(d.decode(kEthernet, ether(0x0800, ipv4(h, Bytes(8, 0))), 0).kind, Kind::FragmentHeld);
  }
  EXPECT_EQ(d.fragments_pending(), 3u);
  EXPECT_EQ(d.fragments_evicted(), 7u);
}

TEST(FrameFragments, TooManyPiecesGiveUp) {
  // Disjoint 8-byte pieces at every other 8-byte slot.
  FrameDecoder d;
  const auto piece = [](size_t i) {
    Ip4 h;
    h.offset = 16 * i;
    h.more = true;
    return ether(0x0800, ipv4(h, Bytes(8, 0)));
  };
  for (size_t i = 0; i < kMaxFragmentPieces; ++i) EXPECT_EQ(d.decode(kEthernet, piece(i), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 1u);
  EXPECT_EQ(d.fragments_evicted(), 0u);
  EXPECT_EQ(d.decode(kEthernet, piece(kMaxFragmentPieces), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.fragments_evicted(), 1u);
}

TEST(FrameFragments, ManyInOrderFragmentsOfTheLargestDatagram) {
  // 65,535 bytes in 1,480-byte fragments, then the same backwards.
  Bytes big = udp(40000, 123, Bytes(65535 - 8, 0x77));
  for (size_t i = 0; i < big.size(); ++i) big[i] = i < 8 ? big[i] : static_cast<uint8_t>(i);
  const auto frags = fragments4(big, 1480);
  FrameDecoder d;
  for (size_t i = 0; i + 1 < frags.size(); ++i) ASSERT_EQ(d.decode(kEthernet, frags[i], 0).kind, Kind::FragmentHeld);
  const auto f = d.decode(kEthernet, frags.back(), 0);
  EXPECT_EQ(f.kind, Kind::Udp);
  EXPECT_EQ(payload_of(f), Bytes(big.begin() + 8, big.end()));
  for (size_t i = frags.size(); i-- > 1;) ASSERT_EQ(d.decode(kEthernet, frags[i], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).payload.size(), big.size() - 8);
}

TEST(FrameFragments, NoDatagramBeyond65535Bytes) {
  // Offset 65528 plus 8 bytes ends at 65536: the ping of death.
  Ip4 tail;
  tail.offset = 65528;
  Ip4 head;
  head.more = true;
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, ether(0x0800, ipv4(head, Bytes(kNtpUdp.begin(), kNtpUdp.begin() + 8))), 0).kind,
            Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, ether(0x0800, ipv4(tail, Bytes(8, 0))), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.fragments_evicted(), 1u);
  // Ending at exactly 65535 is allowed.
  FrameDecoder e;
  EXPECT_EQ(e.decode(kEthernet, ether(0x0800, ipv4(tail, Bytes(7, 0))), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(e.fragments_pending(), 1u);
}

TEST(FrameFragments, ContradictoryLastFragmentsGiveUp) {
  const auto frags = fragments4(kNtpUdp, 24);
  Ip4 other_end;
  other_end.offset = 24;  // a second "last" fragment ending at 32, not 56
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[2], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, ether(0x0800, ipv4(other_end, Bytes(8, 0))), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.fragments_evicted(), 1u);
  // A non-last fragment reaching past a known end gives up as well.
  FrameDecoder e;
  Ip4 beyond;
  beyond.offset = 56;
  beyond.more = true;
  EXPECT_EQ(e.decode(kEthernet, frags[2], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(e.decode(kEthernet, ether(0x0800, ipv4(beyond, Bytes(8, 0))), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(e.fragments_evicted(), 1u);
}

TEST(FrameFragments, EmptyFragmentsHoldNothing) {
  Ip4 h;
  h.more = true;
  h.offset = 8;
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, ether(0x0800, ipv4(h, {})), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.fragments_pending(), 0u);
}

TEST(FrameFragments, ReassembledDatagramStillChecked) {
  Bytes bad = kNtpUdp;
  set16(bad, 4, static_cast<uint16_t>(bad.size() + 1));
  const auto frags = fragments4(bad, 32);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::FragmentHeld);
  const auto f = d.decode(kEthernet, frags[1], 0);
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_TRUE(f.reassembled);
  EXPECT_EQ(f.truncated_at, 0u);  // counted in the reassembled payload
}

// --- IPv6 --------------------------------------------------------------------------------------

TEST(FrameIpv6, ExtensionHeadersAreWalked) {
  const Bytes u = udp(40000, 123, ntp_payload());
  const Bytes chain = cat({ext_header(60, 2), ext_header(17, 1), u});  // routing, dest opts, UDP
  const Bytes frame = ether(0x86dd, ipv6(0, cat({ext_header(43), chain})));
  const auto f = decode(LinkType::Ethernet, frame);
  expect_ntp_udp(f);
  EXPECT_EQ(f.payload.data(), f.frame.data() + 14 + 40 + 8 + 24 + 16 + 8);
  // AH (RFC 4302): payload length 4 means (4 + 2) * 4 = 24 octets.
  Bytes ah(24, 0);
  ah[0] = 17;
  ah[1] = 4;
  expect_ntp_udp(decode(LinkType::Ipv6, ipv6(51, cat({ah, u}))));
  EXPECT_EQ(decode(LinkType::Ipv6, ipv6(60, cat({ext_header(59), u}))).kind, Kind::OtherIp);
  EXPECT_EQ(decode(LinkType::Ipv6, ipv6(59, u)).kind, Kind::OtherIp);
}

TEST(FrameIpv6, ExtensionHeaderBoundaries) {
  // The length byte itself missing, then the header one byte short, then exactly there.
  const auto one = decode(LinkType::Ipv6, ipv6(60, {17}));
  EXPECT_EQ(one.kind, Kind::Truncated);
  EXPECT_EQ(one.truncated_at, 40u);
  Bytes opts = ext_header(17, 1);  // 16 bytes
  opts.pop_back();
  const auto short_by_one = decode(LinkType::Ipv6, ipv6(60, opts));
  EXPECT_EQ(short_by_one.kind, Kind::Truncated);
  EXPECT_EQ(short_by_one.truncated_at, 40u);
  const auto exact = decode(LinkType::Ipv6, ipv6(60, ext_header(17, 1)));
  EXPECT_EQ(exact.kind, Kind::Truncated);  // now the UDP header is missing
  EXPECT_EQ(exact.truncated_at, 56u);
}

TEST(FrameIpv6, PayloadLengthBoundsTheDatagram) {
  Bytes ip = ipv6(17, udp(1, 123, ntp_payload()));
  Bytes padded = ip;
  padded.resize(padded.size() + 6, 0xee);
  expect_ntp_udp(decode(LinkType::Ipv6, padded));
  ip.pop_back();
  const auto f = decode(LinkType::Ipv6, ip);
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 0u);
  const auto header = decode(LinkType::Ipv6, Bytes(ip.begin(), ip.begin() + 39));
  EXPECT_EQ(header.kind, Kind::Truncated);
  EXPECT_EQ(header.truncated_at, 0u);
}

TEST(FrameIpv6, JumbogramTakesTheFrameLength) {
  Bytes ip = ipv6(0, cat({ext_header(17), udp(1, 123, ntp_payload())}));
  set16(ip, 4, 0);
  expect_ntp_udp(decode(LinkType::Ipv6, ip));
}

std::vector<Bytes> fragments6(const Bytes& fragmentable, uint8_t first_next, size_t size, uint32_t id = 77) {
  std::vector<Bytes> out;
  for (size_t at = 0; at < fragmentable.size(); at += size) {
    const size_t n = std::min(size, fragmentable.size() - at);
    const bool more = at + n < fragmentable.size();
    const Bytes piece(fragmentable.begin() + at, fragmentable.begin() + at + n);
    // Hop-by-hop stays in the unfragmentable part of every fragment.
    out.push_back(ether(0x86dd, ipv6(0, cat({ext_header(44), fragment_header(first_next, at, more, id), piece}))));
  }
  return out;
}

TEST(FrameIpv6, FragmentsReassembleWithHeadersInTheFragmentablePart) {
  const Bytes fragmentable = cat({ext_header(17, 1), udp(40000, 123, ntp_payload())});  // dest opts, UDP
  const auto frags = fragments6(fragmentable, 60, 16);
  ASSERT_EQ(frags.size(), 5u);
  FrameDecoder d;
  for (size_t i = frags.size(); i-- > 1;) EXPECT_EQ(d.decode(kEthernet, frags[i], 0).kind, Kind::FragmentHeld);
  const auto f = d.decode(kEthernet, frags[0], 0);
  expect_ntp_udp(f);
  EXPECT_TRUE(f.reassembled);
  EXPECT_EQ(f.source.to_string(), "[2001:db8::1]:40000");
}

TEST(FrameIpv6, AtomicFragmentIsNotHeld) {
  const Bytes frame = ether(0x86dd, ipv6(44, cat({fragment_header(17, 0, false, 9), udp(1, 123, ntp_payload())})));
  FrameDecoder d;
  const auto f = d.decode(kEthernet, frame, 0);
  expect_ntp_udp(f);
  EXPECT_FALSE(f.reassembled);
  EXPECT_EQ(d.fragments_pending(), 0u);
}

TEST(FrameIpv6, OverlapDiscardsTheDatagram) {
  const Bytes u = udp(1, 123, ntp_payload());
  const auto frag = [&](size_t at, size_t n, bool more) {
    return ether(0x86dd, ipv6(44, cat({fragment_header(17, at, more, 5), Bytes(u.begin() + at, u.begin() + at + n)})));
  };
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frag(0, 24, true), 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frag(0, 24, true), 0).kind, Kind::FragmentHeld);  // an exact duplicate is fine
  EXPECT_EQ(d.fragments_pending(), 1u);
  EXPECT_EQ(d.decode(kEthernet, frag(16, 40, false), 0).kind, Kind::FragmentHeld);  // overlaps 16-23
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.fragments_evicted(), 1u);
}

TEST(FrameIpv6, FragmentTruncatedAndNested) {
  const auto f = decode(LinkType::Ipv6, ipv6(44, {17, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 40u);
  // A Fragment header inside a reassembled payload is not reassembled again.
  const Bytes inner = cat({fragment_header(17, 8, true, 1), Bytes(8, 0)});
  const auto frags = fragments6(inner, 44, 8);
  FrameDecoder d;
  EXPECT_EQ(d.decode(kEthernet, frags[1], 0).kind, Kind::FragmentHeld);
  EXPECT_EQ(d.decode(kEthernet, frags[0], 0).kind, Kind::OtherIp);
}

// --- GRE ---------------------------------------------------------------------------------------

TEST(FrameGre, OptionalFieldsByFlag) {
  const Bytes inner = ipv4(between({10, 0, 0, 1}, {10, 0, 0, 2}), udp(40000, 123, ntp_payload()));
  for (int flags = 0; flags < 8; ++flags) {
    const bool c = flags & 4, k = flags & 2, s = flags & 1;
    const Bytes frame = ether(0x0800, ipv4(proto(47), gre(0x0800, inner, c, k, s)));
    const auto f = decode(LinkType::Ethernet, frame);
    expect_ntp_udp(f);
    EXPECT_EQ(f.tunnels, 1);
    EXPECT_EQ(f.source.to_string(), "10.0.0.1:40000");
    EXPECT_EQ(f.payload.data(), f.frame.data() + 14 + 20 + 4 + 4 * (c + k + s) + 20 + 8) << flags;
  }
}

TEST(FrameGre, HeaderBoundaries) {
  for (int flags = 0; flags < 8; ++flags) {
    Bytes g = gre(0x0800, {}, flags & 4, flags & 2, flags & 1);
    // Exactly the GRE header: the inner IPv4 header is what is missing.
    const auto whole = decode(LinkType::Ipv4, ipv4(proto(47), g));
    EXPECT_EQ(whole.kind, Kind::Truncated);
    EXPECT_EQ(whole.truncated_at, 20 + g.size()) << flags;
    g.pop_back();
    const auto cut = decode(LinkType::Ipv4, ipv4(proto(47), g));
    EXPECT_EQ(cut.kind, Kind::Truncated);
    EXPECT_EQ(cut.truncated_at, 20u) << flags;
  }
}

TEST(FrameGre, InnerIpv6AndEthernet) {
  const auto v6 = decode(LinkType::Ipv6, ipv6(47, gre(0x86dd, ipv6(17, udp(1, 123, ntp_payload())), false, true)));
  expect_ntp_udp(v6);
  EXPECT_EQ(v6.tunnels, 1);
  const auto bridged =
      decode(LinkType::Ipv4, ipv4(proto(47), gre(0x6558, ether(0x8100, cat({{0, 5, 8, 0}, ipv4_udp(ntp_payload())})))));
  expect_ntp_udp(bridged);
  EXPECT_EQ(bridged.tunnels, 1);
  const auto arp = decode(LinkType::Ipv4, ipv4(proto(47), gre(0x6558, ether(0x0806, Bytes(28, 0)))));
  EXPECT_EQ(arp.kind, Kind::NotIp);
  EXPECT_EQ(arp.source, Endpoint{});  // the inner Ethernet frame has no addresses
}

TEST(FrameGre, UnknownProtocolVersionOrRoutingIsOtherIp) {
  const Bytes inner = ipv4_udp(ntp_payload());
  const auto erspan = decode(LinkType::Ipv4, ipv4(proto(47), gre(0x88be, inner)));
  EXPECT_EQ(erspan.kind, Kind::OtherIp);
  EXPECT_EQ(erspan.tunnels, 0);
  Bytes pptp = gre(0x880b, inner, false, true, false);
  pptp[1] |= 1;  // version 1 (RFC 2637)
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(47), pptp)).kind, Kind::OtherIp);
  Bytes routing = gre(0x0800, inner);
  routing[0] |= 0x40;
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4(proto(47), routing)).kind, Kind::OtherIp);
}

TEST(FrameGre, NestingIsBounded) {
  Bytes pkt = ipv4_udp(ntp_payload());
  for (int depth = 1; depth <= kMaxTunnels + 1; ++depth) {
    pkt = ipv4(proto(47), gre(0x0800, pkt));
    const auto f = decode(LinkType::Ipv4, pkt);
    if (depth <= kMaxTunnels) {
      expect_ntp_udp(f);
      EXPECT_EQ(f.tunnels, depth);
    } else {
      EXPECT_EQ(f.kind, Kind::OtherIp);
      EXPECT_EQ(f.tunnels, kMaxTunnels);
    }
  }
}

// --- VXLAN -------------------------------------------------------------------------------------

const Bytes kInnerFrame = ether(0x0800, ipv4(between({10, 1, 0, 1}, {10, 1, 0, 2}), udp(40000, 123, ntp_payload())));

TEST(FrameVxlan, InsideIpv4AndIpv6) {
  const Bytes frame = ether(0x0800, ipv4({}, udp(50000, 4789, vxlan(kInnerFrame))));
  const auto f = decode(LinkType::Ethernet, frame);
  expect_ntp_udp(f);
  EXPECT_EQ(f.tunnels, 1);
  EXPECT_EQ(f.source.to_string(), "10.1.0.1:40000");
  EXPECT_EQ(f.payload.data(), f.frame.data() + 14 + 20 + 8 + 8 + 14 + 20 + 8);
  const auto g = decode(LinkType::Ethernet, ether(0x86dd, ipv6(17, udp(50000, 4789, vxlan(kInnerFrame)))));
  expect_ntp_udp(g);
  EXPECT_EQ(g.tunnels, 1);
}

TEST(FrameVxlan, OnlyWithTheIFlagOnPort4789) {
  const Bytes no_flag = vxlan(kInnerFrame, 0x00);
  const auto f = decode(LinkType::Ipv4, ipv4({}, udp(50000, 4789, no_flag)));
  EXPECT_EQ(f.kind, Kind::Udp);
  EXPECT_EQ(f.destination.port, 4789);
  EXPECT_EQ(payload_of(f), no_flag);
  const auto other_port = decode(LinkType::Ipv4, ipv4({}, udp(50000, 4790, vxlan(kInnerFrame))));
  EXPECT_EQ(other_port.destination.port, 4790);
  EXPECT_EQ(other_port.tunnels, 0);
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4({}, udp(4789, 50000, vxlan(kInnerFrame)))).tunnels, 0);  // source port only
  EXPECT_EQ(decode(LinkType::Ipv4, ipv4({}, udp(50000, 4789, {}))).kind, Kind::Udp);
}

TEST(FrameVxlan, HeaderBoundary) {
  const auto f = decode(LinkType::Ipv4, ipv4({}, udp(50000, 4789, {0x08, 0, 0, 0, 0, 0, 0})));
  EXPECT_EQ(f.kind, Kind::Truncated);
  EXPECT_EQ(f.truncated_at, 28u);
  const auto g = decode(LinkType::Ipv4, ipv4({}, udp(50000, 4789, {0x08, 0, 0, 0, 0, 0, 0, 0})));
  EXPECT_EQ(g.kind, Kind::Truncated);  // an empty inner Ethernet frame
  EXPECT_EQ(g.truncated_at, 36u);
  EXPECT_EQ(g.tunnels, 1);
}

TEST(FrameVxlan, InnerNonIpClearsTheOuterAddresses) {
  const auto f = decode(LinkType::Ipv4, ipv4({}, udp(50000, 4789, vxlan(ether(0x0806, Bytes(28, 0))))));
  EXPECT_EQ(f.kind, Kind::NotIp);
  EXPECT_EQ(f.source, Endpoint{});
  EXPECT_EQ(f.destination, Endpoint{});
}

TEST(FrameVxlan, NestingIsBounded) {
  Bytes pkt = kInnerFrame;
  for (int depth = 1; depth <= kMaxTunnels + 1; ++depth) {
    pkt = ether(0x0800, ipv4({}, udp(50000, 4789, vxlan(pkt))));
    const auto f = decode(LinkType::Ethernet, pkt);
    EXPECT_EQ(f.kind, Kind::Udp);
    if (depth <= kMaxTunnels) {
      EXPECT_EQ(f.destination.port, 123);
      EXPECT_EQ(f.tunnels, depth);
    } else {
      EXPECT_EQ(f.destination.port, 4789);
      EXPECT_EQ(f.tunnels, kMaxTunnels);
    }
  }
}

TEST(FrameVxlan, MixedWithGreAndFragments) {
  // VXLAN in a fragmented outer IPv4 datagram, the inner frame in GRE.
  const Bytes inner = ether(0x0800, ipv4(proto(47), gre(0x0800, ipv4_udp(ntp_payload()), false, true)));
  const auto frags = fragments4(udp(50000, 4789, vxlan(inner)), 48);
  FrameDecoder d;
  for (size_t i = 1; i < frags.size(); ++i) EXPECT_EQ(d.decode(kEthernet, frags[i], 0).kind, Kind::FragmentHeld);
  const auto f = d.decode(kEthernet, frags[0], 0);
  expect_ntp_udp(f);
  EXPECT_EQ(f.tunnels, 2);
  EXPECT_TRUE(f.reassembled);
}

// --- Addresses ---------------------------------------------------------------------------------

Address v6(std::initializer_list<uint16_t> groups) {
  Address a;
  a.v6 = true;
  size_t i = 0;
  for (uint16_t g : groups) {
    a.bytes[i++] = static_cast<uint8_t>(g >> 8);
    a.bytes[i++] = static_cast<uint8_t>(g);
  }
  return a;
}

TEST(FrameAddress, Ipv4Text) {
  Address a;
  EXPECT_EQ(a.to_string(), "0.0.0.0");
  a.bytes = {255, 255, 255, 255};
  EXPECT_EQ(a.to_string(), "255.255.255.255");
  a.bytes = {192, 0, 2, 1, 9, 9};  // bytes past the first 4 are not part of an IPv4 address
  EXPECT_EQ(a.to_string(), "192.0.2.1");
}

TEST(FrameAddress, Ipv6TextIsRfc5952) {
  EXPECT_EQ(v6({}).to_string(), "::");
  EXPECT_EQ(v6({0, 0, 0, 0, 0, 0, 0, 1}).to_string(), "::1");
  EXPECT_EQ(v6({1, 0, 0, 0, 0, 0, 0, 0}).to_string(), "1::");
  EXPECT_EQ(v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}).to_string(), "2001:db8::1");
  EXPECT_EQ(v6({0xfe80, 0, 0, 0, 0x0202, 0xb3ff, 0xfe1e, 0x8329}).to_string(), "fe80::202:b3ff:fe1e:8329");
  // §4.2.2: a single zero group is not compressed.
  EXPECT_EQ(v6({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}).to_string(), "2001:db8:0:1:1:1:1:1");
  // §4.2.3: the longest run; on a tie, the first.
  EXPECT_EQ(v6({0x2001, 0, 0, 1, 0, 0, 0, 1}).to_string(), "2001:0:0:1::1");
  EXPECT_EQ(v6({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}).to_string(), "2001:db8::1:0:0:1");
  // §4.3: lowercase, no leading zeros.
  EXPECT_EQ(v6({0x2001, 0x0db8, 0xABCD, 0x00ef, 0x000f, 0xffff, 0x1000, 0x0100}).to_string(),
            "2001:db8:abcd:ef:f:ffff:1000:100");
  EXPECT_EQ(v6({0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201}).to_string(), "::ffff:192.0.2.1");  // §5
  EXPECT_EQ(v6({0, 0, 0, 0, 0, 0xfffe, 0xc000, 0x0201}).to_string(), "::fffe:c000:201");
  EXPECT_EQ(v6({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}).to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(FrameAddress, EndpointText) {
  Endpoint e;
  e.address.bytes = {192, 0, 2, 1};
  e.port = 123;
  EXPECT_EQ(e.to_string(), "192.0.2.1:123");
  e.address = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  e.port = 65535;
  EXPECT_EQ(e.to_string(), "[2001:db8::1]:65535");
  e.port = 0;
  EXPECT_EQ(e.to_string(), "[2001:db8::1]:0");
}

TEST(FrameAddress, OrderingIsTotal) {
  Address a4;
  a4.bytes = {10, 0, 0, 1};
  Address b4 = a4;
  b4.bytes[3] = 2;
  EXPECT_LT(a4, b4);
  Address same_bytes_v6 = a4;
  same_bytes_v6.v6 = true;
  EXPECT_NE(a4, same_bytes_v6);
  EXPECT_LT((Endpoint{a4, 1}), (Endpoint{a4, 2}));
}

}  // namespace
}  // namespace ntpkit::net
