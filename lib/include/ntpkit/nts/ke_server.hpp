// The NTS-KE server's answer (RFC 8915 §4) as a pure function: the request's bytes in (what the
// TLS layer read), the response's records out. Keys come from the TLS exporter and cookie nonces
// from a random source, both through callbacks; the TLS itself is crypto/'s.
//
//   - a request that does not frame, does not end with End of Message, lacks the one Next
//     Protocol record, offers NTPv4 without the one AEAD record, or carries records a client
//     must not send (Error, Warning, New Cookie): Error 1 (Bad Request);
//   - an unrecognized record with the critical bit: Error 0 (Unrecognized Critical Record);
//   - otherwise Next Protocol (NTPv4 if offered, else empty), AEAD Algorithm (15 if offered,
//     else empty), eight New Cookie records, the NTPv4 server and port when they are not the
//     KE server's address and port 123, End of Message.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ntpkit/nts/aead.hpp"
#include "ntpkit/nts/cookie.hpp"
#include "ntpkit/nts/ke.hpp"

namespace ntpkit::nts {

// What a misbehaving KE server does instead (ntp-server --misbehave nts-ke-*).
struct KeFaults {
  bool no_end = false;           // no End of Message
  bool any_aead = false;         // AEAD 15 whatever the client offered
  bool two_aeads = false;        // the AEAD record lists a second algorithm beside the chosen one
  bool no_cookies = false;       // no New Cookie record
  bool foreign_cookies = false;  // cookies of a master key the NTP side does not have
  bool one_cookie = false;       // one New Cookie record, not eight
  bool ignore_critical = false;  // an unrecognized critical record is ignored, not Error 0
  bool lenient = false;          // a bad request is answered as a good one, not Error 1
  bool extra_protocol = false;   // Next Protocol lists a protocol the client did not offer
  bool wrong_port = false;       // NTPv4 Port Negotiation names a port nobody serves
};

struct KeServerSettings {
  std::optional<std::string> ntp_server;  // sent as NTPv4 Server Negotiation when set
  std::optional<uint16_t> ntp_port;       // sent as NTPv4 Port Negotiation when set
  size_t cookies = 8;                     // RFC 8915 §4.1.6: "SHOULD send eight of them"
  KeFaults faults;
};

// `exporter(context, length)`: the TLS exporter's keys (label EXPORTER-network-time-security);
// `random(out)`: fills cookie nonces.
using KeyExporter = std::function<std::vector<uint8_t>(std::span<const uint8_t> context, size_t length)>;
using RandomSource = std::function<void(std::span<uint8_t>)>;

struct KeAnswer {
  std::vector<uint8_t> response;
  std::optional<uint16_t> error;  // the Error code sent, if any
  std::string why;                // for the log: what the request got wrong
};

// The answer to the bytes the client sent (all of them, End of Message or not).
[[nodiscard]] KeAnswer answer_ke(std::span<const uint8_t> request, const KeServerSettings& settings,
                                 const CookieJar& jar, const Aead& aead, const KeyExporter& exporter,
                                 const RandomSource& random);

}  // namespace ntpkit::nts
