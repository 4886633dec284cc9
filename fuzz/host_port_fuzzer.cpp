// HOST[:PORT] from hostile command lines (util/host_port): never a crash, and what it accepts
// is unambiguous: written back in canonical form it parses to the same host and port.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "ntpkit/util/host_port.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  if (size < 1) return 0;
  HostPortRules rules;
  rules.require_port = (data[0] & 1) != 0;
  rules.allow_port_zero = (data[0] & 2) != 0;
  rules.default_port = static_cast<uint16_t>(123 + (data[0] >> 2));
  const std::string_view spec(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto r = parse_host_port(spec, rules);
  if (!r) {
    NTPKIT_FUZZ_CHECK(!r.error().empty() && r.error().find('\n') == std::string::npos);
    return 0;
  }
  NTPKIT_FUZZ_CHECK(!r->host.empty());
  NTPKIT_FUZZ_CHECK(r->port_given || !rules.require_port);
  NTPKIT_FUZZ_CHECK(r->port != 0 || rules.allow_port_zero || !r->port_given);
  // The canonical form: an IPv6 address (a host with a colon) in brackets, the port after.
  const bool v6 = r->host.find(':') != std::string::npos;
  const std::string canonical = (v6 ? "[" + r->host + "]" : r->host) + ":" + std::to_string(r->port);
  const auto again = parse_host_port(canonical, rules);
  NTPKIT_FUZZ_CHECK(again.ok());
  NTPKIT_FUZZ_CHECK(again->host == r->host && again->port == r->port);
  return 0;
}
