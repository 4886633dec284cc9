#include "ntpkit/nts/ke_server.hpp"

#include <algorithm>

namespace ntpkit::nts {
namespace {

KeAnswer error(uint16_t code, std::string why) {
  KeAnswer a;
  const uint8_t body[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  append_record(a.response, static_cast<uint16_t>(RecordType::Error), true, body);
  append_end_of_message(a.response);
  a.error = code;
  a.why = std::move(why);
  return a;
}

bool contains(const std::vector<uint16_t>& v, uint16_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

KeAnswer answer_ke(std::span<const uint8_t> request, const KeServerSettings& s, const CookieJar& jar, const Aead& aead,
                   const KeyExporter& exporter, const RandomSource& random) {
  const KeFaults& f = s.faults;
  auto decoded = decode(request);
  Message m;
  std::string bad;
  if (!decoded) {
    bad = describe(decoded.error(), request);
  } else {
    m = std::move(*decoded);
    if (!m.end_of_message)
      bad = "no End of Message";
    else if (m.records_after_end > 0)
      bad = "records after End of Message";
    else if (m.next_protocol_records != 1)
      bad = std::to_string(m.next_protocol_records) + " Next Protocol records";
    else if (m.next_protocols.empty())
      bad = "an empty Next Protocol record";
    else if (contains(m.next_protocols, kProtocolNtpv4) && m.aead_records != 1)
      bad = std::to_string(m.aead_records) + " AEAD records";
    else if (m.aead_records == 1 && m.aead_algorithms.empty())
      bad = "an empty AEAD record";
    else if (!m.errors.empty() || !m.warnings.empty() || !m.cookies.empty())
      bad = "an Error, Warning or New Cookie record from the client";
  }
  if (decoded) {
    for (const Record& r : m.unknown) {
      if (r.critical && !f.ignore_critical) {
        return error(static_cast<uint16_t>(ErrorCode::UnrecognizedCriticalRecord),
                     "unrecognized critical record " + describe_record_type(r.type));
      }
    }
  }
  if (!bad.empty() && !f.lenient) return error(static_cast<uint16_t>(ErrorCode::BadRequest), bad);

  KeAnswer a;
  const bool ntp = contains(m.next_protocols, kProtocolNtpv4) || f.lenient;
  std::vector<uint16_t> protocols;
  if (ntp) protocols.push_back(kProtocolNtpv4);
  if (f.extra_protocol) protocols.push_back(0x7FF0);
  append_u16_record(a.response, RecordType::NextProtocol, true, protocols);
  const bool siv = contains(m.aead_algorithms, aead.id()) || f.any_aead || (f.lenient && m.aead_algorithms.empty());
  std::vector<uint16_t> chosen;
  if (ntp && siv) chosen.push_back(aead.id());
  if (ntp && siv && f.two_aeads) chosen.push_back(1);  // AEAD_AES_128_GCM
  if (ntp) append_u16_record(a.response, RecordType::AeadAlgorithm, true, chosen);
  if (ntp && siv) {
    CookieContents c;
    c.aead = aead.id();
    c.c2s = exporter(exporter_context(kProtocolNtpv4, aead.id(), false), aead.key_length());
    c.s2c = exporter(exporter_context(kProtocolNtpv4, aead.id(), true), aead.key_length());
    if (c.c2s.size() != aead.key_length() || c.s2c.size() != aead.key_length()) {
      return error(static_cast<uint16_t>(ErrorCode::InternalServerError), "the TLS exporter gave no keys");
    }
    const size_t n = f.no_cookies ? 0 : f.one_cookie ? 1 : s.cookies;
    std::array<uint8_t, kCookieNonceLength> nonce{};
    for (size_t i = 0; i < n; ++i) {
      random(nonce);
      auto cookie = jar.make(c, nonce);
      if (f.foreign_cookies && !cookie.empty()) cookie[0] ^= 0x80;  // a key id the NTP side does not know
      append_record(a.response, static_cast<uint16_t>(RecordType::NewCookie), false, cookie);
    }
    if (s.ntp_server) {
      append_record(a.response, static_cast<uint16_t>(RecordType::Server), true,
                    std::span(reinterpret_cast<const uint8_t*>(s.ntp_server->data()), s.ntp_server->size()));
    }
    if (s.ntp_port || f.wrong_port) {
      const uint16_t port[] = {f.wrong_port ? uint16_t{9} : *s.ntp_port};
      append_u16_record(a.response, RecordType::Port, true, port);
    }
  }
  if (!f.no_end) append_end_of_message(a.response);
  return a;
}

}  // namespace ntpkit::nts
