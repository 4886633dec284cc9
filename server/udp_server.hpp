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
  uint64_t answered = 0;  // replies sent (a duplicated reply counts once; a delayed one once it left)
  uint64_t kiss_of_death = 0;
  uint64_t crypto_nak = 0;
  uint64_t send_errors = 0;
  uint64_t truncated = 0;               // datagrams larger than the receive buffer
  uint64_t delay_queue_full = 0;        // --misbehave delay: replies the bounded queue had no room for
  uint64_t interleaved = 0;             // replies in RFC 9769 interleaved mode
  uint64_t kernel_transmit_stamps = 0;  // replies whose departure the kernel stamped (else read after the send)
  std::array<uint64_t, kDropReasonCount> dropped{};
};
[[nodiscard]] std::string format_counters(const Counters& c);

// One worker's counters: written by that worker alone, read by the main thread for reports,
// so relaxed atomics suffice and there is no contention.
struct WorkerCounters {
  std::atomic<uint64_t> received{0}, answered{0}, kiss_of_death{0}, crypto_nak{0}, send_errors{0}, truncated{0},
      delay_queue_full{0}, interleaved{0}, kernel_transmit_stamps{0};
  std::array<std::atomic<uint64_t>, kDropReasonCount> dropped{};
  void add_to(Counters& c) const;
};

struct Listener {
  int fd = -1;
  std::string name;  // "127.0.0.1:123"
};

// Binds every address of config.listen, config.threads times over with SO_REUSEPORT (the
// kernel spreads clients over the workers' sockets): out[w] is worker w's sockets. Returns an
// error sentence or empty.
[[nodiscard]] std::string open_listeners(const Config& config, std::vector<std::vector<Listener>>& out);
// Drops root privileges to `user`. Returns an error sentence or empty.
[[nodiscard]] std::string drop_privileges(const std::string& user);

// One worker thread per socket set; the calling thread waits for signals: counters on SIGUSR1,
// a clean stop (and the counters) on SIGINT or SIGTERM.
int serve(const Config& config, const std::vector<std::vector<Listener>>& workers);

}  // namespace ntpkit::server
