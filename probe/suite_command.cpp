#include "suite_command.hpp"

#include "nts_session.hpp"

#include <sys/random.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "escape.hpp"
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
  app.add_option("target", o.target, "HOST[:PORT] of the server to judge (port 123 by default)");
  std::string names;
  for (auto n : suite_names()) names += (names.empty() ? "" : ", ") + std::string(n);
  app.add_option("--suite", o.suite, "suite to run: " + names)->capture_default_str();
  app.add_option("--case", o.cases, "run only cases whose id matches GLOB (repeatable)")->allow_extra_args(false);
  app.add_option("--exclude", o.exclude, "skip cases whose id matches GLOB (repeatable)")->allow_extra_args(false);
  app.add_flag("--list", o.list, "list the cases (id, level, citation, requirement) and send nothing");
  add_output_options(app, o.out, true);
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

int run_suite(const SuiteOptions& o) {
  const Suite* suite = find_suite(o.suite);
  if (suite == nullptr) {
    std::fprintf(stderr, "ntp-probe: no suite '%s' (see --help)\n", o.suite.c_str());
    return 2;
  }
  const auto cases = select(*suite, o);
  if (cases.empty()) {
    std::fprintf(stderr, "ntp-probe: no case of suite %s matches --case/--exclude\n", o.suite.c_str());
    return 2;
  }
  if (o.list) {
    for (const Case* c : cases) {
      std::printf("%-40s %-6s %s §%s\n    %s\n", std::string(c->id).c_str(), std::string(to_string(c->level)).c_str(),
                  std::string(c->rfc).c_str(), std::string(c->section).c_str(), std::string(c->requirement).c_str());
    }
    std::printf("%zu cases\n", cases.size());
    return 0;
  }
  if (o.target.empty() && o.nts.empty()) {
    std::fprintf(stderr, "ntp-probe: give the server to judge, e.g. ntp-probe --suite rfc5905 127.0.0.1:123\n");
    return 2;
  }
  if (auto e = check_nts_options(o.target, o.nts, o.ca_file, o.insecure); !e.empty()) {
    std::fprintf(stderr, "ntp-probe: %s\n", e.c_str());
    return 2;
  }
  if (o.ipv4 && o.ipv6) {
    std::fprintf(stderr, "ntp-probe: give -4 or -6, not both\n");
    return 2;
  }
  std::vector<Waiver> waivers;
  if (!o.expect_fail.empty()) {
    std::string error;
    waivers = load_waivers(o.expect_fail, error);
    if (!error.empty()) {
      std::fprintf(stderr, "ntp-probe: %s\n", error.c_str());
      return 2;
    }
  }
  auto target = parse_target(o.nts.empty() ? o.target : "127.0.0.1");  // --nts: NTS-KE names it, below
  if (!target) {
    std::fprintf(stderr, "ntp-probe: %s\n", target.error().c_str());
    return 2;
  }
  auto loaded = load_keys(o.keys);
  if (!loaded) {
    std::fprintf(stderr, "ntp-probe: %s\n", loaded.error().c_str());
    return 2;
  }
  const std::optional<LoadedKeys>& keys = *loaded;
  const RequestKey request_key = keys ? keys->request_key() : RequestKey{};
  // Every file we are to write, before anything is sent.
  for (const auto& e : {check_output(o.out), check_writable("--pcap-out", o.pcap_out)}) {
    if (!e.empty()) {
      std::fprintf(stderr, "ntp-probe: %s\n", e.c_str());
      return 2;
    }
  }
  std::vector<sockaddr_storage> sources;
  for (const auto& spec : o.source_addresses) {
    auto parsed = parse_source_addresses(spec);
    if (!parsed) {
      std::fprintf(stderr, "ntp-probe: %s\n", parsed.error().c_str());
      return 2;
    }
    sources.insert(sources.end(), parsed->begin(), parsed->end());
  }
  if (sources.size() > 65536) {
    std::fprintf(stderr, "ntp-probe: --source-address: more than 65,536 addresses in all\n");
    return 2;
  }
  Family family = o.ipv4 ? Family::V4 : o.ipv6 ? Family::V6 : Family::Any;
  if (!sources.empty()) {
    const sa_family_t f = sources.front().ss_family;
    for (const auto& src : sources) {
      if (src.ss_family != f) {
        std::fprintf(stderr, "ntp-probe: --source-address: give addresses of one family (IPv4 or IPv6), not both\n");
        return 2;
      }
    }
    const Family want = f == AF_INET ? Family::V4 : Family::V6;
    if (family != Family::Any && family != want) {
      std::fprintf(stderr, "ntp-probe: --source-address is IPv%s but -%s was given\n", f == AF_INET ? "4" : "6",
                   family == Family::V4 ? "4" : "6");
      return 2;
    }
    family = want;
  }
  // NTS: key establishment first; the cases then talk to the NTP server it names.
  std::optional<NtsAssociation> association;
  conformance::NtsMaterial nts_material;
  if (!o.nts.empty()) {
    auto a = NtsAssociation::establish(nts_options(o));
    if (!a) {
      // The nts-ke cases judge the KE server whatever it did; the others need what it failed to give.
      if (!a.error().answered ||
          !std::all_of(cases.begin(), cases.end(), [](const Case* c) { return c->ke_stimulus; })) {
        std::fprintf(stderr, "ntp-probe: %s; nothing to judge\n", a.error().message.c_str());
        return 3;
      }
      std::fprintf(stderr, "ntp-probe: %s\n", a.error().message.c_str());
    } else {
      association.emplace(std::move(*a));
      nts_material = association->material();
    }
    // Without an association (the nts-ke cases alone): the KE server's host, port 123.
    auto named = association ? association->ntp_target() : parse_target(parse_target(o.nts, nts::kDefaultKePort)->host);
    if (!named) {
      std::fprintf(stderr, "ntp-probe: NTS-KE named an NTP server we cannot use: %s\n", named.error().c_str());
      return 3;
    }
    target = std::move(named);
  }
  // Resolve once; every case then talks to the same address.
  auto probe = UdpClient::connect(*target, family);
  if (!probe) {
    std::fprintf(stderr, "ntp-probe: %s\n", probe.error().c_str());
    return 3;
  }

  // One valid request first: a closed port (ICMP port unreachable) ends the run here, in one
  // line, as query and bench do. Silence does not: a limiter may be holding this address.
  const bool only_ke = std::all_of(cases.begin(), cases.end(), [](const Case* c) { return c->ke_stimulus; });
  if (auto closed = only_ke ? std::string()
                            : closed_port(*probe, std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000)));
      !closed.empty()) {
    std::fprintf(stderr, "ntp-probe: %s: %s; nothing to judge\n", probe->peer().c_str(), closed.c_str());
    return 3;
  }

  if (!association && o.nts.empty()) {
    const auto protecting = std::count_if(cases.begin(), cases.end(), [](const Case* c) { return c->needs_nts; });
    if (protecting > 0) {
      std::fprintf(stderr,
                   "ntp-probe: %zu nts case(s) skipped: they need key establishment, give --nts HOST[:KE-PORT]\n",
                   static_cast<size_t>(protecting));
    }
  }
  if (!keys) {
    const auto signing = std::count_if(cases.begin(), cases.end(), [](const Case* c) { return c->needs_key; });
    if (signing > 0) {
      std::fprintf(stderr,
                   "ntp-probe: %zu auth case(s) skipped: they sign with the server's key, give --keys FILE "
                   "--key-id N\n",
                   static_cast<size_t>(signing));
    }
  }

  RunSettings s;
  s.target = *target;
  s.target.host = probe->address();
  s.family = family;
  s.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000));
  s.retries = o.retries;
  const double interval = o.interval >= 0 ? o.interval : (is_loopback(probe->peer()) ? 0.0 : 0.25);
  s.interval = std::chrono::milliseconds(static_cast<int64_t>(interval * 1000));
  s.jobs = o.jobs;
  s.strict = o.strict;
  s.judge.now = SystemClock().now();
  s.judge.pivot_unix_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  s.judge.max_offset = Duration::from_nanoseconds(static_cast<int64_t>(o.max_offset * 1e9));
  s.sources = std::move(sources);
  s.budget = std::chrono::milliseconds(static_cast<int64_t>(o.budget * 1000));
  if (keys) s.judge.auth = &request_key;
  if (association) s.judge.nts = &nts_material;
  if (!o.nts.empty()) s.ke_exchange = ke_exchanger(o);

  PacketLog log;
  if (!o.pcap_out.empty()) s.log = &log;
  const bool tty = isatty(fileno(stderr)) != 0;
  const auto started = std::chrono::steady_clock::now();
  auto run = run_cases(
      cases, s,
      [&](size_t done, size_t total) {
        if (tty) std::fprintf(stderr, "\r%zu/%zu cases%s", done, total, done == total ? "\r\x1b[K" : "");
      },
      [&](const std::string& line) { std::fprintf(stderr, "%sntp-probe: %s\n", tty ? "\r\x1b[K" : "", line.c_str()); });

  Report report;
  report.suite = o.suite;
  report.target = o.nts.empty() ? o.target : target->spec;
  if (!o.nts.empty()) {
    report.nts_args = "--nts " + shell_quote(o.nts) + (o.insecure ? " --insecure" : "") +
                      (o.ca_file.empty() ? "" : " --ca " + shell_quote(o.ca_file));
  }
  if (keys) {
    report.key_args = "--keys " + shell_quote(o.keys.file) + " --key-id " + std::to_string(o.keys.key_id);
    if (o.keys.format != "auto") report.key_args += " --key-format " + o.keys.format;
  }
  report.address = probe->peer();
  report.strict = o.strict;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.rate_limit = run.rate_limit;
  for (auto& r : run.results) {
    Entry e{std::move(r), std::nullopt};
    for (const auto& w : waivers) {
      if (glob_match(w.pattern, e.result.test->id)) e.waiver = w.reason;
    }
    report.entries.push_back(std::move(e));
  }

  if (!emit_report(report, o.out, o.verbose, "ntp-probe")) return 3;
  if (!o.pcap_out.empty()) {
    if (auto err = log.write_pcap(o.pcap_out, s.judge.pivot_unix_seconds); !err.empty()) {
      std::fprintf(stderr, "ntp-probe: %s\n", err.c_str());
      return 3;
    }
    if (log.dropped() > 0) {
      std::fprintf(stderr,
                   "ntp-probe: --pcap-out: %zu datagram(s) not recorded (the log keeps %zu datagrams, %zu MiB)\n",
                   log.dropped(), PacketLog::kMaxEntries, PacketLog::kMaxBytes >> 20);
    }
  }
  return exit_code(report);
}

}  // namespace ntpkit::probe
