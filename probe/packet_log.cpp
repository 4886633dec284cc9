#include "packet_log.hpp"

#include <netinet/in.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace ntpkit::probe {
namespace {

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2 != 0) acc += static_cast<uint32_t>(p[n - 1] << 8);
  return acc;
}

uint16_t fold(uint32_t acc) {
  while (acc >> 16 != 0) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// An IP + UDP datagram around the payload, as it was on the wire.
std::vector<uint8_t> frame(const sockaddr_storage& from, const sockaddr_storage& to,
                           const std::vector<uint8_t>& payload) {
  const auto udp_len = static_cast<uint16_t>(8 + payload.size());
  std::vector<uint8_t> b;
  size_t udp = 0;
  uint32_t pseudo = 0;
  if (from.ss_family == AF_INET) {
    const auto& s = reinterpret_cast<const sockaddr_in&>(from);
    const auto& d = reinterpret_cast<const sockaddr_in&>(to);
    b.assign(20 + udp_len, 0);
    b[0] = 0x45;
    put16(b, 2, static_cast<uint16_t>(20 + udp_len));
    b[8] = 64;
    b[9] = 17;
    std::memcpy(&b[12], &s.sin_addr, 4);
    std::memcpy(&b[16], &d.sin_addr, 4);
    put16(b, 10, fold(sum16(b.data(), 20)));
    udp = 20;
    std::memcpy(&b[udp], &s.sin_port, 2);
    std::memcpy(&b[udp + 2], &d.sin_port, 2);
    pseudo = sum16(&b[12], 8) + 17 + udp_len;
  } else {
    const auto& s = reinterpret_cast<const sockaddr_in6&>(from);
    const auto& d = reinterpret_cast<const sockaddr_in6&>(to);
    b.assign(40 + udp_len, 0);
    b[0] = 0x60;
    put16(b, 4, udp_len);
    b[6] = 17;
    b[7] = 64;
    std::memcpy(&b[8], &s.sin6_addr, 16);
    std::memcpy(&b[24], &d.sin6_addr, 16);
    udp = 40;
    std::memcpy(&b[udp], &s.sin6_port, 2);
    std::memcpy(&b[udp + 2], &d.sin6_port, 2);
    pseudo = sum16(&b[8], 32) + 17 + udp_len;
  }
  put16(b, udp + 4, udp_len);
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(udp + 8));
  uint16_t csum = fold(sum16(&b[udp], udp_len, pseudo));
  put16(b, udp + 6, csum == 0 ? 0xffff : csum);
  return b;
}

}  // namespace

void PacketLog::add(Timestamp when, const sockaddr_storage& from, const sockaddr_storage& to,
                    std::vector<uint8_t> payload) {
  std::lock_guard lock(mutex_);
  // Bounded: a server that floods us must not grow the log without end.
  if (entries_.size() >= kMaxEntries || bytes_ + payload.size() > kMaxBytes) {
    ++dropped_;
    return;
  }
  bytes_ += payload.size();
  entries_.push_back({when, from, to, std::move(payload)});
}

std::string PacketLog::write_pcap(const std::string& path, int64_t pivot) const {
  std::vector<const Entry*> sorted;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) sorted.push_back(&e);
  }
  std::stable_sort(sorted.begin(), sorted.end(), [pivot](const Entry* a, const Entry* b) {
    return a->when.to_unix_nanoseconds(pivot) < b->when.to_unix_nanoseconds(pivot);
  });
  std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(
      pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO), pcap_close);
  if (!dead) return "cannot create a pcap handle";
  std::unique_ptr<pcap_dumper_t, decltype(&pcap_dump_close)> out(pcap_dump_open(dead.get(), path.c_str()),
                                                                 pcap_dump_close);
  if (!out) return "--pcap-out " + path + ": " + pcap_geterr(dead.get());
  for (const Entry* e : sorted) {
    const auto bytes = frame(e->from, e->to, e->payload);
    const timespec ts = e->when.to_timespec(pivot);
    pcap_pkthdr h{};
    h.ts.tv_sec = ts.tv_sec;
    h.ts.tv_usec = ts.tv_nsec;  // nanoseconds: the file says so in its magic number
    h.caplen = static_cast<bpf_u_int32>(bytes.size());
    h.len = h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(out.get()), &h, bytes.data());
  }
  if (pcap_dump_flush(out.get()) != 0) return "--pcap-out " + path + ": write failed";
  return {};
}

}  // namespace ntpkit::probe
