#include "suite_command.hpp"

#include "nts_session.hpp"

#include <sys/random.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "escape.hpp"
#include "html_matrix.hpp"
#include "json_writer.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/server/misbehaviour.hpp"
#include "ntpkit/util/clock.hpp"
#include "ntpkit/wire/serialize.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "terminal.hpp"

namespace ntpkit::probe {

using namespace conformance;

void setup_suite(CLI::App& app, SuiteOptions& o) {
  app.add_option("target", o.targets,
                 "HOST[:PORT] of the server to judge (port 123 by default); several: each judged, the worst exit code")
      ->expected(0, -1);
  app.add_option("--targets", o.targets_file, "judge the targets in FILE too: one HOST[:PORT] a line, '#' comments");
  app.add_option("--shard", o.shard,
                 "K/N: judge only the K-th of N deterministic shares of the targets (the i-th target, from 0, is in "
                 "share i mod N + 1)");
  app.add_option("--parallel", o.parallel, "targets judged at once (each with up to -j cases in flight)")
      ->check(CLI::Range(1U, 256U))
      ->capture_default_str();
  app.add_option("--max-rate", o.max_rate,
                 "datagrams per second over the whole run, every target together (default: no cap beyond "
                 "--interval per target)")
      ->check(finite())
      ->check(CLI::Range(0.0, 1e6));
  std::string names;
  for (auto n : suite_names()) names += (names.empty() ? "" : ", ") + std::string(n);
  app.add_option("--suite", o.suite, "suite to run: " + names)->capture_default_str();
  app.add_option("--case", o.cases, "run only cases whose id matches GLOB (repeatable)")->allow_extra_args(false);
  app.add_option("--exclude", o.exclude, "skip cases whose id matches GLOB (repeatable)")->allow_extra_args(false);
  app.add_flag("--list", o.list, "list the cases (id, level, citation, requirement) and send nothing");
  add_output_options(app, o.out, {"prometheus", "jsonl", "html"});
  app.add_option("--expect-fail", o.expect_fail, "waivers: lines of 'CASE-GLOB reason'; an unexpected pass fails");
  app.add_option("--pcap-out", o.pcap_out, "write every datagram of the session to FILE (pcap, readable by tshark)");
  app.add_flag("--strict", o.strict, "a SHOULD that is not met fails instead of warning");
  app.add_option("-t,--timeout", o.timeout, "seconds to wait for each reply")
      ->check(finite())
      ->check(CLI::Range(0.05, 30.0))
      ->capture_default_str();
  app.add_option("--retries", o.retries, "resends for a lost request")
      ->check(CLI::Range(0U, 10U))
      ->capture_default_str();
  app.add_option("--interval", o.interval, "seconds between datagrams (default 0 on loopback, 0.25 elsewhere)")
      ->check(finite())
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("-j,--jobs", o.jobs, "cases run at once, each from its own port")
      ->check(CLI::Range(1U, 256U))
      ->capture_default_str();
  app.add_option("--max-offset", o.max_offset, "seconds the server's clock may differ from ours")
      ->check(finite())
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--budget", o.budget,
                 "seconds the run may take; a server that rate-limits is retried, paced, until then, and what "
                 "is not concluded by then is inconclusive")
      ->check(finite())
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--source-address", o.source_addresses,
                 "send from these addresses of ours, cases spread over them (repeatable; ADDR or an IPv4 range "
                 "FIRST-LAST, e.g. 127.0.1.1-127.0.1.66): each is a client of its own to a per-address rate limit")
      ->allow_extra_args(false);
  add_key_options(app, o.keys);
  app.add_option("--nts", o.nts,
                 "HOST[:PORT] of an NTS-KE server (port 4460 by default): key establishment, then the suite runs "
                 "against the NTP server it names; the nts suite protects its requests with what it gave");
  app.add_option("--ca", o.ca_file, "with --nts: PEM certificates that may sign the NTS-KE server's");
  app.add_flag("--insecure", o.insecure, "with --nts: accept any certificate (self-signed lab servers only)");
  app.add_flag("-v,--verbose", o.verbose, "show the evidence of every case, not just the failing ones");
  app.add_flag("-4", o.ipv4, "use IPv4 only");
  app.add_flag("-6", o.ipv6, "use IPv6 only");
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string command_like(const std::string& target) {
  if (target == "help") return "; for help: ntp-probe --help";
  if (target == "version") return "; for the version: ntp-probe --version";
  if (target.empty() || target.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) return "";
  for (std::string_view command : {"query", "replay", "bench"}) {
    if (edit_distance(target, command) <= 2) {
      return "; did you mean " + std::string(command) + "? (ntp-probe --help lists the commands)";
    }
  }
  return "";
}

namespace {

bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address.rfind("[::1]", 0) == 0 || address.rfind("[::ffff:127.", 0) == 0;
}

std::vector<const Case*> select(const Suite& suite, const SuiteOptions& o) {
  std::vector<const Case*> out;
  for (const Case* c : suite.cases) {
    bool keep = o.cases.empty();
    for (const auto& g : o.cases) keep = keep || glob_match(g, c->id);
    for (const auto& g : o.exclude) keep = keep && !glob_match(g, c->id);
    if (keep) out.push_back(c);
  }
  return out;
}

// The network error a valid client request meets (the port is closed), or "".
std::string closed_port(UdpClient& client, std::chrono::milliseconds timeout) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = 0x5eed;
  const auto bytes = serialize_header(client_request(4, Timestamp::from_raw(r)));
  if (auto e = client.send(bytes); !e.empty()) return e;
  std::string error;
  (void)client.receive(timeout, error);
  return error;
}

// --nts, --ca, --insecure and the timeout, as the NTS session takes them.
NtsOptions nts_options(const SuiteOptions& o) {
  NtsOptions n;
  n.ke = o.nts;
  n.ca_file = o.ca_file;
  n.insecure = o.insecure;
  n.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::max(o.timeout, 1.0) * 1000));
  return n;
}

// The nts-ke cases' exchanges: TLS to the --nts server, as each case asks.
std::function<conformance::KeObservation(const conformance::KeRequest&)> ke_exchanger(const SuiteOptions& o) {
  return [n = nts_options(o)](const conformance::KeRequest& request) {
    conformance::KeObservation k;
    auto c = ke_client_options(n);
    if (!c) {
      k.failure = c.error();
      return k;
    }
    c->alpn = request.alpn;
    c->min_tls = request.min_tls;
    c->max_tls = request.max_tls;
    auto session = crypto::KeSession::connect(*c);
    if (!session) {
      k.failure = session.error();
      k.connected = k.failure.find("TLS handshake") != std::string::npos;
      return k;
    }
    k.connected = k.handshake = true;
    k.version = session->facts().version;
    k.alpn = session->facts().alpn;
    if (auto e = session->send(request.bytes, request.record_size); !e.empty()) {
      k.failure = e;
      return k;
    }
    const auto started = std::chrono::steady_clock::now();
    const auto wait = std::chrono::milliseconds(static_cast<int64_t>(request.wait_s * 1000));
    const crypto::KeResponse r = session->receive(wait);
    k.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    k.response = r.bytes;
    k.end_of_message = r.end_of_message;
    k.closed = r.closed;
    k.timed_out = r.timed_out;
    k.truncated = r.truncated;
    session->close();
    return k;
  };
}

}  // namespace

namespace {

// What every target's run shares, checked once before anything is sent.
struct Prepared {
  std::vector<const Case*> cases;
  std::vector<Waiver> waivers;
  std::optional<LoadedKeys> keys;
  RequestKey request_key;
  std::vector<sockaddr_storage> sources;
  Family family = Family::Any;
};

// One target judged: its report, or the sentence why there is none (it could not be reached),
// and the exit code it gives.
struct TargetRun {
  std::optional<Report> report;
  std::string error;
  int exit = 3;
};

// The suite against one target (`spec`, HOST[:PORT]); `progress` (may be empty) as cases finish,
// `notice` for the runner's lines; `global` (may be null) paces every datagram of every target.
TargetRun judge_target(const SuiteOptions& o, const Prepared& p, const std::string& spec, Pacer* global,
                       const Progress& progress, const std::function<void(const std::string&)>& notice, PacketLog* log,
                       const std::function<void()>& reached = {}) {
  TargetRun out;
  auto target = parse_target(o.nts.empty() ? spec : "127.0.0.1");  // --nts: NTS-KE names it, below
  if (!target) {
    out.error = target.error();
    return out;
  }
  // NTS: key establishment first; the cases then talk to the NTP server it names.
  std::optional<NtsAssociation> association;
  conformance::NtsMaterial nts_material;
  if (!o.nts.empty()) {
    auto a = NtsAssociation::establish(nts_options(o));
    if (!a) {
      // The nts-ke cases judge the KE server whatever it did; the others need what it failed to give.
      if (!a.error().answered ||
          !std::all_of(p.cases.begin(), p.cases.end(), [](const Case* c) { return c->ke_stimulus; })) {
        out.error = a.error().message + "; nothing to judge";
        return out;
      }
      if (notice) notice(a.error().message);
    } else {
      association.emplace(std::move(*a));
      nts_material = association->material();
    }
    // Without an association (the nts-ke cases alone): the KE server's host, port 123.
    auto named = association ? association->ntp_target() : parse_target(parse_target(o.nts, nts::kDefaultKePort)->host);
    if (!named) {
      out.error = "NTS-KE named an NTP server we cannot use: " + named.error();
      return out;
    }
    target = std::move(named);
  }
  // Resolve once; every case then talks to the same address.
  auto probe = UdpClient::connect(*target, p.family);
  if (!probe) {
    out.error = probe.error();
    return out;
  }
  // One valid request first: a closed port (ICMP port unreachable) ends the run here, in one
  // line, as query and bench do. Silence does not: a limiter may be holding this address.
  const bool only_ke = std::all_of(p.cases.begin(), p.cases.end(), [](const Case* c) { return c->ke_stimulus; });
  if (auto closed = only_ke ? std::string()
                            : closed_port(*probe, std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000)));
      !closed.empty()) {
    out.error = probe->peer() + ": " + closed + "; nothing to judge";
    return out;
  }
  if (reached) reached();

  RunSettings s;
  s.target = *target;
  s.target.host = probe->address();
  s.family = p.family;
  s.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000));
  s.retries = o.retries;
  const double interval = o.interval >= 0 ? o.interval : (is_loopback(probe->peer()) ? 0.0 : 0.25);
  s.interval = std::chrono::milliseconds(static_cast<int64_t>(interval * 1000));
  s.global_pacer = global;
  s.jobs = o.jobs;
  s.strict = o.strict;
  s.judge.now = SystemClock().now();
  s.judge.pivot_unix_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  s.judge.max_offset = Duration::from_nanoseconds(static_cast<int64_t>(o.max_offset * 1e9));
  s.sources = p.sources;
  s.budget = std::chrono::milliseconds(static_cast<int64_t>(o.budget * 1000));
  if (p.keys) s.judge.auth = &p.request_key;
  if (association) s.judge.nts = &nts_material;
  if (!o.nts.empty()) s.ke_exchange = ke_exchanger(o);
  s.log = log;
  const auto started = std::chrono::steady_clock::now();
  auto run = run_cases(p.cases, s, progress, notice);

  Report report;
  report.suite = o.suite;
  report.target = o.nts.empty() ? spec : target->spec;
  if (!o.nts.empty()) {
    report.nts_args = "--nts " + shell_quote(o.nts) + (o.insecure ? " --insecure" : "") +
                      (o.ca_file.empty() ? "" : " --ca " + shell_quote(o.ca_file));
  }
  if (p.keys) {
    report.key_args = "--keys " + shell_quote(o.keys.file) + " --key-id " + std::to_string(o.keys.key_id);
    if (o.keys.format != "auto") report.key_args += " --key-format " + o.keys.format;
  }
  report.address = probe->peer();
  report.strict = o.strict;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.rate_limit = run.rate_limit;
  for (auto& r : run.results) {
    Entry e{std::move(r), std::nullopt};
    for (const auto& w : p.waivers) {
      if (glob_match(w.pattern, e.result.test->id)) e.waiver = w.reason;
    }
    report.entries.push_back(std::move(e));
  }
  out.exit = exit_code(report);
  out.report = std::move(report);
  return out;
}

// The targets of a run: the positional ones, then --targets FILE's (one HOST[:PORT] a line, '#'
// comments, blank lines skipped), each checked as a target; then --shard K/N's share (the i-th
// target, counting from 0 over the whole list, is shard i mod N + 1). An error sentence, or empty.
std::string gather_targets(const SuiteOptions& o, std::vector<std::string>& out) {
  out = o.targets;
  if (!o.targets_file.empty()) {
    std::ifstream f(o.targets_file);
    if (!f) return "--targets " + o.targets_file + ": cannot read it";
    std::string line;
    size_t number = 0;
    while (std::getline(f, line)) {
      ++number;
      if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      const auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos) continue;
      line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
      if (line.find_first_of(" \t") != std::string::npos) {
        return "--targets " + o.targets_file + " line " + std::to_string(number) + ": one HOST[:PORT] a line";
      }
      if (out.size() >= kMaxTargets) return "--targets: more than " + std::to_string(kMaxTargets) + " targets";
      out.push_back(line);
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (auto t = parse_target(out[i]); !t) {
      return out.size() == 1 && o.targets_file.empty()
                 ? t.error()
                 : "target " + std::to_string(i + 1) + " (" + out[i] + "): " + t.error();
    }
  }
  if (!o.shard.empty()) {
    unsigned k = 0, n = 0;
    char tail = 0;
    if (std::sscanf(o.shard.c_str(), "%u/%u%c", &k, &n, &tail) != 2 || n == 0 || k == 0 || k > n || n > 100000) {
      return "--shard " + o.shard + ": give K/N with 1 <= K <= N (e.g. 2/3)";
    }
    std::vector<std::string> share;
    for (size_t i = 0; i < out.size(); ++i) {
      if (i % n == k - 1) share.push_back(out[i]);
    }
    out = std::move(share);
  }
  return {};
}

// The worst exit code of many: a failure (1) before nothing concluded (3) before none (0).
int worst(int a, int b) {
  const auto rank = [](int e) { return e == 1 ? 3 : e == 3 ? 2 : e == 0 ? 0 : 1; };
  return rank(b) > rank(a) ? b : a;
}

}  // namespace

int run_suite(const SuiteOptions& o) {
  const Suite* suite = find_suite(o.suite);
  if (suite == nullptr) {
    std::fprintf(stderr, "ntp-probe: no suite '%s' (see --help)\n", o.suite.c_str());
    return 2;
  }
  Prepared p;
  p.cases = select(*suite, o);
  if (p.cases.empty()) {
    std::fprintf(stderr, "ntp-probe: no case of suite %s matches --case/--exclude\n", o.suite.c_str());
    return 2;
  }
  if (o.list) {
    for (const Case* c : p.cases) {
      std::printf("%-40s %-6s %s §%s\n    %s\n", std::string(c->id).c_str(), std::string(to_string(c->level)).c_str(),
                  std::string(c->rfc).c_str(), std::string(c->section).c_str(), std::string(c->requirement).c_str());
    }
    std::printf("%zu cases\n", p.cases.size());
    return 0;
  }
  std::vector<std::string> targets;
  if (const std::string e = gather_targets(o, targets); !e.empty()) {
    std::fprintf(stderr, "ntp-probe: %s\n", e.c_str());
    return 2;
  }
  const bool many = targets.size() > 1 || !o.targets_file.empty() || !o.shard.empty();
  if (targets.empty() && o.nts.empty()) {
    if (many) {
      std::fprintf(stderr, "ntp-probe: no target left to judge (--targets, --shard)\n");
      return 2;
    }
    std::fprintf(stderr, "ntp-probe: give the server to judge, e.g. ntp-probe --suite rfc5905 127.0.0.1:123\n");
    return 2;
  }
  if (many && (!o.nts.empty() || !o.pcap_out.empty())) {
    std::fprintf(stderr, "ntp-probe: --nts and --pcap-out judge one target: give one\n");
    return 2;
  }
  if (many &&
      (o.out.format == "junit" || o.out.format == "tap" || o.out.format == "prometheus" || !o.out.junit_file.empty())) {
    std::fprintf(stderr,
                 "ntp-probe: with many targets the report is text, json, jsonl (one object a target) or html (the "
                 "matrix); JUnit, TAP and Prometheus take one target\n");
    return 2;
  }
  if (!many && o.out.format == "jsonl") {
    // One target in JSON Lines is its JSON object on one line: the same.
  }
  if (auto e = check_nts_options(targets.empty() ? std::string() : targets.front(), o.nts, o.ca_file, o.insecure);
      !e.empty()) {
    std::fprintf(stderr, "ntp-probe: %s\n", e.c_str());
    return 2;
  }
  if (o.ipv4 && o.ipv6) {
    std::fprintf(stderr, "ntp-probe: give -4 or -6, not both\n");
    return 2;
  }
  if (!o.expect_fail.empty()) {
    std::string error;
    p.waivers = load_waivers(o.expect_fail, error);
    if (!error.empty()) {
      std::fprintf(stderr, "ntp-probe: %s\n", error.c_str());
      return 2;
    }
  }
  auto loaded = load_keys(o.keys);
  if (!loaded) {
    std::fprintf(stderr, "ntp-probe: %s\n", loaded.error().c_str());
    return 2;
  }
  p.keys = *loaded;
  p.request_key = p.keys ? p.keys->request_key() : RequestKey{};
  // Every file we are to write, before anything is sent.
  for (const auto& e : {check_output(o.out), check_writable("--pcap-out", o.pcap_out)}) {
    if (!e.empty()) {
      std::fprintf(stderr, "ntp-probe: %s\n", e.c_str());
      return 2;
    }
  }
  for (const auto& spec : o.source_addresses) {
    auto parsed = parse_source_addresses(spec);
    if (!parsed) {
      std::fprintf(stderr, "ntp-probe: %s\n", parsed.error().c_str());
      return 2;
    }
    p.sources.insert(p.sources.end(), parsed->begin(), parsed->end());
  }
  if (p.sources.size() > 65536) {
    std::fprintf(stderr, "ntp-probe: --source-address: more than 65,536 addresses in all\n");
    return 2;
  }
  p.family = o.ipv4 ? Family::V4 : o.ipv6 ? Family::V6 : Family::Any;
  if (!p.sources.empty()) {
    const sa_family_t f = p.sources.front().ss_family;
    for (const auto& src : p.sources) {
      if (src.ss_family != f) {
        std::fprintf(stderr, "ntp-probe: --source-address: give addresses of one family (IPv4 or IPv6), not both\n");
        return 2;
      }
    }
    const Family want = f == AF_INET ? Family::V4 : Family::V6;
    if (p.family != Family::Any && p.family != want) {
      std::fprintf(stderr, "ntp-probe: --source-address is IPv%s but -%s was given\n", f == AF_INET ? "4" : "6",
                   p.family == Family::V4 ? "4" : "6");
      return 2;
    }
    p.family = want;
  }
  // The cases that cannot run as asked, said once: for one target when it is reached (a closed
  // port is then the only line), for many before the first.
  const auto say_skipped = [&] {
    if (o.nts.empty()) {
      const auto protecting = std::count_if(p.cases.begin(), p.cases.end(), [](const Case* c) { return c->needs_nts; });
      if (protecting > 0) {
        std::fprintf(stderr,
                     "ntp-probe: %zu nts case(s) skipped: they need key establishment, give --nts HOST[:KE-PORT]\n",
                     static_cast<size_t>(protecting));
      }
    }
    if (!p.keys) {
      const auto signing = std::count_if(p.cases.begin(), p.cases.end(), [](const Case* c) { return c->needs_key; });
      if (signing > 0) {
        std::fprintf(stderr,
                     "ntp-probe: %zu auth case(s) skipped: they sign with the server's key, give --keys FILE "
                     "--key-id N\n",
                     static_cast<size_t>(signing));
      }
    }
  };
  const bool tty = isatty(fileno(stderr)) != 0;
  std::optional<Pacer> global;
  if (o.max_rate > 0) global.emplace(std::chrono::microseconds(static_cast<int64_t>(1e6 / o.max_rate)));

  if (!many) {
    PacketLog log;
    const auto r = judge_target(
        o, p, targets.empty() ? std::string() : targets.front(), global ? &*global : nullptr,
        [&](size_t done, size_t total) {
          if (tty) std::fprintf(stderr, "\r%zu/%zu cases%s", done, total, done == total ? "\r\x1b[K" : "");
        },
        [&](const std::string& line) {
          std::fprintf(stderr, "%sntp-probe: %s\n", tty ? "\r\x1b[K" : "", line.c_str());
        },
        o.pcap_out.empty() ? nullptr : &log, say_skipped);
    if (!r.report) {
      std::fprintf(stderr, "ntp-probe: %s\n", r.error.c_str());
      return 3;
    }
    if (!emit_report(*r.report, o.out, o.verbose, "ntp-probe")) return 3;
    if (!o.pcap_out.empty()) {
      if (auto err = log.write_pcap(o.pcap_out, std::chrono::duration_cast<std::chrono::seconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count());
          !err.empty()) {
        std::fprintf(stderr, "ntp-probe: %s\n", err.c_str());
        return 3;
      }
      if (log.dropped() > 0) {
        std::fprintf(stderr,
                     "ntp-probe: --pcap-out: %zu datagram(s) not recorded (the log keeps %zu datagrams, %zu MiB)\n",
                     log.dropped(), PacketLog::kMaxEntries, PacketLog::kMaxBytes >> 20);
      }
    }
    return r.exit;
  }

  // Many targets: --parallel at once, each report written whole as its target finishes (JSON
  // Lines: one object a line), a progress line on a terminal, the worst exit code. A case in
  // flight holds a socket: --parallel x --jobs must fit the descriptors we may open (the soft
  // limit raised to the hard one), or the cases of each target in flight are fewer.
  SuiteOptions each = o;
  {
    rlimit fds{};
    if (getrlimit(RLIMIT_NOFILE, &fds) == 0) {
      if (fds.rlim_cur < fds.rlim_max) {
        rlimit raised = fds;
        raised.rlim_cur = fds.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) fds = raised;
      }
      const size_t parallel = std::min<size_t>(o.parallel, targets.size());
      const size_t room = fds.rlim_cur > 128 ? static_cast<size_t>(fds.rlim_cur) - 128 : 1;
      if (parallel * o.jobs > room) {
        each.jobs = static_cast<unsigned>(std::max<size_t>(1, room / parallel));
        std::fprintf(stderr,
                     "ntp-probe: %zu targets at once with -j %u would need more than the %zu sockets we may open: "
                     "-j %u for each\n",
                     parallel, o.jobs, room, each.jobs);
      }
    }
  }
  std::mutex m;
  size_t next = 0, done = 0;
  int code = 0;
  std::vector<std::string> json_objects;  // --format json / --json FILE: the array, in finishing order
  const bool keep_json = o.out.format == "json" || o.out.format == "html" || !o.out.json_file.empty();
  const auto worker = [&] {
    for (;;) {
      size_t i = 0;
      {
        const std::lock_guard lock(m);
        if (next >= targets.size()) return;
        i = next++;
      }
      const auto r = judge_target(each, p, targets[i], global ? &*global : nullptr, {}, {}, nullptr);
      std::string line;
      if (r.report) {
        line = render_json(*r.report);
      } else {
        JsonWriter j;
        j.begin_object();
        j.key("suite").value(o.suite);
        j.key("target").value(targets[i]);
        j.key("exit_code").value(static_cast<int64_t>(r.exit));
        j.key("error").value(r.error);
        j.end_object();
        line = j.str();
      }
      while (!line.empty() && line.back() == '\n') line.pop_back();
      const std::lock_guard lock(m);
      ++done;
      code = worst(code, r.exit);
      if (tty) std::fputs("\r\x1b[K", stderr);
      if (o.out.format == "jsonl") {
        std::fputs((line + "\n").c_str(), stdout);
      } else if (o.out.format == "text") {
        if (r.report) {
          const std::string text = render_text(*r.report, colour_on(o.out, stdout), o.verbose);
          std::fwrite(text.data(), 1, text.size(), stdout);
        } else {
          std::printf("ntp-probe: %s: %s\n\n", targets[i].c_str(), r.error.c_str());
        }
      }
      std::fflush(stdout);
      if (keep_json) json_objects.push_back(std::move(line));
      if (tty) std::fprintf(stderr, "%zu/%zu targets judged", done, targets.size());
    }
  };
  say_skipped();
  std::vector<std::thread> workers;
  const size_t n = std::min<size_t>(o.parallel, targets.size());
  for (size_t w = 0; w < n; ++w) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  if (tty) std::fputs("\r\x1b[K", stderr);
  if (keep_json) {
    std::string array = "[";
    for (size_t i = 0; i < json_objects.size(); ++i) array += (i == 0 ? "" : ",") + json_objects[i];
    array += "]\n";
    if (o.out.format == "json") std::fputs(array.c_str(), stdout);
    if (o.out.format == "html") {
      std::vector<nlohmann::json> reports;
      for (const auto& line : json_objects) reports.push_back(nlohmann::json::parse(line));
      std::fputs(render_html_matrix(reports).c_str(), stdout);
    }
    if (!o.out.json_file.empty() && !write_file(o.out.json_file, array)) {
      std::fprintf(stderr, "ntp-probe: cannot write %s\n", o.out.json_file.c_str());
      return 3;
    }
  }
  return code;
}

}  // namespace ntpkit::probe
