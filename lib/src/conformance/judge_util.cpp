#include "judge_util.hpp"

namespace ntpkit::conformance::detail {

std::string describe_reply(const Received& r) {
  std::string s = "a " + std::to_string(r.size()) + "-byte reply";
  if (r.bytes.size() < kHeaderLength) return s;
  const Header h = parse_header(std::span<const uint8_t>(r.bytes).first<kHeaderLength>());
  return s + ": VN " + std::to_string(h.version) + ", mode " + describe_mode(h.mode) + ", stratum " +
         std::to_string(h.stratum);
}

// A client request with extension fields and/or a MAC, built by the serializer.
Stimulus with_trailer(std::vector<ExtensionField> efs, std::optional<size_t> digest) {
  return [efs, digest](StimulusContext& s) {
    Packet p;
    p.header = client_header(s);
    p.extensions = efs;
    if (digest) p.mac = Mac{static_cast<uint32_t>(s.rng() % 60000 + 1), std::vector<uint8_t>(*digest, 0x5A)};
    return one(serialize(p));
  };
}

ExtensionField unknown_ef(size_t total_length, std::optional<uint16_t> declared) {
  return {0x7E01, std::vector<uint8_t>(total_length - 4, 0x33), declared};
}

Case silent_case(std::string_view id, std::string_view rfc, std::string_view section, std::string_view requirement,
                 Stimulus stimulus) {
  return {
      id,
      rfc,
      section,
      Level::Should,
      requirement,
      Expect::Silence,
      std::move(stimulus),
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
Judgement refused_mac(const Observation& o, const std::string& what) {
  if (o.received.empty()) return documented("drops " + what);
  return with_reply(o, [](const Header& rq, const PacketView& rp, const Received&) {
    if (auto v = check_origin(rq, rp.header)) return violated("the reply breaks the origin copy", *v);
    if (rp.mac && rp.mac->kind == MacKind::CryptoNak && rp.mac->key_id == 0) {
      return satisfied("answered with a crypto-NAK");
    }
    return violated(
        "answered an unverifiable request without a crypto-NAK", "a crypto-NAK or no reply",
        rp.mac ? "a reply with " + std::string(to_string(rp.mac->kind)) + " of key " + std::to_string(rp.mac->key_id)
               : "a plain " + std::to_string(rp.size()) + "-byte reply");
  });
}

Judgement unknown_key(const Observation& o) {
  return refused_mac(o, "requests authenticated with an unknown key");
}

}  // namespace ntpkit::conformance::detail
