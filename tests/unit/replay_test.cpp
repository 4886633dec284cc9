// replay::Analyzer: pairing by flow and origin, and the shared verifiers on recorded exchanges.
#include "ntpkit/capture/replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "fake_digests.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::replay {
namespace {

net::Endpoint ep(uint8_t last, uint16_t port) {
  net::Endpoint e;
  e.address.bytes[0] = 192;
  e.address.bytes[1] = 0;
  e.address.bytes[2] = 2;
  e.address.bytes[3] = last;
  e.port = port;
  return e;
}

const net::Endpoint kClient = ep(10, 40000);
const net::Endpoint kServer = ep(1, 123);
constexpr int64_t kSecond = 1'000'000'000;

Header request_header(uint64_t transmit, uint8_t vn = 4) {
  Header h;
  h.version = vn;
  h.mode = Mode::Client;
  h.poll = 6;
  h.transmit = Timestamp::from_raw(transmit);
  return h;
}

Header reply_header(uint64_t origin, uint8_t vn = 4) {
  Header h;
  h.version = vn;
  h.mode = Mode::Server;
  h.poll = 6;
  h.stratum = 2;
  h.origin = Timestamp::from_raw(origin);
  h.receive = Timestamp::from_parts(1000, 0);
  h.transmit = Timestamp::from_parts(1000, 10);
  return h;
}

class Feed {
 public:
  Feed() = default;
  explicit Feed(Options o) : analyzer(o) {}
  void packet(const net::Endpoint& from, const net::Endpoint& to, const Header& h, int64_t t, size_t extra = 0) {
    auto b = serialize_header(h);
    std::vector<uint8_t> bytes(b.begin(), b.end());
    bytes.resize(bytes.size() + extra, 0);
    raw(from, to, bytes, t);
  }
  void raw(const net::Endpoint& from, const net::Endpoint& to, std::vector<uint8_t> bytes, int64_t t) {
    buffers_.push_back(std::move(bytes));
    analyzer.add({++frame_, t, from, to, buffers_.back()});
  }
  std::vector<std::string_view> rules() const {
    std::vector<std::string_view> out;
    for (const auto& f : analyzer.findings()) out.push_back(f.rule->id);
    return out;
  }
  Analyzer analyzer;

 private:
  uint64_t frame_ = 0;
  std::vector<std::vector<uint8_t>> buffers_;
};

TEST(Replay, AGoodExchangeHasNoFindings) {
  Feed f;
  f.packet(kClient, kServer, request_header(0x1111), 0);
  f.packet(kServer, kClient, reply_header(0x1111), kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().exchanges, 1U);
  EXPECT_TRUE(f.analyzer.findings().empty());
  EXPECT_EQ(f.analyzer.stats().servers.at(kServer.address).exchanges, 1U);
}

TEST(Replay, AnOriginWrongInTheLowestBitIsPairedByFlowAndFound) {
  Feed f;
  f.packet(kClient, kServer, request_header(0xE6C69F5F12345678), 0);
  f.packet(kServer, kClient, reply_header(0xE6C69F5F12345679), kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().paired_by_fallback, 1U);
  ASSERT_EQ(f.rules(), std::vector<std::string_view>{"rfc5905/8/origin-copy"});
  const Finding& x = f.analyzer.findings().front();
  EXPECT_EQ(x.request_frame, 1U);
  EXPECT_EQ(x.reply_frame, 2U);
  EXPECT_NE(x.actual.find("differs in bits 0000000000000001"), std::string::npos) << x.actual;
}

TEST(Replay, ReplyBeforeItsRequestInAMisorderedCapture) {
  Feed f;
  f.packet(kServer, kClient, reply_header(0x2222), 0);
  f.packet(kClient, kServer, request_header(0x2222), kSecond);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().exchanges, 1U);
  EXPECT_EQ(f.analyzer.stats().replies_before_request, 1U);
  EXPECT_EQ(f.analyzer.stats().unsolicited, 0U);
  EXPECT_TRUE(f.analyzer.findings().empty());
}

TEST(Replay, AMisorderedReplyIsNotPairedWithAnOldUnansweredRequest) {
  Feed f;
  f.packet(kClient, kServer, request_header(0xAAAA), 0);           // never answered
  f.packet(kServer, kClient, reply_header(0xBBBB), 64 * kSecond);  // answers the next one
  f.packet(kClient, kServer, request_header(0xBBBB), 64 * kSecond + 1000);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().exchanges, 1U);
  EXPECT_EQ(f.analyzer.stats().replies_before_request, 1U);
  EXPECT_EQ(f.analyzer.stats().unanswered, 1U);
  EXPECT_TRUE(f.analyzer.findings().empty());
}

// replay --keys: a signed request's reply must carry a valid MAC of its key; a crypto-NAK is
// counted (the server does not hold the key as we do), not found; an unsigned exchange is judged
// only for a reply MAC of a key we hold that does not verify.
TEST(Replay, SignedExchangesAreJudgedByTheirMacs) {
  static const test::FakeDigests digests;
  static const auth::KeyStore keys({{7, auth::KeyType::Aes128Cmac, std::vector<uint8_t>(16, 0x42)}});
  const auto sign = [&](const Header& h, std::optional<uint32_t> id, bool corrupt = false) {
    const auto head = serialize_header(h);
    std::vector<uint8_t> b(head.begin(), head.end());
    if (!id) return b;
    b.resize(kHeaderLength + 4 + auth::kMaxDigest);
    b.resize(auth::append_mac(b, kHeaderLength, *keys.find(7), digests));
    b[kHeaderLength + 3] = static_cast<uint8_t>(*id);  // the key id named (7 signs)
    if (corrupt) b.back() ^= 1;
    return b;
  };
  struct Reply {
    const char* what;
    std::optional<uint32_t> key;
    bool corrupt;
    bool nak;
    bool finding;
  };
  for (const Reply& r : {Reply{"verified", 7, false, false, false}, Reply{"unsigned", std::nullopt, false, false, true},
                         Reply{"bad digest", 7, true, false, true}, Reply{"other key", 9, false, false, true},
                         Reply{"crypto-NAK", std::nullopt, false, true, false}}) {
    SCOPED_TRACE(r.what);
    Feed f(Options{.keys = &keys, .digests = &digests});
    f.raw(kClient, kServer, sign(request_header(0x2222), 7), 0);
    auto reply = sign(reply_header(0x2222), r.key, r.corrupt);
    if (r.nak) reply.resize(kHeaderLength + 4, 0);
    f.raw(kServer, kClient, reply, kSecond / 100);
    f.analyzer.finish();
    EXPECT_EQ(f.analyzer.stats().signed_requests, 1U);
    EXPECT_EQ(f.analyzer.stats().verified_replies, r.finding || r.nak ? 0U : 1U);
    EXPECT_EQ(f.analyzer.stats().crypto_naks, r.nak ? 1U : 0U);
    EXPECT_EQ(f.rules(),
              r.finding ? std::vector<std::string_view>{"auth/authenticated-reply"} : std::vector<std::string_view>{});
  }
  // A request whose digest does not verify under --keys is not ours to judge the reply of; but a
  // reply MAC of a key we hold must verify whatever the request was.
  Feed f(Options{.keys = &keys, .digests = &digests});
  f.raw(kClient, kServer, sign(request_header(0x3333), 7, true), 0);
  f.raw(kServer, kClient, sign(reply_header(0x3333), std::nullopt), kSecond / 100);
  f.raw(kClient, kServer, sign(request_header(0x4444), std::nullopt), kSecond);
  f.raw(kServer, kClient, sign(reply_header(0x4444), 7, true), kSecond + kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().signed_requests, 0U);
  // (A 68-byte reply to a 48-byte request is longer than it, too.)
  ASSERT_EQ(f.rules(), (std::vector<std::string_view>{"rfc5905/8/no-amplification", "auth/authenticated-reply"}));
  EXPECT_EQ(f.analyzer.findings().back().request_frame, 3U);
  EXPECT_NE(f.analyzer.findings().back().actual.find("a MAC of key 7 (16-octet digest) that does not verify"),
            std::string::npos)
      << f.analyzer.findings().back().actual;
  // Without --keys nothing of this is judged.
  Feed plain;
  plain.raw(kClient, kServer, sign(request_header(0x5555), 7), 0);
  plain.raw(kServer, kClient, sign(reply_header(0x5555), std::nullopt), kSecond / 100);
  plain.analyzer.finish();
  EXPECT_TRUE(plain.rules().empty());
}

TEST(Replay, UnansweredUnsolicitedRetransmittedAndDuplicated) {
  Feed f;
  f.packet(kClient, kServer, request_header(0x3333), 0);
  f.packet(kClient, kServer, request_header(0x3333), kSecond);  // retransmission
  f.packet(kServer, kClient, reply_header(0x3333), 2 * kSecond);
  f.packet(kServer, kClient, reply_header(0x3333), 2 * kSecond + 1000);  // duplicate
  f.packet(kClient, ep(2, 123), request_header(0x4444), 3 * kSecond);    // never answered
  f.packet(ep(3, 123), kClient, reply_header(0x5555), 4 * kSecond);      // nobody asked
  f.analyzer.finish();
  const Stats& s = f.analyzer.stats();
  EXPECT_EQ(s.exchanges, 1U);
  EXPECT_EQ(s.retransmissions, 1U);
  EXPECT_EQ(s.duplicate_replies, 1U);
  EXPECT_EQ(s.unanswered, 1U);
  EXPECT_EQ(s.unsolicited, 1U);
  EXPECT_EQ(f.rules(), std::vector<std::string_view>{"rfc5905/8/one-reply"});
}

// The window runs from the request: an answered exchange is kept 120 s after its request, to tell
// a late duplicate reply from a stray, then forgotten.
TEST(Replay, AnAnsweredExchangeIsKeptForTheWindowAfterItsRequest) {
  Feed f;
  f.packet(kClient, kServer, request_header(0x7777), 0);
  f.packet(kServer, kClient, reply_header(0x7777), kSecond);
  f.packet(kServer, kClient, reply_header(0x7777), 119 * kSecond);  // still a duplicate
  f.packet(kServer, kClient, reply_header(0x7777), 121 * kSecond);  // the exchange is gone: a stray
  f.analyzer.finish();
  const Stats& s = f.analyzer.stats();
  EXPECT_EQ(s.exchanges, 1U);
  EXPECT_EQ(s.duplicate_replies, 1U);
  EXPECT_EQ(s.unsolicited, 1U);
  EXPECT_EQ(s.unanswered, 0U);
}

TEST(Replay, EveryExchangeRuleFires) {
  Feed f;
  Header bad = reply_header(0x6666, 3);  // version not echoed
  bad.poll = 10;                         // poll not echoed
  bad.stratum = 0;                       // stratum 0 without a kiss code, LI 0
  bad.transmit = Timestamp{};            // zero transmit
  f.packet(kClient, kServer, request_header(0x6666), 0);
  f.packet(kServer, kClient, bad, 1000, 16);  // 64 bytes to a 48-byte request
  f.analyzer.finish();
  const auto r = f.rules();
  for (std::string_view id : {"rfc5905/A.5.1/vn4", "rfc5905/8/poll-echo", "rfc5905/8/transmit-nonzero",
                              "rfc5905/8/no-amplification", "rfc5905/7.4/kiss-code"}) {
    EXPECT_NE(std::find(r.begin(), r.end(), id), r.end()) << id;
  }
}

TEST(Replay, AReplyInTheWrongModeIsStillAReply) {
  for (Mode m : {Mode::Client, Mode::Broadcast}) {
    Feed f;
    Header wrong = reply_header(0x9999);
    wrong.mode = m;
    f.packet(kClient, kServer, request_header(0x9999), 0);
    f.packet(kServer, kClient, wrong, 1000);
    f.analyzer.finish();
    EXPECT_EQ(f.analyzer.stats().exchanges, 1U);
    EXPECT_EQ(f.analyzer.stats().unanswered, 0U);
    EXPECT_EQ(f.rules(), std::vector<std::string_view>{"rfc5905/8/reply-mode"});
  }
}

TEST(Replay, SymmetricOriginsAreCheckedAgainstThePeersLastTransmit) {
  Feed f;
  Header active;
  active.version = 3;
  active.mode = Mode::SymmetricActive;
  active.transmit = Timestamp::from_raw(0x7777);
  Header passive = active;
  passive.mode = Mode::SymmetricPassive;
  passive.origin = Timestamp::from_raw(0x7777);
  passive.transmit = Timestamp::from_raw(0x8888);
  f.packet(kClient, kServer, active, 0);
  f.packet(kServer, kClient, passive, 1000);
  passive.origin = Timestamp::from_raw(0x7778);  // wrong
  f.packet(kServer, kClient, passive, 2000);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().symmetric_packets, 3U);
  EXPECT_EQ(f.analyzer.stats().symmetric_checks, 2U);
  EXPECT_EQ(f.analyzer.stats().symmetric_failures, 1U);
  EXPECT_EQ(f.rules(), std::vector<std::string_view>{"rfc5905/9.2/mode1"});
}

TEST(Replay, ControlAndPrivateModesAreCountedWithTheirBytes) {
  Feed f;
  f.raw(kClient, kServer, {0x16, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 0);
  std::vector<uint8_t> response(100, 0);
  response[0] = 0x16;
  response[1] = 0x81;  // the response bit of mode 6
  f.raw(kServer, kClient, response, 1000);
  std::vector<uint8_t> monlist(48, 0);
  monlist[0] = 0x17;
  monlist[3] = 42;
  f.raw(kClient, kServer, monlist, 2000);
  std::vector<uint8_t> items(440, 0);
  items[0] = 0x97;  // the response bit of mode 7
  f.raw(kServer, kClient, items, 3000);
  f.analyzer.finish();
  const Stats& s = f.analyzer.stats();
  EXPECT_EQ(s.mode6.requests, 1U);
  EXPECT_EQ(s.mode6.request_bytes, 12U);
  EXPECT_EQ(s.mode6.responses, 1U);
  EXPECT_EQ(s.mode6.response_bytes, 100U);
  EXPECT_EQ(s.mode7.requests, 1U);
  EXPECT_EQ(s.mode7.response_bytes, 440U);
  EXPECT_EQ(s.exchanges, 0U);
  EXPECT_TRUE(f.analyzer.findings().empty());
}

TEST(Replay, MalformedDatagramsAreFoundNotPaired) {
  Feed f;
  f.raw(kClient, kServer, std::vector<uint8_t>(47, 0x23), 0);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().malformed, 1U);
  EXPECT_EQ(f.rules(), std::vector<std::string_view>{"rfc5905/7.3/well-formed"});
}

TEST(Replay, StateIsEvictedByCaptureTime) {
  Feed f;
  for (uint64_t i = 0; i < 10000; ++i) {
    f.packet(kClient, kServer, request_header(0x100000 + i), static_cast<int64_t>(i) * kSecond);
  }
  // Long before the end every old request was given up: memory did not grow with the file.
  EXPECT_GT(f.analyzer.stats().unanswered, 9000U);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().unanswered, 10000U);
}

// A RATE kiss-o'-death as ntpd and ntpsec send it: LI 3, stratum 0, poll raised, and the
// request's transmit copied into origin, receive and transmit. Only its shape is judged.
TEST(Replay, AKissOfDeathsTimestampsAreNotJudged) {
  Feed f;
  Header rq = request_header(0x4444);
  rq.transmit = Timestamp{};  // a data-minimised client that sends transmit 0 gets all-zero timestamps
  Header kod = reply_header(0);
  kod.leap = Leap::Unsynchronized;
  kod.stratum = 0;
  kod.poll = 10;
  kod.reference_id = ReferenceId::from_kiss(KissCode::RATE);
  kod.origin = kod.receive = kod.transmit = rq.transmit;
  f.packet(kClient, kServer, rq, 0);
  f.packet(kServer, kClient, kod, kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().exchanges, 1U);
  EXPECT_EQ(f.analyzer.stats().kiss_of_death, 1U);
  EXPECT_TRUE(f.analyzer.findings().empty()) << f.rules().front();
  // The same reply as time breaks transmit-nonzero: the judgement above is not vacuous.
  Feed g;
  kod.stratum = 2;
  kod.leap = Leap::NoWarning;
  g.packet(kClient, kServer, rq, 0);
  g.packet(kServer, kClient, kod, kSecond / 100);
  g.analyzer.finish();
  EXPECT_NE(std::find(g.rules().begin(), g.rules().end(), "rfc5905/8/transmit-nonzero"), g.rules().end());
}

TEST(Replay, AKissOfDeathWithoutOurOriginIsFound) {
  Feed f;
  Header kod = reply_header(0);
  kod.stratum = 0;
  kod.reference_id = ReferenceId::from_kiss(KissCode::RATE);
  f.packet(kClient, kServer, request_header(0x5555), 0);
  f.packet(kServer, kClient, kod, kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.rules(), std::vector<std::string_view>{"rfc5905/8/origin-copy"});
}

// RFC 9769: the client's second request carries the server's earlier receive as origin; the
// server answers with the request's receive field as origin and its previous transmit, which is
// before this exchange's receive.
TEST(Replay, AnInterleavedExchangeIsJudgedByRfc9769) {
  Feed f;
  f.packet(kClient, kServer, request_header(0x1000), 0);
  Header first = reply_header(0x1000);
  f.packet(kServer, kClient, first, kSecond / 100);
  Header rq = request_header(0x2000);
  rq.origin = first.receive;                     // the server's T2 of the first exchange
  rq.receive = Timestamp::from_parts(1000, 99);  // the client's T4 of the first exchange
  f.packet(kClient, kServer, rq, kSecond);
  Header rp = reply_header(0);
  rp.origin = rq.receive;
  rp.receive = Timestamp::from_parts(1001, 0);
  rp.transmit = Timestamp::from_parts(1000, 20);  // the first reply's real transmit time
  f.packet(kServer, kClient, rp, kSecond + kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.analyzer.stats().exchanges, 2U);
  EXPECT_EQ(f.analyzer.stats().interleaved, 1U);
  EXPECT_TRUE(f.analyzer.findings().empty()) << f.rules().front();
  // A basic client (origin 0) that gets the same reply: a wrong origin.
  Feed g;
  rq.origin = Timestamp{};
  g.packet(kClient, kServer, rq, 0);
  g.packet(kServer, kClient, rp, kSecond / 100);
  g.analyzer.finish();
  EXPECT_NE(std::find(g.rules().begin(), g.rules().end(), "rfc5905/8/origin-copy"), g.rules().end());
}

// The interleaved transmit is the previous reply's departure: after this request arrived, or
// (linked through the request's origin to the earlier reply in the capture) before that reply's
// own transmit field, it is found under the suite's case, interleaved/previous-transmit.
TEST(Replay, AnInterleavedTransmitOutsideItsWindowIsFound) {
  for (const auto& [transmit, why] : {std::pair{Timestamp::from_parts(1001, 5), "after this request arrived"},
                                      std::pair{Timestamp::from_parts(1000, 5), "before the previous reply"}}) {
    SCOPED_TRACE(why);
    Feed f;
    f.packet(kClient, kServer, request_header(0x1000), 0);
    Header first = reply_header(0x1000);  // receive 1000.0, transmit 1000.10
    f.packet(kServer, kClient, first, kSecond / 100);
    Header rq = request_header(0x2000);
    rq.origin = first.receive;
    rq.receive = Timestamp::from_parts(1000, 99);
    f.packet(kClient, kServer, rq, kSecond);
    Header rp = reply_header(0);
    rp.origin = rq.receive;
    rp.receive = Timestamp::from_parts(1001, 0);
    rp.transmit = transmit;
    f.packet(kServer, kClient, rp, kSecond + kSecond / 100);
    f.analyzer.finish();
    EXPECT_EQ(f.analyzer.stats().interleaved, 1U);
    ASSERT_EQ(f.rules(), std::vector<std::string_view>{"interleaved/previous-transmit"});
    EXPECT_NE(f.analyzer.findings().front().actual.find(why), std::string::npos)
        << f.analyzer.findings().front().actual;
  }
}

// RFC 9769 §2: a receive timestamp answers one interleaved request. A client that asks again with
// the same origin (a replay, or a retry after a lost reply) gets a basic reply; an interleaved one
// is found under the suite's case, interleaved/receive-once. Asking with the next reply's receive
// is the normal dialogue and no finding.
TEST(Replay, AReceiveTimestampAnsweredInterleavedTwiceIsFound) {
  for (const bool again : {true, false}) {
    SCOPED_TRACE(again ? "the same origin again" : "the next reply's receive");
    Feed f;
    f.packet(kClient, kServer, request_header(0x1000), 0);
    Header first = reply_header(0x1000);  // receive 1000.0, transmit 1000.10
    f.packet(kServer, kClient, first, kSecond / 100);
    Header rq = request_header(0x2000);
    rq.origin = first.receive;
    rq.receive = Timestamp::from_parts(1000, 99);
    f.packet(kClient, kServer, rq, kSecond);
    Header rp = reply_header(0);
    rp.origin = rq.receive;
    rp.receive = Timestamp::from_parts(1001, 0);
    rp.transmit = Timestamp::from_parts(1000, 20);
    f.packet(kServer, kClient, rp, kSecond + kSecond / 100);
    Header rq2 = request_header(0x3000);
    rq2.origin = again ? first.receive : rp.receive;
    rq2.receive = Timestamp::from_parts(1001, 99);
    f.packet(kClient, kServer, rq2, 2 * kSecond);
    Header rp2 = reply_header(0);
    rp2.origin = rq2.receive;
    rp2.receive = Timestamp::from_parts(1002, 0);
    rp2.transmit = Timestamp::from_parts(1001, 20);
    f.packet(kServer, kClient, rp2, 2 * kSecond + kSecond / 100);
    f.analyzer.finish();
    EXPECT_EQ(f.analyzer.stats().interleaved, 2U);
    if (again) {
      ASSERT_EQ(f.rules(), std::vector<std::string_view>{"interleaved/receive-once"});
      EXPECT_NE(f.analyzer.findings().front().expected.find("already answered interleaved"), std::string::npos);
    } else {
      EXPECT_TRUE(f.analyzer.findings().empty()) << f.rules().front();
    }
  }
}

// A reply the parser rejects is still the answer to its request: amplification is judged on it,
// and the finding names the client and the server the right way round.
TEST(Replay, AnUnparseableReplyIsJudgedForAmplification) {
  Feed f;
  f.packet(kClient, kServer, request_header(0x6666), 0);
  auto b = serialize_header(reply_header(0x6666));
  std::vector<uint8_t> bytes(b.begin(), b.end());
  bytes.resize(1448, 0xAB);  // an extension field that overruns
  f.raw(kServer, kClient, bytes, kSecond / 100);
  f.analyzer.finish();
  const auto rules = f.rules();
  EXPECT_NE(std::find(rules.begin(), rules.end(), "rfc5905/7.3/well-formed"), rules.end());
  EXPECT_NE(std::find(rules.begin(), rules.end(), "rfc5905/8/no-amplification"), rules.end());
  for (const auto& x : f.analyzer.findings()) {
    EXPECT_EQ(x.client, kClient) << x.rule->id;
    EXPECT_EQ(x.server, kServer) << x.rule->id;
  }
  EXPECT_EQ(f.analyzer.stats().unanswered, 0U);
}

// Live replay's direct entry: what comes back on the request's socket is its reply, whatever
// it holds.
TEST(Replay, TheDirectEntryJudgesAnyDatagramAsTheReply) {
  const auto rq = serialize_header(request_header(0x7777));
  for (const auto& [name, reply] : std::vector<std::pair<std::string, std::vector<uint8_t>>>{
           {"zeros", std::vector<uint8_t>(48, 0)},
           {"ones", std::vector<uint8_t>(48, 0xFF)},
           {"echo", std::vector<uint8_t>(rq.begin(), rq.end())}}) {
    Analyzer a;
    a.add_exchange({1, 0, kClient, kServer, rq}, {2, 1, kServer, kClient, reply});
    a.finish();
    bool mode = false, origin = false;
    for (const auto& x : a.findings()) {
      mode = mode || x.rule->id == "rfc5905/8/reply-mode";
      origin = origin || x.rule->id == "rfc5905/8/origin-copy";
    }
    EXPECT_TRUE(mode) << name;
    EXPECT_TRUE(origin || name == "echo") << name;  // an echo's origin is the request's origin, 0
    EXPECT_EQ(a.stats().exchanges, 1U) << name;
  }
  Analyzer dup;
  const auto rp = serialize_header(reply_header(0x7777));
  dup.add_exchange({1, 0, kClient, kServer, rq}, {2, 1, kServer, kClient, rp});
  dup.add_exchange({1, 0, kClient, kServer, rq}, {3, 2, kServer, kClient, rp}, false);
  ASSERT_EQ(dup.findings().size(), 1U);
  EXPECT_EQ(dup.findings().front().rule->id, "rfc5905/8/one-reply");
}

// One rule model: every rule replay applies is a case of a suite, with the case's id, citation,
// level and requirement.
TEST(Replay, EveryRuleIsACase) {
  const auto cases = conformance::all_cases();
  ASSERT_FALSE(rules().empty());
  for (const Rule& r : rules()) {
    const auto it = std::find_if(cases.begin(), cases.end(), [&](const conformance::Case* c) { return c->id == r.id; });
    ASSERT_NE(it, cases.end()) << r.id;
    EXPECT_EQ(r.requirement, (*it)->requirement) << r.id;
    EXPECT_EQ(r.level, (*it)->level) << r.id;
    EXPECT_EQ(r.section, (*it)->section) << r.id;
  }
}

// A request's version picks the case that judges its answer: VN 3 and 4 must be echoed, VN 0
// and 5-7 should not be answered at all.
TEST(Replay, TheVersionCasesJudgeTheAnswerToEachVersion) {
  Feed f;
  f.packet(kClient, kServer, request_header(0x8001, 3), 0);
  f.packet(kServer, kClient, reply_header(0x8001, 4), kSecond / 100);
  f.packet(kClient, kServer, request_header(0x8002, 5), kSecond);
  f.packet(kServer, kClient, reply_header(0x8002, 5), kSecond + kSecond / 100);
  f.packet(kClient, kServer, request_header(0x8003, 4), 2 * kSecond);
  f.packet(kServer, kClient, reply_header(0x8003, 4), 2 * kSecond + kSecond / 100);
  f.analyzer.finish();
  EXPECT_EQ(f.rules(), (std::vector<std::string_view>{"rfc5905/A.5.1/vn3", "rfc5905/A.5.1/vn5"}));
}

}  // namespace
}  // namespace ntpkit::replay

// --- NTS (RFC 8915) without the keys ---

namespace ntpkit::replay {
namespace {

// Seals nothing: a tag of zeros. Replay judges NTS without the session's keys, so any AEAD will
// do to build the fields.
class NullAead final : public nts::Aead {
 public:
  [[nodiscard]] uint16_t id() const override { return 15; }
  [[nodiscard]] size_t key_length() const override { return 32; }
  [[nodiscard]] size_t tag_length() const override { return 16; }
  [[nodiscard]] bool seal(std::span<const uint8_t>, std::span<const uint8_t>, std::span<const uint8_t>,
                          std::span<const uint8_t> plaintext, std::span<uint8_t> out) const override {
    std::fill(out.begin(), out.end(), 0);
    std::copy(plaintext.begin(), plaintext.end(), out.begin() + 16);
    return true;
  }
  [[nodiscard]] bool open(std::span<const uint8_t>, std::span<const uint8_t>, std::span<const uint8_t>,
                          std::span<const uint8_t>, std::span<uint8_t>) const override {
    return true;
  }
};

const NullAead kNull;
const std::vector<uint8_t> kUid(32, 0x33);
const std::vector<uint8_t> kKey(32, 0);
const std::vector<uint8_t> kNonce(16, 0x44);

std::vector<uint8_t> nts_request(bool full = true) {
  std::vector<uint8_t> r(kHeaderLength);
  write_header(request_header(0x7777), std::span<uint8_t>(r).first<kHeaderLength>());
  nts::append_field(r, nts::kUniqueIdentifier, kUid);
  if (!full) return r;
  nts::append_field(r, nts::kCookie, std::vector<uint8_t>(100, 0xC0));
  EXPECT_TRUE(nts::append_authenticator(r, kNull, kKey, kNonce));
  return r;
}

// The reply as a server would send it, or damaged as `what` says.
std::vector<uint8_t> nts_reply(const std::string& what) {
  Header h = reply_header(0x7777);
  if (what == "ntsn" || what == "ntsn-with-cookie") {
    h.stratum = 0;
    h.reference_id = ReferenceId::from_kiss(KissCode::NTSN);
  }
  std::vector<uint8_t> r(kHeaderLength);
  write_header(h, std::span<uint8_t>(r).first<kHeaderLength>());
  auto uid = kUid;
  if (what == "other-uid") uid[0] ^= 1;
  if (what != "no-uid") nts::append_field(r, nts::kUniqueIdentifier, uid);
  if (what == "ntsn") return r;
  std::vector<uint8_t> cookies;
  nts::append_field(cookies, nts::kCookie, std::vector<uint8_t>(100, 0xC1));
  if (what == "ntsn-with-cookie" || what == "clear-cookie") r.insert(r.end(), cookies.begin(), cookies.end());
  if (what == "ntsn-with-cookie") return r;
  if (what == "longer") nts::append_field(cookies, nts::kCookie, std::vector<uint8_t>(100, 0xC2));
  if (what != "plain") {
    const std::vector<uint8_t> sealed = what == "clear-cookie" ? std::vector<uint8_t>{} : cookies;
    EXPECT_TRUE(nts::append_authenticator(r, kNull, kKey, kNonce, sealed));
  }
  return r;
}

TEST(ReplayNts, EachDeviationIsFoundUnderItsCase) {
  for (const auto& [what, rule] :
       std::vector<std::pair<std::string, std::string>>{{"good", ""},
                                                        {"ntsn", ""},
                                                        {"other-uid", "nts/uid-echo"},
                                                        {"no-uid", "nts/uid-echo"},
                                                        {"plain", "nts/authenticated-reply"},
                                                        {"clear-cookie", "nts/cookies-encrypted"},
                                                        {"ntsn-with-cookie", "nts/nak-shape"},
                                                        {"longer", "nts/no-amplification"}}) {
    SCOPED_TRACE(what);
    Feed f;
    f.raw(kClient, kServer, nts_request(), 0);
    f.raw(kServer, kClient, nts_reply(what), kSecond / 100);
    f.analyzer.finish();
    EXPECT_EQ(f.analyzer.stats().nts, 1U);
    const auto rules = f.rules();
    if (rule.empty()) {
      EXPECT_TRUE(rules.empty()) << rules.front();
    } else {
      EXPECT_NE(std::find(rules.begin(), rules.end(), rule), rules.end())
          << (rules.empty() ? std::string("no finding") : std::string(rules.front()));
      // RFC 8915's length rule, not the blanket one: never both.
      EXPECT_EQ(std::find(rules.begin(), rules.end(), "rfc5905/8/no-amplification"), rules.end());
    }
  }
  // A Unique Identifier alone is echoed on plain time.
  Feed g;
  g.raw(kClient, kServer, nts_request(false), 0);
  g.packet(kServer, kClient, reply_header(0x7777), kSecond / 100);
  g.analyzer.finish();
  EXPECT_EQ(g.rules(), std::vector<std::string_view>{"nts/uid-standalone"});
}

}  // namespace
}  // namespace ntpkit::replay
