// RFC 7822 §3 (and RFC 5905 §7.5): extension fields in requests to a server.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

Case silent(std::string_view id, std::string_view requirement, Stimulus stimulus) {
  return silent_case(id, "RFC 7822", "3", requirement, std::move(stimulus));
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"rfc7822/3/ef-unknown", "RFC 7822", "3", Level::Should,
       "An extension field of unknown type is ignored: the request is answered without echoing it.", Expect::Either,
       with_trailer({unknown_ef(28)}, std::nullopt),
       [](const Observation& o, const JudgeContext&) { return ignored_extension(o); }},
      silent("rfc7822/3/ef-too-short",
             "An extension field whose length is below 16 octets is malformed: the request is dropped.",
             with_trailer({unknown_ef(28, uint16_t{12})}, std::nullopt)),
      silent("rfc7822/3/ef-not-aligned",
             "An extension field whose length is not a multiple of 4 is malformed: the request is dropped.",
             with_trailer({unknown_ef(28, uint16_t{18})}, std::nullopt)),
      silent("rfc7822/3/ef-overrun",
             "An extension field whose length runs past the datagram is malformed: the request is dropped.",
             with_trailer({unknown_ef(28, uint16_t{512})}, std::nullopt)),
      {"rfc7822/3/ef-then-mac", "RFC 7822", "3", Level::Should,
       "An extension field followed by a MAC of an unknown key gets a crypto-NAK or no reply.", Expect::Either,
       with_trailer({unknown_ef(28)}, size_t{20}),
       [](const Observation& o, const JudgeContext&) { return unknown_key(o); }},
      {"rfc7822/3/two-unknown-efs", "RFC 7822", "3", Level::Should,
       "Two extension fields of unknown type are both ignored: the request is answered without echoing them.",
       Expect::Either, with_trailer({unknown_ef(16), unknown_ef(28)}, std::nullopt),
       [](const Observation& o, const JudgeContext&) { return ignored_extension(o); }},
      {"rfc7822/3/ef-padded", "RFC 7822", "3", Level::Should,
       "An extension field whose value is padded with zeros to a multiple of 4 is well formed and ignored.",
       Expect::Either,
       [](StimulusContext& s) {
         Packet p;
         p.header = client_header(s);
         std::vector<uint8_t> value(29, 0x44);  // 33 bytes of field, padded to 36
         value.resize(32, 0);
         p.extensions.push_back({0x7E02, value, std::nullopt});
         return one(serialize(p));
       },
       [](const Observation& o, const JudgeContext&) { return ignored_extension(o); }},
      {"rfc7822/3/last-ef-short", "RFC 7822", "3", Level::Should,
       "Without a MAC the last extension field must be at least 28 octets; a server may drop a shorter one or "
       "ignore it.",
       Expect::Either, with_trailer({unknown_ef(16)}, std::nullopt),
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return documented("drops a request whose last extension field is under 28 octets");
         auto j = ignored_extension(o);
         if (j.finding == Finding::Satisfied)
           j = documented("answers a request whose last extension field is 16 octets");
         return j;
       }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc7822_extension_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
