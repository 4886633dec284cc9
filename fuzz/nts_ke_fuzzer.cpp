// NTS-KE messages (nts/ke) from a hostile peer: never a crash, never a read past the bytes; a
// framing error's offset lies inside the input and names a record start; what decodes re-encodes
// record by record to the same bytes; message_length() never claims more than was received.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "ntpkit/nts/ke.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit::nts;
  const std::span<const uint8_t> in(data, size);
  if (const auto n = message_length(in)) NTPKIT_FUZZ_CHECK(*n <= size);
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
