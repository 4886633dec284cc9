#include "ntpkit/server/server.hpp"

#include <algorithm>
#include <array>

#include "ntpkit/nts/extension.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit {
namespace {

// How the request asks to be served, after the version and mode rules.
enum class Service : uint8_t { Client, Symmetric };

struct Decision {
  bool serve = false;
  Service service = Service::Client;
  DropReason reason = DropReason::ModeNotServed;
};

Decision classify(const Header& h, const Policy& policy, const Draft& mb) {
  Decision d;
  // RFC 5905 Appendix A.5.1 receive(): versions other than 1..4 are discarded.
  if ((h.version == 0 || h.version > kCurrentVersion) && !mb.answer_all_versions) {
    d.reason = DropReason::UnsupportedVersion;
    return d;
  }
  Mode mode = h.mode;
  // RFC 1059 (NTPv1) has no mode field: a VN 1 packet with mode 0 is an old client.
  if (h.version == 1 && mode == Mode::Reserved && policy.version1_mode0 == Version1Mode0Policy::Client) {
    mode = Mode::Client;
  }
  if (mode == Mode::Client) {
    d.serve = true;
    return d;
  }
  if (mode == Mode::SymmetricActive && policy.symmetric == SymmetricPolicy::Reply) {
    d.serve = true;
    d.service = Service::Symmetric;
    return d;
  }
  if (mb.answer_all_modes) {
    d.serve = true;
    return d;
  }
  // RFC 5905 §9.2 dispatch: a server answers only client requests; modes 2, 4 and 5 belong to
  // associations we do not have, and modes 6 and 7 are not part of NTPv4 (RFC 9327 for 6).
  d.reason = mode == Mode::SymmetricActive ? DropReason::SymmetricIgnored : DropReason::ModeNotServed;
  return d;
}

// What an NTS request (RFC 8915 §5.7) comes to: the reply's secrets, or an NTSN.
struct NtsPlan {
  bool verified = false;               // cookie opened, authenticator verified
  std::span<const uint8_t> uid_field;  // the Unique Identifier's value as sent (padding included)
  nts::CookieContents keys;
  size_t cookies = 1;       // 1 + valid placeholders
  bool drop = false;        // RFC 8915 §5.6: "Servers MUST enforce this requirement by discarding"
  uint64_t cookie_tag = 0;  // the cookie's first octets (key id and nonce), to know it again
};

// nts-plain-for-reused's memory: the cookies this thread opened last. A test device only: the
// server proper keeps no state per cookie (RFC 8915 does not ask it to notice a reuse).
bool seen_before(uint64_t tag) {
  thread_local std::array<uint64_t, 256> ring{};
  thread_local size_t next = 0;
  for (const uint64_t t : ring) {
    if (t == tag) return true;
  }
  ring[next++ % ring.size()] = tag;
  return false;
}

constexpr size_t pad4(size_t n) {
  return (n + 3) & ~size_t{3};
}

// A request that carries an NTS Cookie or an authenticator is an NTS request; one that carries
// only a Unique Identifier uses it standalone (RFC 8915 §5.3: echoed, no NTS).
std::optional<NtsPlan> plan_nts(const PacketView& req, const Policy& policy, bool& uid_only, bool enforce_padding) {
  uid_only = false;
  if (policy.nts == nullptr || policy.nts_aead == nullptr || req.extension_count == 0) return std::nullopt;
  const nts::Fields f = nts::fields_of(req);
  if (f.cookies.empty() && f.authenticators.empty()) {
    uid_only = f.unique_ids.size() == 1;
    return std::nullopt;
  }
  NtsPlan p;
  // Only what precedes the authenticator is authenticated: a Unique Identifier or cookie after it
  // is discarded (RFC 8915 §5.7: "The server MUST discard any unauthenticated extension fields").
  const size_t auth_at = f.authenticators.empty() ? req.size() : f.authenticators.front().offset;
  std::vector<ExtensionFieldView> uids, cookies;
  for (const auto& e : f.unique_ids) {
    if (e.offset < auth_at) uids.push_back(e);
  }
  for (const auto& e : f.cookies) {
    if (e.offset < auth_at) cookies.push_back(e);
  }
  if (uids.size() == 1) p.uid_field = uids.front().value;
  if (uids.size() != 1 || uids.front().value.size() < 32 || cookies.size() != 1 || f.authenticators.size() != 1) {
    return p;  // not one of each: NTSN
  }
  const auto a = nts::parse_authenticator(f.authenticators.front());
  if (!a) return p;
  // RFC 8915 §5.6: a nonce padded to fewer than N_REQ (16) octets needs Additional Padding.
  const size_t n_len = pad4(a->nonce.size());
  if (enforce_padding && n_len < 16 && a->padding < 16 - n_len) {
    p.drop = true;
    return p;
  }
  auto keys = policy.nts->open(cookies.front().value);
  if (!keys || keys->aead != policy.nts_aead->id() || a->ciphertext.size() < policy.nts_aead->tag_length()) return p;
  std::vector<uint8_t> plaintext(a->ciphertext.size() - policy.nts_aead->tag_length());
  if (!policy.nts_aead->open(keys->c2s, a->nonce, req.bytes.first(a->offset), a->ciphertext, plaintext)) return p;
  p.verified = true;
  p.keys = std::move(*keys);
  for (size_t i = 0; i < 8 && 4 + i < cookies.front().value.size(); ++i) {
    p.cookie_tag = p.cookie_tag << 8 | cookies.front().value[4 + i];  // nonce octets: unique per cookie
  }
  // Placeholders before the authenticator (authenticated) or inside it (encrypted) count when
  // their body is as long as the cookie's; what follows the authenticator is unauthenticated and
  // is discarded ("The server MUST discard any unauthenticated extension fields").
  const size_t cookie_body = cookies.front().value.size();
  size_t valid = 0;
  for (const auto& e : f.placeholders) {
    if (e.offset < a->offset && e.value.size() == cookie_body) ++valid;
  }
  if (const auto inner = nts::inner_fields(plaintext)) {
    for (const auto& e : *inner) {
      if (e.type == nts::kCookiePlaceholder && e.value.size() == cookie_body) ++valid;
    }
  }
  p.cookies = 1 + std::min<size_t>(valid, 15);  // bounded work, whatever a request holds
  return p;
}

std::array<uint8_t, 16> nth_nonce(const std::array<uint8_t, 16>& seed, uint32_t i) {
  std::array<uint8_t, 16> n = seed;
  for (int k = 0; k < 4; ++k) n[12 + k] ^= static_cast<uint8_t>(i >> (24 - 8 * k));
  return n;
}

void write_garbage(std::span<uint8_t> out, uint64_t seed) {
  for (size_t i = 0; i < out.size(); i += 8) {
    const uint64_t r = next_random(seed);
    for (size_t j = 0; j < 8 && i + j < out.size(); ++j) out[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
}

}  // namespace

std::string_view name(DropReason r) {
  switch (r) {
    case DropReason::Malformed: return "malformed";
    case DropReason::UnsupportedVersion: return "unsupported-version";
    case DropReason::ModeNotServed: return "mode-not-served";
    case DropReason::SymmetricIgnored: return "symmetric-ignored";
    case DropReason::UnknownKey: return "unknown-key";
    case DropReason::RateLimited: return "rate-limited";
    case DropReason::Misbehaviour: return "misbehaviour";
    case DropReason::BadMac: return "bad-mac";
    case DropReason::BufferTooSmall: return "buffer-too-small";
    case DropReason::NtsPadding: return "nts-padding";
  }
  return "?";
}

ServerState announce(const ServerState& configured, Leap kernel) {
  ServerState s = configured;
  s.leap = kernel;
  if (kernel == Leap::Unsynchronized) {
    s.stratum = 0;
    s.reference_id = ReferenceId::from_kiss(KissCode::INIT);
  }
  return s;
}

Action respond(std::span<const uint8_t> request, const RequestContext& ctx, const Clock& clock,
               const ServerState& state, const Policy& policy, const Misbehaviour& mb, std::span<uint8_t> out) {
  // The one result, returned from every path: built in place in the caller's slot (a copy at
  // the end, read back in 16-byte words right after its fields were stored byte by byte, was a
  // store-forwarding stall that cost a fifth of the call).
  Action a;
  const auto drop = [&a](DropReason why) {
    a.kind = Action::Kind::Ignore;
    a.reason = why;
  };
  Draft d{state, ctx.random};
  mb.apply(Stage::Admit, d);

  // answer-malformed reads whatever header bytes there are, zero-padded, as a request.
  std::array<uint8_t, kHeaderLength> padded{};
  auto parsed = parse(request);
  if (!parsed && d.answer_malformed) {
    std::copy_n(request.begin(), std::min(request.size(), kHeaderLength), padded.begin());
    if (request.empty()) padded[0] = 0x23;  // nothing to read: answer as NTPv4 client mode
    parsed = parse(padded);
  }
  // Framing we cannot represent is dropped (RFC 7822 §3 for extension fields).
  if (!parsed) {
    drop(DropReason::Malformed);
    return a;
  }
  const PacketView& req = parsed.value();
  const Header& rq = req.header;

  const Decision decision = classify(rq, policy, d);
  if (!decision.serve) {
    drop(decision.reason);
    return a;
  }

  // A MAC of a key we hold whose digest verifies is answered with a MAC of the same key
  // (RFC 5905 §9.2, RFC 8573); any other MAC (an unknown key, a digest that does not verify)
  // gets a crypto-NAK or nothing (RFC 5905 §7.4). A symmetric-active request is answered only
  // when it authenticates: a valid mode 2 to anything else is CVE-2015-7871.
  bool crypto_nak = false;
  const auth::Key* reply_key = nullptr;
  if (req.mac && !d.ignore_mac) {
    auth::MacResult m;
    m.check = auth::MacCheck::UnknownKey;
    if (policy.keys != nullptr && policy.digests != nullptr) {
      PacketView checked = req;
      if (d.header_only_digest) checked.mac->offset = kHeaderLength;  // the misbehaviour: extension fields left out
      m = auth::verify_mac(checked, *policy.keys, *policy.digests);
    }
    const bool known_bad = m.check == auth::MacCheck::BadDigest || m.check == auth::MacCheck::WrongLength;
    if (m.check == auth::MacCheck::Valid) {
      reply_key = m.key;
    } else if ((known_bad || m.check == auth::MacCheck::UnknownKey) && d.accept_bad_mac) {
      // the misbehaviour: plain time for a forged digest
    } else if (decision.service == Service::Symmetric || policy.unknown_key == UnknownKeyPolicy::Drop) {
      {
        drop(known_bad ? DropReason::BadMac : DropReason::UnknownKey);
        return a;
      }
    } else {
      crypto_nak = true;
    }
  }
  bool uid_only = false;
  std::optional<NtsPlan> nts_plan = decision.service == Service::Client && !req.mac
                                        ? plan_nts(req, policy, uid_only, !d.nts_accept_short_nonce)
                                        : std::nullopt;
  if (nts_plan && nts_plan->drop) {
    drop(DropReason::NtsPadding);
    return a;
  }
  if (d.drop) {
    drop(DropReason::Misbehaviour);
    return a;
  }
  if (ctx.rate == RateVerdict::Drop) {
    drop(DropReason::RateLimited);
    return a;
  }

  mb.apply(Stage::Shape, d);
  if (reply_key != nullptr && d.always_nak) {
    reply_key = nullptr;
    crypto_nak = true;
  }
  if (d.unsigned_reply) reply_key = nullptr;
  // NTS misbehaviours on a request that does not verify: silence, or plain time, not NTSN.
  bool nts_nak = nts_plan && !nts_plan->verified;
  if (nts_nak && d.nts_no_nak) {
    drop(DropReason::Misbehaviour);
    return a;
  }
  const bool reused = nts_plan && nts_plan->verified && d.nts_plain_for_reused && seen_before(nts_plan->cookie_tag);
  if ((nts_nak && d.nts_time_for_bad) || (nts_plan && d.nts_plain) || reused) {
    nts_plan.reset();
    nts_nak = false;
  }
  a.kind = Action::Kind::Reply;
  d.action = &a;
  if (d.garbage) {
    if (out.size() < request.size()) {
      drop(DropReason::BufferTooSmall);
      return a;
    }
    write_garbage(out.first(request.size()), next_random(d.random));
    a.length = request.size();
    mb.apply(Stage::Send, d);
    return a;
  }
  const bool kod = ctx.rate == RateVerdict::KissOfDeath || d.kiss_of_death || nts_nak;
  a.kiss_of_death = kod;

  // fast_xmit (RFC 5905 Appendix A.5.3): copy VN and poll, origin <- the request's transmit,
  // the rest from the system variables.
  Header& h = d.reply;
  h.leap = state.leap;
  h.version = rq.version;
  h.mode = decision.service == Service::Symmetric ? Mode::SymmetricPassive : Mode::Server;
  h.stratum = state.stratum;
  h.poll = rq.poll;
  h.precision = state.precision;
  h.root_delay = state.root_delay;
  h.root_dispersion = state.root_dispersion;
  h.reference_id = state.reference_id;
  h.reference = state.reference_time;
  h.origin = rq.transmit;
  h.receive = ctx.receive;
  // RFC 9769 §2: the client asks for interleaved mode with the receive timestamp of its last
  // reply as origin and, in the receive field, a value of its own other than the transmit field
  // (the origin of the interleaved reply, by which it knows it); anything else is answered in
  // basic mode.
  const bool client_reply = !kod && decision.service == Service::Client;
  const std::optional<InterleaveSlot>& previous = ctx.previous;
  const bool asks = !rq.receive.is_zero() && rq.receive != rq.transmit;  // a basic client leaves them 0 or equal
  const bool interleave = policy.interleaved && client_reply && previous.has_value() &&
                          ((asks && !rq.origin.is_zero() && rq.origin == previous->receive) || d.interleaved_always);
  if (policy.interleaved && previous && h.receive == previous->receive) {
    h.receive = Timestamp::from_raw(h.receive.raw() + 1);  // unique: the client's next origin names this reply
  }
  if (interleave) h.origin = d.interleaved_wrong_origin ? rq.origin : rq.receive;
  if (kod) {
    // RFC 5905 §7.4: a kiss-o'-death has stratum 0 and the kiss code in the reference ID.
    h.leap = Leap::Unsynchronized;
    h.stratum = 0;
    h.reference_id = nts_nak       ? ReferenceId::from_kiss(KissCode::NTSN)
                     : d.kiss_code ? ReferenceId::from_ascii(std::string_view(d.kiss_code->data(), 4))
                                   : ReferenceId::from_kiss(KissCode::RATE);
    if (d.kiss_without_origin) h.origin = Timestamp{};
  }
  d.request = &rq;
  mb.apply(Stage::Header, d);

  // Reply layout: header, then (misbehaviour only) echoed extension fields, then a crypto-NAK.
  size_t length = kHeaderLength;
  const size_t echoed = d.echo_extensions ? req.extensions_end - kHeaderLength : 0;
  length += echoed;
  if (crypto_nak) length += kCryptoNakLength;
  if (reply_key != nullptr) length += 4 + auth::digest_length(reply_key->type);
  // oversize-reply: an extension field (at least 16 bytes, a multiple of 4) that takes the reply
  // past the request's length, whatever either length is.
  size_t padding = 0;
  if (d.oversize) {
    padding = request.size() + 16 > length ? request.size() + 16 - length : 16;
    padding = std::max<size_t>(16, (padding + 3) & ~size_t{3});
  }
  length += padding;
  // mac-unknown-key: a MAC last, as RFC 5905 §7.3 lays one out, of a key id nobody holds.
  const size_t foreign_mac = d.foreign_mac && reply_key == nullptr && !crypto_nak ? 4 + 16 : 0;
  length += foreign_mac;
  if (out.size() < length) {
    drop(DropReason::BufferTooSmall);
    return a;
  }

  size_t pos = kHeaderLength;
  if (echoed != 0) {
    const auto src = request.subspan(kHeaderLength, echoed);
    std::copy(src.begin(), src.end(), out.begin() + static_cast<std::ptrdiff_t>(pos));
    pos += echoed;
  }
  if (crypto_nak) {
    // RFC 5905 §7.4: a crypto-NAK is a MAC of key identifier 0 alone.
    std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(pos), kCryptoNakLength, uint8_t{0});
    pos += kCryptoNakLength;
    a.crypto_nak = true;
  }
  if (padding != 0) {
    // An unknown extension field of zeros: the reply stays parseable, just too long.
    std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(pos), padding, uint8_t{0});
    out[pos + 2] = static_cast<uint8_t>(padding >> 8);
    out[pos + 3] = static_cast<uint8_t>(padding);
    pos += padding;
  }
  if (foreign_mac != 0) {
    constexpr uint32_t kForeignKey = 65000;
    out[pos] = 0;
    out[pos + 1] = 0;
    out[pos + 2] = static_cast<uint8_t>(kForeignKey >> 8);
    out[pos + 3] = static_cast<uint8_t>(kForeignKey & 0xff);
    uint64_t r = d.random;
    for (size_t i = 4; i < foreign_mac; ++i) {
      r = r * 6364136223846793005ULL + 1442695040888963407ULL;
      out[pos + i] = static_cast<uint8_t>(r >> 56);
    }
  }

  // The transmit timestamp is read last, as late as possible before the bytes leave.
  h.transmit = clock.now();
  if (interleave && !d.interleaved_wrong_transmit) h.transmit = previous->transmit;  // the earlier reply's, precise
  if (policy.interleaved && h.transmit == h.receive) h.transmit = Timestamp::from_raw(h.transmit.raw() + 1);
  mb.apply(Stage::Stamped, d);
  a.remember = client_reply && !(interleave && d.interleaved_reuse);
  a.stamp_departure = policy.interleaved && client_reply && asks && !rq.origin.is_zero();
  a.interleaved = interleave;
  a.receive = h.receive;
  write_header(h, out.first<kHeaderLength>());
  a.length = length;
  if (nts_plan || uid_only) {
    // RFC 8915 §5.7: the Unique Identifier echoed, then (a verified request) the authenticator
    // under the S2C key sealing 1 + placeholders new cookies; an NTSN carries the UID alone.
    std::vector<uint8_t> v(out.begin(), out.begin() + kHeaderLength);
    const std::span<const uint8_t> uid = nts_plan ? nts_plan->uid_field : nts::fields_of(req).unique_ids.front().value;
    if (!uid.empty() && !d.nts_no_uid) {
      std::vector<uint8_t> uid_echo(uid.begin(), uid.end());
      if (d.nts_wrong_uid) uid_echo[0] ^= 0x01;
      nts::append_field(v, nts::kUniqueIdentifier, uid_echo);
    }
    if (nts_plan && nts_plan->verified) {
      std::vector<uint8_t> cookies;
      const size_t n = nts_plan->cookies + (d.nts_extra_cookie ? 1 : 0);
      for (uint32_t i = 0; i < n; ++i) {
        const auto cookie_nonce = nth_nonce(ctx.nonce_seed, i + 1);
        nts::append_field(cookies, nts::kCookie, policy.nts->make(nts_plan->keys, cookie_nonce));
      }
      if (d.nts_clear_cookies) {
        v.insert(v.end(), cookies.begin(), cookies.end());
        cookies.clear();
      }
      const size_t auth_at = v.size();
      const auto nonce = nth_nonce(ctx.nonce_seed, 0);
      if (!nts::append_authenticator(v, *policy.nts_aead, nts_plan->keys.s2c, nonce, cookies)) {
        drop(DropReason::BufferTooSmall);
        return a;
      }
      if (d.nts_bad_tag) v[auth_at + 8 + nonce.size()] ^= 0x01;  // the first octet of the tag
      a.nts = true;
    } else if (nts_nak && d.nts_nak_with_cookie) {
      nts::append_field(v, nts::kCookie, std::vector<uint8_t>(100, 0));
    }
    a.nts_nak = nts_nak;
    if (v.size() > out.size()) {
      drop(DropReason::BufferTooSmall);
      return a;
    }
    std::copy(v.begin(), v.end(), out.begin());
    a.length = v.size();
    mb.apply(Stage::Send, d);
    return a;
  }
  if (reply_key != nullptr) {
    // The MAC goes last: its digest covers the header and whatever extension fields precede it.
    const size_t before = length - 4 - auth::digest_length(reply_key->type);
    (void)auth::append_mac(out.first(length), before, *reply_key, *policy.digests);
    if (d.mac_other_key) {
      const uint32_t other = reply_key->id ^ 0x8000u;  // a key id the client did not use
      out[before] = static_cast<uint8_t>(other >> 24);
      out[before + 1] = static_cast<uint8_t>(other >> 16);
      out[before + 2] = static_cast<uint8_t>(other >> 8);
      out[before + 3] = static_cast<uint8_t>(other);
    }
    if (d.mac_bad_digest) out[length - 1] ^= 0x01;
    a.authenticated = true;
  }
  mb.apply(Stage::Send, d);
  return a;
}

}  // namespace ntpkit
