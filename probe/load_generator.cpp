#include "load_generator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::probe {
namespace {

constexpr unsigned kBatch = 32;
// Requests in flight are found again by the low bits of their transmit timestamp, which the
// generator replaces by a slot number (RFC 5905 §6 lets a client fill the bits below its
// precision as it likes; 2^18 units of 2^-32 s are 61 us). The whole 64 bits must still match.
// Slots are a permutation of the sequence number, not the number itself: requests sent in
// the same 61 us share the high bits, and with consecutive slots a server that flips a low
// bit of the origin would hand us another in-flight request's exact transmit timestamp.
constexpr unsigned kRingBits = 18;
constexpr uint64_t kRingSize = uint64_t{1} << kRingBits;
static_assert(kRingSize == kMaxInFlight);
constexpr uint64_t kRingMask = kRingSize - 1;
constexpr uint64_t slot_of(uint64_t seq) {
  return (seq * 0x9E3779B97F4A7C15ULL) & kRingMask;
}  // odd: a bijection
constexpr size_t kReplyBuffer = 1024;  // longer replies arrive truncated; the header is enough
constexpr int kMaxEvents = 64;
constexpr int64_t kSpinBelowNs = 2'000'000;  // see run(): busy-poll while the load runs

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

struct Slot {
  uint64_t transmit = 0;  // 0: free
  int64_t sent_ns = 0;    // CLOCK_REALTIME, to compare with the kernel's receive timestamp
  int64_t sent_mono = 0;  // CLOCK_MONOTONIC, for the timeout: a step of the wall clock moves nothing
};

}  // namespace

struct LoadGenerator::Impl {
  LoadConfig config;
  std::vector<int> fds;
  int epoll_fd = -1;
  std::vector<Slot> ring = std::vector<Slot>(kRingSize);
  uint64_t next_seq = 0;
  uint64_t oldest = 0;  // every slot below it is free
  uint64_t in_flight = 0;
  unsigned next_socket = 0;
  uint64_t refused = 0;  // ICMP port unreachable, reported on a connected socket
  LoadTally* tally = nullptr;

  std::array<std::array<uint8_t, kHeaderLength>, kBatch> out{};
  std::array<mmsghdr, kBatch> tx{};
  std::array<iovec, kBatch> tx_iov{};
  std::array<std::array<uint8_t, kReplyBuffer>, kBatch> in{};
  std::array<mmsghdr, kBatch> rx{};
  std::array<iovec, kBatch> rx_iov{};
  std::array<std::array<char, CMSG_SPACE(sizeof(timespec)) + 64>, kBatch> control{};
  // NTS: each request built anew (its own Unique Identifier, nonce and authenticator).
  std::array<std::vector<uint8_t>, kBatch> nts_out{};
  std::array<uint8_t, 32> uid_base{};    // random; the last 8 octets become the transmit timestamp
  std::array<uint8_t, 16> nonce_base{};  // random; the last 8 octets become a counter
  uint64_t nonces = 0;
  size_t request_length = kHeaderLength;

  ~Impl() {
    for (int fd : fds) close(fd);
    if (epoll_fd >= 0) close(epoll_fd);
  }

  std::string open_sockets();
  unsigned send_batch(unsigned count);
  void receive(int fd);
  void take_reply(std::span<const uint8_t> bytes, const msghdr& m);
  void expire(int64_t now_mono, bool all);
  std::string network_error() const;
  [[nodiscard]] std::array<uint8_t, 32> unique_id(uint64_t transmit) const;
  bool build_nts(unsigned i, uint64_t transmit);
};

std::array<uint8_t, 32> LoadGenerator::Impl::unique_id(uint64_t transmit) const {
  std::array<uint8_t, 32> uid = uid_base;
  for (int b = 0; b < 8; ++b) uid[24 + static_cast<size_t>(b)] = static_cast<uint8_t>(transmit >> (56 - 8 * b));
  return uid;
}

// The NTS request for batch position i with this transmit timestamp; false if the AEAD refused.
bool LoadGenerator::Impl::build_nts(unsigned i, uint64_t transmit) {
  const NtsLoad& n = *config.nts;
  const auto uid = unique_id(transmit);
  std::array<uint8_t, 16> nonce = nonce_base;
  const uint64_t count = nonces++;
  for (int b = 0; b < 8; ++b) nonce[8 + static_cast<size_t>(b)] = static_cast<uint8_t>(count >> (56 - 8 * b));
  nts::RequestParts parts;
  parts.header = client_request(static_cast<uint8_t>(config.version), Timestamp::from_raw(transmit));
  parts.unique_id = uid;
  parts.cookie = n.cookie;
  parts.nonce = nonce;
  auto built = nts::build_request(parts, *n.aead, n.c2s);
  if (!built) return false;
  nts_out[i] = std::move(*built);
  tx_iov[i] = {nts_out[i].data(), nts_out[i].size()};
  return true;
}

std::string LoadGenerator::Impl::open_sockets() {
  const int family = config.target.ss_family;
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return errno_text("epoll_create1");
  for (unsigned i = 0; i < config.sockets; ++i) {
    const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return errno_text("socket") + " (socket " + std::to_string(i + 1) + " of " + std::to_string(config.sockets) + ")";
    fds.push_back(fd);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    // Room for bursts: the forcing variant needs CAP_NET_ADMIN; without it, the plain one.
    const int buffer = 1 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    }
    if (config.source_addresses > 1) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr.s_addr = htonl(0x7f000001U + i % config.source_addresses);
      if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
        return errno_text((std::string("cannot bind ") + text).c_str());
      }
    }
    // Connected: the kernel filters other sources, and sends skip the route lookup.
    if (connect(fd, reinterpret_cast<const sockaddr*>(&config.target), config.target_len) != 0)
      return errno_text("connect");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) return errno_text("epoll_ctl");
  }
  if (config.nts) {
    if (getrandom(uid_base.data(), uid_base.size(), 0) != static_cast<ssize_t>(uid_base.size()) ||
        getrandom(nonce_base.data(), nonce_base.size(), 0) != static_cast<ssize_t>(nonce_base.size())) {
      return errno_text("getrandom");
    }
  }
  for (unsigned i = 0; i < kBatch; ++i) {
    // Data-minimised; each send writes its own transmit timestamp into the copy.
    out[i] = serialize_header(client_request(static_cast<uint8_t>(config.version), Timestamp{}));
    tx_iov[i] = {out[i].data(), out[i].size()};
    tx[i].msg_hdr = msghdr{};
    tx[i].msg_hdr.msg_iov = &tx_iov[i];
    tx[i].msg_hdr.msg_iovlen = 1;
  }
  if (config.nts) {
    if (!build_nts(0, 0)) return "the AEAD refused the NTS keys";
    request_length = nts_out[0].size();
    tx_iov[0] = {out[0].data(), out[0].size()};
  }
  return {};
}

// Sends up to `count` (<= kBatch) requests from the next socket; returns how many left.
unsigned LoadGenerator::Impl::send_batch(unsigned count) {
  const int fd = fds[next_socket];
  next_socket = (next_socket + 1) % static_cast<unsigned>(fds.size());
  const int64_t now = realtime_ns();
  const int64_t now_mono = monotonic_ns();
  const uint64_t high = Timestamp::from_unix_nanoseconds(now).raw() & ~kRingMask;
  for (unsigned i = 0; i < count; ++i) {
    if (next_seq + i - oldest >= kRingSize) expire(now_mono, false);
    if (next_seq + i - oldest >= kRingSize) {  // the oldest is still in flight: give it up
      Slot& s = ring[slot_of(oldest)];
      if (s.transmit != 0) {
        s.transmit = 0;
        --in_flight;
        ++tally->lost;
      }
      ++oldest;
    }
    const uint64_t slot = slot_of(next_seq + i);
    const uint64_t transmit = high | slot;
    ring[slot] = {transmit, now, now_mono};
    if (config.nts) {
      if (!build_nts(i, transmit)) {  // cannot happen with keys that sealed at open(): send fewer
        for (unsigned j = 0; j <= i; ++j) ring[slot_of(next_seq + j)].transmit = 0;
        ++tally->send_errors;
        return 0;
      }
      continue;
    }
    for (int b = 0; b < 8; ++b) out[i][40 + b] = static_cast<uint8_t>(transmit >> (56 - 8 * b));
  }
  int sent = sendmmsg(fd, tx.data(), count, 0);
  if (sent < 0) {
    if (errno == ECONNREFUSED) ++refused;
    if (errno != EAGAIN && errno != ENOBUFS) ++tally->send_errors;
    sent = 0;
  }
  // Requests that did not leave give their numbers back: the next batch takes them again, so
  // that failing sends cannot run through the ring and push out requests still in flight.
  for (unsigned i = static_cast<unsigned>(sent); i < count; ++i) ring[slot_of(next_seq + i)].transmit = 0;
  next_seq += static_cast<uint64_t>(sent);
  in_flight += static_cast<uint64_t>(sent);
  tally->sent += static_cast<uint64_t>(sent);
  return static_cast<unsigned>(sent);
}

void LoadGenerator::Impl::receive(int fd) {
  for (int round = 0; round < 8; ++round) {
    for (unsigned i = 0; i < kBatch; ++i) {
      rx_iov[i] = {in[i].data(), in[i].size()};
      msghdr& m = rx[i].msg_hdr;
      m = msghdr{};
      m.msg_iov = &rx_iov[i];
      m.msg_iovlen = 1;
      m.msg_control = control[i].data();
      m.msg_controllen = control[i].size();
    }
    const int got = recvmmsg(fd, rx.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == ECONNREFUSED) {
        ++refused;
        continue;
      }
      return;
    }
    for (int i = 0; i < got; ++i) {
      const size_t len = std::min<size_t>(rx[i].msg_len, kReplyBuffer);
      take_reply(std::span<const uint8_t>(in[i].data(), len), rx[i].msg_hdr);
    }
    if (static_cast<unsigned>(got) < kBatch) return;
  }
}

void LoadGenerator::Impl::take_reply(std::span<const uint8_t> bytes, const msghdr& m) {
  if (bytes.size() < kHeaderLength) {
    ++tally->unmatched;  // too short to carry an origin: it cannot be matched to a request
    return;
  }
  const Header h = parse_header(bytes.first<kHeaderLength>());
  const uint64_t origin = h.origin.raw();
  Slot& s = ring[origin & kRingMask];
  if (origin == 0 || s.transmit != origin) {
    ++tally->unmatched;
    return;
  }
  s.transmit = 0;
  --in_flight;
  // The one judge of a time reply (query's): a reply cut short by our buffer was longer than any
  // request we send, so amplified. An unsynchronized server's answer is still an answer served.
  const Header sent = client_request(static_cast<uint8_t>(config.version), h.origin);
  const auto uid = config.nts ? unique_id(origin) : std::array<uint8_t, 32>{};
  const NtsRequestKey nts_key{uid, config.nts ? config.nts->aead : nullptr,
                              config.nts ? std::span<const uint8_t>(config.nts->s2c) : std::span<const uint8_t>{}};
  const RequestKey key{.nts = &nts_key};
  ReplyProblems p = (m.msg_flags & MSG_TRUNC) != 0
                        ? ReplyProblems{}
                        : judge_reply(sent, request_length, bytes, config.nts ? &key : nullptr);
  if ((m.msg_flags & MSG_TRUNC) != 0) p.add(ReplyProblem::Amplified);
  if (p.has(ReplyProblem::KissOfDeath)) {
    ++tally->kiss_of_death;
    return;
  }
  p.remove(ReplyProblem::Unsynchronized);
  if (p.usable()) {
    ++tally->valid;
  } else {
    ++tally->invalid;
  }
  // Timings of every answer that carries both timestamps, valid or not: a server whose time goes
  // backwards is shown in the negative T3-T2 counter.
  if (h.receive.is_zero() || h.transmit.is_zero() || p.has(ReplyProblem::Malformed)) return;
  int64_t received = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      received = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }
  }
  if (received == 0) received = realtime_ns();
  tally->rtt_ns.add(received - s.sent_ns);
  tally->server_ns.add((h.transmit - h.receive).to_nanoseconds());
}

// Requests older than the timeout (all of them with `all`) are lost; `oldest` moves past every
// slot that is free.
void LoadGenerator::Impl::expire(int64_t now_mono, bool all) {
  const int64_t timeout = config.timeout.count();
  while (oldest < next_seq) {
    Slot& s = ring[slot_of(oldest)];
    if (s.transmit != 0) {
      if (!all && now_mono - s.sent_mono < timeout) return;
      s.transmit = 0;
      --in_flight;
      ++tally->lost;
    }
    ++oldest;
  }
}

std::string LoadGenerator::Impl::network_error() const {
  if (refused > 0 && tally->valid + tally->invalid + tally->kiss_of_death + tally->unmatched == 0) {
    return "connection refused: nothing listens there (ICMP port unreachable)";
  }
  return {};
}

LoadGenerator::LoadGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LoadGenerator::LoadGenerator(LoadGenerator&&) noexcept = default;
LoadGenerator::~LoadGenerator() = default;

Result<LoadGenerator, std::string> LoadGenerator::open(const LoadConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  // Open-loop pacing sleeps for tens of microseconds; the default 50 us timer slack would
  // bunch the requests up.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  if (std::string e = impl->open_sockets(); !e.empty()) return Failure{e};
  return LoadGenerator(std::move(impl));
}

LoadTally LoadGenerator::run(const LoadPhase& phase, const std::function<void(const LoadTally&, double)>& progress,
                             std::string& error) {
  Impl& g = *impl_;
  LoadTally tally;
  g.tally = &tally;
  g.refused = 0;
  const int64_t start = monotonic_ns();
  const int64_t end = start + phase.duration.count();
  const int64_t drain_end = end + g.config.timeout.count();
  int64_t next_progress = start + 250'000'000;
  uint64_t attempted = 0;  // open loop: requests due so far, sent or not, so a failure is no burst
  std::array<epoll_event, kMaxEvents> events{};
  for (int64_t now = start; now < drain_end; now = monotonic_ns()) {
    int64_t wait_ns = 10'000'000;
    if (now < end) {
      if (phase.outstanding > 0) {
        for (unsigned budget = 8; budget > 0 && g.in_flight < phase.outstanding; --budget) {
          g.send_batch(static_cast<unsigned>(std::min<uint64_t>(kBatch, phase.outstanding - g.in_flight)));
        }
        wait_ns = 0;  // the next request goes out as soon as a reply comes
      } else {
        const auto due = static_cast<uint64_t>(phase.rate * static_cast<double>(now - start) / 1e9) + 1;
        for (unsigned budget = 8; budget > 0 && attempted < due; --budget) {
          const auto n = static_cast<unsigned>(std::min<uint64_t>(kBatch, due - attempted));
          g.send_batch(n);
          attempted += n;
        }
        const int64_t next_due = start + static_cast<int64_t>(static_cast<double>(attempted) * 1e9 / phase.rate);
        wait_ns = std::max<int64_t>(0, next_due - monotonic_ns());
      }
      wait_ns = std::min(wait_ns, end - now);
    } else if (g.in_flight == 0) {
      break;
    }
    // While the load runs, poll without sleeping unless the next request is far off: a sleeping
    // generator must be woken for every reply, and the wake-up (an inter-processor interrupt,
    // costly in a VM) is paid on the server's CPU, in the softirq that delivers the reply.
    if (now < end && wait_ns < kSpinBelowNs) wait_ns = 0;
    const timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
    const int n = epoll_pwait2(g.epoll_fd, events.data(), kMaxEvents, &ts, nullptr);
    if (n < 0 && errno != EINTR) {
      error = errno_text("epoll_pwait2");
      break;
    }
    for (int i = 0; i < n; ++i) g.receive(g.fds[events[static_cast<size_t>(i)].data.u32]);
    g.expire(monotonic_ns(), false);
    if (progress && now >= next_progress) {
      next_progress = now + 250'000'000;
      tally.seconds = static_cast<double>(now - start) / 1e9;
      progress(tally, tally.seconds);
    }
  }
  g.expire(0, true);
  tally.seconds = static_cast<double>(std::min(monotonic_ns(), end) - start) / 1e9;
  if (error.empty()) error = g.network_error();
  g.tally = nullptr;
  return tally;
}

bool LoadGenerator::answers(std::chrono::milliseconds duration, std::string& why) {
  // A few in flight and a few tries, so that a server which drops some requests on purpose
  // still counts as answering; a refusal ends it at once.
  for (int attempt = 0; attempt < 3 && why.empty(); ++attempt) {
    const LoadTally t = run({.outstanding = 4, .rate = 0, .duration = duration}, {}, why);
    if (t.valid + t.invalid + t.kiss_of_death + t.unmatched > 0) {
      why.clear();
      return true;
    }
  }
  return false;
}

}  // namespace ntpkit::probe
