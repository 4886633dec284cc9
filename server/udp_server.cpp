#include "udp_server.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>

#include "kernel_clock.hpp"
#include "ntpkit/wire/parse.hpp"

namespace ntpkit::server {
namespace {

constexpr size_t kBatch = 32;
constexpr size_t kMaxDatagram = 2048;  // larger datagrams arrive truncated and are dropped
constexpr size_t kReplyCapacity = kMaxDatagram + kOversizePadding;
constexpr auto kStateRefresh = std::chrono::seconds(1);
constexpr auto kReferenceRefresh = std::chrono::seconds(64);

// Single-writer counter bump: a plain load and store, no locked instruction.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
void unbump(std::atomic<uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

std::string address_string(const sockaddr_storage& ss) {
  return format_sockaddr(ss, true);
}

std::span<const uint8_t> address_bytes(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
    return {reinterpret_cast<const uint8_t*>(&sin.sin_addr), 4};
  }
  const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
  return {reinterpret_cast<const uint8_t*>(&sin6.sin6_addr), 16};
}

// --misbehave delay holds replies; at most this many at once (about 10 MiB with their buffers).
constexpr size_t kMaxPending = 65536;

struct Pending {
  std::chrono::steady_clock::time_point due;
  int fd;
  sockaddr_storage to;
  socklen_t to_len;
  std::vector<uint8_t> bytes;
  uint8_t copies;
  bool remember;      // Action::remember: record {receive, when it left} for interleaved mode
  Timestamp receive;  // Action::receive
};

// Buffers for one batch, allocated once.
struct Batch {
  std::array<mmsghdr, kBatch> rx{};
  std::array<iovec, kBatch> rx_iov{};
  std::array<sockaddr_storage, kBatch> from{};
  std::array<std::array<uint8_t, kMaxDatagram>, kBatch> in{};
  // SCM_TIMESTAMPNS, and SCM_TIMESTAMPING that SO_TIMESTAMPING's reporting flag may add beside it.
  std::array<std::array<char, CMSG_SPACE(sizeof(timespec)) + CMSG_SPACE(3 * sizeof(timespec)) + 64>, kBatch> control{};
  std::array<mmsghdr, 2 * kBatch> tx{};
  std::array<iovec, 2 * kBatch> tx_iov{};
  std::array<bool, 2 * kBatch> first_copy{};    // counts as answered once sent (a duplicate does not)
  std::array<bool, 2 * kBatch> remember{};      // Action::remember, on the first copy
  std::array<Timestamp, 2 * kBatch> receive{};  // Action::receive
  std::array<bool, 2 * kBatch> stamped{};       // the kernel is asked for this datagram's transmit timestamp
  std::array<std::array<char, CMSG_SPACE(sizeof(uint32_t))>, 2 * kBatch> tx_control{};
  std::array<std::array<uint8_t, kReplyCapacity>, kBatch> out{};
};

Timestamp receive_time(const msghdr& msg, const Clock& clock) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return Timestamp::from_timespec(ts);
    }
  }
  return clock.now();  // no kernel timestamp: the next best thing
}

// Per listener socket: the replies whose kernel transmit timestamp is still to come, by the
// socket's stamp number (SOF_TIMESTAMPING_OPT_ID numbers the datagrams it stamps).
struct AwaitedStamp {
  uint32_t id = 0;
  bool waiting = false;
  sockaddr_storage to{};
  Timestamp receive;
  Timestamp before, after;  // the clock around the send: a stamp outside is not this reply's
};
struct TxTrack {
  int fd = -1;
  uint32_t next_id = 0;
  std::array<AwaitedStamp, 1024> ring{};  // bounded: a stamp 1024 datagrams late is not awaited
};

class Loop {
 public:
  Loop(Config config, const std::vector<Listener>& listeners, WorkerCounters& counters, const std::atomic<bool>& stop,
       int wake_fd)
      : config_(std::move(config)),
        configured_(config_.state),
        listeners_(listeners),
        counters_(counters),
        stop_(stop),
        wake_fd_(wake_fd),
        limiter_(config_.rate),
        batch_(std::make_unique<Batch>()) {
    if (getrandom(&rng_, sizeof rng_, 0) != sizeof rng_) rng_ = 0x243f6a8885a308d3ULL;
    rng_ |= 1;
    for (const auto& l : listeners_) {
      tx_.push_back(std::make_unique<TxTrack>());
      tx_.back()->fd = l.fd;
    }
  }

  int run() {
    refresh_state(true);
    std::vector<pollfd> fds;
    for (const auto& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
    fds.push_back({wake_fd_, POLLIN, 0});  // the main thread's stop
    while (!stop_.load(std::memory_order_relaxed)) {
      const timespec timeout = next_timeout();
      const int n = ppoll(fds.data(), fds.size(), &timeout, nullptr);
      if (n < 0 && errno != EINTR) {
        std::fprintf(stderr, "ntp-server: poll failed: %s\n", std::strerror(errno));
        return 3;
      }
      send_due();
      refresh_state(false);
      if (n <= 0) continue;
      for (size_t i = 0; i + 1 < fds.size(); ++i) {
        // Transmit timestamps first: a client's next request must find its last reply's.
        if ((fds[i].revents & POLLERR) != 0) read_transmit_stamps(*tx_[i]);
        if ((fds[i].revents & POLLIN) != 0) drain(fds[i].fd);
      }
    }
    return 0;
  }

 private:
  void refresh_state(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_refresh_ < kStateRefresh) return;
    last_refresh_ = now;
    if (config_.leap_auto) {
      const Timestamp reference = config_.state.reference_time;
      config_.state = announce(configured_, kernel_leap());
      config_.state.reference_time = reference;
    }
    if (force || now - last_reference_ >= kReferenceRefresh) {
      last_reference_ = now;
      config_.state.reference_time = clock_.now();
    }
  }

  timespec next_timeout() const {
    auto wait = std::chrono::milliseconds(1000);
    if (!pending_.empty()) {
      const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(pending_.front().due -
                                                                               std::chrono::steady_clock::now());
      wait = std::clamp(until + std::chrono::milliseconds(1), std::chrono::milliseconds(0), wait);
    }
    return {static_cast<time_t>(wait.count() / 1000), static_cast<long>(wait.count() % 1000) * 1'000'000};
  }

  uint64_t next_random() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
  }

  void drain(int fd) {
    Batch& b = *batch_;
    // Bounded: at most a few batches per wake-up so that timers and signals stay responsive.
    for (int round = 0; round < 8; ++round) {
      for (size_t i = 0; i < kBatch; ++i) {
        b.rx_iov[i] = {b.in[i].data(), b.in[i].size()};
        msghdr& m = b.rx[i].msg_hdr;
        m = msghdr{};
        m.msg_name = &b.from[i];
        m.msg_namelen = sizeof(sockaddr_storage);
        m.msg_iov = &b.rx_iov[i];
        m.msg_iovlen = 1;
        m.msg_control = b.control[i].data();
        m.msg_controllen = b.control[i].size();
      }
      const int got = recvmmsg(fd, b.rx.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return;
      size_t out_count = 0;
      for (int i = 0; i < got; ++i) out_count = handle(fd, static_cast<size_t>(i), out_count);
      flush(fd, out_count);
      if (static_cast<size_t>(got) < kBatch) return;
    }
  }

  // Decides one datagram; queues its reply in the send batch. Returns the new batch size.
  size_t handle(int fd, size_t i, size_t out_count) {
    Batch& b = *batch_;
    bump(counters_.received);
    const msghdr& m = b.rx[i].msg_hdr;
    if ((m.msg_flags & MSG_TRUNC) != 0) {
      bump(counters_.truncated);
      bump(counters_.dropped[static_cast<size_t>(DropReason::Malformed)]);
      return out_count;
    }
    const auto request = std::span<const uint8_t>(b.in[i].data(), b.rx[i].msg_len);
    RequestContext ctx;
    ctx.receive = receive_time(m, clock_);
    ctx.random = next_random();
    if (config_.rate_limit) ctx.rate = limiter_.check(address_bytes(b.from[i]), ctx.receive);
    if (config_.policy.interleaved) ctx.previous = interleave_.find(address_bytes(b.from[i]));
    // NTS nonces: random per request that could be NTS (extension fields); header-only requests
    // pay nothing.
    if (config_.policy.nts != nullptr && request.size() > kHeaderLength) {
      if (getrandom(ctx.nonce_seed.data(), ctx.nonce_seed.size(), 0) != static_cast<ssize_t>(ctx.nonce_seed.size())) {
        for (auto& x : ctx.nonce_seed) x = static_cast<uint8_t>(next_random());
      }
    }

    const Action a = respond(request, ctx, clock_, config_.state, config_.policy, config_.misbehaviour, b.out[i]);
    if (config_.verbose) log(b.from[i], request, a);
    if (!a.is_reply()) {
      bump(counters_.dropped[static_cast<size_t>(a.reason)]);
      return out_count;
    }
    if (a.kiss_of_death) bump(counters_.kiss_of_death);
    if (a.crypto_nak) bump(counters_.crypto_nak);
    if (a.interleaved) bump(counters_.interleaved);
    if (a.from_other_port) {
      send_from_other_port(b.from[i], m.msg_namelen, std::span<const uint8_t>(b.out[i].data(), a.length), a.copies);
      if (a.remember) remember(b.from[i], a.receive);
      return out_count;
    }
    if (a.delay_ms > 0) {
      // Bounded: a flood at a delaying server holds at most kMaxPending replies.
      if (pending_.size() >= kMaxPending) {
        bump(counters_.delay_queue_full);
        return out_count;
      }
      pending_.push_back({std::chrono::steady_clock::now() + std::chrono::milliseconds(a.delay_ms), fd, b.from[i],
                          m.msg_namelen, std::vector<uint8_t>(b.out[i].begin(), b.out[i].begin() + a.length), a.copies,
                          a.remember, a.receive});
      return out_count;
    }
    for (uint8_t c = 0; c < a.copies; ++c) {
      b.first_copy[out_count] = c == 0;
      b.remember[out_count] = c == 0 && a.remember;
      b.receive[out_count] = a.receive;
      b.stamped[out_count] = c == 0 && a.stamp_departure;
      b.tx_iov[out_count] = {b.out[i].data(), a.length};
      msghdr& t = b.tx[out_count].msg_hdr;
      t = msghdr{};
      t.msg_name = &b.from[i];
      t.msg_namelen = m.msg_namelen;
      t.msg_iov = &b.tx_iov[out_count];
      t.msg_iovlen = 1;
      if (b.stamped[out_count]) {
        // This datagram's software transmit timestamp, to the error queue.
        t.msg_control = b.tx_control[out_count].data();
        t.msg_controllen = b.tx_control[out_count].size();
        cmsghdr* cm = CMSG_FIRSTHDR(&t);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SO_TIMESTAMPING;
        cm->cmsg_len = CMSG_LEN(sizeof(uint32_t));
        const uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE;
        std::memcpy(CMSG_DATA(cm), &flags, sizeof flags);
      }
      ++out_count;
    }
    return out_count;
  }

  void flush(int fd, size_t count) {
    // Counted as answered as they are handed to the kernel (a client may read the reply before
    // sendmmsg returns), and taken back for those the kernel refuses.
    for (size_t k = 0; k < count; ++k) {
      if (batch_->first_copy[k]) bump(counters_.answered);
    }
    size_t done = 0;
    while (done < count) {
      const Timestamp before = clock_.now();
      const int sent = sendmmsg(fd, batch_->tx.data() + done, static_cast<unsigned>(count - done), 0);
      if (sent <= 0) {
        // A reply that cannot be sent is counted and dropped; the loop goes on.
        bump(counters_.send_errors);
        if (batch_->first_copy[done]) unbump(counters_.answered);
        ++done;
        continue;
      }
      // RFC 9769: when these replies left, for the clients' next interleaved requests. Read
      // right after the kernel took them: a software stand-in for a kernel transmit timestamp.
      const Timestamp left = clock_.now();
      TxTrack* track = track_of(fd);
      for (size_t k = done; k < done + static_cast<size_t>(sent); ++k) {
        const auto& to = *static_cast<const sockaddr_storage*>(batch_->tx[k].msg_hdr.msg_name);
        sent_on(track, to, batch_->remember[k], batch_->stamped[k], batch_->receive[k], before, left);
      }
      done += static_cast<size_t>(sent);
    }
  }

  // A reply sent on its own (delayed, or from another port): recorded as it leaves.
  void remember(const sockaddr_storage& to, Timestamp receive) {
    if (config_.policy.interleaved) interleave_.record(address_bytes(to), {receive, clock_.now()});
  }

  TxTrack* track_of(int fd) {
    for (auto& t : tx_) {
      if (t->fd == fd) return t.get();
    }
    return nullptr;
  }

  // One datagram the kernel took on a listener socket. A reply to remember is recorded now with
  // `after` (the clock right after the send); one the kernel stamps takes the socket's next
  // stamp number (SOF_TIMESTAMPING_OPT_ID numbers the datagrams it stamps) and awaits it.
  void sent_on(TxTrack* track, const sockaddr_storage& to, bool remember_it, bool stamped, Timestamp receive,
               Timestamp before, Timestamp after) {
    if (!remember_it || !config_.policy.interleaved) return;
    interleave_.record(address_bytes(to), {receive, after});
    if (track == nullptr || !stamped) return;
    const uint32_t id = track->next_id++;
    AwaitedStamp& a = track->ring[id % track->ring.size()];
    a = {id, true, to, receive, before, after};
  }

  // The socket's error queue: transmit timestamps (SCM_TIMESTAMPING, numbered by
  // sock_extended_err's ee_data). Bounded per wake-up, like the receive loop.
  void read_transmit_stamps(TxTrack& track) {
    for (int n = 0; n < 4 * static_cast<int>(kBatch); ++n) {
      std::array<char, 512> control{};
      msghdr m{};
      m.msg_control = control.data();
      m.msg_controllen = control.size();
      if (recvmsg(track.fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
      std::optional<Timestamp> stamp;
      std::optional<uint32_t> id;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
          scm_timestamping ts{};
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          if (ts.ts[0].tv_sec != 0 || ts.ts[0].tv_nsec != 0) stamp = Timestamp::from_timespec(ts.ts[0]);
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
          sock_extended_err e{};
          std::memcpy(&e, CMSG_DATA(c), sizeof e);
          if (e.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) id = e.ee_data;
        }
      }
      if (!stamp || !id) continue;
      AwaitedStamp& a = track.ring[*id % track.ring.size()];
      if (!a.waiting || a.id != *id) continue;
      a.waiting = false;
      // Only this reply's: taken while it was being sent, and the client's slot still holds it
      // (not a newer reply, nor another client's that took the slot).
      if ((*stamp - a.before).raw() < 0 || (a.after - *stamp).raw() < 0) continue;
      const auto held = interleave_.find(address_bytes(a.to));
      if (!held || held->receive != a.receive) continue;
      interleave_.record(address_bytes(a.to), {a.receive, *stamp});
      bump(counters_.kernel_transmit_stamps);
    }
  }

  // reply-from-other-port: an unbound socket of the client's family, so the kernel picks
  // another port than the one the request came to.
  void send_from_other_port(const sockaddr_storage& to, socklen_t len, std::span<const uint8_t> bytes, uint8_t copies) {
    int& fd = to.ss_family == AF_INET ? other_v4_ : other_v6_;
    if (fd < 0) fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (uint8_t c = 0; c < copies; ++c) {
      if (c == 0) bump(counters_.answered);
      if (fd < 0 || sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), len) < 0) {
        bump(counters_.send_errors);
        if (c == 0) unbump(counters_.answered);
      }
    }
  }

  void send_due() {
    const auto now = std::chrono::steady_clock::now();
    while (!pending_.empty() && pending_.front().due <= now) {
      const Pending& p = pending_.front();
      for (uint8_t c = 0; c < p.copies; ++c) {
        if (c == 0) bump(counters_.answered);
        if (sendto(p.fd, p.bytes.data(), p.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&p.to), p.to_len) < 0) {
          bump(counters_.send_errors);
          if (c == 0) unbump(counters_.answered);
          continue;
        }
        const Timestamp left = clock_.now();
        sent_on(nullptr, p.to, c == 0 && p.remember, false, p.receive, left, left);
      }
      pending_.pop_front();
    }
  }

  void log(const sockaddr_storage& from, std::span<const uint8_t> request, const Action& a) const {
    std::string what = "len " + std::to_string(request.size());
    if (request.size() >= kHeaderLength) {
      const Header h = parse_header(request.first<kHeaderLength>());
      what += " v" + std::to_string(h.version) + " mode " + std::to_string(static_cast<int>(h.mode));
    }
    if (a.is_reply()) {
      what += " -> reply " + std::to_string(a.length) + " bytes";
      if (a.kiss_of_death) what += " (kiss-o'-death)";
      if (a.crypto_nak) what += " (crypto-NAK)";
    } else {
      what += " -> dropped: " + std::string(name(a.reason));
    }
    std::printf("%s %s\n", address_string(from).c_str(), what.c_str());
    std::fflush(stdout);
  }

  Config config_;
  ServerState configured_;  // as the options gave it: --leap auto announces from it
  const std::vector<Listener>& listeners_;
  WorkerCounters& counters_;
  const std::atomic<bool>& stop_;
  int wake_fd_;
  SystemClock clock_;
  RateLimiter limiter_;
  InterleaveTable interleave_;  // RFC 9769: per client address, bounded (a worker's own)
  std::vector<std::unique_ptr<TxTrack>> tx_;
  std::unique_ptr<Batch> batch_;
  std::deque<Pending> pending_;
  uint64_t rng_ = 0;
  int other_v4_ = -1;
  int other_v6_ = -1;
  std::chrono::steady_clock::time_point last_refresh_;
  std::chrono::steady_clock::time_point last_reference_;
};

}  // namespace

void WorkerCounters::add_to(Counters& c) const {
  const auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  c.received += get(received);
  c.answered += get(answered);
  c.kiss_of_death += get(kiss_of_death);
  c.crypto_nak += get(crypto_nak);
  c.send_errors += get(send_errors);
  c.truncated += get(truncated);
  c.delay_queue_full += get(delay_queue_full);
  c.interleaved += get(interleaved);
  c.kernel_transmit_stamps += get(kernel_transmit_stamps);
  for (size_t i = 0; i < kDropReasonCount; ++i) c.dropped[i] += get(dropped[i]);
}

std::string format_counters(const Counters& c) {
  std::string s = "counters: received " + std::to_string(c.received) + ", answered " + std::to_string(c.answered) +
                  " (kiss-o'-death " + std::to_string(c.kiss_of_death) + ", crypto-NAK " +
                  std::to_string(c.crypto_nak) + ")";
  uint64_t dropped = 0;
  std::string reasons;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (c.dropped[i] == 0) continue;
    dropped += c.dropped[i];
    reasons += (reasons.empty() ? "" : ", ") + std::string(name(static_cast<DropReason>(i))) + " " +
               std::to_string(c.dropped[i]);
  }
  s += ", dropped " + std::to_string(dropped);
  if (!reasons.empty()) s += " (" + reasons + ")";
  if (c.send_errors != 0) s += ", send errors " + std::to_string(c.send_errors);
  if (c.delay_queue_full != 0) s += ", delayed replies dropped (queue full) " + std::to_string(c.delay_queue_full);
  if (c.interleaved != 0 || c.kernel_transmit_stamps != 0) {
    s += ", interleaved " + std::to_string(c.interleaved) + " (departures stamped by the kernel " +
         std::to_string(c.kernel_transmit_stamps) + ")";
  }
  return s;
}

namespace {

// One socket bound to `addr` (SO_REUSEPORT when several workers share the address).
int bind_socket(const sockaddr* addr, socklen_t len, bool reuseport, int& err) {
  const int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  const int one = 1;
  if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // Kernel receive timestamps: T2 is when the datagram arrived, not when we read it.
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  // Kernel transmit timestamps, reported (software, numbered, without the payload) but generated
  // only for the replies a send asks it of: those to clients in RFC 9769 interleaved mode. Where
  // the kernel gives none, the loop's clock read right after the send stands.
  const int tx = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &tx, sizeof tx);
  // The default buffer (about 200 kB) holds some 200 requests, a millisecond at full load: any
  // hiccup longer (a preempted vCPU, a burst) would drop requests. 4 MiB rides out about 20 ms.
  // The forcing variant goes past net.core.rmem_max and needs CAP_NET_ADMIN; else the plain one.
  const int buffer = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  if (bind(fd, addr, len) != 0) {
    err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string open_listeners(const Config& config, std::vector<std::vector<Listener>>& out) {
  const unsigned workers = std::max(1U, config.threads);
  out.assign(workers, {});
  for (size_t k = 0; k < config.listen.size(); ++k) {
    const std::string& spec = config.listen[k];
    const std::string host = config.listen_at[k].host;
    const std::string port = std::to_string(config.listen_at[k].port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return "--listen " + spec + ": " + gai_strerror(rc);
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    int err = 0;
    const int first = bind_socket(res->ai_addr, static_cast<socklen_t>(res->ai_addrlen), workers > 1, err);
    if (first < 0) {
      // The default listen set includes [::]; a machine without IPv6 still serves IPv4.
      if (config.listen_defaulted && res->ai_family == AF_INET6 && (err == EAFNOSUPPORT || err == EADDRNOTAVAIL))
        continue;
      return "cannot listen on " + spec + ": " + std::strerror(err);
    }
    // The other workers bind the address the first one got (port 0 becomes a real port).
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(first, reinterpret_cast<sockaddr*>(&bound), &len);
    out[0].push_back({first, address_string(bound)});
    for (unsigned w = 1; w < workers; ++w) {
      const int fd = bind_socket(reinterpret_cast<const sockaddr*>(&bound), len, true, err);
      if (fd < 0)
        return "cannot listen on " + spec + " again for worker " + std::to_string(w) + ": " + std::strerror(err);
      out[w].push_back({fd, address_string(bound)});
    }
  }
  if (out[0].empty()) return "no address to listen on";
  return {};
}

std::string drop_privileges(const std::string& user) {
  if (user.empty()) return {};
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return "--user " + user + ": no such user";
  if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
    return "--user " + user + ": cannot switch user: " + std::strerror(errno);
  }
  if (setuid(0) == 0) return "--user " + user + ": privileges could be regained; refusing to run";
  return {};
}

int serve(const Config& config, const std::vector<std::vector<Listener>>& workers) {
  // Workers inherit a mask that blocks these; only this thread takes them, with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    std::fprintf(stderr, "ntp-server: eventfd: %s\n", std::strerror(errno));
    return 3;
  }
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<WorkerCounters>> counters;
  std::vector<std::thread> threads;
  std::atomic<int> failure{0};
  for (const auto& listeners : workers) {
    counters.push_back(std::make_unique<WorkerCounters>());
    threads.emplace_back([&, &c = *counters.back()] {
      if (const int rc = Loop(config, listeners, c, stop, wake).run(); rc != 0) failure = rc;
    });
  }
  const auto totals = [&] {
    Counters c;
    for (const auto& w : counters) w->add_to(c);
    return c;
  };
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGUSR1 || sig == SIGHUP) {  // the counters, and go on (systemctl reload)
      std::fprintf(stderr, "%s\n", format_counters(totals()).c_str());
      continue;
    }
    break;
  }
  stop = true;
  const uint64_t one = 1;
  (void)!write(wake, &one, sizeof one);  // every worker polls it: all wake at once
  for (auto& t : threads) t.join();
  close(wake);
  std::printf("%s\n", format_counters(totals()).c_str());
  std::fflush(stdout);
  return failure.load();
}

}  // namespace ntpkit::server
