#include "ntpkit/capture/frame.hpp"

#include "ntpkit/capture/reassembly.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "ntpkit/wire/bytes.hpp"

namespace ntpkit::net {
namespace {

using Bytes = std::span<const uint8_t>;

// Ethertypes (IEEE 802.3 §3.2.6 / IEEE 802.1Q): values below 0x0600 are an 802.3 length.
constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;        // IEEE 802.1Q C-tag
constexpr uint16_t kEtherQinq = 0x88a8;        // IEEE 802.1ad S-tag
constexpr uint16_t kEtherQinqLegacy = 0x9100;  // pre-802.1ad S-tag, still seen in the wild
constexpr uint16_t kEtherBridging = 0x6558;    // RFC 1701: transparent Ethernet bridging

constexpr size_t kEthernetHeader = 14;
constexpr size_t kVlanTag = 4;
constexpr size_t kSllHeader = 16;   // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
constexpr size_t kSll2Header = 20;  // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
constexpr size_t kNullHeader = 4;   // https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr size_t kTcpHeader = 20;
constexpr size_t kIcmpHeader = 8;
constexpr size_t kVxlanHeader = 8;
constexpr size_t kFragmentHeader = 8;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoGre = 47;
constexpr uint8_t kProtoAh = 51;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoNoNext = 59;
constexpr uint8_t kProtoDestOpts = 60;

constexpr uint16_t kVxlanPort = 4789;  // RFC 7348 §5 (IANA)
constexpr uint8_t kVxlanIFlag = 0x08;

uint16_t be16(Bytes b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

Address ipv4_address(Bytes b) {
  Address a;
  std::copy_n(b.begin(), 4, a.bytes.begin());
  return a;
}
Address ipv6_address(Bytes b) {
  Address a;
  std::copy_n(b.begin(), 16, a.bytes.begin());
  a.v6 = true;
  return a;
}

void append_decimal(std::string& s, unsigned v) {
  char buf[8];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}
void append_dotted(std::string& s, const uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    if (i) s += '.';
    append_decimal(s, b[i]);
  }
}

bool is_ipv4_family(uint32_t f) {
  return f == 2;
}
// BSD AF_INET6 differs by system: 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly), 30 (Darwin).
bool is_ipv6_family(uint32_t f) {
  return f == 24 || f == 28 || f == 30;
}
uint32_t byteswap32(uint32_t v) {
  return ((v & 0xffu) << 24) | ((v & 0xff00u) << 8) | ((v >> 8) & 0xff00u) | (v >> 24);
}

}  // namespace

// --- Names and text forms ----------------------------------------------------------------------

bool is_supported(uint32_t linktype) {
  return name(linktype) != "unknown";
}

std::string_view name(uint32_t linktype) {
  if (linktype == kDltRaw) return "Raw IP";
  switch (static_cast<LinkType>(linktype)) {
    case LinkType::Null: return "BSD loopback";
    case LinkType::Ethernet: return "Ethernet";
    case LinkType::Raw: return "Raw IP";
    case LinkType::Loop: return "OpenBSD loopback";
    case LinkType::LinuxSll: return "Linux cooked v1";
    case LinkType::Ipv4: return "Raw IPv4";
    case LinkType::Ipv6: return "Raw IPv6";
    case LinkType::LinuxSll2: return "Linux cooked v2";
  }
  return "unknown";
}

std::string Address::to_string() const {
  std::string s;
  if (!v6) {
    append_dotted(s, bytes.data());
    return s;
  }
  // RFC 5952 §5: an IPv4-mapped address keeps its IPv4 part in dotted form.
  const bool mapped = std::all_of(bytes.begin(), bytes.begin() + 10, [](uint8_t b) { return b == 0; }) &&
                      bytes[10] == 0xff && bytes[11] == 0xff;
  if (mapped) {
    s = "::ffff:";
    append_dotted(s, bytes.data() + 12);
    return s;
  }
  std::array<unsigned, 8> g{};
  for (size_t i = 0; i < 8; ++i) g[i] = static_cast<unsigned>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // RFC 5952 §4.2: "::" replaces the longest run of two or more zero groups, the first on a tie.
  size_t best = 8, best_len = 1;
  for (size_t i = 0; i < 8;) {
    size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  for (size_t i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (i != 0 && i != best + best_len) s += ':';
    // RFC 5952 §4.1 and §4.3: no leading zeros, lowercase.
    char buf[4];
    const auto r = std::to_chars(buf, buf + sizeof buf, g[i], 16);
    s.append(buf, r.ptr);
  }
  return s;
}

std::string Endpoint::to_string() const {
  std::string s = address.v6 ? "[" + address.to_string() + "]:" : address.to_string() + ":";
  append_decimal(s, port);
  return s;
}

// --- One decode() call -------------------------------------------------------------------------

// Each layer gets the bytes from its own header on and `base`, their offset in the frame (or in
// the reassembled payload), so that truncated_at always points into what the caller can see.
// `out` is the caller's return value, written in place: a DecodedFrame kept here and copied out
// was read back in 16-byte words right after being written field by field (a store-forwarding
// stall on every frame).
struct FrameDecoder::Walk {
  FrameDecoder& decoder;
  int64_t now;
  DecodedFrame& out;

  void set(DecodedFrame::Kind kind, Bytes payload = {}) {
    out.kind = kind;
    out.payload = payload;
  }
  void truncated(size_t at) {
    set(DecodedFrame::Kind::Truncated);
    out.truncated_at = at;
  }
  bool enter_tunnel() {
    if (out.tunnels >= kMaxTunnels) return false;
    ++out.tunnels;
    return true;
  }

  void link(uint32_t linktype, Bytes f);
  void ethernet(Bytes f, size_t base);
  void ethertype(uint16_t type, Bytes f, size_t pos, size_t base);
  void ipv4(Bytes b, size_t base);
  void ipv6(Bytes b, size_t base);
  void ipv6_headers(uint8_t next, Bytes b, size_t base, bool reassembled);
  void transport(uint8_t protocol, Bytes b, size_t base, bool v6);
  void udp(Bytes b, size_t base, bool v6);
  void tcp(Bytes b, size_t base);
  void icmp(Bytes b, size_t base, bool v6);
  void gre(Bytes b, size_t base);
};

void FrameDecoder::Walk::link(uint32_t linktype, Bytes f) {
  if (linktype == kDltRaw) linktype = static_cast<uint32_t>(LinkType::Raw);
  switch (static_cast<LinkType>(linktype)) {
    case LinkType::Ethernet: return ethernet(f, 0);
    case LinkType::LinuxSll:
      // Packet type, ARPHRD type, address length, 8 address bytes, then the protocol.
      if (f.size() < kSllHeader) return truncated(0);
      return ethertype(be16(f, 14), f, kSllHeader, 0);
    case LinkType::LinuxSll2:
      // The protocol comes first; interface index, ARPHRD type, packet type and address follow.
      if (f.size() < kSll2Header) return truncated(0);
      return ethertype(be16(f, 0), f, kSll2Header, 0);
    case LinkType::Null:
    case LinkType::Loop: {
      if (f.size() < kNullHeader) return truncated(0);
      ByteReader r(f);
      const uint32_t family = r.u32().value_or(0);
      // NULL holds the family in the capturing host's byte order, which the file does not record;
      // the values are small, so the swapped reading cannot collide. LOOP is network order.
      const bool null = static_cast<LinkType>(linktype) == LinkType::Null;
      const uint32_t swapped = null ? byteswap32(family) : family;
      if (is_ipv4_family(family) || is_ipv4_family(swapped)) return ipv4(f.subspan(kNullHeader), kNullHeader);
      if (is_ipv6_family(family) || is_ipv6_family(swapped)) return ipv6(f.subspan(kNullHeader), kNullHeader);
      return set(DecodedFrame::Kind::NotIp);
    }
    case LinkType::Raw:
      if (f.empty()) return truncated(0);
      if (f[0] >> 4 == 4) return ipv4(f, 0);
      if (f[0] >> 4 == 6) return ipv6(f, 0);
      return set(DecodedFrame::Kind::NotIp);
    case LinkType::Ipv4: return ipv4(f, 0);
    case LinkType::Ipv6: return ipv6(f, 0);
  }
  set(DecodedFrame::Kind::NotIp);
}

void FrameDecoder::Walk::ethernet(Bytes f, size_t base) {
  // Destination, source, then an ethertype (Ethernet II) or a length (IEEE 802.3, no IP here).
  if (f.size() < kEthernetHeader) return truncated(base);
  ethertype(be16(f, 12), f, kEthernetHeader, base);
}

void FrameDecoder::Walk::ethertype(uint16_t type, Bytes f, size_t pos, size_t base) {
  // IEEE 802.1Q tags, stacked for QinQ (802.1ad): each is a TCI and the next ethertype.
  while (type == kEtherVlan || type == kEtherQinq || type == kEtherQinqLegacy) {
    if (f.size() - pos < kVlanTag) return truncated(base + pos);
    type = be16(f, pos + 2);
    pos += kVlanTag;
  }
  if (type == kEtherIpv4) return ipv4(f.subspan(pos), base + pos);
  if (type == kEtherIpv6) return ipv6(f.subspan(pos), base + pos);
  set(DecodedFrame::Kind::NotIp);
}

void FrameDecoder::Walk::ipv4(Bytes b, size_t base) {
  // RFC 791 §3.1.
  if (b.size() < kIpv4Header) return truncated(base);
  // Fixed offsets inside the 20 bytes checked above (a ByteReader's optionals per field showed).
  const uint8_t version_ihl = b[0];
  const size_t total = be16(b, 2);
  const uint16_t id = be16(b, 4);
  const uint16_t flags_offset = be16(b, 6);
  const uint8_t protocol = b[9];
  // Bytes 1 (type of service), 8 (TTL) and 10-11, the header checksum, are not read: a capture
  // shows what was sent, right or wrong (and offload leaves it 0).
  const Address src = ipv4_address(b.subspan(12, 4));
  const Address dst = ipv4_address(b.subspan(16, 4));

  if (version_ihl >> 4 != 4) return set(DecodedFrame::Kind::NotIp);
  out.source = {src, 0};
  out.destination = {dst, 0};
  const size_t ihl = (version_ihl & 0x0fu) * 4u;
  // An IHL below 5 or a total length below the header ends the datagram inside its own header.
  if (ihl < kIpv4Header || total < ihl || ihl > b.size() || total > b.size()) return truncated(base);
  // The total length, not the frame, bounds the datagram: Ethernet pads short frames to 60 bytes.
  const Bytes data = b.subspan(ihl, total - ihl);

  const bool more = (flags_offset & 0x2000) != 0;
  const size_t offset = (flags_offset & 0x1fffu) * 8u;
  if (!more && offset == 0) return transport(protocol, data, base + ihl, false);
  const auto done = decoder.reassembly_->add({src, dst, id, protocol}, offset, more, data, protocol, now);
  if (!done) return set(DecodedFrame::Kind::FragmentHeld);
  out.reassembled = true;
  transport(protocol, done->data, 0, false);
}

void FrameDecoder::Walk::ipv6(Bytes b, size_t base) {
  // RFC 8200 §3.
  if (b.size() < kIpv6Header) return truncated(base);
  if (b[0] >> 4 != 6) return set(DecodedFrame::Kind::NotIp);
  size_t length = be16(b, 4);
  const uint8_t next = b[6];
  out.source = {ipv6_address(b.subspan(8, 16)), 0};
  out.destination = {ipv6_address(b.subspan(24, 16)), 0};
  // RFC 2675 §3: a jumbogram says 0 here and carries its length in a Hop-by-Hop option; the
  // frame's end bounds it.
  if (length == 0 && next == kProtoHopByHop) length = b.size() - kIpv6Header;
  if (length > b.size() - kIpv6Header) return truncated(base);
  ipv6_headers(next, b.subspan(kIpv6Header, length), base + kIpv6Header, false);
}

void FrameDecoder::Walk::ipv6_headers(uint8_t next, Bytes b, size_t base, bool reassembled) {
  size_t p = 0;
  // Every extension header is at least 8 octets, so the walk ends.
  for (;;) {
    switch (next) {
      case kProtoHopByHop:
      case kProtoRouting:
      case kProtoDestOpts:
      case kProtoAh: {
        if (b.size() - p < 2) return truncated(base + p);
        // RFC 8200 §4.3-4.6: length in 8-octet units after the first 8; RFC 4302 §2.2: AH counts
        // 4-octet units minus 2.
        const size_t length = next == kProtoAh ? (b[p + 1] + 2u) * 4u : (b[p + 1] + 1u) * 8u;
        if (length > b.size() - p) return truncated(base + p);
        next = b[p];
        p += length;
        break;
      }
      case kProtoFragment: {
        // RFC 8200 §4.5: next header, reserved, offset (13 bits, 8-octet units) and M flag, id.
        if (b.size() - p < kFragmentHeader) return truncated(base + p);
        ByteReader r(b.subspan(p));
        const uint8_t inner = r.u8().value_or(0);
        (void)r.u8();
        const uint16_t offset_flags = r.u16().value_or(0);
        const uint32_t id = r.u32().value_or(0);
        p += kFragmentHeader;
        const size_t offset = (offset_flags >> 3) * 8u;
        const bool more = (offset_flags & 1u) != 0;
        // RFC 6946 §4: an atomic fragment (offset 0, M clear) is processed on its own.
        if (offset == 0 && !more) {
          next = inner;
          break;
        }
        // RFC 8200 §4.1: a Fragment header occurs once; one inside a reassembled payload is not
        // reassembled again.
        if (reassembled) return set(DecodedFrame::Kind::OtherIp, b.subspan(p - kFragmentHeader));
        const FragmentKey key{out.source.address, out.destination.address, id, 0};
        const auto done = decoder.reassembly_->add(key, offset, more, b.subspan(p), inner, now);
        if (!done) return set(DecodedFrame::Kind::FragmentHeld);
        out.reassembled = true;
        reassembled = true;
        // The fragmentable part may begin with more extension headers (RFC 8200 §4.5).
        next = done->next_header;
        b = done->data;
        base = 0;
        p = 0;
        break;
      }
      case kProtoNoNext: return set(DecodedFrame::Kind::OtherIp, b.subspan(p));
      default: return transport(next, b.subspan(p), base + p, true);
    }
  }
}

void FrameDecoder::Walk::transport(uint8_t protocol, Bytes b, size_t base, bool v6) {
  switch (protocol) {
    case kProtoUdp: return udp(b, base, v6);
    case kProtoTcp: return tcp(b, base);
    case kProtoIcmp:
      if (!v6) return icmp(b, base, false);
      break;
    case kProtoIcmpv6:
      if (v6) return icmp(b, base, true);
      break;
    case kProtoGre: return gre(b, base);
    default: break;
  }
  set(DecodedFrame::Kind::OtherIp, b);
}

void FrameDecoder::Walk::udp(Bytes b, size_t base, bool v6) {
  // RFC 768: ports, length (header included), checksum.
  if (b.size() < kUdpHeader) return truncated(base);
  const uint16_t sport = be16(b, 0);
  const uint16_t dport = be16(b, 2);
  size_t length = be16(b, 4);
  // RFC 2675 §4: over IPv6 a zero length means a jumbogram's, given by the IP layer.
  if (length == 0 && v6) length = b.size();
  if (length < kUdpHeader || length > b.size()) return truncated(base);
  out.source.port = sport;
  out.destination.port = dport;
  const Bytes payload = b.subspan(kUdpHeader, length - kUdpHeader);
  set(DecodedFrame::Kind::Udp, payload);

  // RFC 7348 §5: the I flag marks a valid VNI; an inner Ethernet frame follows the 8-octet header.
  if (dport != kVxlanPort || payload.empty() || (payload[0] & kVxlanIFlag) == 0) return;
  if (payload.size() < kVxlanHeader) return truncated(base + kUdpHeader);
  if (!enter_tunnel()) return;
  out.source = {};
  out.destination = {};
  ethernet(payload.subspan(kVxlanHeader), base + kUdpHeader + kVxlanHeader);
}

void FrameDecoder::Walk::tcp(Bytes b, size_t base) {
  // RFC 9293 §3.1: the data offset counts 32-bit words and is at least 5.
  if (b.size() < kTcpHeader) return truncated(base);
  const size_t data_offset = (b[12] >> 4) * 4u;
  if (data_offset < kTcpHeader || data_offset > b.size()) return truncated(base);
  out.source.port = be16(b, 0);
  out.destination.port = be16(b, 2);
  set(DecodedFrame::Kind::Tcp, b.subspan(data_offset));
}

void FrameDecoder::Walk::icmp(Bytes b, size_t base, bool v6) {
  // Type, code, checksum and 4 type-specific octets; an error quotes the offending datagram.
  if (b.size() < kIcmpHeader) return truncated(base);
  const uint8_t type = b[0];
  // RFC 792: destination unreachable, source quench, redirect, time exceeded, parameter problem.
  // RFC 4443 §2.1: types below 128 are errors; 1-4 are defined.
  const bool error = v6 ? (type >= 1 && type <= 4) : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12);
  if (error) return set(DecodedFrame::Kind::IcmpError, b.subspan(kIcmpHeader));
  set(DecodedFrame::Kind::OtherIp, b);
}

void FrameDecoder::Walk::gre(Bytes b, size_t base) {
  // RFC 2784 §2: C, reserved (RFC 1701's R, K, S ...), version, protocol type; RFC 2890 §2 gives
  // K and S their meaning back. Each of C, K and S adds 4 octets, in that order.
  if (b.size() < 4) return truncated(base);
  const uint16_t flags = be16(b, 0);
  const uint16_t protocol = be16(b, 2);
  const bool checksum = (flags & 0x8000) != 0;
  const bool routing = (flags & 0x4000) != 0;
  const bool key = (flags & 0x2000) != 0;
  const bool sequence = (flags & 0x1000) != 0;
  // RFC 2784 §2.3-2.3.1: version 1 is PPTP's (RFC 2637) and routing is RFC 1701's source routing.
  if ((flags & 0x7) != 0 || routing) return set(DecodedFrame::Kind::OtherIp, b);
  const size_t length = 4u + (checksum ? 4u : 0u) + (key ? 4u : 0u) + (sequence ? 4u : 0u);
  if (length > b.size()) return truncated(base);
  const Bytes inner = b.subspan(length);
  const bool known = protocol == kEtherIpv4 || protocol == kEtherIpv6 || protocol == kEtherBridging;
  if (!known || !enter_tunnel()) return set(DecodedFrame::Kind::OtherIp, b);
  if (protocol == kEtherIpv4) return ipv4(inner, base + length);
  if (protocol == kEtherIpv6) return ipv6(inner, base + length);
  out.source = {};
  out.destination = {};
  ethernet(inner, base + length);
}

// --- The decoder ---------------------------------------------------------------------------------

FrameDecoder::FrameDecoder() : FrameDecoder(Limits{}) {}
FrameDecoder::FrameDecoder(Limits limits) : reassembly_(std::make_unique<Reassembler>(limits)) {}
FrameDecoder::~FrameDecoder() = default;
FrameDecoder::FrameDecoder(FrameDecoder&&) noexcept = default;
FrameDecoder& FrameDecoder::operator=(FrameDecoder&&) noexcept = default;

DecodedFrame FrameDecoder::decode(uint32_t linktype, std::span<const uint8_t> frame, int64_t time_ns) {
  reassembly_->begin_frame(time_ns);
  DecodedFrame out;
  Walk w{*this, time_ns, out};
  w.link(linktype, frame);
  return out;
}

size_t FrameDecoder::fragments_pending() const {
  return reassembly_->pending();
}
size_t FrameDecoder::fragments_evicted() const {
  return reassembly_->evicted();
}

}  // namespace ntpkit::net
