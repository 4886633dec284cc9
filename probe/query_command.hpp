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
};

void setup_query(CLI::App& app, QueryOptions& o);
// Exit codes: 0 a usable reply, 1 replies but none usable, 2 usage, 3 no reply or network error.
[[nodiscard]] int run_query(const QueryOptions& o);

}  // namespace ntpkit::probe
