// Security: amplification through modes 6 and 7, CVE-2015-7871, kiss-o'-death origins, and
// fresh timestamps for a replayed request (RFC 5905 §7.4, §8; RFC 9327).
#include <set>

#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

// Amplification in packets and bytes, for the summary of an answered mode 6/7 query.
std::string ledger(const Observation& o) {
  size_t in = 0, out = 0;
  for (const auto& s : o.sent) in += s.bytes.size();
  for (const auto& r : o.received) out += r.size();
  return std::to_string(o.received.size()) + " packet(s), " + std::to_string(out) + " bytes for " +
         std::to_string(o.sent.size()) + " packet(s), " + std::to_string(in) + " bytes";
}

Case silent_query(std::string_view id, std::string_view rfc, std::string_view section, std::string_view requirement,
                  std::vector<uint8_t> query) {
  return {id,
          rfc,
          section,
          Level::Should,
          requirement,
          Expect::Silence,
          [query](StimulusContext&) { return one(query); },
          [](const Observation& o, const JudgeContext&) {
            if (o.received.empty()) return satisfied("not answered");
            return violated("the query was answered: " + ledger(o), "no reply", ledger(o));
          }};
}

std::vector<uint8_t> mode7(uint8_t request_code) {
  std::vector<uint8_t> b(48, 0);
  b[0] = 0x17;  // VN 2, mode 7
  b[2] = 3;     // implementation: XNTPD
  b[3] = request_code;
  return b;
}

// The transmit timestamps of every datagram we sent.
std::set<uint64_t> our_transmits(const Observation& o) {
  std::set<uint64_t> t;
  for (const auto& s : o.sent) {
    if (s.bytes.size() >= kHeaderLength)
      t.insert(parse_header(std::span<const uint8_t>(s.bytes).first<kHeaderLength>()).transmit.raw());
  }
  return t;
}

Datagrams burst(StimulusContext& s, size_t n) {
  Datagrams d;
  for (size_t i = 0; i < n; ++i) d.push_back(bytes_of(client_header(s)));
  return d;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      silent_query(
          "security/mode6-readvar", "RFC 9327", "Security Considerations",
          "A mode-6 READVAR query from an unauthorised address is not answered (it leaks state and amplifies).",
          {0x16, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}),
      silent_query("security/mode7-monlist", "RFC 5905", "7.3 (mode 7: private use); CVE-2013-5211",
                   "A mode-7 MON_GETLIST request is not answered: its reply was the CVE-2013-5211 amplifier.",
                   mode7(42)),
      silent_query("security/mode7-peerlist", "RFC 5905", "7.3 (mode 7: private use)",
                   "A mode-7 PEER_LIST request is not answered.", mode7(0)),
      {"security/cve-2015-7871", "RFC 5905", "9.2; CVE-2015-7871", Level::Must,
       "A symmetric-active request carrying a crypto-NAK is never answered with a valid symmetric-passive packet.",
       Expect::Either,
       [](StimulusContext& s) {
         Packet p;
         p.header = client_header(s, 4, Mode::SymmetricActive);
         p.mac = Mac{0, {}};
         return one(serialize(p));
       },
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return satisfied("not answered");
         return with_reply(o, [](const Header& rq, const PacketView& rp, const Received&) {
           if (rp.header.mode == Mode::SymmetricPassive && rp.header.origin == rq.transmit &&
               !(rp.mac && rp.mac->kind == MacKind::CryptoNak)) {
             return violated("a crypto-NAK mobilised a symmetric association", "no valid mode-2 reply",
                             "a mode-2 reply with our origin and no crypto-NAK");
           }
           return documented("answered, but not with a valid mode-2 packet: " + describe_mode(rp.header.mode));
         });
       }},
      {"security/kod-origin", "RFC 5905", "7.4, 8", Level::Must,
       "A kiss-o'-death carries the request's transmit timestamp as its origin, so a client can tell it from a spoof.",
       Expect::Either, [](StimulusContext& s) { return burst(s, 12); },
       [](const Observation& o, const JudgeContext&) {
         const auto ours = our_transmits(o);
         size_t kods = 0;
         for (const auto& r : o.received) {
           auto p = parse(r.bytes);
           if (!p || !is_kiss_of_death(p->header)) continue;
           ++kods;
           if (ours.count(p->header.origin.raw()) == 0) {
             return violated("a kiss-o'-death without our origin", "origin = the transmit of one of our requests",
                             "kiss-o'-death '" + p->header.reference_id.ascii() + "' with origin " +
                                 describe_timestamp(p->header.origin));
           }
         }
         if (kods == 0) return Judgement{Finding::NotApplicable, "no kiss-o'-death to a burst of 12 requests", "", ""};
         return satisfied(std::to_string(kods) + " kiss-o'-death packet(s), each with our origin");
       },
       true, true},
      {"security/replay-fresh", "RFC 5905", "8", Level::Should,
       "The same request sent twice gets two answers with fresh receive and transmit timestamps, not a cached copy.",
       Expect::Reply,
       [](StimulusContext& s) {
         auto b = bytes_of(client_header(s));
         return Datagrams{b, b};
       },
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return violated("no reply within the timeout", "a reply", "silence");
         // Two identical requests: a server that answers each twice (duplicate-reply) sends two
         // pairs of copies, so a copy is no evidence of caching; two replies whose receive and
         // transmit both differ are the two fresh answers.
         std::vector<Header> replies;
         for (const auto& r : o.received) {
           auto p = parse(r.bytes);
           if (!p) return violated("a reply is not a well-formed NTP packet", "two well-formed replies", "malformed");
           replies.push_back(p->header);
         }
         for (size_t i = 0; i < replies.size(); ++i) {
           for (size_t j = i + 1; j < replies.size(); ++j) {
             if (replies[i].receive != replies[j].receive && replies[i].transmit != replies[j].transmit) {
               return satisfied("each request has an answer with its own timestamps");
             }
           }
         }
         if (replies.size() < 2) return documented("answers only the first of two identical requests");
         return violated("the replayed request got the same timestamps", "fresh receive and transmit timestamps",
                         "receive " + describe_timestamp(replies[1].receive) + ", transmit " +
                             describe_timestamp(replies[1].transmit) + " against " +
                             describe_timestamp(replies[0].receive) + ", " + describe_timestamp(replies[0].transmit) +
                             " (" + std::to_string(replies.size()) + " replies)");
       }},
  };
  return c;
}

}  // namespace

std::span<const Case> security_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
