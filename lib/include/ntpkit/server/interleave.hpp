// RFC 9769 §2, interleaved client/server mode, the server's memory: per client address, the
// receive timestamp the last reply carried and when that reply really left. A client asks for
// interleaved mode by sending that receive timestamp back as its origin; the server then answers
// with the precise transmit time of the earlier reply. Bounded: a fixed table of slots indexed by
// a hash of the address, a collision replaces the older client (who then gets a basic reply,
// which RFC 9769 allows whenever the server cannot answer interleaved). Pure: no clock, no
// allocation after construction.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ntpkit/wire/time.hpp"

namespace ntpkit {

// What a client's last reply said and did.
struct InterleaveSlot {
  Timestamp receive;   // the receive timestamp the reply carried (unique per reply)
  Timestamp transmit;  // when the reply left (the kernel's transmit timestamp, or read right after the send)
};

class InterleaveTable {
 public:
  explicit InterleaveTable(size_t slots = 4096);
  // The client's last exchange, if the table still holds it. `address`: 4 or 16 bytes (more are cut).
  [[nodiscard]] std::optional<InterleaveSlot> find(std::span<const uint8_t> address) const;
  // After a reply was sent: what it carried as receive, and when it left.
  void record(std::span<const uint8_t> address, InterleaveSlot slot);
  [[nodiscard]] size_t capacity() const { return slots_.size(); }

 private:
  struct Entry {
    std::array<uint8_t, 16> key{};
    uint8_t key_length = 0;
    bool used = false;
    InterleaveSlot slot;
  };
  [[nodiscard]] size_t index(std::span<const uint8_t> address) const;
  std::vector<Entry> slots_;
};

}  // namespace ntpkit
