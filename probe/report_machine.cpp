// The report for machines: JSON, JUnit XML, TAP 13 and Prometheus' text exposition format.
#include <array>
#include <cstdio>

#include "escape.hpp"
#include "json_writer.hpp"
#include "monitoring.hpp"
#include "report.hpp"
#include "test_report.hpp"

namespace ntpkit::probe {

using namespace conformance;

namespace {

void datagrams(JsonWriter& j, std::string_view key, const auto& list) {
  j.key(key).begin_array();
  for (const auto& d : list) {
    j.begin_object();
    j.key("length").value(static_cast<uint64_t>(d.bytes.size()));
    j.key("decoded").value(decode_fields(d.bytes));
    j.key("hex").value(hex_string(d.bytes));
    j.end_object();
  }
  j.end_array();
}

std::string details(const Report& r, const Entry& e) {
  const CaseResult& c = e.result;
  std::string d = std::string(c.test->rfc) + " §" + std::string(c.test->section) + " " +
                  std::string(to_string(c.test->level)) + ": " + std::string(c.test->requirement) + "\n";
  if (!c.judgement.expected.empty()) d += "expected: " + c.judgement.expected + "\n";
  if (!c.judgement.actual.empty()) d += "actual:   " + c.judgement.actual + "\n";
  for (const auto& s : c.observation.sent)
    d += "sent:     " + decode_fields(s.bytes) + "\n          " + hex_string(s.bytes) + "\n";
  for (const auto& rc : c.observation.received) {
    d += "received: " + decode_fields(rc.bytes) + "\n          " + hex_string(rc.bytes) + "\n";
  }
  return d + "reproduce: " + reproduction(r, c) + "\n";
}

}  // namespace

std::string render_json(const Report& r) {
  const Summary s = summarize(r);
  JsonWriter j;
  j.begin_object();
  j.key("suite").value(r.suite);
  j.key("target").value(r.target);
  j.key("address").value(r.address);
  j.key("strict").value(r.strict);
  j.key("seconds").seconds(static_cast<int64_t>(r.seconds * 1e9));
  j.key("exit_code").value(exit_code(r));
  j.key("summary").begin_object();
  j.key("total").value(static_cast<uint64_t>(s.total));
  j.key("pass").value(static_cast<uint64_t>(s.pass));
  j.key("fail").value(static_cast<uint64_t>(s.fail));
  j.key("warn").value(static_cast<uint64_t>(s.warn));
  j.key("info").value(static_cast<uint64_t>(s.info));
  j.key("skip").value(static_cast<uint64_t>(s.skip));
  j.key("inconclusive").value(static_cast<uint64_t>(s.inconclusive));
  j.key("expected_failures").value(static_cast<uint64_t>(s.expected_failures));
  j.key("unexpected_passes").value(static_cast<uint64_t>(s.unexpected_passes));
  j.end_object();
  {
    const RateLimitReport& rl = r.rate_limit;
    j.key("rate_limiting").begin_object();
    j.key("detected").value(rl.detected);
    j.key("rate_kisses").value(static_cast<uint64_t>(rl.rate_kisses));
    j.key("silent_cases").value(static_cast<uint64_t>(rl.silences));
    j.key("dropped_requests").value(static_cast<uint64_t>(rl.dropped));
    j.key("answered_before_first").value(static_cast<uint64_t>(rl.answered_before));
    j.key("sources").value(static_cast<uint64_t>(rl.sources));
    j.key("sources_limited").value(static_cast<uint64_t>(rl.sources_limited));
    j.key("retried").value(static_cast<uint64_t>(rl.retried));
    j.key("concluded").value(static_cast<uint64_t>(rl.concluded));
    j.key("unresolved").value(static_cast<uint64_t>(rl.unresolved));
    j.key("final_interval_s").seconds(static_cast<int64_t>(rl.final_interval_s * 1e9));
    j.key("budget_spent").value(rl.budget_spent);
    j.key("summary").value(describe_rate_limit(rl));
    j.end_object();
  }
  j.key("cases").begin_array();
  for (const auto& e : r.entries) {
    const CaseResult& c = e.result;
    j.begin_object();
    j.key("id").value(c.test->id);
    j.key("rfc").value(c.test->rfc);
    j.key("section").value(c.test->section);
    j.key("level").value(to_string(c.test->level));
    j.key("requirement").value(c.test->requirement);
    j.key("outcome").value(to_string(c.outcome));
    j.key("summary").value(c.judgement.summary);
    j.key("expected").value(c.judgement.expected);
    j.key("actual").value(c.judgement.actual);
    j.key("amplified").value(c.amplified);
    if (e.waiver) j.key("waiver").value(*e.waiver);
    j.key("expected_failure").value(e.expected_failure());
    j.key("unexpected_pass").value(e.unexpected_pass());
    datagrams(j, "sent", c.observation.sent);
    datagrams(j, "received", c.observation.received);
    if (const auto& run = c.observation.client) {  // client-test: sent = our replies, received = its requests
      j.key("client").begin_object();
      j.key("started").value(run->started);
      j.key("exit_code").value(static_cast<int64_t>(run->exit_code));
      j.key("timed_out").value(run->timed_out);
      j.key("accepted").value(run->accepted);
      j.key("offset_s");
      if (run->offset_s) {
        j.fixed(*run->offset_s, 9);
      } else {
        j.null();
      }
      j.key("requests").value(static_cast<uint64_t>(c.observation.received_total));
      j.key("output").value(run->output);
      j.key("adapter").value(run->adapter);
      j.key("command").value(run->command);
      j.end_object();
    }
    j.key("reproduce").value(reproduction(r, c));
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str() + "\n";
}

namespace {

// The suite as the shared JUnit/TAP model: one test case a conformance case.
TestSuite test_suite(const Report& r) {
  TestSuite t;
  t.name = r.suite;
  t.hostname = r.target;
  t.seconds = r.seconds;
  if (const std::string rl = describe_rate_limit(r.rate_limit); !rl.empty())
    t.properties.push_back({"rate-limiting", rl});
  for (const auto& e : r.entries) {
    const CaseResult& c = e.result;
    TestCase tc;
    tc.name = std::string(c.test->id);
    tc.message = std::string(to_string(c.outcome)) + ": " + c.judgement.summary;
    if (e.counts_as_failure()) {
      tc.status = TestCase::Status::Fail;
      tc.type = e.unexpected_pass() ? "unexpected-pass" : std::string(to_string(c.test->level));
      tc.detail = details(r, e);
    } else if (c.outcome == Outcome::Inconclusive) {
      tc.status = TestCase::Status::Error;
      tc.type = "inconclusive";
      tc.detail = details(r, e);
    } else if (c.outcome == Outcome::Skip || c.outcome == Outcome::Info) {
      tc.status = TestCase::Status::Skip;
    } else if (c.outcome != Outcome::Pass || e.waiver) {
      tc.status = TestCase::Status::Note;
      tc.detail = details(r, e);
    }
    if (c.outcome == Outcome::Skip || c.outcome == Outcome::Inconclusive) {
      tc.tap_directive = "# SKIP " + tc.message;
    } else if (e.expected_failure()) {
      tc.tap_directive = "# TODO expected failure: " + *e.waiver;
    } else {
      tc.tap_directive = "";
    }
    if (c.outcome != Outcome::Pass || e.waiver) {
      tc.yaml = {{"outcome", std::string(to_string(c.outcome))},
                 {"level", std::string(to_string(c.test->level))},
                 {"message", yaml_quote(c.judgement.summary)}};
      if (!c.judgement.expected.empty()) tc.yaml.push_back({"expected", yaml_quote(c.judgement.expected)});
      if (!c.judgement.actual.empty()) tc.yaml.push_back({"actual", yaml_quote(c.judgement.actual)});
      tc.yaml.push_back({"reproduce", yaml_quote(reproduction(r, c))});
    }
    t.cases.push_back(std::move(tc));
  }
  return t;
}

}  // namespace

std::string render_junit(const Report& r) {
  return junit_xml("ntp-probe", {test_suite(r)});
}

std::string render_tap(const Report& r) {
  std::vector<std::string> comments;
  if (const std::string rl = describe_rate_limit(r.rate_limit); !rl.empty()) comments.push_back("rate limiting: " + rl);
  return tap({test_suite(r)}, comments);
}

// Gauges for node_exporter's textfile collector: the run's counts by outcome, each case's outcome
// (1 on the sample whose outcome label it has), the exit code the run gives and its length.
std::string render_prometheus(const Report& r) {
  PrometheusText p;
  const PrometheusText::Labels run = {{"suite", r.suite}, {"target", r.target}, {"address", r.address}};
  const Summary s = summarize(r);
  const std::pair<std::string_view, size_t> counts[] = {{"pass", s.pass}, {"fail", s.fail},
                                                        {"warn", s.warn}, {"info", s.info},
                                                        {"skip", s.skip}, {"inconclusive", s.inconclusive}};
  for (const auto& [outcome, n] : counts) {
    PrometheusText::Labels l = run;
    l.emplace_back("outcome", std::string(outcome));
    p.gauge("ntp_probe_cases", "Cases of the run with this outcome.", l, static_cast<double>(n));
  }
  for (const auto& e : r.entries) {
    const CaseResult& c = e.result;
    PrometheusText::Labels l = run;
    l.emplace_back("case", std::string(c.test->id));
    l.emplace_back("level", std::string(to_string(c.test->level)));
    l.emplace_back("outcome", std::string(to_string(c.outcome)));
    p.gauge("ntp_probe_case", "1 for each case, its outcome and RFC 2119 level as labels.", l, 1);
  }
  p.gauge("ntp_probe_exit_code", "The exit code of the run (0 no failure, 1 a failure, 3 nothing concluded).", run,
          exit_code(r));
  p.gauge("ntp_probe_rate_limited", "1 when the server was seen limiting the rate of our requests.", run,
          r.rate_limit.detected ? 1 : 0);
  p.gauge("ntp_probe_run_seconds", "How long the run took.", run, r.seconds);
  return p.str();
}

}  // namespace ntpkit::probe
