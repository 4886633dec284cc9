// From a captured frame to the UDP datagram inside it: link layer, IPv4/IPv6 (with fragment
// reassembly), GRE and VXLAN tunnels, UDP. Pure: the pcap reader hands in bytes, a link type and a
// capture time; nothing here reads files or prints.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntpkit::net {

// pcap LINKTYPE_* values (https://www.tcpdump.org/linktypes.html).
enum class LinkType : uint32_t {
  Null = 0,
  Ethernet = 1,
  Raw = 101,
  Loop = 108,
  LinuxSll = 113,
  Ipv4 = 228,
  Ipv6 = 229,
  LinuxSll2 = 276
};
// libpcap's pcap_datalink() hands out DLT_* values, which equal the LINKTYPE_* ones except DLT_RAW
// (12 on every system but OpenBSD); it is accepted as another spelling of LinkType::Raw.
inline constexpr uint32_t kDltRaw = 12;
[[nodiscard]] bool is_supported(uint32_t linktype);
[[nodiscard]] std::string_view name(uint32_t linktype);  // "Ethernet", "Linux cooked v1", ... "unknown"

struct Address {
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  bool v6 = false;
  auto operator<=>(const Address&) const = default;
  [[nodiscard]] std::string to_string() const;  // "192.0.2.1" or "2001:db8::1" (RFC 5952 compressed form)
};
struct Endpoint {
  Address address;
  uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
  [[nodiscard]] std::string to_string() const;  // "192.0.2.1:123" or "[2001:db8::1]:123"
};

// The innermost layer reached. Addresses are those of the innermost IP header read (ports 0 unless
// UDP or TCP); they are cleared when a tunnel hands over an inner Ethernet frame.
struct DecodedFrame {
  enum class Kind : uint8_t {
    Udp,           // source/destination/payload set
    Tcp,           // source/destination set, payload = TCP payload (not an NTP exchange, but reported)
    IcmpError,     // ICMP/ICMPv6 error (it may quote an NTP packet: that is not an exchange); payload = the quote
    OtherIp,       // an IP protocol we do not look into; payload = that protocol's bytes
    NotIp,         // ARP, LLDP, ... or an unknown ethertype, or an IP header of the wrong version
    FragmentHeld,  // an IPv4/IPv6 fragment kept for reassembly (or dropped); nothing to hand out yet
    Truncated,     // the frame ends before a header it announces; truncated_at says where
  };
  Kind kind = Kind::NotIp;
  Endpoint source;
  Endpoint destination;
  std::span<const uint8_t> payload;  // valid until the next decode() call
  uint8_t tunnels = 0;               // GRE and VXLAN layers peeled off
  bool reassembled = false;          // put together from fragments
  // Offset of the header that does not fit (or whose own length field ends it early), counted in
  // the frame; inside a reassembled datagram, counted from the start of the reassembled payload.
  size_t truncated_at = 0;
};

// Deeper tunnels are reported as the last layer read (OtherIp for GRE, Udp for VXLAN).
inline constexpr uint8_t kMaxTunnels = 4;
class Reassembler;  // reassembly.hpp
struct ReassemblyLimits {
  size_t max_reassembly_bytes = 16u << 20;       // all fragments held at once
  int64_t fragment_timeout_ns = 30'000'000'000;  // RFC 791: fragments older than this are dropped
};

class FrameDecoder {
 public:
  using Limits = ReassemblyLimits;
  FrameDecoder();
  explicit FrameDecoder(Limits limits);
  ~FrameDecoder();
  FrameDecoder(FrameDecoder&&) noexcept;
  FrameDecoder& operator=(FrameDecoder&&) noexcept;
  // `time_ns` is the frame's capture time; it drives fragment eviction (monotonic in practice,
  // but must not misbehave when it goes backwards, as in misordered captures).
  [[nodiscard]] DecodedFrame decode(uint32_t linktype, std::span<const uint8_t> frame, int64_t time_ns);
  [[nodiscard]] size_t fragments_pending() const;  // datagrams partly reassembled
  [[nodiscard]] size_t fragments_evicted() const;  // given up (timeout or memory limit, or fragments
                                                   // that contradict each other)

 private:
  struct Walk;  // one decode() call; defined in frame.cpp
  std::unique_ptr<Reassembler> reassembly_;
};

}  // namespace ntpkit::net
