// Sends each case's stimulus and waits: the only part of the suite that touches the network.
// Cases run concurrently, each from its own socket (so its own source port).
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "packet_log.hpp"
#include "udp_client.hpp"

namespace ntpkit::probe {

struct RunSettings {
  Target target;
  Family family = Family::Any;
  std::chrono::milliseconds timeout{1000};
  unsigned retries = 2;
  std::chrono::milliseconds interval{0};  // between any two datagrams we send (pacing)
  unsigned jobs = 64;
  bool strict = false;
  conformance::JudgeContext judge;
  PacketLog* log = nullptr;  // --pcap-out: every datagram, brackets included
};

// Called from worker threads (serialised by the runner) as each case finishes.
using Progress = std::function<void(size_t done, size_t total)>;

// Results in the order of `cases`. Network errors that stop a case (cannot connect) make it
// inconclusive with the reason; they never throw.
[[nodiscard]] std::vector<conformance::CaseResult> run_cases(const std::vector<const conformance::Case*>& cases,
                                                             const RunSettings& settings, const Progress& progress);

}  // namespace ntpkit::probe
