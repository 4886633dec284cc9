#include "ntpkit/crypto/key_file.hpp"

#include <fstream>
#include <iterator>

#include "ntpkit/crypto/nettle_digests.hpp"

namespace ntpkit::crypto {

Result<KeyFile, std::string> load_key_file(const std::string& path, std::string_view format) {
  const std::string where = "--keys " + path + ": ";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Failure{where + "cannot read it"};
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.size() > (1u << 20)) return Failure{where + "more than 1 MiB"};
  const auto f = format == "ntp"      ? auth::KeyFileFormat::Ntp
                 : format == "chrony" ? auth::KeyFileFormat::Chrony
                                      : auth::KeyFileFormat::Auto;
  auto keys = auth::parse_key_file(text, f);
  if (!keys) return Failure{where + keys.error()};
  return KeyFile{std::make_shared<const auth::KeyStore>(std::move(*keys)), std::make_shared<const NettleDigests>()};
}

}  // namespace ntpkit::crypto
