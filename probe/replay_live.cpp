#include "replay_live.hpp"

#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

#include "ntpkit/util/clock.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::probe {
namespace {

using Clock = std::chrono::steady_clock;

struct Recorded {
  int64_t time_ns;
  std::vector<uint8_t> request;
  net::Endpoint client, server;
  std::vector<uint8_t> reply;  // empty: unanswered in the capture
};

// The capture's client requests, each with the reply recorded for it (paired by flow and
// origin, as the analyzer pairs them). Keyed by frame, so a second pass over the file (the
// pcapng fallback) overwrites rather than duplicates.
std::map<uint64_t, Recorded> collect(const std::string& path, const std::set<uint16_t>& ports, size_t max,
                                     unsigned threads, FileResult& file) {
  std::map<uint64_t, Recorded> requests;
  std::map<std::tuple<net::Endpoint, net::Endpoint, uint64_t>, uint64_t> by_transmit;
  file = analyse_file(
      path, ports,
      [&](const replay::Datagram& d) {
        if (d.payload.size() < kHeaderLength) return;
        const Header h = parse_header(d.payload.first<kHeaderLength>());
        if (h.mode == Mode::Client && requests.size() < max) {
          requests[d.frame] = {d.time_ns, {d.payload.begin(), d.payload.end()}, d.source, d.destination, {}};
          by_transmit[{d.source, d.destination, h.transmit.raw()}] = d.frame;
        } else if (h.mode == Mode::Server) {
          auto it = by_transmit.find({d.destination, d.source, h.origin.raw()});
          if (it != by_transmit.end()) requests[it->second].reply.assign(d.payload.begin(), d.payload.end());
        }
      },
      {}, threads);
  return requests;
}

std::string field(std::string_view name, int recorded, int live) {
  return "recorded server sent " + std::string(name) + " " + std::to_string(recorded) + ", target sent " +
         std::to_string(live);
}

void compare(uint64_t frame, const std::vector<uint8_t>& recorded, const std::vector<uint8_t>& live,
             std::vector<Difference>& out) {
  if (recorded.empty()) return;
  if (live.empty()) {
    out.push_back(
        {frame,
         "the recorded server answered; no reply from the target carried this request's transmit as its origin"});
    return;
  }
  if (recorded.size() < kHeaderLength || live.size() < kHeaderLength) return;
  const Header a = parse_header(std::span<const uint8_t>(recorded).first<kHeaderLength>());
  const Header b = parse_header(std::span<const uint8_t>(live).first<kHeaderLength>());
  if (a.version != b.version) out.push_back({frame, field("VN", a.version, b.version)});
  if (a.mode != b.mode) out.push_back({frame, field("mode", static_cast<int>(a.mode), static_cast<int>(b.mode))});
  if (a.poll != b.poll) out.push_back({frame, field("poll", a.poll, b.poll)});
  if ((a.stratum == 0) != (b.stratum == 0)) out.push_back({frame, field("stratum", a.stratum, b.stratum)});
  if (a.leap != b.leap) out.push_back({frame, field("LI", static_cast<int>(a.leap), static_cast<int>(b.leap))});
  if (recorded.size() != live.size()) {
    out.push_back(
        {frame, field("a reply of length", static_cast<int>(recorded.size()), static_cast<int>(live.size()))});
  }
}

net::Endpoint endpoint_of(const sockaddr_storage& ss) {
  net::Endpoint e;
  if (ss.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
    std::memcpy(e.address.bytes.data(), &sin.sin_addr, 4);
    e.port = ntohs(sin.sin_port);
  } else {
    const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
    std::memcpy(e.address.bytes.data(), &sin6.sin6_addr, 16);
    e.address.v6 = true;
    e.port = ntohs(sin6.sin6_port);
  }
  return e;
}

}  // namespace

LiveResult replay_live(const std::string& capture, const std::set<uint16_t>& ports, const LiveOptions& o) {
  LiveResult r;
  r.target = o.target.spec;
  FileResult file;
  auto recorded = collect(capture, ports, o.max_requests, o.threads, file);
  r.requests_in_capture = file.stats.requests;
  if (!file.error.empty() && recorded.empty()) {
    r.error = file.error;
    return r;
  }
  auto client = UdpClient::connect(o.target, Family::Any, false);
  if (!client) {
    r.error = client.error();
    return r;
  }

  // Everything the target sends back is kept, in order, with what was sent, up to a bound (a
  // server that floods is counted, not stored). The requests go out byte for byte as recorded.
  struct Event {
    bool reply;
    uint64_t frame;  // the request's frame in the capture (0 for replies)
    std::vector<uint8_t> bytes;
  };
  std::vector<Event> events;
  size_t kept_reply_bytes = 0;
  std::string error;
  const auto drain = [&](std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto d = client->receive(std::max(left, std::chrono::milliseconds(0)), error);
      if (!d) return;
      if (d->from_peer) {
        ++r.received;
        if (r.received <= 4 * recorded.size() + 64 && kept_reply_bytes + d->bytes.size() <= kMaxKeptReplyBytes) {
          kept_reply_bytes += d->bytes.size();
          events.push_back({true, 0, std::move(d->bytes)});
        } else {
          ++r.not_judged;
        }
      }
      if (left.count() <= 0) return;
    }
  };

  const auto start = Clock::now();
  // The recorded spacing, each gap cut to --max-gap (a capture may hold hours, or years, of
  // silence; capture times are clamped so that a difference cannot overflow), a backwards step
  // (a misordered capture) taken as none.
  const auto max_gap_ns = static_cast<int64_t>(o.max_gap * 1e9);
  int64_t previous_ns = recorded.empty() ? 0 : recorded.begin()->second.time_ns;
  int64_t schedule_ns = 0;
  size_t i = 0;
  for (const auto& [frame, rec] : recorded) {
    // Pacing: the recorded spacing, a fixed rate, or as fast as replies come back.
    if (o.recorded_timing) {
      schedule_ns += std::clamp<int64_t>(rec.time_ns - previous_ns, 0, max_gap_ns);
      previous_ns = rec.time_ns;
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(schedule_ns));
    } else if (o.rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * double(i) / o.rate)));
    }
    events.push_back({false, frame, rec.request});
    if (client->send(rec.request).empty()) ++r.sent;
    ++i;
    drain(std::chrono::milliseconds(0));
    if (o.rate <= 0 && !o.recorded_timing && i % 64 == 0) drain(std::chrono::milliseconds(10));
  }
  drain(std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000)));

  // Every datagram from the target answers a request we sent on this socket: the one whose
  // transmit it carries as origin or, carrying none, the oldest still unanswered (servers answer
  // in order), or else the latest one. It is judged as that request's reply whatever it holds
  // (the analyzer's direct entry), so garbage, zeros or an echo break the rules they break.
  replay::Analyzer analyzer(o.analysis);
  const net::Endpoint us = endpoint_of(client->local_sockaddr());
  const net::Endpoint them = endpoint_of(client->peer_sockaddr());
  std::unordered_map<uint64_t, std::vector<uint64_t>> frames_by_transmit;  // the requests with it, in order
  std::map<uint64_t, std::vector<uint8_t>> live_replies;                   // by request frame, for comparing
  std::map<uint64_t, const std::vector<uint8_t>*> request_of;              // frame -> request bytes
  std::deque<uint64_t> outstanding;                                        // requests without a reply, in order
  std::set<uint64_t> answered;
  int64_t t = 0;
  uint64_t last_sent = 0;
  for (const auto& e : events) {
    ++t;
    if (!e.reply) {
      request_of[e.frame] = &e.bytes;
      outstanding.push_back(e.frame);
      last_sent = e.frame;
      if (e.bytes.size() >= kHeaderLength) {
        frames_by_transmit[parse_header(std::span<const uint8_t>(e.bytes).first<kHeaderLength>()).transmit.raw()]
            .push_back(e.frame);
      }
      continue;
    }
    uint64_t frame = 0;
    if (e.bytes.size() >= kHeaderLength) {
      const Header h = parse_header(std::span<const uint8_t>(e.bytes).first<kHeaderLength>());
      // The same request recorded twice is answered twice: the first of them still unanswered.
      if (auto it = frames_by_transmit.find(h.origin.raw()); it != frames_by_transmit.end()) {
        frame = it->second.front();
        for (uint64_t f : it->second) {
          if (answered.count(f) == 0) {
            frame = f;
            break;
          }
        }
      }
    }
    if (frame == 0) frame = !outstanding.empty() ? outstanding.front() : last_sent;
    if (frame == 0) continue;  // nothing sent yet: cannot be an answer
    if (auto it = std::find(outstanding.begin(), outstanding.end(), frame); it != outstanding.end())
      outstanding.erase(it);
    const bool first = answered.insert(frame).second;
    if (first) live_replies.emplace(frame, e.bytes);
    analyzer.add_exchange({frame, t, us, them, *request_of[frame]}, {0, t, them, us, e.bytes}, first);
  }
  for (uint64_t frame : outstanding) analyzer.add_unanswered({frame, 0, us, them, *request_of[frame]});
  for (const auto& [frame, rec] : recorded) {
    compare(frame, rec.reply, live_replies.count(frame) != 0 ? live_replies[frame] : std::vector<uint8_t>{},
            r.differences);
  }
  analyzer.finish();
  r.stats = analyzer.stats();
  r.findings = analyzer.findings();
  r.answered = r.stats.exchanges;
  if (r.sent > 0 && r.received == 0)
    r.error = "the target answered none of the " + std::to_string(r.sent) + " requests";
  return r;
}

}  // namespace ntpkit::probe
