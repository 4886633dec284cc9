// Quoting text for the machine-readable reports (JUnit XML, TAP's YAML blocks).
#pragma once

#include <string>
#include <string_view>

namespace ntpkit::probe {

// XML 1.0 text and attribute values; control characters XML cannot carry become '?'.
inline std::string xml_escape(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') ? '?' : c;
    }
  }
  return out;
}

// A YAML double-quoted scalar.
inline std::string yaml_quote(std::string_view in) {
  std::string out = "\"";
  for (char c : in) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace ntpkit::probe
