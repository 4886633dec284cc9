// A transport that never touches a socket: each datagram a case sends is answered by the
// reference server's respond() (lib/server), with its misbehaviours and, if asked, its rate
// limiter, as ntp-server's socket loop would. Every case and its failing twin run this way as
// unit tests (under ASan too); the UDP runs stay in the e2e tests.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/crypto/nts_ke_server.hpp"
#include "ntpkit/nts/ke_server.hpp"
#include "ntpkit/server/rate_limit.hpp"
#include "ntpkit/server/server.hpp"
#include "transport.hpp"

namespace ntpkit::probe {

struct InProcessServer {
  ServerState state;
  Policy policy;
  Misbehaviour misbehaviour;
  std::optional<RateLimitConfig> rate_limit;  // ntp-server --rate-limit
  // ntp-server --keys: what policy.keys and policy.digests point into, kept alive here.
  std::shared_ptr<const auth::KeyStore> keys;
  std::shared_ptr<const auth::Digests> digests;
  // ntp-server --nts-cert/--nts-key: what policy.nts and policy.nts_aead point to.
  std::shared_ptr<const nts::CookieJar> nts_jar;
  std::shared_ptr<const nts::Aead> nts_aead;
  nts::KeServerSettings nts_ke;  // its KE answer and
  crypto::KeTlsFaults nts_tls;   // its TLS side's misbehaviours
  uint16_t port = 123;           // the address it plays: 127.0.0.1:port
};

// What NTS key establishment with this server would give (it has no TLS in-process): fixed C2S
// and S2C keys and eight cookies of its jar. Empty (no AEAD) for a server without NTS.
[[nodiscard]] conformance::NtsMaterial nts_material(const InProcessServer& s);
// Its NTS-KE server without TLS: what ntp-server's TLS side would do with the request's TLS
// offer (version, ALPN, record sizes, an incomplete request), then nts::answer_ke, with the keys
// nts_material() gives.
[[nodiscard]] conformance::KeObservation in_process_ke(const InProcessServer& s, const conformance::KeRequest& r);

class InProcessTransport final : public Transport {
 public:
  explicit InProcessTransport(InProcessServer server);
  [[nodiscard]] Result<std::unique_ptr<Channel>, std::string> open(const sockaddr_storage* source) override;

  // What respond() decided, as ntp-server counts it.
  [[nodiscard]] size_t requests() const;
  [[nodiscard]] size_t answered() const;
  [[nodiscard]] const InProcessServer& server() const;

 private:
  friend class InProcessChannel;
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace ntpkit::probe
