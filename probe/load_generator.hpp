// The load generator behind `ntp-probe bench`: many UDP sockets (source ports, and on IPv4
// loopback source addresses) sending data-minimised mode-3 requests in sendmmsg batches, either
// closed loop (K requests outstanding) or open loop (a target rate), and matching replies by
// their origin timestamp. One thread, meant to own one core.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ntpkit/nts/aead.hpp"
#include "ntpkit/util/histogram.hpp"
#include "ntpkit/util/result.hpp"

namespace ntpkit::probe {

struct LoadTally {
  uint64_t sent = 0;
  uint64_t valid = 0;          // matched origin, mode 4, 48 bytes or more, not a kiss-o'-death
  uint64_t invalid = 0;        // matched origin but not a usable server reply
  uint64_t kiss_of_death = 0;  // matched, stratum 0
  uint64_t lost = 0;           // no reply within the timeout
  uint64_t unmatched = 0;      // a reply whose origin is no request in flight (late, or foreign)
  uint64_t send_errors = 0;
  LogHistogram rtt_ns;     // our send time to the kernel's receive timestamp
  LogHistogram server_ns;  // the reply's transmit - receive (T3 - T2)
  double seconds = 0;      // wall time the tally covers (sending until the last wait ended)
};

// Requests in flight are numbered by 18 bits of their transmit timestamp: at most this many
// can wait for a reply at once; beyond it the oldest is counted lost before its timeout.
inline constexpr uint64_t kMaxInFlight = uint64_t{1} << 18;

// NTS (RFC 8915) under load: every request carries the same cookie (the load of many clients,
// not one client's privacy), a Unique Identifier and a nonce of its own and an authenticator
// under the C2S key; a reply is valid only if it verifies under the S2C key with that Unique
// Identifier echoed (the one judge, judge_reply). The AEAD must outlive the generator.
struct NtsLoad {
  const nts::Aead* aead = nullptr;
  std::vector<uint8_t> c2s, s2c, cookie;
};

struct LoadConfig {
  sockaddr_storage target{};
  socklen_t target_len = 0;
  unsigned sockets = 64;
  unsigned source_addresses = 1;  // IPv4 loopback only: 127.0.0.1 .. 127.0.0.N
  unsigned version = 4;
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);
  std::optional<NtsLoad> nts;
};

// A phase: `outstanding` > 0 is a closed loop, else `rate` requests/s (open loop).
struct LoadPhase {
  unsigned outstanding = 0;
  double rate = 0;
  std::chrono::nanoseconds duration{};
};

class LoadGenerator {
 public:
  ~LoadGenerator();
  LoadGenerator(LoadGenerator&&) noexcept;
  LoadGenerator& operator=(LoadGenerator&&) = delete;
  LoadGenerator(const LoadGenerator&) = delete;

  // Opens and binds the sockets; the error is one sentence.
  [[nodiscard]] static Result<LoadGenerator, std::string> open(const LoadConfig& config);

  // Runs one phase, then waits up to the timeout (or until nothing is in flight) for its last
  // replies; requests still unanswered then are lost. `progress` is called about every 0.25 s
  // with the tally so far. A network error stops the phase early and is returned in `error`.
  LoadTally run(const LoadPhase& phase, const std::function<void(const LoadTally&, double elapsed_s)>& progress,
                std::string& error);

  // Requests one at a time for `duration`: does anything answer at all, even badly? (before a
  // measurement; warms the server's caches too). When not, `why` may say more.
  [[nodiscard]] bool answers(std::chrono::milliseconds duration, std::string& why);

 private:
  struct Impl;
  explicit LoadGenerator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ntpkit::probe
