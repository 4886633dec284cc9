#include "ntpkit/capture/pcapng.hpp"

#include <algorithm>

namespace ntpkit::pcapng {
namespace {

constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kOptionEnd = 0;
constexpr uint16_t kOptionTsResolution = 9;

Failure<std::string> fail(std::string s) {
  return Failure{std::move(s)};
}

// `rem` units of 1/units s, as nanoseconds, without overflowing 64 bits.
uint64_t fraction_ns(uint64_t rem, uint64_t units) {
  constexpr uint64_t kNs = 1'000'000'000;
  if (units <= kNs && kNs % units == 0) return rem * (kNs / units);
  if (units % kNs == 0) return rem / (units / kNs);
  // A power-of-two resolution finer than 2^-34 s: drop low bits until the product fits.
  while (units > (uint64_t{1} << 34)) {
    units >>= 1;
    rem >>= 1;
  }
  return rem * kNs / units;
}

}  // namespace

uint32_t Reader::u32(std::span<const uint8_t> b, size_t at) const {
  const uint32_t v0 = b[at], v1 = b[at + 1], v2 = b[at + 2], v3 = b[at + 3];
  return big_endian_ ? (v0 << 24 | v1 << 16 | v2 << 8 | v3) : (v3 << 24 | v2 << 16 | v1 << 8 | v0);
}

uint16_t Reader::u16(std::span<const uint8_t> b, size_t at) const {
  return static_cast<uint16_t>(big_endian_ ? (b[at] << 8 | b[at + 1]) : (b[at + 1] << 8 | b[at]));
}

Result<Reader::BlockStart, std::string> Reader::start(std::span<const uint8_t> first12) {
  if (first12.size() < 12) return fail("a block header is cut short");
  const bool shb = first12[0] == 0x0A && first12[1] == 0x0D && first12[2] == 0x0D && first12[3] == 0x0A;
  if (shb) {
    // The byte-order magic says how the whole section is written.
    const uint32_t le =
        uint32_t{first12[8]} | uint32_t{first12[9]} << 8 | uint32_t{first12[10]} << 16 | uint32_t{first12[11]} << 24;
    if (le == kByteOrderMagic) {
      big_endian_ = false;
    } else if (__builtin_bswap32(le) == kByteOrderMagic) {
      big_endian_ = true;
    } else {
      return fail("a section header block has no valid byte-order magic");
    }
  } else if (!in_section_) {
    return fail("the file does not start with a pcapng section header block");
  }
  const BlockStart s{u32(first12, 0), u32(first12, 4)};
  if (s.total_length < 12 || s.total_length % 4 != 0) {
    return fail("block length " + std::to_string(s.total_length) + " is not a multiple of 4 of at least 12");
  }
  return s;
}

Result<std::optional<PacketRecord>, std::string> Reader::block(std::span<const uint8_t> b) {
  if (b.size() < 12 || b.size() % 4 != 0) return fail("a block of " + std::to_string(b.size()) + " bytes");
  const uint32_t type = u32(b, 0);
  const uint32_t length = u32(b, 4);
  if (length != b.size() || u32(b, b.size() - 4) != length) {
    return fail("block lengths at its start and end disagree");
  }
  const auto body = b.subspan(8, b.size() - 12);
  switch (type) {
    case kSectionHeader:
      in_section_ = true;
      interfaces_.clear();  // interface ids are per section
      return std::optional<PacketRecord>{};
    case kInterfaceDescription: {
      if (body.size() < 8) return fail("an interface description block is too short");
      Interface i;
      i.link_type = u16(body, 0);
      i.snap_length = u32(body, 4);
      for (size_t at = 8; at + 4 <= body.size();) {
        const uint16_t code = u16(body, at);
        const uint16_t len = u16(body, at + 2);
        if (code == kOptionEnd) break;
        if (at + 4 + len > body.size()) return fail("an interface option overruns its block");
        if (code == kOptionTsResolution && len >= 1) {
          const uint8_t r = body[at + 4];
          // High bit: a power of two; else a power of ten.
          const unsigned exp = r & 0x7F;
          if ((r & 0x80) ? exp > 63 : exp > 19) return fail("timestamp resolution out of range");
          uint64_t units = 1;
          for (unsigned k = 0; k < exp; ++k) units *= (r & 0x80) ? 2 : 10;
          i.units_per_second = units;
        }
        at += 4 + ((len + 3u) & ~3u);
      }
      interfaces_.push_back(i);
      return std::optional<PacketRecord>{};
    }
    case kEnhancedPacket:
    case kObsoletePacket: {
      if (body.size() < 20) return fail("a packet block is too short");
      PacketRecord p;
      p.interface = type == kEnhancedPacket ? u32(body, 0) : u16(body, 0);
      const uint64_t ts = uint64_t{u32(body, 4)} << 32 | u32(body, 8);
      const uint32_t caplen = u32(body, 12);
      p.original_length = u32(body, 16);
      if (p.interface >= interfaces_.size())
        return fail("a packet names interface " + std::to_string(p.interface) + ", which is not described");
      if (caplen > body.size() - 20) return fail("a packet's captured length overruns its block");
      p.data = body.subspan(20, caplen);
      const uint64_t units = interfaces_[p.interface].units_per_second;
      // Seconds are clamped (to 2096) so that no difference of two capture times overflows int64
      // nanoseconds: a hostile timestamp cannot cause UB, and its frame is still analysed.
      const uint64_t secs = std::min<uint64_t>(ts / units, 4'000'000'000ULL);
      p.time_ns = static_cast<int64_t>(secs) * 1'000'000'000 + static_cast<int64_t>(fraction_ns(ts % units, units));
      return std::optional<PacketRecord>{p};
    }
    case kSimplePacket: {
      if (body.size() < 4) return fail("a simple packet block is too short");
      if (interfaces_.empty()) return fail("a simple packet block comes before any interface");
      PacketRecord p;
      p.original_length = u32(body, 0);
      const size_t caplen = std::min<size_t>(p.original_length, body.size() - 4);
      p.data = body.subspan(4, caplen);
      return std::optional<PacketRecord>{p};
    }
    default: return std::optional<PacketRecord>{};  // name resolution, statistics, secrets...: not ours
  }
}

}  // namespace ntpkit::pcapng
