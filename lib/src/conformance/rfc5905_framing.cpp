// RFC 5905 §7.3 and §7.5, RFC 7822 §3: datagram lengths, extension fields and MACs.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

// A client request cut to `n` bytes.
auto truncated(size_t n) {
  return [n](StimulusContext& s) {
    auto b = bytes_of(client_header(s));
    b.resize(n);
    return one(b);
  };
}

// A client request followed by `extra` junk bytes.
auto padded(size_t extra) {
  return [extra](StimulusContext& s) {
    auto b = bytes_of(client_header(s));
    for (size_t i = 0; i < extra; ++i) b.push_back(static_cast<uint8_t>(0xA0 + i));
    return one(b);
  };
}

Case silent(std::string_view id, std::string_view section, std::string_view requirement, Stimulus stimulus) {
  return silent_case(id, "RFC 5905", section, requirement, std::move(stimulus));
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      silent("rfc5905/7.3/length-0", "7.3", "An empty datagram is not an NTP packet and is not answered.",
             truncated(0)),
      silent("rfc5905/7.3/length-1", "7.3", "A 1-byte datagram is not an NTP packet and is not answered.",
             truncated(1)),
      silent("rfc5905/7.3/length-12", "7.3", "A 12-byte datagram in mode 3 is not an NTP packet and is not answered.",
             truncated(12)),
      silent("rfc5905/7.3/length-47", "7.3", "A datagram one byte short of the 48-byte header is not answered.",
             truncated(47)),
      silent("rfc5905/7.5/length-49", "7.5; RFC 7822 §3",
             "One byte after the header is neither an extension field nor a MAC: the request is dropped.", padded(1)),
      silent("rfc5905/7.5/length-50", "7.5; RFC 7822 §3",
             "Two bytes after the header are neither an extension field nor a MAC: the request is dropped.", padded(2)),
      {"rfc5905/7.5/length-52", "RFC 5905", "7.5", Level::Must,
       "A 4-byte trailer is a MAC of key identifier alone; if answered, the reply is well formed and copies the "
       "origin.",
       Expect::Either, with_trailer({}, size_t{0}),
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return documented("drops a request whose MAC is a bare key identifier");
         auto j = reply_satisfies(o, "", {check_mode, check_origin});
         if (j.finding == Finding::Satisfied) j = documented("answers a request with a bare key identifier");
         return j;
       }},
      {"rfc5905/7.5/length-1000", "RFC 7822", "3", Level::Should,
       "A 1000-byte request with one large unknown extension field is answered as if the field were absent.",
       Expect::Either, with_trailer({unknown_ef(952)}, std::nullopt),
       [](const Observation& o, const JudgeContext&) { return ignored_extension(o); }},
      {"rfc5905/7.4/mac-md5-unknown-key", "RFC 5905", "7.4, A.5.1", Level::Should,
       "A request with a 20-byte MAC of an unknown key gets a crypto-NAK or no reply.", Expect::Either,
       with_trailer({}, size_t{16}), [](const Observation& o, const JudgeContext&) { return unknown_key(o); }},
      {"rfc5905/7.4/mac-sha1-unknown-key", "RFC 5905", "7.4, A.5.1", Level::Should,
       "A request with a 24-byte MAC of an unknown key gets a crypto-NAK or no reply.", Expect::Either,
       with_trailer({}, size_t{20}), [](const Observation& o, const JudgeContext&) { return unknown_key(o); }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_framing_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
