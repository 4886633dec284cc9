#include "options.hpp"

#include <sys/random.h>

#include "ntpkit/crypto/key_file.hpp"

#include <cstdio>

namespace ntpkit::server {

void setup_options(CLI::App& app, Options& o) {
  app.add_option("port", o.port, "UDP port to listen on, on every address (as in 'ntp-server 1123')")
      ->check(CLI::Range(0, 65535));
  app.add_option("-l,--listen", o.listen, "ADDR:PORT to listen on, repeatable ([::1]:123 for IPv6)")
      ->allow_extra_args(false);
  app.add_option("--stratum", o.stratum, "stratum to announce (1-15, or 16 for unsynchronized)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--refid", o.refid, "reference ID: up to 4 ASCII characters, or an IPv4 address")
      ->capture_default_str();
  app.add_option("--leap", o.leap, "leap indicator 0-3, or auto: from the kernel's sync state (adjtimex, read only)")
      ->check(CLI::IsMember({"auto", "0", "1", "2", "3"}))
      ->capture_default_str();
  app.add_option("--precision", o.precision, "precision as log2 seconds, or auto (measured at start)")
      ->capture_default_str();
  app.add_option("--root-delay", o.root_delay, "root delay to announce, in seconds")->capture_default_str();
  app.add_option("--root-dispersion", o.root_dispersion, "root dispersion to announce, in seconds")
      ->capture_default_str();
  app.add_flag("--rate-limit", o.rate_limit, "limit each client's rate; excess gets a RATE kiss-o'-death");
  app.add_option("--rate-interval", o.rate_interval, "with --rate-limit: average seconds between requests")
      ->capture_default_str();
  app.add_option("--rate-burst", o.rate_burst, "with --rate-limit: requests allowed back to back")
      ->check(CLI::Range(1U, 1000U))
      ->capture_default_str();
  app.add_option("--misbehave", o.misbehave, "misbehave on purpose: NAME or NAME=VALUE, repeatable")
      ->allow_extra_args(false);
  app.add_flag("--list-misbehaviours", o.list_misbehaviours, "list the misbehaviours and exit");
  app.add_option("--format", o.format,
                 "with --list-misbehaviours: text, markdown or tsv (name, examples, cases, effect)")
      ->check(CLI::IsMember({"text", "markdown", "tsv"}))
      ->capture_default_str();
  app.add_flag("--no-interleaved", o.no_interleaved,
               "answer in basic mode only: no RFC 9769 interleaved replies (on by default, as in chrony)");
  app.add_option("--symmetric", o.symmetric, "mode 1 (symmetric active) requests: ignore, or reply with mode 2")
      ->check(CLI::IsMember({"ignore", "reply"}))
      ->capture_default_str();
  app.add_option("--unknown-key", o.unknown_key, "requests with a MAC of an unknown key: nak (crypto-NAK) or drop")
      ->check(CLI::IsMember({"nak", "drop"}))
      ->capture_default_str();
  app.add_option("--vn1-mode0", o.vn1_mode0, "NTPv1 packets with mode 0: client (answer) or ignore")
      ->check(CLI::IsMember({"client", "ignore"}))
      ->capture_default_str();
  app.add_option("--user", o.user, "drop privileges to this user after binding");
  app.add_option("--keys", o.keys,
                 "symmetric keys (ntp.keys or chrony keyfile): a request whose MAC verifies gets a reply with "
                 "a MAC of the same key");
  app.add_option("--nts-cert", o.nts_cert,
                 "NTS (RFC 8915): PEM certificate chain for the NTS-KE server; NTS-protected requests are answered")
      ->check(CLI::ExistingFile);
  app.add_option("--nts-key", o.nts_key, "NTS: the certificate's PEM private key")->check(CLI::ExistingFile);
  app.add_option("--nts-port", o.nts_port, "NTS: TCP port of the NTS-KE server (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--nts-ntp-server", o.nts_ntp_server,
                 "NTS: the NTP server to name in NTPv4 Server Negotiation (default: none, the KE server's address)");
  app.add_option("--nts-rotate", o.nts_rotate,
                 "NTS: seconds between new cookie master keys; a cookie opens for one to two periods")
      ->check(CLI::Range(1U, 31536000U))
      ->capture_default_str();
  app.add_option("--key-format", o.key_format, "the --keys file's format: auto, ntp (ntpsec/ntp.org) or chrony")
      ->check(CLI::IsMember({"auto", "ntp", "chrony"}))
      ->capture_default_str();
  app.add_flag("-v,--verbose", o.verbose, "print a line per request");
  app.add_option("--threads", o.threads, "worker threads, each with its own SO_REUSEPORT sockets")
      ->check(CLI::Range(1U, 256U))
      ->capture_default_str();
}

namespace {

std::optional<ReferenceId> parse_refid(const std::string& s) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a < 256 && b < 256 && c < 256 && d < 256) {
    return ReferenceId::from_ipv4(
        {static_cast<uint8_t>(a), static_cast<uint8_t>(b), static_cast<uint8_t>(c), static_cast<uint8_t>(d)});
  }
  if (s.empty() || s.size() > 4) return std::nullopt;
  for (char ch : s) {
    if (ch < 0x20 || ch > 0x7e) return std::nullopt;
  }
  return ReferenceId::from_ascii(s);
}

}  // namespace

std::string to_config(const Options& o, Config& c) {
  c.listen = o.listen;
  if (c.listen.empty()) {
    const int port = o.port >= 0 ? o.port : 123;
    c.listen = {"0.0.0.0:" + std::to_string(port), "[::]:" + std::to_string(port)};
    c.listen_defaulted = true;
  } else if (o.port >= 0) {
    return "give either a port or --listen, not both";
  }
  for (const auto& spec : c.listen) {
    HostPortRules rules;
    rules.require_port = true;
    rules.allow_port_zero = true;  // an ephemeral port: the start-up line says which
    auto at = parse_host_port(spec, rules);
    if (!at) return "--listen " + at.error();
    c.listen_at.push_back(*at);
  }

  // RFC 5905 §7.3: stratum 16 means unsynchronized; on the wire it is sent as 0 with a kiss
  // code, as ntpd does, so we announce INIT and the alarm.
  if (o.stratum == 16) {
    c.state.stratum = 0;
    c.state.reference_id = ReferenceId::from_kiss(KissCode::INIT);
    c.state.leap = Leap::Unsynchronized;
    c.leap_auto = false;
  } else {
    c.state.stratum = static_cast<uint8_t>(o.stratum);
    auto refid = parse_refid(o.refid);
    if (!refid) return "--refid " + o.refid + ": give up to 4 printable ASCII characters or an IPv4 address";
    c.state.reference_id = *refid;
    c.leap_auto = o.leap == "auto";
    if (!c.leap_auto) c.state.leap = static_cast<Leap>(std::stoi(o.leap));
  }

  c.precision_auto = o.precision == "auto";
  if (!c.precision_auto) {
    try {
      size_t used = 0;
      const int p = std::stoi(o.precision, &used);
      if (used != o.precision.size() || p < -32 || p > 0) throw std::out_of_range("precision");
      c.state.precision = static_cast<int8_t>(p);
    } catch (const std::exception&) {
      return "--precision " + o.precision + ": give auto or a whole number from -32 to 0";
    }
  }
  for (auto [text, field, flag] : {std::tuple{&o.root_delay, &c.state.root_delay, "--root-delay"},
                                   std::tuple{&o.root_dispersion, &c.state.root_dispersion, "--root-dispersion"}}) {
    auto d = parse_seconds(*text);
    if (!d || d->raw() < 0 || d->raw() >= (int64_t{1} << 48)) {
      return std::string(flag) + " " + *text + ": give seconds from 0 to 65535";
    }
    *field = ShortTime::from_duration(*d);
  }

  c.policy.symmetric = o.symmetric == "reply" ? SymmetricPolicy::Reply : SymmetricPolicy::Ignore;
  c.policy.interleaved = !o.no_interleaved;
  c.policy.unknown_key = o.unknown_key == "drop" ? UnknownKeyPolicy::Drop : UnknownKeyPolicy::CryptoNak;
  c.policy.version1_mode0 = o.vn1_mode0 == "ignore" ? Version1Mode0Policy::Ignore : Version1Mode0Policy::Client;

  if (!o.keys.empty()) {
    auto file = crypto::load_key_file(o.keys, o.key_format);
    if (!file) return file.error();
    if (file->store->empty()) return "--keys " + o.keys + ": no key in it";
    c.keys = file->store;
    c.digests = file->digests;
    c.policy.keys = c.keys.get();
    c.policy.digests = c.digests.get();
  }

  for (const auto& spec : o.misbehave) {
    auto r = add_misbehaviour(c.misbehaviour, spec);
    if (!r) return r.error();
  }

  if (o.nts_cert.empty() != o.nts_key.empty()) return "give --nts-cert and --nts-key together";
  if (!o.nts_cert.empty()) {
    // A random master key per run, a new one every --nts-rotate seconds (RFC 8915 §6's
    // suggestion, non-normative): cookies of an earlier run do not open.
    uint32_t id = 0;
    if (getrandom(&id, sizeof id, 0) != sizeof id) return "cannot read random bytes for the NTS master key";
    auto master = random_master_key(id);
    if (!master) return "cannot read random bytes for the NTS master key";
    auto aead = std::make_shared<crypto::AesSivCmac256>();
    c.nts_jar = std::make_shared<nts::CookieJar>(*aead, std::move(*master));
    c.nts_rotate = std::chrono::seconds(o.nts_rotate);
    c.nts_aead = aead;
    c.policy.nts = c.nts_jar.get();
    c.policy.nts_aead = c.nts_aead.get();
    c.nts_cert = o.nts_cert;
    c.nts_key = o.nts_key;
    c.nts_port = o.nts_port;
    if (!o.nts_ntp_server.empty()) c.nts_ke.ntp_server = o.nts_ntp_server;
    const Misbehaviour& mb = c.misbehaviour;
    auto& f = c.nts_ke.faults;
    f.no_end = mb.has(Fault::NtsKeNoEnd);
    f.any_aead = mb.has(Fault::NtsKeAnyAead);
    f.two_aeads = mb.has(Fault::NtsKeTwoAeads);
    f.no_cookies = mb.has(Fault::NtsKeNoCookies);
    f.foreign_cookies = mb.has(Fault::NtsKeForeignCookies);
    f.one_cookie = mb.has(Fault::NtsKeOneCookie);
    f.ignore_critical = mb.has(Fault::NtsKeIgnoreCritical);
    f.lenient = mb.has(Fault::NtsKeLenient);
    f.extra_protocol = mb.has(Fault::NtsKeExtraProtocol);
    f.wrong_port = mb.has(Fault::NtsKeWrongPort);
    auto& t = c.nts_tls;
    t.tls12 = mb.has(Fault::NtsKeTls12);
    t.no_alpn = mb.has(Fault::NtsKeNoAlpn);
    t.silent_timeout = mb.has(Fault::NtsKeSilentTimeout);
    t.first_read_only = mb.has(Fault::NtsKeFirstReadOnly);
    if (mb.has(Fault::NtsKeSmallRequests)) t.max_request = 512;
  }

  c.rate_limit = o.rate_limit;
  auto interval = parse_seconds(o.rate_interval);
  if (!interval || interval->raw() <= 0)
    return "--rate-interval " + o.rate_interval + ": give a positive number of seconds";
  c.rate.interval = *interval;
  c.rate.burst = o.rate_burst;
  c.user = o.user;
  c.verbose = o.verbose;
  c.threads = o.threads;
  return {};
}

std::string list_misbehaviours(const std::string& format) {
  std::string out;
  if (format == "markdown") out += "| name | effect |\n|---|---|\n";
  for (const auto& f : fault_catalogue()) {
    std::string name(f.name);
    if (!f.value_hint.empty()) name += "=" + std::string(f.value_hint);
    if (format == "tsv") {
      // One line a misbehaviour: name, example values ("-": none), cases that catch it beyond a
      // plain query ("-": none), effect.
      out += std::string(f.name) + "\t" + (f.examples.empty() ? "-" : std::string(f.examples)) + "\t" +
             (f.shown_by.empty() ? "-" : std::string(f.shown_by)) + "\t" + std::string(f.description) + "\n";
    } else if (format == "markdown") {
      std::string escaped;
      for (char c : name) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
      out += "| `" + escaped + "` | " + std::string(f.description) + " |\n";
    } else {
      char line[160];
      std::snprintf(line, sizeof line, "%-26s %s\n", name.c_str(), std::string(f.description).c_str());
      out += line;
    }
  }
  return out;
}

std::optional<nts::CookieJar::MasterKey> random_master_key(uint32_t id) {
  nts::CookieJar::MasterKey k;
  k.id = id;
  k.key.resize(32);
  if (getrandom(k.key.data(), k.key.size(), 0) != static_cast<ssize_t>(k.key.size())) return std::nullopt;
  return k;
}

}  // namespace ntpkit::server
