// util/host_port: HOST[:PORT] for both binaries, with both sides of every rule.
#include "ntpkit/util/host_port.hpp"

#include <gtest/gtest.h>

namespace ntpkit {
namespace {

HostPort ok(std::string_view spec, HostPortRules rules = {}) {
  auto r = parse_host_port(spec, rules);
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : HostPort{};
}

std::string error(std::string_view spec, HostPortRules rules = {}) {
  auto r = parse_host_port(spec, rules);
  EXPECT_FALSE(r.ok()) << spec;
  return r.ok() ? "" : r.error();
}

TEST(HostPort, NamesAndAddressesWithAndWithoutAPort) {
  EXPECT_EQ(ok("pool.example.org").host, "pool.example.org");
  EXPECT_EQ(ok("pool.example.org").port, 123);
  EXPECT_FALSE(ok("pool.example.org").port_given);
  const HostPort v4 = ok("127.0.0.1:1123");
  EXPECT_EQ(v4.host, "127.0.0.1");
  EXPECT_EQ(v4.port, 1123);
  EXPECT_TRUE(v4.port_given);
  const HostPort v6 = ok("[::1]:123");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 123);
  EXPECT_EQ(ok("[2001:db8::1]").host, "2001:db8::1");
  EXPECT_EQ(ok("::1").host, "::1");  // bare, no port-like tail: the address, port 123
  EXPECT_EQ(ok("fe80::a").host, "fe80::a");
}

TEST(HostPort, AnIpv6AddressWithAPortLikeTailIsRefusedNotGuessed) {
  EXPECT_EQ(error("::1:123"), "'::1:123' is ambiguous: write [::1]:123 for a port, or [::1:123] for the address");
  EXPECT_NE(error("2001:db8::1:8080").find("ambiguous"), std::string::npos);
  EXPECT_EQ(ok("[::1:123]").host, "::1:123");
}

TEST(HostPort, PortsAtTheirBounds) {
  EXPECT_EQ(ok("h:1").port, 1);
  EXPECT_EQ(ok("h:65535").port, 65535);
  EXPECT_NE(error("h:0").find("from 1 to 65535"), std::string::npos);
  EXPECT_NE(error("h:65536").find("from 1 to 65535"), std::string::npos);
  EXPECT_NE(error("h:").find("from 1 to 65535"), std::string::npos);
  EXPECT_NE(error("h:12x").find("from 1 to 65535"), std::string::npos);
  EXPECT_NE(error("h:-1").find("from 1 to 65535"), std::string::npos);
  HostPortRules listen;
  listen.require_port = true;
  listen.allow_port_zero = true;
  EXPECT_EQ(ok("127.0.0.1:0", listen).port, 0);
  EXPECT_EQ(ok("[::]:123", listen).host, "::");
  EXPECT_NE(error("127.0.0.1", listen).find("give ADDR:PORT"), std::string::npos);
}

TEST(HostPort, WhatIsNoAddressIsRefusedAndQuotedOnOneLine) {
  EXPECT_EQ(error("a:b:c"), "'a:b:c': neither a host name nor an IPv4 or IPv6 address");
  EXPECT_EQ(error("[::1\n]:1"), "'[::1\\x0a]:1': no IPv6 address inside the brackets");
  // Found by fuzz/host_port: "::" then a NUL passed inet_pton, which reads up to the NUL.
  EXPECT_EQ(error(std::string_view("::\0[x]", 6)),
            "'::\\x00[x]': a host has no spaces, control or non-ASCII characters");
  EXPECT_NE(error("bad host:123").find("no spaces"), std::string::npos);
}

TEST(HostPort, BracketsAreChecked) {
  EXPECT_NE(error("[::1").find("missing ']'"), std::string::npos);
  EXPECT_NE(error("[::1]x").find("expected ':PORT'"), std::string::npos);
  EXPECT_NE(error("[not-an-address]:123").find("no IPv6 address"), std::string::npos);
  EXPECT_NE(error("[]:123").find("no IPv6 address"), std::string::npos);
  EXPECT_NE(error(":123").find("no host"), std::string::npos);
  EXPECT_NE(error("").find("no host"), std::string::npos);
}

}  // namespace
}  // namespace ntpkit
