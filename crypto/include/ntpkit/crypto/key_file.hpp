// A key file read from disk, with the digests that go with its keys: what ntp-server --keys and
// ntp-probe --keys both load (lib/auth parses; this reads the file, within a bound).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ntpkit/auth/mac.hpp"
#include "ntpkit/util/result.hpp"

namespace ntpkit::crypto {

struct KeyFile {
  std::shared_ptr<const auth::KeyStore> store;
  std::shared_ptr<const auth::Digests> digests;  // nettle's
};

// `format`: "auto", "ntp" or "chrony". The error is "--keys PATH: what", one line.
[[nodiscard]] Result<KeyFile, std::string> load_key_file(const std::string& path, std::string_view format);

}  // namespace ntpkit::crypto
