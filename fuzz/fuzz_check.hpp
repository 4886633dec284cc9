// An oracle failure in a harness: abort so that libFuzzer (and the replay main) report it.
#pragma once

#include <cstdio>
#include <cstdlib>

#define NTPKIT_FUZZ_CHECK(cond)                                                     \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
