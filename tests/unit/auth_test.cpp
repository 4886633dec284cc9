// auth/: key files in both formats, and the MAC: known answers for the three digests (through
// crypto/'s nettle binding), a MAC appended then verified, and every way one fails.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ntpkit/auth/keys.hpp"
#include "ntpkit/auth/mac.hpp"
#include "ntpkit/crypto/nettle_digests.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::auth {
namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string digest_hex(const Key& k, std::span<const uint8_t> message) {
  Digest d{};
  crypto::NettleDigests().compute(k, message, d);
  std::string s;
  char b[3];
  for (size_t i = 0; i < digest_length(k.type); ++i) {
    std::snprintf(b, sizeof b, "%02x", d[i]);
    s += b;
  }
  return s;
}

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(Digests, KnownAnswers) {
  // RFC 4493 §4, examples 1 and 2.
  Key cmac{1, KeyType::Aes128Cmac, hex("2b7e151628aed2a6abf7158809cf4f3c")};
  EXPECT_EQ(digest_hex(cmac, {}), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(digest_hex(cmac, hex("6bc1bee22e409f96e93d7e117393172a")), "070a16b46b4d4144f79bdd9dd04a287c");
  // MD5 and SHA1 of key || message: "a" || "bc" is "abc" (RFC 1321, FIPS 180 examples).
  EXPECT_EQ(digest_hex({2, KeyType::Md5, bytes("a")}, bytes("bc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(digest_hex({3, KeyType::Sha1, bytes("ab")}, bytes("c")), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(KeyFile, NtpKeysAsNtpsecWritesThem) {
  const auto keys = parse_key_file(
      "# ntp.keys\n"
      "1 MD5 secret   # ASCII, up to 20 characters\n"
      "2 SHA1 0123456789abcdef0123456789abcdef01234567\n"
      "3 AES 000102030405060708090a0b0c0d0e0f\n"
      "4 aes-128 ffeeddccbbaa99887766554433221100\n",
      KeyFileFormat::Ntp);
  ASSERT_TRUE(keys.ok()) << keys.error();
  ASSERT_EQ(keys->size(), 4U);
  EXPECT_EQ((*keys)[0].secret, bytes("secret"));
  EXPECT_EQ((*keys)[1].type, KeyType::Sha1);
  EXPECT_EQ((*keys)[1].secret.size(), 20U);
  EXPECT_EQ((*keys)[2].type, KeyType::Aes128Cmac);
  EXPECT_EQ((*keys)[2].secret, hex("000102030405060708090a0b0c0d0e0f"));
  EXPECT_EQ((*keys)[3].line, 5U);
}

TEST(KeyFile, ChronyKeyfile) {
  const auto keys = parse_key_file(
      "1 ASCII:secret\n"
      "2 SHA1 HEX:0123456789abcdef0123456789abcdef01234567\n"
      "10 AES128 HEX:000102030405060708090A0B0C0D0E0F\n"
      "4294967295 MD5 a-bare-key-is-ascii-to-chrony-whatever-its-length\n",
      KeyFileFormat::Chrony);
  ASSERT_TRUE(keys.ok()) << keys.error();
  EXPECT_EQ((*keys)[0].type, KeyType::Md5);  // no type: MD5
  EXPECT_EQ((*keys)[0].secret, bytes("secret"));
  EXPECT_EQ((*keys)[2].id, 10U);
  EXPECT_EQ((*keys)[3].id, 4294967295U);
  EXPECT_EQ((*keys)[3].secret.size(), 49U);
}

TEST(KeyFile, AutoReadsWhatBothAgreeOnAndRefusesTheRest) {
  auto keys = parse_key_file("1 MD5 short\n2 AES128 HEX:000102030405060708090a0b0c0d0e0f\n");
  ASSERT_TRUE(keys.ok()) << keys.error();
  EXPECT_EQ(keys->size(), 2U);
  const auto ambiguous = parse_key_file("7 SHA1 0123456789abcdef0123456789abcdef01234567\n");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error(),
            "line 1: a bare key of 40 characters is hex to ntpsec and ASCII to chrony: write HEX: or ASCII:, or give "
            "the format");
}

TEST(KeyFile, EveryBadLineIsNamed) {
  const auto error = [](std::string_view text, KeyFileFormat f = KeyFileFormat::Auto) {
    auto r = parse_key_file(text, f);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.error();
  };
  EXPECT_EQ(error("\n\n0 MD5 x\n"), "line 3: the key ID '0' is not a number from 1 to 4294967295");
  EXPECT_EQ(error("70000 MD5 x\n", KeyFileFormat::Ntp), "line 1: the key ID '70000' is not a number from 1 to 65535");
  EXPECT_EQ(error("1 SHA256 HEX:00\n"), "line 1: type 'SHA256' is not one of MD5, SHA1, AES128CMAC (AES, AES-128)");
  EXPECT_EQ(error("1 AES HEX:0011\n"), "line 1: an AES128CMAC key is 16 bytes (RFC 8573), not 2");
  EXPECT_EQ(error("1 MD5 HEX:abc\n"), "line 1: the HEX: key is not an even number of hex digits");
  EXPECT_EQ(error("1 MD5 HEX:zz\n"), "line 1: the HEX: key is not an even number of hex digits");
  EXPECT_EQ(error("1 MD5 a\n1 MD5 b\n"), "line 2: key 1 again (first on line 1)");
  EXPECT_EQ(error("1 MD5 ASCII:x\n", KeyFileFormat::Ntp),
            "line 1: HEX: and ASCII: are chrony's; an ntp.keys key is bare");
  EXPECT_EQ(error("1 x\n", KeyFileFormat::Ntp), "line 1: give ID TYPE KEY");
  EXPECT_EQ(error("5\n"), "line 1: give ID TYPE KEY (ntp.keys) or ID [TYPE] HEX:KEY (chrony)");
  EXPECT_EQ(error("1 MD5 a\x01"
                  "b\n"),
            "line 1: a control character");
  EXPECT_EQ(error("1 SHA1 zzzzzzzzzzzzzzzzzzzzzzzz\n", KeyFileFormat::Ntp),
            "line 1: a key of more than 20 characters must be hex");
}

// A client request authenticated with each key type: verified as sent, refused when anything
// of it changes.
TEST(Mac, AppendedThenVerifiedAndEveryTamperRefused) {
  const std::vector<Key> keys = {{1, KeyType::Md5, bytes("secret")},
                                 {2, KeyType::Sha1, hex("0123456789abcdef0123456789abcdef01234567")},
                                 {3, KeyType::Aes128Cmac, hex("000102030405060708090a0b0c0d0e0f")}};
  const KeyStore store(keys);
  const crypto::NettleDigests digests;
  for (const Key& k : keys) {
    SCOPED_TRACE(std::string(to_string(k.type)));
    std::vector<uint8_t> buf(128);
    const auto header = serialize_header(client_request(4, Timestamp::from_raw(0x0123456789abcdefULL)));
    std::copy(header.begin(), header.end(), buf.begin());
    const size_t n = append_mac(buf, kHeaderLength, k, digests);
    ASSERT_EQ(n, kHeaderLength + 4 + digest_length(k.type));
    buf.resize(n);
    auto parsed = parse(buf);
    ASSERT_TRUE(parsed.ok());
    MacResult r = verify_mac(*parsed, store, digests);
    EXPECT_EQ(r.check, MacCheck::Valid);
    EXPECT_EQ(r.key_id, k.id);
    for (size_t at : {size_t{0}, size_t{40}, n - 1}) {  // header, transmit, digest
      auto bad = buf;
      bad[at] ^= 0x01;
      EXPECT_EQ(verify_mac(*parse(bad), store, digests).check, MacCheck::BadDigest) << at;
    }
    auto other = buf;
    other[kHeaderLength + 3] = 9;  // key 9: unknown
    EXPECT_EQ(verify_mac(*parse(other), store, digests).check, MacCheck::UnknownKey);
  }
  // A 20-byte MAC under the SHA1 key (which gives 24): the wrong length for its key.
  std::vector<uint8_t> md5_sized(kHeaderLength + 20, 0);
  md5_sized[kHeaderLength + 3] = 2;
  EXPECT_EQ(verify_mac(*parse(md5_sized), store, digests).check, MacCheck::WrongLength);
  std::vector<uint8_t> nak(kHeaderLength + 4, 0);
  EXPECT_EQ(verify_mac(*parse(nak), store, digests).check, MacCheck::CryptoNak);
  std::vector<uint8_t> plain(kHeaderLength, 0);
  EXPECT_EQ(verify_mac(*parse(plain), store, digests).check, MacCheck::NoMac);
  std::vector<uint8_t> small(kHeaderLength + 10, 0);
  EXPECT_EQ(append_mac(small, kHeaderLength, keys[0], digests), 0U);  // no room: nothing written
}

}  // namespace
}  // namespace ntpkit::auth
