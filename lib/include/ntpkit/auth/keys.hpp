// Symmetric keys for authenticated NTP (RFC 5905 §7.3 MAC, RFC 8573 AES-CMAC), read from the
// key files people have: ntpsec's and ntp.org's ntp.keys ("ID TYPE KEY") and chrony's keyfile
// ("ID [TYPE] HEX:…|ASCII:…"). Pure: the text in, keys out; the digests are crypto/'s.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/util/result.hpp"

namespace ntpkit::auth {

enum class KeyType : uint8_t {
  Md5,         // RFC 5905: MD5(key || packet), 16 octets; deprecated by RFC 8573
  Sha1,        // SHA1(key || packet), 20 octets, as ntpd and chrony compute it
  Aes128Cmac,  // RFC 8573: AES-CMAC-128 over the packet with a 16-octet key, 16 octets
};
[[nodiscard]] std::string_view to_string(KeyType t);  // "MD5", "SHA1", "AES128CMAC"
[[nodiscard]] size_t digest_length(KeyType t);

struct Key {
  uint32_t id = 0;
  KeyType type = KeyType::Md5;
  std::vector<uint8_t> secret;
  size_t line = 0;  // where the file gave it
};

enum class KeyFileFormat : uint8_t {
  Auto,    // whichever the lines show; a line the two formats read differently is refused
  Ntp,     // ntpsec / ntp.org ntp.keys: a bare key of more than 20 characters is hex
  Chrony,  // chrony keyfile: HEX: or ASCII: prefixes, a bare key is ASCII, the type may be left out (MD5)
};

// Every key of the file, or one line naming what is wrong and where: "line 3: ...".
[[nodiscard]] Result<std::vector<Key>, std::string> parse_key_file(std::string_view text,
                                                                   KeyFileFormat format = KeyFileFormat::Auto);

class KeyStore {
 public:
  KeyStore() = default;
  explicit KeyStore(std::vector<Key> keys);
  [[nodiscard]] const Key* find(uint32_t id) const;
  [[nodiscard]] const Key* first_of(KeyType type) const;  // the lowest id of that type, or nullptr
  [[nodiscard]] bool empty() const { return keys_.empty(); }
  [[nodiscard]] size_t size() const { return keys_.size(); }

 private:
  std::map<uint32_t, Key> keys_;
};

}  // namespace ntpkit::auth
