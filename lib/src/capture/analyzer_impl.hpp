// The analyzer's state (replay.hpp's Analyzer::Impl): private to lib/src/capture/.
#pragma once

#include "ntpkit/capture/replay.hpp"
#include "ntpkit/util/flat_map.hpp"

namespace ntpkit::replay {

class Analyzer::Impl {
 public:
  explicit Impl(Options options);
  void add(const Datagram& d);
  void add_exchange(const Datagram& request, const Datagram& reply, bool first);
  void add_unanswered(const Datagram& request);
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
  // What a request carries of NTS (RFC 8915): nothing, a Unique Identifier alone, or an NTS
  // request (a cookie or an authenticator); its Unique Identifier kept as a hash and a length.
  struct NtsTag {
    uint8_t kind = 0;  // 0 none, 1 Unique Identifier alone, 2 NTS-protected
    uint16_t uid_length = 0;
    uint64_t uid_hash = 0;
  };
  struct Side {
    uint64_t frame = 0;
    NtsTag nts;
    Header header;              // Pending: the request
    size_t length = 0;          // Pending: the request's size
    uint32_t key_id = 0;        // Pending: the key the request's MAC verifies under (--keys), 0: none
    std::vector<uint8_t> held;  // Held: the reply
  };
  struct Request {
    uint64_t frame;
    const Header& header;
    size_t length;
    uint32_t key_id = 0;  // the key its MAC verifies under (--keys), 0: none
    NtsTag nts;
  };

  [[nodiscard]] Flow flow(const net::Endpoint& client, const net::Endpoint& server) const;
  [[nodiscard]] static uint64_t exchange_hash(const Flow& f, uint64_t stamp);
  void add_packet(const Datagram& d, const PacketView& packet, const Flow& forward);  // forward: as add() made it
  void add_request(const Datagram& d, const Header& h, const Flow& flow, uint32_t key_id,
                   NtsTag nts);  // flow: source to destination; key_id: request_key()'s
  void judge_nts(const Flow& f, const Request& req, uint64_t reply_frame, const PacketView& reply);
  [[nodiscard]] uint32_t request_key(const PacketView& request) const;
  [[nodiscard]] static NtsTag nts_tag(const PacketView& request);
  void add_reply(const Datagram& d, const PacketView& reply, const Flow& flow);
  void add_symmetric(const Datagram& d, const Header& h);
  void add_control(const Datagram& d, Mode mode);
  void judge(const Flow& flow, const Request& req, uint64_t reply_frame, const PacketView& reply);
  void judge_mac(const Flow& flow, const Request& req, uint64_t reply_frame, const PacketView& reply);
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
  // RFC 9769: per client/server flow, the last reply's receive and transmit fields, to link an
  // interleaved reply with the earlier reply whose departure it reports.
  struct LastReply {
    Timestamp receive;
    Timestamp transmit;
    Timestamp spent;  // the origin of the flow's last request answered interleaved (RFC 9769: used once)
  };
  FlatMap<FlowKey, LastReply, Hash> last_reply_;
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
