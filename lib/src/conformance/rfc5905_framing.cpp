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

// A client request with extension fields and/or a MAC, built by the serializer.
auto with_trailer(std::vector<ExtensionField> efs, std::optional<size_t> digest) {
  return [efs, digest](StimulusContext& s) {
    Packet p;
    p.header = client_header(s);
    p.extensions = efs;
    if (digest) p.mac = Mac{static_cast<uint32_t>(s.rng() % 60000 + 1), std::vector<uint8_t>(*digest, 0x5A)};
    return one(serialize(p));
  };
}

ExtensionField unknown_ef(size_t total_length, std::optional<uint16_t> declared = std::nullopt) {
  return {0x7E01, std::vector<uint8_t>(total_length - 4, 0x33), declared};
}

Case silent(std::string_view id, std::string_view section, std::string_view requirement,
            std::function<Datagrams(StimulusContext&)> stimulus) {
  return {id, "RFC 5905", section, Level::Should, requirement, Expect::Silence, std::move(stimulus),
          [](const Observation& o, const JudgeContext&) { return expect_silence(o, "the malformed request is dropped"); }};
}

// An unknown extension field is ignored: the request is answered normally, or dropped by
// policy, and its fields are not echoed (RFC 7822 §3).
Judgement ignored_extension(const Observation& o) {
  if (o.received.empty()) return documented("drops requests that carry an unknown extension field");
  return with_reply(o, [](const Header& rq, const PacketView& rp, const Received&) {
    if (auto v = check_origin(rq, rp.header)) return violated("the reply breaks the origin copy", *v);
    if (auto v = check_no_extension_echo(rp)) return violated("the reply echoes extension fields", *v);
    return satisfied("answered normally; the unknown extension field was ignored");
  });
}

// A MAC with a key the server does not have: a crypto-NAK (RFC 5905 §7.4) or silence; a
// plain unauthenticated answer is what the client asked not to get.
Judgement unknown_key(const Observation& o) {
  if (o.received.empty()) return documented("drops requests authenticated with an unknown key");
  return with_reply(o, [](const Header& rq, const PacketView& rp, const Received&) {
    if (auto v = check_origin(rq, rp.header)) return violated("the reply breaks the origin copy", *v);
    if (rp.mac && rp.mac->kind == MacKind::CryptoNak && rp.mac->key_id == 0) {
      return satisfied("answered with a crypto-NAK");
    }
    return violated("answered an unverifiable request without a crypto-NAK", "a crypto-NAK or no reply",
                    rp.mac ? "a reply with " + std::string(to_string(rp.mac->kind)) + " of key " + std::to_string(rp.mac->key_id)
                           : "a plain " + std::to_string(rp.size()) + "-byte reply");
  });
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      silent("rfc5905/7.3/length-0", "7.3", "An empty datagram is not an NTP packet and is not answered.", truncated(0)),
      silent("rfc5905/7.3/length-1", "7.3", "A 1-byte datagram is not an NTP packet and is not answered.", truncated(1)),
      silent("rfc5905/7.3/length-12", "7.3", "A 12-byte datagram in mode 3 is not an NTP packet and is not answered.",
             truncated(12)),
      silent("rfc5905/7.3/length-47", "7.3", "A datagram one byte short of the 48-byte header is not answered.",
             truncated(47)),
      silent("rfc5905/7.5/length-49", "7.5; RFC 7822 §3",
             "One byte after the header is neither an extension field nor a MAC: the request is dropped.", padded(1)),
      silent("rfc5905/7.5/length-50", "7.5; RFC 7822 §3",
             "Two bytes after the header are neither an extension field nor a MAC: the request is dropped.", padded(2)),
      {"rfc5905/7.5/length-52", "RFC 5905", "7.5", Level::Must,
       "A 4-byte trailer is a MAC of key identifier alone; if answered, the reply is well formed and copies the origin.",
       Expect::Either, with_trailer({}, size_t{0}), [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return documented("drops a request whose MAC is a bare key identifier");
         auto j = reply_satisfies(o, "", {check_mode, check_origin});
         if (j.finding == Finding::Satisfied) j = documented("answers a request with a bare key identifier");
         return j;
       }},
      {"rfc5905/7.5/length-1000", "RFC 7822", "3", Level::Should,
       "A 1000-byte request with one large unknown extension field is answered as if the field were absent.",
       Expect::Either, with_trailer({unknown_ef(952)}, std::nullopt),
       [](const Observation& o, const JudgeContext&) { return ignored_extension(o); }},
      {"rfc7822/3/ef-unknown", "RFC 7822", "3", Level::Should,
       "An extension field of unknown type is ignored: the request is answered without echoing it.", Expect::Either,
       with_trailer({unknown_ef(28)}, std::nullopt),
       [](const Observation& o, const JudgeContext&) { return ignored_extension(o); }},
      silent("rfc7822/3/ef-too-short", "7.5; RFC 7822 §3",
             "An extension field whose length is below 16 octets is malformed: the request is dropped.",
             with_trailer({unknown_ef(28, uint16_t{12})}, std::nullopt)),
      silent("rfc7822/3/ef-not-aligned", "7.5; RFC 7822 §3",
             "An extension field whose length is not a multiple of 4 is malformed: the request is dropped.",
             with_trailer({unknown_ef(28, uint16_t{18})}, std::nullopt)),
      silent("rfc7822/3/ef-overrun", "7.5; RFC 7822 §3",
             "An extension field whose length runs past the datagram is malformed: the request is dropped.",
             with_trailer({unknown_ef(28, uint16_t{512})}, std::nullopt)),
      {"rfc5905/7.4/mac-md5-unknown-key", "RFC 5905", "7.4, A.5.1", Level::Should,
       "A request with a 20-byte MAC of an unknown key gets a crypto-NAK or no reply.", Expect::Either,
       with_trailer({}, size_t{16}), [](const Observation& o, const JudgeContext&) { return unknown_key(o); }},
      {"rfc5905/7.4/mac-sha1-unknown-key", "RFC 5905", "7.4, A.5.1", Level::Should,
       "A request with a 24-byte MAC of an unknown key gets a crypto-NAK or no reply.", Expect::Either,
       with_trailer({}, size_t{20}), [](const Observation& o, const JudgeContext&) { return unknown_key(o); }},
      {"rfc7822/3/ef-then-mac", "RFC 7822", "3", Level::Should,
       "An extension field followed by a MAC of an unknown key gets a crypto-NAK or no reply.", Expect::Either,
       with_trailer({unknown_ef(28)}, size_t{20}), [](const Observation& o, const JudgeContext&) { return unknown_key(o); }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_framing_cases() { return cases(); }

}  // namespace ntpkit::conformance
