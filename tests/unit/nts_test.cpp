// nts/: NTS-KE records and NTS extension fields (RFC 8915), and crypto/'s AES-SIV-CMAC-256 that
// seals them. The AEAD is pinned twice: OpenSSL's AES-SIV reproduces RFC 5297's own test vectors
// here, and nettle's (the one ntpkit uses: it seals an empty plaintext, OpenSSL 3.0's cannot)
// gives OpenSSL's output for every input both can take.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <string>

#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/nts/ke.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::nts {
namespace {

std::vector<uint8_t> hex(std::string_view s) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : s) {
    if (c != ' ') digits += c;
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// --- NTS-KE records (RFC 8915 §4) ---

TEST(NtsKe, TheClientRequestIsNextProtocolAeadAndEndOfMessageAllCritical) {
  EXPECT_EQ(client_request(), hex("8001 0002 0000  8004 0002 000f  8000 0000"));
  const auto m = decode(client_request());
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->end_of_message);
  EXPECT_EQ(m->next_protocols, std::vector<uint16_t>{kProtocolNtpv4});
  EXPECT_EQ(m->aead_algorithms, std::vector<uint16_t>{kAeadAesSivCmac256});
  EXPECT_TRUE(m->shapes.empty());
}

TEST(NtsKe, AServerResponseIsDecodedRecordByRecord) {
  std::vector<uint8_t> r;
  const uint16_t ntp[] = {0};
  const uint16_t siv[] = {15};
  append_u16_record(r, RecordType::NextProtocol, true, ntp);
  append_u16_record(r, RecordType::AeadAlgorithm, true, siv);
  const std::vector<uint8_t> c1(100, 0xC1), c2(100, 0xC2);
  append_record(r, 5, false, c1);
  append_record(r, 5, false, c2);
  const std::string host = "127.0.0.1";
  append_record(r, 6, true, std::span(reinterpret_cast<const uint8_t*>(host.data()), host.size()));
  const uint16_t port[] = {1234};
  append_u16_record(r, RecordType::Port, true, port);
  append_record(r, 0x4321, false, hex("00"));  // unknown, not critical
  append_end_of_message(r);
  const auto m = decode(r);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->records.size(), 8U);
  EXPECT_EQ(m->cookies.size(), 2U);
  EXPECT_EQ(m->cookies[1][0], 0xC2);
  EXPECT_EQ(m->server, "127.0.0.1");
  EXPECT_EQ(m->port, 1234);
  ASSERT_EQ(m->unknown.size(), 1U);
  EXPECT_EQ(m->unknown[0].type, 0x4321);
  EXPECT_FALSE(m->unknown[0].critical);
  EXPECT_TRUE(m->shapes.empty());
  EXPECT_EQ(message_length(r), r.size());
}

// What the RFC does not allow is decoded and named (byte offset), not refused: the suites judge.
TEST(NtsKe, ShapesTheRfcDoesNotAllowAreNamedWithTheirOffset) {
  std::vector<uint8_t> r;
  const uint16_t ntp[] = {0};
  append_u16_record(r, RecordType::NextProtocol, false, ntp);  // not critical
  append_u16_record(r, RecordType::NextProtocol, true, ntp);   // a second one, at byte 6
  append_record(r, 4, true, hex("000f00"));                    // odd-length list, at byte 12
  append_record(r, 2, true, hex("0001"));                      // Error 1
  append_record(r, 0, false, {});                              // End of Message, not critical
  append_record(r, 5, false, hex("aa"));                       // after End of Message
  const auto m = decode(r);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->errors, std::vector<uint16_t>{1});
  EXPECT_EQ(m->records_after_end, 1U);
  EXPECT_TRUE(m->cookies.empty());  // after End of Message: not a cookie of this message
  std::vector<std::string> what;
  for (const auto& s : m->shapes) what.push_back(s.what);
  ASSERT_EQ(what.size(), 5U);
  EXPECT_EQ(what[0], "NTS Next Protocol Negotiation without the critical bit (byte 0)");
  EXPECT_EQ(what[1], "a second NTS Next Protocol Negotiation record (byte 6)");
  EXPECT_EQ(what[2], "AEAD Algorithm Negotiation body of 3 octets, not a list of 16-bit values (byte 12)");
  EXPECT_EQ(what[3], "End of Message without the critical bit (byte 25)");
  EXPECT_EQ(what[4], "New Cookie for NTPv4 after End of Message (byte 29)");
}

TEST(NtsKe, FramingErrorsCarryTheRecordsOffset) {
  auto r = client_request();
  EXPECT_EQ(message_length(std::span(r).first(9)), std::nullopt);  // read more
  r.resize(r.size() - 4);                                          // no End of Message yet
  EXPECT_EQ(message_length(r), std::nullopt);
  r.push_back(0x80);  // two bytes of a header
  r.push_back(0x05);
  auto bad = parse_records(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), (KeError{KeErrorCode::TruncatedHeader, 12}));
  EXPECT_EQ(describe(bad.error(), r),
            "NTS-KE record at byte 12: only 2 octet(s) where a 4-octet record header belongs (RFC 8915 §4)");
  r.push_back(0x00);
  r.push_back(0x28);  // a body of 40 octets
  r.push_back(0x01);
  bad = parse_records(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), (KeError{KeErrorCode::BodyOverrun, 12}));
  EXPECT_EQ(describe(bad.error(), r),
            "NTS-KE record at byte 12: a body of 40 octets runs past the 1 that follow its header (RFC 8915 §4)");
}

TEST(NtsKe, TheExporterContextIsProtocolAeadAndDirection) {
  EXPECT_EQ(exporter_context(kProtocolNtpv4, kAeadAesSivCmac256, false), (std::array<uint8_t, 5>{0, 0, 0, 15, 0}));
  EXPECT_EQ(exporter_context(kProtocolNtpv4, kAeadAesSivCmac256, true), (std::array<uint8_t, 5>{0, 0, 0, 15, 1}));
  EXPECT_EQ(exporter_context(0x8001, 0x0102, true), (std::array<uint8_t, 5>{0x80, 0x01, 0x01, 0x02, 1}));
}

// --- AES-SIV-CMAC-256 (RFC 5297) ---

// OpenSSL's AES-SIV: each associated-data component one update, as RFC 5297's S2V takes them.
// Returns V || C, as RFC 5297 writes its outputs.
std::vector<uint8_t> openssl_siv(const std::vector<uint8_t>& key, const std::vector<std::vector<uint8_t>>& ad,
                                 const std::vector<uint8_t>& plaintext) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-SIV", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> out(16 + plaintext.size());
  int n = 0;
  bool ok = cipher != nullptr && ctx != nullptr && EVP_EncryptInit_ex2(ctx, cipher, key.data(), nullptr, nullptr) == 1;
  for (const auto& a : ad) ok = ok && EVP_EncryptUpdate(ctx, nullptr, &n, a.data(), static_cast<int>(a.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx, out.data() + 16, &n, plaintext.data(), static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx, out.data() + 16 + n, &n) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  if (!ok) ADD_FAILURE() << "OpenSSL AES-128-SIV failed";
  return out;
}

// RFC 5297 Appendix A.1, the deterministic example: S2V over one associated-data string.
TEST(AesSiv, OpenSslReproducesRfc5297AppendixA1) {
  const auto key = hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff");
  const auto ad = hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627");
  const auto plaintext = hex("11223344 55667788 99aabbcc ddee");
  EXPECT_EQ(openssl_siv(key, {ad}, plaintext),
            hex("85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c"));
}

// nettle's S2V takes two components, the associated data and the nonce (RFC 8915's shape):
// its output equals OpenSSL's for the same two components, for lengths around the block size.
// (OpenSSL skips an empty update, so it cannot take an empty component; NTS's associated data
// always holds at least the 48-octet header.)
TEST(AesSiv, NettleGivesOpenSslsOutputForAssociatedDataAndNonce) {
  const crypto::AesSivCmac256 aead;
  std::mt19937 rng(5297);
  const auto bytes = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  };
  for (size_t ad_length : {1, 15, 16, 17, 48, 228}) {
    for (size_t pt_length : {1, 15, 16, 17, 104, 832}) {
      SCOPED_TRACE(std::to_string(ad_length) + " octets of associated data, " + std::to_string(pt_length) +
                   " of plaintext");
      const auto key = bytes(32), nonce = bytes(16), ad = bytes(ad_length), plaintext = bytes(pt_length);
      std::vector<uint8_t> sealed(pt_length + 16);
      ASSERT_TRUE(aead.seal(key, nonce, ad, plaintext, sealed));
      EXPECT_EQ(sealed, openssl_siv(key, {ad, nonce}, plaintext));
      std::vector<uint8_t> opened(pt_length);
      ASSERT_TRUE(aead.open(key, nonce, ad, sealed, opened));
      EXPECT_EQ(opened, plaintext);
    }
  }
}

// The normal client request seals nothing: a 16-octet tag that depends on the associated data
// and the nonce, and verifies only with both.
TEST(AesSiv, AnEmptyPlaintextSealsToATagThatVerifiesOnlyUnchanged) {
  const crypto::AesSivCmac256 aead;
  const auto key = hex("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f");
  const auto nonce = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  auto ad = std::vector<uint8_t>(48, 0x23);
  std::vector<uint8_t> tag(16), other(16), none;
  ASSERT_TRUE(aead.seal(key, nonce, ad, {}, tag));
  EXPECT_TRUE(aead.open(key, nonce, ad, tag, none));
  ad[47] ^= 1;
  EXPECT_FALSE(aead.open(key, nonce, ad, tag, none));
  ad[47] ^= 1;
  auto nonce2 = nonce;
  nonce2[0] ^= 1;
  ASSERT_TRUE(aead.seal(key, nonce2, ad, {}, other));
  EXPECT_NE(tag, other);
  EXPECT_FALSE(aead.open(key, nonce2, ad, tag, none));
  // What nettle would assert on is refused: an empty nonce, a key of another length.
  EXPECT_FALSE(aead.seal(key, {}, ad, {}, tag));
  EXPECT_FALSE(aead.open(key, {}, ad, tag, none));
  EXPECT_FALSE(aead.seal(std::span(key).first(16), nonce, ad, {}, tag));
  EXPECT_FALSE(aead.open(key, nonce, ad, std::span(tag).first(15), none));
}

// --- NTS extension fields (RFC 8915 §5) ---

struct Exchange {
  crypto::AesSivCmac256 aead;
  std::vector<uint8_t> c2s = std::vector<uint8_t>(32, 0x11);
  std::vector<uint8_t> s2c = std::vector<uint8_t>(32, 0x22);
  std::vector<uint8_t> uid = std::vector<uint8_t>(32, 0x55);
  std::vector<uint8_t> cookie = std::vector<uint8_t>(100, 0xC0);
  std::vector<uint8_t> nonce = std::vector<uint8_t>(16, 0x77);

  std::vector<uint8_t> request(size_t placeholders) {
    RequestParts p;
    p.header = client_request(4, Timestamp::from_raw(0x0123456789ABCDEF));
    p.unique_id = uid;
    p.cookie = cookie;
    p.placeholders = placeholders;
    p.nonce = nonce;
    auto r = build_request(p, aead, c2s);
    EXPECT_TRUE(r.has_value());
    return r.value_or(std::vector<uint8_t>{});
  }
  // A server's reply: the header, the UID echoed, then the authenticator sealing `cookies` new
  // cookies under the S2C key; `after`: an extension field after it.
  std::vector<uint8_t> reply(size_t cookies, bool after = false) {
    Header h;
    h.mode = Mode::Server;
    h.stratum = 1;
    h.origin = Timestamp::from_raw(0x0123456789ABCDEF);
    h.reference = Timestamp::from_parts(0xEEC14500, 0);
    h.receive = Timestamp::from_parts(0xEEC14519, 0x1000);
    h.transmit = Timestamp::from_parts(0xEEC14519, 0x2000);
    std::vector<uint8_t> out(kHeaderLength);
    write_header(h, std::span<uint8_t>(out).first<kHeaderLength>());
    append_field(out, kUniqueIdentifier, uid);
    std::vector<uint8_t> plaintext;
    for (size_t i = 0; i < cookies; ++i)
      append_field(plaintext, kCookie, std::vector<uint8_t>(100, static_cast<uint8_t>(i)));
    EXPECT_TRUE(append_authenticator(out, aead, s2c, nonce, plaintext));
    if (after) append_field(out, kCookie, cookie);
    return out;
  }
};

TEST(NtsFields, ARequestCarriesUidCookiePlaceholdersAndAnAuthenticatorOverAllBeforeIt) {
  Exchange x;
  const auto bytes = x.request(2);
  // 48 + UID 36 + cookie 104 + 2 placeholders 104 + authenticator 4 + 4 + 16 + 16.
  EXPECT_EQ(bytes.size(), 48U + 36 + 104 + 2 * 104 + 40);
  const auto p = parse(bytes);
  ASSERT_TRUE(p.ok()) << describe(p.error());
  const Fields f = fields_of(*p);
  ASSERT_EQ(f.unique_ids.size(), 1U);
  ASSERT_EQ(f.cookies.size(), 1U);
  ASSERT_EQ(f.placeholders.size(), 2U);
  EXPECT_EQ(f.placeholders[0].length, f.cookies[0].length);
  ASSERT_EQ(f.authenticators.size(), 1U);
  EXPECT_EQ(f.after_authenticator, 0U);
  const auto a = parse_authenticator(f.authenticators[0]);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->nonce.size(), 16U);
  EXPECT_EQ(a->ciphertext.size(), 16U);
  std::vector<uint8_t> none;
  EXPECT_TRUE(x.aead.open(x.c2s, a->nonce, std::span(bytes).first(a->offset), a->ciphertext, none));
  EXPECT_FALSE(x.aead.open(x.s2c, a->nonce, std::span(bytes).first(a->offset), a->ciphertext, none));
}

TEST(NtsFields, AReplyOpensToItsNewCookiesUnderTheS2cKeyOnly) {
  Exchange x;
  const auto bytes = x.reply(3);
  const auto p = parse(bytes);
  ASSERT_TRUE(p.ok()) << describe(p.error());
  auto o = open_reply(*p, x.uid, x.aead, x.s2c);
  EXPECT_TRUE(o.unique_id_echoed);
  EXPECT_TRUE(o.authenticated) << o.problem;
  ASSERT_EQ(o.cookies.size(), 3U);
  EXPECT_EQ(o.cookies[2], std::vector<uint8_t>(100, 2));
  EXPECT_EQ(o.unauthenticated_after, 0U);
  EXPECT_EQ(o.unencrypted_cookies, 0U);
  o = open_reply(*p, x.uid, x.aead, x.c2s);
  EXPECT_FALSE(o.authenticated);
  EXPECT_EQ(o.problem, "the tag does not verify under the S2C key");
  EXPECT_TRUE(o.cookies.empty());
  auto other_uid = x.uid;
  other_uid[31] ^= 1;
  EXPECT_FALSE(open_reply(*p, other_uid, x.aead, x.s2c).unique_id_echoed);
}

TEST(NtsFields, AnyChangedOctetBeforeTheTagBreaksIt) {
  Exchange x;
  const auto good = x.reply(1);
  for (size_t i = 0; i < good.size(); i += 7) {
    auto bytes = good;
    bytes[i] ^= 0x40;
    const auto p = parse(bytes);
    if (!p.ok()) continue;  // a length field changed: no packet to open
    const auto o = open_reply(*p, x.uid, x.aead, x.s2c);
    EXPECT_FALSE(o.authenticated && o.unique_id_echoed) << "octet " << i;
  }
}

TEST(NtsFields, AFieldAfterTheAuthenticatorIsCountedNotTrusted) {
  Exchange x;
  const auto bytes = x.reply(1, true);
  const auto p = parse(bytes);
  ASSERT_TRUE(p.ok()) << describe(p.error());
  const auto o = open_reply(*p, x.uid, x.aead, x.s2c);
  EXPECT_TRUE(o.authenticated);
  EXPECT_EQ(o.unauthenticated_after, 1U);
  EXPECT_EQ(o.unencrypted_cookies, 0U);  // after the authenticator: discarded, not counted
  EXPECT_EQ(o.cookies.size(), 1U);       // the one inside the ciphertext
}

// Only an authenticated Unique Identifier equal to ours, octet for octet, counts: not one after
// the authenticator, not one that merely starts with ours.
TEST(NtsFields, TheUniqueIdentifierMustBeOursExactlyAndAuthenticated) {
  Exchange x;
  auto bytes = x.reply(1);
  // Move the UID field (48..84) behind the authenticator.
  std::vector<uint8_t> moved(bytes.begin(), bytes.begin() + kHeaderLength);
  moved.insert(moved.end(), bytes.begin() + kHeaderLength + 36, bytes.end());
  moved.insert(moved.end(), bytes.begin() + kHeaderLength, bytes.begin() + kHeaderLength + 36);
  auto p = parse(moved);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(open_reply(*p, x.uid, x.aead, x.s2c).unique_id_echoed);
  // A longer UID that starts with ours.
  auto longer = x.uid;
  longer.resize(36, 0x99);
  Header h = parse_header(std::span<const uint8_t>(bytes).first<kHeaderLength>());
  std::vector<uint8_t> out(kHeaderLength);
  write_header(h, std::span<uint8_t>(out).first<kHeaderLength>());
  append_field(out, kUniqueIdentifier, longer);
  ASSERT_TRUE(append_authenticator(out, x.aead, x.s2c, x.nonce));
  p = parse(out);
  ASSERT_TRUE(p.ok());
  const auto o = open_reply(*p, x.uid, x.aead, x.s2c);
  EXPECT_TRUE(o.authenticated);
  EXPECT_FALSE(o.unique_id_echoed);
  // A UID of 34 octets travels in a field padded to 36: the echo of that field is ours (found
  // by the nts_respond fuzzer), but not with the padding octets non-zero.
  auto odd = x.uid;
  odd.resize(34, 0x77);
  for (const uint8_t pad : {uint8_t{0}, uint8_t{1}}) {
    std::vector<uint8_t> echo(kHeaderLength);
    write_header(h, std::span<uint8_t>(echo).first<kHeaderLength>());
    append_field(echo, kUniqueIdentifier, odd);
    echo[kHeaderLength + 4 + 34] = pad;
    ASSERT_TRUE(append_authenticator(echo, x.aead, x.s2c, x.nonce));
    p = parse(echo);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(open_reply(*p, odd, x.aead, x.s2c).unique_id_echoed, pad == 0);
  }
}

// The one judge of a reply (query, the suites) with an NTS request's secrets: time only from a
// reply that echoes the Unique Identifier and verifies under the S2C key; an NTSN kiss is a kiss.
TEST(NtsJudge, TimeOnlyFromAnAuthenticatedReplyThatEchoesTheUid) {
  Exchange x;
  const auto request = x.request(0);
  const Header sent = parse_header(std::span<const uint8_t>(request).first<kHeaderLength>());
  const auto judge = [&](const std::vector<uint8_t>& reply, std::span<const uint8_t> uid,
                         std::span<const uint8_t> key) {
    const NtsRequestKey nts{uid, &x.aead, key};
    RequestKey k;
    k.nts = &nts;
    return judge_reply(sent, request.size(), reply, &k);
  };
  auto good = x.reply(1);
  const auto ok = judge(good, x.uid, x.s2c);
  EXPECT_TRUE(ok.usable());
  EXPECT_TRUE(ok.empty());
  EXPECT_TRUE(judge(good, x.uid, x.c2s).has(ReplyProblem::NtsNotAuthenticated));
  auto other = x.uid;
  other[0] ^= 1;
  EXPECT_TRUE(judge(good, other, x.s2c).has(ReplyProblem::NtsUidNotEchoed));
  const auto no_cookie = judge(x.reply(0), x.uid, x.s2c);
  EXPECT_TRUE(no_cookie.has(ReplyProblem::NtsNoCookie));
  EXPECT_TRUE(no_cookie.usable());  // a warning: the time is still authenticated
  const auto after = judge(x.reply(1, true), x.uid, x.s2c);
  EXPECT_TRUE(after.has(ReplyProblem::NtsUnauthenticatedFields));
  // An NTSN kiss-o'-death: stratum 0, "NTSN", the UID echoed and nothing else.
  Header h;
  h.mode = Mode::Server;
  h.leap = Leap::Unsynchronized;
  h.stratum = 0;
  h.reference_id = ReferenceId::from_kiss(KissCode::NTSN);
  h.origin = sent.transmit;
  std::vector<uint8_t> nak(kHeaderLength);
  write_header(h, std::span<uint8_t>(nak).first<kHeaderLength>());
  append_field(nak, kUniqueIdentifier, x.uid);
  const auto kissed = judge(nak, x.uid, x.s2c);
  EXPECT_TRUE(kissed.has(ReplyProblem::KissOfDeath));
  EXPECT_FALSE(kissed.has(ReplyProblem::NtsNotAuthenticated));
  EXPECT_FALSE(kissed.usable());
  // A plain reply to an NTS request: not authenticated, not usable.
  std::vector<uint8_t> plain(kHeaderLength);
  h = parse_header(std::span<const uint8_t>(good).first<kHeaderLength>());
  h.origin = sent.transmit;
  write_header(h, std::span<uint8_t>(plain).first<kHeaderLength>());
  const auto bare = judge(plain, x.uid, x.s2c);
  EXPECT_TRUE(bare.has(ReplyProblem::NtsNotAuthenticated));
  EXPECT_TRUE(bare.has(ReplyProblem::NtsUidNotEchoed));
  EXPECT_FALSE(bare.usable());
}

TEST(NtsFields, AnAuthenticatorWhoseLengthsOverrunIsAnErrorWithItsOffset) {
  std::vector<uint8_t> field_bytes;
  append_field(field_bytes, kAuthenticator, hex("0010 0010") /* 16 + 16 promised, nothing follows */, 16);
  ExtensionFieldView v{kAuthenticator, 16, std::span(field_bytes).subspan(4), 48};
  auto a = parse_authenticator(v);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, AuthenticatorErrorCode::NonceOverrun);
  EXPECT_EQ(describe(a.error()), "NTS authenticator at byte 48: the nonce runs past the field");
  field_bytes.clear();
  append_field(field_bytes, kAuthenticator, hex("0004 0020 01020304"), 16);
  v = {kAuthenticator, 16, std::span(field_bytes).subspan(4), 48};
  a = parse_authenticator(v);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, AuthenticatorErrorCode::CiphertextOverrun);
  v.value = v.value.first(2);
  EXPECT_EQ(parse_authenticator(v).error().code, AuthenticatorErrorCode::TooShort);
}

TEST(NtsFields, AnInnerFieldThatDoesNotFrameIsNoFieldList) {
  EXPECT_TRUE(inner_fields({}).has_value());
  EXPECT_FALSE(inner_fields(hex("0204 0003")).has_value());       // length below 4
  EXPECT_FALSE(inner_fields(hex("0204 0010 0000")).has_value());  // past the end
  const auto two = inner_fields(hex("0204 0008 aabbccdd 0304 0004"));
  ASSERT_TRUE(two.has_value());
  ASSERT_EQ(two->size(), 2U);
  EXPECT_EQ((*two)[0].value.size(), 4U);
}

}  // namespace
}  // namespace ntpkit::nts
