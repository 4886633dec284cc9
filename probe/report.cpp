#include "report.hpp"

#include "html_matrix.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::probe {

using namespace conformance;

std::vector<Waiver> load_waivers(const std::string& path, std::string& error) {
  std::vector<Waiver> out;
  std::ifstream in(path);
  if (!in) {
    error = "--expect-fail " + path + ": cannot read the file";
    return out;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    Waiver w;
    if (!(words >> w.pattern)) continue;
    std::getline(words, w.reason);
    w.reason.erase(0, w.reason.find_first_not_of(" \t"));
    if (w.reason.empty()) {
      error = "--expect-fail " + path + ":" + std::to_string(n) + ": '" + w.pattern + "' needs a reason after it";
      return {};
    }
    out.push_back(std::move(w));
  }
  return out;
}

bool Entry::expected_failure() const {
  return waiver && (result.outcome == Outcome::Fail || result.outcome == Outcome::Warn);
}
bool Entry::unexpected_pass() const {
  return waiver && result.outcome == Outcome::Pass;
}
bool Entry::counts_as_failure() const {
  return (result.outcome == Outcome::Fail && !waiver) || unexpected_pass();
}

Summary summarize(const Report& r) {
  Summary s;
  for (const auto& e : r.entries) {
    ++s.total;
    s.expected_failures += e.expected_failure() ? 1 : 0;
    s.unexpected_passes += e.unexpected_pass() ? 1 : 0;
    switch (e.result.outcome) {
      case Outcome::Pass: ++s.pass; break;
      case Outcome::Fail: ++s.fail; break;
      case Outcome::Warn: ++s.warn; break;
      case Outcome::Info: ++s.info; break;
      case Outcome::Skip: ++s.skip; break;
      case Outcome::Inconclusive: ++s.inconclusive; break;
    }
  }
  return s;
}

int exit_code(const Report& r) {
  const Summary s = summarize(r);
  for (const auto& e : r.entries) {
    if (e.counts_as_failure()) return 1;
  }
  // Nothing concluded: every case open, but for those skipped (no kiss-o'-death to judge, no key).
  if (s.inconclusive > 0 && s.inconclusive + s.skip == s.total) return 3;
  return 0;
}

std::string hex_string(const std::vector<uint8_t>& bytes) {
  std::string out;
  std::array<char, 4> b{};
  for (uint8_t v : bytes) {
    std::snprintf(b.data(), b.size(), "%02x", v);
    out += b.data();
  }
  return out;
}

std::vector<std::string> hex_lines(const std::vector<uint8_t>& bytes) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < bytes.size(); i += 16) {
    std::string l;
    std::array<char, 8> b{};
    for (size_t j = i; j < std::min(bytes.size(), i + 16); ++j) {
      std::snprintf(b.data(), b.size(), "%02x%s", bytes[j], j + 1 < std::min(bytes.size(), i + 16) ? " " : "");
      l += b.data();
    }
    lines.push_back(l);
  }
  return lines;
}

std::string decode_fields(const std::vector<uint8_t>& bytes) {
  std::string s = std::to_string(bytes.size()) + " bytes";
  if (bytes.size() < kHeaderLength) return s + " (shorter than an NTP header)";
  auto parsed = parse(bytes);
  const Header h = parse_header(std::span<const uint8_t>(bytes).first<kHeaderLength>());
  s += ": LI " + std::to_string(static_cast<int>(h.leap)) + ", VN " + std::to_string(h.version) + ", mode " +
       describe_mode(h.mode) + ", stratum " + std::to_string(h.stratum) + ", poll " + std::to_string(h.poll) +
       ", precision " + std::to_string(h.precision) + ", root delay " + format_seconds(h.root_delay.to_duration()) +
       ", root dispersion " + format_seconds(h.root_dispersion.to_duration()) + ", refid " + h.reference_id.ipv4() +
       " '" + h.reference_id.ascii() + "'" + ", ref " + format_raw(h.reference) + ", org " + format_raw(h.origin) +
       ", rec " + format_raw(h.receive) + ", xmt " + format_raw(h.transmit);
  if (!parsed) return s + "; framing: " + describe(parsed.error());
  if (parsed->extension_count > 0) s += "; " + std::to_string(parsed->extension_count) + " extension field(s)";
  if (parsed->mac)
    s += "; " + std::string(to_string(parsed->mac->kind)) + ", key " + std::to_string(parsed->mac->key_id);
  return s;
}

std::string reproduction(const Report& r, const CaseResult& c) {
  // The suite is named unless it is the default one, where the case would not be found otherwise;
  // a case that signs its requests needs the keys it was run with.
  if (!r.reproduce.empty()) {
    std::string out = r.reproduce;
    const auto at = out.find("{id}");
    if (at != std::string::npos) out.replace(at, 4, c.test->id);
    return out;
  }
  std::string out = "ntp-probe ";
  if (!r.suite.empty() && r.suite != "rfc5905") out += "--suite " + r.suite + " ";
  out += "--case " + std::string(c.test->id) + " ";
  if (c.test->needs_key && !r.key_args.empty()) out += r.key_args + " ";
  if (!r.nts_args.empty()) return out + r.nts_args + " -v";  // the NTP server is the one NTS-KE names
  return out + r.target + " -v";
}

std::string describe_rate_limit(const RateLimitReport& rl) {
  if (!rl.detected && rl.silences == 0 && rl.dropped == 0 && rl.retried == 0) return "";
  std::string out = rl.detected       ? "the server rate-limits this client"
                    : rl.silences > 0 ? "the server went silent after answering"
                                      : "the server dropped requests it answered when sent again";
  std::vector<std::string> how;
  if (rl.rate_kisses > 0) how.push_back(std::to_string(rl.rate_kisses) + " RATE kiss-o'-death");
  if (rl.silences > 0) how.push_back(std::to_string(rl.silences) + " case(s) with silent brackets");
  if (rl.dropped > 0) how.push_back(std::to_string(rl.dropped) + " request(s) answered only when sent again");
  if (!how.empty()) {
    out += " (";
    for (size_t i = 0; i < how.size(); ++i) out += (i ? ", " : "") + how[i];
    out += ")";
  }
  // Only the bursts (which judge limiting themselves) saw it: no address was marked limited.
  if (rl.sources_limited > 0) {
    out += ", first after " + std::to_string(rl.answered_before) + " answered datagram(s)";
    if (rl.sources > 1) {
      out += ", on " + std::to_string(rl.sources_limited) + " of " + std::to_string(rl.sources) + " source addresses";
    }
  } else {
    out += ", to the bursts that test it";
  }
  if (rl.retried > 0) {
    std::array<char, 64> pace{};
    std::snprintf(pace.data(), pace.size(), "%.1f", rl.final_interval_s);
    out += "; " + std::to_string(rl.retried) + " case(s) run again, paced down to one datagram every " + pace.data() +
           " s: " + std::to_string(rl.concluded) + " concluded, " + std::to_string(rl.unresolved) + " inconclusive";
  }
  if (rl.budget_spent) {
    std::array<char, 64> b{};
    std::snprintf(b.data(), b.size(), "%.0f", rl.budget_s);
    out += " (the --budget of " + std::string(b.data()) + " s ran out)";
  }
  if (!rl.detected) out += "; no answer came when paced either: the server may have stopped";
  return out;
}

bool emit_report(const Report& r, const OutputOptions& out, bool verbose, const char* program) {
  std::string text;
  if (out.format == "json")
    text = render_json(r);
  else if (out.format == "junit")
    text = render_junit(r);
  else if (out.format == "tap")
    text = render_tap(r);
  else if (out.format == "prometheus")
    text = render_prometheus(r);
  else if (out.format == "html")
    text = render_html_matrix({nlohmann::json::parse(render_json(r))});
  else
    text = render_text(r, colour_on(out, stdout), verbose);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  for (const auto& [file, render] :
       {std::pair{&out.junit_file, &render_junit}, std::pair{&out.json_file, &render_json}}) {
    if (!file->empty() && !write_file(*file, render(r))) {
      std::fprintf(stderr, "%s: cannot write %s\n", program, file->c_str());
      return false;
    }
  }
  return true;
}

}  // namespace ntpkit::probe
