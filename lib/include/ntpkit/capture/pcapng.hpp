// pcapng blocks (draft-ietf-opsawg-pcapng), for files whose interfaces have different link
// types: libpcap 1.10 refuses those ("an interface has a type ... different from the type of
// the first interface"), so replay reads them block by block with this decoder. Pure: the
// caller reads the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ntpkit/util/result.hpp"

namespace ntpkit::pcapng {

inline constexpr uint32_t kSectionHeader = 0x0A0D0D0A;
inline constexpr uint32_t kInterfaceDescription = 0x00000001;
inline constexpr uint32_t kObsoletePacket = 0x00000002;
inline constexpr uint32_t kSimplePacket = 0x00000003;
inline constexpr uint32_t kEnhancedPacket = 0x00000006;

struct Interface {
  uint32_t link_type = 0;
  uint32_t snap_length = 0;
  // Timestamp units per second (if_tsresol; 10^6 by default).
  uint64_t units_per_second = 1'000'000;
};

struct PacketRecord {
  uint32_t interface = 0;
  int64_t time_ns = 0;
  std::span<const uint8_t> data;  // captured bytes, inside the block passed in
  uint32_t original_length = 0;
};

// Keeps the per-section state (byte order, interfaces) while blocks are fed in file order.
class Reader {
 public:
  // The 8 bytes at the start of every block: its type and total length, in the section's byte
  // order. A section header block fixes the byte order from its magic; call this with the
  // first 12 bytes of a section header block so it can see the magic.
  struct BlockStart {
    uint32_t type;
    uint32_t total_length;
  };
  [[nodiscard]] Result<BlockStart, std::string> start(std::span<const uint8_t> first12);
  // A whole block (total_length bytes). Returns a packet for packet blocks; nothing for the
  // others (section and interface blocks update the state; unknown blocks are skipped).
  [[nodiscard]] Result<std::optional<PacketRecord>, std::string> block(std::span<const uint8_t> bytes);
  [[nodiscard]] const std::vector<Interface>& interfaces() const { return interfaces_; }

 private:
  bool big_endian_ = false;
  bool in_section_ = false;
  std::vector<Interface> interfaces_;
  [[nodiscard]] uint32_t u32(std::span<const uint8_t> b, size_t at) const;
  [[nodiscard]] uint16_t u16(std::span<const uint8_t> b, size_t at) const;
};

}  // namespace ntpkit::pcapng
