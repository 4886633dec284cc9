// Judging recorded NTP traffic: pairs requests with replies and applies the same verifiers the
// live probe uses (conformance/checks.hpp). Pure and streaming: datagrams go in in file order,
// findings come out; flow state is evicted by capture time so memory does not grow with the file.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/flat_map.hpp"
#include "ntpkit/frame.hpp"
#include "ntpkit/packet.hpp"
#include "ntpkit/parse.hpp"

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
  uint64_t interleaved = 0;     // exchanges answered in RFC 9769 interleaved mode
  uint64_t kiss_of_death = 0;   // replies that are kiss-o'-death (judged for their shape only)
  uint64_t broadcast = 0;
  uint64_t other_modes = 0;     // mode 0 and anything else
  ControlTraffic mode6, mode7;
  std::map<net::Address, ServerSummary> servers;
};

struct Options {
  int64_t flow_timeout_ns = 120'000'000'000;  // a request unanswered this long (capture time) is given up; >= 0
};

class Analyzer {
 public:
  explicit Analyzer(Options options = {});
  void add(const Datagram& d);
  // Live replay: `reply` came back on the socket `request` went out on, so it answers it whatever
  // it holds (another mode, garbage, an echo): judged as its reply, never taken for a request.
  // A further datagram for the same request is a second reply (`first` false).
  void add_exchange(const Datagram& request, const Datagram& reply, bool first = true);
  // Live replay: a request that got no reply.
  void add_unanswered(const Datagram& request);
  // End of input: what is still pending becomes unanswered or unsolicited.
  void finish();
  [[nodiscard]] const std::vector<Finding>& findings() const { return findings_; }
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  // Client and server endpoints packed into words: compared with five word compares and hashed
  // once per packet (a lookup by a pair of net::Endpoints compared and hashed bytes one by one).
  struct FlowKey {
    uint64_t client_address[2], server_address[2];
    uint64_t ports_and_families;
    bool operator==(const FlowKey&) const = default;
  };
  struct ExchangeKey {
    FlowKey flow;
    uint64_t stamp;  // request transmit / reply origin
    bool operator==(const ExchangeKey&) const = default;
  };
  struct Hash {
    uint64_t operator()(const FlowKey& k) const;
    uint64_t operator()(const ExchangeKey& k) const;
    uint64_t operator()(const net::Address& a) const;
  };
  // A flow as one packet sees it: the packed key, its hash (before finishing; the exchange keys'
  // hashes are derived from it), and the endpoints findings name.
  struct Flow {
    FlowKey key;
    uint64_t hash;
    const net::Endpoint* client;
    const net::Endpoint* server;
  };
  // One table for every exchange the window holds. An exchange is in one state at a time:
  // a request waiting for its reply, answered (kept to tell a duplicate reply or a retransmission
  // from a stray), or a reply held until its request comes (a misordered capture).
  enum class State : uint8_t { Pending, Answered, Held };
  struct Exchange {
    int64_t time_ns;  // of the request (Pending, Answered), of the reply (Held)
    uint32_t side;    // Pending and Held: index into sides_
    State state;
  };
  // What a pending request or a held reply needs beyond its key, kept out of the table so that
  // the table's entries (most of them answered) stay one cache line each.
  struct Side {
    uint64_t frame = 0;
    Header header;             // Pending: the request
    size_t length = 0;         // Pending: the request's size
    std::vector<uint8_t> held; // Held: the reply
  };
  struct Request {
    uint64_t frame;
    const Header& header;
    size_t length;
  };

  [[nodiscard]] Flow flow(const net::Endpoint& client, const net::Endpoint& server) const;
  [[nodiscard]] static uint64_t exchange_hash(const Flow& f, uint64_t stamp);
  void add_packet(const Datagram& d, const PacketView& packet, const Flow& forward);  // forward: as add() made it
  void add_request(const Datagram& d, const Header& h, const Flow& flow);  // flow: source to destination
  void add_reply(const Datagram& d, const PacketView& reply, const Flow& flow);
  void add_symmetric(const Datagram& d, const Header& h);
  void add_control(const Datagram& d, Mode mode);
  void judge(const Flow& flow, const Request& req, uint64_t reply_frame, const PacketView& reply);
  // A reply the parser rejects: named, and judged on what its header and length still show.
  void judge_malformed(const Flow& flow, const Request& req, const Datagram& reply, const ParseError& error);
  void report(const Rule& rule, const net::Endpoint& client, const net::Endpoint& server, uint64_t request_frame,
              uint64_t reply_frame, std::string expected, std::string actual);
  ServerSummary& server(const net::Address& address);
  void answer(Exchange& e);
  void forget_last_request(const ExchangeKey& key, uint64_t flow_hash);  // flow_hash: Hash{}(key.flow)
  uint32_t new_side();
  void free_side(uint32_t side);
  void evict(int64_t now_ns);
  void evict_all();

  Options options_;
  Stats stats_;
  std::vector<Finding> findings_;
  FlatMap<ExchangeKey, Exchange, Hash> exchanges_;
  std::vector<Side> sides_;
  std::vector<uint32_t> free_sides_;
  FlatMap<FlowKey, uint64_t, Hash> last_request_;  // per flow, its latest request's transmit (fallback pairing)
  struct LastTransmit {
    Timestamp transmit;
    int64_t time_ns;
  };
  FlatMap<FlowKey, LastTransmit, Hash> symmetric_last_;  // last transmit from a peer (key: from, to)
  FlatMap<net::Address, ServerSummary*, Hash> servers_;  // into stats_.servers, whose nodes do not move
  // Insertion-ordered (time, key) queues: eviction pops what is old from the front, so its cost
  // is proportional to what it removes, not to what is kept. An entry whose exchange is gone,
  // in another state, or newer, is skipped. The key's hash is kept to look the next entry up
  // ahead of time (FlatMap::prefetch): it is 120 s old and its table slot long out of cache.
  // Where capture time goes back, an entry waits behind a later one at the front: what it names
  // is kept longer than the window, never less (a late duplicate is then still called one).
  struct AgedExchange {
    int64_t time_ns;
    ExchangeKey key;
    uint64_t hash;
  };
  struct AgedFlow {
    int64_t time_ns;
    FlowKey key;
  };
  RingQueue<AgedExchange> request_ages_;  // Pending and Answered, by their request's time
  RingQueue<AgedExchange> held_ages_;
  RingQueue<AgedFlow> symmetric_ages_;
};

}  // namespace ntpkit::replay
