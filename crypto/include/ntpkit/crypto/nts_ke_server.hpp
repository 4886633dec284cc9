// The NTS-KE server's TLS side (RFC 8915 §3, §4), with OpenSSL: TCP on the given address and port,
// TLS 1.3 only, ALPN "ntske/1" (a client that offers neither it nor any other is refused), the
// request read until End of Message, the configured timeout or 64 KiB, the answer from
// nts::answer_ke (Error 1 for what did not arrive complete), close_notify. Connections are served
// on their own threads, at most `max_connections` at a time (the next ones are closed at once).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ntpkit/nts/ke_server.hpp"
#include "ntpkit/util/result.hpp"

namespace ntpkit::crypto {

// What a misbehaving KE server's TLS side does instead (ntp-server --misbehave nts-ke-*).
struct KeTlsFaults {
  bool tls12 = false;            // TLS 1.2 accepted
  bool no_alpn = false;          // ALPN ignored: ntske/1 never selected, a client without ALPN served
  bool silent_timeout = false;   // an incomplete request is closed on, not answered with Error 1
  bool first_read_only = false;  // the request is what the first TLS record held
  size_t max_request = 65536;    // longer requests are cut here (a fault sets it below 1024)
};

struct KeServerOptions {
  std::string cert_file;
  std::string key_file;
  std::string address = "0.0.0.0";  // or an IPv6 address
  uint16_t port = 4460;
  std::chrono::milliseconds timeout{3000};  // for the handshake and the request
  unsigned max_connections = 32;
  KeTlsFaults faults;
};

// The answer to a request: gets what TLS read and the exporter.
using KeHandler = std::function<nts::KeAnswer(std::span<const uint8_t> request, const nts::KeyExporter& exporter)>;

class KeServer {
 public:
  ~KeServer();
  KeServer(KeServer&&) noexcept;
  KeServer& operator=(KeServer&&) noexcept;
  // Loads the certificate and key and binds; the error is one sentence.
  [[nodiscard]] static Result<KeServer, std::string> open(const KeServerOptions& o);
  [[nodiscard]] std::string name() const;  // "127.0.0.1:4460"
  [[nodiscard]] uint16_t port() const;
  // Serves until `stop` is set (checked every 200 ms); `log` gets a line per connection when set.
  void serve(const KeHandler& handler, const std::atomic<bool>& stop,
             const std::function<void(const std::string&)>& log = nullptr);

 private:
  struct State;
  explicit KeServer(std::shared_ptr<State> s);
  std::shared_ptr<State> s_;
};

}  // namespace ntpkit::crypto
