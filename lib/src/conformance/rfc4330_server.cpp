// RFC 4330 §6: SNTP server operations, field by field.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

auto request(uint8_t vn, Mode mode = Mode::Client) {
  return [vn, mode](StimulusContext& s) {
    Header h = client_header(s, vn, mode);
    h.poll = 10;
    return one(bytes_of(h));
  };
}

Case field_case(std::string_view id, std::string_view requirement, uint8_t vn,
                std::initializer_list<Check (*)(const Header&, const Header&)> checks, std::string_view ok,
                Level level = Level::Must) {
  std::vector<Check (*)(const Header&, const Header&)> list(checks);
  return {id,
          "RFC 4330",
          "6",
          level,
          requirement,
          Expect::Reply,
          request(vn),
          [list, ok](const Observation& o, const JudgeContext&) {
            return with_reply(o, [&](const Header& rq, const PacketView& rp, const Received&) {
              for (auto c : list) {
                if (auto v = c(rq, rp.header)) return violated("the reply breaks RFC 4330 §6", *v);
              }
              return satisfied(std::string(ok));
            });
          }};
}

Check timestamps_set(const Header&, const Header& reply) {
  if (auto v = check_transmit_nonzero(reply)) return v;
  if (reply.receive.is_zero()) return Violation{"a receive timestamp (when the request arrived)", "receive 0"};
  return check_receive_not_after_transmit(reply);
}

Check unsynchronized_shape(const Header&, const Header& reply) {
  // §6: a server that is not synchronized says so with LI 3 (stratum 0, with a kiss code or
  // none: RFC 4330 does not ask for one; rfc5905/7.4/kiss-code does). Stratum 0 under another
  // LI needs a code to be a kiss-o'-death at all.
  if (reply.leap != Leap::Unsynchronized) {
    if (auto v = check_kiss_shape(reply)) return v;
  }
  return check_leap_consistent(reply);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      field_case("rfc4330/6/vn-copy-v3", "The server copies the version number from a version-3 request.", 3,
                 {check_version_echo}, "VN 3 copied"),
      field_case("rfc4330/6/vn-copy-v4", "The server copies the version number from a version-4 request.", 4,
                 {check_version_echo}, "VN 4 copied"),
      field_case("rfc4330/6/mode", "A client-mode (3) request gets a server-mode (4) reply.", 4, {check_mode},
                 "mode 4"),
      field_case("rfc4330/6/poll-copy", "The server copies the poll interval from the request.", 4, {check_poll_echo},
                 "poll copied"),
      field_case("rfc4330/6/originate-copy", "The originate timestamp is the request's transmit timestamp.", 4,
                 {check_origin}, "originate copied"),
      field_case("rfc4330/6/timestamps",
                 "Receive is when the request arrived and transmit when the reply left: both "
                 "set, receive not after transmit.",
                 4, {timestamps_set}, "receive and transmit set, in order"),
      // A SHOULD, like rfc5905/7.3/leap-consistent: §6 describes the fields, it does not bind LI 3
      // to a stratum with a MUST.
      field_case("rfc4330/6/unsynchronized",
                 "An unsynchronized server sets LI 3 with stratum 0 (kiss code or none), not with a synchronized "
                 "stratum.",
                 4, {unsynchronized_shape}, "LI and stratum agree", Level::Should),
      {"rfc4330/6/mode1", "RFC 4330", "6", Level::Should,
       "A request in a mode other than 3 is answered, if at all, in symmetric passive mode (2).", Expect::Either,
       request(4, Mode::SymmetricActive),
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return documented("does not answer mode 1 (RFC 4330 §6 would answer it with mode 2)");
         auto j = reply_satisfies(o, "", {check_mode, check_origin});
         if (j.finding == Finding::Satisfied) j = satisfied("mode 1 answered with mode 2");
         return j;
       }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc4330_server_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
