// Deliberate departures from RFC 5905, switched on by name, so that every conformance check
// can be shown to fail and NTP clients can be tested against a bad server.
#pragma once

#include <bitset>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ntpkit/util/result.hpp"
#include "ntpkit/wire/time.hpp"

namespace ntpkit {

enum class Fault : uint8_t {
  NoOriginCopy,           // origin = request transmit with its lowest bit flipped
  OriginZero,             // origin = 0
  WrongMode,              // reply mode 3 (or =5)
  VnFixed3,               // always VN 3
  VnFixed4,               // always VN 4
  PollNotEchoed,          // poll differs from the request's
  TransmitZero,           // transmit = 0
  ReceiveAfterTransmit,   // receive = transmit + 1 s
  TransmitEqualsReceive,  // transmit = receive
  Stratum0WithoutKiss,    // stratum 0 with a refid that is no kiss code
  KodRateAlways,          // every answer is a RATE kiss-o'-death
  KodWithoutOrigin,       // every answer is a RATE kiss-o'-death with origin 0
  LeapAlarm,              // LI 3 with an ordinary stratum
  AnswerAllVersions,      // answer VN 0 and 5-7 too
  AnswerAllModes,         // answer every mode with mode 4
  OversizeReply,          // pad the reply past the request's length
  EchoExtensionFields,    // copy the request's extension fields into the reply
  GarbageReply,           // random bytes of the request's length
  DuplicateReply,         // send every reply twice
  DropPercent,            // =N: drop N % of valid requests at random
  Delay,                  // =MS: hold every reply back (transmit stamped before the wait)
  TimeOffset,             // =SECONDS: serve a clock that is off by this much
  Stratum,                // =N: announce this raw stratum (0-255)
  ReferenceStale,         // reference time ten days old
  ReferenceFuture,        // reference time an hour after transmit
  AnswerMalformed,        // answer datagrams the parser rejects, as if they were requests
  IgnoreMac,              // answer MAC'd requests with plain time, no crypto-NAK
  FrozenClock,            // receive and transmit stuck at the reference time: a cached answer
  ReplyFromOtherPort,     // send the reply from another UDP port than the request came to
  TruncatedReply,         // the reply cut to 47 bytes, short of a header
};
inline constexpr size_t kFaultCount = 30;

struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view value_hint;  // empty when the fault takes no value
  std::string_view description;
};
[[nodiscard]] std::span<const FaultInfo> fault_catalogue();
[[nodiscard]] std::string_view name(Fault f);

struct Misbehaviour {
  std::bitset<kFaultCount> faults;
  uint8_t wrong_mode = 3;
  uint8_t drop_percent = 0;
  uint32_t delay_ms = 0;
  Duration time_offset;
  uint8_t stratum = 0;

  [[nodiscard]] bool has(Fault f) const { return faults.test(static_cast<size_t>(f)); }
  void set(Fault f) { faults.set(static_cast<size_t>(f)); }
  [[nodiscard]] bool any() const { return faults.any(); }
};

// Adds "name" or "name=value" to m. The error is one sentence naming what is wrong.
[[nodiscard]] Result<Fault, std::string> add_misbehaviour(Misbehaviour& m, std::string_view spec);

// "1.5", "-0.25", "3" to an exact Duration (no floating point); nullopt-like failure as error text.
[[nodiscard]] Result<Duration, std::string> parse_seconds(std::string_view text);

}  // namespace ntpkit
