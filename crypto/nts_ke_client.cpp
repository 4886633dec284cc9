#include "ntpkit/crypto/nts_ke_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "ntpkit/nts/ke.hpp"
#include "ntpkit/util/host_port.hpp"
#include "tls_io.hpp"

namespace ntpkit::crypto {

struct KeSession::State {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  TlsFacts facts;
  std::chrono::milliseconds timeout{5000};
  size_t max_response = 65536;
  ~State() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

namespace {

using Clock = std::chrono::steady_clock;

// OpenSSL's queued errors as one clause; the queue is emptied.

// A TCP connection within the deadline, to the first address that accepts.
Result<int, std::string> tcp_connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
                                     std::string& peer) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return Failure{"cannot resolve " + host + ": " + gai_strerror(rc)};
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last = "no address for " + host;
  const auto deadline = Clock::now() + timeout;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    peer = format_sockaddr(ss, true);
    const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      last = "cannot open a socket: " + std::string(std::strerror(errno));
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = "cannot connect to " + peer + ": " + std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0))) != 1) {
      last = "no TCP connection to " + peer + " within " + std::to_string(timeout.count()) + " ms";
      ::close(fd);
      continue;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = "cannot connect to " + peer + ": " + std::strerror(err);
      ::close(fd);
      continue;
    }
    return fd;  // non-blocking: every TLS call runs under a deadline (tls_io.hpp)
  }
  return Failure{last};
}

bool is_ip_address(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

KeSession::KeSession(std::unique_ptr<State> s) : s_(std::move(s)) {}
KeSession::~KeSession() = default;
KeSession::KeSession(KeSession&&) noexcept = default;
KeSession& KeSession::operator=(KeSession&&) noexcept = default;

const TlsFacts& KeSession::facts() const {
  return s_->facts;
}

Result<KeSession, std::string> KeSession::connect(const KeClientOptions& o) {
  // A server that closes while we write must not end the process (SIGPIPE): a write error instead.
  std::signal(SIGPIPE, SIG_IGN);
  auto s = std::make_unique<State>();
  s->timeout = o.timeout;
  s->max_response = o.max_response;
  auto fd = tcp_connect(o.host, o.port, o.timeout, s->facts.peer);
  if (!fd) return Failure{fd.error()};
  s->fd = *fd;
  s->ctx = SSL_CTX_new(TLS_client_method());
  if (s->ctx == nullptr) return Failure{"cannot create a TLS context: " + detail::openssl_error("out of memory")};
  SSL_CTX_set_min_proto_version(s->ctx, o.min_tls);
  SSL_CTX_set_max_proto_version(s->ctx, o.max_tls);
  if (o.insecure) {
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    const bool loaded = o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(s->ctx) == 1
                                          : SSL_CTX_load_verify_locations(s->ctx, o.ca_file.c_str(), nullptr) == 1;
    if (!loaded) {
      return Failure{"cannot load " + (o.ca_file.empty() ? std::string("the system's trust store") : o.ca_file) + ": " +
                     detail::openssl_error("no certificates")};
    }
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.alpn.empty()) {
    std::vector<uint8_t> wire;
    for (const auto& p : o.alpn) {
      wire.push_back(static_cast<uint8_t>(p.size()));
      wire.insert(wire.end(), p.begin(), p.end());
    }
    if (SSL_CTX_set_alpn_protos(s->ctx, wire.data(), static_cast<unsigned>(wire.size())) != 0) {
      return Failure{"cannot offer ALPN: " + detail::openssl_error("refused")};
    }
  }
  s->ssl = SSL_new(s->ctx);
  if (s->ssl == nullptr || SSL_set_fd(s->ssl, s->fd) != 1) return Failure{std::string("cannot create a TLS session")};
  const bool ip = is_ip_address(o.host);
  if (!ip) SSL_set_tlsext_host_name(s->ssl, o.host.c_str());
  if (!o.insecure) {
    // The certificate must name what we connected to: the host name, or the address.
    X509_VERIFY_PARAM* param = SSL_get0_param(s->ssl);
    if (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, o.host.c_str()) != 1 : SSL_set1_host(s->ssl, o.host.c_str()) != 1) {
      return Failure{"cannot check the certificate's name against " + o.host};
    }
  }
  ERR_clear_error();
  const auto hs = detail::with_deadline(s->ssl, s->fd, Clock::now() + o.timeout, [&] { return SSL_connect(s->ssl); });
  if (hs == detail::IoResult::TimedOut) {
    return Failure{"TLS handshake with " + s->facts.peer + " failed: not done within " +
                   std::to_string(o.timeout.count()) + " ms"};
  }
  if (hs != detail::IoResult::Done) {
    const long verify = SSL_get_verify_result(s->ssl);
    if (!o.insecure && verify != X509_V_OK) {
      return Failure{"TLS handshake with " + s->facts.peer + " failed: the server's certificate is not trusted (" +
                     X509_verify_cert_error_string(verify) + ")"};
    }
    const int saved = errno;
    std::string why = detail::openssl_error("");
    if (why.empty())
      why =
          saved == EAGAIN || saved == EWOULDBLOCK ? "no answer within the timeout" : "the server closed the connection";
    return Failure{"TLS handshake with " + s->facts.peer + " failed: " + why};
  }
  s->facts.version = SSL_get_version(s->ssl);
  const unsigned char* selected = nullptr;
  unsigned selected_length = 0;
  SSL_get0_alpn_selected(s->ssl, &selected, &selected_length);
  if (selected != nullptr) s->facts.alpn.assign(reinterpret_cast<const char*>(selected), selected_length);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(s->ssl)) s->facts.cipher = SSL_CIPHER_get_name(c);
  s->facts.certificate_verified = !o.insecure && SSL_get_verify_result(s->ssl) == X509_V_OK;
  return KeSession(std::move(s));
}

std::string KeSession::send(std::span<const uint8_t> bytes, size_t record_size) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t n = record_size == 0 ? bytes.size() - pos : std::min(record_size, bytes.size() - pos);
    ERR_clear_error();
    const auto r = detail::with_deadline(s_->ssl, s_->fd, Clock::now() + s_->timeout,
                                         [&] { return SSL_write(s_->ssl, bytes.data() + pos, static_cast<int>(n)); });
    if (r != detail::IoResult::Done) {
      return "cannot write the request: " + (r == detail::IoResult::TimedOut
                                                 ? std::string("not taken within the timeout")
                                                 : detail::openssl_error("the connection closed"));
    }
    pos += n;
  }
  return "";
}

KeResponse KeSession::receive(std::chrono::milliseconds wait) {
  KeResponse r;
  const auto deadline = Clock::now() + (wait.count() > 0 ? wait : s_->timeout);
  std::vector<uint8_t> buf(16384);
  for (;;) {
    if (nts::message_length(r.bytes)) {
      r.end_of_message = true;
      return r;
    }
    if (r.bytes.size() >= s_->max_response) {
      r.truncated = true;
      return r;
    }
    ERR_clear_error();
    const size_t want = std::min(buf.size(), s_->max_response - r.bytes.size());
    int n = 0;
    const auto io = detail::with_deadline(
        s_->ssl, s_->fd, deadline,
        [&] {
          errno = 0;  // what a failed read leaves is its own, not an earlier EAGAIN's
          return SSL_read(s_->ssl, buf.data(), static_cast<int>(want));
        },
        &n);
    if (io == detail::IoResult::Done) {
      r.bytes.insert(r.bytes.end(), buf.begin(), buf.begin() + n);
      continue;
    }
    if (io == detail::IoResult::TimedOut) {
      r.timed_out = true;
      return r;
    }
    const int saved = errno;  // of the failed read: a reset, say
    const int e = SSL_get_error(s_->ssl, n);
    r.closed = true;  // close_notify, or the connection ended without one
    if (e == SSL_ERROR_SYSCALL && saved != 0) r.error = std::strerror(saved);
    if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL) r.error = detail::openssl_error("TLS error");
    return r;
  }
}

std::vector<uint8_t> KeSession::export_key(std::string_view label, std::span<const uint8_t> context,
                                           size_t length) const {
  std::vector<uint8_t> out(length);
  const std::string l(label);
  if (SSL_export_keying_material(s_->ssl, out.data(), out.size(), l.c_str(), l.size(), context.data(), context.size(),
                                 1) != 1) {
    return {};
  }
  return out;
}

void KeSession::close() {
  if (s_ && s_->ssl != nullptr) SSL_shutdown(s_->ssl);
  if (s_ && s_->fd >= 0) {
    ::close(s_->fd);
    s_->fd = -1;
  }
}

}  // namespace ntpkit::crypto
