// Judging recorded NTP traffic: pairs requests with replies and applies the same verifiers the
// live probe uses (conformance/checks.hpp). Pure and streaming: datagrams go in in file order,
// findings come out; flow state is evicted by capture time so memory does not grow with the file.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/frame.hpp"
#include "ntpkit/packet.hpp"

namespace ntpkit::replay {

// One UDP datagram to or from an NTP port, in file order.
struct Datagram {
  uint64_t frame = 0;  // 1-based, as Wireshark numbers frames
  int64_t time_ns = 0;
  net::Endpoint source;
  net::Endpoint destination;
  std::span<const uint8_t> payload;
};

struct Rule {
  std::string_view id;
  std::string_view rfc;
  std::string_view section;
  conformance::Level level;
  std::string_view requirement;
};
[[nodiscard]] std::span<const Rule> rules();

struct Finding {
  const Rule* rule = nullptr;
  uint64_t request_frame = 0;  // 0: none in the capture
  uint64_t reply_frame = 0;
  net::Endpoint client;
  net::Endpoint server;
  std::string expected;
  std::string actual;
};

struct ControlTraffic {  // mode 6 or mode 7, per direction
  uint64_t requests = 0, request_bytes = 0, responses = 0, response_bytes = 0;
};

struct ServerSummary {
  uint64_t exchanges = 0;
  uint64_t findings = 0;
};

struct Stats {
  uint64_t datagrams = 0;       // UDP datagrams on NTP ports
  uint64_t malformed = 0;       // not an NTP packet the parser accepts (modes 0-5)
  uint64_t requests = 0;        // mode 3
  uint64_t replies = 0;         // mode 4
  uint64_t exchanges = 0;       // request/reply pairs
  uint64_t paired_by_fallback = 0;  // a reply whose origin matched no request, paired with its flow's last request
  uint64_t replies_before_request = 0;  // misordered captures
  uint64_t unanswered = 0;
  uint64_t unsolicited = 0;     // a reply with no request on its flow in the capture
  uint64_t retransmissions = 0; // the same request (same transmit) seen again
  uint64_t duplicate_replies = 0;
  uint64_t symmetric_packets = 0, symmetric_checks = 0, symmetric_failures = 0;
  uint64_t broadcast = 0;
  uint64_t other_modes = 0;     // mode 0 and anything else
  ControlTraffic mode6, mode7;
  std::map<net::Address, ServerSummary> servers;
};

struct Options {
  int64_t flow_timeout_ns = 120'000'000'000;  // a request unanswered this long (capture time) is given up
};

class Analyzer {
 public:
  explicit Analyzer(Options options = {});
  void add(const Datagram& d);
  // End of input: what is still pending becomes unanswered or unsolicited.
  void finish();
  [[nodiscard]] const std::vector<Finding>& findings() const { return findings_; }
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  struct FlowKey {
    net::Endpoint client, server;
    bool operator==(const FlowKey&) const = default;
  };
  struct ExchangeKey {
    net::Endpoint client, server;
    uint64_t stamp;  // request transmit / reply origin
    bool operator==(const ExchangeKey&) const = default;
  };
  struct Hash {
    size_t operator()(const FlowKey& k) const;
    size_t operator()(const ExchangeKey& k) const;
  };
  struct Request {
    uint64_t frame;
    int64_t time_ns;
    Header header;
    size_t length;
    bool answered = false;
  };
  struct HeldReply {
    uint64_t frame;
    int64_t time_ns;
    std::vector<uint8_t> bytes;
  };

  void add_request(const Datagram& d, const Header& h);
  void add_reply(const Datagram& d, const PacketView& reply);
  void add_symmetric(const Datagram& d, const Header& h);
  void add_control(const Datagram& d, Mode mode);
  void judge(const FlowKey& flow, const Request& req, uint64_t reply_frame, const PacketView& reply);
  void report(const Rule& rule, const FlowKey& flow, uint64_t request_frame, uint64_t reply_frame, std::string expected,
              std::string actual);
  void evict(int64_t now_ns);
  void evict_all();
  void remember_answered(const ExchangeKey& key, int64_t time_ns);
  void forget_request(std::unordered_map<ExchangeKey, Request, Hash>::iterator it);

  Options options_;
  Stats stats_;
  std::vector<Finding> findings_;
  std::unordered_map<ExchangeKey, Request, Hash> requests_;            // by transmit
  std::unordered_map<FlowKey, ExchangeKey, Hash> last_request_;        // per flow, for fallback pairing
  std::unordered_map<ExchangeKey, HeldReply, Hash> held_replies_;      // replies seen before their request
  std::unordered_map<ExchangeKey, int64_t, Hash> answered_;            // to tell duplicates from strays
  struct LastTransmit {
    Timestamp transmit;
    int64_t time_ns;
  };
  std::unordered_map<FlowKey, LastTransmit, Hash> symmetric_last_;     // last transmit from a peer (key: from, to)
  // Insertion-ordered (time, key) queues: eviction pops what is old from the front, so its cost
  // is proportional to what it removes, not to what is kept. An entry whose key is gone, or
  // whose table entry is newer, is skipped.
  template <class Key>
  struct Aged {
    int64_t time_ns;
    Key key;
  };
  std::deque<Aged<ExchangeKey>> request_ages_, held_ages_, answered_ages_;
  std::deque<Aged<FlowKey>> symmetric_ages_;
};

}  // namespace ntpkit::replay
