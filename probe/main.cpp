// ntp-probe: judges NTP servers against the RFCs. The suites run from the top level
// (`ntp-probe --suite rfc5905 HOST:PORT`); other jobs are subcommands, one file each.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "bench_command.hpp"
#include "client_test.hpp"
#include "merge_command.hpp"
#include "query_command.hpp"
#include "replay_command.hpp"
#include "suite_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ntp-probe: tells whether an NTP server behaves as the RFCs say"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", "ntp-probe " NTPKIT_VERSION);
  ntpkit::probe::SuiteOptions suite;
  ntpkit::probe::setup_suite(app, suite);
  ntpkit::probe::QueryOptions query;
  auto* q = app.add_subcommand("query", "time, offset and delay of one server, with the reply judged");
  const bool nagios = ntpkit::probe::wants_nagios(argc, argv);
  ntpkit::probe::setup_query(*q, query, nagios);
  ntpkit::probe::ReplayOptions replay;
  auto* r = app.add_subcommand("replay", "judge the NTP exchanges recorded in pcap/pcapng captures");
  ntpkit::probe::setup_replay(*r, replay);
  ntpkit::probe::BenchOptions bench;
  auto* b = app.add_subcommand("bench", "load on one server: replies/s, loss, round-trip and server-time percentiles");
  ntpkit::probe::setup_bench(*b, bench);
  ntpkit::probe::ClientTestOptions client_test;
  auto* ct = app.add_subcommand("client-test",
                                "judge an NTP client: scenario servers answer it rightly and wrongly, "
                                "and what it takes and sends is judged");
  ntpkit::probe::setup_client_test(*ct, client_test);
  client_test.command = ntpkit::probe::split_client_command(argc, argv);
  ntpkit::probe::MergeOptions merge;
  auto* m =
      app.add_subcommand("merge", "merge JSON reports of earlier runs or shards into one (JSON Lines, JSON, text)");
  ntpkit::probe::setup_merge(*m, merge);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other problem is one line naming us, exit 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    if (nagios) {
      // A monitoring-plugins check: the UNKNOWN line on stdout, exit 3.
      std::printf("NTP UNKNOWN: %s (see ntp-probe query --help)\n", e.what());
      return 3;
    }
    std::fprintf(stderr, "%s: %s (see %s --help)\n", "ntp-probe", e.what(), "ntp-probe");
    return 2;
  }
  if (q->parsed()) return ntpkit::probe::run_query(query);
  if (r->parsed()) return ntpkit::probe::run_replay(replay);
  if (b->parsed()) return ntpkit::probe::run_bench(bench);
  if (ct->parsed()) return ntpkit::probe::run_client_test(client_test);
  if (m->parsed()) return ntpkit::probe::run_merge(merge);
  // A word that looks like a command is not a host name to look up.
  for (const auto& target : suite.targets) {
    if (const std::string word = ntpkit::probe::command_like(target); !word.empty()) {
      std::fprintf(stderr, "ntp-probe: '%s' is not a command or a server%s\n", target.c_str(), word.c_str());
      return 2;
    }
  }
  return ntpkit::probe::run_suite(suite);
}
