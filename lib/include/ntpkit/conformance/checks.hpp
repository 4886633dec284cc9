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

[[nodiscard]] Check check_mode(const Header& request, const Header& reply);
[[nodiscard]] Check check_origin(const Header& request, const Header& reply);
[[nodiscard]] Check check_version_echo(const Header& request, const Header& reply);
[[nodiscard]] Check check_poll_echo(const Header& request, const Header& reply);
[[nodiscard]] Check check_transmit_nonzero(const Header& reply);
[[nodiscard]] Check check_receive_not_after_transmit(const Header& reply);
[[nodiscard]] Check check_transmit_differs_from_receive(const Header& reply);
[[nodiscard]] Check check_stratum_range(const Header& reply);
[[nodiscard]] Check check_kiss_shape(const Header& reply);        // stratum 0 carries a known kiss code
[[nodiscard]] Check check_stratum1_refid(const Header& reply);    // stratum 1: printable ASCII
[[nodiscard]] Check check_leap_consistent(const Header& reply);   // LI 3 only when unsynchronized
[[nodiscard]] Check check_precision(const Header& reply);
[[nodiscard]] Check check_root_distance(const Header& reply);
[[nodiscard]] Check check_reference_not_after_transmit(const Header& reply);
[[nodiscard]] Check check_reference_fresh(const Header& reply, Duration max_age);
[[nodiscard]] Check check_no_amplification(size_t request_length, size_t reply_length);
[[nodiscard]] Check check_no_extension_echo(const PacketView& reply);
// The offset computed from the four timestamps is within `max` of our clock (RFC 5905 §8).
[[nodiscard]] Check check_offset(Timestamp t1, const Header& reply, Timestamp t4, Duration max);

// A kiss-o'-death (RFC 5905 §7.4): stratum 0 with a kiss code, or stratum 0 that does not say
// it is merely unsynchronized (LI 3). Stratum 0, LI 3 and no kiss code is an unsynchronized
// server's ordinary answer (§7.3 sends stratum 16 as 0).
[[nodiscard]] bool is_kiss_of_death(const Header& h);

// Text helpers for messages.
[[nodiscard]] std::string describe_timestamp(Timestamp t);  // "e6c69f5f.10000000"
[[nodiscard]] std::string describe_mode(Mode m);            // "4 (server)"

}  // namespace ntpkit::conformance
