#include "ntpkit/conformance/case.hpp"

#include <algorithm>

#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::conformance {

std::string_view to_string(Level l) {
  switch (l) {
    case Level::Must: return "MUST";
    case Level::Should: return "SHOULD";
    case Level::May: return "MAY";
  }
  return "?";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::Pass: return "pass";
    case Outcome::Fail: return "fail";
    case Outcome::Warn: return "warn";
    case Outcome::Info: return "info";
    case Outcome::Skip: return "skip";
    case Outcome::Inconclusive: return "inconclusive";
  }
  return "?";
}

Outcome outcome_for(Finding f, Level level, bool strict) {
  switch (f) {
    case Finding::Satisfied: return Outcome::Pass;
    case Finding::Documented: return Outcome::Info;
    case Finding::NotApplicable: return Outcome::Skip;
    case Finding::Inconclusive: return Outcome::Inconclusive;
    case Finding::Violated: return outcome_of(level, strict);
  }
  return Outcome::Inconclusive;
}

CaseResult evaluate(const Case& c, Observation obs, const JudgeContext& ctx, bool strict) {
  CaseResult r;
  r.test = &c;
  r.observation = std::move(obs);
  const Observation& o = r.observation;

  // In every case: no reply longer than the request that caused it. fast_xmit (RFC 5905
  // A.5.3) answers with a header of its own; anything longer makes the server an amplifier,
  // which RFC 8633 (BCP 223) asks operators to prevent.
  // NTS-protected exchanges follow RFC 8915's own wording instead (responses no larger than
  // requests by design, "up to three octets" of padding more): nts/no-amplification judges it.
  size_t longest_request = 0;
  for (const auto& s : o.sent) longest_request = std::max(longest_request, s.bytes.size());
  for (const auto& rcv : o.received) {
    if (c.needs_nts) break;
    if (auto v = check_no_amplification(longest_request, rcv.size())) {
      r.amplified = true;
      r.judgement = {Finding::Violated, "the reply is longer than the request: amplification", v->expected, v->actual};
      // A time reply (modes 1-5) longer than its request breaks fast_xmit: fail. A mode-6 or
      // mode-7 response may be as long as the data asked for (RFC 9327): that it is answered
      // at all is what the case judges, at its own level.
      const bool control = !rcv.bytes.empty() && (rcv.bytes[0] & 0x7) >= 6;
      r.outcome = control ? outcome_of(c.level, strict) : Outcome::Fail;
      return r;
    }
  }

  // In every case: replies come from the address and port the request went to (RFC 768
  // answers are addressed back; RFC 5905 §9.2 sends the reply on the association's addresses).
  for (const auto& rcv : o.received) {
    if (!rcv.from_target) {
      r.outcome = Outcome::Fail;
      r.judgement = {Finding::Violated, "a reply came from another address or port", "a reply from the target",
                     "a reply from " + rcv.source};
      return r;
    }
  }

  // A kiss-o'-death is a message, not an answer (RFC 5905 §7.4): outside the cases that judge
  // kiss codes, it leaves the case open, and its timestamps are never judged as time.
  if (!c.judges_kiss) {
    for (const auto& rcv : o.received) {
      auto parsed = parse(rcv.bytes);
      if (!parsed || !is_kiss_of_death(parsed->header)) continue;
      const Header& h = parsed->header;
      const std::string code = h.reference_id.ascii();
      r.outcome = Outcome::Inconclusive;
      if (is_rate_limit(h)) {
        r.limit = Limit::RateKiss;
        r.judgement = {Finding::Inconclusive, "rate limited: the server answered with a RATE kiss-o'-death, not time",
                       "", ""};
      } else {
        r.limit = Limit::Denied;
        r.judgement = {Finding::Inconclusive,
                       "the server answered with a kiss-o'-death '" + code + "' (" +
                           std::string(h.reference_id.kiss_code() ? describe(*h.reference_id.kiss_code()) : "") +
                           "), not time",
                       "", ""};
      }
      return r;
    }
  }

  if (c.expect != Expect::Reply && !o.alive_before) {
    r.outcome = Outcome::Inconclusive;
    r.judgement = {Finding::Inconclusive, "the server did not answer a valid request sent just before the stimulus", "",
                   ""};
    return r;
  }
  if (o.received.empty() && !o.alive_after) {
    r.outcome = Outcome::Inconclusive;
    r.judgement = {Finding::Inconclusive,
                   "no reply, and the server did not answer a valid request sent just after either: it is "
                   "unreachable or stopped, so its silence says nothing",
                   "", ""};
    return r;
  }

  r.judgement = c.check(o, ctx);
  r.outcome = outcome_for(r.judgement.finding, c.level, strict);
  return r;
}

}  // namespace ntpkit::conformance
