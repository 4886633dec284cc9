#include "monitoring.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace ntpkit::probe {

std::string_view to_string(NagiosState s) {
  switch (s) {
    case NagiosState::Ok: return "OK";
    case NagiosState::Warning: return "WARNING";
    case NagiosState::Critical: return "CRITICAL";
    case NagiosState::Unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

namespace {

std::string number(const char* format, double v) {
  std::array<char, 64> b{};
  std::snprintf(b.data(), b.size(), format, v);
  return b.data();
}

// A plugin's output must be one line, and '|' starts the performance data.
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '|') c = ' ';
  }
  return s;
}

}  // namespace

std::string nagios_unknown(const std::string& reason) {
  return "NTP UNKNOWN: " + one_line(reason);
}

NagiosResult nagios_check(const NagiosInput& in, double warning, double critical) {
  NagiosResult r;
  const std::string server = one_line(in.server);
  // Performance data (monitoring-plugins: 'label'=value[UOM];[warn];[crit];[min];[max]).
  std::string perf = "|";
  if (in.offset_s) {
    perf += "offset=" + number("%.9f", *in.offset_s) + "s;" + number("%.6f", warning) + ";" + number("%.6f", critical) +
            ";";
  } else {
    perf += "offset=U;" + number("%.6f", warning) + ";" + number("%.6f", critical) + ";";
  }
  if (in.delay_s) perf += " delay=" + number("%.9f", *in.delay_s) + "s;;;0;";
  if (in.stratum) perf += " stratum=" + std::to_string(*in.stratum) + ";;;0;16";
  perf += " replies=" + std::to_string(in.received) + ";;;0;" + std::to_string(in.sent);

  if (!in.offset_s) {
    r.state = NagiosState::Critical;
    std::string why;
    if (!in.kiss.empty()) {
      why = "kiss-o'-death " + one_line(in.kiss) + " from " + server;
    } else if (in.received > 0) {
      why = "no usable reply from " + server + " (" + one_line(in.unusable) + ")";
    } else {
      why = "No response from NTP server " + server + (in.error.empty() ? "" : " (" + one_line(in.error) + ")");
    }
    r.line = "NTP CRITICAL: " + why + perf;
    return r;
  }
  const double magnitude = std::fabs(*in.offset_s);
  r.state = magnitude > critical ? NagiosState::Critical : magnitude > warning ? NagiosState::Warning : NagiosState::Ok;
  std::string what = "Offset " + number("%.9g", *in.offset_s) + " secs";
  if (in.stratum) what += ", stratum " + std::to_string(*in.stratum);
  what += " (" + server + ")";
  r.line = "NTP " + std::string(to_string(r.state)) + ": " + what + perf;
  return r;
}

std::string prometheus_escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PrometheusText::gauge(const std::string& name, const std::string& help, const Labels& labels, double value) {
  Family* f = nullptr;
  for (auto& x : families_) {
    if (x.name == name) f = &x;
  }
  if (f == nullptr) {
    families_.push_back({name, help, {}});
    f = &families_.back();
  }
  std::string s = name;
  if (!labels.empty()) {
    s += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      s += (i == 0 ? "" : ",") + labels[i].first + "=\"" + prometheus_escape(labels[i].second) + "\"";
    }
    s += '}';
  }
  // The format's own spellings for what is not a finite number.
  s += ' ';
  s += std::isnan(value) ? "NaN" : std::isinf(value) ? (value > 0 ? "+Inf" : "-Inf") : number("%.9g", value);
  f->samples.push_back(std::move(s));
}

std::string PrometheusText::str() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " gauge\n";
    for (const auto& s : f.samples) out += s + "\n";
  }
  return out;
}

}  // namespace ntpkit::probe
