// The client side of NTS Key Establishment over TLS (RFC 8915 §4), with OpenSSL: TCP with a
// deadline, TLS 1.3 (or what a suite asks for, to see a server refuse it), ALPN "ntske/1", the
// server's certificate checked against the system's trust store or --ca (or not at all, for
// self-signed labs), the request written (in one TLS record or split over several), the response
// read until End of Message, a close or the deadline, and the keys exported (RFC 5705 exporter,
// label "EXPORTER-network-time-security"). Errors are one sentence; nothing is thrown.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ntpkit/util/result.hpp"

namespace ntpkit::crypto {

struct KeClientOptions {
  std::string host;  // a name (checked against the certificate and sent as SNI) or an address
  uint16_t port = 4460;
  std::string ca_file;                          // empty: the system's trust store
  bool insecure = false;                        // accept any certificate (self-signed labs only)
  std::vector<std::string> alpn = {"ntske/1"};  // empty: offer none
  int min_tls = 0x0304;                         // TLS 1.3 (OpenSSL's version numbers: 0x0303 is TLS 1.2)
  int max_tls = 0x0304;
  std::chrono::milliseconds timeout{5000};  // for the connection, the handshake and each read
  size_t max_response = 65536;              // what we read at most
};

// What the TLS layer agreed on.
struct TlsFacts {
  std::string version;  // "TLSv1.3"
  std::string alpn;     // the protocol the server selected, empty if none
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  bool certificate_verified = false;
  std::string verify_error;  // why not, when checked and refused
  std::string peer;          // "127.0.0.1:4460"
};

struct KeResponse {
  std::vector<uint8_t> bytes;
  bool end_of_message = false;  // reading stopped at an End of Message record
  bool closed = false;          // the server closed the connection (cleanly or not)
  bool timed_out = false;       // the deadline passed first
  bool truncated = false;       // max_response reached
  std::string error;            // a TLS or socket error while reading
};

class KeSession {
 public:
  ~KeSession();
  KeSession(KeSession&&) noexcept;
  KeSession& operator=(KeSession&&) noexcept;
  KeSession(const KeSession&) = delete;
  KeSession& operator=(const KeSession&) = delete;

  // Connects and completes the handshake; the error says which step failed and why.
  [[nodiscard]] static Result<KeSession, std::string> connect(const KeClientOptions& o);
  [[nodiscard]] const TlsFacts& facts() const;
  // Writes `bytes`, split into TLS records of at most `record_size` octets (0: one write).
  [[nodiscard]] std::string send(std::span<const uint8_t> bytes, size_t record_size = 0);
  // Reads until End of Message, a close, max_response or the wait (0: the timeout) is over.
  [[nodiscard]] KeResponse receive(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // RFC 5705 keying material: `length` octets for `label` and `context`; empty on failure.
  [[nodiscard]] std::vector<uint8_t> export_key(std::string_view label, std::span<const uint8_t> context,
                                                size_t length) const;
  void close();  // sends close_notify and closes the socket

 private:
  struct State;
  explicit KeSession(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace ntpkit::crypto
