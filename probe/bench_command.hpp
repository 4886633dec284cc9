// `ntp-probe bench HOST[:PORT]`: load on one server, like ntpperf but on plain sockets. Closed
// loop (K requests outstanding), open loop (a target rate) or a ramp that finds the highest
// rate the server answers with less than 1 % loss; sent/s, valid replies/s, loss, round-trip
// and server T3-T2 percentiles, and the server's CPU per reply when its PID is given.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace ntpkit::probe {

struct BenchOptions {
  std::string target;
  std::string nts;  // --nts HOST[:KE-PORT]: NTS-protected load on the NTP server it names
  std::string ca_file;
  bool insecure = false;
  double duration = 0;       // 0: 5 s for a closed or open loop, at most 60 s for a ramp
  unsigned outstanding = 0;  // 0 and no rate/ramp: 64
  double rate = 0;
  bool ramp = false;
  double ramp_start = 20000;
  double ramp_factor = 1.5;
  double step = 1.0;
  unsigned bisections = 5;
  unsigned sources = 64;
  unsigned source_addresses = 1;
  double timeout = 1.0;
  int server_pid = 0;
  unsigned version = 4;
  OutputOptions out;  // --format text|json|junit|tap, --json FILE, --junit FILE, --color
  bool ipv4 = false;
  bool ipv6 = false;
};

void setup_bench(CLI::App& app, BenchOptions& o);
// Exit codes: 0 measured, 1 replies came but none was valid, 2 usage, 3 no reply or a network
// error.
[[nodiscard]] int run_bench(const BenchOptions& o);

}  // namespace ntpkit::probe
