// Client conformance (ntp-probe client-test): each scenario is the reference server misbehaving
// in one way, or not at all; the client's run under it is judged by what it did with the reply
// (took the time or not, and the offset it reported) and by the requests it sent. The levels
// come from the sentences, which for clients are few and mostly without a keyword:
//
// - RFC 5905 §7.4: "Recipients of kiss codes MUST inspect them", "For kiss codes DENY and RSTR,
//   the client MUST demobilize any associations to that server and stop sending packets to that
//   server", and "The Receive Timestamp and the Transmit Timestamp (set by the server) are
//   undefined when in a KoD packet and MUST NOT be relied upon to have valid values and MUST be
//   discarded" (kiss-deny, kiss-rstr, kiss-rate, kiss-unknown: MUST; request/stop-after-deny,
//   request/stop-after-rstr: MUST);
// - RFC 5905 §8: "A packet is bogus if the origin timestamp t1 in the packet does not match the
//   xmt state variable T1 ... the packet is discarded", and Appendix A.5.1's receive(): a zero
//   transmit "invalid", a zero origin "unsynchronized"; RFC 4330 §5: "The Originate Timestamp in
//   the server reply should match the Transmit Timestamp used in the client request", "The
//   server reply should be discarded if any of the LI, Stratum, or Transmit Timestamp fields is 0
//   or the Mode field is not 4 (unicast) or 5 (broadcast)", its table's stratum 0-15, and "they
//   should match the interchanged ports in the server reply" (origin-mismatch, origin-zero,
//   transmit-zero, mode-3-reply, stratum-0, stratum-16, leap-alarm, other-port: SHOULD: no
//   keyword in RFC 5905, a lowercase should in RFC 4330);
// - what no sentence asks: a reply in mode 5 (RFC 4330 allows 4 or 5), a VN other than the
//   request's (RFC 4330's table: "copied from request", no rule for the client), a zero receive
//   timestamp, a reply longer than a header: reported (MAY);
// - the good reply, an hour off, twice, or after 2036: RFC 5905 §8 gives the offset
//   ((T2 - T1) + (T3 - T4)) / 2 and §6 says "correct values are obtained even if the client and
//   server are in adjacent eras"; a client that cannot take a correct reply is not working, so
//   good-reply is a MUST, the others SHOULD;
// - the request: a client request is mode 3 (RFC 5905 §9.2, Figure 19) (request/mode: MUST);
//   draft-ietf-ntp-data-minimization-04 §3 asks origin, receive and reference zero ("SHOULD be
//   set to zero"), but is a draft: reported (request/minimal: MAY);
// - retries and back-off: RFC 4330 §10, "A client SHOULD increase the poll interval using
//   exponential backoff as performance permits and especially if the server does not respond
//   within a reasonable time" (request/retry-backoff, over a server that never answers: SHOULD);
//   RFC 5905 §7.4, "For kiss code RATE, the client MUST immediately reduce its polling interval
//   to that server and continue to reduce it each time it receives a RATE kiss code" (the rate,
//   that is: the interval grows) (request/rate-backoff: MUST);
// - a server that never answers gives no T2 and T3, so no offset: a client that reports time
//   then makes it up (no-reply: MUST, as good-reply); a reply with a MAC of a key the client
//   does not hold, to a request without one: no sentence for a client without keys (RFC 5905
//   §7.3 lays the MAC out; §9.2's receive tables are for associations with keys): reported.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

std::string seconds_text(double s) {
  std::array<char, 48> b{};
  std::snprintf(b.data(), b.size(), "%+.6f s", s);
  return b.data();
}

// What the client did, in a few words, with the first line of its output.
std::string run_text(const ClientRun& c) {
  std::string s = c.daemon      ? std::string("running")
                  : c.timed_out ? "still running at the time limit"
                                : "exit " + std::to_string(c.exit_code);
  if (c.offset_s) s += ", offset " + seconds_text(*c.offset_s);
  const auto nl = c.output.find('\n');
  const std::string first =
      !c.verdict_line.empty() ? c.verdict_line : c.output.substr(0, nl == std::string::npos ? c.output.size() : nl);
  if (!first.empty()) s += ": \"" + first.substr(0, 160) + "\"";
  return s;
}

// The run is judged only if the client started and asked us.
std::optional<Judgement> unjudgeable(const Observation& o) {
  if (!o.client) return Judgement{Finding::Inconclusive, "the client was not run", "", ""};
  if (!o.client->started) {
    return Judgement{Finding::Inconclusive,
                     (o.client->daemon ? "the client was not running: " : "the client did not start: ") +
                         o.client->output.substr(0, 400),
                     "", ""};
  }
  if (o.received.empty()) {
    return Judgement{Finding::Inconclusive,
                     o.client->daemon ? "the client sent no request while this scenario was served (it stopped "
                                        "after an earlier kiss-o'-death, or polls less often than --timeout)"
                                      : "the client sent no request to the scenario's server (are {host} and {port} "
                                        "in its command?)",
                     "", ""};
  }
  return std::nullopt;
}

Case client_case(std::string_view id, std::string_view rfc, std::string_view section, Level level,
                 std::string_view requirement,
                 std::function<Judgement(const Observation&, const JudgeContext&)> check) {
  return Case{id,
              rfc,
              section,
              level,
              requirement,
              Expect::Either,
              [](StimulusContext&) { return Datagrams{}; },
              std::move(check)};
}

// A scenario whose reply a good client takes, reporting `offset` (within --tolerance).
Case accepting(std::string_view id, std::string_view rfc, std::string_view section, Level level,
               std::string_view requirement, std::string what) {
  return client_case(
      id, rfc, section, level, requirement, [what](const Observation& o, const JudgeContext& j) -> Judgement {
        if (auto u = unjudgeable(o)) return *u;
        const ClientRun& c = *o.client;
        if (!c.accepted) {
          return violated("the client refused " + what, "the time taken (exit 0)", run_text(c));
        }
        if (!c.offset_s) {
          if (j.expected_offset.raw() != 0) {
            return {Finding::Inconclusive,
                    "took the time of " + what +
                        ", but no offset was read to check (give --offset-regex or an adapter that reads one)",
                    "", ""};
          }
          return satisfied("took the time of " + what + " (no offset printed)");
        }
        const double want = j.expected_offset.to_seconds();
        const double tolerance = j.max_offset.to_seconds() + c.offset_resolution_s;
        if (std::fabs(*c.offset_s - want) > tolerance) {
          return violated("the client reported a wrong offset for " + what,
                          "offset " + seconds_text(want) + " within " + seconds_text(tolerance), run_text(c));
        }
        return satisfied("took the time of " + what + ", offset " + seconds_text(*c.offset_s));
      });
}

// A scenario whose reply a good client does not take.
Case refusing(std::string_view id, std::string_view rfc, std::string_view section, Level level,
              std::string_view requirement, std::string what) {
  return client_case(id, rfc, section, level, requirement, [what](const Observation& o, const JudgeContext&) {
    if (auto u = unjudgeable(o)) return *u;
    const ClientRun& c = *o.client;
    if (c.accepted) return violated("the client took the time of " + what, "the reply refused", run_text(c));
    if (c.killed_by_signal) {
      return Judgement{Finding::Inconclusive, "the client ended by a signal (a crash?) on " + what, "", ""};
    }
    return satisfied("refused " + what + " (" + run_text(c) + ")");
  });
}

// A scenario the RFCs leave open: what the client did is reported (and, if it took the time, whether
// the offset it reported is the served clock's).
Case reported(std::string_view id, std::string_view rfc, std::string_view section, std::string_view requirement,
              std::string what) {
  return client_case(id, rfc, section, Level::May, requirement,
                     [what](const Observation& o, const JudgeContext& j) -> Judgement {
                       if (auto u = unjudgeable(o)) return *u;
                       const ClientRun& c = *o.client;
                       std::string note;
                       if (c.accepted && c.offset_s) {
                         const double off = *c.offset_s - j.expected_offset.to_seconds();
                         const double tolerance = j.max_offset.to_seconds() + c.offset_resolution_s;
                         if (std::fabs(off) > tolerance) note = ", an offset that is not the served clock's";
                       }
                       return documented(std::string(c.accepted ? "took" : "refused") + " the time of " + what + note +
                                         " (" + run_text(c) + ")");
                     });
}

Header request_at(const Observation& o, size_t i) {
  return parse_header(std::span<const uint8_t>(o.received[i].bytes).first<kHeaderLength>());
}

// No request after the kiss-o'-death we sent first (a little grace for one already on its way).
Case stops_after(std::string_view id, std::string_view code, std::string_view requirement) {
  return client_case(
      id, "RFC 5905", "7.4", Level::Must, requirement,
      [code = std::string(code)](const Observation& o, const JudgeContext&) -> Judgement {
        if (auto u = unjudgeable(o)) return *u;
        if (o.sent.empty()) return {Finding::Inconclusive, "no kiss-o'-death was sent", "", ""};
        // The scenario holds its kiss-o'-death back 100 ms, so that requests a client sent together
        // (a burst) have all arrived when it leaves; one that comes more than 10 ms after it was
        // sent once the client had it.
        const Timestamp kissed = o.sent.front().local_time;
        size_t late = 0;
        for (const auto& r : o.received) late += (r.local_time - kissed).to_seconds() > 0.010 ? 1 : 0;
        if (late > 0) {
          return violated("the client went on sending after " + code, "no request after the kiss-o'-death",
                          std::to_string(late) + " more request(s) (" + std::to_string(o.received.size()) + " in all)");
        }
        return satisfied("no request after " + code + (o.client->daemon ? " while the scenario was served" : ""));
      });
}

std::string gaps_text(const std::vector<double>& gaps) {
  std::string s;
  for (size_t i = 0; i < gaps.size() && i < 8; ++i) {
    std::array<char, 24> b{};
    std::snprintf(b.data(), b.size(), "%.3f s", gaps[i]);
    s += (s.empty() ? "" : ", ") + std::string(b.data());
  }
  if (gaps.size() > 8) s += ", ... (" + std::to_string(gaps.size()) + " in all)";
  return s;
}

// Seconds between successive requests, from index `from` on.
std::vector<double> gaps_from(const Observation& o, size_t from) {
  std::vector<double> g;
  for (size_t i = from + 1; i < o.received.size(); ++i)
    g.push_back((o.received[i].local_time - o.received[i - 1].local_time).to_seconds());
  return g;
}

// An interval "grew" when it is longer than the one before by more than what the kernel's
// stamps and a loaded machine may blur: 5 ms or 2 %.
bool grew(double before, double after) {
  return after > before + std::max(0.005, 0.02 * before);
}

// The first interval (index into `g`, from 1) that is not longer than the one before, if any.
std::optional<size_t> first_not_grown(const std::vector<double>& g) {
  for (size_t i = 1; i < g.size(); ++i) {
    if (!grew(g[i - 1], g[i])) return i;
  }
  return std::nullopt;
}

// RFC 4330 §10: to a server that never answers, retries come at growing intervals.
Case retry_backoff() {
  return client_case(
      "client/request/retry-backoff", "RFC 4330", "10", Level::Should,
      "A client retrying a server that does not answer waits longer each time: \"A client SHOULD increase the poll "
      "interval using exponential backoff as performance permits and especially if the server does not respond "
      "within a reasonable time\".",
      [](const Observation& o, const JudgeContext&) -> Judgement {
        if (auto u = unjudgeable(o)) return *u;
        const auto g = gaps_from(o, 0);
        if (g.size() <= 1) {
          return satisfied(std::to_string(o.received.size()) + " request(s) to a server that never answered: " +
                           (g.empty() ? "no retry" : "one retry, after " + gaps_text(g)));
        }
        if (first_not_grown(g)) {
          return violated("the client retried a silent server without backing off",
                          "each interval longer than the one before",
                          std::to_string(o.received_total) + " requests, intervals " + gaps_text(g));
        }
        return satisfied(std::to_string(o.received.size()) + " requests, intervals growing: " + gaps_text(g));
      });
}

// RFC 5905 §7.4: after a RATE kiss (every reply of the scenario is one), each interval longer
// than the one before, from the request the first kiss answered; no request at all is the
// longest interval there is.
Case rate_backoff() {
  return client_case(
      "client/request/rate-backoff", "RFC 5905", "7.4", Level::Must,
      "After a RATE kiss-o'-death the client asks less often, and less often again at each one: \"the client MUST "
      "immediately reduce its polling interval to that server and continue to reduce it each time it receives a "
      "RATE kiss code\" (its rate: the interval grows).",
      [](const Observation& o, const JudgeContext&) -> Judgement {
        if (auto u = unjudgeable(o)) return *u;
        if (o.sent.empty()) return {Finding::Inconclusive, "no kiss-o'-death was sent", "", ""};
        const Timestamp kissed = o.sent.front().local_time;
        // The last request before the first kiss left is the one it answered (a burst before it
        // counts as the interval the client had).
        size_t answered = 0;
        while (answered + 1 < o.received.size() && (o.received[answered + 1].local_time - kissed).to_seconds() <= 0.010)
          ++answered;
        if (answered + 1 >= o.received.size()) return satisfied("no request after RATE");
        const auto g = gaps_from(o, answered == 0 ? 0 : answered - 1);
        if (first_not_grown(g)) {
          return violated("the client did not slow down after RATE", "each interval longer than the one before",
                          std::to_string(o.received_total) + " requests, intervals " + gaps_text(g) +
                              " (from the one before the kiss)");
        }
        const size_t after = o.received.size() - answered - 1;
        return satisfied(std::to_string(after) + " request(s) after RATE, intervals growing: " + gaps_text(g));
      });
}

const std::vector<Case>& scenario_cases() {
  static const std::vector<Case> c = {
      accepting("client/good-reply", "RFC 5905", "8", Level::Must,
                "The client takes the time of a correct reply and reports the offset RFC 5905 §8 computes, "
                "((T2 - T1) + (T3 - T4)) / 2, within --tolerance.",
                "a correct reply"),
      accepting("client/offset-hour", "RFC 5905", "8", Level::Should,
                "A server an hour ahead is taken and the offset reported as +3600 s.", "a server an hour ahead"),
      accepting("client/duplicate-reply", "RFC 5905", "8", Level::Should,
                "A correct reply sent twice is taken once (the protocol \"is inherently resistant to lost or "
                "duplicate packets\").",
                "a reply sent twice"),
      accepting("client/era-1", "RFC 5905", "6", Level::Should,
                "A server whose clock is past the 2036 rollover (era 1) is taken with its offset: \"correct values "
                "are obtained even if the client and server are in adjacent eras\".",
                "a server in era 1 (2036-03-01)"),
      refusing("client/origin-mismatch", "RFC 5905", "8", Level::Should,
               "A reply whose origin is not the request's transmit timestamp is bogus and discarded (RFC 4330 §5: "
               "\"should match\").",
               "a reply whose origin is not its transmit timestamp"),
      refusing("client/origin-zero", "RFC 5905", "8; A.5.1", Level::Should,
               "A reply with a zero origin timestamp is discarded (RFC 5905 receive(): \"unsynchronized\").",
               "a reply with a zero origin"),
      refusing("client/transmit-zero", "RFC 4330", "5", Level::Should,
               "A reply with a zero transmit timestamp is discarded (\"should be discarded if any of the LI, "
               "Stratum, or Transmit Timestamp fields is 0\").",
               "a reply with a zero transmit timestamp"),
      refusing("client/mode-3-reply", "RFC 4330", "5", Level::Should,
               "A \"reply\" in mode 3 (client) is discarded (\"or the Mode field is not 4 (unicast) or 5 "
               "(broadcast)\").",
               "a mode-3 reply"),
      refusing("client/stratum-0", "RFC 4330", "5", Level::Should,
               "A reply with stratum 0 and no kiss code is discarded (\"should be discarded if any of the LI, "
               "Stratum, or Transmit Timestamp fields is 0\").",
               "a stratum-0 reply"),
      refusing("client/stratum-16", "RFC 4330", "5", Level::Should,
               "A reply with stratum 16 (unsynchronized) is discarded (RFC 4330's table: stratum 0-15; RFC 5905 "
               "packet(): \"unsynchronized\").",
               "a stratum-16 reply"),
      refusing("client/leap-alarm", "RFC 5905", "A.5.1.1", Level::Should,
               "A reply with LI 3 (alarm: the server is not synchronized) is discarded (RFC 5905 packet(): "
               "\"unsynchronized\").",
               "a reply with LI 3"),
      refusing("client/kiss-deny", "RFC 5905", "7.4", Level::Must,
               "A DENY kiss-o'-death gives no time: its timestamps \"MUST NOT be relied upon ... and MUST be "
               "discarded\".",
               "a DENY kiss-o'-death"),
      refusing("client/kiss-rstr", "RFC 5905", "7.4", Level::Must,
               "An RSTR kiss-o'-death gives no time: its timestamps \"MUST be discarded\".", "an RSTR kiss-o'-death"),
      refusing("client/kiss-rate", "RFC 5905", "7.4", Level::Must,
               "A RATE kiss-o'-death gives no time: its timestamps \"MUST be discarded\".", "a RATE kiss-o'-death"),
      refusing("client/kiss-unknown", "RFC 5905", "7.4", Level::Must,
               "A kiss-o'-death of an unknown code (ZZZZ) gives no time: its timestamps \"MUST be discarded\".",
               "a kiss-o'-death of an unknown code"),
      refusing("client/other-port", "RFC 4330", "5", Level::Should,
               "A reply from another UDP port than the one asked is not taken (\"they should match the "
               "interchanged ports in the server reply\").",
               "a reply from another port"),
      refusing("client/no-reply", "RFC 5905", "8", Level::Must,
               "A server that never answers gives no time: the offset needs T2 and T3, which only a reply carries.",
               "a server that never answered"),
      reported("client/mac-unknown-key", "RFC 5905", "7.3",
               "A reply with a MAC of a key the client does not hold (key 65000) to a request without one: no "
               "sentence for a client without keys; what it does is reported.",
               "a reply with a MAC of an unknown key"),
      reported("client/mode-5-reply", "RFC 4330", "5",
               "A reply in mode 5 (broadcast) to a unicast request: RFC 4330 allows 4 or 5; what the client does "
               "is reported.",
               "a mode-5 reply"),
      reported("client/version-not-echoed", "RFC 4330", "5",
               "A reply with VN 3 to a VN 4 request: servers copy the version, but no sentence tells a client to "
               "refuse another; reported.",
               "a VN 3 reply"),
      reported("client/receive-zero", "RFC 5905", "6",
               "A reply with a zero receive timestamp (\"a value of zero is a special case representing unknown "
               "or unsynchronized time\"): reported.",
               "a reply with a zero receive timestamp"),
      reported("client/oversize-reply", "RFC 7822", "3",
               "A reply 16 octets longer than the request (padding that is no extension field): reported.",
               "a reply padded past its header"),
  };
  return c;
}

// Seconds from now to 2036-03-01T00:00:00Z, the era-1 scenario's clock.
double to_era_1() {
  constexpr int64_t kMarch2036 = 2087942400;  // Unix seconds
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<double>(kMarch2036) - std::chrono::duration<double>(now).count();
}

}  // namespace

std::span<const ClientScenario> client_scenarios() {
  static const std::vector<ClientScenario> s = [] {
    const auto& c = scenario_cases();
    const auto at = [&](std::string_view id) {
      for (const auto& k : c) {
        if (k.id == id) return &k;
      }
      return static_cast<const Case*>(nullptr);
    };
    const double era_offset = std::floor(to_era_1());
    char era[32];
    std::snprintf(era, sizeof era, "time-offset=%.0f", era_offset);
    return std::vector<ClientScenario>{
        {at("client/good-reply"), {}, true, 0},
        {at("client/offset-hour"), {"time-offset=3600"}, true, 3600},
        {at("client/duplicate-reply"), {"duplicate-reply"}, true, 0},
        {at("client/era-1"), {era}, true, era_offset},
        {at("client/origin-mismatch"), {"no-origin-copy"}, false, 0},
        {at("client/origin-zero"), {"origin-zero"}, false, 0},
        {at("client/transmit-zero"), {"transmit-zero"}, false, 0},
        {at("client/mode-3-reply"), {"wrong-mode=3"}, false, 0},
        {at("client/stratum-0"), {"stratum-0-without-kiss"}, false, 0},
        {at("client/stratum-16"), {"stratum=16"}, false, 0},
        {at("client/leap-alarm"), {"leap-alarm"}, false, 0},
        {at("client/kiss-deny"), {"kiss=DENY", "delay=100"}, false, 0, 3},
        {at("client/kiss-rstr"), {"kiss=RSTR", "delay=100"}, false, 0, 3},
        {at("client/kiss-rate"), {"kiss=RATE", "delay=100"}, false, 0, 2},
        {at("client/kiss-unknown"), {"kiss=ZZZZ"}, false, 0},
        {at("client/other-port"), {"reply-from-other-port"}, false, 0},
        {at("client/no-reply"), {"drop-percent=100"}, false, 0, 1},
        {at("client/mac-unknown-key"), {"mac-unknown-key"}, false, 0},
        {at("client/mode-5-reply"), {"wrong-mode=5"}, false, 0},
        {at("client/version-not-echoed"), {"vn-fixed-3"}, false, 0},
        {at("client/receive-zero"), {"receive-zero"}, false, 0},
        {at("client/oversize-reply"), {"oversize-reply"}, false, 0},
    };
  }();
  return s;
}

CaseResult evaluate_client(const Case& c, Observation obs, const JudgeContext& ctx, bool strict) {
  CaseResult r;
  r.test = &c;
  r.observation = std::move(obs);
  r.judgement = c.check(r.observation, ctx);
  r.outcome = outcome_for(r.judgement.finding, c.level, strict);
  return r;
}

std::span<const ClientRequestCase> client_request_cases() {
  static const std::vector<Case> c = {
      client_case("client/request/mode", "RFC 5905", "9.2", Level::Must,
                  "Every request the client sends is in client mode (3).",
                  [](const Observation& o, const JudgeContext&) -> Judgement {
                    if (auto u = unjudgeable(o)) return *u;
                    for (size_t i = 0; i < o.received.size(); ++i) {
                      if (o.received[i].bytes.size() < kHeaderLength) {
                        return violated("a request shorter than an NTP header", "48 octets or more",
                                        std::to_string(o.received[i].bytes.size()) + " octets");
                      }
                      const Header h = request_at(o, i);
                      if (h.mode != Mode::Client) {
                        return violated("a request not in client mode", "mode 3",
                                        "mode " + std::to_string(static_cast<int>(h.mode)));
                      }
                    }
                    return satisfied(std::to_string(o.received.size()) + " request(s), all mode 3");
                  }),
      client_case("client/request/minimal", "draft-ietf-ntp-data-minimization-04", "3", Level::May,
                  "The request carries nothing of the client's clock: origin, receive and reference timestamps zero "
                  "(the draft: \"SHOULD be set to zero\"; a draft, so reported).",
                  [](const Observation& o, const JudgeContext&) -> Judgement {
                    if (auto u = unjudgeable(o)) return *u;
                    if (o.received.front().bytes.size() < kHeaderLength) {
                      return {Finding::Inconclusive, "a request shorter than a header", "", ""};
                    }
                    const Header h = request_at(o, 0);
                    std::string set;
                    if (!h.origin.is_zero()) set += " origin";
                    if (!h.receive.is_zero()) set += " receive";
                    if (!h.reference.is_zero()) set += " reference";
                    if (!set.empty()) {
                      return violated("the request carries timestamps of the client's clock",
                                      "origin, receive and "
                                      "reference zero",
                                      "set:" + set);
                    }
                    return satisfied("origin, receive and reference zero");
                  }),
      stops_after("client/request/stop-after-deny", "DENY",
                  "After a DENY kiss-o'-death the client sends no more requests to the server: \"the client MUST "
                  "demobilize any associations to that server and stop sending packets to that server\"."),
      stops_after("client/request/stop-after-rstr", "RSTR",
                  "After an RSTR kiss-o'-death the client sends no more requests to the server (the same MUST as "
                  "for DENY)."),
      retry_backoff(),
      rate_backoff(),
  };
  static const std::vector<ClientRequestCase> r = {
      {&c[0], "client/good-reply"}, {&c[1], "client/good-reply"}, {&c[2], "client/kiss-deny"},
      {&c[3], "client/kiss-rstr"},  {&c[4], "client/no-reply"},   {&c[5], "client/kiss-rate"},
  };
  return r;
}

}  // namespace ntpkit::conformance
