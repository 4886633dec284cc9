// NTS-KE messages (nts/ke) from a hostile peer: never a crash, never a read past the bytes; a
// framing error's offset lies inside the input and names a record start; what decodes re-encodes
// record by record to the same bytes; message_length() never claims more than was received.
// The same bytes as a request to the reference server's KE answer (nts/ke_server, with crypto/'s
// AES-SIV for the cookies): the answer always decodes, ends with End of Message, and is either an
// Error record or carries cookies only when NTPv4 and AEAD 15 were agreed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/nts/ke.hpp"
#include "ntpkit/nts/ke_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit::nts;
  const std::span<const uint8_t> in(data, size);
  if (const auto n = message_length(in)) NTPKIT_FUZZ_CHECK(*n <= size);
  {
    static const ntpkit::crypto::AesSivCmac256 aead;
    static const CookieJar jar(aead, {1, std::vector<uint8_t>(32, 0x42)});
    const KeyExporter exporter = [](std::span<const uint8_t>, size_t n) { return std::vector<uint8_t>(n, 0x11); };
    const RandomSource random = [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 0x5A); };
    const KeAnswer a = answer_ke(in, KeServerSettings{}, jar, aead, exporter, random);
    const auto reply = decode(a.response);
    NTPKIT_FUZZ_CHECK(reply.ok() && reply->end_of_message && reply->records_after_end == 0);
    NTPKIT_FUZZ_CHECK(a.error.has_value() == !reply->errors.empty());
    if (!reply->cookies.empty()) {
      NTPKIT_FUZZ_CHECK(reply->next_protocols == std::vector<uint16_t>{kProtocolNtpv4});
      NTPKIT_FUZZ_CHECK(reply->aead_algorithms == std::vector<uint16_t>{kAeadAesSivCmac256});
      NTPKIT_FUZZ_CHECK(jar.open(reply->cookies.front()).has_value());
    }
  }
  const auto m = decode(in);
  if (!m) {
    NTPKIT_FUZZ_CHECK(m.error().offset < size);
    NTPKIT_FUZZ_CHECK(!describe(m.error(), in).empty());
    return 0;
  }
  std::vector<uint8_t> again;
  for (const Record& r : m->records) {
    NTPKIT_FUZZ_CHECK(r.offset == again.size());
    append_record(again, r.type, r.critical, r.body);
  }
  NTPKIT_FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), in.begin()));
  for (const Shape& s : m->shapes) NTPKIT_FUZZ_CHECK(s.offset < size && !s.what.empty());
  NTPKIT_FUZZ_CHECK(m->next_protocol_records <= m->records.size() && m->cookies.size() <= m->records.size());
  return 0;
}
