// Symmetric-key authentication (RFC 5905 §7.3, §9.1, §9.2, Appendix A.5.1 and A.5.3; RFC 8573):
// requests signed with the key of --key-id, and what a server that holds it must make of them.
// Every case needs the key: without --keys and --key-id the runner skips them.
//
// RFC 5905 writes these requirements in lower case ("must map to the same key", "must be
// supported"); its skeleton code (A.5.1 receive, A.5.3 fast_xmit) answers a request that
// authenticates with a MAC of the request's key and one that does not with a crypto-NAK. The
// levels below follow that: a reply a client must discard (RFC 5905 §8, Figure 22, test 5:
// "The cryptographic message digest does not match the MAC") is a MUST; how a forged request is
// refused is a SHOULD, as for the unknown-key cases of rfc5905 and rfc7822.
#include "judge_util.hpp"
#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

std::string describe_key(const auth::Key& k) {
  return "key " + std::to_string(k.id) + " (" + std::string(auth::to_string(k.type)) + ")";
}

// A request signed with `key`: the header, the extension fields, then the MAC over both.
std::vector<uint8_t> signed_request(StimulusContext& s, const auth::Key* key, std::vector<ExtensionField> efs = {},
                                    Mode mode = Mode::Client) {
  Packet p;
  p.header = client_header(s, 4, mode);
  p.extensions = std::move(efs);
  auto bytes = serialize(p);
  if (key == nullptr || s.auth == nullptr || s.auth->digests == nullptr) return bytes;
  const size_t n = bytes.size();
  bytes.resize(n + 4 + auth::kMaxDigest);
  bytes.resize(auth::append_mac(bytes, n, *key, *s.auth->digests));
  return bytes;
}

const auth::Key* request_key(const StimulusContext& s) {
  return s.auth != nullptr ? s.auth->key : nullptr;
}

// The signed request, then `tamper` on its MAC (key identifier at `mac`, digest after it).
template <class F>
Stimulus tampered(F tamper, Mode mode = Mode::Client) {
  return [tamper, mode](StimulusContext& s) {
    auto b = signed_request(s, request_key(s), {}, mode);
    if (request_key(s) != nullptr && b.size() > kHeaderLength + 4) tamper(b, kHeaderLength);
    return one(std::move(b));
  };
}

// A correctly signed control request, then the signed one `tamper` breaks: the control shows the
// server verifies our key, without which its refusal of the forged one proves nothing.
template <class F>
Stimulus controlled(F tamper) {
  return [tamper](StimulusContext& s) {
    Datagrams d;
    d.push_back(signed_request(s, request_key(s)));
    auto b = signed_request(s, request_key(s));
    if (request_key(s) != nullptr && b.size() > kHeaderLength + 4) tamper(b, kHeaderLength);
    d.push_back(std::move(b));
    return d;
  };
}

Judgement inconclusive(std::string why) {
  return {Finding::Inconclusive, std::move(why), "", ""};
}

Judgement no_key() {
  return {Finding::NotApplicable, "needs --keys FILE --key-id N", "", ""};
}

// The reply whose origin is the transmit of the i-th datagram we sent.
const Received* reply_to(const Observation& o, size_t i) {
  if (i >= o.sent.size() || o.sent[i].bytes.size() < kHeaderLength) return nullptr;
  const Header rq = parse_header(std::span<const uint8_t>(o.sent[i].bytes).first<kHeaderLength>());
  for (const auto& r : o.received) {
    if (r.bytes.size() >= kHeaderLength &&
        parse_header(std::span<const uint8_t>(r.bytes).first<kHeaderLength>()).origin == rq.transmit) {
      return &r;
    }
  }
  return nullptr;
}

// The one judge of a reply (exchange.hpp), for the reply to the i-th request.
ReplyProblems judged(const Observation& o, size_t i, const Received& r, const RequestKey& key) {
  const auto& sent = o.sent[i].bytes;
  return judge_reply(parse_header(std::span<const uint8_t>(sent).first<kHeaderLength>()), sent.size(), r.bytes, &key);
}

// The reply carries a MAC of the request's key that verifies (whatever else it says: an
// unsynchronised server's INIT reply is authenticated all the same).
bool authenticated(const ReplyProblems& p) {
  using P = ReplyProblem;
  for (P bad :
       {P::Malformed, P::OriginMismatch, P::NotAuthenticated, P::AuthCryptoNak, P::AuthOtherKey, P::AuthBadDigest}) {
    if (p.has(bad)) return false;
  }
  return true;
}

std::string describe_mac(const Received& r) {
  auto p = parse(r.bytes);
  if (!p) return std::to_string(r.size()) + " bytes that do not parse";
  if (!p->mac) return "a " + std::to_string(r.size()) + "-byte reply without a MAC";
  if (p->mac->kind == MacKind::CryptoNak) return "a crypto-NAK";
  return "a MAC of key " + std::to_string(p->mac->key_id) + " with a " + std::to_string(p->mac->digest.size()) +
         "-octet digest";
}

// A reply to a signed request that a client keeping the key can use, or why not. Nothing when it
// can; an inconclusive judgement for a crypto-NAK (the server does not hold the key as we do).
std::optional<Judgement> unauthenticated(const ReplyProblems& p, const Received& r, const auth::Key& k) {
  if (p.has(ReplyProblem::AuthCryptoNak)) {
    return inconclusive("a crypto-NAK: the server could not verify " + describe_key(k) +
                        "; it does not hold it, or its secret differs from --keys");
  }
  const std::string want = "a MAC of " + describe_key(k) + " that verifies";
  if (p.has(ReplyProblem::NotAuthenticated))
    return violated("an unauthenticated reply to a request signed with " + describe_key(k), want, describe_mac(r));
  if (p.has(ReplyProblem::AuthOtherKey))
    return violated("the reply's MAC is not of the request's key", want, describe_mac(r));
  if (p.has(ReplyProblem::AuthBadDigest))
    return violated("the reply's digest does not verify under " + describe_key(k), want,
                    describe_mac(r) + " that does not verify");
  return std::nullopt;
}

// The forged request (the second) is refused: a crypto-NAK passes, silence is the server's
// choice (info), time is a violation; judged only once the control request (the first) got a
// reply whose MAC of our key verifies.
Judgement refused_after_control(const Observation& o, const JudgeContext& ctx, const std::string& what) {
  if (ctx.auth == nullptr || ctx.auth->key == nullptr || o.sent.size() < 2) return no_key();
  const auth::Key& k = *ctx.auth->key;
  const Received* control = reply_to(o, 0);
  if (control == nullptr || !authenticated(judged(o, 0, *control, *ctx.auth))) {
    return inconclusive("the correctly signed control request got no reply with a MAC of " + describe_key(k) +
                        " that verifies: the server does not verify the key as --keys holds it, so how it treats "
                        "a forged one says nothing");
  }
  const Received* r = reply_to(o, 1);
  if (r == nullptr) {
    const Header first = parse_header(std::span<const uint8_t>(o.sent[0].bytes).first<kHeaderLength>());
    for (const auto& x : o.received) {
      if (x.bytes.size() >= kHeaderLength &&
          parse_header(std::span<const uint8_t>(x.bytes).first<kHeaderLength>()).origin == first.transmit) {
        continue;  // the control's reply, or a copy of it
      }
      return violated("a reply names neither request", "a crypto-NAK or no reply to the forged request",
                      describe_reply(x));
    }
    return documented("drops " + what);
  }
  auto p = parse(r->bytes);
  if (!p) {
    return violated("the reply to the forged request is not a well-formed NTP packet", "a crypto-NAK or no reply",
                    std::to_string(r->size()) + " bytes; " + describe(p.error()));
  }
  if (p->mac && p->mac->kind == MacKind::CryptoNak && p->mac->key_id == 0)
    return satisfied("answered with a crypto-NAK");
  return violated(
      "answered an unverifiable request without a crypto-NAK", "a crypto-NAK or no reply",
      p->mac ? "a reply with " + std::string(to_string(p->mac->kind)) + " of key " + std::to_string(p->mac->key_id)
             : "a plain " + std::to_string(r->size()) + "-byte reply");
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"auth/authenticated-reply", "RFC 5905", "7.3, 9.1, 9.2, A.5.3; RFC 8573", Level::Must,
       "A request signed with a key the server holds is answered with a MAC of the same key whose digest verifies "
       "over the whole reply.",
       Expect::Either, [](StimulusContext& s) { return one(signed_request(s, request_key(s))); },
       [](const Observation& o, const JudgeContext& ctx) -> Judgement {
         if (ctx.auth == nullptr || ctx.auth->key == nullptr) return no_key();
         const auth::Key& k = *ctx.auth->key;
         if (o.received.empty()) {
           return inconclusive("no answer to a request signed with " + describe_key(k) +
                               ", though plain requests are answered: the server may not hold the key");
         }
         return with_reply(o, [&](const Header& rq, const PacketView& rp, const Received& r) -> Judgement {
           if (auto v = check_origin(rq, rp.header)) return violated("the reply breaks the origin copy", *v);
           const ReplyProblems p = judged(o, 0, r, *ctx.auth);
           if (auto j = unauthenticated(p, r, k)) return *j;
           return satisfied("a MAC of " + describe_key(k) + " that verifies over the " +
                            std::to_string(rp.mac ? rp.mac->offset : r.size()) + " octets before it");
         });
       },
       false, false, true},
      {"auth/ef-then-mac", "RFC 5905", "7.3; RFC 7822 3", Level::Should,
       "A MAC after an extension field is verified over the header and the extension field (\"all NTP-header and "
       "optional extension fields\"): the server that verifies the key without one verifies it with one.",
       Expect::Either,
       [](StimulusContext& s) {
         Datagrams d;
         d.push_back(signed_request(s, request_key(s)));
         d.push_back(signed_request(s, request_key(s), {unknown_ef(28)}));
         return d;
       },
       [](const Observation& o, const JudgeContext& ctx) -> Judgement {
         if (ctx.auth == nullptr || ctx.auth->key == nullptr) return no_key();
         const auth::Key& k = *ctx.auth->key;
         const Received* plain = reply_to(o, 0);
         if (plain == nullptr || !authenticated(judged(o, 0, *plain, *ctx.auth))) {
           return inconclusive("the request signed with " + describe_key(k) +
                               " without an extension field got no authenticated reply "
                               "(auth/authenticated-reply tells why), so the one with an extension field says "
                               "nothing");
         }
         const Received* ef = reply_to(o, 1);
         if (ef == nullptr) {
           return documented("drops a signed request that carries an extension field, though it answers " +
                             describe_key(k) + " without one");
         }
         const ReplyProblems p = judged(o, 1, *ef, *ctx.auth);
         if (p.has(ReplyProblem::AuthCryptoNak)) {
           return violated("the MAC after an extension field was refused, though " + describe_key(k) +
                               " verifies without one: the digest does not cover the extension field",
                           "a MAC of " + describe_key(k) + " verified over header and extension field", "a crypto-NAK");
         }
         if (auto j = unauthenticated(p, *ef, k)) return *j;
         return satisfied("the MAC after a 28-octet extension field verifies, and so does the reply's");
       },
       false, false, true},
      {"auth/bad-digest", "RFC 5905", "9.2, A.5.1", Level::Should,
       "A request with the key's identifier and a digest that does not verify gets a crypto-NAK or no reply, never "
       "time (\"if authentication fails, the server returns a special message called a crypto-NAK\").",
       Expect::Either, controlled([](std::vector<uint8_t>& b, size_t) { b.back() ^= 0x01; }),
       [](const Observation& o, const JudgeContext& ctx) {
         return refused_after_control(o, ctx, "requests whose digest does not verify");
       },
       false, false, true},
      {"auth/wrong-length-digest", "RFC 5905", "7.3, 9.2; RFC 8573", Level::Should,
       "A MAC whose digest is not as long as the key's type makes it (a SHA1 digest cut to 16 octets; 4 octets "
       "beyond an MD5 or AES-CMAC digest) does not authenticate: a crypto-NAK or no reply.",
       Expect::Either, controlled([](std::vector<uint8_t>& b, size_t mac) {
         // 4 + 20 octets: cut to 4 + 16; 4 + 16: grown to 4 + 20. Either still parses as a MAC.
         if (b.size() - mac == kSha1MacLength) {
           b.resize(b.size() - 4);
         } else {
           b.insert(b.end(), {0x00, 0x00, 0x00, 0x00});
         }
       }),
       [](const Observation& o, const JudgeContext& ctx) {
         return refused_after_control(o, ctx, "requests whose digest has the wrong length");
       },
       false, false, true},
      {"auth/key-id-0", "RFC 5905", "7.4, 9.2", Level::Should,
       "A MAC of key identifier 0 (a crypto-NAK's, no key's) with a digest does not authenticate the request: a "
       "crypto-NAK or no reply.",
       Expect::Either, controlled([](std::vector<uint8_t>& b, size_t mac) { std::fill_n(b.begin() + mac, 4, 0); }),
       [](const Observation& o, const JudgeContext& ctx) {
         return refused_after_control(o, ctx, "requests whose MAC names key 0");
       },
       false, false, true},
      {"auth/symmetric-bad-digest", "RFC 5905", "9.2; CVE-2015-7871", Level::Must,
       "A symmetric-active request whose digest does not verify is never answered with a valid symmetric-passive "
       "packet.",
       Expect::Either, tampered([](std::vector<uint8_t>& b, size_t) { b.back() ^= 0x01; }, Mode::SymmetricActive),
       [](const Observation& o, const JudgeContext& ctx) -> Judgement {
         if (ctx.auth == nullptr) return no_key();
         if (o.received.empty()) return satisfied("not answered");
         return with_reply(o, [](const Header& rq, const PacketView& rp, const Received& r) -> Judgement {
           const bool nak = rp.mac && rp.mac->kind == MacKind::CryptoNak;
           if (rp.header.mode == Mode::SymmetricPassive && rp.header.origin == rq.transmit && !nak) {
             return violated("a forged digest mobilised a symmetric association",
                             "no valid mode-2 reply to an unauthenticated mode-1 request",
                             "a mode-2 reply with our origin and " + describe_mac(r));
           }
           if (nak) return satisfied("answered with a crypto-NAK");
           return documented("answered, but not with a valid mode-2 packet: " + describe_mode(rp.header.mode));
         });
       },
       false, false, true},
      {"auth/md5", "RFC 5905", "9.2; RFC 8573 (its abstract)", Level::May,
       "MD5 is deprecated (\"This document deprecates MD5-based authentication, which is considered too weak\"): a "
       "server that still accepts an MD5 key is reported.",
       Expect::Either,
       [](StimulusContext& s) {
         const auth::Key* md5 =
             s.auth != nullptr && s.auth->keys != nullptr ? s.auth->keys->first_of(auth::KeyType::Md5) : nullptr;
         return one(signed_request(s, md5 != nullptr ? md5 : request_key(s)));
       },
       [](const Observation& o, const JudgeContext& ctx) -> Judgement {
         const auth::Key* md5 =
             ctx.auth != nullptr && ctx.auth->keys != nullptr ? ctx.auth->keys->first_of(auth::KeyType::Md5) : nullptr;
         if (md5 == nullptr) return {Finding::NotApplicable, "no MD5 key in --keys to try", "", ""};
         if (o.received.empty()) {
           return documented("no answer to " + describe_key(*md5) + ": MD5 refused without a crypto-NAK, or lost");
         }
         const RequestKey key{md5, ctx.auth->keys, ctx.auth->digests};
         const ReplyProblems p = judged(o, 0, o.received.front(), key);
         if (p.has(ReplyProblem::AuthCryptoNak)) {
           return satisfied("a crypto-NAK to " + describe_key(*md5) +
                            ": MD5 is refused, or the server does not hold the key");
         }
         if (p.has(ReplyProblem::NotAuthenticated) || p.has(ReplyProblem::AuthOtherKey) ||
             p.has(ReplyProblem::AuthBadDigest)) {
           return documented("answers " + describe_key(*md5) + " with " + describe_mac(o.received.front()) +
                             " (auth/authenticated-reply judges that)");
         }
         return documented("accepts " + describe_key(*md5) + ", which RFC 8573 deprecates: AES-CMAC is recommended");
       },
       false, false, true},
  };
  return c;
}

}  // namespace

std::span<const Case> auth_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
