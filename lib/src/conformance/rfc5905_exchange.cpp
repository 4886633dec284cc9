// RFC 5905 §8 and Appendix A.5.3 (fast_xmit): the basic client/server exchange.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

// A client request whose transmit timestamp is `make(s)`.
auto request_with_transmit(Timestamp (*make)(StimulusContext&)) {
  return [make](StimulusContext& s) {
    Header h = client_header(s);
    h.transmit = make(s);
    return one(bytes_of(h));
  };
}

Datagrams plain_request(StimulusContext& s) {
  return one(bytes_of(client_header(s)));
}

Judgement origin_copied(const Observation& o, const JudgeContext&) {
  return reply_satisfies(o, "the origin is our transmit timestamp, byte for byte", {check_origin});
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"rfc5905/8/reply-mode", "RFC 5905", "8, 9.2", Level::Must,
       "A server answers a client-mode (3) request with a server-mode (4) reply.", Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return reply_satisfies(o, "the reply is in server mode (4)", {check_mode});
       }},
      {"rfc5905/8/one-reply", "RFC 5905", "A.5.3", Level::Should,
       "A server sends exactly one reply to each client request (fast_xmit transmits one packet).", Expect::Reply,
       plain_request,
       [](const Observation& o, const JudgeContext&) {
         if (o.received.size() == 1) return satisfied("exactly one reply");
         if (o.received.empty()) return violated("no reply within the timeout", "one reply", "silence");
         return violated("the server answered more than once", "one reply",
                         std::to_string(o.received.size()) + " replies");
       }},
      {"rfc5905/8/origin-copy", "RFC 5905", "8, A.5.3", Level::Must,
       "The reply's origin timestamp is the request's transmit timestamp, copied byte for byte.", Expect::Reply,
       plain_request, origin_copied},
      {"rfc5905/8/origin-copy-all-ones", "RFC 5905", "8, A.5.3", Level::Must,
       "The origin copy is exact for a transmit timestamp of all ones.", Expect::Reply,
       request_with_transmit([](StimulusContext&) { return Timestamp::from_raw(~uint64_t{0}); }), origin_copied},
      {"rfc5905/8/origin-copy-era1", "RFC 5905", "6, 8", Level::Must,
       "The origin copy is exact for a transmit timestamp in era 1 (after 2036-02-07).", Expect::Reply,
       request_with_transmit([](StimulusContext& s) {
         return Timestamp::from_parts(0x00001234 + static_cast<uint32_t>(s.rng() % 0x10000),
                                      static_cast<uint32_t>(s.rng()));
       }),
       origin_copied},
      {"rfc5905/8/origin-copy-low-bits", "RFC 5905", "8, A.5.3", Level::Must,
       "The origin copy keeps the lowest fraction bits (no rounding to a coarser clock).", Expect::Reply,
       request_with_transmit([](StimulusContext& s) { return Timestamp::from_parts(s.now.seconds(), 0x00000001); }),
       origin_copied},
      {"rfc5905/8/transmit-nonzero", "RFC 5905", "8", Level::Must,
       "The reply's transmit timestamp is set (a zero transmit timestamp marks an invalid packet).", Expect::Reply,
       plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [](const Header&, const PacketView& rp, const Received&) {
           if (auto v = check_transmit_nonzero(rp.header)) return violated("the transmit timestamp is zero", *v);
           return satisfied("the transmit timestamp is set");
         });
       }},
      {"rfc5905/8/receive-before-transmit", "RFC 5905", "7.3, 8", Level::Must,
       "The receive timestamp (request arrival) is not later than the transmit timestamp (reply departure).",
       Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [](const Header&, const PacketView& rp, const Received&) {
           if (auto v = check_receive_not_after_transmit(rp.header)) return violated("receive is after transmit", *v);
           return satisfied("receive <= transmit");
         });
       }},
      // RFC 5905 lets a basic-mode server stamp transmit as it likes, receive included (it only
      // asks that receive is not after transmit, the case above); RFC 9769 asks distinct
      // timestamps of servers that support interleaved mode, which a basic exchange cannot tell.
      // So equal timestamps are reported, not warned about.
      {"rfc5905/8/transmit-after-receive", "RFC 5905", "7.3, A.5.3", Level::May,
       "The transmit timestamp is taken when the reply leaves; a basic-mode server may also send it equal to the "
       "receive timestamp.",
       Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [](const Header&, const PacketView& rp, const Received&) {
           if (check_transmit_differs_from_receive(rp.header)) {
             return documented("transmit equals receive (" + describe_timestamp(rp.header.receive) +
                               "): allowed in basic mode");
           }
           return satisfied("transmit differs from receive");
         });
       }},
      {"rfc5905/8/poll-echo", "RFC 5905", "A.5.3", Level::Should,
       "The reply's poll field is the request's poll (fast_xmit copies it).", Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return reply_satisfies(o, "the poll is echoed", {check_poll_echo});
       }},
      {"rfc5905/8/offset", "RFC 5905", "8", Level::Should,
       "The offset computed from the four timestamps is within --max-offset of the probe's clock.", Expect::Reply,
       plain_request,
       [](const Observation& o, const JudgeContext& ctx) {
         return with_reply(o, [&](const Header&, const PacketView& rp, const Received& r) {
           if (auto v = check_offset(o.sent.front().local_time, rp.header, r.local_time, ctx.max_offset)) {
             return violated("the server's clock is off", *v);
           }
           return satisfied("the server's time agrees with ours");
         });
       }},
      {"rfc5905/8/reply-source", "RFC 5905", "9.2", Level::Must,
       "The reply comes from the address and port the request was sent to (port 123 for a server on 123), to "
       "ours.",
       Expect::Reply, plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [](const Header&, const PacketView&, const Received& r) {
           if (!r.from_target)
             return violated("the reply came from elsewhere", "the target's address and port", r.source);
           return satisfied("the reply came from " + r.source);
         });
       }},
      {"rfc5905/8/no-amplification", "RFC 5905", "A.5.3", Level::Must,
       "A reply is never longer than its request (fast_xmit answers with a header of its own).", Expect::Reply,
       plain_request,
       [](const Observation& o, const JudgeContext&) {
         return with_reply(o, [&](const Header&, const PacketView&, const Received& r) {
           if (auto v = check_no_amplification(o.sent.front().bytes.size(), r.size())) {
             return violated("the reply is longer than the request", *v);
           }
           return satisfied("the reply is no longer than the request");
         });
       }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_exchange_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
