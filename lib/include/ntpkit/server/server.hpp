// The server's decision as a pure function (RFC 5905 §8, §9.2 and Appendix A.5.1's fast_xmit):
// request bytes, receive time, clock, state and policy in; Ignore or Reply(bytes) out.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "ntpkit/auth/mac.hpp"
#include "ntpkit/nts/cookie.hpp"
#include "ntpkit/server/interleave.hpp"
#include "ntpkit/server/misbehaviour.hpp"
#include "ntpkit/util/clock.hpp"
#include "ntpkit/wire/packet.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit {

// What the server says about its own clock (the system variables of RFC 5905 §11.2).
struct ServerState {
  Leap leap = Leap::NoWarning;
  uint8_t stratum = 1;
  int8_t precision = -20;
  ShortTime root_delay;
  ShortTime root_dispersion;
  ReferenceId reference_id = ReferenceId::from_ascii("LOCL");
  Timestamp reference_time;
};

// The state to announce when the clock's own state decides it (ntp-server --leap auto):
// synchronized, the configured stratum and reference ID with the kernel's leap warning;
// unsynchronized, what RFC 5905 §7.3 gives a server without a source (stratum 16, sent as 0)
// and ntpd and --stratum 16 send: LI 3, stratum 0 and the kiss code INIT, so that no client
// (and no suite) sees LI 3 beside a synchronized stratum.
[[nodiscard]] ServerState announce(const ServerState& configured, Leap kernel);

// Where the RFCs leave a choice. Each default is documented in README.md.
enum class SymmetricPolicy : uint8_t {
  Ignore,  // default: no passive associations (RFC 5905 §9.2 leaves mobilisation to policy)
  Reply,   // answer mode 1 with a stateless mode 2, as RFC 4330 §5 describes for SNTP servers
};
enum class UnknownKeyPolicy : uint8_t {
  CryptoNak,  // default: RFC 5905 §7.4 / A.5.1: a client request that fails authentication gets a crypto-NAK
  Drop,
};
enum class Version1Mode0Policy : uint8_t {
  Client,  // default: an NTPv1 (RFC 1059) packet has no mode; treat it as a client request
  Ignore,
};
struct Policy {
  SymmetricPolicy symmetric = SymmetricPolicy::Ignore;
  UnknownKeyPolicy unknown_key = UnknownKeyPolicy::CryptoNak;
  Version1Mode0Policy version1_mode0 = Version1Mode0Policy::Client;
  // ntp-server --keys: a request whose MAC verifies under one of these keys is answered with a
  // reply authenticated by the same key (RFC 5905 §9.2; RFC 8573). Both or neither.
  const auth::KeyStore* keys = nullptr;
  const auth::Digests* digests = nullptr;
  // RFC 9769 §2: a client request whose origin is the receive timestamp of its last reply gets
  // an interleaved reply (the precise transmit time of that reply); every reply's receive is
  // unique per client and differs from its transmit. ntp-server --no-interleaved: basic only.
  bool interleaved = true;
  // ntp-server --nts-cert/--nts-key: an NTS-protected request (RFC 8915 §5.7) whose cookie opens
  // and whose authenticator verifies under its C2S key is answered with the Unique Identifier
  // echoed and 1 + placeholders new cookies sealed under the S2C key; anything else that carries
  // a cookie or an authenticator gets an NTSN kiss-o'-death. Both or neither.
  const nts::CookieJar* nts = nullptr;
  const nts::Aead* nts_aead = nullptr;
};

// The rate limiter's verdict on this client, decided by the caller (see rate_limit.hpp).
enum class RateVerdict : uint8_t { Allow, KissOfDeath, Drop };

struct RequestContext {
  Timestamp receive;  // the kernel's receive timestamp (T2)
  RateVerdict rate = RateVerdict::Allow;
  uint64_t random = 0;  // entropy for the random misbehaviours (drop-percent, garbage-reply)
  // The client's last exchange (the caller's InterleaveTable, looked up by its address).
  std::optional<InterleaveSlot> previous = std::nullopt;
  // Random per request, for the nonces of an NTS reply and its cookies (the caller fills it for
  // requests longer than a header).
  std::array<uint8_t, 16> nonce_seed{};
};

enum class DropReason : uint8_t {
  Malformed,           // framing the parser rejects
  UnsupportedVersion,  // VN 0 or 5-7
  ModeNotServed,       // modes 0, 2, 4, 5, 6, 7
  SymmetricIgnored,    // mode 1 under SymmetricPolicy::Ignore
  UnknownKey,          // MAC with a key we do not have, under UnknownKeyPolicy::Drop
  RateLimited,
  Misbehaviour,    // drop-percent
  BufferTooSmall,  // the caller's reply buffer cannot hold the reply
  BadMac,          // a known key whose digest does not verify, under UnknownKeyPolicy::Drop
  NtsPadding,      // RFC 8915 §5.6: a short nonce without the Additional Padding it requires
};
inline constexpr size_t kDropReasonCount = 10;
[[nodiscard]] std::string_view name(DropReason r);

struct Action {
  enum class Kind : uint8_t { Ignore, Reply };
  Kind kind = Kind::Ignore;
  DropReason reason = DropReason::Malformed;  // meaningful for Ignore
  size_t length = 0;                          // reply bytes written, for Reply
  uint8_t copies = 1;                         // duplicate-reply sends 2
  uint32_t delay_ms = 0;                      // delay=MS
  bool kiss_of_death = false;
  bool crypto_nak = false;
  bool authenticated = false;    // the reply carries a MAC of the request's key
  bool from_other_port = false;  // reply-from-other-port
  // A mode-4 time reply (no kiss-o'-death): the caller records {receive, when it left} for the
  // client's next interleaved request (Policy::interleaved).
  bool remember = false;
  // The request asked for interleaved mode: its next one will want this reply's departure, which
  // the caller has the kernel stamp (the cost is paid for such clients only).
  bool stamp_departure = false;
  bool interleaved = false;  // answered in interleaved mode
  Timestamp receive;         // the receive timestamp the reply carries
  bool nts = false;          // an NTS-protected reply
  bool nts_nak = false;      // an NTSN kiss-o'-death

  [[nodiscard]] bool is_reply() const { return kind == Kind::Reply; }
};

// The reply respond() is building, as a misbehaviour's hook sees it (misbehaviour.hpp's Stage).
struct Draft {
  Draft(const ServerState& s, uint64_t r) : state(s), random(r) {}
  const ServerState& state;
  uint64_t random;  // next_random() state for the random misbehaviours
  // Stage::Admit
  bool answer_all_versions = false;
  bool answer_all_modes = false;
  bool answer_malformed = false;
  bool ignore_mac = false;
  bool drop = false;
  bool nts_accept_short_nonce = false;  // RFC 8915 §5.6's Additional Padding not enforced
  // Stage::Shape
  bool kiss_of_death = false;  // a RATE kiss-o'-death
  bool kiss_without_origin = false;
  std::optional<std::array<char, 4>> kiss_code;  // kiss=CODE: this code, not RATE
  bool garbage = false;                          // random bytes of the request's length
  bool echo_extensions = false;
  bool oversize = false;     // pad past the request's length
  bool foreign_mac = false;  // a MAC of a key no one has, on a reply to a request without one
  // Authenticated replies (Stage::Admit and Stage::Shape)
  bool accept_bad_mac = false;      // a MAC that does not verify (bad digest, unknown key): plain time
  bool header_only_digest = false;  // a request's digest checked over the header alone
  bool unsigned_reply = false;      // an authenticated request answered without a MAC
  bool always_nak = false;          // every authenticated request answered with a crypto-NAK
  bool mac_bad_digest = false;      // the reply's digest corrupted
  bool mac_other_key = false;       // the reply's MAC names another key
  // Interleaved mode (Stage::Shape)
  bool interleaved_wrong_transmit = false;  // an interleaved reply carries its own transmit time
  bool interleaved_wrong_origin = false;    // an interleaved reply's origin is the request's origin field
  bool interleaved_always = false;          // a client with an earlier exchange is answered interleaved, asked or not
  bool interleaved_reuse = false;           // an interleaved reply is not remembered: its receive can be asked again
  // NTS (Stage::Shape): what the reply to an NTS request gets wrong
  bool nts_no_uid = false;            // the Unique Identifier is not echoed
  bool nts_wrong_uid = false;         // echoed with one octet changed
  bool nts_bad_tag = false;           // the authenticator's ciphertext has one octet changed
  bool nts_plain = false;             // a plain reply: no NTS fields at all
  bool nts_plain_for_reused = false;  // a plain reply when the cookie was seen before
  bool nts_extra_cookie = false;      // one cookie more than 1 + placeholders
  bool nts_clear_cookies = false;     // the new cookies outside the ciphertext (authenticated, not encrypted)
  bool nts_nak_with_cookie = false;   // an NTSN that carries a cookie
  bool nts_no_nak = false;            // a request that does not verify: silence instead of NTSN
  bool nts_time_for_bad = false;      // a request that does not verify: plain time instead of NTSN
  // Stage::Header and Stage::Stamped
  const Header* request = nullptr;
  Header reply;
  // Stage::Send: copies, delay, source port and length
  Action* action = nullptr;  // respond()'s own, built in place: the hooks change it through this
};

// The largest reply respond() may write: a request's length plus what oversize-reply adds.
inline constexpr size_t kOversizePadding = 64;  // >= 16 + 3 (rounding) + 48 - 1 (shortest request)

// Writes the reply into `out` (which must hold request.size() + kOversizePadding bytes for the
// oversize-reply misbehaviour; any smaller buffer that holds the reply also works). The clock
// is read last, for the transmit timestamp. Without misbehaviour, a reply is never longer than
// its request.
[[nodiscard]] Action respond(std::span<const uint8_t> request, const RequestContext& ctx, const Clock& clock,
                             const ServerState& state, const Policy& policy, const Misbehaviour& misbehaviour,
                             std::span<uint8_t> out);

}  // namespace ntpkit
