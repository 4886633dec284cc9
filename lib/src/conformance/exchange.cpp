#include "ntpkit/conformance/exchange.hpp"

#include <algorithm>

#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/nts/extension.hpp"

namespace ntpkit {

Sample compute_sample(Timestamp t1, Timestamp t2, Timestamp t3, Timestamp t4) {
  // Differences first, on era-less timestamps, so the 2036 rollover cancels (RFC 5905 §6).
  const Duration a = t2 - t1;
  const Duration b = t3 - t4;
  return {Duration::midpoint(a, b), (t4 - t1) - (t3 - t2)};
}

std::string_view to_string(ReplyProblem p) {
  switch (p) {
    case ReplyProblem::Malformed: return "the reply is not a well-formed NTP packet";
    case ReplyProblem::NotServerMode: return "the reply is not in server mode (4)";
    case ReplyProblem::OriginMismatch: return "the reply's origin timestamp is not our transmit timestamp";
    case ReplyProblem::ZeroTransmit: return "the reply's transmit timestamp is zero";
    case ReplyProblem::ZeroReceive: return "the reply's receive timestamp is zero";
    case ReplyProblem::KissOfDeath: return "the reply is a kiss-o'-death, not time";
    case ReplyProblem::StratumInvalid: return "the reply's stratum is above 16";
    case ReplyProblem::Unsynchronized: return "the server says its clock is not synchronized (LI 3, stratum 16 or 0)";
    case ReplyProblem::ReceiveAfterTransmit: return "the reply's receive timestamp is after its transmit timestamp";
    case ReplyProblem::VersionMismatch: return "the reply's version differs from the request's";
    case ReplyProblem::StratumZero: return "the reply has stratum 0 (unspecified) without a kiss code";
    case ReplyProblem::VersionUnknown: return "the reply's version is not 1-4";
    case ReplyProblem::Amplified: return "the reply is longer than the request";
    case ReplyProblem::NoReference: return "the reference time is 0 (never synchronized) though LI is not 3";
    case ReplyProblem::Duplicated: return "the server sent more than one reply to the request";
    case ReplyProblem::NotAuthenticated: return "the reply to an authenticated request carries no MAC";
    case ReplyProblem::AuthCryptoNak: return "the reply is a crypto-NAK: the server could not authenticate the request";
    case ReplyProblem::AuthOtherKey: return "the reply's MAC names another key than the request's";
    case ReplyProblem::AuthBadDigest: return "the reply's MAC does not verify under the request's key";
    case ReplyProblem::NtsNotAuthenticated: return "the reply to an NTS request is not authenticated under the S2C key";
    case ReplyProblem::NtsUidNotEchoed: return "the reply does not echo the request's NTS Unique Identifier";
    case ReplyProblem::NtsNoCookie: return "the reply carries no new NTS cookie";
    case ReplyProblem::NtsUnauthenticatedFields:
      return "the reply has extension fields after its NTS authenticator (ignored)";
  }
  return "?";
}

namespace {
constexpr uint32_t kWarnings = 1U << static_cast<unsigned>(ReplyProblem::VersionMismatch) |
                               1U << static_cast<unsigned>(ReplyProblem::NoReference) |
                               1U << static_cast<unsigned>(ReplyProblem::Duplicated) |
                               1U << static_cast<unsigned>(ReplyProblem::NtsNoCookie) |
                               1U << static_cast<unsigned>(ReplyProblem::NtsUnauthenticatedFields);
static_assert(kReplyProblemCount <= 32, "ReplyProblems holds 32");
}  // namespace

bool is_fatal(ReplyProblem p) {
  return (kWarnings & (1U << static_cast<unsigned>(p))) == 0;
}

bool ReplyProblems::usable() const {
  return (bits_ & ~kWarnings) == 0;
}

bool ReplyAssessment::usable() const {
  return std::none_of(problems.begin(), problems.end(), is_fatal);
}

namespace {

// RFC 5905 §9.2 and the receive() of its Appendix A.5.1: a client that authenticates discards a
// reply that is not authenticated with its key. (A crypto-NAK is the server's word that it
// could not authenticate the request.)
// RFC 8915 §5.7: a client accepts time only from a reply that echoes its Unique Identifier and
// whose authenticator verifies under the S2C key. An NTSN kiss-o'-death is unauthenticated by
// design: the kiss is the finding (judge_header), not its missing authenticator.
void judge_nts(const PacketView& reply, const NtsRequestKey& nts, ReplyProblems& out) {
  using P = ReplyProblem;
  if (nts.aead == nullptr) return;
  const nts::OpenedReply o = nts::open_reply(reply, nts.unique_id, *nts.aead, nts.s2c_key);
  if (!o.unique_id_echoed) out.add(P::NtsUidNotEchoed);
  if (conformance::classify(reply.header) == conformance::ReplyKind::KissOfDeath) return;
  if (!o.authenticated) {
    out.add(P::NtsNotAuthenticated);
    return;
  }
  if (o.cookies.empty()) out.add(P::NtsNoCookie);
  if (o.unauthenticated_after > 0) out.add(P::NtsUnauthenticatedFields);
}

void judge_mac(const PacketView& reply, const RequestKey* key, ReplyProblems& out) {
  if (key != nullptr && key->nts != nullptr) judge_nts(reply, *key->nts, out);
  if (key == nullptr || key->key == nullptr || key->keys == nullptr || key->digests == nullptr) return;
  const auth::MacResult m = auth::verify_mac(reply, *key->keys, *key->digests);
  using P = ReplyProblem;
  switch (m.check) {
    case auth::MacCheck::Valid:
      if (m.key_id != key->key->id) out.add(P::AuthOtherKey);
      break;
    case auth::MacCheck::NoMac: out.add(P::NotAuthenticated); break;
    case auth::MacCheck::CryptoNak: out.add(P::AuthCryptoNak); break;
    case auth::MacCheck::UnknownKey: out.add(P::AuthOtherKey); break;
    case auth::MacCheck::WrongLength:
    case auth::MacCheck::BadDigest: out.add(m.key_id == key->key->id ? P::AuthBadDigest : P::AuthOtherKey); break;
  }
}

ReplyProblems judge_header(const Header& sent, size_t request_length, const Header& h, size_t reply_length,
                           bool nts = false) {
  ReplyProblems out;
  using P = ReplyProblem;
  if (h.mode != Mode::Server) out.add(P::NotServerMode);
  // RFC 5905 §8: a reply whose origin is not our transmit is bogus (or a replay).
  if (h.origin != sent.transmit) out.add(P::OriginMismatch);
  if (h.transmit.is_zero()) out.add(P::ZeroTransmit);
  if (h.receive.is_zero()) out.add(P::ZeroReceive);
  switch (conformance::classify(h)) {
    case conformance::ReplyKind::KissOfDeath: out.add(P::KissOfDeath); break;
    case conformance::ReplyKind::Unsynchronized: out.add(P::Unsynchronized); break;
    case conformance::ReplyKind::Time:
      if (h.stratum == 0) out.add(P::StratumZero);
      break;
  }
  if (h.stratum > 16) out.add(P::StratumInvalid);
  if (h.leap == Leap::Unsynchronized || h.stratum == 16) out.add(P::Unsynchronized);
  if (!h.receive.is_zero() && !h.transmit.is_zero() && (h.transmit - h.receive).raw() < 0) {
    out.add(P::ReceiveAfterTransmit);
  }
  if (h.version < 1 || h.version > 4) {
    out.add(P::VersionUnknown);
  } else if (h.version != sent.version) {
    out.add(P::VersionMismatch);
  }
  // NTS: RFC 8915's own allowance, "up to three octets" of padding more (draft-28 §9.4).
  if (nts ? conformance::nts_reply_too_long(request_length, reply_length) : reply_length > request_length)
    out.add(P::Amplified);
  if (h.reference.is_zero() && h.leap != Leap::Unsynchronized && !out.has(P::KissOfDeath)) out.add(P::NoReference);
  return out;
}

}  // namespace

ReplyProblems judge_reply_mac(const PacketView& reply, const RequestKey& key) {
  ReplyProblems p;
  judge_mac(reply, &key, p);
  return p;
}

ReplyProblems judge_reply(const Header& sent, size_t request_length, std::span<const uint8_t> reply,
                          const RequestKey* key) {
  if (reply.size() == kHeaderLength && key == nullptr)
    return judge_header(sent, request_length, parse_header(reply.first<kHeaderLength>()), reply.size());
  auto parsed = parse(reply);
  if (!parsed) {
    ReplyProblems p;
    p.add(ReplyProblem::Malformed);
    return p;
  }
  ReplyProblems p =
      judge_header(sent, request_length, parsed->header, reply.size(), key != nullptr && key->nts != nullptr);
  judge_mac(*parsed, key, p);
  return p;
}

ReplyAssessment assess_reply(const Header& sent, std::span<const uint8_t> reply, size_t request_length,
                             const RequestKey* key) {
  ReplyAssessment out;
  auto parsed = parse(reply);
  if (!parsed) {
    out.parse_error = parsed.error();
    out.problems.push_back(ReplyProblem::Malformed);
    return out;
  }
  out.packet = parsed.value();
  ReplyProblems p =
      judge_header(sent, request_length, parsed->header, reply.size(), key != nullptr && key->nts != nullptr);
  judge_mac(*parsed, key, p);
  for (unsigned i = 0; i < kReplyProblemCount; ++i) {
    if (p.has(static_cast<ReplyProblem>(i))) out.problems.push_back(static_cast<ReplyProblem>(i));
  }
  return out;
}

}  // namespace ntpkit
