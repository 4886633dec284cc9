// The NTP packet model (RFC 5905 §7.3, RFC 7822 extension fields, RFC 5905 §7.3 / RFC 1305
// Appendix C MACs).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Root Delay (16.16)  |  Root Dispersion (16.16) |
//  |                          Reference ID                         |
//  |                 Reference Timestamp (64, 32.32)               |
//  |                 Origin Timestamp (64)                         |
//  |                 Receive Timestamp (64)                        |
//  |                 Transmit Timestamp (64)                       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   Extension fields (RFC 7822): Type (16) | Length (16) | Value  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   MAC (optional): Key Identifier (32) | Digest (128 or 160)     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/wire/time.hpp"

namespace ntpkit {

inline constexpr size_t kHeaderLength = 48;
inline constexpr size_t kMinExtensionLength = 16;      // RFC 7822 §3
inline constexpr size_t kMinLastExtensionLength = 28;  // RFC 7822 §3, when no MAC follows
inline constexpr size_t kCryptoNakLength = 4;          // RFC 5905 §7.4: key id 0 alone
inline constexpr size_t kMd5MacLength = 20;            // key id + 128-bit digest
inline constexpr size_t kSha1MacLength = 24;           // key id + 160-bit digest
inline constexpr uint8_t kCurrentVersion = 4;

enum class Mode : uint8_t {
  Reserved = 0,
  SymmetricActive = 1,
  SymmetricPassive = 2,
  Client = 3,
  Server = 4,
  Broadcast = 5,
  Control = 6,
  Private = 7,
};
[[nodiscard]] std::string_view to_string(Mode m);

enum class Leap : uint8_t { NoWarning = 0, AddSecond = 1, DeleteSecond = 2, Unsynchronized = 3 };
[[nodiscard]] std::string_view to_string(Leap l);

// Kiss codes of RFC 5905 §7.4 (plus NTSN from RFC 8915 §5.7).
enum class KissCode : uint8_t {
  ACST,
  AUTH,
  AUTO,
  BCST,
  CRYP,
  DENY,
  DROP,
  RSTR,
  INIT,
  MCST,
  NKEY,
  NTSN,
  RATE,
  RMOT,
  STEP,
};
[[nodiscard]] std::string_view to_string(KissCode k);
[[nodiscard]] std::string_view describe(KissCode k);

class ReferenceId {
 public:
  constexpr ReferenceId() = default;
  static constexpr ReferenceId from_raw(uint32_t raw) { return ReferenceId(raw); }
  // Up to four ASCII characters, zero padded on the right ("LOCL", "GPS").
  static ReferenceId from_ascii(std::string_view code);
  static ReferenceId from_ipv4(std::array<uint8_t, 4> addr);
  static ReferenceId from_kiss(KissCode k);

  [[nodiscard]] constexpr uint32_t raw() const { return raw_; }
  [[nodiscard]] std::array<uint8_t, 4> bytes() const;
  // The four bytes as text; non-printable bytes as \xNN, trailing NULs dropped.
  [[nodiscard]] std::string ascii() const;
  [[nodiscard]] bool is_printable_ascii() const;
  [[nodiscard]] std::string ipv4() const;  // dotted quad
  [[nodiscard]] std::optional<KissCode> kiss_code() const;
  constexpr bool operator==(const ReferenceId&) const = default;

 private:
  constexpr explicit ReferenceId(uint32_t raw) : raw_(raw) {}
  uint32_t raw_ = 0;
};

struct Header {
  Leap leap = Leap::NoWarning;
  uint8_t version = kCurrentVersion;  // 3 bits on the wire: 0..7
  Mode mode = Mode::Client;
  uint8_t stratum = 0;
  int8_t poll = 0;
  int8_t precision = 0;
  ShortTime root_delay;
  ShortTime root_dispersion;
  ReferenceId reference_id;
  Timestamp reference;
  Timestamp origin;
  Timestamp receive;
  Timestamp transmit;
  bool operator==(const Header&) const = default;
};

// The server's root distance as it states it: root delay / 2 + root dispersion (RFC 5905 §11.2.1,
// without our own path's share).
[[nodiscard]] inline Duration root_distance(const Header& h) {
  return h.root_delay.to_duration().half() + h.root_dispersion.to_duration();
}

// A data-minimised client request (draft-ietf-ntp-data-minimization): every field zero but LI 0,
// the version, mode 3 and the transmit timestamp, which the reply's origin must echo (RFC 5905
// §8); the client keeps its real send time to itself. The one way this toolkit asks for time.
[[nodiscard]] inline Header client_request(uint8_t version, Timestamp transmit) {
  Header h;
  h.version = version;
  h.mode = Mode::Client;
  h.transmit = transmit;
  return h;
}

enum class MacKind : uint8_t {
  CryptoNak,  // 4 bytes: key identifier only
  Md5,        // 20 bytes
  Sha1,       // 24 bytes
  Legacy,     // NTPv3 and earlier: any other length of at least 4 (e.g. 12 for DES)
};
[[nodiscard]] std::string_view to_string(MacKind k);

struct ExtensionFieldView {
  uint16_t type = 0;
  uint16_t length = 0;  // as on the wire: header and value, padding included
  std::span<const uint8_t> value;
  size_t offset = 0;  // of the field's first byte in the packet
};

struct MacView {
  MacKind kind = MacKind::Md5;
  uint32_t key_id = 0;
  std::span<const uint8_t> digest;
  size_t offset = 0;
};

// Iterates over extension fields a successful parse has already validated.
class ExtensionRange {
 public:
  class Iterator {
   public:
    using value_type = ExtensionFieldView;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(std::span<const uint8_t> bytes, size_t pos, size_t end) : bytes_(bytes), pos_(pos), end_(end) {}
    ExtensionFieldView operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      auto t = *this;
      ++*this;
      return t;
    }
    bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

   private:
    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
    size_t end_ = 0;
  };
  ExtensionRange(std::span<const uint8_t> bytes, size_t begin, size_t end) : bytes_(bytes), begin_(begin), end_(end) {}
  [[nodiscard]] Iterator begin() const { return {bytes_, begin_, end_}; }
  [[nodiscard]] Iterator end() const { return {bytes_, end_, end_}; }
  [[nodiscard]] bool empty() const { return begin_ == end_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t begin_;
  size_t end_;
};

// A parsed packet that borrows the bytes it was parsed from (no allocation).
struct PacketView {
  Header header;
  std::span<const uint8_t> bytes;  // the whole datagram
  size_t extensions_end = kHeaderLength;
  size_t extension_count = 0;
  std::optional<MacView> mac;

  [[nodiscard]] ExtensionRange extensions() const { return {bytes, kHeaderLength, extensions_end}; }
  [[nodiscard]] size_t size() const { return bytes.size(); }
};

// An owning packet for building, including packets that are malformed on purpose.
struct ExtensionField {
  uint16_t type = 0;
  std::vector<uint8_t> value;               // everything after the 4-byte field header
  std::optional<uint16_t> length_override;  // write this instead of 4 + value.size()
  bool operator==(const ExtensionField&) const = default;
};

struct Mac {
  uint32_t key_id = 0;
  std::vector<uint8_t> digest;  // empty for a crypto-NAK
  bool operator==(const Mac&) const = default;
};

struct Packet {
  Header header;
  std::vector<ExtensionField> extensions;
  std::optional<Mac> mac;
  std::vector<uint8_t> trailing;  // appended verbatim after everything else
  bool operator==(const Packet&) const = default;
};

[[nodiscard]] Packet to_packet(const PacketView& view);

}  // namespace ntpkit
