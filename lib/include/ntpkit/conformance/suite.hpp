// Suites: named lists of cases. Each RFC section's cases live in one source file.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/conformance/case.hpp"

namespace ntpkit::conformance {

// One function per section file.
[[nodiscard]] std::span<const Case> rfc5905_exchange_cases();   // RFC 5905 §8: the basic exchange
[[nodiscard]] std::span<const Case> rfc5905_header_cases();     // RFC 5905 §7.3/§7.4: header sanity
[[nodiscard]] std::span<const Case> rfc5905_version_cases();    // RFC 5905 Appendix A.5.1: versions
[[nodiscard]] std::span<const Case> rfc5905_mode_cases();       // RFC 5905 §9.2: modes
[[nodiscard]] std::span<const Case> rfc5905_framing_cases();    // RFC 5905 §7.5, RFC 7822: framing, EFs, MACs
[[nodiscard]] std::span<const Case> rfc5905_request_cases();    // RFC 5905 §8, data minimisation: request shapes
[[nodiscard]] std::span<const Case> rfc7822_extension_cases();  // RFC 7822 §3: extension fields
[[nodiscard]] std::span<const Case> rfc4330_server_cases();     // RFC 4330 §6: SNTP server operations
[[nodiscard]] std::span<const Case> security_cases();           // amplification, CVE-2015-7871, KoD origin, replay
[[nodiscard]] std::span<const Case> ratelimit_cases();          // RFC 5905 §7.4: a burst (opt-in)
[[nodiscard]] std::span<const Case> interleaved_cases();        // RFC 9769 §2: interleaved mode (stateful)
[[nodiscard]] std::span<const Case> nts_cases();                // RFC 8915 §5: NTS-protected NTP (needs --nts)
[[nodiscard]] std::span<const Case> nts_ke_cases();             // RFC 8915 §3-4: NTS key establishment (needs --nts)
// Client conformance (ntp-probe client-test): each scenario is the reference server misbehaving
// in one way (or not at all); the client's run under it is judged. Not part of any server suite.
struct ClientScenario {
  const Case* test = nullptr;
  std::vector<std::string> misbehaviours;  // ntp-server --misbehave specs
  bool accept = false;                     // a good client takes this reply's time
  double offset_s = 0;                     // ... and reports this offset (the served clock's)
  // For a daemon client (client-test --daemon), which keeps its state from one scenario to the
  // next: 0 leaves it as it was, 1 may slow its polling (no reply), 2 should slow it (RATE), 3
  // should end its association (DENY, RSTR). Scenarios are served in this order.
  int daemon_phase = 0;
};
[[nodiscard]] std::span<const ClientScenario> client_scenarios();
// The client's requests, each case judged over the run of one scenario (`judged_on`, its id):
// mode and minimisation over the good reply's, back-off over the silent server's and RATE's, no
// request after a DENY or RSTR kiss over theirs.
struct ClientRequestCase {
  const Case* test = nullptr;
  std::string_view judged_on;
};
[[nodiscard]] std::span<const ClientRequestCase> client_request_cases();
// A client case's verdict: its check alone (evaluate()'s rules judge servers' replies).
[[nodiscard]] CaseResult evaluate_client(const Case& c, Observation obs, const JudgeContext& ctx, bool strict);
[[nodiscard]] std::span<const Case> auth_cases();  // RFC 5905 §7.3/§9.2, RFC 8573: symmetric keys (needs --keys)

struct Suite {
  std::string_view name;
  std::string_view title;
  std::vector<const Case*> cases;
};

[[nodiscard]] std::vector<std::string_view> suite_names();
// nullptr when there is no such suite.
[[nodiscard]] const Suite* find_suite(std::string_view name);
// Every case of every suite, once.
[[nodiscard]] std::vector<const Case*> all_cases();

// Shell-style glob with * and ?, for --case and --exclude.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace ntpkit::conformance
