// ntp-server: a reference NTP server (RFC 5905) that can also misbehave on purpose.
#include <cstdio>

#include "kernel_clock.hpp"
#include "options.hpp"
#include "udp_server.hpp"

int main(int argc, char** argv) {
  using namespace ntpkit::server;
  CLI::App app{"ntp-server: a reference NTP server (RFC 5905) that can misbehave on purpose"};
  Options opts;
  setup_options(app, opts);
  app.set_version_flag("--version", "ntp-server " NTPKIT_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other problem is one line naming us, exit 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "%s: %s (see %s --help)\n", "ntp-server", e.what(), "ntp-server");
    return 2;
  }
  if (opts.list_misbehaviours) {
    std::fputs(list_misbehaviours(opts.format).c_str(), stdout);
    return 0;
  }
  Config config;
  if (auto err = to_config(opts, config); !err.empty()) {
    std::fprintf(stderr, "ntp-server: %s\n", err.c_str());
    return 2;
  }
  if (config.precision_auto) config.state.precision = measure_precision();

  std::vector<std::vector<Listener>> workers;
  if (auto err = open_listeners(config, workers); !err.empty()) {
    std::fprintf(stderr, "ntp-server: %s\n", err.c_str());
    return 3;
  }
  if (auto err = drop_privileges(config.user); !err.empty()) {
    std::fprintf(stderr, "ntp-server: %s\n", err.c_str());
    return 3;
  }
  for (const auto& l : workers.front()) std::printf("NTP server listening on %s\n", l.name.c_str());
  if (workers.size() > 1) std::printf("%zu workers (SO_REUSEPORT)\n", workers.size());
  if (config.misbehaviour.any()) {
    std::string names;
    for (const auto& f : ntpkit::fault_catalogue()) {
      if (config.misbehaviour.has(f.fault)) names += (names.empty() ? "" : ", ") + std::string(f.name);
    }
    std::printf("misbehaving on purpose: %s\n", names.c_str());
  }
  std::fflush(stdout);
  return serve(config, workers);
}
