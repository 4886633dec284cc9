// Sends each case's stimulus and waits: the only part of the suite that touches the network.
// Cases run concurrently, each from its own socket (so its own source port). A server that
// rate-limits is noticed, and the cases it kept from concluding are run again, one at a time and
// paced, within a time budget.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "packet_log.hpp"
#include "report.hpp"
#include "transport.hpp"

namespace ntpkit::probe {

// Spaces out datagrams, across threads (RFC 4330 §10: be a good citizen): a run's own (--interval)
// and, over many targets, one for the whole run (--max-rate).
class Pacer {
 public:
  explicit Pacer(std::chrono::microseconds interval) : interval_(interval) {}
  // Waits for this datagram's slot; false if `give_up` said so meanwhile (looked at every 100 ms).
  template <class GiveUp>
  bool wait(GiveUp give_up) {
    if (interval_.count() == 0) return true;
    std::chrono::steady_clock::time_point slot;
    {
      std::lock_guard lock(mutex_);
      const auto now = std::chrono::steady_clock::now();
      slot = std::max(now, next_);
      next_ = slot + interval_;
    }
    while (std::chrono::steady_clock::now() < slot) {
      if (give_up()) return false;
      std::this_thread::sleep_until(std::min(slot, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
    }
    return true;
  }

 private:
  std::chrono::microseconds interval_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point next_{};
};

struct RunSettings {
  Target target;
  Family family = Family::Any;
  std::chrono::milliseconds timeout{1000};
  unsigned retries = 2;
  std::chrono::milliseconds interval{0};  // between any two datagrams we send (pacing)
  Pacer* global_pacer = nullptr;          // --max-rate: shared by every target's run
  unsigned jobs = 64;
  bool strict = false;
  conformance::JudgeContext judge;
  PacketLog* log = nullptr;  // --pcap-out: every datagram, brackets included
  // --source-address: cases are spread over these addresses (each a client of its own to a
  // per-address rate limit); empty: the kernel's choice.
  std::vector<sockaddr_storage> sources;
  std::chrono::milliseconds budget{120'000};  // --budget: then what is not concluded is inconclusive
  // Paced retries start one datagram per `retry_interval` on each source address and slow
  // down (doubling, up to `max_retry_interval`) while the server still limits.
  std::chrono::milliseconds retry_interval{2000};
  std::chrono::milliseconds max_retry_interval{16'000};
  unsigned max_retry_rounds = 4;
  // A server that has answered nothing this long after the start is given up: the cases not yet
  // started are inconclusive, not run. 0: twice a request's longest wait (with its resends), at
  // least 5 s.
  std::chrono::milliseconds silence_limit{0};
  // Where the datagrams go: nullptr is UDP to `target` (from `family`); tests pass an in-process
  // transport to ntp-server's respond().
  Transport* transport = nullptr;
  // The NTS-KE exchanges of the nts-ke cases (--nts: TLS to the KE server; tests: in-process).
  std::function<conformance::KeObservation(const conformance::KeRequest&)> ke_exchange;
};

struct RunResult {
  std::vector<conformance::CaseResult> results;  // in the order of the cases
  RateLimitReport rate_limit;
};

// Called from worker threads (serialised by the runner) as each case finishes.
using Progress = std::function<void(size_t done, size_t total)>;

// Network errors that stop a case (cannot connect) make it inconclusive with the reason; they
// never throw. `notice` (may be empty) gets a line when the run changes pace.
[[nodiscard]] RunResult run_cases(const std::vector<const conformance::Case*>& cases, const RunSettings& settings,
                                  const Progress& progress, const std::function<void(const std::string&)>& notice = {});

}  // namespace ntpkit::probe
