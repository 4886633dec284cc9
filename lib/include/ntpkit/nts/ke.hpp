// NTS Key Establishment records (RFC 8915 §4): what a client and a server say to each other over
// TLS 1.3 before any NTP packet. Each record is a critical bit, a 15-bit type, a 16-bit body
// length and the body:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |C|         Record Type         |          Body Length          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .                           Record Body                         .
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Pure: bytes in, values out. Framing errors (a record that runs past the bytes) are errors with
// a byte offset; what a record says that the RFC does not allow (two Next Protocol records, an
// odd-length list, a record after End of Message) is decoded and noted as a Shape, for the suites
// to judge: the codec refuses only what it cannot represent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/util/result.hpp"

namespace ntpkit::nts {

// RFC 8915 §7.6, the NTS Key Establishment Record Types registry.
enum class RecordType : uint16_t {
  EndOfMessage = 0,
  NextProtocol = 1,
  Error = 2,
  Warning = 3,
  AeadAlgorithm = 4,
  NewCookie = 5,
  Server = 6,
  Port = 7,
};
[[nodiscard]] std::string_view to_string(RecordType t);         // "End of Message"
[[nodiscard]] std::string describe_record_type(uint16_t type);  // the name, or "unknown type N"

// RFC 8915 §7.8, NTS Error Codes.
enum class ErrorCode : uint16_t {
  UnrecognizedCriticalRecord = 0,
  BadRequest = 1,
  InternalServerError = 2,
};
[[nodiscard]] std::string describe_error_code(uint16_t code);

inline constexpr uint16_t kProtocolNtpv4 = 0;       // RFC 8915 §7.7, NTS Next Protocols
inline constexpr uint16_t kAeadAesSivCmac256 = 15;  // RFC 5116 registry: AEAD_AES_SIV_CMAC_256
inline constexpr uint16_t kDefaultKePort = 4460;    // RFC 8915 §7.1: ntske/1 over TCP
inline constexpr std::string_view kAlpn = "ntske/1";
inline constexpr std::string_view kExporterLabel = "EXPORTER-network-time-security";
inline constexpr size_t kRecordHeaderLength = 4;
[[nodiscard]] std::string describe_aead(uint16_t id);  // "AEAD_AES_SIV_CMAC_256 (15)" or "AEAD 7"

struct Record {
  bool critical = false;
  uint16_t type = 0;  // 15 bits
  std::span<const uint8_t> body;
  size_t offset = 0;  // of the record's first byte in the message
};

enum class KeErrorCode : uint8_t {
  TruncatedHeader,  // fewer than 4 bytes left where a record starts
  BodyOverrun,      // the body length runs past the bytes received
};
struct KeError {
  KeErrorCode code;
  size_t offset;  // of the record that could not be read
  bool operator==(const KeError&) const = default;
};
// "NTS-KE record at byte 12: body of 40 octets runs past the 20 received"
[[nodiscard]] std::string describe(const KeError& e, std::span<const uint8_t> bytes);

// How far a byte stream holds a complete message: the length up to and including the first End
// of Message record, or nullopt while it does not hold one yet (read more). A framing error
// cannot be seen before the stream ends: parse() says it then.
[[nodiscard]] std::optional<size_t> message_length(std::span<const uint8_t> bytes);

// Every record of `bytes`, in order (records after an End of Message included).
[[nodiscard]] Result<std::vector<Record>, KeError> parse_records(std::span<const uint8_t> bytes);

// What a message departs from RFC 8915 in, one finding each, in order: what the suites judge.
struct Shape {
  size_t offset;  // of the record concerned
  std::string what;
};

// A decoded message: the records in order, and what each known one said.
struct Message {
  std::vector<Record> records;
  bool end_of_message = false;   // an End of Message record came
  size_t records_after_end = 0;  // records after the first End of Message
  size_t next_protocol_records = 0;
  std::vector<uint16_t> next_protocols;  // the first Next Protocol record's list
  size_t aead_records = 0;
  std::vector<uint16_t> aead_algorithms;  // the first AEAD record's list
  std::vector<std::span<const uint8_t>> cookies;
  std::vector<uint16_t> errors;
  std::vector<uint16_t> warnings;
  std::optional<std::string> server;  // the NTPv4 Server Negotiation body, as sent
  std::optional<uint16_t> port;
  std::vector<Record> unknown;  // record types RFC 8915 does not define
  std::vector<Shape> shapes;
};
[[nodiscard]] Result<Message, KeError> decode(std::span<const uint8_t> bytes);

// Building messages (also malformed ones, for the suites' stimuli and the server's misbehaviours).
void append_record(std::vector<uint8_t>& out, uint16_t type, bool critical, std::span<const uint8_t> body);
void append_u16_record(std::vector<uint8_t>& out, RecordType type, bool critical, std::span<const uint16_t> values);
void append_end_of_message(std::vector<uint8_t>& out);

// The request a client sends (RFC 8915 §4): Next Protocol Negotiation (NTPv4) and AEAD Algorithm
// Negotiation, both critical, then End of Message.
[[nodiscard]] std::vector<uint8_t> client_request(std::span<const uint16_t> aeads = {},
                                                  std::span<const uint16_t> protocols = {});

// The key exporter's context (RFC 8915 §5.1): the Protocol ID, the AEAD algorithm, and 0x00 for
// the client-to-server key or 0x01 for the server-to-client key.
[[nodiscard]] std::array<uint8_t, 5> exporter_context(uint16_t protocol, uint16_t aead, bool server_to_client);

}  // namespace ntpkit::nts
