# Project options, namespaced and validated.
option(NTPKIT_TESTS "Build the tests" ON)
option(NTPKIT_BENCHMARKS "Build the Google Benchmark programs" OFF)
option(NTPKIT_FUZZ "Build libFuzzer harnesses (clang, -fsanitize=fuzzer) instead of the tools" OFF)
option(NTPKIT_WERROR "Treat warnings as errors" OFF)
set(NTPKIT_SANITIZE "" CACHE STRING "Semicolon list of sanitizers: address;undefined;leak;thread")

set(_ntpkit_known_sanitizers address undefined leak thread)
foreach(s IN LISTS NTPKIT_SANITIZE)
  if(NOT s IN_LIST _ntpkit_known_sanitizers)
    message(FATAL_ERROR "NTPKIT_SANITIZE: unknown sanitizer '${s}' (known: ${_ntpkit_known_sanitizers})")
  endif()
endforeach()
if("thread" IN_LIST NTPKIT_SANITIZE AND "address" IN_LIST NTPKIT_SANITIZE)
  message(FATAL_ERROR "NTPKIT_SANITIZE: thread and address cannot be combined")
endif()
if(NTPKIT_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "NTPKIT_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++)")
endif()

# Warnings and sanitizers for every target of ours, through one interface target.
add_library(ntpkit_build_flags INTERFACE)
target_compile_options(ntpkit_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                    -Wno-sign-conversion $<$<BOOL:${NTPKIT_WERROR}>:-Werror>
                                                    # GCC 12 at -O3 reports std::string concatenation as
                                                    # overlapping memcpy (GCC bug 105329): a false positive.
                                                    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(NTPKIT_SANITIZE)
  list(JOIN NTPKIT_SANITIZE "," _ntpkit_san)
  target_compile_options(ntpkit_build_flags INTERFACE -fsanitize=${_ntpkit_san} -fno-omit-frame-pointer
                                                      -fno-sanitize-recover=all)
  target_link_options(ntpkit_build_flags INTERFACE -fsanitize=${_ntpkit_san})
endif()
if(NTPKIT_FUZZ)
  # Instrument the core for coverage; the harness executables add the libFuzzer main.
  target_compile_options(ntpkit_build_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                      -fno-omit-frame-pointer)
  target_link_options(ntpkit_build_flags INTERFACE -fsanitize=address,undefined)
endif()
