#include "query_command.hpp"

#include <sys/random.h>

#include <array>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "escape.hpp"
#include "json_writer.hpp"
#include "monitoring.hpp"
#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/util/clock.hpp"
#include "ntpkit/wire/serialize.hpp"
#include "nts_session.hpp"
#include "terminal.hpp"
#include "test_report.hpp"
#include "udp_client.hpp"

namespace ntpkit::probe {
namespace {

struct QueryResult {
  Header sent;
  Timestamp t1;
  std::optional<Datagram> reply;
  ReplyAssessment assessment;
  Sample sample;
  unsigned stale_ignored = 0;      // late replies to our earlier requests, skipped
  unsigned duplicates = 0;         // further copies of this reply
  const auth::Key* key = nullptr;  // the request was authenticated with it
  // NTS (RFC 8915): the request's placeholders, and what its reply proved.
  bool nts = false;
  size_t placeholders = 0;
  std::optional<nts::OpenedReply> nts_reply;
  size_t cookies_in_hand = 0;
};

std::chrono::milliseconds timeout_of(const QueryOptions& o) {
  return std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000));
}

int64_t now_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Timestamp random_timestamp() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r)
    r = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return Timestamp::from_raw(r);
}

// T1 is kept locally, never sent: the request carries a random transmit timestamp.
Header make_request(unsigned version) {
  return client_request(static_cast<uint8_t>(version), random_timestamp());
}

QueryResult query_once(UdpClient& client, const QueryOptions& o, const std::vector<Timestamp>& earlier,
                       const LoadedKeys* keys, NtsAssociation* nts, std::string& error) {
  QueryResult r;
  r.sent = make_request(o.version);
  const auto header = serialize_header(r.sent);
  std::vector<uint8_t> bytes(header.begin(), header.end());
  RequestKey request_key;
  std::optional<NtsAssociation::Request> nts_request;
  NtsRequestKey nts_key;
  if (nts != nullptr) {
    // NTS (RFC 8915 §5.7): a cookie spent, placeholders for new ones, the authenticator.
    nts_request = nts->request(r.sent);
    if (!nts_request) {
      error = "no NTS cookie left: key establishment again";
      return r;
    }
    bytes = nts_request->bytes;
    nts_key = nts->key_for(*nts_request);
    request_key.nts = &nts_key;
    r.nts = true;
    r.placeholders = nts_request->placeholders;
  }
  if (keys != nullptr) {
    // Authenticated (RFC 5905 §7.3; RFC 8573): the MAC of --key-id over the header.
    bytes.resize(kHeaderLength + 4 + auth::kMaxDigest);
    bytes.resize(auth::append_mac(bytes, kHeaderLength, *keys->key, *keys->digests));
    request_key = keys->request_key();
    r.key = keys->key;
  }
  r.t1 = SystemClock().now();
  if (error = client.send(bytes); !error.empty()) return r;
  const auto deadline = std::chrono::steady_clock::now() + timeout_of(o);
  const auto origin_of = [](const std::vector<uint8_t>& datagram) {
    return datagram.size() >= kHeaderLength
               ? parse_header(std::span<const uint8_t>(datagram).first<kHeaderLength>()).origin
               : Timestamp{};
  };
  // Never past the deadline, however fast a server keeps sending.
  const auto next = [&](std::chrono::steady_clock::time_point until) -> std::optional<Datagram> {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    return client.receive(left, error);
  };
  for (;;) {
    auto d = next(deadline);
    if (!d) return r;
    // A late or duplicated answer to one of our earlier requests is not this exchange's reply.
    if (std::find(earlier.begin(), earlier.end(), origin_of(d->bytes)) != earlier.end()) {
      ++r.stale_ignored;
      continue;
    }
    r.reply = std::move(d);
    r.assessment =
        assess_reply(r.sent, r.reply->bytes, bytes.size(), keys != nullptr || nts != nullptr ? &request_key : nullptr);
    if (r.assessment.packet) {
      const Header& h = r.assessment.packet->header;
      r.sample = compute_sample(r.t1, h.receive, h.transmit, r.reply->received);
      if (nts != nullptr) {
        r.nts_reply = nts->absorb(*nts_request, *r.assessment.packet);
        r.cookies_in_hand = nts->cookies();
      }
    }
    // A server answers once (RFC 5905 A.5.3): copies that follow at once are counted and named.
    const auto grace = std::min(
        deadline, std::chrono::steady_clock::now() + std::min(std::chrono::milliseconds(50), timeout_of(o) / 4));
    while (auto more = next(grace)) {
      if (origin_of(more->bytes) == origin_of(r.reply->bytes)) {
        ++r.duplicates;
      } else {
        ++r.stale_ignored;
      }
    }
    if (r.duplicates > 0) r.assessment.problems.push_back(ReplyProblem::Duplicated);
    return r;
  }
}

std::string refid_text(const Header& h) {
  if (h.stratum <= 1) return h.reference_id.ascii();
  return h.reference_id.ipv4() + (h.reference_id.is_printable_ascii() ? " (\"" + h.reference_id.ascii() + "\")" : "");
}

std::string format_hex32(uint32_t v) {
  std::array<char, 12> buf{};
  std::snprintf(buf.data(), buf.size(), "%08x", v);
  return buf.data();
}

void print_text(const QueryResult& r, const UdpClient& c, bool colour) {
  const int64_t pivot = now_unix_seconds();
  std::printf("server       %s\n", c.peer().c_str());
  if (!r.reply) {
    std::printf("reply        %s\n", paint("none within the timeout", Colour::Red, colour).c_str());
    return;
  }
  if (!r.assessment.packet) {
    std::printf("reply        %s: %zu bytes, %s\n", paint("unusable", Colour::Red, colour).c_str(),
                r.reply->bytes.size(), describe(*r.assessment.parse_error).c_str());
    return;
  }
  const Header& h = r.assessment.packet->header;
  std::printf("server time  %s\n", format_utc(h.transmit, pivot).c_str());
  std::printf("local time   %s\n", format_utc(r.reply->received, pivot).c_str());
  std::printf("offset       %s s\n", format_seconds(r.sample.offset).c_str());
  std::printf("delay        %s s\n", format_seconds(r.sample.delay).c_str());
  const std::string kiss = h.stratum == 0 && h.reference_id.kiss_code()
                               ? " kiss code " + std::string(to_string(*h.reference_id.kiss_code())) + ": " +
                                     std::string(describe(*h.reference_id.kiss_code()))
                               : "";
  std::printf("stratum      %u%s\n", h.stratum, kiss.c_str());
  std::printf("refid        %s\n", refid_text(h).c_str());
  std::printf("leap         %u (%s)\n", static_cast<unsigned>(h.leap), std::string(to_string(h.leap)).c_str());
  std::printf("version      %u, mode %u (%s), poll %d\n", h.version, static_cast<unsigned>(h.mode),
              std::string(to_string(h.mode)).c_str(), h.poll);
  std::printf("precision    2^%d s\n", h.precision);
  std::printf("root dist.   %s s (root delay %s s, root dispersion %s s)\n", format_seconds(root_distance(h)).c_str(),
              format_seconds(h.root_delay.to_duration()).c_str(),
              format_seconds(h.root_dispersion.to_duration()).c_str());
  std::printf("reference    %s\n",
              h.reference.is_zero() ? "none (0: never synchronized)" : format_utc(h.reference, pivot).c_str());
  if (r.key != nullptr) {
    const auto& m = r.assessment.packet->mac;
    std::string reply = "without a MAC";
    if (m && m->kind == MacKind::CryptoNak) {
      reply = "a crypto-NAK";
    } else if (m) {
      const bool verified = std::find(r.assessment.problems.begin(), r.assessment.problems.end(),
                                      ReplyProblem::AuthBadDigest) == r.assessment.problems.end() &&
                            m->key_id == r.key->id;
      reply = "MAC of key " + std::to_string(m->key_id) + (verified ? ", verified" : ", not verified");
    }
    std::printf("auth         request key %u (%s); reply %s\n", r.key->id,
                std::string(auth::to_string(r.key->type)).c_str(), reply.c_str());
  }
  if (r.nts && r.nts_reply) {
    const nts::OpenedReply& n = *r.nts_reply;
    std::string what = n.authenticated ? "authenticated under the S2C key" : "not authenticated (" + n.problem + ")";
    what += n.unique_id_echoed ? ", Unique Identifier echoed" : ", Unique Identifier not echoed";
    what += ", " + std::to_string(n.cookies.size()) + " new cookie(s) for " + std::to_string(r.placeholders) +
            " placeholder(s) (" + std::to_string(r.cookies_in_hand) + " in hand)";
    if (n.unauthenticated_after > 0)
      what += ", " + std::to_string(n.unauthenticated_after) + " unauthenticated field(s) after it";
    std::printf("nts          %s\n", what.c_str());
  }
  if (r.duplicates > 0)
    std::printf("duplicates   %u more cop%s of this reply\n", r.duplicates, r.duplicates == 1 ? "y" : "ies");
  if (r.stale_ignored > 0) std::printf("late         %u answer(s) to earlier requests, skipped\n", r.stale_ignored);
  if (r.assessment.problems.empty()) {
    std::printf("verdict      %s\n", paint("usable", Colour::Green, colour).c_str());
  }
  for (auto p : r.assessment.problems) {
    std::printf("%s  %s\n",
                paint(is_fatal(p) ? "unusable    " : "warning     ", is_fatal(p) ? Colour::Red : Colour::Yellow, colour)
                    .c_str(),
                std::string(to_string(p)).c_str());
  }
}

void write_json_reply(JsonWriter& j, const QueryResult& r) {
  const int64_t pivot = now_unix_seconds();
  j.begin_object();
  j.key("received").value(r.reply.has_value());
  if (r.reply) {
    j.key("length").value(static_cast<uint64_t>(r.reply->bytes.size()));
    j.key("kernel_timestamp").value(r.reply->kernel_timestamp);
  }
  j.key("usable").value(r.reply.has_value() && r.assessment.usable());
  j.key("duplicates").value(static_cast<uint64_t>(r.duplicates));
  j.key("late_skipped").value(static_cast<uint64_t>(r.stale_ignored));
  if (r.key != nullptr) {
    // An authenticated request: its key, and what the reply's MAC is.
    j.key("auth").begin_object();
    j.key("request_key_id").value(static_cast<uint64_t>(r.key->id));
    j.key("key_type").value(auth::to_string(r.key->type));
    const auto* mac = r.assessment.packet && r.assessment.packet->mac ? &*r.assessment.packet->mac : nullptr;
    j.key("reply_mac");
    if (mac == nullptr) {
      j.null();
    } else if (mac->kind == MacKind::CryptoNak) {
      j.value("crypto-NAK");
    } else {
      j.value(static_cast<uint64_t>(mac->key_id));
    }
    const auto& p = r.assessment.problems;
    const bool verified = mac != nullptr && mac->kind != MacKind::CryptoNak && mac->key_id == r.key->id &&
                          std::find(p.begin(), p.end(), ReplyProblem::AuthBadDigest) == p.end();
    j.key("verified").value(verified);
    j.end_object();
  }
  if (r.nts) {
    j.key("nts").begin_object();
    j.key("placeholders").value(static_cast<uint64_t>(r.placeholders));
    j.key("authenticated").value(r.nts_reply && r.nts_reply->authenticated);
    j.key("unique_id_echoed").value(r.nts_reply && r.nts_reply->unique_id_echoed);
    j.key("new_cookies").value(static_cast<uint64_t>(r.nts_reply ? r.nts_reply->cookies.size() : 0));
    j.key("unauthenticated_fields").value(static_cast<uint64_t>(r.nts_reply ? r.nts_reply->unauthenticated_after : 0));
    j.key("cookies_in_hand").value(static_cast<uint64_t>(r.cookies_in_hand));
    if (r.nts_reply && !r.nts_reply->authenticated) j.key("problem").value(r.nts_reply->problem);
    j.end_object();
  }
  j.key("problems").begin_array();
  for (auto p : r.assessment.problems) j.value(to_string(p));
  j.end_array();
  if (r.assessment.parse_error) {
    j.key("parse_error").value(describe(*r.assessment.parse_error));
  }
  if (r.assessment.packet) {
    const Header& h = r.assessment.packet->header;
    j.key("leap").value(static_cast<unsigned>(h.leap));
    j.key("version").value(static_cast<unsigned>(h.version));
    j.key("mode").value(static_cast<unsigned>(h.mode));
    j.key("stratum").value(static_cast<unsigned>(h.stratum));
    j.key("poll").value(static_cast<int>(h.poll));
    j.key("precision").value(static_cast<int>(h.precision));
    j.key("root_delay_s").seconds(h.root_delay.to_duration().to_nanoseconds());
    j.key("root_dispersion_s").seconds(h.root_dispersion.to_duration().to_nanoseconds());
    j.key("root_distance_s").seconds(root_distance(h).to_nanoseconds());
    j.key("refid").value(refid_text(h));
    j.key("refid_hex").value(format_hex32(h.reference_id.raw()));
    if (h.stratum == 0 && h.reference_id.kiss_code()) j.key("kiss_code").value(to_string(*h.reference_id.kiss_code()));
    if (h.reference.is_zero()) {
      j.key("reference_time").null();
    } else {
      j.key("reference_time").value(format_utc(h.reference, pivot));
    }
    j.key("origin_raw").value(format_raw(h.origin));
    j.key("request_transmit_raw").value(format_raw(r.sent.transmit));
    j.key("receive_time").value(format_utc(h.receive, pivot));
    j.key("transmit_time").value(format_utc(h.transmit, pivot));
    j.key("local_send_time").value(format_utc(r.t1, pivot));
    j.key("local_receive_time").value(format_utc(r.reply->received, pivot));
    j.key("offset_s").seconds(r.sample.offset.to_nanoseconds());
    j.key("delay_s").seconds(r.sample.delay.to_nanoseconds());
  }
  j.end_object();
}

// Each request a test case: usable passes (with its warnings noted), a reply with a fatal
// problem fails, silence is an error (nothing to judge).
TestSuite test_suite(const std::string& name, const std::string& address, const std::vector<QueryResult>& results) {
  TestSuite t;
  t.name = "query";
  t.hostname = name + " (" + address + ")";
  for (size_t i = 0; i < results.size(); ++i) {
    const QueryResult& r = results[i];
    TestCase c;
    c.name = "request " + std::to_string(i + 1);
    std::string problems;
    for (auto p : r.assessment.problems) problems += (problems.empty() ? "" : "; ") + std::string(to_string(p));
    if (!r.reply) {
      c.status = TestCase::Status::Error;
      c.type = "no-reply";
      c.message = "no reply within the timeout";
    } else if (!r.assessment.usable()) {
      c.status = TestCase::Status::Fail;
      c.type = "unusable";
      c.message = "unusable: " + problems;
    } else if (!problems.empty()) {
      c.status = TestCase::Status::Note;
      c.message = "usable, with warnings: " + problems;
    } else {
      c.message = "usable";
    }
    if (r.reply && r.assessment.packet) {
      c.detail = "offset " + format_seconds(r.sample.offset) + " s, delay " + format_seconds(r.sample.delay) + " s";
    }
    if (c.status != TestCase::Status::Pass) c.yaml = {{"message", yaml_quote(c.message)}};
    t.cases.push_back(std::move(c));
  }
  return t;
}

}  // namespace

namespace {

// The reply a monitor reports: the usable one of least delay (RFC 5905's clock filter keeps the
// sample of least delay), or none.
const QueryResult* best_usable(const std::vector<QueryResult>& results) {
  const QueryResult* best = nullptr;
  for (const auto& r : results) {
    if (!r.reply || !r.assessment.usable()) continue;
    if (best == nullptr || r.sample.delay < best->sample.delay) best = &r;
  }
  return best;
}

// A kiss-o'-death's code among the replies, or "".
std::string kiss_of(const std::vector<QueryResult>& results) {
  for (const auto& r : results) {
    if (!r.reply || !r.assessment.packet) continue;
    const Header& h = r.assessment.packet->header;
    if (h.stratum == 0 && h.reference_id.kiss_code()) return std::string(to_string(*h.reference_id.kiss_code()));
    if (h.stratum == 0) return refid_text(h);
  }
  return "";
}

NagiosInput nagios_input(const std::string& server, const std::vector<QueryResult>& results, const std::string& error) {
  NagiosInput in;
  in.server = server;
  in.sent = results.size();
  for (const auto& r : results) in.received += r.reply ? 1 : 0;
  in.error = error;
  if (const QueryResult* b = best_usable(results)) {
    in.offset_s = b->sample.offset.to_seconds();
    in.delay_s = b->sample.delay.to_seconds();
    in.stratum = b->assessment.packet->header.stratum;
    return in;
  }
  in.kiss = kiss_of(results);
  for (const auto& r : results) {
    if (!r.reply) continue;
    for (auto p : r.assessment.problems) {
      if (is_fatal(p)) in.unusable += (in.unusable.empty() ? "" : "; ") + std::string(to_string(p));
    }
    break;  // the first reply's reasons
  }
  return in;
}

// The query as gauges, labelled with the server as named and the address asked.
std::string prometheus_text(const std::string& server, const std::string& address,
                            const std::vector<QueryResult>& results) {
  PrometheusText p;
  const PrometheusText::Labels l = {{"server", server}, {"address", address}};
  size_t received = 0, usable = 0;
  for (const auto& r : results) {
    received += r.reply ? 1 : 0;
    usable += r.reply && r.assessment.usable() ? 1 : 0;
  }
  p.gauge("ntp_probe_up", "1 when a usable reply came, else 0.", l, usable > 0 ? 1 : 0);
  p.gauge("ntp_probe_requests", "Requests sent.", l, static_cast<double>(results.size()));
  p.gauge("ntp_probe_replies", "Replies received to them.", l, static_cast<double>(received));
  p.gauge("ntp_probe_usable_replies", "Replies usable for time (RFC 5905 section 8's checks).", l,
          static_cast<double>(usable));
  if (const QueryResult* b = best_usable(results)) {
    const Header& h = b->assessment.packet->header;
    p.gauge("ntp_probe_offset_seconds",
            "Offset of the server's clock from ours (server minus local), of the usable "
            "reply of least delay.",
            l, b->sample.offset.to_seconds());
    p.gauge("ntp_probe_delay_seconds", "Round-trip delay of that reply.", l, b->sample.delay.to_seconds());
    p.gauge("ntp_probe_stratum", "The server's stratum.", l, h.stratum);
    p.gauge("ntp_probe_leap", "The leap indicator (0 none, 1 insert, 2 delete, 3 unsynchronized).", l,
            static_cast<double>(static_cast<unsigned>(h.leap)));
    p.gauge("ntp_probe_root_distance_seconds", "Root delay / 2 + root dispersion, as the server reports them.", l,
            root_distance(h).to_seconds());
  }
  if (const std::string kiss = kiss_of(results); !kiss.empty()) {
    PrometheusText::Labels k = l;
    k.emplace_back("code", kiss);
    p.gauge("ntp_probe_kiss", "1 when a kiss-o'-death came, its code as a label.", k, 1);
  }
  return p.str();
}

}  // namespace

bool wants_nagios(int argc, char** argv) {
  bool query = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a == "--") break;
    if (a == "query") query = true;
    if (query && a == "--nagios") return true;
  }
  return false;
}

void setup_query(CLI::App& app, QueryOptions& o, bool nagios) {
  app.add_option("target", o.target, "HOST[:PORT] of the server (port 123 by default; [::1]:123 for IPv6)");
  app.add_option("--nts", o.nts,
                 "HOST[:PORT] of an NTS-KE server (port 4460 by default): key establishment over TLS 1.3, then "
                 "NTS-protected requests to the NTP server it names (RFC 8915)");
  app.add_option(
      "--ca", o.ca_file,
      "with --nts: PEM file of the certificates that may sign the NTS-KE server's (default: the system's trust store)");
  app.add_flag("--insecure", o.insecure, "with --nts: accept any certificate (self-signed lab servers only)");
  app.add_option(nagios ? "--count" : "-c,--count", o.count, "number of requests")
      ->check(CLI::Range(1U, 1000U))
      ->capture_default_str();
  app.add_flag("--nagios", o.nagios,
               "a monitoring-plugins check, as check_ntp_time: one status line with perfdata, exit 0 OK, 1 WARNING, "
               "2 CRITICAL (offset past -c, no reply, a kiss-o'-death, no usable reply), 3 UNKNOWN; -c is then "
               "--critical");
  app.add_option("-w,--warning", o.warning, "with --nagios: WARNING when the absolute offset passes SECONDS")
      ->check(finite())
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option(nagios ? "-c,--critical" : "--critical", o.critical,
                 "with --nagios: CRITICAL when the absolute offset passes SECONDS")
      ->check(finite())
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("-i,--interval", o.interval, "seconds between requests")
      ->check(finite())
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("-t,--timeout", o.timeout, "seconds to wait for each reply")
      ->check(finite())
      ->check(CLI::Range(0.01, 60.0))
      ->capture_default_str();
  app.add_option("--ntp-version", o.version, "version number to send (1-4)")
      ->check(CLI::Range(1U, 4U))
      ->capture_default_str();
  add_output_options(app, o.out, {"prometheus"});
  add_key_options(app, o.keys);
  app.add_flag("-4", o.ipv4, "use IPv4 only");
  app.add_flag("-6", o.ipv6, "use IPv6 only");
  app.add_option("--source-address", o.source_address, "send from this address of ours (no port)");
}

// The KE facts, once before the replies.
void print_nts_text(const NtsEstablished& e, bool insecure) {
  std::printf("nts-ke       %s, %s (%s), ALPN %s, certificate %s\n", e.tls.peer.c_str(), e.tls.version.c_str(),
              e.tls.cipher.c_str(), e.tls.alpn.c_str(),
              insecure                     ? "not checked (--insecure)"
              : e.tls.certificate_verified ? "verified"
                                           : "not verified");
  std::printf("nts-ke       %s, %zu cookie(s) of %zu octets, NTP server %s port %u%s\n",
              nts::describe_aead(e.aead).c_str(), e.message.cookies.size(), e.cookie_length, e.ntp_host.c_str(),
              e.ntp_port, e.server_named ? " (negotiated)" : " (the KE server's host, port 123)");
  for (const auto& s : e.message.shapes) std::printf("nts-ke       note: %s\n", s.what.c_str());
}

void write_nts_json(JsonWriter& j, const NtsEstablished& e) {
  j.key("nts").begin_object();
  j.key("ke_server").value(e.tls.peer);
  j.key("tls_version").value(e.tls.version);
  j.key("tls_cipher").value(e.tls.cipher);
  j.key("alpn").value(e.tls.alpn);
  j.key("certificate_verified").value(e.tls.certificate_verified);
  j.key("aead").value(static_cast<uint64_t>(e.aead));
  j.key("cookies").value(static_cast<uint64_t>(e.message.cookies.size()));
  j.key("cookie_length").value(static_cast<uint64_t>(e.cookie_length));
  j.key("ntp_server").value(e.ntp_host);
  j.key("ntp_port").value(static_cast<uint64_t>(e.ntp_port));
  j.key("negotiated").value(e.server_named);
  j.key("notes").begin_array();
  for (const auto& s : e.message.shapes) j.value(s.what);
  j.end_array();
  j.end_object();
}

int run_query(const QueryOptions& o) {
  // A usage problem: one line and exit 2; for --nagios the plugins' UNKNOWN line and exit 3.
  const auto usage = [&](const std::string& why) {
    if (o.nagios) {
      std::printf("%s\n", nagios_unknown(why).c_str());
      return 3;
    }
    std::fprintf(stderr, "ntp-probe query: %s\n", why.c_str());
    return 2;
  };
  if (o.nagios && o.out.format != "text") {
    return usage("--nagios writes the plugin's status line: it takes no --format (--json FILE still writes)");
  }
  if (o.nagios && o.warning > o.critical) {
    return usage("-w (warning) is past -c (critical): WARNING must come first");
  }
  if (o.nts.empty() == o.target.empty()) {
    return usage(o.nts.empty() ? "give the server: HOST[:PORT], or --nts HOST[:KE-PORT]"
                               : "give HOST[:PORT] or --nts HOST[:KE-PORT], not both (NTS-KE names the NTP server)");
  }
  if (!o.nts.empty() && !o.keys.file.empty()) {
    return usage("--nts and --keys are two ways to authenticate: give one");
  }
  if (auto e = check_nts_options(o.target, o.nts, o.ca_file, o.insecure); !e.empty()) {
    return usage(e);
  }
  auto target = parse_target(o.nts.empty() ? o.target : "127.0.0.1");  // --nts: the KE server names it, below
  if (!target) {
    return usage(target.error());
  }
  if (o.ipv4 && o.ipv6) {
    return usage("give -4 or -6, not both");
  }
  if (auto e = check_output(o.out); !e.empty()) {
    return usage(e);
  }
  auto loaded = load_keys(o.keys);
  if (!loaded) {
    return usage(loaded.error());
  }
  const std::optional<LoadedKeys>& keys = *loaded;
  std::optional<sockaddr_storage> source;
  if (!o.source_address.empty()) {
    auto parsed = parse_source_addresses(o.source_address);
    if (!parsed || parsed->size() != 1) {
      return usage(parsed ? "--source-address takes one address, not a range" : parsed.error());
    }
    source = parsed->front();
  }
  // NTS: key establishment first; the NTP server is the one it names.
  std::optional<NtsAssociation> association;
  if (!o.nts.empty()) {
    auto setup = establish_for("ntp-probe query", o.nts, o.ca_file, o.insecure, o.timeout);
    if (!setup && o.nagios) {
      std::printf("NTP CRITICAL: NTS key establishment with %s failed (the reason is on stderr)\n", o.nts.c_str());
      return static_cast<int>(NagiosState::Critical);
    }
    if (!setup) return setup.error();
    association.emplace(std::move(setup->association));
    target = std::move(setup->target);
  }
  auto client = UdpClient::connect(*target,
                                   o.ipv4   ? Family::V4
                                   : o.ipv6 ? Family::V6
                                            : Family::Any,
                                   true, source ? &*source : nullptr);
  if (!client) {
    if (o.nagios) {
      std::printf("%s\n", nagios_unknown(client.error()).c_str());
    } else {
      std::fprintf(stderr, "ntp-probe query: %s\n", client.error().c_str());
    }
    return 3;
  }
  const bool colour = colour_on(o.out, stdout);
  const bool text = o.out.format == "text" && !o.nagios;
  if (text && association) {
    print_nts_text(association->established(), o.insecure);
    std::printf("\n");
  }
  std::vector<QueryResult> results;
  std::vector<Timestamp> sent;
  std::string network_error;
  for (unsigned i = 0; i < o.count; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(o.interval * 1000)));
    std::string error;
    QueryResult r = query_once(*client, o, sent, keys ? &*keys : nullptr, association ? &*association : nullptr, error);
    sent.push_back(r.sent.transmit);
    if (!error.empty()) network_error = error;
    if (text) {
      if (i > 0) std::printf("\n");
      print_text(r, *client, colour);
      if (!error.empty()) std::printf("error        %s\n", error.c_str());
    }
    results.push_back(std::move(r));
  }
  size_t received = 0, usable = 0;
  for (const auto& r : results) {
    received += r.reply ? 1 : 0;
    usable += r.reply && r.assessment.usable() ? 1 : 0;
  }
  JsonWriter j;
  j.begin_object();
  j.key("server").value(o.nts.empty() ? o.target : target->spec);
  if (association) write_nts_json(j, association->established());
  j.key("address").value(client->peer());
  j.key("sent").value(static_cast<uint64_t>(results.size()));
  j.key("received").value(static_cast<uint64_t>(received));
  j.key("usable").value(static_cast<uint64_t>(usable));
  if (!network_error.empty()) j.key("error").value(network_error);
  j.key("replies").begin_array();
  for (const auto& r : results) write_json_reply(j, r);
  j.end_array();
  j.end_object();
  if (text && o.count > 1) std::printf("\n%zu sent, %zu received, %zu usable\n", results.size(), received, usable);
  const std::string server = o.nts.empty() ? o.target : target->spec;
  if (o.out.format == "prometheus") std::fputs(prometheus_text(server, client->peer(), results).c_str(), stdout);
  if (!emit_reports(o.out, "ntp-probe query", j.str(), {test_suite(server, client->peer(), results)})) {
    if (o.nagios) std::printf("%s\n", nagios_unknown("cannot write a report file").c_str());
    return 3;
  }
  if (o.nagios) {
    const NagiosResult n = nagios_check(nagios_input(server, results, network_error), o.warning, o.critical);
    std::printf("%s\n", n.line.c_str());
    return static_cast<int>(n.state);
  }
  if (usable > 0) return 0;
  if (received > 0) return 1;
  if (text)
    std::fprintf(stderr, "ntp-probe query: no reply from %s within %.3g s\n", client->peer().c_str(), o.timeout);
  return 3;
}

}  // namespace ntpkit::probe
