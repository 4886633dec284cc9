// RFC 8915 §3 and §4, NTS Key Establishment, from the client's side: each case is one TLS
// exchange with the NTS-KE server (--nts), with a request well formed or not, and judges the
// handshake and the records that come back. The sentences, and the levels they give:
//
// - §3: "Implementations MUST NOT negotiate TLS versions earlier than 1.3" (tls13-only);
//   "Use of the Application-Layer Protocol Negotiation Extension [RFC7301] is integral to NTS
//   and support for it is REQUIRED for interoperability", and §4: "the client offering (via an
//   ALPN [RFC7301] extension), and the server accepting, an application-layer protocol of
//   "ntske/1"" (alpn: MUST); what a server does with a client that offers no ALPN is not said
//   (no-alpn-client: reported);
// - §4.1.1: End of Message "MUST occur exactly once as the final record of every NTS-KE request
//   and response. The Critical Bit MUST be set." (end-of-message);
// - §4.1.2: "It MUST occur exactly once in every NTS-KE request and response", "Protocol IDs
//   listed in the NTS-KE server's response MUST comprise a subset of those listed in the
//   request" (next-protocol);
// - §4.1.5: "If the NTS Next Protocol Negotiation record offers Protocol ID 0 (for NTPv4), then
//   this record MUST be included exactly once", and "In responses, it MUST include at most one."
//   (aead-one); the response's AEAD record
//   "denotes which algorithm the server chooses to use. It is empty if the server supports none
//   of the algorithms offered", and "servers may select among any of the client's offered
//   choices": a description without a keyword, so the choice outside the offer is a SHOULD
//   (aead-offered);
// - §4.1.6: "Servers MUST send at least one record of this type, and SHOULD send eight of them"
//   (cookies: MUST; fewer than eight is reported as the SHOULD);
// - §4 (critical bit): "Implementations which receive a record with an unrecognized Record Type
//   MUST ignore the record if the Critical Bit is 0 and MUST treat it as an error if the Critical
//   Bit is 1"; §4.1.3: error code 0: "The server MUST respond with this error code if the request
//   included a record that the server did not understand and that had its Critical Bit set"
//   (unknown-critical); error code 1: "The server MUST respond with this error if the request is
//   not complete and syntactically well-formed, or, upon the expiration of an
//   implementation-defined timeout, it has not yet received such a request" (bad-request,
//   incomplete-request);
// - §4: "servers MUST accept requests of at least 1024 octets" (large-request);
// - §4.1.3: "Clients MUST NOT include Error records in their request"; §4.1.4: "Clients MUST NOT
//   include Warning records in their request": such a request breaks the protocol, and Error 1
//   is for a request that is not "complete and syntactically well-formed"; whether a forbidden
//   record makes it so is not said, so refusing it is a SHOULD (client-error, client-warning);
// - a request over several TLS records: RFC 8915 says nothing of record boundaries; TLS carries
//   a byte stream (RFC 8446 §5.1), and the messages are self-delimiting (§4: "The requirement
//   that all NTS-KE messages be terminated by an End of Message record makes them
//   self-delimiting"): SHOULD (split-request).
#include <algorithm>

#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/nts/ke.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

using KeJudge = std::function<Judgement(const KeObservation&, const nts::Message&)>;

// A case whose judge gets the decoded response (a framing error or a failed handshake is
// judged here, the same way for every case that expects an answer).
Case ke_case(std::string_view id, std::string_view rfc, std::string_view section, Level level,
             std::string_view requirement, std::function<KeRequest(StimulusContext&)> request, KeJudge judge) {
  Case c{id, rfc, section, level, requirement, Expect::Either,
         // The request's records, for whatever asks a case for its stimulus: the runner sends
         // ke_stimulus over TLS instead.
         [request](StimulusContext& s) { return one(request(s).bytes); },
         [judge](const Observation& o, const JudgeContext&) -> Judgement {
           if (!o.ke) return {Finding::Inconclusive, "no NTS-KE exchange was made", "", ""};
           const KeObservation& k = *o.ke;
           if (!k.handshake) {
             return {Finding::Inconclusive, "no TLS session with the NTS-KE server: " + k.failure, "", ""};
           }
           auto m = nts::decode(k.response);
           if (!m) {
             // A record cut short by our wait or our limit says nothing of the server's framing.
             if (!k.end_of_message && (k.timed_out || k.truncated)) {
               return {Finding::Inconclusive,
                       std::string("the response did not end: ") +
                           (k.truncated ? "more than the probe reads (64 KiB)" : "nothing more within the wait") +
                           " after " + std::to_string(k.response.size()) + " octets, a record unfinished",
                       "", ""};
             }
             return violated("the response does not frame as NTS-KE records", "records (RFC 8915 §4)",
                             nts::describe(m.error(), k.response));
           }
           // Records that stopped coming before an End of Message: the rest may be on its way (the
           // server is slow) or past our limit; what is missing may be what the case looks for.
           if (!m->end_of_message && !k.response.empty() && (k.timed_out || k.truncated)) {
             return {Finding::Inconclusive,
                     std::string("the response did not end: ") +
                         (k.truncated ? "more than the probe reads (64 KiB)" : "nothing more within the wait") +
                         " after " + std::to_string(m->records.size()) + " record(s), no End of Message",
                     "", ""};
           }
           return judge(k, *m);
         }};
  c.ke_stimulus = std::move(request);
  c.judges_kiss = true;
  c.needs_nts = true;
  return c;
}

// A case that judges the handshake itself (what the server does with an odd TLS offer).
Case handshake_case(std::string_view id, std::string_view section, Level level, std::string_view requirement,
                    std::function<KeRequest(StimulusContext&)> request,
                    std::function<Judgement(const KeObservation&)> judge) {
  Case c = ke_case(id, "RFC 8915", section, level, requirement, std::move(request), nullptr);
  c.check = [judge](const Observation& o, const JudgeContext&) -> Judgement {
    if (!o.ke) return {Finding::Inconclusive, "no NTS-KE exchange was made", "", ""};
    if (!o.ke->connected) return {Finding::Inconclusive, "no TCP connection: " + o.ke->failure, "", ""};
    return judge(*o.ke);
  };
  return c;
}

KeRequest plain_request(StimulusContext&) {
  return {nts::client_request()};
}

// The client request with a record inserted before End of Message.
std::vector<uint8_t> with_record(uint16_t type, bool critical, std::span<const uint8_t> body) {
  auto r = nts::client_request();
  r.resize(r.size() - nts::kRecordHeaderLength);
  nts::append_record(r, type, critical, body);
  nts::append_end_of_message(r);
  return r;
}

std::string error_text(const nts::Message& m) {
  return m.errors.empty() ? "no Error record" : "Error " + nts::describe_error_code(m.errors.front());
}

std::string response_text(const KeObservation& k, const nts::Message& m) {
  if (k.response.empty()) {
    return std::string("no response (") + (k.closed ? "the server closed the connection" : "nothing within the wait") +
           ")";
  }
  std::string s = std::to_string(m.records.size()) + " record(s), " + std::to_string(k.response.size()) + " octets";
  if (!m.errors.empty()) s += ", " + error_text(m);
  if (!m.end_of_message) s += ", no End of Message";
  return s;
}

// The response to a request the server must refuse with Error `code`.
Judgement expect_error(const KeObservation& k, const nts::Message& m, uint16_t code, const std::string& what) {
  if (!m.errors.empty() && m.errors.front() == code)
    return satisfied("Error " + nts::describe_error_code(code) + " for " + what);
  return violated("no Error " + std::to_string(code) + " for " + what, "Error " + nts::describe_error_code(code),
                  response_text(k, m));
}

// A request the server should refuse: any Error record (Error 1, Bad Request, is the fitting one).
Judgement expect_refusal(const KeObservation& k, const nts::Message& m, const std::string& what) {
  if (!m.errors.empty())
    return satisfied("refused with Error " + nts::describe_error_code(m.errors.front()) + ": " + what);
  return violated("no Error record for " + what, "an Error record (1, Bad Request)", response_text(k, m));
}

// The normal answer to a request the server must take (cookies for NTPv4 with AEAD 15).
Judgement expect_cookies(const KeObservation& k, const nts::Message& m, const std::string& what) {
  if (!m.errors.empty() || m.cookies.empty() || !m.end_of_message) {
    return violated("no normal response to " + what, "NTPv4, an AEAD, cookies, End of Message", response_text(k, m));
  }
  return satisfied(std::to_string(m.cookies.size()) + " cookie(s) for " + what);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      handshake_case(
          "nts-ke/tls13-only", "3", Level::Must,
          "A client that offers TLS 1.2 only gets no TLS session: implementations must not negotiate TLS "
          "versions earlier than 1.3.",
          [](StimulusContext&) {
            KeRequest r{nts::client_request()};
            r.min_tls = r.max_tls = 0x0303;
            return r;
          },
          [](const KeObservation& k) {
            if (k.handshake) {
              return violated("a TLS session was set up with a client that offered TLS 1.2 only",
                              "no session (TLS 1.3 only)", "a " + k.version + " session");
            }
            return satisfied("refused: " + k.failure);
          }),
      ke_case("nts-ke/alpn", "RFC 8915", "3, 4", Level::Must,
              "A client that offers ALPN \"ntske/1\" gets it selected by the server.", plain_request,
              [](const KeObservation& k, const nts::Message&) {
                if (k.alpn != nts::kAlpn) {
                  return violated("the server did not select ALPN ntske/1", "ALPN ntske/1 selected",
                                  k.alpn.empty() ? "no ALPN selected" : "ALPN \"" + k.alpn + "\"");
                }
                return satisfied("ALPN ntske/1 selected");
              }),
      handshake_case(
          "nts-ke/no-alpn-client", "3, 4", Level::May,
          "A client that offers no ALPN: whether the server refuses or serves it (RFC 8915 does not say).",
          [](StimulusContext&) {
            KeRequest r{nts::client_request()};
            r.alpn.clear();
            return r;
          },
          [](const KeObservation& k) {
            if (!k.handshake) return documented("refuses a client without ALPN: " + k.failure);
            auto m = nts::decode(k.response);
            if (m && !m->cookies.empty()) return documented("serves a client that offered no ALPN (cookies sent)");
            return documented("completes TLS with a client without ALPN, then sends no cookies (" +
                              std::to_string(k.response.size()) + " octets)");
          }),
      ke_case("nts-ke/end-of-message", "RFC 8915", "4.1.1", Level::Must,
              "The response ends with exactly one End of Message record, with the critical bit set.", plain_request,
              [](const KeObservation& k, const nts::Message& m) {
                const auto last = m.records.empty() ? nullptr : &m.records.back();
                const bool last_end =
                    last != nullptr && last->type == static_cast<uint16_t>(nts::RecordType::EndOfMessage);
                size_t ends = 0;
                for (const auto& r : m.records)
                  ends += r.type == static_cast<uint16_t>(nts::RecordType::EndOfMessage) ? 1 : 0;
                if (!last_end || ends != 1 || !last->critical) {
                  return violated("the response does not end with one critical End of Message",
                                  "exactly one End of Message, the last record, critical",
                                  response_text(k, m) + ", " + std::to_string(ends) + " End of Message record(s)" +
                                      (last_end && !last->critical ? ", not critical" : ""));
                }
                return satisfied("one End of Message, last, critical");
              }),
      ke_case("nts-ke/next-protocol", "RFC 8915", "4.1.2", Level::Must,
              "The response has exactly one NTS Next Protocol Negotiation record, critical, listing only protocols "
              "the request offered (NTPv4).",
              plain_request,
              [](const KeObservation& k, const nts::Message& m) {
                if (m.next_protocol_records != 1) {
                  return violated("not exactly one Next Protocol record", "one",
                                  response_text(k, m) + ", " + std::to_string(m.next_protocol_records) +
                                      " Next Protocol record(s)");
                }
                for (uint16_t p : m.next_protocols) {
                  if (p != nts::kProtocolNtpv4) {
                    return violated("the response names a protocol the request did not offer",
                                    "a subset of [0] (NTPv4)", "protocol " + std::to_string(p));
                  }
                }
                for (const auto& r : m.records) {
                  if (r.type == static_cast<uint16_t>(nts::RecordType::NextProtocol) && !r.critical) {
                    return violated("the Next Protocol record is not critical", "the critical bit set", "clear");
                  }
                }
                return satisfied(m.next_protocols.empty() ? "one Next Protocol record, empty"
                                                          : "one Next Protocol record: NTPv4");
              }),
      ke_case(
          "nts-ke/aead-one", "RFC 8915", "4.1.5", Level::Must,
          "The response to a request offering NTPv4 and AEAD_AES_SIV_CMAC_256 carries exactly one AEAD record, "
          "with at most one algorithm: \"In responses, it MUST include at most one.\"",
          plain_request,
          [](const KeObservation& k, const nts::Message& m) -> Judgement {
            if (!m.errors.empty()) return satisfied("refused with " + error_text(m) + " (no AEAD chosen)");
            // "If the NTS Next Protocol Negotiation record offers Protocol ID 0 (for NTPv4), then
            // this record MUST be included exactly once."
            if (m.aead_records == 0) {
              if (std::ranges::find(m.next_protocols, nts::kProtocolNtpv4) == m.next_protocols.end()) {
                return {Finding::Inconclusive, "no AEAD record and no NTPv4 agreed: " + response_text(k, m), "", ""};
              }
              return violated("no AEAD record, though NTPv4 was agreed", "exactly one AEAD record",
                              response_text(k, m));
            }
            if (m.aead_records > 1) {
              return violated("more than one AEAD record", "exactly one AEAD record",
                              std::to_string(m.aead_records) + " (" + response_text(k, m) + ")");
            }
            if (m.aead_algorithms.size() > 1) {
              std::string listed;
              for (const uint16_t a : m.aead_algorithms) listed += (listed.empty() ? "" : ", ") + nts::describe_aead(a);
              return violated("more than one AEAD algorithm in the response", "at most one",
                              listed + " (" + response_text(k, m) + ")");
            }
            return satisfied(m.aead_algorithms.empty() ? "an empty AEAD record"
                                                       : nts::describe_aead(m.aead_algorithms.front()) + " alone");
          }),
      ke_case(
          "nts-ke/aead-offered", "RFC 8915", "4.1.5", Level::Should,
          "A request that offers only an AEAD algorithm the server is unlikely to have (0x7FFE) gets an empty AEAD "
          "record: the response's record \"denotes which algorithm the server chooses to use. It is empty if the "
          "server supports none of the algorithms offered\" (no keyword: SHOULD).",
          [](StimulusContext&) {
            static constexpr uint16_t kOdd[] = {0x7FFE};
            return KeRequest{nts::client_request(kOdd)};
          },
          [](const KeObservation& k, const nts::Message& m) -> Judgement {
            if (!m.errors.empty()) return satisfied("refused with " + error_text(m) + " (no AEAD chosen)");
            if (m.aead_records == 0) {  // nts-ke/aead-one judges a missing record
              return {Finding::Inconclusive, "no AEAD record in the response: " + response_text(k, m), "", ""};
            }
            for (const uint16_t a : m.aead_algorithms) {
              if (a != 0x7FFE) {
                return violated("the server chose an AEAD algorithm the client did not offer",
                                "an empty AEAD record (0x7FFE was the only offer)",
                                nts::describe_aead(a) + ", " + response_text(k, m));
              }
            }
            return satisfied(m.aead_algorithms.empty() ? "an empty AEAD record" : "AEAD 0x7FFE, as offered");
          }),
      ke_case("nts-ke/cookies", "RFC 8915", "4.1.6", Level::Must,
              "A response that agrees to NTPv4 and AEAD_AES_SIV_CMAC_256 carries at least one New Cookie record "
              "(MUST), and eight (SHOULD; fewer is reported).",
              plain_request,
              [](const KeObservation& k, const nts::Message& m) -> Judgement {
                if (!m.errors.empty() || m.aead_algorithms.empty() || m.next_protocols.empty()) {
                  return {Finding::Inconclusive, "no NTPv4 with an AEAD was agreed: " + response_text(k, m), "", ""};
                }
                if (m.cookies.empty())
                  return violated("no New Cookie record", "at least one, eight recommended", "none");
                if (m.cookies.size() != 8) {
                  return documented(std::to_string(m.cookies.size()) +
                                    " cookie(s): RFC 8915 says a server SHOULD send eight");
                }
                return satisfied("eight cookies");
              }),
      ke_case(
          "nts-ke/unknown-critical", "RFC 8915", "4, 4.1.3", Level::Must,
          "A request with a record of an unrecognized type (0x4321) with the critical bit set gets Error 0 "
          "(Unrecognized Critical Record).",
          [](StimulusContext&) {
            static constexpr uint8_t kBody[] = {1, 2};
            return KeRequest{with_record(0x4321, true, kBody)};
          },
          [](const KeObservation& k, const nts::Message& m) {
            return expect_error(k, m, 0, "an unrecognized critical record");
          }),
      ke_case(
          "nts-ke/client-error", "RFC 8915", "4.1.3", Level::Should,
          "A request that carries an Error record (Bad Request), which clients must not send, is refused with an "
          "Error record, not served.",
          [](StimulusContext&) {
            static constexpr uint8_t kCode[] = {0, 1};
            return KeRequest{with_record(static_cast<uint16_t>(nts::RecordType::Error), true, kCode)};
          },
          [](const KeObservation& k, const nts::Message& m) {
            return expect_refusal(k, m, "a request with an Error record");
          }),
      ke_case(
          "nts-ke/client-warning", "RFC 8915", "4.1.4", Level::Should,
          "A request that carries a Warning record, which clients must not send, is refused with an Error "
          "record, not served.",
          [](StimulusContext&) {
            static constexpr uint8_t kCode[] = {0, 0};
            return KeRequest{with_record(static_cast<uint16_t>(nts::RecordType::Warning), true, kCode)};
          },
          [](const KeObservation& k, const nts::Message& m) {
            return expect_refusal(k, m, "a request with a Warning record");
          }),
      ke_case(
          "nts-ke/bad-request", "RFC 8915", "4.1.3", Level::Must,
          "A request without the NTS Next Protocol Negotiation record (AEAD and End of Message only) gets Error 1 "
          "(Bad Request).",
          [](StimulusContext&) {
            std::vector<uint8_t> r;
            static constexpr uint16_t kSiv[] = {nts::kAeadAesSivCmac256};
            nts::append_u16_record(r, nts::RecordType::AeadAlgorithm, true, kSiv);
            nts::append_end_of_message(r);
            return KeRequest{r};
          },
          [](const KeObservation& k, const nts::Message& m) {
            return expect_error(k, m, 1, "a request without a Next Protocol record");
          }),
      ke_case(
          "nts-ke/incomplete-request", "RFC 8915", "4.1.3", Level::Must,
          "A request that never ends (no End of Message) gets Error 1 when the server's timeout expires, not a "
          "close without an answer (waited for up to 12 s).",
          [](StimulusContext&) {
            auto r = nts::client_request();
            r.resize(r.size() - nts::kRecordHeaderLength);
            KeRequest k{r};
            k.wait_s = 12;
            return k;
          },
          [](const KeObservation& k, const nts::Message& m) -> Judgement {
            if (k.response.empty() && k.timed_out) {
              return {Finding::Inconclusive, "no answer within 12 s: the server's timeout, if it has one, is longer",
                      "", ""};
            }
            return expect_error(k, m, 1, "a request without End of Message");
          }),
      ke_case(
          "nts-ke/large-request", "RFC 8915", "4", Level::Must,
          "A request of 1024 octets (padded with an unrecognized non-critical record, which must be ignored) "
          "gets the normal response.",
          [](StimulusContext&) {
            const size_t pad = 1024 - nts::client_request().size() - nts::kRecordHeaderLength;
            return KeRequest{with_record(0x4322, false, std::vector<uint8_t>(pad, 0))};
          },
          [](const KeObservation& k, const nts::Message& m) { return expect_cookies(k, m, "a 1024-octet request"); }),
      ke_case(
          "nts-ke/split-request", "RFC 8915", "4; RFC 8446 5.1", Level::Should,
          "A request sent in TLS records of 3 octets each gets the normal response (the messages are "
          "self-delimiting; record boundaries carry no meaning).",
          [](StimulusContext&) {
            KeRequest r{nts::client_request()};
            r.record_size = 3;
            return r;
          },
          [](const KeObservation& k, const nts::Message& m) {
            return expect_cookies(k, m, "a request in 3-octet TLS records");
          }),
  };
  return c;
}

}  // namespace

std::span<const Case> nts_ke_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
