#include "ntpkit/parse.hpp"

#include <array>

#include "ntpkit/bytes.hpp"

namespace ntpkit {
namespace {

struct ErrorText {
  std::string_view name;
  std::string_view sentence;
};

constexpr std::array<ErrorText, kParseErrorCodeCount> kErrors = {{
    {"too-short", "the datagram is shorter than the 48-byte NTP header (RFC 5905 §7.3)"},
    {"trailer-too-short",
     "bytes after the header are too few for an extension field (16 octets) and are not a MAC of 4, 20 or 24 octets "
     "(RFC 7822 §3)"},
    {"extension-too-short", "an extension field's length is below the 16-octet minimum (RFC 7822 §3)"},
    {"extension-not-aligned", "an extension field's length is not a multiple of 4 octets (RFC 7822 §3)"},
    {"extension-overrun", "an extension field's length runs past the end of the datagram (RFC 7822 §3)"},
    {"mac-too-short", "an NTPv3-or-earlier trailer is shorter than a 4-octet key identifier (RFC 1305 Appendix C)"},
}};

MacKind mac_kind(size_t length) {
  switch (length) {
    case kCryptoNakLength: return MacKind::CryptoNak;
    case kMd5MacLength: return MacKind::Md5;
    case kSha1MacLength: return MacKind::Sha1;
    default: return MacKind::Legacy;
  }
}

MacView read_mac(std::span<const uint8_t> bytes, size_t pos) {
  ByteReader r(bytes.subspan(pos));
  MacView m;
  m.kind = mac_kind(bytes.size() - pos);
  m.key_id = r.u32().value_or(0);
  m.digest = bytes.subspan(pos + 4);
  m.offset = pos;
  return m;
}

Failure<ParseError> fail(ParseErrorCode code, size_t offset) { return Failure{ParseError{code, offset}}; }

}  // namespace

std::string_view to_string(ParseErrorCode code) { return kErrors[static_cast<size_t>(code)].sentence; }
std::string_view name(ParseErrorCode code) { return kErrors[static_cast<size_t>(code)].name; }

std::string describe(const ParseError& e) {
  return "at byte " + std::to_string(e.offset) + ": " + std::string(to_string(e.code));
}

Header parse_header(std::span<const uint8_t, kHeaderLength> bytes) {
  ByteReader r(bytes);
  // Every read below is within the fixed 48 bytes, so value_or never substitutes.
  Header h;
  const uint8_t lvm = r.u8().value_or(0);
  h.leap = static_cast<Leap>(lvm >> 6);
  h.version = static_cast<uint8_t>((lvm >> 3) & 0x7);
  h.mode = static_cast<Mode>(lvm & 0x7);
  h.stratum = r.u8().value_or(0);
  h.poll = static_cast<int8_t>(r.u8().value_or(0));
  h.precision = static_cast<int8_t>(r.u8().value_or(0));
  h.root_delay = ShortTime::from_raw(r.u32().value_or(0));
  h.root_dispersion = ShortTime::from_raw(r.u32().value_or(0));
  h.reference_id = ReferenceId::from_raw(r.u32().value_or(0));
  h.reference = Timestamp::from_raw(r.u64().value_or(0));
  h.origin = Timestamp::from_raw(r.u64().value_or(0));
  h.receive = Timestamp::from_raw(r.u64().value_or(0));
  h.transmit = Timestamp::from_raw(r.u64().value_or(0));
  return h;
}

Result<PacketView, ParseError> parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderLength) return fail(ParseErrorCode::TooShort, bytes.size());
  PacketView v;
  v.header = parse_header(bytes.first<kHeaderLength>());
  v.bytes = bytes;
  const size_t n = bytes.size();
  size_t pos = kHeaderLength;

  // Before NTPv4 there were no extension fields: anything after the header is a MAC
  // (RFC 1305 Appendix C; RFC 5905 §7.3 keeps this for older versions).
  if (v.header.version < kCurrentVersion) {
    if (pos == n) return v;
    if (n - pos < kCryptoNakLength) return fail(ParseErrorCode::MacTooShort, pos);
    v.mac = read_mac(bytes, pos);
    return v;
  }

  // RFC 7822 §3: a remainder of exactly a MAC's size is the MAC; otherwise an extension field.
  // A last extension field without a MAC must be at least 28 octets, which keeps the two apart.
  while (pos < n) {
    const size_t rem = n - pos;
    if (rem == kCryptoNakLength || rem == kMd5MacLength || rem == kSha1MacLength) {
      v.mac = read_mac(bytes, pos);
      break;
    }
    if (rem < kMinExtensionLength) return fail(ParseErrorCode::TrailerTooShort, pos);
    ByteReader r(bytes.subspan(pos));
    (void)r.u16();  // type: any value is representable
    const size_t len = r.u16().value_or(0);
    if (len < kMinExtensionLength) return fail(ParseErrorCode::ExtensionTooShort, pos + 2);
    if (len % 4 != 0) return fail(ParseErrorCode::ExtensionNotAligned, pos + 2);
    if (len > rem) return fail(ParseErrorCode::ExtensionOverrun, pos + 2);
    pos += len;
    v.extensions_end = pos;
    ++v.extension_count;
  }
  return v;
}

}  // namespace ntpkit
