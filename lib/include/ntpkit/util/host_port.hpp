// HOST[:PORT] as both binaries take it (ntp-probe's targets, ntp-server's --listen): one parser,
// one set of rules. An IPv6 address takes brackets when a port follows ("[::1]:123"); a bare
// IPv6 address whose last group could be a port ("::1:123") is refused, never guessed.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ntpkit/util/result.hpp"

namespace ntpkit {

struct HostPort {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  uint16_t port = 0;
  bool port_given = false;
};

struct HostPortRules {
  uint16_t default_port = 123;
  bool require_port = false;     // --listen: ADDR:PORT
  bool allow_port_zero = false;  // --listen: 0 is an ephemeral port
};

// The error is one sentence quoting `spec`.
[[nodiscard]] Result<HostPort, std::string> parse_host_port(std::string_view spec, HostPortRules rules = {});

// The other way: "192.0.2.1:123", "[2001:db8::1]:123" (or without the port), as both binaries
// print a socket address.
[[nodiscard]] std::string format_sockaddr(const sockaddr_storage& ss, bool with_port);

}  // namespace ntpkit
