// The judge: arbitrary reply bytes to every case's known request, through every rule. A hostile
// server must never crash the probe, and every verdict must say something.
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>

#include "fuzz_check.hpp"
#include "ntpkit/conformance/suite.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ntpkit;
  using namespace ntpkit::conformance;
  if (size < 1) return 0;
  // The first byte picks how the rest is cut into replies (1 to 4 datagrams).
  const size_t parts = data[0] % 4 + 1;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  const JudgeContext ctx{Timestamp::from_parts(0xE6C69F5F, 0), 1'790'000'000};
  for (const Case* c : all_cases()) {
    std::mt19937_64 rng(42);
    StimulusContext sc{rng, ctx.now};
    Observation obs;
    for (auto& d : c->stimulus(sc)) obs.sent.push_back({std::move(d), ctx.now});
    const size_t step = rest.size() / parts + 1;
    for (size_t i = 0; i < rest.size(); i += step) {
      const auto piece = rest.subspan(i, std::min(step, rest.size() - i));
      obs.received.push_back({{piece.begin(), piece.end()}, ctx.now, true, "127.0.0.1:123"});
    }
    const CaseResult r = evaluate(*c, std::move(obs), ctx, false);
    NTPKIT_FUZZ_CHECK(static_cast<int>(r.outcome) <= static_cast<int>(Outcome::Inconclusive));
    NTPKIT_FUZZ_CHECK(r.outcome == Outcome::Pass || !r.judgement.summary.empty());
  }
  return 0;
}
