// An NTS association as a client holds it (RFC 8915): key establishment over TLS (what was
// negotiated, the keys, the cookies), then NTS-protected requests, each spending one cookie and
// asking for enough new ones to keep eight in hand, and the replies' new cookies taken in.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/crypto/nts_ke_client.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/nts/ke.hpp"
#include "udp_client.hpp"

namespace ntpkit::probe {

struct NtsOptions {
  std::string ke;       // HOST[:PORT] of the NTS-KE server (port 4460 by default)
  std::string ca_file;  // --ca FILE; empty: the system's trust store
  bool insecure = false;
  std::chrono::milliseconds timeout{5000};
};

// What key establishment gave, and what it said.
struct NtsEstablished {
  crypto::TlsFacts tls;
  std::vector<uint8_t> response;  // the server's records as received
  nts::Message message;           // decoded
  uint16_t aead = 0;
  std::string ntp_host;  // from NTPv4 Server Negotiation, else the KE server's host
  uint16_t ntp_port = 123;
  bool server_named = false;  // the NTP server and port came from the records
  size_t cookie_length = 0;   // of the first cookie
};

// The usage rules of --nts, --ca and --insecure beside a HOST[:PORT] target, for query and the
// suites alike: the error sentence, or empty.
[[nodiscard]] std::string check_nts_options(const std::string& target, const std::string& nts,
                                            const std::string& ca_file, bool insecure);
// The TLS client's options for the --nts server (its HOST[:PORT] parsed, port 4460 by default).
[[nodiscard]] Result<crypto::KeClientOptions, std::string> ke_client_options(const NtsOptions& o);

// Why key establishment gave no association: one sentence, and whether the server answered at
// all (a TLS session was set up) or could not be reached.
struct NtsFailure {
  std::string message;
  bool answered = false;
};

class NtsAssociation;
// Key establishment for a command (query, bench): the association and the NTP server it names,
// or the exit code after one line on stderr ("PROGRAM: why"): 1 when the KE server answered
// (or named a server we cannot use), 3 when it could not be reached.
struct NtsSetup;
[[nodiscard]] Result<NtsSetup, int> establish_for(const char* program, const std::string& ke,
                                                  const std::string& ca_file, bool insecure, double timeout_s);

class NtsAssociation {
 public:
  // Key establishment: TLS, the request, the response, the keys.
  [[nodiscard]] static Result<NtsAssociation, NtsFailure> establish(const NtsOptions& o);
  [[nodiscard]] const NtsEstablished& established() const { return e_; }
  // The NTP server NTS-KE named (or the KE server's host, port 123), as a target.
  [[nodiscard]] Result<Target, std::string> ntp_target() const;
  [[nodiscard]] size_t cookies() const { return cookies_.size(); }
  // For the nts suite: the AEAD, the keys and the cookies as key establishment gave them.
  [[nodiscard]] conformance::NtsMaterial material() const {
    return {&aead_, c2s_, s2c_, std::vector<std::vector<uint8_t>>(cookies_.begin(), cookies_.end())};
  }

  // One request: header + Unique Identifier + a cookie + placeholders + authenticator. The
  // RequestKey judges its reply (judge_reply/assess_reply); nullopt when no cookie is left.
  struct Request {
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> unique_id;
    size_t placeholders = 0;
  };
  [[nodiscard]] std::optional<Request> request(const Header& header);
  [[nodiscard]] NtsRequestKey key_for(const Request& r) const { return {r.unique_id, &aead_, s2c_}; }
  // The reply's new cookies, if it verifies: added to those in hand.
  nts::OpenedReply absorb(const Request& r, const PacketView& reply);

 private:
  NtsEstablished e_;
  crypto::AesSivCmac256 aead_;
  std::vector<uint8_t> c2s_, s2c_;
  std::deque<std::vector<uint8_t>> cookies_;
};

struct NtsSetup {
  NtsAssociation association;
  Target target;
};

}  // namespace ntpkit::probe
