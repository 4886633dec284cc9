// Reading a capture file (libpcap, or lib/'s pcapng decoder) and judging its NTP exchanges with
// lib/capture/ (frames, reassembly, the analyzer): used by `ntp-probe replay`, live replay, the
// capture-file fuzz harness (which feeds it bytes from memory) and the unit tests.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ntpkit/capture/replay.hpp"

namespace ntpkit::capture {

struct FileResult {
  std::string name;
  std::string link_type;
  uint64_t frames = 0;
  uint64_t icmp_errors = 0;  // ICMP errors (they may quote NTP: not exchanges)
  uint64_t tcp_ntp = 0;      // TCP segments on an NTP port: not NTP exchanges
  uint64_t fragments_pending = 0;
  uint64_t fragments_given_up = 0;  // timed out, over the memory limit, or inconsistent
  uint64_t truncated_frames = 0;
  std::string error;  // unreadable or damaged, with the byte offset
  replay::Stats stats;
  std::vector<replay::Finding> findings;
};

// Sees every NTP datagram as it is analysed (its payload is valid during the call only).
using DatagramTap = std::function<void(const replay::Datagram&)>;

// A file by path ("-": standard input), read with libpcap; a pcapng with interfaces of
// different link types (which libpcap 1.10 refuses) with lib/'s pcapng decoder.
// Called now and then with the bytes of the file read so far (not for standard input).
using Progress = std::function<void(uint64_t bytes_read)>;

// threads: 1 reads and judges on this thread; 2 judges on a second one while this one reads
// (the same result, sooner); 0 is 2 when the process may run on two CPUs or more, else 1.
// The tap is called on the judging thread.
// `options`: the analyzer's (replay --keys' keys among them).
[[nodiscard]] FileResult analyse_file(const std::string& path, const std::set<uint16_t>& ports,
                                      const DatagramTap& tap = {}, const Progress& progress = {}, unsigned threads = 0,
                                      const replay::Options& options = {});
// The same from bytes in memory (libpcap reads them through fmemopen).
[[nodiscard]] FileResult analyse_memory(std::span<const uint8_t> bytes, const std::set<uint16_t>& ports,
                                        unsigned threads = 1);

}  // namespace ntpkit::capture
