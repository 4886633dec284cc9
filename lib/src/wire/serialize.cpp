#include "ntpkit/wire/serialize.hpp"

#include "ntpkit/wire/bytes.hpp"

namespace ntpkit {

void write_header(const Header& h, std::span<uint8_t, kHeaderLength> out) {
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>((static_cast<uint8_t>(h.leap) & 0x3) << 6 | (h.version & 0x7) << 3 |
                            (static_cast<uint8_t>(h.mode) & 0x7)));
  w.u8(h.stratum);
  w.u8(static_cast<uint8_t>(h.poll));
  w.u8(static_cast<uint8_t>(h.precision));
  w.u32(h.root_delay.raw());
  w.u32(h.root_dispersion.raw());
  w.u32(h.reference_id.raw());
  w.u64(h.reference.raw());
  w.u64(h.origin.raw());
  w.u64(h.receive.raw());
  w.u64(h.transmit.raw());
}

std::array<uint8_t, kHeaderLength> serialize_header(const Header& h) {
  std::array<uint8_t, kHeaderLength> out{};
  write_header(h, out);
  return out;
}

size_t serialized_size(const Packet& p) {
  size_t n = kHeaderLength;
  for (const auto& ef : p.extensions) n += 4 + ef.value.size();
  if (p.mac) n += 4 + p.mac->digest.size();
  return n + p.trailing.size();
}

size_t serialize_into(const Packet& p, std::span<uint8_t> out) {
  if (out.size() < serialized_size(p)) return 0;
  write_header(p.header, out.first<kHeaderLength>());
  ByteWriter w(out.subspan(kHeaderLength));
  for (const auto& ef : p.extensions) {
    w.u16(ef.type);
    w.u16(ef.length_override.value_or(static_cast<uint16_t>(4 + ef.value.size())));
    w.bytes(ef.value);
  }
  if (p.mac) {
    w.u32(p.mac->key_id);
    w.bytes(p.mac->digest);
  }
  w.bytes(p.trailing);
  return w.ok() ? kHeaderLength + w.size() : 0;
}

std::vector<uint8_t> serialize(const Packet& p) {
  std::vector<uint8_t> out(serialized_size(p));
  const size_t n = serialize_into(p, out);
  out.resize(n);
  return out;
}

}  // namespace ntpkit
