// Colour only for a terminal that wants it (NO_COLOR, https://no-color.org, turns it off).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ntpkit::probe {

inline bool use_colour(FILE* f) {
  return isatty(fileno(f)) != 0 && std::getenv("NO_COLOR") == nullptr;
}

enum class Colour { Red, Green, Yellow, Dim };

inline std::string paint(std::string_view text, Colour c, bool on) {
  if (!on) return std::string(text);
  const char* code = c == Colour::Red      ? "\x1b[31m"
                     : c == Colour::Green  ? "\x1b[32m"
                     : c == Colour::Yellow ? "\x1b[33m"
                                           : "\x1b[2m";
  return code + std::string(text) + "\x1b[0m";
}

}  // namespace ntpkit::probe
