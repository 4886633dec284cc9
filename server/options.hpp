// ntp-server's command line: one options struct, a setup_ and a parse step (CLI11).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/crypto/nts_ke_server.hpp"
#include "ntpkit/nts/ke_server.hpp"
#include "ntpkit/server/misbehaviour.hpp"
#include "ntpkit/server/rate_limit.hpp"
#include "ntpkit/server/server.hpp"
#include "ntpkit/util/host_port.hpp"

namespace ntpkit::server {

enum class LeapSetting { Auto, Fixed };

struct Options {
  int port = -1;  // positional, like the classic teaching servers: "ntp-server 1123"
  std::vector<std::string> listen;
  int stratum = 1;
  std::string refid = "LOCL";
  std::string leap = "0";  // a test server answers as synchronized; the systemd unit uses auto
  std::string precision = "auto";
  std::string root_delay = "0";
  std::string root_dispersion = "0";
  bool rate_limit = false;
  std::string rate_interval = "2";
  unsigned rate_burst = 8;
  std::vector<std::string> misbehave;
  bool list_misbehaviours = false;
  std::string format = "text";  // of --list-misbehaviours: text, markdown (README's table), tsv (captures/record.sh)
  std::string symmetric = "ignore";
  bool no_interleaved = false;  // --no-interleaved: basic replies only (RFC 9769 off)
  std::string unknown_key = "nak";
  std::string vn1_mode0 = "client";
  std::string user;
  bool verbose = false;
  unsigned threads = 1;
  std::string keys;                 // --keys FILE
  std::string key_format = "auto";  // --key-format auto|ntp|chrony
  std::string nts_cert;             // --nts-cert FILE (PEM chain)
  std::string nts_key;              // --nts-key FILE (PEM)
  int nts_port = 4460;              // --nts-port (0: any free port, printed)
  std::string nts_ntp_server;       // --nts-ntp-server: the NTPv4 Server Negotiation to send
  unsigned nts_rotate = 86400;      // --nts-rotate SECONDS: a new cookie master key this often
};

// What the options mean, validated: everything the server loop needs.
struct Config {
  std::vector<std::string> listen;  // "ADDR:PORT" in the form given, defaults filled in
  std::vector<HostPort> listen_at;  // ... parsed
  bool listen_defaulted = false;    // no --listen given: IPv6 is optional
  ServerState state;
  bool leap_auto = true;
  bool precision_auto = true;
  Policy policy;  // its keys and digests point into the two below
  std::shared_ptr<const auth::KeyStore> keys;
  std::shared_ptr<const auth::Digests> digests;
  Misbehaviour misbehaviour;
  bool rate_limit = false;
  RateLimitConfig rate;
  std::string user;
  bool verbose = false;
  unsigned threads = 1;  // workers, each with its own SO_REUSEPORT sockets
  // NTS (RFC 8915): the KE server's certificate and key, where it listens, what it announces;
  // the cookie jar (a random master key per run) that policy.nts points to.
  std::string nts_cert, nts_key;
  int nts_port = 4460;
  nts::KeServerSettings nts_ke;  // its faults from the nts-ke-* misbehaviours
  crypto::KeTlsFaults nts_tls;   // the TLS side's, likewise
  std::shared_ptr<const crypto::AesSivCmac256> nts_aead;
  std::shared_ptr<nts::CookieJar> nts_jar;  // rotated every nts_rotate by ntp-server's main
  std::chrono::seconds nts_rotate{86400};
};

// A master key for the NTS cookie jar: 32 random octets (getrandom) under `id`; nullopt when
// the kernel gives no random bytes.
[[nodiscard]] std::optional<nts::CookieJar::MasterKey> random_master_key(uint32_t id);

void setup_options(CLI::App& app, Options& o);
// The catalogue of misbehaviours as --list-misbehaviours prints it, in `format`.
[[nodiscard]] std::string list_misbehaviours(const std::string& format);
// Returns an error sentence, or an empty string and a filled Config.
[[nodiscard]] std::string to_config(const Options& o, Config& out);

}  // namespace ntpkit::server
