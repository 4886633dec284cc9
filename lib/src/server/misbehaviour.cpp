#include "ntpkit/server/misbehaviour.hpp"

#include <array>
#include <charconv>

namespace ntpkit {
namespace {

constexpr std::array<FaultInfo, kFaultCount> kFaults = {{
    {Fault::NoOriginCopy, "no-origin-copy", "", "origin is the request's transmit with its lowest bit flipped"},
    {Fault::OriginZero, "origin-zero", "", "origin timestamp is zero"},
    {Fault::WrongMode, "wrong-mode", "3|5", "reply in mode 3 (default) or 5 instead of 4"},
    {Fault::VnFixed3, "vn-fixed-3", "", "always answer with VN 3, whatever the request's"},
    {Fault::VnFixed4, "vn-fixed-4", "", "always answer with VN 4, whatever the request's"},
    {Fault::PollNotEchoed, "poll-not-echoed", "", "poll differs from the request's"},
    {Fault::TransmitZero, "transmit-zero", "", "transmit timestamp is zero"},
    {Fault::ReceiveAfterTransmit, "receive-after-transmit", "", "receive timestamp one second after transmit"},
    {Fault::TransmitEqualsReceive, "transmit-equals-receive", "", "transmit timestamp equals receive"},
    {Fault::Stratum0WithoutKiss, "stratum-0-without-kiss", "", "stratum 0 with refid 127.0.0.1, no kiss code"},
    {Fault::KodRateAlways, "kod-rate-always", "", "answer every request with a RATE kiss-o'-death"},
    {Fault::KodWithoutOrigin, "kod-without-origin", "", "RATE kiss-o'-death with a zero origin"},
    {Fault::LeapAlarm, "leap-alarm", "", "LI 3 (alarm) with an ordinary stratum"},
    {Fault::AnswerAllVersions, "answer-all-versions", "", "answer VN 0 and 5-7 as well"},
    {Fault::AnswerAllModes, "answer-all-modes", "", "answer every mode with mode 4"},
    {Fault::OversizeReply, "oversize-reply", "", "pad the reply 16 bytes past the request's length"},
    {Fault::EchoExtensionFields, "echo-extension-fields", "", "copy the request's extension fields into the reply"},
    {Fault::GarbageReply, "garbage-reply", "", "random bytes of the request's length"},
    {Fault::DuplicateReply, "duplicate-reply", "", "send every reply twice"},
    {Fault::DropPercent, "drop-percent", "N", "drop N percent of requests at random"},
    {Fault::Delay, "delay", "MS", "hold every reply back MS milliseconds (transmit stamped before)"},
    {Fault::TimeOffset, "time-offset", "SECONDS", "serve a clock off by SECONDS (may be fractional, negative)"},
    {Fault::Stratum, "stratum", "N", "announce stratum N (0-255) whatever the state"},
    {Fault::ReferenceStale, "reference-stale", "", "reference time ten days before transmit"},
    {Fault::ReferenceFuture, "reference-future", "", "reference time an hour after transmit"},
    {Fault::AnswerMalformed, "answer-malformed", "", "answer malformed datagrams, even empty ones, as if they were requests"},
    {Fault::IgnoreMac, "ignore-mac", "", "answer requests with an unknown MAC with plain time, no crypto-NAK"},
    {Fault::FrozenClock, "frozen-clock", "", "receive and transmit stuck at the reference time, like a cached answer"},
    {Fault::ReplyFromOtherPort, "reply-from-other-port", "", "send replies from another UDP port than the one asked"},
    {Fault::TruncatedReply, "truncated-reply", "", "cut the reply to 47 bytes, short of an NTP header"},
}};

template <class T>
bool parse_uint(std::string_view s, T& out) {
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

std::span<const FaultInfo> fault_catalogue() { return kFaults; }
std::string_view name(Fault f) { return kFaults[static_cast<size_t>(f)].name; }

Result<Duration, std::string> parse_seconds(std::string_view text) {
  const std::string original(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  // Unsigned parsing: from_chars would accept a second sign for a signed type ("--5").
  uint64_t secs = 0;
  if ((whole.empty() && frac.empty()) || (!whole.empty() && !parse_uint(whole, secs)) || secs > (uint64_t{1} << 30)) {
    return Failure{"'" + original + "' is not a number of seconds"};
  }
  if (frac.size() > 9) frac = frac.substr(0, 9);  // nanosecond resolution
  uint64_t ns = 0;
  if (!frac.empty()) {
    if (!parse_uint(frac, ns)) return Failure{"'" + original + "' is not a number of seconds"};
    for (size_t i = frac.size(); i < 9; ++i) ns *= 10;
  }
  const auto total = static_cast<int64_t>(secs * 1'000'000'000 + ns);
  return Duration::from_nanoseconds(negative ? -total : total);
}

Result<Fault, std::string> add_misbehaviour(Misbehaviour& m, std::string_view spec) {
  const auto eq = spec.find('=');
  const std::string_view key = spec.substr(0, eq);
  const bool has_value = eq != std::string_view::npos;
  const std::string_view value = has_value ? spec.substr(eq + 1) : std::string_view{};
  for (const auto& info : kFaults) {
    if (info.name != key) continue;
    const std::string what = "--misbehave " + std::string(spec);
    if (info.value_hint.empty() && has_value) return Failure{what + ": '" + std::string(key) + "' takes no value"};
    switch (info.fault) {
      case Fault::WrongMode: {
        unsigned mode = 3;
        if (has_value && (!parse_uint(value, mode) || (mode != 3 && mode != 5))) {
          return Failure{what + ": wrong-mode takes 3 or 5"};
        }
        m.wrong_mode = static_cast<uint8_t>(mode);
        break;
      }
      case Fault::DropPercent: {
        unsigned pct = 0;
        if (!has_value || !parse_uint(value, pct) || pct > 100) return Failure{what + ": drop-percent takes 0 to 100"};
        m.drop_percent = static_cast<uint8_t>(pct);
        break;
      }
      case Fault::Delay: {
        uint32_t ms = 0;
        if (!has_value || !parse_uint(value, ms) || ms > 60'000) return Failure{what + ": delay takes 0 to 60000 ms"};
        m.delay_ms = ms;
        break;
      }
      case Fault::TimeOffset: {
        if (!has_value) return Failure{what + ": time-offset takes SECONDS"};
        auto d = parse_seconds(value);
        if (!d) return Failure{what + ": " + d.error()};
        m.time_offset = *d;
        break;
      }
      case Fault::Stratum: {
        unsigned st = 0;
        if (!has_value || !parse_uint(value, st) || st > 255) return Failure{what + ": stratum takes 0 to 255"};
        m.stratum = static_cast<uint8_t>(st);
        break;
      }
      default: break;
    }
    m.set(info.fault);
    return info.fault;
  }
  return Failure{"--misbehave " + std::string(spec) + ": no such misbehaviour (see --list-misbehaviours)"};
}

}  // namespace ntpkit
