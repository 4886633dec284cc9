#include "in_process.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "ntpkit/util/clock.hpp"

namespace ntpkit::probe {

using SteadyClock = std::chrono::steady_clock;

struct InProcessTransport::Shared {
  explicit Shared(InProcessServer s) : server(std::move(s)) {
    if (server.rate_limit) limiter.emplace(*server.rate_limit);
    server.state.reference_time = clock.now();
  }
  InProcessServer server;
  SystemClock clock;
  std::mutex mutex;  // the limiter, the random state and the counters: channels run on many threads
  std::optional<RateLimiter> limiter;
  InterleaveTable interleave;  // RFC 9769, as ntp-server keeps it (by client address)
  uint64_t random = 0x9e3779b97f4a7c15ULL;
  uint16_t next_port = 40000;
  size_t requests = 0, answered = 0;
};

namespace {

sockaddr_storage loopback(uint16_t port) {
  sockaddr_storage ss{};
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ss;
}

std::span<const uint8_t> address_bytes(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    return {reinterpret_cast<const uint8_t*>(&in6->sin6_addr), 16};
  }
  const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
  return {reinterpret_cast<const uint8_t*>(&in->sin_addr), 4};
}

}  // namespace

class InProcessChannel final : public Channel {
 public:
  InProcessChannel(std::shared_ptr<InProcessTransport::Shared> shared, sockaddr_storage local)
      : shared_(std::move(shared)), local_(local), peer_(loopback(shared_->server.port)) {}

  std::string send(std::span<const uint8_t> bytes) override {
    InProcessTransport::Shared& s = *shared_;
    RequestContext ctx;
    ctx.receive = s.clock.now();
    {
      std::lock_guard lock(s.mutex);
      ++s.requests;
      s.random ^= s.random << 13;
      s.random ^= s.random >> 7;
      s.random ^= s.random << 17;
      ctx.random = s.random;
      if (s.limiter) ctx.rate = s.limiter->check(address_bytes(local_), ctx.receive);
      if (s.server.policy.interleaved) ctx.previous = s.interleave.find(address_bytes(local_));
      for (size_t k = 0; k < ctx.nonce_seed.size(); ++k)
        ctx.nonce_seed[k] = static_cast<uint8_t>(s.random >> (8 * (k % 8)) ^ k);
    }
    // An NTS reply may carry more cookies than the request had room for (a misbehaviour's).
    std::vector<uint8_t> out(std::max<size_t>(bytes.size() + kOversizePadding, s.server.policy.nts ? 4096 : 0));
    const Action a = respond(bytes, ctx, s.clock, s.server.state, s.server.policy, s.server.misbehaviour, out);
    if (!a.is_reply()) return {};
    {
      std::lock_guard lock(s.mutex);
      ++s.answered;
      // When it "left": now, as ntp-server reads its clock right after the send.
      if (a.remember && s.server.policy.interleaved)
        s.interleave.record(address_bytes(local_), {a.receive, s.clock.now()});
    }
    out.resize(a.length);
    const uint16_t from = a.from_other_port ? static_cast<uint16_t>(s.server.port + 1) : s.server.port;
    const auto due = SteadyClock::now() + std::chrono::milliseconds(a.delay_ms);
    for (uint8_t c = 0; c < a.copies; ++c) {
      Datagram d;
      d.bytes = out;
      d.source = "127.0.0.1:" + std::to_string(from);
      d.from_peer = !a.from_other_port;
      queue_.push_back({due, std::move(d)});
    }
    return {};
  }

  // What has come is handed out at once; a reply held back (delay=MS) arrives when it is due,
  // if that is within the timeout. Nothing to wait for is a timeout now: silence costs no time.
  std::optional<Datagram> receive(std::chrono::milliseconds timeout, std::string&) override {
    if (queue_.empty() || queue_.front().due > SteadyClock::now() + timeout) return std::nullopt;
    std::this_thread::sleep_until(queue_.front().due);
    Datagram d = std::move(queue_.front().datagram);
    queue_.pop_front();
    d.received = shared_->clock.now();
    return d;
  }

  sockaddr_storage local_sockaddr() const override { return local_; }
  const sockaddr_storage& peer_sockaddr() const override { return peer_; }

 private:
  struct Pending {
    SteadyClock::time_point due;
    Datagram datagram;
  };
  std::shared_ptr<InProcessTransport::Shared> shared_;
  sockaddr_storage local_;
  sockaddr_storage peer_;
  std::deque<Pending> queue_;
};

InProcessTransport::InProcessTransport(InProcessServer server) : shared_(std::make_shared<Shared>(std::move(server))) {}

Result<std::unique_ptr<Channel>, std::string> InProcessTransport::open(const sockaddr_storage* source) {
  uint16_t port = 0;
  {
    std::lock_guard lock(shared_->mutex);
    port = shared_->next_port++;
    if (shared_->next_port == 0) shared_->next_port = 40000;
  }
  sockaddr_storage local = loopback(port);
  if (source != nullptr) {
    local = *source;
    if (local.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&local)->sin6_port = htons(port);
    } else {
      reinterpret_cast<sockaddr_in*>(&local)->sin_port = htons(port);
    }
  }
  return std::unique_ptr<Channel>(std::make_unique<InProcessChannel>(shared_, local));
}

const InProcessServer& InProcessTransport::server() const {
  return shared_->server;
}

conformance::NtsMaterial nts_material(const InProcessServer& s) {
  conformance::NtsMaterial m;
  if (!s.nts_jar || !s.nts_aead) return m;
  m.aead = s.nts_aead.get();
  // Key establishment as a client makes it (the KE faults apply): the keys in_process_ke's
  // exporter gives, the cookies of its answer.
  m.c2s.assign(32, 0x11);
  m.s2c.assign(32, 0x22);
  const conformance::KeObservation k = in_process_ke(s, conformance::KeRequest{nts::client_request()});
  if (const auto decoded = nts::decode(k.response)) {
    for (const auto& c : decoded->cookies) m.cookies.emplace_back(c.begin(), c.end());
  }
  return m;
}

conformance::KeObservation in_process_ke(const InProcessServer& s, const conformance::KeRequest& r) {
  conformance::KeObservation k;
  if (!s.nts_jar || !s.nts_aead) {
    k.failure = "no NTS-KE server";
    return k;
  }
  k.connected = true;
  const bool tls13 = r.max_tls >= 0x0304;
  if (!tls13 && !(s.nts_tls.tls12 && r.min_tls <= 0x0303)) {
    k.failure = "TLS handshake failed: protocol version";
    return k;
  }
  const bool offers = std::find(r.alpn.begin(), r.alpn.end(), std::string(nts::kAlpn)) != r.alpn.end();
  if (!r.alpn.empty() && !offers && !s.nts_tls.no_alpn) {
    k.failure = "TLS handshake failed: no application protocol";
    return k;
  }
  k.handshake = true;
  k.version = tls13 ? "TLSv1.3" : "TLSv1.2";
  if (offers && !s.nts_tls.no_alpn) k.alpn = std::string(nts::kAlpn);
  if (k.alpn.empty() && !s.nts_tls.no_alpn) {
    k.closed = true;  // refused after the handshake, as ntp-server does
    return k;
  }
  std::vector<uint8_t> got = r.bytes;
  if (s.nts_tls.first_read_only && r.record_size > 0) got.resize(std::min(got.size(), r.record_size));
  if (got.size() > s.nts_tls.max_request) got.resize(s.nts_tls.max_request);
  if (!nts::message_length(got) && s.nts_tls.silent_timeout) {
    k.closed = true;
    return k;
  }
  const nts::KeyExporter exporter = [](std::span<const uint8_t> context, size_t length) {
    return std::vector<uint8_t>(length, context.size() == 5 && context[4] == 1 ? 0x22 : 0x11);
  };
  uint8_t counter = 0;
  const nts::RandomSource random = [&counter](std::span<uint8_t> out) {
    for (auto& b : out) b = ++counter;
  };
  k.response = nts::answer_ke(got, s.nts_ke, *s.nts_jar, *s.nts_aead, exporter, random).response;
  k.end_of_message = nts::message_length(k.response).has_value();
  k.closed = true;
  return k;
}

size_t InProcessTransport::requests() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->requests;
}
size_t InProcessTransport::answered() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->answered;
}

}  // namespace ntpkit::probe
