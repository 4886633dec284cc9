#include "ntpkit/auth/keys.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ntpkit::auth {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Type names as the two daemons spell them (case does not matter).
bool key_type(std::string_view name, KeyType& out) {
  const std::string n = lower(name);
  if (n == "md5") {
    out = KeyType::Md5;
  } else if (n == "sha1" || n == "sha-1") {
    out = KeyType::Sha1;
  } else if (n == "aes128" || n == "aes-128" || n == "aes" || n == "aes128cmac" || n == "aes-128-cmac") {
    out = KeyType::Aes128Cmac;
  } else {
    return false;
  }
  return true;
}

bool hex_decode(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    uint8_t b = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, b, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return false;
    out.push_back(b);
  }
  return true;
}

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

constexpr size_t kAsciiLimit = 20;  // ntpsec: a longer bare key is hex
constexpr size_t kMaxSecret = 64;

}  // namespace

std::string_view to_string(KeyType t) {
  switch (t) {
    case KeyType::Md5: return "MD5";
    case KeyType::Sha1: return "SHA1";
    case KeyType::Aes128Cmac: return "AES128CMAC";
  }
  return "?";
}

size_t digest_length(KeyType t) {
  return t == KeyType::Sha1 ? 20 : 16;
}

Result<std::vector<Key>, std::string> parse_key_file(std::string_view text, KeyFileFormat format) {
  std::vector<Key> keys;
  std::map<uint32_t, size_t> seen;  // id -> line
  size_t number = 0;
  for (size_t at = 0; at <= text.size();) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    ++number;
    const std::string where = "line " + std::to_string(number) + ": ";
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    const auto t = tokens(line);
    if (t.empty()) continue;
    for (unsigned char c : line) {
      if (c < 0x20 && c != '\t' && c != '\r') return Failure{where + "a control character"};
    }
    if (t.size() < 2) return Failure{where + "give ID TYPE KEY (ntp.keys) or ID [TYPE] HEX:KEY (chrony)"};
    Key k;
    k.line = number;
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(t[0].data(), t[0].data() + t[0].size(), id);
    const uint64_t max_id = format == KeyFileFormat::Ntp ? 65535 : 0xFFFFFFFFULL;
    if (ec != std::errc() || p != t[0].data() + t[0].size() || id == 0 || id > max_id) {
      return Failure{where + "the key ID '" + std::string(t[0]) + "' is not a number from 1 to " +
                     std::to_string(max_id)};
    }
    k.id = static_cast<uint32_t>(id);
    std::string_view value;
    if (t.size() == 2) {
      // chrony: the type may be left out, and is then MD5. ntp.keys always names it.
      if (format == KeyFileFormat::Ntp) return Failure{where + "give ID TYPE KEY"};
      k.type = KeyType::Md5;
      value = t[1];
    } else {
      if (!key_type(t[1], k.type)) {
        return Failure{where + "type '" + std::string(t[1]) + "' is not one of MD5, SHA1, AES128CMAC (AES, AES-128)"};
      }
      value = t[2];
      // A fourth word is ntp.org's list of addresses the key is trusted from: not one of ours.
      if (t.size() > 3 && format == KeyFileFormat::Chrony) return Failure{where + "more than ID TYPE KEY"};
    }
    const bool hex_prefix = value.size() >= 4 && lower(value.substr(0, 4)) == "hex:";
    const bool ascii_prefix = value.size() >= 6 && lower(value.substr(0, 6)) == "ascii:";
    if ((hex_prefix || ascii_prefix) && format == KeyFileFormat::Ntp) {
      return Failure{where + "HEX: and ASCII: are chrony's; an ntp.keys key is bare"};
    }
    if (hex_prefix) {
      if (!hex_decode(value.substr(4), k.secret))
        return Failure{where + "the HEX: key is not an even number of hex digits"};
    } else if (ascii_prefix) {
      value.remove_prefix(6);
      k.secret.assign(value.begin(), value.end());
    } else if (value.size() > kAsciiLimit) {
      // ntpsec reads a bare key of more than 20 characters as hex, chrony as ASCII.
      if (format == KeyFileFormat::Auto) {
        return Failure{where + "a bare key of " + std::to_string(value.size()) +
                       " characters is hex to ntpsec and ASCII to chrony: write HEX: or ASCII:, or give the format"};
      }
      if (format == KeyFileFormat::Ntp) {
        if (!hex_decode(value, k.secret)) return Failure{where + "a key of more than 20 characters must be hex"};
      } else {
        k.secret.assign(value.begin(), value.end());
      }
    } else {
      k.secret.assign(value.begin(), value.end());
    }
    if (k.secret.empty() || k.secret.size() > kMaxSecret) {
      return Failure{where + "a key of " + std::to_string(k.secret.size()) + " bytes (1 to 64)"};
    }
    if (k.type == KeyType::Aes128Cmac && k.secret.size() != 16) {
      return Failure{where + "an AES128CMAC key is 16 bytes (RFC 8573), not " + std::to_string(k.secret.size())};
    }
    if (auto [it, fresh] = seen.emplace(k.id, number); !fresh) {
      return Failure{where + "key " + std::to_string(k.id) + " again (first on line " + std::to_string(it->second) +
                     ")"};
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

KeyStore::KeyStore(std::vector<Key> keys) {
  for (auto& k : keys) {
    const uint32_t id = k.id;
    keys_.emplace(id, std::move(k));
  }
}

const Key* KeyStore::find(uint32_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

const Key* KeyStore::first_of(KeyType type) const {
  for (const auto& [id, key] : keys_) {
    if (key.type == type) return &key;
  }
  return nullptr;
}

}  // namespace ntpkit::auth
