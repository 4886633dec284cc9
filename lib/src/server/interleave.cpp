#include "ntpkit/server/interleave.hpp"

#include <algorithm>

namespace ntpkit {

InterleaveTable::InterleaveTable(size_t slots) : slots_(std::max<size_t>(1, slots)) {}

size_t InterleaveTable::index(std::span<const uint8_t> address) const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the address bytes
  for (uint8_t b : address.first(std::min<size_t>(address.size(), 16))) h = (h ^ b) * 1099511628211ULL;
  return static_cast<size_t>(h % slots_.size());
}

std::optional<InterleaveSlot> InterleaveTable::find(std::span<const uint8_t> address) const {
  const size_t n = std::min<size_t>(address.size(), 16);
  const Entry& e = slots_[index(address)];
  if (!e.used || e.key_length != n ||
      !std::equal(address.begin(), address.begin() + static_cast<std::ptrdiff_t>(n), e.key.begin())) {
    return std::nullopt;
  }
  return e.slot;
}

void InterleaveTable::record(std::span<const uint8_t> address, InterleaveSlot slot) {
  const size_t n = std::min<size_t>(address.size(), 16);
  Entry& e = slots_[index(address)];
  e.used = true;
  e.key_length = static_cast<uint8_t>(n);
  e.key.fill(0);
  std::copy_n(address.begin(), n, e.key.begin());
  e.slot = slot;
}

}  // namespace ntpkit
