// Deliberate departures from RFC 5905, switched on by name, so that every conformance check
// can be shown to fail and NTP clients can be tested against a bad server.
//
// A misbehaviour is one row of the catalogue (misbehaviour.cpp): its name, what it does, the
// values it takes and the cases that catch it, and its effect: a function called at one of
// respond()'s hook points (Stage) on the reply being built (Draft). Adding one is an enum entry
// here and a row there; the count, --list-misbehaviours, README's table and captures/record.sh
// follow from the catalogue.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ntpkit/util/result.hpp"
#include "ntpkit/wire/time.hpp"

namespace ntpkit {

// In catalogue order, which is the order they act in within a stage.
enum class Fault : uint8_t {
  // Stage::Admit
  AnswerAllVersions,
  AnswerAllModes,
  AnswerMalformed,
  IgnoreMac,
  AuthAcceptBadDigest,
  AuthHeaderOnlyDigest,
  DropPercent,
  NtsAcceptShortNonce,
  // Stage::Shape
  KodRateAlways,
  KodWithoutOrigin,
  Kiss,
  GarbageReply,
  EchoExtensionFields,
  OversizeReply,
  MacUnknownKey,
  AuthUnsignedReply,
  AuthAlwaysNak,
  AuthBadDigest,
  AuthOtherKey,
  InterleavedWrongTransmit,
  InterleavedWrongOrigin,
  InterleavedAlways,
  InterleavedReuse,
  NtsNoUid,
  NtsWrongUid,
  NtsBadTag,
  NtsPlainReply,
  NtsPlainForReused,
  NtsExtraCookie,
  NtsClearCookies,
  NtsNakWithCookie,
  NtsNoNak,
  NtsTimeForBadCookie,
  // Stage::Header
  NoOriginCopy,
  OriginZero,
  WrongMode,
  VnFixed3,
  VnFixed4,
  PollNotEchoed,
  Stratum0WithoutKiss,
  LeapAlarm,
  Stratum,
  // Stage::Stamped
  TimeOffset,
  TransmitZero,
  ReceiveZero,
  TransmitEqualsReceive,
  ReceiveAfterTransmit,
  ReferenceStale,
  ReferenceFuture,
  FrozenClock,
  // Stage::Send
  DuplicateReply,
  Delay,
  ReplyFromOtherPort,
  TruncatedReply,
  // Stage::KeyEstablishment (the NTS-KE server, not respond())
  NtsKeNoEnd,
  NtsKeAnyAead,
  NtsKeTwoAeads,
  NtsKeNoCookies,
  NtsKeForeignCookies,
  NtsKeOneCookie,
  NtsKeIgnoreCritical,
  NtsKeLenient,
  NtsKeExtraProtocol,
  NtsKeWrongPort,
  NtsKeTls12,
  NtsKeNoAlpn,
  NtsKeSilentTimeout,
  NtsKeFirstReadOnly,
  NtsKeSmallRequests,
  Count
};
inline constexpr size_t kFaultCount = static_cast<size_t>(Fault::Count);
static_assert(kFaultCount <= 128, "Misbehaviour keeps two 64-bit words per stage");

// respond()'s hook points, in the order it reaches them.
enum class Stage : uint8_t {
  Admit,             // which requests are served (before the request is parsed): the Draft's admit flags
  Shape,             // what kind of reply: the Draft's shape flags
  Header,            // the reply's fields, before the clock is read for the transmit timestamp
  Stamped,           // the timestamps, once transmit is read
  Send,              // how the reply leaves: copies, delay, source port, length (the Action)
  KeyEstablishment,  // the NTS-KE server's answer and TLS (read by ntp-server, never by respond())
  Count
};
inline constexpr size_t kStageCount = static_cast<size_t>(Stage::Count);

struct Draft;  // server.hpp: the reply respond() is building
struct Misbehaviour;

struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view value_hint;  // empty when the fault takes no value
  std::string_view examples;    // values to show it with, comma-separated ("3,5"); empty: none
  std::string_view shown_by;    // the cases that catch it beyond a plain query, comma-separated
  std::string_view description;
  Stage stage;
  void (*apply)(Draft&, const Misbehaviour&);
  // Parses "=value" into the misbehaviour; the error names what the value must be. nullptr: no value.
  std::string (*parse)(Misbehaviour&, std::string_view value, bool has_value) = nullptr;
};
[[nodiscard]] std::span<const FaultInfo> fault_catalogue();
[[nodiscard]] std::string_view name(Fault f);
[[nodiscard]] std::string_view name(Stage s);

struct Misbehaviour {
  std::bitset<kFaultCount> faults;
  // The faults set, per stage: bit f % 64 of word f / 64.
  std::array<std::array<uint64_t, 2>, kStageCount> by_stage{};
  uint8_t wrong_mode = 3;
  uint8_t drop_percent = 0;
  uint32_t delay_ms = 0;
  Duration time_offset;
  uint8_t stratum = 0;
  std::array<char, 4> kiss_code{'R', 'A', 'T', 'E'};  // kiss=CODE

  [[nodiscard]] bool has(Fault f) const { return faults.test(static_cast<size_t>(f)); }
  void set(Fault f);
  [[nodiscard]] bool any() const { return faults.any(); }
  // Runs the faults of one stage on the draft, in catalogue order.
  void apply(Stage s, Draft& d) const {
    const auto& words = by_stage[static_cast<size_t>(s)];
    if ((words[0] | words[1]) != 0) apply_slow(s, d);
  }

 private:
  void apply_slow(Stage s, Draft& d) const;
};

// Adds "name" or "name=value" to m. The error is one sentence naming what is wrong.
[[nodiscard]] Result<Fault, std::string> add_misbehaviour(Misbehaviour& m, std::string_view spec);

// "1.5", "-0.25", "3" to an exact Duration (no floating point); nullopt-like failure as error text.
[[nodiscard]] Result<Duration, std::string> parse_seconds(std::string_view text);

// splitmix64: enough entropy spreading for random drops and garbage bytes; not a security device.
inline uint64_t next_random(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace ntpkit
