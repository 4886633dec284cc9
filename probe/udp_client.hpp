// A connected UDP socket to one NTP server, with kernel receive timestamps.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ntpkit/util/result.hpp"
#include "ntpkit/wire/time.hpp"

namespace ntpkit::probe {

struct Target {
  std::string host;
  uint16_t port = 123;
  std::string spec;  // as the user wrote it
};
// "host", "host:port", "1.2.3.4:123", "[::1]:123", "::1" (a bare IPv6 address takes port 123).
[[nodiscard]] Result<Target, std::string> parse_target(const std::string& spec, uint16_t default_port = 123);

enum class Family { Any, V4, V6 };

struct Datagram {
  std::vector<uint8_t> bytes;
  Timestamp received;  // kernel timestamp when available
  bool kernel_timestamp = false;
  std::string source;     // "127.0.0.1:123"
  bool from_peer = true;  // the source is the address and port we sent to
};

// What a case sends from and hears on (transport.hpp): a UDP socket, or respond() in-process.
class Channel {
 public:
  virtual ~Channel() = default;
  // An error sentence, or empty. A datagram that cannot be sent shows as silence to the runner.
  [[nodiscard]] virtual std::string send(std::span<const uint8_t> bytes) = 0;
  // Waits up to `timeout` for one datagram: nullopt on timeout; an error sentence in `error`
  // (ICMP port unreachable and the like).
  [[nodiscard]] virtual std::optional<Datagram> receive(std::chrono::milliseconds timeout, std::string& error) = 0;
  [[nodiscard]] virtual sockaddr_storage local_sockaddr() const = 0;
  [[nodiscard]] virtual const sockaddr_storage& peer_sockaddr() const = 0;
};

class UdpClient final : public Channel {
 public:
  UdpClient() = default;
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;
  UdpClient(UdpClient&& o) noexcept;
  ~UdpClient();

  // Resolves and connects; the error is one sentence. With `filter` false the socket stays
  // unconnected, so datagrams from any source arrive and say where they came from.
  // `source` (an address, port 0) binds the socket to one of our addresses (--source-address).
  [[nodiscard]] static Result<UdpClient, std::string> connect(const Target& t, Family f, bool filter = true,
                                                              const sockaddr_storage* source = nullptr);
  [[nodiscard]] std::string peer() const { return peer_; }        // "127.0.0.1:123"
  [[nodiscard]] std::string address() const { return address_; }  // "127.0.0.1"
  [[nodiscard]] std::string local() const;                        // our address:port
  [[nodiscard]] sockaddr_storage local_sockaddr() const override;
  [[nodiscard]] const sockaddr_storage& peer_sockaddr() const override { return peer_sa_; }
  // Sends one datagram; returns an error sentence or empty.
  [[nodiscard]] std::string send(std::span<const uint8_t> bytes) override;
  // Waits up to `timeout` for one datagram. nullopt on timeout; an error sentence in `error`.
  [[nodiscard]] std::optional<Datagram> receive(std::chrono::milliseconds timeout, std::string& error) override;

 private:
  int fd_ = -1;
  std::string peer_;
  std::string address_;
  sockaddr_storage peer_sa_{};
  socklen_t peer_len_ = 0;
  bool connected_ = true;
  // Every datagram is read into this one buffer (the largest UDP payload) and copied out at its
  // own length: a flood of replies costs its bytes, not 64 KiB each.
  std::vector<uint8_t> buffer_;
};

// "127.0.0.1", "::1", or an IPv4 range "127.0.1.1-127.0.1.66" (at most 65,536 addresses), as
// sockaddrs with port 0. The error is one sentence.
[[nodiscard]] Result<std::vector<sockaddr_storage>, std::string> parse_source_addresses(const std::string& spec);
[[nodiscard]] std::string format_sockaddr(const sockaddr_storage& ss, bool with_port);

}  // namespace ntpkit::probe
