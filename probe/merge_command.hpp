// `ntp-probe merge FILE...`: the JSON reports of earlier runs (JSON Lines from --format jsonl,
// shards of one fleet, single-target --format json, or the array many targets give) read back and
// written as one: JSON Lines, a JSON array or a text table, in a stable order (suite, then
// target), a later report of the same suite and target replacing an earlier one.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace ntpkit::probe {

struct MergeOptions {
  std::vector<std::string> files;  // "-": standard input
  std::string format = "text";     // text, json, jsonl or html
  std::string json_file;           // --json FILE: the array as well
};

void setup_merge(CLI::App& app, MergeOptions& o);
// Exit codes: the worst of the reports' (1 a failure, then 3 nothing concluded, then 0); 2 usage;
// 3 also when a line could not be read as a report (said on stderr with its file and line; the
// rest is still merged) or no report was read at all.
[[nodiscard]] int run_merge(const MergeOptions& o);

}  // namespace ntpkit::probe
