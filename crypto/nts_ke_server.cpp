#include "ntpkit/crypto/nts_ke_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include "ntpkit/nts/ke.hpp"
#include "ntpkit/util/host_port.hpp"
#include "tls_io.hpp"

namespace ntpkit::crypto {

struct KeServer::State {
  SSL_CTX* ctx = nullptr;
  int fd = -1;
  KeServerOptions options;
  std::string name;
  uint16_t port = 0;
  std::atomic<unsigned> active{0};
  ~State() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

namespace {

using Clock = std::chrono::steady_clock;

// ALPN: select "ntske/1" when the client offers it; refuse the handshake when it offers only
// other protocols (RFC 8915 §4: "the server accepting ... ntske/1").
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void*) {
  for (unsigned i = 0; i < inlen;) {
    const unsigned n = in[i];
    if (i + 1 + n > inlen) break;
    if (n == nts::kAlpn.size() && std::memcmp(in + i + 1, nts::kAlpn.data(), n) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// One connection, start to end, under one deadline for all of it (handshake, request, answer);
// the log line says what happened.
std::string serve_connection(int fd, SSL_CTX* ctx, const KeServerOptions& o, const KeHandler& handler) {
  using detail::IoResult;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  const auto deadline = Clock::now() + o.timeout;
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return "cannot create a TLS session";
  std::unique_ptr<SSL, decltype(&SSL_free)> guard(ssl, SSL_free);
  SSL_set_fd(ssl, fd);
  ERR_clear_error();
  const IoResult hs = detail::with_deadline(ssl, fd, deadline, [&] { return SSL_accept(ssl); });
  if (hs != IoResult::Done) {
    return hs == IoResult::TimedOut ? "TLS handshake not done within the timeout"
                                    : "TLS handshake failed: " + detail::openssl_error("the client went away");
  }
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  if (alpn == nullptr && !o.faults.no_alpn) {
    (void)detail::with_deadline(ssl, fd, deadline, [&] { return SSL_shutdown(ssl); });
    return "refused: the client offered no ALPN";
  }
  std::vector<uint8_t> request;
  std::vector<uint8_t> buf(16384);
  bool complete = false, closed = false;
  while (!complete && request.size() < o.faults.max_request) {
    const size_t want = std::min(buf.size(), o.faults.max_request - request.size());
    int n = 0;
    const IoResult r = detail::with_deadline(
        ssl, fd, deadline, [&] { return SSL_read(ssl, buf.data(), static_cast<int>(want)); }, &n);
    if (r == IoResult::TimedOut) break;  // RFC 8915 §4.1.3: Error 1 once the timeout expires
    if (r == IoResult::Failed) {
      closed = true;
      break;
    }
    request.insert(request.end(), buf.begin(), buf.begin() + n);
    complete = nts::message_length(request).has_value();
    if (o.faults.first_read_only) break;
  }
  if (closed && !complete)
    return "the client closed before End of Message (" + std::to_string(request.size()) + " octets)";
  if (!complete && o.faults.silent_timeout) {
    (void)detail::with_deadline(ssl, fd, deadline, [&] { return SSL_shutdown(ssl); });
    return "incomplete request, closed without an answer (misbehaviour)";
  }
  const nts::KeyExporter exporter = [ssl](std::span<const uint8_t> context, size_t length) {
    std::vector<uint8_t> key(length);
    if (SSL_export_keying_material(ssl, key.data(), key.size(), nts::kExporterLabel.data(), nts::kExporterLabel.size(),
                                   context.data(), context.size(), 1) != 1) {
      return std::vector<uint8_t>{};
    }
    return key;
  };
  const nts::KeAnswer answer = handler(request, exporter);
  ERR_clear_error();
  // The answer gets a moment of its own even when the request used the whole timeout.
  const auto write_deadline = std::max(deadline, Clock::now() + std::chrono::milliseconds(1000));
  if (detail::with_deadline(ssl, fd, write_deadline, [&] {
        return SSL_write(ssl, answer.response.data(), static_cast<int>(answer.response.size()));
      }) != IoResult::Done) {
    return "cannot write the response: " + detail::openssl_error("the connection closed");
  }
  (void)detail::with_deadline(ssl, fd, write_deadline, [&] { return SSL_shutdown(ssl); });
  return answer.error ? "Error " + nts::describe_error_code(*answer.error) + ": " + answer.why
                      : "answered (" + std::to_string(answer.response.size()) + " octets)";
}

}  // namespace

KeServer::KeServer(std::shared_ptr<State> s) : s_(std::move(s)) {}
KeServer::~KeServer() = default;
KeServer::KeServer(KeServer&&) noexcept = default;
KeServer& KeServer::operator=(KeServer&&) noexcept = default;

std::string KeServer::name() const {
  return s_->name;
}
uint16_t KeServer::port() const {
  return s_->port;
}

Result<KeServer, std::string> KeServer::open(const KeServerOptions& o) {
  std::signal(SIGPIPE, SIG_IGN);
  auto s = std::make_shared<State>();
  s->options = o;
  s->ctx = SSL_CTX_new(TLS_server_method());
  if (s->ctx == nullptr) return Failure{std::string("cannot create a TLS context")};
  SSL_CTX_set_min_proto_version(s->ctx, o.faults.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(s->ctx, o.cert_file.c_str()) != 1) {
    return Failure{"--nts-cert " + o.cert_file + ": " + detail::openssl_error("cannot read the certificate")};
  }
  if (SSL_CTX_use_PrivateKey_file(s->ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Failure{"--nts-key " + o.key_file + ": " + detail::openssl_error("cannot read the key")};
  }
  if (SSL_CTX_check_private_key(s->ctx) != 1) {
    return Failure{"--nts-key " + o.key_file + " does not match --nts-cert " + o.cert_file};
  }
  if (!o.faults.no_alpn) SSL_CTX_set_alpn_select_cb(s->ctx, select_alpn, nullptr);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (inet_pton(AF_INET, o.address.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(o.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, o.address.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(o.port);
    len = sizeof(sockaddr_in6);
  } else {
    return Failure{"--nts-listen: " + o.address + " is not an IP address"};
  }
  s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s->fd < 0 || ::bind(s->fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(s->fd, 64) != 0) {
    return Failure{"cannot listen for NTS-KE on " + format_sockaddr(ss, true) + ": " + std::strerror(errno)};
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(s->fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  s->name = format_sockaddr(bound, true);
  s->port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return KeServer(std::move(s));
}

void KeServer::serve(const KeHandler& handler, const std::atomic<bool>& stop,
                     const std::function<void(const std::string&)>& log) {
  // Each connection thread holds what it uses (the state, a copy of the handler and the log):
  // nothing it touches goes away before it ends. Every connection ends by its deadline.
  struct Shared {
    KeHandler handler;
    std::function<void(const std::string&)> log;
    std::mutex log_mutex;
  };
  auto shared = std::make_shared<Shared>();
  shared->handler = handler;
  shared->log = log;
  while (!stop.load()) {
    pollfd p{s_->fd, POLLIN, 0};
    if (poll(&p, 1, 200) != 1) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = accept4(s_->fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (s_->active.load() >= s_->options.max_connections) {
      ::close(fd);  // bounded: a flood of connections costs a close each
      continue;
    }
    ++s_->active;
    std::thread([state = s_, shared, fd, peer] {
      const std::string what = serve_connection(fd, state->ctx, state->options, shared->handler);
      ::close(fd);
      if (shared->log) {
        std::lock_guard lock(shared->log_mutex);
        shared->log("NTS-KE " + format_sockaddr(peer, true) + ": " + what);
      }
      --state->active;
    }).detach();
  }
  // The connections in flight end by their deadlines (timeout, then a second for the answer);
  // the caller's handler may reference what dies when this returns, so wait for them.
  while (s_->active.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace ntpkit::crypto
