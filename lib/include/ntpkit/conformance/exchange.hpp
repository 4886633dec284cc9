// The client's side of one exchange: judging whether a reply is usable and computing offset
// and delay from the four timestamps (RFC 5905 §8).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/auth/mac.hpp"
#include "ntpkit/nts/aead.hpp"
#include "ntpkit/wire/packet.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit {

struct Sample {
  Duration offset;  // theta = ((T2 - T1) + (T3 - T4)) / 2
  Duration delay;   // delta = (T4 - T1) - (T3 - T2)
};

// T1 = our transmit (local clock), T2 = server receive, T3 = server transmit, T4 = our receive.
[[nodiscard]] Sample compute_sample(Timestamp t1, Timestamp t2, Timestamp t3, Timestamp t4);

enum class ReplyProblem : uint8_t {
  Malformed,       // the parser rejected the datagram
  NotServerMode,   // mode other than 4
  OriginMismatch,  // origin is not our transmit, byte for byte (RFC 5905 §8: bogus packet)
  ZeroTransmit,    // transmit timestamp is 0
  ZeroReceive,     // receive timestamp is 0
  KissOfDeath,     // a kiss-o'-death (RATE, DENY, ...): a message, not time
  StratumInvalid,  // stratum above 16
  Unsynchronized,  // LI 3, stratum 16, or stratum 0 that says so (INIT, STEP, LI 3)
  ReceiveAfterTransmit,
  VersionMismatch,  // VN not echoed (a warning, not fatal)
  StratumZero,      // stratum 0 (unspecified) that is neither a kiss-o'-death nor unsynchronized
  VersionUnknown,   // VN outside 1-4: no version a client can read
  Amplified,        // longer than the request
  NoReference,      // reference time 0 though LI is not 3 (a warning, not fatal)
  Duplicated,       // more than one reply to the request (a warning, not fatal; set by the caller)
  // With a request authenticated by a key (RFC 5905 §9.2; RFC 8573): a client that asked with
  // a key discards any reply that does not carry a valid MAC of it.
  NotAuthenticated,  // no MAC at all
  AuthCryptoNak,     // a crypto-NAK: the server could not authenticate the request
  AuthOtherKey,      // a MAC of another key than the request's
  AuthBadDigest,     // the request's key, a digest that does not verify (or of the wrong length)
  // With an NTS request (RFC 8915 §5.7): the reply must echo the Unique Identifier and carry an
  // authenticator that verifies under the S2C key; its new cookies travel encrypted.
  NtsNotAuthenticated,       // no authenticator, or one that does not verify
  NtsUidNotEchoed,           // the Unique Identifier is missing or not ours
  NtsNoCookie,               // no new cookie in the encrypted fields (a warning: the client can go on)
  NtsUnauthenticatedFields,  // extension fields after the authenticator (a warning: ignored)
};
inline constexpr unsigned kReplyProblemCount = static_cast<unsigned>(ReplyProblem::NtsUnauthenticatedFields) + 1;
[[nodiscard]] std::string_view to_string(ReplyProblem p);
[[nodiscard]] bool is_fatal(ReplyProblem p);

// A set of problems without allocating: what a load generator judges millions of replies with.
class ReplyProblems {
 public:
  void add(ReplyProblem p) { bits_ |= 1U << static_cast<unsigned>(p); }
  void remove(ReplyProblem p) { bits_ &= ~(1U << static_cast<unsigned>(p)); }
  [[nodiscard]] bool has(ReplyProblem p) const { return (bits_ & (1U << static_cast<unsigned>(p))) != 0; }
  [[nodiscard]] bool empty() const { return bits_ == 0; }
  [[nodiscard]] bool usable() const;  // no fatal problem
 private:
  uint32_t bits_ = 0;
};

// The one judge of a time reply, for query, bench and anything that takes time from a server:
// `sent` is the request as it went on the wire, `request_length` its size. A reply that does
// not parse is Malformed alone.
// The key the request was authenticated with, and how to check the reply's MAC.
// An NTS request's secrets: what the reply must echo, and the key it must verify under.
struct NtsRequestKey {
  std::span<const uint8_t> unique_id;
  const nts::Aead* aead = nullptr;
  std::span<const uint8_t> s2c_key;
};
struct RequestKey {
  const auth::Key* key = nullptr;
  const auth::KeyStore* keys = nullptr;
  const auth::Digests* digests = nullptr;
  const NtsRequestKey* nts = nullptr;  // an NTS request instead of a symmetric key
};
[[nodiscard]] ReplyProblems judge_reply(const Header& sent, size_t request_length, std::span<const uint8_t> reply,
                                        const RequestKey* key = nullptr);
// Only the reply's MAC against the request's key (the Auth* problems and NotAuthenticated): what
// replay judges a recorded signed exchange by.
[[nodiscard]] ReplyProblems judge_reply_mac(const PacketView& reply, const RequestKey& key);

struct ReplyAssessment {
  std::optional<PacketView> packet;
  std::optional<ParseError> parse_error;
  std::vector<ReplyProblem> problems;  // in the order of the enum
  [[nodiscard]] bool usable() const;
};

// judge_reply, with the parsed packet and the problems as a list for display.
[[nodiscard]] ReplyAssessment assess_reply(const Header& sent, std::span<const uint8_t> reply,
                                           size_t request_length = kHeaderLength, const RequestKey* key = nullptr);

}  // namespace ntpkit
