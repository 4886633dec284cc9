// OpenSSL calls on a non-blocking socket under one deadline: a peer that drips a byte at a time
// cannot stretch a handshake or a read past it (SO_RCVTIMEO bounds each recv, not the whole).
// Internal to crypto/.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <chrono>
#include <string>
#include <string_view>

namespace ntpkit::crypto::detail {

// OpenSSL's queued errors as one clause (the reason after the last ':' of the last one); the
// queue is emptied. `fallback` when there is none.
inline std::string openssl_error(std::string_view fallback) {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    std::string s(buf);
    const auto colon = s.rfind(':');
    out = colon == std::string::npos ? s : s.substr(colon + 1);
  }
  return out.empty() ? std::string(fallback) : out;
}

enum class IoResult { Done, TimedOut, Failed };

// Runs `op` (SSL_connect, SSL_accept, SSL_read, SSL_write: > 0 is success) until it succeeds,
// fails, or `deadline` passes; `*n` gets op's last return value.
template <class Op>
IoResult with_deadline(SSL* ssl, int fd, std::chrono::steady_clock::time_point deadline, Op op, int* n = nullptr) {
  for (;;) {
    const int r = op();
    if (n != nullptr) *n = r;
    if (r > 0) return IoResult::Done;
    const int e = SSL_get_error(ssl, r);
    short events = 0;
    if (e == SSL_ERROR_WANT_READ)
      events = POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
      events = POLLOUT;
    else
      return IoResult::Failed;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return IoResult::TimedOut;
    pollfd p{fd, events, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return IoResult::TimedOut;
  }
}

}  // namespace ntpkit::crypto::detail
