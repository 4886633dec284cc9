#include "bench_command.hpp"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "escape.hpp"
#include "json_writer.hpp"
#include "load_generator.hpp"
#include "nts_session.hpp"
#include "terminal.hpp"
#include "test_report.hpp"
#include "udp_client.hpp"

namespace ntpkit::probe {
namespace {

constexpr double kLossLimit = 0.01;       // the ramp's "answered": less than 1 % lost
constexpr double kGeneratorShort = 0.97;  // below this share of the asked rate, we are the limit

// User + system CPU seconds of a process (all its threads), from /proc/PID/stat.
std::optional<double> process_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return std::nullopt;
  const auto paren = line.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(paren + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Measured {
  double asked_rate = 0;  // open loop and ramp steps
  LoadTally tally;
  std::optional<double> server_cpu;
  double client_cpu = 0;

  [[nodiscard]] double loss() const {
    return tally.sent == 0 ? 0 : static_cast<double>(tally.lost) / static_cast<double>(tally.sent);
  }
  [[nodiscard]] double per_s(uint64_t n) const {
    return tally.seconds > 0 ? static_cast<double>(n) / tally.seconds : 0;
  }
  [[nodiscard]] std::optional<double> cpu_per_reply_us() const {
    const uint64_t replies = tally.valid + tally.invalid + tally.kiss_of_death;
    if (!server_cpu || replies == 0) return std::nullopt;
    return *server_cpu / static_cast<double>(replies) * 1e6;
  }
  [[nodiscard]] bool generator_short() const {
    return asked_rate > 0 && per_s(tally.sent) < kGeneratorShort * asked_rate;
  }
  // A ramp step passes when at least 99 % of its requests got a valid reply: lost, invalid and
  // kiss-o'-death all count against it (a rate limiter's RATE replies are no service).
  [[nodiscard]] bool ok() const {
    return tally.valid > 0 && static_cast<double>(tally.sent - std::min(tally.sent, tally.valid)) <
                                  kLossLimit * static_cast<double>(tally.sent);
  }
};

class Bench {
 public:
  Bench(const BenchOptions& o, LoadGenerator& g) : o_(o), g_(g), progress_(isatty(fileno(stderr)) != 0) {}

  Measured measure(const LoadPhase& phase, std::string& error) {
    Measured m;
    m.asked_rate = phase.outstanding > 0 ? 0 : phase.rate;
    const auto cpu0 = o_.server_pid > 0 ? process_cpu_seconds(o_.server_pid) : std::nullopt;
    const double own0 = own_cpu_seconds();
    const double total = std::chrono::duration<double>(phase.duration).count();
    m.tally = g_.run(phase,
                     progress_ ? [&](const LoadTally& t, double s) { show(t, s, total, m.asked_rate); }
                               : std::function<void(const LoadTally&, double)>{},
                     error);
    if (progress_) std::fprintf(stderr, "\r\x1b[K");
    const auto cpu1 = o_.server_pid > 0 ? process_cpu_seconds(o_.server_pid) : std::nullopt;
    if (cpu0 && cpu1) m.server_cpu = *cpu1 - *cpu0;
    m.client_cpu = own_cpu_seconds() - own0;
    return m;
  }

  // Geometric steps up until a step loses 1 % or more, then bisection between the last good
  // and the first bad rate. Returns every step; `best` is the index of the highest good one.
  std::vector<Measured> ramp(std::optional<size_t>& best, std::string& error) {
    std::vector<Measured> steps;
    double rate = o_.ramp_start, good = 0, bad = 0;
    unsigned bisected = 0;
    const double budget = o_.duration > 0 ? o_.duration : 60;
    double spent = 0;
    while (spent + o_.step <= budget + 1e-9 && error.empty()) {
      const auto step = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(o_.step));
      // The budget counts each step's whole wall time, the wait for its last replies included.
      const auto timed = [&] {
        const auto t0 = std::chrono::steady_clock::now();
        steps.push_back(measure({.outstanding = 0, .rate = rate, .duration = step}, error));
        spent += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return steps.back().ok();
      };
      bool ok = timed();
      // One bad second on a shared machine must not cap the result: a failed step is tried
      // again once, and the rate is bad only when both tries lose 1 % or more.
      if (!ok && error.empty() && spent + o_.step <= budget + 1e-9) ok = timed();
      const Measured& m = steps.back();
      if (ok && (!best || rate > steps[*best].asked_rate)) best = steps.size() - 1;
      if (ok && m.generator_short()) break;  // we cannot send faster: the server is not the limit
      if (ok) {
        good = rate;
      } else {
        bad = rate;
      }
      if (bad == 0) {
        rate *= o_.ramp_factor;
      } else if (good == 0) {
        rate /= o_.ramp_factor;
        if (rate < 1) break;
      } else {
        if (bisected++ >= o_.bisections) break;
        rate = std::sqrt(good * bad);
      }
    }
    return steps;
  }

 private:
  void show(const LoadTally& t, double s, double total, double asked) const {
    const double sent_rate = s > 0 ? static_cast<double>(t.sent) / s : 0;
    const double valid_rate = s > 0 ? static_cast<double>(t.valid) / s : 0;
    std::string what = asked > 0 ? "at " + std::to_string(static_cast<uint64_t>(asked)) + "/s: " : "";
    std::fprintf(stderr, "\r\x1b[K[%5.1f/%.1f s] %ssent %.0f/s, valid %.0f/s, lost %llu, rtt p50 %.1f us", s, total,
                 what.c_str(), sent_rate, valid_rate, static_cast<unsigned long long>(t.lost),
                 static_cast<double>(t.rtt_ns.quantile(0.5)) / 1e3);
    std::fflush(stderr);
  }

  const BenchOptions& o_;
  LoadGenerator& g_;
  bool progress_;
};

double us(int64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

void write_percentiles(JsonWriter& j, const LogHistogram& h) {
  j.begin_object();
  j.key("count").value(h.count());
  j.key("min").fixed(us(h.min()), 3);
  j.key("p50").fixed(us(h.quantile(0.5)), 3);
  j.key("p99").fixed(us(h.quantile(0.99)), 3);
  j.key("p999").fixed(us(h.quantile(0.999)), 3);
  j.key("max").fixed(us(h.max()), 3);
  if (h.negative() > 0) j.key("negative").value(h.negative());
  j.end_object();
}

void write_optional(JsonWriter& j, const char* key, std::optional<double> v, int decimals) {
  j.key(key);
  if (v) {
    j.fixed(*v, decimals);
  } else {
    j.null();
  }
}

void write_step(JsonWriter& j, const Measured& m) {
  j.begin_object();
  j.key("rate").fixed(m.asked_rate, 0);
  j.key("sent").value(m.tally.sent);
  j.key("valid").value(m.tally.valid);
  j.key("lost").value(m.tally.lost);
  j.key("loss").fixed(m.loss(), 6);
  j.key("sent_per_s").fixed(m.per_s(m.tally.sent), 1);
  j.key("valid_per_s").fixed(m.per_s(m.tally.valid), 1);
  j.key("rtt_p50_us").fixed(us(m.tally.rtt_ns.quantile(0.5)), 3);
  write_optional(j, "server_cpu_per_reply_us", m.cpu_per_reply_us(), 3);
  j.end_object();
}

struct Report {
  std::string target;
  std::string mode;
  const Measured* main = nullptr;  // closed/open: the run; ramp: the step at the highest good rate
  std::vector<Measured> steps;
  std::optional<size_t> best;
  bool generator_limited = false;
  bool nts = false;
};

std::string render_json(const BenchOptions& o, const Report& r) {
  static const Measured kNone{};
  const Measured& m = r.main != nullptr ? *r.main : kNone;
  JsonWriter j;
  j.begin_object();
  j.key("target").value(r.target);
  j.key("mode").value(r.mode);
  j.key("outstanding");
  if (r.mode == "closed")
    j.value(o.outstanding);
  else
    j.null();
  j.key("rate");
  if (r.mode == "closed")
    j.null();
  else
    j.fixed(m.asked_rate, 0);
  j.key("sources").value(o.sources);
  j.key("source_addresses").value(o.source_addresses);
  j.key("duration_s").fixed(m.tally.seconds, 3);
  j.key("sent").value(m.tally.sent);
  j.key("valid").value(m.tally.valid);
  j.key("invalid").value(m.tally.invalid);
  j.key("kiss_of_death").value(m.tally.kiss_of_death);
  j.key("lost").value(m.tally.lost);
  j.key("unmatched").value(m.tally.unmatched);
  j.key("send_errors").value(m.tally.send_errors);
  j.key("sent_per_s").fixed(m.per_s(m.tally.sent), 1);
  j.key("valid_per_s").fixed(m.per_s(m.tally.valid), 1);
  j.key("loss").fixed(m.loss(), 6);
  j.key("rtt_us");
  write_percentiles(j, m.tally.rtt_ns);
  j.key("server_us");
  write_percentiles(j, m.tally.server_ns);
  write_optional(j, "server_cpu_s", m.server_cpu, 3);
  write_optional(j, "server_cpu_per_reply_us", m.cpu_per_reply_us(), 3);
  j.key("client_cpu_s").fixed(m.client_cpu, 3);
  j.key("steps").begin_array();
  for (const auto& s : r.steps) write_step(j, s);
  j.end_array();
  j.key("max_rate");
  if (r.mode == "ramp" && r.best)
    j.fixed(r.steps[*r.best].asked_rate, 0);
  else
    j.null();
  j.key("generator_limited").value(r.generator_limited);
  j.key("nts").value(r.nts);
  j.end_object();
  return j.str() + "\n";
}

// One run a test suite: the server answered validly (pass), answered but never validly (fail), or
// not at all (error); invalid replies and kiss-o'-death are noted.
TestSuite test_suite(const Report& r) {
  static const Measured kNone{};
  const Measured& m = r.main != nullptr ? *r.main : kNone;
  uint64_t valid = 0, replies = 0, invalid = 0, kod = 0;
  for (const auto& s : r.steps) {
    valid += s.tally.valid;
    invalid += s.tally.invalid;
    kod += s.tally.kiss_of_death;
    replies += s.tally.valid + s.tally.invalid + s.tally.kiss_of_death + s.tally.unmatched;
  }
  if (r.steps.empty()) {
    valid = m.tally.valid;
    invalid = m.tally.invalid;
    kod = m.tally.kiss_of_death;
    replies = valid + invalid + kod + m.tally.unmatched;
  }
  TestSuite t;
  t.name = "bench " + r.mode;
  t.hostname = r.target;
  TestCase answers;
  answers.name = "valid-replies";
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f valid replies/s", m.per_s(m.tally.valid));
  if (valid > 0) {
    answers.message = rate;
  } else {
    answers.status = replies > 0 ? TestCase::Status::Fail : TestCase::Status::Error;
    answers.type = replies > 0 ? "invalid" : "no-reply";
    answers.message = replies > 0 ? "the server answered, but no reply was valid" : "no reply during the measurement";
    answers.yaml = {{"message", yaml_quote(answers.message)}};
  }
  t.cases.push_back(std::move(answers));
  TestCase bad;
  bad.name = "invalid-replies";
  bad.message = std::to_string(invalid) + " invalid, " + std::to_string(kod) + " kiss-o'-death";
  if (invalid + kod > 0) {
    bad.status = TestCase::Status::Note;
    bad.yaml = {{"message", yaml_quote(bad.message)}};
  }
  t.cases.push_back(std::move(bad));
  return t;
}

std::string thousands(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

void print_percentiles(const char* label, const LogHistogram& h) {
  if (h.count() == 0) {
    std::printf("%-13s none\n", label);
    return;
  }
  std::printf("%-13s min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f us%s\n", label, us(h.min()),
              us(h.quantile(0.5)), us(h.quantile(0.99)), us(h.quantile(0.999)), us(h.max()),
              h.negative() > 0 ? (" (" + std::to_string(h.negative()) + " negative)").c_str() : "");
}

void print_text(const BenchOptions& o, const Report& r) {
  char ramp[96];
  std::snprintf(ramp, sizeof ramp, "ramp from %s/s, x%.2f per %.2g s step", thousands(o.ramp_start).c_str(),
                o.ramp_factor, o.step);
  const std::string how = r.mode == "closed" ? "closed loop, " + std::to_string(o.outstanding) + " outstanding"
                          : r.mode == "open" ? "open loop at " + thousands(o.rate) + "/s"
                                             : std::string(ramp);
  std::printf("target        %s (%s%s; %u sockets from %u address%s)\n", r.target.c_str(),
              r.nts ? "NTS, one cookie for all requests, " : "", how.c_str(), o.sources, o.source_addresses,
              o.source_addresses == 1 ? "" : "es");
  if (r.mode == "ramp") {
    std::printf("%12s %12s %12s %8s %10s %12s\n", "asked/s", "sent/s", "valid/s", "loss", "rtt p50", "cpu/reply");
    for (const auto& s : r.steps) {
      const auto cpu = s.cpu_per_reply_us();
      char cpu_text[32] = "-";
      if (cpu) std::snprintf(cpu_text, sizeof cpu_text, "%.2f us", *cpu);
      std::printf("%12s %12s %12s %7.2f%% %7.1f us %12s\n", thousands(s.asked_rate).c_str(),
                  thousands(s.per_s(s.tally.sent)).c_str(), thousands(s.per_s(s.tally.valid)).c_str(), 100 * s.loss(),
                  us(s.tally.rtt_ns.quantile(0.5)), cpu_text);
    }
    if (r.best) {
      std::printf("max rate      %s/s with less than 1 %% loss%s\n", thousands(r.steps[*r.best].asked_rate).c_str(),
                  r.generator_limited ? " (a lower bound: this generator could send no faster)" : "");
    } else {
      std::printf("max rate      none: every step lost 1 %% or more\n");
    }
    if (r.main == nullptr) return;
    std::printf("at that rate:\n");
  }
  const Measured& m = *r.main;
  std::printf("duration      %.2f s\n", m.tally.seconds);
  std::printf("sent          %s (%s/s)\n", thousands(static_cast<double>(m.tally.sent)).c_str(),
              thousands(m.per_s(m.tally.sent)).c_str());
  std::printf("valid         %s (%s/s), loss %.3f %%\n", thousands(static_cast<double>(m.tally.valid)).c_str(),
              thousands(m.per_s(m.tally.valid)).c_str(), 100 * m.loss());
  std::printf("other         %llu invalid, %llu kiss-o'-death, %llu unmatched, %llu send errors\n",
              static_cast<unsigned long long>(m.tally.invalid), static_cast<unsigned long long>(m.tally.kiss_of_death),
              static_cast<unsigned long long>(m.tally.unmatched), static_cast<unsigned long long>(m.tally.send_errors));
  print_percentiles("round trip", m.tally.rtt_ns);
  print_percentiles("server T3-T2", m.tally.server_ns);
  if (const auto cpu = m.cpu_per_reply_us()) {
    std::printf("server CPU    %.2f s, %.2f us per reply\n", *m.server_cpu, *cpu);
  }
  std::printf("client CPU    %.2f s\n", m.client_cpu);
}

// Checks that CLI11 cannot express; a one-line reason, or empty.
std::string check_options(const BenchOptions& o, const sockaddr_storage& target) {
  const int modes = (o.outstanding > 0 ? 1 : 0) + (o.rate > 0 ? 1 : 0) + (o.ramp ? 1 : 0);
  if (modes > 1) return "give one of --outstanding, --rate and --ramp";
  if (o.ipv4 && o.ipv6) return "give -4 or -6, not both";
  if (o.source_addresses > 1) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(target);
    if (target.ss_family != AF_INET || (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
      return "--source-addresses above 1 needs an IPv4 loopback target (127.0.0.0/8)";
    }
  }
  if (o.ramp && o.duration > 0 && o.duration < o.step) return "--duration must allow at least one --step";
  if (o.source_addresses > o.sources)
    return "--source-addresses cannot exceed --sources (one address per socket at most)";
  if (o.rate * o.timeout > static_cast<double>(kMaxInFlight) / 2) {
    return "--rate x --timeout would keep more than " + std::to_string(kMaxInFlight / 2) +
           " requests in flight; lower --timeout";
  }
  return {};
}

}  // namespace

void setup_bench(CLI::App& app, BenchOptions& o) {
  app.add_option("target", o.target, "HOST[:PORT] of the server (port 123 by default)");
  app.add_option("--nts", o.nts,
                 "HOST[:PORT] of an NTS-KE server (port 4460 by default): key establishment once, then "
                 "NTS-protected requests (one cookie for all, a Unique Identifier each) to the NTP server it names");
  app.add_option("--ca", o.ca_file, "with --nts: PEM file of the certificates that may sign the NTS-KE server's");
  app.add_flag("--insecure", o.insecure, "with --nts: accept any certificate (self-signed lab servers only)");
  app.add_option("-d,--duration", o.duration,
                 "seconds of load (default 5; for --ramp, the most the steps may take, default 60)")
      ->check(finite())
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("-k,--outstanding", o.outstanding, "closed loop: requests kept in flight (default mode, 64)")
      ->check(CLI::Range(1U, 100000U));
  app.add_option("-r,--rate", o.rate, "open loop: requests per second")
      ->check(finite())
      ->check(CLI::Range(1.0, 10'000'000.0));
  auto* ramp =
      app.add_flag("--ramp", o.ramp, "open-loop steps up to the highest rate answered with less than 1 % loss");
  app.add_option("--ramp-start", o.ramp_start, "first step's rate")
      ->check(finite())
      ->check(CLI::Range(1.0, 10'000'000.0))
      ->capture_default_str()
      ->needs(ramp);
  app.add_option("--ramp-factor", o.ramp_factor, "rate factor from one step to the next")
      ->check(finite())
      ->check(CLI::Range(1.01, 10.0))
      ->capture_default_str()
      ->needs(ramp);
  app.add_option("--step", o.step, "seconds per ramp step")
      ->check(finite())
      ->check(CLI::Range(0.1, 60.0))
      ->capture_default_str()
      ->needs(ramp);
  app.add_option("--bisections", o.bisections, "ramp: steps spent narrowing the limit once found")
      ->check(CLI::Range(0U, 20U))
      ->capture_default_str()
      ->needs(ramp);
  app.add_option("-s,--sources", o.sources, "sockets, each its own source port")
      ->check(CLI::Range(1U, 4096U))
      ->capture_default_str();
  app.add_option("--source-addresses", o.source_addresses,
                 "IPv4 loopback only: spread the sockets over 127.0.0.1..127.0.0.N")
      ->check(CLI::Range(1U, 254U))
      ->capture_default_str();
  app.add_option("-t,--timeout", o.timeout, "seconds after which a request without a reply is lost")
      ->check(finite())
      ->check(CLI::Range(0.001, 10.0))
      ->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "the server's PID on this machine: report its CPU time per reply")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--ntp-version", o.version, "version number to send (1-4)")
      ->check(CLI::Range(1U, 4U))
      ->capture_default_str();
  add_output_options(app, o.out);
  app.add_flag("-4", o.ipv4, "use IPv4 only");
  app.add_flag("-6", o.ipv6, "use IPv6 only");
}

int run_bench(const BenchOptions& options) {
  BenchOptions o = options;
  if (const std::string e = check_nts_options(o.target, o.nts, o.ca_file, o.insecure); !e.empty()) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", e.c_str());
    return 2;
  }
  if (o.target.empty() && o.nts.empty()) {
    std::fprintf(stderr, "ntp-probe bench: give HOST[:PORT] or --nts HOST[:KE-PORT]\n");
    return 2;
  }
  // NTS: key establishment once; the load goes to the NTP server it names, every request with
  // the first cookie.
  std::optional<NtsAssociation> association;
  Result<Target, std::string> target = Failure{std::string("no target")};
  if (!o.nts.empty()) {
    auto setup = establish_for("ntp-probe bench", o.nts, o.ca_file, o.insecure, o.timeout);
    if (!setup) return setup.error();
    association.emplace(std::move(setup->association));
    target = std::move(setup->target);
  } else {
    target = parse_target(o.target);
  }
  if (!target) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", target.error().c_str());
    return 2;
  }
  // Resolution only: the generator opens its own sockets.
  auto resolved = UdpClient::connect(*target, o.ipv4 ? Family::V4 : o.ipv6 ? Family::V6 : Family::Any);
  if (!resolved) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", resolved.error().c_str());
    return 3;
  }
  LoadConfig config;
  config.target = resolved->peer_sockaddr();
  config.target_len = config.target.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (const std::string e = check_output(o.out); !e.empty()) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", e.c_str());
    return 2;
  }
  if (const std::string e = check_options(o, config.target); !e.empty()) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", e.c_str());
    return 2;
  }
  if (!o.ramp && o.rate == 0 && o.outstanding == 0) o.outstanding = 64;
  if (o.server_pid > 0 && !process_cpu_seconds(o.server_pid)) {
    std::fprintf(stderr, "ntp-probe bench: --server-pid %d: no such process on this machine\n", o.server_pid);
    return 2;
  }
  config.sockets = o.sources;
  config.source_addresses = o.source_addresses;
  config.version = o.version;
  config.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(o.timeout));
  if (association) {
    const conformance::NtsMaterial m = association->material();
    if (m.cookies.empty()) {
      std::fprintf(stderr, "ntp-probe bench: NTS-KE gave no cookie; nothing to send\n");
      return 1;
    }
    config.nts = NtsLoad{m.aead, m.c2s, m.s2c, m.cookies.front()};
  }
  auto generator = LoadGenerator::open(config);
  if (!generator) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", generator.error().c_str());
    return 3;
  }
  if (std::string why; !generator->answers(std::chrono::milliseconds(200), why)) {
    if (why.empty())
      why = "no reply to 3 rounds of requests, each waited for " + std::to_string(o.timeout).substr(0, 5) + " s";
    std::fprintf(stderr, "ntp-probe bench: %s: %s; nothing to measure\n", resolved->peer().c_str(), why.c_str());
    return 3;
  }
  Bench bench(o, *generator);
  Report r;
  r.target = resolved->peer();
  r.nts = association.has_value();
  std::string error;
  std::vector<Measured> single;
  if (o.ramp) {
    r.mode = "ramp";
    r.steps = bench.ramp(r.best, error);
    if (r.best) {
      r.main = &r.steps[*r.best];
      r.generator_limited = r.main->generator_short();
    }
  } else {
    r.mode = o.outstanding > 0 ? "closed" : "open";
    const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(o.duration > 0 ? o.duration : 5));
    single.push_back(bench.measure({.outstanding = o.outstanding, .rate = o.rate, .duration = d}, error));
    r.main = &single.back();
    r.generator_limited = r.main->generator_short();
  }
  if (o.out.format == "text") print_text(o, r);
  if (!emit_reports(o.out, "ntp-probe bench", render_json(o, r), {test_suite(r)})) return 3;
  if (!error.empty()) {
    std::fprintf(stderr, "ntp-probe bench: %s\n", error.c_str());
    return 3;
  }
  uint64_t valid = 0, replies = 0;
  for (const auto* list : {&r.steps, &single}) {
    for (const auto& m : *list) {
      valid += m.tally.valid;
      replies += m.tally.valid + m.tally.invalid + m.tally.kiss_of_death + m.tally.unmatched;
    }
  }
  if (valid > 0) return 0;
  if (replies > 0) {
    std::fprintf(
        stderr,
        "ntp-probe bench: %s answered, but no reply was valid (origin matched, mode 4, not a kiss-o'-death%s)\n",
        r.target.c_str(), r.nts ? ", authenticated under the S2C key with the Unique Identifier echoed" : "");
    return 1;
  }
  std::fprintf(stderr, "ntp-probe bench: no reply from %s during the measurement\n", r.target.c_str());
  return 3;
}

}  // namespace ntpkit::probe
