// Shared verifiers: each judges one property of a request/reply pair and says
// "expected ... / actual ...". The probe's cases and the capture replay both use them.
#pragma once

#include <optional>
#include <string>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/wire/packet.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::conformance {

struct Violation {
  std::string expected;
  std::string actual;
};
using Check = std::optional<Violation>;  // nullopt: satisfied

[[nodiscard]] Check check_transmit_differs_from_receive(const Header& reply);

// RFC 8915, what needs no keys (the suites, judge_reply and replay alike):
// §5.5 and §9.4: a reply to an NTS request no longer than the request, up to three octets of
// padding allowed.
inline constexpr size_t kNtsPaddingAllowance = 3;
[[nodiscard]] inline bool nts_reply_too_long(size_t request, size_t reply) {
  return reply > request + kNtsPaddingAllowance;
}
[[nodiscard]] Check check_nts_reply_length(size_t request, size_t reply);
// §5.7: new cookies only inside the authenticator (encrypted), never as NTS Cookie fields before it.
[[nodiscard]] Check check_nts_cookies_encrypted(const nts::Fields& reply);
// §5.7: an NTSN "MUST NOT include any NTS Cookie or NTS Authenticator and Encrypted Extension
// Fields extension fields"; §5.3: it echoes the request's Unique Identifier (`uid_expected`: the
// request had one; `uid_echoed`: a field of the reply equals it).
[[nodiscard]] Check check_nts_nak_shape(const nts::Fields& reply, bool uid_expected, bool uid_echoed);
[[nodiscard]] Check check_stratum1_refid(const Header& reply);  // stratum 1: printable ASCII
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
// RFC 9769 §2 (interleaved client/server mode): a client asks for it by sending, as its origin,
// the server's receive timestamp of an earlier exchange; the server then answers with the
// request's receive field as origin and the transmit timestamp of its previous reply. Such a
// reply is judged by those rules, not as a basic reply whose origin is wrong.
[[nodiscard]] inline bool is_interleaved(const Header& request, const Header& reply) {
  return !request.origin.is_zero() && !request.receive.is_zero() && reply.origin == request.receive &&
         reply.origin != request.transmit;
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
// RFC 9769 §2: an interleaved reply's transmit timestamp is when the server's previous reply to
// this client left: not after this request arrived (the reply's receive) and, where that earlier
// reply is known, not before its own transmit field (read before it left).
[[nodiscard]] Check check_interleaved_transmit(const Header& reply, std::optional<Timestamp> previous_transmit);
// RFC 9769 §2: "The receive timestamp MUST NOT be used again to detect a request conforming to
// the interleaved mode." `spent`: the origin of this client's earlier request that was answered
// interleaved (zero: none known); `reply` answers a request with origin `request_origin`.
[[nodiscard]] Check check_receive_once(Timestamp request_origin, Timestamp spent, const Header& reply,
                                       bool reply_interleaved);
[[nodiscard]] inline Check check_stratum_range(const Header& reply) {
  // RFC 5905 Figure 11: 0 kiss-o'-death/unspecified, 1-15, 16 unsynchronized, 17-255 reserved.
  if (reply.stratum <= 16) return std::nullopt;
  return detail::stratum_range_violation(reply.stratum);
}
// RFC 5905 §7.3: "For packet stratum 0 (unspecified or invalid), this [the reference ID] is a
// four-character ASCII string, called the 'kiss code'", one of Figure 13's (IANA's registry) or,
// for experiments, one that begins with "X" (§7.4). Stratum 0 with any other reference ID
// (0x00000000, an address) breaks that, whatever the leap indicator says.
[[nodiscard]] inline Check check_kiss_shape(const Header& reply) {
  if (reply.stratum != 0 || reply.reference_id.kiss_code()) return std::nullopt;
  if (reply.reference_id.bytes()[0] == 'X' && reply.reference_id.is_printable_ascii()) return std::nullopt;
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

// What a reply is before any rule judges it: the one definition the suites, replay, query and
// bench share (RFC 5905 §7.3, §7.4).
enum class ReplyKind : uint8_t {
  Time,            // a time reply, perhaps from an unsynchronized server (LI 3, stratum 16)
  Unsynchronized,  // stratum 0 that says the server has no time yet: LI 3, or the status codes INIT, STEP
  KissOfDeath,     // stratum 0 with any other kiss code (RATE, DENY, RSTR, ...): a message, not time
};
// §7.4: "Other than displaying the kiss code, KoD packets have no protocol significance and are
// discarded after inspection": a kiss-o'-death's timestamps are never judged as time.
[[nodiscard]] inline ReplyKind classify(const Header& h) {
  if (h.stratum != 0) return ReplyKind::Time;
  if (const auto code = h.reference_id.kiss_code()) {
    return *code == KissCode::INIT || *code == KissCode::STEP ? ReplyKind::Unsynchronized : ReplyKind::KissOfDeath;
  }
  // An experimental code ("X...", §7.4) is a message too.
  if (h.reference_id.bytes()[0] == 'X' && h.reference_id.is_printable_ascii()) return ReplyKind::KissOfDeath;
  // Stratum 0 without a code: unsynchronized under LI 3; otherwise a broken header judged as
  // time (and by check_kiss_shape).
  return h.leap == Leap::Unsynchronized ? ReplyKind::Unsynchronized : ReplyKind::Time;
}
[[nodiscard]] inline bool is_kiss_of_death(const Header& h) {
  return classify(h) == ReplyKind::KissOfDeath;
}
// The kiss codes of §7.4 that ask a client to back off (RATE) or to stop (DENY, RSTR).
[[nodiscard]] inline bool is_rate_limit(const Header& h) {
  return h.stratum == 0 && h.reference_id.kiss_code() == KissCode::RATE;
}

// Text helpers for messages.
[[nodiscard]] std::string describe_timestamp(Timestamp t);  // "e6c69f5f.10000000"
[[nodiscard]] std::string describe_mode(Mode m);            // "4 (server)"

}  // namespace ntpkit::conformance
