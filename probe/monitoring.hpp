// Outputs for monitoring rather than reading: the Nagios/monitoring-plugins check (`query
// --nagios`: one status line with perfdata, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, as
// check_ntp_time), and Prometheus' text exposition format (`--format prometheus`, for
// node_exporter's textfile collector).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntpkit::probe {

// --- Nagios (monitoring-plugins) -------------------------------------------------------------

enum class NagiosState : int { Ok = 0, Warning = 1, Critical = 2, Unknown = 3 };
[[nodiscard]] std::string_view to_string(NagiosState s);  // "OK", "WARNING", ...

// What a query saw, as the check judges it.
struct NagiosInput {
  std::string server;               // as the user named it
  size_t sent = 0, received = 0;    // requests, and replies to them
  std::optional<double> offset_s;   // of the best usable reply (the one of least delay)
  std::optional<double> delay_s;    // ... its round-trip delay
  std::optional<unsigned> stratum;  // ... its stratum
  std::string kiss;                 // a kiss-o'-death's code, when the only replies were kisses
  std::string unusable;             // why the replies were not usable (no kiss), when none was
  std::string error;                // a network error, when no reply came
};

struct NagiosResult {
  NagiosState state = NagiosState::Unknown;
  std::string line;  // "NTP OK: Offset 1.2e-05 secs, stratum 1 (server)|offset=0.000012s;60.000000;120.000000; ..."
};

// The thresholds are absolute offsets in seconds: WARNING past `warning`, CRITICAL past `critical`.
[[nodiscard]] NagiosResult nagios_check(const NagiosInput& in, double warning, double critical);
// The line for a problem before anything was sent: "NTP UNKNOWN: <reason>", exit 3.
[[nodiscard]] std::string nagios_unknown(const std::string& reason);

// --- Prometheus text exposition format -------------------------------------------------------

// Metric families, each written once with its HELP and TYPE, then its samples in order.
class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // A gauge sample of family `name` (its HELP given the first time the family is seen).
  void gauge(const std::string& name, const std::string& help, const Labels& labels, double value);
  [[nodiscard]] std::string str() const;

 private:
  struct Family {
    std::string name, help;
    std::vector<std::string> samples;
  };
  std::vector<Family> families_;
};

// A label value as the exposition format writes it: backslash, double quote and newline escaped.
[[nodiscard]] std::string prometheus_escape(std::string_view value);

}  // namespace ntpkit::probe
