// ns per packet for the core's hot paths: parse, serialize and respond().
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "ntpkit/parse.hpp"
#include "ntpkit/serialize.hpp"
#include "ntpkit/server.hpp"

namespace {

using namespace ntpkit;

std::vector<uint8_t> client_request(bool with_extension) {
  Packet p;
  p.header.mode = Mode::Client;
  p.header.poll = 6;
  p.header.transmit = Timestamp::from_parts(0xE6C69F5F, 0x12345678);
  if (with_extension) p.extensions.push_back({0x7777, std::vector<uint8_t>(28, 0), std::nullopt});
  return serialize(p);
}

void BM_Parse(benchmark::State& state) {
  const auto req = client_request(state.range(0) != 0);
  for (auto _ : state) {
    auto r = parse(req);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Parse)->Arg(0)->Arg(1)->ArgName("extension");

void BM_SerializeHeader(benchmark::State& state) {
  Header h;
  h.transmit = Timestamp::from_parts(1, 2);
  std::array<uint8_t, kHeaderLength> out{};
  for (auto _ : state) {
    write_header(h, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SerializeHeader);

void BM_Respond(benchmark::State& state) {
  const auto req = client_request(false);
  const FixedClock clock(Timestamp::from_parts(0xE6C69F5F, 0x20000000));
  const ServerState st;
  const Policy policy;
  const Misbehaviour none;
  std::array<uint8_t, 256> out{};
  RequestContext ctx{Timestamp::from_parts(0xE6C69F5F, 0x10000000), RateVerdict::Allow, 1};
  for (auto _ : state) {
    auto a = respond(req, ctx, clock, st, policy, none, out);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Respond);

}  // namespace

BENCHMARK_MAIN();
