#include "judge_util.hpp"

namespace ntpkit::conformance::detail {

std::string describe_reply(const Received& r) {
  std::string s = "a " + std::to_string(r.bytes.size()) + "-byte reply";
  if (r.bytes.size() < kHeaderLength) return s;
  const Header h = parse_header(std::span<const uint8_t>(r.bytes).first<kHeaderLength>());
  return s + ": VN " + std::to_string(h.version) + ", mode " + describe_mode(h.mode) + ", stratum " +
         std::to_string(h.stratum);
}

}  // namespace ntpkit::conformance::detail
