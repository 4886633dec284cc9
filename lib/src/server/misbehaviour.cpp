#include "ntpkit/server/misbehaviour.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>

#include "ntpkit/server/server.hpp"

namespace ntpkit {
namespace {

template <class T>
bool parse_uint(std::string_view s, T& out) {
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

using F = Fault;
using S = Stage;

// --- Values ----------------------------------------------------------------------------------

std::string parse_wrong_mode(Misbehaviour& m, std::string_view v, bool has) {
  unsigned mode = 3;
  if (has && (!parse_uint(v, mode) || (mode != 3 && mode != 5))) return "wrong-mode takes 3 or 5";
  m.wrong_mode = static_cast<uint8_t>(mode);
  return {};
}
std::string parse_drop_percent(Misbehaviour& m, std::string_view v, bool has) {
  unsigned pct = 0;
  if (!has || !parse_uint(v, pct) || pct > 100) return "drop-percent takes 0 to 100";
  m.drop_percent = static_cast<uint8_t>(pct);
  return {};
}
std::string parse_delay(Misbehaviour& m, std::string_view v, bool has) {
  uint32_t ms = 0;
  if (!has || !parse_uint(v, ms) || ms > 60'000) return "delay takes 0 to 60000 ms";
  m.delay_ms = ms;
  return {};
}
std::string parse_time_offset(Misbehaviour& m, std::string_view v, bool has) {
  if (!has) return "time-offset takes SECONDS";
  auto d = parse_seconds(v);
  if (!d) return d.error();
  m.time_offset = *d;
  return {};
}
std::string parse_kiss(Misbehaviour& m, std::string_view v, bool has) {
  if (!has || v.empty() || v.size() > 4 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= 0x21 && c <= 0x7E; })) {
    return "kiss takes a code of 1 to 4 printable ASCII characters (DENY, RSTR, RATE, ...)";
  }
  m.kiss_code = {' ', ' ', ' ', ' '};
  std::copy(v.begin(), v.end(), m.kiss_code.begin());
  return {};
}
std::string parse_stratum(Misbehaviour& m, std::string_view v, bool has) {
  unsigned st = 0;
  if (!has || !parse_uint(v, st) || st > 255) return "stratum takes 0 to 255";
  m.stratum = static_cast<uint8_t>(st);
  return {};
}

// --- The catalogue: one row a misbehaviour, in the order they act ------------------------------
// name, value hint, example values, the cases that catch it beyond a plain query, what it does,
// the stage it acts at, and its effect.

using Mb = const Misbehaviour&;
constexpr std::array<FaultInfo, kFaultCount> kFaults = {{
    {F::AnswerAllVersions, "answer-all-versions", "", "",
     "rfc5905/A.5.1/vn0,rfc5905/A.5.1/vn5,rfc5905/A.5.1/vn6,rfc5905/A.5.1/vn7", "answer VN 0 and 5-7 as well", S::Admit,
     [](Draft& d, Mb) { d.answer_all_versions = true; }},
    {F::AnswerAllModes, "answer-all-modes", "", "",
     // Mode 6 is caught with answer-malformed as well: its request is shorter than a header.
     "rfc5905/9.2/mode0,rfc5905/9.2/mode1,rfc5905/9.2/mode2,rfc5905/9.2/mode4,rfc5905/9.2/mode5,rfc5905/9.2/mode7",
     "answer every mode with mode 4", S::Admit, [](Draft& d, Mb) { d.answer_all_modes = true; }},
    {F::AnswerMalformed, "answer-malformed", "", "",
     "rfc5905/7.3/length-0,rfc5905/7.3/length-1,rfc5905/7.3/length-12,rfc5905/7.3/length-47,rfc5905/7.5/length-49,"
     "rfc5905/7.5/length-50",
     "answer malformed datagrams, even empty ones, as if they were requests", S::Admit,
     [](Draft& d, Mb) { d.answer_malformed = true; }},
    {F::IgnoreMac, "ignore-mac", "", "", "rfc5905/7.4/mac-md5-unknown-key,rfc5905/7.4/mac-sha1-unknown-key",
     "answer requests with an unknown MAC with plain time, no crypto-NAK", S::Admit,
     [](Draft& d, Mb) { d.ignore_mac = true; }},
    {F::AuthAcceptBadDigest, "auth-accept-bad-digest", "", "", "auth/bad-digest,auth/wrong-length-digest,auth/key-id-0",
     "with --keys: answer a request whose MAC does not verify (a bad digest, an unknown key) with plain time", S::Admit,
     [](Draft& d, Mb) { d.accept_bad_mac = true; }},
    {F::AuthHeaderOnlyDigest, "auth-header-only-digest", "", "", "auth/ef-then-mac",
     "with --keys: check a request's digest over the header alone, not its extension fields", S::Admit,
     [](Draft& d, Mb) { d.header_only_digest = true; }},
    {F::DropPercent, "drop-percent", "N", "100", "", "drop N percent of requests at random", S::Admit,
     [](Draft& d, Mb m) { d.drop = next_random(d.random) % 100 < m.drop_percent; }, parse_drop_percent},
    {F::NtsAcceptShortNonce, "nts-accept-short-nonce", "", "", "nts/short-nonce",
     "NTS: answer a request whose short nonce lacks the Additional Padding RFC 8915 §5.6 requires", S::Admit,
     [](Draft& d, Mb) { d.nts_accept_short_nonce = true; }},

    {F::KodRateAlways, "kod-rate-always", "", "", "", "answer every request with a RATE kiss-o'-death", S::Shape,
     [](Draft& d, Mb) { d.kiss_of_death = true; }},
    {F::KodWithoutOrigin, "kod-without-origin", "", "", "", "RATE kiss-o'-death with a zero origin", S::Shape,
     [](Draft& d, Mb) { d.kiss_of_death = d.kiss_without_origin = true; }},
    {F::Kiss, "kiss", "CODE", "DENY,RSTR", "", "answer every request with a kiss-o'-death of this code (stratum 0, LI 3)", S::Shape,
     [](Draft& d, Mb m) {
       d.kiss_of_death = true;
       d.kiss_code = m.kiss_code;
     },
     parse_kiss},
    {F::GarbageReply, "garbage-reply", "", "", "", "random bytes of the request's length", S::Shape,
     [](Draft& d, Mb) { d.garbage = true; }},
    {F::EchoExtensionFields, "echo-extension-fields", "", "", "rfc7822/3/ef-unknown,rfc7822/3/two-unknown-efs",
     "copy the request's extension fields into the reply", S::Shape, [](Draft& d, Mb) { d.echo_extensions = true; }},
    {F::OversizeReply, "oversize-reply", "", "", "", "pad the reply 16 bytes past the request's length", S::Shape,
     [](Draft& d, Mb) { d.oversize = true; }},
    {F::MacUnknownKey, "mac-unknown-key", "", "", "",
     "append a MAC (key 65000, 16 octets of digest) that no key verifies to replies that have none", S::Shape,
     [](Draft& d, Mb) { d.foreign_mac = true; }},

    {F::AuthUnsignedReply, "auth-unsigned-reply", "", "", "auth/authenticated-reply",
     "with --keys: answer an authenticated request without a MAC", S::Shape,
     [](Draft& d, Mb) { d.unsigned_reply = true; }},
    {F::AuthAlwaysNak, "auth-always-nak", "", "", "",
     "with --keys: answer every authenticated request with a crypto-NAK, even a valid one", S::Shape,
     [](Draft& d, Mb) { d.always_nak = true; }},
    {F::AuthBadDigest, "auth-bad-digest", "", "", "auth/authenticated-reply", "with --keys: the reply's digest does not verify",
     S::Shape, [](Draft& d, Mb) { d.mac_bad_digest = true; }},
    {F::AuthOtherKey, "auth-other-key", "", "", "auth/authenticated-reply", "with --keys: the reply's MAC names another key than the request's",
     S::Shape, [](Draft& d, Mb) { d.mac_other_key = true; }},

    {F::InterleavedWrongTransmit, "interleaved-wrong-transmit", "", "", "interleaved/previous-transmit",
     "an interleaved reply carries its own transmit time, not the earlier reply's", S::Shape,
     [](Draft& d, Mb) { d.interleaved_wrong_transmit = true; }},
    {F::InterleavedWrongOrigin, "interleaved-wrong-origin", "", "", "interleaved/origin",
     "an interleaved reply carries the request's origin field as its origin, not its receive field", S::Shape,
     [](Draft& d, Mb) { d.interleaved_wrong_origin = true; }},
    {F::InterleavedAlways, "interleaved-always", "", "", "interleaved/basic-request,interleaved/bogus-origin",
     "answer a client with an earlier exchange in interleaved mode whether it asks or not", S::Shape,
     [](Draft& d, Mb) { d.interleaved_always = true; }},
    {F::InterleavedReuse, "interleaved-reuse", "", "", "interleaved/receive-once",
     "keep a client's earlier exchange after answering it interleaved, so the same receive timestamp is "
     "answered interleaved again",
     S::Shape, [](Draft& d, Mb) { d.interleaved_reuse = true; }},
    {F::NtsNoUid, "nts-no-uid", "", "", "nts/uid-standalone", "NTS: the reply does not echo the Unique Identifier", S::Shape,
     [](Draft& d, Mb) { d.nts_no_uid = true; }},
    {F::NtsWrongUid, "nts-wrong-uid", "", "", "nts/uid-echo", "NTS: the reply echoes the Unique Identifier with one octet changed",
     S::Shape, [](Draft& d, Mb) { d.nts_wrong_uid = true; }},
    {F::NtsBadTag, "nts-bad-tag", "", "", "nts/authenticated-reply", "NTS: the authenticator's tag has one octet changed", S::Shape,
     [](Draft& d, Mb) { d.nts_bad_tag = true; }},
    {F::NtsPlainReply, "nts-plain-reply", "", "", "nts/authenticated-reply,nts/uid-echo", "NTS: a plain reply (no NTS fields) to an NTS request",
     S::Shape, [](Draft& d, Mb) { d.nts_plain = true; }},
    {F::NtsPlainForReused, "nts-plain-for-reused", "", "", "nts/cookie-reuse", "NTS: a plain reply to a request whose cookie this thread opened before (the last 256 remembered)",
     S::Shape, [](Draft& d, Mb) { d.nts_plain_for_reused = true; }},
    {F::NtsExtraCookie, "nts-extra-cookie", "", "", "nts/cookie-count,nts/no-amplification,nts/unauthenticated-placeholders", "NTS: one new cookie more than 1 + the request's placeholders",
     S::Shape, [](Draft& d, Mb) { d.nts_extra_cookie = true; }},
    {F::NtsClearCookies, "nts-clear-cookies", "", "", "nts/cookies-encrypted",
     "NTS: the new cookies outside the ciphertext (authenticated, not encrypted)", S::Shape,
     [](Draft& d, Mb) { d.nts_clear_cookies = true; }},
    {F::NtsNakWithCookie, "nts-nak-with-cookie", "", "", "nts/nak-shape", "NTS: an NTSN kiss-o'-death that carries a cookie",
     S::Shape, [](Draft& d, Mb) { d.nts_nak_with_cookie = true; }},
    {F::NtsNoNak, "nts-no-nak", "", "", "nts/bad-cookie,nts/bad-authenticator", "NTS: silence, not an NTSN, for a cookie or authenticator that does not verify",
     S::Shape, [](Draft& d, Mb) { d.nts_no_nak = true; }},
    {F::NtsTimeForBadCookie, "nts-time-for-bad-cookie", "", "", "nts/bad-cookie,nts/bad-authenticator",
     "NTS: plain time, not an NTSN, for a cookie or authenticator that does not verify", S::Shape,
     [](Draft& d, Mb) { d.nts_time_for_bad = true; }},

    {F::NoOriginCopy, "no-origin-copy", "", "", "", "origin is the request's transmit with its lowest bit flipped",
     S::Header, [](Draft& d, Mb) { d.reply.origin = Timestamp::from_raw(d.request->transmit.raw() ^ 1U); }},
    {F::OriginZero, "origin-zero", "", "", "", "origin timestamp is zero", S::Header,
     [](Draft& d, Mb) { d.reply.origin = Timestamp{}; }},
    {F::WrongMode, "wrong-mode", "3|5", "3,5", "", "reply in mode 3 (default) or 5 instead of 4", S::Header,
     [](Draft& d, Mb m) { d.reply.mode = static_cast<Mode>(m.wrong_mode & 0x7); }, parse_wrong_mode},
    {F::VnFixed3, "vn-fixed-3", "", "", "rfc4330/6/vn-copy-v4", "always answer with VN 3, whatever the request's",
     S::Header, [](Draft& d, Mb) { d.reply.version = 3; }},
    {F::VnFixed4, "vn-fixed-4", "", "", "rfc4330/6/vn-copy-v3", "always answer with VN 4, whatever the request's",
     S::Header, [](Draft& d, Mb) { d.reply.version = 4; }},
    {F::PollNotEchoed, "poll-not-echoed", "", "", "", "poll differs from the request's", S::Header,
     [](Draft& d, Mb) { d.reply.poll = static_cast<int8_t>(d.request->poll == 10 ? 6 : 10); }},
    {F::Stratum0WithoutKiss, "stratum-0-without-kiss", "", "", "", "stratum 0 with refid 127.0.0.1, no kiss code",
     S::Header,
     [](Draft& d, Mb) {
       d.reply.stratum = 0;
       d.reply.reference_id = ReferenceId::from_ipv4({127, 0, 0, 1});
     }},
    {F::LeapAlarm, "leap-alarm", "", "", "", "LI 3 (alarm) with an ordinary stratum", S::Header,
     [](Draft& d, Mb) { d.reply.leap = Leap::Unsynchronized; }},
    {F::Stratum, "stratum", "N", "17", "", "announce stratum N (0-255) whatever the state", S::Header,
     [](Draft& d, Mb m) { d.reply.stratum = m.stratum; }, parse_stratum},

    {F::TimeOffset, "time-offset", "SECONDS", "3600", "", "serve a clock off by SECONDS (may be fractional, negative)",
     S::Stamped,
     [](Draft& d, Mb m) {
       d.reply.receive = d.reply.receive + m.time_offset;
       d.reply.reference = d.reply.reference + m.time_offset;
       d.reply.transmit = d.reply.transmit + m.time_offset;
     },
     parse_time_offset},
    {F::TransmitZero, "transmit-zero", "", "", "", "transmit timestamp is zero", S::Stamped,
     [](Draft& d, Mb) { d.reply.transmit = Timestamp{}; }},
    {F::ReceiveZero, "receive-zero", "", "", "rfc4330/6/timestamps",
     "receive timestamp is zero, as some SNTP servers send", S::Stamped,
     [](Draft& d, Mb) { d.reply.receive = Timestamp{}; }},
    {F::TransmitEqualsReceive, "transmit-equals-receive", "", "", "interleaved/distinct-timestamps", "transmit timestamp equals receive", S::Stamped,
     [](Draft& d, Mb) { d.reply.transmit = d.reply.receive; }},
    {F::ReceiveAfterTransmit, "receive-after-transmit", "", "", "", "receive timestamp one second after transmit",
     S::Stamped, [](Draft& d, Mb) { d.reply.receive = d.reply.transmit + Duration::from_seconds(1); }},
    {F::ReferenceStale, "reference-stale", "", "", "", "reference time ten days before transmit", S::Stamped,
     [](Draft& d, Mb) { d.reply.reference = d.reply.transmit - Duration::from_seconds(10 * 86400); }},
    {F::ReferenceFuture, "reference-future", "", "", "", "reference time an hour after transmit", S::Stamped,
     [](Draft& d, Mb) { d.reply.reference = d.reply.transmit + Duration::from_seconds(3600); }},
    {F::FrozenClock, "frozen-clock", "", "", "",
     "receive and transmit stuck at the reference time, like a cached answer", S::Stamped,
     [](Draft& d, Mb) { d.reply.receive = d.reply.transmit = d.state.reference_time; }},

    {F::DuplicateReply, "duplicate-reply", "", "", "", "send every reply twice", S::Send,
     [](Draft& d, Mb) { d.action->copies = 2; }},
    {F::Delay, "delay", "MS", "200", "",
     "hold every reply back MS ms (transmit stamped before the wait, so the delay looks like network)", S::Send,
     [](Draft& d, Mb m) { d.action->delay_ms = m.delay_ms; }, parse_delay},
    {F::ReplyFromOtherPort, "reply-from-other-port", "", "", "",
     "send replies from another UDP port than the one asked", S::Send,
     [](Draft& d, Mb) { d.action->from_other_port = true; }},
    {F::TruncatedReply, "truncated-reply", "", "", "", "cut the reply to 47 bytes, short of an NTP header", S::Send,
     [](Draft& d, Mb) { d.action->length = std::min(d.action->length, kHeaderLength - 1); }},
    {F::NtsKeNoEnd, "nts-ke-no-end", "", "", "nts-ke/end-of-message", "NTS-KE: the response has no End of Message", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeAnyAead, "nts-ke-any-aead", "", "", "nts-ke/aead-offered", "NTS-KE: AEAD 15 chosen whatever the client offered", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeTwoAeads, "nts-ke-two-aeads", "", "", "nts-ke/aead-one", "NTS-KE: the AEAD record lists AEAD_AES_128_GCM beside the chosen AEAD 15", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeNoCookies, "nts-ke-no-cookies", "", "", "nts-ke/cookies", "NTS-KE: no New Cookie record", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeForeignCookies, "nts-ke-foreign-cookies", "", "", "nts/ke-cookie-accepted", "NTS-KE: cookies under a master key the NTP side does not have (as a KE server naming an NTP server that does not share its keys)", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeOneCookie, "nts-ke-one-cookie", "", "", "nts-ke/cookies", "NTS-KE: one New Cookie record, not eight", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeIgnoreCritical, "nts-ke-ignore-critical", "", "", "nts-ke/unknown-critical", "NTS-KE: an unrecognized critical record is ignored, not answered with Error 0", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeLenient, "nts-ke-lenient", "", "", "nts-ke/bad-request", "NTS-KE: a bad request is answered as a good one, not with Error 1", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeExtraProtocol, "nts-ke-extra-protocol", "", "", "nts-ke/next-protocol", "NTS-KE: Next Protocol lists a protocol the client did not offer", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeWrongPort, "nts-ke-wrong-port", "", "", "", "NTS-KE: NTPv4 Port Negotiation names port 9, where nothing serves NTP", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeTls12, "nts-ke-tls12", "", "", "nts-ke/tls13-only", "NTS-KE: TLS 1.2 accepted", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeNoAlpn, "nts-ke-no-alpn", "", "", "nts-ke/alpn,nts-ke/no-alpn-client", "NTS-KE: ALPN ignored (ntske/1 never selected; a client without ALPN served)", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeSilentTimeout, "nts-ke-silent-timeout", "", "", "nts-ke/incomplete-request", "NTS-KE: an incomplete request is closed on at the timeout, not answered with Error 1", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeFirstReadOnly, "nts-ke-first-read-only", "", "", "nts-ke/split-request", "NTS-KE: the request is what the first TLS record held", S::KeyEstablishment, [](Draft&, Mb) {}},
    {F::NtsKeSmallRequests, "nts-ke-small-requests", "", "", "nts-ke/large-request", "NTS-KE: requests are cut at 512 octets", S::KeyEstablishment, [](Draft&, Mb) {}},
}};

constexpr bool in_enum_order() {
  for (size_t i = 0; i < kFaults.size(); ++i) {
    if (static_cast<size_t>(kFaults[i].fault) != i) return false;
    if (i > 0 && kFaults[i].stage < kFaults[i - 1].stage) return false;
  }
  return true;
}
static_assert(in_enum_order(), "one row per Fault, in enum order, grouped by stage");

}  // namespace

std::span<const FaultInfo> fault_catalogue() {
  return kFaults;
}
std::string_view name(Fault f) {
  return kFaults[static_cast<size_t>(f)].name;
}

std::string_view name(Stage s) {
  switch (s) {
    case Stage::Admit: return "admit";
    case Stage::Shape: return "shape";
    case Stage::Header: return "header";
    case Stage::Stamped: return "stamped";
    case Stage::Send: return "send";
    case Stage::KeyEstablishment: return "key-establishment";
    case Stage::Count: break;
  }
  return "?";
}

void Misbehaviour::set(Fault f) {
  faults.set(static_cast<size_t>(f));
  const auto i = static_cast<size_t>(f);
  by_stage[static_cast<size_t>(kFaults[i].stage)][i / 64] |= uint64_t{1} << (i % 64);
}

void Misbehaviour::apply_slow(Stage s, Draft& d) const {
  for (size_t word = 0; word < 2; ++word) {
    for (uint64_t mask = by_stage[static_cast<size_t>(s)][word]; mask != 0; mask &= mask - 1) {
      kFaults[word * 64 + static_cast<size_t>(std::countr_zero(mask))].apply(d, *this);
    }
  }
}

Result<Duration, std::string> parse_seconds(std::string_view text) {
  const std::string original(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  // Unsigned parsing: from_chars would accept a second sign for a signed type ("--5").
  uint64_t secs = 0;
  if ((whole.empty() && frac.empty()) || (!whole.empty() && !parse_uint(whole, secs)) || secs > (uint64_t{1} << 30)) {
    return Failure{"'" + original + "' is not a number of seconds"};
  }
  if (frac.size() > 9) frac = frac.substr(0, 9);  // nanosecond resolution
  uint64_t ns = 0;
  if (!frac.empty()) {
    if (!parse_uint(frac, ns)) return Failure{"'" + original + "' is not a number of seconds"};
    for (size_t i = frac.size(); i < 9; ++i) ns *= 10;
  }
  const auto total = static_cast<int64_t>(secs * 1'000'000'000 + ns);
  return Duration::from_nanoseconds(negative ? -total : total);
}

Result<Fault, std::string> add_misbehaviour(Misbehaviour& m, std::string_view spec) {
  const auto eq = spec.find('=');
  const std::string_view key = spec.substr(0, eq);
  const bool has_value = eq != std::string_view::npos;
  const std::string_view value = has_value ? spec.substr(eq + 1) : std::string_view{};
  for (const auto& info : kFaults) {
    if (info.name != key) continue;
    const std::string what = "--misbehave " + std::string(spec);
    if (info.parse == nullptr && has_value) return Failure{what + ": '" + std::string(key) + "' takes no value"};
    if (info.parse != nullptr) {
      if (auto error = info.parse(m, value, has_value); !error.empty()) return Failure{what + ": " + error};
    }
    m.set(info.fault);
    return info.fault;
  }
  return Failure{"--misbehave " + std::string(spec) + ": no such misbehaviour (see --list-misbehaviours)"};
}

}  // namespace ntpkit
