// The socket loop around ntpkit::respond(): moves bytes, keeps counters, holds no protocol logic.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

namespace ntpkit::server {

struct Counters {
  uint64_t received = 0;
  uint64_t answered = 0;  // replies sent (a duplicated reply counts once)
  uint64_t kiss_of_death = 0;
  uint64_t crypto_nak = 0;
  uint64_t send_errors = 0;
  uint64_t truncated = 0;  // datagrams larger than the receive buffer
  std::array<uint64_t, kDropReasonCount> dropped{};
};
[[nodiscard]] std::string format_counters(const Counters& c);

struct Listener {
  int fd = -1;
  std::string name;  // "127.0.0.1:123"
};

// Binds every address of config.listen. Returns an error sentence or empty.
[[nodiscard]] std::string open_listeners(const Config& config, std::vector<Listener>& out);
// Drops root privileges to `user`. Returns an error sentence or empty.
[[nodiscard]] std::string drop_privileges(const std::string& user);

// Serves until SIGINT or SIGTERM; prints counters on SIGUSR1 and at the end.
int serve(Config config, const std::vector<Listener>& listeners);

}  // namespace ntpkit::server
