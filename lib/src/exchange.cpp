#include "ntpkit/exchange.hpp"

#include <algorithm>

namespace ntpkit {

Sample compute_sample(Timestamp t1, Timestamp t2, Timestamp t3, Timestamp t4) {
  // Differences first, on era-less timestamps, so the 2036 rollover cancels (RFC 5905 §6).
  const Duration a = t2 - t1;
  const Duration b = t3 - t4;
  return {Duration::midpoint(a, b), (t4 - t1) - (t3 - t2)};
}

Duration root_distance(const Header& h) {
  return h.root_delay.to_duration().half() + h.root_dispersion.to_duration();
}

std::string_view to_string(ReplyProblem p) {
  switch (p) {
    case ReplyProblem::Malformed: return "the reply is not a well-formed NTP packet";
    case ReplyProblem::NotServerMode: return "the reply is not in server mode (4)";
    case ReplyProblem::OriginMismatch: return "the reply's origin timestamp is not our transmit timestamp";
    case ReplyProblem::ZeroTransmit: return "the reply's transmit timestamp is zero";
    case ReplyProblem::ZeroReceive: return "the reply's receive timestamp is zero";
    case ReplyProblem::KissOfDeath: return "the reply is a kiss-o'-death (stratum 0), not time";
    case ReplyProblem::StratumInvalid: return "the reply's stratum is above 16";
    case ReplyProblem::Unsynchronized: return "the server says its clock is not synchronized (LI 3 or stratum 16)";
    case ReplyProblem::ReceiveAfterTransmit: return "the reply's receive timestamp is after its transmit timestamp";
    case ReplyProblem::VersionMismatch: return "the reply's version differs from the request's";
  }
  return "?";
}

bool is_fatal(ReplyProblem p) { return p != ReplyProblem::VersionMismatch; }

bool ReplyAssessment::usable() const { return std::none_of(problems.begin(), problems.end(), is_fatal); }

ReplyAssessment assess_reply(const Header& sent, std::span<const uint8_t> reply) {
  ReplyAssessment out;
  auto parsed = parse(reply);
  if (!parsed) {
    out.parse_error = parsed.error();
    out.problems.push_back(ReplyProblem::Malformed);
    return out;
  }
  out.packet = parsed.value();
  const Header& h = parsed->header;
  auto add = [&](ReplyProblem p) { out.problems.push_back(p); };
  if (h.mode != Mode::Server) add(ReplyProblem::NotServerMode);
  // RFC 5905 §8: a reply whose origin is not our transmit is bogus (or a replay).
  if (h.origin != sent.transmit) add(ReplyProblem::OriginMismatch);
  if (h.transmit.is_zero()) add(ReplyProblem::ZeroTransmit);
  if (h.receive.is_zero()) add(ReplyProblem::ZeroReceive);
  if (h.stratum == 0) add(ReplyProblem::KissOfDeath);
  if (h.stratum > 16) add(ReplyProblem::StratumInvalid);
  if (h.leap == Leap::Unsynchronized || h.stratum == 16) add(ReplyProblem::Unsynchronized);
  if (!h.receive.is_zero() && !h.transmit.is_zero() && (h.transmit - h.receive).raw() < 0) {
    add(ReplyProblem::ReceiveAfterTransmit);
  }
  if (h.version != sent.version) add(ReplyProblem::VersionMismatch);
  return out;
}

}  // namespace ntpkit
