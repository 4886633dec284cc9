// The report for people: one line per case, evidence for what failed, a summary.
#include <cstdio>

#include "report.hpp"

#include <functional>
#include "terminal.hpp"

namespace ntpkit::probe {

using namespace conformance;

namespace {

std::string label(const Entry& e, bool colour) {
  if (e.unexpected_pass()) return paint("XPASS", Colour::Red, colour);
  if (e.expected_failure()) return paint("XFAIL", Colour::Yellow, colour);
  switch (e.result.outcome) {
    case Outcome::Pass: return paint("PASS ", Colour::Green, colour);
    case Outcome::Fail: return paint("FAIL ", Colour::Red, colour);
    case Outcome::Warn: return paint("WARN ", Colour::Yellow, colour);
    case Outcome::Info: return paint("INFO ", Colour::Dim, colour);
    case Outcome::Skip: return paint("SKIP ", Colour::Dim, colour);
    case Outcome::Inconclusive: return paint("INCON", Colour::Yellow, colour);
  }
  return "?";
}

// client-test's evidence: the client's run and output, its requests, our replies.
void client_evidence(const std::function<void(const std::string&, const std::string&)>& line, const Report& r,
                     const CaseResult& c) {
  const ClientRun& run = *c.observation.client;
  std::string how = !run.started    ? "not running"
                    : run.daemon    ? "running (--daemon)"
                    : run.timed_out ? "still running at the time limit"
                                    : "exit " + std::to_string(run.exit_code);
  how += run.accepted ? ", took the time" : ", did not take the time";
  if (run.offset_s) {
    std::array<char, 48> b{};
    std::snprintf(b.data(), b.size(), ", offset %+.6f s", *run.offset_s);
    how += b.data();
  }
  line("client:      ", how + " (adapter " + run.adapter + ")");
  line("command:     ", run.command);
  if (!run.verdict_line.empty()) line("read from:   ", run.verdict_line.substr(0, 200));
  size_t shown = 0;
  for (size_t at = 0; at < run.output.size() && shown < 6; ++shown) {
    const size_t nl = run.output.find('\n', at);
    line(shown == 0 ? "output:      " : "             ",
         run.output.substr(at, std::min<size_t>((nl == std::string::npos ? run.output.size() : nl) - at, 200)));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  for (size_t i = 0; i < c.observation.received.size() && i < 4; ++i) {
    const auto& rc = c.observation.received[i];
    line("request:     ", decode_fields(rc.bytes) + " from " + rc.source);
  }
  if (c.observation.received.empty()) line("request:     ", "none came");
  for (size_t i = 0; i < c.observation.sent.size() && i < 4; ++i) {
    line("reply:       ", decode_fields(c.observation.sent[i].bytes));
  }
  line("ledger:      ", std::to_string(c.observation.received_total) + " request(s), " +
                            std::to_string(c.observation.sent.size()) + " repl(ies) kept");
  line("reproduce:   ", reproduction(r, c));
}

void evidence(std::string& out, const Report& r, const Entry& e) {
  const CaseResult& c = e.result;
  const Case& t = *c.test;
  auto line = [&](const std::string& k, const std::string& v) { out += "        " + k + v + "\n"; };
  line("requirement: ", std::string(t.rfc) + " §" + std::string(t.section) + " " + std::string(to_string(t.level)) +
                            ": " + std::string(t.requirement));
  if (!c.judgement.expected.empty()) line("expected:    ", c.judgement.expected);
  if (!c.judgement.actual.empty()) line("actual:      ", c.judgement.actual);
  if (e.waiver) line("waiver:      ", *e.waiver);
  if (c.observation.client) {
    client_evidence(line, r, c);
    return;
  }
  size_t sent_bytes = 0, recv_bytes = 0;
  for (const auto& s : c.observation.sent) {
    sent_bytes += s.bytes.size();
    line("sent:        ", decode_fields(s.bytes));
    for (const auto& h : hex_lines(s.bytes)) line("             ", h);
  }
  for (const auto& rc : c.observation.received) {
    recv_bytes += rc.size();
    line("received:    ", decode_fields(rc.bytes) + " from " + rc.source);
    for (const auto& h : hex_lines(rc.bytes)) line("             ", h);
  }
  if (c.observation.received.empty()) line("received:    ", "nothing within the timeout");
  std::array<char, 160> ledger{};
  std::snprintf(ledger.data(), ledger.size(),
                "sent %zu datagram(s), %zu bytes; received %zu, %zu bytes (x%.2f in bytes)", c.observation.sent.size(),
                sent_bytes, c.observation.received.size(), recv_bytes,
                sent_bytes == 0 ? 0.0 : static_cast<double>(recv_bytes) / static_cast<double>(sent_bytes));
  line("ledger:      ", ledger.data());
  if (c.observation.received_total > c.observation.received.size()) {
    line("flood:       ", std::to_string(c.observation.received_total) + " datagrams came back; the first " +
                              std::to_string(c.observation.received.size()) + " are kept as evidence");
  }
  line("reproduce:   ", reproduction(r, c));
}

}  // namespace

std::string render_text(const Report& r, bool colour, bool verbose) {
  std::string out = "ntp-probe: suite " + r.suite + " against " + r.target +
                    (r.address.empty() || r.address == r.target ? "" : " (" + r.address + ")") + "\n\n";
  for (const auto& e : r.entries) {
    const Case& t = *e.result.test;
    std::array<char, 256> head{};
    std::snprintf(head.data(), head.size(), "%-40s %-6s ", std::string(t.id).c_str(),
                  std::string(to_string(t.level)).c_str());
    out += label(e, colour) + " " + head.data() + e.result.judgement.summary + "\n";
    const bool bad = e.result.outcome == Outcome::Fail || e.result.outcome == Outcome::Warn ||
                     e.result.outcome == Outcome::Inconclusive || e.unexpected_pass();
    if (verbose || bad) evidence(out, r, e);
  }
  if (const std::string rl = describe_rate_limit(r.rate_limit); !rl.empty()) {
    out += "\n" + paint("rate limiting:", Colour::Yellow, colour) + " " + rl + "\n";
  }
  const Summary s = summarize(r);
  std::array<char, 320> sum{};
  std::snprintf(sum.data(), sum.size(),
                "\n%s: %zu case%s: %zu passed, %zu failed, %zu warnings, %zu info, %zu skipped, %zu inconclusive",
                r.suite.c_str(), s.total, s.total == 1 ? "" : "s", s.pass, s.fail, s.warn, s.info, s.skip,
                s.inconclusive);
  out += sum.data();
  if (s.expected_failures > 0) out += ", " + std::to_string(s.expected_failures) + " expected failures";
  if (s.unexpected_passes > 0) out += ", " + std::to_string(s.unexpected_passes) + " unexpected passes";
  std::snprintf(sum.data(), sum.size(), " (%.1f s)%s\n", r.seconds, r.strict ? " [strict]" : "");
  out += sum.data();
  return out;
}

}  // namespace ntpkit::probe
