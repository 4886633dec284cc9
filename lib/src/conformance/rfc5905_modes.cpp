// RFC 5905 §9.2 and Appendix A.5.1 (the dispatch table): which modes a server answers.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

auto request_mode(Mode m) {
  return [m](StimulusContext& s) { return one(bytes_of(client_header(s, 4, m))); };
}

Case must_drop(std::string_view id, Mode m, Level level, std::string_view requirement) {
  return {id,
          "RFC 5905",
          "9.2, A.5.1",
          level,
          requirement,
          Expect::Silence,
          request_mode(m),
          [m](const Observation& o, const JudgeContext&) {
            return expect_silence(o, "mode " + describe_mode(m) + " is not answered");
          }};
}

// Mode 6 READSTAT (RFC 9327 §2): a 12-byte control request.
Datagrams control_readstat(StimulusContext& s) {
  std::vector<uint8_t> b = {0x16, 0x01, 0x00, static_cast<uint8_t>(s.rng() % 255 + 1), 0, 0, 0, 0, 0, 0, 0, 0};
  return one(b);
}

// Mode 7 MON_GETLIST_1 (ntpd's private mode, the CVE-2013-5211 amplifier): a 48-byte request.
Datagrams private_monlist(StimulusContext&) {
  std::vector<uint8_t> b(48, 0);
  b[0] = 0x17;  // VN 2, mode 7
  b[2] = 3;     // implementation: XNTPD
  b[3] = 42;    // request: MON_GETLIST_1
  return one(b);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      must_drop("rfc5905/9.2/mode0", Mode::Reserved, Level::Should, "A packet in mode 0 (reserved) is not answered."),
      {"rfc5905/9.2/mode1", "RFC 5905", "9.2, A.5.1", Level::Must,
       "A symmetric-active (1) request is either ignored or answered in symmetric passive mode (2), origin copied.",
       Expect::Either, request_mode(Mode::SymmetricActive),
       [](const Observation& o, const JudgeContext&) {
         if (o.received.empty()) return documented("ignores symmetric-active requests from unknown peers");
         auto j = reply_satisfies(o, "", {check_mode, check_origin});
         if (j.finding == Finding::Satisfied) j = documented("answers mode 1 with mode 2 (a passive association)");
         return j;
       }},
      must_drop("rfc5905/9.2/mode2", Mode::SymmetricPassive, Level::Should,
                "An unsolicited symmetric-passive (2) packet matches no association and is discarded."),
      must_drop("rfc5905/9.2/mode4", Mode::Server, Level::Must,
                "A server-mode (4) packet is never answered: answering replies with replies loops."),
      must_drop("rfc5905/9.2/mode5", Mode::Broadcast, Level::Should,
                "A broadcast (5) packet is not answered by a server."),
      {"rfc5905/9.2/mode6", "RFC 5905", "9.2; RFC 9327", Level::Should,
       "A mode-6 control query from an unauthorised address is not answered (RFC 9327 asks to restrict it).",
       Expect::Silence, control_readstat,
       [](const Observation& o, const JudgeContext&) { return expect_silence(o, "mode 6 is not answered"); }},
      {"rfc5905/9.2/mode7", "RFC 5905", "9.2", Level::Should,
       "A mode-7 private request (ntpd's monlist) is not answered: mode 7 is not part of NTPv4.", Expect::Silence,
       private_monlist,
       [](const Observation& o, const JudgeContext&) { return expect_silence(o, "mode 7 is not answered"); }},
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_mode_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
