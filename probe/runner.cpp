#include "runner.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <system_error>
#include <thread>

#include "ntpkit/conformance/checks.hpp"
#include "ntpkit/util/clock.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::probe {
namespace {

using namespace conformance;
using Clock = std::chrono::steady_clock;

uint64_t seed() {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, 0) != sizeof s) s = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  return s;
}

// One source address's view of the server: the server limits each client address on its own,
// so each lane has its own limiting state and, when its cases are run again, its own pace.
struct Lane {
  const sockaddr_storage* source = nullptr;
  std::atomic<bool> limited{false};
  std::atomic<size_t> answered{0};         // datagrams from the target on this lane
  std::atomic<size_t> answered_before{0};  // ... before the first sign of limiting
  std::chrono::milliseconds interval{0};   // set for the paced retries, which run on one thread a lane
  Clock::time_point next{};
  std::vector<size_t> deferred;  // case indices to run again, paced (filled after the concurrent phase)

  void mark_limited() {
    if (!limited.exchange(true)) answered_before = answered.load();
  }
};

struct Shared {
  std::atomic<size_t> answered{0};  // on every lane
  std::atomic<size_t> rate_kisses{0};
  std::atomic<size_t> silences{0};
  std::atomic<size_t> dropped{0};    // valid requests answered only when sent again
  std::atomic<bool> gave_up{false};  // nothing answered within the silence limit
  Clock::time_point deadline;
  Clock::time_point started;
  std::chrono::milliseconds silence_limit{0};
  std::function<void(const std::string&)> notice;
  // NTS-KE cases run one at a time: a real client opens one TLS connection, and servers such as
  // ntpsec 1.2.2 serve one at a time with a small listen backlog (concurrent cases there are
  // refused connections, not findings).
  std::mutex key_establishment;

  // True once the server has answered nothing for the silence limit: said once; then no case
  // sends any more, and every case not yet concluded is left open.
  bool silent() {
    if (gave_up) return true;
    if (answered > 0 || Clock::now() - started < silence_limit) return false;
    if (!gave_up.exchange(true) && notice) {
      notice("no answer from the server in " + std::to_string(silence_limit.count() / 1000) +
             " s: giving up; the cases not concluded are inconclusive");
    }
    return true;
  }
};

class CaseRun {
 public:
  // `paced`: a retry on a limited address. Each attempt is one datagram at the address's pace,
  // and a missing answer is the limiter's, never a verdict.
  CaseRun(const Case& c, const RunSettings& s, Transport& transport, Pacer& pacer, Lane& lane, Shared& shared,
          bool paced = false)
      : c_(c),
        s_(s),
        pacer_(pacer),
        lane_(lane),
        shared_(shared),
        rng_(seed()),
        transport_(transport),
        retries_(paced ? 0 : s.retries),
        paced_(paced) {}

  // nullopt: the budget ran out before the case could finish.
  std::optional<CaseResult> run() {
    Observation obs;
    obs.target_port = s_.target.port;
    auto client = transport_.open(lane_.source);
    if (!client) {
      CaseResult r;
      r.test = &c_;
      r.outcome = Outcome::Inconclusive;
      r.judgement = {Finding::Inconclusive, client.error(), "", ""};
      return r;
    }
    client_ = client->get();
    local_ = client_->local_sockaddr();

    // Silence means something only if the server answers a valid request around it.
    if (c_.expect != Expect::Reply) obs.alive_before = bracket(nullptr);
    if (obs.alive_before && !out_of_time_) {
      for (unsigned attempt = 0; attempt <= retries_; ++attempt) {
        // A late answer to an earlier attempt must not be judged against this one.
        for (const auto& sent : obs.sent) {
          if (sent.bytes.size() >= kHeaderLength) {
            stale_transmits_.push_back(
                parse_header(std::span<const uint8_t>(sent.bytes).first<kHeaderLength>()).transmit);
          }
        }
        obs.sent.clear();
        obs.received.clear();
        obs.received_total = 0;
        if (!send_stimulus(obs)) break;
        collect(obs);
        if (c_.follow_up && !obs.received.empty() && !follow_ups(obs)) break;
        if (c_.expect == Expect::Reply && attempt > 0 && !obs.received.empty()) dropped_then_answered();
        // Lost UDP: a missing reply is retried with a fresh stimulus before it counts.
        if (c_.expect != Expect::Reply || !obs.received.empty()) break;
      }
    }
    const bool unanswered_while_limited = paced_ && c_.expect == Expect::Reply && obs.received.empty();
    if (!out_of_time_ && !unanswered_while_limited && (c_.expect != Expect::Reply || obs.received.empty())) {
      obs.alive_after = bracket(&obs);
    }
    if (out_of_time_) return std::nullopt;
    CaseResult r = evaluate(c_, std::move(obs), s_.judge, s_.strict);
    if (unanswered_while_limited) {
      r.outcome = Outcome::Inconclusive;
      r.limit = Limit::Silence;
      r.judgement = {Finding::Inconclusive, "rate limited: no answer while the server limits this address", "", ""};
      return r;
    }
    // A burst judges the limit it provokes itself (it runs last): nothing of it marks the lane.
    if (c_.floods) return r;
    const Observation& o = r.observation;
    // Silence around which the brackets got a RATE kiss-o'-death is the limiter's, not a verdict.
    if (bracket_rate_kiss_ && o.received.empty() && r.limit == Limit::None && r.outcome != Outcome::Fail) {
      r.outcome = Outcome::Inconclusive;
      r.limit = Limit::RateKiss;
      r.judgement = {Finding::Inconclusive,
                     "rate limited: the requests around this one got a RATE kiss-o'-death, so its silence says nothing",
                     "", ""};
      return r;
    }
    // Brackets that go silent after the server has answered: the server limits us (or has
    // stopped; the paced retries tell which).
    if (r.outcome == Outcome::Inconclusive && r.limit == Limit::None && shared_.answered > 0 &&
        (!o.alive_before || (o.received.empty() && !o.alive_after))) {
      r.limit = Limit::Silence;
      ++shared_.silences;
      lane_.mark_limited();
    }
    return r;
  }

 private:
  // False when the budget does not leave time to send.
  bool send(std::span<const uint8_t> bytes, Observation* obs) {
    if (shared_.silent()) {
      out_of_time_ = true;
      return false;
    }
    if (lane_.interval.count() > 0) {
      const auto slot = std::max(Clock::now(), lane_.next);
      if (slot + s_.timeout > shared_.deadline) {
        out_of_time_ = true;
        return false;
      }
      lane_.next = slot + lane_.interval;
      std::this_thread::sleep_until(slot);
    } else if (Clock::now() >= shared_.deadline) {
      out_of_time_ = true;
      return false;
    }
    const auto give_up = [&] { return shared_.silent() || Clock::now() >= shared_.deadline; };
    const bool slot = pacer_.wait(give_up) && (s_.global_pacer == nullptr || s_.global_pacer->wait(give_up));
    if (!slot || Clock::now() >= shared_.deadline || shared_.silent()) {  // --interval may have waited past it
      out_of_time_ = true;
      return false;
    }
    const Timestamp t1 = SystemClock().now();
    (void)client_->send(bytes);  // a send error shows as silence, bracketed like any other
    if (s_.log != nullptr) s_.log->add(t1, local_, client_->peer_sockaddr(), {bytes.begin(), bytes.end()});
    if (obs != nullptr) obs->sent.push_back({{bytes.begin(), bytes.end()}, t1});
    return true;
  }

  bool send_stimulus(Observation& obs) {
    StimulusContext ctx{rng_, SystemClock().now(), s_.judge.auth, s_.judge.nts};
    for (const auto& d : c_.stimulus(ctx)) {
      if (!send(d, &obs)) return false;
    }
    return true;
  }

  // The case's further exchanges, each built from what came back; false when the budget does not
  // leave time to send.
  bool follow_ups(Observation& obs) {
    for (size_t round = 0; round < kMaxFollowUps; ++round) {
      StimulusContext ctx{rng_, SystemClock().now(), s_.judge.auth, s_.judge.nts};
      FollowUp next = c_.follow_up(ctx, obs);
      if (next.datagrams.empty()) return true;
      if (next.new_port) {
        auto channel = transport_.open(lane_.source);
        if (!channel) return true;  // no second socket: judged on what the first one saw
        extra_channels_.push_back(std::move(*channel));
        client_ = extra_channels_.back().get();
        local_ = client_->local_sockaddr();
      }
      for (const auto& d : next.datagrams) {
        if (!send(d, &obs)) return false;
      }
      collect(obs);
    }
    return true;
  }

  // Every datagram that comes: logged, and counted for the limiting state.
  void arrived(const Datagram& d) {
    if (s_.log != nullptr && d.from_peer) s_.log->add(d.received, client_->peer_sockaddr(), local_, d.bytes);
    if (!d.from_peer) return;
    ++lane_.answered;
    ++shared_.answered;
    if (d.bytes.size() >= kHeaderLength &&
        is_rate_limit(parse_header(std::span<const uint8_t>(d.bytes).first<kHeaderLength>()))) {
      ++shared_.rate_kisses;
      if (!c_.floods) lane_.mark_limited();
    }
  }

  // A request the server answers went unanswered, then was answered when sent again: on a path
  // that loses nothing (loopback), that is a limiter dropping what it did not let through (chrony's
  // `leak` answers a random share). Any verdict on this address that rests on silence is then
  // run again, paced, before it counts.
  void dropped_then_answered() {
    if (c_.floods) return;
    ++shared_.dropped;
    lane_.mark_limited();
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
    const size_t before = obs.received.size();
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
      arrived(*d);
      if (is_stale_reply(d->bytes)) continue;
      keep(obs, std::move(*d));
      if (c_.expect == Expect::Reply && obs.received.size() == before + 1) {
        deadline = std::min(deadline, Clock::now() + grace);
      }
    }
  }

  // A valid client request; true if the server answered it (with retries). A late answer to
  // the stimulus (its origin is one of the stimulus's transmits) is no answer to the bracket:
  // it goes to `late` (the bracket after), where the case judges it. Anything else shows the
  // server is there, even an answer that breaks the rules judged elsewhere (a wrong origin, a
  // wrong length, a kiss-o'-death).
  bool bracket(Observation* late) {
    // A late answer to an earlier bracket (the one before the stimulus) says nothing of now.
    const size_t earlier = bracket_transmits_.size();
    for (unsigned attempt = 0; attempt <= retries_; ++attempt) {
      const Header h = client_request(4, Timestamp::from_raw(rng_()));
      bracket_transmits_.push_back(h.transmit);
      const auto b = serialize_header(h);
      if (!send(b, nullptr)) return false;
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
        arrived(*d);
        if (!d->from_peer) continue;
        if (d->bytes.size() >= kHeaderLength) {
          const Header reply = parse_header(std::span<const uint8_t>(d->bytes).first<kHeaderLength>());
          if (late != nullptr && answers_stimulus(*late, reply.origin)) {
            keep(*late, std::move(*d));
            continue;
          }
          const auto first_mine = bracket_transmits_.begin() + static_cast<std::ptrdiff_t>(earlier);
          if (std::find(bracket_transmits_.begin(), first_mine, reply.origin) != first_mine) continue;
          if (is_rate_limit(reply)) bracket_rate_kiss_ = true;
        }
        if (attempt > 0) dropped_then_answered();
        return true;
      }
    }
    return false;
  }

  const Case& c_;
  const RunSettings& s_;
  Pacer& pacer_;
  Lane& lane_;
  Shared& shared_;
  std::mt19937_64 rng_;
  Transport& transport_;
  Channel* client_ = nullptr;
  std::vector<std::unique_ptr<Channel>> extra_channels_;  // follow-ups from new source ports
  sockaddr_storage local_{};
  std::vector<Timestamp> bracket_transmits_;
  std::vector<Timestamp> stale_transmits_;
  unsigned retries_;
  bool paced_;
  bool out_of_time_ = false;
  bool bracket_rate_kiss_ = false;  // a bracket was answered with a RATE kiss-o'-death

  // A flood is counted; the first replies, each cut to kMaxKeptBytes (its length kept), are the
  // evidence.
  static void keep(Observation& o, Datagram d) {
    ++o.received_total;
    if (o.received.size() >= kMaxKeptReplies + o.sent.size()) return;
    const size_t length = d.bytes.size();
    if (length > kMaxKeptBytes) d.bytes = std::vector<uint8_t>(d.bytes.begin(), d.bytes.begin() + kMaxKeptBytes);
    o.received.push_back({std::move(d.bytes), d.received, d.from_peer, d.source, length});
  }

  static bool answers_stimulus(const Observation& o, Timestamp origin) {
    for (const auto& s : o.sent) {
      if (s.bytes.size() >= kHeaderLength &&
          parse_header(std::span<const uint8_t>(s.bytes).first<kHeaderLength>()).transmit == origin) {
        return true;
      }
    }
    return false;
  }
};

// A case's result without a run of it: left open, or skipped, for the reason given.
CaseResult unrun(const Case& c, Outcome outcome, std::string why) {
  CaseResult r;
  r.test = &c;
  r.outcome = outcome;
  r.judgement = {outcome == Outcome::Skip ? Finding::NotApplicable : Finding::Inconclusive, std::move(why), "", ""};
  return r;
}
CaseResult inconclusive(const Case& c, std::string why) {
  return unrun(c, Outcome::Inconclusive, std::move(why));
}

std::string seconds_text(std::chrono::milliseconds ms) {
  std::array<char, 32> b{};
  std::snprintf(b.data(), b.size(), "%.1f", static_cast<double>(ms.count()) / 1000.0);
  return b.data();
}

// A case's run, whatever it throws (a bad allocation, a thread that cannot be made): an
// inconclusive result with the reason, never std::terminate from a worker.
// An NTS-KE case: one TLS exchange, no datagrams; the request and the response are its evidence.
CaseResult run_ke(const Case& c, const RunSettings& s) {
  std::mt19937_64 rng(std::random_device{}());
  StimulusContext ctx{rng, SystemClock().now(), s.judge.auth, s.judge.nts};
  const KeRequest request = c.ke_stimulus(ctx);
  Observation obs;
  obs.target_port = s.target.port;
  obs.ke = s.ke_exchange(request);
  obs.sent.push_back({request.bytes, SystemClock().now()});
  if (!obs.ke->response.empty()) {
    Received r;
    r.bytes.assign(obs.ke->response.begin(), obs.ke->response.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                            obs.ke->response.size(), kMaxKeptBytes)));
    r.length = obs.ke->response.size();
    r.local_time = SystemClock().now();
    r.source = "NTS-KE";
    obs.received.push_back(std::move(r));
    obs.received_total = 1;
  }
  return evaluate(c, std::move(obs), s.judge, s.strict);
}

std::optional<CaseResult> run_guarded(const Case& c, const RunSettings& s, Transport& transport, Pacer& pacer,
                                      Lane& lane, Shared& shared, bool paced) {
  try {
    if (c.ke_stimulus) {
      std::lock_guard one_at_a_time(shared.key_establishment);
      return run_ke(c, s);
    }
    return CaseRun(c, s, transport, pacer, lane, shared, paced).run();
  } catch (const std::exception& e) {
    return inconclusive(c, std::string("the probe could not run this case: ") + e.what());
  }
}

// Would running the case again, paced, tell more? A kiss-o'-death RATE or silent brackets say
// so outright; any silence seen while its address was limited may be the limiter's too.
bool needs_retry(const CaseResult& r, bool lane_limited) {
  if (r.outcome == Outcome::Skip) return false;
  if (r.limit == Limit::RateKiss || r.limit == Limit::Silence) return true;
  if (r.limit == Limit::Denied || !lane_limited) return false;
  return r.observation.received.empty();
}

}  // namespace

RunResult run_cases(const std::vector<const Case*>& cases, const RunSettings& settings, const Progress& progress,
                    const std::function<void(const std::string&)>& notice) {
  RunResult out;
  UdpTransport udp(settings.target, settings.family);
  Transport& transport = settings.transport != nullptr ? *settings.transport : udp;
  std::vector<std::optional<CaseResult>> results(cases.size());
  // A case that signs its requests needs a key: without one it sends nothing.
  for (size_t i = 0; i < cases.size(); ++i) {
    if (cases[i]->needs_key && (settings.judge.auth == nullptr || settings.judge.auth->key == nullptr)) {
      results[i] = unrun(*cases[i], Outcome::Skip, "needs a key: give --keys FILE --key-id N");
    }
    const bool ke_ready = static_cast<bool>(settings.ke_exchange);
    const bool nts_ready = settings.judge.nts != nullptr && settings.judge.nts->aead != nullptr;
    if (cases[i]->needs_nts && (cases[i]->ke_stimulus ? !ke_ready : !nts_ready)) {
      results[i] = unrun(
          *cases[i], Outcome::Skip,
          ke_ready ? "needs NTS: key establishment gave no keys and cookies" : "needs NTS: give --nts HOST[:KE-PORT]");
    }
  }
  Pacer pacer(settings.interval);
  Shared shared;
  shared.deadline = Clock::now() + settings.budget;
  std::vector<std::unique_ptr<Lane>> lanes;
  for (const auto& source : settings.sources) {
    lanes.push_back(std::make_unique<Lane>());
    lanes.back()->source = &source;
  }
  if (lanes.empty()) lanes.push_back(std::make_unique<Lane>());
  const auto lane_of = [&](size_t i) -> Lane& { return *lanes[i % lanes.size()]; };

  // Concurrently, each case from its own port. Once an address is limited, its cases that have
  // not started wait for the paced phase instead of feeding the limiter.
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  size_t done = 0;
  const auto finished = [&] {
    std::lock_guard lock(progress_mutex);
    ++done;
    if (progress) progress(done, cases.size());
  };
  const size_t workers = std::max<size_t>(1, std::min<size_t>(settings.jobs, cases.size()));
  // Bursts last: a limit they provoke must not fall on the other cases.
  std::vector<size_t> order(cases.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_partition(order.begin(), order.end(), [&](size_t i) { return !cases[i]->floods; });
  const size_t first_burst = static_cast<size_t>(
      std::find_if(order.begin(), order.end(), [&](size_t i) { return cases[i]->floods; }) - order.begin());
  std::atomic<size_t> first_wave_done{0};
  shared.started = Clock::now();
  shared.silence_limit = settings.silence_limit.count() > 0
                             ? settings.silence_limit
                             : std::max<std::chrono::milliseconds>(std::chrono::milliseconds(5000),
                                                                   2 * settings.timeout * (settings.retries + 1));
  shared.notice = notice;
  const std::string silent_why =
      "not concluded: the server answered nothing in the first " + seconds_text(shared.silence_limit) + " s";
  // The stateful cases first, one after the other and alone: nothing else from their address
  // comes between the exchanges whose state the server keeps, and no burst has provoked a limit.
  for (size_t k = 0; k < cases.size(); ++k) {
    const size_t i = order[k];
    if (!cases[i]->stateful) continue;
    Lane& lane = lane_of(i);
    if (results[i]) {
      // skipped before the start
    } else if (shared.silent()) {
      results[i] = inconclusive(*cases[i], silent_why);
    } else if (!lane.limited) {
      results[i] = run_guarded(*cases[i], settings, transport, pacer, lane, shared, false);
      if (!results[i] && !lane.limited) {
        results[i] =
            inconclusive(*cases[i], "not run: the --budget of " + seconds_text(settings.budget) + " s was spent");
      }
    }
    finished();
  }

  std::vector<std::thread> threads;
  threads.reserve(workers);
  // Starts `work` on a thread of its own; where none can be made, runs it here.
  const auto start = [&](auto work) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      work();
    }
  };
  for (size_t w = 0; w < workers; ++w) {
    start([&] {
      for (size_t k = next++; k < cases.size(); k = next++) {
        const size_t i = order[k];
        if (k >= first_burst) {
          while (first_wave_done < first_burst) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        Lane& lane = lane_of(i);
        if (cases[i]->stateful) {  // run alone before the others (above)
          if (k < first_burst) ++first_wave_done;
          continue;
        }
        if (results[i]) {  // skipped before the start
          finished();
          if (k < first_burst) ++first_wave_done;
          continue;
        }
        if (shared.silent()) {
          results[i] = inconclusive(*cases[i], silent_why);
          finished();
          if (k < first_burst) ++first_wave_done;
          continue;
        }
        if (!lane.limited) results[i] = run_guarded(*cases[i], settings, transport, pacer, lane, shared, false);
        if (!results[i] && !lane.limited) {
          results[i] = inconclusive(
              *cases[i], shared.gave_up ? silent_why
                                        : "not run: the --budget of " + seconds_text(settings.budget) + " s was spent");
        }
        finished();
        if (k < first_burst) ++first_wave_done;
      }
    });
  }
  for (auto& t : threads) t.join();

  // On an address the server limited, what rests on silence may be the limiter's: run again.
  // A burst case judges limiting itself and stands.
  for (size_t i = 0; i < cases.size(); ++i) {
    Lane& lane = lane_of(i);
    if (cases[i]->floods) {  // a burst, paced, is no burst: it stands or is left open
      if (!results[i]) {
        results[i] = inconclusive(*cases[i],
                                  "rate limited: the server already limited this address, so a burst "
                                  "would judge the limiter's state");
        results[i]->limit = Limit::Silence;
      }
      continue;
    }
    if (!results[i] || needs_retry(*results[i], lane.limited)) lane.deferred.push_back(i);
  }
  const size_t answered_before_paced = shared.answered;

  // Paced: one thread a limited address, its cases one after the other, slower while the server
  // still limits, within the budget.
  RateLimitReport& rl = out.rate_limit;
  rl.sources = lanes.size();
  rl.budget_s = static_cast<double>(settings.budget.count()) / 1000.0;
  size_t to_retry = 0;
  for (auto& lane : lanes) {
    std::sort(lane->deferred.begin(), lane->deferred.end());
    to_retry += lane->deferred.size();
  }
  if (to_retry > 0 && notice) {
    notice("the server limits this client: " + std::to_string(to_retry) + " case(s) run again, one at a time, from " +
           seconds_text(std::max(settings.retry_interval, settings.interval)) + " s between datagrams (budget " +
           seconds_text(settings.budget) + " s)");
  }
  std::mutex report_mutex;
  std::chrono::milliseconds slowest{0};
  threads.clear();
  for (auto& lane_ptr : lanes) {
    Lane& lane = *lane_ptr;
    if (lane.deferred.empty()) continue;
    start([&] {
      lane.interval = std::max(settings.retry_interval, settings.interval);
      lane.next = Clock::now() + lane.interval;  // a first pause: let the limiter recover
      std::deque<size_t> queue(lane.deferred.begin(), lane.deferred.end());
      std::map<size_t, unsigned> rounds;
      const size_t retried = lane.deferred.size();
      size_t concluded = 0, unresolved = 0;
      bool spent = false;
      while (!queue.empty()) {
        const size_t i = queue.front();
        queue.pop_front();
        auto r = spent ? std::nullopt : run_guarded(*cases[i], settings, transport, pacer, lane, shared, true);
        if (!r) {
          spent = true;
          const bool was_limited = results[i].has_value();
          results[i] = inconclusive(*cases[i],
                                    std::string(was_limited ? "rate limited: not concluded" : "rate limited: not run") +
                                        " within the --budget of " + seconds_text(settings.budget) + " s");
          results[i]->limit = Limit::Silence;
          ++unresolved;
          continue;
        }
        const bool again = r->limit == Limit::RateKiss || r->limit == Limit::Silence;
        if (again && ++rounds[i] < settings.max_retry_rounds) {
          lane.interval = std::min(lane.interval * 2, std::max(settings.max_retry_interval, lane.interval));
          results[i] = std::move(r);
          queue.push_back(i);
          continue;
        }
        if (again) {
          const bool kiss = r->limit == Limit::RateKiss;
          results[i] = std::move(r);
          results[i]->outcome = Outcome::Inconclusive;
          results[i]->judgement = {
              Finding::Inconclusive,
              std::string("rate limited: ") + (kiss ? "a RATE kiss-o'-death" : "no answer around the request") +
                  " in " + std::to_string(settings.max_retry_rounds) +
                  " paced attempts (the last at one datagram every " + seconds_text(lane.interval) + " s)",
              "", ""};
          ++unresolved;
          continue;
        }
        results[i] = std::move(r);
        ++concluded;
      }
      std::lock_guard lock(report_mutex);
      rl.retried += retried;
      rl.concluded += concluded;
      rl.unresolved += unresolved;
      rl.budget_spent = rl.budget_spent || spent;
      slowest = std::max(slowest, lane.interval);
    });
  }
  for (auto& t : threads) t.join();

  rl.rate_kisses = shared.rate_kisses;
  rl.silences = shared.silences;
  rl.dropped = shared.dropped;
  rl.final_interval_s = static_cast<double>(slowest.count()) / 1000.0;
  for (const auto& lane : lanes) {
    if (!lane->limited) continue;
    if (rl.sources_limited++ == 0) rl.answered_before = lane->answered_before;
  }
  // Limiting, as opposed to a server that stopped: a RATE kiss-o'-death, cases that concluded
  // once paced, requests answered only when sent again (the server was there, and dropped what
  // it did not let through), or silence that ended when we slowed down (a server that had
  // stopped would stay silent).
  rl.detected = rl.rate_kisses > 0 || rl.concluded > 0 || rl.dropped > 0 ||
                (rl.silences > 0 && shared.answered > answered_before_paced);
  out.results.reserve(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    out.results.push_back(results[i] ? std::move(*results[i])
                                     : inconclusive(*cases[i], "not run: the --budget of " +
                                                                   seconds_text(settings.budget) + " s was spent"));
  }
  return out;
}

}  // namespace ntpkit::probe
