// The runner's one way to the target: a Transport opens a Channel per case (its own source
// port), over UDP to a server, or in-process to respond() (in_process.hpp) so that every case and
// its failing twin also run as unit tests without sockets.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ntpkit/util/result.hpp"
#include "udp_client.hpp"

namespace ntpkit::probe {

class Transport {
 public:
  virtual ~Transport() = default;
  // A channel to the target from `source` (an address of ours, port 0; nullptr: any).
  [[nodiscard]] virtual Result<std::unique_ptr<Channel>, std::string> open(const sockaddr_storage* source) = 0;
};

// UDP to a host: each channel an unconnected socket, so that a reply from another address or
// port is seen, not filtered away.
class UdpTransport final : public Transport {
 public:
  UdpTransport(Target target, Family family) : target_(std::move(target)), family_(family) {}
  [[nodiscard]] Result<std::unique_ptr<Channel>, std::string> open(const sockaddr_storage* source) override {
    auto client = UdpClient::connect(target_, family_, false, source);
    if (!client) return Failure{client.error()};
    return std::unique_ptr<Channel>(std::make_unique<UdpClient>(std::move(*client)));
  }

 private:
  Target target_;
  Family family_;
};

}  // namespace ntpkit::probe
