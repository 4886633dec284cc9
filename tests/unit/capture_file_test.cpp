// ntpkit_capture: reading a capture on one thread or on two (the analyzer on a second
// thread, fed in batches) gives the same report, to the last finding, on our recordings and on
// synthetic captures that cross every batch boundary.
#include "ntpkit/capture/capture_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::capture {
namespace {

// A classic pcap, link type raw IPv4 (101), nanosecond timestamps, written by hand.
class PcapWriter {
 public:
  PcapWriter() {
    put32(0xa1b23c4d);  // nanosecond magic
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(262144);
    put32(101);
  }
  void udp(uint8_t client, uint16_t client_port, bool to_server, std::span<const uint8_t> payload, int64_t t_ns) {
    const size_t ip_length = 20 + 8 + payload.size();
    std::vector<uint8_t> ip(ip_length, 0);
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(ip_length >> 8);
    ip[3] = static_cast<uint8_t>(ip_length);
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t client_ip[4] = {192, 0, 2, client};
    const uint8_t server_ip[4] = {198, 51, 100, 1};
    std::memcpy(&ip[12], to_server ? client_ip : server_ip, 4);
    std::memcpy(&ip[16], to_server ? server_ip : client_ip, 4);
    const uint16_t sport = to_server ? client_port : 123;
    const uint16_t dport = to_server ? 123 : client_port;
    ip[20] = static_cast<uint8_t>(sport >> 8);
    ip[21] = static_cast<uint8_t>(sport);
    ip[22] = static_cast<uint8_t>(dport >> 8);
    ip[23] = static_cast<uint8_t>(dport);
    ip[24] = static_cast<uint8_t>((8 + payload.size()) >> 8);
    ip[25] = static_cast<uint8_t>(8 + payload.size());
    if (!payload.empty()) std::memcpy(&ip[28], payload.data(), payload.size());
    put32(static_cast<uint32_t>(t_ns / 1'000'000'000));
    put32(static_cast<uint32_t>(t_ns % 1'000'000'000));
    put32(static_cast<uint32_t>(ip.size()));
    put32(static_cast<uint32_t>(ip.size()));
    bytes_.insert(bytes_.end(), ip.begin(), ip.end());
  }
  [[nodiscard]] const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  void put16(uint16_t v) { bytes_.insert(bytes_.end(), {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)}); }
  void put32(uint32_t v) {
    put16(static_cast<uint16_t>(v));
    put16(static_cast<uint16_t>(v >> 16));
  }
  std::vector<uint8_t> bytes_;
};

// Exchanges of 300 clients over about 20 minutes of capture time (20,000 exchanges) (the analyzer's 120 s window
// is crossed: state is evicted on the way), with a fault every few exchanges, retransmissions,
// duplicates, misordered replies, and now and then a datagram of 40-60 KB (a batch is also
// handed over when its payload bytes are full).
std::vector<uint8_t> synthetic_capture(size_t exchanges, uint32_t seed) {
  std::mt19937_64 rng(seed);
  PcapWriter w;
  int64_t t = 1'700'000'000LL * 1'000'000'000;
  for (size_t i = 0; i < exchanges; ++i) {
    t += 50'000'000 + static_cast<int64_t>(rng() % 20'000'000);
    const auto client = static_cast<uint8_t>(1 + i % 250);
    const auto port = static_cast<uint16_t>(40000 + i % 300);
    Header rq;
    rq.version = 4;
    rq.mode = Mode::Client;
    rq.poll = 6;
    rq.transmit = Timestamp::from_raw(rng());
    Header rp;
    rp.version = 4;
    rp.mode = Mode::Server;
    rp.poll = 6;
    rp.stratum = 2;
    rp.origin = rq.transmit;
    rp.receive = Timestamp::from_raw(rq.transmit.raw() + 1000);
    rp.transmit = Timestamp::from_raw(rq.transmit.raw() + 2000);
    switch (rng() % 16) {
      case 0: rp.origin = Timestamp::from_raw(rp.origin.raw() ^ 1); break;
      case 1: rp.version = 3; break;
      case 2: rp.stratum = 17; break;
      case 3: rp.poll = 10; break;
      default: break;
    }
    const auto request = serialize_header(rq);
    const auto reply = serialize_header(rp);
    const unsigned shape = rng() % 32;
    if (shape == 0) {  // the reply first in the file
      w.udp(client, port, false, reply, t);
      w.udp(client, port, true, request, t + 1000);
    } else if (shape == 1) {  // never answered
      w.udp(client, port, true, request, t);
    } else {
      w.udp(client, port, true, request, t);
      if (shape == 2) w.udp(client, port, true, request, t + 500'000);  // retransmitted
      w.udp(client, port, false, reply, t + 1'000'000);
      if (shape == 3) w.udp(client, port, false, reply, t + 1'001'000);  // sent twice
    }
    if (rng() % 500 == 0) {  // a big datagram on the NTP port: malformed, and many bytes to batch
      std::vector<uint8_t> big(40000 + rng() % 20000, 0x23);
      w.udp(client, port, true, big, t + 2'000'000);
    }
  }
  return w.bytes();
}

// analyse_file reads a path: the capture goes to a file in the build tree (removed by the test).
std::filesystem::path write_capture(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::filesystem::path path = std::filesystem::path(TEST_WORK_DIR) / name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

void expect_same(const FileResult& a, const FileResult& b) {
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.link_type, b.link_type);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.icmp_errors, b.icmp_errors);
  EXPECT_EQ(a.tcp_ntp, b.tcp_ntp);
  EXPECT_EQ(a.fragments_pending, b.fragments_pending);
  EXPECT_EQ(a.fragments_given_up, b.fragments_given_up);
  EXPECT_EQ(a.truncated_frames, b.truncated_frames);
  const replay::Stats& x = a.stats;
  const replay::Stats& y = b.stats;
  EXPECT_EQ(x.datagrams, y.datagrams);
  EXPECT_EQ(x.malformed, y.malformed);
  EXPECT_EQ(x.requests, y.requests);
  EXPECT_EQ(x.replies, y.replies);
  EXPECT_EQ(x.exchanges, y.exchanges);
  EXPECT_EQ(x.paired_by_fallback, y.paired_by_fallback);
  EXPECT_EQ(x.replies_before_request, y.replies_before_request);
  EXPECT_EQ(x.unanswered, y.unanswered);
  EXPECT_EQ(x.unsolicited, y.unsolicited);
  EXPECT_EQ(x.retransmissions, y.retransmissions);
  EXPECT_EQ(x.duplicate_replies, y.duplicate_replies);
  EXPECT_EQ(x.symmetric_packets, y.symmetric_packets);
  EXPECT_EQ(x.symmetric_checks, y.symmetric_checks);
  EXPECT_EQ(x.symmetric_failures, y.symmetric_failures);
  EXPECT_EQ(x.broadcast, y.broadcast);
  EXPECT_EQ(x.other_modes, y.other_modes);
  for (const auto& [c, d] : {std::pair{x.mode6, y.mode6}, std::pair{x.mode7, y.mode7}}) {
    EXPECT_EQ(c.requests, d.requests);
    EXPECT_EQ(c.request_bytes, d.request_bytes);
    EXPECT_EQ(c.responses, d.responses);
    EXPECT_EQ(c.response_bytes, d.response_bytes);
  }
  ASSERT_EQ(x.servers.size(), y.servers.size());
  for (const auto& [address, s] : x.servers) {
    ASSERT_TRUE(y.servers.contains(address)) << address.to_string();
    EXPECT_EQ(s.exchanges, y.servers.at(address).exchanges) << address.to_string();
    EXPECT_EQ(s.findings, y.servers.at(address).findings) << address.to_string();
  }
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    const replay::Finding& f = a.findings[i];
    const replay::Finding& g = b.findings[i];
    EXPECT_EQ(f.rule, g.rule) << i;
    EXPECT_EQ(f.request_frame, g.request_frame) << i;
    EXPECT_EQ(f.reply_frame, g.reply_frame) << i;
    EXPECT_EQ(f.client, g.client) << i;
    EXPECT_EQ(f.server, g.server) << i;
    EXPECT_EQ(f.expected, g.expected) << i;
    EXPECT_EQ(f.actual, g.actual) << i;
  }
}

TEST(CaptureAnalysis, TwoThreadsGiveTheSameReportAsOne) {
  const auto bytes = synthetic_capture(20000, 5905);  // about 40,000 datagrams: 20 batches
  const FileResult one = analyse_memory(bytes, {123}, 1);
  const FileResult two = analyse_memory(bytes, {123}, 2);
  ASSERT_TRUE(one.error.empty()) << one.error;
  // The capture is what it was meant to be: a real workload with findings of every kind.
  EXPECT_GT(one.stats.datagrams, 38000U);
  EXPECT_GT(one.stats.exchanges, 17000U);
  EXPECT_GT(one.stats.unanswered, 400U);
  EXPECT_GT(one.stats.replies_before_request, 400U);
  EXPECT_GT(one.stats.retransmissions, 400U);
  EXPECT_GT(one.stats.duplicate_replies, 400U);
  EXPECT_GT(one.stats.malformed, 20U);
  EXPECT_GT(one.findings.size(), 4000U);
  expect_same(one, two);
}

TEST(CaptureAnalysis, ADamagedTailIsReportedTheSameOnTwoThreads) {
  auto bytes = synthetic_capture(3000, 123);
  bytes.resize(bytes.size() - 30);  // the last record ends early
  const FileResult one = analyse_memory(bytes, {123}, 1);
  const FileResult two = analyse_memory(bytes, {123}, 2);
  EXPECT_NE(one.error.find("damaged after frame"), std::string::npos) << one.error;
  EXPECT_GT(one.stats.exchanges, 2500U);
  expect_same(one, two);
}

// Damage is named where its record starts, not where libpcap stopped reading: a file cut inside a
// record, and a record whose header claims an impossible length.
TEST(CaptureAnalysis, DamageNamesTheOffsetOfTheBadRecord) {
  PcapWriter w;
  std::vector<size_t> starts;
  const std::vector<uint8_t> payload(48, 0x23);
  for (int i = 0; i < 8; ++i) {
    starts.push_back(w.bytes().size());
    w.udp(1, 40000, true, payload, 1'700'000'000'000'000'000LL + i * 1'000'000);
  }
  std::vector<uint8_t> cut = w.bytes();
  cut.resize(starts[5] + 30);  // inside the sixth record's data
  FileResult r = analyse_memory(cut, {123}, 1);
  EXPECT_EQ(r.frames, 5U);
  EXPECT_NE(r.error.find("damaged after frame 5 (the record at byte offset " + std::to_string(starts[5]) + ")"),
            std::string::npos)
      << r.error;

  std::vector<uint8_t> bogus = w.bytes();
  const size_t caplen = starts[3] + 8;  // the fourth record's captured length: 2 GiB
  bogus[caplen] = 0;
  bogus[caplen + 1] = 0;
  bogus[caplen + 2] = 0;
  bogus[caplen + 3] = 0x80;
  r = analyse_memory(bogus, {123}, 1);
  EXPECT_EQ(r.frames, 3U);
  EXPECT_NE(r.error.find("damaged after frame 3 (the record at byte offset " + std::to_string(starts[3]) + ")"),
            std::string::npos)
      << r.error;
}

TEST(CaptureAnalysis, TheTapSeesEveryDatagramInFileOrderOnTwoThreads) {
  const std::filesystem::path path = write_capture("capture_analysis_tap.pcap", synthetic_capture(5000, 7));
  for (unsigned threads : {1U, 2U}) {
    std::vector<uint64_t> frames;
    size_t payload_bytes = 0;
    const FileResult r = analyse_file(
        path.string(), {123},
        [&](const replay::Datagram& d) {
          frames.push_back(d.frame);
          payload_bytes += d.payload.size();
        },
        {}, threads);
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(frames.size(), r.stats.datagrams) << threads;
    for (size_t i = 0; i < frames.size(); ++i) ASSERT_EQ(frames[i], i + 1) << threads;
    EXPECT_GT(payload_bytes, frames.size() * 48) << threads;
  }
  std::filesystem::remove(path);
}

// What the judging thread throws reaches the caller, as it would on one thread: the reader stops
// (it does not wait for the batches forever) and nothing is lost silently.
TEST(CaptureAnalysis, AnExceptionOnTheJudgingThreadReachesTheCaller) {
  const std::filesystem::path path = write_capture("capture_analysis_throw.pcap", synthetic_capture(5000, 11));
  for (unsigned threads : {1U, 2U}) {
    size_t seen = 0;
    const auto tap = [&](const replay::Datagram&) {
      if (++seen == 3000) throw std::runtime_error("tap gave up");
    };
    try {
      (void)analyse_file(path.string(), {123}, tap, {}, threads);
      ADD_FAILURE() << "no exception with " << threads << " thread(s)";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "tap gave up") << threads;
    }
    EXPECT_EQ(seen, 3000U) << threads;  // nothing judged after the failure
  }
  std::filesystem::remove(path);
}

TEST(CaptureAnalysis, OurRecordingsGiveTheSameReportOnTwoThreads) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CAPTURES_DIR)) {
    if (entry.path().extension() != ".pcap") continue;
    SCOPED_TRACE(entry.path().filename().string());
    expect_same(analyse_file(entry.path().string(), {123, 1123}, {}, {}, 1),
                analyse_file(entry.path().string(), {123, 1123}, {}, {}, 2));
    ++files;
  }
  EXPECT_GT(files, 10U);
}

}  // namespace
}  // namespace ntpkit::capture
