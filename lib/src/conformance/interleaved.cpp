// RFC 9769 §2, interleaved client/server mode, from the client's side: a basic exchange first,
// then requests that ask for interleaved mode (origin = the receive timestamp of the server's
// last reply, receive field = the time that reply arrived here, which differs from the transmit
// field), up to three, until one is answered interleaved (chronyd answers the second); some cases
// then send one more request (basic, with a bogus origin, with an origin already used, or from a
// new source port). The cases are stateful: they run alone, after the others, since the server
// keeps what it needs per client.
//
// Levels, from RFC 9769 §2's own sentences:
// - the mode is optional: "The server MAY restrict the interleaved mode to specific IP addresses
//   and/or authenticated clients" (supported, new-port: MAY; a basic answer is reported, not
//   faulted);
// - "the server MUST NOT respond in the interleaved mode unless the following two conditions are
//   met: 1. The request does not have a receive timestamp equal to the transmit timestamp. 2. The
//   origin timestamp from the request matches the local receive timestamp of a previous request
//   that the server has saved." (basic-request, bogus-origin: MUST);
// - "The receive timestamp MUST NOT be used again to detect a request conforming to the
//   interleaved mode." (receive-once: MUST);
// - "Both servers and clients that support the interleaved mode MUST NOT send a packet that has a
//   transmit timestamp equal to the receive timestamp" (distinct-timestamps: MUST);
// - "A server response in the interleaved mode has an origin timestamp equal to the receive
//   timestamp from the client request", and a basic one the transmit timestamp (RFC 5905 §8): a
//   reply that names neither matches no request (origin: MUST);
// - the interleaved reply's transmit is the previous reply's departure: the RFC describes it (no
//   requirement keyword), so the window it must fall in is a SHOULD (previous-transmit).
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

// How the reply to the i-th datagram we sent answers it.
struct Answer {
  const Received* received = nullptr;
  Header reply;
  Header request;            // the request it answers
  bool interleaved = false;  // its origin is the request's receive field
};

Header sent_header(const Observation& o, size_t i) {
  return parse_header(std::span<const uint8_t>(o.sent[i].bytes).first<kHeaderLength>());
}

std::optional<Answer> answer_to(const Observation& o, size_t i) {
  if (i >= o.sent.size() || o.sent[i].bytes.size() < kHeaderLength) return std::nullopt;
  const Header rq = sent_header(o, i);
  for (const auto& r : o.received) {
    if (r.bytes.size() < kHeaderLength) continue;
    const Header h = parse_header(std::span<const uint8_t>(r.bytes).first<kHeaderLength>());
    if (h.origin == rq.transmit) return Answer{&r, h, rq, false};
    if (!rq.receive.is_zero() && h.origin == rq.receive) return Answer{&r, h, rq, true};
  }
  return std::nullopt;
}

// A request that asks for interleaved mode after the reply to the i-th request: origin = that
// reply's receive timestamp, receive = when it arrived here (made to differ from transmit).
std::vector<uint8_t> asking_after(StimulusContext& s, const Observation& o, size_t i,
                                  std::optional<Timestamp> origin = {}) {
  Header h = client_header(s);
  const auto previous = answer_to(o, i);
  h.origin = origin ? *origin : previous->reply.receive;
  h.receive = previous->received->local_time;
  if (h.receive == h.transmit) h.transmit = Timestamp::from_raw(h.transmit.raw() ^ 1);
  return bytes_of(h);
}

std::string describe_answer(const Answer& a) {
  return std::string(a.interleaved ? "an interleaved" : "a basic") + " reply (origin " +
         describe_timestamp(a.reply.origin) + ", receive " + describe_timestamp(a.reply.receive) + ", transmit " +
         describe_timestamp(a.reply.transmit) + ")";
}

// The first request: basic (origin zero), with a receive field of its own, so that an interleaved
// answer to it (a server that interleaves unasked) is recognised as one.
std::vector<uint8_t> first_request(StimulusContext& s) {
  Header h = client_header(s);
  h.receive = s.random_timestamp();
  if (h.receive.is_zero() || h.receive == h.transmit) h.receive = Timestamp::from_raw(h.transmit.raw() ^ 1);
  return bytes_of(h);
}

// A server may start answering interleaved only once a client has asked (chronyd 4.3 captures a
// client's transmit timestamps from its first asking request, and answers the next one
// interleaved): the warm-up asks up to this many times.
constexpr size_t kMaxAsks = 3;

// The warm-up: the first request, then asking requests until one is answered interleaved (or
// kMaxAsks were). Its length in requests, as far as the observation goes.
size_t warm_up_length(const Observation& o) {
  for (size_t i = 0; i < o.sent.size() && i <= kMaxAsks; ++i) {
    const auto a = answer_to(o, i);
    if (!a || a->interleaved || i == kMaxAsks) return i + 1;
  }
  return o.sent.size();
}

// What a case is given to judge: the answers of the warm-up, in order, and the answer to the
// final request (for the cases that send one).
struct Dialogue {
  std::vector<Answer> warm_up;
  std::optional<Answer> final_answer;
  [[nodiscard]] const Answer* first_interleaved() const {
    for (const auto& a : warm_up) {
      if (a.interleaved) return &a;
    }
    return nullptr;
  }
};

using Final = std::function<std::vector<uint8_t>(StimulusContext&, const Observation&, size_t last)>;

// The warm-up, then `final` (built from the last warm-up answer, from a new port if asked) if
// the case has one. `judge_first`: the case's requirement covers how replies name their
// requests (an interleaved answer to the first, basic request, or a reply that names no request,
// is the fault); otherwise either leaves the case open for the cases that judge it.
Case dialogue(std::string_view id, std::string_view rfc, std::string_view section, Level level,
              std::string_view requirement, Final final_request, std::function<Judgement(const Dialogue&)> judge,
              bool new_port = false, bool judge_first = false) {
  const bool has_final = static_cast<bool>(final_request);
  Case c{id,
         rfc,
         section,
         level,
         requirement,
         Expect::Reply,
         [](StimulusContext& s) { return one(first_request(s)); },
         [judge, judge_first, has_final](const Observation& o, const JudgeContext&) -> Judgement {
           Dialogue d;
           const size_t warm = warm_up_length(o);
           const size_t wanted = warm + (has_final ? 1 : 0);
           for (size_t i = 0; i < std::min(o.sent.size(), wanted); ++i) {
             const auto a = answer_to(o, i);
             if (!a) {
               // A datagram that answers no request of ours (a copy of an earlier reply is no answer).
               for (const auto& r : o.received) {
                 if (r.bytes.size() < kHeaderLength) continue;
                 const Header got = parse_header(std::span<const uint8_t>(r.bytes).first<kHeaderLength>());
                 bool known = false;
                 for (size_t j = 0; j < o.sent.size(); ++j) {
                   const Header rq = sent_header(o, j);
                   known = known || got.origin == rq.transmit || (!rq.receive.is_zero() && got.origin == rq.receive);
                 }
                 if (known) continue;
                 if (!judge_first) {
                   return {Finding::Inconclusive,
                           "a reply names no request of ours (interleaved/origin judges that), so this case says "
                           "nothing",
                           "", ""};
                 }
                 const Header rq = sent_header(o, i);
                 return violated(
                     "a reply names neither the transmit nor the receive field of the request",
                     "origin " + describe_timestamp(rq.transmit) + " (basic)" +
                         (rq.receive.is_zero() ? "" : " or " + describe_timestamp(rq.receive) + " (interleaved)"),
                     "origin " + describe_timestamp(got.origin));
               }
               return {Finding::Inconclusive,
                       i == 0 ? "the first, basic request got no reply"
                              : "request " + std::to_string(i + 1) + " of the exchange got no reply",
                       "", ""};
             }
             if (i == 0 && a->interleaved) {
               if (!judge_first) {
                 return {Finding::Inconclusive,
                         "the first, basic request got an interleaved reply (interleaved/basic-request judges that)",
                         "", ""};
               }
               return violated("an interleaved reply to a request that did not ask for it (origin zero)",
                               "a basic reply: origin = the request's transmit timestamp", describe_answer(*a));
             }
             if (i < warm) {
               d.warm_up.push_back(*a);
             } else {
               d.final_answer = *a;
             }
           }
           if (has_final && !d.final_answer) return {Finding::Inconclusive, "the last request was not sent", "", ""};
           return judge(d);
         }};
  c.stateful = true;
  c.follow_up = [final_request, new_port](StimulusContext& s, const Observation& o) {
    FollowUp f;
    const size_t n = o.sent.size();
    const auto last = answer_to(o, n - 1);
    if (!last || n > warm_up_length(o)) return f;  // nothing to build on, or the final request went
    if (!last->interleaved && n < 1 + kMaxAsks) {  // still warming up: ask again
      f.datagrams.push_back(asking_after(s, o, n - 1));
      return f;
    }
    if (final_request) {
      f.datagrams.push_back(final_request(s, o, n - 1));
      f.new_port = new_port;
    }
    return f;
  };
  return c;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      dialogue("interleaved/supported", "RFC 9769", "2", Level::May,
               "A client that asks for interleaved mode (origin = the receive timestamp of the server's last reply) "
               "is answered in interleaved mode within three asking requests, or in basic mode by a server without "
               "it.",
               nullptr,
               [](const Dialogue& d) {
                 if (const Answer* a = d.first_interleaved()) {
                   return satisfied("answered in interleaved mode (request " +
                                    std::to_string(static_cast<size_t>(a - d.warm_up.data()) + 1) + ")");
                 }
                 return documented("answers in basic mode: no interleaved mode (" +
                                   std::to_string(d.warm_up.size() - 1) + " asking requests)");
               }),
      dialogue(
          "interleaved/origin", "RFC 5905", "8; RFC 9769 2", Level::Must,
          "Every reply to a request that asks for interleaved mode has as origin either the request's transmit "
          "timestamp (basic) or its receive field (interleaved): anything else matches no request.",
          nullptr,
          [](const Dialogue& d) {
            return satisfied(d.first_interleaved() != nullptr
                                 ? "each reply names its request (interleaved: by its receive field)"
                                 : "each reply names its request (basic: by its transmit timestamp)");
          },
          false, true),
      dialogue("interleaved/previous-transmit", "RFC 9769", "2", Level::Should,
               "An interleaved reply's transmit timestamp is when the server's previous reply left: not before that "
               "reply's own transmit field, not after this request arrived.",
               nullptr,
               [](const Dialogue& d) -> Judgement {
                 const Answer* a = d.first_interleaved();
                 if (a == nullptr) return {Finding::NotApplicable, "never answered in interleaved mode", "", ""};
                 const Answer& previous = *(a - 1);
                 if (auto v = check_interleaved_transmit(a->reply, previous.reply.transmit)) {
                   return violated("the interleaved transmit timestamp is not the previous reply's departure", *v);
                 }
                 return satisfied("the previous reply left " +
                                  format_seconds(a->reply.transmit - previous.reply.transmit) +
                                  " s after its transmit field was read");
               }),
      dialogue(
          "interleaved/basic-request", "RFC 9769", "2; RFC 5905 8", Level::Must,
          "A basic request (origin zero; the last one data-minimised, receive zero too) gets a basic reply, "
          "origin = its transmit timestamp, also from a server that answers this client in interleaved mode.",
          [](StimulusContext& s, const Observation&, size_t) { return bytes_of(client_header(s)); },
          [](const Dialogue& d) {
            if (d.final_answer->interleaved) {
              return violated("an interleaved reply to a request that did not ask for it (origin zero)",
                              "a basic reply: origin = the request's transmit timestamp",
                              describe_answer(*d.final_answer));
            }
            return satisfied(d.first_interleaved() != nullptr ? "a basic reply, after interleaved ones"
                                                              : "a basic reply");
          },
          false, true),
      dialogue(
          "interleaved/bogus-origin", "RFC 9769", "2; RFC 5905 8", Level::Must,
          "A request whose origin is no receive timestamp the server sent is answered in basic mode, whatever "
          "its receive field says.",
          [](StimulusContext& s, const Observation& o, size_t last) {
            return asking_after(s, o, last, Timestamp::from_raw(s.rng() | 1));
          },
          [](const Dialogue& d) {
            if (d.final_answer->interleaved) {
              return violated("an interleaved reply to a request that named no reply of the server's",
                              "a basic reply: origin = the request's transmit timestamp",
                              describe_answer(*d.final_answer));
            }
            return satisfied("a basic reply");
          },
          false, true),
      dialogue(
          "interleaved/receive-once", "RFC 9769", "2", Level::Must,
          "After an interleaved reply, a request that names the same receive timestamp again (a replay of the "
          "asking request, with fresh receive and transmit fields) is answered in basic mode.",
          [](StimulusContext& s, const Observation& o, size_t last) {
            return asking_after(s, o, last, sent_header(o, last).origin);
          },
          [](const Dialogue& d) -> Judgement {
            const Answer* a = d.first_interleaved();
            if (a == nullptr) return {Finding::NotApplicable, "never answered in interleaved mode", "", ""};
            const Answer& f = *d.final_answer;
            if (auto v = check_receive_once(f.request.origin, a->request.origin, f.reply, f.interleaved)) {
              return violated("a receive timestamp already answered interleaved was used again", *v);
            }
            return satisfied("a basic reply to the second request naming the same receive timestamp");
          }),
      dialogue(
          "interleaved/new-port", "RFC 9769", "2", Level::May,
          "A client answered in interleaved mode that asks again from another source port (the same address) "
          "is still answered in interleaved mode.",
          [](StimulusContext& s, const Observation& o, size_t last) { return asking_after(s, o, last); },
          [](const Dialogue& d) -> Judgement {
            if (d.first_interleaved() == nullptr) {
              return documented("never answered in interleaved mode, from either port");
            }
            if (d.final_answer->interleaved) return satisfied("answered in interleaved mode from the new port");
            return documented("answers the new source port in basic mode");
          },
          true),
      dialogue("interleaved/distinct-timestamps", "RFC 9769", "2", Level::Must,
               "A server that answers in interleaved mode never sends a transmit timestamp equal to the receive "
               "timestamp (a client could not tell which of them a later origin names).",
               nullptr,
               [](const Dialogue& d) -> Judgement {
                 if (d.first_interleaved() == nullptr) {
                   return {Finding::NotApplicable, "never answered in interleaved mode", "", ""};
                 }
                 for (const Answer& a : d.warm_up) {
                   if (a.reply.transmit == a.reply.receive) {
                     return violated("a reply's transmit equals its receive",
                                     "distinct receive and transmit timestamps", describe_answer(a));
                   }
                 }
                 return satisfied("every reply's transmit differs from its receive");
               }),
  };
  return c;
}

}  // namespace

std::span<const Case> interleaved_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
