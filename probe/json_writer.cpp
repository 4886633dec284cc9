#include "json_writer.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace ntpkit::probe {

void JsonWriter::quote(std::string_view s) {
  out_ += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\t': out_ += "\\t"; break;
      default:
        // Control characters are escaped; bytes from 0x80 pass as the UTF-8 they are part of.
        if (c < 0x20 || c == 0x7f) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", c);
          out_ += buf.data();
        } else {
          out_ += ch;
        }
    }
  }
  out_ += '"';
}

void JsonWriter::seconds(int64_t ns) {
  comma();
  const uint64_t mag = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%s%llu.%09llu", ns < 0 ? "-" : "",
                static_cast<unsigned long long>(mag / 1000000000ULL),
                static_cast<unsigned long long>(mag % 1000000000ULL));
  out_ += buf.data();
}

void JsonWriter::fixed(double v, int decimals) {
  if (!std::isfinite(v)) {
    null();
    return;
  }
  comma();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  out_ += buf;
}

}  // namespace ntpkit::probe
