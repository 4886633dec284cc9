// A suite run as data, and its writers: text for people, JSON, JUnit XML and TAP for machines.
// Writers return strings; printing and exit codes happen in the command.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "ntpkit/conformance/case.hpp"

namespace ntpkit::probe {

// --expect-fail FILE: "CASE-GLOB  reason" per line, '#' starts a comment.
struct Waiver {
  std::string pattern;
  std::string reason;
};
// Returns an error sentence in `error` (with the line number) when the file cannot be used.
[[nodiscard]] std::vector<Waiver> load_waivers(const std::string& path, std::string& error);

struct Entry {
  conformance::CaseResult result;
  std::optional<std::string> waiver;             // reason, when the case is expected to fail
  [[nodiscard]] bool expected_failure() const;   // waived and failed (or warned)
  [[nodiscard]] bool unexpected_pass() const;    // waived but passed: the waiver is stale
  [[nodiscard]] bool counts_as_failure() const;  // fails the run
};

// How the server limited us, as the run saw it.
struct RateLimitReport {
  bool detected = false;        // a RATE kiss-o'-death, or silence after the server had answered
  size_t rate_kisses = 0;       // RATE kiss-o'-death packets (to stimuli and to brackets)
  size_t silences = 0;          // cases whose brackets went silent after the server had answered
  size_t dropped = 0;           // valid requests answered only when sent again
  size_t answered_before = 0;   // datagrams answered on the first limited address before the first sign
  size_t sources = 1;           // addresses we sent from
  size_t sources_limited = 0;   // ... of which the server limited
  size_t retried = 0;           // cases run again, paced
  size_t concluded = 0;         // ... that then concluded
  size_t unresolved = 0;        // ... that stayed inconclusive (rate limited)
  double final_interval_s = 0;  // the slowest pace the retries reached
  bool budget_spent = false;
  double budget_s = 0;
};

struct Report {
  std::string suite;
  std::string target;     // as given
  std::string address;    // resolved
  std::string key_args;   // "--keys FILE --key-id N" when given: the auth cases' reproduction needs them
  std::string nts_args;   // "--nts HOST:PORT [--ca FILE|--insecure]": with it the target comes from NTS-KE
  std::string reproduce;  // client-test: the reproduction, "{id}" where the scenario goes
  bool strict = false;
  double seconds = 0;
  std::vector<Entry> entries;
  RateLimitReport rate_limit;
};

struct Summary {
  size_t total = 0, pass = 0, fail = 0, warn = 0, info = 0, skip = 0, inconclusive = 0;
  size_t expected_failures = 0, unexpected_passes = 0;
};
[[nodiscard]] Summary summarize(const Report& r);

// One sentence on how the server limited the run ("" when nothing was seen).
[[nodiscard]] std::string describe_rate_limit(const RateLimitReport& rl);

// 0 no failure, 1 a conformance failure (or a stale waiver), 3 nothing concluded (every case
// inconclusive but for the skipped ones).
[[nodiscard]] int exit_code(const Report& r);

// `reproduce` is the command prefix for the one-line reproduction, e.g. "ntp-probe".
[[nodiscard]] std::string render_text(const Report& r, bool colour, bool verbose);
[[nodiscard]] std::string render_json(const Report& r);
[[nodiscard]] std::string render_junit(const Report& r);
[[nodiscard]] std::string render_tap(const Report& r);
[[nodiscard]] std::string render_prometheus(const Report& r);

// A run's report where --format, --json and --junit ask for it: the format's on stdout (text
// coloured as --color says), then the files. False, after "PROGRAM: cannot write FILE" on
// stderr, if a file could not be written.
[[nodiscard]] bool emit_report(const Report& r, const OutputOptions& out, bool verbose, const char* program);

// A packet decoded for evidence: fields on one line, then hex (16 bytes a line).
[[nodiscard]] std::string decode_fields(const std::vector<uint8_t>& bytes);
[[nodiscard]] std::vector<std::string> hex_lines(const std::vector<uint8_t>& bytes);
[[nodiscard]] std::string hex_string(const std::vector<uint8_t>& bytes);
[[nodiscard]] std::string reproduction(const Report& r, const conformance::CaseResult& c);

}  // namespace ntpkit::probe
