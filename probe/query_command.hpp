// `ntp-probe query HOST[:PORT]`: time, offset and delay from one server, with the reply judged;
// `ntp-probe query --nts HOST[:KE-PORT]`: the same over NTS (RFC 8915), after key establishment.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace ntpkit::probe {

struct QueryOptions {
  std::string target;
  unsigned count = 1;
  double interval = 1.0;
  double timeout = 2.0;
  unsigned version = 4;
  OutputOptions out;  // --format text|json|junit|tap, --json FILE, --junit FILE, --color
  bool ipv4 = false;
  bool ipv6 = false;
  std::string source_address;  // send from this address of ours
  KeyOptions keys;             // --keys FILE --key-id N: authenticated requests
  std::string nts;             // --nts HOST[:KE-PORT]: key establishment there, NTS-protected requests
  std::string ca_file;         // --ca FILE: trust anchors for the NTS-KE server's certificate
  bool insecure = false;       // --insecure: accept any NTS-KE certificate
  // --nagios: a monitoring-plugins check (one status line; exit 0 OK, 1 WARNING, 2 CRITICAL,
  // 3 UNKNOWN) with these thresholds on the absolute offset, in seconds (check_ntp_time's defaults).
  bool nagios = false;
  double warning = 60;
  double critical = 120;
};

// `nagios`: the command line has --nagios, so -c is --critical (as check_ntp_time's) and the
// count is --count alone; without it -c is --count.
void setup_query(CLI::App& app, QueryOptions& o, bool nagios = false);
// True when argv asks for `query ... --nagios` (before anything is parsed).
[[nodiscard]] bool wants_nagios(int argc, char** argv);
// Exit codes: 0 a usable reply, 1 replies but none usable, 2 usage, 3 no reply or network error;
// with --nagios the monitoring-plugins' 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
[[nodiscard]] int run_query(const QueryOptions& o);

}  // namespace ntpkit::probe
