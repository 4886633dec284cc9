// Judging recorded NTP traffic: pairs requests with replies and applies the same verifiers the
// live probe uses (conformance/checks.hpp). Pure and streaming: datagrams go in in file order,
// findings come out; flow state is evicted by capture time so memory does not grow with the file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/auth/mac.hpp"
#include "ntpkit/capture/frame.hpp"
#include "ntpkit/conformance/case.hpp"
#include "ntpkit/wire/packet.hpp"
#include "ntpkit/wire/parse.hpp"

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
  uint64_t datagrams = 0;               // UDP datagrams on NTP ports
  uint64_t malformed = 0;               // not an NTP packet the parser accepts (modes 0-5)
  uint64_t requests = 0;                // mode 3
  uint64_t replies = 0;                 // mode 4
  uint64_t exchanges = 0;               // request/reply pairs
  uint64_t paired_by_fallback = 0;      // a reply whose origin matched no request, paired with its flow's last request
  uint64_t replies_before_request = 0;  // misordered captures
  uint64_t unanswered = 0;
  uint64_t unsolicited = 0;      // a reply with no request on its flow in the capture
  uint64_t retransmissions = 0;  // the same request (same transmit) seen again
  uint64_t duplicate_replies = 0;
  uint64_t symmetric_packets = 0, symmetric_checks = 0, symmetric_failures = 0;
  uint64_t interleaved = 0;    // exchanges answered in RFC 9769 interleaved mode
  uint64_t nts = 0;            // NTS-protected exchanges (RFC 8915: a cookie or an authenticator in the request)
  uint64_t nts_naks = 0;       // ... answered with an NTSN kiss-o'-death
  uint64_t kiss_of_death = 0;  // replies that are kiss-o'-death (judged for their shape only)
  // With keys (replay --keys): requests whose MAC verifies under them, and what came back.
  uint64_t signed_requests = 0, verified_replies = 0, crypto_naks = 0;
  uint64_t broadcast = 0;
  uint64_t other_modes = 0;  // mode 0 and anything else
  ControlTraffic mode6, mode7;
  std::map<net::Address, ServerSummary> servers;
};

struct Options {
  int64_t flow_timeout_ns = 120'000'000'000;  // a request unanswered this long (capture time) is given up; >= 0
  // replay --keys: the MACs of recorded exchanges are verified (auth/authenticated-reply).
  const auth::KeyStore* keys = nullptr;
  const auth::Digests* digests = nullptr;
};

class Analyzer {
 public:
  explicit Analyzer(Options options = {});
  ~Analyzer();
  Analyzer(Analyzer&&) noexcept;
  Analyzer& operator=(Analyzer&&) noexcept;
  void add(const Datagram& d);
  // Live replay: `reply` came back on the socket `request` went out on, so it answers it whatever
  // it holds (another mode, garbage, an echo): judged as its reply, never taken for a request.
  // A further datagram for the same request is a second reply (`first` false).
  void add_exchange(const Datagram& request, const Datagram& reply, bool first = true);
  // Live replay: a request that got no reply.
  void add_unanswered(const Datagram& request);
  // End of input: what is still pending becomes unanswered or unsolicited.
  void finish();
  [[nodiscard]] const std::vector<Finding>& findings() const;
  [[nodiscard]] const Stats& stats() const;

 private:
  class Impl;  // the pairing tables and their eviction queues: lib/src/capture/analyzer_impl.hpp
  std::unique_ptr<Impl> impl_;
};

}  // namespace ntpkit::replay
