// ntp-probe: judges NTP servers against the RFCs. One file per subcommand.
#include <CLI/CLI.hpp>

#include "query_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ntp-probe: tells whether an NTP server behaves as the RFCs say"};
  app.require_subcommand(1);
  ntpkit::probe::QueryOptions query;
  auto* q = app.add_subcommand("query", "time, offset and delay of one server, with the reply judged");
  ntpkit::probe::setup_query(*q, query);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (q->parsed()) return ntpkit::probe::run_query(query);
  return 2;
}
