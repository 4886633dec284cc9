// The machine-readable reports every subcommand writes: JUnit XML and TAP 13 from one model of
// test suites and cases, so that the suite, replay, query and bench agree on what a failure,
// an error (inconclusive), a skip and a note look like.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntpkit::probe {

struct TestCase {
  enum class Status : uint8_t {
    Pass,
    Note,   // passed, with something to say (a warning, a waived failure): JUnit system-out, TAP ok
    Fail,   // JUnit failure, TAP not ok
    Error,  // could not conclude: JUnit error, TAP ok # SKIP
    Skip,   // JUnit skipped, TAP ok # SKIP
  };
  std::string name;
  Status status = Status::Pass;
  std::string message;                                    // one line: why
  std::string type;                                       // JUnit failure/error type ("MUST", "inconclusive")
  std::string detail;                                     // the evidence, several lines
  std::vector<std::pair<std::string, std::string>> yaml;  // TAP diagnostics, in order
  // TAP's directive: nullopt gives "# SKIP message" to Skip and Error and none to the rest; ""
  // is none; "# TODO expected failure: ..." marks a known failure.
  std::optional<std::string> tap_directive;
};

struct TestSuite {
  std::string name;
  std::string hostname;     // the target, where there is one
  double seconds = -1;      // < 0: not timed
  bool tap_prefix = false;  // TAP names its cases "suite: case" (several suites in one stream)
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<TestCase> cases;
};

[[nodiscard]] std::string junit_xml(std::string_view tool, const std::vector<TestSuite>& suites);
// `comments` go after the plan's test lines, as "# comment".
[[nodiscard]] std::string tap(const std::vector<TestSuite>& suites, const std::vector<std::string>& comments = {});

}  // namespace ntpkit::probe
