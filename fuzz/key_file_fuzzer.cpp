// Key files from anywhere (auth/keys): never a crash; an error is one line naming a line of the
// file; what is accepted is a set of keys the MAC code can use (AES keys of 16 bytes, ids > 0,
// each id once).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "fuzz_check.hpp"
#include "ntpkit/auth/keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit::auth;
  if (size < 1) return 0;
  const auto format = static_cast<KeyFileFormat>(data[0] % 3);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto r = parse_key_file(text, format);
  if (!r) {
    NTPKIT_FUZZ_CHECK(r.error().rfind("line ", 0) == 0);
    NTPKIT_FUZZ_CHECK(r.error().find('\n') == std::string::npos);
    return 0;
  }
  std::set<uint32_t> ids;
  for (const Key& k : *r) {
    NTPKIT_FUZZ_CHECK(k.id != 0);
    NTPKIT_FUZZ_CHECK(ids.insert(k.id).second);
    NTPKIT_FUZZ_CHECK(!k.secret.empty() && k.secret.size() <= 64);
    NTPKIT_FUZZ_CHECK(k.type != KeyType::Aes128Cmac || k.secret.size() == 16);
  }
  return 0;
}
