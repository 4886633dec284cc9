#include "ntpkit/conformance/checks.hpp"

#include <cstdint>

#include <array>
#include <cstdio>

namespace ntpkit::conformance {
namespace {

Check violated(std::string expected, std::string actual) {
  return Violation{std::move(expected), std::move(actual)};
}

std::string leap_text(Leap l) {
  return std::to_string(static_cast<int>(l)) + " (" + std::string(to_string(l)) + ")";
}

}  // namespace

std::string describe_timestamp(Timestamp t) {
  return format_raw(t);
}

std::string describe_mode(Mode m) {
  return std::to_string(static_cast<int>(m)) + " (" + std::string(to_string(m)) + ")";
}

namespace detail {

Violation mode_violation(Mode want, Mode got) {
  return {"mode " + describe_mode(want), "mode " + describe_mode(got)};
}

Violation origin_violation(Timestamp transmit, Timestamp origin) {
  const uint64_t diff = origin.raw() ^ transmit.raw();
  std::array<char, 32> bits{};
  std::snprintf(bits.data(), bits.size(), "%016llx", static_cast<unsigned long long>(diff));
  return {"origin " + describe_timestamp(transmit) + " (the request's transmit, byte for byte)",
          "origin " + describe_timestamp(origin) + " (differs in bits " + bits.data() + ")"};
}

Violation version_violation(uint8_t want, uint8_t got) {
  return {"VN " + std::to_string(want) + " (the request's, echoed)", "VN " + std::to_string(got)};
}

Violation poll_violation(int8_t want, int8_t got) {
  return {"poll " + std::to_string(want) + " (the request's, echoed)", "poll " + std::to_string(got)};
}

Violation transmit_zero_violation() {
  return {"a non-zero transmit timestamp", "transmit 00000000.00000000"};
}

Violation receive_after_transmit_violation(const Header& reply) {
  const Duration d = reply.transmit - reply.receive;
  return {"receive <= transmit", "receive " + describe_timestamp(reply.receive) + " is " + format_seconds(-d) +
                                     " s after transmit " + describe_timestamp(reply.transmit)};
}

Violation stratum_range_violation(uint8_t stratum) {
  return {"stratum 0-16", "stratum " + std::to_string(stratum) + " (reserved)"};
}

Violation kiss_shape_violation(const Header& reply) {
  return {
      "stratum 0 with a four-character ASCII kiss code in the reference ID (RFC 5905 §7.3), e.g. INIT",
      "stratum 0" + std::string(reply.leap == Leap::Unsynchronized ? " (LI 3)" : "") + " with reference ID " +
          (reply.reference_id.raw() == 0 ? std::string("0x00000000")
                                         : "'" + reply.reference_id.ascii() + "' (" + reply.reference_id.ipv4() + ")") +
          ", no kiss code"};
}

Violation leap_violation(const Header& reply) {
  return {"LI 3 (alarm) only with stratum 0 or 16",
          "LI " + leap_text(reply.leap) + " with stratum " + std::to_string(reply.stratum)};
}

Violation amplification_violation(size_t request_length, size_t reply_length) {
  return {"a reply no longer than the request (" + std::to_string(request_length) + " bytes)",
          "a reply of " + std::to_string(reply_length) + " bytes"};
}

}  // namespace detail

Check check_transmit_differs_from_receive(const Header& reply) {
  if (reply.transmit != reply.receive) return std::nullopt;
  return violated("transmit taken when the reply left, after receive",
                  "transmit equals receive (" + describe_timestamp(reply.receive) + ")");
}

Check check_stratum1_refid(const Header& reply) {
  if (reply.stratum != 1) return std::nullopt;
  if (reply.reference_id.is_printable_ascii()) return std::nullopt;
  return violated("a stratum-1 reference ID of up to four ASCII characters, left-justified, zero-padded",
                  "reference ID " + reply.reference_id.ipv4() + " ('" + reply.reference_id.ascii() + "')");
}

Check check_precision(const Header& reply) {
  // A clock read coarser than 2^-6 s (15.6 ms) or finer than 2^-32 s is implausible.
  if (reply.precision >= -32 && reply.precision <= -6) return std::nullopt;
  return violated("precision between 2^-32 and 2^-6 s", "precision 2^" + std::to_string(reply.precision) + " s");
}

Check check_root_distance(const Header& reply) {
  // RFC 5905 §11.2.1 and Figure 25: a root distance above MAXDIST (1.5 s) makes a server
  // unselectable.
  const Duration dist = root_distance(reply);
  if (dist <= Duration::from_nanoseconds(1'500'000'000)) return std::nullopt;
  return violated("root distance <= 1.5 s (MAXDIST)", "root distance " + format_seconds(dist) + " s");
}

Check check_reference_not_after_transmit(const Header& reply) {
  if (reply.reference.is_zero() || reply.transmit.is_zero()) return std::nullopt;
  const Duration d = reply.transmit - reply.reference;
  if (d.raw() >= 0) return std::nullopt;
  return violated("reference time <= transmit", "reference time " + format_seconds(-d) + " s after transmit");
}

Check check_reference_fresh(const Header& reply, Duration max_age) {
  if (reply.stratum == 0 || reply.stratum >= 16) return std::nullopt;  // unsynchronized: no reference
  if (reply.reference.is_zero()) return violated("a reference time", "reference time 0 (never synchronized)");
  const Duration age = reply.transmit - reply.reference;
  if (age <= max_age) return std::nullopt;
  return violated("reference time at most " + format_seconds(max_age) + " s before transmit",
                  "reference time " + format_seconds(age) + " s before transmit");
}

Check check_no_extension_echo(const PacketView& reply) {
  if (reply.extension_count == 0) return std::nullopt;
  std::string types;
  for (const auto& ef : reply.extensions()) {
    std::array<char, 8> t{};
    std::snprintf(t.data(), t.size(), "0x%04x", ef.type);
    types += (types.empty() ? "" : ", ") + std::string(t.data());
  }
  return violated("no extension fields in the reply",
                  std::to_string(reply.extension_count) + " extension field(s) of type " + types);
}

Check check_offset(Timestamp t1, const Header& reply, Timestamp t4, Duration max) {
  const Duration offset = Duration::midpoint(reply.receive - t1, reply.transmit - t4);
  if (offset.abs() <= max) return std::nullopt;
  return violated("|offset| <= " + format_seconds(max) + " s from the probe's clock",
                  "offset " + format_seconds(offset) + " s");
}

Check check_interleaved_transmit(const Header& reply, std::optional<Timestamp> previous_transmit) {
  const Timestamp t = reply.transmit;
  const bool before_receive = (reply.receive - t).raw() >= 0;
  const bool after_previous = !previous_transmit || (t - *previous_transmit).raw() >= 0;
  if (before_receive && after_previous) return std::nullopt;
  std::string expected = "the previous reply's departure: ";
  expected += previous_transmit ? "between " + describe_timestamp(*previous_transmit) + " (its transmit field) and " +
                                      describe_timestamp(reply.receive) + " (this request's receive)"
                                : "not after " + describe_timestamp(reply.receive) + " (this request's receive)";
  return Violation{
      expected, "transmit " + describe_timestamp(t) +
                    (before_receive ? ", before the previous reply's transmit field" : ", after this request arrived")};
}

Check check_receive_once(Timestamp request_origin, Timestamp spent, const Header& reply, bool reply_interleaved) {
  if (!reply_interleaved || spent.is_zero() || spent != request_origin) return std::nullopt;
  return Violation{
      "a basic reply: receive timestamp " + describe_timestamp(spent) + " was already answered interleaved",
      "an interleaved reply to it again (origin " + describe_timestamp(reply.origin) + ", transmit " +
          describe_timestamp(reply.transmit) + ")"};
}

Check check_nts_reply_length(size_t request, size_t reply) {
  if (!nts_reply_too_long(request, reply)) return std::nullopt;
  return Violation{"at most " + std::to_string(request) + " + " + std::to_string(kNtsPaddingAllowance) +
                       " octets (RFC 8915's padding)",
                   std::to_string(reply) + " octets"};
}

Check check_nts_cookies_encrypted(const nts::Fields& reply) {
  const size_t at = reply.authenticators.empty() ? SIZE_MAX : reply.authenticators.front().offset;
  size_t clear = 0;
  for (const auto& e : reply.cookies) clear += e.offset < at ? 1 : 0;
  if (clear == 0) return std::nullopt;
  return Violation{"new cookies only inside the authenticator", std::to_string(clear) + " plain NTS Cookie field(s)"};
}

Check check_nts_nak_shape(const nts::Fields& reply, bool uid_expected, bool uid_echoed) {
  if (!reply.cookies.empty() || !reply.authenticators.empty()) {
    return Violation{"no cookie, no authenticator", std::to_string(reply.cookies.size()) + " cookie and " +
                                                        std::to_string(reply.authenticators.size()) +
                                                        " authenticator field(s)"};
  }
  if (uid_expected && !uid_echoed) {
    return Violation{"the request's Unique Identifier",
                     reply.unique_ids.empty() ? "no Unique Identifier field" : "another Unique Identifier"};
  }
  return std::nullopt;
}

}  // namespace ntpkit::conformance
