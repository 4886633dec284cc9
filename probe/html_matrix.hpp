// The HTML matrix (`--format html` of the suites and of `merge`): cases down, targets across, as
// Autobahn's report lays out WebSocket servers; each cell an outcome, its evidence on demand (a
// <details> element), each row the case's citation and requirement, a summary per target. One
// self-contained file: no script, no external asset, readable offline.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ntpkit::probe {

// `reports`: JSON reports as render_json writes them (or a target's {"suite", "target",
// "exit_code", "error"} when it could not be reached).
[[nodiscard]] std::string render_html_matrix(const std::vector<nlohmann::json>& reports);

}  // namespace ntpkit::probe
