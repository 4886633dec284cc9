// Shared verifiers: each judges one property of a request/reply pair and says
// "expected ... / actual ...". The probe's cases and the capture replay both use them.
#pragma once

#include <optional>
#include <string>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/packet.hpp"
#include "ntpkit/parse.hpp"

namespace ntpkit::conformance {

struct Violation {
  std::string expected;
  std::string actual;
};
using Check = std::optional<Violation>;  // nullopt: satisfied

[[nodiscard]] Check check_transmit_differs_from_receive(const Header& reply);
[[nodiscard]] Check check_stratum1_refid(const Header& reply);    // stratum 1: printable ASCII
[[nodiscard]] Check check_precision(const Header& reply);
[[nodiscard]] Check check_root_distance(const Header& reply);
[[nodiscard]] Check check_reference_not_after_transmit(const Header& reply);
[[nodiscard]] Check check_reference_fresh(const Header& reply, Duration max_age);
[[nodiscard]] Check check_no_extension_echo(const PacketView& reply);
// The offset computed from the four timestamps is within `max` of our clock (RFC 5905 §8).
[[nodiscard]] Check check_offset(Timestamp t1, const Header& reply, Timestamp t4, Duration max);

// The verifiers every exchange of a capture goes through (ten per exchange, millions a second):
// whether each holds is decided here, inline, so that a satisfied one costs a comparison; the
// text of a violation is built out of line (detail::).
namespace detail {
[[nodiscard]] Violation mode_violation(Mode want, Mode got);
[[nodiscard]] Violation origin_violation(Timestamp transmit, Timestamp origin);
[[nodiscard]] Violation version_violation(uint8_t want, uint8_t got);
[[nodiscard]] Violation poll_violation(int8_t want, int8_t got);
[[nodiscard]] Violation transmit_zero_violation();
[[nodiscard]] Violation receive_after_transmit_violation(const Header& reply);
[[nodiscard]] Violation stratum_range_violation(uint8_t stratum);
[[nodiscard]] Violation kiss_shape_violation(const Header& reply);
[[nodiscard]] Violation leap_violation(const Header& reply);
[[nodiscard]] Violation amplification_violation(size_t request_length, size_t reply_length);
}  // namespace detail

[[nodiscard]] inline Check check_mode(const Header& request, const Header& reply) {
  // RFC 5905 §9.2 (Figure 19/20): a client request is answered in server mode; a symmetric
  // active one, if at all, in symmetric passive mode.
  const Mode want = request.mode == Mode::SymmetricActive ? Mode::SymmetricPassive : Mode::Server;
  if (reply.mode == want) return std::nullopt;
  return detail::mode_violation(want, reply.mode);
}
[[nodiscard]] inline Check check_origin(const Header& request, const Header& reply) {
  // RFC 5905 §8 and A.5.3 fast_xmit: the reply's origin is the request's transmit, copied.
  if (reply.origin == request.transmit) return std::nullopt;
  return detail::origin_violation(request.transmit, reply.origin);
}
[[nodiscard]] inline Check check_version_echo(const Header& request, const Header& reply) {
  if (reply.version == request.version) return std::nullopt;
  return detail::version_violation(request.version, reply.version);
}
[[nodiscard]] inline Check check_poll_echo(const Header& request, const Header& reply) {
  if (reply.poll == request.poll) return std::nullopt;
  return detail::poll_violation(request.poll, reply.poll);
}
[[nodiscard]] inline Check check_transmit_nonzero(const Header& reply) {
  if (!reply.transmit.is_zero()) return std::nullopt;
  return detail::transmit_zero_violation();
}
[[nodiscard]] inline Check check_receive_not_after_transmit(const Header& reply) {
  if (reply.receive.is_zero() || reply.transmit.is_zero()) return std::nullopt;  // judged elsewhere
  if ((reply.transmit - reply.receive).raw() >= 0) return std::nullopt;
  return detail::receive_after_transmit_violation(reply);
}
[[nodiscard]] inline Check check_stratum_range(const Header& reply) {
  // RFC 5905 Figure 11: 0 kiss-o'-death/unspecified, 1-15, 16 unsynchronized, 17-255 reserved.
  if (reply.stratum <= 16) return std::nullopt;
  return detail::stratum_range_violation(reply.stratum);
}
// Stratum 0 carries a known kiss code. RFC 5905 §7.3 sends an unsynchronized server's stratum 16
// as 0, and §7.4 says the reference ID *can* then carry a kiss code: stratum 0 with LI 3 and no
// kiss code is an unsynchronized server, not a malformed kiss-o'-death.
[[nodiscard]] inline Check check_kiss_shape(const Header& reply) {
  if (reply.stratum != 0 || reply.leap == Leap::Unsynchronized) return std::nullopt;
  if (reply.reference_id.kiss_code()) return std::nullopt;
  return detail::kiss_shape_violation(reply);
}
// LI 3 means the server's clock is not synchronized; a synchronized stratum contradicts it.
[[nodiscard]] inline Check check_leap_consistent(const Header& reply) {
  if (reply.leap != Leap::Unsynchronized || reply.stratum == 0 || reply.stratum >= 16) return std::nullopt;
  return detail::leap_violation(reply);
}
[[nodiscard]] inline Check check_no_amplification(size_t request_length, size_t reply_length) {
  if (reply_length <= request_length) return std::nullopt;
  return detail::amplification_violation(request_length, reply_length);
}

// A kiss-o'-death (RFC 5905 §7.4): stratum 0 with a kiss code, or stratum 0 that does not say
// it is merely unsynchronized (LI 3). Stratum 0, LI 3 and no kiss code is an unsynchronized
// server's ordinary answer (§7.3 sends stratum 16 as 0).
[[nodiscard]] bool is_kiss_of_death(const Header& h);

// Text helpers for messages.
[[nodiscard]] std::string describe_timestamp(Timestamp t);  // "e6c69f5f.10000000"
[[nodiscard]] std::string describe_mode(Mode m);            // "4 (server)"

}  // namespace ntpkit::conformance
