// `ntp-probe replay FILE...`: judge the NTP exchanges recorded in pcap/pcapng captures.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace ntpkit::probe {

struct ReplayOptions {
  std::vector<std::string> files;  // "-" reads standard input
  std::vector<unsigned> ports;     // NTP ports besides 123
  OutputOptions out;               // --format, --json FILE, --junit FILE, --color
  unsigned max_listed = 50;        // findings listed per rule in text (all in JSON)
  std::string target;              // live replay: resend the recorded requests here
  double rate = 0;
  std::string timing = "fast";
  size_t max_requests = 10000;
  double timeout = 1.0;
  double max_gap = 5.0;
  unsigned threads = 0;             // 1 or 2; 0: 2 when the process may run on two CPUs
  std::string keys;                 // --keys FILE: verify the recorded MACs (auth/authenticated-reply)
  std::string key_format = "auto";  // --key-format
};

void setup_replay(CLI::App& app, ReplayOptions& o);
// Exit codes: 0 no MUST broken, 1 a MUST broken, 2 usage, 3 a file could not be read (whole or in
// part: the findings read before the damage are still reported).
[[nodiscard]] int run_replay(const ReplayOptions& o);

}  // namespace ntpkit::probe
