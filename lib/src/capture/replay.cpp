#include "ntpkit/capture/replay.hpp"

#include "analyzer_impl.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::replay {
namespace {

using conformance::Check;

// How many client/server flows the interleaved link (each flow's last reply) holds at most.
constexpr size_t kMaxReplyLinks = 1 << 16;

// How long after a request a reply whose origin matches nothing is still taken for its answer.
constexpr int64_t kFallbackWindowNs = 5'000'000'000;
using conformance::Level;

// One rule model: every rule replay applies is a case of a suite, with its id, citation, level
// and requirement; the capture is judged with the verifiers the case uses.
constexpr std::array<std::string_view, 29> kRuleIds = {
    "rfc5905/8/origin-copy",
    "rfc5905/8/reply-mode",
    "rfc5905/A.5.1/vn0",
    "rfc5905/A.5.1/vn1",
    "rfc5905/A.5.1/vn2",
    "rfc5905/A.5.1/vn3",
    "rfc5905/A.5.1/vn4",
    "rfc5905/A.5.1/vn5",
    "rfc5905/A.5.1/vn6",
    "rfc5905/A.5.1/vn7",
    "rfc5905/8/poll-echo",
    "rfc5905/8/receive-before-transmit",
    "rfc5905/8/transmit-nonzero",
    "rfc5905/8/no-amplification",
    "rfc5905/7.4/kiss-code",
    "rfc5905/7.3/stratum-range",
    "rfc5905/7.3/leap-consistent",
    "rfc5905/8/one-reply",
    "rfc5905/7.3/well-formed",
    "rfc5905/9.2/mode1",
    "auth/authenticated-reply",
    "interleaved/previous-transmit",
    "interleaved/receive-once",
    "nts/authenticated-reply",
    "nts/uid-echo",
    "nts/cookies-encrypted",
    "nts/nak-shape",
    "nts/no-amplification",
    "nts/uid-standalone",
};

// FNV-1a: a Unique Identifier kept as 8 octets per pending request, compared with the reply's.
uint64_t fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

// The Unique Identifiers that precede a packet's authenticator (the authenticated ones).
std::vector<ExtensionFieldView> authenticated_uids(const nts::Fields& f) {
  std::vector<ExtensionFieldView> out;
  const size_t at = f.authenticators.empty() ? SIZE_MAX : f.authenticators.front().offset;
  for (const auto& e : f.unique_ids) {
    if (e.offset < at) out.push_back(e);
  }
  return out;
}

const std::vector<Rule>& rule_table() {
  static const std::vector<Rule> table = [] {
    std::vector<Rule> t;
    const auto cases = conformance::all_cases();
    for (std::string_view id : kRuleIds) {
      const auto it = std::find_if(cases.begin(), cases.end(), [&](const conformance::Case* c) { return c->id == id; });
      if (it == cases.end()) std::abort();  // a rule without its case: replay_test names it
      t.push_back({(*it)->id, (*it)->rfc, (*it)->section, (*it)->level, (*it)->requirement});
    }
    return t;
  }();
  return table;
}

const Rule& rule(std::string_view id) {
  for (const auto& r : rule_table()) {
    if (r.id == id) return r;
  }
  std::abort();  // every id used below is in kRuleIds (replay_test: EveryRuleIsACase)
}

// RFC 5905 A.5.1: the case of the request's version, which says how it is answered.
constexpr std::array<std::string_view, 8> kVersionCases = {
    "rfc5905/A.5.1/vn0", "rfc5905/A.5.1/vn1", "rfc5905/A.5.1/vn2", "rfc5905/A.5.1/vn3",
    "rfc5905/A.5.1/vn4", "rfc5905/A.5.1/vn5", "rfc5905/A.5.1/vn6", "rfc5905/A.5.1/vn7",
};

uint64_t word(const uint8_t* bytes) {
  uint64_t w;
  std::memcpy(&w, bytes, sizeof w);
  return w;
}

// Fibonacci multiply and a shift per word, finished with MurmurHash3's fmix64 so that both the
// low bits (the slot) and the high bits (FlatMap's tag) depend on every input bit.
uint64_t combine(uint64_t h, uint64_t w) {
  h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}
uint64_t finish_hash(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}
uint64_t flow_hash(const uint64_t (&c)[2], const uint64_t (&s)[2], uint64_t ports) {
  return combine(combine(combine(combine(combine(0, c[0]), c[1]), s[0]), s[1]), ports);
}

bool is_ntp_mode(uint8_t first_byte, Mode m) {
  return static_cast<Mode>(first_byte & 0x7) == m;
}

}  // namespace

std::span<const Rule> rules() {
  return rule_table();
}

uint64_t Analyzer::Impl::Hash::operator()(const FlowKey& k) const {
  return finish_hash(flow_hash(k.client_address, k.server_address, k.ports_and_families));
}
uint64_t Analyzer::Impl::Hash::operator()(const ExchangeKey& k) const {
  return finish_hash(
      combine(flow_hash(k.flow.client_address, k.flow.server_address, k.flow.ports_and_families), k.stamp));
}
uint64_t Analyzer::Impl::Hash::operator()(const net::Address& a) const {
  return finish_hash(combine(combine(a.v6 ? 1 : 0, word(a.bytes.data())), word(a.bytes.data() + 8)));
}

Analyzer::Impl::Flow Analyzer::Impl::flow(const net::Endpoint& client, const net::Endpoint& server) const {
  Flow f{};
  f.key.client_address[0] = word(client.address.bytes.data());
  f.key.client_address[1] = word(client.address.bytes.data() + 8);
  f.key.server_address[0] = word(server.address.bytes.data());
  f.key.server_address[1] = word(server.address.bytes.data() + 8);
  f.key.ports_and_families = uint64_t{client.port} | uint64_t{server.port} << 16 | uint64_t{client.address.v6} << 32 |
                             uint64_t{server.address.v6} << 33;
  f.hash = flow_hash(f.key.client_address, f.key.server_address, f.key.ports_and_families);
  f.client = &client;
  f.server = &server;
  return f;
}

// Equal to Hash{}(ExchangeKey{f.key, stamp}) without hashing the endpoints again.
uint64_t Analyzer::Impl::exchange_hash(const Flow& f, uint64_t stamp) {
  return finish_hash(combine(f.hash, stamp));
}

Analyzer::Impl::Impl(Options options) : options_(options) {
  if (options_.flow_timeout_ns < 0) options_.flow_timeout_ns = 0;
}

void Analyzer::Impl::add(const Datagram& d) {
  ++stats_.datagrams;
  // A request's table slot is new, so most likely not in cache: its key is read from the raw
  // bytes (the transmit timestamp) to load the slot while eviction and parsing run.
  Flow forward{};
  if (d.payload.size() >= kHeaderLength && is_ntp_mode(d.payload[0], Mode::Client)) {
    forward = flow(d.source, d.destination);
    uint64_t transmit = 0;
    for (size_t i = 40; i < kHeaderLength; ++i) transmit = transmit << 8 | d.payload[i];
    exchanges_.prefetch(exchange_hash(forward, transmit));
  }
  evict(d.time_ns);
  if (d.payload.empty()) {
    ++stats_.malformed;
    return;
  }
  const uint8_t first = d.payload[0];
  // Modes 6 and 7 have their own formats (RFC 9327; ntpd's mode 7): counted, not parsed as NTP.
  if (is_ntp_mode(first, Mode::Control)) return add_control(d, Mode::Control);
  if (is_ntp_mode(first, Mode::Private)) return add_control(d, Mode::Private);

  // Most datagrams are a bare header: parsed in place, without a Result to copy out of.
  if (d.payload.size() == kHeaderLength) return add_packet(d, parse_bare(d.payload.first<kHeaderLength>()), forward);
  auto parsed = parse(d.payload);
  if (!parsed) {
    // A malformed reply is still a reply: to a pending request (its header's origin names it)
    // it is judged as that request's answer, amplification included, client and server the
    // right way round.
    if (d.payload.size() >= kHeaderLength) {
      const Header h = parse_header(d.payload.first<kHeaderLength>());
      const Flow reverse = flow(d.destination, d.source);
      Exchange* e = exchanges_.find({reverse.key, h.origin.raw()}, exchange_hash(reverse, h.origin.raw()));
      if (e != nullptr && e->state == State::Pending) {
        ++stats_.replies;
        const Side& side = sides_[e->side];
        judge_malformed(reverse, {side.frame, side.header, side.length, side.key_id, side.nts}, d, parsed.error());
        answer(*e);
        forget_last_request({reverse.key, h.origin.raw()}, finish_hash(reverse.hash));
        return;
      }
      if (h.mode == Mode::Server) {  // a server's datagram: the server is its source
        ++stats_.malformed;
        report(rule("rfc5905/7.3/well-formed"), d.destination, d.source, 0, d.frame, "a well-formed NTP packet",
               std::to_string(d.payload.size()) + " bytes; " + describe(parsed.error()));
        return;
      }
    }
    ++stats_.malformed;
    report(rule("rfc5905/7.3/well-formed"), d.source, d.destination, d.frame, 0, "a well-formed NTP packet",
           std::to_string(d.payload.size()) + " bytes; " + describe(parsed.error()));
    return;
  }
  add_packet(d, *parsed, forward);
}

void Analyzer::Impl::add_packet(const Datagram& d, const PacketView& packet, const Flow& forward) {
  const Header& h = packet.header;
  // A datagram that answers a pending request (on the reverse flow, origin = the request's
  // transmit) is a reply whatever its mode: a server answering in mode 3 or 5 is judged for it,
  // not taken for another client or a broadcaster.
  if (h.mode == Mode::Server) return add_reply(d, packet, flow(d.destination, d.source));
  if (!h.origin.is_zero()) {
    const Flow reverse = flow(d.destination, d.source);
    const Exchange* e = exchanges_.find({reverse.key, h.origin.raw()}, exchange_hash(reverse, h.origin.raw()));
    if (e != nullptr && e->state == State::Pending) return add_reply(d, packet, reverse);
  }
  switch (h.mode) {
    case Mode::Client: return add_request(d, h, forward, request_key(packet), nts_tag(packet));
    case Mode::SymmetricActive:
    case Mode::SymmetricPassive: return add_symmetric(d, h);
    case Mode::Broadcast: ++stats_.broadcast; return;
    default: ++stats_.other_modes; return;
  }
}

Analyzer::Impl::NtsTag Analyzer::Impl::nts_tag(const PacketView& p) {
  NtsTag t;
  if (p.extension_count == 0) return t;
  const nts::Fields f = nts::fields_of(p);
  if (!f.cookies.empty() || !f.authenticators.empty()) {
    t.kind = 2;
  } else if (!f.unique_ids.empty()) {
    t.kind = 1;
  }
  const auto uids = authenticated_uids(f);
  if (uids.size() == 1) {
    t.uid_length = static_cast<uint16_t>(uids.front().value.size());
    t.uid_hash = fnv1a(uids.front().value);
  }
  return t;
}

uint32_t Analyzer::Impl::request_key(const PacketView& request) const {
  if (!request.mac || options_.keys == nullptr || options_.digests == nullptr) return 0;
  const auth::MacResult m = auth::verify_mac(request, *options_.keys, *options_.digests);
  return m.check == auth::MacCheck::Valid ? m.key_id : 0;
}

void Analyzer::Impl::add_request(const Datagram& d, const Header& h, const Flow& f, uint32_t key_id, NtsTag nts) {
  ++stats_.requests;
  const ExchangeKey key{f.key, h.transmit.raw()};
  const uint64_t hash = exchange_hash(f, key.stamp);
  auto [e, added] = exchanges_.try_emplace(key, hash);
  if (!added) {
    if (e->state != State::Held) {
      ++stats_.retransmissions;  // the same request again, pending or already answered
      return;
    }
    // A reply that came first in the file (misordered capture) waited for its request here.
    const uint32_t side = e->side;
    ++stats_.replies_before_request;
    if (auto reply = parse(sides_[side].held)) {
      judge(f, {d.frame, h, d.payload.size(), key_id, nts}, sides_[side].frame, *reply);
    }
    free_side(side);
    *e = Exchange{d.time_ns, 0, State::Answered};
    request_ages_.push_back({d.time_ns, key, hash});
    return;
  }
  const uint32_t side = new_side();
  *e = Exchange{d.time_ns, side, State::Pending};
  sides_[side].frame = d.frame;
  sides_[side].header = h;
  sides_[side].length = d.payload.size();
  sides_[side].key_id = key_id;
  sides_[side].nts = nts;
  request_ages_.push_back({d.time_ns, key, hash});
  *last_request_.try_emplace(f.key, finish_hash(f.hash)).first = key.stamp;
}

void Analyzer::Impl::add_reply(const Datagram& d, const PacketView& reply, const Flow& f) {
  ++stats_.replies;
  const ExchangeKey key{f.key, reply.header.origin.raw()};
  const uint64_t hash = exchange_hash(f, key.stamp);
  if (Exchange* e = exchanges_.find(key, hash); e != nullptr && e->state != State::Held) {
    if (e->state == State::Answered) {
      ++stats_.duplicate_replies;
      report(rule("rfc5905/8/one-reply"), *f.client, *f.server, 0, d.frame, "one reply per request",
             "another reply with origin " + conformance::describe_timestamp(reply.header.origin));
      return;
    }
    const Side& side = sides_[e->side];
    judge(f, {side.frame, side.header, side.length, side.key_id, side.nts}, d.frame, reply);
    answer(*e);
    forget_last_request(key, finish_hash(f.hash));
    return;
  }
  // No request with this transmit: pair with the flow's latest request, whose origin then
  // does not match (what a server that does not copy the origin produces).
  if (const uint64_t* last = last_request_.find(f.key, finish_hash(f.hash)); last != nullptr) {
    // Only a recent request: a reply long after the flow's last request is more likely the
    // answer to a request that comes later in a misordered capture, so it is held instead.
    const ExchangeKey last_key{f.key, *last};
    const uint64_t last_hash = exchange_hash(f, *last);
    Exchange* e = exchanges_.find(last_key, last_hash);
    if (e != nullptr && e->state == State::Pending && e->time_ns <= d.time_ns &&
        d.time_ns - e->time_ns <= kFallbackWindowNs) {
      ++stats_.paired_by_fallback;
      const Side& side = sides_[e->side];
      judge(f, {side.frame, side.header, side.length, side.key_id, side.nts}, d.frame, reply);
      answer(*e);
      forget_last_request(last_key, finish_hash(f.hash));
      return;
    }
  }
  // Held until its request comes; a second reply with the same origin takes the first's place.
  auto [e, added] = exchanges_.try_emplace(key, hash);
  if (added) *e = Exchange{0, new_side(), State::Held};
  e->time_ns = d.time_ns;
  sides_[e->side].frame = d.frame;
  sides_[e->side].held.assign(reply.bytes.begin(), reply.bytes.end());
  held_ages_.push_back({d.time_ns, key, hash});
}

// RFC 8915 as far as it needs no keys: the Unique Identifier echoed, an authenticator present and
// well formed, new cookies never in the clear, the NTSN's shape, the length rule; a Unique
// Identifier used alone echoed. (The tag itself needs the session's keys, which a capture lacks.)
void Analyzer::Impl::judge_nts(const Flow& f, const Request& req, uint64_t reply_frame, const PacketView& reply) {
  const auto found = [&](std::string_view id, std::string expected, std::string actual) {
    report(rule(id), *f.client, *f.server, req.frame, reply_frame, std::move(expected), std::move(actual));
  };
  const nts::Fields rf = nts::fields_of(reply);
  const auto uids = authenticated_uids(rf);
  bool echoed = false;
  for (const auto& e : uids) {
    echoed = echoed || (e.value.size() == req.nts.uid_length && fnv1a(e.value) == req.nts.uid_hash);
  }
  if (req.nts.kind == 1) {
    if (!echoed) found("nts/uid-standalone", "the request's Unique Identifier, unchanged", "not in the reply");
    return;
  }
  ++stats_.nts;
  if (auto v = conformance::check_nts_reply_length(req.length, reply.size()))
    found("nts/no-amplification", v->expected, v->actual);
  const Header& rp = reply.header;
  if (rp.stratum == 0 && rp.reference_id.kiss_code() == KissCode::NTSN) {
    ++stats_.nts_naks;
    if (auto v = conformance::check_nts_nak_shape(rf, req.nts.uid_length != 0, echoed))
      found("nts/nak-shape", v->expected, v->actual);
    return;
  }
  if (rf.authenticators.size() != 1) {
    found("nts/authenticated-reply", "one NTS Authenticator and Encrypted Extension Fields field",
          rf.authenticators.empty() ? "none: an unprotected reply to an NTS request"
                                    : std::to_string(rf.authenticators.size()) + " authenticators");
  } else if (auto a = nts::parse_authenticator(rf.authenticators.front()); !a) {
    found("nts/authenticated-reply", "a well-formed authenticator", nts::describe(a.error()));
  }
  if (req.nts.uid_length != 0 && !(echoed && uids.size() == 1)) {
    found("nts/uid-echo", "one authenticated Unique Identifier equal to the request's",
          uids.empty() ? "none" : std::to_string(uids.size()) + " field(s), not the request's");
  }
  if (auto v = conformance::check_nts_cookies_encrypted(rf)) found("nts/cookies-encrypted", v->expected, v->actual);
}

void Analyzer::Impl::judge(const Flow& f, const Request& req, uint64_t reply_frame, const PacketView& reply) {
  ++stats_.exchanges;
  ++server(f.server->address).exchanges;
  const Header& rq = req.header;
  const Header& rp = reply.header;
  const auto check = [&](std::string_view id, Check c) {
    if (c) report(rule(id), *f.client, *f.server, req.frame, reply_frame, c->expected, c->actual);
  };
  if (req.nts.kind != 0) judge_nts(f, req, reply_frame, reply);
  // An NTS exchange's length is RFC 8915's to judge (above); every other, the blanket rule.
  if (req.nts.kind != 2) {
    check("rfc5905/8/no-amplification", conformance::check_no_amplification(req.length, reply.size()));
  }
  check("rfc5905/8/reply-mode", conformance::check_mode(rq, rp));
  const std::string_view version_case = kVersionCases[rq.version & 7];
  if (rq.version == 0 || rq.version > 4) {
    check(version_case, conformance::Violation{"no reply: VN " + std::to_string(rq.version) + " is not implemented",
                                               "a reply, VN " + std::to_string(rp.version)});
  } else {
    check(version_case, conformance::check_version_echo(rq, rp));
  }
  check("rfc5905/7.4/kiss-code", conformance::check_kiss_shape(rp));
  // A reply that did not parse is judged on its header alone: what it holds after that is not
  // known to be a MAC, so it is not judged as one (well-formed has named it).
  const bool parsed_whole = reply.extensions_end != kHeaderLength || reply.mac || reply.size() == kHeaderLength;
  if (options_.keys != nullptr && options_.digests != nullptr && !conformance::is_kiss_of_death(rp) && parsed_whole) {
    judge_mac(f, req, reply_frame, reply);
  }
  // A kiss-o'-death is a message, not time (RFC 5905 §7.4): only its shape is judged, its
  // origin among it; ntpd's RATE copies the request's transmit into every timestamp and raises
  // the poll.
  if (conformance::is_kiss_of_death(rp)) {
    ++stats_.kiss_of_death;
    check("rfc5905/8/origin-copy", conformance::check_origin(rq, rp));
    return;
  }
  // RFC 9769 interleaved mode: the reply's origin is the request's receive field and its
  // transmit belongs to the previous exchange, so receive may follow it.
  const bool interleaved = conformance::is_interleaved(rq, rp);
  // One probe: the flow's last reply, read before this one takes its place. Bounded by a cap,
  // not aged: past kMaxReplyLinks flows the table starts again (a link it lost is a check that
  // is not made, never a finding).
  if (last_reply_.size() >= kMaxReplyLinks) last_reply_.clear();
  const auto [last, added] = last_reply_.try_emplace(f.key, finish_hash(f.hash));
  const LastReply before = *last;
  *last = {rp.receive, rp.transmit, interleaved ? rq.origin : before.spent};
  if (interleaved) {
    ++stats_.interleaved;
    // Linked to the earlier reply the request names (its origin is that reply's receive), where
    // the capture holds it; bounded by this request's arrival in any case.
    std::optional<Timestamp> previous;
    if (!added && before.receive == rq.origin) previous = before.transmit;
    check("interleaved/previous-transmit", conformance::check_interleaved_transmit(rp, previous));
    // Once per receive timestamp: the flow's last request answered interleaved named it.
    if (!added) check("interleaved/receive-once", conformance::check_receive_once(rq.origin, before.spent, rp, true));
  } else {
    check("rfc5905/8/origin-copy", conformance::check_origin(rq, rp));
    check("rfc5905/8/receive-before-transmit", conformance::check_receive_not_after_transmit(rp));
  }
  check("rfc5905/8/poll-echo", conformance::check_poll_echo(rq, rp));
  check("rfc5905/8/transmit-nonzero", conformance::check_transmit_nonzero(rp));
  check("rfc5905/7.3/stratum-range", conformance::check_stratum_range(rp));
  check("rfc5905/7.3/leap-consistent", conformance::check_leap_consistent(rp));
}

// With --keys: a signed request's reply carries a valid MAC of its key (a crypto-NAK says the
// server does not hold the key as we do: counted, not a finding); any reply's MAC of a key we
// hold verifies.
void Analyzer::Impl::judge_mac(const Flow& f, const Request& req, uint64_t reply_frame, const PacketView& reply) {
  const auto found = [&](std::string expected, std::string actual) {
    report(rule("auth/authenticated-reply"), *f.client, *f.server, req.frame, reply_frame, std::move(expected),
           std::move(actual));
  };
  const auto mac_text = [&] {
    if (!reply.mac) return std::string("no MAC");
    return "a MAC of key " + std::to_string(reply.mac->key_id) + " (" + std::to_string(reply.mac->digest.size()) +
           "-octet digest)";
  };
  if (req.key_id == 0) {
    const auth::MacResult m = auth::verify_mac(reply, *options_.keys, *options_.digests);
    if (m.check == auth::MacCheck::BadDigest || m.check == auth::MacCheck::WrongLength) {
      found("a MAC that verifies", mac_text() + " that does not verify");
    }
    return;
  }
  ++stats_.signed_requests;
  const RequestKey key{options_.keys->find(req.key_id), options_.keys, options_.digests};
  const ReplyProblems p = judge_reply_mac(reply, key);
  const std::string want = "a MAC of key " + std::to_string(req.key_id) + " that verifies";
  if (p.has(ReplyProblem::AuthCryptoNak)) {
    ++stats_.crypto_naks;
  } else if (p.has(ReplyProblem::NotAuthenticated)) {
    found(want, "an unauthenticated reply to a request signed with key " + std::to_string(req.key_id));
  } else if (p.has(ReplyProblem::AuthOtherKey)) {
    found(want, mac_text());
  } else if (p.has(ReplyProblem::AuthBadDigest)) {
    found(want, mac_text() + " that does not verify");
  } else {
    ++stats_.verified_replies;
  }
}

void Analyzer::Impl::judge_malformed(const Flow& f, const Request& req, const Datagram& reply,
                                     const ParseError& error) {
  ++stats_.malformed;
  report(rule("rfc5905/7.3/well-formed"), *f.client, *f.server, req.frame, reply.frame, "a well-formed NTP packet",
         std::to_string(reply.payload.size()) + " bytes; " + describe(error));
  if (reply.payload.size() < kHeaderLength) {
    ++stats_.exchanges;
    ++server(f.server->address).exchanges;
    return;
  }
  PacketView view = parse_bare(reply.payload.first<kHeaderLength>());
  view.bytes = reply.payload;  // its real length, for amplification
  judge(f, req, reply.frame, view);
}

void Analyzer::Impl::add_exchange(const Datagram& request, const Datagram& reply, bool first) {
  stats_.datagrams += first ? 2 : 1;
  if (first) ++stats_.requests;
  ++stats_.replies;
  if (request.payload.size() < kHeaderLength) return;  // no request we could have judged against
  const Header rq = parse_header(request.payload.first<kHeaderLength>());
  const Flow f = flow(request.source, request.destination);
  uint32_t key_id = 0;
  NtsTag nts;
  if (request.payload.size() > kHeaderLength) {
    if (auto parsed_request = parse(request.payload)) {
      key_id = request_key(*parsed_request);
      nts = nts_tag(*parsed_request);
    }
  }
  const Request req{request.frame, rq, request.payload.size(), key_id, nts};
  if (!first) {
    ++stats_.duplicate_replies;
    report(rule("rfc5905/8/one-reply"), *f.client, *f.server, request.frame, reply.frame, "one reply per request",
           "another reply, " + std::to_string(reply.payload.size()) + " bytes");
    return;
  }
  if (reply.payload.size() == kHeaderLength)
    return judge(f, req, reply.frame, parse_bare(reply.payload.first<kHeaderLength>()));
  auto parsed = parse(reply.payload);
  if (!parsed) return judge_malformed(f, req, reply, parsed.error());
  judge(f, req, reply.frame, *parsed);
}

void Analyzer::Impl::add_unanswered(const Datagram&) {
  ++stats_.datagrams;
  ++stats_.requests;
  ++stats_.unanswered;
}

void Analyzer::Impl::add_symmetric(const Datagram& d, const Header& h) {
  ++stats_.symmetric_packets;
  // RFC 5905 §8: a symmetric packet's origin is the transmit of the last packet from the peer;
  // on first contact it is 0. Only judged when the capture holds the peer's previous packet.
  if (const LastTransmit* last = symmetric_last_.find(flow(d.destination, d.source).key); last != nullptr) {
    ++stats_.symmetric_checks;
    if (h.origin != last->transmit) {
      ++stats_.symmetric_failures;
      report(rule("rfc5905/9.2/mode1"), d.source, d.destination, 0, d.frame,
             "origin " + conformance::describe_timestamp(last->transmit) + " (the peer's last transmit)",
             "origin " + conformance::describe_timestamp(h.origin));
    }
  }
  const FlowKey from_here = flow(d.source, d.destination).key;
  *symmetric_last_.try_emplace(from_here).first = {h.transmit, d.time_ns};
  symmetric_ages_.push_back({d.time_ns, from_here});
}

void Analyzer::Impl::add_control(const Datagram& d, Mode mode) {
  ControlTraffic& t = mode == Mode::Control ? stats_.mode6 : stats_.mode7;
  // The response bit: byte 1 bit 7 in mode 6 (RFC 9327 §2), byte 0 bit 7 in ntpd's mode 7.
  const bool response =
      mode == Mode::Control ? (d.payload.size() > 1 && (d.payload[1] & 0x80) != 0) : (d.payload[0] & 0x80) != 0;
  if (response) {
    ++t.responses;
    t.response_bytes += d.payload.size();
  } else {
    ++t.requests;
    t.request_bytes += d.payload.size();
  }
}

void Analyzer::Impl::report(const Rule& r, const net::Endpoint& client, const net::Endpoint& server_endpoint,
                            uint64_t request_frame, uint64_t reply_frame, std::string expected, std::string actual) {
  ++server(server_endpoint.address).findings;
  findings_.push_back(
      {&r, request_frame, reply_frame, client, server_endpoint, std::move(expected), std::move(actual)});
}

ServerSummary& Analyzer::Impl::server(const net::Address& address) {
  auto [cached, added] = servers_.try_emplace(address);
  if (added) *cached = &stats_.servers[address];
  return **cached;
}

// A pending request is answered (judged): kept, with its request's time, until the window has
// passed since the request, to tell a duplicate reply or a retransmitted request from a stray.
// Its entry in request_ages_ evicts it then: nothing is queued for it a second time.
void Analyzer::Impl::answer(Exchange& e) {
  free_side(e.side);
  e.side = 0;
  e.state = State::Answered;
}

void Analyzer::Impl::forget_last_request(const ExchangeKey& key, uint64_t flow_hash) {
  if (uint64_t* last = last_request_.find(key.flow, flow_hash); last != nullptr && *last == key.stamp) {
    last_request_.erase_at(last);
  }
}

uint32_t Analyzer::Impl::new_side() {
  if (free_sides_.empty()) {
    sides_.emplace_back();
    return static_cast<uint32_t>(sides_.size() - 1);
  }
  const uint32_t side = free_sides_.back();
  free_sides_.pop_back();
  return side;
}

void Analyzer::Impl::free_side(uint32_t side) {
  sides_[side].held.clear();
  free_sides_.push_back(side);
}

void Analyzer::Impl::evict(int64_t now_ns) {
  // Saturating: capture times come from the file and may be anything.
  const int64_t horizon = now_ns < std::numeric_limits<int64_t>::min() + options_.flow_timeout_ns
                              ? std::numeric_limits<int64_t>::min()
                              : now_ns - options_.flow_timeout_ns;
  // Pops the old front of `ages` while it names an exchange of that time, and hands each to
  // `drop`, which removes it (or leaves it, when it is in a state this queue does not age).
  const auto pop = [&](RingQueue<AgedExchange>& ages, auto drop) {
    while (!ages.empty() && ages.front().time_ns < horizon) {
      const AgedExchange& a = ages.front();
      Exchange* e = exchanges_.find(a.key, a.hash);
      if (e != nullptr && e->time_ns == a.time_ns) drop(a.key, e);
      ages.pop_front();
    }
    // The entry two places on comes due in a packet or two: its table slot, written 120 s ago and
    // long out of cache, is loaded now so that its lookup does not wait for memory. The queue's own
    // entries are as old: those 16 places on are loaded too, for the prefetch above to read.
    if (ages.size() > 2) exchanges_.prefetch(ages[2].hash);
    if (ages.size() > 16) __builtin_prefetch(&ages[16]);
  };
  // A request, answered or not, goes when the window has passed since it was sent.
  pop(request_ages_, [&](const ExchangeKey& key, Exchange* e) {
    if (e->state == State::Answered) {
      exchanges_.erase_at(e);
      return;
    }
    if (e->state != State::Pending) return;
    ++stats_.unanswered;
    free_side(e->side);
    exchanges_.erase_at(e);
    forget_last_request(key, Hash{}(key.flow));
  });
  pop(held_ages_, [&](const ExchangeKey&, Exchange* e) {
    if (e->state != State::Held) return;
    ++stats_.unsolicited;
    free_side(e->side);
    exchanges_.erase_at(e);
  });
  while (!symmetric_ages_.empty() && symmetric_ages_.front().time_ns < horizon) {
    const auto [t, key] = symmetric_ages_.front();
    symmetric_ages_.pop_front();
    LastTransmit* last = symmetric_last_.find(key);
    if (last != nullptr && last->time_ns == t) symmetric_last_.erase_at(last);
  }
}

void Analyzer::Impl::evict_all() {
  exchanges_.for_each([&](const ExchangeKey&, Exchange& e) {
    if (e.state == State::Pending) ++stats_.unanswered;
    if (e.state == State::Held) ++stats_.unsolicited;
  });
  exchanges_.clear();
  sides_.clear();
  free_sides_.clear();
  last_request_.clear();
  symmetric_last_.clear();
  last_reply_.clear();
  request_ages_.clear();
  held_ages_.clear();
  symmetric_ages_.clear();
}

void Analyzer::Impl::finish() {
  evict_all();
}

// --- The public face ------------------------------------------------------------------------------

Analyzer::Analyzer(Options options) : impl_(std::make_unique<Impl>(options)) {}
Analyzer::~Analyzer() = default;
Analyzer::Analyzer(Analyzer&&) noexcept = default;
Analyzer& Analyzer::operator=(Analyzer&&) noexcept = default;
void Analyzer::add(const Datagram& d) {
  impl_->add(d);
}
void Analyzer::add_exchange(const Datagram& request, const Datagram& reply, bool first) {
  impl_->add_exchange(request, reply, first);
}
void Analyzer::add_unanswered(const Datagram& request) {
  impl_->add_unanswered(request);
}
void Analyzer::finish() {
  impl_->finish();
}
const std::vector<Finding>& Analyzer::findings() const {
  return impl_->findings();
}
const Stats& Analyzer::stats() const {
  return impl_->stats();
}

}  // namespace ntpkit::replay
