#include "udp_client.hpp"

#include "ntpkit/util/host_port.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "ntpkit/util/clock.hpp"

namespace ntpkit::probe {
namespace {

std::string format_address(const sockaddr* sa, bool with_port) {
  sockaddr_storage ss{};
  std::memcpy(&ss, sa, sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  return ntpkit::format_sockaddr(ss, with_port);
}

}  // namespace

std::string format_sockaddr(const sockaddr_storage& ss, bool with_port) {
  return ntpkit::format_sockaddr(ss, with_port);
}

Result<std::vector<sockaddr_storage>, std::string> parse_source_addresses(const std::string& spec) {
  const auto one = [](const std::string& text, sockaddr_storage& out) {
    out = {};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      return true;
    }
    const std::string bare =
        text.size() > 2 && text.front() == '[' && text.back() == ']' ? text.substr(1, text.size() - 2) : text;
    if (inet_pton(AF_INET6, bare.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      return true;
    }
    return false;
  };
  std::vector<sockaddr_storage> out;
  const auto dash = spec.find('-');
  sockaddr_storage first{}, last{};
  if (dash == std::string::npos) {
    if (!one(spec, first))
      return Failure{"--source-address '" + spec + "': not an IPv4 or IPv6 address (no names, no port)"};
    out.push_back(first);
    return out;
  }
  if (!one(spec.substr(0, dash), first) || !one(spec.substr(dash + 1), last) || first.ss_family != AF_INET ||
      last.ss_family != AF_INET) {
    return Failure{"--source-address '" + spec + "': a range is two IPv4 addresses, e.g. 127.0.1.1-127.0.1.66"};
  }
  const uint32_t a = ntohl(reinterpret_cast<const sockaddr_in&>(first).sin_addr.s_addr);
  const uint32_t b = ntohl(reinterpret_cast<const sockaddr_in&>(last).sin_addr.s_addr);
  if (b < a) return Failure{"--source-address '" + spec + "': the range ends before it starts"};
  if (b - a >= 65536) return Failure{"--source-address '" + spec + "': more than 65,536 addresses"};
  for (uint64_t x = a; x <= b; ++x) {
    sockaddr_storage ss{};
    auto& sin = reinterpret_cast<sockaddr_in&>(ss);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(static_cast<uint32_t>(x));
    out.push_back(ss);
  }
  return out;
}

Result<Target, std::string> parse_target(const std::string& spec, uint16_t default_port) {
  HostPortRules rules;
  rules.default_port = default_port;
  auto parsed = parse_host_port(spec, rules);
  if (!parsed) return Failure{parsed.error()};
  Target t;
  t.spec = spec;
  t.host = parsed->host;
  t.port = parsed->port;
  return t;
}

UdpClient::UdpClient(UdpClient&& o) noexcept
    : fd_(o.fd_),
      peer_(std::move(o.peer_)),
      address_(std::move(o.address_)),
      peer_sa_(o.peer_sa_),
      peer_len_(o.peer_len_),
      connected_(o.connected_),
      buffer_(std::move(o.buffer_)) {
  o.fd_ = -1;
}

UdpClient::~UdpClient() {
  if (fd_ >= 0) close(fd_);
}

Result<UdpClient, std::string> UdpClient::connect(const Target& t, Family f, bool filter,
                                                  const sockaddr_storage* source) {
  addrinfo hints{};
  hints.ai_family = f == Family::V4 ? AF_INET : f == Family::V6 ? AF_INET6 : AF_UNSPEC;
  if (source != nullptr) hints.ai_family = source->ss_family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(t.port);
  if (const int rc = getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Failure{"cannot resolve " + t.host + ": " + gai_strerror(rc)};
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last_error = "no address for " + t.host;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = "cannot open a socket: " + std::string(std::strerror(errno));
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    // connect(): the kernel then delivers only datagrams from the server's address and port.
    // Unfiltered, we bind an ephemeral port now so that local_sockaddr() is known at once.
    sockaddr_storage any{};
    any.ss_family = static_cast<sa_family_t>(ai->ai_family);
    const socklen_t local_len = ai->ai_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (source != nullptr && ::bind(fd, reinterpret_cast<const sockaddr*>(source), local_len) != 0) {
      last_error = "cannot bind the source address " + format_sockaddr(*source, false) + ": " + std::strerror(errno);
      close(fd);
      continue;
    }
    // Unfiltered and with no --source-address, the socket is bound to the address the kernel
    // would send from to this server (a connected scratch socket tells it, sending nothing), so
    // that the socket's address, and --pcap-out's record of it, is the real one, not 0.0.0.0.
    if (!filter && source == nullptr) {
      const int scratch = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_storage route{};
      socklen_t route_len = sizeof route;
      if (scratch >= 0 && ::connect(scratch, ai->ai_addr, ai->ai_addrlen) == 0 &&
          getsockname(scratch, reinterpret_cast<sockaddr*>(&route), &route_len) == 0 &&
          route.ss_family == ai->ai_family) {
        any = route;
        if (any.ss_family == AF_INET) {
          reinterpret_cast<sockaddr_in*>(&any)->sin_port = 0;
        } else {
          reinterpret_cast<sockaddr_in6*>(&any)->sin6_port = 0;
        }
      }
      if (scratch >= 0) close(scratch);
    }
    const int rc = filter              ? ::connect(fd, ai->ai_addr, ai->ai_addrlen)
                   : source != nullptr ? 0
                                       : ::bind(fd, reinterpret_cast<sockaddr*>(&any), local_len);
    if (rc != 0) {
      last_error = "cannot reach " + format_address(ai->ai_addr, true) + ": " + std::strerror(errno);
      close(fd);
      continue;
    }
    UdpClient c;
    c.fd_ = fd;
    c.peer_ = format_address(ai->ai_addr, true);
    c.address_ = format_address(ai->ai_addr, false);
    std::memcpy(&c.peer_sa_, ai->ai_addr, ai->ai_addrlen);
    c.peer_len_ = static_cast<socklen_t>(ai->ai_addrlen);
    c.connected_ = filter;
    return c;
  }
  return Failure{last_error};
}

std::string UdpClient::local() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return format_address(reinterpret_cast<const sockaddr*>(&ss), true);
}

sockaddr_storage UdpClient::local_sockaddr() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  return ss;
}

std::string UdpClient::send(std::span<const uint8_t> bytes) {
  const ssize_t n = connected_ ? ::send(fd_, bytes.data(), bytes.size(), 0)
                               : ::sendto(fd_, bytes.data(), bytes.size(), 0,
                                          reinterpret_cast<const sockaddr*>(&peer_sa_), peer_len_);
  if (n < 0) return "cannot send to " + peer_ + ": " + std::strerror(errno);
  return {};
}

std::optional<Datagram> UdpClient::receive(std::chrono::milliseconds timeout, std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      error = "poll failed: " + std::string(std::strerror(errno));
      return std::nullopt;
    }
    if (r == 0) return std::nullopt;
    if (buffer_.empty()) buffer_.resize(65536);
    Datagram d;
    iovec iov{buffer_.data(), buffer_.size()};
    std::array<char, 256> control{};
    sockaddr_storage from{};
    msghdr m{};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    const ssize_t n = recvmsg(fd_, &m, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      // ECONNREFUSED: an ICMP port unreachable came back for an earlier datagram.
      error = std::string(errno == ECONNREFUSED ? "the server's port is closed (ICMP port unreachable)"
                                                : std::strerror(errno));
      return std::nullopt;
    }
    d.bytes.assign(buffer_.begin(), buffer_.begin() + n);
    if (connected_) {
      d.source = peer_;
    } else {
      d.source = format_address(reinterpret_cast<const sockaddr*>(&from), true);
      d.from_peer = d.source == peer_;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        d.received = Timestamp::from_timespec(ts);
        d.kernel_timestamp = true;
      }
    }
    if (!d.kernel_timestamp) d.received = SystemClock().now();
    return d;
  }
}

}  // namespace ntpkit::probe
