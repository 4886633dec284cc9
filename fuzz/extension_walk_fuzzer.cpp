// The extension-field and MAC walk on arbitrary trailers, for VN 1 to 7: every field lies inside
// the datagram, the fields and the MAC tile the trailer exactly, and the walk round-trips.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  if (size < 1) return 0;
  Header h;
  h.version = static_cast<uint8_t>(data[0] % 7 + 1);
  h.mode = Mode::Client;
  const auto head = serialize_header(h);
  std::vector<uint8_t> packet(head.begin(), head.end());
  packet.insert(packet.end(), data + 1, data + size);

  const auto parsed = parse(packet);
  if (!parsed) {
    NTPKIT_FUZZ_CHECK(parsed.error().offset >= kHeaderLength && parsed.error().offset <= packet.size());
    NTPKIT_FUZZ_CHECK(h.version >= kCurrentVersion || parsed.error().code == ParseErrorCode::MacTooShort);
    return 0;
  }
  size_t pos = kHeaderLength, count = 0;
  for (const auto& ef : parsed->extensions()) {
    NTPKIT_FUZZ_CHECK(h.version >= kCurrentVersion);  // no extension fields before NTPv4
    NTPKIT_FUZZ_CHECK(ef.offset == pos);
    NTPKIT_FUZZ_CHECK(ef.length >= kMinExtensionLength && ef.length % 4 == 0);
    NTPKIT_FUZZ_CHECK(ef.offset + ef.length <= packet.size());
    NTPKIT_FUZZ_CHECK(ef.value.size() + 4 == ef.length);
    pos += ef.length;
    ++count;
  }
  NTPKIT_FUZZ_CHECK(count == parsed->extension_count);
  NTPKIT_FUZZ_CHECK(pos == parsed->extensions_end);
  if (parsed->mac) {
    NTPKIT_FUZZ_CHECK(parsed->mac->offset == pos);
    NTPKIT_FUZZ_CHECK(parsed->mac->offset + 4 + parsed->mac->digest.size() == packet.size());
  } else {
    NTPKIT_FUZZ_CHECK(pos == packet.size());
  }
  const auto again = serialize(to_packet(*parsed));
  NTPKIT_FUZZ_CHECK(again == packet);
  return 0;
}
