// Every datagram a probe session sends or receives, for --pcap-out (readable by tshark).
#pragma once

#include <sys/socket.h>

#include <mutex>
#include <string>
#include <vector>

#include "ntpkit/wire/time.hpp"

namespace ntpkit::probe {

class PacketLog {
 public:
  // Thread-safe: cases run concurrently.
  void add(Timestamp when, const sockaddr_storage& from, const sockaddr_storage& to, std::vector<uint8_t> payload);
  // Writes a pcap file (link type RAW: IPv4/IPv6 + UDP, checksums computed), packets in time
  // order. Returns an error sentence or empty.
  [[nodiscard]] std::string write_pcap(const std::string& path, int64_t pivot_unix_seconds) const;
  // Datagrams not kept: the log holds at most kMaxEntries datagrams and kMaxBytes of payload.
  [[nodiscard]] size_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }
  static constexpr size_t kMaxEntries = 200'000;
  static constexpr size_t kMaxBytes = 32u << 20;

 private:
  struct Entry {
    Timestamp when;
    sockaddr_storage from;
    sockaddr_storage to;
    std::vector<uint8_t> payload;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  size_t bytes_ = 0;
  size_t dropped_ = 0;
};

}  // namespace ntpkit::probe
