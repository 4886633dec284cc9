#include "ntpkit/util/host_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace ntpkit {

namespace {

// The spec as it may be printed on one line: what is not printable ASCII as \xNN.
std::string quote(std::string_view spec) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (unsigned char c : spec) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "'";
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return s.find('\0') == std::string::npos && inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

}  // namespace

Result<HostPort, std::string> parse_host_port(std::string_view spec, HostPortRules rules) {
  const std::string quoted = quote(spec);
  HostPort out;
  out.port = rules.default_port;
  std::string_view port;
  bool has_port = false;
  if (!spec.empty() && spec.front() == '[') {
    const auto close = spec.find(']');
    if (close == std::string_view::npos) return Failure{quoted + ": missing ']' after the IPv6 address"};
    out.host = std::string(spec.substr(1, close - 1));
    if (close + 1 < spec.size()) {
      if (spec[close + 1] != ':') return Failure{quoted + ": expected ':PORT' after ']'"};
      port = spec.substr(close + 2);
      has_port = true;
    }
    in6_addr a{};
    if (inet_pton(AF_INET6, out.host.c_str(), &a) != 1)
      return Failure{quoted + ": no IPv6 address inside the brackets"};
  } else if (const auto colon = spec.find(':');
             colon != std::string_view::npos && spec.find(':', colon + 1) == std::string_view::npos) {
    out.host = std::string(spec.substr(0, colon));
    port = spec.substr(colon + 1);
    has_port = true;
  } else {
    out.host = std::string(spec);  // a name, an IPv4 address, or a bare IPv6 address
    // "::1:123": [::1]:123, or the address ::1:123 on the default port? Refused, never guessed.
    if (const auto last = spec.rfind(':'); last != std::string_view::npos && last + 1 < spec.size() &&
                                           spec.find_first_not_of("0123456789", last + 1) == std::string_view::npos) {
      const std::string head(spec.substr(0, last));
      if (is_ipv6(head)) {
        return Failure{quoted + " is ambiguous: write [" + head + "]:" + std::string(spec.substr(last + 1)) +
                       " for a port, or [" + std::string(spec) + "] for the address"};
      }
    }
  }
  if (out.host.empty()) return Failure{quoted + ": no host"};
  // Names and addresses are printable ASCII (an international name goes to the resolver in its
  // xn-- form): anything else is no host, whatever inet_pton makes of the text before a NUL.
  for (unsigned char c : out.host) {
    if (c <= 0x20 || c >= 0x7f) return Failure{quoted + ": a host has no spaces, control or non-ASCII characters"};
  }
  // Two colons or more and no brackets: an IPv6 address or nothing (a name has none).
  if (out.host.find(':') != std::string::npos && !is_ipv6(out.host)) {
    return Failure{quoted + ": neither a host name nor an IPv4 or IPv6 address"};
  }
  if (has_port) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    const unsigned lowest = rules.allow_port_zero ? 0 : 1;
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < lowest || p > 65535) {
      return Failure{quoted + ": the port must be a number from " + std::to_string(lowest) + " to 65535"};
    }
    out.port = static_cast<uint16_t>(p);
    out.port_given = true;
  } else if (rules.require_port) {
    return Failure{quoted + ": give ADDR:PORT, e.g. 127.0.0.1:123 or [::1]:123"};
  }
  return out;
}

std::string format_sockaddr(const sockaddr_storage& ss, bool with_port) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host);
    return with_port ? std::string(host) + ":" + std::to_string(ntohs(sin.sin_port)) : host;
  }
  const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
  inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof host);
  return with_port ? "[" + std::string(host) + "]:" + std::to_string(ntohs(sin6.sin6_port)) : host;
}

}  // namespace ntpkit
