#include "ntpkit/nts/ke.hpp"

#include "ntpkit/wire/bytes.hpp"

namespace ntpkit::nts {

std::string_view to_string(RecordType t) {
  switch (t) {
    case RecordType::EndOfMessage: return "End of Message";
    case RecordType::NextProtocol: return "NTS Next Protocol Negotiation";
    case RecordType::Error: return "Error";
    case RecordType::Warning: return "Warning";
    case RecordType::AeadAlgorithm: return "AEAD Algorithm Negotiation";
    case RecordType::NewCookie: return "New Cookie for NTPv4";
    case RecordType::Server: return "NTPv4 Server Negotiation";
    case RecordType::Port: return "NTPv4 Port Negotiation";
  }
  return "?";
}

std::string describe_record_type(uint16_t type) {
  if (type <= static_cast<uint16_t>(RecordType::Port)) return std::string(to_string(static_cast<RecordType>(type)));
  return "unknown type " + std::to_string(type);
}

std::string describe_error_code(uint16_t code) {
  switch (code) {
    case 0: return "0 (Unrecognized Critical Record)";
    case 1: return "1 (Bad Request)";
    case 2: return "2 (Internal Server Error)";
    default: return std::to_string(code) + " (unassigned)";
  }
}

std::string describe_aead(uint16_t id) {
  if (id == kAeadAesSivCmac256) return "AEAD_AES_SIV_CMAC_256 (15)";
  if (id == 16) return "AEAD_AES_SIV_CMAC_384 (16)";
  if (id == 17) return "AEAD_AES_SIV_CMAC_512 (17)";
  return "AEAD " + std::to_string(id);
}

namespace {

// The record at `pos`: its header and body, or the framing error.
Result<Record, KeError> record_at(std::span<const uint8_t> bytes, size_t pos) {
  ByteReader r(bytes.subspan(pos));
  const auto first = r.u16();
  const auto length = r.u16();
  if (!first || !length) return Failure{KeError{KeErrorCode::TruncatedHeader, pos}};
  const auto body = r.bytes(*length);
  if (!body) return Failure{KeError{KeErrorCode::BodyOverrun, pos}};
  return Record{(*first & 0x8000u) != 0, static_cast<uint16_t>(*first & 0x7FFFu), *body, pos};
}

std::vector<uint16_t> u16_list(std::span<const uint8_t> body) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < body.size(); i += 2) out.push_back(static_cast<uint16_t>(body[i] << 8 | body[i + 1]));
  return out;
}

}  // namespace

std::string describe(const KeError& e, std::span<const uint8_t> bytes) {
  std::string out = "NTS-KE record at byte " + std::to_string(e.offset) + ": ";
  const size_t left = e.offset <= bytes.size() ? bytes.size() - e.offset : 0;
  if (e.code == KeErrorCode::TruncatedHeader) {
    return out + "only " + std::to_string(left) + " octet(s) where a 4-octet record header belongs (RFC 8915 §4)";
  }
  const size_t length = left >= 4 ? static_cast<size_t>(bytes[e.offset + 2] << 8 | bytes[e.offset + 3]) : 0;
  return out + "a body of " + std::to_string(length) + " octets runs past the " +
         std::to_string(left >= 4 ? left - 4 : 0) + " that follow its header (RFC 8915 §4)";
}

std::optional<size_t> message_length(std::span<const uint8_t> bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto r = record_at(bytes, pos);
    if (!r) return std::nullopt;
    pos += kRecordHeaderLength + r->body.size();
    if (r->type == static_cast<uint16_t>(RecordType::EndOfMessage)) return pos;
  }
  return std::nullopt;
}

Result<std::vector<Record>, KeError> parse_records(std::span<const uint8_t> bytes) {
  std::vector<Record> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto r = record_at(bytes, pos);
    if (!r) return Failure{r.error()};
    pos += kRecordHeaderLength + r->body.size();
    out.push_back(*r);
  }
  return out;
}

Result<Message, KeError> decode(std::span<const uint8_t> bytes) {
  auto records = parse_records(bytes);
  if (!records) return Failure{records.error()};
  Message m;
  m.records = std::move(*records);
  const auto note = [&](const Record& r, std::string what) { m.shapes.push_back({r.offset, std::move(what)}); };
  const auto at = [](const Record& r) { return " (byte " + std::to_string(r.offset) + ")"; };
  const auto need_critical = [&](const Record& r) {
    if (!r.critical) note(r, describe_record_type(r.type) + " without the critical bit" + at(r));
  };
  const auto even = [&](const Record& r) {
    if (r.body.size() % 2 != 0) {
      note(r, describe_record_type(r.type) + " body of " + std::to_string(r.body.size()) + " octets, not a list of " +
                  "16-bit values" + at(r));
    }
  };
  for (const Record& r : m.records) {
    if (m.end_of_message) {
      ++m.records_after_end;
      note(r, describe_record_type(r.type) + " after End of Message" + at(r));
      continue;
    }
    switch (r.type) {
      case static_cast<uint16_t>(RecordType::EndOfMessage):
        m.end_of_message = true;
        need_critical(r);
        if (!r.body.empty())
          note(r, "End of Message with a body of " + std::to_string(r.body.size()) + " octets" + at(r));
        break;
      case static_cast<uint16_t>(RecordType::NextProtocol):
        need_critical(r);
        even(r);
        if (m.next_protocol_records++ == 0) {
          m.next_protocols = u16_list(r.body);
        } else {
          note(r, "a second NTS Next Protocol Negotiation record" + at(r));
        }
        break;
      case static_cast<uint16_t>(RecordType::Error):
      case static_cast<uint16_t>(RecordType::Warning): {
        need_critical(r);
        if (r.body.size() != 2) {
          note(r,
               describe_record_type(r.type) + " body of " + std::to_string(r.body.size()) + " octets, not 2" + at(r));
        }
        auto& list = r.type == static_cast<uint16_t>(RecordType::Error) ? m.errors : m.warnings;
        list.push_back(r.body.size() >= 2 ? static_cast<uint16_t>(r.body[0] << 8 | r.body[1]) : uint16_t{0xFFFF});
        break;
      }
      case static_cast<uint16_t>(RecordType::AeadAlgorithm):
        even(r);
        if (m.aead_records++ == 0) {
          m.aead_algorithms = u16_list(r.body);
        } else {
          note(r, "a second AEAD Algorithm Negotiation record" + at(r));
        }
        break;
      case static_cast<uint16_t>(RecordType::NewCookie): m.cookies.push_back(r.body); break;
      case static_cast<uint16_t>(RecordType::Server):
        if (m.server) note(r, "a second NTPv4 Server Negotiation record" + at(r));
        m.server = std::string(r.body.begin(), r.body.end());
        break;
      case static_cast<uint16_t>(RecordType::Port):
        if (r.body.size() != 2) {
          note(r, "NTPv4 Port Negotiation body of " + std::to_string(r.body.size()) + " octets, not 2" + at(r));
          break;
        }
        if (m.port) note(r, "a second NTPv4 Port Negotiation record" + at(r));
        m.port = static_cast<uint16_t>(r.body[0] << 8 | r.body[1]);
        break;
      default: m.unknown.push_back(r); break;
    }
  }
  return m;
}

void append_record(std::vector<uint8_t>& out, uint16_t type, bool critical, std::span<const uint8_t> body) {
  const uint16_t first = static_cast<uint16_t>((critical ? 0x8000u : 0u) | (type & 0x7FFFu));
  const size_t length = std::min<size_t>(body.size(), 0xFFFF);
  out.push_back(static_cast<uint8_t>(first >> 8));
  out.push_back(static_cast<uint8_t>(first));
  out.push_back(static_cast<uint8_t>(length >> 8));
  out.push_back(static_cast<uint8_t>(length));
  out.insert(out.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(length));
}

void append_u16_record(std::vector<uint8_t>& out, RecordType type, bool critical, std::span<const uint16_t> values) {
  std::vector<uint8_t> body;
  for (uint16_t v : values) {
    body.push_back(static_cast<uint8_t>(v >> 8));
    body.push_back(static_cast<uint8_t>(v));
  }
  append_record(out, static_cast<uint16_t>(type), critical, body);
}

void append_end_of_message(std::vector<uint8_t>& out) {
  append_record(out, static_cast<uint16_t>(RecordType::EndOfMessage), true, {});
}

std::vector<uint8_t> client_request(std::span<const uint16_t> aeads, std::span<const uint16_t> protocols) {
  static constexpr uint16_t kNtp[] = {kProtocolNtpv4};
  static constexpr uint16_t kSiv[] = {kAeadAesSivCmac256};
  std::vector<uint8_t> out;
  append_u16_record(out, RecordType::NextProtocol, true,
                    protocols.empty() ? std::span<const uint16_t>(kNtp) : protocols);
  append_u16_record(out, RecordType::AeadAlgorithm, true, aeads.empty() ? std::span<const uint16_t>(kSiv) : aeads);
  append_end_of_message(out);
  return out;
}

std::array<uint8_t, 5> exporter_context(uint16_t protocol, uint16_t aead, bool server_to_client) {
  return {static_cast<uint8_t>(protocol >> 8), static_cast<uint8_t>(protocol), static_cast<uint8_t>(aead >> 8),
          static_cast<uint8_t>(aead), static_cast<uint8_t>(server_to_client ? 1 : 0)};
}

}  // namespace ntpkit::nts
