// Packet parse with a round-trip oracle: whatever parses re-serializes to the same bytes and
// re-parses to the same fields; on error the offset lies inside the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  const auto parsed = ntpkit::parse(in);
  if (!parsed) {
    NTPKIT_FUZZ_CHECK(parsed.error().offset <= size);
    NTPKIT_FUZZ_CHECK(!ntpkit::to_string(parsed.error().code).empty());
    return 0;
  }
  const ntpkit::Packet p = ntpkit::to_packet(*parsed);
  const auto bytes = ntpkit::serialize(p);
  NTPKIT_FUZZ_CHECK(bytes.size() == size);
  NTPKIT_FUZZ_CHECK(std::equal(bytes.begin(), bytes.end(), in.begin()));
  const auto again = ntpkit::parse(bytes);
  NTPKIT_FUZZ_CHECK(again.ok());
  NTPKIT_FUZZ_CHECK(again->header == parsed->header);
  NTPKIT_FUZZ_CHECK(again->extension_count == parsed->extension_count);
  NTPKIT_FUZZ_CHECK(again->mac.has_value() == parsed->mac.has_value());
  NTPKIT_FUZZ_CHECK(ntpkit::to_packet(*again) == p);
  return 0;
}
