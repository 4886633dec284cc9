// The client's side of one exchange: judging whether a reply is usable and computing offset
// and delay from the four timestamps (RFC 5905 §8).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/packet.hpp"
#include "ntpkit/parse.hpp"

namespace ntpkit {

struct Sample {
  Duration offset;  // theta = ((T2 - T1) + (T3 - T4)) / 2
  Duration delay;   // delta = (T4 - T1) - (T3 - T2)
};

// T1 = our transmit (local clock), T2 = server receive, T3 = server transmit, T4 = our receive.
[[nodiscard]] Sample compute_sample(Timestamp t1, Timestamp t2, Timestamp t3, Timestamp t4);

// The server's root distance as it states it: root delay / 2 + root dispersion (RFC 5905 §11.2.1,
// without our own path's share).
[[nodiscard]] Duration root_distance(const Header& h);

enum class ReplyProblem : uint8_t {
  Malformed,          // the parser rejected the datagram
  NotServerMode,      // mode other than 4
  OriginMismatch,     // origin is not our transmit, byte for byte (RFC 5905 §8: bogus packet)
  ZeroTransmit,       // transmit timestamp is 0
  ZeroReceive,        // receive timestamp is 0
  KissOfDeath,        // stratum 0: a kiss code, not time
  StratumInvalid,     // stratum above 16
  Unsynchronized,     // LI 3 or stratum 16
  ReceiveAfterTransmit,
  VersionMismatch,    // VN not echoed (a warning, not fatal)
};
[[nodiscard]] std::string_view to_string(ReplyProblem p);
[[nodiscard]] bool is_fatal(ReplyProblem p);

struct ReplyAssessment {
  std::optional<PacketView> packet;
  std::optional<ParseError> parse_error;
  std::vector<ReplyProblem> problems;
  [[nodiscard]] bool usable() const;
};

// `sent` is the request as it went on the wire.
[[nodiscard]] ReplyAssessment assess_reply(const Header& sent, std::span<const uint8_t> reply);

}  // namespace ntpkit
