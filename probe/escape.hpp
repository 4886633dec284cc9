// Quoting text for the machine-readable reports (JUnit XML, TAP's YAML blocks) and the shell.
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

// A word for a POSIX shell, as a reproduction line prints it: bare when it is only safe
// characters, else in single quotes (a quote inside becomes '\'').
inline std::string shell_quote(std::string_view in) {
  bool bare = !in.empty();
  for (char c : in) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                      c == '.' || c == '_' || c == '-' || c == ':' || c == '+' || c == ',' || c == '=' || c == '@';
    bare = bare && safe;
  }
  if (bare) return std::string(in);
  std::string out = "'";
  for (char c : in) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace ntpkit::probe
