#include "runner.hpp"

#include <sys/random.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "ntpkit/clock.hpp"
#include "ntpkit/parse.hpp"
#include "ntpkit/serialize.hpp"

namespace ntpkit::probe {
namespace {

using namespace conformance;
using Clock = std::chrono::steady_clock;

// Spaces out every datagram the suite sends, across threads (RFC 4330 §10: be a good citizen).
class Pacer {
 public:
  explicit Pacer(std::chrono::milliseconds interval) : interval_(interval) {}
  void wait() {
    if (interval_.count() == 0) return;
    Clock::time_point slot;
    {
      std::lock_guard lock(mutex_);
      const auto now = Clock::now();
      slot = std::max(now, next_);
      next_ = slot + interval_;
    }
    std::this_thread::sleep_until(slot);
  }

 private:
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  Clock::time_point next_{};
};

uint64_t seed() {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, 0) != sizeof s) s = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  return s;
}

class CaseRun {
 public:
  CaseRun(const Case& c, const RunSettings& s, Pacer& pacer) : c_(c), s_(s), pacer_(pacer), rng_(seed()) {}

  CaseResult run() {
    Observation obs;
    obs.target_port = s_.target.port;
    // Unconnected: a reply from another address or port must be seen, not filtered away.
    auto client = UdpClient::connect(s_.target, s_.family, false);
    if (!client) {
      CaseResult r;
      r.test = &c_;
      r.outcome = Outcome::Inconclusive;
      r.judgement = {Finding::Inconclusive, client.error(), "", ""};
      return r;
    }
    client_ = &*client;
    local_ = client_->local_sockaddr();

    // Silence means something only if the server answers a valid request around it.
    if (c_.expect != Expect::Reply) obs.alive_before = bracket();
    if (obs.alive_before) {
      for (unsigned attempt = 0; attempt <= s_.retries; ++attempt) {
        // A late answer to an earlier attempt must not be judged against this one.
        for (const auto& sent : obs.sent) {
          if (sent.bytes.size() >= kHeaderLength) {
            stale_transmits_.push_back(parse_header(std::span<const uint8_t>(sent.bytes).first<kHeaderLength>()).transmit);
          }
        }
        obs.sent.clear();
        obs.received.clear();
        send_stimulus(obs);
        collect(obs);
        // Lost UDP: a missing reply is retried with a fresh stimulus before it counts.
        if (c_.expect != Expect::Reply || !obs.received.empty()) break;
      }
    }
    if (c_.expect != Expect::Reply || obs.received.empty()) obs.alive_after = bracket();
    return evaluate(c_, std::move(obs), s_.judge, s_.strict);
  }

 private:
  void send(std::span<const uint8_t> bytes, Observation* obs) {
    pacer_.wait();
    const Timestamp t1 = SystemClock().now();
    (void)client_->send(bytes);  // a send error shows as silence, bracketed like any other
    if (s_.log != nullptr) s_.log->add(t1, local_, client_->peer_sockaddr(), {bytes.begin(), bytes.end()});
    if (obs != nullptr) obs->sent.push_back({{bytes.begin(), bytes.end()}, t1});
  }

  void send_stimulus(Observation& obs) {
    StimulusContext ctx{rng_, SystemClock().now()};
    for (const auto& d : c_.stimulus(ctx)) send(d, &obs);
  }

  void logged(const Datagram& d) const {
    if (s_.log != nullptr && d.from_peer) s_.log->add(d.received, client_->peer_sockaddr(), local_, d.bytes);
  }

  // Is this datagram a (late) answer to one of our bracket requests or to an earlier attempt?
  bool is_stale_reply(const std::vector<uint8_t>& bytes) const {
    if (bytes.size() < kHeaderLength) return false;
    const Header h = parse_header(std::span<const uint8_t>(bytes).first<kHeaderLength>());
    for (const auto* list : {&bracket_transmits_, &stale_transmits_}) {
      for (auto t : *list) {
        if (h.origin == t) return true;
      }
    }
    return false;
  }

  void collect(Observation& obs) {
    auto deadline = Clock::now() + s_.timeout;
    // After the first reply, wait a little longer for duplicates, not the whole timeout.
    const auto grace = std::min<std::chrono::milliseconds>(s_.timeout / 4, std::chrono::milliseconds(250));
    std::string error;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;
      auto d = client_->receive(left, error);
      if (!d) {
        if (!error.empty()) {
          // ICMP port unreachable and the like: nothing more will come in this window.
          error.clear();
          std::this_thread::sleep_until(deadline);
        }
        return;
      }
      logged(*d);
      if (is_stale_reply(d->bytes)) continue;
      obs.received.push_back({std::move(d->bytes), d->received, d->from_peer, d->source});
      if (c_.expect == Expect::Reply && obs.received.size() == 1) deadline = std::min(deadline, Clock::now() + grace);
    }
  }

  // A valid client request; true if anything came back (with retries).
  bool bracket() {
    for (unsigned attempt = 0; attempt <= s_.retries; ++attempt) {
      Header h;
      h.version = 4;
      h.mode = Mode::Client;
      h.transmit = Timestamp::from_raw(rng_());
      bracket_transmits_.push_back(h.transmit);
      const auto b = serialize_header(h);
      send(b, nullptr);
      const auto deadline = Clock::now() + s_.timeout;
      std::string error;
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        auto d = client_->receive(left, error);
        if (!d) {
          if (!error.empty()) return false;  // port closed: not alive
          break;
        }
        logged(*d);
        // Any answer shows the server is there, even one that breaks the rules we judge
        // elsewhere (a wrong origin, a wrong length).
        return true;
      }
    }
    return false;
  }

  const Case& c_;
  const RunSettings& s_;
  Pacer& pacer_;
  std::mt19937_64 rng_;
  UdpClient* client_ = nullptr;
  sockaddr_storage local_{};
  std::vector<Timestamp> bracket_transmits_;
  std::vector<Timestamp> stale_transmits_;
};

}  // namespace

std::vector<CaseResult> run_cases(const std::vector<const Case*>& cases, const RunSettings& settings,
                                  const Progress& progress) {
  std::vector<CaseResult> results(cases.size());
  Pacer pacer(settings.interval);
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  size_t done = 0;
  const size_t workers = std::max<size_t>(1, std::min<size_t>(settings.jobs, cases.size()));
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < cases.size(); i = next++) {
        results[i] = CaseRun(*cases[i], settings, pacer).run();
        std::lock_guard lock(progress_mutex);
        ++done;
        if (progress) progress(done, cases.size());
      }
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace ntpkit::probe
