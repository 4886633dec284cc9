#include "nts_session.hpp"

#include <cstdio>

#include <sys/random.h>

#include "udp_client.hpp"

namespace ntpkit::probe {
namespace {

constexpr size_t kCookiesWanted = 8;  // RFC 8915 §4.1.6: what a server sends, what a client keeps

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return out;
}

std::string list_text(const std::vector<uint16_t>& v) {
  std::string out;
  for (uint16_t x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
  return "[" + out + "]";
}

}  // namespace

std::string check_nts_options(const std::string& target, const std::string& nts, const std::string& ca_file,
                              bool insecure) {
  if (!target.empty() && !nts.empty()) {
    return "give HOST[:PORT] or --nts HOST[:KE-PORT], not both (NTS-KE names the NTP server)";
  }
  if (nts.empty() && (!ca_file.empty() || insecure)) return "--ca and --insecure go with --nts";
  if (!nts.empty()) {
    if (auto ke = parse_target(nts, nts::kDefaultKePort); !ke) return "--nts: " + ke.error();
  }
  return "";
}

Result<crypto::KeClientOptions, std::string> ke_client_options(const NtsOptions& o) {
  auto target = parse_target(o.ke, nts::kDefaultKePort);
  if (!target) return Failure{target.error()};
  crypto::KeClientOptions k;
  k.host = target->host;
  k.port = target->port;
  k.ca_file = o.ca_file;
  k.insecure = o.insecure;
  k.timeout = o.timeout;
  return k;
}

Result<Target, std::string> NtsAssociation::ntp_target() const {
  const std::string& host = e_.ntp_host;
  return parse_target((host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                      std::to_string(e_.ntp_port));
}

Result<NtsAssociation, NtsFailure> NtsAssociation::establish(const NtsOptions& o) {
  auto k = ke_client_options(o);
  if (!k) return Failure{NtsFailure{k.error(), false}};
  const std::string ke_host = k->host;
  auto session = crypto::KeSession::connect(*k);
  if (!session) return Failure{NtsFailure{"NTS-KE: " + session.error(), false}};
  NtsAssociation a;
  a.e_.tls = session->facts();
  // From here on the server answered: what it said is the finding.
  const auto said = [](std::string m) { return Failure{NtsFailure{std::move(m), true}}; };
  if (a.e_.tls.alpn != nts::kAlpn) {
    return said("NTS-KE: " + a.e_.tls.peer + " did not select ALPN " + std::string(nts::kAlpn) +
                (a.e_.tls.alpn.empty() ? " (none)" : " (it selected \"" + a.e_.tls.alpn + "\")"));
  }
  if (auto e = session->send(nts::client_request()); !e.empty()) return said("NTS-KE: " + e);
  const crypto::KeResponse r = session->receive();
  // Why reading stopped before an End of Message: the deadline, our limit, or the server.
  const std::string unfinished = "NTS-KE response: no End of Message in " + std::to_string(r.bytes.size()) +
                                 " octets (" +
                                 (r.timed_out   ? "nothing more within the timeout"
                                  : r.truncated ? "too long: the probe reads no more"
                                                : "the server closed the connection") +
                                 (r.error.empty() ? "" : ": " + r.error) + ")";
  a.e_.response = r.bytes;
  // The message's records point into e_.response, which moves with the association (its buffer
  // does not).
  auto decoded = nts::decode(a.e_.response);
  if (!decoded) {
    // A record cut short by the deadline, our limit or a close: that first, then the framing.
    const std::string framing = nts::describe(decoded.error(), r.bytes);
    return said(r.end_of_message ? "NTS-KE response: " + framing : unfinished + "; " + framing);
  }
  a.e_.message = std::move(*decoded);
  const nts::Message& m = a.e_.message;
  if (!m.errors.empty()) {
    return said("NTS-KE: the server answered with Error " + nts::describe_error_code(m.errors.front()));
  }
  if (!m.end_of_message) return said(unfinished);
  if (m.next_protocol_records != 1 || m.next_protocols != std::vector<uint16_t>{nts::kProtocolNtpv4}) {
    return said("NTS-KE: the server did not agree to NTPv4 alone (Next Protocol records: " +
                std::to_string(m.next_protocol_records) + ", protocols " + list_text(m.next_protocols) + ")");
  }
  if (m.aead_algorithms.size() != 1 || m.aead_algorithms.front() != nts::kAeadAesSivCmac256) {
    return said("NTS-KE: the server did not choose the AEAD algorithm we offered, " +
                nts::describe_aead(nts::kAeadAesSivCmac256) + " (it sent " + list_text(m.aead_algorithms) + ")");
  }
  if (m.cookies.empty()) return said("NTS-KE: the server sent no cookie");
  a.e_.aead = m.aead_algorithms.front();
  a.e_.cookie_length = m.cookies.front().size();
  for (const auto& c : m.cookies) a.cookies_.emplace_back(c.begin(), c.end());
  a.e_.server_named = m.server.has_value() || m.port.has_value();
  a.e_.ntp_host = m.server ? *m.server : ke_host;
  a.e_.ntp_port = m.port.value_or(123);
  const auto c2s = nts::exporter_context(nts::kProtocolNtpv4, a.e_.aead, false);
  const auto s2c = nts::exporter_context(nts::kProtocolNtpv4, a.e_.aead, true);
  a.c2s_ = session->export_key(nts::kExporterLabel, c2s, a.aead_.key_length());
  a.s2c_ = session->export_key(nts::kExporterLabel, s2c, a.aead_.key_length());
  session->close();
  if (a.c2s_.empty() || a.s2c_.empty()) return said("NTS-KE: the TLS exporter gave no keys");
  return a;
}

std::optional<NtsAssociation::Request> NtsAssociation::request(const Header& header) {
  if (cookies_.empty()) return std::nullopt;
  Request r;
  r.unique_id = random_bytes(nts::kUniqueIdentifierLength);
  const std::vector<uint8_t> cookie = std::move(cookies_.front());
  cookies_.pop_front();
  // Ask for as many as keep eight in hand once this reply's one comes (RFC 8915 §5.7).
  r.placeholders = cookies_.size() + 1 >= kCookiesWanted ? 0 : kCookiesWanted - cookies_.size() - 1;
  const auto nonce = random_bytes(nts::kNonceLength);
  nts::RequestParts p;
  p.header = header;
  p.unique_id = r.unique_id;
  p.cookie = cookie;
  p.placeholders = r.placeholders;
  p.nonce = nonce;
  auto bytes = nts::build_request(p, aead_, c2s_);
  if (!bytes) return std::nullopt;
  r.bytes = std::move(*bytes);
  return r;
}

nts::OpenedReply NtsAssociation::absorb(const Request& r, const PacketView& reply) {
  nts::OpenedReply o = nts::open_reply(reply, r.unique_id, aead_, s2c_);
  if (o.authenticated && o.unique_id_echoed) {
    for (auto& c : o.cookies) {
      if (cookies_.size() < 2 * kCookiesWanted) cookies_.push_back(c);  // bounded, whatever a server sends
    }
  }
  return o;
}

Result<NtsSetup, int> establish_for(const char* program, const std::string& ke, const std::string& ca_file,
                                    bool insecure, double timeout_s) {
  NtsOptions n;
  n.ke = ke;
  n.ca_file = ca_file;
  n.insecure = insecure;
  n.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::max(timeout_s, 1.0) * 1000));
  auto a = NtsAssociation::establish(n);
  if (!a) {
    std::fprintf(stderr, "%s: %s\n", program, a.error().message.c_str());
    return Failure{a.error().answered ? 1 : 3};
  }
  auto named = a->ntp_target();
  if (!named) {
    std::fprintf(stderr, "%s: NTS-KE named an NTP server we cannot use: %s\n", program, named.error().c_str());
    return Failure{1};
  }
  return NtsSetup{std::move(*a), std::move(*named)};
}

}  // namespace ntpkit::probe
