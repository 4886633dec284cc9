// From a captured frame to the UDP datagram inside it: link layer, IPv4/IPv6 (with fragment
// reassembly), GRE and VXLAN tunnels, UDP. Pure: the pcap reader hands in bytes, a link type and a
// capture time; nothing here reads files or prints.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
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
// The 16-bit length fields (RFC 791 §3.1, RFC 8200 §4.5) cannot describe a reassembled payload
// longer than this; a fragment reaching past it is the "ping of death".
inline constexpr size_t kMaxReassembledBytes = 65535;
// Charged per datagram held, on top of its buffer, against Limits::max_reassembly_bytes, so that a
// flood of one-byte fragments cannot hold more memory than the limit says (the map nodes and the
// list of pieces cost about this much).
inline constexpr size_t kFragmentBookkeepingBytes = 1024;
// A datagram held in more separate pieces than this is given up: real fragmentation (1,280-octet
// IPv6 minimum MTU, 576-octet IPv4 hosts) never comes near it. FreeBSD stops at 16.
inline constexpr size_t kMaxFragmentPieces = 64;

class FrameDecoder {
 public:
  struct Limits {
    size_t max_reassembly_bytes = 16u << 20;       // all fragments held at once
    int64_t fragment_timeout_ns = 30'000'000'000;  // RFC 791: fragments older than this are dropped
  };
  FrameDecoder();
  explicit FrameDecoder(Limits limits);
  // `time_ns` is the frame's capture time; it drives fragment eviction (monotonic in practice,
  // but must not misbehave when it goes backwards, as in misordered captures).
  [[nodiscard]] DecodedFrame decode(uint32_t linktype, std::span<const uint8_t> frame, int64_t time_ns);
  [[nodiscard]] size_t fragments_pending() const;  // datagrams partly reassembled
  [[nodiscard]] size_t fragments_evicted() const;  // given up (timeout or memory limit, or fragments
                                                   // that contradict each other)

 private:
  struct Walk;  // one decode() call; defined in frame.cpp

  // RFC 791 §3.2 (source, destination, protocol, identification); RFC 8200 §4.5 (source,
  // destination, identification: protocol is 0 and v6 is carried by the addresses).
  struct FragmentKey {
    Address source;
    Address destination;
    uint32_t id = 0;
    uint8_t protocol = 0;
    auto operator<=>(const FragmentKey&) const = default;
  };
  using AgeIndex = std::multimap<int64_t, FragmentKey>;
  struct Datagram {
    std::vector<uint8_t> data;                      // the fragmentable part, by fragment offset
    std::vector<std::pair<size_t, size_t>> ranges;  // received [begin, end), sorted and merged
    size_t total = 0;                               // known once the last fragment has arrived
    size_t charged = 0;                             // against max_reassembly_bytes
    bool has_last = false;
    uint8_t next_header = 0;  // IPv6: from the offset-0 fragment's Fragment header
    bool has_first = false;
    AgeIndex::iterator age;
  };

  struct Completed {
    std::span<const uint8_t> data;  // in outputs_
    uint8_t next_header = 0;
  };
  using DatagramMap = std::map<FragmentKey, Datagram>;

  void evict_expired(int64_t now);
  bool evict_oldest_except(const FragmentKey* keep);
  bool make_room(size_t need, const FragmentKey* keep);
  void remove(DatagramMap::iterator it);
  void drop(DatagramMap::iterator it);
  bool grow(DatagramMap::iterator it, size_t end);  // false: the datagram was given up
  // Stores one fragment's data (the bytes after its IP or Fragment header) and hands back the
  // whole payload once the last hole is filled.
  std::optional<Completed> add_fragment(const FragmentKey& key, size_t offset, bool more, std::span<const uint8_t> data,
                                        uint8_t next_header, int64_t now);

  Limits limits_;
  DatagramMap datagrams_;
  AgeIndex by_age_;
  size_t held_bytes_ = 0;
  size_t evicted_ = 0;
  std::vector<std::vector<uint8_t>> outputs_;  // reassembled payloads handed out by this decode()
};

}  // namespace ntpkit::net
