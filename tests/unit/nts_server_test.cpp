// The NTS server side, pure (lib/nts cookie and KE answer, respond() with Policy::nts), with
// crypto/'s AES-SIV-CMAC-256: what a client gets for good and bad requests, and what each NTS
// misbehaviour changes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/nts/cookie.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/nts/ke_server.hpp"
#include "ntpkit/server/server.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::nts {
namespace {

const crypto::AesSivCmac256 kAead;

CookieJar jar(uint32_t id = 7, uint8_t fill = 0x5A) {
  return CookieJar(kAead, {id, std::vector<uint8_t>(32, fill)});
}

CookieContents keys() {
  CookieContents c;
  c.c2s.assign(32, 0x11);
  c.s2c.assign(32, 0x22);
  return c;
}

const std::array<uint8_t, 16> kNonce{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

TEST(NtsCookie, ACookieOpensToItsKeysOnlyUnderItsMasterKey) {
  const CookieJar j = jar();
  const auto cookie = j.make(keys(), kNonce);
  EXPECT_EQ(cookie.size(), 104U);  // a multiple of 4: chrony 4.3's client refuses others
  EXPECT_EQ(cookie.size(), j.cookie_length(32));
  const auto opened = j.open(cookie);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->aead, 15);
  EXPECT_EQ(opened->c2s, keys().c2s);
  EXPECT_EQ(opened->s2c, keys().s2c);
  auto padded = cookie;
  padded.resize(108, 0);  // as an extension field's value holds it
  EXPECT_TRUE(j.open(padded).has_value());
  auto tampered = cookie;
  tampered[50] ^= 1;
  EXPECT_FALSE(j.open(tampered).has_value());
  EXPECT_FALSE(jar(8).open(cookie).has_value());        // another key id
  EXPECT_FALSE(jar(7, 0x5B).open(cookie).has_value());  // the same id, another key
  EXPECT_FALSE(j.open(std::span(cookie).first(40)).has_value());
  // After a rotation the previous key still opens what it sealed.
  const CookieJar rotated(kAead, {9, std::vector<uint8_t>(32, 1)},
                          CookieJar::MasterKey{7, std::vector<uint8_t>(32, 0x5A)});
  EXPECT_TRUE(rotated.open(cookie).has_value());
}

TEST(NtsCookie, ARotationKeepsTheCurrentKeysCookiesOpenForOnePeriodMore) {
  CookieJar j = jar(7);
  const auto first = j.make(keys(), kNonce);
  j.rotate({8, std::vector<uint8_t>(32, 0x01)});
  EXPECT_EQ(j.current_id(), 8U);
  const auto second = j.make(keys(), kNonce);
  EXPECT_NE(first, second);                // sealed under the new key
  EXPECT_TRUE(j.open(first).has_value());  // the key before still opens
  EXPECT_TRUE(j.open(second).has_value());
  j.rotate({9, std::vector<uint8_t>(32, 0x02)});
  EXPECT_FALSE(j.open(first).has_value());  // two rotations: gone
  EXPECT_TRUE(j.open(second).has_value());
}

// Worker threads make and open cookies while the jar rotates (ntp-server's rotation thread):
// every cookie is whole, and what opens holds the keys sealed in it, never a mix of two keys.
// (Built with the asan preset, a torn read of a key is reported as well.)
TEST(NtsCookie, RotationWhileOtherThreadsMakeAndOpenCookies) {
  CookieJar j = jar(1);
  std::atomic<bool> stop{false};
  std::atomic<size_t> opened{0}, short_cookies{0}, wrong_keys{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&] {
      while (!stop) {
        const auto c = j.make(keys(), kNonce);
        if (c.size() != j.cookie_length(32)) ++short_cookies;
        // Two rotations between make and open retire its key: nullopt, which is allowed.
        if (const auto k = j.open(c)) {
          ++opened;
          if (k->c2s != keys().c2s || k->s2c != keys().s2c) ++wrong_keys;
        }
      }
    });
  }
  // The workers have started before the rotations do (on a loaded machine they may not have yet).
  for (int i = 0; i < 5000 && opened == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (uint32_t id = 2; id < 200; ++id) {
    j.rotate({id, std::vector<uint8_t>(32, static_cast<uint8_t>(id))});
    std::this_thread::yield();
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_GT(opened.load(), 0U);
  EXPECT_EQ(short_cookies.load(), 0U);
  EXPECT_EQ(wrong_keys.load(), 0U);
  EXPECT_EQ(j.current_id(), 199U);
}

// --- The KE answer (RFC 8915 §4) ---

struct Ke {
  KeServerSettings settings;
  CookieJar j = jar();
  KeAnswer answer(const std::vector<uint8_t>& request) const {
    const KeyExporter exporter = [](std::span<const uint8_t> context, size_t length) {
      return std::vector<uint8_t>(length, static_cast<uint8_t>(0x10 + context[4]));  // C2S 0x10, S2C 0x11
    };
    const RandomSource random = [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 0x77); };
    return answer_ke(request, settings, j, kAead, exporter, random);
  }
  // The decoded message's spans point into `last`, kept here while the message is in use.
  mutable KeAnswer last;
  Message decoded(const std::vector<uint8_t>& request) const {
    last = answer(request);
    auto m = decode(last.response);
    EXPECT_TRUE(m.ok());
    return m.ok() ? std::move(*m) : Message{};
  }
};

TEST(NtsKeAnswer, AGoodRequestGetsNtpv4Aead15EightCookiesOfTheExportedKeys) {
  Ke ke;
  ke.settings.ntp_port = 1123;
  const Message m = ke.decoded(client_request());
  EXPECT_TRUE(m.end_of_message);
  EXPECT_EQ(m.next_protocols, std::vector<uint16_t>{0});
  EXPECT_EQ(m.aead_algorithms, std::vector<uint16_t>{15});
  ASSERT_EQ(m.cookies.size(), 8U);
  EXPECT_EQ(m.port, 1123);
  EXPECT_FALSE(m.server.has_value());
  EXPECT_TRUE(m.shapes.empty());
  const auto c = ke.j.open(m.cookies[3]);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->c2s, std::vector<uint8_t>(32, 0x10));
  EXPECT_EQ(c->s2c, std::vector<uint8_t>(32, 0x11));
}

TEST(NtsKeAnswer, BadRequestsGetTheirErrorCode) {
  Ke ke;
  const auto error_of = [&](const std::vector<uint8_t>& r) { return ke.answer(r).error; };
  auto unknown = client_request();
  unknown.resize(unknown.size() - 4);
  append_record(unknown, 0x1234, true, std::vector<uint8_t>{1});
  append_end_of_message(unknown);
  EXPECT_EQ(error_of(unknown), 0);  // Unrecognized Critical Record
  auto ignored = client_request();
  ignored.resize(ignored.size() - 4);
  append_record(ignored, 0x1234, false, std::vector<uint8_t>{1});
  append_end_of_message(ignored);
  EXPECT_EQ(error_of(ignored), std::nullopt);  // not critical: ignored
  auto no_end = client_request();
  no_end.resize(no_end.size() - 4);
  EXPECT_EQ(error_of(no_end), 1);
  std::vector<uint8_t> no_protocol;
  const uint16_t siv[] = {15};
  append_u16_record(no_protocol, RecordType::AeadAlgorithm, true, siv);
  append_end_of_message(no_protocol);
  EXPECT_EQ(error_of(no_protocol), 1);
  const uint16_t ntp[] = {0};
  std::vector<uint8_t> no_aead;
  append_u16_record(no_aead, RecordType::NextProtocol, true, ntp);
  append_end_of_message(no_aead);
  EXPECT_EQ(error_of(no_aead), 1);
  auto with_error = client_request();
  with_error.insert(with_error.begin(), {0x80, 0x02, 0x00, 0x02, 0x00, 0x00});
  EXPECT_EQ(error_of(with_error), 1);
  EXPECT_EQ(error_of({0x80, 0x01, 0x00}), 1);  // does not frame
}

TEST(NtsKeAnswer, AnAeadNotOfferedIsNeverChosen) {
  Ke ke;
  const uint16_t other[] = {17};
  const Message m = ke.decoded(client_request(other));
  EXPECT_EQ(m.next_protocols, std::vector<uint16_t>{0});
  EXPECT_EQ(m.aead_records, 1U);
  EXPECT_TRUE(m.aead_algorithms.empty());
  EXPECT_TRUE(m.cookies.empty());
  ke.settings.faults.any_aead = true;
  EXPECT_EQ(ke.decoded(client_request(other)).aead_algorithms, std::vector<uint16_t>{15});
}

TEST(NtsKeAnswer, EachFaultChangesTheAnswer) {
  const auto with = [](auto set) {
    Ke ke;
    set(ke.settings.faults);
    return ke.decoded(client_request());
  };
  EXPECT_FALSE(with([](KeFaults& f) { f.no_end = true; }).end_of_message);
  EXPECT_TRUE(with([](KeFaults& f) { f.no_cookies = true; }).cookies.empty());
  EXPECT_EQ(with([](KeFaults& f) { f.one_cookie = true; }).cookies.size(), 1U);
  EXPECT_EQ(with([](KeFaults& f) { f.extra_protocol = true; }).next_protocols.size(), 2U);
  EXPECT_EQ(with([](KeFaults& f) { f.wrong_port = true; }).port, 9);
  Ke lenient;
  lenient.settings.faults.lenient = true;
  auto no_end = client_request();
  no_end.resize(no_end.size() - 4);
  EXPECT_EQ(lenient.answer(no_end).error, std::nullopt);
  Ke ignoring;
  ignoring.settings.faults.ignore_critical = true;
  auto unknown = client_request();
  unknown.resize(unknown.size() - 4);
  append_record(unknown, 0x1234, true, std::vector<uint8_t>{1});
  append_end_of_message(unknown);
  EXPECT_EQ(ignoring.answer(unknown).error, std::nullopt);
}

// --- respond() over NTS (RFC 8915 §5.7) ---

constexpr Timestamp kReceive = Timestamp::from_parts(0xEEC14519, 0x10000000);

struct Server {
  CookieJar j = jar();
  ServerState state;
  Policy policy;
  Misbehaviour mb;
  Server() {
    state.reference_time = Timestamp::from_parts(0xEEC14500, 0);
    policy.nts = &j;
    policy.nts_aead = &kAead;
  }
  struct Got {
    Action action;
    std::vector<uint8_t> bytes;
  };
  Got run(const std::vector<uint8_t>& request) const {
    RequestContext ctx;
    ctx.receive = kReceive;
    ctx.nonce_seed = kNonce;
    FixedClock clock(Timestamp::from_parts(0xEEC14519, 0x20000000));
    std::vector<uint8_t> out(2048);
    Got g;
    g.action = respond(request, ctx, clock, state, policy, mb, out);
    if (g.action.is_reply()) g.bytes.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(g.action.length));
    return g;
  }
};

struct Client {
  std::vector<uint8_t> uid = std::vector<uint8_t>(32, 0x33);
  std::vector<uint8_t> cookie;
  Header header = client_request(4, Timestamp::from_raw(0x1122334455667788));
  std::vector<uint8_t> request(const Server& s, size_t placeholders, std::span<const uint8_t> nonce = kNonce) {
    cookie = s.j.make(keys(), kNonce);
    RequestParts p;
    p.header = header;
    p.unique_id = uid;
    p.cookie = cookie;
    p.placeholders = placeholders;
    p.nonce = nonce;
    return *build_request(p, kAead, keys().c2s);
  }
};

OpenedReply open(const std::vector<uint8_t>& reply, const Client& c) {
  const auto p = parse(reply);
  EXPECT_TRUE(p.ok());
  return p.ok() ? open_reply(*p, c.uid, kAead, keys().s2c) : OpenedReply{};
}

TEST(NtsRespond, AVerifiedRequestGetsTheUidAndOnePlusPlaceholdersCookiesUnderS2c) {
  Server s;
  for (size_t placeholders : {0, 1, 3, 7}) {
    SCOPED_TRACE(placeholders);
    Client c;
    const auto request = c.request(s, placeholders);
    const auto g = s.run(request);
    ASSERT_TRUE(g.action.is_reply());
    EXPECT_TRUE(g.action.nts);
    EXPECT_LE(g.bytes.size(), request.size());  // placeholders of the cookie's length: never longer
    const auto o = open(g.bytes, c);
    EXPECT_TRUE(o.authenticated) << o.problem;
    EXPECT_TRUE(o.unique_id_echoed);
    ASSERT_EQ(o.cookies.size(), 1 + placeholders);
    EXPECT_TRUE(s.j.open(o.cookies.back()).has_value());
    EXPECT_EQ(o.unencrypted_cookies, 0U);
    const Header h = parse_header(std::span<const uint8_t>(g.bytes).first<kHeaderLength>());
    EXPECT_EQ(h.origin, c.header.transmit);
    EXPECT_EQ(h.stratum, s.state.stratum);
  }
}

TEST(NtsRespond, ABadCookieOrAuthenticatorGetsAnNtsnWithTheUidAlone) {
  Server s;
  for (const char* what : {"cookie", "tag", "no uid"}) {
    SCOPED_TRACE(what);
    Client c;
    auto request = c.request(s, 2);
    const auto p = parse(request);
    const Fields f = fields_of(*p);
    if (std::string(what) == "cookie") request[f.cookies.front().offset + 30] ^= 1;
    if (std::string(what) == "tag") request[request.size() - 1] ^= 1;
    if (std::string(what) == "no uid") {
      request.erase(request.begin() + kHeaderLength, request.begin() + kHeaderLength + 36);
    }
    const auto g = s.run(request);
    ASSERT_TRUE(g.action.is_reply());
    EXPECT_TRUE(g.action.nts_nak);
    const Header h = parse_header(std::span<const uint8_t>(g.bytes).first<kHeaderLength>());
    EXPECT_EQ(h.stratum, 0);
    ASSERT_TRUE(h.reference_id.kiss_code().has_value());
    EXPECT_EQ(*h.reference_id.kiss_code(), KissCode::NTSN);
    const auto reply = parse(g.bytes);
    const Fields rf = fields_of(*reply);
    EXPECT_TRUE(rf.cookies.empty());
    EXPECT_TRUE(rf.authenticators.empty());
    EXPECT_EQ(rf.unique_ids.size(), std::string(what) == "no uid" ? 0U : 1U);
  }
}

TEST(NtsRespond, AShortNonceWithoutItsPaddingIsDiscarded) {
  Server s;
  Client c;
  const std::vector<uint8_t> short_nonce(8, 0x42);
  const auto g = s.run(c.request(s, 0, short_nonce));
  EXPECT_FALSE(g.action.is_reply());
  EXPECT_EQ(g.action.reason, DropReason::NtsPadding);
}

TEST(NtsRespond, AUniqueIdentifierAloneIsEchoedOnPlainTime) {
  Server s;
  Client c;
  std::vector<uint8_t> request(kHeaderLength);
  write_header(c.header, std::span<uint8_t>(request).first<kHeaderLength>());
  append_field(request, kUniqueIdentifier, c.uid);
  const auto g = s.run(request);
  ASSERT_TRUE(g.action.is_reply());
  EXPECT_FALSE(g.action.nts);
  const auto o = open(g.bytes, c);
  EXPECT_TRUE(o.unique_id_echoed);
  EXPECT_FALSE(o.authenticated);
}

TEST(NtsRespond, EachNtsMisbehaviourChangesTheReply) {
  Server plain;
  Client c;
  const auto request = c.request(plain, 1);
  auto bad_cookie = request;
  bad_cookie[kHeaderLength + 36 + 30] ^= 1;
  const auto base = plain.run(request);
  const auto base_nak = plain.run(bad_cookie);
  for (const char* spec : {"nts-no-uid", "nts-wrong-uid", "nts-bad-tag", "nts-plain-reply", "nts-extra-cookie",
                           "nts-clear-cookies", "nts-nak-with-cookie", "nts-no-nak", "nts-time-for-bad-cookie"}) {
    SCOPED_TRACE(spec);
    Server s;
    ASSERT_TRUE(add_misbehaviour(s.mb, spec).ok());
    const bool on_bad =
        std::string(spec).find("nak") != std::string::npos || std::string(spec).find("bad-cookie") != std::string::npos;
    const auto g = s.run(on_bad ? bad_cookie : request);
    const auto& b = on_bad ? base_nak : base;
    EXPECT_FALSE(g.action.is_reply() == b.action.is_reply() && g.bytes == b.bytes);
  }
}

}  // namespace
}  // namespace ntpkit::nts
