// IPv4 and IPv6 fragment reassembly for the frame decoder (frame.hpp): fragments are held by
// (source, destination, protocol, identification) until the last hole is filled, within a memory
// limit and a timeout, under the RFCs' rules for overlaps. Pure: bytes and capture times in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "ntpkit/capture/frame.hpp"

namespace ntpkit::net {

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

// RFC 791 §3.2 (source, destination, protocol, identification); RFC 8200 §4.5 (source,
// destination, identification: protocol is 0 and v6 is carried by the addresses).
struct FragmentKey {
  Address source;
  Address destination;
  uint32_t id = 0;
  uint8_t protocol = 0;
  auto operator<=>(const FragmentKey&) const = default;
};

class Reassembler {
 public:
  using Limits = ReassemblyLimits;
  struct Completed {
    std::span<const uint8_t> data;  // valid until the next begin_frame()
    uint8_t next_header = 0;        // IPv6: from the offset-0 fragment's Fragment header
  };
  explicit Reassembler(Limits limits) : limits_(limits) {}

  // Before each frame: releases the payloads handed out for the last one and gives up on
  // datagrams older than the timeout (capture time; time that runs backwards ages nothing).
  void begin_frame(int64_t now) {
    // Most captures hold no fragments: then there is nothing to release or to age, and no call.
    if (!outputs_.empty()) outputs_.clear();
    if (!by_age_.empty()) evict_expired(now);
  }
  // Stores one fragment's data (the bytes after its IP or Fragment header) and hands back the
  // whole payload once the last hole is filled.
  std::optional<Completed> add(const FragmentKey& key, size_t offset, bool more, std::span<const uint8_t> data,
                               uint8_t next_header, int64_t now);
  [[nodiscard]] size_t pending() const { return datagrams_.size(); }
  [[nodiscard]] size_t evicted() const { return evicted_; }

 private:
  using AgeIndex = std::multimap<int64_t, FragmentKey>;
  struct Datagram {
    std::vector<uint8_t> data;                      // the fragmentable part, by fragment offset
    std::vector<std::pair<size_t, size_t>> ranges;  // received [begin, end), sorted and merged
    size_t total = 0;                               // known once the last fragment has arrived
    size_t charged = 0;                             // against max_reassembly_bytes
    bool has_last = false;
    uint8_t next_header = 0;
    bool has_first = false;
    AgeIndex::iterator age;
  };
  using DatagramMap = std::map<FragmentKey, Datagram>;

  void evict_expired(int64_t now);
  bool evict_oldest_except(const FragmentKey* keep);
  bool make_room(size_t need, const FragmentKey* keep);
  void remove(DatagramMap::iterator it);
  void drop(DatagramMap::iterator it);
  bool grow(DatagramMap::iterator it, size_t end);  // false: the datagram was given up

  Limits limits_;
  DatagramMap datagrams_;
  AgeIndex by_age_;
  size_t held_bytes_ = 0;
  size_t evicted_ = 0;
  std::vector<std::vector<uint8_t>> outputs_;  // reassembled payloads handed out for this frame
};

}  // namespace ntpkit::net
