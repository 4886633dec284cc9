// What every ntp-probe subcommand's command line shares: the report options (--format selects
// what goes to stdout; --json FILE and --junit FILE also write a file; --color), the checks that
// find a usage problem before anything is sent, and numbers that must be finite.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ntpkit/conformance/exchange.hpp"
#include "test_report.hpp"

namespace ntpkit::probe {

struct OutputOptions {
  std::string format = "text";  // text, json, junit, tap (or, where offered, prometheus), on stdout
  std::string json_file;        // --json FILE
  std::string junit_file;       // --junit FILE
  std::string colour = "auto";  // --color auto|always|never
};

// `extra`: the formats this command writes besides text, json, junit and tap ("prometheus":
// Prometheus' text exposition format, query and the suites; "jsonl": JSON Lines, the suites).
void add_output_options(CLI::App& app, OutputOptions& o, const std::vector<std::string>& extra = {});

// A file the user asked us to write, checked before anything is sent: an error sentence
// ("--json /x/y.json: cannot write there (No such file or directory)") or empty. Nothing is
// created.
[[nodiscard]] std::string check_writable(const std::string& flag, const std::string& path);
[[nodiscard]] std::string check_output(const OutputOptions& o);

[[nodiscard]] bool colour_on(const OutputOptions& o, FILE* f);

// Writes `text` to `path`, truncating; false if it could not.
[[nodiscard]] bool write_file(const std::string& path, const std::string& text);

// The machine-readable reports of a run: JSON, JUnit or TAP on stdout as --format asks (text is
// the caller's), and the --json and --junit files. False (the reason said on stderr, as
// `program: cannot write FILE`) if a file could not be written.
[[nodiscard]] bool emit_reports(const OutputOptions& out, std::string_view program, const std::string& json,
                                const std::vector<TestSuite>& suites);

// --keys FILE --key-id N [--key-format]: symmetric-key authentication (RFC 5905 MAC, RFC 8573).
struct KeyOptions {
  std::string file;
  uint32_t key_id = 0;
  std::string format = "auto";
};
void add_key_options(CLI::App& app, KeyOptions& o);

// The keys a run authenticates with: the store, the digests, and the key requests carry.
struct LoadedKeys {
  std::shared_ptr<const auth::KeyStore> store;
  std::shared_ptr<const auth::Digests> digests;
  const auth::Key* key = nullptr;  // --key-id's
  [[nodiscard]] RequestKey request_key() const { return {key, store.get(), digests.get()}; }
};
// Nothing when no --keys was given; else the keys, or a usage error sentence (the file's line).
[[nodiscard]] Result<std::optional<LoadedKeys>, std::string> load_keys(const KeyOptions& o);

// A CLI11 check for float options: NaN and infinities are refused, whatever the range says.
[[nodiscard]] const CLI::Validator& finite();

}  // namespace ntpkit::probe
