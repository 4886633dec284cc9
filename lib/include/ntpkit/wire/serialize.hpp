#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ntpkit/wire/packet.hpp"

namespace ntpkit {

void write_header(const Header& h, std::span<uint8_t, kHeaderLength> out);
[[nodiscard]] std::array<uint8_t, kHeaderLength> serialize_header(const Header& h);

[[nodiscard]] size_t serialized_size(const Packet& p);
// Writes the packet, malformed parts included, exactly as described. Returns the number of
// bytes written, or 0 if `out` is too small.
[[nodiscard]] size_t serialize_into(const Packet& p, std::span<uint8_t> out);
[[nodiscard]] std::vector<uint8_t> serialize(const Packet& p);

}  // namespace ntpkit
