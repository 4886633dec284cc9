// RFC 5905 Appendix A.5.1 (receive): which version numbers a server answers.
#include "judge_util.hpp"
#include "ntpkit/conformance/suite.hpp"

namespace ntpkit::conformance {
namespace {
using namespace detail;

auto request_version(uint8_t vn) {
  return [vn](StimulusContext& s) { return one(bytes_of(client_header(s, vn))); };
}

Judgement answered_in_kind(const Observation& o) {
  return reply_satisfies(o, "answered with the request's version, in server mode, origin copied",
                         {check_version_echo, check_mode, check_origin});
}

Case must_answer(std::string_view id, uint8_t vn) {
  return {id,
          "RFC 5905",
          "A.5.1, A.5.3",
          Level::Must,
          "A server answers a version-3 or version-4 client request and echoes its version number.",
          Expect::Reply,
          request_version(vn),
          [](const Observation& o, const JudgeContext&) { return answered_in_kind(o); }};
}

Case may_answer(std::string_view id, uint8_t vn) {
  return {id,
          "RFC 5905",
          "A.5.1",
          Level::Must,
          "An old version (1 or 2) may be served; if it is, the reply echoes that version, in server mode.",
          Expect::Either,
          request_version(vn),
          [vn](const Observation& o, const JudgeContext&) {
            if (o.received.empty()) return documented("does not answer NTPv" + std::to_string(vn) + " requests");
            auto j = answered_in_kind(o);
            if (j.finding == Finding::Satisfied)
              j = documented("answers NTPv" + std::to_string(vn) + " requests, in kind");
            return j;
          }};
}

Case must_drop(std::string_view id, uint8_t vn) {
  return {id,
          "RFC 5905",
          "A.5.1",
          Level::Should,
          "A request with a version number the server does not implement (0, or above 4) is discarded.",
          Expect::Silence,
          request_version(vn),
          [vn](const Observation& o, const JudgeContext&) {
            return expect_silence(o, "VN " + std::to_string(vn) + " is not answered");
          }};
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      must_drop("rfc5905/A.5.1/vn0", 0),   may_answer("rfc5905/A.5.1/vn1", 1),  may_answer("rfc5905/A.5.1/vn2", 2),
      must_answer("rfc5905/A.5.1/vn3", 3), must_answer("rfc5905/A.5.1/vn4", 4), must_drop("rfc5905/A.5.1/vn5", 5),
      must_drop("rfc5905/A.5.1/vn6", 6),   must_drop("rfc5905/A.5.1/vn7", 7),
  };
  return c;
}

}  // namespace

std::span<const Case> rfc5905_version_cases() {
  return cases();
}

}  // namespace ntpkit::conformance
