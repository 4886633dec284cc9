// `ntp-probe [--suite NAME] HOST[:PORT]`: the conformance suites.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace ntpkit::probe {

// A run judges at most this many targets (positional and --targets together).
inline constexpr size_t kMaxTargets = 1'000'000;

struct SuiteOptions {
  std::vector<std::string> targets;  // positional HOST[:PORT]...
  std::string targets_file;          // --targets FILE
  std::string shard;                 // --shard K/N
  unsigned parallel = 8;             // --parallel: targets at once
  double max_rate = 0;               // --max-rate: datagrams/s over the run (0: no cap)
  std::string suite = "rfc5905";
  std::vector<std::string> cases;    // --case GLOB
  std::vector<std::string> exclude;  // --exclude GLOB
  bool list = false;
  OutputOptions out;  // --format, --json FILE, --junit FILE, --color
  std::string expect_fail;
  std::string pcap_out;
  bool strict = false;
  double timeout = 1.0;
  unsigned retries = 2;
  double interval = -1;  // -1: 0 for loopback, 0.25 s otherwise
  unsigned jobs = 64;
  double max_offset = 1.0;
  bool verbose = false;
  bool ipv4 = false;
  bool ipv6 = false;
  double budget = 120;                        // seconds
  std::vector<std::string> source_addresses;  // --source-address ADDR or FIRST-LAST
  KeyOptions keys;                            // --keys FILE --key-id N: the auth suite signs with it
  std::string nts;                            // --nts HOST[:KE-PORT]: the nts suite's key establishment
  std::string ca_file;                        // --ca FILE
  bool insecure = false;                      // --insecure
};

void setup_suite(CLI::App& app, SuiteOptions& o);
// For a target that looks like a mistyped command ("help", "version", "qurey"): a hint such as
// "; did you mean query?" (never empty then); "" for anything that may be a host.
[[nodiscard]] std::string command_like(const std::string& target);
// Exit codes: 0 no failure, 1 a conformance failure, 2 usage, 3 unreachable or nothing concluded.
[[nodiscard]] int run_suite(const SuiteOptions& o);

}  // namespace ntpkit::probe
