// RFC 5905 §7.3 and §7.4: what the fields of a server's reply may hold.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

Datagrams plain_request(StimulusContext& s) {
  return one(bytes_of(client_header(s)));
}

// A case whose check looks at the reply's header alone.
Case header_case(std::string_view id, std::string_view section, Level level, std::string_view requirement,
                 Check (*check)(const Header&), std::string_view ok) {
  return {id,
          "RFC 5905",
          section,
          level,
          requirement,
          Expect::Reply,
          plain_request,
          [check, ok](const Observation& o, const JudgeContext&) {
            return with_reply(o, [&](const Header&, const PacketView& rp, const Received&) {
              if (auto v = check(rp.header)) return violated("the reply's header breaks the requirement", *v);
              return satisfied(std::string(ok));
            });
          }};
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      header_case("rfc5905/7.3/stratum-range", "7.3", Level::Must,
                  "The stratum is 0 (kiss-o'-death), 1-15, or 16 (unsynchronized); 17-255 are reserved.",
                  check_stratum_range, "the stratum is in range"),
      // RFC 5905 §7.3, Figure 12: "For packet stratum 0 (unspecified or invalid), this is a
      // four-character ASCII [RFC1345] string, called the 'kiss code'". An unsynchronized server
      // that sends stratum 0 says so with a code such as INIT; the sentence has no RFC 2119 word,
      // so a missing code is a SHOULD-level warning, not a failure.
      {"rfc5905/7.4/kiss-code", "RFC 5905", "7.3, 7.4", Level::Should,
       "A reply with stratum 0 carries a four-character ASCII kiss code in its reference ID (e.g. INIT when "
       "unsynchronized, RATE when limiting).",
       Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [](const Header&, const PacketView& rp, const Received&) {
           const Header& h = rp.header;
           if (auto v = check_kiss_shape(h)) return violated("stratum 0 without a kiss code", *v);
           if (h.stratum != 0) return satisfied("not stratum 0");
           return satisfied("stratum 0 with kiss code '" + h.reference_id.ascii() + "'");
         });
       },
       true},
      // RFC 5905 §7.3 (Figure 8: the header is 48 octets) and RFC 7822 §3 (what may follow it):
      // a reply the parser cannot read is no NTP packet. Judged in every case that reads a
      // reply; this case names it, and replay's finding for an unreadable datagram is this one.
      {"rfc5905/7.3/well-formed", "RFC 5905", "7.3, 7.5; RFC 7822 §3", Level::Should,
       "A reply is a well-formed NTP packet: a whole 48-byte header, then only whole extension fields and at most "
       "one MAC.",
       Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [](const Header&, const PacketView& rp, const Received&) {
           return satisfied("a well-formed " + std::to_string(rp.size()) + "-byte packet");
         });
       }},
      header_case("rfc5905/7.3/refid-stratum1", "7.3", Level::Should,
                  "A stratum-1 reference ID is a four-character ASCII string, left-justified and zero-padded.",
                  check_stratum1_refid, "the reference ID has the shape its stratum asks for"),
      header_case("rfc5905/7.3/leap-consistent", "7.3", Level::Should,
                  "LI 3 (clock unsynchronized) goes with stratum 0 or 16, not with a synchronized stratum.",
                  check_leap_consistent, "the leap indicator agrees with the stratum"),
      header_case("rfc5905/7.3/precision", "7.3", Level::Should,
                  "The precision is a plausible log2 of the clock's resolution (between -32 and -6).", check_precision,
                  "the precision is plausible"),
      header_case("rfc5905/7.3/root-distance", "7.3, 11.2.1", Level::Should,
                  "Root delay / 2 + root dispersion stays below MAXDIST (1.5 s), or no client can select the server.",
                  check_root_distance, "the root distance is below MAXDIST"),
      header_case("rfc5905/7.3/reference-before-transmit", "7.3", Level::Should,
                  "The reference timestamp (last clock update) is not later than the transmit timestamp.",
                  check_reference_not_after_transmit, "the reference time is not in the future"),
      {"rfc5905/7.3/reference-fresh", "RFC 5905", "7.3", Level::Should,
       "A synchronized server's reference timestamp is recent: no older than the longest poll interval (36 h).",
       Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext& ctx) {
         return with_reply(o, [&](const Header&, const PacketView& rp, const Received&) {
           if (auto v = check_reference_fresh(rp.header, ctx.max_reference_age)) {
             return violated("the reference time is stale", *v);
           }
           return satisfied("the reference time is recent");
         });
       }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_header_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
