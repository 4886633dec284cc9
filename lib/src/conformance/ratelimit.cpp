// Rate limiting (RFC 5905 §7.4): how a server treats a client that sends too fast. Opt-in: it
// sends a burst.
#include <set>

#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

constexpr size_t kBurst = 20;

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"ratelimit/burst", "RFC 5905", "7.4", Level::Must,
       "Excess requests are served, dropped, or answered with a well-formed RATE kiss-o'-death: stratum 0, "
       "reference ID 'RATE', our origin.",
       Expect::Either,
       [](StimulusContext& s) {
         Datagrams d;
         for (size_t i = 0; i < kBurst; ++i) d.push_back(bytes_of(client_header(s)));
         return d;
       },
       [](const Observation& o, const JudgeContext&) {
         std::set<uint64_t> ours;
         for (const auto& s : o.sent)
           ours.insert(parse_header(std::span<const uint8_t>(s.bytes).first<kHeaderLength>()).transmit.raw());
         size_t served = 0, kods = 0;
         for (const auto& r : o.received) {
           auto p = parse(r.bytes);
           if (!p) return violated("a reply to the burst is malformed", "well-formed replies", describe(p.error()));
           const Header& h = p->header;
           if (!is_kiss_of_death(h)) {  // an answer, perhaps an unsynchronized one (stratum 0, LI 3)
             ++served;
             continue;
           }
           ++kods;
           if (h.reference_id.kiss_code() != KissCode::RATE) {
             return violated("the kiss-o'-death is not RATE", "kiss code RATE", "'" + h.reference_id.ascii() + "'");
           }
           if (ours.count(h.origin.raw()) == 0) {
             return violated("the kiss-o'-death does not carry our origin", "origin = one of our transmits",
                             "origin " + describe_timestamp(h.origin));
           }
           if (h.mode != Mode::Server)
             return violated("the kiss-o'-death is not in server mode", "mode 4", describe_mode(h.mode));
         }
         const std::string counts = std::to_string(served) + " served, " + std::to_string(kods) + " RATE, " +
                                    std::to_string(kBurst - std::min(kBurst, served + kods)) + " dropped of " +
                                    std::to_string(kBurst);
         if (kods > 0) return satisfied("limits with a well-formed RATE kiss-o'-death: " + counts);
         if (served >= kBurst) return documented("no rate limiting: " + counts);
         return documented("limits by dropping: " + counts);
       },
       true, true},
  };
  return c;
}

}  // namespace

std::span<const Case> ratelimit_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
