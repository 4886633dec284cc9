// `ntp-probe replay FILE --target HOST:PORT`: resend the client requests a capture holds to a
// live server, judge its answers with the same rules as the capture, and say where they differ
// from the answers recorded.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "ntpkit/capture/capture_file.hpp"
#include "udp_client.hpp"

namespace ntpkit::probe {

using capture::analyse_file;
using capture::FileResult;

struct LiveOptions {
  Target target;
  double rate = 0;               // requests per second; 0: as fast as the window allows
  bool recorded_timing = false;  // keep the capture's spacing between requests
  size_t max_requests = 10000;   // bounded, whatever the capture holds
  double timeout = 1.0;          // for the last replies
  double max_gap = 5.0;          // --timing recorded: a longer silence in the capture is cut to this
  unsigned threads = 0;          // reading the capture: analyse_file's
  replay::Options analysis;      // the analyzer's (--keys)
};

struct Difference {
  uint64_t frame;    // the request's frame in the capture
  std::string what;  // "recorded server echoed VN 3, target answered VN 4"
};

struct LiveResult {
  std::string target;
  uint64_t requests_in_capture = 0;
  uint64_t sent = 0;
  uint64_t answered = 0;
  uint64_t received = 0;    // datagrams from the target
  uint64_t not_judged = 0;  // ... beyond the bound a flood is kept to (counted only)
  replay::Stats stats;      // the live exchanges, judged
  std::vector<replay::Finding> findings;
  std::vector<Difference> differences;  // live answer vs recorded answer
  std::string error;
};

// What live replay keeps of the target's datagrams at most (4 per request + 64, and this many bytes).
inline constexpr size_t kMaxKeptReplyBytes = 32u << 20;

[[nodiscard]] LiveResult replay_live(const std::string& capture, const std::set<uint16_t>& ports, const LiveOptions& o);

}  // namespace ntpkit::probe
