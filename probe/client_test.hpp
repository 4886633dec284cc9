// `ntp-probe client-test [OPTIONS] -- COMMAND [ARGS...]`: judges an NTP client. For each
// scenario a server on loopback answers the way the scenario says (the reference server's
// misbehaviours, through the same respond()), the client command runs once with {host} and
// {port} replaced, and what it did is judged: whether it took the time (its adapter reads the
// exit code and, where it prints one, the offset) and what it sent.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace ntpkit::probe {

struct ClientTestOptions {
  std::vector<std::string> command;  // after --
  std::string adapter = "generic";
  std::string offset_regex;  // generic: the offset the client prints (first group, seconds)
  std::vector<std::string> scenarios, excludes;
  double timeout = 10;     // per run of the client; --daemon: per scenario
  double tolerance = 0.5;  // on the offset it reports
  std::string listen = "127.0.0.1";
  bool netns = false;   // a private network namespace, the server on port 123 (clients without a port option)
  bool daemon = false;  // one long-running client, the scenarios served in turn
  bool list = false;
  bool strict = false;
  bool verbose = false;
  OutputOptions out;
};

void setup_client_test(CLI::App& app, ClientTestOptions& o);
// `ntp-probe ... client-test [OPTIONS] -- COMMAND...`: takes COMMAND out of argv (argc shortened to
// before the "--"), so that its options are never read as ours.
[[nodiscard]] std::vector<std::string> split_client_command(int& argc, char** argv);
// Exit codes as the suites': 0 no failure, 1 a failure, 2 usage, 3 nothing concluded (the client
// never reached the scenario server, or could not start).
[[nodiscard]] int run_client_test(const ClientTestOptions& o);

}  // namespace ntpkit::probe
