// RFC 5905 §8 and draft-ietf-ntp-data-minimization: the server answers whatever a valid client
// request carries, and copies only the transmit timestamp.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

Judgement answered_properly(const Observation& o) {
  return reply_satisfies(o, "answered in server mode with the origin copied", {check_mode, check_origin});
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"rfc5905/8/data-minimised-request", "RFC 5905", "8", Level::Must,
       "A request that is zero but for LI, VN, mode and transmit is a valid client request and is answered.",
       Expect::Reply,
       [](StimulusContext& s) {
         Header h = client_header(s);
         h.poll = 0;
         return one(bytes_of(h));
       },
       [](const Observation& o, const JudgeContext&) { return answered_properly(o); }},
      {"rfc5905/8/full-request", "RFC 5905", "8", Level::Must,
       "A request with every field set, as ntpd sends it, is answered with the origin taken from its transmit "
       "timestamp, not from its own origin or receive fields.",
       Expect::Reply,
       [](StimulusContext& s) {
         Header h = client_header(s);
         h.stratum = 3;
         h.precision = -20;
         h.root_delay = ShortTime::from_raw(0x00000A00);
         h.root_dispersion = ShortTime::from_raw(0x00001400);
         h.reference_id = ReferenceId::from_ipv4({192, 0, 2, 123});
         h.reference = s.now - Duration::from_seconds(64);
         h.origin = s.random_timestamp();
         h.receive = s.random_timestamp();
         return one(bytes_of(h));
       },
       [](const Observation& o, const JudgeContext&) { return answered_properly(o); }},
      {"rfc5905/8/zero-transmit", "RFC 5905", "8", Level::Must,
       "A request with a zero transmit timestamp may be dropped; if it is answered, the origin is zero too.",
       Expect::Either,
       [](StimulusContext& s) {
         Header h = client_header(s);
         h.transmit = Timestamp{};
         return one(bytes_of(h));
       },
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return documented("drops requests with a zero transmit timestamp");
         auto j = answered_properly(o);
         if (j.finding == Finding::Satisfied)
           j = documented("answers requests with a zero transmit timestamp, origin zero");
         return j;
       }},
      {"rfc5905/8/unsynchronized-client", "RFC 5905", "8", Level::Must,
       "A request from a client announcing LI 3 and stratum 16 is answered like any other.", Expect::Reply,
       [](StimulusContext& s) {
         Header h = client_header(s);
         h.leap = Leap::Unsynchronized;
         h.stratum = 16;
         return one(bytes_of(h));
       },
       [](const Observation& o, const JudgeContext&) { return answered_properly(o); }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_request_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
