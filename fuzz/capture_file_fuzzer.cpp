// The capture-file path of `ntp-probe replay`: arbitrary file bytes through libpcap (from
// memory, via fmemopen), the pcapng fallback, the frame decoder and the analyzer. A corrupt or
// hostile capture must end in an error message, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "ntpkit/capture/capture_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;  // fmemopen refuses an empty buffer
  const auto r = ntpkit::capture::analyse_memory(std::span<const uint8_t>(data, size), {123, 4123});
  const auto& s = r.stats;
  NTPKIT_FUZZ_CHECK(s.exchanges <= s.requests && s.exchanges <= s.replies);
  NTPKIT_FUZZ_CHECK(s.datagrams <= r.frames);
  NTPKIT_FUZZ_CHECK(s.unanswered + s.exchanges <= s.requests);
  for (const auto& f : r.findings)
    NTPKIT_FUZZ_CHECK(f.rule != nullptr && (f.request_frame <= r.frames && f.reply_frame <= r.frames));
  return 0;
}
