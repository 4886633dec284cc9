#include "ntpkit/replay.hpp"

#include <array>
#include <limits>
#include <functional>

#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/parse.hpp"

namespace ntpkit::replay {
namespace {

using conformance::Check;

// How long after a request a reply whose origin matches nothing is still taken for its answer.
constexpr int64_t kFallbackWindowNs = 5'000'000'000;
using conformance::Level;


// The ids are the live suite's where the requirement is the same.
constexpr std::array<Rule, 13> kRules = {{
    {"rfc5905/8/origin-copy", "RFC 5905", "8, A.5.3", Level::Must,
     "The reply's origin timestamp is the request's transmit timestamp, copied byte for byte."},
    {"rfc5905/8/reply-mode", "RFC 5905", "8, 9.2", Level::Must,
     "A client-mode (3) request is answered in server mode (4); symmetric active (1) in symmetric passive (2)."},
    {"rfc5905/A.5.3/version-echo", "RFC 5905", "A.5.3; RFC 4330 §6", Level::Must,
     "The reply's version number is the request's."},
    {"rfc5905/8/poll-echo", "RFC 5905", "A.5.3", Level::Should, "The reply's poll field is the request's poll."},
    {"rfc5905/8/receive-before-transmit", "RFC 5905", "7.3, 8", Level::Must,
     "The receive timestamp is not later than the transmit timestamp."},
    {"rfc5905/8/transmit-nonzero", "RFC 5905", "8", Level::Must, "The reply's transmit timestamp is set."},
    {"rfc5905/8/no-amplification", "RFC 5905", "A.5.3", Level::Must, "A reply is never longer than its request."},
    {"rfc5905/7.4/kiss-code", "RFC 5905", "7.3, 7.4", Level::Should,
     "A reply with stratum 0 carries a kiss code in its reference ID, unless it announces LI 3."},
    {"rfc5905/7.3/stratum-range", "RFC 5905", "7.3", Level::Must, "The stratum is 0-16; 17-255 are reserved."},
    {"rfc5905/7.3/leap-consistent", "RFC 5905", "7.3", Level::Should,
     "LI 3 (unsynchronized) goes with stratum 0 or 16."},
    {"rfc5905/8/one-reply", "RFC 5905", "A.5.3", Level::Should, "A server sends one reply to each request."},
    {"rfc5905/7.3/well-formed", "RFC 5905", "7.3, 7.5; RFC 7822 §3", Level::Should,
     "A datagram on the NTP port in modes 0-5 is a well-formed NTP packet."},
    {"rfc5905/9.2/symmetric-origin", "RFC 5905", "9.2, 8", Level::Must,
     "A symmetric-mode packet's origin is the transmit timestamp of the peer's last packet (0 on first contact)."},
}};

const Rule& rule(std::string_view id) {
  for (const auto& r : kRules) {
    if (r.id == id) return r;
  }
  return kRules[0];  // unreachable: every id used below is in the table
}

size_t hash_endpoint(const net::Endpoint& e) {
  size_t h = std::hash<uint64_t>()(e.port) ^ (e.address.v6 ? 0x9e3779b97f4a7c15ULL : 0);
  for (uint8_t b : e.address.bytes) h = h * 131 + b;
  return h;
}

bool is_ntp_mode(uint8_t first_byte, Mode m) { return static_cast<Mode>(first_byte & 0x7) == m; }

}  // namespace

std::span<const Rule> rules() { return kRules; }

size_t Analyzer::Hash::operator()(const FlowKey& k) const {
  return hash_endpoint(k.client) * 31 + hash_endpoint(k.server);
}
size_t Analyzer::Hash::operator()(const ExchangeKey& k) const {
  return (hash_endpoint(k.client) * 31 + hash_endpoint(k.server)) * 31 + std::hash<uint64_t>()(k.stamp);
}

Analyzer::Analyzer(Options options) : options_(options) {}

void Analyzer::add(const Datagram& d) {
  ++stats_.datagrams;
  evict(d.time_ns);
  if (d.payload.empty()) {
    ++stats_.malformed;
    return;
  }
  const uint8_t first = d.payload[0];
  // Modes 6 and 7 have their own formats (RFC 9327; ntpd's mode 7): counted, not parsed as NTP.
  if (is_ntp_mode(first, Mode::Control)) return add_control(d, Mode::Control);
  if (is_ntp_mode(first, Mode::Private)) return add_control(d, Mode::Private);

  auto parsed = parse(d.payload);
  if (!parsed) {
    ++stats_.malformed;
    report(rule("rfc5905/7.3/well-formed"), {d.source, d.destination}, d.frame, 0, "a well-formed NTP packet",
           std::to_string(d.payload.size()) + " bytes; " + describe(parsed.error()));
    return;
  }
  const Header& h = parsed->header;
  // A datagram that answers a pending request (on the reverse flow, origin = the request's
  // transmit) is a reply whatever its mode: a server answering in mode 3 or 5 is judged for it,
  // not taken for another client or a broadcaster.
  if (h.mode != Mode::Server && !h.origin.is_zero() &&
      requests_.count(ExchangeKey{d.destination, d.source, h.origin.raw()}) != 0) {
    return add_reply(d, *parsed);
  }
  switch (h.mode) {
    case Mode::Client: return add_request(d, h);
    case Mode::Server: return add_reply(d, *parsed);
    case Mode::SymmetricActive:
    case Mode::SymmetricPassive: return add_symmetric(d, h);
    case Mode::Broadcast: ++stats_.broadcast; return;
    default: ++stats_.other_modes; return;
  }
}

void Analyzer::add_request(const Datagram& d, const Header& h) {
  ++stats_.requests;
  const FlowKey flow{d.source, d.destination};
  const ExchangeKey key{d.source, d.destination, h.transmit.raw()};
  // A reply that came first in the file (misordered capture) waits for its request here.
  if (auto held = held_replies_.find(key); held != held_replies_.end()) {
    Request req{d.frame, d.time_ns, h, d.payload.size(), true};
    auto reply = parse(held->second.bytes);
    ++stats_.replies_before_request;
    if (reply) judge(flow, req, held->second.frame, *reply);
    remember_answered(key, d.time_ns);
    held_replies_.erase(held);
    return;
  }
  if (requests_.count(key) != 0 || answered_.count(key) != 0) {
    ++stats_.retransmissions;
    return;
  }
  requests_[key] = Request{d.frame, d.time_ns, h, d.payload.size(), false};
  request_ages_.push_back({d.time_ns, key});
  last_request_[flow] = key;
}

void Analyzer::add_reply(const Datagram& d, const PacketView& reply) {
  ++stats_.replies;
  const FlowKey flow{d.destination, d.source};
  const ExchangeKey key{d.destination, d.source, reply.header.origin.raw()};
  if (auto it = requests_.find(key); it != requests_.end()) {
    judge(flow, it->second, d.frame, reply);
    remember_answered(key, d.time_ns);
    forget_request(it);
    return;
  }
  if (answered_.count(key) != 0) {
    ++stats_.duplicate_replies;
    report(rule("rfc5905/8/one-reply"), flow, 0, d.frame, "one reply per request",
           "another reply with origin " + conformance::describe_timestamp(reply.header.origin));
    return;
  }
  // No request with this transmit: pair with the flow's latest request, whose origin then
  // does not match (what a server that does not copy the origin produces).
  if (auto last = last_request_.find(flow); last != last_request_.end()) {
    // Only a recent request: a reply long after the flow's last request is more likely the
    // answer to a request that comes later in a misordered capture, so it is held instead.
    if (auto it = requests_.find(last->second); it != requests_.end() && it->second.time_ns <= d.time_ns &&
                                                 d.time_ns - it->second.time_ns <= kFallbackWindowNs) {
      ++stats_.paired_by_fallback;
      judge(flow, it->second, d.frame, reply);
      remember_answered(it->first, d.time_ns);
      forget_request(it);
      return;
    }
  }
  held_replies_[key] = HeldReply{d.frame, d.time_ns, {reply.bytes.begin(), reply.bytes.end()}};
  held_ages_.push_back({d.time_ns, key});
}

void Analyzer::judge(const FlowKey& flow, const Request& req, uint64_t reply_frame, const PacketView& reply) {
  ++stats_.exchanges;
  ++stats_.servers[flow.server.address].exchanges;
  const Header& rq = req.header;
  const Header& rp = reply.header;
  const auto check = [&](std::string_view id, Check c) {
    if (c) report(rule(id), flow, req.frame, reply_frame, c->expected, c->actual);
  };
  check("rfc5905/8/origin-copy", conformance::check_origin(rq, rp));
  check("rfc5905/8/reply-mode", conformance::check_mode(rq, rp));
  check("rfc5905/A.5.3/version-echo", conformance::check_version_echo(rq, rp));
  check("rfc5905/8/poll-echo", conformance::check_poll_echo(rq, rp));
  check("rfc5905/8/receive-before-transmit", conformance::check_receive_not_after_transmit(rp));
  check("rfc5905/8/transmit-nonzero", conformance::check_transmit_nonzero(rp));
  check("rfc5905/8/no-amplification", conformance::check_no_amplification(req.length, reply.size()));
  check("rfc5905/7.4/kiss-code", conformance::check_kiss_shape(rp));
  check("rfc5905/7.3/stratum-range", conformance::check_stratum_range(rp));
  check("rfc5905/7.3/leap-consistent", conformance::check_leap_consistent(rp));
}

void Analyzer::add_symmetric(const Datagram& d, const Header& h) {
  ++stats_.symmetric_packets;
  // RFC 5905 §8: a symmetric packet's origin is the transmit of the last packet from the peer;
  // on first contact it is 0. Only judged when the capture holds the peer's previous packet.
  const FlowKey from_peer{d.destination, d.source};
  if (auto it = symmetric_last_.find(from_peer); it != symmetric_last_.end()) {
    ++stats_.symmetric_checks;
    if (h.origin != it->second.transmit) {
      ++stats_.symmetric_failures;
      report(rule("rfc5905/9.2/symmetric-origin"), {d.source, d.destination}, 0, d.frame,
             "origin " + conformance::describe_timestamp(it->second.transmit) + " (the peer's last transmit)",
             "origin " + conformance::describe_timestamp(h.origin));
    }
  }
  symmetric_last_[FlowKey{d.source, d.destination}] = {h.transmit, d.time_ns};
  symmetric_ages_.push_back({d.time_ns, FlowKey{d.source, d.destination}});
}

void Analyzer::add_control(const Datagram& d, Mode mode) {
  ControlTraffic& t = mode == Mode::Control ? stats_.mode6 : stats_.mode7;
  // The response bit: byte 1 bit 7 in mode 6 (RFC 9327 §2), byte 0 bit 7 in ntpd's mode 7.
  const bool response = mode == Mode::Control ? (d.payload.size() > 1 && (d.payload[1] & 0x80) != 0)
                                              : (d.payload[0] & 0x80) != 0;
  if (response) {
    ++t.responses;
    t.response_bytes += d.payload.size();
  } else {
    ++t.requests;
    t.request_bytes += d.payload.size();
  }
}

void Analyzer::report(const Rule& r, const FlowKey& flow, uint64_t request_frame, uint64_t reply_frame,
                      std::string expected, std::string actual) {
  ++stats_.servers[flow.server.address].findings;
  findings_.push_back({&r, request_frame, reply_frame, flow.client, flow.server, std::move(expected), std::move(actual)});
}

void Analyzer::remember_answered(const ExchangeKey& key, int64_t time_ns) {
  answered_[key] = time_ns;
  answered_ages_.push_back({time_ns, key});
}

void Analyzer::forget_request(std::unordered_map<ExchangeKey, Request, Hash>::iterator it) {
  const FlowKey flow{it->first.client, it->first.server};
  if (auto last = last_request_.find(flow); last != last_request_.end() && last->second == it->first) {
    last_request_.erase(last);
  }
  requests_.erase(it);
}

void Analyzer::evict(int64_t now_ns) {
  // Saturating: capture times come from the file and may be anything.
  const int64_t horizon = now_ns < std::numeric_limits<int64_t>::min() + options_.flow_timeout_ns
                              ? std::numeric_limits<int64_t>::min()
                              : now_ns - options_.flow_timeout_ns;
  while (!request_ages_.empty() && request_ages_.front().time_ns < horizon) {
    const auto [t, key] = request_ages_.front();
    request_ages_.pop_front();
    auto it = requests_.find(key);
    if (it == requests_.end() || it->second.time_ns != t) continue;  // answered, or renewed
    ++stats_.unanswered;
    forget_request(it);
  }
  while (!held_ages_.empty() && held_ages_.front().time_ns < horizon) {
    const auto [t, key] = held_ages_.front();
    held_ages_.pop_front();
    auto it = held_replies_.find(key);
    if (it == held_replies_.end() || it->second.time_ns != t) continue;
    ++stats_.unsolicited;
    held_replies_.erase(it);
  }
  while (!answered_ages_.empty() && answered_ages_.front().time_ns < horizon) {
    const auto [t, key] = answered_ages_.front();
    answered_ages_.pop_front();
    auto it = answered_.find(key);
    if (it != answered_.end() && it->second == t) answered_.erase(it);
  }
  while (!symmetric_ages_.empty() && symmetric_ages_.front().time_ns < horizon) {
    const auto [t, key] = symmetric_ages_.front();
    symmetric_ages_.pop_front();
    auto it = symmetric_last_.find(key);
    if (it != symmetric_last_.end() && it->second.time_ns == t) symmetric_last_.erase(it);
  }
}

void Analyzer::evict_all() {
  stats_.unanswered += requests_.size();
  stats_.unsolicited += held_replies_.size();
  requests_.clear();
  held_replies_.clear();
  answered_.clear();
  last_request_.clear();
  symmetric_last_.clear();
  request_ages_.clear();
  held_ages_.clear();
  answered_ages_.clear();
  symmetric_ages_.clear();
}

void Analyzer::finish() { evict_all(); }

}  // namespace ntpkit::replay
