#include "replay_live.hpp"

#include <poll.h>

#include <chrono>
#include <map>
#include <thread>
#include <unordered_map>

#include "ntpkit/clock.hpp"
#include "ntpkit/parse.hpp"

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
std::map<uint64_t, Recorded> collect(const std::string& path, const std::set<uint16_t>& ports, size_t max, FileResult& file) {
  std::map<uint64_t, Recorded> requests;
  std::map<std::tuple<net::Endpoint, net::Endpoint, uint64_t>, uint64_t> by_transmit;
  file = analyse_file(path, ports, [&](const replay::Datagram& d) {
    if (d.payload.size() < kHeaderLength) return;
    const Header h = parse_header(d.payload.first<kHeaderLength>());
    if (h.mode == Mode::Client && requests.size() < max) {
      requests[d.frame] = {d.time_ns, {d.payload.begin(), d.payload.end()}, d.source, d.destination, {}};
      by_transmit[{d.source, d.destination, h.transmit.raw()}] = d.frame;
    } else if (h.mode == Mode::Server) {
      auto it = by_transmit.find({d.destination, d.source, h.origin.raw()});
      if (it != by_transmit.end()) requests[it->second].reply.assign(d.payload.begin(), d.payload.end());
    }
  });
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
    out.push_back({frame, "the recorded server answered, the target did not"});
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
    out.push_back({frame, field("a reply of length", static_cast<int>(recorded.size()), static_cast<int>(live.size()))});
  }
}

}  // namespace

LiveResult replay_live(const std::string& capture, const std::set<uint16_t>& ports, const LiveOptions& o) {
  LiveResult r;
  r.target = o.target.spec;
  FileResult file;
  auto recorded = collect(capture, ports, o.max_requests, file);
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

  // Replies are matched to requests by origin: the requests are sent byte for byte as recorded.
  std::unordered_map<uint64_t, uint64_t> frame_by_transmit;
  std::map<uint64_t, std::vector<uint8_t>> live_replies;
  std::map<uint64_t, Timestamp> sent_at;
  std::string error;
  const auto drain = [&](std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto d = client->receive(std::max(left, std::chrono::milliseconds(0)), error);
      if (!d) return;
      if (!d->from_peer || d->bytes.size() < kHeaderLength) continue;
      const Header h = parse_header(std::span<const uint8_t>(d->bytes).first<kHeaderLength>());
      auto it = frame_by_transmit.find(h.origin.raw());
      if (it != frame_by_transmit.end() && live_replies.count(it->second) == 0) live_replies[it->second] = std::move(d->bytes);
      if (left.count() <= 0) return;
    }
  };

  const auto start = Clock::now();
  const int64_t first_ns = recorded.empty() ? 0 : recorded.begin()->second.time_ns;
  size_t i = 0;
  for (const auto& [frame, rec] : recorded) {
    // Pacing: the recorded spacing, a fixed rate, or as fast as replies come back.
    if (o.recorded_timing) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(std::max<int64_t>(0, rec.time_ns - first_ns)));
    } else if (o.rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * double(i) / o.rate)));
    }
    const Header h = parse_header(std::span<const uint8_t>(rec.request).first<kHeaderLength>());
    frame_by_transmit[h.transmit.raw()] = frame;
    sent_at[frame] = SystemClock().now();
    if (client->send(rec.request).empty()) ++r.sent;
    ++i;
    drain(std::chrono::milliseconds(0));
    if (o.rate <= 0 && !o.recorded_timing && i % 64 == 0) drain(std::chrono::milliseconds(10));
  }
  drain(std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000)));

  // Judge the live exchanges with the analyzer the capture went through.
  replay::Analyzer analyzer;
  net::Endpoint us, them;
  us.address.bytes = {127, 0, 0, 2};
  them.address.bytes = {127, 0, 0, 1};
  them.port = o.target.port;
  for (const auto& [frame, rec] : recorded) {
    us.port = static_cast<uint16_t>(frame % 65535 + 1);  // one flow per request: pairing by origin alone
    const int64_t t = rec.time_ns;
    analyzer.add({frame, t, us, them, rec.request});
    if (auto it = live_replies.find(frame); it != live_replies.end()) {
      ++r.answered;
      analyzer.add({frame, t + 1, them, us, it->second});
    }
    compare(frame, rec.reply, live_replies.count(frame) != 0 ? live_replies[frame] : std::vector<uint8_t>{}, r.differences);
  }
  analyzer.finish();
  r.stats = analyzer.stats();
  r.findings = analyzer.findings();
  for (auto& f : r.findings) f.reply_frame = 0;  // the live reply has no frame in the capture
  if (r.sent > 0 && r.answered == 0) r.error = "the target answered none of the " + std::to_string(r.sent) + " requests";
  return r;
}

}  // namespace ntpkit::probe
