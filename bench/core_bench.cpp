// ns per packet for the core's hot paths: parse, serialize, respond() and rule evaluation.
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "ntpkit/conformance/case.hpp"
#include "ntpkit/conformance/exchange.hpp"
#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/crypto/nettle_aead.hpp"
#include "ntpkit/nts/extension.hpp"
#include "ntpkit/server/server.hpp"
#include "ntpkit/wire/parse.hpp"
#include "ntpkit/wire/serialize.hpp"

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

// The same server answering an NTS request (RFC 8915 §5.7): open the cookie, verify the
// authenticator under C2S, seal `placeholders` + 1 new cookies and the reply under S2C
// (AES-SIV-CMAC-256, nettle). The ratio to BM_Respond is what NTS costs the server per reply.
void BM_RespondNts(benchmark::State& state) {
  const crypto::AesSivCmac256 aead;
  const nts::CookieJar jar(aead, {7, std::vector<uint8_t>(32, 0x5A)});
  const nts::CookieContents keys{15, std::vector<uint8_t>(32, 0x11), std::vector<uint8_t>(32, 0x22)};
  const std::array<uint8_t, 16> nonce{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const auto cookie = jar.make(keys, nonce);
  const std::vector<uint8_t> uid(32, 0x33);
  nts::RequestParts p;
  p.header = ntpkit::client_request(4, Timestamp::from_raw(0x1122334455667788));
  p.unique_id = uid;
  p.cookie = cookie;
  p.placeholders = static_cast<size_t>(state.range(0));
  p.nonce = nonce;
  const auto req = *nts::build_request(p, aead, keys.c2s);
  const FixedClock clock(Timestamp::from_parts(0xE6C69F5F, 0x20000000));
  const ServerState st;
  Policy policy;
  policy.nts = &jar;
  policy.nts_aead = &aead;
  const Misbehaviour none;
  std::array<uint8_t, 2048> out{};
  RequestContext ctx{Timestamp::from_parts(0xE6C69F5F, 0x10000000), RateVerdict::Allow, 1};
  ctx.nonce_seed = nonce;
  for (auto _ : state) {
    auto a = respond(req, ctx, clock, st, policy, none, out);
    if (!a.nts) state.SkipWithError("not an NTS reply");
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RespondNts)->Arg(0)->Arg(7);

// A request and the reference server's answer to it, as the judge sees them.
struct Exchange {
  std::vector<uint8_t> request = client_request(false);
  std::vector<uint8_t> reply;
  Timestamp t1 = Timestamp::from_parts(0xE6C69F5F, 0x0FFFF000);
  Timestamp t4 = Timestamp::from_parts(0xE6C69F5F, 0x20010000);
  Exchange() {
    const FixedClock clock(Timestamp::from_parts(0xE6C69F5F, 0x20000000));
    ServerState st;
    st.reference_time = Timestamp::from_parts(0xE6C69F00, 0);
    std::array<uint8_t, 256> out{};
    RequestContext ctx{Timestamp::from_parts(0xE6C69F5F, 0x10000000), RateVerdict::Allow, 1};
    const auto a = respond(request, ctx, clock, st, Policy{}, Misbehaviour{}, out);
    reply.assign(out.begin(), out.begin() + a.length);
  }
  [[nodiscard]] conformance::Observation observation() const {
    conformance::Observation o;
    o.sent.push_back({request, t1});
    o.received.push_back({reply, t4, true, "127.0.0.1:123"});
    return o;
  }
};

// The query's judgement of one reply (origin, mode, transmit, receive, kiss, stratum, LI).
void BM_AssessReply(benchmark::State& state) {
  const Exchange ex;
  const Header sent = parse_header(std::span<const uint8_t>(ex.request).first<kHeaderLength>());
  for (auto _ : state) {
    auto a = assess_reply(sent, ex.reply);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_AssessReply);

// One conformance case, observation to verdict (the observation is copied in, as the runner does).
void BM_EvaluateOriginCase(benchmark::State& state) {
  const Exchange ex;
  const auto obs = ex.observation();
  const conformance::Case* c = nullptr;
  for (const auto* k : conformance::all_cases()) {
    if (k->id == "rfc5905/8/origin-copy") c = k;
  }
  if (c == nullptr) {
    state.SkipWithError("no case rfc5905/8/origin-copy");
    return;
  }
  const conformance::JudgeContext ctx{ex.t4, 1'700'000'000};
  for (auto _ : state) {
    auto r = conformance::evaluate(*c, obs, ctx, false);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_EvaluateOriginCase);

// Every case of every suite over the same exchange: the cost of judging one reply by all rules.
void BM_EvaluateAllCases(benchmark::State& state) {
  const Exchange ex;
  const auto obs = ex.observation();
  const auto cases = conformance::all_cases();
  const conformance::JudgeContext ctx{ex.t4, 1'700'000'000};
  for (auto _ : state) {
    for (const auto* c : cases) {
      auto r = conformance::evaluate(*c, obs, ctx, false);
      benchmark::DoNotOptimize(r);
    }
  }
  state.counters["cases"] = static_cast<double>(cases.size());
}
BENCHMARK(BM_EvaluateAllCases);

}  // namespace

BENCHMARK_MAIN();
