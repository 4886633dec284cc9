// Building blocks for the section files: stimuli and the common shapes of a check.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::conformance::detail {

using Datagrams = std::vector<std::vector<uint8_t>>;

// A data-minimised client request: zero but for LI/VN/mode, poll and a random transmit.
// The stimuli's request: data-minimised (wire/packet.hpp's client_request) with poll 6, whose
// echo the cases judge, in `mode` where a case asks in another one.
inline Header client_header(StimulusContext& s, uint8_t version = 4, Mode mode = Mode::Client) {
  Header h = client_request(version, s.random_timestamp());
  h.mode = mode;
  h.poll = 6;
  return h;
}
inline std::vector<uint8_t> bytes_of(const Header& h) {
  const auto b = serialize_header(h);
  return {b.begin(), b.end()};
}
inline Datagrams one(std::vector<uint8_t> d) {
  Datagrams out;
  out.push_back(std::move(d));
  return out;
}

// The header of the first datagram we sent (every stimulus starts with at least 48 bytes of
// header, or is malformed on purpose and judged without it).
inline Header request_header(const Observation& o) {
  if (o.sent.empty() || o.sent.front().bytes.size() < kHeaderLength) return {};
  return parse_header(std::span<const uint8_t>(o.sent.front().bytes).first<kHeaderLength>());
}

inline Judgement satisfied(std::string summary) {
  return {Finding::Satisfied, std::move(summary), "", ""};
}
inline Judgement violated(std::string summary, const Violation& v) {
  return {Finding::Violated, std::move(summary), v.expected, v.actual};
}
inline Judgement violated(std::string summary, std::string expected, std::string actual) {
  return {Finding::Violated, std::move(summary), std::move(expected), std::move(actual)};
}
inline Judgement documented(std::string summary) {
  return {Finding::Documented, std::move(summary), "", ""};
}

std::string describe_reply(const Received& r);  // "a 48-byte reply: VN 4, mode 4 (server), stratum 1"

// Expects a reply; a missing or malformed one violates the requirement. `f(request, reply,
// received)` judges the parsed reply.
template <class F>
Judgement with_reply(const Observation& o, F&& f) {
  if (o.received.empty()) return violated("no reply within the timeout", "a reply", "silence");
  const Received& r = o.received.front();
  auto parsed = parse(r.bytes);
  if (!parsed) {
    return violated("the reply is not a well-formed NTP packet", "a well-formed NTP packet",
                    std::to_string(r.bytes.size()) + " bytes; " + describe(parsed.error()));
  }
  return f(request_header(o), *parsed, r);
}

// A reply judged by one or more verifiers; the first violation is reported.
inline Judgement reply_satisfies(const Observation& o, std::string ok,
                                 std::initializer_list<Check (*)(const Header&, const Header&)> checks) {
  return with_reply(o, [&](const Header& rq, const PacketView& rp, const Received&) {
    for (auto c : checks) {
      if (auto v = c(rq, rp.header)) return violated("the reply breaks the requirement", *v);
    }
    return satisfied(std::move(ok));
  });
}

// Expects silence.
inline Judgement expect_silence(const Observation& o, std::string ok) {
  if (o.received.empty()) return satisfied(std::move(ok));
  return violated("the server answered", "no reply",
                  describe_reply(o.received.front()) +
                      (o.received.size() > 1 ? " (and " + std::to_string(o.received.size() - 1) + " more)" : ""));
}

using Stimulus = std::function<Datagrams(StimulusContext&)>;

// A client request with extension fields and/or a MAC of `digest` bytes, built by the serializer.
Stimulus with_trailer(std::vector<ExtensionField> efs, std::optional<size_t> digest);
// An extension field of an unassigned type, `total_length` bytes long; `declared` lies about it.
ExtensionField unknown_ef(size_t total_length, std::optional<uint16_t> declared = std::nullopt);
// A SHOULD-level case that expects a malformed request to be dropped.
Case silent_case(std::string_view id, std::string_view rfc, std::string_view section, std::string_view requirement,
                 Stimulus stimulus);
// An unknown extension field is ignored: answered normally (or dropped by policy), not echoed.
Judgement ignored_extension(const Observation& o);
// A MAC that cannot authenticate the request (`what`: "requests whose ..."): a crypto-NAK passes,
// silence is the server's choice (info), time is a violation.
Judgement refused_mac(const Observation& o, const std::string& what);
// A MAC of a key the server does not have: a crypto-NAK or silence.
Judgement unknown_key(const Observation& o);

}  // namespace ntpkit::conformance::detail
