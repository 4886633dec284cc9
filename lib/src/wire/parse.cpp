#include "ntpkit/wire/parse.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "ntpkit/wire/bytes.hpp"

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

Failure<ParseError> fail(ParseErrorCode code, size_t offset) {
  return Failure{ParseError{code, offset}};
}

// Big-endian field of N bytes at a fixed offset of the fixed-size header: the bounds are checked
// at compile time, and the bytes are copied out and swapped in one go (a ByteReader's optionals,
// or a byte-by-byte shift that gcc does not merge, cost a tenth of the capture replay's time).
template <size_t Offset, class T>
T field(std::span<const uint8_t, kHeaderLength> bytes) {
  static_assert(Offset + sizeof(T) <= kHeaderLength);
  T v;
  std::memcpy(&v, bytes.data() + Offset, sizeof v);
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
    if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
  }
  return v;
}

// Every field at once, as an aggregate built where it is returned: a Header first zeroed (gcc used
// `rep stos`) or built aside and copied (read back in 16-byte words right after being written
// field by field, a store-forwarding stall) cost more than reading it.
Header header_of(std::span<const uint8_t, kHeaderLength> bytes) {
  const uint8_t lvm = bytes[0];
  return Header{
      .leap = static_cast<Leap>(lvm >> 6),
      .version = static_cast<uint8_t>((lvm >> 3) & 0x7),
      .mode = static_cast<Mode>(lvm & 0x7),
      .stratum = bytes[1],
      .poll = static_cast<int8_t>(bytes[2]),
      .precision = static_cast<int8_t>(bytes[3]),
      .root_delay = ShortTime::from_raw(field<4, uint32_t>(bytes)),
      .root_dispersion = ShortTime::from_raw(field<8, uint32_t>(bytes)),
      .reference_id = ReferenceId::from_raw(field<12, uint32_t>(bytes)),
      .reference = Timestamp::from_raw(field<16, uint64_t>(bytes)),
      .origin = Timestamp::from_raw(field<24, uint64_t>(bytes)),
      .receive = Timestamp::from_raw(field<32, uint64_t>(bytes)),
      .transmit = Timestamp::from_raw(field<40, uint64_t>(bytes)),
  };
}

}  // namespace

std::string_view to_string(ParseErrorCode code) {
  return kErrors[static_cast<size_t>(code)].sentence;
}
std::string_view name(ParseErrorCode code) {
  return kErrors[static_cast<size_t>(code)].name;
}

std::string describe(const ParseError& e) {
  return "at byte " + std::to_string(e.offset) + ": " + std::string(to_string(e.code));
}

Header parse_header(std::span<const uint8_t, kHeaderLength> bytes) {
  return header_of(bytes);
}

PacketView parse_bare(std::span<const uint8_t, kHeaderLength> bytes) {
  return PacketView{.header = header_of(bytes),
                    .bytes = bytes,
                    .extensions_end = kHeaderLength,
                    .extension_count = 0,
                    .mac = std::nullopt};
}

Result<PacketView, ParseError> parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderLength) return fail(ParseErrorCode::TooShort, bytes.size());
  if (bytes.size() == kHeaderLength) return parse_bare(bytes.first<kHeaderLength>());
  PacketView v{.header = header_of(bytes.first<kHeaderLength>()),
               .bytes = bytes,
               .extensions_end = kHeaderLength,
               .extension_count = 0,
               .mac = std::nullopt};
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
