#include "replay_command.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "escape.hpp"
#include "json_writer.hpp"
#include "ntpkit/capture/capture_file.hpp"
#include "ntpkit/crypto/key_file.hpp"
#include "replay_live.hpp"
#include "terminal.hpp"
#include "test_report.hpp"

namespace ntpkit::probe {

using capture::analyse_file;
using capture::FileResult;
using capture::Progress;

namespace {

bool must_broken(const FileResult& f) {
  for (const auto& x : f.findings) {
    if (x.rule->level == conformance::Level::Must) return true;
  }
  return false;
}

std::string text_report(const FileResult& f, unsigned max_listed, bool colour) {
  const auto& s = f.stats;
  std::string out = f.name + ": " + f.link_type + ", " + std::to_string(f.frames) + " frames, " +
                    std::to_string(s.datagrams) + " NTP datagrams\n";
  if (!f.error.empty()) out += "  " + paint("error", Colour::Red, colour) + ": " + f.error + "\n";
  out += "  exchanges " + std::to_string(s.exchanges) + " (" + std::to_string(s.requests) + " requests, " +
         std::to_string(s.replies) + " replies), unanswered " + std::to_string(s.unanswered) +
         ", unsolicited replies " + std::to_string(s.unsolicited) + ", replies before their request " +
         std::to_string(s.replies_before_request) + ", paired by flow (origin matched no request) " +
         std::to_string(s.paired_by_fallback) + ", retransmissions " + std::to_string(s.retransmissions) +
         ", duplicate replies " + std::to_string(s.duplicate_replies) + ", malformed " + std::to_string(s.malformed) +
         "\n";
  if (s.signed_requests > 0) {
    out += "  signed (--keys) " + std::to_string(s.signed_requests) +
           " request(s): " + std::to_string(s.verified_replies) + " reply MAC(s) verified, " +
           std::to_string(s.crypto_naks) + " crypto-NAK(s) (the server does not hold the key as --keys does)\n";
  }
  if (s.interleaved + s.kiss_of_death > 0) {
    out += "  interleaved (RFC 9769) " + std::to_string(s.interleaved) + ", kiss-o'-death " +
           std::to_string(s.kiss_of_death) + " (judged for their shape only)\n";
  }
  if (s.nts > 0) {
    out += "  NTS (RFC 8915) " + std::to_string(s.nts) + " exchange(s), " + std::to_string(s.nts_naks) +
           " NTSN kiss-o'-death (judged without the keys: Unique Identifier, authenticator present, cookies "
           "encrypted, length)\n";
  }
  if (s.symmetric_packets > 0) {
    out += "  symmetric (modes 1/2): " + std::to_string(s.symmetric_packets) + " packets, " +
           std::to_string(s.symmetric_checks) + " origin checks, " + std::to_string(s.symmetric_failures) + " failed\n";
  }
  for (auto [label, t] : {std::pair{"mode 6 (control)", &s.mode6}, std::pair{"mode 7 (private)", &s.mode7}}) {
    if (t->requests + t->responses == 0) continue;
    const bool both = t->request_bytes > 0 && t->responses > 0;
    std::array<char, 64> amp{};
    std::snprintf(amp.data(), amp.size(), "%.2f",
                  t->request_bytes == 0 ? 0.0 : double(t->response_bytes) / double(t->request_bytes));
    out += std::string("  ") + label + ": " + std::to_string(t->requests) + " requests (" +
           std::to_string(t->request_bytes) + " bytes), " + std::to_string(t->responses) + " responses (" +
           std::to_string(t->response_bytes) + " bytes)" +
           (both ? ", amplification x" + std::string(amp.data()) + " in bytes" : "") + "\n";
  }
  if (s.broadcast > 0) out += "  broadcast (mode 5): " + std::to_string(s.broadcast) + " packets\n";
  if (f.icmp_errors + f.tcp_ntp > 0) {
    out += "  not exchanges: " + std::to_string(f.icmp_errors) + " ICMP errors (which may quote NTP), " +
           std::to_string(f.tcp_ntp) + " TCP segments on an NTP port\n";
  }
  if (f.fragments_pending + f.fragments_given_up > 0) {
    out += "  fragmented datagrams never completed: " + std::to_string(f.fragments_pending) +
           ", given up (timed out, " +
           "over the memory limit or inconsistent): " + std::to_string(f.fragments_given_up) + "\n";
  }
  std::map<std::string_view, size_t> per_rule;
  for (const auto& x : f.findings) {
    const size_t n = ++per_rule[x.rule->id];
    if (n > max_listed) continue;
    const bool must = x.rule->level == conformance::Level::Must;
    out += "  " + paint(must ? "FAIL" : "WARN", must ? Colour::Red : Colour::Yellow, colour) + " " +
           std::string(x.rule->id) + " " + std::string(conformance::to_string(x.rule->level)) + " frames " +
           (x.request_frame != 0 ? std::to_string(x.request_frame) : "-") + " -> " +
           (x.reply_frame != 0 ? std::to_string(x.reply_frame) : "-") + ", client " + x.client.to_string() +
           ", server " + x.server.to_string() + "\n      expected: " + x.expected + "\n      actual:   " + x.actual +
           "\n";
  }
  for (const auto& [id, n] : per_rule) {
    if (n > max_listed) out += "  ... " + std::to_string(n - max_listed) + " more " + std::string(id) + "\n";
  }
  out += "  findings: " + std::to_string(f.findings.size());
  for (const auto& [id, n] : per_rule) out += ", " + std::string(id) + " " + std::to_string(n);
  out += "\n";
  if (!s.servers.empty()) {
    out += "  servers:";
    for (const auto& [addr, sv] : s.servers) {
      out += " " + addr.to_string() + " (" + std::to_string(sv.exchanges) + " exchanges, " +
             std::to_string(sv.findings) + " findings)";
    }
    out += "\n";
  }
  return out;
}

void json_file(JsonWriter& j, const FileResult& f) {
  const auto& s = f.stats;
  j.begin_object();
  j.key("file").value(f.name);
  j.key("link_type").value(f.link_type);
  j.key("frames").value(f.frames);
  if (!f.error.empty()) j.key("error").value(f.error);
  j.key("ntp_datagrams").value(s.datagrams);
  j.key("requests").value(s.requests);
  j.key("replies").value(s.replies);
  j.key("exchanges").value(s.exchanges);
  j.key("unanswered").value(s.unanswered);
  j.key("unsolicited").value(s.unsolicited);
  j.key("replies_before_request").value(s.replies_before_request);
  j.key("paired_by_flow").value(s.paired_by_fallback);
  j.key("retransmissions").value(s.retransmissions);
  j.key("duplicate_replies").value(s.duplicate_replies);
  j.key("malformed").value(s.malformed);
  j.key("interleaved").value(s.interleaved);
  j.key("nts").value(s.nts);
  j.key("nts_naks").value(s.nts_naks);
  j.key("kiss_of_death").value(s.kiss_of_death);
  j.key("signed_requests").value(s.signed_requests);
  j.key("verified_replies").value(s.verified_replies);
  j.key("crypto_naks").value(s.crypto_naks);
  j.key("symmetric").begin_object();
  j.key("packets").value(s.symmetric_packets);
  j.key("origin_checks").value(s.symmetric_checks);
  j.key("origin_failures").value(s.symmetric_failures);
  j.end_object();
  for (auto [label, t] : {std::pair{"mode6", &s.mode6}, std::pair{"mode7", &s.mode7}}) {
    j.key(label).begin_object();
    j.key("requests").value(t->requests);
    j.key("request_bytes").value(t->request_bytes);
    j.key("responses").value(t->responses);
    j.key("response_bytes").value(t->response_bytes);
    j.end_object();
  }
  j.key("broadcast").value(s.broadcast);
  j.key("icmp_errors").value(f.icmp_errors);
  j.key("tcp_on_ntp_port").value(f.tcp_ntp);
  j.key("fragments_pending").value(f.fragments_pending);
  j.key("fragments_given_up").value(f.fragments_given_up);
  j.key("findings").begin_array();
  for (const auto& x : f.findings) {
    j.begin_object();
    j.key("rule").value(x.rule->id);
    j.key("level").value(conformance::to_string(x.rule->level));
    j.key("citation").value(std::string(x.rule->rfc) + " §" + std::string(x.rule->section));
    if (x.request_frame != 0) j.key("request_frame").value(x.request_frame);
    if (x.reply_frame != 0) j.key("reply_frame").value(x.reply_frame);
    j.key("client").value(x.client.to_string());
    j.key("server").value(x.server.to_string());
    j.key("expected").value(x.expected);
    j.key("actual").value(x.actual);
    j.end_object();
  }
  j.end_array();
  j.key("servers").begin_object();
  for (const auto& [addr, sv] : s.servers) {
    j.key(addr.to_string()).begin_object();
    j.key("exchanges").value(sv.exchanges);
    j.key("findings").value(sv.findings);
    j.end_object();
  }
  j.end_object();
  j.end_object();
}

std::string finding_line(const replay::Finding& x) {
  return "frames " + (x.request_frame != 0 ? std::to_string(x.request_frame) : std::string("-")) + " -> " +
         (x.reply_frame != 0 ? std::to_string(x.reply_frame) : std::string("-")) + ", client " + x.client.to_string() +
         ", server " + x.server.to_string() + ": expected " + x.expected + "; actual " + x.actual;
}

// Every rule is a test case of every file: a MUST with findings fails, a SHOULD notes them
// (TAP: ok # TODO). A file that cannot be read (or a live replay that could not run) fails its
// "read" case.
// `keys`: replay --keys was given; without it the MAC rules judge nothing and are skipped.
TestSuite file_suite(const std::string& name, const std::vector<replay::Finding>& findings, const std::string& error,
                     bool keys) {
  TestSuite t;
  t.name = name;
  t.tap_prefix = true;
  if (!error.empty()) {
    TestCase read;
    read.name = "read";
    read.status = TestCase::Status::Fail;
    read.type = "unreadable";
    read.message = error;
    read.yaml = {{"message", yaml_quote(error)}};
    t.cases.push_back(std::move(read));
  }
  std::map<std::string_view, std::vector<const replay::Finding*>> by_rule;
  for (const auto& x : findings) by_rule[x.rule->id].push_back(&x);
  for (const auto& rule : replay::rules()) {
    TestCase tc;
    tc.name = std::string(rule.id);
    if (!keys && rule.id.starts_with("auth/")) {
      tc.status = TestCase::Status::Skip;
      tc.message = "needs --keys FILE: the recorded MACs are not verified without the keys";
    } else if (auto it = by_rule.find(rule.id); it != by_rule.end()) {
      const bool must = rule.level == conformance::Level::Must;
      for (const auto* x : it->second) tc.detail += finding_line(*x) + "\n";
      tc.message = std::to_string(it->second.size()) + " finding(s): " + std::string(rule.requirement);
      tc.status = must ? TestCase::Status::Fail : TestCase::Status::Note;
      tc.type = std::string(to_string(rule.level));
      if (!must) tc.tap_directive = "# TODO " + std::string(to_string(rule.level)) + " not met";
      tc.yaml = {{"findings", std::to_string(it->second.size())},
                 {"first", yaml_quote(finding_line(*it->second.front()))}};
    }
    t.cases.push_back(std::move(tc));
  }
  return t;
}

std::vector<TestSuite> test_suites(const std::vector<FileResult>& results, bool keys) {
  std::vector<TestSuite> suites;
  for (const auto& f : results) suites.push_back(file_suite(f.name, f.findings, f.error, keys));
  return suites;
}

}  // namespace

void setup_replay(CLI::App& app, ReplayOptions& o) {
  app.add_option("files", o.files, "pcap or pcapng files ('-' for standard input)")->required();
  app.add_option("--port", o.ports, "another UDP port that carries NTP (repeatable; 123 always does)")
      ->allow_extra_args(false)
      ->check(CLI::Range(1U, 65535U));
  add_output_options(app, o.out);
  app.add_option("--max-listed", o.max_listed, "findings listed per rule in the text report")->capture_default_str();
  app.add_option("--threads", o.threads,
                 "1: read and judge on one thread; 2: judge on a second thread while reading (the same report, "
                 "sooner); default 2 when two CPUs are available")
      ->check(CLI::Range(1U, 2U));
  auto* keys = app.add_option("--keys", o.keys,
                              "symmetric keys (ntp.keys or chrony keyfile): verify the recorded MACs; a signed "
                              "request's reply without a valid MAC of its key is a finding");
  app.add_option("--key-format", o.key_format, "the --keys file's format: auto, ntp (ntpsec/ntp.org) or chrony")
      ->check(CLI::IsMember({"auto", "ntp", "chrony"}))
      ->capture_default_str()
      ->needs(keys);
  auto* target = app.add_option("--target", o.target,
                                "live: resend the recorded client requests to HOST:PORT and judge its answers");
  app.add_option("--rate", o.rate, "live: requests per second (default: as fast as answers come back)")
      ->check(finite())
      ->check(CLI::Range(0.0, 1e6))
      ->needs(target);
  app.add_option("--timing", o.timing, "live: fast, or recorded (the capture's spacing)")
      ->check(CLI::IsMember({"fast", "recorded"}))
      ->capture_default_str()
      ->needs(target);
  app.add_option("--max-gap", o.max_gap, "live, --timing recorded: seconds a silence in the capture is cut to")
      ->check(finite())
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str()
      ->needs(target);
  app.add_option("--max-requests", o.max_requests, "live: at most this many requests per capture")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str()
      ->needs(target);
  app.add_option("--timeout", o.timeout, "live: seconds to wait for the last answers")
      ->check(finite())
      ->check(CLI::Range(0.05, 30.0))
      ->capture_default_str()
      ->needs(target);
}

namespace {

std::string live_text(const std::string& file, const LiveResult& r, bool colour) {
  std::string out =
      file + " -> " + r.target + ": " + std::to_string(r.requests_in_capture) + " requests in the capture, " +
      std::to_string(r.sent) + " sent, " + std::to_string(r.answered) + " answered" +
      (r.received > r.answered ? ", " + std::to_string(r.received) + " datagrams back" : "") +
      (r.not_judged > 0 ? " (" + std::to_string(r.not_judged) + " of them beyond the flood bound, counted only)" : "") +
      "\n";
  if (!r.error.empty()) out += "  " + paint("error", Colour::Red, colour) + ": " + r.error + "\n";
  for (const auto& x : r.findings) {
    const bool must = x.rule->level == conformance::Level::Must;
    out += "  " + paint(must ? "FAIL" : "WARN", must ? Colour::Red : Colour::Yellow, colour) + " " +
           std::string(x.rule->id) + " " + std::string(conformance::to_string(x.rule->level)) +
           " request of capture frame " + std::to_string(x.request_frame) + "\n      expected: " + x.expected +
           "\n      actual:   " + x.actual + "\n";
  }
  for (const auto& d : r.differences)
    out += "  differs from the recording, frame " + std::to_string(d.frame) + ": " + d.what + "\n";
  out += "  findings: " + std::to_string(r.findings.size()) +
         ", differences from the recording: " + std::to_string(r.differences.size()) + "\n";
  return out;
}

void live_json(JsonWriter& j, const std::string& file, const LiveResult& r) {
  j.begin_object();
  j.key("file").value(file);
  j.key("target").value(r.target);
  if (!r.error.empty()) j.key("error").value(r.error);
  j.key("requests_in_capture").value(r.requests_in_capture);
  j.key("sent").value(r.sent);
  j.key("answered").value(r.answered);
  j.key("received").value(r.received);
  j.key("not_judged").value(r.not_judged);
  j.key("findings").begin_array();
  for (const auto& x : r.findings) {
    j.begin_object();
    j.key("rule").value(x.rule->id);
    j.key("level").value(conformance::to_string(x.rule->level));
    j.key("request_frame").value(x.request_frame);
    j.key("expected").value(x.expected);
    j.key("actual").value(x.actual);
    j.end_object();
  }
  j.end_array();
  j.key("differences").begin_array();
  for (const auto& d : r.differences) {
    j.begin_object();
    j.key("frame").value(d.frame);
    j.key("what").value(d.what);
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

int run_live(const ReplayOptions& o, const std::set<uint16_t>& ports, bool colour, const replay::Options& analysis) {
  auto target = parse_target(o.target);
  if (!target) {
    std::fprintf(stderr, "ntp-probe replay: %s\n", target.error().c_str());
    return 2;
  }
  LiveOptions lo;
  lo.target = *target;
  lo.rate = o.rate;
  lo.recorded_timing = o.timing == "recorded";
  lo.max_requests = o.max_requests;
  lo.timeout = o.timeout;
  lo.max_gap = o.max_gap;
  lo.threads = o.threads;
  lo.analysis = analysis;
  int code = 0;
  JsonWriter j;
  j.begin_object();
  j.key("live").begin_array();
  std::vector<TestSuite> suites;
  for (const auto& f : o.files) {
    const LiveResult r = replay_live(f, ports, lo);
    suites.push_back(file_suite(f + " -> " + o.target, r.findings, r.error, analysis.keys != nullptr));
    if (!r.error.empty()) {
      std::fprintf(stderr, "ntp-probe replay: %s -> %s: %s\n", f.c_str(), o.target.c_str(), r.error.c_str());
      code = 3;
    }
    for (const auto& x : r.findings) {
      if (x.rule->level == conformance::Level::Must && code == 0) code = 1;
    }
    if (o.out.format == "text") std::fputs(live_text(f, r, colour).c_str(), stdout);
    live_json(j, f, r);
  }
  j.end_array();
  j.key("exit_code").value(code);
  j.end_object();
  if (!emit_reports(o.out, "ntp-probe replay", j.str(), suites)) return 3;
  return code;
}

}  // namespace

int run_replay(const ReplayOptions& o) {
  std::set<uint16_t> ports = {123};
  for (unsigned p : o.ports) ports.insert(static_cast<uint16_t>(p));
  const bool colour = colour_on(o.out, stdout);
  if (auto e = check_output(o.out); !e.empty()) {
    std::fprintf(stderr, "ntp-probe replay: %s\n", e.c_str());
    return 2;
  }
  replay::Options analysis;
  crypto::KeyFile keys;
  if (!o.keys.empty()) {
    auto loaded = crypto::load_key_file(o.keys, o.key_format);
    if (!loaded) {
      std::fprintf(stderr, "ntp-probe replay: %s\n", loaded.error().c_str());
      return 2;
    }
    keys = *loaded;
    analysis.keys = keys.store.get();
    analysis.digests = keys.digests.get();
  }
  if (!o.target.empty()) return run_live(o, ports, colour, analysis);
  std::vector<FileResult> results;
  for (const auto& f : o.files) {
    // A progress line on stderr when it is a terminal: bytes read of the file's size.
    Progress progress;
    std::error_code ec;
    const auto size = f == "-" ? 0 : std::filesystem::file_size(f, ec);
    if (isatty(fileno(stderr)) != 0 && size > 0 && !ec) {
      progress = [&](uint64_t done) {
        std::fprintf(stderr, "\r%s: %3u%%", f.c_str(), static_cast<unsigned>(done * 100 / size));
      };
    }
    results.push_back(analyse_file(f, ports, {}, progress, o.threads, analysis));
    if (progress) std::fprintf(stderr, "\r\x1b[K");
    if (!results.back().error.empty()) {
      std::fprintf(stderr, "ntp-probe replay: %s: %s\n", f.c_str(), results.back().error.c_str());
    }
    if (o.out.format == "text") {
      const std::string text = text_report(results.back(), o.max_listed, colour);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  }
  int code = 0;
  for (const auto& r : results) {
    if (must_broken(r)) code = std::max(code, 1);
  }
  for (const auto& r : results) {
    if (!r.error.empty()) code = 3;
  }
  JsonWriter j;
  j.begin_object();
  j.key("exit_code").value(code);
  j.key("files").begin_array();
  for (const auto& r : results) json_file(j, r);
  j.end_array();
  j.end_object();
  if (!emit_reports(o.out, "ntp-probe replay", j.str(), test_suites(results, analysis.keys != nullptr))) return 3;
  return code;
}

}  // namespace ntpkit::probe
