// Framing only: the parser rejects what cannot be represented. Odd values (stratum 17, mode 0,
// a zero origin) parse fine and are judged by the rules.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ntpkit/util/result.hpp"
#include "ntpkit/wire/packet.hpp"

namespace ntpkit {

enum class ParseErrorCode : uint8_t {
  TooShort,             // fewer than 48 bytes
  TrailerTooShort,      // NTPv4+: bytes after the last field that are neither an EF nor a MAC
  ExtensionTooShort,    // EF length field below 16
  ExtensionNotAligned,  // EF length field not a multiple of 4
  ExtensionOverrun,     // EF length field runs past the end of the datagram
  MacTooShort,          // NTPv3 and earlier: a trailer of 1 to 3 bytes
};
inline constexpr size_t kParseErrorCodeCount = 6;

// One sentence per code.
[[nodiscard]] std::string_view to_string(ParseErrorCode code);
// Stable identifier, e.g. "extension-overrun".
[[nodiscard]] std::string_view name(ParseErrorCode code);

struct ParseError {
  ParseErrorCode code;
  size_t offset;  // byte offset at which the input stopped making sense
  bool operator==(const ParseError&) const = default;
};
// "extension field at byte 48: ... (RFC 7822 §3)"
[[nodiscard]] std::string describe(const ParseError& e);

[[nodiscard]] Header parse_header(std::span<const uint8_t, kHeaderLength> bytes);
[[nodiscard]] Result<PacketView, ParseError> parse(std::span<const uint8_t> bytes);
// A datagram of exactly the header's length, the common case: what parse() returns for it
// (nothing after the header to frame, so it cannot fail), built in place without a Result.
[[nodiscard]] PacketView parse_bare(std::span<const uint8_t, kHeaderLength> bytes);

}  // namespace ntpkit
